/* Docent widget loader. Paints the launcher inside a Shadow DOM and fetches the chat UI on
   first open. <script src="…/widget.js" data-chat-space="SLUG" async></script>
   Optional: data-mode="inline" (fill the element named by data-target, or the page). */
(function (w, d) {
  "use strict";
  if (w.Docent && w.Docent.version) return;
  var script = d.currentScript || d.querySelector("script[data-chat-space]");
  var slug = script && script.getAttribute("data-chat-space");
  if (!slug) {
    console.warn('Docent: add data-chat-space="SLUG" to the widget script tag.');
    return;
  }
  var base = new URL(script.src, location.href).origin;
  var mode = script.getAttribute("data-mode") || "launcher";
  var listeners = {};
  var who = {};
  if (script.getAttribute("data-visitor-token")) {
    who.visitor_id = script.getAttribute("data-visitor-id") || "";
    who.identity = who.visitor_id + "." + script.getAttribute("data-visitor-expires") + "." +
      script.getAttribute("data-visitor-token");
  }
  var ctx = null;
  var ui = null;
  var want = false;
  var loading = false;

  function emit(name, data) {
    (listeners[name] || []).forEach(function (fn) {
      try { fn(data); } catch (e) { console.error(e); }
    });
  }

  var Docent = (w.Docent = {
    version: 1,
    open: function () { want = true; load(); },
    close: function () { want = false; if (ui) ui.close(); },
    toggle: function () { if (ui && ui.isOpen()) Docent.close(); else Docent.open(); },
    // Who the visitor is: a name and email to show agents, and, signed by the site's
    // backend, a verified identity ({visitor_id, expires, token}); call it before the chat opens.
    identify: function (p) {
      p = p || {};
      if (p.name) who.name = String(p.name);
      if (p.email) who.email = String(p.email);
      if (p.visitor_id && p.expires && p.token) {
        who.visitor_id = String(p.visitor_id);
        who.identity = who.visitor_id + "." + p.expires + "." + p.token;
      }
    },
    // Live changes of the look (the dashboard's preview).
    configure: function (widget) {
      if (!ctx) return;
      for (var k in widget) ctx.cfg.widget[k] = widget[k];
      if (ui) ui.restyle();
    },
    on: function (name, fn) {
      (listeners[name] = listeners[name] || []).push(fn);
      return Docent;
    },
    // Called by the UI script once it has run.
    _ready: function () {
      if (ctx && !ui && Docent._ui) {
        ui = Docent._ui(ctx);
        if (want) ui.open();
      }
    }
  });

  function load() {
    if (!ctx) return;
    if (ui) { ui.open(); return; }
    if (loading) return;
    loading = true;
    var s = d.createElement("script");
    s.src = base + "__DOCENT_UI__";
    s.async = true;
    s.onerror = function () {
      loading = false;
      console.warn("Docent: the chat could not be loaded.");
    };
    (d.head || d.documentElement).appendChild(s);
  }

  function css(root, text) {
    // Adopted sheets pass the host page's style-src policy; <style> is the fallback.
    try {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(text);
      root.adoptedStyleSheets = root.adoptedStyleSheets.concat(sheet);
    } catch (e) {
      var el = d.createElement("style");
      el.textContent = text;
      root.appendChild(el);
    }
  }

  function textOn(hex) {
    // Black or white, whichever contrasts more with the colour.
    var n = parseInt(hex.slice(1), 16);
    var lum = [n >> 16, (n >> 8) & 255, n & 255].map(function (c) {
      c /= 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    var l = 0.2126 * lum[0] + 0.7152 * lum[1] + 0.0722 * lum[2];
    return (l + 0.05) / 0.05 > 1.05 / (l + 0.05) ? "#111111" : "#ffffff";
  }

  var ICON_CHAT = '<svg viewBox="0 0 24 24" width="26" height="26" aria-hidden="true"><path fill="currentColor" d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"/></svg>';
  var ICON_CLOSE = '<svg viewBox="0 0 24 24" width="24" height="24" aria-hidden="true"><path fill="none" stroke="currentColor" stroke-width="2.4" stroke-linecap="round" d="M6 6l12 12M18 6L6 18"/></svg>';

  function paint(cfg) {
    var wc = cfg.widget;
    var strings = wc.strings || {};
    var host = d.createElement("docent-chat");
    var target = mode === "inline" && script.getAttribute("data-target");
    var parent = (target && d.querySelector(target)) || d.body || d.documentElement;
    var inPlace = mode !== "launcher";
    var fill = inPlace && parent === (d.body || d.documentElement) ? "page" : inPlace ? "box" : "";
    var root = host.attachShadow({ mode: "open" });
    css(root,
      ":host{all:initial!important;display:block!important;" +
        (fill === "page" ? "position:fixed!important;inset:0!important;z-index:2147483647!important}" :
         fill === "box" ? "width:100%!important;height:100%!important}" : "}") +
      ".w{--p:" + wc.primary_color + ";--pt:" + textOn(wc.primary_color) + ";" +
        "font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#111827}" +
      ".l{position:fixed;bottom:20px;right:20px;left:auto;z-index:2147483647;width:56px;height:56px;" +
        "border:0;border-radius:50%;background:var(--p);color:var(--pt);cursor:pointer;display:flex;" +
        "align-items:center;justify-content:center;box-shadow:0 6px 20px rgba(0,0,0,.25);" +
        "transition:transform .2s ease;padding:0;margin:0}" +
      ".l:hover{transform:scale(1.06)}.l:focus-visible{outline:3px solid #2563eb;outline-offset:3px}" +
      ".left .l{left:20px;right:auto}" +
      "@media (prefers-reduced-motion:reduce){.l{transition:none}}");
    var wrap = d.createElement("div");
    wrap.className = "w" + (wc.position === "bottom-left" ? " left" : "");
    root.appendChild(wrap);
    var launcher = null;
    if (!inPlace) {
      launcher = d.createElement("button");
      launcher.type = "button";
      launcher.className = "l";
      launcher.setAttribute("data-docent", "launcher");
      launcher.setAttribute("aria-haspopup", "dialog");
      launcher.setAttribute("aria-expanded", "false");
      launcher.setAttribute("aria-label", strings.open || "Open chat");
      launcher.innerHTML = ICON_CHAT;
      launcher.addEventListener("click", Docent.toggle);
      // Fetch the UI while the pointer is on its way.
      launcher.addEventListener("pointerenter", load.bind(null));
      wrap.appendChild(launcher);
    }
    parent.appendChild(host);
    ctx = {
      base: base,
      api: base + "/api/widget/" + encodeURIComponent(slug),
      slug: slug,
      mode: fill || "launcher",
      share: mode === "page",
      preview: !!script.getAttribute("data-config"),
      textOn: textOn,
      cfg: cfg,
      root: root,
      wrap: wrap,
      who: who,
      emit: emit,
      css: css,
      setOpen: function (open) {
        if (!launcher) return;
        launcher.setAttribute("aria-expanded", String(open));
        launcher.setAttribute("aria-label", open ? strings.close || "Close chat" : strings.open || "Open chat");
        launcher.innerHTML = open ? ICON_CLOSE : ICON_CHAT;
      },
      focusLauncher: function () { if (launcher) launcher.focus(); }
    };
    if (inPlace) want = true;
    if (want) load();
    if (!inPlace && !want) {
      // Warm the cache when the page is idle (or after 3 s at most), so the first open is instant.
      var warm = function () {
        if (!loading) {
          var l = d.createElement("link");
          l.rel = "prefetch";
          l.as = "script";
          l.href = base + "__DOCENT_UI__";
          (d.head || d.documentElement).appendChild(l);
        }
      };
      if (w.requestIdleCallback) w.requestIdleCallback(warm, { timeout: 3000 });
      else setTimeout(warm, 3000);
    }
  }

  var given = script.getAttribute("data-config");
  (given ? Promise.resolve(JSON.parse(given)) :
  fetch(base + "/api/widget/" + encodeURIComponent(slug) + "/config", { credentials: "omit" })
    .then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body.error ? body.error.message : "HTTP " + r.status);
        return body;
      });
    }))
    .then(function (cfg) {
      if (d.body) paint(cfg);
      else d.addEventListener("DOMContentLoaded", function () { paint(cfg); });
    })
    .catch(function (e) {
      console.warn("Docent: the chat is not available here: " + e.message);
    });
})(window, document);
