// /analytics: read the analytics API (session cookie) for the chosen days and draw each
// chart with uPlot, with the same rows as a table and a CSV link beside it.
(function () {
  "use strict";
  const COLORS = ["#2563eb", "#16a34a", "#9333ea", "#dc2626", "#d97706", "#0891b2"];
  const form = document.getElementById("range");
  const state = document.getElementById("analytics-state");

  function windowOf() {
    const since = form.elements.since.value;
    const until = form.elements.until.value;
    const end = new Date(until + "T00:00:00Z");
    end.setUTCDate(end.getUTCDate() + 1); // the last day is included
    return { since: since + "T00:00:00Z", until: end.toISOString() };
  }

  function url(path, params) {
    return "/api/v1/analytics/" + path + "?" + new URLSearchParams({ ...windowOf(), ...params });
  }

  async function get(path, params) {
    const r = await fetch(url(path, params), { credentials: "same-origin" });
    if (!r.ok) throw new Error(path + ": " + r.status);
    return r.json();
  }

  function table(id, columns, rows) {
    const section = document.getElementById(id);
    const head = section.querySelector("table.data thead"); // not uPlot's legend table
    const body = section.querySelector("table.data tbody");
    head.innerHTML = "";
    body.innerHTML = "";
    const tr = document.createElement("tr");
    for (const c of columns) {
      const th = document.createElement("th");
      th.textContent = c;
      tr.appendChild(th);
    }
    head.appendChild(tr);
    for (const row of rows) {
      const line = document.createElement("tr");
      for (const c of columns) {
        const td = document.createElement("td");
        td.dataset.col = c;
        const v = row[c];
        td.textContent = v === null || v === undefined ? "" : String(v);
        line.appendChild(td);
      }
      body.appendChild(line);
    }
    if (!rows.length) {
      const line = document.createElement("tr");
      line.innerHTML = '<td class="muted">Nothing in these days.</td>';
      body.appendChild(line);
    }
  }

  function csv(id, path, params) {
    document.querySelector("#" + id + " a.csv").href = url(path, { ...params, format: "csv" });
  }

  const charts = {};
  function chart(id, opts, data) {
    const box = document.querySelector("#" + id + " .chart");
    if (charts[id]) charts[id].destroy();
    box.innerHTML = "";
    const width = Math.max(280, box.clientWidth || 600);
    charts[id] = new uPlot({ width: width, height: 240, ...opts }, data, box);
  }

  function categories(labels) {
    // A categorical x axis: positions 0..n-1 named by labels.
    return {
      scales: { x: { time: false, range: [-0.5, Math.max(labels.length - 0.5, 0.5)] } },
      axes: [
        { values: (u, ticks) => ticks.map((t) => (Number.isInteger(t) ? labels[t] || "" : "")) },
        {},
      ],
    };
  }

  function bars(label, color, size) {
    return {
      label: label,
      stroke: color,
      fill: color + "cc",
      paths: uPlot.paths.bars({ size: [size, 120] }),
      points: { show: false },
    };
  }

  async function throughput() {
    const body = await get("throughput", { bucket: "hour" });
    const kinds = ["received", "shipped", "delivered", "cancelled"];
    const xs = body.rows.map((r) => Date.parse(r.bucket) / 1000);
    chart(
      "throughput",
      { series: [{}, ...kinds.map((k, i) => ({ label: k, stroke: COLORS[i], width: 2 }))] },
      [xs, ...kinds.map((k) => body.rows.map((r) => r[k]))],
    );
    const busy = body.rows.filter((r) => kinds.some((k) => r[k] > 0));
    table("throughput", ["bucket", ...kinds], busy);
    csv("throughput", "throughput", { bucket: "hour" });
  }

  async function fulfillment() {
    const per = await get("accuracy", { group_by: "warehouse" });
    const warehouses = per
      .filter((r) => r.shipped)
      .sort((a, b) => b.shipped - a.shipped)
      .slice(0, COLORS.length)
      .map((r) => r.group);
    const days = [];
    const w = windowOf();
    for (let d = new Date(w.since); d < new Date(w.until); d.setUTCDate(d.getUTCDate() + 1)) {
      days.push(d.toISOString().slice(0, 10));
    }
    const rows = [];
    const series = [];
    for (const wh of warehouses) {
      const daily = await get("accuracy", { group_by: "day", warehouse: wh });
      const byDay = Object.fromEntries(daily.map((r) => [r.group, r]));
      series.push(days.map((d) => (byDay[d] && byDay[d].shipped ? byDay[d].fulfillment_accuracy : null)));
      for (const d of days) {
        const r = byDay[d];
        if (r && r.shipped) rows.push({ warehouse: wh, day: d, ...r });
      }
    }
    chart(
      "fulfillment",
      {
        scales: {
          x: { range: () => [Date.parse(w.since) / 1000, Date.parse(w.until) / 1000] },
          y: { range: [0, 1] },
        },
        series: [
          {},
          ...warehouses.map((wh, i) => ({
            label: wh,
            stroke: COLORS[i],
            width: 2,
            spanGaps: true,
            points: { show: true, size: 8, fill: COLORS[i] },
          })),
        ],
      },
      [days.map((d) => Date.parse(d + "T00:00:00Z") / 1000), ...series],
    );
    table("fulfillment", ["warehouse", "day", "shipped", "shipped_clean", "fulfillment_accuracy"], rows);
    csv("fulfillment", "accuracy", { group_by: "warehouse" });
  }

  async function errors() {
    const body = await get("errors", { group_by: "reason,warehouse", limit: "30" });
    const labels = body.rows.map((r) => r.reason + " @ " + r.warehouse);
    chart(
      "errors",
      { ...categories(labels), series: [{}, bars("refused", COLORS[3], 0.7)] },
      [labels.map((_, i) => i), body.rows.map((r) => r.refused)],
    );
    table("errors", ["reason", "warehouse", "refused", "share"], body.rows);
    csv("errors", "errors", { group_by: "reason,warehouse" });
  }

  async function delays() {
    const body = await get("delays", { group_by: "all" });
    const steps = body.rows.map((r) => r.step);
    const xs = steps.map((_, i) => i);
    chart(
      "delays",
      {
        ...categories(steps),
        series: [
          {},
          bars("p99", COLORS[3], 0.8),
          bars("p90", COLORS[4], 0.55),
          bars("p50", COLORS[0], 0.3),
        ],
      },
      [xs, body.rows.map((r) => r.p99_s), body.rows.map((r) => r.p90_s), body.rows.map((r) => r.p50_s)],
    );
    table("delays", ["step", "count", "p50_s", "p90_s", "p99_s"], body.rows);
    csv("delays", "delays", { group_by: "all" });
    chart(
      "breaches",
      { ...categories(steps), series: [{}, bars("SLA breaches", COLORS[3], 0.6)] },
      [xs, body.rows.map((r) => r.sla_breaches)],
    );
    table("breaches", ["step", "count", "sla_breaches"], body.rows);
    csv("breaches", "delays", { group_by: "all" });
  }

  async function load() {
    state.textContent = "loading…";
    state.dataset.state = "loading";
    try {
      await Promise.all([throughput(), fulfillment(), errors(), delays()]);
      state.textContent = "";
      state.dataset.state = "ready";
    } catch (err) {
      state.textContent = "could not load: " + err.message;
      state.dataset.state = "error";
    }
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    history.replaceState(null, "", "/analytics?" + new URLSearchParams(new FormData(form)));
    load();
  });
  load();
})();
