"""The daily report as a channel sees it: one message a day, a line per tenant, details in its thread."""

from __future__ import annotations

import io
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import TenantConfig, parse_config
from bot.metrics import BotMetrics
from bot.outbox import TerminalOutbox
from bot.report import Report, Row, Section, Status
from bot.runtime import Runtime
from bot.slack.delivery import Delivery, SlackOutbox, make_web_client
from bot.store import StoreUnavailable
from handlers.capacity import CapacitySummary
from handlers.capacity.forecast import threshold_state
from handlers.daily_report import Sources, send_daily_report
from handlers.health import TenantHealth
from sandbox.slack_sim import SlackSim
from tests.fixtures.bot import ALICE, BotFactory
from tests.reading import plain, report_text
from tests.test_scheduler import OPS, FakeClock, config_for, static_tenant
from tests.test_slack_app import wait_ephemeral

NOW = datetime(2024, 5, 14, 7, 0, 20, tzinfo=UTC)
SLOT = datetime(2024, 5, 14, 7, 0, tzinfo=UTC)


def healthy(name: str) -> TenantHealth:
    return TenantHealth(tenant=name, status=Status.HEALTHY, checked_at=NOW)


def capacity(name: str, pct: float = 42.0, days: float | None = 120.0) -> CapacitySummary:
    from bot.config import Thresholds

    state = threshold_state(pct, Thresholds())
    return CapacitySummary(
        tenant=name, ok=True, pct_used=pct, state=state, status=Status.HEALTHY,
        growth_7d_bytes=3 << 40, growth_7d_pct_points=1.5, days_until_80=days,
    )


def sources(health: dict[str, TenantHealth | Exception] | None = None, cap: dict[str, Any] | None = None) -> Sources:
    """Stand-ins: every tenant healthy at 42 % unless named otherwise; an Exception value is raised."""

    def health_of(_rt: Runtime, tenant: TenantConfig, _deadline: float) -> TenantHealth:
        value = (health or {}).get(tenant.name, healthy(tenant.name))
        if isinstance(value, Exception):
            raise value
        return value

    def capacity_of(_rt: Runtime, tenant: TenantConfig) -> CapacitySummary:
        value = (cap or {}).get(tenant.name, capacity(tenant.name))
        if isinstance(value, Exception):
            raise value
        assert isinstance(value, CapacitySummary)
        return value

    return Sources(health=health_of, capacity=capacity_of)


def text_of(report: Report) -> str:
    return report_text(report)


def head_of(report: Report) -> Report:
    """The report as the channel message shows it (the sections not meant for its thread)."""
    return report.model_copy(update={"sections": [s for s in report.sections if not s.in_thread]})


def details_of(report: Report) -> list[Section]:
    """The sections the report puts in its thread: one per tenant."""
    return [s for s in report.sections if s.in_thread]


def rows_text(section: Section) -> list[str]:
    return [plain(r.text) for r in section.rows]


def test_one_row_per_visible_tenant_worst_first_and_details_in_the_thread(tmp_path: Path) -> None:
    config = config_for(tmp_path, tenants=[
        static_tenant("alpha"), static_tenant("beta"), static_tenant("gamma"), static_tenant("hidden", ["C0OTHER"]),
    ])
    runtime = Runtime(config, clock=lambda: NOW)
    degraded = TenantHealth(
        tenant="beta", status=Status.DEGRADED, checked_at=NOW, reasons=["node 3 offline"],
        sections=[Section(title="Nodes", status=Status.DEGRADED,
                          rows=[Row(status=Status.DEGRADED, text="node 3 is offline since 06:12")])],
    )
    outbox = TerminalOutbox(io.StringIO())
    sent = send_daily_report(runtime, outbox, OPS, scheduled_for=SLOT, now=NOW,
                             sources=sources({"beta": degraded}, {"gamma": capacity("gamma", 83.0, 0.0)}))
    assert sent.tenants == 3
    [(_, _, report, thread)] = outbox.posted
    head, details = head_of(report), details_of(report)
    assert thread is None, "one message in the channel; its details are meant for its thread"
    assert head.title == "Daily MinIO report — Tue 14 May 2024" and head.status is Status.DEGRADED
    assert plain(head.summary) == "3 tenant(s): 2 healthy, 1 degraded."
    rows = rows_text(head.sections[0])
    assert [r.split()[0] for r in rows] == ["beta", "alpha", "gamma"], "problems first"
    assert "node 3 offline" in rows[0] and "42.0 % used" in rows[1]
    assert "83.0 % used (ALERT)" in rows[2] and "80 % reached" in rows[2]
    assert "7 d: +3.00 TiB (+1.5 pp)" in rows[1]
    assert "hidden" not in text_of(report)
    assert plain(head.footer[0]) == "Scheduled for 09:00 Europe/Berlin"
    assert [d.title for d in details] == ["beta", "alpha", "gamma"]
    beta = details[0]
    assert "• node 3 offline" in [plain(line) for line in beta.lines]
    assert rows_text(beta) == ["Nodes: node 3 is offline since 06:12"]


