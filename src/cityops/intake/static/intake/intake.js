/* Small behaviours of the intake pages (no inline scripts, CSP friendly):
 * - [data-photo-input]: show the chosen photo's name, size and a preview;
 * - form[data-once]: disable the submit button once submitted (no double reports);
 * - [data-note-required-when]: mark the note as required when "fail" is chosen.
 */
(function () {
  "use strict";

  function humanSize(bytes) {
    return bytes > 1048576 ? (bytes / 1048576).toFixed(1) + " MB" : Math.max(1, Math.round(bytes / 1024)) + " KB";
  }

  function photoPreview(input) {
    var box = document.createElement("div");
    box.className = "photo-preview";
    box.hidden = true;
    input.insertAdjacentElement("afterend", box);
    var limit = parseInt(input.getAttribute("data-max-bytes") || "0", 10);
    var lastUrl = null;
    input.addEventListener("change", function () {
      box.textContent = "";
      if (lastUrl) { URL.revokeObjectURL(lastUrl); lastUrl = null; }
      var file = input.files && input.files[0];
      if (!file) { box.hidden = true; return; }
      box.hidden = false;
      if (/^image\//.test(file.type) && window.URL && URL.createObjectURL) {
        var img = document.createElement("img");
        lastUrl = URL.createObjectURL(file);
        img.src = lastUrl;
        img.alt = "照片预览";
        box.appendChild(img);
      }
      var meta = document.createElement("span");
      meta.textContent = file.name + "（" + humanSize(file.size) + "）";
      if (input.files.length > 1) { meta.textContent += " 等 " + input.files.length + " 张"; }
      if (limit && file.size > limit) {
        meta.className = "field-error";
        meta.textContent += " 超过 " + humanSize(limit) + " 上限，请重新选择。";
      }
      box.appendChild(meta);
    });
  }

  function submitOnce(form) {
    form.addEventListener("submit", function () {
      var buttons = form.querySelectorAll('button[type="submit"], button:not([type])');
      window.setTimeout(function () {
        buttons.forEach(function (b) {
          b.disabled = true;
          if (b.getAttribute("data-busy-label")) b.textContent = b.getAttribute("data-busy-label");
        });
      }, 0);
    });
  }

  function noteToggle(form) {
    var note = form.querySelector("[data-note]");
    if (!note) return;
    function update() {
      var fail = form.querySelector('input[name="passed"][value="0"]:checked');
      note.required = !!fail;
      note.closest(".m-field").classList.toggle("is-required", !!fail);
    }
    form.addEventListener("change", update);
    update();
  }

  function init() {
    document.querySelectorAll("[data-photo-input]").forEach(photoPreview);
    document.querySelectorAll("form[data-once]").forEach(submitOnce);
    document.querySelectorAll("form[data-verify]").forEach(noteToggle);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
