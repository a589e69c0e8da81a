"""`/minio capacity` against the MinIO simulator and the store (SQLite and PostgreSQL where history matters).

Scenarios read like the runbook: "given a tenant at 85 %, capacity says ALERT
and the 80 % line is crossed".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.clients.minio_models import ServerInfo
from bot.commands import Command
from bot.composition import load_application
from bot.config import Config, parse_config
from bot.dispatch import Dispatcher
from bot.report import Report, Section, Status
from bot.runtime import Runtime, utcnow
from handlers import capacity
from handlers.capacity.evaluate import drive_totals
from handlers.capacity.forecast import TIB, ForecastStatus, ThresholdState
from handlers.capacity.history import store_history
from sandbox.history import seed_history
from sandbox.minio_sim import SimCluster
from tests.contract.shapes import load
from tests.fixtures.minio import ClusterFactory
from tests.reading import plain

OPS = "C0OPS"
ALICE = "U0ALICE"
PNG = b"\x89PNG\r\n\x1a\n"
GIB = 2**30


def make_config(clusters: dict[str, SimCluster], store_url: str, thresholds: dict[str, float] | None = None) -> Config:
    """One tenant per (name -> simulator), credentials from env, visible in #ops."""
    tenants = []
    for name, cluster in clusters.items():
        tenant: dict[str, Any] = {
            "name": name,
            "endpoints": cluster.endpoints,
            "credentials": {"access_key_env": f"AK_{name.upper()}", "secret_key_env": f"SK_{name.upper()}"},
            "channels": [OPS],
        }
        if thresholds:
            tenant["thresholds"] = thresholds
        tenants.append(tenant)
    return parse_config(
        yaml.safe_dump(
            {"admins": [ALICE], "store_url": store_url, "channels": [{"id": OPS, "name": "ops"}], "tenants": tenants}
        )
    )


@pytest.fixture
def runtimes() -> Iterator[Callable[..., Runtime]]:
    """Build Runtimes for simulators (closed after the test)."""
    made: list[Runtime] = []

    def build(
        clusters: dict[str, SimCluster],
        store_url: str,
        clock: Callable[[], datetime] = utcnow,
        thresholds: dict[str, float] | None = None,
    ) -> Runtime:
        env = {}
        for name, cluster in clusters.items():
            env[f"AK_{name.upper()}"] = cluster.access_key
            env[f"SK_{name.upper()}"] = cluster.secret_key
        runtime = Runtime(make_config(clusters, store_url, thresholds), environ=env, clock=clock)
        made.append(runtime)
        return runtime

    yield build
    for runtime in made:
        runtime.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'capacity.db'}"


def record_requests(cluster: SimCluster) -> list[tuple[str, str, str]]:
    """Record (method, path, query) of every request any node of `cluster` receives from now on.

    SimCluster has no request log of its own; wrapping each node listener's handler is the
    narrowest place that sees every request, S3 and admin alike.
    """
    seen: list[tuple[str, str, str]] = []
    for listener in cluster._listeners.values():
        inner = listener.handler

        def handle(request: Any, inner: Any = inner) -> Any:
            seen.append((request.method, request.path, request.raw_query))
            return inner(request)

        listener.handler = handle
    return seen


