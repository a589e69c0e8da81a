"""A scheduled report reaches its channel exactly once: claim -> send -> mark delivered.

The scheduler decides *when* a report slot is due; this module gets it
delivered:

1. **Claim** the slot in the store (`store.deliveries.claim`): the first claim,
   or a take-over of an unfinished slot whose retry is due or whose sender
   crashed (its hold, ``scheduler.report_attempt_seconds``, ran out).
2. **Send** through the daily-report job. The job gets a `KeyedOutbox`: the
   report's message carries the slot's idempotency key (Slack: in its
   metadata), and right before posting the attempt renews its hold, so an
   attempt that was taken over does not post. A retry first looks for a message
   carrying the key (`Outbox.find_keyed`): a crash between posting and step 3
   costs nothing but the look-up.
3. **Mark delivered** with the posted message's ts.

A failed attempt is retried with backoff (``report_retry_seconds``, doubling
up to ``report_retry_max_seconds``) while the slot is still worth sending (the
report grace, ``catch_up_hours``), by whichever replica leads. When the grace
runs out the slot is given up, once across replicas: the channel is told, and
the log and ``minio_chatops_reports_undelivered_total`` say so too (the only
trace when Slack itself is down).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot.config import ChannelConfig, SchedulerConfig
from bot.outbox import Outbox, OutboxError, Prompt
from bot.report import Report, code, emoji, spans, when
from bot.store.errors import StoreError
from bot.store.report_deliveries import ReportDeliveries

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger("minio_chatops.scheduler")

FIND_MARGIN = timedelta(minutes=5)  # look for the keyed message from a little before the slot (clock skew)

Send = Callable[[Outbox, ChannelConfig, datetime, datetime], object]
"""Post one slot's report through the given outbox: (outbox, channel, slot, now)."""

ScheduleRetry = Callable[[str, datetime, datetime], None]
"""Run the slot again later: (channel id, slot, when)."""


def idempotency_key(channel_id: str, slot: datetime) -> str:
    """The key a slot's report carries: the same for every attempt, replica and restart."""
    return f"minio-chatops:report:{channel_id}:{slot.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


@dataclass(frozen=True)
class RetryPolicy:
    """How often a slot is retried, and how long one attempt holds it."""

    first: timedelta
    most: timedelta
    hold: timedelta

    @classmethod
    def of(cls, settings: SchedulerConfig) -> RetryPolicy:
        return cls(
            first=timedelta(seconds=settings.report_retry_seconds),
            most=timedelta(seconds=settings.report_retry_max_seconds),
            hold=timedelta(seconds=settings.report_attempt_seconds),
        )

    def delay(self, attempt: int) -> timedelta:
        """The wait after failed attempt number ``attempt`` (1, 2, ...): doubling, capped."""
        return min(self.first * 2 ** max(0, min(attempt - 1, 20)), self.most)


class Superseded(OutboxError):
    """Another attempt took this slot over before this one posted: this one must not post."""

    def __init__(self) -> None:
        super().__init__("another attempt took this report over", "superseded")


class KeyedOutbox:
    """The outbox a slot's report job posts through.

    Its first top-level post to the slot's channel is the report: it is posted
    with the slot's key, only if ``still_mine()`` confirms the attempt still
    holds the slot, and its ts is kept in ``posted_ts``. Everything else passes
    through unchanged.
    """

    def __init__(self, inner: Outbox, channel: str, key: str, still_mine: Callable[[], bool]) -> None:
        self.inner = inner
        self.channel = channel
        self.key = key
        self.still_mine = still_mine
        self.posted_ts: str | None = None

    def post(self, channel: str, report: Report, thread_ts: str | None = None) -> str:
        if channel != self.channel or thread_ts is not None or self.posted_ts is not None:
            return self.inner.post(channel, report, thread_ts)
        if not self.still_mine():
            raise Superseded()
        self.posted_ts = self.inner.post_keyed(channel, report, self.key)
        return self.posted_ts

    def post_keyed(self, channel: str, report: Report, key: str) -> str:
        return self.inner.post_keyed(channel, report, key)

    def find_keyed(self, channel: str, key: str, since: datetime) -> str | None:
        return self.inner.find_keyed(channel, key, since)

    def update(self, channel: str, ts: str, report: Report) -> None:
        self.inner.update(channel, ts, report)

    def notify(self, channel: str, report: Report) -> None:
        self.inner.notify(channel, report)

    def create_channel(self, name: str, private: bool) -> str:
        return self.inner.create_channel(name, private)

    def invite(self, channel: str, users: list[str]) -> dict[str, str]:
        return self.inner.invite(channel, users)

    def pin(self, channel: str, ts: str) -> None:
        self.inner.pin(channel, ts)

    def permalink(self, channel: str, ts: str) -> str | None:
        return self.inner.permalink(channel, ts)

    def open_modal(self, trigger_id: str, prompt: Prompt) -> None:
        self.inner.open_modal(trigger_id, prompt)


def undelivered_note(slot: datetime, reason: str | None) -> Report:
    """What the channel is told when its report could not be delivered while it was worth sending."""
    because = spans(": ", reason) if reason else spans()
    return Report(
        title="",
        summary=spans(
            emoji("warning"), " The daily report due ", when(slot), " could not be delivered", because,
            ". Run ", code("/minio report now"), " for a current one.",
        ),
    )


def _reason(exc: BaseException) -> str:
    """One line for logs and the channel: a typed error's own text, else only the error's type."""
    if isinstance(exc, OutboxError | StoreError):
        return str(exc)[:300]
    return type(exc).__name__


