"""The bot's MinIO client reads real-server answers right: each fixture served over local HTTP."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest
from pydantic import SecretStr

from bot.clients import MinioClient, MinioError, NotSupported, Timeouts
from bot.clients.minio_models import SpeedTestResult
from tests.contract.shapes import Fixture, all_names, load, sealed

ACCESS, SECRET = "contract-admin", "contract-secret-key-0123"


class FixtureServer:
    """Answers the fixture's request with the fixture's answer; anything else gets 599."""

    def __init__(self, fixture: Fixture) -> None:
        self.fixture = fixture
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                query = dict(parse_qsl(parts.query, keep_blank_values=True))
                owner.seen.append((self.command, parts.path, query))
                wanted = owner.fixture
                matches = (
                    self.command == wanted.method
                    and parts.path == wanted.path
                    and all(query.get(k) == v for k, v in wanted.query.items())
                )
                body = wanted.raw_body if matches else b"request does not match the fixture"
                if matches and wanted.encrypted and 200 <= wanted.status < 300:
                    body = sealed(body, SECRET)
                self.send_response(wanted.status if matches else 599)
                for name, value in (wanted.headers if matches else {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_POST = do_HEAD = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FixtureServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def serve() -> Iterator[Callable[[str], MinioClient]]:
    """serve(name) -> a one-node MinioClient whose node answers with fixture ``name``."""
    servers: list[FixtureServer] = []

    def make(name: str) -> MinioClient:
        server = FixtureServer(load(name)).__enter__()
        servers.append(server)
        return MinioClient([server.url], ACCESS, SecretStr(SECRET), timeouts=Timeouts(connect=1.0, read=2.0))

    yield make
    for server in servers:
        server.__exit__()


# ---------------------------------------------------------------- admin


def check_admin_info_one_peer_offline(mc: MinioClient) -> None:
    info = mc.server_info(node=1)
    assert [s.state for s in info.servers] == ["online", "online", "offline", "online"]
    # The RFC 3339 version is read as a build time and comparable with image tags.
    first = info.servers[0]
    assert first.version == "2025-09-07T16:13:09Z"
    assert first.release_time == datetime(2025, 9, 7, 16, 13, 9, tzinfo=UTC)
    assert first.release_tag == "RELEASE.2025-09-07T16-13-09Z"
    # The offline peer's drives are bare endpoints: their zero indexes say nothing of placement.
    offline = info.servers[2]
    assert [d.state for d in offline.drives] == ["offline", "offline"]
    assert all(not d.placement_known for d in offline.drives)
    assert all(d.placement_known for s in info.servers if s.state == "online" for d in s.drives)
    assert offline.release_time is None and offline.uptime_s == 0
    assert (info.backend.online_disks, info.backend.offline_disks, info.backend.drives_per_set) == (6, 2, [8])
    assert first.drives[1].disk_index == 1 and first.drives[0].total == 100 << 30
    assert "minio_env_vars" not in info.model_dump_json()


def check_admin_datausageinfo(mc: MinioClient) -> None:
    usage = mc.data_usage(node=1)
    assert usage.last_update is not None and usage.last_update.year == 2025
    assert (usage.objects, usage.total_size, usage.buckets_count) == (1200, 34359738368, 2)
    assert usage.buckets["logs"].objects == 1000 and usage.buckets["backups"].size == 32212254720


def check_admin_top_locks(mc: MinioClient) -> None:
    locks = mc.top_locks(node=1)
    assert locks.supported
    # Integer nanoseconds: 3 h, 5 ms and 0 are read as exactly that (never 5000000 s).
    assert [lock.elapsed for lock in locks.locks] == [timedelta(hours=3), timedelta(milliseconds=5), timedelta(0)]
    assert locks.locks[1].elapsed_s == pytest.approx(0.005)
    assert locks.locks[0].type == "WRITE" and locks.locks[0].quorum == 3 and len(locks.locks[0].servers) == 4


def check_admin_top_locks_single_server(mc: MinioClient) -> None:
    locks = mc.top_locks(node=1)
    assert not locks.supported and locks.locks == []
    assert locks.reason is not None and "this server does not offer the lock API (single server)" in locks.reason


def check_admin_decommission_single_pool(mc: MinioClient) -> None:
    with pytest.raises(NotSupported) as err:
        mc.decommission_start("http://minio-{0...3}/export{1...2}")
    assert err.value.kind == "unsupported" and err.value.status == 501
    assert str(err.value).startswith("MinIO node 1: this deployment cannot decommission a pool: it has a single pool")


def check_admin_server_starting(mc: MinioClient) -> None:
    with pytest.raises(MinioError) as err:
        mc.server_info(node=1)
    assert err.value.kind == "unavailable" and err.value.not_sent
    assert "still starting" in str(err.value)


def check_admin_bad_signature(mc: MinioClient) -> None:
    with pytest.raises(MinioError) as err:
        mc.server_info(node=1)
    assert err.value.kind == "auth" and "SignatureDoesNotMatch" in str(err.value)
    assert SECRET not in str(err.value)


def check_admin_pools_status_draining(mc: MinioClient) -> None:
    status = mc.pools_status("http://minio-pool-1-{0...3}.minio-hl.tenant.svc.cluster.local/export{1...2}", node=1)
    assert status.id == 1 and status.decommission is not None
    assert status.decommission.start_time == datetime(2025, 10, 1, 8, 0, tzinfo=UTC)
    assert not status.decommission.complete and status.decommission.current_size == 644245094400


def check_admin_speedtest_stream(mc: MinioClient) -> None:
    seen: list[SpeedTestResult] = []
    result = mc.speedtest(size=4 << 20, concurrent=8, duration_s=10, on_value=seen.append, node=1)
    # Two keep-alive zero values, then the result: only the last one counts.
    assert [v.is_result for v in seen] == [False, False, True]
    assert (result.servers, result.disks, result.size, result.concurrent) == (4, 8, 4 << 20, 8)
    assert result.put.throughput_per_s == 1207959552 and result.get.objects_per_s == 576
    # Latencies are integer nanoseconds, cluster-wide.
    assert result.put.response.avg == timedelta(milliseconds=83)
    assert result.get.response.p99 == timedelta(milliseconds=70) and result.get.ttfb.avg == timedelta(milliseconds=6)
    assert not result.put.ttfb.measured
    hosts = [f"minio-{i}.minio-hl.tenant.svc.cluster.local:9000" for i in range(4)]
    assert [s.host for s in result.get.servers] == hosts
    failed = result.failed_servers()
    assert list(failed) == ["http://minio-2.minio-hl.tenant.svc.cluster.local:9000"]
    assert "no results for uploads upon first attempt" in failed["http://minio-2.minio-hl.tenant.svc.cluster.local:9000"]


def check_admin_speedtest_insufficient_capacity(mc: MinioClient) -> None:
    with pytest.raises(MinioError) as err:
        mc.speedtest(size=64 << 20, concurrent=32, duration_s=10, node=1)
    assert err.value.status == 507 and err.value.kind == "unavailable"
    assert "XMinioSpeedtestInsufficientCapacity" in str(err.value)
    assert "not enough usable space available to perform speedtest" in str(err.value)


def check_admin_info_service_account(mc: MinioClient) -> None:
    key = mc.service_account_info("svc-ci-deploy", node=1)
    assert key is not None and key.access_key == "svc-ci-deploy"
    assert (key.parent_user, key.status, key.enabled, key.implied_policy) == ("ci-bot", "on", True, False)
    assert key.expiration == datetime(2027, 3, 31, tzinfo=UTC)
    assert key.policy_statements() == 1 and key.name == "deploy"


def check_admin_info_service_account_not_found(mc: MinioClient) -> None:
    # An IAM user's name, the root user, or nothing at all: "no such service account" is an answer, not a failure.
    assert mc.service_account_info("backup-agent", node=1) is None


def check_admin_update_service_account_off(mc: MinioClient) -> None:
    mc.set_service_account_status("svc-backup-nightly", enabled=False, node=1)  # 204: accepted


def check_admin_list_service_accounts(mc: MinioClient) -> None:
    [key] = mc.list_service_accounts("backup-agent", node=1)
    assert (key.access_key, key.parent_user, key.enabled, key.implied_policy) == (
        "svc-backup-nightly", "backup-agent", True, True)
    assert key.expiration is None  # the Unix epoch is MinIO's "never expires"


# ---------------------------------------------------------------- health probes


def check_health_cluster_ok(mc: MinioClient) -> None:
    health = mc.cluster_health(node=1)
    assert health.ok and not health.starting and not health.quorum_lost
    assert (health.write_quorum, health.read_quorum, health.quorum) == (5, None, 5)
    assert health.storage_class_defaults is True


def check_health_cluster_read_ok(mc: MinioClient) -> None:
    health = mc.cluster_health(read=True, node=1)
    assert health.ok and health.read
    assert (health.write_quorum, health.read_quorum, health.quorum) == (None, 4, 4)


def check_health_cluster_quorum_lost(mc: MinioClient) -> None:
    health = mc.cluster_health(node=1)
    assert not health.ok and health.quorum_lost and not health.starting and health.quorum == 5


def check_health_cluster_starting(mc: MinioClient) -> None:
    health = mc.cluster_health(node=1)
    # 503 with X-Minio-Server-Status: the server is starting; quorum was never evaluated.
    assert not health.ok and health.status == 503
    assert health.starting and not health.quorum_lost
    assert health.server_status == "offline" and health.quorum is None


def check_health_cluster_maintenance_refused(mc: MinioClient) -> None:
    health = mc.cluster_health(maintenance=True, node=1)
    assert not health.ok and health.maintenance_refused and not health.quorum_lost
    assert health.healing_drives == 1


def check_health_live_ok(mc: MinioClient) -> None:
    probe = mc.liveness(1)
    assert probe.ok and not probe.starting


def check_health_live_starting(mc: MinioClient) -> None:
    probe = mc.liveness(1)
    assert probe.ok and probe.starting and probe.server_status_header == "offline"


# ---------------------------------------------------------------- metrics


def check_metrics_cluster_rejections(mc: MinioClient) -> None:
    rejections = mc.request_rejections(node=1)
    # Summed over the two servers of the answer; counters from process start.
    assert (rejections.auth, rejections.invalid, rejections.timestamp, rejections.header) == (3, 42, 3, 0)
    assert rejections.servers == 2


# ---------------------------------------------------------------- S3: lifecycle and replication metrics


def check_s3_lifecycle_rules(mc: MinioClient) -> None:
    lifecycle = mc.bucket_lifecycle("documents", node=1)
    assert lifecycle is not None
    # The disabled rule (1 day) is counted but never the next expiry.
    assert (lifecycle.rules, lifecycle.enabled, lifecycle.expire_days, lifecycle.noncurrent_days) == (3, 2, 30, 7)


def check_s3_lifecycle_none(mc: MinioClient) -> None:
    assert mc.bucket_lifecycle("logs", node=1) is None


def check_s3_replication_metrics_v2(mc: MinioClient) -> None:
    metrics = mc.bucket_replication_metrics("documents", node=1)
    assert metrics is not None and metrics.uptime_s == 86400
    total = metrics.total
    assert (total.queued_count, total.queued_bytes, total.queued_avg_count) == (40, 1 << 20, 25)
    assert (total.failed_hour_count, total.failed_hour_bytes, total.failed_count) == (12, 3 << 20, 30)
    [(arn, target)] = metrics.targets.items()
    assert arn.endswith(":dr-documents") and target.failed_hour_count == 12


def check_s3_replication_metrics_v1(mc: MinioClient) -> None:
    # The client asks for v2; a server that answers the v1 object (no currStats) is read the same way.
    from bot.clients.minio_models import ReplicationMetrics

    metrics = ReplicationMetrics.from_answer("documents", load("s3_replication_metrics_v1").body)
    assert metrics.uptime_s is None and metrics.total.queued_count == 40 and metrics.total.failed_hour_count == 12


def check_s3_replication_metrics_not_configured(mc: MinioClient) -> None:
    assert mc.bucket_replication_metrics("logs", node=1) is None


def check_admin_list_remote_targets(mc: MinioClient) -> None:
    [target] = mc.bucket_remote_targets("documents", node=1)
    assert not target.online and target.target_bucket == "dr-documents"
    assert target.total_downtime == timedelta(minutes=10)
    assert (target.latency.avg, target.latency.max) == (timedelta(milliseconds=80), timedelta(milliseconds=300))
    assert target.last_online is not None and target.last_online.year == 2025
    assert "replicator" not in target.model_dump_json()  # credentials are never held


CHECKS: dict[str, Callable[[MinioClient], None]] = {
    name.removeprefix("check_"): fn for name, fn in globals().items() if name.startswith("check_") and callable(fn)
}


def test_every_fixture_has_a_client_check() -> None:
    assert set(CHECKS) == set(all_names())


@pytest.mark.parametrize("name", all_names())
def test_client_reads_the_real_answer(name: str, serve: Callable[[str], MinioClient]) -> None:
    CHECKS[name](serve(name))


def test_lock_durations_are_nanoseconds_whatever_their_size() -> None:
    from bot.clients.minio_models import LockEntry

    assert LockEntry.model_validate({"elapsed": 1}).elapsed == timedelta(0)  # 1 ns rounds below 1 µs
    assert LockEntry.model_validate({"elapsed": 10**9}).elapsed == timedelta(seconds=1)
    assert LockEntry.model_validate({"elapsed": 5 * 10**6}).elapsed == timedelta(milliseconds=5)
    for bad in (-1, "5ms", True):
        with pytest.raises(ValueError):
            LockEntry.model_validate({"elapsed": bad})
