/* Score chart of the assessment ranking: horizontal bars coloured by grade (ECharts). */
(function () {
  "use strict";
  var COLORS = { A: "#1a7f37", B: "#2f80c6", C: "#d09a00", D: "#e36f1c", E: "#c62828" };
  function draw() {
    var el = document.getElementById("score-chart");
    var source = document.getElementById("score-data");
    if (!el || !source || !window.echarts) return;
    var rows = JSON.parse(source.textContent || "[]");
    if (!rows.length) return;
    var shown = rows.slice(0, 12).reverse();
    el.style.minHeight = Math.max(170, 28 * shown.length + 48) + "px";
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      grid: { left: 8, right: 56, top: 22, bottom: 4, containLabel: true },
      xAxis: { type: "value", min: 0, max: 100, splitNumber: 5, axisLabel: { color: "#667085" } },
      yAxis: { type: "category", data: shown.map(function (r) { return r.name; }), axisLabel: { color: "#1d2533", width: 130, overflow: "truncate" }, axisTick: { show: false } },
      tooltip: { trigger: "item", formatter: function (p) { var r = shown[p.dataIndex]; return r.name + "<br>综合得分 " + r.score.toFixed(1) + "，等级 " + r.grade; } },
      series: [{
        type: "bar", barMaxWidth: 18,
        data: shown.map(function (r) { return { value: r.score, itemStyle: { color: COLORS[r.grade] || "#1f5fbf", borderRadius: [0, 3, 3, 0] } }; }),
        label: { show: true, position: "right", formatter: function (p) { return shown[p.dataIndex].score.toFixed(1) + " " + shown[p.dataIndex].grade; }, color: "#344054" },
        markLine: { silent: true, symbol: "none", label: { position: "end", formatter: "{b}", color: "#98a2b3", fontSize: 10 }, lineStyle: { color: "#d0d5dd", type: "dashed" },
          data: [{ xAxis: 90, name: "A" }, { xAxis: 75, name: "B" }, { xAxis: 60, name: "C" }, { xAxis: 40, name: "D" }] }
      }]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw); else draw();
})();
