"""Report slots: claim -> send -> mark delivered, so a scheduled report reaches its channel exactly once.

A slot is claimed once (the ``scheduler_runs`` row, as for every scheduled job)
and gets a delivery row in the same transaction. An attempt holds the slot for
a lease (``attempt_until``); a failed attempt records when the next one is due;
a delivered slot records the posted message's ts. A crashed attempt simply lets
its lease run out, after which whichever replica leads takes the slot over (it
first looks for the message by its idempotency key, so a post that happened
before the crash is not repeated).

``attempts`` is the fencing token: a take-over increments it, and an attempt may
renew its lease or record its failure only while the number is still its own.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, update

from bot.store.db import Database, insert_ignoring_conflict
from bot.store.models import DeliveryStatus, ReportDelivery, SlotClaim
from bot.store.schema import report_deliveries, scheduler_runs

_T = report_deliveries
_UNFINISHED = (DeliveryStatus.SENDING.value, DeliveryStatus.RETRYING.value)
ERROR_CHARS = 300


class ReportDeliveries:
    """The delivery state of scheduled report slots."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def claim(
        self,
        job_id: str,
        scheduled_for: datetime,
        *,
        channel: str,
        key: str,
        by: str | None,
        at: datetime,
        lease: timedelta,
    ) -> SlotClaim:
        """Start an attempt at the slot if nobody else may: the first claim, or a take-over of an unfinished slot.

        Granted when this caller claims the slot first, or when the slot is
        unfinished and due: its last attempt failed and its retry time has come,
        or the attempt holding it let its lease run out (it crashed). The
        attempt then holds the slot until ``at + lease``.
        """
        values = {"job_id": job_id, "scheduled_for": scheduled_for, "ran_at": at, "by": by}
        attempt = {"status": DeliveryStatus.SENDING.value, "attempt_by": by, "attempt_until": at + lease,
                   "next_attempt_at": None}
        with self._db.write() as conn:
            if insert_ignoring_conflict(conn, scheduler_runs, values, ["job_id", "scheduled_for"]) is not None:
                conn.execute(_T.insert().values(
                    job_id=job_id, scheduled_for=scheduled_for, channel=channel, key=key, attempts=1,
                    claimed_at=at, **attempt,
                ))
                return SlotClaim(granted=True, delivery=_get(conn, job_id, scheduled_for))
            current = _get(conn, job_id, scheduled_for)
            if current is None or current.finished or (current.due_at is not None and current.due_at > at):
                return SlotClaim(granted=False, delivery=current)
            taken = conn.execute(
                update(_T)
                .where(*_slot(job_id, scheduled_for), _T.c.status == current.status.value,
                       _T.c.attempts == current.attempts)
                .values(attempts=current.attempts + 1, **attempt)
            ).rowcount
            return SlotClaim(granted=taken == 1, delivery=_get(conn, job_id, scheduled_for))

    def renew(self, job_id: str, scheduled_for: datetime, *, attempt: int, until: datetime) -> bool:
        """Extend attempt number ``attempt``'s hold on the slot; False when another attempt has taken it over.

        Called right before posting: an attempt that lost the slot must not post.
        """
        return self._update(
            job_id, scheduled_for, [_T.c.status == DeliveryStatus.SENDING.value, _T.c.attempts == attempt],
            attempt_until=until,
        )

    def mark_delivered(self, job_id: str, scheduled_for: datetime, *, message_ts: str | None, at: datetime) -> bool:
        """Record that the report is in the channel (as message ``message_ts``); False when it already was.

        Any attempt that posted may record it, even one given up on or superseded:
        the message exists, and the state must say so.
        """
        return self._update(
            job_id, scheduled_for, [_T.c.status != DeliveryStatus.DELIVERED.value],
            status=DeliveryStatus.DELIVERED.value, delivered_at=at, message_ts=message_ts, attempt_until=None,
            next_attempt_at=None,
        )

    def mark_failed(
        self, job_id: str, scheduled_for: datetime, *, attempt: int, error: str, retry_at: datetime
    ) -> bool:
        """Attempt ``attempt`` failed: the next is due at ``retry_at``. False when the slot is no longer its own."""
        return self._update(
            job_id, scheduled_for, [_T.c.status == DeliveryStatus.SENDING.value, _T.c.attempts == attempt],
            status=DeliveryStatus.RETRYING.value, next_attempt_at=retry_at, attempt_until=None,
            last_error=error[:ERROR_CHARS],
        )

    def give_up(self, job_id: str, scheduled_for: datetime, *, error: str | None, at: datetime) -> bool:
        """Stop trying: the slot is no longer worth sending. True for exactly one caller (who says so)."""
        values: dict[str, Any] = {"status": DeliveryStatus.UNDELIVERED.value, "gave_up_at": at,
                                  "attempt_until": None, "next_attempt_at": None}
        if error:
            values["last_error"] = error[:ERROR_CHARS]
        return self._update(job_id, scheduled_for, [_T.c.status.in_(_UNFINISHED)], **values)

    def get(self, job_id: str, scheduled_for: datetime) -> ReportDelivery | None:
        """The slot's delivery state, or None when it has none (never claimed, or claimed by an older version)."""
        with self._db.read() as conn:
            return _get(conn, job_id, scheduled_for)

    def unfinished(self, job_id: str, *, before: datetime) -> list[ReportDelivery]:
        """Slots of ``job_id`` scheduled before ``before`` that were neither delivered nor given up, oldest first."""
        stmt = (
            select(_T)
            .where(_T.c.job_id == job_id, _T.c.status.in_(_UNFINISHED), _T.c.scheduled_for < before)
            .order_by(_T.c.scheduled_for)
        )
        with self._db.read() as conn:
            return [ReportDelivery.model_validate(dict(r)) for r in conn.execute(stmt).mappings()]

    def latest(self, job_id: str) -> ReportDelivery | None:
        """The most recent slot of ``job_id`` with a delivery state, or None."""
        stmt = select(_T).where(_T.c.job_id == job_id).order_by(_T.c.scheduled_for.desc()).limit(1)
        with self._db.read() as conn:
            row = conn.execute(stmt).mappings().first()
        return None if row is None else ReportDelivery.model_validate(dict(row))

    def last_delivered(self, job_id: str) -> datetime | None:
        """The latest slot of ``job_id`` known to be in its channel, or None.

        A claim from before delivery tracking (no delivery row) counts as sent, as it did then.
        """
        joined = scheduler_runs.outerjoin(
            _T, and_(_T.c.job_id == scheduler_runs.c.job_id, _T.c.scheduled_for == scheduler_runs.c.scheduled_for)
        )
        stmt = (
            select(func.max(scheduler_runs.c.scheduled_for))
            .select_from(joined)
            .where(scheduler_runs.c.job_id == job_id,
                   or_(_T.c.status.is_(None), _T.c.status == DeliveryStatus.DELIVERED.value))
        )
        with self._db.read() as conn:
            last: datetime | None = conn.execute(stmt).scalar()
        return last

    def _update(self, job_id: str, scheduled_for: datetime, where: list[Any], **values: Any) -> bool:
        with self._db.write() as conn:
            return conn.execute(update(_T).where(*_slot(job_id, scheduled_for), *where).values(**values)).rowcount == 1


def _slot(job_id: str, scheduled_for: datetime) -> list[Any]:
    return [_T.c.job_id == job_id, _T.c.scheduled_for == scheduled_for]


def _get(conn: Connection, job_id: str, scheduled_for: datetime) -> ReportDelivery | None:
    row = conn.execute(select(_T).where(*_slot(job_id, scheduled_for))).mappings().first()
    return None if row is None else ReportDelivery.model_validate(dict(row))
