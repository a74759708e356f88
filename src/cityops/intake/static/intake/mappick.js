/* CityOps map picker (intake/_map_picker.html).
 *
 * Every element with [data-mappick] becomes a picker: an ECharts `geo` map of the district
 * drawn from data-geojson-url, where a click (or the browser's GPS) sets the hidden inputs
 * lon / lat / coord_system (always WGS-84: the map's GeoJSON is WGS-84 and so is GPS) and
 * data-locate-url tells which street / community / grid the point is in.
 * No inline script, no eval: CSP friendly. Safe to load twice and to use in htmx swaps.
 */
(function () {
  "use strict";
  if (window.CityOpsMapPick) return;

  var DIGITS = 6; // ~0.1 m
  var DRAG_TOLERANCE_PX = 6;
  var echartsPromise = null;
  var layerPromises = {};
  var registered = {};

  function loadEcharts(src) {
    if (window.echarts) return Promise.resolve(window.echarts);
    if (!echartsPromise) {
      echartsPromise = new Promise(function (resolve, reject) {
        var existing = document.querySelector('script[data-cityops-echarts]');
        var script = existing || document.createElement("script");
        script.addEventListener("load", function () { resolve(window.echarts); });
        script.addEventListener("error", function () { echartsPromise = null; reject(new Error("echarts")); });
        if (!existing) {
          script.src = src;
          script.async = true;
          script.setAttribute("data-cityops-echarts", "");
          document.head.appendChild(script);
        }
      });
    }
    return echartsPromise;
  }

  function loadLayer(url) {
    if (!layerPromises[url]) {
      layerPromises[url] = fetch(url, { credentials: "same-origin", headers: { Accept: "application/geo+json, application/json" } })
        .then(function (r) {
          if (!r.ok) throw new Error("geojson " + r.status);
          return r.json();
        })
        .catch(function (err) { delete layerPromises[url]; throw err; });
    }
    return layerPromises[url];
  }

  function mapNameFor(url, collection) {
    var name = "cityops-mappick-" + url;
    if (!registered[name]) {
      var features = collection.features || [];
      var streets = features.filter(function (f) { return f.properties && f.properties.level !== "district"; });
      // Streets partition the district: draw them; fall back on the outline alone.
      var drawn = streets.length ? streets : features;
      drawn = drawn.map(function (f) {
        var p = f.properties || {};
        var props = { name: p.short_name || p.name || p.code, code: p.code, synthetic: !!p.synthetic };
        if (p.cp) props.cp = p.cp;
        return { type: "Feature", geometry: f.geometry, properties: props };
      });
      window.echarts.registerMap(name, { type: "FeatureCollection", features: drawn });
      registered[name] = {
        bbox: bboxOf(drawn),
        synthetic: drawn.some(function (f) { return f.properties.synthetic; }) || !!collection.synthetic,
        // Names are drawn by a scatter layer placed at each region's label point, so that
        // overlapping names can be hidden (geo labels cannot) and reappear when zooming in.
        labels: drawn.filter(function (f) { return f.properties.cp; })
          .map(function (f) { return { name: f.properties.name, value: f.properties.cp }; })
      };
    }
    return name;
  }

  function bboxOf(features) {
    var box = [Infinity, Infinity, -Infinity, -Infinity];
    function walk(c) {
      if (typeof c[0] === "number") {
        if (c[0] < box[0]) box[0] = c[0];
        if (c[1] < box[1]) box[1] = c[1];
        if (c[0] > box[2]) box[2] = c[0];
        if (c[1] > box[3]) box[3] = c[1];
      } else {
        for (var i = 0; i < c.length; i++) walk(c[i]);
      }
    }
    features.forEach(function (f) { if (f.geometry) walk(f.geometry.coordinates); });
    return box;
  }

  function parseCoord(value) {
    var n = parseFloat(value);
    return isFinite(n) ? n : null;
  }

  function Picker(root) {
    this.root = root;
    this.lon = root.querySelector('[data-role="lon"]');
    this.lat = root.querySelector('[data-role="lat"]');
    this.cs = root.querySelector('[data-role="coord_system"]');
    this.mapEl = root.querySelector('[data-role="map"]');
    this.coordsEl = root.querySelector('[data-role="coords"]');
    this.locationEl = root.querySelector('[data-role="location"]');
    this.errorEl = root.querySelector('[data-role="error"]');
    this.gpsBtn = root.querySelector('[data-role="gps"]');
    this.syntheticEl = root.querySelector('[data-role="synthetic"]');
    this.resetBtn = root.querySelector('[data-role="reset"]');
    this.chart = null;
    this.point = null;
    this.locateSeq = 0;
    this.init();
  }

  Picker.prototype.init = function () {
    var self = this;
    var lon = parseCoord(this.lon.value), lat = parseCoord(this.lat.value);
    if (lon !== null && lat !== null) {
      this.point = [lon, lat];
      this.showCoords();
      // Keep a server-side error (e.g. 位置不在本辖区) visible; otherwise resolve the place again.
      if (!this.errorEl || this.errorEl.hidden) this.locate();
    }
    if (this.gpsBtn) {
      if (!("geolocation" in navigator)) this.gpsBtn.disabled = true;
      this.gpsBtn.addEventListener("click", function () { self.useGps(); });
    }
    if (this.resetBtn) {
      this.resetBtn.addEventListener("click", function () {
        if (self.chart) self.chart.setOption({ geo: { center: null, zoom: 1 } });
      });
    }
    this.drawMap();
    if (this.root.getAttribute("data-autolocate") === "1" && !this.point && "geolocation" in navigator) {
      this.useGps();
    }
  };

  Picker.prototype.drawMap = function () {
    var self = this;
    var url = this.root.getAttribute("data-geojson-url");
    Promise.all([loadEcharts(this.root.getAttribute("data-echarts-src")), loadLayer(url)])
      .then(function (results) {
        var echarts = results[0];
        var name = mapNameFor(url, results[1]);
        var info = registered[name];
        if (self.syntheticEl) self.syntheticEl.hidden = !info.synthetic;
        var midLat = (info.bbox[1] + info.bbox[3]) / 2;
        self.bbox = info.bbox;
        self.chart = echarts.init(self.mapEl, null, { renderer: "canvas" });
        self.chart.setOption({
          animation: false,
          tooltip: { show: false },
          geo: {
            map: name,
            roam: true,
            // Equirectangular with the right aspect for this latitude, so distances look true.
            aspectScale: Math.cos(midLat * Math.PI / 180),
            scaleLimit: { min: 0.8, max: 60 },
            layoutCenter: ["50%", "50%"],
            layoutSize: "96%",
            selectedMode: false,
            label: { show: !info.labels.length, fontSize: 11, color: "#344054" },
            itemStyle: { areaColor: "#eaf1fb", borderColor: "#6f8fc4", borderWidth: 1 },
            emphasis: { label: { show: !info.labels.length }, itemStyle: { areaColor: "#d6e4fa" } }
          },
          series: [{
            type: "scatter",
            coordinateSystem: "geo",
            symbolSize: 1,
            itemStyle: { color: "rgba(0,0,0,0)" },
            silent: true,
            label: { show: true, position: "inside", formatter: "{b}", fontSize: 11, color: "#344054", textBorderColor: "#fff", textBorderWidth: 2 },
            labelLayout: { hideOverlap: true },
            data: info.labels,
            z: 5
          }, {
            type: "scatter",
            coordinateSystem: "geo",
            symbol: "circle",
            symbolSize: 7,
            itemStyle: { color: "#7f1d1d", borderColor: "#fff", borderWidth: 1.5 },
            silent: true,
            z: 11,
            data: self.point ? [self.point] : []
          }, {
            type: "scatter",
            coordinateSystem: "geo",
            symbol: "pin",
            symbolSize: 36,
            itemStyle: { color: "#c62828", borderColor: "#fff", borderWidth: 1 },
            silent: true,
            z: 10,
            data: self.point ? [self.point] : []
          }]
        });
        var zr = self.chart.getZr();
        var down = null;
        zr.on("mousedown", function (e) { down = [e.offsetX, e.offsetY]; });
        zr.on("click", function (e) {
          if (down && (Math.abs(e.offsetX - down[0]) > DRAG_TOLERANCE_PX || Math.abs(e.offsetY - down[1]) > DRAG_TOLERANCE_PX)) return;
          var px = [e.offsetX, e.offsetY];
          if (!self.chart.containPixel({ geoIndex: 0 }, px)) return;
          var c = self.chart.convertFromPixel({ geoIndex: 0 }, px);
          if (!c || !isFinite(c[0]) || !isFinite(c[1])) return;
          self.setPoint(c[0], c[1], "map");
        });
        if (self.point) self.centerOn(self.point, 2);
        if ("ResizeObserver" in window) {
          new ResizeObserver(function () { if (self.chart) self.chart.resize(); }).observe(self.mapEl);
        } else {
          window.addEventListener("resize", function () { if (self.chart) self.chart.resize(); });
        }
      })
      .catch(function () {
        self.mapEl.classList.add("is-failed");
        self.mapEl.textContent = "地图加载失败。可点击“使用当前位置”，或在地址栏中描述位置。";
      });
  };

  Picker.prototype.centerOn = function (point, zoom) {
    if (!this.chart || !this.bbox) return;
    var b = this.bbox;
    // A point outside the district (a GPS fix elsewhere, a refused pick) would pan the district
    // out of sight: keep the whole district in view instead; the error says what is wrong.
    if (point[0] < b[0] || point[0] > b[2] || point[1] < b[1] || point[1] > b[3]) {
      this.chart.setOption({ geo: { center: null, zoom: 1 } });
      return;
    }
    this.chart.setOption({ geo: { center: point, zoom: zoom } });
  };

  Picker.prototype.drawMarker = function () {
    if (!this.chart) return;
    var data = this.point ? [this.point] : [];
    this.chart.setOption({ series: [{}, { data: data }, { data: data }] });
  };

  Picker.prototype.showCoords = function (extra) {
    if (!this.coordsEl) return;
    if (!this.point) {
      this.coordsEl.textContent = this.coordsEl.getAttribute("data-empty") || "";
      return;
    }
    this.coordsEl.textContent = "经度 " + this.point[0].toFixed(DIGITS) + "，纬度 " + this.point[1].toFixed(DIGITS) + (extra || "");
  };

  Picker.prototype.setError = function (message) {
    if (!this.errorEl) return;
    this.errorEl.textContent = message || "";
    this.errorEl.hidden = !message;
    this.root.classList.toggle("has-error", !!message);
  };

  Picker.prototype.setPoint = function (lon, lat, source, extra) {
    this.point = [Number(lon.toFixed(DIGITS)), Number(lat.toFixed(DIGITS))];
    this.lon.value = this.point[0].toFixed(DIGITS);
    this.lat.value = this.point[1].toFixed(DIGITS);
    this.cs.value = "wgs84";
    this.showCoords(extra);
    this.drawMarker();
    this.setError("");
    this.locate();
    this.root.dispatchEvent(new CustomEvent("mappick:change", { bubbles: true, detail: { lon: this.point[0], lat: this.point[1], source: source } }));
  };

  Picker.prototype.locate = function () {
    var self = this;
    var seq = ++this.locateSeq;
    var url = this.root.getAttribute("data-locate-url");
    var query = "?lon=" + encodeURIComponent(this.lon.value) + "&lat=" + encodeURIComponent(this.lat.value) + "&coord_system=wgs84";
    this.locationEl.textContent = "正在查询所在网格…";
    this.locationEl.classList.remove("is-ok");
    fetch(url + query, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
      .then(function (res) {
        if (seq !== self.locateSeq) return;
        if (!res.ok) {
          self.locationEl.textContent = "";
          self.setError(res.body.error || "无法确定该位置");
          return;
        }
        var b = res.body, parts = [];
        if (b.street) parts.push(b.street.name);
        if (b.community) parts.push(b.community.name);
        if (b.grid) parts.push("网格 " + b.grid.code);
        self.locationEl.textContent = parts.length ? parts.join(" · ") : "辖区内（未匹配到网格）";
        self.locationEl.classList.add("is-ok");
        self.root.dispatchEvent(new CustomEvent("mappick:located", { bubbles: true, detail: b }));
      })
      .catch(function () {
        if (seq !== self.locateSeq) return;
        self.locationEl.textContent = "暂时无法查询所在网格，提交时将自动识别。";
      });
  };

  Picker.prototype.useGps = function () {
    var self = this;
    if (!("geolocation" in navigator)) {
      this.setError("此浏览器不支持定位，请在地图上点选位置。");
      return;
    }
    if (window.isSecureContext === false) {
      this.setError("浏览器只在安全连接（HTTPS）下提供定位，请在地图上点选位置。");
      return;
    }
    var btn = this.gpsBtn;
    if (btn) { btn.disabled = true; btn.classList.add("is-busy"); }
    this.locationEl.textContent = "正在获取当前位置…";
    navigator.geolocation.getCurrentPosition(function (pos) {
      if (btn) { btn.disabled = false; btn.classList.remove("is-busy"); }
      var acc = pos.coords.accuracy ? "（精度约 " + Math.round(pos.coords.accuracy) + " 米）" : "";
      self.setPoint(pos.coords.longitude, pos.coords.latitude, "gps", acc);
      self.centerOn(self.point, 4);
    }, function (err) {
      if (btn) { btn.disabled = false; btn.classList.remove("is-busy"); }
      self.locationEl.textContent = "";
      var messages = {
        1: "未获得定位权限。请在浏览器设置中允许定位，或在地图上点选位置。",
        2: "无法获取当前位置，请到开阔处重试，或在地图上点选位置。",
        3: "定位超时，请重试，或在地图上点选位置。"
      };
      self.setError(messages[err.code] || "定位失败，请在地图上点选位置。");
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 });
  };

  function scan(scope) {
    var nodes = [];
    if (scope.matches && scope.matches("[data-mappick]")) nodes.push(scope);
    if (scope.querySelectorAll) nodes.push.apply(nodes, scope.querySelectorAll("[data-mappick]"));
    nodes.forEach(function (root) {
      if (root.cityopsPicker) return;
      root.cityopsPicker = new Picker(root);
    });
  }

  window.CityOpsMapPick = { scan: scan };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { scan(document); });
  } else {
    scan(document);
  }
  document.addEventListener("htmx:load", function (e) { scan(e.detail && e.detail.elt ? e.detail.elt : document); });
})();
