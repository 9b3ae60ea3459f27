/* The views of one search, drawn with Plotly from the payload of comet_optimize.report.data.
 *
 * The one-file report calls CometReport.render(payload) once; the dashboard
 * calls CometReport.live(url), which polls for the rows that changed and
 * redraws with Plotly.react. Both draw the same sections from the same data.
 */
(function (global) {
  "use strict";

  var COLORS = {completed: "#2f9e44", aborted: "#f08c00", failed: "#e03131", running: "#7048e8"};
  // Past these sizes a plot shows counts per cell (a heatmap) instead of one SVG mark per
  // experiment: tens of thousands of marks are slow to draw and unreadable anyway. WebGL is
  // avoided on purpose: without a GPU (CI, remote desktops) it is the slowest part.
  var DENSE_POINTS = 4000;  // history: points per plot
  var DENSE_SLICES = 8000;  // slices: points over all parameters
  var BARS_UP_TO = 1000;  // timeline: one bar per experiment up to this many
  var PARCOORDS_LINES = 1000;  // parallel coordinates: lines drawn at most
  var CONFIG = {responsive: true, displaylogo: false};
  var LEGEND_TOP = {orientation: "h", x: 0, y: 1.02, yanchor: "bottom"};
  var TIME_SHIFT = -new Date().getTimezoneOffset() * 60000;  // show local wall time

  var model = null;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function fmt(x) {
    if (x === null || x === undefined) return "-";
    if (typeof x !== "number") return String(x);
    if (Number.isInteger(x)) return String(x);
    var a = Math.abs(x);
    if (a !== 0 && (a < 1e-4 || a >= 1e6)) return x.toExponential(4).replace(/\.?0+e/, "e");
    return String(Number(x.toPrecision(6)));
  }

  function fmtTime(seconds) {
    if (!seconds) return "-";
    var d = new Date(seconds * 1000);
    return d.toLocaleString();
  }

  function fmtDuration(s) {
    if (s < 60) return s.toFixed(1) + " s";
    s = Math.round(s);
    var h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60), r = s % 60;
    return h + ":" + String(m).padStart(2, "0") + ":" + String(r).padStart(2, "0");
  }

  // -- the model: payload plus rows indexed by count

  function Model(payload) {
    this.payload = payload;
    this.rows = [];
    this.merge(payload.rows);
  }

  Model.prototype.merge = function (rows) {
    for (var i = 0; i < rows.length; i++) this.rows[rows[i][0] - 1] = rows[i];
  };

  Model.prototype.columns = function () {
    var p = this.payload, f = {};
    p.fields.forEach(function (name, i) { f[name] = i; });
    var first = p.fields.length;
    var rows = this.rows.filter(function (r) { return r; });
    var done = rows.filter(function (r) { return r[f.state] === 0 && r[f.score] !== null; });
    return {f: f, first: first, rows: rows, done: done};
  };

  function better(objective) {
    return objective === "maximize" ? function (a, b) { return a > b; }
                                    : function (a, b) { return a < b; };
  }

  function plot(id, traces, layout, emptyText) {
    var div = document.getElementById(id);
    if (!traces) {
      if (div.classList.contains("js-plotly-plot")) Plotly.purge(div);
      div.className = "plot empty";
      div.textContent = emptyText;
      return Promise.resolve();
    }
    if (div.classList.contains("empty")) { div.textContent = ""; div.className = "plot"; }
    layout.margin = layout.margin || {l: 60, r: 20, t: 30, b: 50};
    layout.font = {family: "system-ui, sans-serif", size: 12};
    return Plotly.react(div, traces, layout, CONFIG);
  }

  function quantile(sorted, q) {
    return sorted[Math.min(sorted.length - 1, Math.max(0, Math.floor(q * (sorted.length - 1))))];
  }

  // Bins over [lo, hi]; values outside go to the edge bins (the hover says so).
  function Bins(lo, hi, n) {
    if (!(hi > lo)) { hi = lo + 1; }
    this.lo = lo; this.hi = hi; this.n = n; this.width = (hi - lo) / n;
  }
  Bins.prototype.index = function (v) {
    return Math.min(this.n - 1, Math.max(0, Math.floor((v - this.lo) / this.width)));
  };
  Bins.prototype.centers = function () {
    var out = [];
    for (var i = 0; i < this.n; i++) out.push(this.lo + (i + 0.5) * this.width);
    return out;
  };

  function scoreBins(scores, n) {  // the middle 99% of the scores, so one outlier cannot
    var sorted = scores.slice().sort(function (a, b) { return a - b; });  // squash the rest
    return new Bins(quantile(sorted, 0.005), quantile(sorted, 0.995), n);
  }

  function counts(xIndex, yIndex, nx, ny) {  // z[y][x]: experiments per cell (null: none)
    var z = [], i, j;
    for (i = 0; i < ny; i++) { z.push([]); for (j = 0; j < nx; j++) z[i].push(null); }
    for (i = 0; i < xIndex.length; i++) {
      var row = z[yIndex[i]];
      row[xIndex[i]] = (row[xIndex[i]] || 0) + 1;
    }
    return z;
  }

  function heatmap(x, y, z, metric, xaxis, yaxis) {
    return {type: "heatmap", x: x, y: y, z: z, zmin: 1, colorscale: "Blues", reversescale: true,
            showscale: false,
            xaxis: xaxis, yaxis: yaxis, name: "experiments", hoverongaps: false,
            hovertemplate: "%{z} experiment(s) here<br>" + metric + " \u2248 %{y:.4g}" +
                           "<extra></extra>"};
  }

  // -- sections

  function drawHeader(p) {
    var h = p.header, box = document.getElementById("header");
    box.textContent = "";
    box.appendChild(el("h1", {}, "Search " + h.id + (h.name ? " \u2014 " + h.name : "")));
    var table = el("table", {class: "kv"});
    function row(key, value, id) {
      var tr = el("tr");
      tr.appendChild(el("th", {}, key));
      var td = el("td", id ? {id: id} : {}, value);
      tr.appendChild(td);
      table.appendChild(tr);
      return td;
    }
    row("algorithm", h.algorithm, "head-algorithm");
    var st = row("status", h.status, "head-status");
    st.className = "state-" + h.status;
    row("objective", h.objective + " " + h.metric);
    row("experiments", h.assigned + " assigned: " + h.completed + " completed, " + h.running +
        " running, " + h.aborted + " aborted, " + h.failed + " failed", "head-counts");
    row("budget", h.budget === null ? "unlimited" : String(h.budget), "head-budget");
    row("trials", String(h.trials));
    row("started", fmtTime(h.startTime));
    row("last update", fmtTime(h.lastUpdateTime));
    if (h.store) row("store", h.store);
    box.appendChild(table);
    var best = el("div", {class: "best"});
    if (h.best) {
      var title = el("h2", {}, "Best " + h.metric + ": ");
      var score = el("span", {id: "best-score", "data-score": JSON.stringify(h.best.score)},
                     h.best.text);
      title.appendChild(score);
      title.appendChild(el("span", {class: "muted"}, "  (experiment #" + h.best.count +
                                                   ", trial " + h.best.trial + ")"));
      best.appendChild(title);
      var params = el("table", {class: "kv", id: "best-params"});
      Object.keys(h.best.parameters).forEach(function (name) {
        var tr = el("tr");
        tr.appendChild(el("th", {}, name));
        tr.appendChild(el("td", {}, fmt(h.best.parameters[name])));
        params.appendChild(tr);
      });
      best.appendChild(params);
    } else {
      best.appendChild(el("h2", {id: "best-score", "data-score": "null"},
                          "No completed experiment yet."));
    }
    box.appendChild(best);
  }

  function drawHistory(m, c) {
    var p = m.payload, h = p.header, f = c.f, isBetter = better(h.objective);
    if (!c.done.length) {
      var none = "No completed experiment yet.";
      return [plot("plot-history-count", null, null, none),
              plot("plot-history-time", null, null, none)];
    }
    var dense = c.done.length > DENSE_POINTS;
    var yBins = dense ? scoreBins(c.done.map(function (r) { return r[f.score]; }), 40) : null;
    function series(ordered, xOf) {
      var xs = [], ys = [], bx = [], by = [], text = [], best = null;
      ordered.forEach(function (r) {
        var x = xOf(r), y = r[f.score];
        xs.push(x); ys.push(y); text.push("#" + r[f.count]);
        if (best === null || isBetter(y, best)) {
          best = y;
          bx.push(x); by.push(best);
        }
      });
      bx.push(xs[xs.length - 1]); by.push(best);
      var line = {type: "scatter", mode: "lines", name: "best so far", x: bx, y: by,
                  line: {color: "#1c7ed6", width: 2, shape: "hv"},
                  hovertemplate: "best so far %{y}<extra></extra>"};
      if (!dense) {
        return [{type: "scatter", mode: "markers", name: h.metric, x: xs, y: ys, text: text,
                 marker: {color: COLORS.completed, size: 5, opacity: 0.6},
                 hovertemplate: "%{text}<br>%{y}<extra></extra>"}, line];
      }
      var xBins = new Bins(xs[0], xs[xs.length - 1], 80);
      var z = counts(xs.map(function (x) { return xBins.index(x); }),
                     ys.map(function (y) { return yBins.index(y); }), xBins.n, yBins.n);
      return [heatmap(xBins.centers(), yBins.centers(), z, h.metric), line];
    }
    var byCount = c.done.slice().sort(function (a, b) { return a[f.count] - b[f.count]; });
    var byTime = c.done.slice().sort(function (a, b) { return a[f.end] - b[f.end]; });
    var yTitle = h.metric + " (" + h.objective + ")";
    document.getElementById("history-method").textContent = dense ?
      "Every completed experiment's score (shaded: how many fall in each cell, " +
      c.done.length + " in all) and the best so far, by order of assignment and by wall time." :
      "Every completed experiment's score and the best so far, by order of assignment and by " +
      "wall time.";
    return [
      plot("plot-history-count", series(byCount, function (r) { return r[f.count]; }),
           {xaxis: {title: {text: "experiment (order of assignment)"}},
            yaxis: {title: {text: yTitle}}, height: 360, legend: LEGEND_TOP}),
      plot("plot-history-time",
           series(byTime, function (r) { return (p.origin + r[f.end]) * 1000 + TIME_SHIFT; }),
           {xaxis: {type: "date", title: {text: "wall time (when the experiment ended)"}},
            yaxis: {title: {text: yTitle}}, height: 360, legend: LEGEND_TOP})
    ];
  }

  function logTicks(lo, hi) {
    var vals = [], text = [], steps = hi - lo > 3 ? [1] : [1, 2, 5];
    for (var d = Math.floor(lo); d <= Math.ceil(hi); d++) {
      steps.forEach(function (s) {
        var v = d + Math.log10(s);
        if (v >= lo - 1e-9 && v <= hi + 1e-9) {
          vals.push(v);
          text.push(Number((s * Math.pow(10, d)).toPrecision(2)).toExponential(0)
                      .replace("e+", "e"));
        }
      });
    }
    return {vals: vals, text: text};
  }

  function roundTicks(lo, hi) {  // about six round values (1, 2 or 5 times a power of ten)
    var raw = (hi - lo) / 6, power = Math.pow(10, Math.floor(Math.log10(raw)));
    var step = [1, 2, 5, 10].map(function (m) { return m * power; })
      .filter(function (s) { return s >= raw; })[0];
    var vals = [], text = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
      var clean = Number(v.toPrecision(12));
      vals.push(clean); text.push(fmt(clean));
    }
    return {vals: vals, text: text};
  }

  // -- parallel coordinates
  //
  // Drawn as Plotly SVG lines in one subplot, not with Plotly's parcoords trace: that one
  // is WebGL, and without a GPU (CI, remote desktops, the benchmark machine) Chromium
  // compiles its large vertex shader once for each of its three canvases, which alone took
  // longer than the rest of the report (docs/report.md has the measurements). Every line
  // lives in one unit square: axis j is at x = j, and a value sits at its axis' fraction of
  // [lo, hi] (of the logarithm for a log-scaled parameter, of the index for a categorical
  // one). Brushing is ours: drag along an axis to keep a range; it filters every completed
  // experiment, not only those drawn.

  var PAD = 0.04;  // room above and below the lines, as a fraction of an axis
  var VIRIDIS = ["#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89",
                 "#35b779", "#6ece58", "#b5de2b", "#fde725"];
  var brushes = {};  // axis index -> [lo, hi] in the unit square (kept across redraws)
  // Room left of the first axis for its tick labels (Plotly leaves out text outside the
  // x range), and right of the last for its lines' ends.
  function xRange(k) { return [-0.04 * k - 0.3, k + 0.02]; }

  function sampleForLines(rows, f, objective, limit) {
    // The best quarter plus an even sample of the rest: 20,000 lines look much the same
    // as 1,000, and draw twenty times slower.
    if (rows.length <= limit) return rows;
    var sign = objective === "maximize" ? -1 : 1;
    var sorted = rows.slice().sort(function (a, b) { return sign * (a[f.score] - b[f.score]); });
    var best = Math.floor(limit / 4), rest = sorted.slice(best);
    var out = sorted.slice(0, best), step = rest.length / (limit - best);
    for (var i = 0; i < limit - best; i++) out.push(rest[Math.floor(i * step)]);
    return out;
  }

  function extent(rows, at, t, lo, hi) {  // declared bounds, widened to what the data holds
    var min = Infinity, max = -Infinity;
    for (var i = 0; i < rows.length; i++) {
      var v = rows[i][at];
      if (v === null || v === undefined) continue;
      v = t(v);
      if (v === null || !isFinite(v)) continue;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    if (lo !== null && lo !== undefined && isFinite(lo)) min = Math.min(min, lo);
    if (hi !== null && hi !== undefined && isFinite(hi)) max = Math.max(max, hi);
    if (!isFinite(min)) { min = 0; max = 1; }
    if (!(max > min)) { min -= 0.5; max += 0.5; }
    return [min, max];
  }

  function same(v) { return v === undefined ? null : v; }

  // One description per axis: its label, how a row maps into [0, 1], and its Plotly axis.
  function parcoordsAxes(p, c) {
    var h = p.header, f = c.f;
    var axes = p.parameters.map(function (axis, j) {
      var t = same, span, spec, at = c.first + j;
      if (axis.kind === "categorical") {
        var n = axis.values.length;
        span = n > 1 ? [0, n - 1] : [-0.5, 0.5];
        spec = {vals: axis.values.map(function (_, i) { return i; }),
                text: axis.values.map(String)};
      } else if (axis.log) {
        t = function (v) { return v > 0 ? Math.log10(v) : null; };
        span = extent(c.done, at, t, axis.min > 0 ? Math.log10(axis.min) : null,
                      axis.max > 0 ? Math.log10(axis.max) : null);
        spec = logTicks(span[0], span[1]);
      } else {
        span = extent(c.done, at, same, axis.min, axis.max);
        spec = roundTicks(span[0], span[1]);
      }
      return {label: axis.name + (axis.log ? " (log)" : ""), column: at, t: t, span: span,
              ticks: spec};
    });
    var scores = extent(c.done, f.score, same);
    axes.push({label: h.metric, column: f.score, t: same, span: scores,
               ticks: roundTicks(scores[0], scores[1])});
    axes.forEach(function (a) {
      var lo = a.span[0], width = a.span[1] - a.span[0];
      a.unit = function (row) {
        var v = a.t(row[a.column]);
        return v === null || !isFinite(v) ? null : (v - lo) / width;
      };
    });
    return axes;
  }

  function lineTraces(rows, axes, h, f, lo, hi, color) {
    // One trace per band of the score (one colour each; SVG lines have one colour), worst
    // band first so the best lines are drawn on top.
    var bands = VIRIDIS.map(function () { return {x: [], y: [], text: []}; });
    var flip = h.objective !== "maximize";  // the best score is the bright end
    rows.forEach(function (r) {
      var frac = hi > lo ? (r[f.score] - lo) / (hi - lo) : 0.5;
      var band = Math.max(0, Math.min(VIRIDIS.length - 1, Math.floor(frac * VIRIDIS.length)));
      var b = bands[flip ? VIRIDIS.length - 1 - band : band];
      var label = "#" + r[f.count];
      axes.forEach(function (a, j) { b.x.push(j); b.y.push(a.unit(r)); b.text.push(label); });
      b.x.push(null); b.y.push(null); b.text.push(null);
    });
    return bands.map(function (b, i) {
      return {type: "scatter", mode: "lines", x: b.x, y: b.y, text: b.text,
              name: color ? "outside the selection" : "score band " + (i + 1),
              line: {color: color || VIRIDIS[i], width: 1}, opacity: color ? 0.35 : 0.6,
              hovertemplate: "%{text}<extra></extra>", showlegend: false};
    }).filter(function (t) { return t.x.length; });
  }

  function inBrushes(axes) {
    var keys = Object.keys(brushes);
    return function (row) {
      for (var i = 0; i < keys.length; i++) {
        var range = brushes[keys[i]], u = axes[keys[i]].unit(row);
        if (u === null || u < range[0] || u > range[1]) return false;
      }
      return true;
    };
  }

  function brushShapes(axes) {
    return Object.keys(brushes).map(function (j) {
      return {type: "rect", xref: "x", yref: "y", x0: +j - 0.06, x1: +j + 0.06,
              y0: brushes[j][0], y1: brushes[j][1], line: {color: "#1c7ed6", width: 1},
              fillcolor: "rgba(28,126,214,0.18)", layer: "above"};
    });
  }

  // The axes as three traces of the one subplot (a line each, tick marks, the labels):
  // thirteen Plotly axes would be thirteen overlaid subplots, and cost more than the lines.
  function axisTraces(axes) {
    var lines = {x: [], y: []}, marks = {x: [], y: []}, labels = {x: [], y: [], text: []};
    var titles = {x: [], y: [], text: []};
    axes.forEach(function (a, j) {
      lines.x.push(j, j, null); lines.y.push(-PAD, 1 + PAD, null);
      var lo = a.span[0], width = a.span[1] - a.span[0];
      a.ticks.vals.forEach(function (v, i) {
        var u = (v - lo) / width;
        if (u < -PAD - 1e-9 || u > 1 + PAD + 1e-9) return;
        marks.x.push(j - 0.02, j, null); marks.y.push(u, u, null);
        labels.x.push(j - 0.03); labels.y.push(u); labels.text.push(a.ticks.text[i]);
      });
      titles.x.push(j); titles.y.push(1 + PAD); titles.text.push(a.label);
    });
    var ink = "#495057", common = {type: "scatter", hoverinfo: "skip", showlegend: false,
                                   cliponaxis: false};
    function trace(extra) {
      Object.keys(common).forEach(function (key) { extra[key] = common[key]; });
      return extra;
    }
    return [
      trace({mode: "lines", x: lines.x, y: lines.y, line: {color: ink, width: 1},
             name: "axes"}),
      trace({mode: "lines", x: marks.x, y: marks.y, line: {color: ink, width: 1},
             name: "ticks"}),
      trace({mode: "text", x: labels.x, y: labels.y, text: labels.text, name: "tick labels",
             textposition: "middle left", textfont: {size: 10, color: ink}}),
      trace({mode: "text", x: titles.x, y: titles.y, text: titles.text, name: "axis titles",
             textposition: "top center", textfont: {size: 11, color: "#212529"}})
    ];
  }

  function drawParcoords(m, c) {
    var p = m.payload, h = p.header, f = c.f, gd = document.getElementById("plot-parcoords");
    if (!c.done.length) {
      gd.cometParcoords = null;
      return plot("plot-parcoords", null, null, "No completed experiment yet.");
    }
    var axes = parcoordsAxes(p, c), k = axes.length - 1, score = axes[k];
    Object.keys(brushes).forEach(function (j) { if (!axes[j]) delete brushes[j]; });
    var keep = inBrushes(axes);
    var selected = Object.keys(brushes).length ? c.done.filter(keep) : c.done;
    var shown = sampleForLines(selected, f, h.objective, PARCOORDS_LINES);
    var context = [];
    if (selected.length < c.done.length) {  // the rest, greyed, for comparison
      context = sampleForLines(c.done, f, h.objective, PARCOORDS_LINES / 4)
        .filter(function (r) { return !keep(r); });
    }
    var traces = lineTraces(context, axes, h, f, score.span[0], score.span[1], "#ced4da")
      .concat(lineTraces(shown, axes, h, f, score.span[0], score.span[1]));
    traces.push({type: "scatter", mode: "markers", x: [0, 0], y: [-10, -10],  // the colour bar
                 hoverinfo: "skip", showlegend: false, name: h.metric,
                 marker: {color: score.span, cmin: score.span[0], cmax: score.span[1],
                          colorscale: "Viridis", reversescale: h.objective !== "maximize",
                          showscale: true, opacity: 0,
                          colorbar: {title: {text: h.metric}, len: 0.9, thickness: 14}}});
    traces = traces.concat(axisTraces(axes));
    var layout = {height: 460, margin: {l: 10, r: 90, t: 40, b: 20}, showlegend: false,
                  dragmode: false, hovermode: "closest",
                  xaxis: {range: xRange(k), visible: false, fixedrange: true},
                  yaxis: {range: [-PAD, 1 + PAD], visible: false, fixedrange: true},
                  shapes: brushShapes(axes)};
    var all = c.done.length, brushed = Object.keys(brushes).length;
    document.getElementById("parcoords-method").textContent =
      (brushed ? selected.length + " of the " + all + " completed experiments are inside " +
                 "the selected ranges" + (shown.length < selected.length ?
                 " (" + shown.length + " of them drawn: the best " +
                 Math.floor(PARCOORDS_LINES / 4) + " and an even sample)" : "") +
                 "; grey: a sample of the others. " :
       shown.length < all ? "Showing " + shown.length + " of the " + all + " completed " +
         "experiments: the best " + Math.floor(PARCOORDS_LINES / 4) + " and an even sample " +
         "of the rest. " :
       "One line per completed experiment through its parameters and score. ") +
      "Drag along an axis to select a range (it filters every completed experiment); click " +
      "an axis to clear its range.";
    gd.cometParcoords = {axes: axes.map(function (a) { return a.label; }), lines: shown.length,
                         selected: selected.length, total: all, brushes: brushes};
    return plot("plot-parcoords", traces, layout).then(function () {
      brushHandles(gd, axes, function () { return drawParcoords(model, model.columns()); });
    });
  }

  // The same lines as Plotly's WebGL parcoords trace wants them (benchmarks/report_scale.py
  // times that trace against ours with --compare-webgl).
  function parcoordsDimensions(payload) {
    var c = new Model(payload).columns(), axes = parcoordsAxes(payload, c);
    var shown = sampleForLines(c.done, c.f, payload.header.objective, PARCOORDS_LINES);
    return {dimensions: axes.map(function (a) {
              return {label: a.label, range: [0, 1], values: shown.map(a.unit)}; }),
            scores: shown.map(function (r) { return r[c.f.score]; })};
  }

  // A strip over each axis takes the drags (the rest of the plot keeps Plotly's hover).
  // Plotly resizes the plot with the window: the strips follow once it has redrawn.
  var placeBrushes = null;
  global.addEventListener("resize", function () {
    setTimeout(function () { if (placeBrushes) placeBrushes(); }, 300);
  });

  function brushHandles(gd, axes, redraw) {
    placeBrushes = function () { brushHandles(gd, axes, redraw); };
    var parent = gd.parentNode, size = gd._fullLayout._size, k = axes.length - 1;
    var layer = parent.querySelector(".brush-layer");
    if (!layer) {
      parent.style.position = "relative";
      layer = el("div", {class: "brush-layer"});
      parent.appendChild(layer);
    }
    layer.textContent = "";
    function unitAt(clientY) {
      var box = gd.getBoundingClientRect();
      var frac = 1 - (clientY - box.top - size.t) / size.h;
      return Math.max(0, Math.min(1, -PAD + frac * (1 + 2 * PAD)));
    }
    var left = gd.offsetLeft, top = gd.offsetTop;  // read once: each read after a style
    var range = xRange(k);                          // change would lay the page out again
    axes.forEach(function (a, j) {
      var strip = el("div", {class: "brush", "data-axis": String(j),
                             title: "drag to select a range of " + a.label});
      var x = size.l + size.w * (j - range[0]) / (range[1] - range[0]);
      strip.style.cssText = "position:absolute;cursor:ns-resize;width:24px;" +
        "left:" + (left + x - 12) + "px;" +
        "top:" + (top + size.t) + "px;height:" + size.h + "px";
      strip.addEventListener("mousedown", function (down) {
        down.preventDefault();
        var start = unitAt(down.clientY), moved = false;
        function move(e) {
          var now = unitAt(e.clientY);
          if (Math.abs(now - start) < 0.01) return;
          moved = true;
          brushes[j] = [Math.min(start, now), Math.max(start, now)];
          Plotly.relayout(gd, {shapes: brushShapes(axes)});
        }
        function up() {
          document.removeEventListener("mousemove", move);
          document.removeEventListener("mouseup", up);
          if (!moved) delete brushes[j];  // a click clears this axis
          redraw();
        }
        document.addEventListener("mousemove", move);
        document.addEventListener("mouseup", up);
      });
      layer.appendChild(strip);
    });
  }

  function drawSlices(m, c) {
    var p = m.payload, h = p.header, f = c.f, k = p.parameters.length;
    if (!c.done.length || !k) {
      return plot("plot-slices", null, null, "No completed experiment yet.");
    }
    var cols = Math.min(3, k), rowsN = Math.ceil(k / cols);
    var dense = c.done.length * k > DENSE_SLICES;
    var layout = {grid: {rows: rowsN, columns: cols, pattern: "independent"},
                  height: 300 * rowsN, showlegend: false,
                  margin: {l: 60, r: 20, t: 20, b: 50}};
    var countsOf = c.done.map(function (r) { return r[f.count]; });
    var scores = c.done.map(function (r) { return r[f.score]; });
    var yBins = dense ? scoreBins(scores, 30) : null;
    var yIndex = dense ? scores.map(function (y) { return yBins.index(y); }) : null;
    var isBetter = better(h.objective);
    document.getElementById("slices-method").textContent = dense ?
      "The score against each parameter, shaded by how many of the " + c.done.length +
      " completed experiments fall in each cell; dots: the best score in each column." :
      "The score against each parameter; darker points are later.";
    var traces = [];
    p.parameters.forEach(function (axis, j) {
      var suffix = j === 0 ? "" : String(j + 1);
      var values = c.done.map(function (r) { return r[c.first + j]; });
      // Fewer, unrotated ticks, and the score's labels only on the first column (every row
      // shares its bins): Plotly measures each tick label, and twelve subplots have many.
      var xa = {title: {text: axis.name + (axis.log ? " (log)" : "")}, nticks: 6,
                tickangle: 0};
      layout["xaxis" + suffix] = xa;
      layout["yaxis" + suffix] = {title: {text: j % cols === 0 ? h.metric : ""}, nticks: 6,
                                  showticklabels: !dense || j % cols === 0};
      if (axis.kind === "categorical") {
        xa.type = "category";
        xa.categoryorder = "array";
        xa.categoryarray = axis.values.map(String);
      }
      if (!dense) {
        if (axis.log) xa.type = "log";
        var xs = values.map(function (v) {
          if (axis.kind === "categorical") return v === null ? "?" : String(axis.values[v]);
          return v;
        });
        traces.push({type: "scatter", mode: "markers", x: xs, y: scores, text: countsOf,
                     xaxis: "x" + suffix, yaxis: "y" + suffix, name: axis.name,
                     hovertemplate: axis.name + "=%{x}<br>" + h.metric + "=%{y}<br>#%{text}" +
                                    "<extra></extra>",
                     marker: {size: 5, opacity: 0.7, color: countsOf, colorscale: "Blues",
                              reversescale: true, showscale: j === 0,
                              colorbar: j === 0 ? {title: {text: "experiment"}, len: 0.5}
                                                : undefined}});
        return;
      }
      var xBins, centers, xIndex;
      if (axis.kind === "categorical") {
        centers = axis.values.map(String);
        xIndex = values.map(function (v) { return v === null ? 0 : v; });
        xBins = {n: centers.length};
      } else {
        var xv = values.map(function (v) { return axis.log ? Math.log10(v) : v; });
        var lo = axis.log ? Math.log10(axis.min) : axis.min;
        var hi = axis.log ? Math.log10(axis.max) : axis.max;
        if (!isFinite(lo) || !isFinite(hi) || lo === null || hi === null) {
          lo = Math.min.apply(null, xv); hi = Math.max.apply(null, xv);
        }
        if (axis.type === "integer" && !axis.log && hi - lo < 30) {
          xBins = new Bins(lo - 0.5, hi + 0.5, hi - lo + 1);  // a column per integer
        } else {
          xBins = new Bins(lo, hi, 30);
        }
        centers = xBins.centers();
        xIndex = xv.map(function (v) { return xBins.index(v); });
        if (axis.log) {
          var t = logTicks(xBins.lo, xBins.hi);
          xa.tickvals = t.vals; xa.ticktext = t.text;
        }
      }
      traces.push(heatmap(centers, yBins.centers(),
                          counts(xIndex, yIndex, xBins.n, yBins.n), h.metric,
                          "x" + suffix, "y" + suffix));
      var best = centers.map(function () { return null; });
      xIndex.forEach(function (x, i) {
        if (best[x] === null || isBetter(scores[i], best[x])) best[x] = scores[i];
      });
      traces.push({type: "scatter", mode: "markers", x: centers, y: best, name: "best",
                   xaxis: "x" + suffix, yaxis: "y" + suffix,
                   marker: {color: COLORS.completed, size: 6},
                   hovertemplate: "best here: %{y}<extra></extra>"});
    });
    return plot("plot-slices", traces, layout);
  }

  function drawImportance(m) {
    var imp = m.payload.importance, note = document.getElementById("importance-method");
    if (!imp) {
      note.textContent = "Parameter importance is being computed\u2026";
      return plot("plot-importance", null, null, "");
    }
    note.textContent = imp.method || imp.note || "";
    if (!imp.items || !imp.items.length || !imp.method) {
      return plot("plot-importance", null, null, imp.note || "Not available.");
    }
    var items = imp.items.slice().reverse();
    return plot("plot-importance", [{
      type: "bar", orientation: "h", marker: {color: "#1c7ed6"},
      y: items.map(function (i) { return i.name; }),
      x: items.map(function (i) { return i.importance; }),
      error_x: {type: "data", array: items.map(function (i) { return i.spread; }),
                visible: true, color: "#495057"},
      hovertemplate: "%{y}: %{x:.4f}<extra></extra>"
    }], {height: 80 + 28 * items.length,
         xaxis: {title: {text: "drop of the forest's R\u00b2 when shuffled"}},
         margin: {l: 140, r: 20, t: 10, b: 50}});
  }

  function drawTimeline(m, c) {
    var p = m.payload, f = c.f, workers = p.workers;
    if (!c.rows.length) return plot("plot-timeline", null, null, "No experiment assigned yet.");
    var now = (p.generated - p.origin);
    var labels = workers.map(function (w) { return w.label; });
    var bars = c.rows.length <= BARS_UP_TO;
    var first = Infinity, last = -Infinity;
    var spans = c.rows.map(function (r) {
      var start = r[f.start], end = r[f.end] === null ? Math.max(now, start) : r[f.end];
      first = Math.min(first, start); last = Math.max(last, end);
      return {worker: r[f.worker], state: p.states[r[f.state]], start: start, end: end,
              from: r[f.count], to: r[f.count], n: 1, score: r[f.score]};
    });
    if (!bars) {  // back-to-back experiments of one worker in one state: one bar
      var gap = (last - first) / 1500, merged = [], open = {};
      spans.sort(function (a, b) { return a.worker - b.worker || a.start - b.start; });
      spans.forEach(function (s) {
        var prev = open[s.worker];
        if (prev && prev.state === s.state && s.start - prev.end <= gap) {
          prev.end = Math.max(prev.end, s.end); prev.to = s.to; prev.n += 1;
        } else {
          open[s.worker] = s;
          merged.push(s);
        }
      });
      spans = merged;
    }
    var byState = {};
    p.states.forEach(function (s) { byState[s] = {x: [], y: [], text: [], base: []}; });
    spans.forEach(function (s) {
      var d = byState[s.state], label = labels[s.worker];
      var t0 = (p.origin + s.start) * 1000 + TIME_SHIFT, t1 = (p.origin + s.end) * 1000 + TIME_SHIFT;
      var tip = s.n === 1 ?
        "#" + s.from + " " + s.state + (s.score !== null ? " " + fmt(s.score) : "") +
        " (" + fmtDuration(Math.max(s.end - s.start, 0)) + ")" :
        s.n + " experiments " + s.state + " (#" + s.from + "\u2026#" + s.to + ")";
      if (bars) {
        d.base.push(t0); d.x.push(t1 - t0); d.y.push(label); d.text.push(tip);
      } else {
        d.x.push(t0, t1, null); d.y.push(label, label, null); d.text.push(tip, tip, null);
      }
    });
    var rowPx = Math.max(14, Math.min(36, 500 / Math.max(workers.length, 1)));
    var traces = p.states.filter(function (s) { return byState[s].x.length; }).map(function (s) {
      var d = byState[s];
      if (bars) {  // real bars with a white edge, so back-to-back experiments stay apart
        return {type: "bar", orientation: "h", name: s, base: d.base, x: d.x, y: d.y,
                text: d.text, textposition: "none", width: 0.6,
                hovertemplate: "%{text}<extra>%{y}</extra>",
                marker: {color: COLORS[s], line: {color: "#fff", width: 1}}};
      }
      return {type: "scatter", mode: "lines", name: s, x: d.x, y: d.y, text: d.text,
              connectgaps: false, hovertemplate: "%{text}<extra>%{y}</extra>",
              line: {color: COLORS[s], width: Math.max(4, rowPx * 0.6)}};
    });
    return plot("plot-timeline", traces, {
      height: 110 + rowPx * workers.length, barmode: "overlay",
      xaxis: {type: "date", title: {text: "wall time"}},
      yaxis: {type: "category", categoryorder: "array", categoryarray: labels.slice().reverse(),
              automargin: true},
      legend: LEGEND_TOP,
      margin: {l: 160, r: 20, t: 30, b: 50}
    });
  }

  function drawFailures(m) {
    var fl = m.payload.failures, box = document.getElementById("failures");
    box.textContent = "";
    if (!fl.total) {
      box.appendChild(el("p", {class: "muted"}, "No failed or aborted experiment."));
      return;
    }
    box.appendChild(el("p", {}, fl.total + " failed or aborted experiment" +
                                (fl.total === 1 ? "" : "s") +
                                (fl.total > fl.items.length ? " (the latest " +
                                 fl.items.length + " listed)" : "") + ":"));
    var table = el("table", {class: "list", id: "failure-list"});
    var head = el("tr");
    ["#", "state", "worker", "reason"].forEach(function (t) { head.appendChild(el("th", {}, t)); });
    table.appendChild(head);
    fl.items.forEach(function (item) {
      var tr = el("tr");
      tr.appendChild(el("td", {}, item.count));
      tr.appendChild(el("td", {class: "state-" + item.state}, item.state));
      tr.appendChild(el("td", {}, item.worker));
      tr.appendChild(el("td", {}, item.reason || "-"));
      table.appendChild(tr);
    });
    box.appendChild(table);
  }

  function drawTrials(m, c) {
    var p = m.payload, h = p.header, f = c.f, section = document.getElementById("section-trials");
    if (!(h.trials > 1)) { section.hidden = true; return Promise.resolve(); }
    section.hidden = false;
    var groups = {};
    c.done.forEach(function (r) {
      var g = groups[r[f.set]] || (groups[r[f.set]] = {first: r[f.count], scores: []});
      g.first = Math.min(g.first, r[f.count]);
      g.scores.push(r[f.score]);
    });
    var sets = Object.keys(groups).map(function (k) { return groups[k]; })
      .filter(function (g) { return g.scores.length > 1; });
    var note = document.getElementById("trials-note");
    if (!sets.length) {
      note.textContent = "";
      return plot("plot-trials", null, null,
                  "No parameter set has two completed trials yet.");
    }
    var sign = h.objective === "maximize" ? -1 : 1;
    sets.forEach(function (g) {
      g.mean = g.scores.reduce(function (a, b) { return a + b; }, 0) / g.scores.length;
      g.range = Math.max.apply(null, g.scores) - Math.min.apply(null, g.scores);
    });
    var ranges = sets.map(function (g) { return g.range; }).sort(function (a, b) { return a - b; });
    sets.sort(function (a, b) { return sign * (a.mean - b.mean); });
    var shown = sets.slice(0, 30);
    note.textContent = sets.length + " parameter set" + (sets.length === 1 ? "" : "s") +
      " with two or more completed trials; the median range of one set's scores is " +
      fmt(ranges[Math.floor(ranges.length / 2)]) + ". " +
      (sets.length > shown.length ? "The 30 best (by mean) are shown, best first." :
                                    "Best (by mean) first.");
    var xs = [], ys = [];
    shown.forEach(function (g) {
      g.scores.forEach(function (s) { xs.push("set #" + g.first); ys.push(s); });
    });
    return plot("plot-trials", [{type: "box", x: xs, y: ys, boxpoints: "all", jitter: 0.4,
                                 pointpos: 0, marker: {color: "#1c7ed6", size: 5},
                                 line: {color: "#495057"}, name: h.metric}],
                {height: 380, xaxis: {type: "category", title: {text: "parameter set"}},
                 yaxis: {title: {text: h.metric}}, showlegend: false});
  }

  // -- the page

  var SECTIONS = [
    ["history", "Optimization history",
     "Every completed experiment's score and the best so far, by order of assignment and by " +
     "wall time.", ["plot-history-count", "plot-history-time"]],
    ["parcoords", "Parallel coordinates",
     "One line per completed experiment through its parameters and score; drag along an " +
     "axis to select a range.", ["plot-parcoords"]],
    ["slices", "Slices", "The score against each parameter; darker points are later.",
     ["plot-slices"]],
    ["importance", "Parameter importance", "", ["plot-importance"]],
    ["timeline", "Workers",
     "One row per worker process; a bar per experiment from its assignment to its end, " +
     "coloured by how it ended.", ["plot-timeline"]],
    ["trials", "Repeated trials", "", ["plot-trials"]]
  ];

  function skeleton(root) {
    root.textContent = "";
    root.appendChild(el("header", {id: "header"}));
    SECTIONS.forEach(function (s) {
      var sec = el("section", {id: "section-" + s[0]});
      sec.appendChild(el("h2", {}, s[1]));
      var p = el("p", {class: "muted", id: s[0] + "-method"}, s[2]);
      if (s[0] === "trials") p.id = "trials-note";
      sec.appendChild(p);
      var row = el("div", {class: s[3].length > 1 ? "pair" : ""});
      s[3].forEach(function (id) { row.appendChild(el("div", {id: id, class: "plot"})); });
      sec.appendChild(row);
      if (s[0] === "timeline") sec.appendChild(el("div", {id: "failures"}));
      root.appendChild(sec);
    });
  }

  var timings = global.cometTimings = {};

  function timed(name, fn) {  // how long each view took (benchmarks/report_scale.py reads it)
    var start = performance.now(), out = fn();
    timings[name] = Math.round(performance.now() - start);
    return out;
  }

  function draw() {
    var c = timed("columns", function () { return model.columns(); });
    timed("header", function () { drawHeader(model.payload); drawFailures(model); });
    var pending = [].concat(
      timed("history", function () { return drawHistory(model, c); }),
      [timed("parcoords", function () { return drawParcoords(model, c); }),
       timed("slices", function () { return drawSlices(model, c); }),
       timed("importance", function () { return drawImportance(model); }),
       timed("timeline", function () { return drawTimeline(model, c); }),
       timed("trials", function () { return drawTrials(model, c); })]);
    return Promise.all(pending);
  }

  function render(payload) {
    model = new Model(payload);
    skeleton(document.getElementById("comet-root"));
    return draw().then(function () {
      document.body.setAttribute("data-rendered", String(performance.now()));
    });
  }

  // -- the dashboard: poll for what changed, merge it, redraw

  function live(url, interval) {
    var version = null, importanceVersion = null, root = document.getElementById("comet-root");
    var badge = document.getElementById("live-state"), started = 0;
    function tick() {
      started = performance.now();
      var query = version === null ? "" : "?since=" + version;
      fetch(url + query, {cache: "no-store"}).then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      }).then(function (delta) {
        var redraw = null;
        if (delta.full || model === null) {
          model = new Model(delta.payload);
          if (!root.firstChild) skeleton(root);
          redraw = "all";
        } else {
          model.merge(delta.rows);
          ["header", "workers", "failures", "generated", "importance"].forEach(function (k) {
            if (delta[k] !== undefined) model.payload[k] = delta[k];
          });
          redraw = delta.rows.length ? "all" : "header";
        }
        version = delta.version;
        var imp = model.payload.importance;
        var impVersion = imp ? imp.version : null;
        if (impVersion !== importanceVersion) {
          importanceVersion = impVersion;
          if (redraw === "header") redraw = "importance";
        }
        badge.textContent = "live \u2014 updated " + new Date().toLocaleTimeString();
        badge.className = "live ok";
        if (redraw === "all") return draw();
        drawHeader(model.payload);
        drawFailures(model);
        return redraw === "importance" ? drawImportance(model) : null;
      }).catch(function (error) {
        badge.textContent = "connection lost (" + error.message + "), retrying\u2026";
        badge.className = "live lost";
      }).then(function () {
        document.body.setAttribute("data-version", String(version));
        // A big search takes a second or more to redraw: poll no sooner than twice that
        // after, so the page stays usable between redraws.
        setTimeout(tick, Math.max(interval, 2 * (performance.now() - started)));
      });
    }
    tick();
  }

  global.CometReport = {render: render, live: live, fmt: fmt,
                        parcoordsDimensions: parcoordsDimensions};
})(window);
