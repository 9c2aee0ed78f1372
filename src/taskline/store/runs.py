"""What running a task leaves in the store: runs, turns, tool calls, cost records,
artifacts, reviews and metrics.

Each write is one transaction. Records keyed by (run, turn) are written once:
writing the same key again returns what is stored, so a replayed step never
records a billed call twice. These records are also what a run resumed after a
crash replays from: a model call's cost record holds its answer, a tool call's row
its whole result. A model call's record is written as its intent before the call is
sent (with the previous turn, in the same transaction), so that a call whose answer
a crash lost is still counted (`lost`) before it is sent again.

Rows go in as parameters of a plain `insert(table)` rather than through
`.values(row)`, so the statement compiles once and comes from SQLAlchemy's cache
on every later turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Row,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import BindParameter

from taskline.costs import total
from taskline.errors import NotFoundError
from taskline.records import (
    Artifact,
    CostRecord,
    Review,
    Run,
    RunStatus,
    TaskMetrics,
    ToolCallRecord,
    Turn,
)
from taskline.reports import NO_RUN
from taskline.store.base import SqlBase, store_error
from taskline.store.tables import (
    artifacts,
    cost_records,
    reviews,
    runs,
    task_metrics,
    tool_calls,
    transitions,
    turns,
)

LOST = (
    "the run stopped after the call was sent and before its answer was recorded:"
    " it may have been billed"
)
ESTIMATED = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost_usd",
)
"""What a lost call takes from the call sent again in its place, the same request."""

ANSWERED = [name for name in CostRecord.model_fields if name not in ("id", "created_at")]
"""What an answer sets in its call's record: everything but the identity."""
# Built once, values as parameters: a statement with its values in it is built, coerced
# and keyed for the statement cache anew at every call, which cost more than the write.
ANSWER_PENDING = (
    update(cost_records)
    .where(cost_records.c.id == bindparam("pending_id"), cost_records.c.state == "pending")
    .values({name: bindparam(name, type_=cost_records.c[name].type) for name in ANSWERED})
)

RUN_ENDING = {"status", "ended_at", "summary", "failure_category", "failure_message"}
"""What a run's end records."""
INSERT_TURN = insert(turns)
INSERT_TOOL_CALL = insert(tool_calls)
INSERT_COST_RECORD = insert(cost_records)
INSERT_RUN = insert(runs)
INSERT_ARTIFACT = insert(artifacts)
INSERT_REVIEW = insert(reviews)
SAME_REVIEW = select(reviews).where(
    reviews.c.run_id == bindparam("run_id"),
    reviews.c.reviewer == bindparam("reviewer"),
    reviews.c.approved == bindparam("approved"),
    reviews.c.feedback == bindparam("feedback"),
)

BILLED = ("state", *ESTIMATED, "attempts")
"""What a task's totals read of its cost records: their figures, not their answers."""

METRICS_COLUMNS = [task_metrics.c[name] for name in TaskMetrics.model_fields]
"""The columns of `task_metrics` that hold a `TaskMetrics`; the rest serve the report."""


def _row_dict(row: Row[Any], table: Table) -> dict[str, Any]:
    return {column.name: getattr(row, column.name) for column in table.columns}


def _metrics_from_row(row: Row[Any]) -> TaskMetrics:
    # By position: a getattr per column and row costs more than the query itself.
    return TaskMetrics.model_validate(dict(zip(TaskMetrics.model_fields, row, strict=True)))


