"""Executing a task end to end: run, review, rework, and the final status.

ASSIGNED (or FAILED, retried) -> IN_PROGRESS, and the workspace's snapshot
  run the agent loop in the workspace
  submitted? -> IN_REVIEW with the artifacts (the diff from the snapshot):
                checks, reviewer agent, then maybe a person
    approved -> COMPLETED
    rejected -> IN_PROGRESS as a new run with the feedback, up to max_rework
                times, then FAILED (review_rejected)
  stopped?   -> FAILED with its category and artifacts
metrics stored with the move to COMPLETED or FAILED, in its transaction

Each arrow is one step (see `taskline.durable`): a move and what goes with it, in
one transaction. A plain task takes two checkpoints, its start and its submission;
checks and reviewer verdicts take their own, and the move that ends the workflow
none (`_final_move`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from taskline.engine.admission import RUNNABLE, Admission, not_runnable
from taskline.engine.artifacts import ArtifactChange, Snapshot, diff, snapshot, text_diff
from taskline.engine.blobs import BlobStore
from taskline.engine.copies import WorkspaceCopy
from taskline.engine.events import UNOBSERVED, OnEvent, ignore
from taskline.engine.loop import AgentLoop, Limits, Outcome
from taskline.engine.review import AgentReviewer, Verdict, review_prompt, run_checks
from taskline.engine.steps import InlineSteps
from taskline.errors import (
    CopyError,
    NotFoundError,
    ProviderError,
    StoreError,
    TasklineError,
)
from taskline.lifecycle import Status
from taskline.llm.pool import ModelFactory, ModelPool
from taskline.llm.registry import EndpointConfig, resolve_model
from taskline.models import Agent, Task, utcnow
from taskline.private import private_dir
from taskline.protocols import Observer, Steps, Store, Tool
from taskline.records import Artifact, Review, Run, RunStatus, RunTrigger, TraceContext
from taskline.tools import ToolContext, Workspace
from taskline.tools.base import ToolCallLimits
from taskline.tools.mcp import McpServerConfig
from taskline.tools.registry import builtin_tools
from taskline.tools.sandbox import SandboxPolicy

RUN_STARTED = "run started "
AUTO = "auto"
"""The reviewer of a task that has no checks, reviewer agent or human review."""
SYSTEM = "system"
DIFF_CHARS_FOR_REVIEW = 4000


class Executor(Admission):
    """Runs tasks with their agents and reviews their work."""

    def __init__(
        self,
        store: Store,
        home: Path,
        *,
        endpoints: Mapping[str, EndpointConfig] | None = None,
        sandbox: SandboxPolicy | None = None,
        model_factory: ModelFactory | None = None,
        on_event: OnEvent = ignore,
        actor: str = SYSTEM,
        steps: Steps | None = None,
        models: ModelPool | None = None,
        tool_calls: ToolCallLimits | None = None,
        tool_factory: Callable[[Sequence[str] | None], list[Tool]] = builtin_tools,
        mcp_servers: Mapping[str, McpServerConfig] | None = None,
        observer: Observer = UNOBSERVED,
    ) -> None:
        self.store = store
        self.home = home
        self.blobs = BlobStore.in_home(home)
        self.endpoints = dict(endpoints or {})
        # Where each agent's commands and its tasks' checks run; taskline's home is hidden.
        self.sandbox = sandbox or SandboxPolicy(private_paths=(home.absolute(),))
        self.model_factory = model_factory or (lambda ref: resolve_model(ref, self.endpoints))
        # Without a pool of the caller's (which closes what it keeps), each run's models
        # are closed at the run's end.
        self.models = models or ModelPool(keep=False)
        self.on_event = on_event
        self.actor = actor
        # Every store write and every model or tool call of a run is a step: a durable
        # runner records them so that a resumed run replays instead of redoing them.
        self.steps: Steps = steps or InlineSteps()
        self.tool_calls = tool_calls or ToolCallLimits()
        # The tools an agent's allowed names give: the built-in ones unless a test says.
        self.tool_factory = tool_factory
        # The `[mcp.NAME]` tables: the servers an agent's `mcp` grants may name.
        self.mcp_servers = dict(mcp_servers or {})
        # Told what the runs do as they do it, for traces and metrics (taskline.observability).
        self.observer = observer

    def workspace_of(self, task: Task) -> Path:
        """Where the task's agent works: its copy (`--copy`), else its `--workspace`, else
        `$TASKLINE_HOME/workspaces/<id>`."""
        if task.copy_dir:
            return Path(task.copy_dir)
        return Path(task.workspace) if task.workspace else self.home / "workspaces" / task.id

    async def run_task(
        self, task_id: str, *, timeout_seconds: float | None = None, run_id: str | None = None
    ) -> Task:
        """Execute an ASSIGNED task (or a FAILED one again) until it is COMPLETED, FAILED,
        or waiting in IN_REVIEW for a person.

        The caller has checked the task with `check_runnable` (`Taskline.run_task_async`
        does, once); a task moved since (no longer ASSIGNED or FAILED) is refused here.
        `run_id` is the id the run is to have: a durable runner's, so that its replayed
        start knows its own run from another runner's.
        """
        resumed = await asyncio.to_thread(self._trace_of, run_id) if self.steps.replays else None
        try:
            with self.observer.task(task_id, resumed=resumed) as watch:
                task, run, before = await self.steps.call(
                    "start", self._start, task_id, run_id, watch.trace
                )
                ended = await self._execute(task, run, before, timeout_seconds=timeout_seconds)
                watch.ended(ended)
                return ended
        except StoreError as exc:
            # The end of the run could not be written either: it stays for the next
            # `taskline task run` to resume (durable) or retry.
            raise StoreError(
                f"{exc}; task {task_id} was left as it was: run `taskline task run {task_id}`"
                " again once the database can be written"
            ) from exc

    def _trace_of(self, run_id: str | None) -> TraceContext | None:
        """The trace a run of this id joined, if it was opened before a crash: its resumed
        execution joins that trace. The run opens later (or never did) otherwise."""
        if run_id is None:
            return None
        try:
            return _trace_of_run(self.store.get_run(run_id))
        except NotFoundError:
            return None

    def _start(
        self, task_id: str, run_id: str | None, trace: TraceContext | None
    ) -> tuple[Task, Run, Snapshot | Outcome]:
        """Move the task into IN_PROGRESS, opening its new run in the same transaction, and
        take the workspace's snapshot (one step: nothing touches the workspace in between)."""
        task, run = self._open_first_run(task_id, run_id, trace)
        return task, run, self._before_work(task)

    def _open_first_run(
        self, task_id: str, run_id: str | None, trace: TraceContext | None
    ) -> tuple[Task, Run]:
        task = self.store.get_task(task_id)
        # Only a durable runner replays a step, and only its own: a runner that finds the
        # task under way with another's run lost a race, and is refused below like any
        # task not ASSIGNED or FAILED.
        started = (Status.ASSIGNED, Status.IN_PROGRESS, RUN_STARTED)
        if (
            self.steps.replays
            and task.status is Status.IN_PROGRESS
            and self._replayed(task_id, *started, prefix=True)
        ):
            last = self.store.list_runs(task_id)[-1]
            if run_id is None or last.id == run_id:
                return task, last
        if task.status not in RUNNABLE:  # moved since its caller checked it (e.g. queued)
            raise not_runnable(task)
        runs = self.store.list_runs(task.id)
        trigger: RunTrigger = "retry" if runs else "first"
        if task.status is Status.FAILED:
            # e.g. moved to FAILED by hand after its process died: its run ended then
            self._close_runs_left_running(task.id)
            task = self._move_once(
                task.id, Status.ASSIGNED, actor=self.actor, reason="retry", expected=Status.FAILED
            )
        return self._open_run(
            task,
            trigger,
            number=len(runs) + 1,
            feedback="",
            actor=self.actor,
            reason=f"{RUN_STARTED}({trigger})",
            expected=Status.ASSIGNED,
            run_id=run_id,
            trace=trace,
        )

    def _open_run(
        self,
        task: Task,
        trigger: RunTrigger,
        *,
        number: int,
        feedback: str,
        actor: str,
        reason: str,
        expected: Status,
        run_id: str | None = None,
        trace: TraceContext | None = None,
    ) -> tuple[Task, Run]:
        """Move the task into IN_PROGRESS with a new run, one transaction: a replay that finds
        the move done finds the run too (its last)."""
        agent = self.store.get_agent(task.assignee or "")
        run = Run(
            task_id=task.id,
            number=number,
            trigger=trigger,
            agent=agent.name,
            model=agent.model,
            feedback=feedback,
            sandbox=self.sandbox.settings.mode,
            trace_id=None if trace is None else trace.trace_id,
            trace_span_id=None if trace is None else trace.span_id,
            **({} if run_id is None else {"id": run_id}),
        )
        task = self._move_once(
            task.id, Status.IN_PROGRESS, actor=actor, reason=reason, expected=expected, opening=run
        )
        return task, self.store.list_runs(task.id)[-1]

    async def human_review(self, task_id: str, *, approve: bool, feedback: str, actor: str) -> Task:
        """A person's verdict on a task waiting in IN_REVIEW; a rejection starts the rework."""
        verdict = Verdict(
            reviewer=actor,
            approved=approve,
            feedback=feedback or ("approved" if approve else "rejected"),
        )
        with self.observer.task(task_id, resumed=None) as watch:
            task, run = await self.steps.call("human review", self._human_verdict, task_id, verdict)
            ended = await self._conclude(
                task, run, verdict, timeout_seconds=None, trace=watch.trace
            )
            watch.ended(ended)
            return ended

    def _human_verdict(self, task_id: str, verdict: Verdict) -> tuple[Task, Run]:
        # Its caller checked it before the workflow, where a refusal is one line; again here,
        # in the step, for a task cancelled in between (a read, not a second policy).
        task = self.check_reviewable(task_id)
        run = self.store.list_runs(task.id)[-1]
        self._store_review(task, run, verdict)
        return task, run

    async def _execute(
        self, task: Task, run: Run, before: Snapshot | Outcome, *, timeout_seconds: float | None
    ) -> Task:
        """Work on `run` from the workspace as it was `before`, then review: its trace is the
        one `run` was opened in. An `Outcome` for `before` fails the run before it works."""
        if isinstance(before, Outcome):
            return await self.steps.call("fail", self._fail, task, run, before, None)
        agent = await asyncio.to_thread(self.store.get_agent, run.agent)
        outcome = await self._agent_loop(task, agent, run, timeout_seconds)
        if outcome.summary is None:
            return await self.steps.call("fail", self._fail, task, run, outcome, before)
        task, changes = await self.steps.call(
            "submitted", self._submitted, task, run, agent.name, outcome.summary, before
        )
        records = _artifact_records(task, run, changes)
        try:
            verdict = await self._review(task, run, outcome.summary, records, changes)
        except Exception as exc:  # a reviewer that cannot answer must not strand the task
            category = "provider_error" if isinstance(exc, ProviderError) else "crashed"
            return await self._final_move(
                "review failed", task, Status.FAILED, self.actor,
                f"review failed: {exc}", category,
            )  # fmt: skip
        if verdict is None:
            return task  # waiting for a person: `taskline review approve|reject`
        trace = _trace_of_run(run)
        return await self._conclude(
            task, run, verdict, timeout_seconds=timeout_seconds, trace=trace
        )

    def _before_work(self, task: Task) -> Snapshot | Outcome:
        """The workspace's snapshot; the run's failure when the user's directory could not be
        copied (a value, not an exception: a step's result is what a replay gets back)."""
        try:
            return self._snapshot(task)
        except CopyError as exc:
            return Outcome(failure_category="crashed", failure_message=str(exc))

    def _snapshot(self, task: Task) -> Snapshot:
        workspace = self.workspace_of(task)
        if workspace.is_relative_to(self.home):  # the default place: make the home private first
            private_dir(self.home)
        copy = WorkspaceCopy.of(task)
        if copy is not None and not copy.exists():  # else made by an earlier run: reused
            return copy.make(
                leave_out=(self.home, *self.sandbox.private_paths),
                take_baseline=lambda tree: snapshot(tree, self.blobs, ignore=task.ignore),
            )
        workspace.mkdir(parents=True, exist_ok=True)
        return snapshot(workspace, self.blobs, ignore=task.ignore)

    def _changes(self, task: Task, before: Snapshot) -> list[ArtifactChange]:
        """What the run changed in the workspace since `before`."""
        after = snapshot(self.workspace_of(task), self.blobs, ignore=task.ignore, previous=before)
        return diff(before, after)

    def _submitted(
        self, task: Task, run: Run, agent: str, summary: str, before: Snapshot
    ) -> tuple[Task, list[ArtifactChange]]:
        """Move the task into IN_REVIEW, closing its run with the artifacts it made."""
        changes = self._changes(task, before)
        ended = run.model_copy(
            update={"status": "submitted", "ended_at": utcnow(), "summary": summary}
        )
        moved = self._move_once(
            task.id,
            Status.IN_REVIEW,
            actor=f"agent:{agent}",
            reason="work submitted",
            expected=Status.IN_PROGRESS,
            summary=summary,
            closing=ended,
            artifacts=_artifact_records(task, run, changes),
        )
        return moved, changes

    async def _final_move(self, name: str, *args: Any) -> Task:
        """`_end(*args)` as the workflow's last step, with no checkpoint of its own: a replay
        finds the move made and takes it as made (`_move_once`), for nothing after it in the
        workflow moves the task."""
        ended: Task = await self.steps.unrecorded(name, asyncio.to_thread, self._end, *args)
        return ended

    def _end(
        self,
        task: Task,
        target: Status,
        actor: str,
        reason: str,
        category: str | None = None,
        review: Review | None = None,
    ) -> Task:
        """Move an IN_REVIEW task to its end (COMPLETED or FAILED) and store its metrics, and
        the `review` that ends it if it was not stored before."""
        return self._move_once(
            task.id,
            target,
            actor=actor,
            reason=reason,
            expected=Status.IN_REVIEW,
            failure_category=category,
            review=review,
            measured=True,
        )

    async def _agent_loop(
        self, task: Task, agent: Agent, run: Run, timeout_seconds: float | None
    ) -> Outcome:
        with self.observer.run(run) as watch:
            outcome = await self._work(task, agent, run, timeout_seconds)
            watch.ended(_ended(run, outcome))
        return outcome

    async def _work(
        self, task: Task, agent: Agent, run: Run, timeout_seconds: float | None
    ) -> Outcome:
        try:
            model = self.models.acquire(agent.model, self.model_factory)
            tools = self.tool_factory(agent.tools)
        except Exception as exc:  # a bad model reference fails this run, not the process
            return Outcome(failure_category="crashed", failure_message=str(exc))
        spent_limit = task.budget_usd if task.budget_usd is not None else agent.budget_usd
        token_limit = task.budget_tokens if task.budget_tokens is not None else agent.budget_tokens
        limits = Limits(
            max_turns=task.max_turns or 30,
            budget_usd=spent_limit,
            budget_tokens=token_limit,
            timeout_seconds=timeout_seconds or task.timeout_seconds or 600.0,
            tool_calls=self.tool_calls,
        )
        context = self._tool_context(agent.name, task)
        try:
            # The agent's MCP servers run for this run only, and stop however it ends.
            from taskline.tools.mcp import run_tools  # the MCP SDK only when a run needs it

            async with run_tools(
                agent.mcp,
                self.mcp_servers,
                workspace=context.workspace.root,
                sandbox=context.sandbox,
            ) as mcp_tools:
                loop = AgentLoop(
                    store=self.store,
                    model=model,
                    tools=[*tools, *mcp_tools],
                    context=context,
                    task=task,
                    agent=agent,
                    run=run,
                    limits=limits,
                    on_event=self.on_event,
                    steps=self.steps,
                    observer=self.observer,
                )
                return await loop.execute()
        except Exception as exc:  # a bug or a broken store: the task must not stay IN_PROGRESS
            # Our own errors are one line already; a bug needs its type to be found.
            message = str(exc) if isinstance(exc, TasklineError) else f"{type(exc).__name__}: {exc}"
            return Outcome(failure_category="crashed", failure_message=message)
        finally:
            await self.models.release(model)

    def _tool_context(self, agent: str, task: Task) -> ToolContext:
        sandbox = self.sandbox.for_agent(agent)
        copy = WorkspaceCopy.of(task)
        if copy is not None:  # git in a worktree copy reads the user's repository
            sandbox = replace(sandbox, read_only=copy.repository())
        return ToolContext(workspace=Workspace(self.workspace_of(task)), sandbox=sandbox)

    def _fail(self, task: Task, run: Run, outcome: Outcome, before: Snapshot | None) -> Task:
        """Fail the run and its task as `outcome` says, with the artifacts it made since
        `before` (None: it never started working)."""
        changes = [] if before is None else self._changes(task, before)
        records = _artifact_records(task, run, changes)
        current = self.store.get_task(task.id)
        if current.status is not Status.IN_PROGRESS:  # someone cancelled, blocked or failed it
            self.store.add_artifacts(records)
            self.store.end_run(
                run.id, "cancelled", ended_at=utcnow(), failure_message=outcome.failure_message
            )
            return current
        ended = run.model_copy(
            update={
                "status": "failed",
                "ended_at": utcnow(),
                "failure_category": outcome.failure_category,
                "failure_message": outcome.failure_message,
            }
        )
        return self._move_once(
            task.id,
            Status.FAILED,
            actor=self.actor,
            reason=outcome.failure_message,
            expected=Status.IN_PROGRESS,
            failure_category=outcome.failure_category,
            closing=ended,
            artifacts=records,
            measured=True,
        )

    async def _review(
        self,
        task: Task,
        run: Run,
        summary: str,
        records: list[Artifact],
        changes: list[ArtifactChange],
    ) -> Verdict | None:
        # A task's checks run the agent's work, so they run in the agent's sandbox.
        context = self._tool_context(task.assignee or "", task)
        # A task without checks takes no step for them (the task's checks never change).
        checks = (
            await self.steps.run("checks", self._run_checks, task, context) if task.checks else None
        )
        if checks is not None:
            await self.steps.call("review checks", self._store_review, task, run, checks)
            if not checks.approved:
                return checks
        verdict = checks
        turn = 1
        for name in task.reviewers:
            reviewer = await asyncio.to_thread(self.store.get_agent, name)
            model = self.models.acquire(reviewer.model, self.model_factory)
            started = time.perf_counter()
            try:
                prompt = review_prompt(task, summary, records, checks, self._diffs(changes))
                with self.observer.review(name, "agent") as watch:
                    verdict, turn = await AgentReviewer(
                        store=self.store, model=model, reviewer=reviewer, run=run,
                        on_event=self.on_event, steps=self.steps, observer=self.observer,
                    ).review(task, prompt, turn)  # fmt: skip
                    watch.ended(verdict.approved)
            finally:
                await self.models.release(model)
            verdict = replace(verdict, duration_seconds=round(time.perf_counter() - started, 3))
            await self.steps.call(f"review {name}", self._store_review, task, run, verdict)
            if not verdict.approved:
                return verdict
        if task.human_review:
            return None
        if verdict is None:  # stored by the move it makes (`_conclude`)
            verdict = Verdict(
                reviewer=AUTO,
                approved=True,
                feedback="approved automatically: the task has no checks, reviewer or human review",
            )
        return verdict

    async def _run_checks(self, task: Task, context: ToolContext) -> Verdict | None:
        """The task's checks, watched as a review (in the step: a replay reports none)."""
        if not task.checks:
            return None
        with self.observer.review("checks", "checks") as watch:
            verdict = await run_checks(task, context)
            watch.ended(verdict is not None and verdict.approved)
        return verdict

    def _diffs(self, changes: list[ArtifactChange]) -> dict[str, str]:
        """Text of what changed, for the reviewer: a diff, or a new file's contents."""
        shown: dict[str, str] = {}
        budget = DIFF_CHARS_FOR_REVIEW
        for change in changes:
            if budget <= 0:
                break
            text = text_diff(change, self.blobs)
            if text:
                shown[change.path] = text[:budget]
                budget -= len(shown[change.path])
        return shown

    async def _conclude(
        self,
        task: Task,
        run: Run,
        verdict: Verdict,
        *,
        timeout_seconds: float | None,
        trace: TraceContext | None,
    ) -> Task:
        """Complete, fail or rework the task on `verdict`; a rework run joins `trace`."""
        if verdict.approved:
            # Every verdict but the automatic one was stored in a step of its own.
            automatic = verdict.reviewer == AUTO
            return await self._final_move(
                "complete", task, Status.COMPLETED,
                self.actor if automatic else verdict.reviewer,
                verdict.feedback.splitlines()[0] if verdict.feedback else "approved",
                None, _review_record(task, run, verdict) if automatic else None,
            )  # fmt: skip
        # Runs up to this one only: a replay must not count a rework run it opened later.
        runs = await asyncio.to_thread(self.store.list_runs, task.id)
        reworks = sum(1 for r in runs if r.trigger == "rework" and r.number <= run.number)
        if reworks >= task.max_rework:
            reason = (
                f"rejected after {reworks} rework round{'' if reworks == 1 else 's'}:"
                f" {verdict.feedback}"
            )
            return await self._final_move(
                "rejected", task, Status.FAILED, verdict.reviewer, reason,
                "review_rejected",
            )  # fmt: skip
        task, rework, before = await self.steps.call(
            "rework", self._rework, task, verdict.reviewer, verdict.feedback, trace
        )
        return await self._execute(task, rework, before, timeout_seconds=timeout_seconds)

    def _rework(
        self, task: Task, actor: str, feedback: str, trace: TraceContext | None
    ) -> tuple[Task, Run, Snapshot | Outcome]:
        """Move the task back into IN_PROGRESS with a new run, and take the workspace's
        snapshot (one step, as `_start`)."""
        number = len(self.store.list_runs(task.id)) + 1
        task, run = self._open_run(
            task, "rework", number=number, feedback=feedback, actor=actor,
            reason=f"rework: {feedback}", expected=Status.IN_REVIEW, trace=trace,
        )  # fmt: skip
        return task, run, self._before_work(task)

    def _store_review(self, task: Task, run: Run, verdict: Verdict) -> None:
        self.store.add_review(_review_record(task, run, verdict))


