"""`/minio health` as the runbook describes it, against the MinIO simulator and a real kube-apiserver."""

from __future__ import annotations

import io
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from bot.config import parse_config
from bot.report import Section, Status
from bot.runtime import Runtime
from bot.shell import Shell
from handlers.health import TenantHealth, check_tenant, health_report
from sandbox.kube.controlplane import ControlPlane
from sandbox.kube.world import TenantWorld, crashloop_pod, set_cert_expiry
from sandbox.minio_sim import SimCluster
from tests.fixtures.bot import ALICE, OPS
from tests.fixtures.minio import ClusterFactory
from tests.reading import plain

OTHER_CHANNEL = "C0ELSEWHERE"


def tenant_doc(cluster: SimCluster, name: str = "demo", **extra: Any) -> dict[str, Any]:
    """A static tenant on the simulator; keys come from environment variables named after the tenant."""
    env = name.upper().replace("-", "_")
    return {
        "name": name,
        "endpoints": cluster.endpoints,
        "credentials": {"access_key_env": f"{env}_AK", "secret_key_env": f"{env}_SK"},
        "channels": [OPS],
        "probe": {"bucket": "probe"},
        **extra,
    }


def kube_ref(world: TenantWorld) -> dict[str, Any]:
    return {"kubernetes": {"cluster": "test", "namespace": world.namespace, "tenant": world.name}}


@dataclass
class HealthEnv:
    """A runtime whose tenants point at the fixtures, and ways to ask for health."""

    runtime: Runtime

    def check(self, tenant: str = "demo", deadline_s: float | None = None) -> TenantHealth:
        config = self.runtime.config.tenant(tenant)
        assert config is not None
        return check_tenant(self.runtime, config, deadline_s)

    def shell(self, line: str, channel: str = OPS) -> tuple[int, str]:
        out = io.StringIO()
        code = Shell(self.runtime, ALICE, channel, out=out).run_line(line)
        return code, out.getvalue()


class EnvFactory:
    """Builds HealthEnvs from tenant docs; closes their runtimes at the end of the test."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.runtimes: list[Runtime] = []

    def __call__(
        self,
        tenants: list[tuple[dict[str, Any], SimCluster]],
        kubeconfig: Path | None = None,
        timeouts: dict[str, float] | None = None,
    ) -> HealthEnv:
        config: dict[str, Any] = {
            "admins": [ALICE],
            "channels": [{"id": OPS, "name": "ops"}, {"id": OTHER_CHANNEL}],
            "tenants": [doc for doc, _ in tenants],
            "store_url": f"sqlite:///{self.tmp_path / f'bot-{len(self.runtimes)}.db'}",
        }
        if kubeconfig is not None:
            config["clusters"] = [{"name": "test", "kubeconfig": str(kubeconfig), "discover": False}]
        if timeouts:
            config["timeouts"] = timeouts
        environ: dict[str, str] = {}
        for doc, cluster in tenants:
            env = doc["name"].upper().replace("-", "_")
            environ |= {f"{env}_AK": cluster.access_key, f"{env}_SK": cluster.secret_key}
        runtime = Runtime(parse_config(yaml.safe_dump(config)), environ=environ)
        self.runtimes.append(runtime)
        return HealthEnv(runtime)

    def close(self) -> None:
        for runtime in self.runtimes:
            runtime.close()


@pytest.fixture
def make_env(tmp_path: Path) -> Iterator[EnvFactory]:
    factory = EnvFactory(tmp_path)
    yield factory
    factory.close()


@pytest.fixture
def demo_cluster(minio_cluster: SimCluster) -> SimCluster:
    """The 4 x 2 simulator with the sandbox's demo data (a `probe` bucket, a public `web-assets`)."""
    minio_cluster.load_demo_data()
    return minio_cluster


@pytest.fixture
def kubeconfig(kube: ControlPlane, tmp_path: Path) -> Path:
    return kube.write_kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture
def full_env(make_env: EnvFactory, demo_cluster: SimCluster, tenant_world: TenantWorld, kubeconfig: Path) -> HealthEnv:
    """Tenant `demo`: MinIO on the simulator and its Tenant world on the real API server."""
    return make_env([(tenant_doc(demo_cluster, **kube_ref(tenant_world)), demo_cluster)], kubeconfig)


