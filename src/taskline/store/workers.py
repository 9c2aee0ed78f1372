"""Worker heartbeats: who is alive, and who may take over the runs of who is not."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update

from taskline.models import utcnow
from taskline.records import Worker
from taskline.store.base import SqlBase
from taskline.store.tables import workers


class WorkerQueries(SqlBase):
    """The `workers` table."""

    def heartbeat(self, worker_id: str) -> None:
        """Record that the worker is alive now (registering it on its first beat)."""
        now = utcnow()
        with self._write() as conn:
            seen = conn.execute(
                update(workers)
                .where(workers.c.id == worker_id)
                .values(status="running", last_seen_at=now, adopted_by=None)
            )
            if seen.rowcount == 0:
                conn.execute(
                    insert(workers).values(
                        id=worker_id, status="running", started_at=now, last_seen_at=now
                    )
                )

    def workers(self) -> list[Worker]:
        """Every worker that ever beat, by id."""
        with self._read() as conn:
            rows = conn.execute(select(workers).order_by(workers.c.id)).all()
        return [Worker.model_validate(row._asdict()) for row in rows]

    def stop_worker(self, worker_id: str) -> None:
        """Record that the worker left cleanly; its unfinished runs wait for it or an adopter."""
        with self._write() as conn:
            conn.execute(update(workers).where(workers.c.id == worker_id).values(status="stopped"))

    def claim_silent_workers(self, claimant: str, silent_since: datetime) -> list[str]:
        """Take over every other worker not seen since `silent_since`; each is claimed by
        exactly one live worker (a conditional update), which then adopts its runs."""
        with self._read() as conn:
            candidates = (
                conn.execute(
                    select(workers.c.id).where(
                        workers.c.id != claimant,
                        workers.c.status.in_(("running", "stopped")),
                        workers.c.last_seen_at < silent_since,
                    )
                )
                .scalars()
                .all()
            )
        claimed = []
        for worker_id in candidates:
            with self._write() as conn:
                taken = conn.execute(
                    update(workers)
                    .where(
                        workers.c.id == worker_id,
                        workers.c.status.in_(("running", "stopped")),
                        workers.c.last_seen_at < silent_since,
                    )
                    .values(status="adopted", adopted_by=claimant)
                )
            if taken.rowcount == 1:
                claimed.append(worker_id)
        return claimed