def test_a_failed_source_is_a_line_that_says_so_and_the_report_still_goes_out(tmp_path: Path) -> None:
    runtime = Runtime(config_for(tmp_path, tenants=[static_tenant("alpha"), static_tenant("beta")]),
                      clock=lambda: NOW)
    outbox = TerminalOutbox(io.StringIO())
    broken = sources(
        {"alpha": RuntimeError("bug")},
        {"beta": StoreUnavailable("cannot reach the store (PostgreSQL at db:5432/x): connection refused")},
    )
    send_daily_report(runtime, outbox, OPS, scheduled_for=SLOT, now=NOW, sources=broken)
    head = outbox.posted[0][2]
    alpha = next(r for r in head.sections[0].rows if plain(r.text).startswith("alpha"))
    beta = next(r for r in head.sections[0].rows if plain(r.text).startswith("beta"))
    assert alpha.status is Status.UNKNOWN and "health not checked" in plain(alpha.text)
    assert "capacity unknown: store unavailable: cannot reach the store" in plain(beta.text)


def test_a_report_sent_late_says_so(tmp_path: Path) -> None:
    runtime = Runtime(config_for(tmp_path, tenants=[static_tenant("alpha")]))
    outbox = TerminalOutbox(io.StringIO())
    send_daily_report(runtime, outbox, OPS, scheduled_for=SLOT, now=SLOT + timedelta(hours=3, minutes=30),
                      sources=sources())
    assert "sent late at 12:30" in plain(outbox.posted[0][2].footer[0])


def test_maintenance_windows_left_open_past_their_end_are_listed(tmp_path: Path) -> None:
    runtime = Runtime(config_for(tmp_path, tenants=[static_tenant("alpha"), static_tenant("beta")]))
    runtime.store.maintenance.open("alpha", started_by="U0BOB", until=NOW - timedelta(hours=2), changes={},
                                   at=NOW - timedelta(hours=5))
    runtime.store.maintenance.open("beta", started_by="U0BOB", until=NOW + timedelta(hours=2), changes={}, at=NOW)
    outbox = TerminalOutbox(io.StringIO())
    send_daily_report(runtime, outbox, OPS, scheduled_for=SLOT, now=NOW, sources=sources())
    section = outbox.posted[0][2].sections[1]
    assert section.title == "Maintenance windows past their end"
    [row] = rows_text(section)
    assert row.startswith("alpha:") and "ended 2.0 h ago" in row and "@U0BOB" in row
    assert "`/minio maintenance alpha disable`" in row


def test_store_unavailable_at_report_time_the_report_still_shows_what_it_knows(tmp_path: Path) -> None:
    config = config_for(tmp_path, tenants=[static_tenant("alpha")],
                        store_url="postgresql+psycopg://chatops:s3cret-pw@127.0.0.1:1/chatops")
    runtime = Runtime(config, environ={})
    outbox = TerminalOutbox(io.StringIO())
    send_daily_report(runtime, outbox, OPS, scheduled_for=SLOT, now=NOW, sources=sources())
    head = outbox.posted[0][2]
    assert plain(head.sections[1].error).startswith("could not check: cannot reach the store")
    assert "s3cret-pw" not in text_of(head)


