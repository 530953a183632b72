// Docent dashboard conveniences. Every page works without this file; it only adds
// copy buttons, confirmations and the auto-submitting organization switcher.
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  // On a phone the sidebar is a menu behind a button (without this file it stays open).
  var toggle = document.querySelector("[data-docent=menu-toggle]");
  var menu = document.getElementById("sidebar-menu");
  if (toggle && menu) {
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      menu.classList.toggle("open", open);
    });
  }

  // Organization switcher: submit on change; the Switch button is for no-JS visitors.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
  document.querySelectorAll("[data-hide-with-js]").forEach(function (el) { el.hidden = true; });

  // Destructive forms ask first.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });

  // Copy buttons copy the value of the input they name.
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var input = document.getElementById(button.getAttribute("data-copy"));
      if (!input) { return; }
      var done = function () {
        var label = button.textContent;
        button.textContent = "Copied";
        setTimeout(function () { button.textContent = label; }, 1500);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, function () { input.select(); });
      } else {
        input.select();
        try { document.execCommand("copy"); done(); } catch (e) { /* the text stays selected */ }
      }
    });
  });

  // Flash messages fade after a while but stay in the accessibility tree until then.
  document.querySelectorAll(".flash").forEach(function (flash) {
    setTimeout(function () { flash.classList.add("flash-out"); }, 6000);
  });
})();

