"""Alertmanager notifications: each delivered once, and one row per alert group for its one message.

Alertmanager retries a notification until it is acknowledged and repeats an
unchanged group every ``repeat_interval``; both send the same groupKey, status
and alert fingerprints. :meth:`AlertGroups.claim_delivery` makes "is this one
new?" a single INSERT on a unique key, so three copies arriving at once, at one
replica or at three, are processed once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update

from bot.store.db import Database, insert_ignoring_conflict
from bot.store.models import AlertGroup, JsonObject
from bot.store.schema import alert_deliveries, alert_groups

DELIVERY_RETENTION = timedelta(days=30)
"""Claims older than this are dropped when new ones arrive (a repeat that old is a new event anyway)."""

_UPDATABLE = frozenset(
    {"status", "tenant", "channel", "message_ts", "record", "evidence", "silence_id", "silenced_by",
     "silenced_until", "incident_id", "resolved_at"}
)


class AlertGroups:
    """Delivery claims and alert-group rows."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # ----- deliveries ---------------------------------------------------------------

    def claim_delivery(self, key: str, *, group_id: str, status: str, at: datetime) -> bool:
        """True the first time ``key`` is claimed; False for a duplicate.

        Claiming a group's new status forgets its claims of the other status, so a
        group that fires, resolves and fires again with the same alerts is a new
        notification each time, while retries and repeats of the current one are not.
        """
        values = {"key": key, "group_id": group_id, "status": status, "received_at": at}
        with self._db.write() as conn:
            if insert_ignoring_conflict(conn, alert_deliveries, values, ["key"]) is None:
                return False
            conn.execute(
                delete(alert_deliveries).where(
                    alert_deliveries.c.group_id == group_id, alert_deliveries.c.status != status
                )
            )
            conn.execute(delete(alert_deliveries).where(alert_deliveries.c.received_at < at - DELIVERY_RETENTION))
        return True

    def release_delivery(self, key: str) -> None:
        """Forget a claim whose processing failed, so Alertmanager's next retry or repeat is processed."""
        with self._db.write() as conn:
            conn.execute(delete(alert_deliveries).where(alert_deliveries.c.key == key))

    # ----- groups -------------------------------------------------------------------

    def start(
        self,
        group_id: str,
        *,
        group_key: str,
        status: str,
        record: JsonObject,
        at: datetime,
        tenant: str | None = None,
        channel: str | None = None,
    ) -> tuple[AlertGroup, bool]:
        """The group's row, created now if it did not exist; ``True`` when this call created it."""
        values = {
            "id": group_id, "group_key": group_key, "status": status, "tenant": tenant, "channel": channel,
            "record": record, "evidence": {}, "first_seen": at, "updated_at": at,
        }
        with self._db.write() as conn:
            created = insert_ignoring_conflict(conn, alert_groups, values, ["id"]) is not None
            row = conn.execute(select(alert_groups).where(alert_groups.c.id == group_id)).mappings().one()
        return AlertGroup.model_validate(dict(row)), created

    def get(self, group_id: str) -> AlertGroup | None:
        """One group, or None."""
        with self._db.read() as conn:
            row = conn.execute(select(alert_groups).where(alert_groups.c.id == group_id)).mappings().first()
        return None if row is None else AlertGroup.model_validate(dict(row))

    def update(self, group_id: str, *, at: datetime, **values: Any) -> AlertGroup | None:
        """Change the named columns (``status``, ``message_ts``, ``evidence``, ``silence_id``, ...); the new row."""
        unknown = set(values) - _UPDATABLE
        if unknown:
            raise ValueError(f"alert_groups has no updatable column {', '.join(sorted(unknown))}")
        with self._db.write() as conn:
            conn.execute(update(alert_groups).where(alert_groups.c.id == group_id).values(updated_at=at, **values))
            row = conn.execute(select(alert_groups).where(alert_groups.c.id == group_id)).mappings().first()
        return None if row is None else AlertGroup.model_validate(dict(row))

    def open_for(self, tenant: str) -> list[AlertGroup]:
        """The tenant's firing groups, oldest first."""
        stmt = (
            select(alert_groups)
            .where(alert_groups.c.tenant == tenant, alert_groups.c.status == "firing")
            .order_by(alert_groups.c.first_seen)
        )
        with self._db.read() as conn:
            return [AlertGroup.model_validate(dict(r)) for r in conn.execute(stmt).mappings()]

    def discard(self, group_id: str) -> None:
        """Drop a group whose first message never went out, so the next delivery starts it afresh."""
        with self._db.write() as conn:
            conn.execute(delete(alert_groups).where(alert_groups.c.id == group_id, alert_groups.c.message_ts.is_(None)))

    def with_message(self, channel: str, message_ts: str) -> AlertGroup | None:
        """The group whose message is ``message_ts`` in ``channel``, if any."""
        stmt = select(alert_groups).where(alert_groups.c.channel == channel, alert_groups.c.message_ts == message_ts)
        with self._db.read() as conn:
            row = conn.execute(stmt).mappings().first()
        return None if row is None else AlertGroup.model_validate(dict(row))
