"""Alerts as on-call meets them: one post per change, a recovery when it clears, silence during maintenance."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import TenantConfig, Thresholds
from bot.outbox import OutboxError, TerminalOutbox
from bot.report import Report, Status
from bot.runtime import Runtime
from handlers.alerts import AlertSources, capacity_level, evaluate_alerts, health_level
from handlers.capacity import CapacitySummary
from handlers.capacity.forecast import threshold_state
from handlers.health import TenantHealth
from tests.reading import plain
from tests.test_scheduler import OPS, config_for, static_tenant

ALERTS = "C0ALERTS"
DEV = "C0DEV"
T0 = datetime(2024, 5, 14, 7, 0, tzinfo=UTC)


class World:
    """What the stand-in sources report: a status and a usage per tenant, changed by the test."""

    def __init__(self) -> None:
        self.status: dict[str, Status] = {}
        self.pct: dict[str, float] = {}
        self.reasons: dict[str, list[str]] = {}

    def sources(self) -> AlertSources:
        def health(_rt: Runtime, tenant: TenantConfig, _deadline: float) -> TenantHealth:
            return TenantHealth(
                tenant=tenant.name, status=self.status.get(tenant.name, Status.HEALTHY), checked_at=T0,
                reasons=self.reasons.get(tenant.name, []),
            )

        def capacity(_rt: Runtime, tenant: TenantConfig) -> CapacitySummary:
            pct = self.pct.get(tenant.name, 40.0)
            return CapacitySummary(tenant=tenant.name, ok=True, pct_used=pct,
                                   state=threshold_state(pct, tenant.thresholds))

        return AlertSources(health=health, capacity=capacity)


class Setup:
    """A runtime, an outbox and a world; `check()` runs one alert evaluation at `now`."""

    def __init__(self, tmp_path: Path, **config: Any):
        self.config = config_for(tmp_path, **config)
        self.now = T0
        self.world = World()
        self.outbox = TerminalOutbox(io.StringIO())
        self.runtime = self.restart()

    def restart(self) -> Runtime:
        """A fresh process on the same store (nothing kept in memory)."""
        self.runtime = Runtime(self.config, clock=lambda: self.now)
        return self.runtime

    def check(self, minutes: float = 3) -> list[tuple[str, Report]]:
        self.now += timedelta(minutes=minutes)
        before = len(self.outbox.posted)
        evaluate_alerts(self.runtime, self.outbox, sources=self.world.sources())
        return [(channel, report) for channel, _ts, report, _t in self.outbox.posted[before:]]


def routed(tmp_path: Path) -> Setup:
    """#ops routes alerts to #alerts; #dev also sees the tenant and also routes to #alerts."""
    channels = [{"id": OPS, "alerts_to": ALERTS}, {"id": DEV, "alerts_to": ALERTS}]
    return Setup(tmp_path, channels=channels, tenants=[static_tenant("demo", [OPS, DEV])])


def test_health_change_posts_once_to_the_alert_route_and_recovers_once(tmp_path: Path) -> None:
    s = routed(tmp_path)
    assert s.check() == [], "healthy at first sight: nothing to say"
    s.world.status["demo"] = Status.DEGRADED
    s.world.reasons["demo"] = ["node 3 offline", "drive 7 healing"]
    [(channel, report)] = s.check()
    assert channel == ALERTS, "both channels route to #alerts: one post"
    assert report.title == "MinIO alert: demo is DEGRADED" and report.status is Status.DEGRADED
    assert report.reasons == ["node 3 offline", "drive 7 healing"]
    assert s.check() == [] and s.check() == [], "still degraded: no repeat"
    s.world.status["demo"] = Status.UNHEALTHY
    [(_, worse)] = s.check()
    assert worse.title == "MinIO alert: demo is UNHEALTHY"
    s.world.status["demo"] = Status.HEALTHY
    [(_, recovered)] = s.check()
    assert recovered.title == "MinIO alert: Recovered: demo is HEALTHY again"
    assert "was UNHEALTHY after 3 min" in plain(recovered.summary)
    assert s.check() == []


