"""Maintenance windows: while one is open, alerts for the tenant are muted.

A window records what enabling it changed (``changes``), so closing it undoes
exactly that and nothing an operator changed by hand in between. At most one
window per tenant is open at a time; a partial unique index makes that hold
even when two replicas open one at the same moment.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update

from bot.store.db import Database, insert_ignoring_conflict
from bot.store.models import JsonObject, MaintenanceWindow
from bot.store.schema import maintenance_windows as windows


class MaintenanceWindows:
    """Open, close and look up maintenance windows."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def open(
        self,
        tenant: str,
        *,
        started_by: str,
        until: datetime,
        changes: JsonObject,
        at: datetime | None = None,
    ) -> MaintenanceWindow | None:
        """Open a window until `until`; None if the tenant already has one that is not closed."""
        values = {
            "tenant": tenant,
            "started_by": started_by,
            "started_at": at or datetime.now(UTC),
            "until": until,
            "changes": changes,
        }
        with self._db.write() as conn:
            new_id = insert_ignoring_conflict(conn, windows, values, ["tenant"], where=windows.c.ended_at.is_(None))
            if new_id is None:
                return None
            row = conn.execute(select(windows).where(windows.c.id == new_id)).mappings().one()
        return MaintenanceWindow.model_validate(dict(row))

    def close(self, window_id: int, *, at: datetime | None = None) -> bool:
        """Close the window; False if it was already closed (another replica or command got there first)."""
        stmt = (
            update(windows)
            .where(windows.c.id == window_id, windows.c.ended_at.is_(None))
            .values(ended_at=at or datetime.now(UTC))
        )
        with self._db.write() as conn:
            return conn.execute(stmt).rowcount == 1

    def get(self, window_id: int) -> MaintenanceWindow | None:
        """One window, or None."""
        with self._db.read() as conn:
            row = conn.execute(select(windows).where(windows.c.id == window_id)).mappings().first()
        return None if row is None else MaintenanceWindow.model_validate(dict(row))

    def current(self, tenant: str) -> MaintenanceWindow | None:
        """The tenant's window that is not closed yet, even if its `until` has passed."""
        stmt = select(windows).where(windows.c.tenant == tenant, windows.c.ended_at.is_(None))
        with self._db.read() as conn:
            row = conn.execute(stmt).mappings().first()
        return None if row is None else MaintenanceWindow.model_validate(dict(row))

    def active(self, tenant: str, now: datetime) -> MaintenanceWindow | None:
        """The tenant's window in force at `now` (open, and `until` still ahead), or None."""
        window = self.current(tenant)
        return window if window is not None and window.until > now else None

    def overdue(self, now: datetime) -> list[MaintenanceWindow]:
        """Windows past their `until` but not closed yet: the scheduler closes (and reverses) these."""
        stmt = (
            select(windows)
            .where(windows.c.ended_at.is_(None), windows.c.until <= now)
            .order_by(windows.c.until, windows.c.id)
        )
        with self._db.read() as conn:
            return [MaintenanceWindow.model_validate(dict(r)) for r in conn.execute(stmt).mappings()]