// Knowledge uploads: drag and drop onto the drop zone, and show the chosen file names.
(function () {
  "use strict";
  var zone = document.querySelector("[data-dropzone]");
  if (zone) {
    var input = zone.querySelector("input[type=file]");
    var names = zone.querySelector("[data-file-names]");
    var show = function () {
      var list = Array.prototype.map.call(input.files, function (f) { return f.name; });
      names.textContent = list.length ? list.join(", ") : "";
    };
    input.addEventListener("change", show);
    ["dragenter", "dragover"].forEach(function (type) {
      zone.addEventListener(type, function (event) { event.preventDefault(); zone.classList.add("dragging"); });
    });
    ["dragleave", "drop"].forEach(function (type) {
      zone.addEventListener(type, function () { zone.classList.remove("dragging"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      if (event.dataTransfer && event.dataTransfer.files.length) {
        input.files = event.dataTransfer.files;
        show();
        zone.closest("form").requestSubmit();
      }
    });
  }

  // Live progress: the table follows the server's event stream of this chat space's
  // documents, whichever instance or worker does the work: rows change as documents are
  // processed; a document added elsewhere, or all work ending, shows the page as rendered
  // (new rows, errors, a crawl's pages), unless the owner is filling in a form here, who
  // is told instead.
  var table = document.querySelector("[data-events]");
  if (!table || !window.EventSource) { return; }
  var active = function () { return table.querySelector("tr[data-status=pending], tr[data-status=processing]"); };
  var busy = function () {
    var focused = document.activeElement;
    if (focused && focused.form && focused.type !== "submit") { return true; }
    return Array.prototype.some.call(document.querySelectorAll("form input[type=url], form input[type=file]"), function (field) {
      return field.files ? field.files.length > 0 : field.value !== "";
    });
  };
  // At most one reload every three seconds: a crawl adds pages faster than that.
  var refresh = function () {
    if (busy()) {
      var note = document.querySelector("[data-docent=knowledge-changed]");
      if (note) { note.hidden = false; }
      return;
    }
    var key = "docent:knowledge-reloaded";
    var last = 0;
    try { last = Number(window.sessionStorage.getItem(key)) || 0; } catch (e) { last = 0; }
    window.setTimeout(function () {
      try { window.sessionStorage.setItem(key, String(Date.now())); } catch (e) { /* storage blocked */ }
      window.location.reload();
    }, Math.max(0, last + 3000 - Date.now()));
  };
  var follow = function () {
    var source = new EventSource(table.getAttribute("data-events") + "?watch=true");
    source.addEventListener("documents", function (event) {
      var wasActive = !!active();
      var added = false;
      JSON.parse(event.data).forEach(function (doc) {
        var row = table.querySelector('tr[data-document="' + doc.id + '"]');
        if (!row) { added = true; return; }
        row.setAttribute("data-status", doc.status);
        var badge = row.querySelector("[data-docent=document-status]");
        badge.textContent = doc.status;
        badge.className = "badge badge-" + doc.status;
        var bar = row.querySelector("progress");
        if (bar) { bar.value = doc.progress; bar.textContent = doc.progress + "%"; }
        ["page_count", "word_count", "chunk_count"].forEach(function (field) {
          var cell = row.querySelector('[data-field="' + field + '"]');
          if (cell && doc[field] !== null && doc[field] !== undefined) { cell.textContent = doc[field]; }
        });
      });
      if (added || (wasActive && !active())) {
        source.close();
        refresh();
      }
    });
    // The server ends a stream after ten minutes; watch on with a new one.
    source.addEventListener("done", function () {
      source.close();
      follow();
    });
  };
  follow();
})();

// Playground: stream answers from the chat API, show citations and the retrieved passages.
(function () {
  var form = document.querySelector("form[data-playground]");
  if (!form || !window.fetch || !window.TextDecoder) { return; }
  var log = document.querySelector("[data-chat-log]");
  var sources = document.querySelector("[data-sources]");
  var conversation = form.querySelector("[data-conversation]");
  var textarea = form.querySelector("textarea");
  var button = form.querySelector("button[type=submit]");
  var el = function (tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  };
  var message = function (role, text) {
    var item = el("li", "msg msg-" + role);
    item.appendChild(el("span", "sr-only", role === "user" ? "You:" : "Assistant:"));
    var bubble = el("div", "bubble", text);
    item.appendChild(bubble);
    log.appendChild(item);
    var empty = document.querySelector("[data-empty-chat]");
    if (empty) { empty.hidden = true; }
    item.scrollIntoView({ block: "end" });
    return { item: item, bubble: bubble };
  };
  // Answers are Markdown (assets/shared/markdown.js); questions stay plain text.
  var render = function (bubble, text) {
    bubble.textContent = "";
    window.docentMarkdown(text, bubble);
  };
  document.querySelectorAll("[data-markdown]").forEach(function (bubble) { render(bubble, bubble.textContent); });
  var showSources = function (list) {
    sources.textContent = "";
    list.forEach(function (s, i) {
      var item = el("li", "source");
      var meta = el("p", "source-meta small");
      meta.appendChild(el("strong", "", "#" + (i + 1)));
      meta.appendChild(document.createTextNode(" · score " + s.score.toFixed(4) +
        " · text rank " + (s.text_rank == null ? "–" : s.text_rank) +
        " · similarity " + (s.similarity == null ? "–" : s.similarity.toFixed(3))));
      item.appendChild(meta);
      var title = el("p", "source-title");
      title.appendChild(el("strong", "", s.document_title));
      if (s.page != null) { title.appendChild(document.createTextNode(", page " + s.page)); }
      if (!s.citable) { title.appendChild(document.createTextNode(" ")); title.appendChild(el("span", "badge", "learn-only")); }
      item.appendChild(title);
      item.appendChild(el("p", "small source-text", s.content.length > 280 ? s.content.slice(0, 280) + "…" : s.content));
      sources.appendChild(item);
    });
    if (!list.length) { sources.appendChild(el("li", "muted", "Nothing in the knowledge matched this question.")); }
  };
  var labels = {
    extractive: "Quoted from your knowledge (no language model configured)",
    dont_know: "No answer in the knowledge: recorded as a knowledge gap",
    error: "The model failed"
  };
  var finish = function (answer, done) {
    render(answer.bubble, done.content);
    if (labels[done.answer_kind]) { answer.item.appendChild(el("p", "muted small", labels[done.answer_kind])); }
    if (done.citations && done.citations.length) {
      var list = el("ul", "citations");
      list.setAttribute("aria-label", "Sources");
      done.citations.forEach(function (c) {
        var item = el("li");
        item.appendChild(el("span", "cite-n", "[" + c.index + "]"));
        item.appendChild(document.createTextNode(" "));
        if (c.url && /^https?:\/\//.test(c.url)) {
          var link = el("a", "", c.title);
          link.href = c.url; link.rel = "noopener noreferrer"; link.target = "_blank";
          item.appendChild(link);
        } else {
          item.appendChild(document.createTextNode(c.title));
        }
        if (c.page != null) { item.appendChild(document.createTextNode(", page " + c.page)); }
        list.appendChild(item);
      });
      answer.item.appendChild(list);
    }
    answer.item.appendChild(el("p", "muted small", done.processing_time_ms + " ms · " + done.tokens_in + " + " + done.tokens_out + " tokens"));
  };
  var fail = function (answer, text) {
    answer.bubble.textContent = text;
    answer.item.classList.add("msg-error");
  };
  form.addEventListener("submit", function (event) {
    var question = textarea.value.trim();
    if (!question) { return; }
    event.preventDefault();
    button.disabled = true;
    message("user", question);
    textarea.value = "";
    var answer = message("assistant", "…");
    answer.bubble.setAttribute("aria-busy", "true");
    var body = { message: question };
    if (conversation.value) { body.conversation_id = conversation.value; }
    var text = "";
    fetch(form.getAttribute("data-api"), {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "text/event-stream",
        "X-CSRF-Token": form.querySelector("input[name=csrf_token]").value
      },
      body: JSON.stringify(body)
    }).then(function (response) {
      if (!response.ok) {
        return response.json().then(function (e) { fail(answer, e.error ? e.error.message : "The question could not be answered."); });
      }
      return window.docentEvents(response, function (name, payload) {
        if (name === "start") {
          conversation.value = payload.conversation_id;
          if (payload.sources) { showSources(payload.sources); }
        } else if (name === "delta") {
          text += payload.text;
          render(answer.bubble, text);
        } else if (name === "done") {
          finish(answer, payload);
        } else if (name === "error") {
          fail(answer, payload.message);
        }
      });
    }).catch(function () {
      fail(answer, "The connection was lost; try again.");
    }).then(function () {
      answer.bubble.removeAttribute("aria-busy");
      button.disabled = false;
      textarea.focus();
    });
  });
})();

// Appearance: the preview is the real widget; every change of the form restyles it.
(function () {
  var form = document.querySelector("[data-docent=appearance-form]");
  if (!form) { return; }
  var value = function (name) {
    var field = form.elements[name];
    return field ? field.value : "";
  };
  var update = function () {
    if (!window.Docent || !window.Docent.configure) { return; }
    var strings = {};
    value("widget_config.strings").split("\n").forEach(function (line) {
      var at = line.indexOf("=");
      if (at > 0) { strings[line.slice(0, at).trim()] = line.slice(at + 1).trim(); }
    });
    window.Docent.configure({
      bot_name: value("widget_config.bot_name"),
      primary_color: value("widget_config.primary_color"),
      theme: value("theme"),
      position: value("position"),
      size: value("size"),
      locale: value("widget_config.locale"),
      avatar_url: value("widget_config.avatar_url") || null,
      welcome_message: value("widget_config.welcome_message"),
      placeholder: value("widget_config.placeholder"),
      rtl: form.elements.rtl.checked,
      show_branding: form.elements.show_branding.checked,
      strings: strings
    });
  };
  form.addEventListener("input", update);
  form.addEventListener("change", update);
})();
