"""Background jobs, run by the leader replica only (APScheduler 3, one BackgroundScheduler).

Jobs:

* ``report:<channel>``: the daily report, on the channel's cron in its time zone;
  optionally followed by the daily runbook checklist (``report.checklist``).
* ``snapshots``: a capacity snapshot of every tenant (``scheduler.snapshot_minutes``).
* ``alerts``: health and capacity alert evaluation (``scheduler.alert_check_minutes``).
* ``backup-verify``: every ``scheduler.backup_check_minutes``, each tenant whose backup verification is
  due (``backup.verify_every_hours``, slots aligned to the epoch) is claimed as
  ``backup-verify:<tenant>`` for that slot (one run per slot across replicas, recorded in the job runs)
  and verified.
* ``approvals``: the approval expiry sweep (``scheduler.approval_sweep_seconds``).
* ``executions``: what a stopped bot process left half-way, i.e. approved or executing
  requests whose lease expired: refused, or taken over and resumed on this process's
  change executor (every ``executions.check_seconds``, so a resume comes within one
  lease period of the stop, plus those few seconds).

**Exactly once.** A report slot is claimed, sent, then marked delivered
(`bot.slot_delivery`): the claim is a unique row, so across replicas, restarts
and leader hand-overs one caller starts each slot; a failed attempt is retried
with backoff while the slot is still worth sending (the grace below), by
whichever replica leads; the report's message carries the slot's idempotency
key, so a retry after a crash between posting and marking finds it instead of
posting it again; and a slot that could not be delivered within the grace is
given up once, with a note to the channel. The slot is a pure function of the
cron, the zone and the clock (`latest_fire_time`), so every replica names it
identically.

**Missed runs.** APScheduler forgets runs missed while the process was down, so
``start()`` runs each report job once at once: it looks for the latest slot
within ``scheduler.catch_up_hours`` and sends it if nobody claimed it. The same
path covers a new leader taking over right after a slot (and means a channel
added to the config gets that day's report at start if its time passed within
the window: better late than silently skipped). Jobs use
``coalesce=True`` and ``max_instances=1`` and a per-job lock, so a job never
overlaps itself (catch-up and cron can meet).

**Wall clock.** `WallClockCron` fires once per local wall-clock time: on the
day clocks go back a 02:30 cron fires once (APScheduler's CronTrigger fires
twice), and on the day they go forward a time that does not exist fires an
hour later by the wall clock (03:30 for 02:30 in Europe/Berlin).

**Store outage.** When the claim cannot be made the report is not sent (it could
be a double); a note tells the channel it is delayed and the job retries every
``scheduler.store_retry_seconds`` until the catch-up window closes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.application import Application, Job
from bot.clients.errors import ClientError
from bot.clients.fanout import fan_out
from bot.config import ChannelConfig, ReportSchedule, TenantConfig
from bot.outbox import Outbox
from bot.report import Report, emoji, spans
from bot.slot_delivery import SlotDelivery
from bot.store.errors import StoreError
from bot.triggers import EPOCH, WallClockCron, aligned_slot, latest_fire_time

if TYPE_CHECKING:
    from bot.leader import LeaderElector, LeaseStore
    from bot.runtime import Runtime
    from bot.slack.app import Bot

log = logging.getLogger("minio_chatops.scheduler")

MIN_GRACE = timedelta(minutes=1)
BACKUP_VERIFY_DEADLINE_S = 60.0  # one verification reads back a few objects under one minute (handlers/backup)


# ----------------------------------------------------------------------------- time


def report_trigger(schedule: ReportSchedule) -> WallClockCron:
    """The trigger of a channel's daily report."""
    return WallClockCron(schedule.cron, schedule.timezone)


def report_job_id(channel_id: str) -> str:
    """The job (and claim) id of a channel's daily report."""
    return f"report:{channel_id}"


# ----------------------------------------------------------------------------- the work


