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
