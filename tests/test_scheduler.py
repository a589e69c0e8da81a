"""The scheduler: the daily report fires at the channel's local time, once per slot, across restarts and replicas.

APScheduler's own clock is replaced by a fake (`aps_clock`), so these tests
move through days, DST changes and downtime without sleeping.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import apscheduler.executors.base
import apscheduler.schedulers.base
import pytest
import yaml

from bot.config import ChannelConfig, Config, parse_config
from bot.outbox import OutboxError, TerminalOutbox
from bot.report import Report
from bot.runtime import Runtime
from bot.scheduler import (
    Background,
    Scheduler,
    WallClockCron,
    Work,
    aligned_slot,
    latest_fire_time,
    report_job_id,
)
from bot.store import StoreUnavailable
from tests.reading import plain

OPS = "C0OPS"
BERLIN = ZoneInfo("Europe/Berlin")


class FakeClock:
    """A settable UTC clock shared by the bot and APScheduler."""

    def __init__(self, now: datetime):
        self.now = now
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def set(self, now: datetime) -> None:
        with self._lock:
            self.now = now

    def advance(self, **delta: float) -> None:
        self.set(self.now + timedelta(**delta))


@pytest.fixture
def aps_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """A fake clock that APScheduler's scheduler loop and executor also read."""
    clock = FakeClock(datetime(2024, 5, 14, 6, 0, tzinfo=UTC))

    class FakeDatetime(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            value = clock()
            return value.astimezone(tz) if tz is not None else value.replace(tzinfo=None)

    monkeypatch.setattr(apscheduler.schedulers.base, "datetime", FakeDatetime)
    monkeypatch.setattr(apscheduler.executors.base, "datetime", FakeDatetime)
    return clock


def config_for(tmp_path: Path, channels: list[dict[str, Any]] | None = None, **extra: Any) -> Config:
    """A config with a SQLite store in tmp_path and a #ops channel with a 09:00 Berlin report."""
    data: dict[str, Any] = {
        "store_url": f"sqlite:///{tmp_path / 'state.db'}",
        "channels": channels
        if channels is not None
        else [{"id": OPS, "report": {"cron": "0 9 * * *", "timezone": "Europe/Berlin"}}],
        "tenants": [],
    }
    data.update(extra)
    return parse_config(yaml.safe_dump(data))


def static_tenant(name: str, channels: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    """A tenant config the stand-in sources answer for (nothing listens at its endpoint)."""
    return {
        "name": name,
        "endpoints": ["http://127.0.0.1:9"],
        "credentials": {"access_key_env": "AK", "secret_key_env": "SK"},
        "channels": channels if channels is not None else [OPS],
        **extra,
    }


class Calls:
    """Records stand-in work calls; `wait(n)` blocks until n have happened."""

    def __init__(self) -> None:
        self.items: list[tuple[Any, ...]] = []
        self._cond = threading.Condition()

    def add(self, *item: Any) -> None:
        with self._cond:
            self.items.append(item)
            self._cond.notify_all()

    def wait(self, count: int, timeout: float = 10.0) -> list[tuple[Any, ...]]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.items) >= count, timeout), f"only {self.items}"
            return list(self.items)


def recording_work(calls: Calls, report: Callable[..., object] | None = None) -> Work:
    """Stand-ins for every job: they record what they were asked to do."""

    def fake_report(_rt: Runtime, _out: Any, channel: ChannelConfig, slot: datetime, now: datetime) -> None:
        calls.add("report", channel.id, slot, now)

    return Work(
        report=report or fake_report,
        snapshot=lambda _rt, tenant: calls.add("snapshot", tenant.name),
        alerts=lambda _rt, _out, now: calls.add("alerts", now),
        expire_approvals=lambda _rt, _out, now: None,
        executions=lambda _rt, _out, now: None,
        checklist=lambda _rt, channel, _out: calls.add("checklist", channel),
    )


