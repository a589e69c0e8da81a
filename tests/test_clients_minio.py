"""MinioClient, fan_out and the timeout policy: against the MinIO simulator and tiny local HTTP servers."""

from __future__ import annotations

import json
import pickle
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import urllib3
from pydantic import SecretStr

from bot.clients import (
    ClientError,
    MinioClient,
    MinioError,
    NotSupported,
    Timeouts,
    fan_out,
    make_pool_manager,
    scrub,
)
from bot.clients.minio import parse_prometheus_text, policy_is_public
from bot.clients.minio_auth import prometheus_jwt
from bot.clients.timeouts import MAX_IN_FLIGHT_PER_ENDPOINT, SERVER_CLUSTER_DEADLINE_S, SERVER_PEER_WAIT_S
from sandbox.minio_sim.cluster import SimCluster
from sandbox.minio_sim.jwt_hs512 import verify_prometheus_token

SHORT = Timeouts(connect=0.5, read=0.5, admin_read=0.5)


def client_for(cluster: SimCluster, timeouts: Timeouts | None = None, secret: str | None = None) -> MinioClient:
    """A MinioClient for every node of ``cluster``."""
    return MinioClient(
        cluster.endpoints,
        cluster.access_key,
        SecretStr(secret or cluster.secret_key),
        region=cluster.region,
        timeouts=timeouts or Timeouts(connect=1.0, read=3.0),
    )


@pytest.fixture
def mc(minio_cluster: SimCluster) -> MinioClient:
    """A client for the session's 4 x 2 simulated cluster."""
    return client_for(minio_cluster)


@pytest.fixture
def two_pools(minio_cluster_factory: Callable[..., SimCluster]) -> SimCluster:
    """A cluster with two 4 x 2 pools and fast decommissions."""
    return minio_cluster_factory([(4, 2), (4, 2)], decommission_seconds=1.0)


@pytest.fixture
def single_node(minio_cluster_factory: Callable[..., SimCluster]) -> SimCluster:
    """A single-node, four-drive deployment (no distributed lock API)."""
    return minio_cluster_factory([(1, 4)])


# ---------------------------------------------------------------- info, usage, probes


def test_server_info_is_typed_and_drops_env_vars_and_memory(mc: MinioClient, minio_cluster: SimCluster) -> None:
    info = mc.server_info()
    assert info.mode == "online" and info.deployment_id and info.answered_by == 1 and info.failed_nodes == {}
    assert (info.backend.backend_type, info.backend.online_disks, info.backend.offline_disks) == ("Erasure", 8, 0)
    assert (info.backend.standard_sc_parity, info.backend.total_sets, info.backend.drives_per_set) == (4, [1], [8])
    assert len(info.servers) == 4 and all(s.state == "online" and s.pool_numbers == [0] for s in info.servers)
    assert len(info.drives) == 8 and all(d.state == "ok" and d.total > 0 for d in info.drives)
    assert {d.disk_index for d in info.drives} == set(range(8))
    dumped = info.model_dump_json()
    assert "minio_env_vars" not in dumped and "mem_stats" not in dumped and "MINIO_ROOT_PASSWORD" not in dumped
    assert minio_cluster.secret_key not in dumped and minio_cluster.secret_key not in repr(info)


def test_data_usage_reads_10000_buckets_quickly(mc: MinioClient, minio_cluster: SimCluster) -> None:
    minio_cluster.set_usage({f"bucket-{i:05d}": (i * 1000, i) for i in range(10_000)})
    minio_cluster.run_scanner()
    start = time.perf_counter()
    usage = mc.data_usage()
    elapsed = time.perf_counter() - start
    print(f"data_usage with 10,000 buckets: {elapsed * 1000:.0f} ms")
    assert usage.buckets_count >= 10_000 and len(usage.buckets) >= 10_000
    assert usage.buckets["bucket-00042"].size == 42_000 and usage.buckets["bucket-00042"].objects == 42
    assert usage.last_update is not None
    assert elapsed < 2.0


def test_usage_before_the_first_scanner_cycle_has_no_timestamp(
    minio_cluster_factory: Callable[..., SimCluster],
) -> None:
    fresh = minio_cluster_factory([(4, 2)], scanner_interval=3600)
    assert client_for(fresh).data_usage().last_update is None