@dataclass(frozen=True)
class Work:
    """What each job does: the functions capabilities declared (``bot.application.Job``); tests pass stand-ins.

    A job no capability provides is not scheduled work: its runs end as ``not_due``.
    """

    report: Callable[[Runtime, Outbox, ChannelConfig, datetime, datetime], object] | None = None
    snapshot: Callable[[Runtime, TenantConfig], object] | None = None
    alerts: Callable[[Runtime, Outbox, datetime], object] | None = None
    expire_approvals: Callable[[Runtime, Outbox, datetime], object] | None = None
    executions: Callable[[Runtime, Outbox, datetime], object] | None = None
    checklist: Callable[[Runtime, str, Outbox], object] | None = None
    backup_verify: Callable[[Runtime, Outbox, TenantConfig, datetime], object] | None = None

    @classmethod
    def of(cls, app: Application) -> Work:
        """The work the application's capabilities declared."""
        daily = app.job(Job.DAILY_REPORT)
        recover = app.job(Job.EXECUTIONS)

        def executions(runtime: Runtime, outbox: Outbox, now: datetime) -> object:
            assert recover is not None
            return recover(runtime, outbox, now, app.change_kind)

        def report(runtime: Runtime, outbox: Outbox, channel: ChannelConfig, slot: datetime, now: datetime) -> object:
            assert daily is not None
            return daily(runtime, outbox, channel.id, slot, now)

        return cls(
            report=report if daily is not None else None,
            snapshot=app.job(Job.SNAPSHOT),
            alerts=app.job(Job.ALERTS),
            expire_approvals=app.job(Job.EXPIRE),
            executions=executions if recover is not None else None,
            checklist=app.job(Job.DAILY_CHECKLIST),
            backup_verify=app.job(Job.BACKUP_VERIFY),
        )


# ----------------------------------------------------------------------------- the scheduler