@pytest.fixture
def started() -> Iterator[list[Scheduler]]:
    """Schedulers a test starts; all stopped at the end."""
    schedulers: list[Scheduler] = []
    yield schedulers
    for scheduler in schedulers:
        scheduler.stop()


def reports(calls: Calls) -> list[tuple[Any, ...]]:
    return [c for c in calls.items if c[0] == "report"]


def caught_up(runtime: Runtime, timeout: float = 10.0) -> None:
    """Wait for the start-up catch-up run of the report job to finish (it found nothing due).

    While it runs, another run of the same job is skipped by design (max_instances=1); tests that
    move the clock right after start must not race it.
    """
    finished = runtime.metrics.scheduler_runs.labels("report", "not_due")
    deadline = time.monotonic() + timeout
    while finished._value.get() < 1 and time.monotonic() < deadline:
        time.sleep(0.02)


def settle(seconds: float = 0.3) -> None:
    """Let the scheduler's thread and executor finish what is due (nothing else is waited for)."""
    time.sleep(seconds)


# ----------------------------------------------------------------------------- acceptance


def test_daily_report_fires_at_the_configured_local_time(
    tmp_path: Path, aps_clock: FakeClock, started: list[Scheduler]
) -> None:
    aps_clock.set(datetime(2024, 5, 14, 6, 59, 30, tzinfo=UTC))  # 08:59:30 in Berlin (CEST, UTC+2)
    runtime = Runtime(config_for(tmp_path), clock=aps_clock)
    calls = Calls()
    scheduler = Scheduler(runtime, TerminalOutbox(io.StringIO()), work=recording_work(calls))
    started.append(scheduler)
    scheduler.start()
    settle()
    assert reports(calls) == [], "yesterday's 09:00 is outside the catch-up window; nothing is due yet"

    aps_clock.set(datetime(2024, 5, 14, 7, 0, 0, tzinfo=UTC))
    scheduler.wakeup()
    calls.wait(1)
    [(_, channel, slot, _now)] = reports(calls)
    assert channel == OPS
    assert slot == datetime(2024, 5, 14, 7, 0, tzinfo=UTC)
    assert slot.astimezone(BERLIN).strftime("%H:%M") == "09:00"
    assert scheduler.jobs()[report_job_id(OPS)] == datetime(2024, 5, 15, 7, 0, tzinfo=UTC)

    # A second wake-up at the same instant (or a stray re-run) does not send it again.
    scheduler.wakeup()
    assert scheduler.run_report(OPS) == "skipped"
    settle()
    assert len(reports(calls)) == 1


def test_a_report_missed_during_downtime_is_sent_once_after_restart(
    tmp_path: Path, aps_clock: FakeClock, started: list[Scheduler]
) -> None:
    config = config_for(tmp_path)
    calls = Calls()
    aps_clock.set(datetime(2024, 5, 14, 4, 0, tzinfo=UTC))
    first = Scheduler(Runtime(config, clock=aps_clock), TerminalOutbox(io.StringIO()), work=recording_work(calls))
    first.start()
    settle()
    first.stop()  # the bot goes down at 06:00 Berlin and comes back at 12:30

    aps_clock.set(datetime(2024, 5, 14, 10, 30, tzinfo=UTC))
    second = Scheduler(Runtime(config, clock=aps_clock), TerminalOutbox(io.StringIO()), work=recording_work(calls))
    started.append(second)
    second.start()
    calls.wait(1)
    settle()
    [(_, _, slot, now)] = reports(calls)
    assert slot == datetime(2024, 5, 14, 7, 0, tzinfo=UTC) and now - slot == timedelta(hours=3, minutes=30)

    # Another restart (and a second replica) later that day: already claimed, never sent twice.
    second.stop()
    aps_clock.advance(minutes=20)
    for _ in range(2):
        again = Scheduler(Runtime(config, clock=aps_clock), TerminalOutbox(io.StringIO()), work=recording_work(calls))
        started.append(again)
        again.start()
    settle(0.5)
    assert len(reports(calls)) == 1