def test_probes_and_cluster_health_with_nodes_down(mc: MinioClient, minio_cluster: SimCluster) -> None:
    assert all(mc.liveness(n).ok and mc.readiness(n).ok for n in mc.nodes)
    healthy = mc.cluster_health()
    assert (healthy.ok, healthy.status, healthy.write_quorum, healthy.node) == (True, 200, 5, 1)
    minio_cluster.stop_node(3)
    probe = mc.liveness(3)
    assert not probe.ok and probe.status is None and probe.error_kind == "unreachable"
    assert probe.error == "MinIO node 3 unreachable: connection refused"
    assert mc.cluster_health().ok  # one node down: still write quorum
    minio_cluster.stop_node(4)
    down = mc.cluster_health()
    assert (down.ok, down.status) == (False, 503)
    assert mc.cluster_health(read=True).ok and mc.cluster_health(read=True).read_quorum == 4
    with pytest.raises(MinioError) as err:
        mc.cluster_health(node=3)
    assert err.value.kind == "unreachable"


def test_maintenance_check_fails_with_412_while_a_drive_heals(mc: MinioClient, minio_cluster: SimCluster) -> None:
    assert mc.cluster_health(maintenance=True, node=2).ok
    minio_cluster.drive_replace(1, 1, heal_seconds=30, format_seconds=0)
    check = mc.cluster_health(maintenance=True, node=2)
    assert (check.ok, check.status, check.maintenance) == (False, 412, True)
    assert check.healing_drives >= 1
    heal = mc.heal_status()
    assert heal.healing_drives and any(s.heal_status == "healing" for s in heal.sets)
    healing = [d for d in mc.server_info().drives if d.healing]
    assert healing and healing[0].heal_info is not None


def test_server_info_fails_over_and_remembers_the_dead_node(mc: MinioClient, minio_cluster: SimCluster) -> None:
    minio_cluster.stop_node(1)
    info = mc.server_info()
    assert info.answered_by == 2
    assert info.failed_nodes == {1: "MinIO node 1 unreachable: connection refused"}
    assert mc.last_failed_nodes.keys() == {1}
    offline = [s for s in info.servers if s.state == "offline"]
    assert len(offline) == 1 and all(d.state == "offline" for d in offline[0].drives)


# ---------------------------------------------------------------- faults


def test_wrong_credentials_are_an_auth_error_without_secrets(minio_cluster: SimCluster) -> None:
    wrong = "wrong-secret-key-0123456789"
    bad = client_for(minio_cluster, secret=wrong)
    with pytest.raises(MinioError) as err:
        bad.server_info()
    error = err.value
    assert error.kind == "auth" and error.target.startswith("MinIO node 1 (127.0.0.1:")
    for text in (str(error), repr(error), error.detail, repr(bad), str(bad)):
        assert wrong not in text and minio_cluster.secret_key not in text and "Signature=" not in text


def test_a_stopped_node_refuses_connections(mc: MinioClient, minio_cluster: SimCluster) -> None:
    minio_cluster.stop_node(2)
    with pytest.raises(MinioError) as err:
        mc.server_info(node=2)
    assert err.value.kind == "unreachable"
    assert str(err.value) == "MinIO node 2 unreachable: connection refused"


def test_a_hung_node_times_out_quickly_and_once(minio_cluster: SimCluster) -> None:
    mc = client_for(minio_cluster, SHORT)
    minio_cluster.hang_node(2)
    start = time.monotonic()
    with pytest.raises(MinioError) as err:
        mc.server_info(node=2)
    elapsed = time.monotonic() - start
    assert err.value.kind == "timeout" and "no answer within 0.5 s" in str(err.value)
    assert elapsed < 1.2, f"{elapsed:.2f} s: retried?"
    probe = mc.liveness(2)
    assert not probe.ok and probe.error_kind == "timeout"


def test_all_nodes_down_is_one_error_naming_each(minio_cluster: SimCluster) -> None:
    mc = client_for(minio_cluster, SHORT)
    for n in (1, 2, 3, 4):
        minio_cluster.stop_node(n)
    with pytest.raises(MinioError) as err:
        mc.server_info()
    assert err.value.kind == "unreachable" and err.value.subject == "MinIO cluster"
    assert "node 1: connection refused" in str(err.value) and "node 4" in str(err.value)