def test_alert_state_survives_a_restart_so_nothing_is_repeated(tmp_path: Path) -> None:
    s = routed(tmp_path)
    s.world.status["demo"] = Status.DEGRADED
    assert len(s.check()) == 1
    s.restart()
    assert s.check() == [], "the new process knows the channel was told"
    s.world.status["demo"] = Status.HEALTHY
    s.restart()
    [(_, report)] = s.check()
    assert report.title.startswith("MinIO alert: Recovered")
    stored = s.runtime.store.alerts.get("health:demo")
    assert stored is not None and stored.state == "HEALTHY" and stored.last_notified_at == s.now


def test_a_tenant_already_degraded_at_first_sight_is_announced(tmp_path: Path) -> None:
    s = Setup(tmp_path, tenants=[static_tenant("demo")])
    s.world.status["demo"] = Status.UNHEALTHY
    [(channel, report)] = s.check()
    assert channel == OPS and "UNHEALTHY (was HEALTHY)" in plain(report.summary)


def test_capacity_crossing_80_posts_and_hovering_at_the_line_does_not(tmp_path: Path) -> None:
    s = Setup(tmp_path, tenants=[static_tenant("demo")])
    s.world.pct["demo"] = 72.0
    [(_, plan)] = s.check()
    assert plan.title == "MinIO alert: demo capacity crossed 70 % (PLAN)"
    s.world.pct["demo"] = 80.2
    [(_, alert)] = s.check()
    assert alert.title == "MinIO alert: demo capacity crossed 80 % (ALERT)" and "80.2 %" in plain(alert.summary)
    for pct in (79.6, 80.4, 79.1, 80.0):
        s.world.pct["demo"] = pct
        assert s.check() == [], f"{pct} % is within the 1-point band: no flapping"
    s.world.pct["demo"] = 91.0
    [(_, critical)] = s.check()
    assert critical.title == "MinIO alert: demo capacity crossed 90 % (CRITICAL)"
    assert critical.status is Status.UNHEALTHY
    s.world.pct["demo"] = 78.5
    [(_, eased)] = s.check()
    assert eased.title == "MinIO alert: demo capacity eased to PLAN" and "back below 90 %" in plain(eased.summary)
    s.world.pct["demo"] = 50.0
    [(_, clear)] = s.check()
    assert clear.title == "MinIO alert: Recovered: demo capacity below 70 %"


def test_quiet_during_maintenance_and_the_first_check_after_says_what_changed(tmp_path: Path) -> None:
    s = Setup(tmp_path, tenants=[static_tenant("demo"), static_tenant("other")])
    s.check()
    window = s.runtime.store.maintenance.open("demo", started_by="U0BOB", until=s.now + timedelta(minutes=30),
                                              changes={}, at=s.now)
    assert window is not None
    s.world.status["demo"] = Status.DEGRADED  # nodes restarting: expected
    s.world.status["other"] = Status.DEGRADED  # not in maintenance: still alerts
    posts = s.check()
    assert [r.title for _, r in posts] == ["MinIO alert: other is DEGRADED"]
    s.world.status["demo"] = Status.HEALTHY
    assert s.check() == []
    s.world.status["demo"] = Status.UNHEALTHY
    assert s.check() == [], "muted"
    stored = s.runtime.store.alerts.get("health:demo")
    assert stored is not None and stored.state == "HEALTHY", "state kept as people last heard it"
    s.now = window.until + timedelta(minutes=1)
    [(_, left_behind)] = s.check(minutes=0)
    assert left_behind.title == "MinIO alert: demo is UNHEALTHY", "the work left a problem behind: announced"


