/* Leader dashboard: draws the charts from the JSON embedded in the page (#dash-data, the same
 * document /api/v1/stats/dashboard answers). Every chart item links to the case list behind it.
 * Empty data draws an empty-state message instead of empty axes. No inline script. */
(function () {
  "use strict";

  var BLUE = ["#1f5fbf", "#3a86d6", "#5aa6e8", "#7dc1f0", "#a4d7f5", "#2e9e4f", "#e0a100", "#d6443a", "#8a63d2", "#12939a"];
  var SLA = { green: "#2e9e4f", yellow: "#e0a100", red: "#d93025", other: "#98a2b3" };
  var charts = [];

  function ready(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }

  function go(link) { if (link) window.location.href = link; }

  function total(items) { return items.reduce(function (s, i) { return s + (i.value || 0); }, 0); }

  function emptyGraphic(text) {
    return { type: "text", left: "center", top: "middle", style: { text: text || "该时段暂无数据", fill: "#98a2b3", fontSize: 14 } };
  }

  function make(el, option, items) {
    var chart = window.echarts.init(el);
    option.textStyle = { fontFamily: getComputedStyle(document.body).fontFamily };
    option.color = option.color || BLUE;
    chart.setOption(option);
    chart.on("click", function (p) {
      var d = p.data || {};
      if (d.link) go(d.link);
      else if (items && p.dataIndex != null && items[p.dataIndex] && items[p.dataIndex].link) go(items[p.dataIndex].link);
    });
    charts.push(chart);
    return chart;
  }

  function empty(el, text) {
    return make(el, { graphic: [emptyGraphic(text)], xAxis: { show: false }, yAxis: { show: false }, series: [] });
  }

  function tip(item) {
    return item.exact === false ? "<br><span style='color:#98a2b3'>案件列表暂不支持此精确筛选，将显示上一级范围</span>" : "";
  }

  function bars(el, items, opts) {
    opts = opts || {};
    if (!items.length || !total(items)) return empty(el, opts.empty);
    var horizontal = opts.horizontal;
    var names = items.map(function (i) { return i.name; });
    var data = items.map(function (i, n) {
      return { value: i.value, link: i.link, exact: i.exact, itemStyle: opts.colors ? { color: opts.colors[i.key] || BLUE[n % BLUE.length] } : undefined };
    });
    var cat = { type: "category", data: names, axisLabel: { interval: 0, fontSize: 11, width: horizontal ? 96 : 70, overflow: "truncate", rotate: horizontal ? 0 : (names.length > 6 ? 30 : 0) }, inverse: !!horizontal };
    var val = { type: "value", minInterval: 1, splitLine: { lineStyle: { color: "#eef1f6" } } };
    return make(el, {
      grid: { left: horizontal ? 104 : 40, right: 28, top: 14, bottom: horizontal ? 20 : (names.length > 6 ? 58 : 30) },
      tooltip: { trigger: "item", formatter: function (p) { return p.name + "：" + p.value + " 件<br>点击查看案件" + tip(p.data); } },
      xAxis: horizontal ? val : cat,
      yAxis: horizontal ? cat : val,
      series: [{ type: "bar", data: data, barMaxWidth: 26, cursor: "pointer", label: { show: true, position: horizontal ? "right" : "top", fontSize: 11 } }]
    }, items);
  }

  function pie(el, items, opts) {
    opts = opts || {};
    if (!items.length || !total(items)) return empty(el, opts.empty);
    var data = items.map(function (i) {
      return { name: i.name, value: i.value, link: i.link, exact: i.exact, itemStyle: opts.colors && opts.colors[i.key] ? { color: opts.colors[i.key] } : undefined };
    });
    return make(el, {
      tooltip: { trigger: "item", formatter: function (p) { return p.name + "：" + p.value + " 件（" + p.percent + "%）<br>点击查看案件" + tip(p.data); } },
      legend: { type: "scroll", orient: "vertical", right: 4, top: "middle", textStyle: { fontSize: 11 } },
      series: [{
        type: "pie", radius: opts.donut ? ["45%", "72%"] : "70%", center: ["38%", "52%"], data: data, cursor: "pointer",
        label: { formatter: "{c}", fontSize: 11 }, labelLine: { length: 6, length2: 6 }
      }]
    }, items);
  }

  function trend(el, t, d) {
    var add = function (a, b) { return a + (b || 0); };
    var sum = t.current.reduce(add, 0) + t.compare.reduce(add, 0);
    if (!t.labels.length || !sum) return empty(el, d.period.notes.length ? d.period.notes[0] : "该时段暂无上报");
    var labels = t.labels.map(function (l) { return t.granularity === "day" ? l.slice(5) : l; });
    return make(el, {
      grid: { left: 40, right: 20, top: 34, bottom: 28 },
      legend: { top: 0, data: ["本期", t.compare_name] },
      tooltip: {
        trigger: "axis",
        formatter: function (ps) {
          var i = ps[0].dataIndex;
          var lines = [t.labels[i] + " 本期：" + (t.current[i] == null ? "—" : t.current[i] + " 件")];
          if (t.compare_labels[i] !== undefined) lines.push(t.compare_labels[i] + " " + t.compare_name + "：" + (t.compare[i] || 0) + " 件");
          return lines.join("<br>") + "<br>点击查看当日案件";
        }
      },
      xAxis: { type: "category", data: labels, boundaryGap: false, axisLabel: { fontSize: 11 } },
      yAxis: { type: "value", minInterval: 1, splitLine: { lineStyle: { color: "#eef1f6" } } },
      series: [
        { name: "本期", type: "line", smooth: 0.25, symbolSize: 6, areaStyle: { opacity: 0.12 }, cursor: "pointer",
          data: t.current.map(function (v, i) { return { value: v, link: t.links[i] }; }) },
        { name: t.compare_name, type: "line", smooth: 0.25, symbolSize: 4, lineStyle: { type: "dashed" }, color: "#98a2b3", data: t.compare }
      ]
    });
  }

  function draw(d) {
    var el = function (name) { return document.querySelector('[data-chart="' + name + '"]'); };
    var noneText = d.notes.length ? d.notes[d.notes.length - 1] : "该时段暂无上报";
    trend(el("trend"), d.trend, d);
    pie(el("sla"), d.sla_mix, { donut: true, colors: SLA, empty: "当前没有未办结的案件" });
    pie(el("channel"), d.by_channel, { empty: noneText });
    bars(el("type"), d.by_type, { empty: noneText });
    bars(el("status"), d.status_mix, { empty: noneText });
    bars(el("category"), d.by_category, { horizontal: true, empty: noneText });
    bars(el("topcat"), d.top_categories, { horizontal: true, empty: noneText });
    bars(el("street"), d.by_street, { horizontal: true, empty: noneText });
    bars(el("community"), d.by_community, { empty: noneText });
    pie(el("satisfaction"), d.satisfaction, {
      donut: true, colors: { satisfied: "#2e9e4f", basically_satisfied: "#7dc1f0", unsatisfied: "#d93025" }, empty: "该时段没有确定满意度结果的案件"
    });
  }

  /* The period the server resolved (not the raw query string, which may repeat `period`). */
  function mapQuery(d) {
    var q = new URLSearchParams({ period: "custom", from: d.period.start, to: d.period.end, compare: d.period.compare });
    if (d.street) q.set("street", d.street.code);
    return q.toString();
  }

  function initMap(root, data) {
    var el = root.querySelector("[data-map]");
    if (!el || !window.CityOpsStatsMap) return;
    var note = root.querySelector("[data-map-note]");
    var level = root.querySelector("[data-map-level]");
    var metric = root.querySelector("[data-map-metric]");
    var points = root.querySelector("[data-map-points]");
    var map = new window.CityOpsStatsMap(el, {
      layersUrl: root.dataset.layersUrl, mapUrl: root.dataset.mapUrl, pointsUrl: root.dataset.pointsUrl,
      level: level.value, metric: metric.value, query: mapQuery(data), points: points.checked,
      onNote: function (text) { if (note) note.textContent = text ? " " + text : ""; }
    });
    map.load();
    level.addEventListener("change", function () { map.load(level.value, metric.value); });
    metric.addEventListener("change", function () { map.load(level.value, metric.value); });
    points.addEventListener("change", function () { map.setPoints(points.checked); });
    charts.push(map);
  }

  ready(function () {
    var root = document.getElementById("dash");
    var node = document.getElementById("dash-data");
    if (!root || !node || !window.echarts) return;
    var data = JSON.parse(node.textContent);
    draw(data);
    initMap(root, data);
    root.querySelectorAll("[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
    var resize = null;
    window.addEventListener("resize", function () {
      clearTimeout(resize);
      resize = setTimeout(function () { charts.forEach(function (c) { c.resize(); }); }, 150);
    });
  });
})();