@pytest.fixture
def static_env(make_env: EnvFactory, demo_cluster: SimCluster) -> HealthEnv:
    """Tenant `demo` with static endpoints only."""
    return make_env([(tenant_doc(demo_cluster), demo_cluster)])


def section(health: TenantHealth, title: str) -> Section:
    found = health.section(title)
    assert found is not None, f"no section {title!r} in {[s.title for s in health.sections]}"
    return found


def texts(sec: Section) -> str:
    return "\n".join([*(plain(r.text) for r in sec.rows), *(plain(line) for line in sec.lines),
                      *(f"{f.label}: {plain(f.value)}" for f in sec.fields), plain(sec.error)])


def node_label(cluster: SimCluster, n: int) -> str:
    return f"node {n} ({cluster.node_url(n).removeprefix('http://')})"


# ---------------------------------------------------------------- the healthy baseline


def test_given_a_healthy_tenant_health_says_HEALTHY_and_covers_every_section(full_env: HealthEnv) -> None:
    health = full_env.check()
    assert health.status is Status.HEALTHY, health.reasons
    assert health.reasons == []
    assert [s.title for s in health.sections] == [
        "Kubernetes", "MinIO service", "Storage integrity", "Performance probe", "Security", "Backup",
        "Resource usage"]
    kube = texts(section(health, "Kubernetes"))
    assert "Pods: 4/4 ready" in kube and "PVCs: 8 Bound (8.00 TiB)" in kube and "demo-pool-0 4/4" in kube
    assert "Operator: 1/1 pods ready" in kube and "health green" in kube
    assert "can lose 1 more node and keep writing, 2 and keep reading" in texts(section(health, "Storage integrity"))
    security = texts(section(health, "Security"))
    assert "NetworkPolicy present" in security and "expires in 90.0 d" in security
    assert "web-assets" in security  # public, but a posture note: still HEALTHY
    assert "metrics API not available" in texts(section(health, "Resource usage"))
    assert "no backup target configured" in texts(section(health, "Backup"))


# ---------------------------------------------------------------- MinIO faults


def test_given_one_node_down_health_says_DEGRADED_and_names_node_2(
    full_env: HealthEnv, demo_cluster: SimCluster
) -> None:
    demo_cluster.stop_node(2)
    health = full_env.check()
    assert health.status is Status.DEGRADED
    assert health.reasons == [f"{node_label(demo_cluster, 2)} offline"]
    assert "cannot lose any node and keep writing, 1 and keep reading" in texts(section(health, "Storage integrity"))


def test_given_two_of_four_nodes_down_health_says_UNHEALTHY_write_quorum_lost_read_still_possible(
    static_env: HealthEnv, demo_cluster: SimCluster
) -> None:
    demo_cluster.stop_node(3)
    demo_cluster.stop_node(4)
    health = static_env.check()
    assert health.status is Status.UNHEALTHY
    assert "write quorum lost in pool 0 set 0" in health.reasons
    assert not any("read quorum lost" in r for r in health.reasons)
    storage = texts(section(health, "Storage integrity"))
    assert "reads still possible" in storage and "read quorum met in every set" in storage
    assert "4 of 8 drives online, needs 5" in storage
    assert f"{node_label(demo_cluster, 3)} offline" in health.reasons
    assert f"{node_label(demo_cluster, 4)} offline" in health.reasons


def test_given_a_drive_healing_health_says_DEGRADED_with_heal_progress(
    static_env: HealthEnv, demo_cluster: SimCluster
) -> None:
    demo_cluster.drive_replace(2, 1, heal_seconds=30, format_seconds=0.1)
    time.sleep(0.3)
    health = static_env.check()
    assert health.status is Status.DEGRADED
    assert any(r.startswith("drive /data1 on node 2 healing") for r in health.reasons), health.reasons
    assert "Healing: 1 drive" in texts(section(health, "Storage integrity"))


def test_given_a_hung_node_the_report_still_arrives_within_its_deadline(
    make_env: EnvFactory, demo_cluster: SimCluster
) -> None:
    # The read timeout (5 s) is longer than the report deadline (3 s): only the deadline may bound it.
    env = make_env([(tenant_doc(demo_cluster), demo_cluster)], timeouts={"read": 5, "report_deadline": 3})
    demo_cluster.hang_node(1)  # node 1 is where every "any node" call would start
    started = time.monotonic()
    health = env.check()
    elapsed = time.monotonic() - started
    assert elapsed < 3.0, f"took {elapsed:.2f} s"
    assert health.status is Status.DEGRADED
    assert f"{node_label(demo_cluster, 1)} not answering (timed out; hung?)" in health.reasons
    # Every other section was answered by the other nodes.
    assert section(health, "Performance probe").status is Status.HEALTHY
    assert section(health, "Storage integrity").status is Status.HEALTHY