class Scheduler:
    """The leader's jobs on an APScheduler BackgroundScheduler; `start()`/`stop()` follow leadership."""

    def __init__(
        self,
        runtime: Runtime,
        outbox: Outbox,
        *,
        app: Application | None = None,
        work: Work | None = None,
        clock: Callable[[], datetime] | None = None,
        identity: str = "",
        is_leader: Callable[[], bool] = lambda: True,
        workers: int = 4,
    ) -> None:
        self.runtime = runtime
        self.outbox = outbox
        self.work = work or (Work.of(app) if app is not None else Work())
        self.clock = clock or runtime.clock
        self.identity = identity
        self.is_leader = is_leader
        self.workers = workers
        self.settings = runtime.config.scheduler
        self.report_grace = max(timedelta(hours=self.settings.catch_up_hours), MIN_GRACE)
        self._aps: BackgroundScheduler | None = None
        self._lock = threading.Lock()
        self._job_locks: dict[str, threading.Lock] = {}
        self._delay_noted: set[tuple[str, datetime]] = set()
        self.slots = SlotDelivery(
            runtime, outbox, identity=identity, grace=self.report_grace, clock=self.clock,
            schedule_retry=self._schedule_retry,
        )

    # ----- lifecycle -------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._aps is not None

    def report_channels(self) -> list[ChannelConfig]:
        """Configured channels that have a daily report."""
        return [c for c in self.runtime.config.channels if c.report is not None]

    def start(self) -> None:
        """Add the jobs and start; every job also runs once now (catch-up after downtime or hand-over)."""
        with self._lock:
            if self._aps is not None:
                return
            now = self.clock()
            aps = BackgroundScheduler(
                timezone=UTC,
                executors={"default": ThreadPoolExecutor(max_workers=self.workers)},
                job_defaults={"coalesce": True, "max_instances": 1},
            )
            grace_s = int(self.report_grace.total_seconds())
            for channel in self.report_channels():
                assert channel.report is not None
                aps.add_job(
                    self.run_report, report_trigger(channel.report), args=[channel.id],
                    id=report_job_id(channel.id), name=f"daily report {channel.id}",
                    misfire_grace_time=grace_s, next_run_time=now,
                )
            intervals: list[tuple[str, Callable[[], str], timedelta]] = [
                ("snapshots", self.run_snapshots, timedelta(minutes=self.settings.snapshot_minutes)),
                ("alerts", self.run_alerts, timedelta(minutes=self.settings.alert_check_minutes)),
                ("backup-verify", self.run_backup_verify, timedelta(minutes=self.settings.backup_check_minutes)),
                ("approvals", self.run_approval_sweep, timedelta(seconds=self.settings.approval_sweep_seconds)),
                ("executions", self.run_executions,
                 timedelta(seconds=self.runtime.config.executions.check_seconds)),
            ]
            for job_id, func, every in intervals:
                # Anchored at the epoch, so every replica's slots fall at the same instants.
                trigger = IntervalTrigger(seconds=every.total_seconds(), start_date=EPOCH, timezone=UTC)
                aps.add_job(
                    func, trigger, id=job_id, name=job_id,
                    misfire_grace_time=max(1, int(every.total_seconds() / 2)), next_run_time=now,
                )
            aps.start()
            self._aps = aps
        log.info("scheduler started", extra={"jobs": len(aps.get_jobs()), "identity": self.identity})

    def stop(self) -> None:
        """Stop scheduling at once; a job already running finishes (its claim keeps it single)."""
        with self._lock:
            aps, self._aps = self._aps, None
        if aps is not None:
            aps.shutdown(wait=False)
            log.info("scheduler stopped", extra={"identity": self.identity})

    def wakeup(self) -> None:
        """Re-check due jobs now (tests move a fake clock and call this)."""
        aps = self._aps
        if aps is not None:
            aps.wakeup()

    def jobs(self) -> dict[str, datetime | None]:
        """Job id -> next run time (UTC), for status displays and tests."""
        aps = self._aps
        if aps is None:
            return {}
        return {
            job.id: job.next_run_time.astimezone(UTC) if job.next_run_time else None for job in aps.get_jobs()
        }

    # ----- plumbing --------------------------------------------------------------------

    @contextlib.contextmanager
    def _exclusive(self, job: str) -> Iterator[bool]:
        """True when this job is not already running in this process (then holds it)."""
        with self._lock:
            lock = self._job_locks.setdefault(job, threading.Lock())
        acquired = lock.acquire(blocking=False)
        try:
            yield acquired
        finally:
            if acquired:
                lock.release()

    def _done(self, job: str, outcome: str) -> str:
        self.runtime.metrics.scheduler_runs.labels(job, outcome).inc()
        return outcome

    def _call(self, job: str, func: Callable[[], object]) -> str:
        """Run one piece of work; its failure is logged and counted, never raised into APScheduler."""
        try:
            func()
        except Exception as exc:  # noqa: BLE001 - one failed run must not stop the schedule
            log.error("job failed", extra={"job": job, "error_type": type(exc).__name__, "error": str(exc)[:300]})
            return self._done(job, "failed")
        return self._done(job, "sent")

    def _claim(self, job: str, slot: datetime, now: datetime) -> bool:
        """The store's verdict on (job, slot); raises StoreError when it cannot be asked."""
        return self.runtime.store.scheduler.claim_run(job, slot, by=self.identity or None, at=now)

    # ----- jobs ------------------------------------------------------------------------

    def run_report(self, channel_id: str, slot: datetime | None = None) -> str:
        """The daily report job: find the slot due now and get it delivered once (then the checklist).

        Returns the outcome: sent, skipped (delivered or being sent elsewhere,
        not leader, or already running), not_due, deferred (store unreachable)
        or failed (this attempt; it is retried while the slot is worth sending).
        """
        job = report_job_id(channel_id)
        with self._exclusive(job) as free:
            if not free:
                return self._done("report", "skipped")
            channel = self.runtime.config.channel(channel_id)
            if channel is None or channel.report is None:
                return self._done("report", "not_due")
            now = self.clock()
            if slot is None:
                slot = latest_fire_time(report_trigger(channel.report), now, self.report_grace)
            due = slot is not None and now - slot <= self.report_grace
            if not self.is_leader():
                return self._done("report", "skipped" if due else "not_due")
            self.slots.give_up_overdue(job, channel, now)
            if slot is None or not due or self.work.report is None:
                return self._done("report", "not_due")
            try:
                outcome = self.slots.deliver(job, channel, slot, now, self._send_report)
            except StoreError as exc:
                return self._defer(channel, slot, now, exc)
            if outcome == "sent" and channel.report.checklist:
                self._run_checklist(channel, slot, now)
            return self._done("report", outcome)

    def _send_report(self, outbox: Outbox, channel: ChannelConfig, slot: datetime, now: datetime) -> object:
        assert self.work.report is not None
        return self.work.report(self.runtime, outbox, channel, slot, now)

    def _schedule_retry(self, channel_id: str, slot: datetime, at: datetime) -> None:
        """Run the report job for ``slot`` again at ``at`` (while this process leads)."""
        aps = self._aps
        if aps is not None:
            aps.add_job(
                self.run_report, DateTrigger(run_date=at, timezone=UTC), args=[channel_id, slot],
                id=f"report-retry:{channel_id}:{slot.isoformat()}", replace_existing=True,
                misfire_grace_time=int(self.report_grace.total_seconds()),
            )

    def _run_checklist(self, channel: ChannelConfig, slot: datetime, now: datetime) -> str:
        job = f"checklist:{channel.id}"
        try:
            if not self._claim(job, slot, now):
                return self._done("checklist", "skipped")
        except StoreError as exc:
            log.warning("checklist not claimed", extra={"channel": channel.id, "error": exc.message})
            return self._done("checklist", "failed")
        if self.work.checklist is None:
            return self._done("checklist", "not_due")
        return self._call("checklist", partial(self.work.checklist, self.runtime, channel.id, self.outbox))

    def _defer(self, channel: ChannelConfig, slot: datetime, now: datetime, exc: StoreError) -> str:
        """The claim could not be made: say the report is late (once) and try again later."""
        log.warning("daily report deferred: store unavailable", extra={"channel": channel.id, "error": exc.message})
        retry_at = now + timedelta(seconds=self.settings.store_retry_seconds)
        if retry_at - slot > self.report_grace:
            log.error("daily report given up: store unavailable all day", extra={"channel": channel.id})
            return self._done("report", "failed")
        self._schedule_retry(channel.id, slot, retry_at)
        if (channel.id, slot) not in self._delay_noted:
            self._delay_noted.add((channel.id, slot))
            note = Report(
                title="",
                summary=spans(emoji("hourglass"), f" Today's daily report is delayed: {exc.message}. "
                              "It will be posted once the bot's state store is reachable again."),
            )
            with contextlib.suppress(Exception):  # the note is a courtesy; the retry is what matters
                self.outbox.post(channel.id, note)
        return self._done("report", "deferred")

    def run_snapshots(self) -> str:
        """Capacity snapshots of every tenant, once per slot across replicas."""
        with self._exclusive("snapshots") as free:
            if not free or not self.is_leader():
                return self._done("snapshots", "skipped")
            tenants = self.runtime.tenants()
            snapshot = self.work.snapshot
            if not tenants or snapshot is None:
                return self._done("snapshots", "not_due")
            now = self.clock()
            slot = aligned_slot(now, timedelta(minutes=self.settings.snapshot_minutes))
            try:
                if not self._claim("snapshots", slot, now):
                    return self._done("snapshots", "skipped")
            except StoreError as exc:
                log.warning("snapshots skipped: store unavailable", extra={"error": exc.message})
                return self._done("snapshots", "failed")
            timeout = self.runtime.config.timeouts.report_deadline
            waves = -(-len(tenants) // self.settings.parallel)
            results = fan_out(
                {t.name: partial(snapshot, self.runtime, t) for t in tenants},
                deadline_s=waves * (timeout + 1) + 1,
                max_workers=self.settings.parallel,
            )
            failed = [name for name, result in results.items() if isinstance(result, ClientError)]
            if failed:
                log.warning("capacity snapshots failed", extra={"tenants": failed[:20], "count": len(failed)})
            return self._done("snapshots", "failed" if len(failed) == len(tenants) else "sent")

    def run_alerts(self) -> str:
        """Evaluate health and capacity alerts (state in the store de-duplicates the posts)."""
        with self._exclusive("alerts") as free:
            if not free or not self.is_leader():
                return self._done("alerts", "skipped")
            if not self.runtime.tenants() or self.work.alerts is None:
                return self._done("alerts", "not_due")
            return self._call("alerts", partial(self.work.alerts, self.runtime, self.outbox, self.clock()))

    def run_backup_verify(self) -> str:
        """Verify the backups of every tenant whose verification is due, each once per slot across replicas."""
        with self._exclusive("backup-verify") as free:
            if not free or not self.is_leader():
                return self._done("backup-verify", "skipped")
            verify = self.work.backup_verify
            tenants = [t for t in self.runtime.tenants() if t.backup is not None and t.backup.verify_every_hours > 0]
            if not tenants or verify is None:
                return self._done("backup-verify", "not_due")
            now = self.clock()
            due: list[TenantConfig] = []
            for tenant in tenants:
                assert tenant.backup is not None
                slot = aligned_slot(now, timedelta(hours=tenant.backup.verify_every_hours))
                try:
                    if self._claim(f"backup-verify:{tenant.name}", slot, now):
                        due.append(tenant)
                except StoreError as exc:
                    log.warning("backup verification skipped: store unavailable", extra={"error": exc.message})
                    return self._done("backup-verify", "failed")
            if not due:
                return self._done("backup-verify", "skipped")
            # Reading backups back moves data: a generous deadline per wave of tenants.
            waves = -(-len(due) // self.settings.parallel)
            results = fan_out(
                {t.name: partial(verify, self.runtime, self.outbox, t, now) for t in due},
                deadline_s=waves * (2 * BACKUP_VERIFY_DEADLINE_S) + 1,
                max_workers=self.settings.parallel,
            )
            failed = [name for name, result in results.items() if isinstance(result, ClientError)]
            if failed:
                log.warning("backup verifications failed", extra={"tenants": failed[:20], "count": len(failed)})
            return self._done("backup-verify", "failed" if len(failed) == len(due) else "sent")

    def run_approval_sweep(self) -> str:
        """Expire approvals past their deadline (the transition is atomic, so a repeat is harmless)."""
        with self._exclusive("approvals") as free:
            if not free or not self.is_leader():
                return self._done("approvals", "skipped")
            if self.work.expire_approvals is None:
                return self._done("approvals", "not_due")
            return self._call(
                "approvals", partial(self.work.expire_approvals, self.runtime, self.outbox, self.clock())
            )


    def run_executions(self) -> str:
        """Refuse or resume what stopped processes left (take-overs are atomic, so a repeat is harmless)."""
        with self._exclusive("executions") as free:
            if not free or not self.is_leader():
                return self._done("executions", "skipped")
            if self.work.executions is None:
                return self._done("executions", "not_due")
            return self._call("executions", partial(self.work.executions, self.runtime, self.outbox, self.clock()))


# ----------------------------------------------------------------------------- leader + scheduler


def default_identity(environ: dict[str, str] | None = None) -> str:
    """This replica's name in the Lease: `$POD_NAME`, else host name and process id."""
    env = os.environ if environ is None else environ
    return env.get("POD_NAME") or f"{socket.gethostname()}-{os.getpid()}"


class Background:
    """The leader-only half of a bot process: leader election (when configured) driving the scheduler.

    Without `leader_election` in the configuration the process is the only
    replica and always the leader.
    """

    def __init__(
        self,
        runtime: Runtime,
        outbox: Outbox,
        *,
        identity: str | None = None,
        app: Application | None = None,
        work: Work | None = None,
        lease_store: LeaseStore | None = None,
    ) -> None:
        from bot.leader import LeaderElector

        self.runtime = runtime
        self.identity = identity or default_identity(runtime.environ)
        self.elector: LeaderElector | None = None
        self.scheduler = Scheduler(runtime, outbox, app=app, work=work, identity=self.identity,
                                   is_leader=self.is_leader)
        election = runtime.config.leader_election
        if election is None:
            return
        if lease_store is None:
            lease_store = runtime.leader_lease()
        self.elector = LeaderElector(
            lease_store,
            self.identity,
            election.lease_seconds,
            on_started=self._started,
            on_stopped=self.scheduler.stop,
            metrics=runtime.metrics,
            request_timeout=min(runtime.timeouts.connect + runtime.timeouts.read, election.lease_seconds / 3),
        )

    def is_leader(self) -> bool:
        """True when this process should run the scheduler's jobs."""
        return True if self.elector is None else self.elector.is_leader

    def _started(self) -> None:
        if self.runtime.config.scheduler.enabled:
            self.scheduler.start()

    def start(self) -> Background:
        """Start campaigning (or, alone, start the scheduler)."""
        if self.elector is not None:
            self.elector.start()
        else:
            self.runtime.metrics.leader.set(1)
            self._started()
        return self

    def stop(self) -> None:
        """Stop the scheduler first, then give up the Lease so a successor starts quickly."""
        if self.elector is not None:
            self.elector.stop(release=True)
        self.scheduler.stop()
        self.runtime.metrics.leader.set(0)


AlertCheck = Callable[["Runtime", Outbox, datetime], object]


def alerts_refreshing_home(check: AlertCheck, refresh: Callable[[set[str]], object]) -> AlertCheck:
    """The alert check, then ``refresh`` with the tenants whose state it found changed (``tenant`` of each change)."""

    def run(runtime: Runtime, outbox: Outbox, now: datetime) -> object:
        changes = check(runtime, outbox, now)
        tenants = {str(getattr(c, "tenant", "")) for c in changes} if isinstance(changes, list) else set()
        if tenants - {""}:
            refresh(tenants - {""})
        return changes

    return run


def start_background(bot: Bot) -> Background:
    """The scheduler (and leader election) of a running bot; call `.stop()` when the bot stops.

    The alert check's changes also refresh the App Home tabs that show those tenants.
    """
    work = Work.of(bot.application)
    if work.alerts is not None:
        work = replace(work, alerts=alerts_refreshing_home(work.alerts, bot.home.tenants_changed))
    return Background(bot.runtime, bot.outbox, app=bot.application, work=work).start()
