/* CityOps statistics map: the district drawn by ECharts `geo` from our own GeoJSON (no tiles).
 *
 * new CityOpsStatsMap(element, {
 *   layersUrl: "/api/v1/stats/map/layers/", mapUrl: "/api/v1/stats/map", pointsUrl: "/api/v1/stats/map/points",
 *   level: "street" | "community" | "grid", metric: "count" | "density" | "overdue" | "open",
 *   query: "period=month&street=…", points: true, dark: false, onNote: function (text) {}
 * })
 *
 * Regions are coloured by the chosen metric; open cases are drawn on top: individually when
 * few are in view, otherwise as clusters with their counts (the server decides from the view's
 * bounding box). Click a region → its case list; a case → the case; a cluster → zoom in.
 * No inline script, no eval.
 */
(function () {
  "use strict";
  if (window.CityOpsStatsMap) return;

  var layers = {};
  var SLA_COLORS = { green: "#2e9e4f", yellow: "#e0a100", red: "#d93025", none: "#8a94a6" };

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) {
        return r.json().catch(function () { return {}; }).then(function (body) {
          throw new Error(body.message || ("HTTP " + r.status));
        });
      }
      return r.json();
    });
  }

  function loadLayer(base, level) {
    if (!layers[level]) {
      layers[level] = getJSON(base + level).then(function (fc) {
        window.echarts.registerMap("cityops-" + level, fc);
        return fc;
      }).catch(function (err) { delete layers[level]; throw err; });
    }
    return layers[level];
  }

  function debounce(fn, ms) {
    var t = null;
    return function () {
      var args = arguments, self = this;
      clearTimeout(t);
      t = setTimeout(function () { fn.apply(self, args); }, ms);
    };
  }

  function StatsMap(el, opts) {
    this.el = el;
    this.opts = Object.assign({ level: "street", metric: "count", query: "", points: true, dark: false }, opts || {});
    this.chart = window.echarts.init(el, this.opts.dark ? "dark" : null);
    this.pointsSeq = 0;
    this.pulses = [];
    var self = this;
    this.chart.on("click", function (p) { self.onClick(p); });
    this.chart.on("georoam", debounce(function () { self.refreshPoints(); }, 350));
    window.addEventListener("resize", debounce(function () { self.chart.resize(); }, 150));
  }

  StatsMap.prototype.note = function (text) {
    if (this.opts.onNote) this.opts.onNote(text || "");
  };

  StatsMap.prototype.load = function (level, metric, query) {
    var self = this;
    if (level) this.opts.level = level;
    if (metric) this.opts.metric = metric;
    if (query !== undefined) this.opts.query = query;
    var o = this.opts;
    var url = o.mapUrl + "?level=" + encodeURIComponent(o.level) + "&metric=" + encodeURIComponent(o.metric) + (o.query ? "&" + o.query : "");
    this.chart.showLoading({ text: "加载中…", color: "#1f5fbf", textColor: o.dark ? "#cfe0ff" : "#333", maskColor: "rgba(0,0,0,0)" });
    return Promise.all([loadLayer(o.layersUrl, o.level), getJSON(url)]).then(function (res) {
      self.chart.hideLoading();
      self.draw(res[0], res[1]);
      self.note((res[1].notes || []).join(" "));
      if (o.points) self.refreshPoints();
    }).catch(function (err) {
      self.chart.hideLoading();
      self.note("地图加载失败：" + err.message);
    });
  };

  StatsMap.prototype.draw = function (collection, values) {
    var o = this.opts;
    this.values = values;
    var template = values.link_template || "";
    var data = values.items.map(function (i) {
      var link = template.replace("{street}", encodeURIComponent(i.street || "")).replace("{code}", encodeURIComponent(i.code));
      var item = { name: i.code, value: i.value, label: i.name || i.code, count: i.count, link: link };
      if (i.value == null) item.itemStyle = { areaColor: o.dark ? "#0a1a30" : "#f1f3f6" };  // outside the chosen street
      return item;
    });
    var labels = [];
    if (o.level !== "grid") {
      labels = collection.features.map(function (f) {
        return { name: f.properties.name, value: f.properties.cp };
      }).filter(function (d) { return d.value; });
    }
    var dark = o.dark;
    var max = values.max || 1;
    var colors = dark ? ["#10304f", "#1f6fb2", "#f2c14e", "#e8553d"] : ["#edf3fc", "#9cc3ee", "#f0b35a", "#d6443a"];
    var unit = o.metric === "density" ? "件/km²" : "件";
    this.chart.setOption({
      backgroundColor: "transparent",
      tooltip: {
        trigger: "item",
        formatter: function (p) {
          var d = p.data || {};
          if (p.seriesType === "map") {
            if (d.value == null) return (d.label || p.name) + "<br>不在所选街道";
            return (d.label || p.name) + "<br>" + values.metric_label + "：" + d.value + " " + unit;
          }
          if (p.seriesId === "points") return d.number + "<br>" + d.status + (d.sla === "red" ? " · 已超期" : "");
          if (p.seriesId === "clusters") return "未办结 " + d.count + " 件" + (d.overdue ? "，超期 " + d.overdue + " 件" : "") + "<br>点击放大";
          if (p.seriesId === "pulse") return "新案件 " + (d.number || "");
          return p.name;
        }
      },
      geo: {
        map: "cityops-" + o.level,
        nameProperty: "code",
        roam: true,
        scaleLimit: { min: 0.8, max: 60 },
        layoutCenter: ["50%", "50%"],
        layoutSize: "96%",
        label: { show: false },
        itemStyle: { areaColor: dark ? "#0d2440" : "#eef2f8", borderColor: dark ? "#3b8fd9" : "#7f93b5", borderWidth: o.level === "grid" ? 0.4 : 1 },
        emphasis: { label: { show: false }, itemStyle: { areaColor: dark ? "#2a5f96" : "#ffe7a8" } },
        select: { disabled: true }
      },
      visualMap: {
        type: "continuous", min: 0, max: max, seriesIndex: 0, calculable: false, realtime: false,
        left: 8, bottom: 8, itemWidth: 10, itemHeight: 90, text: [String(max) + " " + unit, "0"],
        textStyle: { color: dark ? "#cfe0ff" : "#475467", fontSize: 11 },
        inRange: { color: colors }
      },
      series: [
        { id: "areas", type: "map", geoIndex: 0, data: data },
        {
          id: "labels", type: "scatter", coordinateSystem: "geo", data: labels, symbolSize: 0, silent: true,
          label: { show: true, formatter: "{b}", color: dark ? "#e6f0ff" : "#1d2533", fontSize: o.level === "street" ? 12 : 10 },
          labelLayout: { hideOverlap: true }
        },
        { id: "points", type: "scatter", coordinateSystem: "geo", data: [], symbolSize: 7, z: 5,
          itemStyle: { color: function (p) { return SLA_COLORS[(p.data && p.data.sla) || "none"]; }, borderColor: "#fff", borderWidth: 0.6 } },
        { id: "clusters", type: "scatter", coordinateSystem: "geo", data: [], z: 6,
          symbolSize: function (v, p) { return Math.min(46, 14 + Math.sqrt(p.data.count) * 2.2); },
          itemStyle: { color: function (p) { return p.data.overdue ? "rgba(217,48,37,0.78)" : "rgba(31,95,191,0.78)"; }, borderColor: "#fff", borderWidth: 1 },
          label: { show: true, formatter: function (p) { return String(p.data.count); }, color: "#fff", fontSize: 11, fontWeight: 600 } },
        { id: "pulse", type: "effectScatter", coordinateSystem: "geo", data: [], z: 8, symbolSize: 12,
          rippleEffect: { scale: 5, brushType: "stroke" }, itemStyle: { color: "#ffd23f" } }
      ]
    }, { notMerge: true });
  };

  StatsMap.prototype.bbox = function () {
    var w = this.chart.getWidth(), h = this.chart.getHeight();
    var a = this.chart.convertFromPixel({ geoIndex: 0 }, [0, 0]);
    var b = this.chart.convertFromPixel({ geoIndex: 0 }, [w, h]);
    if (!a || !b) return null;
    return [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[0], b[0]), Math.max(a[1], b[1])]
      .map(function (v) { return v.toFixed(5); }).join(",");
  };

  StatsMap.prototype.refreshPoints = function () {
    var self = this;
    if (!this.opts.points || !this.values) {
      this.chart.setOption({ series: [{ id: "points", data: [] }, { id: "clusters", data: [] }] });
      return Promise.resolve();
    }
    var seq = ++this.pointsSeq;
    var box = this.bbox();
    var url = this.opts.pointsUrl + (box ? "?bbox=" + box : "");
    return getJSON(url).then(function (res) {
      if (seq !== self.pointsSeq) return;
      self.chart.setOption({
        series: [
          { id: "points", data: res.points.map(function (p) { return Object.assign({ value: [p.lon, p.lat] }, p); }) },
          { id: "clusters", data: res.clusters.map(function (c) { return Object.assign({ value: [c.lon, c.lat] }, c); }) }
        ]
      });
    }).catch(function () { /* points are an overlay: keep the map */ });
  };

  StatsMap.prototype.setPoints = function (on) {
    this.opts.points = !!on;
    return this.refreshPoints();
  };

  /* A ripple where a new case was reported (big screen); it fades after `ms`. */
  StatsMap.prototype.pulse = function (cases, ms) {
    var self = this;
    var now = Date.now();
    cases.forEach(function (c) {
      if (c.lon != null && c.lat != null) self.pulses.push({ value: [c.lon, c.lat], number: c.number, until: now + (ms || 30000) });
    });
    this.pulses = this.pulses.filter(function (p) { return p.until > now; });
    this.chart.setOption({ series: [{ id: "pulse", data: this.pulses }] });
  };

  StatsMap.prototype.onClick = function (p) {
    var d = p.data || {};
    if (p.seriesType === "map" && d.link && d.value != null) {
      window.location.href = d.link;
    } else if ((p.seriesId === "points" || p.seriesId === "pulse") && d.number) {
      window.location.href = d.link || ("/cases/" + encodeURIComponent(d.number) + "/");
    } else if (p.seriesId === "clusters" && d.value) {
      var geo = this.chart.getOption().geo[0];
      var zoom = (geo.zoom || 1) * 2.5;
      this.chart.setOption({ geo: { center: d.value, zoom: zoom } });
      this.refreshPoints();
    }
  };

  StatsMap.prototype.resize = function () { this.chart.resize(); };

  window.CityOpsStatsMap = StatsMap;
})();