def test_several_missed_runs_are_coalesced_into_one(
    tmp_path: Path, aps_clock: FakeClock, started: list[Scheduler]
) -> None:
    config = config_for(tmp_path, [{"id": OPS, "report": {"cron": "0 */2 * * *", "timezone": "UTC"}}])
    aps_clock.set(datetime(2024, 5, 14, 13, 10, tzinfo=UTC))  # missed 08:00 ... 12:00 while down
    calls = Calls()
    scheduler = Scheduler(Runtime(config, clock=aps_clock), TerminalOutbox(io.StringIO()), work=recording_work(calls))
    started.append(scheduler)
    scheduler.start()
    calls.wait(1)
    settle()
    assert [c[2] for c in reports(calls)] == [datetime(2024, 5, 14, 12, 0, tzinfo=UTC)], "only the latest slot"


def test_a_run_missed_beyond_the_catch_up_window_is_not_sent(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2024, 5, 14, 20, 0, tzinfo=UTC))  # 22:00 Berlin: 13 h after 09:00
    calls = Calls()
    scheduler = Scheduler(Runtime(config_for(tmp_path), clock=clock), TerminalOutbox(io.StringIO()),
                          work=recording_work(calls))
    assert scheduler.run_report(OPS) == "not_due"
    assert reports(calls) == []


# ----------------------------------------------------------------------------- clock and time zones


def test_dst_spring_forward_fires_once_an_hour_later_by_the_wall_clock(
    tmp_path: Path, aps_clock: FakeClock, started: list[Scheduler]
) -> None:
    # 2024-03-31 in Berlin: 02:00 CET jumps to 03:00 CEST, so 02:30 does not exist that day.
    config = config_for(tmp_path, [{"id": OPS, "report": {"cron": "30 2 * * *", "timezone": "Europe/Berlin"}}])
    aps_clock.set(datetime(2024, 3, 31, 0, 0, tzinfo=UTC))
    calls = Calls()
    runtime = Runtime(config, clock=aps_clock)
    scheduler = Scheduler(runtime, TerminalOutbox(io.StringIO()), work=recording_work(calls))
    started.append(scheduler)
    scheduler.start()
    caught_up(runtime)
    assert scheduler.jobs()[report_job_id(OPS)] == datetime(2024, 3, 31, 1, 30, tzinfo=UTC)
    aps_clock.set(datetime(2024, 3, 31, 1, 30, tzinfo=UTC))
    scheduler.wakeup()
    calls.wait(1)
    assert datetime(2024, 3, 31, 1, 30, tzinfo=UTC).astimezone(BERLIN).strftime("%H:%M %Z") == "03:30 CEST"
    # The next day is back to 02:30 CEST.
    assert scheduler.jobs()[report_job_id(OPS)] == datetime(2024, 4, 1, 0, 30, tzinfo=UTC)
    settle()
    assert len(reports(calls)) == 1


def test_dst_fall_back_fires_once_although_the_wall_time_happens_twice(
    tmp_path: Path, aps_clock: FakeClock, started: list[Scheduler]
) -> None:
    # 2024-10-27 in Berlin: 03:00 CEST goes back to 02:00 CET, so 02:30 happens at 00:30 and 01:30 UTC.
    config = config_for(tmp_path, [{"id": OPS, "report": {"cron": "30 2 * * *", "timezone": "Europe/Berlin"}}])
    aps_clock.set(datetime(2024, 10, 27, 0, 0, tzinfo=UTC))
    calls = Calls()
    runtime = Runtime(config, clock=aps_clock)
    scheduler = Scheduler(runtime, TerminalOutbox(io.StringIO()), work=recording_work(calls))
    started.append(scheduler)
    scheduler.start()
    caught_up(runtime)
    aps_clock.set(datetime(2024, 10, 27, 0, 30, tzinfo=UTC))
    scheduler.wakeup()
    calls.wait(1)
    assert scheduler.jobs()[report_job_id(OPS)] == datetime(2024, 10, 28, 1, 30, tzinfo=UTC), "not at 01:30 UTC"
    aps_clock.set(datetime(2024, 10, 27, 1, 30, tzinfo=UTC))
    scheduler.wakeup()
    settle()
    assert [c[2] for c in reports(calls)] == [datetime(2024, 10, 27, 0, 30, tzinfo=UTC)]


