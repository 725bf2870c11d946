// EvoSync progressive enhancement. Every page works without this file: forms post, the menu
// is a <details> disclosure. Partial-page updates (toggles, live progress) are htmx attributes
// in the templates (static/vendor/htmx); this file only does what htmx does not.
(function () {
  "use strict";

  // The language switch submits as soon as a language is picked, so the button it needs
  // without JavaScript (marked data-autosubmit-hide) is hidden.
  document.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
    form.querySelectorAll("[data-autosubmit-hide]").forEach(function (element) {
      element.hidden = true;
    });
    form.addEventListener("change", function () {
      if (form.requestSubmit) form.requestSubmit(); else form.submit();
    });
  });

  // The menu: a button on a phone, always open where the header has room for it (the same
  // width as the media query in site.css).
  var wide = window.matchMedia("(min-width: 900px)");
  var menu = document.querySelector("details[data-menu]");
  function fitMenu() { if (menu) menu.open = wide.matches; }
  fitMenu();
  if (wide.addEventListener) wide.addEventListener("change", fitMenu);

  // A dropdown closes on a click elsewhere and on Escape, as a menu is expected to.
  function closeSubmenus(except) {
    document.querySelectorAll("details[data-submenu][open]").forEach(function (details) {
      if (details !== except) details.open = false;
    });
  }
  document.addEventListener("click", function (event) {
    closeSubmenus(event.target.closest && event.target.closest("details[data-submenu]"));
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var open = document.querySelector("details[data-submenu][open]");
    if (open) { open.open = false; open.querySelector("summary").focus(); }
  });
})();
