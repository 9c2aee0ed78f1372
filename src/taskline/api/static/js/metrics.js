// The metrics page: cost, tokens and turns per task over time, their distributions, and
// breakdowns by agent and by model.

import { get, getPage } from "./api.js";
import { PALETTE, barChart, figure, histogram, timeChart } from "./charts.js";
import { h, num, put, seconds, usd } from "./dom.js";

// The charts draw the newest tasks; the report's figures cover every one.
const SHOWN = 1000;

const MEASURES = [
  { key: "cost_per_task", title: "Cost per task", unit: "USD", format: usd, color: PALETTE[0] },
  { key: "tokens_per_task", title: "Tokens per task", unit: "tokens", format: (v) => num(v), color: PALETTE[1] },
  { key: "turns_per_task", title: "Turns per task", unit: "turns", format: (v) => num(v, 1), color: PALETTE[2] },
  { key: "duration_seconds", title: "Duration per task", unit: "seconds", format: seconds, color: PALETTE[3] },
];

function groupBars(groups, measure) {
  return Object.entries(groups).map(([name, group], i) => {
    const d = group[measure.key];
    return {
      label: name,
      value: d.mean,
      mark: d.p90,
      color: PALETTE[i % PALETTE.length],
      tip: `${name}: ${group.tasks} tasks, mean ${measure.format(d.mean)}, p50 ${measure.format(d.p50)},`
        + ` p90 ${measure.format(d.p90)}, max ${measure.format(d.max)}`
        + (d.unknown ? `, ${d.unknown} unknown` : ""),
      markTip: `p90 ${measure.format(d.p90)}`,
    };
  });
}

function summary(report) {
  const o = report.overall;
  const cost = o.cost_per_task;
  // From the report, not the rows: they may be only the newest. Its mean is rounded to a
  // millionth of a dollar: the total is within half a millionth per task of the exact sum.
  const total = cost.count ? cost.mean * cost.count : 0;
  const items = [
    ["finished tasks", num(report.tasks)],
    ["total cost", usd(total) + (cost.unknown ? ` + ${cost.unknown} unpriced` : "")],
    ["mean cost", usd(o.cost_per_task.mean)],
    ["mean tokens", num(o.tokens_per_task.mean)],
    ["mean turns", num(o.turns_per_task.mean, 1)],
    ["p90 duration", seconds(o.duration_seconds.p90)],
  ];
  return h("div", { class: "tiles" }, items.map(([label, value]) =>
    h("div", { class: "tile" }, h("div", { class: "tile-value" }, value),
      h("div", { class: "tile-label" }, label))));
}

function measureSection(measure, report, rows, shown) {
  const points = rows.map((r) => ({
    t: new Date(r.finished_at), value: r[measure.key], href: `#/task/${r.task_id}`,
    tip: `${r.task_id} (${r.agent}, ${r.model}): ${measure.format(r[measure.key])}`,
  }));
  const values = rows.map((r) => r[measure.key]);
  return h("section", { class: "panel measure", "data-measure": measure.key },
    h("h2", {}, measure.title),
    h("div", { class: "charts" },
      figure(`over time (by finish)${shown}`, timeChart({ title: `${measure.title} over time`, points,
        format: measure.format, yLabel: measure.unit, color: measure.color })),
      figure(`distribution${shown}`, histogram({ title: `${measure.title} distribution`, values,
        format: measure.format, color: measure.color })),
      figure("by agent (mean, p90 tick)", barChart({ title: `${measure.title} by agent`,
        bars: groupBars(report.by_agent, measure), format: measure.format, yLabel: measure.unit })),
      figure("by model (mean, p90 tick)", barChart({ title: `${measure.title} by model`,
        bars: groupBars(report.by_model, measure), format: measure.format, yLabel: measure.unit })),
    ));
}

function outliers(report) {
  if (!report.outliers.length) return null;
  return h("section", { class: "panel" }, h("h2", {}, "Outliers"),
    h("ul", {}, report.outliers.map((o) => h("li", {},
      h("a", { href: `#/task/${o.task_id}` }, o.task_id),
      `: ${o.measure} ${num(o.value, 6)} is ${o.times_median}× the median (${num(o.median, 6)})`))));
}

export async function metrics(main) {
  const [report, { items: rows, total }] = await Promise.all([
    get("/api/metrics"), getPage(`/api/metrics/tasks?order=newest&limit=${SHOWN}`),
  ]);
  const shown = total > rows.length ? `, the newest ${rows.length} of ${total}` : "";
  const head = h("div", { class: "page-head" }, h("h1", {}, "Metrics"));
  if (!report.tasks) {
    put(main, head, h("p", { class: "muted" }, "No finished tasks yet."));
    return;
  }
  put(main, head, summary(report),
    ...MEASURES.map((m) => measureSection(m, report, rows, shown)), outliers(report) || "");
}
