/* Docent chat UI, loaded by widget.js on first open. Builds every node with textContent or
   createElement: no text from the server or the visitor is ever parsed as HTML. */
(function (w, d) {
  "use strict";
  var STRINGS = {
    open: "Open chat",
    close: "Close chat",
    send: "Send",
    input_label: "Your message",
    new_conversation: "New conversation",
    forget: "Delete my conversations",
    forget_confirm: "Delete your conversations with this assistant, here and on our side? This cannot be undone.",
    forgotten: "Your conversations were deleted.",
    delete: "Delete",
    cancel: "Cancel",
    typing: "The assistant is typing",
    retry: "Retry",
    network_error: "Couldn't reach the assistant. Check your connection and try again.",
    error: "Something went wrong. Please try again.",
    helpful: "Helpful",
    not_helpful: "Not helpful",
    sources: "Sources",
    page: "p.",
    extractive: "Quoted from our documents",
    powered_by: "Powered by Docent",
    messages: "Messages",
    talk_to_person: "Talk to a person",
    waiting: "Waiting for a person to join. You can keep writing here.",
    joined: "is here to help",
    back_to_bot: "You're chatting with the assistant again.",
    closed: "This conversation was closed. Write again to start a new one.",
    away: "Nobody is available right now. Leave your email and we'll answer you there.",
    away_noted: "Thanks, we'll answer you by email (or here, if you stay).",
    your_email: "Your email",
    lead_thanks: "Thanks! We'll be in touch.",
    send: "Send",
    agent: "Support"
  };
  var THUMB = "M7 10v11H3V10h4zm0 0l4-8c1.7 0 3 1.3 3 3l-1 4h6a2 2 0 0 1 2 2.3l-1.4 8A2 2 0 0 1 17.6 21H7";
  var RTL = /^(ar|he|iw|fa|ur|ps|yi|dv|ckb|sd|ug)(-|$)/i;
  // The widget's style and design tokens (assets/widget/widget.css), inlined when served.
  var CSS = /*@css*/"";

  function el(tag, cls, text) {
    var e = d.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  function svg(path) {
    var ns = "http://www.w3.org/2000/svg";
    var s = d.createElementNS(ns, "svg");
    s.setAttribute("viewBox", "0 0 24 24");
    s.setAttribute("width", "20");
    s.setAttribute("height", "20");
    s.setAttribute("aria-hidden", "true");
    var p = d.createElementNS(ns, "path");
    p.setAttribute("d", path);
    p.setAttribute("fill", "none");
    p.setAttribute("stroke", "currentColor");
    p.setAttribute("stroke-width", "2.2");
    p.setAttribute("stroke-linecap", "round");
    p.setAttribute("stroke-linejoin", "round");
    s.appendChild(p);
    return s;
  }

  // The shared Markdown renderer (assets/shared/markdown.js), inlined here when the UI is served.
  /*@markdown*/
  w.Docent._md = docentMarkdown;
  // The shared reader of server-sent events (assets/shared/sse.js), inlined the same way.
  /*@sse*/

  w.Docent._ui = function (ctx) {
    var cfg = ctx.cfg;
    var wc = cfg.widget;
    var S = {};
    Object.keys(STRINGS).forEach(function (k) { S[k] = (wc.strings && wc.strings[k]) || STRINGS[k]; });
    // A signed-in visitor's conversations are kept apart from anyone else's on this browser.
    var KEY = "docent:" + ctx.slug + (ctx.who.identity ? ":" + ctx.who.visitor_id : "");
    function headers(h) {
      h = h || {};
      if (ctx.who.identity) h["X-Docent-Identity"] = ctx.who.identity;
      return h;
    }
    var saved = {};
    try { saved = JSON.parse(localStorage.getItem(KEY) || "{}") || {}; } catch (e) { saved = {}; }
    function visitorId() {
      return (w.crypto && crypto.randomUUID ? crypto.randomUUID() :
        Math.random().toString(36).slice(2) + Date.now().toString(36)).replace(/[^A-Za-z0-9_-]/g, "");
    }
    if (!saved.v) saved.v = visitorId();
    // Nothing is written to the visitor's browser until they first ask something (a site
    // may show the widget before its visitors consent to storage).
    function save() {
      try { localStorage.setItem(KEY, JSON.stringify(saved)); } catch (e) { /* storage blocked */ }
    }

    ctx.css(ctx.root, CSS);
    var wrap = ctx.wrap;
    if (ctx.mode !== "launcher") wrap.classList.add(ctx.mode);
    if (ctx.share) wrap.classList.add("share");

    var panel = el("section", "p");
    panel.setAttribute("role", ctx.mode === "launcher" ? "dialog" : "region");
    panel.setAttribute("aria-labelledby", "dct");
    panel.setAttribute("data-docent", "panel");
    if (ctx.mode === "launcher") panel.hidden = true;

    var head = el("header", "h");
    var avatar = el("span", "av");
    avatar.setAttribute("aria-hidden", "true");
    var title = el("h2");
    title.id = "dct";
    var fresh = el("button", "ib");
    fresh.type = "button";
    fresh.setAttribute("data-docent", "new-conversation");
    fresh.appendChild(svg("M4 4v6h6M20 20v-6h-6M5.5 15a7 7 0 0 0 12.3 2M18.5 9A7 7 0 0 0 6.2 7"));
    var forget = el("button", "ib");
    forget.type = "button";
    forget.setAttribute("data-docent", "forget-me");
    forget.appendChild(svg("M5 7h14M10 7V4h4v3M7 7l1 13h8l1-13M10 11v6M14 11v6"));
    head.appendChild(avatar);
    head.appendChild(title);
    head.appendChild(fresh);
    head.appendChild(forget);
    if (ctx.mode === "launcher") {
      var shut = el("button", "ib");
      shut.type = "button";
      shut.setAttribute("data-docent", "close");
      shut.setAttribute("aria-label", S.close);
      shut.appendChild(svg("M6 6l12 12M18 6L6 18"));
      shut.addEventListener("click", function () { close(); });
      head.appendChild(shut);
    }

    var log = el("div", "m");
    log.setAttribute("role", "log");
    log.setAttribute("aria-live", "polite");
    log.setAttribute("aria-label", S.messages);
    log.setAttribute("tabindex", "0");
    log.setAttribute("data-docent", "messages");

    var form = el("form", "f");
    var input = el("textarea");
    input.rows = 1;
    input.maxLength = 4000;
    input.setAttribute("data-docent", "input");
    var send = el("button", "s");
    send.type = "submit";
    send.setAttribute("data-docent", "send");
    send.appendChild(svg("M4 12l16-8-6 16-2.5-6.5z"));
    form.appendChild(input);
    form.appendChild(send);

    // Handover (when the chat space has it on): a button to ask for a person, and the
    // conversation's live events (an agent's replies and typing) while it is with one.
    var human = null;
    if (cfg.handover) {
      human = el("button", "hb");
      human.type = "button";
      human.setAttribute("data-docent", "talk-to-person");
    }
    panel.appendChild(head);
    panel.appendChild(log);
    if (human) panel.appendChild(human);
    panel.appendChild(form);
    var brand = el("div", "br", S.powered_by);
    panel.appendChild(brand);
    wrap.appendChild(panel);

    function restyle() {
      wc = cfg.widget;
      var dark = wc.theme === "dark" ||
        (wc.theme === "auto" && w.matchMedia && matchMedia("(prefers-color-scheme: dark)").matches);
      wrap.classList.toggle("dark", !!dark);
      wrap.classList.toggle("left", wc.position === "bottom-left");
      wrap.classList.remove("compact", "standard", "large");
      wrap.classList.add(wc.size || "standard");
      wrap.style.setProperty("--p", wc.primary_color);
      wrap.style.setProperty("--pt", ctx.textOn(wc.primary_color));
      wrap.dir = wc.rtl || RTL.test(wc.locale || "") ? "rtl" : "ltr";
      wrap.lang = wc.locale || "en";
      title.textContent = wc.bot_name || cfg.name;
      panel.setAttribute("aria-label", wc.bot_name || cfg.name);
      avatar.textContent = "";
      if (wc.avatar_url && /^https?:\/\//.test(wc.avatar_url)) {
        var img = el("img");
        img.alt = "";
        img.src = wc.avatar_url;
        avatar.appendChild(img);
      } else {
        avatar.textContent = (wc.bot_name || cfg.name || "?").trim().charAt(0).toUpperCase();
      }
      fresh.setAttribute("aria-label", S.new_conversation);
      fresh.title = S.new_conversation;
      forget.setAttribute("aria-label", S.forget);
      forget.title = S.forget;
      input.placeholder = wc.placeholder || "";
      input.setAttribute("aria-label", S.input_label);
      send.setAttribute("aria-label", S.send);
      if (human) human.textContent = S.talk_to_person;
      brand.hidden = wc.show_branding === false;
      if (welcome) welcome.querySelector(".bu").textContent = wc.welcome_message || "";
    }
    if (w.matchMedia) {
      var mq = matchMedia("(prefers-color-scheme: dark)");
      if (mq.addEventListener) mq.addEventListener("change", restyle);
    }

    function time(at) {
      var t = el("time");
      var date = at ? new Date(at) : new Date();
      t.dateTime = date.toISOString();
      try {
        t.textContent = date.toLocaleTimeString(wc.locale || undefined, { hour: "2-digit", minute: "2-digit" });
      } catch (e) {
        t.textContent = date.toLocaleTimeString();
      }
      return t;
    }

    function scroll() { log.scrollTop = log.scrollHeight; }

    function bubble(role, text, at, by) {
      var g = el("div", "g");
      g.setAttribute("data-docent", "message");
      g.setAttribute("data-role", role);
      var b = el("div", "bu");
      // Each message takes the direction of its own text, whatever the layout's.
      b.dir = "auto";
      if (role === "user") b.textContent = text;
      else docentMarkdown(text, b);
      if (by) g.appendChild(el("div", "lb", by));
      g.appendChild(b);
      var meta = el("div", "mt");
      meta.appendChild(time(at));
      g.appendChild(meta);
      log.appendChild(g);
      scroll();
      return g;
    }

    function finish(g, m) {
      g.setAttribute("data-id", m.id);
      var b = g.querySelector(".bu");
      b.textContent = "";
      docentMarkdown(m.content, b);
      var meta = g.querySelector(".mt");
      meta.replaceChild(time(m.created_at), meta.firstChild);
      if (m.answer_kind === "extractive") g.insertBefore(el("div", "lb", S.extractive), meta);
      if (m.citations && m.citations.length) {
        var cs = el("div", "cs");
        cs.setAttribute("aria-label", S.sources);
        cs.setAttribute("role", "list");
        m.citations.forEach(function (c) {
          var label = "[" + c.index + "] " + (c.title || c.file_name || c.url || "") +
            (c.page ? " · " + S.page + " " + c.page : "");
          var chip;
          if (c.url && /^https?:\/\//.test(c.url)) {
            chip = el("a", "c", label);
            chip.href = c.url;
            chip.target = "_blank";
            chip.rel = "noopener noreferrer";
          } else {
            chip = el("span", "c", label);
          }
          chip.setAttribute("role", "listitem");
          chip.setAttribute("data-docent", "citation");
          chip.title = label;
          cs.appendChild(chip);
        });
        g.insertBefore(cs, meta);
      }
      if (m.role === "assistant" && m.id && !ctx.preview) {
        [["up", S.helpful], ["down", S.not_helpful]].forEach(function (f) {
          var btn = el("button", "fb");
          var icon = btn.appendChild(svg(THUMB));
          icon.setAttribute("width", "15");
          icon.setAttribute("height", "15");
          if (f[0] === "down") icon.style.transform = "rotate(180deg)";
          btn.type = "button";
          btn.setAttribute("aria-label", f[1]);
          btn.title = f[1];
          btn.setAttribute("aria-pressed", String(m.feedback === f[0]));
          btn.setAttribute("data-docent", "feedback-" + f[0]);
          btn.addEventListener("click", function () { rate(g, m, f[0]); });
          meta.appendChild(btn);
        });
      }
      scroll();
    }

    function rate(g, m, value) {
      var next = m.feedback === value ? null : value;
      post("/feedback", {
        visitor_id: saved.v,
        conversation_id: saved.c,
        message_id: m.id,
        feedback: next
      }).then(function (r) {
        if (!r.ok) return;
        m.feedback = next;
        g.querySelectorAll(".fb").forEach(function (b) {
          b.setAttribute("aria-pressed", String(b.getAttribute("data-docent") === "feedback-" + next));
        });
      }, function () { /* offline: the buttons keep their state */ });
    }

    function post(path, body, stream) {
      var h = headers({ "Content-Type": "application/json" });
      if (stream) h.Accept = "text/event-stream";
      return fetch(ctx.api + path, {
        method: "POST",
        headers: h,
        body: JSON.stringify(body),
        credentials: "omit"
      });
    }

    var welcome = null;
    function greet() {
      log.textContent = "";
      welcome = null;
      if (wc.welcome_message) {
        welcome = bubble("assistant", "");
        welcome.querySelector(".bu").textContent = wc.welcome_message;
        welcome.setAttribute("data-welcome", "true");
      }
    }

    var busy = false;
    var typing = null;
    var failure = null;
    function setBusy(on) {
      busy = on;
      send.disabled = on;
      if (on && !typing) {
        typing = el("div", "t");
        typing.setAttribute("role", "status");
        typing.setAttribute("aria-label", S.typing);
        typing.setAttribute("data-docent", "typing");
        typing.appendChild(el("i"));
        typing.appendChild(el("i"));
        typing.appendChild(el("i"));
        log.appendChild(typing);
        scroll();
      }
      if (!on && typing) {
        typing.remove();
        typing = null;
      }
    }

    function fail(message, question) {
      setBusy(false);
      failure = el("div", "er");
      failure.setAttribute("role", "alert");
      failure.setAttribute("data-docent", "error");
      failure.appendChild(el("span", "", message));
      if (question != null) {
        var again = el("button", "", S.retry);
        again.type = "button";
        again.setAttribute("data-docent", "retry");
        again.addEventListener("click", function () { ask(question, true); });
        failure.appendChild(again);
      }
      log.appendChild(failure);
      scroll();
    }

    function ask(text, retrying) {
      if (busy) return;
      if (failure) { failure.remove(); failure = null; }
      if (!retrying) {
        bubble("user", text);
        ctx.emit("message", { role: "user", content: text });
        if (lf && ++sent >= lf.after_messages) leadDue("after_messages");
      }
      setBusy(true);
      var answer = null;
      var raw = "";
      var done = false;
      var body = {
        message: text,
        visitor_id: saved.v,
        locale: navigator.language,
        referrer: location.href.slice(0, 2000)
      };
      if (saved.c) body.conversation_id = saved.c;
      if (ctx.who.name) body.name = ctx.who.name;
      if (ctx.who.email) body.email = ctx.who.email;
      function event(name, data) {
        if (name === "start") {
          saved.c = data.conversation_id;
          save();
        } else if (name === "delta") {
          if (!answer) {
            setBusy(false);
            busy = true;
            send.disabled = true;
            answer = bubble("assistant", "");
          }
          raw += data.text;
          var b = answer.querySelector(".bu");
          b.textContent = "";
          docentMarkdown(raw, b);
          scroll();
        } else if (name === "done" && data.role === "user") {
          // A person has the conversation (or was just asked for): no answer follows.
          done = true;
          setBusy(false);
          follow();
        } else if (name === "done") {
          done = true;
          if (!answer) { setBusy(false); answer = bubble("assistant", ""); }
          finish(answer, data);
          busy = false;
          send.disabled = false;
          ctx.emit("message", { id: data.id, role: data.role, content: data.content, citations: data.citations });
          follow();
          if (data.answer_kind === "dont_know") leadDue("no_answer");
        } else if (name === "error") {
          done = true;
          if (answer) answer.remove();
          fail(data.message || S.error, text);
        }
      }
      post("/chat", body, true).then(function (r) {
        if (!r.ok) {
          return r.json().then(function (e) {
            var code = e && e.error && e.error.code;
            if (code === "not_found" && saved.c && /conversation/i.test(e.error.message)) {
              delete saved.c;
              save();
              setBusy(false);
              return ask(text, true);
            }
            fail((e && e.error && e.error.message) || S.error,
              code === "validation_failed" ? null : text);
          }, function () { fail(S.error, text); });
        }
        return docentEvents(r, event).then(function () {
          if (!done) {
            if (answer) answer.remove();
            fail(S.network_error, text);
          }
        });
      }).catch(function () {
        if (!done) {
          if (answer) answer.remove();
          fail(S.network_error, text);
        }
      });
    }

    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var text = input.value.trim();
      if (!text || busy) return;
      input.value = "";
      input.style.height = "";
      ask(text, false);
    });
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit"));
      }
    });
    input.addEventListener("input", function () {
      input.style.height = "";
      input.style.height = Math.min(input.scrollHeight, 120) + "px";
    });
    panel.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && ctx.mode === "launcher") {
        e.stopPropagation();
        close();
      }
    });
    fresh.addEventListener("click", function () {
      unfollow();
      delete saved.c;
      save();
      if (failure) failure = null;
      greet();
      input.focus();
    });
    // Asked in the chat itself (a host page may replace `window.confirm`), then erased on
    // the server and forgotten here: a new visitor id, nothing kept.
    forget.addEventListener("click", function () {
      if (log.querySelector(".fg")) return;
      var ask = el("div", "er fg");
      ask.setAttribute("role", "alertdialog");
      ask.setAttribute("aria-label", S.forget);
      ask.appendChild(el("span", "", S.forget_confirm));
      var yes = el("button", "", S.delete);
      yes.type = "button";
      yes.setAttribute("data-docent", "forget-confirm");
      var no = el("button", "", S.cancel);
      no.type = "button";
      no.setAttribute("data-docent", "forget-cancel");
      no.addEventListener("click", function () { ask.remove(); forget.focus(); });
      yes.addEventListener("click", function () {
        ask.remove();
        fetch(ctx.api + "/visitor", {
          method: "DELETE", credentials: "omit",
          headers: headers({ "content-type": "application/json" }),
          body: JSON.stringify({ visitor_id: saved.v })
        }).then(function (r) {
          if (!r.ok) throw r;
          try { localStorage.removeItem(KEY); } catch (e) { /* storage blocked */ }
          unfollow();
          saved = { v: visitorId() };
          greet();
          bubble("assistant", S.forgotten).setAttribute("data-docent", "forgotten");
        }, function () { fail(S.network_error); }).catch(function () { fail(S.error); });
      });
      ask.appendChild(yes);
      ask.appendChild(no);
      log.appendChild(ask);
      scroll();
      yes.focus();
    });

    function history() {
      // A signed-in visitor new to this browser continues where they were on another.
      if (!saved.c && ctx.who.identity) {
        fetch(ctx.api + "/conversations?visitor_id=" + encodeURIComponent(saved.v),
          { credentials: "omit", headers: headers() })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (list) {
            var open = list && list.data.filter(function (c) { return c.status !== "closed"; })[0];
            if (open) { saved.c = open.conversation_id; save(); history(); }
          }, function () { /* offline: a new conversation */ });
        return;
      }
      if (!saved.c) return;
      // Busy until the earlier messages are in (assistive technology waits; so can tests).
      log.setAttribute("aria-busy", "true");
      fetch(ctx.api + "/conversation/" + encodeURIComponent(saved.c) + "?visitor_id=" +
        encodeURIComponent(saved.v), { credentials: "omit", headers: headers() })
        .then(function (r) {
          if (r.status === 404) {
            delete saved.c;
            save();
            return null;
          }
          return r.ok ? r.json() : null;
        })
        .then(function (h) {
          if (!h) return;
          h.messages.forEach(function (m) {
            var g = bubble(m.role, m.content, m.created_at, m.role === "agent" ? S.agent : null);
            if (m.role !== "user") finish(g, m);
          });
          if (h.status !== "closed") follow();
        }, function () { /* offline: the welcome stays */ })
        .then(function () { log.removeAttribute("aria-busy"); });
    }

    var opened = false;
    function open() {
      if (ctx.mode === "launcher") {
        panel.hidden = false;
        // Let the browser paint the hidden state before animating in.
        requestAnimationFrame(function () { requestAnimationFrame(function () { panel.classList.add("on"); }); });
        ctx.setOpen(true);
      }
      opened = true;
      input.focus();
      ctx.emit("open", {});
      leadDue("before_chat");
      if (cfg.outside_hours) leadDue("outside_hours");
    }
    function close() {
      if (ctx.mode !== "launcher" || panel.hidden) return;
      panel.classList.remove("on");
      panel.hidden = true;
      opened = false;
      ctx.setOpen(false);
      ctx.focusLauncher();
      ctx.emit("close", {});
    }

    var source = null;
    var state = null;
    var banner = null;
    var agentName = S.agent;
    var agentTyping = null;
    function unfollow() {
      if (source) source.close();
      source = null;
      state = null;
      if (banner) banner.remove();
      banner = null;
    }
    function say(text, status) {
      if (banner) banner.remove();
      banner = text ? el("div", "hs", text) : null;
      if (banner) {
        banner.setAttribute("role", "status");
        banner.setAttribute("data-docent", "handover-status");
        banner.setAttribute("data-status", status);
        log.appendChild(banner);
        scroll();
      }
    }
    function onStatus(s) {
      var was = state;
      state = s.status;
      if (s.agent) agentName = s.agent.name;
      if (human) human.hidden = state !== "active";
      if (state === "waiting_for_human") {
        if (s.available !== false) say(S.waiting, state);
        else { say(s.email_left ? S.away_noted : S.away, state); if (!s.email_left) leaveEmail(); }
      }
      else if (state === "human") say(agentName + " " + S.joined, state);
      else if (state === "closed") { unfollow(); delete saved.c; save(); say(S.closed, "closed"); }
      else if (was && was !== "active") say(S.back_to_bot, state);
    }
    // Nobody can answer now: the visitor may leave an email, and the conversation waits.
    function leaveEmail() {
      var f = el("form"), i = el("input"), b = el("button", "hb", S.send);
      f.setAttribute("data-docent", "leave-email");
      i.type = "email"; i.required = true; i.autocomplete = "email";
      i.placeholder = S.your_email; i.setAttribute("aria-label", S.your_email);
      b.type = "submit";
      f.appendChild(i); f.appendChild(b);
      f.addEventListener("submit", function (e) {
        e.preventDefault();
        b.disabled = true;
        post("/contact", { visitor_id: saved.v, conversation_id: saved.c, email: i.value })
          .then(function (r) { return r.json(); }).then(function (s) {
            b.disabled = false;
            if (s && s.status) onStatus(s);
            else fail((s && s.error && s.error.message) || S.error);
          }, function () { b.disabled = false; fail(S.network_error); });
      });
      banner.appendChild(f);
    }
    // The lead form, once per browser (until the visitor gives their details), when one of
    // the chat space's moments comes; what the server refuses is shown by the form.
    var lf = wc.lead_form && wc.lead_form.enabled ? wc.lead_form : null, leadCard = null, sent = 0;
    function leadDue(why) {
      if (!lf || saved.l || leadCard || ctx.preview || lf.ask.indexOf(why) < 0) return;
      var f = leadCard = el("form", "lf"), consent = null;
      f.setAttribute("data-docent", "lead-form");
      f.appendChild(el("p", null, lf.title));
      lf.fields.forEach(function (x) {
        var l = el("label", null, x.label + (x.required ? " *" : "")), i;
        if (x.kind === "select") {
          i = el("select");
          [""].concat(x.options).forEach(function (o) { var op = el("option", null, o); op.value = o; i.appendChild(op); });
        } else {
          i = el("input");
          i.type = { email: "email", phone: "tel" }[x.kind] || "text";
          i.maxLength = 500;
          i.autocomplete = { name: "name", email: "email", phone: "tel", company: "organization" }[x.key] || "off";
        }
        i.name = x.key;
        i.required = !!x.required;
        l.appendChild(i);
        f.appendChild(l);
      });
      if (lf.consent) {
        var c = el("label", "lc");
        consent = el("input");
        consent.type = "checkbox";
        consent.required = true;
        c.appendChild(consent);
        c.appendChild(d.createTextNode(lf.consent));
        f.appendChild(c);
      }
      var b = el("button", "hb", S.send), err = el("p", "le");
      b.type = "submit";
      err.setAttribute("role", "alert");
      f.appendChild(b);
      f.appendChild(err);
      f.addEventListener("submit", function (e) {
        e.preventDefault();
        var fields = {};
        lf.fields.forEach(function (x) { var v = f.elements[x.key].value.trim(); if (v) fields[x.key] = v; });
        var body = { visitor_id: saved.v, fields: fields, consent: !!(consent && consent.checked), page_url: location.href.slice(0, 2000) };
        if (saved.c) body.conversation_id = saved.c;
        b.disabled = true;
        err.textContent = "";
        post("/lead", body).then(function (r) {
          return r.json().then(function (j) {
            b.disabled = false;
            if (!r.ok) {
              var e = j && j.error;
              err.textContent = (e && ((e.fields && e.fields[0] && e.fields[0].message) || e.message)) || S.error;
              return;
            }
            saved.l = 1;
            save();
            f.textContent = "";
            f.setAttribute("data-docent", "lead-thanks");
            f.appendChild(el("p", null, S.lead_thanks));
            ctx.emit("lead", { fields: fields });
          });
        }).catch(function () { b.disabled = false; err.textContent = S.network_error; });
      });
      log.appendChild(f);
      scroll();
    }
    function follow() {
      if (!cfg.handover || !saved.c || source || ctx.preview || !w.EventSource) return;
      source = new EventSource(ctx.api + "/conversation/" + encodeURIComponent(saved.c) +
        "/events?visitor_id=" + encodeURIComponent(saved.v) +
        (ctx.who.identity ? "&identity=" + encodeURIComponent(ctx.who.identity) : ""));
      source.addEventListener("status", function (e) {
        try { onStatus(JSON.parse(e.data)); } catch (x) { /* a torn event */ }
      });
      source.addEventListener("message", function (e) {
        var m;
        try { m = JSON.parse(e.data); } catch (x) { return; }
        if (log.querySelector('[data-id="' + m.id + '"]')) return;
        if (agentTyping) { agentTyping.remove(); agentTyping = null; }
        finish(bubble(m.role, m.content, m.created_at, agentName), m);
        ctx.emit("message", { id: m.id, role: m.role, content: m.content });
      });
      source.addEventListener("typing", function () {
        if (agentTyping) return;
        agentTyping = el("div", "t");
        agentTyping.setAttribute("role", "status");
        agentTyping.setAttribute("aria-label", agentName + " " + S.typing);
        agentTyping.setAttribute("data-docent", "agent-typing");
        agentTyping.appendChild(el("i"));
        agentTyping.appendChild(el("i"));
        agentTyping.appendChild(el("i"));
        log.appendChild(agentTyping);
        scroll();
        setTimeout(function () { if (agentTyping) { agentTyping.remove(); agentTyping = null; } }, 4000);
      });
    }
    if (human) human.addEventListener("click", function () {
      human.disabled = true;
      var opened = saved.c ? Promise.resolve() : post("/conversation", { visitor_id: saved.v })
        .then(function (r) { return r.json(); })
        .then(function (o) { saved.c = o.conversation_id; save(); });
      opened.then(function () {
        return post("/handover", { visitor_id: saved.v, conversation_id: saved.c });
      }).then(function (r) { return r.json(); }).then(function (s) {
        human.disabled = false;
        if (s && s.status) { onStatus(s); follow(); }
        else fail((s && s.error && s.error.message) || S.error);
      }, function () { human.disabled = false; fail(S.network_error); });
    });
    var lastTyping = 0;
    input.addEventListener("input", function () {
      if (state !== "human" || Date.now() - lastTyping < 3000) return;
      lastTyping = Date.now();
      post("/typing", { visitor_id: saved.v, conversation_id: saved.c }).catch(function () {});
    });

    restyle();
    greet();
    if (!ctx.preview) history();
    // An inline or shared chat is open from the start.
    if (ctx.mode !== "launcher") {
      leadDue("before_chat");
      if (cfg.outside_hours) leadDue("outside_hours");
    }
    return {
      open: open,
      close: close,
      isOpen: function () { return opened; },
      restyle: restyle
    };
  };
  if (w.Docent && w.Docent._ready) w.Docent._ready();
})(window, document);