class RunQueries(SqlBase):
    """Runs and everything they record."""

    # -- runs -----------------------------------------------------------------

    def start_run(self, run: Run) -> Run:
        """Store a new run; a run with the same task and number is returned as stored."""
        try:
            with self._write() as conn:
                insert_run(conn, run)
        except IntegrityError as exc:
            existing = self._find_run(run.task_id, run.number)
            if existing is None:
                raise store_error(self.engine, exc) from exc
            return existing
        return run

    def end_run(
        self,
        run_id: str,
        status: RunStatus,
        *,
        ended_at: Any,
        summary: str | None = None,
        failure_category: str | None = None,
        failure_message: str | None = None,
    ) -> Run:
        """Record how a run ended; a call it left in flight is lost (it may have been billed)."""
        ending = {
            "status": status,
            "ended_at": ended_at,
            "summary": summary,
            "failure_category": failure_category,
            "failure_message": failure_message,
        }
        with self._write() as conn:
            close_run(conn, run_id, ending)
        return self.get_run(run_id)

    def get_run(self, run_id: str) -> Run:
        """The run with that id."""
        with self._read() as conn:
            row = conn.execute(select(runs).where(runs.c.id == run_id)).first()
        if row is None:
            raise NotFoundError("run", run_id)
        return Run.model_validate(_row_dict(row, runs))

    def list_runs(self, task_id: str) -> list[Run]:
        """The task's runs, first to last."""
        with self._read() as conn:
            rows = conn.execute(
                select(runs).where(runs.c.task_id == task_id).order_by(runs.c.number)
            ).all()
        return [Run.model_validate(_row_dict(row, runs)) for row in rows]

    def _find_run(self, task_id: str, number: int) -> Run | None:
        with self._read() as conn:
            row = conn.execute(
                select(runs).where(runs.c.task_id == task_id, runs.c.number == number)
            ).first()
        return None if row is None else Run.model_validate(_row_dict(row, runs))

    # -- turns and tool calls -------------------------------------------------

    def add_turn(
        self, turn: Turn, calls: Sequence[ToolCallRecord], intent: CostRecord | None = None
    ) -> bool:
        """Store a turn with its tool calls (those not stored one by one before) and the
        intent of the next model call, in one transaction; once per (run, number).
        False when the turn was stored before (and so nothing is written now)."""
        try:
            with self._write() as conn:
                conn.execute(INSERT_TURN, turn.model_dump())
                if calls:
                    conn.execute(INSERT_TOOL_CALL, [call.model_dump() for call in calls])
                if intent is not None:
                    conn.execute(INSERT_COST_RECORD, intent.model_dump())
        except IntegrityError as exc:
            if not self._exists(
                turns, turns.c.run_id == turn.run_id, turns.c.number == turn.number
            ):
                raise store_error(self.engine, exc) from exc
            return False
        return True

    def add_tool_call(self, call: ToolCallRecord) -> None:
        """Store one finished tool call of a turn whose other calls still run; once."""
        try:
            with self._write() as conn:
                conn.execute(INSERT_TOOL_CALL, call.model_dump())
        except IntegrityError as exc:
            if not self._exists(
                tool_calls,
                tool_calls.c.run_id == call.run_id,
                tool_calls.c.turn == call.turn,
                tool_calls.c.index == call.index,
            ):
                raise store_error(self.engine, exc) from exc

    def turns(self, run_id: str) -> list[Turn]:
        """The run's turns in order."""
        with self._read() as conn:
            rows = conn.execute(
                select(turns).where(turns.c.run_id == run_id).order_by(turns.c.number)
            ).all()
        return [Turn.model_validate(_row_dict(row, turns)) for row in rows]

    def tool_calls(self, run_id: str) -> list[ToolCallRecord]:
        """The run's tool calls, by turn and position."""
        with self._read() as conn:
            rows = conn.execute(
                select(tool_calls)
                .where(tool_calls.c.run_id == run_id)
                .order_by(tool_calls.c.turn, tool_calls.c.index)
            ).all()
        return [ToolCallRecord.model_validate(_row_dict(row, tool_calls)) for row in rows]

    # -- cost records ---------------------------------------------------------

    def add_cost_record(self, record: CostRecord) -> CostRecord:
        """Append a cost record (or a call's intent); the same (run, purpose, turn) again
        returns the stored live one."""
        try:
            with self._write() as conn:
                conn.execute(INSERT_COST_RECORD, record.model_dump())
        except IntegrityError as exc:
            stored = self.find_cost_record(record.run_id, record.purpose, record.turn)
            if stored is None:
                raise store_error(self.engine, exc) from exc
            return stored
        return record

    def find_cost_record(self, run_id: str, purpose: str, turn: int) -> CostRecord | None:
        """The live record (pending or answered) of the call made in that run, for that
        purpose, at that turn."""
        with self._read() as conn:
            row = conn.execute(
                select(cost_records).where(
                    cost_records.c.run_id == run_id,
                    cost_records.c.purpose == purpose,
                    cost_records.c.turn == turn,
                    cost_records.c.state != "lost",
                )
            ).first()
        return None if row is None else CostRecord.model_validate(_row_dict(row, cost_records))

    def record_answer(self, record: CostRecord, *, replaced_lost: bool = False) -> CostRecord:
        """Complete a call's pending intent with what its answer said; a call that
        `replaced_lost` ones lends them its figures, as their estimate.

        The commit is not flushed (see `_write`): should the database lose it in a crash of
        its own, the record is pending again, and the resumed run counts the call as lost.
        """
        answered = record.model_copy(update={"state": "answered"})
        figures = answered.model_dump(exclude={"id", "created_at"})
        with self._write(flushed=False) as conn:
            conn.execute(ANSWER_PENDING, {**figures, "pending_id": record.id})
            if not replaced_lost:
                return answered
            same_call = (
                cost_records.c.run_id == record.run_id,
                cost_records.c.purpose == record.purpose,
                cost_records.c.turn == record.turn,
            )
            conn.execute(
                update(cost_records)
                .where(*same_call, cost_records.c.state == "lost")
                .where(cost_records.c.price_source == "unknown")
                .values({**{name: figures[name] for name in ESTIMATED}, "price_source": "estimate"})
            )
        return answered

    def reissue(self, pending: CostRecord, intent: CostRecord) -> CostRecord:
        """Mark a call found pending after a crash as lost, and record the intent of the
        call sent in its place, in one transaction."""
        with self._write() as conn:
            _lose_pending(conn, cost_records.c.id == pending.id)
            conn.execute(INSERT_COST_RECORD, intent.model_dump())
        return intent

    def drop_intent(self, record_id: str) -> None:
        """Forget a call's intent: the provider refused the call, so nothing was billed."""
        with self._write() as conn:
            conn.execute(
                delete(cost_records).where(
                    cost_records.c.id == record_id, cost_records.c.state == "pending"
                )
            )

    def has_cost_records(self, run_id: str) -> bool:
        """Whether any call of the run was recorded: only then can a call have a record to reuse."""
        return self._exists(cost_records, cost_records.c.run_id == run_id)

    def cost_records(self, task_id: str | None = None) -> list[CostRecord]:
        """Cost records oldest first, of one task or of all."""
        query = select(cost_records).order_by(cost_records.c.id)
        if task_id is not None:
            query = query.where(cost_records.c.task_id == task_id)
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [CostRecord.model_validate(_row_dict(row, cost_records)) for row in rows]

    def task_spend(self, task_id: str) -> tuple[Decimal, int]:
        """(sum of the task's priced calls, lost ones' estimates included; number of answered
        calls without a price), for budget checks."""
        with self._read() as conn:
            rows = conn.execute(
                select(cost_records.c.cost_usd, cost_records.c.state).where(
                    cost_records.c.task_id == task_id
                )
            ).all()
        priced = Decimal(0)
        unpriced = 0
        for value, state in rows:
            if value is not None:
                priced += value
            elif state == "answered":
                unpriced += 1
        return priced, unpriced

    def task_tokens(self, task_id: str) -> int:
        """Input plus output tokens of every call of the task, for token budgets."""
        with self._read() as conn:
            total = conn.execute(
                select(
                    func.coalesce(
                        func.sum(cost_records.c.input_tokens + cost_records.c.output_tokens), 0
                    )
                ).where(cost_records.c.task_id == task_id)
            ).scalar_one()
        return int(total)

    # -- artifacts and reviews ------------------------------------------------

    def add_artifacts(self, changes: Sequence[Artifact]) -> None:
        """Store a run's artifacts; a run's artifacts are stored once."""
        if not changes:
            return
        try:
            with self._write() as conn:
                insert_artifacts(conn, changes)
        except IntegrityError as exc:
            if not self._exists(artifacts, artifacts.c.run_id == changes[0].run_id):
                raise store_error(self.engine, exc) from exc

    def artifacts(self, task_id: str) -> list[Artifact]:
        """Every artifact of the task's runs, by run then path."""
        with self._read() as conn:
            rows = conn.execute(
                select(artifacts)
                .where(artifacts.c.task_id == task_id)
                .order_by(artifacts.c.run_id, artifacts.c.path)
            ).all()
        return [Artifact.model_validate(_row_dict(row, artifacts)) for row in rows]

    def add_review(self, review: Review) -> Review:
        """Append a review verdict; the same verdict on the same run again (a replayed
        step) returns the one stored."""
        with self._write() as conn:
            return insert_review(conn, review)

    def reviews(self, task_id: str) -> list[Review]:
        """The task's review verdicts, oldest first."""
        with self._read() as conn:
            rows = conn.execute(
                select(reviews).where(reviews.c.task_id == task_id).order_by(reviews.c.id)
            ).all()
        return [Review.model_validate(_row_dict(row, reviews)) for row in rows]

    # -- metrics --------------------------------------------------------------

    def save_metrics(self, metrics: TaskMetrics) -> TaskMetrics:
        """Store a task's metrics, replacing earlier ones."""
        with self._write() as conn:
            write_metrics(conn, metrics)
        return metrics

    def get_metrics(self, task_id: str) -> TaskMetrics | None:
        """The task's stored metrics, or None before it first finished."""
        with self._read() as conn:
            row = conn.execute(
                select(*METRICS_COLUMNS).where(task_metrics.c.task_id == task_id)
            ).first()
        return None if row is None else _metrics_from_row(row)

    def list_metrics(self) -> list[TaskMetrics]:
        """Stored metrics of every task, by task id."""
        with self._read() as conn:
            rows = conn.execute(select(*METRICS_COLUMNS).order_by(task_metrics.c.task_id)).all()
        return [_metrics_from_row(row) for row in rows]

    def _exists(self, table: Table, *conditions: Any) -> bool:
        with self._read() as conn:
            return _first(conn, table, *conditions) is not None


