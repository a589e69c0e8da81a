"""`/minio incident <type> [tenant]`: real diagnostics against the MinIO simulator and a real kube-apiserver."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kubernetes import client

from bot.clients.kube_models import ContainerInfo, PodInfo, PodLog
from bot.clients.minio_models import BucketInfo, LockEntry, TopLocks
from bot.config import TenantConfig
from bot.render.inline import to_mrkdwn
from bot.report import Status
from handlers.incidents.diagnose.performance import locks_section
from handlers.incidents.diagnose.pod_crash import log_section, redact_log
from handlers.incidents.diagnose.security import auth_section
from handlers.incidents.evaluate import needs
from handlers.incidents.facts import gather, prometheus_auth_rate
from handlers.incidents.model import INCIDENT_TYPES, IncidentType
from handlers.incidents.pods import crashed_pods
from sandbox.kube.world import TenantWorld, crashloop_pod, remove_network_policy, set_cert_expiry
from sandbox.minio_sim import SimCluster
from tests.fixtures.minio import ClusterFactory, sim_http
from tests.reading import plain
from tests.test_incident_env import (
    ELSEWHERE,
    OPS,
    Env,
    EnvFactory,
    dead_kubeconfig,
    report_text,
    section,
    tenant_doc,
    texts,
)

# Fixtures shared by the incident and runbook tests (make_env, full_env, static_env, demo_cluster, ...).
pytest_plugins = ["tests.test_incident_env"]


# ---------------------------------------------------------------- pod-crash


def test_given_a_crashlooping_pod_pod_crash_names_it_with_reason_events_and_next_actions(
    full_env: Env, tenant_world: TenantWorld, kube_api: client.ApiClient
) -> None:
    crashloop_pod(kube_api, tenant_world.namespace, "demo-pool-0-2", last_reason="OOMKilled", restarts=7)
    report = full_env.run("incident pod-crash demo")
    assert report.status is Status.UNHEALTHY
    pods = section(report, "Pods")
    assert pods.status is Status.UNHEALTHY
    assert "3/4 pods ready" in texts(pods)
    assert "demo-pool-0-2" in texts(pods) and "CrashLoopBackOff" in texts(pods) and "7 restart(s)" in texts(pods)
    assert "OOMKilled" in texts(pods) and "exit 137" in texts(pods)
    assert "went over its memory limit" in texts(section(report, "Termination reasons"))
    events = texts(section(report, "Recent warning events (1 h)"))
    assert "BackOff" in events and "Pod/demo-pool-0-2" in events
    # This API server has no kubelet: the log section says so, and the rest still arrives.
    logs = section(report, "Last log lines: demo-pool-0-2")
    assert "unavailable" in plain(logs.error)
    assert section(report, "MinIO view of its servers").status is Status.HEALTHY
    actions = texts(section(report, "Recommended next actions"))
    assert "/minio scale demo resources" in actions
    assert report.sections[-1].title == "Recommended next actions"


def test_given_healthy_pods_pod_crash_finds_nothing(full_env: Env) -> None:
    report = full_env.run("incident pod-crash demo")
    assert section(report, "Pods").status is Status.HEALTHY
    assert "4/4 pods ready" in texts(section(report, "Pods"))
    assert "No pod is crashing now" in texts(section(report, "Recommended next actions"))


def test_pod_logs_are_redacted_cut_and_cannot_break_out_of_the_code_block() -> None:
    lines = [
        "starting",
        "MINIO_ROOT_PASSWORD=supersecretvalue123 loaded",
        "Authorization: AWS4-HMAC-SHA256 Credential=AKIA/2024 Signature=abcdef0123456789abcdef",
        "```<!channel> " + "x" * 500,
    ]
    out = redact_log(lines)
    joined = "\n".join(out)
    assert "supersecretvalue123" not in joined and "abcdef0123456789abcdef" not in joined
    assert all(len(line) <= 200 for line in out)
    # As Slack shows the log section: each line verbatim in code, nothing breaks out of it.
    section = log_section("demo-pool-0-1", PodLog(namespace="n", pod="demo-pool-0-1", lines=lines))
    shown = "\n".join(to_mrkdwn(line) for line in section.lines)
    assert "```" not in shown and "<!channel>" not in shown and "&lt;!channel&gt;" in shown
    assert "supersecretvalue123" not in shown


def test_crashed_pods_puts_not_ready_pods_first() -> None:
    ok = PodInfo(name="a", namespace="n", phase="Running", ready=True)
    restarted = PodInfo(
        name="b",
        namespace="n",
        phase="Running",
        ready=True,
        restarts=2,
        containers=[ContainerInfo(name="minio", restarts=2, last_termination_reason="Error")],
        last_termination_reason="Error",
    )
    crashing = PodInfo(name="c", namespace="n", phase="Running", ready=False, waiting_reason="CrashLoopBackOff")
    assert [p.name for p in crashed_pods([ok, restarted, crashing])] == ["c", "b"]


# ---------------------------------------------------------------- storage-full


def test_given_full_drives_storage_full_shows_capacity_largest_buckets_and_how_to_get_space(
    full_env: Env, demo_cluster: SimCluster
) -> None:
    demo_cluster.set_usage({"backups": {"size": 3 << 40, "objects": 1000}}, replace=False)
    demo_cluster.disk_full(1)
    demo_cluster.run_scanner()
    report = full_env.run("incident storage-full demo")
    capacity = section(report, "Capacity")
    assert capacity.status is Status.UNHEALTHY
    assert "Drive full" in texts(capacity)
    largest = texts(section(report, "Largest buckets"))
    assert largest.index("`backups`") < largest.index("`logs`")  # largest first
    assert "no objects were listed" in largest
    volumes = texts(section(report, "Volumes"))
    assert "8 PVCs" in volumes and "grow in place" in volumes
    actions = texts(section(report, "Recommended next actions"))
    assert "/minio capacity demo" in actions


# ---------------------------------------------------------------- network-issue


def test_given_a_node_down_and_no_network_policy_network_issue_names_the_node(
    full_env: Env, demo_cluster: SimCluster, tenant_world: TenantWorld, kube_api: client.ApiClient
) -> None:
    demo_cluster.stop_node(3)
    remove_network_policy(kube_api, tenant_world.namespace, tenant_world.network_policy)
    report = full_env.run("incident network-issue demo")
    endpoints = section(report, "Node endpoints")
    assert endpoints.status is Status.UNHEALTHY
    assert "node 3" in texts(endpoints) and "node 1" in texts(endpoints)
    peers = section(report, "Peer network (from info)")
    assert "offline" in texts(peers)
    assert section(report, "Services").status is Status.HEALTHY and "demo-hl" in texts(section(report, "Services"))
    assert "traffic is not restricted" in texts(section(report, "NetworkPolicies"))
    assert "Nodes 3 do not answer" in texts(section(report, "Recommended next actions"))


def test_given_a_deny_all_network_policy_network_issue_says_it_blocks_node_traffic(
    full_env: Env, tenant_world: TenantWorld, kube_api: client.ApiClient
) -> None:
    client.NetworkingV1Api(kube_api).create_namespaced_network_policy(
        tenant_world.namespace,
        client.V1NetworkPolicy.model_validate(
            {"metadata": {"name": "deny-all"}, "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}
        ),
    )
    report = full_env.run("incident network-issue demo")
    policies = section(report, "NetworkPolicies")
    assert policies.status is Status.UNHEALTHY and "denies ALL ingress" in texts(policies)
    assert "deny-all" in texts(section(report, "Recommended next actions")).split("\n")[0]


# ---------------------------------------------------------------- performance


def test_given_a_long_held_lock_performance_shows_it_with_probe_latencies(
    full_env: Env, demo_cluster: SimCluster
) -> None:
    demo_cluster.add_lock("backups/db.tar", age_seconds=600)
    report = full_env.run("incident performance demo")
    probes = texts(section(report, "Probe latencies"))
    assert "node 1 liveness" in probes and "canary on `probe`" in probes and "PUT" in probes
    locks = section(report, "Locks held (top/locks)")
    assert locks.status is Status.UNHEALTHY and "backups/db.tar" in texts(locks)
    pressure = section(report, "Pod resource pressure")
    assert "metrics API not available" in plain(pressure.error)
    assert "Long-held locks" in texts(section(report, "Recommended next actions"))


def test_lock_ages_from_nanoseconds_read_as_durations_and_a_fresh_lock_is_no_alarm(
    static_env: Env, demo_cluster: SimCluster
) -> None:
    # The real server sends `elapsed` as a Go duration (nanoseconds): busy clusters always hold short locks.
    demo_cluster.add_lock("photos/fresh.jpg", age_seconds=0.0)
    demo_cluster.add_lock("backups/stuck.tar", age_seconds=3 * 3600)
    locks = section(static_env.run("incident performance demo"), "Locks held (top/locks)")
    fresh = next(r for r in locks.rows if "photos/fresh.jpg" in plain(r.text))
    stuck = next(r for r in locks.rows if "backups/stuck.tar" in plain(r.text))
    assert " ms" in plain(fresh.text) and fresh.status is Status.INFO, plain(fresh.text)
    assert "held 3.0 h" in plain(stuck.text) and stuck.status is Status.UNHEALTHY, plain(stuck.text)


def test_lock_elapsed_0_5_ms_and_3_h_in_nanoseconds() -> None:
    answers = TopLocks(locks=[LockEntry.model_validate({"resource": f"b/{ns}", "elapsed": ns})
                              for ns in (0, 5_000_000, 3 * 3600 * 10**9)])
    locks, old = locks_section(answers)
    shown = [plain(r.text) for r in locks.rows]
    assert "held 0 s" in shown[0] and "held 5 ms" in shown[1] and "held 3.0 h" in shown[2], shown
    assert [r.status for r in locks.rows] == [Status.INFO, Status.INFO, Status.UNHEALTHY] and old


def test_a_single_server_has_no_lock_api_and_performance_says_so(
    make_env: EnvFactory, tmp_path: Path, minio_cluster_factory: ClusterFactory
) -> None:
    cluster = minio_cluster_factory([(1, 4)])  # not distributed: `top/locks` answers 426
    cluster.load_demo_data()
    report = make_env([tenant_doc(tmp_path, cluster)]).run("incident performance demo")
    locks = section(report, "Locks held (top/locks)")
    assert locks.status is Status.INFO and locks.error is None
    assert "single server: no lock api" in texts(locks).lower() and "426" in texts(locks), texts(locks)
    assert "could not check" not in report_text(report).lower()


# ---------------------------------------------------------------- security


def test_given_a_certificate_expiring_in_5_days_security_is_UNHEALTHY_and_says_renew(
    full_env: Env, tenant_world: TenantWorld, kube_api: client.ApiClient
) -> None:
    set_cert_expiry(kube_api, tenant_world.namespace, tenant_world.tls_secret, days=5)
    report = full_env.run("incident security demo")
    certs = section(report, "Certificates")
    assert certs.status is Status.UNHEALTHY
    assert "demo-tls" in texts(certs) and ("expires in 5 day" in texts(certs) or "expires in 4 day" in texts(certs))
    users = texts(section(report, "Users"))
    assert "old-ci" in users and "disabled" in users and "backup-agent" in users
    assert "web-assets" in texts(section(report, "Public buckets"))
    assert section(report, "Credentials").status is Status.HEALTHY
    assert "Renew the certificate in Secret `demo-tls`" in texts(section(report, "Recommended next actions"))


def test_given_default_credentials_security_says_so_without_showing_them(
    make_env: EnvFactory, tmp_path: Path, minio_cluster_factory: ClusterFactory
) -> None:
    cluster = minio_cluster_factory([(4, 2)], access_key="minioadmin", secret_key="minioadmin")
    env = make_env([tenant_doc(tmp_path, cluster)])
    report = env.run("incident security demo")
    assert report.status is Status.UNHEALTHY
    credentials = section(report, "Credentials")
    assert credentials.status is Status.UNHEALTHY and "default root credentials" in texts(credentials)
    assert "minioadmin" not in report_text(report)
    assert "Rotate the root credentials" in texts(section(report, "Recommended next actions"))


def _unsupported_auth(cluster: SimCluster, node: int) -> None:
    """One request with an authorization scheme MinIO does not know (counted as rejected_auth)."""
    sim_http().request("GET", f"{cluster.node_url(node)}/", headers={"Authorization": "Basic YTpi"})


def test_security_counts_only_refused_auth_schemes_and_only_now(static_env: Env, demo_cluster: SimCluster) -> None:
    # Before the diagnosis: unsupported API calls (rejected_invalid: not credentials) and old auth refusals.
    for _ in range(5):
        sim_http().request("POST", f"{demo_cluster.node_url(2)}/some-bucket/some-key")
    _unsupported_auth(demo_cluster, 3)
    report = static_env.run("incident security demo")
    auth = section(report, "Requests refused for their authorization scheme")
    assert auth.status is Status.HEALTHY, texts(auth)
    assert texts(auth).startswith("None over the last "), texts(auth)
    assert "does not support" in texts(auth) and "Wrong keys and bad signatures are ordinary 403" in texts(auth)
    assert "bad credentials" not in report_text(report) and "since start" not in report_text(report)


def test_security_shows_the_rate_of_refused_auth_schemes_arriving_now(
    static_env: Env, demo_cluster: SimCluster
) -> None:
    stop = threading.Event()

    def flood() -> None:
        while not stop.wait(0.02):
            _unsupported_auth(demo_cluster, 1)

    sender = threading.Thread(target=flood, daemon=True)
    sender.start()
    try:
        report = static_env.run("incident security demo")
    finally:
        stop.set()
        sender.join()
    auth = section(report, "Requests refused for their authorization scheme")
    assert auth.status is Status.DEGRADED and "per minute over the last" in texts(auth), texts(auth)
    assert "does not support are arriving now" in texts(section(report, "Recommended next actions"))


def test_auth_refusals_from_prometheus_are_its_rate_over_five_minutes() -> None:
    class _Prometheus:
        query = ""

        def query_range(self, query: str, since: datetime, until: datetime, step: timedelta) -> dict[float, float]:
            self.query = query
            return {until.timestamp() - 60: 0.1, until.timestamp(): 0.5}

    prometheus = _Prometheus()
    rate = prometheus_auth_rate(prometheus, 'job="minio-demo"', datetime.now(UTC))  # type: ignore[arg-type]
    assert prometheus.query == 'sum(rate(minio_s3_requests_rejected_auth_total{job="minio-demo"}[300s]))'
    assert rate.per_minute == 30.0 and not rate.from_samples
    section_, per_minute = auth_section(rate)
    assert per_minute == 30.0 and "About 30.0 per minute over the last 5 min (Prometheus rate())." in texts(section_)


# ---------------------------------------------------------------- data-loss


def test_data_loss_shows_quorum_versioning_and_object_lock_per_bucket_and_backup_state(full_env: Env) -> None:
    report = full_env.run("incident data-loss demo")
    at_risk = texts(section(report, "Data at risk now"))
    assert "Write quorum: met" in at_risk and "Read quorum: met" in at_risk and "8/8 ok" in at_risk
    buckets = section(report, "Versioning and object lock per bucket")
    text = texts(buckets)
    assert "`backups`" in text and "object lock on" in text
    assert "`logs`: versioning Off · no object lock" in text
    assert "No backup target is configured" in texts(section(report, "Backup freshness"))
    replication = section(report, "Replication")
    assert replication.status is Status.INFO and "no replication" in texts(replication)
    assert "can only be restored from backup" in texts(section(report, "Recommended next actions"))


def test_given_write_quorum_lost_data_loss_says_do_not_restart_more(static_env: Env, demo_cluster: SimCluster) -> None:
    demo_cluster.stop_node(3)
    demo_cluster.stop_node(4)
    report = static_env.run("incident data-loss demo")
    assert "Write quorum: LOST" in texts(section(report, "Data at risk now"))
    assert report.status is Status.UNHEALTHY
    assert "do NOT restart" in texts(section(report, "Recommended next actions")).split("\n")[0]


def test_given_every_node_starting_data_loss_says_starting_not_lost(static_env: Env, demo_cluster: SimCluster) -> None:
    for n in range(1, 5):
        demo_cluster.set_starting(n, 30)  # 503 with X-Minio-Server-Status: no node evaluated quorum
    report = static_env.run("incident data-loss demo")
    at_risk = section(report, "Data at risk now")
    assert "Write quorum: not known, node 1 is starting (offline)" in texts(at_risk), texts(at_risk)
    assert "LOST" not in texts(at_risk) and at_risk.status is not Status.UNHEALTHY
    assert "Quorum is lost" not in texts(section(report, "Recommended next actions"))


# ---------------------------------------------------------------- faults: one side down, the other still reported


def test_given_the_kubernetes_api_unreachable_minio_sections_are_still_reported(
    make_env: EnvFactory, tmp_path: Path, demo_cluster: SimCluster, tenant_world: TenantWorld
) -> None:
    env = make_env([tenant_doc(tmp_path, demo_cluster, tenant_world)], dead_kubeconfig(tmp_path))
    started = time.monotonic()
    report = env.run("incident pod-crash demo")
    assert time.monotonic() - started < 6
    pods = section(report, "Pods")
    assert pods.status is Status.UNKNOWN and "unreachable" in plain(pods.error)
    minio = section(report, "MinIO view of its servers")
    assert minio.status is Status.HEALTHY and "4/4 servers online" in texts(minio)
    security = env.run("incident security demo")
    assert section(security, "Certificates").error
    assert "old-ci" in texts(section(security, "Users"))


def test_given_minio_unreachable_kubernetes_sections_are_still_reported(
    full_env: Env, demo_cluster: SimCluster, tenant_world: TenantWorld, kube_api: client.ApiClient
) -> None:
    crashloop_pod(kube_api, tenant_world.namespace, "demo-pool-0-1")
    demo_cluster.stop()
    report = full_env.run("incident pod-crash demo")
    assert section(report, "MinIO view of its servers").error
    assert "demo-pool-0-1" in texts(section(report, "Pods"))
    network = full_env.run("incident network-issue demo")
    assert section(network, "Node endpoints").status is Status.UNHEALTHY
    assert "demo-hl" in texts(section(network, "Services"))
    assert "demo-minio" in texts(section(network, "NetworkPolicies"))


def test_every_type_answers_for_a_static_tenant_without_kubernetes(static_env: Env) -> None:
    for kind in INCIDENT_TYPES:
        report = static_env.run(f"incident {kind} demo")
        assert report.title == f"Incident diagnostics: {kind} on demo", report.summary
        assert report.sections[-1].title == "Recommended next actions" and report.sections[-1].lines
        assert not report.failed


# ---------------------------------------------------------------- bad input and access


def test_unknown_tenant_is_refused_with_the_tenants_that_exist(static_env: Env) -> None:
    report = static_env.run("incident pod-crash nope")
    assert report.failed and "Unknown tenant `nope`" in plain(report.summary) and "`demo`" in plain(report.summary)


def test_a_tenant_not_visible_in_this_channel_is_refused(static_env: Env) -> None:
    report = static_env.run("incident security demo", channel=ELSEWHERE)
    assert report.failed and "not visible in this channel" in plain(report.summary)


def test_without_a_tenant_the_only_visible_tenant_is_used(static_env: Env) -> None:
    report = static_env.run("incident performance", channel=OPS)
    assert report.title == "Incident diagnostics: performance on demo"


# ---------------------------------------------------------------- how the bot reaches the nodes, and with which keys


def test_given_load_balanced_endpoints_no_node_is_called_down_and_per_node_verdicts_are_said_unavailable(
    make_env: EnvFactory, tmp_path: Path, demo_cluster: SimCluster
) -> None:
    env = make_env([tenant_doc(tmp_path, demo_cluster, endpoints_mode="load-balanced")])
    network = env.run("incident network-issue demo")
    endpoints = section(network, "Node endpoints")
    assert "per-node verdicts unavailable: endpoints are load-balanced" in texts(endpoints)
    assert endpoints.status is Status.INFO and network.status is not Status.UNHEALTHY
    assert "do not answer" not in texts(section(network, "Recommended next actions"))
    performance = env.run("incident performance demo")
    probes = section(performance, "Probe latencies")
    assert "per-node verdicts unavailable: endpoints are load-balanced" in texts(probes)
    assert "node 1 liveness" not in texts(probes) and "cluster probe" in texts(probes)
    assert probes.status is Status.HEALTHY



def test_given_no_readable_keys_security_shows_why_as_is_and_asks_for_keys(
    make_env: EnvFactory, tmp_path: Path, demo_cluster: SimCluster
) -> None:
    keys = {"access_key_env": "DEMO_AK", "secret_key_env": "DEMO_SK"}
    env = make_env([tenant_doc(tmp_path, demo_cluster, credentials=keys)])
    report = env.run("incident security demo")
    missing = "no credentials configured/readable for tenant demo (environment variables DEMO_AK / DEMO_SK are not set)"
    assert [plain(row.text) for row in section(report, "Credentials").rows] == [missing]
    assert "rejected" not in report_text(report)
    actions = texts(section(report, "Recommended next actions"))
    assert "readable keys" in actions and "Review the users above" not in actions


# ---------------------------------------------------------------- facts: each asked once, one stage after another


class _CountingClient:
    """A MinIO client stand-in that counts every call and answers with nothing (a bucket list of two)."""

    per_node = True
    nodes = [1, 2]
    endpoints = ["http://n1:9000", "http://n2:9000"]

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        def call(*_args: Any, **_kwargs: Any) -> Any:
            self.calls[name] += 1
            return [BucketInfo(name="a"), BucketInfo(name="b")] if name == "list_buckets" else None

        return call


class _StubRuntime:
    def __init__(self, client: _CountingClient) -> None:
        self.client = client

    def minio(self, _tenant: TenantConfig) -> _CountingClient:
        return self.client

    def credentials(self, _tenant: TenantConfig) -> tuple[str, str]:
        return "ak", "sk"

    def kube_for(self, _tenant: TenantConfig) -> None:
        return None


def test_the_evidence_of_every_diagnostic_asks_each_fact_once_and_per_bucket_facts_after_the_list() -> None:
    client = _CountingClient()
    keys = {"access_key_env": "A", "secret_key_env": "S"}
    tenant = TenantConfig.model_validate({"name": "t", "endpoints": _CountingClient.endpoints, "credentials": keys})
    got = gather(_StubRuntime(client), tenant, needs(IncidentType), time.monotonic() + 2)  # type: ignore[arg-type]
    assert client.calls["server_info"] == 1 and client.calls["list_buckets"] == 1
    assert client.calls["request_rejections"] == 2  # two samples: a rate now, not a count from process start
    assert client.calls["cluster_health"] == 2  # write and read quorum
    assert client.calls["liveness"] == 2  # one per node
    for per_bucket in ("bucket_policy_public", "bucket_versioning", "object_lock", "bucket_replication"):
        assert client.calls[per_bucket] == 2, per_bucket
    assert set(got.items("public")) == {"a", "b"} and got.get("pods") is None  # static: no Kubernetes facts
