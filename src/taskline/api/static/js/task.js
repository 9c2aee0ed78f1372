// The task page: what the task is, where it is, what its runs did; actions and live updates.

import { get, lifecycle, post, stream, taskPath } from "./api.js";
import { h, pill, put, toast, usd, when } from "./dom.js";
import { figure } from "./charts.js";
import {
  artifactsView, costChart, reviewsView, runsView, tiles, timeline,
} from "./taskparts.js";

function section(title, ...content) {
  return h("section", { class: "panel" }, h("h2", {}, title), ...content);
}

function describe(event) {
  const doing = { model_call: "calling the model", tool_call: `running ${event.detail}`,
    turn_finished: "turn done", review: `review by ${event.detail}` }[event.kind] || event.detail || event.kind;
  return `run ${event.run_number} · turn ${event.turn} · ${doing} · ${event.tokens.toLocaleString()}`
    + ` tokens · ${usd(event.cost_usd)} · ${event.elapsed_seconds.toFixed(1)} s`;
}

export async function task(main, id) {
  const [agents, { moves, ended }] = await Promise.all([get("/api/agents"), lifecycle()]);
  const head = h("div", { class: "task-head" });
  const actions = h("div", { class: "actions" });
  const live = h("div", { class: "live", hidden: true });
  const outcome = h("div");
  const feedback = h("textarea", { rows: 3, placeholder: "Feedback: why, sent to the agent on a rejection" });
  const review = section("Review",
    h("p", { class: "muted" }, "The work waits for a person's verdict."),
    feedback,
    h("div", { class: "buttons" },
      h("button", { class: "approve", onclick: () => act("/review/approve", { feedback: feedback.value }) }, "Approve"),
      h("button", { class: "reject", onclick: () => act("/review/reject", { feedback: feedback.value }) }, "Reject")));
  review.id = "review";
  const tilesBox = h("div");
  const costBox = h("div");
  const runsBox = h("div");
  const pane = h("div", { class: "preview" });
  const artifactsBox = h("div");
  const reviewsBox = h("div");
  const timelineBox = h("div");
  const about = h("div");
  put(main,
    head, actions, live, outcome, review,
    h("div", { class: "task-grid" },
      h("div", {},
        section("Metrics", tilesBox),
        section("Cost per turn", costBox),
        section("Runs, turns and tool calls", runsBox),
        section("Artifacts", artifactsBox, pane),
      ),
      h("div", {},
        section("Timeline", timelineBox, reviewsBox),
        section("Task", about),
      )),
  );

  let source = null;
  let reloading = null;
  let current = null;

  async function act(path, body = {}) {
    try {
      const moved = await post(taskPath(id, path), body);
      toast(`${moved.title}: ${moved.status.replace("_", " ")}`);
      if (path.startsWith("/review")) feedback.value = "";
      await load();
      follow();
    } catch (e) {
      toast(e.message, "error");
    }
  }

  function actionBar(t) {
    const pick = h("select", { "aria-label": "agent" }, agents.map((a) =>
      h("option", { value: a.name, selected: a.name === t.assignee }, a.name)));
    const allowed = moves[t.status];
    const can = {
      // to ASSIGNED, or to another agent while ASSIGNED; a BLOCKED task's way there is Unblock
      assign: (allowed.includes("ASSIGNED") || t.status === "ASSIGNED") && t.status !== "BLOCKED"
        && agents.length,
      run: t.status === "ASSIGNED" || t.status === "FAILED",  // a run, or a retry
      block: allowed.includes("BLOCKED"),
      unblock: t.status === "BLOCKED" && allowed.includes("ASSIGNED"),
      cancel: allowed.includes("CANCELLED"),
    };
    return [
      can.assign ? h("span", { class: "assign" }, pick,
        h("button", { onclick: () => act("/assign", { agent: pick.value }) }, "Assign")) : null,
      can.run ? h("button", { class: "primary", onclick: () => act("/run") },
        t.status === "FAILED" ? "Retry" : "Run") : null,
      can.block ? h("button", { onclick: () => act("/block") }, "Block") : null,
      can.unblock ? h("button", { onclick: () => act("/unblock") }, "Unblock") : null,
      can.cancel ? h("button", { class: "danger", onclick: () => act("/cancel") }, "Cancel") : null,
    ];
  }

  function render(t, costs, artifacts) {
    current = t;
    put(head,
      h("a", { href: "#/", class: "muted" }, "← board"),
      h("h1", {}, t.title, " ", h("span", { id: "status" }, pill(t.status))),
      h("div", { class: "muted" }, `${t.id} · ${t.assignee ? "@" + t.assignee : "unassigned"} · `
        + `${t.priority} · ${t.type} · created ${when(t.created_at)}`));
    put(actions, actionBar(t));
    put(outcome,
      t.summary ? h("div", { class: "callout summary", id: "summary" }, h("strong", {}, "Summary "), t.summary) : "",
      t.failure ? h("div", { class: "callout failed", id: "failure" },
        h("strong", {}, `Failed: ${t.failure.category || "stopped"} `), t.failure.message || "") : "");
    review.hidden = t.status !== "IN_REVIEW" || !t.human_review;
    if (!source && review.hidden) live.hidden = true;
    put(tilesBox, tiles(t.metrics));
    put(costBox, costs.records.length ? figure(
      `${costs.totals.calls} calls · ${usd(costs.totals.cost_usd)}`, costChart(costs.records, t.runs))
      : h("p", { class: "muted" }, "No billed calls yet."));
    put(runsBox, runsView(t.runs, costs.records));
    put(artifactsBox, artifactsView(id, artifacts, t.runs, pane));
    put(timelineBox, timeline(t.transitions));
    put(reviewsBox, reviewsView(t.reviews) || "");
    put(about,
      t.description ? h("p", { class: "description" }, t.description) : null,
      list("Acceptance criteria", t.acceptance_criteria), list("Checks", t.checks, true),
      list("Expected artifacts", t.expected_artifacts),
      h("dl", {}, [["budget", t.budget_usd === null ? "none" : usd(t.budget_usd)],
        ["limits", `${t.max_turns} turns, ${t.timeout_seconds} s`], ["deadline", when(t.deadline)],
        ["reviewers", t.reviewers.join(", ") || "–"], ["human review", t.human_review ? "yes" : "no"],
        ["workspace", t.workspace || "(default)"], ["depends on", t.dependencies.join(", ") || "–"],
      ].map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])));
  }

  async function load() {
    const [t, costs, artifacts] = await Promise.all([
      get(taskPath(id)), get(`/api/costs?task=${encodeURIComponent(id)}`), get(taskPath(id, "/artifacts")),
    ]);
    render(t, costs, artifacts);
  }

  function reloadSoon() {
    clearTimeout(reloading);
    reloading = setTimeout(() => load().catch((e) => toast(e.message, "error")), 200);
  }

  function follow() {
    if (source || ended.includes(current.status)) return;
    source = stream(id);
    live.hidden = false;
    live.textContent = "live: following the task";
    for (const kind of ["transition", "run", "turn", "cost", "review"]) source.addEventListener(kind, reloadSoon);
    source.addEventListener("progress", (e) => { live.textContent = describe(JSON.parse(e.data)); });
    source.addEventListener("end", (e) => {
      const end = JSON.parse(e.data);
      stop();
      live.hidden = false;
      live.textContent = end.reason === "waiting_for_review" ? "waiting for your review"
        : end.reason === "finished" ? `ended ${end.status.replace("_", " ")}` : "stream closed";
      reloadSoon();
    });
  }

  function stop() {
    if (source) source.close();
    source = null;
  }

  await load();
  follow();
  return () => { stop(); clearTimeout(reloading); };
}

function list(title, items, code = false) {
  if (!items.length) return null;
  return [h("h3", {}, title), h("ul", {}, items.map((i) => h("li", {}, code ? h("code", {}, i) : i)))];
}
