"""Alert state per key ("capacity:demo", "health:demo"), so a restart does not repeat a notification.

The table is the contract between everything that tells a channel about a
tenant's health or capacity (the bot's own checks, Alertmanager's groups): a
row is what the channels were last told, with the ts of the message that told
it. Whoever tells a channel writes the row; whoever is about to tell reads it
first, and says nothing new when the level is the same. The levels:

* ``health:<tenant>``: HEALTHY, DEGRADED or UNHEALTHY (:func:`health_level` of a verdict);
* ``capacity:<tenant>``: OK, PLAN, ALERT or CRITICAL against the tenant's thresholds;
* ``backup:<tenant>``: OK or FAILED, the scheduled backup verification (``handlers.backup.schedule``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from bot.report import Status
from bot.store.db import Database, upsert
from bot.store.models import AlertState
from bot.store.schema import alert_state

BASELINES = {"health": "HEALTHY", "capacity": "OK", "backup": "OK"}
"""The level nobody needs telling about, per kind: a tenant first seen starts here."""


def alert_key(kind: str, tenant: str) -> str:
    """The row of one kind (``health`` or ``capacity``) for one tenant."""
    return f"{kind}:{tenant}"


def health_level(status: Status) -> str | None:
    """The stored level of a health verdict; None for UNKNOWN (no facts: nothing to tell)."""
    if status in (Status.HEALTHY, Status.INFO):
        return "HEALTHY"
    if status in (Status.DEGRADED, Status.UNHEALTHY):
        return status.value
    return None


class AlertStates:
    """Read and replace the last known state of each alert key."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, key: str) -> AlertState | None:
        """The stored state for `key`, or None if it was never recorded."""
        with self._db.read() as conn:
            row = conn.execute(select(alert_state).where(alert_state.c.key == key)).mappings().first()
        return None if row is None else AlertState.model_validate(dict(row))

    def put(
        self,
        key: str,
        state: str,
        *,
        since: datetime,
        last_notified_at: datetime | None = None,
        message_ts: str | None = None,
    ) -> AlertState:
        """Insert or replace the state for `key` (one atomic upsert) and return it."""
        record = AlertState(key=key, state=state, since=since, last_notified_at=last_notified_at, message_ts=message_ts)
        with self._db.write() as conn:
            upsert(conn, alert_state, record.model_dump(), ["key"])
        return record

    def all(self, prefix: str = "") -> list[AlertState]:
        """Every stored state whose key starts with `prefix`, by key."""
        stmt = select(alert_state).order_by(alert_state.c.key)
        if prefix:
            stmt = stmt.where(alert_state.c.key.startswith(prefix, autoescape=True))
        with self._db.read() as conn:
            return [AlertState.model_validate(dict(r)) for r in conn.execute(stmt).mappings()]
