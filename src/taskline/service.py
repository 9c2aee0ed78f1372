"""The library API: everything the CLI, the HTTP API and scripts do goes through here.

from taskline import Taskline

with Taskline.open() as tl:
    tl.add_agent("coder", model="openai:gpt-4o-mini")
    task = tl.create_task("Fix the flaky test", criteria=["the suite passes 20 times"])
    tl.assign(task.id, "coder")
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from taskline.config import (
    SANDBOX_FIELDS,
    Config,
    config_path,
    database_url,
    durable_enabled,
    load_config,
    private_paths,
    taskline_home,
)
from taskline.engine import apply
from taskline.engine.apply import Applied
from taskline.engine.blobs import BlobStore
from taskline.engine.copies import copy_path
from taskline.engine.events import UNOBSERVED
from taskline.errors import AmbiguousIdError, ConfigError, InvalidValueError, NotFoundError
from taskline.execution import Execution
from taskline.ids import IdKind, new_id, normalized_prefix
from taskline.lifecycle import Status, check_transition
from taskline.llm.pool import ModelFactory, ModelPool
from taskline.models import Agent, McpGrant, NewTask, Task, TaskEvent, Transition, validated
from taskline.observability import from_environment as observer_from_environment
from taskline.private import private_dir
from taskline.protocols import Observer, Store
from taskline.records import (
    Artifact,
    CostRecord,
    Review,
    Run,
    TaskDetail,
    TaskMetrics,
    ToolCallRecord,
    Turn,
    Worker,
)
from taskline.reports import TaskRow
from taskline.store import SqlStore
from taskline.tools.mcp import check_grants
from taskline.tools.registry import builtin_tools

if TYPE_CHECKING:  # imported when first used: DBOS is heavy to load
    from taskline.durable import Enqueuer


# Candidates an ambiguous id prefix names: enough to pick from, never a flood.
_SHOWN = 5


def default_actor() -> str:
    """`user:LOGIN` for the person running this process."""
    try:
        return f"user:{getpass.getuser()}"
    except OSError:  # no login name, e.g. a container with an unnamed uid
        return "user:unknown"


class Taskline(Execution):
    """Agents, tasks and their lifecycle, on one store.

    Every status change goes through the lifecycle table; an illegal one raises
    `IllegalTransitionError` and writes nothing.
    """

    def __init__(
        self,
        store: Store,
        config: Config | None = None,
        actor: str = "",
        *,
        home: Path | None = None,
        model_factory: ModelFactory | None = None,
        durable: bool = False,
        private: tuple[Path, ...] = (),
        observer: Observer | None = None,
    ) -> None:
        self.store = store
        self.config = config or Config()
        self.actor = actor or default_actor()
        self.home = home or taskline_home()
        # What commands and checks must not see besides the data directory (`home`, which
        # a caller may change): the database and the config file.
        self.private = private
        self.model_factory = model_factory
        # One client per model reference and event loop, shared by the runs on that loop.
        self.models = ModelPool()
        self._enqueuer: Enqueuer | None = None  # once a run was queued
        # Durable runs are DBOS workflows that survive a crash of this process.
        self.durable = durable
        # What runs report for traces and metrics; `open` builds it from the environment.
        self.observer: Observer = observer or UNOBSERVED

    @classmethod
    def open(
        cls,
        *,
        home: Path | None = None,
        url: str | None = None,
        config: Config | None = None,
        actor: str = "",
        env: Mapping[str, str] = os.environ,
        durable: bool | None = None,
    ) -> Taskline:
        """Open the store named by the arguments or the environment, migrating it if needed.

        Agents declared in the config are stored, so tasks can be assigned to them.
        """
        home = home or taskline_home(env)
        url = url or database_url(home, env)
        if url.startswith("sqlite:///"):
            private_dir(home)
        config_file = config_path(env)
        config = config if config is not None else load_config(config_file)
        if durable is None:
            durable = durable_enabled(env)
        private = private_paths(home, url, config_file)
        taskline = cls(
            SqlStore.open(url),
            config,
            actor,
            home=home,
            durable=durable,
            private=private,
            observer=observer_from_environment(env),
        )
        try:
            taskline.sync_config_agents()
        except BaseException:
            taskline.close()
            raise
        return taskline

    def close(self) -> None:
        """Release the store's connections (and the run queue's)."""
        self.observer.flush()  # spans of the last runs, before the process may end
        self._close_queue()
        self.store.close()

    def __enter__(self) -> Taskline:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- agents ---------------------------------------------------------------

    def add_agent(
        self,
        name: str,
        *,
        model: str | None = None,
        role: str = "",
        instructions: str = "",
        skills: Iterable[str] = (),
        tools: Iterable[str] | None = None,
        budget_usd: Decimal | str | None = None,
        budget_tokens: int | None = None,
        mcp: Iterable[str | McpGrant] = (),
    ) -> Agent:
        """Store a new agent; `AlreadyExistsError` if the name is taken.

        Without `model`, the agent uses `[defaults] model` (the local model unless set).
        `mcp` names the MCP servers (`[mcp.NAME]` in taskline.toml) whose tools it may
        call, each as `SERVER` or `SERVER:TOOL,TOOL` for only those tools.
        """
        agent = validated(
            Agent,
            "agent",
            name=name,
            model=self.config.defaults.model if model is None else model,
            role=role,
            instructions=instructions,
            skills=tuple(skills),
            tools=None if tools is None else tuple(tools),
            budget_usd=budget_usd,
            budget_tokens=budget_tokens,
            mcp=tuple(mcp),
        )
        self._check_tools(agent)
        return self.store.add_agent(agent)

    def _check_tools(self, agent: Agent) -> None:
        """An unknown tool or MCP server is refused when the agent is stored, not at run time."""
        builtin_tools(agent.tools)
        try:
            check_grants(agent.mcp, self.config.mcp)
        except ConfigError as exc:
            raise InvalidValueError(f"invalid agent {agent.name!r}: {exc}") from None

    def get_agent(self, name: str) -> Agent:
        """The agent called `name`; `NotFoundError` if there is none."""
        return self.store.get_agent(name)

    def list_agents(self) -> list[Agent]:
        """Every agent, by name."""
        return self.store.list_agents()

    def sync_config_agents(self) -> None:
        """Store the agents declared in the config where they differ from the stored ones."""
        if not self.config.agents:
            return
        stored = {agent.name: agent for agent in self.store.list_agents()}
        for name, declared in self.config.agents.items():
            fields = declared.model_dump(exclude=set(SANDBOX_FIELDS))
            fields["model"] = declared.model or self.config.defaults.model
            current = stored.get(name)
            if current is None or current.model_dump(exclude={"name", "created_at"}) != fields:
                agent = validated(Agent, f"agent {name!r}", name=name, **fields)
                self._check_tools(agent)
                self.store.save_agent(agent)

    # -- tasks ----------------------------------------------------------------

    def create_task(self, task: str | NewTask, /, *, reason: str = "", **fields: Any) -> Task:
        """Create a task in CREATED from a title and the other fields of `NewTask` as
        keywords (`criteria=["the suite passes"]`, `budget_usd="0.50"`, `copy=True` …),
        or from a `NewTask`. Limits not given come from the config defaults.

        Lists may be any iterable, `budget_usd` a `Decimal` or its text, `deadline` a
        datetime or ISO 8601 text, `workspace` a str or a `Path`. With `copy`, the agent
        works in a copy of `workspace` (an existing directory), made when the task first
        runs; `apply_copy` writes its work back.
        """
        new = task if isinstance(task, NewTask) else NewTask.unchecked(title=task, **fields)
        defaults = self.config.defaults
        values: dict[str, Any] = {
            "title": new.title,
            "description": new.description,
            "type": new.type,
            "priority": new.priority,
            "acceptance_criteria": tuple(new.criteria),
            "checks": tuple(new.checks),
            "expected_artifacts": tuple(new.expected_artifacts),
            "dependencies": tuple(new.depends_on),
            "budget_usd": defaults.budget_usd if new.budget_usd is None else new.budget_usd,
            "budget_tokens": (
                defaults.budget_tokens if new.budget_tokens is None else new.budget_tokens
            ),
            "max_turns": defaults.max_turns if new.max_turns is None else new.max_turns,
            "timeout_seconds": (
                defaults.timeout_seconds if new.timeout_seconds is None else new.timeout_seconds
            ),
            "check_timeout_seconds": (
                defaults.check_timeout_seconds
                if new.check_timeout_seconds is None
                else new.check_timeout_seconds
            ),
            "ignore": tuple(new.ignore),
            "deadline": new.deadline,
            "reviewers": tuple(new.reviewers),
            "human_review": new.human_review,
            "max_rework": new.max_rework,
            "workspace": None if new.workspace is None else str(new.workspace),
        }
        if new.copy_:
            values["id"] = task_id = new_id()
            values["copy_dir"] = str(copy_path(self.home, task_id, _copied(new.workspace)))
        created = validated(Task, "task", **values)
        for reviewer in created.reviewers:
            self.store.get_agent(reviewer)
        return self.store.create_task(created, actor=self.actor, reason=reason)

    def resolve_task_id(self, prefix: str) -> str:
        """The id of the one task whose id starts with `prefix` (in any case), as git
        takes a commit's hash; `AmbiguousIdError` names the candidates when several do,
        `NotFoundError` when none does."""
        return self._resolve("task", prefix)

    def resolve_run_id(self, prefix: str) -> str:
        """The id of the one run whose id starts with `prefix`; see `resolve_task_id`."""
        return self._resolve("run", prefix)

    def _resolve(self, kind: IdKind, text: str) -> str:
        prefix = normalized_prefix(text)
        found = [] if prefix is None else self.store.ids_starting(kind, prefix, limit=_SHOWN + 1)
        if not found:
            raise NotFoundError(kind, text)
        if len(found) > 1:
            raise AmbiguousIdError(kind, text, found[:_SHOWN], more=len(found) > _SHOWN)
        return found[0]

    def get_task(self, task_id: str) -> Task:
        """The task with that id; `NotFoundError` if there is none."""
        return self.store.get_task(task_id)

    def list_tasks(self, status: Status | str | None = None) -> list[Task]:
        """Tasks in creation order, optionally only those in one status."""
        return self.store.list_tasks(None if status is None else parse_status(status))

    def transitions(self, task_id: str) -> list[Transition]:
        """The task's status changes, oldest first, starting with its creation."""
        return self.store.transitions(task_id)

    def events(self, task_id: str) -> list[TaskEvent]:
        """The task's audited events that are not status changes (reassignments)."""
        return self.store.events(task_id)

    def cost_records(self, task_id: str | None = None) -> list[CostRecord]:
        """Every billed LLM call, oldest first; of one task when `task_id` is given."""
        if task_id is not None:
            self.store.get_task(task_id)  # NotFoundError for a mistyped id, not an empty list
        return self.store.cost_records(task_id)

    def runs(self, task_id: str) -> list[Run]:
        """The task's runs, first to last."""
        self.store.get_task(task_id)
        return self.store.list_runs(task_id)

    def get_run(self, run_id: str) -> Run:
        """One run; `NotFoundError` if there is none with that id."""
        return self.store.get_run(run_id)

    def turns(self, run_id: str) -> list[Turn]:
        """The run's turns, first to last."""
        return self.store.turns(run_id)

    def tool_calls(self, run_id: str) -> list[ToolCallRecord]:
        """The run's tool calls, by turn."""
        return self.store.tool_calls(run_id)

    def reviews(self, task_id: str) -> list[Review]:
        """The verdicts on the task's work, first to last."""
        return self.store.reviews(task_id)

    def artifacts(self, task_id: str) -> list[Artifact]:
        """Files the task's runs created, modified or deleted."""
        self.store.get_task(task_id)
        return self.store.artifacts(task_id)

    def extract_artifacts(self, task_id: str, directory: Path) -> list[Path]:
        """Write the final contents of the task's artifacts under `directory`; deleted ones are
        skipped. Returns the files written."""
        latest: dict[str, Artifact] = {}
        for artifact in self.artifacts(task_id):  # oldest run first: later runs win
            latest[artifact.path] = artifact
        blobs = BlobStore.in_home(self.home)
        root = directory.resolve()
        written = []
        for path, artifact in sorted(latest.items()):
            if artifact.change == "deleted":
                continue
            target = (root / path).resolve()
            if not target.is_relative_to(root):
                raise InvalidValueError(f"artifact path {path!r} leaves {directory}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(blobs.get(artifact.sha256))
            written.append(target)
        return written

    def apply_copy(self, task_id: str) -> Applied:
        """Write the work of a task that ran in a copy (`copy=True`) into its workspace, then
        remove the copy. `WorkspaceChangedError` names the files changed in the workspace
        since the copy was made, and nothing is written."""
        return apply.apply_copy(self.store, task_id, actor=self.actor)

    def discard_copy(self, task_id: str) -> Path:
        """Remove a task's copy without writing its work back; returns where it was."""
        return apply.discard_copy(self.store, task_id, actor=self.actor)

    def metrics(self, task_id: str) -> TaskMetrics | None:
        """The task's stored metrics; None until it first reached COMPLETED or FAILED."""
        self.store.get_task(task_id)
        return self.store.get_metrics(task_id)

    def detail(self, task_id: str) -> TaskDetail:
        """Runs with their turns and tool calls, artifacts, reviews and metrics of a task."""
        runs = self.runs(task_id)
        return TaskDetail(
            runs=runs,
            turns={run.id: self.store.turns(run.id) for run in runs},
            tool_calls={run.id: self.store.tool_calls(run.id) for run in runs},
            artifacts=self.store.artifacts(task_id),
            reviews=self.store.reviews(task_id),
            metrics=self.store.get_metrics(task_id),
        )

    def metrics_report(self) -> dict[str, Any]:
        """Turns, tokens, cost and duration per task: distributions overall, by agent and by
        model (of each task's last run), and the outliers; see `taskline.reports`."""
        return self.store.metrics_report()

    def metrics_rows(self) -> list[TaskRow]:
        """Every task with stored metrics, with the agent and model of its last run."""
        return [row for row, _finished_at in self.finished_rows()]

    def finished_rows(self) -> list[tuple[TaskRow, datetime]]:
        """`metrics_rows`, each with when the task's metrics were stored (it reached
        COMPLETED or FAILED); read in one query."""
        rows, _total = self.finished_page(limit=None)
        return rows

    def finished_page(
        self,
        *,
        limit: int | None,
        offset: int = 0,
        after: str | None = None,
        newest_first: bool = False,
    ) -> tuple[list[tuple[TaskRow, datetime]], int]:
        """At most `limit` of `finished_rows` (None: all) by task id, or newest first,
        starting past the task id `after` and skipping `offset` more; and how many tasks
        have metrics in all."""
        return self.store.page_metrics(
            limit=limit, offset=offset, after=after, newest_first=newest_first
        )

    def tasks_page(
        self,
        *,
        limit: int,
        offset: int = 0,
        after: str | None = None,
        newest_first: bool = False,
        status: Status | str | None = None,
        assignee: str | None = None,
    ) -> tuple[list[Task], int]:
        """At most `limit` tasks, oldest first (or newest first), and how many match in all.

        `after` is a task id to start past (ids sort in creation order): a cursor
        that stays put while tasks are added; `offset` skips that many more.
        """
        return self.store.page_tasks(
            limit=limit,
            offset=offset,
            after=after,
            newest_first=newest_first,
            status=None if status is None else parse_status(status),
            assignee=assignee,
        )

    # -- Prometheus -----------------------------------------------------------

    def prometheus_text(self, *, processes_dir: Path | None = None) -> tuple[bytes, str]:
        """What `/metrics` answers, in Prometheus's text format, and its content type: the
        counts of this process (`taskline.observability.metrics`), or with `processes_dir`
        those of the worker processes that write there, and the tasks, run queue and
        workers of the database, read now (`taskline.observability.scrape`)."""
        from taskline.observability.metrics import process_metrics
        from taskline.observability.scrape import exposition

        if processes_dir is not None:
            return exposition(self, processes_dir=processes_dir)
        return exposition(self, process_metrics())

    def count_tasks(self) -> dict[Status, int]:
        """How many tasks are in each status: every status, 0 when no task is in it."""
        return self.store.count_tasks()

    def workers(self) -> list[Worker]:
        """Every `taskline worker` that ever beat, by id, with its last heartbeat."""
        return self.store.workers()

    # -- moves ----------------------------------------------------------------

    def move(
        self,
        task_id: str,
        target: Status | str,
        *,
        reason: str = "",
        assignee: str | None = None,
    ) -> Task:
        """Move a task along the lifecycle table: the operator's raw move.

        A move to ASSIGNED keeps the current assignee unless `assignee` names
        another; moving to IN_PROGRESS requires every dependency to be COMPLETED.
        """
        return self._move(task_id, parse_status(target), reason=reason, assignee=assignee)

    def assign(self, task_id: str, agent: str, *, reason: str = "") -> Task:
        """Assign a task to an agent.

        A CREATED, BLOCKED or FAILED task moves to ASSIGNED; an ASSIGNED one is
        handed to the other agent as an audited event, with no status change.
        """
        task = self.store.get_task(task_id)
        if task.status is Status.ASSIGNED:
            return self.store.reassign(task_id, agent, actor=self.actor, reason=reason)
        return self._move(task_id, Status.ASSIGNED, reason=reason, assignee=agent, seen=task)

    def block(self, task_id: str, *, reason: str = "") -> Task:
        """Put a task on hold (to BLOCKED)."""
        return self._move(task_id, Status.BLOCKED, reason=reason)

    def unblock(self, task_id: str, *, reason: str = "") -> Task:
        """Take a BLOCKED task off hold, back to ASSIGNED with its assignee."""
        task = self.store.get_task(task_id)
        if task.status is not Status.BLOCKED:
            # The table would allow CREATED/FAILED -> ASSIGNED, but that is not unblocking.
            raise InvalidValueError(f"task {task.id} is {task.status}, not BLOCKED")
        return self._move(task_id, Status.ASSIGNED, reason=reason, seen=task)

    def cancel(self, task_id: str, *, reason: str = "") -> Task:
        """Cancel a task for good (to CANCELLED)."""
        return self._move(task_id, Status.CANCELLED, reason=reason)

    def _move(
        self,
        task_id: str,
        target: Status,
        *,
        reason: str,
        assignee: str | None = None,
        seen: Task | None = None,
    ) -> Task:
        # Read, check, then write conditionally on what was read: a writer that
        # moved the task in between makes this a ConflictError, not an overwrite.
        task = seen or self.store.get_task(task_id)
        check_transition(task.id, task.status, target)
        moved = self.store.move(
            task.id,
            target,
            actor=self.actor,
            reason=reason,
            expected=task.status,
            assignee=assignee,
        )
        self.observer.moved(moved, task.status, actor=self.actor, reason=reason)
        return moved


def _copied(workspace: str | Path | None) -> Path:
    """The directory a task made with `copy=True` copies; `InvalidValueError` unless it is one."""
    if workspace is None:
        raise InvalidValueError(
            "invalid task: a copy needs a workspace to copy: give its directory (--workspace DIR)"
        )
    directory = Path(workspace)
    if not directory.exists():
        raise InvalidValueError(
            f"invalid task: workspace {directory} does not exist: there is nothing to copy"
        )
    if not directory.is_dir():
        raise InvalidValueError(f"invalid task: workspace {directory} is not a directory")
    return directory


def parse_status(value: Status | str) -> Status:
    """A `Status` from its name in any case; `InvalidValueError` naming the valid ones."""
    if isinstance(value, Status):
        return value
    try:
        return Status(value.strip().upper())
    except ValueError:
        names = ", ".join(s.value for s in Status)
        raise InvalidValueError(f"unknown status {value!r}; expected one of {names}") from None