class _CannedHandler(BaseHTTPRequestHandler):
    """Answers every request with the server's canned (status, content type, body)."""

    def do_GET(self) -> None:
        status, content_type, body = self.server.canned  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def canned() -> Iterator[Callable[[int, str, bytes], str]]:
    """Start a local HTTP server answering a fixed response; returns its endpoint."""
    servers: list[ThreadingHTTPServer] = []

    def start(status: int, content_type: str, body: bytes) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _CannedHandler)
        server.canned = (status, content_type, body)  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_malformed_json_is_a_bad_response(canned: Callable[[int, str, bytes], str]) -> None:
    mc = MinioClient([canned(200, "application/json", b'{"mode": "online", "servers": [')], "ak", SecretStr("sk-1234"))
    with pytest.raises(MinioError) as err:
        mc.server_info()
    assert err.value.kind == "bad_response" and "not valid JSON" in str(err.value)


def test_wrong_json_shape_is_a_bad_response_without_echoing_values(canned: Callable[[int, str, bytes], str]) -> None:
    body = json.dumps({"servers": [{"minio_env_vars": {"MINIO_ROOT_PASSWORD": "leak-me"}, "drives": "oops"}]})
    mc = MinioClient([canned(200, "application/json", body.encode())], "ak", SecretStr("sk-1234"))
    with pytest.raises(MinioError) as err:
        mc.server_info()
    assert err.value.kind == "bad_response" and "servers.0.drives" in str(err.value)
    assert "leak-me" not in str(err.value)


def test_a_non_json_5xx_is_a_bad_response_and_json_5xx_is_unavailable(canned: Callable[[int, str, bytes], str]) -> None:
    html = MinioClient([canned(502, "text/html", b"<html><body>Bad Gateway</body></html>")], "ak", SecretStr("sk"))
    with pytest.raises(MinioError) as err:
        html.data_usage()
    assert err.value.kind == "bad_response" and err.value.status == 502
    assert "non-JSON body (text/html" in str(err.value)
    error_json = b'{"Code":"XMinioServerNotInitialized","Message":"Server not initialized, please try again."}'
    busy = MinioClient([canned(503, "application/json", error_json)], "ak", SecretStr("sk"))
    with pytest.raises(MinioError) as err503:
        busy.data_usage()
    assert err503.value.kind == "unavailable" and "Server not initialized" in str(err503.value)


def test_a_503_node_is_skipped_for_the_next(
    canned: Callable[[int, str, bytes], str], minio_cluster: SimCluster
) -> None:
    sick = canned(503, "application/json", b'{"Code":"XMinioServerNotInitialized","Message":"not yet"}')
    mc = MinioClient(
        [sick, *minio_cluster.endpoints[1:]], minio_cluster.access_key, SecretStr(minio_cluster.secret_key)
    )
    info = mc.server_info()
    assert info.answered_by == 2 and "not yet" in info.failed_nodes[1]


def test_error_text_is_scrubbed_of_credentials() -> None:
    leaked = (
        "Authorization: AWS4-HMAC-SHA256 Credential=AKIA/20260101/us-east-1/s3/aws4_request, "
        "SignedHeaders=host, Signature=0123456789abcdef0123456789abcdef and Bearer eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl "
        'secretKey="hunter2hunter2" plus my-known-secret'
    )
    clean = scrub(leaked, secrets=["my-known-secret"])
    for secret in ("0123456789abcdef0123", "eyJhbGciOi", "hunter2", "my-known-secret", "AKIA/2026"):
        assert secret not in clean
    error = MinioError("auth", "MinIO node 1", leaked, address="127.0.0.1:9001", secrets=["my-known-secret"])
    assert "my-known-secret" not in str(error) and "0123456789abcdef0123" not in repr(error)
    assert error.info().message == str(error)


# ---------------------------------------------------------------- admin calls


def test_pools_and_decommission_lifecycle(two_pools: SimCluster) -> None:
    mc = client_for(two_pools)
    pools = mc.pools_list()
    assert [p.id for p in pools] == [0, 1] and all(p.decommission is None for p in pools)
    second = pools[1].cmdline
    started = mc.decommission_start(second)
    assert started is not None and started.decommission is not None and not started.decommission.complete
    deadline = time.monotonic() + 5
    while not mc.pools_status(second).decommission.complete:  # type: ignore[union-attr]
        assert time.monotonic() < deadline, "decommission never completed"
        time.sleep(0.2)
    with pytest.raises(MinioError) as err:
        mc.decommission_start(second)
    assert err.value.kind == "invalid" and "already in progress or complete" in str(err.value)
    with pytest.raises(MinioError) as cancel_err:
        mc.decommission_cancel(pools[0].cmdline)
    assert cancel_err.value.kind == "invalid"