def test_the_date_is_the_channels_local_date_in_utc_plus_13(tmp_path: Path) -> None:
    channels = [{"id": OPS, "report": {"cron": "0 9 * * *", "timezone": "Pacific/Tongatapu"}}]
    runtime = Runtime(config_for(tmp_path, channels, tenants=[static_tenant("alpha")]))
    outbox = TerminalOutbox(io.StringIO())
    slot = datetime(2024, 5, 14, 20, 0, tzinfo=UTC)  # 09:00 on the 15th in Tonga
    send_daily_report(runtime, outbox, OPS, scheduled_for=slot, now=slot, sources=sources())
    head = outbox.posted[0][2]
    assert head.title == "Daily MinIO report — Wed 15 May 2024"
    assert plain(head.footer[0]) == "Scheduled for 09:00 Pacific/Tongatapu"


def test_fifty_tenants_through_slack_429s_arrive_complete_in_order_and_once(
    tmp_path: Path, slack_sim: SlackSim
) -> None:
    names = [f"tenant-{i:02d}" for i in range(50)]
    config = config_for(tmp_path, tenants=[static_tenant(n) for n in names])
    runtime = Runtime(config, clock=lambda: NOW)
    metrics = BotMetrics()
    outbox = SlackOutbox(Delivery(make_web_client(slack_sim.bot_token, slack_sim.api_url, metrics), metrics))
    slack_sim.set_rate_limits(True)  # ~1 post per second per channel, like Slack
    # As many 429s in a row as one call's retry budget (4): delivery waits out each Retry-After.
    slack_sim.inject("chat.postMessage", status=429, retry_after=1, times=4)
    began = time.monotonic()
    sent = send_daily_report(runtime, outbox, OPS, scheduled_for=SLOT, now=NOW, sources=sources())
    print(f"\n50-tenant report through 429s: {time.monotonic() - began:.1f} s")
    assert sent.tenants == 50
    messages = slack_sim.messages(OPS)
    head, replies = messages[0], messages[1:]
    assert not head.is_reply and replies and all(m.thread_ts == head.ts for m in replies)
    head_text = json.dumps(head.blocks)
    assert all(f"*{n}*" in head_text for n in names)
    assert "Every health check passed" not in head_text, "the details are in the thread only"
    seen = [n for m in replies for n in names if f"*{n}*" in json.dumps(m.blocks)]
    assert seen == names, "every tenant's details once, in the head's order"
    assert all(sum(json.dumps(m.blocks).count(f"*{n}*") for m in replies) == 1 for n in names), "nothing twice"
    rejected = [c for c in slack_sim.calls("chat.postMessage") if c.http_status == 429]
    assert len(rejected) >= 4


# ----------------------------------------------------------------------------- exactly once through Slack


class Crash(BaseException):
    """The process dies here (not an error anything in the bot catches)."""


def slack_outbox(sim: SlackSim) -> SlackOutbox:
    metrics = BotMetrics()
    return SlackOutbox(Delivery(make_web_client(sim.bot_token, sim.api_url, metrics), metrics))


def report_work() -> Any:
    from bot.scheduler import Work

    def report(rt: Runtime, out: Any, channel: Any, slot: datetime, now: datetime) -> None:
        send_daily_report(rt, out, channel.id, scheduled_for=slot, now=now, sources=sources())

    return Work(report=report)


def report_heads(sim: SlackSim) -> list[Any]:
    """The daily reports in #ops: top-level messages titled like one."""
    return [m for m in sim.messages(OPS, include_replies=False) if "Daily MinIO report" in m.text]