def test_a_channel_in_utc_plus_13_gets_its_report_at_local_nine_the_utc_day_before(
    tmp_path: Path, aps_clock: FakeClock, started: list[Scheduler]
) -> None:
    config = config_for(tmp_path, [{"id": OPS, "report": {"cron": "0 9 * * *", "timezone": "Pacific/Tongatapu"}}])
    aps_clock.set(datetime(2024, 5, 14, 19, 59, tzinfo=UTC))
    calls = Calls()
    runtime = Runtime(config, clock=aps_clock)
    scheduler = Scheduler(runtime, TerminalOutbox(io.StringIO()), work=recording_work(calls))
    started.append(scheduler)
    scheduler.start()
    caught_up(runtime)
    aps_clock.set(datetime(2024, 5, 14, 20, 0, tzinfo=UTC))
    scheduler.wakeup()
    [(_, _, slot, _)] = [c for c in calls.wait(1) if c[0] == "report"]
    local = slot.astimezone(ZoneInfo("Pacific/Tongatapu"))
    assert (local.date().isoformat(), local.strftime("%H:%M"), slot.date().isoformat()) == (
        "2024-05-15", "09:00", "2024-05-14"
    )


def test_wall_clock_cron_and_slot_helpers() -> None:
    trigger = WallClockCron("0 9 * * 1-5", "Europe/Berlin")
    friday_noon = datetime(2024, 5, 17, 10, 0, tzinfo=UTC)
    assert latest_fire_time(trigger, friday_noon, timedelta(hours=12)) == datetime(2024, 5, 17, 7, 0, tzinfo=UTC)
    monday = datetime(2024, 5, 20, 6, 0, tzinfo=UTC)
    assert latest_fire_time(trigger, monday, timedelta(hours=12)) is None, "no weekend run"
    assert latest_fire_time(trigger, monday, timedelta(days=3)) == datetime(2024, 5, 17, 7, 0, tzinfo=UTC)
    # The fold: APScheduler's CronTrigger alone would fire 02:30 twice on 2024-10-27.
    fold = WallClockCron("30 2 * * *", "Europe/Berlin")
    fires = []
    cursor = datetime(2024, 10, 26, 12, 0, tzinfo=UTC)
    previous = None
    for _ in range(3):
        previous = fold.get_next_fire_time(previous, cursor)
        assert previous is not None
        fires.append(previous.astimezone(UTC).strftime("%d %H:%M"))
        cursor = previous
    assert fires == ["27 00:30", "28 01:30", "29 01:30"]
    assert aligned_slot(datetime(2024, 5, 14, 7, 42, 9, tzinfo=UTC), timedelta(hours=1)) == datetime(
        2024, 5, 14, 7, 0, tzinfo=UTC
    )


# ----------------------------------------------------------------------------- faults and guards


