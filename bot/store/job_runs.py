"""Scheduled-job claims: a job runs at most once per scheduled time, across replicas and restarts."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from bot.store.db import Database, insert_ignoring_conflict
from bot.store.schema import scheduler_runs


class JobRuns:
    """Claim slots of scheduled jobs."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def claim_run(
        self,
        job_id: str,
        scheduled_for: datetime,
        *,
        by: str | None = None,
        at: datetime | None = None,
    ) -> bool:
        """True if this caller is the first to claim (`job_id`, `scheduled_for`) and should run the job.

        The unique key on the pair decides: every other replica, and this one
        after a restart, gets False for the same slot.
        """
        values = {"job_id": job_id, "scheduled_for": scheduled_for, "ran_at": at or datetime.now(UTC), "by": by}
        with self._db.write() as conn:
            return insert_ignoring_conflict(conn, scheduler_runs, values, ["job_id", "scheduled_for"]) is not None

    def last_claimed(self, job_id: str) -> datetime | None:
        """The latest slot claimed for `job_id` (to catch up after downtime), or None."""
        stmt = select(func.max(scheduler_runs.c.scheduled_for)).where(scheduler_runs.c.job_id == job_id)
        with self._db.read() as conn:
            # max() keeps the column's type, so the value comes back through UtcDateTime (aware UTC).
            last: datetime | None = conn.execute(stmt).scalar()
        return last
