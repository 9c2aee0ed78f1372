// Small SVG charts drawn here, no library: bars, points over time, and histograms.

import { h, s } from "./dom.js";

const W = 420; // the default width of a chart's viewBox; `width` makes a wider one
const H = 200;
const PAD = { left: 56, right: 12, top: 12, bottom: 40 };
export const PALETTE = ["#4f6bed", "#e8833a", "#2a9d8f", "#c2467a", "#8a6fdf", "#7a9a01", "#d4a017"];

/** A round step for about `count` ticks from 0 to `max`; whole numbers for counts. */
function ticks(max, integer = false, count = 4) {
  if (!(max > 0)) return [0, 1];
  const raw = integer ? Math.max(1, max / count) : max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((v) => v >= raw);
  const values = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) values.push(v);
  if (values[values.length - 1] < max) values.push(values[values.length - 1] + step);
  return values;
}

function frame(yTicks, format, yLabel, width) {
  const top = yTicks[yTicks.length - 1];
  const plotH = H - PAD.top - PAD.bottom;
  const y = (v) => PAD.top + plotH - (v / top) * plotH;
  const grid = yTicks.map((v) =>
    s("g", {},
      s("line", { x1: PAD.left, x2: width - PAD.right, y1: y(v), y2: y(v), class: "grid" }),
      s("text", { x: PAD.left - 6, y: y(v) + 4, "text-anchor": "end", class: "tick" }, format(v)),
    ),
  );
  const label = yLabel
    ? s("text", { x: 12, y: PAD.top + plotH / 2, class: "axis-label",
      transform: `rotate(-90 12 ${PAD.top + plotH / 2})`, "text-anchor": "middle" }, yLabel)
    : null;
  return { y, grid, label };
}

function svgRoot(children, title, width = W) {
  return s("svg", { viewBox: `0 0 ${width} ${H}`, class: "chart", role: "img", "aria-label": title },
    s("title", {}, title), ...children);
}

function empty(title) {
  return h("div", { class: "chart-empty" }, `${title}: no data yet`);
}

/** Bars: [{label, value, color, tip, mark}] — `mark` draws a tick (e.g. the p90) on the bar. */
export function barChart({ title, bars, format = String, yLabel = "", integer = false, width = W }) {
  if (!bars.length) return empty(title);
  const top = Math.max(...bars.map((b) => Math.max(b.value || 0, b.mark || 0)));
  const { y, grid, label } = frame(ticks(top, integer), format, yLabel, width);
  const plotW = width - PAD.left - PAD.right;
  const slot = plotW / bars.length;
  const barWidth = Math.max(2, Math.min(48, slot * 0.7));
  const every = Math.ceil(bars.length / Math.floor(width / 35));
  const drawn = bars.map((bar, i) => {
    const x = PAD.left + slot * i + (slot - barWidth) / 2;
    const value = bar.value || 0;
    const rect = s("rect", {
      x, y: y(value), width: barWidth, height: Math.max(0, y(0) - y(value)),
      fill: bar.color || PALETTE[0], class: bar.value === null ? "bar unknown" : "bar",
    }, s("title", {}, bar.tip || `${bar.label}: ${format(value)}`));
    const mark = bar.mark === undefined || bar.mark === null ? null
      : s("line", { x1: x - 3, x2: x + barWidth + 3, y1: y(bar.mark), y2: y(bar.mark), class: "mark" },
        s("title", {}, bar.markTip || ""));
    const text = i % every ? null : s("text", {
      x: x + barWidth / 2, y: H - PAD.bottom + 14, "text-anchor": "middle", class: "tick",
    }, String(bar.label).slice(0, 14));
    return s("g", {}, rect, mark, text);
  });
  return svgRoot([...grid, label, ...drawn], title, width);
}

/** Points over time, joined in time order: [{t: Date, value, tip, href}]. */
export function timeChart({ title, points, format = String, yLabel = "", color = PALETTE[0] }) {
  const known = points.filter((p) => p.value !== null && p.value !== undefined)
    .sort((a, b) => a.t - b.t);
  if (!known.length) return empty(title);
  const top = Math.max(...known.map((p) => p.value));
  const { y, grid, label } = frame(ticks(top), format, yLabel, W);
  const t0 = known[0].t.getTime();
  const t1 = Math.max(known[known.length - 1].t.getTime(), t0 + 1000);
  const plotW = W - PAD.left - PAD.right;
  const x = (t) => PAD.left + ((t.getTime() - t0) / (t1 - t0)) * plotW;
  const path = known.map((p, i) => `${i ? "L" : "M"}${x(p.t).toFixed(1)},${y(p.value).toFixed(1)}`);
  const dots = known.map((p) => {
    const dot = s("circle", { cx: x(p.t), cy: y(p.value), r: 3.5, fill: color, class: "dot" },
      s("title", {}, p.tip || format(p.value)));
    return p.href ? s("a", { href: p.href }, dot) : dot;
  });
  const span = t1 - t0;
  const short = (t) => new Date(t).toLocaleString("en-GB", span > 86400000
    ? { month: "short", day: "2-digit" }
    : { hour: "2-digit", minute: "2-digit", second: span > 3600000 ? undefined : "2-digit" });
  const xTicks = [t0, (t0 + t1) / 2, t1].map((t, i) =>
    s("text", { x: x(new Date(t)), y: H - PAD.bottom + 14, class: "tick",
      "text-anchor": ["start", "middle", "end"][i] }, short(t)));
  const line = s("path", { d: path.join(" "), class: "line", stroke: color });
  return svgRoot([...grid, label, line, ...dots, ...xTicks], title);
}

/** How many values fall in each of `bins` equal ranges. */
export function histogram({ title, values, bins = 10, format = String, color = PALETTE[2] }) {
  const known = values.filter((v) => v !== null && v !== undefined);
  if (!known.length) return empty(title);
  const low = Math.min(...known);
  const high = Math.max(...known);
  const count = high === low ? 1 : Math.min(bins, known.length);
  const width = (high - low) / count || 1;
  const counts = new Array(count).fill(0);
  for (const v of known) counts[Math.min(count - 1, Math.floor((v - low) / width))] += 1;
  const bars = counts.map((n, i) => ({
    label: format(low + i * width),
    value: n,
    color,
    tip: `${format(low + i * width)} – ${format(low + (i + 1) * width)}: ${n} task${n === 1 ? "" : "s"}`,
  }));
  return barChart({ title, bars, format: (v) => String(v), yLabel: "tasks", integer: true });
}

/** A titled box around a chart. */
export function figure(caption, chart) {
  return h("figure", { class: "figure" }, h("figcaption", {}, caption), chart);
}