def test_store_unavailable_at_report_time_delays_the_report_then_sends_it_once(
    tmp_path: Path, started: list[Scheduler]
) -> None:
    config = config_for(
        tmp_path,
        [{"id": OPS, "report": {"cron": "* * * * *", "timezone": "UTC"}}],
        scheduler={"store_retry_seconds": 0.2},
    )
    runtime = Runtime(config)
    outbox = TerminalOutbox(io.StringIO())
    real_claim = runtime.store.deliveries.claim
    failures = {"left": 2}

    def flaky_claim(job_id: str, scheduled_for: datetime, **kwargs: Any) -> Any:
        if failures["left"] > 0:
            failures["left"] -= 1
            raise StoreUnavailable("cannot reach the store (PostgreSQL at db:5432/chatops): connection refused")
        return real_claim(job_id, scheduled_for, **kwargs)

    runtime.store.deliveries.claim = flaky_claim  # type: ignore[method-assign]
    calls = Calls()
    scheduler = Scheduler(runtime, outbox, work=recording_work(calls))
    started.append(scheduler)
    scheduler.start()
    [(_, _, slot, _)] = [c for c in calls.wait(1) if c[0] == "report"]
    settle(0.5)
    assert len(reports(calls)) == 1
    assert slot == latest_fire_time(WallClockCron("* * * * *", "UTC"), slot + timedelta(seconds=1), timedelta(hours=1))
    notes = [plain(r.summary) for (_c, _ts, r, _t) in outbox.posted]
    assert len(notes) == 1 and "delayed" in notes[0] and "connection refused" in notes[0]
    assert "password" not in notes[0]
    counts = {s.labels["outcome"]: s.value for m in runtime.metrics.registry.collect()
              if m.name == "minio_chatops_scheduler_runs" for s in m.samples
              if s.name.endswith("_total") and s.labels.get("job") == "report"}
    assert counts.get("deferred") == 2 and counts.get("sent") == 1


class SlackDown(TerminalOutbox):
    """Refuses every post while `down` (as SlackOutbox reports Slack's 5xx or an unreachable host)."""

    def __init__(self) -> None:
        super().__init__(io.StringIO())
        self.down = True

    def post(self, channel: str, report: Report, thread_ts: str | None = None) -> str:
        if self.down:
            raise OutboxError("Slack unreachable for the message (ConnectionError)", "unreachable")
        return super().post(channel, report, thread_ts)


def posting_work(calls: Calls) -> Work:
    """A report job that posts a one-line report through the outbox it is given."""

    def report(_rt: Runtime, out: Any, channel: ChannelConfig, slot: datetime, now: datetime) -> None:
        calls.add("report", channel.id, slot, now)
        out.post(channel.id, Report(title="Daily MinIO report", summary="all healthy"))

    return Work(report=report)


def undelivered_count(runtime: Runtime) -> float:
    value = runtime.metrics.registry.get_sample_value("minio_chatops_reports_undelivered_total", {"channel": OPS})
    return value or 0.0


def test_a_report_slack_did_not_take_is_retried_with_backoff_until_it_is_delivered(
    tmp_path: Path, aps_clock: FakeClock, started: list[Scheduler]
) -> None:
    aps_clock.set(datetime(2024, 5, 14, 6, 59, 30, tzinfo=UTC))
    runtime = Runtime(config_for(tmp_path), clock=aps_clock)
    outbox = SlackDown()
    calls = Calls()
    scheduler = Scheduler(runtime, outbox, work=posting_work(calls))
    started.append(scheduler)
    scheduler.start()
    caught_up(runtime)
    slot = datetime(2024, 5, 14, 7, 0, tzinfo=UTC)
    aps_clock.set(slot)
    scheduler.wakeup()
    calls.wait(1)
    settle()
    retry = f"report-retry:{OPS}:{slot.isoformat()}"
    assert scheduler.jobs()[retry] == slot + timedelta(seconds=30), "first retry after report_retry_seconds"
    aps_clock.set(slot + timedelta(seconds=30))
    scheduler.wakeup()
    calls.wait(2)
    settle()
    assert scheduler.jobs()[retry] == slot + timedelta(seconds=90), "then twice as long"
    outbox.down = False  # Slack is back
    aps_clock.set(slot + timedelta(seconds=90))
    scheduler.wakeup()
    calls.wait(3)
    settle()
    assert [r.title for (_c, _ts, r, _t) in outbox.posted] == ["Daily MinIO report"]
    delivery = runtime.store.deliveries.get(report_job_id(OPS), slot)
    assert delivery is not None and delivery.status == "delivered" and delivery.attempts == 3
    assert delivery.message_ts == outbox.posted[0][1]
    assert retry not in scheduler.jobs()
    assert scheduler.run_report(OPS) == "skipped" and len(calls.items) == 3


