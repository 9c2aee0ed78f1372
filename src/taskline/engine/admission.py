"""Whether a task may be run or reviewed now, and the moves a step makes.

The entry (`Taskline.run_task_async`) checks a task once with `check_runnable`;
the run's first step re-reads only the status it moves from. A step replayed
after a crash may ask for its move twice: `_move_once` takes the move found
already made as success, and `_replayed` is the one test of that.
"""

from __future__ import annotations

from collections.abc import Sequence

from taskline.errors import ConfigError, ConflictError, IllegalTransitionError, InvalidValueError
from taskline.lifecycle import Status
from taskline.llm.registry import EndpointConfig, price_known
from taskline.models import Task, utcnow
from taskline.protocols import Observer, Store
from taskline.records import Artifact, Review, Run

INTERRUPTED = "interrupted: the run stopped before it could record how it ended"
RUNNABLE = (Status.ASSIGNED, Status.FAILED)


class Admission:
    """The checks and the replay-safe moves of `Executor`, which sets these attributes."""

    store: Store
    endpoints: dict[str, EndpointConfig]
    actor: str
    observer: Observer

    def check_runnable(self, task_id: str, *, nobody_runs_it: bool = False) -> Task:
        """The task, if it can be run now; `InvalidValueError` saying why not otherwise.

        `nobody_runs_it` says that no process is running the task (a durable runner knows
        it from its workflows): a task left IN_PROGRESS by a run that could not record its
        end is then retried, its stale run closed as `crashed`.
        """
        task = self.store.get_task(task_id)
        stranded = self.stranded_run(task)
        if stranded is not None and nobody_runs_it:
            task = self._close_stranded(task, stranded)
            self._check_priced(task)
            return task
        if stranded is not None:
            raise InvalidValueError(
                f"task {task.id} is IN_PROGRESS with run {stranded.number} marked running;"
                f" if no process runs it any more, `taskline task move {task.id} FAILED`"
                " and run it again"
            )
        if task.status not in RUNNABLE:
            raise not_runnable(task)
        self._check_priced(task)
        return task

    def _check_priced(self, task: Task) -> None:
        """A budget in USD on a model without a known price would be no budget at all."""
        agent = self.store.get_agent(task.assignee or "")
        budget_usd = task.budget_usd if task.budget_usd is not None else agent.budget_usd
        if budget_usd is None or price_known(agent.model, self.endpoints) is not False:
            return
        endpoint = agent.model.partition(":")[0]
        where = endpoint if endpoint in self.endpoints else "NAME"
        raise ConfigError(
            f"task {task.id} has a ${budget_usd} budget but no price is known for"
            f" {agent.model}; give the endpoint a price with prices = {{ input_usd_per_mtok"
            f" = ..., output_usd_per_mtok = ... }} in [endpoints.{where}] of taskline.toml,"
            " or use --budget-tokens"
        )

    def stranded_run(self, task: Task) -> Run | None:
        """The task's last run if it is still marked running while the task is IN_PROGRESS:
        either some process runs it now, or its process stopped (or lost its database)
        before it could record how the run ended."""
        if task.status is not Status.IN_PROGRESS:
            return None
        runs = self.store.list_runs(task.id)
        return runs[-1] if runs and runs[-1].status == "running" else None

    def _close_stranded(self, task: Task, run: Run) -> Task:
        """End a run nobody runs any more as `crashed`, and fail its task so it can be retried."""
        self._close_runs_left_running(task.id)
        failed = self._move_once(
            task.id,
            Status.FAILED,
            actor=self.actor,
            reason=f"run {run.number} {INTERRUPTED}",
            expected=Status.IN_PROGRESS,
            failure_category="crashed",
            measured=True,
        )
        return failed

    def _close_runs_left_running(self, task_id: str) -> None:
        """Runs of a task that is not IN_PROGRESS any more can run no longer: say so."""
        for run in self.store.list_runs(task_id):
            if run.status == "running":
                self.store.end_run(
                    run.id,
                    "failed",
                    ended_at=utcnow(),
                    failure_category="crashed",
                    failure_message=INTERRUPTED,
                )

    def check_reviewable(self, task_id: str) -> Task:
        """The task, if it waits for a person's review; `InvalidValueError` otherwise."""
        task = self.store.get_task(task_id)
        if task.status is not Status.IN_REVIEW:
            raise InvalidValueError(f"task {task.id} is {task.status}, not IN_REVIEW")
        return task

    def _move_once(
        self,
        task_id: str,
        target: Status,
        *,
        actor: str,
        reason: str,
        expected: Status,
        summary: str | None = None,
        failure_category: str | None = None,
        opening: Run | None = None,
        closing: Run | None = None,
        artifacts: Sequence[Artifact] = (),
        review: Review | None = None,
        measured: bool = False,
    ) -> Task:
        """A move that a replayed step may ask for twice: when the task's last transition is
        this very move, the step had made it before the crash, and that is success (what
        the move opened, closed or measured went in its transaction)."""
        try:
            moved = self.store.move(
                task_id,
                target,
                actor=actor,
                reason=reason,
                expected=expected,
                summary=summary,
                failure_category=failure_category,
                opening=opening,
                closing=closing,
                artifacts=artifacts,
                review=review,
                measured=measured,
            )
        except (ConflictError, IllegalTransitionError):
            if not self._replayed(task_id, expected, target, reason):
                raise
            return self.store.get_task(task_id)
        self.observer.moved(moved, expected, actor=actor, reason=reason)
        return moved

    def _replayed(
        self, task_id: str, expected: Status, target: Status, reason: str, *, prefix: bool = False
    ) -> bool:
        """The one way a step knows it is replayed after a crash that came after its work and
        before its checkpoint: the task's last transition is the step's own move (whatever
        else the step wrote went in the move's transaction). `prefix`: the reason begins so."""
        last = self.store.transitions(task_id)[-1]
        said = last.reason.startswith(reason) if prefix else last.reason == reason
        return said and (last.from_status, last.to_status) == (expected, target)


def not_runnable(task: Task) -> InvalidValueError:
    """The refusal of a task that is not ASSIGNED or FAILED."""
    return InvalidValueError(
        f"task {task.id} is {task.status}; only an ASSIGNED or FAILED task can be run"
    )
