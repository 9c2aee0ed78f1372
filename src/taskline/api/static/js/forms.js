// Forms: add an agent; create a task, and assign and run it in one go.

import { get, post, taskPath } from "./api.js";
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

function taskForm(agents) {
  const error = h("p", { class: "form-error", hidden: true });
  const agentSelect = h("select", { name: "agent" }, h("option", { value: "" }, "— not yet —"));
  const setAgents = (list) => put(agentSelect,
    h("option", { value: "" }, "— not yet —"),
    list.map((a) => h("option", { value: a.name }, `${a.name} (${a.model})`)));
  setAgents(agents);
  const form = h("form", { class: "card-form wide", id: "task-form" },
    h("h2", {}, "New task"),
    field("Title", text("title", { required: true, maxlength: 200 })),
    field("Description", area("description", "The full context the agent needs", 4)),
    field("Acceptance criteria", area("criteria", "one per line")),
    field("Checks", area("checks", "shell commands that must exit 0, one per line", 2)),
    field("Expected artifacts", area("expected", "one per line", 2)),
    h("div", { class: "row" },
      field("Type", text("type", { value: "general" })),
      field("Priority", h("select", { name: "priority" },
        ["low", "normal", "high", "urgent"].map((p) =>
          h("option", { value: p, selected: p === "normal" }, p)))),
      field("Budget (USD)", text("budget_usd", { inputmode: "decimal" })),
      field("Max turns", h("input", { name: "max_turns", type: "number", min: 1 })),
      field("Timeout (s)", h("input", { name: "timeout_seconds", type: "number", min: 1 })),
    ),
    h("div", { class: "row" },
      field("Reviewer agents", text("reviewers"), "comma-separated"),
      field("Workspace", text("workspace"), "directory; empty means one under TASKLINE_HOME"),
      field("Max rework", h("input", { name: "max_rework", type: "number", min: 0, value: 2 })),
    ),
    h("label", { class: "check" },
      h("input", { type: "checkbox", name: "human_review" }), "a person approves the work"),
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
    let task;
    try {
      task = await post("/api/tasks", {
        title: v.title, description: v.description, criteria: lines(v.criteria),
        checks: lines(v.checks), expected_artifacts: lines(v.expected), type: v.type.trim(),
        priority: v.priority, budget_usd: optional(v.budget_usd),
        max_turns: optional(v.max_turns, Number), timeout_seconds: optional(v.timeout_seconds, Number),
        reviewers: csv(v.reviewers), workspace: optional(v.workspace),
        max_rework: Number(v.max_rework || 2), human_review: v.human_review === "on",
      });
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
  const agents = await get("/api/agents");
  const tasks = taskForm(agents);
  const added = (agent) => { agents.push(agent); tasks.setAgents(agents); };
  put(main,
    h("div", { class: "page-head" }, h("h1", {}, "New")),
    h("div", { class: "forms" }, tasks.form, agentForm(added)),
  );
}
