"""How the CLI shows records to people: Rich tables and lines (`--json` prints
`taskline.views`, as the API answers).

Whatever a person or a model wrote (titles, descriptions, criteria, summaries,
failure messages, tool arguments, review feedback, names) is text, never Rich
markup: it goes into tables as `Text` (`_text`) and into our own markup escaped
(`_markup`), with control characters made visible (`shown`). `--json` keeps
every string exactly.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from taskline.costs import CostTotals
from taskline.ids import short_ids
from taskline.lifecycle import Status
from taskline.models import Agent, McpGrant, Task, TaskEvent, Transition
from taskline.records import Artifact, CostRecord, Review, TaskDetail, TaskMetrics

if TYPE_CHECKING:
    from taskline.tools.mcp import ServerReport

# The first line of a failure's reason, on the one line a FAILED run prints.
FAILURE_LINE_CHARS = 300

STATUS_STYLE = {
    Status.CREATED: "white",
    Status.ASSIGNED: "cyan",
    Status.IN_PROGRESS: "blue",
    Status.IN_REVIEW: "magenta",
    Status.COMPLETED: "green",
    Status.BLOCKED: "yellow",
    Status.CANCELLED: "dim",
    Status.FAILED: "red",
}


# C0 and C1 controls but newline and tab (ANSI escapes, NUL, carriage return, DEL),
# and the marks that reorder text on screen (bidi overrides and isolates).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def shown(text: str) -> str:
    """`text` safe for a terminal: control characters written as escapes (`\\x1b`,
    `\\x00`, `\\u202e`) instead of acting on the screen; all else as it is."""
    return _CONTROL.sub(_escaped, text)


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _text(text: str) -> Text:
    """Someone's text as a table cell: shown as it is, no markup read."""
    return Text(shown(text))


def _markup(text: str) -> str:
    """Someone's text inside our own markup, in the middle of a line: escaped, so its
    brackets stay brackets. At the end of a line use `_line` (an escaped trailing
    backslash would show doubled)."""
    return escape(shown(text))


def _line(*parts: str | tuple[str, str]) -> Text:
    """A line of plain parts (someone's text, shown as it is) and (text, style) parts."""
    return Text.assemble(*((p[0], p[1]) if isinstance(p, tuple) else shown(p) for p in parts))


def _console() -> Console:
    # Created per call so output follows whatever sys.stdout is at the time.
    return Console(highlight=False, soft_wrap=True)


def _status(status: Status | None) -> str:
    if status is None:
        return "-"
    return f"[{STATUS_STYLE[status]}]{status.value}[/]"


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%SZ")


def moved(task: Task) -> None:
    """One line after a move: the task, its new status and its assignee."""
    assignee = f" ({_markup(task.assignee)})" if task.assignee else ""
    _console().print(f"{task.id} {_status(task.status)}{assignee}")


def agents_table(agents: Sequence[Agent]) -> None:
    """Agents as a table."""
    table = Table("name", "model", "role", "tools", "mcp", "budget/task")
    for agent in agents:
        table.add_row(
            _text(agent.name),
            _text(agent.model),
            _text(agent.role or "-"),
            _text("all" if agent.tools is None else ", ".join(agent.tools) or "none"),
            _text(", ".join(_grant(g) for g in agent.mcp) or "-"),
            _budget(agent.budget_usd, agent.budget_tokens),
        )
    _console().print(table if agents else "no agents yet: add one with `taskline agent add`")


def _grant(grant: McpGrant) -> str:
    return grant.server if grant.tools is None else f"{grant.server}:{','.join(grant.tools)}"


def _budget(usd: Decimal | None, tokens: int | None) -> str:
    parts = [] if usd is None else [f"${usd}"]
    if tokens is not None:
        parts.append(f"{tokens} tokens")
    return ", ".join(parts) or "-"


def _ids(ids: Sequence[str], full: bool) -> dict[str, str]:
    """How a table shows each id: a prefix unique among them, or (`full`) the whole id."""
    return {i: i for i in ids} if full else short_ids(ids)


def _one_line(table: Table, name: str) -> None:
    """A column of free text that gives up its width first when the terminal is narrow;
    its cells are `_cut` so that each stays on one line."""
    table.add_column(name, overflow="ellipsis")