def test_a_problem_fixed_during_maintenance_gets_its_recovery_message_after(tmp_path: Path) -> None:
    s = Setup(tmp_path, tenants=[static_tenant("demo")])
    s.world.status["demo"] = Status.DEGRADED
    assert len(s.check()) == 1
    s.runtime.store.maintenance.open("demo", started_by="U0BOB", until=s.now + timedelta(minutes=10), changes={},
                                     at=s.now)
    s.world.status["demo"] = Status.HEALTHY
    assert s.check() == [], "muted during the window"
    [(_, recovered)] = s.check(minutes=15)
    assert recovered.title.startswith("MinIO alert: Recovered")


class FlakyOutbox(TerminalOutbox):
    """Fails every post to `refuse` with `code`; fails everything while `down`."""

    def __init__(self, refuse: dict[str, str] | None = None):
        super().__init__(io.StringIO())
        self.refuse = refuse or {}
        self.down = False

    def post(self, channel: str, report: Report, thread_ts: str | None = None) -> str:
        if self.down:
            raise OutboxError("Slack unreachable (ConnectTimeout)", "unreachable")
        if channel in self.refuse:
            raise OutboxError(f"Slack refused the message: {self.refuse[channel]}", self.refuse[channel])
        return super().post(channel, report, thread_ts)


def test_slack_down_keeps_the_alert_for_the_next_check(tmp_path: Path) -> None:
    s = Setup(tmp_path, tenants=[static_tenant("demo")])
    outbox = FlakyOutbox()
    s.outbox = outbox
    s.check()
    s.world.status["demo"] = Status.DEGRADED
    outbox.down = True
    assert s.check() == []
    stored = s.runtime.store.alerts.get("health:demo")
    assert stored is not None and stored.state == "HEALTHY"
    outbox.down = False
    [(_, report)] = s.check()
    assert report.title == "MinIO alert: demo is DEGRADED"
    assert s.check() == []


def test_a_channel_the_bot_is_not_in_does_not_hold_back_the_others(tmp_path: Path) -> None:
    s = Setup(tmp_path, channels=[{"id": OPS}, {"id": DEV}], tenants=[static_tenant("demo", [OPS, DEV])])
    s.outbox = FlakyOutbox(refuse={DEV: "not_in_channel"})
    s.world.status["demo"] = Status.DEGRADED
    assert [c for c, _ in s.check()] == [OPS]
    assert s.check() == [], "recorded as told: the refusing channel is not retried forever"


def test_store_unavailable_means_no_post_rather_than_a_possible_repeat(tmp_path: Path) -> None:
    s = Setup(tmp_path, tenants=[static_tenant("demo")],
              store_url="postgresql+psycopg://chatops:pw@127.0.0.1:1/chatops")
    s.world.status["demo"] = Status.UNHEALTHY
    assert s.check() == []


def test_pure_rules() -> None:
    assert health_level(Status.INFO) == "HEALTHY" and health_level(Status.UNKNOWN) is None
    limits = Thresholds(plan=70, alert=80, critical=90)
    assert capacity_level(89.5, limits, "CRITICAL") == "CRITICAL"
    assert capacity_level(88.9, limits, "CRITICAL") == "ALERT"
    assert capacity_level(79.5, limits, "CRITICAL") == "ALERT", "falls one level at a time through the bands"
    assert capacity_level(30.0, limits, "CRITICAL") == "OK"
    assert capacity_level(95.0, limits, "OK") == "CRITICAL"


@pytest.mark.parametrize("kind", ["health", "capacity"])
def test_alerts_go_to_the_channel_itself_without_a_route(tmp_path: Path, kind: str) -> None:
    s = Setup(tmp_path, channels=[{"id": OPS}], tenants=[static_tenant("demo", [OPS, DEV])])
    if kind == "health":
        s.world.status["demo"] = Status.DEGRADED
    else:
        s.world.pct["demo"] = 85.0
    assert sorted(c for c, _ in s.check()) == [DEV, OPS]
