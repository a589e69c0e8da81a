"""The App Home tab (issue 17, point 3): every tenant the user may see, from stored state, paged.

Given stored alert verdicts, capacity snapshots, an open incident and a pending
approval, the tab shows each tenant's verdict, capacity with its trend and
days to 80 %, incidents and the approvals the user can decide; a user who sees
no tenant is told why; 200 tenants stay within Slack's view limits, paged; and
through the Slack simulator, opening the Home publishes it (rate-limited per user).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import parse_config
from bot.render import render_home
from bot.report import Status
from bot.runtime import Runtime
from handlers.home import home_view
from handlers.home.evaluate import days_to, trend
from handlers.home.facts import HomeFacts, TenantState
from handlers.home.present import PAGE_SIZE, home_report
from sandbox.minio_sim import SimCluster
from sandbox.slack_sim import SlackSim
from sandbox.slack_sim.blockkit import validate_view
from tests.fixtures.bot import ALICE, BOB, CAROL, OPS, BotFactory, base_config
from tests.reading import plain, report_text

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TB = 2**40


def series(start_pct: float, per_day_pct: float, days: int = 7) -> list[tuple[datetime, int, int]]:
    """Hourly usable (used, total) of a 100 TiB tenant growing ``per_day_pct`` points a day."""
    hours = days * 24
    return [(NOW - timedelta(hours=hours - h), int((start_pct + per_day_pct * h / 24) / 100 * 100 * TB), 100 * TB)
            for h in range(hours + 1)]


def test_trend_and_days_to_80_follow_the_stored_growth() -> None:
    growing = series(50, 2)  # 50 % a week ago, 64 % now, 2 points a day
    assert trend(growing) == "up"
    days = days_to(growing)
    assert days is not None and 7.9 < days < 8.1  # (80 - 64) / 2
    assert trend(series(60, -1)) == "down" and days_to(series(60, -1)) is None
    assert trend(series(40, 0.1)) == "flat"
    assert trend(growing[-3:]) is None, "no point a day old"


def test_each_tenant_line_says_verdict_capacity_incidents_and_approvals_for_the_user() -> None:
    facts = HomeFacts(user=BOB, now=NOW, tenants=[
        TenantState(name="analytics", health="HEALTHY", series=series(50, 2)),
        TenantState(name="logs", health="DEGRADED", series=series(85, 0.1), incidents=1, to_decide=2),
        TenantState(name="new", health=None),
    ])
    report = home_report(facts)
    rows = [plain(r.text) for r in report.sections[0].rows]
    assert rows == [
        "logs DEGRADED · 86 % used →, past 80 % · 1 open incident · 2 approvals for you",
        "new not checked yet · capacity not measured yet",
        "analytics HEALTHY · 64 % used ↗, 80 % in 8 days",
    ]
    assert plain(report.summary) == "3 tenants: 1 degraded, 1 not checked, 1 healthy; 2 approvals waiting for you"
    assert report.status == Status.DEGRADED


def test_a_user_who_sees_no_tenant_is_told_why() -> None:
    report = home_report(HomeFacts(user=CAROL, now=NOW, tenants=[]))
    assert "You see no tenants here" in plain(report.summary) and "Ask an admin" in plain(report.summary)
    assert validate_view(render_home(report)) is None


@pytest.mark.parametrize("page", [1, 3, 5])
def test_200_tenants_stay_within_the_views_limits_paged(page: int) -> None:
    tenants = [TenantState(name=f"tenant-{i:03d}-analytics-eu-west", health="HEALTHY", series=series(50, 1),
                           incidents=i % 3, to_decide=i % 2) for i in range(200)]
    report = home_report(HomeFacts(user=ALICE, now=NOW, tenants=tenants), page)
    view = render_home(report)
    assert validate_view(view) is None, validate_view(view)
    assert len(view["blocks"]) <= 100
    shown = [plain(r.text).split(" ")[0] for r in report.sections[0].rows]
    assert shown == [f"tenant-{i:03d}-analytics-eu-west" for i in range((page - 1) * PAGE_SIZE, page * PAGE_SIZE)]
    buttons = [a.label for a in report.actions]
    assert buttons == {1: ["Next page"], 3: ["Previous page", "Next page"], 5: ["Previous page"]}[page]
    assert report.sections[0].title == f"Page {page} of 5"


# ---------------------------------------------------------------- from the store


def stored_runtime(tmp_path: Path) -> Runtime:
    raw = {
        "admins": [ALICE],
        "store_url": f"sqlite:///{tmp_path / 'state.db'}",
        "channels": [{"id": OPS}, {"id": "C0OTHER"}],
        "tenants": [
            {"name": "analytics", "endpoints": ["http://127.0.0.1:1"], "channels": [OPS], "operators": [BOB],
             "responders": [CAROL],
             "credentials": {"access_key_env": "AK", "secret_key_env": "SK"}},
            {"name": "hidden", "endpoints": ["http://127.0.0.1:1"], "channels": ["C0OTHER"],
             "credentials": {"access_key_env": "AK", "secret_key_env": "SK"}},
        ],
    }
    runtime = Runtime(parse_config(yaml.safe_dump(raw)), clock=lambda: NOW)
    store = runtime.store
    store.alerts.put("health:analytics", "DEGRADED", since=NOW - timedelta(hours=2))
    for at, used, total in series(50, 2):
        store.capacity.add_snapshot("analytics", taken_at=at, raw_total=total * 2, raw_used=used * 2,
                                    usable_total=total, usable_used=used, objects=1, buckets_count=1)
    store.incidents.declare(severity="P2", title="slow", declared_by=ALICE, tenant="analytics", at=NOW)
    store.approvals.create(tenant="analytics", kind="scale", plan={}, plan_hash="h", requester=ALICE,
                           expires_at=NOW + timedelta(hours=1))
    return runtime


def test_the_tab_is_built_from_stored_state_for_each_user(tmp_path: Path) -> None:
    runtime = stored_runtime(tmp_path)
    try:
        bob = report_text(home_view(runtime, BOB))  # operator of analytics (and, without rules, its approver)
        assert "analytics DEGRADED · 64 % used ↗, 80 % in 8 days · 1 open incident" in bob
        assert "hidden" not in bob
        carol = report_text(home_view(runtime, CAROL))  # a responder in #ops, which sees analytics
        assert "analytics" in carol and "approvals for you" not in carol
        alice = report_text(home_view(runtime, ALICE))  # admin: everything; her own request is not hers to decide
        assert "hidden" in alice and "approval" not in alice.split("\n", 2)[1]
        nobody = report_text(home_view(runtime, "U0NOBODY"))
        assert "You see no tenants here" in nobody
    finally:
        runtime.close()


def test_opening_the_tab_reads_the_store_only(tmp_path: Path) -> None:
    # The tenants' endpoints lead nowhere: a live call would fail or hang; the tab still comes at once.
    runtime = stored_runtime(tmp_path)
    try:
        started = time.monotonic()
        text = report_text(home_view(runtime, ALICE))
        assert time.monotonic() - started < 5, "a live call to an endpoint would have waited for its timeout"
        assert "DEGRADED" in text and "unreachable" not in text
    finally:
        runtime.close()


# ---------------------------------------------------------------- through the Slack simulator


def test_opening_the_home_tab_publishes_it_and_page_buttons_turn_pages(
    bot_factory: BotFactory, slack_sim: SlackSim
) -> None:
    tenants: list[dict[str, Any]] = [
        {"name": f"t{i:02d}", "endpoints": ["http://127.0.0.1:1"], "channels": [OPS],
         "credentials": {"access_key_env": "AK", "secret_key_env": "SK"}} for i in range(PAGE_SIZE + 5)]
    bot = bot_factory(base_config(slack_sim, tenants=tenants))
    driver = bot.slack.driver(events_url=bot.events_url)
    result = driver.open_home(ALICE)
    assert result.status == 200
    view = bot.slack.wait_for(lambda: bot.slack.home_view(ALICE), timeout=10)
    text = str(view["blocks"])
    assert "t00" in text and "Page 1 of 2" in text and "Next page" in text
    driver.click_home(ALICE, "home:page:2", "2")
    bot.slack.wait_for(lambda: "Page 2 of 2" in str((bot.slack.home_view(ALICE) or {}).get("blocks")), timeout=10)
    # Opening again at once is served from the last publish (rate-limited per user).
    publishes = len(bot.slack.calls("views.publish"))
    driver.open_home(ALICE)
    time.sleep(0.5)
    assert len(bot.slack.calls("views.publish")) == publishes


class FakeDelivery:
    """Records what would be published."""

    def __init__(self) -> None:
        self.published: list[tuple[str, str]] = []

    def publish_home(self, user: str, report: Any) -> None:
        self.published.append((user, plain(report.summary)))


def test_tabs_are_rate_limited_per_user_and_refreshed_when_a_tenant_they_show_changes(tmp_path: Path) -> None:
    from bot.composition import load_application
    from bot.slack.home_tab import HomeTab

    runtime = stored_runtime(tmp_path)
    clock = [0.0]
    delivery = FakeDelivery()
    tab = HomeTab(runtime, load_application(), delivery, min_interval_s=30, clock=lambda: clock[0])  # type: ignore[arg-type]
    try:
        tab.opened(BOB)
        tab.opened(BOB)  # at once again: served by the last publish
        tab.opened(CAROL)
        assert [u for u, _ in delivery.published] == [BOB, CAROL]
        tab.turn_page(BOB, 2)  # a page button is never limited
        assert len(delivery.published) == 3
        clock[0] += 31
        assert tab.tenants_changed({"hidden"}) == 0, "nobody who opened a tab sees that tenant"
        assert tab.tenants_changed({"analytics"}) == 2
        assert [u for u, _ in delivery.published[-2:]] == [BOB, CAROL]
        assert tab.tenants_changed({"analytics"}) == 0, "rate-limited: published moments ago"
    finally:
        runtime.close()


def test_the_leaders_alert_check_refreshes_tabs_another_replica_served(tmp_path: Path) -> None:
    """Two replicas, one store: Bob's Home was served by replica A; the leader (B) refreshes it."""
    from bot.composition import load_application
    from bot.slack.home_tab import HomeTab

    runtime_a = stored_runtime(tmp_path)
    runtime_b = Runtime(runtime_a.config, clock=lambda: NOW)
    served_by_a, published_by_b = FakeDelivery(), FakeDelivery()
    replica_a = HomeTab(runtime_a, load_application(), served_by_a)  # type: ignore[arg-type]
    leader_b = HomeTab(runtime_b, load_application(), published_by_b)  # type: ignore[arg-type]
    try:
        replica_a.opened(BOB)
        assert [u for u, _ in served_by_a.published] == [BOB]
        assert leader_b.tenants_changed({"hidden"}) == 0, "Bob's Home does not show that tenant"
        assert leader_b.tenants_changed({"analytics"}) == 1
        assert [u for u, _ in published_by_b.published] == [BOB]
        assert runtime_b.store.home_viewers.recent(now=datetime.now(UTC) + timedelta(days=31)) == [], \
            "a user who has not opened the tab for a month is no longer refreshed"
    finally:
        runtime_a.close()
        runtime_b.close()


