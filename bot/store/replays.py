"""Slack request keys already served: replay protection that every replica shares.

A signed Slack request is valid for five minutes. Whoever captures one can send
it again within that window, to any replica. The HTTP endpoint derives a key
from exactly what the signature covers (timestamp and raw body); before the
request's work runs, the key is claimed here, and the INSERT that finds the key
taken is the replay. Keys expire after the window and are deleted on the way
(at most every :data:`PURGE_EVERY`).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select

from bot.store.db import Database, insert_ignoring_conflict
from bot.store.schema import slack_replay_keys

PURGE_EVERY = timedelta(seconds=30)


class ReplayKeys:
    """Claim request keys once, across replicas and restarts."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._lock = threading.Lock()
        self._purged_at: datetime | None = None

    def claim(self, key: str, expires_at: datetime, *, now: datetime | None = None) -> bool:
        """True the first time ``key`` is claimed; False for every later claim until it expires.

        A key can only be presented again after its expiry if its request's
        timestamp is still accepted, so ``expires_at`` must lie beyond that window.
        """
        moment = now or datetime.now(UTC)
        with self._lock:
            purge = self._purged_at is None or moment - self._purged_at >= PURGE_EVERY
            if purge:
                self._purged_at = moment
        with self._db.write() as conn:
            if purge:
                conn.execute(delete(slack_replay_keys).where(slack_replay_keys.c.expires_at < moment))
            inserted = insert_ignoring_conflict(
                conn, slack_replay_keys, {"key": key, "expires_at": expires_at}, ["key"]
            )
        return inserted is not None

    def count(self) -> int:
        """How many keys are held now (expired ones included until the next purge)."""
        with self._db.read() as conn:
            return int(conn.execute(select(func.count()).select_from(slack_replay_keys)).scalar_one())