def test_decommission_cancel(two_pools: SimCluster) -> None:
    two_pools.model.decommission_seconds = 30.0
    mc = client_for(two_pools)
    second = mc.pools_list()[1].cmdline
    mc.decommission_start(second)
    cancelled = mc.decommission_cancel(second)
    assert cancelled is not None and cancelled.decommission is not None and cancelled.decommission.canceled


def test_service_restart_dry_run_reports_every_host(mc: MinioClient) -> None:
    result = mc.service_restart(dry_run=True)
    assert result.dry_run and result.action == "restart"
    assert len(result.results) == 4 and all(r.error is None for r in result.results)


def test_top_locks_and_single_node_has_no_lock_api(
    mc: MinioClient, minio_cluster: SimCluster, single_node: SimCluster
) -> None:
    minio_cluster.add_lock("backups/db.dump", age_seconds=120)
    locks = mc.top_locks()
    assert locks.supported and locks.locks[0].resource == "backups/db.dump"
    assert locks.locks[0].elapsed_s is not None and 119 < locks.locks[0].elapsed_s < 130
    alone = client_for(single_node).top_locks()
    assert not alone.supported and alone.locks == []


def test_account_info_and_encrypted_user_list(mc: MinioClient, minio_cluster: SimCluster) -> None:
    minio_cluster.load_demo_data()
    account = mc.account_info()
    assert account.account_name == minio_cluster.access_key
    assert {"backups", "logs", "web-assets"} <= {b.name for b in account.buckets}
    users = mc.list_users()
    assert isinstance(users, list)
    assert all(u.access_key and minio_cluster.secret_key not in u.model_dump_json() for u in users)


def test_cluster_metrics_with_our_own_jwt(mc: MinioClient, minio_cluster: SimCluster) -> None:
    token = prometheus_jwt(minio_cluster.access_key, minio_cluster.secret_key)
    assert verify_prometheus_token(token, minio_cluster.access_key, minio_cluster.secret_key)
    metrics = mc.metrics_cluster()
    online = [v for k, v in metrics.items() if k.startswith("minio_cluster_drive_online_total")]
    assert online == [8.0]
    bad = client_for(minio_cluster, secret="not-the-secret-key")
    with pytest.raises(MinioError) as err:
        bad.metrics_cluster()
    assert err.value.kind == "forbidden" and "not-the-secret-key" not in str(err.value)


def test_prometheus_text_parsing() -> None:
    text = (
        "# HELP x help\n# TYPE x gauge\nminio_up 1\n"
        'minio_bucket_usage_total_bytes{bucket="a b",server="127.0.0.1:9000"} 1.5e+09\n'
        "minio_nan NaN\n\n"
    )
    parsed = parse_prometheus_text(text)
    assert parsed["minio_up"] == 1.0
    assert parsed['minio_bucket_usage_total_bytes{bucket="a b",server="127.0.0.1:9000"}'] == 1.5e9
    assert len(parsed) == 3


# ---------------------------------------------------------------- S3 side


def test_bucket_facts_and_canary(mc: MinioClient, minio_cluster: SimCluster) -> None:
    minio_cluster.load_demo_data()
    names = {b.name for b in mc.list_buckets()}
    assert {"backups", "logs", "probe", "web-assets"} <= names
    assert mc.bucket_policy_public("web-assets") is True
    assert mc.bucket_policy_public("logs") is False
    assert mc.bucket_versioning("logs").status in ("Off", "Enabled", "Suspended")
    assert mc.object_lock("backups").enabled and not mc.object_lock("logs").enabled
    canary = mc.canary("probe", size=4096)
    assert canary.ok and canary.error is None and canary.node == 1
    assert canary.put_ms is not None and canary.get_ms is not None and canary.delete_ms is not None
    age = mc.newest_object_age("probe", "healthcheck/")
    assert age is not None and age.total_seconds() < 3600
    assert mc.newest_object_age("probe", "nothing-here/") is None
    with pytest.raises(MinioError) as err:
        mc.bucket_versioning("no-such-bucket")
    assert err.value.kind == "not_found"