def _lose_pending(conn: Connection, where: ColumnElement[bool]) -> None:
    """Calls sent whose answer was never recorded: lost, for they may have been billed."""
    conn.execute(
        update(cost_records)
        .where(where, cost_records.c.state == "pending")
        .values(state="lost", finish_reason="lost", error=LOST)
    )


def _first(conn: Connection, table: Table, *conditions: Any) -> Row[Any] | None:
    return conn.execute(select(table).where(*conditions).limit(1)).first()


def insert_artifacts(conn: Connection, changes: Sequence[Artifact]) -> None:
    """Store a run's artifacts in the transaction of `conn`."""
    conn.execute(INSERT_ARTIFACT, [change.model_dump() for change in changes])


def insert_review(conn: Connection, review: Review) -> Review:
    """Store a verdict in the transaction of `conn`; the same verdict on the same run again
    (a replayed step) returns the one stored."""
    same = conn.execute(
        SAME_REVIEW,
        {
            "run_id": review.run_id,
            "reviewer": review.reviewer,
            "approved": review.approved,
            "feedback": review.feedback,
        },
    ).first()
    if same is not None:
        return Review.model_validate(_row_dict(same, reviews))
    conn.execute(INSERT_REVIEW, review.model_dump())
    return review


def insert_run(conn: Connection, run: Run) -> None:
    """Store a new run in the transaction of `conn`."""
    conn.execute(INSERT_RUN, run.model_dump())
    # a retried or reworked task counts for its new run's agent and model
    _note_last_run(conn, run.task_id)


