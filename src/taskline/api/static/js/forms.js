// Forms: add an agent; create a task, and assign and run it in one go.

import { get, newTaskFields, post, taskPath } from "./api.js";
import { h, lines, put, toast } from "./dom.js";

function field(label, input, hint = "") {
  return h("label", { class: "field" },
    h("span", {}, label), input, hint ? h("small", { class: "muted" }, hint) : null);
}

function text(name, attrs = {}) {
  return h("input", { name, type: "text", ...attrs });
}

function area(name, placeholder, rows = 3) {
  return h("textarea", { name, placeholder, rows });
}

function optional(value, convert = (v) => v) {
  return value.trim() === "" ? undefined : convert(value.trim());
}

function csv(value) {
  return value.split(",").map((part) => part.trim()).filter(Boolean);
}

function agentForm(onAdded) {
  const error = h("p", { class: "form-error", hidden: true });
  const form = h("form", { class: "card-form", id: "agent-form" },
    h("h2", {}, "Add an agent"),
    field("Name", text("name", { required: true, placeholder: "coder" })),
    field("Model", text("model", { placeholder: "local:smollm2" }),
      "openai:MODEL, anthropic:MODEL, ENDPOINT:MODEL or local:smollm2 (the default)"),
    field("Role", text("role", { placeholder: "backend engineer" })),
    field("Instructions", area("instructions", "Personality and way of working")),
    field("Tools", text("tools", { placeholder: "all" }), "comma-separated; empty means all"),
    field("Skills", text("skills"), "comma-separated"),
    field("Budget per task (USD)", text("budget_usd", { inputmode: "decimal" })),
    error,
    h("button", { type: "submit" }, "Add agent"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const v = Object.fromEntries(new FormData(form));
    try {
      const agent = await post("/api/agents", {
        name: v.name.trim(), model: optional(v.model), role: v.role, instructions: v.instructions,
        tools: optional(v.tools, csv), skills: csv(v.skills), budget_usd: optional(v.budget_usd),
      });
      error.hidden = true;
      form.reset();
      toast(`agent ${agent.name} added`);
      onAdded(agent);
    } catch (e) {
      error.textContent = e.message;
      error.hidden = false;
    }
  });
  return form;
}

// How the task form asks for the fields of the new-task body. The fields themselves come
// from the API's schema (`newTaskFields`): one missing here is still asked for, labelled
// with its schema title and described by its schema description.
const LOOK = {
  title: { label: "Title", attrs: { maxlength: 200 } },
  description: { label: "Description", placeholder: "The full context the agent needs", rows: 4 },
  criteria: { label: "Acceptance criteria", placeholder: "one per line" },
  checks: { label: "Checks", placeholder: "shell commands that must exit 0, one per line", rows: 2 },
  expected_artifacts: { label: "Expected artifacts", placeholder: "one per line", rows: 2 },
  ignore: { label: "Not artifacts", placeholder: "paths or gitignore patterns, one per line", rows: 2 },
  type: { label: "Type" },
  priority: { label: "Priority" },
  depends_on: { label: "Depends on", csv: true, hint: "task ids, comma-separated" },
  budget_usd: { label: "Budget (USD)" },
  budget_tokens: { label: "Budget (tokens)" },
  max_turns: { label: "Max turns" },
  timeout_seconds: { label: "Timeout (s)" },
  check_timeout_seconds: { label: "Check timeout (s)" },
  deadline: { label: "Deadline" },
  reviewers: { label: "Reviewer agents", csv: true, hint: "comma-separated" },
  workspace: { label: "Workspace", hint: "directory; empty means one under TASKLINE_HOME" },
  max_rework: { label: "Max rework" },
  human_review: { label: "a person approves the work" },
  copy: { label: "work in a copy of the workspace" },
};

/** What kind of input a field of the schema wants, and whether it may be left out (null). */
function kindOf(spec) {
  const options = spec.anyOf || [spec];
  const types = options.map((o) => o.type);
  const own = options.find((o) => o.type !== "null") || {};
  const nullable = types.includes("null");
  if (spec.enum) return { kind: "choice", own, nullable };
  if (types.includes("boolean")) return { kind: "flag", own, nullable };
  if (types.includes("array")) return { kind: "list", own, nullable };
  if (types.includes("string") && types.includes("number")) return { kind: "decimal", own, nullable };
  if (types.includes("integer") || types.includes("number")) return { kind: "number", own, nullable };
  if (own.format === "date-time") return { kind: "when", own, nullable };
  return { kind: "text", own, nullable };
}

