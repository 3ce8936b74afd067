/* The aiperf HTML report: builds every table and chart from the data embedded in the page
   (aiperf/report/data.py), with no network request. Tables and the SLO panel come first;
   the charts follow one at a time so the page answers while they are drawn.
   window.aiperfReport.interactiveMs is when the tables and the SLO panel answered;
   window.aiperfReport.ready turns true (readyMs) once every chart is drawn. */
(function () {
  "use strict";

  const DATA = JSON.parse(document.getElementById("report-data").textContent);
  const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                  "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  const CDF_POINTS = 500;
  // No button that would send the data anywhere (the page is offline by design).
  const PLOT_CONFIG = {responsive: true, displaylogo: false, scrollZoom: false,
                       showSendToCloud: false, showEditInChartStudio: false,
                       modeBarButtonsToRemove: ["sendDataToCloud", "editInChartStudio"]};
  const state = {ready: false, charts: [], errors: []};
  window.aiperfReport = state;

  // ------------------------------------------------------------------ small helpers

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "text") node.textContent = value;
      else if (key === "class") node.className = value;
      else node.setAttribute(key, value);
    }
    for (const child of children || []) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function fmt(value, digits) {
    if (value === null || value === undefined || Number.isNaN(value)) return "N/A";
    const d = digits === undefined ? 2 : digits;
    return Number(value).toLocaleString("en-US",
      {minimumFractionDigits: d, maximumFractionDigits: d});
  }

  function table(headers, rows, cls) {
    const head = el("tr", {}, headers.map((h) => el("th", {text: h})));
    const body = rows.map((cells) => el("tr", {}, cells.map((c) =>
      c instanceof Node ? el("td", {}, [c]) : el("td", {text: c}))));
    return el("table", {class: cls || "grid"}, [el("thead", {}, [head]), el("tbody", {}, body)]);
  }

  function section(id, title, children) {
    const node = el("section", {id: id}, [el("h2", {text: title}), ...(children || [])]);
    document.getElementById("content").append(node);
    return node;
  }

  function color(i) { return COLORS[i % COLORS.length]; }

  function runLabel(run) { return run.name; }

  // ------------------------------------------------------------------ summary tables

  function renderHeader() {
    document.title = DATA.title;
    document.getElementById("title").textContent = DATA.title;
    const runs = DATA.runs.length;
    document.getElementById("subtitle").textContent =
      `${runs} run${runs === 1 ? "" : "s"} (${DATA.mode}) - aiperf ${DATA.aiperf_version}`;
    const notes = document.getElementById("notes");
    for (const note of DATA.notes) notes.append(el("li", {text: note}));
  }

  function renderSummary() {
    const runs = DATA.runs;
    const rows = [];
    rows.push(["Verdict", ...runs.map((r) => r.verdict.text)]);
    const tags = [];
    for (const run of runs) {
      for (const m of run.metrics) if (!tags.includes(m.tag)) tags.push(m.tag);
    }
    for (const tag of tags) {
      for (const stat of ["avg", "p50", "p90", "p99"]) {
        const first = runs.map((r) => r.metrics.find((m) => m.tag === tag)).find((m) => m);
        rows.push([`${first.label} ${stat} (${first.unit})`, ...runs.map((r) => {
          const m = r.metrics.find((x) => x.tag === tag);
          return m ? fmt(m.stats[stat]) : "N/A";
        })]);
      }
    }
    const scalarTags = [];
    for (const run of runs) {
      for (const s of run.scalars) if (!scalarTags.includes(s.tag)) scalarTags.push(s.tag);
    }
    for (const tag of scalarTags) {
      const first = runs.map((r) => r.scalars.find((s) => s.tag === tag)).find((s) => s);
      rows.push([`${first.label} (${first.unit})`, ...runs.map((r) => {
        const s = r.scalars.find((x) => x.tag === tag);
        return s ? fmt(s.value) : "N/A";
      })]);
    }
    const health = [["client_bound", "Client bound"], ["scheduling_lag_p99_ms",
      "Scheduling lag p99 (ms)"], ["event_loop_lag_avg_ms", "Event loop lag avg (ms)"]];
    for (const [key, label] of health) {
      rows.push([label, ...runs.map((r) => key in r.health ?
        (typeof r.health[key] === "number" ? fmt(r.health[key]) : String(r.health[key]))
        : "N/A")]);
    }
    const warnings = runs.map((r) => [r.health.warning, ...r.warnings].filter((w) => w));
    const node = section("summary", "Summary", [
      el("div", {class: "scroll"}, [table(["Metric", ...runs.map(runLabel)], rows,
                                          "grid summary")])]);
    runs.forEach((run, i) => {
      for (const w of warnings[i]) {
        node.append(el("p", {class: "warning", text: `${run.name}: ${w}`}));
      }
    });
  }

  // ------------------------------------------------------------------ SLO panel

  function sloValue(name) {
    const input = document.getElementById(`slo-${name}`);
    const value = parseFloat(input.value);
    return Number.isFinite(value) ? value : null;
  }

  /* Goodput as the summary computes it: requests meeting every threshold (a missing value
     fails it), divided by the run's measured window; cancelled requests are neither good
     nor counted in the attainment's denominator. */
  function goodOf(run, thresholds) {
    const req = run.requests;
    const cancelled = run.error_types.indexOf("cancelled");
    let good = 0;
    let attempted = 0;
    for (let j = 0; j < req.ok.length; j++) {
      if (cancelled >= 0 && req.error[j] === cancelled) continue;
      attempted++;
      if (!req.ok[j]) continue;
      let meets = true;
      for (const [column, limit] of thresholds) {
        const value = req[column][j];
        if (value === null || value > limit) { meets = false; break; }
      }
      if (meets) good++;
    }
    return {good: good, attempted: attempted};
  }

  function updateSlo() {
    const thresholds = [];
    for (const [name, spec] of Object.entries(DATA.slo_tags)) {
      const value = sloValue(name);
      if (value !== null) thresholds.push([spec.column, value]);
    }
    DATA.runs.forEach((run, i) => {
      const {good, attempted} = goodOf(run, thresholds);
      const goodput = run.window_s ? good / run.window_s : null;
      document.getElementById(`good-${i}`).textContent = good.toLocaleString("en-US");
      document.getElementById(`attainment-${i}`).textContent =
        attempted ? fmt(100 * good / attempted) : "N/A";
      const cell = document.getElementById(`goodput-${i}`);
      cell.textContent = fmt(goodput, 4);
      cell.dataset.value = goodput === null ? "" : String(goodput);
    });
  }

  function renderSlo() {
    const initial = DATA.runs.map((r) => r.slos).find((s) => Object.keys(s).length) || {};
    const inputs = Object.entries(DATA.slo_tags).map(([name, spec]) => el("label", {}, [
      `${spec.label} at most (ms) `,
      el("input", {id: `slo-${name}`, type: "number", min: "0", step: "any",
                   placeholder: "no limit", value: name in initial ? initial[name] : ""}),
    ]));
    const rows = DATA.runs.map((run, i) => [
      run.name, run.verdict.requests.toLocaleString("en-US"),
      el("span", {id: `good-${i}`}), el("span", {id: `attainment-${i}`}),
      el("span", {id: `goodput-${i}`, class: "goodput"}),
      run.goodput === null ? "N/A" : fmt(run.goodput, 4),
    ]);
    section("slo", "SLOs: goodput and attainment", [
      el("p", {class: "hint", text: "Set thresholds; every request is checked against " +
        "them here, from its own values (a request missing a value fails). Goodput is " +
        "the good requests per second of the run's measured window; attainment is their " +
        "share of the requests that finished or failed (cancelled ones are left out)."}),
      el("div", {class: "slo-inputs"}, inputs),
      el("div", {class: "scroll"}, [table(["Run", "Requests", "Good", "Attainment (%)",
        "Goodput (req/s)", "Run's own goodput (req/s)"], rows)]),
    ]);
    for (const name of Object.keys(DATA.slo_tags)) {
      document.getElementById(`slo-${name}`).addEventListener("input", updateSlo);
    }
    updateSlo();
  }

  // ------------------------------------------------------------------ errors

  function renderErrors() {
    const rows = [];
    for (const run of DATA.runs) {
      for (const e of run.errors) rows.push([run.name, e.type, e.message, fmt(e.count, 0)]);
    }
    const node = section("errors", "Errors", []);
    if (!rows.length) {
      node.append(el("p", {text: "No failed requests."}));
      return false;
    }
    node.append(el("div", {class: "scroll"},
                   [table(["Run", "Type", "Message", "Count"], rows)]));
    node.append(chartDiv("errors-by-type", "Failed requests by type"));
    node.append(chartDiv("errors-over-time", "Failed requests over time (1 s bins)"));
    return true;
  }

  // ------------------------------------------------------------------ charts

  function chartDiv(id, title) {
    return el("figure", {}, [el("figcaption", {text: title}),
                             el("div", {id: id, class: "chart"})]);
  }

  function draw(id, traces, layout) {
    const node = document.getElementById(id);
    const full = Object.assign({margin: {t: 10, r: 10, b: 50, l: 60}, height: 360,
                                legend: {orientation: "h", y: -0.2}, hovermode: "closest"},
                               layout || {});
    return Plotly.newPlot(node, traces, full, PLOT_CONFIG).then(() => {
      state.charts.push(id);
    });
  }

  function sampledXY(run, column) {
    const req = run.requests;
    const stride = run.sampled.stride;
    const x = [];
    const y = [];
    for (let j = 0; j < req.ok.length; j += stride) {
      if (req.ok[j] && req[column][j] !== null) {
        x.push(req.start_s[j]);
        y.push(req[column][j]);
      }
    }
    return {x: x, y: y};
  }

  function overTime(id, column, unit) {
    const traces = DATA.runs.map((run, i) => Object.assign(sampledXY(run, column), {
      type: "scatter", mode: "markers", name: run.name,
      marker: {size: 4, color: color(i), opacity: 0.6},
      hovertemplate: `%{y:.2f} ${unit} at %{x:.2f} s<extra>${run.name}</extra>`,
    }));
    return draw(id, traces, {xaxis: {title: {text: "time since the first request (s)"}},
                             yaxis: {title: {text: unit}}});
  }

  function cdf(id, column, unit) {
    const traces = [];
    DATA.runs.forEach((run, i) => {
      const values = run.requests[column].filter((v, j) => v !== null && run.requests.ok[j]);
      if (!values.length) return;
      values.sort((a, b) => a - b);
      const n = values.length;
      const points = Math.min(CDF_POINTS, n);
      const x = [];
      const y = [];
      for (let k = 0; k < points; k++) {
        const index = points === 1 ? n - 1 : Math.round(k * (n - 1) / (points - 1));
        x.push(values[index]);
        y.push((index + 1) / n);
      }
      traces.push({type: "scatter", mode: "lines", name: run.name, x: x, y: y,
                   line: {color: color(i)},
                   hovertemplate: `%{x:.2f} ${unit}: %{y:.1%}<extra>${run.name}</extra>`});
    });
    return draw(id, traces, {xaxis: {title: {text: unit}},
                             yaxis: {title: {text: "share of requests"}, range: [0, 1.02]}});
  }

  function binned(times, width) {
    const counts = new Map();
    for (const t of times) {
      const bin = Math.floor(t / width);
      counts.set(bin, (counts.get(bin) || 0) + 1);
    }
    const bins = [...counts.keys()].sort((a, b) => a - b);
    return {x: bins.map((b) => (b + 0.5) * width), y: bins.map((b) => counts.get(b) / width)};
  }

  function throughput(id) {
    const traces = DATA.runs.map((run, i) => {
      const req = run.requests;
      const ends = req.end_s.filter((_, j) => req.ok[j]);
      return Object.assign(binned(ends, 1), {type: "scatter", mode: "lines+markers",
        name: run.name, line: {color: color(i)}, marker: {size: 4},
        hovertemplate: `%{y:.1f} req/s at %{x:.1f} s<extra>${run.name}</extra>`});
    });
    return draw(id, traces, {xaxis: {title: {text: "time since the first request (s)"}},
                             yaxis: {title: {text: "completed requests per second"}}});
  }

  function errorsByType(id) {
    const types = [...new Set(DATA.runs.flatMap((r) => r.error_types))];
    const traces = types.map((type, k) => ({
      type: "bar", name: type, x: DATA.runs.map(runLabel), marker: {color: color(k + 3)},
      y: DATA.runs.map((run) => {
        const index = run.error_types.indexOf(type);
        return index < 0 ? 0 : run.requests.error.filter((e) => e === index).length;
      }),
    }));
    return draw(id, traces, {barmode: "stack", yaxis: {title: {text: "requests"}}});
  }

  function errorsOverTime(id) {
    const traces = [];
    DATA.runs.forEach((run) => {
      run.error_types.forEach((type, k) => {
        const times = run.requests.start_s.filter((_, j) => run.requests.error[j] === k);
        const bins = binned(times, 1);
        traces.push({type: "bar", name: `${run.name}: ${type}`, x: bins.x, y: bins.y,
                     marker: {color: color(traces.length + 3)}});
      });
    });
    return draw(id, traces, {barmode: "stack",
                             xaxis: {title: {text: "time since the first request (s)"}},
                             yaxis: {title: {text: "failed requests per second"}}});
  }

  function renderCharts() {
    const jobs = [];
    const node = section("charts", "Per-request charts", []);
    const sampled = DATA.runs.filter((r) => r.sampled.stride > 1);
    if (sampled.length) {
      node.append(el("p", {id: "sampling-note", class: "warning", text:
        "Down-sampled: the over-time scatter views show " + sampled.map((r) =>
          `one request in ${r.sampled.stride} of ${r.name} (${r.sampled.shown.toLocaleString(
            "en-US")} of ${r.sampled.of.toLocaleString("en-US")})`).join(", ") +
        `. At most ${DATA.max_scatter_points.toLocaleString("en-US")} per run; the CDFs, ` +
        "throughput, errors and SLO figures use every request."}));
    }
    const hasItl = DATA.runs.some((r) => r.requests.itl_ms.some((v) => v !== null));
    const specs = [
      ["ttft-over-time", "Time to first token over time", () =>
        overTime("ttft-over-time", "ttft_ms", "ms")],
      ["latency-over-time", "Request latency over time", () =>
        overTime("latency-over-time", "latency_ms", "ms")],
      ["throughput-over-time", "Completed requests per second (1 s bins)", () =>
        throughput("throughput-over-time")],
      ["cdf-ttft", "Time to first token: cumulative distribution", () =>
        cdf("cdf-ttft", "ttft_ms", "ms")],
      ["cdf-latency", "Request latency: cumulative distribution", () =>
        cdf("cdf-latency", "latency_ms", "ms")],
    ];
    if (hasItl) {
      specs.splice(2, 0, ["itl-over-time", "Inter-token latency over time", () =>
        overTime("itl-over-time", "itl_ms", "ms")]);
      specs.push(["cdf-itl", "Inter-token latency: cumulative distribution", () =>
        cdf("cdf-itl", "itl_ms", "ms")]);
    }
    const hasTtft = DATA.runs.some((r) => r.requests.ttft_ms.some((v) => v !== null));
    for (const [id, title, job] of specs) {
      if (!hasTtft && id.includes("ttft")) continue;
      node.append(chartDiv(id, title));
      jobs.push(job);
    }
    return jobs;
  }

  // ------------------------------------------------------------------ several runs

  function renderComparison() {
    const c = DATA.comparison;
    if (!c) return;
    const rows = c.rows.map((r) => {
      const better = r.delta === 0 ? "" :
        ((r.delta > 0) === r.larger_is_better ? "better" : "worse");
      const ci = r.ci_low === null ? "n/a (needs 2+ trials each side)" :
        `${fmt(r.ci_low)} to ${fmt(r.ci_high)}`;
      return [r.treatment, r.label, fmt(r.baseline), fmt(r.value),
              el("span", {class: better, text: (r.delta > 0 ? "+" : "") + fmt(r.delta)}),
              r.delta_pct === null ? "N/A" : (r.delta_pct > 0 ? "+" : "") + fmt(r.delta_pct),
              ci, `${r.trials[0]} / ${r.trials[1]}`];
    });
    section("comparison", `Compared with the baseline: ${c.baseline}`, [
      el("p", {class: "hint", text: "Means over trials where a run has them; the interval " +
        "is Welch's 95% interval of the difference (treatment minus baseline)."}),
      el("div", {class: "scroll"}, [table(["Treatment", "Metric", "Baseline", "Treatment",
        "Delta", "Delta (%)", "95% CI of delta", "Trials"], rows)]),
    ]);
  }

  function renderPareto() {
    const p = DATA.pareto;
    if (!p || !p.points.length) return [];
    section("pareto", "Pareto view: latency against throughput", [
      chartDiv("pareto-chart", "Runs on the frontier (lower latency, higher throughput) " +
               "are joined; a degraded run (too many errors) is never on it")]);
    return [() => {
      const front = p.points.filter((q) => q.front).sort((a, b) => a.latency - b.latency);
      return draw("pareto-chart", [
        {type: "scatter", mode: "markers+text", name: "runs",
         x: p.points.map((q) => q.latency), y: p.points.map((q) => q.throughput),
         text: p.points.map((q) => q.degraded ? `${q.name} (degraded)` : q.name),
         textposition: "top center",
         marker: {size: 9, color: p.points.map((q) => q.front ? "#d62728" : "#7f7f7f")}},
        {type: "scatter", mode: "lines", name: "frontier", x: front.map((q) => q.latency),
         y: front.map((q) => q.throughput), line: {color: "#d62728", dash: "dot"}},
      ], {xaxis: {title: {text: p.x}}, yaxis: {title: {text: p.y}}});
    }];
  }

  // ------------------------------------------------------------------ configuration

  function shown(value) {
    if (value === null || value === undefined) return "unset";
    return typeof value === "object" ? JSON.stringify(value) : String(value);
  }

  function renderConfig() {
    const node = section("config", "Resolved configuration", []);
    DATA.runs.forEach((run, i) => {
      const rows = run.config.map((f) => [f.key, shown(f.value), f.origin, f.rule]);
      const details = el("details", i === 0 ? {open: ""} : {}, [
        el("summary", {text: run.name}),
        el("div", {class: "scroll"}, [table(["Setting", "Value", "Origin", "Rule"], rows,
                                            "grid config")]),
      ]);
      node.append(details);
    });
    const answers = Object.entries(DATA.answers);
    if (answers.length) {
      const box = section("answers", "Recipe answers", []);
      for (const [analysis, answer] of answers) {
        box.append(el("h3", {text: analysis}));
        box.append(el("pre", {text: JSON.stringify(answer, null, 2)}));
      }
    }
  }

  // ------------------------------------------------------------------ main

  function main() {
    renderHeader();
    renderSummary();
    renderSlo();
    renderComparison();
    const jobs = renderCharts();
    const hasErrors = renderErrors();
    if (hasErrors) {
      jobs.push(() => errorsByType("errors-by-type"));
      jobs.push(() => errorsOverTime("errors-over-time"));
    }
    jobs.push(...renderPareto());
    renderConfig();
    for (const link of document.querySelectorAll("nav a")) {
      if (!document.getElementById(link.getAttribute("href").slice(1))) link.remove();
    }
    // Tables and the SLO panel answer from here on; the charts follow.
    state.interactiveMs = performance.now();
    // One chart per task: the page stays responsive while they are drawn.
    const next = () => {
      const job = jobs.shift();
      if (!job) {
        state.readyMs = performance.now();
        state.ready = true;
        document.body.dataset.ready = "true";
        return;
      }
      Promise.resolve().then(job).catch((e) => { state.errors.push(String(e)); })
        .then(() => setTimeout(next, 0));
    };
    next();
  }

  main();
})();