def test_a_keyed_post_is_not_repeated_blindly_on_a_500_and_is_found_by_its_key(slack_sim: SlackSim) -> None:
    from bot.outbox import OutboxError

    outbox = slack_outbox(slack_sim)
    report = Report(title="Daily MinIO report", summary="all healthy")
    slack_sim.inject("chat.postMessage", status=500, times=1)
    with pytest.raises(OutboxError):
        outbox.post_keyed(OPS, report, "key-1")
    assert len(slack_sim.calls("chat.postMessage")) == 1, "a 500 may come after Slack posted: no blind retry"
    assert outbox.find_keyed(OPS, "key-1", SLOT) is None
    ts = outbox.post_keyed(OPS, report, "key-1")
    outbox.post(OPS, Report(title="", summary="someone else's line"))
    assert outbox.find_keyed(OPS, "key-1", SLOT) == ts
    assert outbox.find_keyed(OPS, "key-2", SLOT) is None
    later = datetime.fromtimestamp(float(ts) + 1, UTC)
    assert outbox.find_keyed(OPS, "key-1", later) is None, "only messages since the given time are searched"
    slack_sim.inject("chat.postMessage", status=500, times=1)
    outbox.post(OPS, Report(title="", summary="plain posts still retry a 5xx"))
    slack_sim.inject("conversations.history", status=200, error="missing_scope")
    with pytest.raises(OutboxError, match="missing_scope"):
        outbox.find_keyed(OPS, "key-1", SLOT)


def test_slack_answering_500_for_two_minutes_at_report_time_the_report_is_delivered_once_afterwards(
    tmp_path: Path, slack_sim: SlackSim
) -> None:
    from bot.scheduler import Scheduler
    from bot.slot_delivery import idempotency_key

    clock = FakeClock(SLOT + timedelta(seconds=20))
    runtime = Runtime(config_for(tmp_path, tenants=[static_tenant("alpha")]), clock=clock)
    scheduler = Scheduler(runtime, slack_outbox(slack_sim), work=report_work())
    slack_sim.inject("*", status=500, for_seconds=120)  # Slack's outage starts as the report goes out

    outcomes = [scheduler.run_report(OPS)]
    while outcomes[-1] != "sent" and len(outcomes) < 10:
        delivery = runtime.store.deliveries.get("report:C0OPS", SLOT)
        assert delivery is not None and delivery.next_attempt_at is not None, outcomes
        step = (delivery.next_attempt_at - clock()).total_seconds()
        clock.advance(seconds=step)
        slack_sim.advance_clock(step)
        outcomes.append(scheduler.run_report(OPS))
    assert outcomes[0] == "failed" and outcomes[-1] == "sent", outcomes
    assert clock() - SLOT < timedelta(minutes=5), "delivered soon after Slack came back, not at the next day"

    [head] = report_heads(slack_sim)
    assert head.metadata == {"event_type": "minio_chatops_keyed",
                             "event_payload": {"key": idempotency_key(OPS, SLOT)}}
    assert len(slack_sim.thread(OPS, head.ts)) == 2, "the tenant's details in its thread, once"
    failed_posts = [c for c in slack_sim.calls("chat.postMessage") if c.http_status == 500]
    assert failed_posts, "the outage did hit the report"
    delivery = runtime.store.deliveries.get("report:C0OPS", SLOT)
    assert delivery is not None and delivery.status == "delivered" and delivery.message_ts == head.ts
    assert scheduler.run_report(OPS) == "skipped"
    assert len(report_heads(slack_sim)) == 1


def test_a_crash_between_posting_the_report_and_marking_it_delivered_still_posts_it_once(
    tmp_path: Path, slack_sim: SlackSim
) -> None:
    from bot.scheduler import Scheduler

    config = config_for(tmp_path, tenants=[static_tenant("alpha")])
    clock = FakeClock(SLOT + timedelta(seconds=20))
    crashed = Runtime(config, clock=clock)

    def crash(*_args: Any, **_kwargs: Any) -> bool:
        raise Crash()

    crashed.store.deliveries.mark_delivered = crash  # type: ignore[method-assign]
    with pytest.raises(Crash):
        Scheduler(crashed, slack_outbox(slack_sim), work=report_work(), identity="bot-0").run_report(OPS)
    [posted] = report_heads(slack_sim)

    # The pod is replaced; its successor (or another replica) leads now.
    successor = Scheduler(Runtime(config, clock=clock), slack_outbox(slack_sim), work=report_work(), identity="bot-1")
    clock.advance(seconds=30)
    assert successor.run_report(OPS) == "skipped", "the crashed attempt holds the slot until its hold ends"
    clock.advance(minutes=5)
    assert successor.run_report(OPS) == "sent"
    assert [m.ts for m in report_heads(slack_sim)] == [posted.ts], "found by its key, not posted again"
    delivery = successor.runtime.store.deliveries.get("report:C0OPS", SLOT)
    assert delivery is not None and delivery.message_ts == posted.ts and delivery.attempts == 2
    histories = slack_sim.calls("conversations.history")
    assert histories and histories[-1].params.get("include_all_metadata") in ("1", "true", True)