def _note_last_run(conn: Connection, task_id: str) -> None:
    """Copy the agent and model of the task's last run into its metrics row, if it has one."""
    conn.execute(NOTE_LAST_RUN, {"noted_task_id": task_id})


def close_run(conn: Connection, run_id: str, ending: dict[str, Any]) -> None:
    """Record in the transaction of `conn` how a run ended (`ending`: its status, end time,
    summary and failure); a call it left in flight is lost (it may have been billed)."""
    conn.execute(LOSE_PENDING_OF_RUN, {"lost_run_id": run_id})
    conn.execute(END_RUN, {**ending, "ended_run_id": run_id})


def measure(conn: Connection, task_id: str) -> TaskMetrics:
    """Turns, tokens, cost, time, tool calls, runs and retries over every run of the task,
    counted by the database where it can, in the transaction of `conn`.

    Time is the task's whole life (`duration_seconds`: from its first run's start to its
    last move), of which the agent worked `agent_seconds` and the checks and reviewer
    agents took `review_seconds`. Tokens and cost include review calls; `cost_per_task`
    is None when any call was unpriced, with the count of those calls alongside. Calls
    lost in a crash count at their estimates (unpriced when they have none), and
    `lost_calls` says how many.
    """
    of_task = {"task_id": task_id}
    started = conn.execute(RUN_TIMES, of_task).all()
    turn_count = conn.execute(TURN_COUNT, of_task).scalar_one()
    call_count = conn.execute(TOOL_CALL_COUNT, of_task).scalar_one()
    review_seconds = conn.execute(REVIEW_SECONDS, of_task).scalar_one()
    last_move = conn.execute(LAST_MOVE_AT, of_task).scalar_one()
    billed = conn.execute(BILLED_FIGURES, of_task).all()
    sums = total(billed)
    agent_seconds = sum(
        (run.ended_at - run.started_at).total_seconds() for run in started if run.ended_at
    )
    duration_seconds = (
        max((last_move - started[0].started_at).total_seconds(), 0.0) if started else 0.0
    )
    return TaskMetrics(
        task_id=task_id,
        turns_per_task=turn_count,
        tokens_per_task=sums.tokens,
        input_tokens=sums.input_tokens,
        output_tokens=sums.output_tokens,
        cost_per_task=sums.cost_usd,
        unpriced_calls=sums.unpriced_calls,
        lost_calls=sums.lost_calls,
        duration_seconds=round(duration_seconds, 3),
        agent_seconds=round(agent_seconds, 3),
        review_seconds=round(float(review_seconds), 3),
        tool_calls=call_count,
        runs=len(started),
        retries=sum(row.attempts - 1 for row in billed),
    )


