/* The live inbox (/app/inbox): lists from /api/inbox, a conversation from /api/inbox/{id},
   kept current by the server-sent events of /api/inbox/events (no polling). Text from
   visitors is set with textContent; Markdown goes through the shared renderer. */
(function () {
  "use strict";
  var root = document.querySelector("[data-docent=inbox]");
  if (!root) return;
  var csrf = root.querySelector("input[name=csrf_token]").value;
  var me = root.getAttribute("data-me");
  var q = function (sel) { return root.querySelector("[data-docent=" + sel + "]"); };
  var items = q("inbox-items");
  var empty = q("inbox-empty");
  var thread = q("inbox-thread");
  var log = q("thread");
  var view = "waiting";
  var open = null;
  var known = {};
  var baseTitle = document.title;
  var VIEWS = {
    waiting: "status=waiting_for_human",
    mine: "status=open&assigned=me",
    unassigned: "status=open&assigned=unassigned",
    all: "status=all"
  };
  var REASONS = {
    visitor_asked: "Asked for a person",
    no_answer: "Bot could not answer",
    thumbs_down: "Answers rated down",
    keyword: "Keyword",
    agent: "Taken over"
  };
  var STATUS = {
    active: "With the bot",
    waiting_for_human: "Waiting for a person",
    human: "With a person",
    closed: "Closed",
    archived: "Archived"
  };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  function call(method, path, body) {
    var init = { method: method, headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (r) {
      if (r.status === 204) return null;
      return r.json().then(function (j) {
        if (!r.ok) throw new Error((j && j.error && j.error.message) || "The request failed.");
        return j;
      });
    });
  }
  function who(c) {
    return c.end_user_name || c.end_user_email || ("Visitor " + (c.visitor_id || "").slice(0, 8));
  }
  function when(at) {
    try { return new Date(at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }); }
    catch (e) { return at; }
  }

  function renderList(list) {
    items.textContent = "";
    empty.hidden = list.length > 0;
    list.forEach(function (c) {
      var li = el("li");
      var b = el("button", "inbox-item");
      b.type = "button";
      b.setAttribute("data-docent", "inbox-item");
      b.setAttribute("data-conversation", c.id);
      b.setAttribute("data-status", c.status);
      if (open === c.id) b.setAttribute("aria-current", "true");
      var top = el("span", "row");
      top.appendChild(el("strong", "", who(c)));
      if (c.unread > 0) {
        var u = el("span", "badge", String(c.unread));
        u.setAttribute("data-docent", "unread");
        u.setAttribute("aria-label", c.unread + " unread");
        top.appendChild(u);
      }
      b.appendChild(top);
      b.appendChild(el("span", "small muted", (REASONS[c.reason] || STATUS[c.status]) + " · " +
        STATUS[c.status] + (c.assigned_agent_id === me ? " (you)" : "")));
      if (c.last_message) b.appendChild(el("span", "small preview", c.last_message));
      b.addEventListener("click", function () { show(c.id); });
      li.appendChild(b);
      items.appendChild(li);
    });
  }

  // A short two-note chime for a new handover, when the agent turned sound on.
  var sound = q("inbox-sound");
  sound.checked = localStorage.getItem("docent-inbox-sound") === "1";
  sound.addEventListener("change", function () {
    localStorage.setItem("docent-inbox-sound", sound.checked ? "1" : "0");
  });
  var audio = null;
  function chime() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!sound.checked || !Ctx) return;
    try {
      audio = audio || new Ctx();
      [660, 880].forEach(function (f, i) {
        var o = audio.createOscillator(), g = audio.createGain(), t = audio.currentTime + i * 0.15;
        o.frequency.value = f;
        g.gain.setValueAtTime(0.15, t);
        g.gain.exponentialRampToValueAtTime(0.001, t + 0.3);
        o.connect(g); g.connect(audio.destination);
        o.start(t); o.stop(t + 0.3);
      });
    } catch (e) { /* no audio here */ }
  }

  function notifyNew(list) {
    var fresh = list.filter(function (c) { return !known[c.id]; });
    list.forEach(function (c) { known[c.id] = true; });
    if (!notifyNew.primed) { notifyNew.primed = true; return; }
    if (fresh.length) chime();
    if (fresh.length && window.Notification && Notification.permission === "granted" && document.hidden) {
      try { new Notification("A visitor is waiting", { body: who(fresh[0]) + (fresh[0].last_message ? ": " + fresh[0].last_message : "") }); }
      catch (e) { /* notifications unavailable */ }
    }
  }

  // One list request at a time; an event heard meanwhile asks once more after it, so that
  // what changed during a request is not lost.
  var listing = null, again = false;
  function reload() {
    if (listing) { again = true; return listing; }
    listing = Promise.all([
      fetch("/api/inbox?" + VIEWS[view], { credentials: "same-origin" }).then(function (r) { return r.json(); }),
      fetch("/api/inbox?status=waiting_for_human", { credentials: "same-origin" }).then(function (r) { return r.json(); })
    ]).then(function (both) {
      renderList(both[0].data || []);
      var waiting = both[1].data || [];
      notifyNew(waiting);
      var badge = document.querySelector("[data-docent=inbox-waiting-count]");
      badge.hidden = waiting.length === 0;
      badge.textContent = waiting.length + " waiting";
      document.title = (waiting.length ? "(" + waiting.length + ") " : "") + baseTitle;
    }).catch(function () { /* offline: the next event reloads */ }).then(function () {
      listing = null;
      if (again) { again = false; reload(); }
    });
    return listing;
  }

  function entry(kind, author, text, at, markdown) {
    var li = el("li", "msg msg-" + kind);
    li.setAttribute("data-docent", kind === "note" ? "thread-note" : "thread-message");
    li.setAttribute("data-role", kind);
    li.appendChild(el("span", "small muted", author + " · " + when(at)));
    var body = el("div", "msg-body");
    if (markdown && window.docentMarkdown) window.docentMarkdown(text, body);
    else body.textContent = text;
    li.appendChild(body);
    return li;
  }

  function renderThread(w) {
    var c = w.conversation;
    q("thread-title").textContent = who(c);
    q("thread-status").textContent = STATUS[c.status] + (c.assigned_agent_id ? (c.assigned_agent_id === me ? " · yours" : " · assigned") : "") +
      (c.end_user_email ? " · answer by email: " + c.end_user_email : "");
    q("thread-status").setAttribute("data-status", c.status);
    q("transcript-link").href = "/app/conversations/" + c.id;
    var all = w.messages.map(function (m) { return { at: m.created_at, m: m }; })
      .concat(w.notes.map(function (n) { return { at: n.created_at, n: n }; }))
      .sort(function (a, b) { return a.at < b.at ? -1 : a.at > b.at ? 1 : 0; });
    log.textContent = "";
    all.forEach(function (x) {
      if (x.n) { log.appendChild(entry("note", "Internal note", x.n.content, x.at, true)); return; }
      var m = x.m;
      var author = m.role === "user" ? who(c) : m.role === "agent" ? "Agent" : "Bot";
      var li = entry(m.role, author, m.content, m.created_at, m.role !== "user");
      if (m.citations && m.citations.length) {
        li.appendChild(el("span", "small muted", "Sources: " + m.citations.map(function (s) {
          return "[" + s.index + "] " + (s.title || s.file_name || s.url || "");
        }).join(", ")));
      }
      log.appendChild(li);
    });
    log.scrollTop = log.scrollHeight;
    var over = c.status === "closed" || c.status === "archived";
    root.querySelectorAll("[data-docent=claim],[data-docent=release],[data-docent=close-conversation],[data-docent=reply-send]").forEach(function (b) {
      b.disabled = over;
    });
    var claim = q("claim");
    if (claim) claim.hidden = c.status === "human" && c.assigned_agent_id === me;
    var release = q("release");
    if (release) release.hidden = !(c.status === "human" || c.status === "waiting_for_human");
  }

  function show(id) {
    open = id;
    thread.hidden = false;
    q("thread-error").hidden = true;
    return fetch("/api/inbox/" + encodeURIComponent(id), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (w) { if (w && open === id) renderThread(w); reload(); });
  }

  function failed(e) {
    var p = q("thread-error");
    p.textContent = e.message || "The request failed.";
    p.hidden = false;
  }
  function act(path, body) {
    if (!open) return;
    var id = open;
    call("POST", "/api/conversations/" + encodeURIComponent(id) + path, body)
      .then(function () { return show(id); }, failed);
  }
  var claimBtn = q("claim");
  if (claimBtn) claimBtn.addEventListener("click", function () { act("/assign", {}); });
  var assignTo = q("assign-to");
  if (assignTo) assignTo.addEventListener("change", function () {
    if (assignTo.value) act("/assign", { user_id: assignTo.value });
    assignTo.value = "";
  });
  var releaseBtn = q("release");
  if (releaseBtn) releaseBtn.addEventListener("click", function () { act("/release"); });
  var closeBtn = q("close-conversation");
  if (closeBtn) closeBtn.addEventListener("click", function () { act("/close"); });

  var form = q("reply-form");
  if (form) {
    var text = q("reply-text");
    var lastTyping = 0;
    text.addEventListener("input", function () {
      var now = Date.now();
      if (!open || q("reply-internal").checked || now - lastTyping < 3000) return;
      lastTyping = now;
      call("POST", "/api/conversations/" + encodeURIComponent(open) + "/typing").catch(function () {});
    });
    text.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); form.requestSubmit(); }
    });
    var hint = q("canned-hint");
    var pick = q("canned-pick");
    var typed = function () {
      var m = /^\/([A-Za-z0-9_-]+)$/.exec(text.value.trim());
      return m && canned.filter(function (c) { return c.shortcut === m[1].toLowerCase(); })[0];
    };
    text.addEventListener("input", function () {
      var c = typed();
      hint.hidden = !c;
      if (c) hint.textContent = "Tab inserts /" + c.shortcut + ": " + c.content.slice(0, 80);
    });
    text.addEventListener("keydown", function (e) {
      var c = e.key === "Tab" && !e.shiftKey && typed();
      if (!c) return;
      e.preventDefault();
      text.value = c.content;
      hint.hidden = true;
    });
    pick.addEventListener("change", function () {
      var c = canned.filter(function (x) { return x.id === pick.value; })[0];
      if (c) {
        var at = text.selectionStart || text.value.length;
        text.value = text.value.slice(0, at) + c.content + text.value.slice(text.selectionEnd || at);
        text.focus();
      }
      pick.value = "";
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var content = text.value.trim();
      if (!open || !content) return;
      var internal = q("reply-internal").checked;
      var id = open;
      call("POST", "/api/conversations/" + encodeURIComponent(id) + "/messages", { content: content, internal: internal })
        .then(function () { text.value = ""; return show(id); }, failed);
    });
  }

  // Canned replies: the organization's, listed, added and deleted here.
  var canned = [];
  function renderCanned() {
    var list = q("canned-list"), pick = q("canned-pick");
    list.textContent = "";
    if (pick) while (pick.options.length > 1) pick.remove(1);
    if (!canned.length) list.appendChild(el("li", "small muted", "None yet."));
    canned.forEach(function (c) {
      var li = el("li");
      li.setAttribute("data-docent", "canned-item");
      li.appendChild(el("code", "", "/" + c.shortcut));
      li.appendChild(el("span", "small", " " + c.content.slice(0, 120)));
      if (form) {
        var del = el("button", "btn btn-ghost btn-small", "Delete");
        del.type = "button";
        del.setAttribute("aria-label", "Delete /" + c.shortcut);
        del.addEventListener("click", function () {
          call("DELETE", "/api/canned-replies/" + encodeURIComponent(c.id)).then(loadCanned, failed);
        });
        li.appendChild(del);
      }
      list.appendChild(li);
      if (pick) pick.appendChild(new Option("/" + c.shortcut, c.id));
    });
  }
  function loadCanned() {
    return call("GET", "/api/canned-replies").then(function (list) { canned = list || []; renderCanned(); },
      function () { /* offline: kept as it was */ });
  }
  var cannedForm = q("canned-form");
  if (cannedForm) cannedForm.addEventListener("submit", function (e) {
    e.preventDefault();
    var err = q("canned-error");
    call("POST", "/api/canned-replies", { shortcut: q("canned-shortcut").value, content: q("canned-content").value })
      .then(function () { cannedForm.reset(); err.hidden = true; return loadCanned(); },
        function (x) { err.textContent = x.message; err.hidden = false; });
  });
  loadCanned();

  root.querySelectorAll("[data-view]").forEach(function (b) {
    b.addEventListener("click", function () {
      view = b.getAttribute("data-view");
      root.querySelectorAll("[data-view]").forEach(function (o) { o.setAttribute("aria-pressed", String(o === b)); });
      reload();
    });
  });
  var ask = q("inbox-notify");
  if (window.Notification && Notification.permission === "default") {
    ask.hidden = false;
    ask.addEventListener("click", function () {
      Notification.requestPermission().then(function () { ask.hidden = true; });
    });
  }

  var typingTimer = null;
  var source = new EventSource("/api/inbox/events");
  source.addEventListener("open", function () { reload(); if (open) show(open); });
  source.addEventListener("conversation", function (e) {
    var data = {};
    try { data = JSON.parse(e.data); } catch (x) { return; }
    reload();
    if (data.conversation_id === open) show(open);
  });
  source.addEventListener("typing", function (e) {
    var data = {};
    try { data = JSON.parse(e.data); } catch (x) { return; }
    if (data.conversation_id !== open || !data.detail || data.detail.by !== "visitor") return;
    var t = q("visitor-typing");
    t.hidden = false;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () { t.hidden = true; }, 4000);
  });
  source.addEventListener("resync", function () { reload(); if (open) show(open); });
  reload();
})();