@pytest.mark.parametrize("phase", ["offline", "iam-offline"])
def test_given_a_starting_node_health_says_it_is_starting_not_that_quorum_is_lost(
    static_env: HealthEnv, demo_cluster: SimCluster, phase: str
) -> None:
    # Node 2 is where the hedged write-quorum probe starts: its 503 says "starting", not "quorum lost".
    demo_cluster.set_starting(2, 30, status=phase)
    health = static_env.check()
    assert health.status is Status.DEGRADED, health.reasons
    assert f"{node_label(demo_cluster, 2)} is starting ({phase})" in health.reasons, health.reasons
    assert not [r for r in health.reasons if "quorum" in r], health.reasons
    storage = section(health, "Storage integrity")
    assert storage.status is Status.HEALTHY and "write quorum met in every set" in texts(storage)


def test_given_every_node_starting_health_says_so_and_no_quorum_is_called_lost(
    static_env: HealthEnv, demo_cluster: SimCluster
) -> None:
    for n in range(1, 5):
        demo_cluster.set_starting(n, 30)
    health = static_env.check()
    storage = section(health, "Storage integrity")
    assert storage.status is Status.UNKNOWN, texts(storage)
    assert "is starting (offline)" in texts(storage) and "lost" not in texts(storage), texts(storage)
    assert not [r for r in health.reasons if "quorum lost" in r], health.reasons


def test_given_one_hung_node_of_four_the_report_is_complete_names_it_and_is_DEGRADED(
    make_env: EnvFactory, minio_cluster_factory: ClusterFactory
) -> None:
    # The real server's `admin info` waits 10 s for a hung peer and the report deadline is 12 s; here the
    # peer wait is 1 s and the deadline 2 s. Every node's `info` waits for the hung peer, so a second node
    # asked a hedge later would answer too late: the servers and drives must still be in the report.
    cluster = minio_cluster_factory([(4, 2)], peer_timeout_s=1.0)
    cluster.load_demo_data()
    env = make_env([(tenant_doc(cluster), cluster)], timeouts={"read": 5, "report_deadline": 2})
    cluster.hang_node(1)  # node 1 is where the hedged `info` starts
    health = env.check()
    assert health.status is Status.DEGRADED, health.reasons
    assert health.reasons == [f"{node_label(cluster, 1)} not answering (timed out; hung?)"]
    service = texts(section(health, "MinIO service"))
    assert "Servers online: 3/4" in service and "Drives online: 6/8" in service, service
    assert section(health, "Storage integrity").status is Status.HEALTHY


def test_given_every_node_hung_health_says_plainly_that_none_answered_in_time(
    make_env: EnvFactory, demo_cluster: SimCluster
) -> None:
    env = make_env([(tenant_doc(demo_cluster), demo_cluster)], timeouts={"read": 1, "report_deadline": 3})
    for n in range(1, 5):
        demo_cluster.hang_node(n)
    health = env.check()
    assert health.status is Status.UNHEALTHY
    assert health.reasons == ["no MinIO node answered within 1 s"], health.reasons
    assert "no MinIO node answered within 1 s" in texts(section(health, "Storage integrity"))


def test_given_minio_unreachable_kubernetes_sections_are_still_reported(
    full_env: HealthEnv, demo_cluster: SimCluster
) -> None:
    for n in range(1, 5):
        demo_cluster.stop_node(n)
    health = full_env.check()
    assert health.status is Status.UNHEALTHY
    assert health.reasons == ["no MinIO node answers"]  # one root cause, not one per dependent check
    assert section(health, "Kubernetes").status is Status.HEALTHY
    assert "Pods: 4/4 ready" in texts(section(health, "Kubernetes"))
    assert "connection refused" in texts(section(health, "MinIO service"))
    for title in ("Storage integrity", "Performance probe"):
        assert section(health, title).status is Status.UNKNOWN
        assert "no MinIO node answers" in texts(section(health, title))
    assert "NetworkPolicy present" in texts(section(health, "Security"))


