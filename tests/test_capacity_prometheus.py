"""Capacity history from a real Prometheus server (Debian's `prometheus` package) scraping the simulator.

One Prometheus per module, on a free loopback port, with its own data folder:
- job `minio-demo` scrapes node 1 of a live simulator (public metrics) every second;
- job `archive` holds a week of hourly capacity samples backfilled with `promtool`
  before the server starts, so a forecast can be made from Prometheus alone.

A missing binary FAILS these tests (never skips): `apt-get install -y prometheus`.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from bot.clients.errors import ClientError
from bot.clients.timeouts import Timeouts
from bot.config import parse_config
from bot.runtime import Runtime
from handlers import capacity
from handlers.capacity.forecast import TIB
from handlers.capacity.prometheus import GAP_ERROR, PrometheusHistory, choose_step, points_from_series
from sandbox.minio_sim import SimCluster
from tests.reading import plain

INSTALL_HINT = "Prometheus was not found on PATH. Install it with: apt-get install -y prometheus"
ARCHIVE_USABLE = 4 * TIB
ARCHIVE_USED_NOW = 0.64 * ARCHIVE_USABLE
ARCHIVE_PER_DAY = 0.02 * ARCHIVE_USABLE


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _archive_openmetrics(now: datetime) -> str:
    """A week of hourly samples for job="archive": 50 % -> ~64 % of 4 TiB usable, with a 3-hour outage."""
    hours = range(7 * 24, 0, -1)
    outage = {60, 61, 62}  # hours ago with no sample (the exporter was down)
    series: dict[str, list[tuple[float, float]]] = {
        "minio_cluster_capacity_usable_total_bytes": [],
        "minio_cluster_capacity_usable_free_bytes": [],
        "minio_cluster_capacity_raw_total_bytes": [],
        "minio_cluster_capacity_raw_free_bytes": [],
    }
    for h in hours:
        if h in outage:
            continue
        ts = (now - timedelta(hours=h)).timestamp()
        used = ARCHIVE_USED_NOW - ARCHIVE_PER_DAY * h / 24
        series["minio_cluster_capacity_usable_total_bytes"].append((ts, ARCHIVE_USABLE))
        series["minio_cluster_capacity_usable_free_bytes"].append((ts, ARCHIVE_USABLE - used))
        series["minio_cluster_capacity_raw_total_bytes"].append((ts, 2 * ARCHIVE_USABLE))
        series["minio_cluster_capacity_raw_free_bytes"].append((ts, 2 * (ARCHIVE_USABLE - used)))
    lines = []
    for name, samples in series.items():
        lines.append(f"# TYPE {name} gauge")
        lines += [f'{name}{{job="archive"}} {value:.0f} {ts:.3f}' for ts, value in samples]
    return "\n".join(lines) + "\n# EOF\n"


@dataclass
class PrometheusServer:
    url: str
    cluster: SimCluster
    process: subprocess.Popen[bytes]
    root: Path

    def query_count(self, job: str) -> int:
        q = urllib.parse.quote(f'count_over_time(minio_cluster_capacity_usable_total_bytes{{job="{job}"}}[5m])')
        with urllib.request.urlopen(f"{self.url}/api/v1/query?query={q}", timeout=5) as response:
            result = json.loads(response.read())["data"]["result"]
        return int(float(result[0]["value"][1])) if result else 0


@pytest.fixture(scope="module")
def prometheus() -> Iterator[PrometheusServer]:
    binary, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if not binary or not promtool:
        pytest.fail(INSTALL_HINT, pytrace=False)
    cluster = SimCluster(pools=[(4, 2)], scanner_interval=0.5, prometheus_auth="public").start()
    root = Path(tempfile.mkdtemp(prefix="minio-chatops-prom-"))
    process: subprocess.Popen[bytes] | None = None
    try:
        cluster.load_demo_data()
        data = root / "data"
        data.mkdir()
        backfill = root / "archive.om"
        backfill.write_text(_archive_openmetrics(datetime.now(UTC)))
        subprocess.run(
            [promtool, "tsdb", "create-blocks-from", "openmetrics", str(backfill), str(data)],
            check=True,
            capture_output=True,
        )
        target = cluster.node_url(1).removeprefix("http://")
        config = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "900ms"},
            "scrape_configs": [
                {
                    "job_name": "minio-demo",
                    "metrics_path": "/minio/v2/metrics/cluster",
                    "static_configs": [{"targets": [target]}],
                }
            ],
        }
        (root / "prometheus.yml").write_text(yaml.safe_dump(config))
        port = _free_port()
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={root / 'prometheus.yml'}",
                f"--storage.tsdb.path={data}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--storage.tsdb.retention.time=30d",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(root / "prometheus.log").open("wb"),
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("Prometheus did not become ready:\n" + (root / "prometheus.log").read_text()[-2000:])
        server = PrometheusServer(url, cluster, process, root)
        deadline = time.monotonic() + 20
        while server.query_count("minio-demo") < 4 and time.monotonic() < deadline:
            time.sleep(0.5)
        yield server
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


def runtime_for(server: PrometheusServer, selector: str) -> Runtime:
    cluster = server.cluster
    config = parse_config(
        yaml.safe_dump(
            {
                "store_url": "sqlite:///:memory:",
                "channels": [{"id": "C0OPS"}],
                "tenants": [
                    {
                        "name": "demo",
                        "endpoints": cluster.endpoints,
                        "credentials": {"access_key_env": "AK", "secret_key_env": "SK"},
                        "channels": ["C0OPS"],
                        "prometheus_url": server.url,
                        "prometheus_selector": selector,
                    }
                ],
            }
        )
    )
    return Runtime(config, environ={"AK": cluster.access_key, "SK": cluster.secret_key})


def test_live_history_matches_what_minio_reports(prometheus: PrometheusServer) -> None:
    runtime = runtime_for(prometheus, 'job="minio-demo"')
    try:
        now = capacity.measure(runtime, "demo")
        until = datetime.now(UTC)
        points = PrometheusHistory(prometheus.url, Timeouts(), selector='job="minio-demo"').history(
            until - timedelta(seconds=30), until, step=timedelta(seconds=2)
        )
        ok = [p for p in points if p.ok]
        assert len(ok) >= 2
        assert ok[-1].usable_total == now.usable_total
        assert ok[-1].usable_used == now.usable_used
        assert ok[-1].raw_total == now.raw_total
    finally:
        runtime.close()


def test_a_scrape_outage_shows_as_gaps(prometheus: PrometheusServer) -> None:
    cluster = prometheus.cluster
    before = datetime.now(UTC)
    cluster.stop_node(1)  # the node Prometheus scrapes
    try:
        time.sleep(5)
    finally:
        cluster.start_node(1)
    time.sleep(3)
    points = PrometheusHistory(prometheus.url, Timeouts(), selector='job="minio-demo"').history(
        before - timedelta(seconds=10), datetime.now(UTC), step=timedelta(seconds=2)
    )
    gaps = [p for p in points if not p.ok]
    assert len(gaps) >= 2 and gaps[0].error == GAP_ERROR
    assert points[-1].ok, "scraping resumed"


def test_a_week_of_prometheus_history_gives_growth_and_a_forecast(prometheus: PrometheusServer) -> None:
    runtime = runtime_for(prometheus, 'job="archive"')
    try:
        report = capacity.tenant_report(runtime, runtime.config.tenants[0], with_chart=False)
    finally:
        runtime.close()
    text = {s.title: s for s in report.sections}
    assert "history from Prometheus" in plain(report.footer[0])
    growth = [plain(line) for line in text["Growth"].lines]
    assert growth[1].startswith("7 d: +"), growth
    forecast = [plain(line) for line in text["Forecast"].lines]
    assert forecast[0].startswith("Growing +"), forecast
    assert any(line.startswith("Gaps: 3 snapshot(s)") for line in forecast), forecast


def test_prometheus_unreachable_is_reported_and_the_rest_stands(prometheus: PrometheusServer) -> None:
    runtime = runtime_for(prometheus, 'job="archive"')
    dead = runtime.config.tenants[0].model_copy(update={"prometheus_url": f"http://127.0.0.1:{_free_port()}"})
    try:
        report = capacity.tenant_report(runtime, dead, with_chart=False)
    finally:
        runtime.close()
    growth = next(s for s in report.sections if s.title == "Growth")
    assert growth.error and "Prometheus" in plain(growth.error) and "unreachable" in plain(growth.error)
    assert plain(report.summary).startswith("OK:")


# --- pure parts ----------------------------------------------------------------------------------


def test_the_step_keeps_a_month_under_prometheus_point_limit() -> None:
    now = datetime(2025, 3, 4, tzinfo=UTC)
    assert choose_step(now - timedelta(days=31), now) == timedelta(hours=1)
    assert choose_step(now - timedelta(minutes=2), now) == timedelta(seconds=1)


def test_missing_steps_inside_the_series_are_gaps_and_the_edges_are_not() -> None:
    start = 1_700_000_000.0
    present = [start + i * 60 for i in (0, 1, 2, 5, 6)]
    series = {
        "usable_total": {t: 100.0 for t in present},
        "usable_free": {t: 40.0 for t in present},
        "raw_total": {},
        "raw_free": {},
    }
    points = points_from_series(series, datetime.fromtimestamp(start - 600, UTC), timedelta(seconds=60))
    assert [p.ok for p in points] == [True, True, True, False, False, True, True]
    assert points[0].usable_used == 60 and points[0].raw_total is None


def test_a_bad_answer_is_a_client_error() -> None:
    history = PrometheusHistory(f"http://127.0.0.1:{_free_port()}", Timeouts(connect=0.5, read=0.5))
    with pytest.raises(ClientError) as caught:
        history.history(datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC))
    assert "unreachable" in str(caught.value)