def test_a_report_not_delivered_within_its_grace_is_given_up_once_and_the_channel_is_told(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock(datetime(2024, 5, 14, 7, 0, 5, tzinfo=UTC))
    runtime = Runtime(config_for(tmp_path, scheduler={"catch_up_hours": 1}), clock=clock)
    calls = Calls()

    def refused(_rt: Runtime, _out: Any, channel: ChannelConfig, slot: datetime, now: datetime) -> None:
        calls.add("report", channel.id, slot, now)
        raise OutboxError("Slack refused the message: msg_blocks_too_long", "msg_blocks_too_long")

    outbox = TerminalOutbox(io.StringIO())
    scheduler = Scheduler(runtime, outbox, work=Work(report=refused))
    outcomes = []
    while len(outcomes) < 20:
        outcomes.append(scheduler.run_report(OPS, datetime(2024, 5, 14, 7, 0, tzinfo=UTC)))
        delivery = runtime.store.deliveries.get(report_job_id(OPS), datetime(2024, 5, 14, 7, 0, tzinfo=UTC))
        assert delivery is not None
        if delivery.finished:
            break
        assert delivery.next_attempt_at is not None
        clock.set(delivery.next_attempt_at)
    assert delivery.status == "undelivered" and set(outcomes) == {"failed"}
    tried = [(c[3] - datetime(2024, 5, 14, 7, 0, 5, tzinfo=UTC)).total_seconds() for c in calls.items]
    # 30 s, doubling, at most 10 minutes apart; the next would fall after the 1-hour grace.
    assert tried == [0, 30, 90, 210, 450, 930, 1530, 2130, 2730, 3330]
    [(channel, _ts, note, _t)] = outbox.posted
    assert channel == OPS
    assert "could not be delivered: Slack refused the message: msg_blocks_too_long" in plain(note.summary)
    assert "/minio report now" in plain(note.summary)
    assert undelivered_count(runtime) == 1
    clock.advance(hours=2)
    assert scheduler.run_report(OPS) == "not_due"
    assert len(outbox.posted) == 1 and undelivered_count(runtime) == 1, "said once"


def test_slack_down_all_day_the_undelivered_report_is_logged_and_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    slot = datetime(2024, 5, 14, 7, 0, tzinfo=UTC)
    clock = FakeClock(slot + timedelta(seconds=5))
    runtime = Runtime(config_for(tmp_path), clock=clock)
    calls = Calls()
    scheduler = Scheduler(runtime, SlackDown(), work=posting_work(calls))
    assert scheduler.run_report(OPS) == "failed"
    # No leader runs it again that day; the next run notices the slot it left behind.
    clock.set(slot + timedelta(days=1))
    with caplog.at_level("ERROR", logger="minio_chatops.scheduler"):
        assert scheduler.run_report(OPS) == "failed"
    delivery = runtime.store.deliveries.get(report_job_id(OPS), slot)
    assert delivery is not None and delivery.status == "undelivered"
    assert undelivered_count(runtime) == 1
    messages = [r.getMessage() for r in caplog.records]
    assert "daily report not delivered while it was worth sending" in messages
    assert "could not tell the channel its report was not delivered" in messages
    assert all("Traceback" not in (r.exc_text or "") for r in caplog.records)


def test_an_attempt_that_was_taken_over_does_not_post(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2024, 5, 14, 7, 0, 5, tzinfo=UTC))
    config = config_for(tmp_path)
    outbox = TerminalOutbox(io.StringIO())
    calls = Calls()
    successor = Scheduler(Runtime(config, clock=clock), outbox, work=posting_work(calls), identity="bot-1")

    def slow(rt: Runtime, out: Any, channel: ChannelConfig, slot: datetime, now: datetime) -> None:
        # Gathering took longer than the attempt's hold; meanwhile another leader took the slot over.
        clock.advance(minutes=6)
        assert successor.run_report(OPS) == "sent"
        out.post(channel.id, Report(title="Daily MinIO report", summary="late"))

    stalled = Scheduler(Runtime(config, clock=clock), outbox, work=Work(report=slow), identity="bot-0")
    assert stalled.run_report(OPS) == "skipped"
    assert [r.summary for (_c, _ts, r, _t) in outbox.posted] == ["all healthy"], "one report, the successor's"


