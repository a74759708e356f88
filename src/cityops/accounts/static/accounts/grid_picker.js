/* The inspector's grid picker (accounts.widgets.GridTreeWidget): search, per-community
   "select all", counters. Without this script the tree still works as nested checkboxes. */
(function () {
  "use strict";

  function boxes(el) { return Array.prototype.slice.call(el.querySelectorAll("input[name]")); }

  function refresh(picker) {
    picker.querySelectorAll(".gp-community").forEach(function (community) {
      var items = boxes(community), on = items.filter(function (b) { return b.checked; }).length;
      var all = community.querySelector("[data-gp-all]");
      all.checked = on === items.length && on > 0;
      all.indeterminate = on > 0 && on < items.length;
      community.querySelector("[data-gp-count]").textContent = on + "/" + items.length;
    });
    picker.querySelectorAll(".gp-street").forEach(function (street) {
      var items = boxes(street), on = items.filter(function (b) { return b.checked; }).length;
      street.querySelector(":scope > summary [data-gp-count]").textContent = on + "/" + items.length;
    });
    var total = boxes(picker).filter(function (b) { return b.checked; }).length;
    picker.querySelector("[data-gp-total]").textContent = "已选 " + total + " 个网格";
  }

  function search(picker, text) {
    var q = text.trim().toLowerCase(), any = false;
    picker.querySelectorAll(".gp-street").forEach(function (street) {
      var streetName = street.querySelector(":scope > summary .gp-name").textContent.toLowerCase();
      var streetHit = q !== "" && streetName.indexOf(q) >= 0, streetShown = false;
      street.querySelectorAll(".gp-community").forEach(function (community) {
        var name = community.querySelector(".gp-name").textContent.toLowerCase();
        var communityHit = streetHit || (q !== "" && name.indexOf(q) >= 0), shown = false;
        community.querySelectorAll("li").forEach(function (li) {
          var hit = q === "" || communityHit || li.textContent.toLowerCase().indexOf(q) >= 0;
          li.hidden = !hit;
          shown = shown || hit;
        });
        community.hidden = !shown;
        if (q !== "") { community.open = shown && !communityHit; }
        streetShown = streetShown || shown;
      });
      street.hidden = !streetShown;
      if (q !== "") { street.open = streetShown; }
      any = any || streetShown;
    });
    picker.querySelector("[data-gp-nomatch]").hidden = any;
  }

  function init(picker) {
    picker.addEventListener("change", function (event) {
      var target = event.target;
      if (target.hasAttribute("data-gp-all")) {
        boxes(target.closest(".gp-community")).forEach(function (b) {
          if (!b.closest("li").hidden) { b.checked = target.checked; }
        });
      }
      refresh(picker);
    });
    // A click on the "select all" box must not also fold or unfold the community.
    picker.querySelectorAll(".gp-all").forEach(function (label) {
      label.addEventListener("click", function (event) { event.stopPropagation(); });
    });
    var input = picker.querySelector("[data-gp-search]"), timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { search(picker, input.value); }, 150);
    });
    // Enter in the search box must not submit the admin form.
    input.addEventListener("keydown", function (event) { if (event.key === "Enter") { event.preventDefault(); } });
    picker.querySelector("[data-gp-clear]").addEventListener("click", function () {
      boxes(picker).forEach(function (b) { b.checked = false; });
      refresh(picker);
    });
    refresh(picker);
  }

  function start() { document.querySelectorAll("[data-grid-picker]").forEach(init); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