def test_the_alert_check_refreshes_the_tabs_of_the_tenants_it_found_changed() -> None:
    from types import SimpleNamespace

    from bot.scheduler import alerts_refreshing_home

    refreshed: list[set[str]] = []
    changes = [SimpleNamespace(tenant="logs"), SimpleNamespace(tenant="analytics"), SimpleNamespace(tenant="logs")]
    check = alerts_refreshing_home(lambda *_: changes, refreshed.append)
    assert check(None, None, NOW) is changes  # type: ignore[arg-type]
    assert refreshed == [{"logs", "analytics"}]
    alerts_refreshing_home(lambda *_: [], refreshed.append)(None, None, NOW)  # type: ignore[arg-type]
    assert len(refreshed) == 1, "no change, no refresh"


def test_a_tenants_button_opens_its_full_health_report_in_a_modal(
    bot_factory: BotFactory, slack_sim: SlackSim, minio_cluster: SimCluster, tmp_path: Path
) -> None:
    (tmp_path / "ak").write_text(minio_cluster.access_key)
    (tmp_path / "sk").write_text(minio_cluster.secret_key)
    demo = {"name": "demo", "endpoints": list(minio_cluster.endpoints), "channels": [OPS], "operators": [BOB],
            "credentials": {"access_key_file": str(tmp_path / "ak"), "secret_key_file": str(tmp_path / "sk")}}
    bot = bot_factory(base_config(slack_sim, tenants=[demo], timeouts={"report_deadline": 8}))
    bot.bot.runtime.store.alerts.put("health:demo", "HEALTHY", since=datetime.now(UTC))
    driver = bot.slack.driver(events_url=bot.events_url)
    driver.open_home(BOB)
    view = bot.slack.wait_for(lambda: bot.slack.home_view(BOB), timeout=10)
    assert "demo HEALTHY" in str(view["blocks"]).replace("*", ""), "the demo tenant with its verdict"
    driver.click_home(BOB, "home:run:0", "/minio health demo")

    def report_shown() -> str | None:
        modals = bot.slack.views(BOB)
        text = str(modals[-1].view["blocks"]) if modals else ""
        return text if "Working on" not in text and text else None

    text = bot.slack.wait_for(report_shown, timeout=20)
    assert "Health of demo: " in text, "the health report itself, live, in the modal"
    # A command about a tenant that is not on the user's Home is not run.
    driver.open_home(CAROL)
    bot.slack.wait_for(lambda: bot.slack.home_view(CAROL), timeout=10)
    driver.click_home(CAROL, "home:run:0", "/minio health demo")
    refused = bot.slack.wait_for(lambda: [v for v in bot.slack.views(CAROL) if "not on your Home" in str(v.view)],
                                 timeout=10)
    assert refused
