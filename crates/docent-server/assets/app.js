// Docent dashboard conveniences. Every page works without this file; it only adds
// copy buttons, confirmations and the auto-submitting organization switcher.
(function () {
  "use strict";

  document.documentElement.classList.add("js");

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

  // Live progress: while any document is pending or processing, follow the server's
  // event stream and update the rows; when all are done, show the page as rendered.
  var table = document.querySelector("table[data-events]");
  if (!table || !window.EventSource) { return; }
  var active = function () { return table.querySelector("tr[data-status=pending], tr[data-status=processing]"); };
  if (!active()) { return; }
  var source = new EventSource(table.getAttribute("data-events"));
  source.addEventListener("documents", function (event) {
    JSON.parse(event.data).forEach(function (doc) {
      var row = table.querySelector('tr[data-document="' + doc.id + '"]');
      if (!row) { return; }
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
  });
  source.addEventListener("done", function () {
    source.close();
    // New documents (a crawl's pages) or errors appear with the page as rendered.
    window.location.reload();
  });
})();