def test_canary_on_a_dead_node_moves_on_and_reports_failure_when_pinned(
    mc: MinioClient, minio_cluster: SimCluster
) -> None:
    minio_cluster.load_demo_data()
    minio_cluster.stop_node(1)
    moved = mc.canary("probe")
    assert moved.ok and moved.node == 2
    pinned = mc.canary("probe", node=1)
    assert not pinned.ok and pinned.error_kind == "unreachable" and pinned.put_ms is None


def test_policy_public_detection() -> None:
    assert policy_is_public({"Statement": [{"Effect": "Allow", "Principal": {"AWS": ["*"]}}]})
    assert policy_is_public({"Statement": {"Effect": "Allow", "Principal": "*"}})
    assert not policy_is_public({"Statement": [{"Effect": "Deny", "Principal": "*"}]})
    assert not policy_is_public({"Statement": [{"Effect": "Allow", "Principal": {"AWS": ["arn:x"]}}]})


# ---------------------------------------------------------------- timeouts, parallelism


def test_pool_policy_has_no_retries_and_a_bounded_size() -> None:
    pool = make_pool_manager(Timeouts(connect=1, read=2))
    assert pool.connection_pool_kw["retries"].total is False  # urllib3 stores retries=False this way
    assert pool.connection_pool_kw["maxsize"] == MAX_IN_FLIGHT_PER_ENDPOINT
    assert Timeouts().as_tuple() == (2.0, 5.0)
    assert Timeouts(connect=5, read=9).for_probe() == Timeouts(connect=1.0, read=2.0)


def test_fan_out_returns_by_the_deadline_with_a_hung_call() -> None:
    release = threading.Event()

    def hung() -> int:
        release.wait(10)
        return 0

    def failing() -> int:
        raise MinioError("unreachable", "MinIO node 2", "connection refused")

    def buggy() -> int:
        raise RuntimeError("secret-detail")

    start = time.monotonic()
    results = fan_out({"fast": lambda: 1, "hung": hung, "down": failing, "bug": buggy}, deadline_s=0.3)
    elapsed = time.monotonic() - start
    release.set()
    assert elapsed < 2.0, "fan_out must return at its deadline, not wait for the hung call (10 s)"
    assert list(results) == ["fast", "hung", "down", "bug"]
    assert results["fast"] == 1
    hung_result = results["hung"]
    assert isinstance(hung_result, ClientError) and hung_result.kind == "timeout"
    assert isinstance(results["down"], MinioError) and results["down"].kind == "unreachable"
    bug = results["bug"]
    assert isinstance(bug, ClientError) and bug.kind == "internal" and "secret-detail" not in str(bug)


def test_twenty_parallel_admin_calls_with_latency(minio_cluster: SimCluster) -> None:
    mc = client_for(minio_cluster)
    minio_cluster.set_latency(50)
    calls = {f"call-{i}": (lambda n=(i % 4) + 1: mc.server_info(node=n)) for i in range(20)}
    start = time.perf_counter()
    results = fan_out(calls, deadline_s=5.0)
    elapsed = time.perf_counter() - start
    print(f"fan_out: 20 admin info calls over 4 nodes with 50 ms latency: {elapsed * 1000:.0f} ms")
    assert all(not isinstance(r, ClientError) and len(r.servers) == 4 for r in results.values())
    same_node = {f"call-{i}": (lambda: mc.server_info(node=1)) for i in range(20)}
    start = time.perf_counter()
    results = fan_out(same_node, deadline_s=5.0)
    elapsed = time.perf_counter() - start
    print(f"fan_out: 20 admin info calls on ONE node with 50 ms latency: {elapsed * 1000:.0f} ms")
    assert all(not isinstance(r, ClientError) for r in results.values())


