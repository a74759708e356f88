/* Big screen (大屏): polls /api/v1/stats/bigscreen every 5 seconds and updates in place, so a
 * new case shows in the ticker (and pulses on the map) within seconds, without a reload.
 * The 1920×1080 stage is scaled to the window. No inline script. */
(function () {
  "use strict";

  var POLL_MS = 5000;
  var MAP_VALUES_MS = 60000;
  var MAP_POINTS_MS = 30000;
  var stage, data, session, api, latestId = 0, hourly, streets, map, failures = 0;

  function $(sel) { return stage.querySelector(sel); }
  function $$(sel) { return stage.querySelectorAll(sel); }

  function get(obj, path) {
    return path.split(".").reduce(function (o, k) { return o == null ? o : o[k]; }, obj);
  }

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function fit() {
    var scale = Math.min(window.innerWidth / 1920, window.innerHeight / 1080);
    var left = Math.max(0, (window.innerWidth - 1920 * scale) / 2);
    var top = Math.max(0, (window.innerHeight - 1080 * scale) / 2);
    stage.style.transform = "translate(" + left + "px," + top + "px) scale(" + scale + ")";
  }

  function figures(d) {
    $$("[data-k]").forEach(function (el) {
      var key = el.getAttribute("data-k");
      if (key === "compare") {
        var pct = d.today.created_change_pct;
        el.textContent = "上周同期 " + d.today.created_last_week_same_time + (pct == null ? "" : "（" + (pct > 0 ? "+" : "") + pct + "%）");
        el.className = pct > 0 ? "up" : (pct < 0 ? "down" : "");
        return;
      }
      var v = get(d, key);
      el.textContent = v == null ? "—" : (key.indexOf("rate") >= 0 ? v + "%" : v);
    });
    $("[data-clock]").textContent = d.clock;
  }

  function ticker(d) {
    var ul = $("[data-ticker]");
    if (!d.ticker.length) { ul.innerHTML = '<li class="bs-empty">暂无案件</li>'; return; }
    ul.innerHTML = d.ticker.map(function (c) {
      return '<li data-number="' + esc(c.number) + '"' + (c.new ? ' class="is-new"' : "") + ">" +
        '<span class="t">' + esc(c.time) + "</span>" +
        '<a class="w" href="' + esc(c.link) + '">' + esc(c.category) + " · " + esc(c.title) + "</a>" +
        '<span class="m">' + esc(c.number) + " · " + esc(c.place) + " · " + esc(c.channel) + " · " + esc(c.status) + "</span></li>";
    }).join("");
    var count = $("[data-newcount]");
    count.textContent = d.new_count ? "新增 " + d.new_count + " 件" : "";
  }

  /* Drop the rows that would be cut off at the bottom of their box (the newest stay). */
  function trim(ul) {
    var limit = ul.getBoundingClientRect().bottom;
    Array.prototype.slice.call(ul.children).forEach(function (li) {
      if (li.getBoundingClientRect().bottom > limit + 1) li.remove();
    });
  }

  function alarms(d) {
    var ul = $("[data-alarms]");
    if (!d.alarms.length) { ul.innerHTML = '<li class="bs-empty">当前没有超期案件</li>'; return; }
    ul.innerHTML = d.alarms.slice(0, 5).map(function (a) {
      return '<li><span class="o">超期' + esc(a.overdue_text) + '</span><a class="w" href="' + esc(a.link) + '">' +
        esc(a.street) + " · " + esc(a.category) + " · " + esc(a.department) + "</a></li>";
    }).join("");
  }

  function fmt(v, unit) {
    if (v == null) return "—";
    return (typeof v === "number" && Math.abs(v) >= 1000 ? Math.round(v).toLocaleString("zh-CN") : v) + (unit === "%" ? "%" : "");
  }

  function targets(d) {
    var ul = $("[data-targets]");
    if (!d.targets || !d.targets.length) { ul.innerHTML = '<li class="bs-empty">暂无目标数据</li>'; return; }
    ul.innerHTML = d.targets.slice(0, 5).map(function (t) {
      var cls = t.met === true ? "met" : (t.met === false ? "unmet" : "na");
      var progress = t.progress != null ? Math.max(0, Math.min(100, t.progress)) : null;
      return '<li class="' + cls + '"><span>' + esc(t.name) + "</span><b>" + fmt(t.actual, t.unit) + "</b>" +
        "<small>目标 " + esc(t.op === "=" ? "" : t.op) + fmt(t.target, t.unit) + (t.unit && t.unit !== "%" ? " " + esc(t.unit) : "") +
        " · " + esc(t.basis || "") + (progress != null ? " · 完成 " + t.progress + "%" : "") + "</small>" +
        (progress != null ? '<span class="bar"><i style="width:' + progress + '%"></i></span>' : "") + "</li>";
    }).join("");
  }

  function charts(d) {
    var axis = { axisLine: { lineStyle: { color: "#2b4a78" } }, axisLabel: { color: "#8fb0dc", fontSize: 13 }, splitLine: { lineStyle: { color: "rgba(60,110,180,.2)" } } };
    hourly.setOption({
      backgroundColor: "transparent",
      grid: { left: 36, right: 12, top: 28, bottom: 24 },
      legend: { data: ["今日", "上周同日"], textStyle: { color: "#9fbde6", fontSize: 13 }, top: 0, right: 0 },
      tooltip: { trigger: "axis" },
      xAxis: Object.assign({ type: "category", data: d.hourly.labels, boundaryGap: false }, axis),
      yAxis: Object.assign({ type: "value", minInterval: 1 }, axis),
      series: [
        { name: "今日", type: "line", smooth: 0.25, data: d.hourly.today, symbolSize: 5, itemStyle: { color: "#5fd0ff" }, areaStyle: { color: "rgba(95,208,255,.18)" } },
        { name: "上周同日", type: "line", smooth: 0.25, data: d.hourly.last_week, symbol: "none", lineStyle: { type: "dashed", color: "#6f8fbd" }, itemStyle: { color: "#6f8fbd" } }
      ]
    });
    var rows = d.streets.slice(0, 10);
    var any = rows.some(function (s) { return s.value > 0; });
    streets.setOption({
      backgroundColor: "transparent",
      grid: { left: 96, right: 40, top: 6, bottom: 10 },
      graphic: any ? [] : [{ type: "text", left: "center", top: "middle", style: { text: "今日暂无上报", fill: "#6f8fbd", fontSize: 16 } }],
      xAxis: { type: "value", show: false, minInterval: 1 },
      yAxis: Object.assign({ type: "category", inverse: true, data: rows.map(function (s) { return s.name; }) }, axis, { axisLabel: { color: "#b8cff0", fontSize: 14 } }),
      series: [{ type: "bar", data: rows.map(function (s) { return s.value; }), barWidth: 14,
        itemStyle: { borderRadius: 7, color: new window.echarts.graphic.LinearGradient(0, 0, 1, 0, [{ offset: 0, color: "#1f5fbf" }, { offset: 1, color: "#5fd0ff" }]) },
        label: { show: true, position: "right", color: "#e4eeff", fontSize: 14 } }]
    });
  }

  function render(d, first) {
    data = d;
    figures(d);
    ticker(d);
    alarms(d);
    targets(d);
    trim($("[data-ticker]"));  // after the boxes below it have their final height
    charts(d);
    if (!first && map) {
      var fresh = d.ticker.filter(function (c) { return c.new; });
      if (fresh.length) { map.pulse(fresh, 60000); map.refreshPoints(); }
    }
    if (d.latest_id > latestId) latestId = d.latest_id;
  }

  function poll() {
    var url = api + "?after=" + latestId + "&session=" + encodeURIComponent(session);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (r) {
        if (r.status === 401 || r.status === 403) throw new Error("auth");
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(function (d) {
        failures = 0;
        var live = $("[data-live]");
        live.textContent = "● 实时";
        live.className = "bs-live";
        render(d, false);
      })
      .catch(function (err) {
        failures += 1;
        var live = $("[data-live]");
        live.textContent = err.message === "auth" ? "● 登录已失效" : "● 连接中断，重试中";
        live.className = "bs-live is-stale";
      })
      .finally(function () { setTimeout(poll, POLL_MS); });
  }

  function start() {
    stage = document.getElementById("bs");
    var node = document.getElementById("bs-data");
    if (!stage || !node || !window.echarts) return;
    fit();
    window.addEventListener("resize", fit);
    api = stage.dataset.api;
    session = stage.dataset.session;
    hourly = window.echarts.init($("[data-hourly]"), "dark");
    streets = window.echarts.init($("[data-streets]"), "dark");
    var d = JSON.parse(node.textContent);
    latestId = d.latest_id || 0;
    render(d, true);
    var mapEl = $("[data-map]");
    if (window.CityOpsStatsMap && mapEl) {
      var note = $("[data-map-note]");
      map = new window.CityOpsStatsMap(mapEl, {
        layersUrl: stage.dataset.layersUrl, mapUrl: stage.dataset.mapUrl, pointsUrl: stage.dataset.pointsUrl,
        level: "community", metric: "count", query: "period=today", points: true, dark: true,
        onNote: function (text) { if (note) note.textContent = text; }
      });
      map.load();
      setInterval(function () { map.load(); }, MAP_VALUES_MS);
      setInterval(function () { map.refreshPoints(); }, MAP_POINTS_MS);
    }
    setTimeout(poll, POLL_MS);
  }

  if (document.readyState !== "loading") start(); else document.addEventListener("DOMContentLoaded", start);
})();
