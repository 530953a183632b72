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
    messages: "Messages"
  };
  var THUMB = "M7 10v11H3V10h4zm0 0l4-8c1.7 0 3 1.3 3 3l-1 4h6a2 2 0 0 1 2 2.3l-1.4 8A2 2 0 0 1 17.6 21H7";
  var RTL = /^(ar|he|iw|fa|ur|ps|yi|dv|ckb|sd|ug)(-|$)/i;
  var CSS =
    ".w{--bg:#fff;--fg:#111827;--mu:#4b5563;--ab:#f3f4f6;--bd:#e5e7eb;--sh:0 12px 40px rgba(0,0,0,.22)}" +
    ".w.dark{--bg:#111827;--fg:#f9fafb;--mu:#cbd5e1;--ab:#1f2937;--bd:#374151}" +
    ".p{position:fixed;bottom:88px;right:20px;z-index:2147483647;display:flex;flex-direction:column;" +
      "width:380px;height:600px;max-height:calc(100vh - 110px);max-width:calc(100vw - 40px);background:var(--bg);" +
      "color:var(--fg);border-radius:16px;box-shadow:var(--sh);overflow:hidden;box-sizing:border-box;" +
      "opacity:0;transform:translateY(12px) scale(.98);transition:opacity .18s ease,transform .18s ease}" +
    ".p.on{opacity:1;transform:none}.p[hidden]{display:none}" +
    ".left .p{left:20px;right:auto}.compact .p{width:340px;height:500px}.large .p{width:440px;height:720px}" +
    ".box .p,.page .p{position:static;width:100%;height:100%;max-height:none;max-width:none;border-radius:0;" +
      "box-shadow:none;opacity:1;transform:none}" +
    ".box,.page{height:100%}.page{background:var(--ab)}.share .p{max-width:760px;margin:0 auto;box-shadow:var(--sh)}" +
    "@media (max-width:480px){.w:not(.box):not(.page) .p{inset:0;width:100%;height:100%;max-height:none;" +
      "max-width:none;border-radius:0}}" +
    "@media (prefers-reduced-motion:reduce){.p{transition:none}.t i{animation:none!important}}" +
    "*{box-sizing:border-box}" +
    ".h{display:flex;align-items:center;gap:10px;padding:12px 14px;background:var(--p);color:var(--pt)}" +
    ".av{width:34px;height:34px;border-radius:50%;flex:none;display:flex;align-items:center;justify-content:center;" +
      "background:rgba(255,255,255,.25);font-weight:700;overflow:hidden}.av img{width:100%;height:100%;object-fit:cover}" +
    ".h h2{flex:1;margin:0;font-size:16px;font-weight:600;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}" +
    ".ib{background:none;border:0;color:inherit;cursor:pointer;width:34px;height:34px;border-radius:8px;padding:0;" +
      "display:flex;align-items:center;justify-content:center;font:inherit}" +
    ".ib:hover{background:rgba(127,127,127,.2)}" +
    "button:focus-visible,a:focus-visible,textarea:focus-visible,.m:focus-visible{outline:3px solid #2563eb;outline-offset:2px}" +
    ".m{flex:1;overflow-y:auto;padding:14px;display:flex;flex-direction:column;gap:12px}" +
    ".g{display:flex;flex-direction:column;max-width:85%;align-self:flex-start}" +
    ".g[data-role=user]{align-self:flex-end;align-items:flex-end}" +
    ".bu{padding:9px 12px;border-radius:14px;background:var(--ab);overflow-wrap:anywhere}" +
    ".g[data-role=user] .bu{background:var(--p);color:var(--pt)}" +
    ".bu p{margin:0 0 .5em}.bu p:last-child{margin:0}.bu ul,.bu ol{margin:.3em 0;padding-inline-start:1.3em}" +
    ".bu code{font:13px ui-monospace,Menlo,Consolas,monospace;background:rgba(127,127,127,.18);padding:1px 4px;border-radius:4px}" +
    ".bu pre{margin:.4em 0;padding:8px;overflow-x:auto;background:rgba(127,127,127,.15);border-radius:8px}" +
    ".bu pre code{background:none;padding:0}.bu a{color:inherit;text-decoration:underline}" +
    ".bu blockquote{margin:0 0 .5em;padding-inline-start:8px;border-inline-start:3px solid var(--bd)}" +
    ".bu .md-t{overflow-x:auto;margin:.3em 0}.bu table{border-collapse:collapse;font-size:13px}" +
    ".bu th,.bu td{border:1px solid var(--bd);padding:2px 6px;text-align:start}.bu hr{border:0;border-top:1px solid var(--bd)}" +
    ".mt{display:flex;align-items:center;gap:6px;margin-top:3px;font-size:12px;color:var(--mu)}" +
    ".fb{background:none;border:1px solid transparent;border-radius:6px;cursor:pointer;color:var(--mu);" +
      "padding:2px 4px;display:inline-flex}" +
    ".fb:hover{border-color:var(--bd)}.fb[aria-pressed=true]{color:var(--fg);border-color:var(--mu)}" +
    ".cs{display:flex;flex-wrap:wrap;gap:6px;margin-top:6px}" +
    ".c{display:inline-block;max-width:100%;font-size:12px;padding:3px 9px;border-radius:999px;" +
      "border:1px solid var(--bd);color:var(--fg);text-decoration:none;background:var(--bg);" +
      "overflow:hidden;text-overflow:ellipsis;white-space:nowrap}a.c:hover{border-color:var(--p)}" +
    ".lb{font-size:12px;color:var(--mu);margin-top:3px}" +
    ".t{display:flex;gap:4px;padding:12px;border-radius:14px;background:var(--ab);align-self:flex-start}" +
    ".t i{width:7px;height:7px;border-radius:50%;background:var(--mu);animation:b 1.2s infinite ease-in-out}" +
    ".t i:nth-child(2){animation-delay:.15s}.t i:nth-child(3){animation-delay:.3s}" +
    "@keyframes b{0%,80%,100%{opacity:.3;transform:translateY(0)}40%{opacity:1;transform:translateY(-3px)}}" +
    ".er{align-self:stretch;font-size:13px;padding:8px 10px;border-radius:10px;border:1px solid #dc2626;" +
      "color:var(--fg);display:flex;gap:8px;align-items:center;justify-content:space-between}" +
    ".er button{font:inherit;font-size:13px;cursor:pointer;border-radius:6px;border:1px solid var(--mu);" +
      "background:var(--bg);color:var(--fg);padding:2px 10px}" +
    ".f{display:flex;gap:8px;align-items:flex-end;padding:10px;border-top:1px solid var(--bd)}" +
    ".f textarea{flex:1;resize:none;font:inherit;color:var(--fg);background:var(--bg);border:1px solid var(--bd);" +
      "border-radius:10px;padding:8px 10px;max-height:120px;min-height:40px;margin:0}" +
    ".f textarea::placeholder{color:var(--mu);opacity:1}" +
    ".s{width:40px;height:40px;flex:none;border:0;border-radius:10px;background:var(--p);color:var(--pt);" +
      "cursor:pointer;display:flex;align-items:center;justify-content:center;padding:0}" +
    ".s:disabled{opacity:.55;cursor:default}[dir=rtl] .s svg{transform:scaleX(-1)}" +
    ".br{text-align:center;font-size:11px;color:var(--mu);padding:0 0 8px}" +
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}";

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

  // The shared Markdown renderer (assets/markdown.js), inlined here when the UI is served.
  /*@markdown*/
  w.Docent._md = docentMarkdown;
  // The shared reader of server-sent events (assets/sse.js), inlined the same way.
  /*@sse*/

  w.Docent._ui = function (ctx) {
    var cfg = ctx.cfg;
    var wc = cfg.widget;
    var S = {};
    Object.keys(STRINGS).forEach(function (k) { S[k] = (wc.strings && wc.strings[k]) || STRINGS[k]; });
    var KEY = "docent:" + ctx.slug;
    var saved = {};
    try { saved = JSON.parse(localStorage.getItem(KEY) || "{}") || {}; } catch (e) { saved = {}; }
    if (!saved.v) {
      saved.v = (w.crypto && crypto.randomUUID ? crypto.randomUUID() :
        Math.random().toString(36).slice(2) + Date.now().toString(36)).replace(/[^A-Za-z0-9_-]/g, "");
    }
    function save() {
      try { localStorage.setItem(KEY, JSON.stringify(saved)); } catch (e) { /* storage blocked */ }
    }
    save();

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
    head.appendChild(avatar);
    head.appendChild(title);
    head.appendChild(fresh);
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

    panel.appendChild(head);
    panel.appendChild(log);
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
      input.placeholder = wc.placeholder || "";
      input.setAttribute("aria-label", S.input_label);
      send.setAttribute("aria-label", S.send);
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

    function bubble(role, text, at) {
      var g = el("div", "g");
      g.setAttribute("data-docent", "message");
      g.setAttribute("data-role", role);
      var b = el("div", "bu");
      // Each message takes the direction of its own text, whatever the layout's.
      b.dir = "auto";
      if (role === "user") b.textContent = text;
      else docentMarkdown(text, b);
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
      var headers = { "Content-Type": "application/json" };
      if (stream) headers.Accept = "text/event-stream";
      return fetch(ctx.api + path, {
        method: "POST",
        headers: headers,
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
        } else if (name === "done") {
          done = true;
          if (!answer) { setBusy(false); answer = bubble("assistant", ""); }
          finish(answer, data);
          busy = false;
          send.disabled = false;
          ctx.emit("message", { id: data.id, role: data.role, content: data.content, citations: data.citations });
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
      delete saved.c;
      save();
      if (failure) failure = null;
      greet();
      input.focus();
    });

    function history() {
      if (!saved.c) return;
      // Busy until the earlier messages are in (assistive technology waits; so can tests).
      log.setAttribute("aria-busy", "true");
      fetch(ctx.api + "/conversation/" + encodeURIComponent(saved.c) + "?visitor_id=" +
        encodeURIComponent(saved.v), { credentials: "omit" })
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
            var g = bubble(m.role, m.content, m.created_at);
            if (m.role !== "user") finish(g, m);
          });
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

    restyle();
    greet();
    if (!ctx.preview) history();
    return {
      open: open,
      close: close,
      isOpen: function () { return opened; },
      restyle: restyle
    };
  };
  if (w.Docent && w.Docent._ready) w.Docent._ready();
})(window, document);