def test_the_schedule_says_when_the_latest_report_is_still_owed_or_was_given_up(tmp_path: Path) -> None:
    from bot.config import ReportSchedule
    from handlers.daily_report.facts import schedule_facts
    from handlers.daily_report.present import schedule_report

    runtime = Runtime(config_for(tmp_path), clock=lambda: NOW)
    store = runtime.store
    berlin = ReportSchedule(cron="0 9 * * *", timezone="Europe/Berlin")
    yesterday = SLOT - timedelta(days=1)
    for slot in (yesterday, SLOT):
        store.deliveries.claim("report:C0OPS", slot, channel=OPS, key=f"k{slot:%d}", by=None, at=slot,
                               lease=timedelta(minutes=5))
    store.deliveries.mark_delivered("report:C0OPS", yesterday, message_ts="1.0", at=yesterday)
    store.deliveries.mark_failed("report:C0OPS", SLOT, attempt=1, error="Slack unreachable (ConnectionError)",
                                 retry_at=NOW)

    def lines() -> list[str]:
        report = schedule_report(schedule_facts(runtime, OPS, berlin, NOW), NOW, 12)
        return [plain(line) for line in report.sections[0].lines]

    shown = lines()
    assert "Last sent: Mon 13 May 09:00 CEST" in shown, "the failed slot is not reported as sent"
    assert ("The report due Tue 14 May 09:00 CEST is not in the channel yet; the bot keeps trying "
            "(Slack unreachable (ConnectionError)).") in shown
    store.deliveries.give_up("report:C0OPS", SLOT, error=None, at=NOW)
    assert any(line.startswith("The report due Tue 14 May 09:00 CEST could not be delivered") for line in lines())
    store.deliveries.mark_delivered("report:C0OPS", SLOT, message_ts="2.0", at=NOW)
    assert "Last sent: Tue 14 May 09:00 CEST" in lines() and not any("The report due" in x for x in lines())


