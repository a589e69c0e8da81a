"""Runbook runs: which checklist is being walked in which channel, and which steps are ticked."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, or_, select, update

from bot.store.db import Database, insert_ignoring_conflict
from bot.store.models import RunbookCheck, RunbookRun
from bot.store.schema import runbook_checks, runbook_runs


class RunbookRuns:
    """Start runs, tick steps, finish runs."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def start(
        self,
        runbook: str,
        *,
        channel: str,
        started_by: str,
        message_ts: str | None = None,
        at: datetime | None = None,
    ) -> RunbookRun:
        """Begin a run of `runbook` in `channel`."""
        values = {
            "runbook": runbook,
            "channel": channel,
            "message_ts": message_ts,
            "started_by": started_by,
            "started_at": at or datetime.now(UTC),
        }
        with self._db.write() as conn:
            row = conn.execute(insert(runbook_runs).values(values).returning(runbook_runs)).mappings().one()
        return RunbookRun.model_validate(dict(row))

    def set_message(self, run_id: int, message_ts: str) -> bool:
        """Remember the Slack message that shows the checklist; False if there is no such run."""
        stmt = update(runbook_runs).where(runbook_runs.c.id == run_id).values(message_ts=message_ts)
        with self._db.write() as conn:
            return conn.execute(stmt).rowcount == 1

    def check(self, run_id: int, step: int, *, by: str, note: str | None = None, at: datetime | None = None) -> bool:
        """Tick step `step`; False if someone already ticked it (the first tick stands)."""
        values = {"run_id": run_id, "step": step, "checked_by": by, "checked_at": at or datetime.now(UTC), "note": note}
        with self._db.write() as conn:
            return insert_ignoring_conflict(conn, runbook_checks, values, ["run_id", "step"]) is not None

    def finish(self, run_id: int, *, at: datetime | None = None) -> bool:
        """Mark the run finished; False if it already was (or does not exist)."""
        stmt = (
            update(runbook_runs)
            .where(runbook_runs.c.id == run_id, runbook_runs.c.finished_at.is_(None))
            .values(finished_at=at or datetime.now(UTC))
        )
        with self._db.write() as conn:
            return conn.execute(stmt).rowcount == 1

    def latest_open(self, channel: str, name: str | None = None) -> RunbookRun | None:
        """The newest unfinished run in `channel` (of runbook `name` when given, for any tenant), or None.

        `name` matches the stored run key exactly or its `<name>@<tenant>` form.
        """
        stmt = select(runbook_runs.c.id).where(runbook_runs.c.channel == channel, runbook_runs.c.finished_at.is_(None))
        if name is not None:
            stmt = stmt.where(
                or_(runbook_runs.c.runbook == name, runbook_runs.c.runbook.startswith(f"{name}@", autoescape=True))
            )
        stmt = stmt.order_by(runbook_runs.c.started_at.desc(), runbook_runs.c.id.desc()).limit(1)
        with self._db.read() as conn:
            run_id = conn.execute(stmt).scalar()
        return None if run_id is None else self.get(int(run_id))

    def get(self, run_id: int) -> RunbookRun | None:
        """The run with its ticked steps (in step order), or None."""
        with self._db.read() as conn:
            row = conn.execute(select(runbook_runs).where(runbook_runs.c.id == run_id)).mappings().first()
            if row is None:
                return None
            checks = conn.execute(
                select(runbook_checks).where(runbook_checks.c.run_id == run_id).order_by(runbook_checks.c.step)
            ).mappings()
            ticked = tuple(RunbookCheck.model_validate(dict(c)) for c in checks)
        return RunbookRun.model_validate({**row, "checks": ticked})
