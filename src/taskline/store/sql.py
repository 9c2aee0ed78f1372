"""The SQL store: agents, tasks and their audit trail on SQLite or PostgreSQL.

Every status change is one transaction holding a conditional update of the task
(`WHERE id = :id AND status = :expected`) and the append of its transition row.
Zero rows updated means another writer moved the task first; that is reported
as a `ConflictError`, never overwritten.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Row, Update, bindparam, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError

from taskline.errors import (
    AlreadyExistsError,
    ConflictError,
    DependenciesNotMetError,
    InvalidValueError,
    NotFoundError,
    StoreError,
)
from taskline.ids import IdKind, new_id
from taskline.lifecycle import Status, check_transition
from taskline.models import Agent, Task, TaskEvent, Transition, utcnow
from taskline.records import Artifact, Review, Run
from taskline.store.base import first_line
from taskline.store.engine import create_store_engine, without_password
from taskline.store.metrics import MetricsQueries
from taskline.store.migrate import ensure_schema
from taskline.store.runs import (
    RUN_ENDING,
    RunQueries,
    close_run,
    insert_artifacts,
    insert_review,
    insert_run,
    measure,
    write_metrics,
)
from taskline.store.tables import (
    agents,
    runs,
    task_dependencies,
    task_events,
    tasks,
    transitions,
)
from taskline.store.workers import WorkerQueries

_TASK_COLUMNS = [c.name for c in tasks.columns]
_AGENT_COLUMNS = [c.name for c in agents.columns]


# The statements a run makes again and again, built once with their values as parameters:
# one built at each call, values inside, is coerced and keyed for SQLAlchemy's statement
# cache anew every time, which costs more than the write itself.
# A task with its dependencies in one statement: their ids joined by commas (ids have none).
TASK_BY_ID = select(
    tasks,
    select(func.aggregate_strings(task_dependencies.c.depends_on, ","))
    .where(task_dependencies.c.task_id == tasks.c.id)
    .scalar_subquery()
    .label("dependency_ids"),
).where(tasks.c.id == bindparam("task_id"))
AGENT_NAMED = select(agents.c.name).where(agents.c.name == bindparam("name"))
LAST_TRANSITION = select(func.max(transitions.c.seq)).where(
    transitions.c.task_id == bindparam("task_id")
)
_MOVED = ("status", "assignee", "updated_at", "failure_category", "failure_message")


def _move_statement(columns: Sequence[str]) -> Update:
    """A compare-and-set move setting `columns`: the task is where the mover saw it."""
    return (
        update(tasks)
        .where(tasks.c.id == bindparam("task_id"), tasks.c.status == bindparam("expected_status"))
        .values({name: bindparam(name, type_=tasks.c[name].type) for name in columns})
    )


MOVE = _move_statement(_MOVED)
MOVE_WITH_SUMMARY = _move_statement((*_MOVED, "summary"))


class SqlStore(RunQueries, WorkerQueries, MetricsQueries):
    """Persistent agents, tasks and runs; safe to share between threads and processes."""

    @classmethod
    def open(cls, url: str) -> SqlStore:
        """Connect to `url` and migrate the schema to the current version if needed."""
        engine = create_store_engine(url)
        try:
            ensure_schema(engine)
        except BaseException as exc:
            engine.dispose()  # a half-opened store must not leak its connections
            if isinstance(exc, DBAPIError):  # a corrupt file, no rights, nobody listening
                where = engine.url.render_as_string(hide_password=True)
                reason = without_password(first_line(exc.orig), url)
                raise StoreError(f"cannot open database {where}: {reason}") from exc
            raise
        return cls(engine)

    # -- agents ---------------------------------------------------------------

    def add_agent(self, agent: Agent) -> Agent:
        """Store a new agent; refuse a name that is taken."""
        try:
            with self._write() as conn:
                conn.execute(insert(agents).values(_agent_row(agent)))
        except IntegrityError as exc:
            raise AlreadyExistsError("agent", agent.name) from exc
        return agent

    def save_agent(self, agent: Agent) -> Agent:
        """Store an agent, replacing one of the same name but keeping its creation time."""
        with self._write() as conn:
            row = _agent_row(agent)
            found = conn.execute(
                update(agents)
                .where(agents.c.name == agent.name)
                .values({k: v for k, v in row.items() if k != "created_at"})
            )
            if found.rowcount == 0:
                conn.execute(insert(agents).values(row))
        return self.get_agent(agent.name)

    def get_agent(self, name: str) -> Agent:
        """The agent called `name`."""
        with self._read() as conn:
            row = conn.execute(select(agents).where(agents.c.name == name)).first()
        if row is None:
            raise NotFoundError("agent", name)
        return _agent_from_row(row)

    def list_agents(self) -> list[Agent]:
        """Every agent, by name."""
        with self._read() as conn:
            rows = conn.execute(select(agents).order_by(agents.c.name)).all()
        return [_agent_from_row(row) for row in rows]

    # -- tasks ----------------------------------------------------------------

    def create_task(self, task: Task, *, actor: str, reason: str = "") -> Task:
        """Store a new task in CREATED and open its transition trail."""
        if task.status is not Status.CREATED or task.assignee is not None:
            raise InvalidValueError(
                "a new task starts in CREATED with no assignee; assign it afterwards"
            )
        with self._write() as conn:
            if task.dependencies:
                known = set(
                    conn.execute(
                        select(tasks.c.id).where(tasks.c.id.in_(task.dependencies))
                    ).scalars()
                )
                unknown = [dep for dep in task.dependencies if dep not in known]
                if unknown:
                    raise InvalidValueError(f"unknown dependency: {', '.join(unknown)}")
            conn.execute(insert(tasks).values(_task_row(task)))
            if task.dependencies:
                conn.execute(
                    insert(task_dependencies),
                    [{"task_id": task.id, "depends_on": dep} for dep in task.dependencies],
                )
            conn.execute(
                insert(transitions).values(
                    task_id=task.id,
                    seq=1,
                    from_status=None,
                    to_status=Status.CREATED.value,
                    at=task.created_at,
                    actor=actor,
                    reason=reason,
                )
            )
        return task

    def get_task(self, task_id: str) -> Task:
        """The task with id `task_id`."""
        with self._read() as conn:
            return self._get_task(conn, task_id)

    def ids_starting(self, kind: IdKind, prefix: str, *, limit: int) -> list[str]:
        """Up to `limit` ids of tasks (or runs) that start with `prefix`, in order.

        `prefix` is taken literally: `%` and `_` match themselves, not any character.
        """
        column = (tasks if kind == "task" else runs).c.id
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = (
            select(column)
            .where(column.like(escaped + "%", escape="\\"))
            .order_by(column)
            .limit(limit)
        )
        with self._read() as conn:
            return list(conn.execute(query).scalars())

    def statuses_of(self, task_ids: Iterable[str]) -> dict[str, Status]:
        """The status of each of these tasks (unknown ids are left out)."""
        query = select(tasks.c.id, tasks.c.status).where(tasks.c.id.in_(list(task_ids)))
        with self._read() as conn:
            return {task_id: Status(status) for task_id, status in conn.execute(query)}

    def count_tasks(self) -> dict[Status, int]:
        """How many tasks are in each status: every status, 0 when no task is in it."""
        query = select(tasks.c.status, func.count()).group_by(tasks.c.status)
        with self._read() as conn:
            counted = {Status(status): count for status, count in conn.execute(query)}
        return {status: counted.get(status, 0) for status in Status}

    def list_tasks(self, status: Status | None = None) -> list[Task]:
        """Tasks in creation order, optionally only those in `status`."""
        query = select(tasks).order_by(tasks.c.id)
        deps_query = select(task_dependencies).order_by(
            task_dependencies.c.task_id, task_dependencies.c.depends_on
        )
        if status is not None:
            query = query.where(tasks.c.status == status.value)
            deps_query = deps_query.join(tasks, tasks.c.id == task_dependencies.c.task_id).where(
                tasks.c.status == status.value
            )
        with self._read() as conn:
            rows = conn.execute(query).all()
            deps: dict[str, list[str]] = defaultdict(list)
            for task_id, depends_on in conn.execute(deps_query):
                deps[task_id].append(depends_on)
        return [_task_from_row(row, deps[row.id]) for row in rows]

    def transitions(self, task_id: str) -> list[Transition]:
        """The task's status changes, oldest first, starting with its creation."""
        with self._read() as conn:
            self._get_task(conn, task_id)
            rows = conn.execute(
                select(transitions).where(transitions.c.task_id == task_id).order_by("seq")
            ).all()
        return [
            Transition(
                task_id=row.task_id,
                seq=row.seq,
                from_status=row.from_status,
                to_status=row.to_status,
                at=row.at,
                actor=row.actor,
                reason=row.reason,
            )
            for row in rows
        ]

    def events(self, task_id: str) -> list[TaskEvent]:
        """The task's audited events that are not status changes, oldest first."""
        with self._read() as conn:
            rows = conn.execute(
                select(task_events).where(task_events.c.task_id == task_id).order_by("id")
            ).all()
        return [
            TaskEvent(task_id=r.task_id, kind=r.kind, at=r.at, actor=r.actor, detail=r.detail)
            for r in rows
        ]

    def add_event(self, event: TaskEvent) -> TaskEvent:
        """Append an audited event that is not a status change (e.g. a copy applied)."""
        with self._write() as conn:
            self._get_task(conn, event.task_id)  # NotFoundError, not a foreign key's complaint
            conn.execute(insert(task_events).values(id=new_id(), **event.model_dump(mode="python")))
        return event

    def move(
        self,
        task_id: str,
        target: Status,
        *,
        actor: str,
        reason: str = "",
        expected: Status | None = None,
        assignee: str | None = None,
        summary: str | None = None,
        failure_category: str | None = None,
        opening: Run | None = None,
        closing: Run | None = None,
        artifacts: Sequence[Artifact] = (),
        review: Review | None = None,
        measured: bool = False,
    ) -> Task:
        """Move a task to `target` if the lifecycle table allows it.

        `expected` is the status the caller saw; if the task is no longer there,
        the move is a `ConflictError`. `assignee` is given only with a move to
        ASSIGNED, and defaults to the task's current assignee. `summary` records
        a completion summary with the move; a move to FAILED records
        `failure_category` and the reason as the failure, and any other move
        clears the failure. `opening` is a run that starts with the move (into
        IN_PROGRESS), `closing` one that ends with it (as it ended: its status,
        summary, failure), `artifacts` what the closing run changed, `review` the verdict
        the move follows, and `measured` stores the task's metrics as the move leaves
        them: each in the move's transaction, so a step that made the move made them too.
        """
        with self._write() as conn:
            task = self._get_task(conn, task_id)
            current = task.status
            if expected is not None and current is not expected:
                raise ConflictError(
                    task_id=task_id, expected=expected, actual=current, requested=target
                )
            check_transition(task_id, current, target)
            new_assignee = self._assignee_for(conn, task, target, assignee)
            if target is Status.IN_PROGRESS:
                self._check_dependencies(conn, task)
            now = utcnow()
            changes: dict[str, Any] = {
                "status": target.value,
                "assignee": new_assignee,
                "updated_at": now,
                "failure_category": failure_category if target is Status.FAILED else None,
                "failure_message": reason if target is Status.FAILED else None,
            }
            if summary is not None:
                changes["summary"] = summary
            statement = MOVE_WITH_SUMMARY if summary is not None else MOVE
            moved = conn.execute(
                statement, {**changes, "task_id": task_id, "expected_status": current.value}
            )
            if moved.rowcount != 1:
                actual = conn.execute(select(tasks.c.status).where(tasks.c.id == task_id))
                raise ConflictError(
                    task_id=task_id, expected=current, actual=actual.scalar_one(), requested=target
                )
            self._append_transition(conn, task_id, current, target, now, actor, reason)
            if opening is not None:
                insert_run(conn, opening)
            if closing is not None:
                close_run(conn, closing.id, closing.model_dump(include=RUN_ENDING))
            if artifacts:
                insert_artifacts(conn, artifacts)
            if review is not None:
                insert_review(conn, review)
            if measured:
                write_metrics(conn, measure(conn, task_id))
            return task.model_copy(update={**changes, "status": target})

    def reassign(self, task_id: str, agent: str, *, actor: str, reason: str = "") -> Task:
        """Give an ASSIGNED task to another agent; an audited event, not a status change."""
        with self._write() as conn:
            task = self._get_task(conn, task_id)
            if task.status is not Status.ASSIGNED:
                raise InvalidValueError(
                    f"task {task_id} is {task.status}, only an ASSIGNED task can be reassigned"
                )
            self._require_agent(conn, agent)
            if task.assignee == agent:
                return task
            now = utcnow()
            changed = conn.execute(
                update(tasks)
                .where(
                    tasks.c.id == task_id,
                    tasks.c.status == Status.ASSIGNED.value,
                    tasks.c.assignee == task.assignee,
                )
                .values(assignee=agent, updated_at=now)
            )
            if changed.rowcount != 1:
                actual = conn.execute(select(tasks.c.status).where(tasks.c.id == task_id))
                raise ConflictError(
                    task_id=task_id,
                    expected=Status.ASSIGNED,
                    actual=actual.scalar_one(),
                    requested=Status.ASSIGNED,
                )
            conn.execute(
                insert(task_events).values(
                    id=new_id(),
                    task_id=task_id,
                    kind="reassigned",
                    at=now,
                    actor=actor,
                    detail={"from": task.assignee, "to": agent, "reason": reason},
                )
            )
            return task.model_copy(update={"assignee": agent, "updated_at": now})

    # -- helpers --------------------------------------------------------------

    def _get_task(self, conn: Connection, task_id: str) -> Task:
        row = conn.execute(TASK_BY_ID, {"task_id": task_id}).first()
        if row is None:
            raise NotFoundError("task", task_id)
        # sorted: the order of an aggregate is the database's
        return _task_from_row(row, sorted(filter(None, (row.dependency_ids or "").split(","))))

    def _require_agent(self, conn: Connection, name: str) -> None:
        if conn.execute(AGENT_NAMED, {"name": name}).first() is None:
            raise NotFoundError("agent", name)

    def _assignee_for(
        self, conn: Connection, task: Task, target: Status, assignee: str | None
    ) -> str | None:
        if target is not Status.ASSIGNED:
            if assignee is not None:
                raise InvalidValueError("an assignee is given only with a move to ASSIGNED")
            return task.assignee
        chosen = assignee or task.assignee
        if chosen is None:
            raise InvalidValueError(
                f"task {task.id} has no assignee: use `taskline task assign {task.id} AGENT`"
            )
        self._require_agent(conn, chosen)
        return chosen

    def _check_dependencies(self, conn: Connection, task: Task) -> None:
        if not task.dependencies:
            return
        rows = conn.execute(
            select(tasks.c.id, tasks.c.status)
            .where(tasks.c.id.in_(task.dependencies), tasks.c.status != Status.COMPLETED.value)
            .order_by(tasks.c.id)
        ).all()
        if rows:
            raise DependenciesNotMetError(
                task_id=task.id, pending=[(row.id, row.status) for row in rows]
            )

    def _append_transition(
        self,
        conn: Connection,
        task_id: str,
        current: Status,
        target: Status,
        at: Any,
        actor: str,
        reason: str,
    ) -> None:
        last = conn.execute(LAST_TRANSITION, {"task_id": task_id}).scalar_one()
        conn.execute(
            insert(transitions),
            {
                "task_id": task_id,
                "seq": (last or 0) + 1,
                "from_status": current.value,
                "to_status": target.value,
                "at": at,
                "actor": actor,
                "reason": reason,
            },
        )

    # -- pages of tasks ---------------------------------------------------------

    def page_tasks(
        self,
        *,
        limit: int,
        offset: int = 0,
        after: str | None = None,
        newest_first: bool = False,
        status: Status | None = None,
        assignee: str | None = None,
    ) -> tuple[list[Task], int]:
        """At most `limit` tasks in creation order (or newest first), and how many match in all.

        `after` is a task id: the page starts past it in that order (ids sort in
        creation order, so it is a stable cursor), then skips `offset` more. The
        count ignores `after`, `offset` and `limit`. Both come from one read.
        """
        matching: list[Any] = []
        if status is not None:
            matching.append(tasks.c.status == status.value)
        if assignee is not None:
            matching.append(tasks.c.assignee == assignee)
        on_page = list(matching)
        if after is not None:
            on_page.append(tasks.c.id < after if newest_first else tasks.c.id > after)
        order = tasks.c.id.desc() if newest_first else tasks.c.id
        page = select(tasks).where(*on_page).order_by(order).offset(offset).limit(limit)
        # The page's ids again as a subquery: no bound parameter per id, whatever the limit.
        page_ids = select(tasks.c.id).where(*on_page).order_by(order).offset(offset).limit(limit)
        deps_query = (
            select(task_dependencies.c.task_id, task_dependencies.c.depends_on)
            .where(task_dependencies.c.task_id.in_(page_ids.scalar_subquery()))
            .order_by(task_dependencies.c.task_id, task_dependencies.c.depends_on)
        )
        count = select(func.count()).select_from(tasks).where(*matching)
        with self._read() as conn:
            rows = conn.execute(page).all()
            deps: dict[str, list[str]] = defaultdict(list)
            if rows:
                for task_id, depends_on in conn.execute(deps_query):
                    deps[task_id].append(depends_on)
            total = conn.execute(count).scalar_one()
        return [_task_from_row(row, deps[row.id]) for row in rows], total


def _agent_row(agent: Agent) -> dict[str, Any]:
    row = agent.model_dump(mode="python")
    row["skills"] = list(agent.skills)
    row["tools"] = None if agent.tools is None else list(agent.tools)
    row["mcp"] = [grant.model_dump(mode="json") for grant in agent.mcp]
    return row


def _agent_from_row(row: Row[Any]) -> Agent:
    return Agent.model_validate({name: getattr(row, name) for name in _AGENT_COLUMNS})


def _task_row(task: Task) -> dict[str, Any]:
    row = task.model_dump(mode="python", exclude={"dependencies"})
    for name in ("acceptance_criteria", "checks", "expected_artifacts", "reviewers", "ignore"):
        row[name] = list(row[name])
    row["status"] = task.status.value
    return row


def _task_from_row(row: Row[Any], dependencies: Sequence[str]) -> Task:
    values = {name: getattr(row, name) for name in _TASK_COLUMNS}
    values["dependencies"] = tuple(dependencies)
    return Task.model_validate(values)