class _CountingHandler(BaseHTTPRequestHandler):
    """Sleeps 300 ms per request while counting requests in flight."""

    lock = threading.Lock()
    in_flight = 0
    peak = 0

    def do_GET(self) -> None:
        cls = type(self)
        with cls.lock:
            cls.in_flight += 1
            cls.peak = max(cls.peak, cls.in_flight)
        time.sleep(0.3)
        with cls.lock:
            cls.in_flight -= 1
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_never_more_than_eight_calls_in_flight_per_endpoint() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CountingHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        mc = MinioClient([f"http://127.0.0.1:{server.server_address[1]}"], "ak", SecretStr("sk"))
        results = fan_out({str(i): mc.data_usage for i in range(24)}, deadline_s=5.0, max_workers=24)
    finally:
        server.shutdown()
        server.server_close()
    assert all(not isinstance(r, ClientError) for r in results.values())
    # Never above the cap; well above one (the calls do run in parallel). The exact peak depends on
    # thread scheduling on a loaded machine, so it is not asserted.
    assert 4 <= _CountingHandler.peak <= MAX_IN_FLIGHT_PER_ENDPOINT


def test_endpoints_must_be_urls() -> None:
    with pytest.raises(ValueError, match="endpoint 1"):
        MinioClient(["127.0.0.1:9000"], "ak", SecretStr("sk"))
    mc = MinioClient(["http://127.0.0.1:9"], "ak", "plain-secret-string")
    assert "plain-secret-string" not in repr(mc)
    with pytest.raises(MinioError) as err:
        mc.liveness(5)
    assert err.value.kind == "invalid"


# ---------------------------------------------------------------- the real server's deadlines and answers


def test_admin_timeouts_outlast_the_servers_own_peer_wait_and_health_deadline() -> None:
    policy = Timeouts()
    admin = policy.for_admin()
    assert admin.read > SERVER_PEER_WAIT_S and admin.read > SERVER_CLUSTER_DEADLINE_S
    assert admin.connect == policy.connect <= 2.0  # a dead node is still found out fast
    assert policy.for_probe().read <= 2.0  # live/ready answer from the node itself
    assert Timeouts(read=30.0).for_admin().read == 30.0  # never shorter than the configured read


def test_one_hung_peer_delays_info_but_does_not_make_it_fail(minio_cluster_factory: Callable[..., SimCluster]) -> None:
    # The simulator's peer wait stands for the real server's 10 s; the client's read timeout
    # for plain calls is shorter than that wait, its admin read timeout longer.
    cluster = minio_cluster_factory([(4, 2)], peer_timeout_s=0.6)
    cluster.hang_node(3)
    mc = client_for(cluster, Timeouts(connect=0.5, read=0.2, admin_read=3.0))
    info = mc.server_info(node=1)
    assert [s.state for s in info.servers] == ["online", "online", "offline", "online"]
    assert info.backend.offline_disks == 2
    assert mc.cluster_health(node=2).ok  # 6 of 8 drives left, write quorum 5


def test_a_starting_node_is_not_quorum_lost_and_the_next_node_is_asked(minio_cluster: SimCluster) -> None:
    mc = client_for(minio_cluster)
    minio_cluster.set_starting(1, seconds=60)
    own = mc.cluster_health(node=1)
    assert own.starting and not own.quorum_lost and own.server_status == "offline"
    assert mc.liveness(1).starting and mc.liveness(1).ok
    any_node = mc.cluster_health()
    assert any_node.ok and any_node.node == 2 and not any_node.starting
    for n in (2, 3, 4):
        minio_cluster.set_starting(n, seconds=60)
    everyone = mc.cluster_health()
    assert everyone.starting and everyone.node == 1  # every node is starting: that is the answer


def test_decommissioning_the_only_pool_is_not_supported_not_retried(mc: MinioClient) -> None:
    with pytest.raises(NotSupported) as err:
        mc.decommission_start("0")
    assert err.value.kind == "unsupported" and err.value.status == 501
    assert "single pool" in str(err.value) and mc.last_failed_nodes == {}
    copy = pickle.loads(pickle.dumps(err.value))  # noqa: S301 - our own bytes
    assert isinstance(copy, NotSupported) and str(copy) == str(err.value)


def test_rejection_counters_are_typed_and_compared_between_samples(
    mc: MinioClient, minio_cluster: SimCluster
) -> None:
    before = mc.request_rejections()
    assert (before.auth, before.invalid, before.servers) == (0, 0, 4)
    http = urllib3.PoolManager(retries=False, timeout=2.0)
    for _ in range(3):
        http.request("GET", f"{minio_cluster.node_url(2)}/", headers={"Authorization": "Basic YTpi"})
    http.request("POST", f"{minio_cluster.node_url(4)}/bucket/key")
    change = mc.request_rejections().since(before)
    assert (change.auth, change.invalid, change.timestamp) == (3, 1, 0)