def _cut(text: str) -> Text:
    """Someone's text as a cell on one line, cut with `…` where the column ends."""
    cell = _text(text.replace("\n", " "))
    # the cell's own no_wrap wins over its column, which must stay wrappable to shrink
    cell.no_wrap = True
    cell.overflow = "ellipsis"
    return cell


def tasks_table(tasks: Sequence[Task], *, full_ids: bool = False) -> None:
    """Tasks as a table, ids shortened to a unique prefix unless `full_ids`."""
    # Ids are copied into other commands: never cut or wrap them.
    table = Table()
    table.add_column("id", no_wrap=True)
    for name in ("status", "priority", "assignee"):
        table.add_column(name, no_wrap=True)
    _one_line(table, "title")
    shown_ids = _ids([task.id for task in tasks], full_ids)
    for task in tasks:
        table.add_row(
            shown_ids[task.id],
            _status(task.status),
            task.priority,
            _text(task.assignee or "-"),
            _cut(task.title),
        )
    _console().print(table if tasks else "no tasks")


def task_detail(
    task: Task,
    trail: Sequence[Transition],
    events: Sequence[TaskEvent],
    detail: TaskDetail | None = None,
) -> None:
    """A task's fields, its transition log, then what its runs left."""
    console = _console()
    console.print(
        _line((shown(task.title), "bold"), "  ", (task.status.value, STATUS_STYLE[task.status]))
    )
    fields = {
        "id": task.id,
        "assignee": task.assignee or "-",
        "type / priority": f"{task.type} / {task.priority}",
        "budget": _budget(task.budget_usd, task.budget_tokens),
        "limits": f"{task.max_turns} turns, {task.timeout_seconds:g} s",
        "deadline": _when(task.deadline),
        "depends on": ", ".join(task.dependencies) or "-",
        "workspace": task.workspace or "(default)",
    }
    if task.copy_dir:
        fields["works in a copy"] = task.copy_dir
    for name, value in fields.items():
        console.print(_line((f"  {name:>16}", "dim"), "  ", value))
    if task.description:
        console.print()
        console.print(_text(task.description))
    for heading, items in (
        ("Acceptance criteria", task.acceptance_criteria),
        ("Checks", task.checks),
        ("Expected artifacts", task.expected_artifacts),
    ):
        if items:
            console.print(f"\n[bold]{heading}[/]")
            for item in items:
                console.print(_line("  - ", item))
    console.print()
    console.print(transitions_table(trail))
    for event in events:
        console.print(_line(f"  {_when(event.at)}  {event.kind} by {event.actor}: {event.detail}"))
    if detail is not None:
        _run_detail(console, task, detail)


def _run_detail(console: Console, task: Task, detail: TaskDetail) -> None:
    if task.summary:
        console.print()
        console.print(_line(("Summary", "bold"), " ", task.summary))
    if task.failure_category or task.failure_message:
        # in full: the one line a FAILED run printed points here for the rest
        failure = f"{task.failure_category}: {task.failure_message}"
        console.print()
        console.print(_line(("Failure", "red"), " ", failure))
    for run in detail.runs:
        console.print(
            f"\n[bold]Run {run.number}[/] ({run.trigger}, {_markup(run.agent)}"
            f" on {_markup(run.model)}): {run.status}"
            + (
                " [red]· unsandboxed: commands ran without a sandbox[/]"
                if run.sandbox == "none"
                else ""
            )
        )
        for call in detail.tool_calls.get(run.id, []):
            mark = ("x", "red") if call.is_error else ("✓", "green")
            args = ", ".join(f"{k}={str(v)[:40]!r}" for k, v in call.arguments.items())
            console.print(_line(f"  turn {call.turn}  ", mark, f" {call.name}({args})"))
    for review in detail.reviews:
        _review(console, review)
    if detail.artifacts:
        console.print()
        artifacts_table(detail.artifacts)
    if detail.metrics is not None:
        console.print(f"\n[bold]Metrics[/] {metrics_line(detail.metrics)}")


