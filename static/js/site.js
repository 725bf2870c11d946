// EvoSync progressive enhancement. Every form works without this file.
(function () {
  "use strict";

  function csrfToken(form) {
    var input = form && form.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  // Forms marked data-async post in the background and replace the element named by
  // data-target with the "html" field of the JSON answer (toggles, test buttons).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-async]")) return;
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    var output = form.dataset.output ? document.getElementById(form.dataset.output) : null;
    if (output) { output.textContent = form.dataset.pending || "…"; }
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { "X-CSRFToken": csrfToken(form), "X-Requested-With": "fetch", "Accept": "application/json" },
      credentials: "same-origin"
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (result) {
      var data = result.data || {};
      if (data.html && form.dataset.target) {
        var target = document.getElementById(form.dataset.target);
        if (target) {
          target.outerHTML = data.html;
          // A swapped-in fragment may itself need polling (a refresh that just started).
          var swapped = document.getElementById(form.dataset.target);
          if (swapped) startPolling(swapped);
        }
      }
      if (output) {
        output.textContent = data.message || data.error || "";
        output.className = "result " + (result.ok && data.ok !== false ? "badge badge-ok" : "badge badge-err");
      }
    }).catch(function () {
      if (output) { output.textContent = form.dataset.failed || "Error"; output.className = "result badge badge-err"; }
    }).finally(function () {
      if (button) button.disabled = false;
    });
  });

  // Elements with data-poll-url refresh themselves from a JSON endpoint ({"html": ..., "done": bool}).
  function poll(element) {
    var url = element.dataset.pollUrl;
    var interval = parseInt(element.dataset.pollInterval || "1500", 10);
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        if (data.html) {
          element.innerHTML = data.html;
        }
        if (!data.done) { setTimeout(function () { poll(element); }, interval); }
        else if (element.dataset.reloadWhenDone) { window.location.reload(); }
      })
      .catch(function () { setTimeout(function () { poll(element); }, interval * 2); });
  }
  function startPolling(root) {
    if (root.matches && root.matches("[data-poll-url]")) poll(root);
    root.querySelectorAll("[data-poll-url]").forEach(poll);
  }
  startPolling(document);

  // Forms marked data-autosubmit (the language switch) submit as soon as a field changes, so the
  // submit button they need without JavaScript (marked data-autosubmit-hide) is hidden.
  document.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
    form.querySelectorAll("[data-autosubmit-hide]").forEach(function (element) {
      element.hidden = true;
    });
    form.addEventListener("change", function () {
      if (form.requestSubmit) form.requestSubmit(); else form.submit();
    });
  });
})();