function input(f) {
  const { name, spec } = f;
  const look = LOOK[name] || {};
  const { kind, own } = kindOf(spec);
  const attrs = { name, required: f.required || undefined, ...(look.attrs || {}) };
  if (kind === "choice") {
    return h("select", attrs, spec.enum.map((v) => h("option", { value: v, selected: v === spec.default }, v)));
  }
  if (kind === "flag") return h("input", { ...attrs, type: "checkbox", checked: spec.default === true });
  if (kind === "number") {
    return h("input", { ...attrs, type: "number", min: own.minimum ?? own.exclusiveMinimum,
      step: own.type === "integer" ? 1 : "any", value: spec.default ?? undefined });
  }
  if (kind === "decimal") return h("input", { ...attrs, type: "text", inputmode: "decimal" });
  if (kind === "when") return h("input", { ...attrs, type: "datetime-local" });
  if (kind === "list" && !look.csv) {
    return h("textarea", { ...attrs, placeholder: look.placeholder, rows: look.rows || 3 });
  }
  if (look.rows) return h("textarea", { ...attrs, placeholder: look.placeholder, rows: look.rows });
  return h("input", { ...attrs, type: "text", placeholder: look.placeholder,
    value: typeof spec.default === "string" ? spec.default : undefined });
}

/** A field's value in the body; undefined leaves it out (the API's default). */
function valueOf(f, el) {
  const { kind, nullable } = kindOf(f.spec);
  const raw = el.value;
  if (kind === "flag") return el.checked;
  if (kind === "list") return LOOK[f.name]?.csv ? csv(raw) : lines(raw);
  const value = el.tagName === "TEXTAREA" || f.required ? raw : raw.trim();
  if (value.trim() === "") return nullable ? undefined : kind === "number" ? f.spec.default : value;
  if (kind === "number") return Number(value);
  if (kind === "when") return new Date(value).toISOString();
  return value;
}

function taskForm(agents, fields) {
  const error = h("p", { class: "form-error", hidden: true });
  const agentSelect = h("select", { name: "agent" }, h("option", { value: "" }, "— not yet —"));
  const setAgents = (list) => put(agentSelect,
    h("option", { value: "" }, "— not yet —"),
    list.map((a) => h("option", { value: a.name }, `${a.name} (${a.model})`)));
  setAgents(agents);
  const asked = fields.map((f) => {
    const look = LOOK[f.name];
    const el = input(f);
    const label = look?.label || f.spec.title || f.name;
    const shown = el.type === "checkbox" ? h("label", { class: "check" }, el, label)
      : field(label, el, look ? look.hint || "" : f.spec.description || "");
    const place = el.type === "checkbox" ? "flags" : el.tagName === "TEXTAREA" || f.required ? "wide" : "short";
    return { field: f, el, shown, place };
  });
  const at = (place) => asked.filter((a) => a.place === place).map((a) => a.shown);
  const form = h("form", { class: "card-form wide", id: "task-form" },
    h("h2", {}, "New task"),
    at("wide"),
    h("div", { class: "row" }, at("short")),
    at("flags"),
    h("div", { class: "row assign" },
      field("Assign to", agentSelect),
      h("label", { class: "check" },
        h("input", { type: "checkbox", name: "run", checked: true }), "run it now"),
    ),
    error,
    h("button", { type: "submit" }, "Create task"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const v = Object.fromEntries(new FormData(form));
    const body = Object.fromEntries(asked.map((a) => [a.field.name, valueOf(a.field, a.el)])
      .filter(([, value]) => value !== undefined));
    let task;
    try {
      task = await post("/api/tasks", body);
      if (v.agent) {
        await post(taskPath(task.id, "/assign"), { agent: v.agent });
        if (v.run === "on") await post(taskPath(task.id, "/run"));
      }
      location.hash = `#/task/${task.id}`;
    } catch (e) {
      error.textContent = task ? `task ${task.id} created, then: ${e.message}` : e.message;
      error.hidden = false;
    }
  });
  return { form, setAgents };
}

export async function forms(main) {
  const [agents, fields] = await Promise.all([get("/api/agents"), newTaskFields()]);
  const tasks = taskForm(agents, fields);
  const added = (agent) => { agents.push(agent); tasks.setAgents(agents); };
  put(main,
    h("div", { class: "page-head" }, h("h1", {}, "New")),
    h("div", { class: "forms" }, tasks.form, agentForm(added)),
  );
}