def _review(console: Console, review: Review) -> None:
    """A verdict, then each check with its command, exit code, time and kept output."""
    verdict = ("approved", "green") if review.approved else ("rejected", "red")
    took = "" if review.duration_seconds is None else f" in {review.duration_seconds:g}s"
    checks = review.details.get("checks") if review.reviewer == "checks" else None
    if not isinstance(checks, list):
        first = review.feedback.split("\n")[0]
        console.print(_line(f"review by {review.reviewer}{took}: ", verdict, " ", first))
        return
    console.print(_line(f"review by checks{took}: ", verdict))
    for check in checks:
        mark = ("✓", "green") if check.get("passed") else ("x", "red")
        ending = check.get("ending") or f"exit code {check.get('exit_code')}"
        seconds = check.get("duration_seconds")
        took = "" if seconds is None else f", {seconds:g}s"
        console.print(_line("  ", mark, f" $ {check.get('command', '')}  ({ending}{took})"))
        output = str(check.get("output") or "").rstrip()
        for line in output.splitlines():
            console.print(_line(("    │ ", "dim"), line))


def transitions_table(trail: Sequence[Transition]) -> Table:
    """The transition log as a table."""
    table = Table("#", title="Transitions")
    for column in ("at", "from", "to", "actor"):
        table.add_column(column, no_wrap=True)
    _one_line(table, "reason")
    for t in trail:
        table.add_row(
            str(t.seq),
            _when(t.at),
            _status(t.from_status),
            _status(t.to_status),
            _text(t.actor),
            _cut(t.reason),
        )
    return table


def usd(amount: Decimal | None) -> str:
    """Dollars for people: enough digits for sub-cent calls; `unknown` for no price."""
    if amount is None:
        return "unknown"
    return f"${amount:.6f}" if amount < 1 else f"${amount:,.2f}"


def costs_table(
    records: Sequence[CostRecord], totals: CostTotals, *, full_ids: bool = False
) -> None:
    """Cost records as a table, then their totals; task ids shortened unless `full_ids`."""
    console = _console()
    if not records:
        console.print("no billed calls yet")
        return
    table = Table("at", "task", "turn", "agent", "model", "in", "out", "cached", "cost", "source")
    table.columns[1].no_wrap = True
    shown_ids = _ids([r.task_id for r in records], full_ids)
    for r in records:
        table.add_row(
            _when(r.created_at),
            shown_ids[r.task_id],
            f"{r.turn}" if r.purpose == "agent" else f"review {r.turn}",
            _text(r.agent),
            _text(f"{r.provider}:{r.model}"),
            f"{r.input_tokens:,}",
            f"{r.output_tokens:,}",
            f"{r.cache_read_tokens:,}",
            usd(r.cost_usd),
            # a call in flight, or one a crash lost (its figures estimated, or unknown)
            _text(r.price_source if r.state == "answered" else f"{r.state}: {r.price_source}"),
        )
    console.print(table)
    line = (
        f"{totals.calls} calls, {totals.input_tokens:,} input + {totals.output_tokens:,} output"
        f" tokens, total {usd(totals.cost_usd)}"
    )
    if totals.unpriced_calls:
        line += f" ({totals.unpriced_calls} unpriced; priced calls {usd(totals.priced_cost_usd)})"
    if totals.lost_calls:
        line += f", {_lost(totals.lost_calls)}"
    console.print(line)


def _lost(calls: int) -> str:
    plural = "s" if calls > 1 else ""
    return f"{calls} call{plural} lost in a crash and sent again (counted at an estimate)"


def run_result(task: Task, metrics: TaskMetrics | None, *, err: bool = False) -> None:
    """How a run ended: status, summary or failure, and the task's overhead."""
    console = Console(highlight=False, soft_wrap=True, stderr=err)
    console.print(f"{task.id} {_status(task.status)}")
    if task.status is Status.IN_REVIEW:
        console.print(
            f"waiting for review: taskline review approve|reject {task.id} [--feedback TEXT]"
        )
    if task.summary:
        console.print(_line(("summary", "bold"), " ", task.summary))
    if metrics is not None:
        console.print(metrics_line(metrics))
    if task.copy_dir and task.status is Status.COMPLETED:
        console.print(
            _line(
                f"the work is in a copy: taskline artifacts {task.id} --apply writes it to"
                f" {task.workspace} (--discard drops it)"
            )
        )


