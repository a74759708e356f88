/* CityOps desks: tiny behaviours for the case pages (no inline script; safe across htmx swaps).
 *  - [data-pick-category]: a category suggestion chip sets the category <select>
 *  - [data-fill]: a duplicate-candidate chip fills the merge form's master number
 *  - [data-dismiss-form]: closes an action form opened under a queue row
 *  - [data-mini-map]: a small ECharts map of the district with the case's point
 */
(function () {
  "use strict";
  if (window.CityOpsDesk) return;
  window.CityOpsDesk = true;

  document.addEventListener("click", function (e) {
    var pick = e.target.closest("[data-pick-category]");
    if (pick) {
      // The chip's own form first: several 立案 forms may be open under queue rows at once.
      var own = pick.closest("form");
      var select = (own && own.querySelector('select[name="category"]')) ||
        document.querySelector(pick.getAttribute("data-target") || "#id_category");
      if (select) {
        select.value = pick.getAttribute("data-pick-category");
        select.dispatchEvent(new Event("change", { bubbles: true }));
        select.classList.add("flash-ok");
        setTimeout(function () { select.classList.remove("flash-ok"); }, 900);
      }
      return;
    }
    var fill = e.target.closest("[data-fill]");
    if (fill) {
      var input = document.querySelector(fill.getAttribute("data-fill"));
      if (input) { input.value = fill.getAttribute("data-value"); input.focus(); }
      return;
    }
    var dismiss = e.target.closest("[data-dismiss-form]");
    if (dismiss) {
      var form = dismiss.closest("form");
      if (form) form.remove();
    }
  });

  var geoCache = {};
  function loadGeo(url) {
    if (!geoCache[url]) {
      geoCache[url] = fetch(url, { credentials: "same-origin" }).then(function (r) {
        if (!r.ok) throw new Error("geojson " + r.status);
        return r.json();
      });
    }
    return geoCache[url];
  }

  function initMiniMaps(root) {
    if (!window.echarts) return;
    (root || document).querySelectorAll("[data-mini-map]").forEach(function (el) {
      if (el.getAttribute("data-ready")) return;
      el.setAttribute("data-ready", "1");
      var lon = parseFloat(el.getAttribute("data-lon"));
      var lat = parseFloat(el.getAttribute("data-lat"));
      var url = el.getAttribute("data-geojson-url");
      loadGeo(url).then(function (geo) {
        var features = (geo.features || []).map(function (f) {
          var p = f.properties || {};
          return { type: "Feature", geometry: f.geometry, properties: { name: p.short_name || p.name || p.code, level: p.level } };
        });
        var streets = features.filter(function (f) { return f.properties.level !== "district"; });
        window.echarts.registerMap("cityops-mini", { type: "FeatureCollection", features: streets.length ? streets : features });
        var chart = window.echarts.init(el, null, { renderer: "canvas" });
        chart.setOption({
          animation: false,
          tooltip: { show: false },
          geo: {
            map: "cityops-mini", roam: true, zoom: 1.1,
            label: { show: true, fontSize: 10, color: "#667085" },
            itemStyle: { areaColor: "#eef3fb", borderColor: "#9db3d6" },
            emphasis: { disabled: true }
          },
          series: [{
            type: "effectScatter", coordinateSystem: "geo", data: [[lon, lat]], symbolSize: 12,
            itemStyle: { color: "#c62828" }, rippleEffect: { scale: 3 }
          }]
        });
        window.addEventListener("resize", function () { chart.resize(); });
      }).catch(function () { el.remove(); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { initMiniMaps(document); });
  document.addEventListener("htmx:afterSettle", function (e) { initMiniMaps(e.target); });
})();
