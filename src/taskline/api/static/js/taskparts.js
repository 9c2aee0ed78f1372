// The parts of the task page: timeline, runs with turns and tool calls, costs, artifacts, metrics.

import { download, get, taskPath } from "./api.js";
import { PALETTE, barChart } from "./charts.js";
import { bytes, h, num, pill, put, seconds, usd, when } from "./dom.js";

export function timeline(transitions) {
  return h("ol", { class: "timeline" }, transitions.map((t, i) => {
    const next = transitions[i + 1];
    const stay = next ? (new Date(next.at) - new Date(t.at)) / 1000 : null;
    return h("li", { class: `s-${t.to}` },
      h("div", { class: "step" }, t.from ? [pill(t.from), " → "] : "created ", pill(t.to)),
      h("div", { class: "muted" }, `${when(t.at)} · ${t.actor}`,
        stay !== null ? ` · ${seconds(stay)} in ${t.to.replace("_", " ")}` : ""),
      t.reason ? h("div", { class: "reason" }, t.reason) : null,
    );
  }));
}

export function tiles(metrics) {
  if (!metrics) return h("p", { class: "muted" }, "Metrics are stored when the task first ends.");
  const cost = usd(metrics.cost_per_task)
    + (metrics.unpriced_calls ? ` (${metrics.unpriced_calls} unpriced)` : "");
  const items = [
    ["turns", num(metrics.turns_per_task)],
    ["tokens", num(metrics.tokens_per_task), `${num(metrics.input_tokens)} in · ${num(metrics.output_tokens)} out`],
    ["cost", cost],
    ["duration", seconds(metrics.duration_seconds)],
    ["tool calls", num(metrics.tool_calls)],
    ["runs", num(metrics.runs), metrics.retries ? `${metrics.retries} retried requests` : ""],
  ];
  return h("div", { class: "tiles" }, items.map(([label, value, sub]) =>
    h("div", { class: "tile", "data-metric": label },
      h("div", { class: "tile-value" }, value), h("div", { class: "tile-label" }, label),
      sub ? h("div", { class: "muted small" }, sub) : null)));
}

/** One bar per billed call, coloured by run; review calls are lighter. */
export function costChart(records, runs) {
  const numbers = Object.fromEntries(runs.map((r) => [r.id, r.number]));
  const sorted = [...records].sort((a, b) =>
    (numbers[a.run_id] - numbers[b.run_id]) || a.purpose.localeCompare(b.purpose) || a.turn - b.turn);
  const priced = sorted.some((r) => r.cost_usd !== null);
  const bars = sorted.map((r) => {
    const run = numbers[r.run_id] || 0;
    const label = `r${run}${r.purpose === "review" ? " rv" : " t"}${r.turn}`;
    const tokens = r.input_tokens + r.output_tokens;
    return {
      label,
      value: priced ? r.cost_usd : tokens,
      color: PALETTE[(run - 1) % PALETTE.length] + (r.purpose === "review" ? "99" : ""),
      tip: `run ${run} ${r.purpose} turn ${r.turn}: ${usd(r.cost_usd)}, ${num(tokens)} tokens`
        + ` (${num(r.input_tokens)} in, ${num(r.output_tokens)} out), ${seconds(r.latency_ms / 1000)}`,
    };
  });
  return barChart({
    title: priced ? "Cost per turn" : "Tokens per turn (prices unknown)",
    bars, format: priced ? usd : (v) => num(v), yLabel: priced ? "USD" : "tokens", width: 760,
  });
}

function argsLine(args) {
  return Object.entries(args).map(([k, v]) => {
    const shown = typeof v === "string" ? v : JSON.stringify(v);
    return `${k}=${shown.length > 48 ? shown.slice(0, 47) + "…" : shown}`;
  }).join(", ");
}

function toolCall(call) {
  return h("details", { class: `call ${call.is_error ? "error" : "ok"}` },
    h("summary", {},
      h("span", { class: "mark" }, call.is_error ? "✗" : "✓"),
      h("code", {}, call.name), h("span", { class: "args" }, `(${argsLine(call.arguments)})`),
      h("span", { class: "muted" }, ` ${seconds(call.duration_ms / 1000)}`)),
    h("div", { class: "call-body" },
      h("div", { class: "label" }, "arguments"),
      h("pre", {}, JSON.stringify(call.arguments, null, 2)),
      h("div", { class: "label" }, call.is_error ? "error" : "result"),
      h("pre", {}, call.output || "(empty)")));
}