def test_a_job_never_overlaps_itself(tmp_path: Path) -> None:
    release = threading.Event()
    entered = threading.Event()
    calls = Calls()

    def slow_report(_rt: Runtime, _out: Any, channel: ChannelConfig, slot: datetime, now: datetime) -> None:
        entered.set()
        release.wait(5)
        calls.add("report", channel.id, slot, now)

    clock = FakeClock(datetime(2024, 5, 14, 7, 0, 5, tzinfo=UTC))
    scheduler = Scheduler(Runtime(config_for(tmp_path), clock=clock), TerminalOutbox(io.StringIO()),
                          work=recording_work(calls, report=slow_report))
    outcomes: list[str] = []
    worker = threading.Thread(target=lambda: outcomes.append(scheduler.run_report(OPS)))
    worker.start()
    assert entered.wait(5)
    assert scheduler.run_report(OPS) == "skipped", "a second run while the first is still sending"
    release.set()
    worker.join(5)
    assert outcomes == ["sent"] and len(reports(calls)) == 1


def test_a_follower_runs_nothing_and_claims_nothing(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2024, 5, 14, 7, 0, 5, tzinfo=UTC))
    runtime = Runtime(config_for(tmp_path, tenants=[static_tenant("demo")]), clock=clock)
    calls = Calls()
    follower = Scheduler(runtime, TerminalOutbox(io.StringIO()), work=recording_work(calls), is_leader=lambda: False)
    assert follower.run_report(OPS) == "skipped"
    assert follower.run_snapshots() == "skipped" and follower.run_alerts() == "skipped"
    assert calls.items == [] and runtime.store.scheduler.last_claimed(report_job_id(OPS)) is None


def test_snapshots_are_taken_once_per_slot_across_replicas(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2024, 5, 14, 7, 12, tzinfo=UTC))
    config = config_for(tmp_path, tenants=[static_tenant("alpha"), static_tenant("beta")])
    calls = Calls()
    one = Scheduler(Runtime(config, clock=clock), TerminalOutbox(io.StringIO()), work=recording_work(calls))
    two = Scheduler(Runtime(config, clock=clock), TerminalOutbox(io.StringIO()), work=recording_work(calls))
    assert one.run_snapshots() == "sent"
    clock.advance(minutes=30)
    assert two.run_snapshots() == "skipped", "same hour, already taken"
    clock.advance(minutes=30)
    assert two.run_snapshots() == "sent"
    assert sorted(c[1] for c in calls.items if c[0] == "snapshot") == ["alpha", "alpha", "beta", "beta"]


def test_the_daily_checklist_follows_the_report_when_the_channel_asks_for_it(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2024, 5, 14, 7, 0, 5, tzinfo=UTC))
    channels = [{"id": OPS, "report": {"cron": "0 9 * * *", "timezone": "Europe/Berlin", "checklist": True}}]
    calls = Calls()
    scheduler = Scheduler(Runtime(config_for(tmp_path, channels), clock=clock), TerminalOutbox(io.StringIO()),
                          work=recording_work(calls))
    assert scheduler.run_report(OPS) == "sent"
    assert scheduler.run_report(OPS) == "skipped"
    assert [c[0] for c in calls.items] == ["report", "checklist"]