def test_given_a_missing_probe_bucket_health_says_DEGRADED_and_how_to_fix_it(
    make_env: EnvFactory, demo_cluster: SimCluster
) -> None:
    env = make_env([(tenant_doc(demo_cluster, probe={"bucket": "canary-missing"}), demo_cluster)])
    health = env.check()
    assert health.status is Status.DEGRADED
    assert health.reasons == ["probe bucket canary-missing missing"]
    assert "mc mb <alias>/canary-missing" in texts(section(health, "Performance probe"))


def test_given_a_backup_older_than_the_rpo_health_says_DEGRADED(
    make_env: EnvFactory, demo_cluster: SimCluster
) -> None:
    from tests.fixtures.minio import s3_client

    s3_client(demo_cluster).put_object("backups", "nightly/db.dump", io.BytesIO(b"dump"), 4)
    backup = {"bucket": "backups", "prefix": "nightly/", "rpo_hours": 0.0003}  # about one second
    env = make_env([(tenant_doc(demo_cluster, backup=backup), demo_cluster)])
    assert section(env.check(), "Backup").status is Status.HEALTHY
    time.sleep(1.2)
    health = env.check()
    assert health.status is Status.DEGRADED
    assert any(r.startswith("newest backup") and "(RPO 0.0003 h)" in r for r in health.reasons), health.reasons


def test_given_default_credentials_health_says_UNHEALTHY_without_printing_them(
    make_env: EnvFactory, minio_cluster_factory: ClusterFactory
) -> None:
    cluster = minio_cluster_factory([(4, 2)], access_key="minioadmin", secret_key="minioadmin")
    cluster.load_demo_data()
    env = make_env([(tenant_doc(cluster), cluster)])
    health = env.check()
    assert health.status is Status.UNHEALTHY
    assert health.reasons == ["default root credentials in use"]
    code, out = env.shell("/minio health demo")
    assert code == 2 and "minioadmin" not in out


def test_given_load_balanced_endpoints_health_judges_no_node_but_still_the_cluster(
    make_env: EnvFactory, demo_cluster: SimCluster
) -> None:
    # One address in front of the cluster: a liveness answer through it belongs to no particular node.
    doc = tenant_doc(demo_cluster, endpoints=demo_cluster.endpoints[:1], endpoints_mode="load-balanced")
    env = make_env([(doc, demo_cluster)])
    health = env.check()
    assert health.status is Status.HEALTHY, health.reasons
    service = texts(section(health, "MinIO service"))
    assert "per-node verdicts unavailable: endpoints are load-balanced" in service
    assert "node 1" not in service and "no MinIO node answers" not in service
    assert "can lose 1 more node and keep writing" in texts(section(health, "Storage integrity"))
    demo_cluster.stop_node(2)
    health = env.check()
    assert health.status is Status.DEGRADED
    # The cluster's own view (admin info) still names the server that is down.
    assert health.reasons == [f"server {demo_cluster.node_url(2).removeprefix('http://')} offline"]


def test_given_no_credentials_health_says_not_checked_never_that_a_check_failed(
    make_env: EnvFactory, demo_cluster: SimCluster
) -> None:
    keys = {"access_key_env": "NOWHERE_AK", "secret_key_env": "NOWHERE_SK"}
    env = make_env([(tenant_doc(demo_cluster, credentials=keys), demo_cluster)])
    health = env.check()
    missing = "no credentials configured/readable for tenant demo (environment variables NOWHERE_AK / NOWHERE_SK"
    # Nothing was sent, so nothing failed: the signed checks say so once, the unsigned ones still ran.
    assert health.status is Status.DEGRADED
    assert len(health.reasons) == 1 and health.reasons[0].startswith(missing), health.reasons
    probe = section(health, "Performance probe")
    assert probe.status is Status.UNKNOWN and "canary: not checked (no credentials" in texts(probe)
    assert "Nodes live: 4/4" in texts(section(health, "MinIO service"))
    assert section(health, "Storage integrity").status is Status.HEALTHY
    code, out = env.shell("/minio health demo")
    assert code == 1 and "failed" not in out and "rejected" not in out


# ---------------------------------------------------------------- Kubernetes faults