def write_metrics(conn: Connection, metrics: TaskMetrics) -> None:
    """Store a task's metrics in the transaction of `conn`, replacing earlier ones."""
    row = metrics.model_dump()
    found = conn.execute(UPDATE_METRICS, {**row, "measured_task_id": metrics.task_id})
    if found.rowcount == 0:
        conn.execute(INSERT_METRICS, row)
    _note_last_run(conn, metrics.task_id)


# -- the statements of a run's end, built once (see ANSWER_PENDING) ------------------------

_TASK: BindParameter[str] = bindparam("task_id")

LOSE_PENDING_OF_RUN = (
    update(cost_records)
    .where(cost_records.c.run_id == bindparam("lost_run_id"), cost_records.c.state == "pending")
    .values(state="lost", finish_reason="lost", error=LOST)
)
END_RUN = (
    update(runs)
    .where(runs.c.id == bindparam("ended_run_id"))
    .values({name: bindparam(name, type_=runs.c[name].type) for name in sorted(RUN_ENDING)})
)
RUN_TIMES = (
    select(runs.c.started_at, runs.c.ended_at)
    .where(runs.c.task_id == _TASK)
    .order_by(runs.c.number)
)
TURN_COUNT = select(func.count()).select_from(turns.join(runs)).where(runs.c.task_id == _TASK)
TOOL_CALL_COUNT = (
    select(func.count()).select_from(tool_calls.join(runs)).where(runs.c.task_id == _TASK)
)
REVIEW_SECONDS = select(func.coalesce(func.sum(reviews.c.duration_seconds), 0.0)).where(
    reviews.c.task_id == _TASK
)
LAST_MOVE_AT = (
    select(transitions.c.at)
    .where(transitions.c.task_id == _TASK)
    .order_by(transitions.c.seq.desc())
    .limit(1)
)
# The figures only: a record's answer and raw usage are what make it heavy.
BILLED_FIGURES = select(*(cost_records.c[name] for name in BILLED)).where(
    cost_records.c.task_id == _TASK
)
UPDATE_METRICS = (
    update(task_metrics)
    .where(task_metrics.c.task_id == bindparam("measured_task_id"))
    .values(
        {
            name: bindparam(name, type_=task_metrics.c[name].type)
            for name in TaskMetrics.model_fields
        }
    )
)
INSERT_METRICS = insert(task_metrics)


# Its own name: an UPDATE's parameter named as a column of the table would be SET too.
_NOTED_TASK: BindParameter[str] = bindparam("noted_task_id")


def _of_last_run(column: Column[Any]) -> ColumnElement[Any]:
    last = select(column).where(runs.c.task_id == _NOTED_TASK)
    return func.coalesce(last.order_by(runs.c.number.desc()).limit(1).scalar_subquery(), NO_RUN)


NOTE_LAST_RUN = (
    update(task_metrics)
    .where(task_metrics.c.task_id == _NOTED_TASK)
    .values(last_agent=_of_last_run(runs.c.agent), last_model=_of_last_run(runs.c.model))
)