def test_a_failing_job_is_counted_and_the_schedule_goes_on(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2024, 5, 14, 7, 0, 5, tzinfo=UTC))

    def broken(*_args: Any) -> None:
        raise RuntimeError("boom")

    runtime = Runtime(config_for(tmp_path, tenants=[static_tenant("demo")]), clock=clock)
    scheduler = Scheduler(runtime, TerminalOutbox(io.StringIO()), work=Work(report=broken, alerts=broken))
    assert scheduler.run_report(OPS) == "failed"
    assert scheduler.run_alerts() == "failed"
    clock.advance(days=1)
    assert scheduler.run_report(OPS) == "failed", "the next day runs again"


def test_without_leader_election_the_process_is_always_leader(tmp_path: Path) -> None:
    runtime = Runtime(config_for(tmp_path, channels=[]))
    background = Background(runtime, TerminalOutbox(io.StringIO()), work=recording_work(Calls()))
    background.start()
    try:
        assert background.is_leader() and background.scheduler.running
        assert b"minio_chatops_leader 1.0" in runtime.metrics.exposition()
        assert set(background.scheduler.jobs()) == {"snapshots", "alerts", "backup-verify", "approvals", "executions"}
    finally:
        background.stop()
    assert not background.scheduler.running
    assert b"minio_chatops_leader 0.0" in runtime.metrics.exposition()


def test_only_the_leader_looks_for_executions_a_stopped_process_left_and_it_looks_often(tmp_path: Path) -> None:
    runtime = Runtime(config_for(tmp_path, channels=[], executions={"lease_seconds": 12}))
    calls = Calls()
    work = Work(executions=lambda _rt, _out, now: calls.add("executions", now))
    follower = Scheduler(runtime, TerminalOutbox(io.StringIO()), work=work, is_leader=lambda: False)
    assert follower.run_executions() == "skipped" and not calls.items
    leader = Scheduler(runtime, TerminalOutbox(io.StringIO()), work=work)
    assert leader.run_executions() == "sent" and calls.items[0][0] == "executions"
    assert runtime.config.executions.check_seconds == 2.0, "a resume comes within a sixth of the lease of its expiry"
    assert Scheduler(runtime, TerminalOutbox(io.StringIO()), work=Work()).run_executions() == "not_due"


def test_the_executions_job_gets_the_change_kinds_it_resumes_through(tmp_path: Path) -> None:
    from bot import approval_engine
    from bot.application import Application, Capability, Job

    class Kind:
        name, action_kind = "probe-kind", "scale"

    found: list[object] = []
    probe = Capability("probe")
    probe.change_kind(Kind())  # type: ignore[arg-type]  # only its name is looked up here
    probe.job(Job.EXECUTIONS)(lambda _rt, _out, _now, kinds: found.append(kinds("probe-kind")))
    app = Application()
    app.include(probe)
    work = Work.of(app)
    assert work.executions is not None
    work.executions(Runtime(config_for(tmp_path, channels=[])), TerminalOutbox(io.StringIO()), datetime.now(UTC))
    assert [type(k).__name__ for k in found] == ["Kind"]
    engine_app = Application()
    engine_app.include(approval_engine.capability)
    assert Work.of(engine_app).executions is not None, "the approval engine declares the job"


def test_config_rejects_a_bad_cron_and_leader_election_without_a_cluster() -> None:
    from bot.config import ConfigError

    with pytest.raises(ConfigError, match="invalid cron"):
        parse_config(yaml.safe_dump({"channels": [{"id": OPS, "report": {"cron": "61 9 * * *"}}]}))
    with pytest.raises(ConfigError, match="leader_election needs a Kubernetes cluster"):
        parse_config(yaml.safe_dump({"leader_election": {"lease_seconds": 10}}))
    config = parse_config(yaml.safe_dump({"clusters": [{"name": "prod"}], "leader_election": {}}))
    assert config.leader_election is not None and config.leader_election.lease_seconds == 15
