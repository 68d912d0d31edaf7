// Rollcall pages: small progressive enhancements. Every page works without
// them (forms post, pages link); they add drag and drop, live progress and
// a confirmation before destructive buttons.
(function () {
  "use strict";

  // Drag and drop onto the upload form's drop zone.
  function dropzone() {
    var zone = document.getElementById("dropzone");
    var input = document.getElementById("file");
    var name = document.getElementById("dropzone-file");
    if (!zone || !input) return;
    function show() {
      name.textContent = input.files.length ? "Chosen: " + input.files[0].name : "";
    }
    ["dragenter", "dragover"].forEach(function (type) {
      zone.addEventListener(type, function (e) { e.preventDefault(); zone.classList.add("dragging"); });
    });
    ["dragleave", "drop"].forEach(function (type) {
      zone.addEventListener(type, function () { zone.classList.remove("dragging"); });
    });
    zone.addEventListener("drop", function (e) {
      e.preventDefault();
      if (e.dataTransfer && e.dataTransfer.files.length) {
        input.files = e.dataTransfer.files;
        show();
      }
    });
    input.addEventListener("change", show);
  }

  // Pages of a running background job poll its status and move on when
  // the job's state changes.
  function poll() {
    var box = document.querySelector("[data-poll]");
    if (!box) return;
    var url = box.getAttribute("data-poll");
    var whileState = box.getAttribute("data-while");
    // The page was drawn from a version of the import; an answer older
    // than that (the read model catching up) says nothing new.
    var shown = Number(box.getAttribute("data-version") || 0);
    var bar = document.getElementById("commit-progress");
    var label = document.getElementById("commit-progress-label");
    var pct = document.getElementById("commit-progress-percent");
    function tick() {
      fetch(url, { credentials: "same-origin", cache: "no-store" })
        .then(function (r) {
          // Signed out meanwhile (the session's end redirects to the
          // sign-in page): reloading the page shows it.
          if (r.redirected || r.status === 401) {
            window.location.reload();
            return null;
          }
          // A busy or restarting server is asked again: a page that stops
          // polling on one bad answer waits forever for a job long done.
          if (!r.ok) {
            setTimeout(tick, 3000);
            return null;
          }
          return r.json();
        })
        .then(function (s) {
          if (!s) return;
          if (s.version < shown) {
            setTimeout(tick, 500);
            return;
          }
          if (bar && s.progress) {
            bar.max = Math.max(s.progress.total, 1);
            bar.value = s.progress.done;
            if (label) label.textContent = s.label;
            if (pct) pct.textContent = s.progress.total ? Math.min(100, Math.floor(s.progress.done * 100 / s.progress.total)) : 100;
          }
          if (s.state !== whileState) {
            window.location.assign(s.next);
            return;
          }
          setTimeout(tick, 1000);
        })
        .catch(function () { setTimeout(tick, 3000); });
    }
    setTimeout(tick, 500);
  }

  // Forms that give something up ask first.
  function confirmations() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (e) {
        if (!window.confirm(form.getAttribute("data-confirm"))) e.preventDefault();
      });
    });
  }

  // The mapping page says what is still missing while the person chooses.
  function mapping() {
    var selects = document.querySelectorAll("[data-field-select]");
    var out = document.getElementById("mapping-missing");
    if (!selects.length || !out) return;
    function check() {
      var chosen = {};
      selects.forEach(function (s) { chosen[s.value] = (chosen[s.value] || 0) + 1; });
      var missing = [];
      if (!chosen.email) missing.push("an Email column");
      if (!chosen.full_name && !(chosen.first_name && chosen.last_name)) {
        missing.push("First name and Last name columns, or a Full name column");
      }
      out.textContent = missing.length ? "Still needed: " + missing.join("; ") + "." : "";
    }
    selects.forEach(function (s) { s.addEventListener("change", check); });
    check();
  }

  document.addEventListener("DOMContentLoaded", function () {
    dropzone();
    poll();
    confirmations();
    mapping();
  });
})();
