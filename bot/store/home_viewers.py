"""Who opened the App Home tab, shared by every replica.

The tab is refreshed by the alert check, which runs on the leader; the users
who opened their tab were often served by another replica. Each open is
recorded here (one row per user, its latest time), and the refresh reads the
users seen within :data:`VIEWER_TTL`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from bot.store.db import Database, upsert
from bot.store.schema import home_viewers

VIEWER_TTL = timedelta(days=30)
"""A user who has not opened the tab for this long is no longer refreshed (their next visit publishes it)."""


class HomeViewers:
    """Record and list the users who opened their Home tab."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def saw(self, user: str, *, now: datetime | None = None) -> None:
        """``user`` opened (or paged) their tab now."""
        with self._db.write() as conn:
            upsert(conn, home_viewers, {"user_id": user, "seen_at": now or datetime.now(UTC)}, ["user_id"])

    def recent(self, *, now: datetime | None = None) -> list[str]:
        """Users seen within the TTL (oldest rows are deleted on the way)."""
        since = (now or datetime.now(UTC)) - VIEWER_TTL
        with self._db.write() as conn:
            conn.execute(delete(home_viewers).where(home_viewers.c.seen_at < since))
            rows = conn.execute(select(home_viewers.c.user_id).order_by(home_viewers.c.user_id))
            return [str(r.user_id) for r in rows]