class SlotDelivery:
    """Claims, sends, retries and marks one channel's report slots (used by the scheduler)."""

    def __init__(
        self,
        runtime: Runtime,
        outbox: Outbox,
        *,
        identity: str,
        grace: timedelta,
        clock: Callable[[], datetime],
        schedule_retry: ScheduleRetry,
    ) -> None:
        self.runtime = runtime
        self.outbox = outbox
        self.identity = identity or None
        self.grace = grace
        self.clock = clock
        self.schedule_retry = schedule_retry
        self.policy = RetryPolicy.of(runtime.config.scheduler)

    @property
    def _store(self) -> ReportDeliveries:
        return self.runtime.store.deliveries

    def deliver(self, job: str, channel: ChannelConfig, slot: datetime, now: datetime, send: Send) -> str:
        """Claim the slot and, when granted, send it. Outcome: sent, skipped or failed.

        Raises StoreError when the claim cannot be made (the caller defers).
        """
        key = idempotency_key(channel.id, slot)
        claim = self._store.claim(job, slot, channel=channel.id, key=key, by=self.identity, at=now,
                                  lease=self.policy.hold)
        delivery = claim.delivery
        if not claim.granted or delivery is None:
            if delivery is not None and not delivery.finished and delivery.due_at is not None:
                self.schedule_retry(channel.id, slot, delivery.due_at)  # look again when it is due
            return "skipped"
        attempt = delivery.attempts
        if attempt > 1:
            try:
                found = self.outbox.find_keyed(channel.id, delivery.key, slot - FIND_MARGIN)
            except Exception as exc:  # noqa: BLE001 - unknown whether it was posted: not now, later
                return self._failed(job, channel, slot, attempt, exc)
            if found:
                log.info("daily report already in the channel; not posting it again",
                         extra={"channel": channel.id, "slot": slot.isoformat(), "attempt": attempt})
                self._delivered(job, channel, slot, found)
                return "sent"
        keyed = KeyedOutbox(self.outbox, channel.id, delivery.key, lambda: self._still_mine(job, slot, attempt))
        log.info("sending the daily report",
                 extra={"channel": channel.id, "slot": slot.isoformat(), "attempt": attempt})
        try:
            send(keyed, channel, slot, now)
        except Superseded:
            log.info("daily report taken over by another attempt", extra={"channel": channel.id, "attempt": attempt})
            return "skipped"
        except Exception as exc:  # noqa: BLE001 - a failed attempt is retried, never raised into APScheduler
            return self._failed(job, channel, slot, attempt, exc)
        self._delivered(job, channel, slot, keyed.posted_ts)
        return "sent"

    def give_up_overdue(self, job: str, channel: ChannelConfig, now: datetime) -> None:
        """Give up slots whose grace ran out undelivered (e.g. while no replica led), and say so."""
        try:
            overdue = self._store.unfinished(job, before=now - self.grace)
        except StoreError as exc:
            log.warning("undelivered reports not checked", extra={"channel": channel.id, "error": exc.message})
            return
        for delivery in overdue:
            self._give_up(job, channel, delivery.scheduled_for, delivery.last_error)

    # ----- steps -------------------------------------------------------------------------

    def _still_mine(self, job: str, slot: datetime, attempt: int) -> bool:
        try:
            return bool(self._store.renew(job, slot, attempt=attempt, until=self.clock() + self.policy.hold))
        except StoreError:
            return True  # nobody can take the slot over without the store either

    def _delivered(self, job: str, channel: ChannelConfig, slot: datetime, ts: str | None) -> None:
        try:
            self._store.mark_delivered(job, slot, message_ts=ts, at=self.clock())
        except StoreError as exc:
            # The report is in the channel; once this attempt's hold ends, a retry finds it by its key.
            log.warning("daily report delivered but not recorded", extra={"channel": channel.id, "error": exc.message})
            self.schedule_retry(channel.id, slot, self.clock() + self.policy.hold)

    def _failed(self, job: str, channel: ChannelConfig, slot: datetime, attempt: int, exc: BaseException) -> str:
        reason = _reason(exc)
        now = self.clock()
        retry_at = now + self.policy.delay(attempt)
        if retry_at > slot + self.grace:
            self._give_up(job, channel, slot, reason)
            return "failed"
        try:
            recorded = self._store.mark_failed(job, slot, attempt=attempt, error=reason, retry_at=retry_at)
        except StoreError:
            recorded = False
        if not recorded:
            retry_at = max(retry_at, now + self.policy.hold)  # the slot is still held by this attempt's claim
        log.warning("daily report not delivered; will retry", extra={
            "channel": channel.id, "slot": slot.isoformat(), "attempt": attempt, "error": reason,
            "retry_in_s": int((retry_at - now).total_seconds()),
        })
        self.schedule_retry(channel.id, slot, retry_at)
        return "failed"

    def _give_up(self, job: str, channel: ChannelConfig, slot: datetime, reason: str | None) -> None:
        try:
            first = self._store.give_up(job, slot, error=reason, at=self.clock())
        except StoreError:
            first = True  # better told twice than never
        if not first:
            return
        self.runtime.metrics.reports_undelivered.labels(channel.id).inc()
        log.error("daily report not delivered while it was worth sending", extra={
            "channel": channel.id, "slot": slot.isoformat(), "error": reason or "unknown",
        })
        try:
            self.outbox.post(channel.id, undelivered_note(slot, reason))
        except OutboxError as exc:
            log.error("could not tell the channel its report was not delivered",
                      extra={"channel": channel.id, "error": exc.code or str(exc)[:200]})