export function runsView(runs, records) {
  if (!runs.length) return h("p", { class: "muted" }, "No runs yet.");
  const costOf = {};
  for (const r of records) if (r.purpose === "agent") costOf[`${r.run_id}/${r.turn}`] = r;
  return runs.map((run) => {
    const ended = run.ended_at ? (new Date(run.ended_at) - new Date(run.started_at)) / 1000 : null;
    return h("details", { class: "run", open: true, "data-run": run.number },
      h("summary", {},
        h("strong", {}, `Run ${run.number}`), ` ${run.trigger} · ${run.agent} on ${run.model} · `,
        h("span", { class: `run-status ${run.status}` }, run.status),
        ended !== null ? h("span", { class: "muted" }, ` · ${seconds(ended)}`) : null),
      run.feedback ? h("p", { class: "feedback" }, "Asked to address: ", run.feedback) : null,
      run.failure_message ? h("p", { class: "failed" },
        `${run.failure_category || "stopped"}: ${run.failure_message}`) : null,
      h("ol", { class: "turns" }, run.turns.map((turn) => {
        const cost = costOf[`${run.id}/${turn.number}`];
        return h("li", { class: "turn" },
          h("div", { class: "turn-head" }, h("strong", {}, `Turn ${turn.number}`),
            h("span", { class: "muted" }, ` ${turn.finish_reason}`),
            cost ? h("span", { class: "muted" },
              ` · ${num(cost.input_tokens + cost.output_tokens)} tokens · ${usd(cost.cost_usd)}`) : null),
          turn.text ? h("p", { class: "turn-text" }, turn.text) : null,
          turn.tool_calls.map(toolCall));
      })),
      run.summary ? h("p", { class: "summary" }, h("strong", {}, "Submitted: "), run.summary) : null,
    );
  });
}

function diffView(diff) {
  return h("pre", { class: "diff" }, diff.split("\n").map((line) => {
    const kind = line.startsWith("+++") || line.startsWith("---") ? "file"
      : line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : line.startsWith("@@") ? "hunk" : "";
    return h("span", { class: kind }, line + "\n");
  }));
}

async function showPreview(pane, taskId, artifact) {
  const query = `?run_id=${encodeURIComponent(artifact.run_id)}&path=${encodeURIComponent(artifact.path)}`;
  put(pane, h("p", { class: "muted" }, "Loading…"));
  try {
    const p = await get(taskPath(taskId, `/artifacts/preview${query}`));
    const body = !p.kept ? h("p", { class: "muted" }, "The content was not kept (over 10 MiB).")
      : p.binary ? h("p", { class: "muted" }, `Binary file, ${bytes(p.size)}.`)
        : p.diff ? diffView(p.diff) : h("pre", { class: "file" }, p.text);
    put(pane,
      h("div", { class: "preview-head" }, h("code", {}, p.path), ` ${p.change}`,
        p.truncated ? h("span", { class: "muted" }, " (cut; download for all)") : null),
      body);
  } catch (e) {
    put(pane, h("p", { class: "failed" }, e.message));
  }
}

export function artifactsView(taskId, artifacts, runs, pane) {
  if (!artifacts.length) return h("p", { class: "muted" }, "No files changed.");
  const numbers = Object.fromEntries(runs.map((r) => [r.id, r.number]));
  return h("table", { class: "artifacts" },
    h("thead", {}, h("tr", {}, ["run", "change", "path", "size", ""].map((c) => h("th", {}, c)))),
    h("tbody", {}, artifacts.map((a) => {
      const query = `?run_id=${encodeURIComponent(a.run_id)}&path=${encodeURIComponent(a.path)}`;
      const name = a.path.split("/").pop();
      return h("tr", {},
        h("td", {}, String(numbers[a.run_id] || "?")),
        h("td", {}, h("span", { class: `change ${a.change}` }, a.change)),
        h("td", {}, h("button", { class: "link", onclick: () => showPreview(pane, taskId, a) }, a.path)),
        h("td", { class: "num" }, bytes(a.size)),
        h("td", {}, h("button", { class: "link", title: "download",
          onclick: () => download(taskPath(taskId, `/artifacts/content${query}`), name) }, "download")));
    })));
}

export function reviewsView(reviews) {
  if (!reviews.length) return null;
  return h("ul", { class: "reviews" }, reviews.map((r) =>
    h("li", {}, h("span", { class: r.approved ? "ok" : "failed" }, r.approved ? "approved" : "rejected"),
      ` by ${r.reviewer} · ${when(r.at)}`, r.feedback ? h("div", { class: "reason" }, r.feedback) : null)));
}