def test_report_now_posts_in_the_channel_and_report_shows_the_schedule(
    bot_factory: BotFactory, slack_sim: SlackSim, tmp_path: Path, minio_cluster: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("R_AK", minio_cluster.access_key)
    monkeypatch.setenv("R_SK", minio_cluster.secret_key)
    config = {
        "admins": [ALICE],
        "slack": {"api_url": slack_sim.api_url, "mode": "http", "workers": 4},
        "store_url": f"sqlite:///{tmp_path / 'state.db'}",
        "channels": [{"id": OPS, "report": {"cron": "0 9 * * 1-5", "timezone": "Europe/Berlin"}}],
        "tenants": [{
            "name": "demo", "endpoints": minio_cluster.endpoints,
            "credentials": {"access_key_env": "R_AK", "secret_key_env": "R_SK"}, "channels": [OPS],
        }],
    }
    running = bot_factory(config)
    assert running.slash(ALICE, OPS, "report").ok
    schedule = wait_ephemeral(slack_sim, OPS, ALICE, "Schedule: cron")
    assert "Europe/Berlin" in schedule and "Next:" in schedule and "Last sent: never" in schedule

    assert running.slash(ALICE, OPS, "report now").ok
    wait_ephemeral(slack_sim, OPS, ALICE, "Posted the report for 1 tenant(s)", timeout=30)
    head = slack_sim.messages(OPS, include_replies=False)[0]
    # The simulator has no probe bucket, so the real health check says DEGRADED and why.
    assert "Daily MinIO report" in head.text and "*demo* DEGRADED" in json.dumps(head.blocks)
    assert "probe bucket" in json.dumps(head.blocks)
    assert "% used" in json.dumps(head.blocks) and "Requested by <@U0ALICE>" in json.dumps(head.blocks)
    thread = slack_sim.thread(OPS, head.ts)
    assert len(thread) == 2 and "Capacity:" in json.dumps(thread[1].blocks)


def test_the_report_verb_is_in_help() -> None:
    from bot.composition import load_application

    registry = load_application().registry
    verb = registry.get("report")
    assert verb is not None and verb.usage() == "/minio report [now]"
    assert not isinstance(registry.parse("report now"), type(None))
    assert "now" in str(registry.parse("report later"))
    assert parse_config(yaml.safe_dump({"channels": [{"id": OPS, "report": {"cron": "0 9 * * 7"}}]}))


@pytest.mark.postgres
def test_postgres_down_at_report_time_delays_the_report_and_it_is_sent_once_when_back(
    tmp_path: Path, postgres_server: Any, fresh_pg_url: str
) -> None:
    from sqlalchemy.engine import make_url

    from bot.scheduler import Scheduler

    if make_url(fresh_pg_url).port != postgres_server.port:
        pytest.fail("this test stops PostgreSQL: run it without MINIO_CHATOPS_TEST_PG_URL (the suite's own server)")
    clock = [SLOT + timedelta(seconds=20)]
    runtime = Runtime(config_for(tmp_path, tenants=[static_tenant("alpha")], store_url=fresh_pg_url),
                      clock=lambda: clock[0], environ={})
    runtime.store.ping()
    outbox = TerminalOutbox(io.StringIO())
    sent: list[datetime] = []
    from bot.scheduler import Work

    def report(_rt: Runtime, out: Any, channel: Any, slot: datetime, now: datetime) -> None:
        sent.append(slot)
        send_daily_report(_rt, out, channel.id, scheduled_for=slot, now=now, sources=sources())

    scheduler = Scheduler(runtime, outbox, work=Work(report=report))
    postgres_server.stop()
    try:
        assert scheduler.run_report(OPS) == "deferred"
        assert scheduler.run_report(OPS) == "deferred"
    finally:
        postgres_server.start()
    notes = [plain(r.summary) for (_c, _ts, r, _t) in outbox.posted]
    assert len(notes) == 1 and "delayed" in notes[0], "one note, not one per retry"
    assert postgres_server.password not in notes[0]
    clock[0] += timedelta(minutes=3)
    assert scheduler.run_report(OPS, SLOT) == "sent"
    assert scheduler.run_report(OPS) == "skipped"
    assert sent == [SLOT]
    head = outbox.posted[1][2]
    assert head.title.startswith("Daily MinIO report") and head.footer[0] == "Scheduled for 09:00 Europe/Berlin"


def test_120_tenants_with_long_reasons_fit_slack_every_tenant_listed_and_detailed_once_in_order() -> None:
    from bot.render import render_slack
    from handlers.daily_report import TenantFacts, build_report
    from handlers.daily_report.facts import ReportFacts

    long = "x" * 500
    sections = [Section(title=f"Area {i}", status=Status.DEGRADED, rows=[Row(status=Status.DEGRADED, text=long)])
                for i in range(8)]
    facts = [
        TenantFacts(
            tenant=f"tenant-{i:03d}",
            health=TenantHealth(tenant=f"tenant-{i:03d}", status=Status.DEGRADED, checked_at=NOW,
                                reasons=[long] * 7, sections=sections),
            capacity=capacity(f"tenant-{i:03d}", 77.7),
        )
        for i in range(120)
    ]
    report = build_report(None, ReportFacts(tenants=facts, overdue=[]), now=NOW, scheduled_for=SLOT)
    post = render_slack(report)
    messages = [post.head, *post.thread]
    for message in messages:
        assert len(json.dumps(message.blocks, ensure_ascii=False)) < 11500
        assert len(message.blocks) <= 50
    names = [f"tenant-{i:03d}" for i in range(120)]
    text = [json.dumps(m.blocks, ensure_ascii=False) for m in messages]
    # Each tenant appears twice, in order: its row (with its verdict) and later its details (with its reasons).
    rows = [n for t in text for n in names if f"*{n}* DEGRADED" in t]
    details = [n for t in text for n in names if f"*{n}*\\n" in t]
    assert rows == names and details == names
    assert "*tenant-000* DEGRADED" in text[0] and "*tenant-000*\\n" not in text[0], "rows first; details in the thread"