def test_given_a_crashlooping_pod_health_says_DEGRADED_naming_the_pod_and_OOMKilled(
    full_env: HealthEnv, kube_api: client.ApiClient, tenant_world: TenantWorld
) -> None:
    crashloop_pod(kube_api, tenant_world.namespace, "demo-pool-0-1")
    health = full_env.check()
    assert health.status is Status.DEGRADED
    assert "pod demo-pool-0-1 in CrashLoopBackOff, last exit OOMKilled, 7 restarts" in health.reasons
    assert "StatefulSet demo-pool-0 3/4 ready" in health.reasons
    assert "BackOff" in texts(section(health, "Kubernetes"))  # the kubelet's Warning event


def test_given_a_certificate_expiring_in_5_days_health_says_DEGRADED(
    full_env: HealthEnv, kube_api: client.ApiClient, tenant_world: TenantWorld
) -> None:
    set_cert_expiry(kube_api, tenant_world.namespace, tenant_world.tls_secret, days=5)
    health = full_env.check()
    assert health.status is Status.DEGRADED
    assert health.reasons == ["TLS certificate demo-tls expires in 5.0 d"]


def test_given_the_kubernetes_api_unreachable_minio_sections_are_still_reported(
    make_env: EnvFactory, demo_cluster: SimCluster, kube: ControlPlane, tmp_path: Path
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    path = kube.write_kubeconfig(tmp_path / "dead-kubeconfig")
    doc = yaml.safe_load(path.read_text())
    doc["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{closed}"
    path.write_text(yaml.safe_dump(doc))
    ref = {"kubernetes": {"cluster": "test", "namespace": "minio-demo", "tenant": "demo"}}
    env = make_env([(tenant_doc(demo_cluster, **ref), demo_cluster)], path)
    health = env.check()
    assert health.status is Status.DEGRADED
    assert health.reasons[0].startswith("Kubernetes not checked: Kubernetes API unreachable")
    kube_section = section(health, "Kubernetes")
    assert kube_section.status is Status.UNKNOWN and "connection refused" in plain(kube_section.error)
    for title in ("MinIO service", "Storage integrity", "Performance probe"):
        assert section(health, title).status is Status.HEALTHY, title
    assert "4/4" in texts(section(health, "MinIO service"))


# ---------------------------------------------------------------- the command: input, visibility, exit codes


def test_unknown_tenant_is_refused_and_the_tenants_here_are_listed(static_env: HealthEnv) -> None:
    code, out = static_env.shell("/minio health nope")
    assert code == 3
    assert "Unknown tenant `nope`" in out and "`demo`" in out


def test_a_tenant_not_visible_in_this_channel_is_refused(static_env: HealthEnv) -> None:
    code, out = static_env.shell("/minio health demo", channel=OTHER_CHANNEL)
    assert code == 3 and "not visible in this channel" in out


def test_shell_exits_0_1_2_for_healthy_degraded_unhealthy(static_env: HealthEnv, demo_cluster: SimCluster) -> None:
    code, out = static_env.shell("/minio health demo")
    assert code == 0 and "Health of demo: HEALTHY" in out
    demo_cluster.stop_node(2)
    code, out = static_env.shell("/minio health demo")
    assert code == 1 and "DEGRADED" in out and node_label(demo_cluster, 2) in out
    demo_cluster.stop_node(3)
    code, out = static_env.shell("/minio health demo")
    assert code == 2 and "write quorum lost in pool 0 set 0" in out


def test_without_a_tenant_every_visible_tenant_is_summarised_worst_first(
    make_env: EnvFactory, minio_cluster_factory: ClusterFactory
) -> None:
    healthy, degraded, hidden = (minio_cluster_factory([(4, 2)]) for _ in range(3))
    for cluster in (healthy, degraded, hidden):
        cluster.load_demo_data()
    degraded.stop_node(4)
    env = make_env([
        (tenant_doc(healthy, "alpha"), healthy),
        (tenant_doc(degraded, "beta"), degraded),
        (tenant_doc(hidden, "gamma", channels=[OTHER_CHANNEL]), hidden),
    ])
    report = health_report(env.runtime, [t for t in env.runtime.tenants() if OPS in t.channels])
    assert report.status is Status.DEGRADED and report.title == "Health of 2 tenants"
    rows = report.sections[0].rows
    assert [r.status for r in rows] == [Status.DEGRADED, Status.HEALTHY]
    assert plain(rows[0].text) == f"beta: {node_label(degraded, 4)} offline"
    assert plain(rows[1].text) == "alpha: every check passed"
    assert [a.value for a in report.actions] == ["/minio health beta"]
    code, out = env.shell("/minio health")
    assert code == 1 and "gamma" not in out and "beta" in out
