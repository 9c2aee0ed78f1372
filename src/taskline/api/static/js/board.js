// The task board: one lane per status, with filters, refreshed every few seconds.

import { getPage, lifecycle } from "./api.js";
import { ago, h, pill, put } from "./dom.js";

const REFRESH_MS = 4000;
const SHOWN = 1000;  // the newest tasks, one page: the most the API gives at once

function card(task) {
  const note = task.status === "FAILED" && task.failure
    ? h("p", { class: "card-note failed" }, `${task.failure.category}: ${task.failure.message}`)
    : task.summary ? h("p", { class: "card-note" }, task.summary) : null;
  return h("a", { class: `card p-${task.priority}`, href: `#/task/${task.id}`, "data-task": task.id },
    h("div", { class: "card-title" }, task.title),
    note,
    h("div", { class: "card-meta" },
      h("span", {}, task.assignee ? `@${task.assignee}` : "unassigned"),
      task.priority !== "normal" ? h("span", { class: `prio ${task.priority}` }, task.priority) : null,
      h("span", { class: "muted", title: task.updated_at }, ago(task.updated_at)),
    ),
  );
}

function select(label, options, onchange, current = "") {
  return h("label", {},
    label,
    h("select", { onchange: (e) => onchange(e.target.value) },
      h("option", { value: "" }, "all"),
      options.map((o) => h("option", { value: o, selected: o === current }, o)),
    ),
  );
}

export async function board(main) {
  const { statuses, ended, priorities } = await lifecycle();
  const isEnded = new Set(ended);
  // A lane per status: those still under way first, then the ended ones, each in lifecycle order.
  const lanesOrder = [...statuses.filter((s) => !isEnded.has(s)), ...statuses.filter((s) => isEnded.has(s))];
  const filter = { text: "", assignee: "", priority: "", type: "", hideEnded: false };
  let tasks = [];
  let total = 0;
  const lanes = h("div", { class: "board" });
  const count = h("span", { class: "muted" });
  const assignees = h("span");
  const types = h("span");
  const controls = h("div", { class: "filters" },
    h("input", { type: "search", placeholder: "Filter by title, id or summary", "aria-label": "filter",
      oninput: (e) => { filter.text = e.target.value.toLowerCase(); render(); } }),
    assignees,
    select("priority", [...priorities].reverse(), (v) => { filter.priority = v; render(); }),
    types,
    h("label", { class: "check" },
      h("input", { type: "checkbox", onchange: (e) => { filter.hideEnded = e.target.checked; render(); } }),
      "hide finished"),
    count,
  );
  put(main,
    h("div", { class: "page-head" }, h("h1", {}, "Tasks"),
      h("a", { class: "button", href: "#/new" }, "New task")),
    controls, lanes,
  );

  function matches(task) {
    const text = `${task.title} ${task.id} ${task.summary || ""}`.toLowerCase();
    return (!filter.text || text.includes(filter.text))
      && (!filter.assignee || task.assignee === filter.assignee)
      && (!filter.priority || task.priority === filter.priority)
      && (!filter.type || task.type === filter.type)
      && !(filter.hideEnded && isEnded.has(task.status));
  }

  function render() {
    const shown = tasks.filter(matches);
    count.textContent = total > tasks.length
      ? `${shown.length} of the newest ${tasks.length} tasks (${total} in all)`
      : `${shown.length} of ${tasks.length} tasks`;
    put(lanes, lanesOrder.map((status) => {
      const inLane = shown.filter((t) => t.status === status);
      if (filter.hideEnded && isEnded.has(status)) return null;
      return h("section", { class: "lane", "data-status": status },
        h("header", {}, pill(status), h("span", { class: "muted" }, String(inLane.length))),
        inLane.slice(0, 200).map(card),
        inLane.length > 200 ? h("p", { class: "muted" }, `and ${inLane.length - 200} more`) : null,
      );
    }).filter(Boolean));
  }

  function refreshChoices() {
    const names = [...new Set(tasks.map((t) => t.assignee).filter(Boolean))].sort();
    const kinds = [...new Set(tasks.map((t) => t.type))].sort();
    if (assignees.dataset.options !== names.join()) {
      assignees.dataset.options = names.join();
      put(assignees, select("agent", names, (v) => { filter.assignee = v; render(); }, filter.assignee));
    }
    if (types.dataset.options !== kinds.join()) {
      types.dataset.options = kinds.join();
      put(types, select("type", kinds, (v) => { filter.type = v; render(); }, filter.type));
    }
  }

  async function load() {
    ({ items: tasks, total } = await getPage(`/api/tasks?order=newest&limit=${SHOWN}`));
    refreshChoices();
    render();
  }

  await load();
  const timer = setInterval(() => load().catch(() => {}), REFRESH_MS);
  return () => clearInterval(timer);
}
