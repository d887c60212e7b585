// Charts of the load test from the JSON embedded in #series-data (uPlot, inlined above).
(function () {
  "use strict";
  var holder = document.getElementById("series-data");
  if (!holder || typeof uPlot === "undefined") { return; }
  var all = JSON.parse(holder.textContent || "[]");
  // Rates, latencies and users all read best from zero.
  function fromZero(u, lo, hi) { return [0, Math.max(hi || 0, 1)]; }
  var palette = { users: "#7c3aed", rps: "#2563eb", p50_ms: "#16a34a", p95_ms: "#d97706",
                  p99_ms: "#dc2626", errors_per_s: "#dc2626" };
  var charts = {
    throughput: { keys: ["rps", "users"], label: { rps: "requests/s", users: "users" } },
    latency: { keys: ["p50_ms", "p95_ms", "p99_ms"], label: { p50_ms: "p50 ms", p95_ms: "p95 ms", p99_ms: "p99 ms" } },
    errors: { keys: ["errors_per_s"], label: { errors_per_s: "errors/s" } }
  };
  document.querySelectorAll("[data-chart]").forEach(function (box) {
    var spec = charts[box.getAttribute("data-chart")];
    var data = all[Number(box.getAttribute("data-series"))];
    if (!spec || !data) { return; }
    var users = spec.keys.indexOf("users") >= 0;
    var series = [{ label: "t (s)" }];
    var columns = [data.t];
    spec.keys.forEach(function (key) {
      series.push({ label: spec.label[key], stroke: palette[key], width: 2, spanGaps: true,
                    scale: key === "users" ? "users" : "y" });
      columns.push(data[key]);
    });
    var axes = [{ label: "seconds" }, { scale: "y" }];
    if (users) { axes.push({ scale: "users", side: 1, grid: { show: false } }); }
    var opts = {
      width: Math.max(320, box.clientWidth || 800), height: 220, series: series, axes: axes,
      scales: { x: { time: false }, y: { range: fromZero }, users: { range: fromZero } }
    };
    new uPlot(opts, columns, box);
  });
  // The journey measured under load: its steps as points on the load's time axis, with the users.
  var journeyHolder = document.getElementById("journey-data");
  var journeyBox = document.querySelector("[data-journey-chart]");
  if (journeyHolder && journeyBox) {
    var journey = JSON.parse(journeyHolder.textContent || "null");
    if (journey) {
      var colours = ["#dc2626", "#2563eb", "#16a34a"];
      var jSeries = [{ label: "t (s)" }, { label: "users", stroke: palette.users, width: 1, spanGaps: true, scale: "users" }];
      var jColumns = [journey.columns.t, journey.columns.users];
      journey.engines.forEach(function (engine, i) {
        jSeries.push({ label: engine + " step ms", stroke: colours[i % colours.length], width: 0, scale: "y",
                       paths: function () { return null; }, points: { show: true, size: 7 } });
        jColumns.push(journey.columns[engine]);
      });
      new uPlot({
        width: Math.max(320, journeyBox.clientWidth || 800), height: 220, series: jSeries,
        axes: [{ label: "seconds" }, { scale: "y" }, { scale: "users", side: 1, grid: { show: false } }],
        scales: { x: { time: false }, y: { range: fromZero }, users: { range: fromZero } }
      }, jColumns, journeyBox);
    }
  }
})();