def fill_to(runtime: Runtime, cluster: SimCluster, pct: float, bucket: str = "data") -> None:
    """Give the tenant synthetic usage so `pct` % of usable capacity is used, and let the scanner see it."""
    empty = capacity.measure(runtime, "demo")
    extra = int(empty.usable_total * pct / 100) - empty.usable_used
    cluster.set_usage({bucket: (extra, max(1, extra // (8 << 20)))})
    cluster.run_scanner()


def section(report: Report, title_start: str) -> Section:
    found = next((s for s in report.sections if s.title.startswith(title_start)), None)
    assert found is not None, f"no section {title_start!r} in {[s.title for s in report.sections]}"
    return found


def text_of(report: Report) -> str:
    from bot.render import render_text

    return render_text(report)


def lines(section: Section) -> list[str]:
    """A section's lines as the terminal shows them."""
    return [plain(line) for line in section.lines]


def summary_text(summary: capacity.CapacitySummary) -> str:
    """A summary's line (the daily report's and alerts') as plain text."""
    return plain(capacity.summary_line(summary))


def seed_week(runtime: Runtime, tenant: str = "demo", **kwargs: Any) -> capacity.CapacityNow:
    """A week of hourly history that grows into today's measurement."""
    now = capacity.measure(runtime, tenant)
    seed_history(
        runtime.store,
        tenant,
        now.checked_at,
        kwargs.pop("days", 7),
        usable_total=now.usable_total,
        usable_used=now.usable_used,
        raw_total=now.raw_total,
        buckets={b.name: (b.size, b.objects) for b in now.buckets},
        **kwargs,
    )
    return now


# --- measuring -----------------------------------------------------------------------------------


def test_usable_capacity_counts_data_drives_only(
    minio_cluster_factory: ClusterFactory, runtimes: Callable[..., Runtime], sqlite_url: str
) -> None:
    cluster = minio_cluster_factory([(4, 2), (4, 4)])
    runtime = runtimes({"demo": cluster}, sqlite_url)
    now = capacity.measure(runtime, "demo")
    scraped = runtime.minio(runtime.config.tenants[0]).metrics_cluster()
    metrics = {key.split("{")[0]: value for key, value in scraped.items()}  # drop the `server` label
    assert now.raw_total == metrics["minio_cluster_capacity_raw_total_bytes"]
    assert now.usable_total == metrics["minio_cluster_capacity_usable_total_bytes"]
    assert now.usable_free == metrics["minio_cluster_capacity_usable_free_bytes"]
    # EC:4 everywhere: pool 0 keeps 4 data drives of 8, pool 1 12 of 16 -> 4 + 12 = 16 of 24 TiB.
    assert now.raw_total == 24 * TIB and now.usable_total == 16 * TIB
    assert now.pool is not None and (now.pool.set_size, now.pool.parity, now.pool.servers) == (16, 4, 4)


def test_an_unreachable_peers_drives_are_not_taken_for_data_drives_of_set_0() -> None:
    # The real answer (tests/contract): node 3 is listed offline, its drives as bare endpoints whose pool, set
    # and disk index read 0 (Go's zero value), which says nothing about where they sit.
    body = load("admin_info_one_peer_offline").body
    info = ServerInfo.model_validate(body)
    raw_total, _raw_free, usable_total, _usable_free, offline = drive_totals(info)
    assert (raw_total, usable_total, offline) == (6 * 100 * GIB, 4 * 100 * GIB, 2)  # data drives: disk 0..3
    # A server that lists the peer's drives with their last known space: still not data drives of set 0.
    for server in body["servers"]:
        if server["state"] == "offline":
            for drive in server["drives"]:
                drive.update(totalspace=100 * GIB, availspace=100 * GIB)
    raw_total, _raw_free, usable_total, _usable_free, offline = drive_totals(ServerInfo.model_validate(body))
    assert (raw_total, usable_total, offline) == (8 * 100 * GIB, 4 * 100 * GIB, 2)


def test_top_buckets_are_the_largest_with_object_counts_and_the_total_count(
    minio_cluster: SimCluster, runtimes: Callable[..., Runtime], sqlite_url: str
) -> None:
    sizes = {f"b{i:02d}": ((i + 1) * (1 << 30), (i + 1) * 100) for i in range(25)}
    minio_cluster.set_usage(sizes)
    minio_cluster.run_scanner()
    now = capacity.measure(capacity_runtime := runtimes({"demo": minio_cluster}, sqlite_url), "demo")
    assert [b.name for b in now.buckets] == [f"b{i:02d}" for i in range(24, 14, -1)]
    assert now.buckets[0].objects == 2500 and now.buckets_count == 25
    assert now.scanner_last_update is not None and not now.stale
    report = capacity.tenant_report(capacity_runtime, capacity_runtime.config.tenants[0], with_chart=False)
    top = section(report, "Top 10 of 25")
    assert lines(top)[0].startswith("`b24`: 25.0 GiB · 2,500 objects")


# --- thresholds ----------------------------------------------------------------------------------


def test_given_a_tenant_at_85_percent_capacity_says_alert_and_the_80_line_is_crossed(
    minio_cluster: SimCluster, runtimes: Callable[..., Runtime], sqlite_url: str
) -> None:
    runtime = runtimes({"demo": minio_cluster}, sqlite_url)
    fill_to(runtime, minio_cluster, 85)
    report = capacity.tenant_report(runtime, runtime.config.tenants[0], with_chart=False)
    assert report.status is Status.DEGRADED
    assert plain(report.summary).startswith("ALERT: 85.0 %")
    rows = [plain(r.text) for r in section(report, "Thresholds").rows]
    assert rows[0].startswith("plan 70 %: crossed") and rows[1].startswith("alert 80 %: crossed")
    assert rows[2].startswith("critical 90 %: not reached")
    recommendation = section(report, "Recommendation")
    assert recommendation.status is Status.DEGRADED and "above the plan threshold" in lines(recommendation)[0]


def test_given_a_tenant_at_95_percent_it_is_critical(
    minio_cluster: SimCluster, runtimes: Callable[..., Runtime], sqlite_url: str
) -> None:
    runtime = runtimes({"demo": minio_cluster}, sqlite_url)
    fill_to(runtime, minio_cluster, 95)
    summary = capacity.capacity_summary(runtime, "demo")
    assert summary.state is ThresholdState.CRITICAL and summary.status is Status.UNHEALTHY
    assert summary.days_until_80 == 0 and "80 % reached" in summary_text(summary)


def test_thresholds_come_from_the_tenant_config(
    minio_cluster: SimCluster, runtimes: Callable[..., Runtime], sqlite_url: str
) -> None:
    runtime = runtimes({"demo": minio_cluster}, sqlite_url, thresholds={"plan": 40, "alert": 50, "critical": 60})
    fill_to(runtime, minio_cluster, 55)
    report = capacity.tenant_report(runtime, runtime.config.tenants[0], with_chart=False)
    assert plain(report.summary).startswith("ALERT") and "alert 50 %" in plain(report.footer[0])


# --- scanner freshness ---------------------------------------------------------------------------


def test_a_scanner_that_never_finished_is_called_out_and_drive_totals_still_shown(
    minio_cluster_factory: ClusterFactory, runtimes: Callable[..., Runtime], sqlite_url: str
) -> None:
    cluster = minio_cluster_factory([(4, 2)], scanner_interval=3600)
    cluster.set_usage({"data": (TIB, 1000)})
    runtime = runtimes({"demo": cluster}, sqlite_url)
    now = capacity.measure(runtime, "demo")
    assert now.scanner_last_update is None and now.stale and now.buckets == []
    assert now.usable_used > TIB // 2, "drive totals do not wait for the scanner"
    report = capacity.tenant_report(runtime, runtime.config.tenants[0], with_chart=False)
    assert any("has not finished a cycle" in plain(r) for r in report.reasons)
    assert "no finished scan yet" in text_of(report)
    assert lines(section(report, "Buckets"))[0].startswith("No scanner result yet")
    assert "scanner data stale" in summary_text(capacity.capacity_summary(runtime, "demo"))


def test_stale_scanner_data_is_flagged_with_its_age(
    minio_cluster: SimCluster, runtimes: Callable[..., Runtime], sqlite_url: str
) -> None:
    minio_cluster.run_scanner()
    runtime = runtimes({"demo": minio_cluster}, sqlite_url, clock=lambda: utcnow() + timedelta(hours=7))
    report = capacity.tenant_report(runtime, runtime.config.tenants[0], with_chart=False)
    stale = [plain(r) for r in report.reasons if "stale" in plain(r)]
    assert stale and "7.0 h ago" in stale[0]


# --- scale ---------------------------------------------------------------------------------------


def test_ten_thousand_buckets_are_reported_fast_and_no_object_is_ever_listed(
    minio_cluster: SimCluster, runtimes: Callable[..., Runtime], sqlite_url: str
) -> None:
    minio_cluster.set_usage({f"bucket-{i:05d}": (i * 1_000_000, i * 10) for i in range(10_000)})
    minio_cluster.run_scanner()
    runtime = runtimes({"demo": minio_cluster}, sqlite_url)
    capacity.tenant_report(runtime, runtime.config.tenants[0])  # warm: imports, connections, matplotlib
    seen = record_requests(minio_cluster)
    report = capacity.tenant_report(runtime, runtime.config.tenants[0])  # its time: bench/capacity.py
    capacity.take_snapshot(runtime, "demo")
    top = section(report, "Top 10 of 10,000")
    assert lines(top)[0].startswith("`bucket-09999`")
    assert report.charts and report.charts[0].png.startswith(PNG)
    assert seen, "the recorder saw nothing"
    s3 = [r for r in seen if not r[1].startswith("/minio/")]
    assert not s3, f"capacity must not touch S3 (no ListObjects): {s3[:5]}"
    assert {path for _, path, _ in seen} <= {"/minio/admin/v3/info", "/minio/admin/v3/datausageinfo"}
    latest = runtime.store.capacity.latest("demo")
    assert latest is not None and latest.buckets_count == 10_000
    assert len(runtime.store.capacity.buckets(latest.id)) == 10_000


# --- history (both store backends) ---------------------------------------------------------------


def test_a_snapshot_stores_totals_and_every_bucket(
    minio_cluster_factory: ClusterFactory, runtimes: Callable[..., Runtime], store_url: str
) -> None:
    minio_cluster = minio_cluster_factory([(4, 2)], scanner_interval=3600)  # no scan between the two reads
    minio_cluster.load_demo_data()
    minio_cluster.run_scanner()
    runtime = runtimes({"demo": minio_cluster}, store_url)
    capacity.take_snapshot(runtime, runtime.config.tenants[0])
    now = capacity.measure(runtime, "demo")
    latest = runtime.store.capacity.latest("demo")
    assert latest is not None and latest.ok
    assert (latest.usable_total, latest.usable_used, latest.raw_total) == (
        now.usable_total,
        now.usable_used,
        now.raw_total,
    )
    assert latest.buckets_count == now.buckets_count and latest.scanner_last_update == now.scanner_last_update
    stored = {b.bucket: b.size for b in runtime.store.capacity.buckets(latest.id)}
    assert stored == {b.name: b.size for b in now.buckets}


def test_a_week_of_history_gives_growth_a_forecast_date_and_a_chart(
    minio_cluster: SimCluster, runtimes: Callable[..., Runtime], store_url: str
) -> None:
    minio_cluster.load_demo_data()
    minio_cluster.run_scanner()
    runtime = runtimes({"demo": minio_cluster}, store_url)
    seed_week(runtime)
    report = capacity.tenant_report(runtime, runtime.config.tenants[0])
    growth = lines(section(report, "Growth"))
    assert growth[1].startswith("7 d: +") and "pp of usable" in growth[1]
    assert growth[2].startswith("30 d: n/a (history starts")
    forecast = lines(section(report, "Forecast"))
    assert forecast[0].startswith("Growing +") and "95 % interval" in forecast[0]
    assert any(line.startswith("• 80 %: ~") for line in forecast)
    assert any("Theil-Sen" in line for line in forecast)
    assert "80 % forecast ~" in plain(report.summary)
    rec = lines(section(report, "Recommendation"))[0]
    assert "TiB usable" in rec and "70 %" in rec and "90 days" in rec
    assert any("in 7 d" in line for line in lines(section(report, "Top"))), "per-bucket 7-day growth"
    chart = report.charts[0]
    assert chart.filename == "capacity-demo.png" and chart.png.startswith(PNG)
    summary = capacity.capacity_summary(runtime, "demo")
    assert summary.days_until_80 is not None and summary.days_until_80 > 0
    assert summary.growth_7d_bytes is not None and summary.growth_7d_bytes > 0
    assert "7 d: +" in summary_text(summary) and "80 % in ~" in summary_text(summary)


def test_minio_unreachable_during_a_snapshot_records_the_gap_and_the_forecast_says_so(
    minio_cluster: SimCluster, runtimes: Callable[..., Runtime], store_url: str
) -> None:
    minio_cluster.load_demo_data()
    minio_cluster.run_scanner()
    runtime = runtimes({"demo": minio_cluster}, store_url)
    seed_week(runtime, days=3)
    for node in range(1, 5):
        minio_cluster.stop_node(node)
    capacity.take_snapshot(runtime, "demo")
    for node in range(1, 5):
        minio_cluster.start_node(node)
    history = store_history(runtime.store, "demo", utcnow() - timedelta(days=1))
    gap = history[-1]
    assert not gap.ok and gap.error and "unreachable" in gap.error
    report = capacity.tenant_report(runtime, runtime.config.tenants[0], with_chart=False)
    gaps = [line for line in lines(section(report, "Forecast")) if line.startswith("Gaps:")]
    assert gaps and "1 snapshot(s)" in gaps[0] and "unreachable" in gaps[0]


def test_a_tenant_with_no_history_says_so_everywhere(
    minio_cluster: SimCluster, runtimes: Callable[..., Runtime], store_url: str
) -> None:
    minio_cluster.load_demo_data()
    minio_cluster.run_scanner()
    runtime = runtimes({"demo": minio_cluster}, store_url)
    report = capacity.tenant_report(runtime, runtime.config.tenants[0])
    assert all(line.endswith("(no history yet)") for line in lines(section(report, "Growth")))
    forecast = lines(section(report, "Forecast"))
    assert forecast[0].startswith("Not enough history: no stored snapshots yet") and ">= 12 snapshots" in forecast[0]
    assert "needs more history" in lines(section(report, "Recommendation"))[0]
    assert report.charts, "a chart of today's point and the thresholds is still drawn"
    summary = capacity.capacity_summary(runtime, "demo")
    assert summary.forecast is ForecastStatus.NOT_ENOUGH_HISTORY and summary.days_until_80 is None
    assert "80 %: not enough history" in summary_text(summary) and "7 d: no history" in summary_text(summary)


def test_a_tenant_whose_usage_shrank_is_not_growing(
    minio_cluster: SimCluster, runtimes: Callable[..., Runtime], store_url: str
) -> None:
    minio_cluster.load_demo_data()
    minio_cluster.run_scanner()
    runtime = runtimes({"demo": minio_cluster}, store_url)
    now = seed_week(runtime, growth_per_day=-0.01 * capacity.measure(runtime, "demo").usable_total)
    report = capacity.tenant_report(runtime, runtime.config.tenants[0])
    assert lines(section(report, "Growth"))[1].startswith("7 d: -")
    assert lines(section(report, "Forecast"))[0].startswith("Not growing: usage is shrinking")
    assert "not growing" in plain(report.summary)
    assert now.pct_used < 70 and "No action needed" in lines(section(report, "Recommendation"))[0]
    assert "80 %: not growing" in summary_text(capacity.capacity_summary(runtime, "demo"))


# --- faults at report time -----------------------------------------------------------------------


def test_store_unavailable_at_report_time_still_reports_usage_and_buckets(
    minio_cluster: SimCluster, runtimes: Callable[..., Runtime]
) -> None:
    minio_cluster.load_demo_data()
    minio_cluster.run_scanner()
    dead_store = "postgresql+psycopg://chatops:s3cr3t-pw@127.0.0.1:9/chatops"  # port 9: nothing listens
    runtime = runtimes({"demo": minio_cluster}, dead_store)
    began = time.perf_counter()
    report = capacity.tenant_report(runtime, runtime.config.tenants[0])
    assert time.perf_counter() - began < 5
    assert report.status is Status.HEALTHY and plain(report.summary).startswith("OK:")
    assert plain(section(report, "Usage").fields[0].value).endswith("free")
    assert lines(section(report, "Top 6 of 6"))[0].startswith("`backups`")
    assert plain(section(report, "Growth").error).startswith("store unavailable")
    assert plain(section(report, "Forecast").error).startswith("store unavailable")
    assert any("History unavailable" in plain(r) for r in report.reasons)
    assert "s3cr3t-pw" not in text_of(report)
    summary = capacity.capacity_summary(runtime, "demo")
    assert summary.ok and summary.growth_7d_bytes is None and summary.days_until_80 is None
    assert summary.history_error and "store unavailable" in summary.history_error
    assert "history unavailable" in summary_text(summary) and "% used" in summary_text(summary)


def test_minio_unreachable_at_report_time_falls_back_to_the_last_snapshot(
    minio_cluster: SimCluster, runtimes: Callable[..., Runtime], sqlite_url: str
) -> None:
    minio_cluster.load_demo_data()
    minio_cluster.run_scanner()
    runtime = runtimes({"demo": minio_cluster}, sqlite_url)
    seed_week(runtime, days=1)
    for node in range(1, 5):
        minio_cluster.stop_node(node)
    report = capacity.tenant_report(runtime, runtime.config.tenants[0])
    assert report.status is Status.UNKNOWN
    assert "Could not measure capacity now" in plain(report.summary) and "Last snapshot" in plain(report.summary)
    summary = capacity.capacity_summary(runtime, "demo")
    assert not summary.ok and summary.error and "capacity unknown" in summary_text(summary)


def test_a_chart_that_fails_to_draw_leaves_the_text_report(
    minio_cluster: SimCluster, runtimes: Callable[..., Runtime], sqlite_url: str
) -> None:
    minio_cluster.run_scanner()
    runtime = runtimes({"demo": minio_cluster}, sqlite_url)
    tenant = runtime.config.tenants[0]
    now = capacity.measure(runtime, "demo")

    def broken(*_args: object) -> bytes:
        raise RuntimeError("no fonts")

    report = capacity.build_report(tenant, now, [], None, now.checked_at, chart=broken)
    assert not report.charts and "could not be drawn" in plain(report.footer[-1])
    assert section(report, "Usage").fields


# --- the verb ------------------------------------------------------------------------------------


def test_without_a_tenant_every_visible_tenant_gets_a_summary_row(
    minio_cluster_factory: ClusterFactory, runtimes: Callable[..., Runtime], sqlite_url: str
) -> None:
    small, big = minio_cluster_factory([(4, 2)]), minio_cluster_factory([(4, 2)])
    runtime = runtimes({"demo": small, "archive": big}, sqlite_url)
    big.set_usage({"archive": (int(3.6 * TIB), 1000)})  # of 4 TiB usable: > 90 %
    big.run_scanner()
    app = load_application()
    dispatcher = Dispatcher(runtime, app)
    parsed = dispatcher.parse("/minio capacity")
    assert isinstance(parsed, Command)
    report = dispatcher.run(ALICE, OPS, parsed)
    assert report.title == "Capacity" and report.status is Status.UNHEALTHY
    rows = report.sections[0].rows
    assert [plain(r.text).split(":")[0] for r in rows] == ["demo", "archive"]
    assert "(CRITICAL)" in plain(rows[1].text) and rows[1].status is Status.UNHEALTHY
    verb = app.registry.get("capacity")
    assert verb is not None and verb.handler is capacity.capacity_command and verb.slow


def test_an_unknown_tenant_is_refused_with_the_visible_ones(
    minio_cluster: SimCluster, runtimes: Callable[..., Runtime], sqlite_url: str
) -> None:
    runtime = runtimes({"demo": minio_cluster}, sqlite_url)
    dispatcher = Dispatcher(runtime, load_application())
    parsed = dispatcher.parse("capacity nope")
    assert isinstance(parsed, Command)
    report = dispatcher.run(ALICE, OPS, parsed)
    assert report.failed and "Unknown tenant" in plain(report.summary) and "`demo`" in plain(report.summary)