def failure_line(task: Task) -> str:
    """A FAILED task in one line: `error: task ID FAILED (category): first line of the reason;
    see taskline task show ID`."""
    # split on newlines only: a carriage return is shown as `\x0d`, not taken for a line end
    lines = (task.failure_message or "").strip().split("\n")
    first = lines[0] or "no reason given"
    more = len(lines) > 1 or len(first) > FAILURE_LINE_CHARS
    if len(first) > FAILURE_LINE_CHARS:
        first = first[: FAILURE_LINE_CHARS - 1] + "…"
    where = f"taskline task show {task.id}"
    pointer = f" (the rest: {where})" if more else f" (details: {where})"
    return f"error: task {task.id} FAILED ({task.failure_category}): {shown(first)}{pointer}"


def metrics_line(m: TaskMetrics) -> str:
    """A task's overhead in one line."""
    cost = usd(m.cost_per_task)
    if m.unpriced_calls:
        cost += f" ({m.unpriced_calls} unpriced calls)"
    if m.lost_calls:
        cost += f" ({_lost(m.lost_calls)})"
    return (
        f"{m.turns_per_task} turns, {m.tokens_per_task:,} tokens ({m.input_tokens:,} in,"
        f" {m.output_tokens:,} out), {cost}, {m.duration_seconds:.1f}s"
        f" (agent {m.agent_seconds:.1f}s, review {m.review_seconds:.1f}s),"
        f" {m.tool_calls} tool calls, {m.runs} runs"
    )


def metrics_detail(m: TaskMetrics) -> None:
    """One task's metrics."""
    _console().print(metrics_line(m))


def artifacts_table(artifacts: Sequence[Artifact], *, full_ids: bool = False) -> None:
    """Artifacts as a table; run ids shortened unless `full_ids`."""
    if not artifacts:
        _console().print("no artifacts")
        return
    table = Table("run", "change", "path", "size", "sha256")
    table.columns[0].no_wrap = True
    shown_ids = _ids([a.run_id for a in artifacts], full_ids)
    for a in artifacts:
        table.add_row(shown_ids[a.run_id], a.change, _text(a.path), f"{a.size:,}", a.sha256[:12])
    _console().print(table)


def metrics_report(report: dict[str, Any]) -> None:
    """Distributions by agent and by model, then the outliers."""
    console = _console()
    if not report["tasks"]:
        console.print("no finished tasks yet")
        return
    for heading, groups in (("agent", report["by_agent"]), ("model", report["by_model"])):
        table = Table(
            heading, "tasks", "measure", "mean", "p50", "p90", "max", title=f"By {heading}"
        )
        for name, group in groups.items():
            for measure in ("turns_per_task", "tokens_per_task", "cost_per_task"):
                d = group[measure]
                table.add_row(
                    _text(name), str(group["tasks"]), measure,
                    *(_number(d[k]) for k in ("mean", "p50", "p90", "max")),
                )  # fmt: skip
        console.print(table)
    for flag in report["outliers"]:
        console.print(
            f"[yellow]![/] {flag['task_id']}: {flag['measure']} {_number(flag['value'])}"
            f" is {flag['times_median']}x the median ({_number(flag['median'])})"
        )


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.6f}".rstrip("0").rstrip(".") if value % 1 else f"{value:,.0f}"


def mcp_servers(reports: Sequence[ServerReport]) -> None:
    """Each MCP server: how it is reached, whether it started (or why not), and its tools."""
    console = _console()
    if not reports:
        console.print(_line("no MCP servers: declare them in [mcp.NAME] tables of taskline.toml"))
    for report in reports:
        extra = f"  (headers: {', '.join(report.headers)})" if report.headers else ""
        console.print(_line((report.name, "bold"), f"  {report.transport}  {report.target}{extra}"))
        if report.error is not None:
            console.print(_line("  ", ("error", "red"), f": {report.error}"))
            continue
        plural = "" if len(report.tools) == 1 else "s"
        console.print(_line("  ", ("started", "green"), f": {len(report.tools)} tool{plural}"))
        table = Table("name for the model", "server's name", "description", box=None)
        for tool in report.tools:
            first = tool.description.strip().split("\n")[0]
            table.add_row(_text(tool.name), _text(tool.tool), _cut(first))
        if report.tools:
            console.print(table)