def _review_record(task: Task, run: Run, verdict: Verdict) -> Review:
    return Review(
        task_id=task.id,
        run_id=run.id,
        reviewer=verdict.reviewer,
        approved=verdict.approved,
        feedback=verdict.feedback,
        details=verdict.details,
        duration_seconds=verdict.duration_seconds,
    )


def _artifact_records(task: Task, run: Run, changes: list[ArtifactChange]) -> list[Artifact]:
    return [
        Artifact(
            task_id=task.id,
            run_id=run.id,
            path=change.path,
            change=change.change,
            size=change.size_bytes,
            sha256=change.sha256,
        )
        for change in changes
    ]


def _trace_of_run(run: Run) -> TraceContext | None:
    if run.trace_id is None or run.trace_span_id is None:
        return None
    return TraceContext(trace_id=run.trace_id, span_id=run.trace_span_id)


def _ended(run: Run, outcome: Outcome) -> Run:
    """`run` as `outcome` ends it, for the observer (the store's copy is written later)."""
    status: RunStatus = "submitted" if outcome.summary is not None else "failed"
    if outcome.summary is None and outcome.failure_category is None:
        status = "cancelled"  # moved away while it ran
    return run.model_copy(
        update={
            "status": status,
            "ended_at": utcnow(),
            "failure_category": outcome.failure_category,
            "failure_message": outcome.failure_message or None,
        }
    )
