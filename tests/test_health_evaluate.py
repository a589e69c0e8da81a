"""The health verdict as pure functions: erasure math, status rules and precedence, with hand-written facts."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.clients.errors import CredentialsUnavailable, KubeError, MinioError
from bot.clients.kube_models import CertInfo, PodInfo
from bot.clients.minio_models import BackupFreshness, CanaryResult, ClusterHealth, Probe, ServerInfo
from bot.config import TenantConfig
from bot.erasure import default_parity
from bot.report import Status
from handlers.health.backup import evaluate_backup
from handlers.health.erasure import (
    ErasureSet,
    drive_tolerance,
    erasure_sets,
    node_tolerance,
    tolerance_text,
)
from handlers.health.evaluate import decisive_reasons, evaluate, overall_status
from handlers.health.facts import BucketExposure, KubeFacts, LoadBalanced, MinioFacts, NodeRef, TenantFacts, TlsFacts
from handlers.health.findings import Reason
from handlers.health.kubernetes import evaluate_kubernetes
from handlers.health.minio_service import evaluate_minio_service
from handlers.health.probe import evaluate_probe
from handlers.health.security import certificate_status, evaluate_security
from handlers.health.storage import evaluate_storage
from tests.reading import plain

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
VERSION = "RELEASE.2025-09-07T16-13-09Z"


def server_info(
    nodes: int = 4,
    drives: int = 2,
    *,
    sets: int = 1,
    parity: int | None = 4,
    offline_nodes: tuple[int, ...] = (),
    drive_states: dict[tuple[int, int], str] | None = None,
    healing: dict[tuple[int, int], float] | None = None,
    versions: dict[int, str] | None = None,
    uptimes: dict[int, int] | None = None,
) -> ServerInfo:
    """An `info` answer shaped like MinIO's: drives spread round-robin over nodes within each set."""
    size = nodes * drives // sets
    servers: list[dict[str, Any]] = []
    for n in range(1, nodes + 1):
        online = n not in offline_nodes
        drive_docs = []
        for d in range(1, drives + 1):
            slot = (n - 1) * drives + (d - 1)
            state = "offline" if not online else (drive_states or {}).get((n, d), "ok")
            doc: dict[str, Any] = {
                "endpoint": f"http://127.0.0.1:900{n}/data{d}",
                "state": state,
                "pool_index": 0,
                "set_index": slot % sets,
                "disk_index": slot // sets,
                "healing": (n, d) in (healing or {}),
            }
            if (n, d) in (healing or {}):
                done = (healing or {})[(n, d)]
                doc["heal_info"] = {"objects_total_size": 1000, "bytes_done": int(1000 * done), "items_healed": 3}
            drive_docs.append(doc)
        servers.append({
            "endpoint": f"127.0.0.1:900{n}",
            "state": "online" if online else "offline",
            "version": (versions or {}).get(n, VERSION) if online else "",
            "uptime": (uptimes or {}).get(n, 86400) if online else 0,
            "drives": drive_docs,
            "minio_env_vars": {"MINIO_ROOT_PASSWORD": "never-parsed"},
        })
    backend = {"standardSCParity": parity, "totalSets": [sets], "totalDrivesPerSet": [size]}
    return ServerInfo.model_validate({"servers": servers, "backend": backend, "answered_by": 1})


def nodes(count: int = 4) -> list[NodeRef]:
    return [NodeRef(n, f"127.0.0.1:900{n}") for n in range(1, count + 1)]


def probe(node: int, ok: bool = True, kind: str | None = None) -> Probe:
    return Probe(node=node, url=f"http://127.0.0.1:900{node}/minio/health/live", ok=ok, latency_ms=1.0,
                 error=None if ok else "MinIO node unreachable: connection refused", error_kind=kind)


def healthy_minio(**changes: Any) -> MinioFacts:
    facts = MinioFacts(
        nodes=nodes(),
        liveness={n: probe(n) for n in range(1, 5)},
        info=server_info(),
        cluster_write=ClusterHealth(ok=True, status=200, write_quorum=5, node=1, latency_ms=1.0),
        cluster_read=ClusterHealth(ok=True, status=200, read_quorum=4, node=1, latency_ms=1.0, read=True),
        canary=CanaryResult(bucket="probe", node=1, ok=True, put_ms=12, get_ms=8, delete_ms=6),
        buckets=BucketExposure(total=3, checked=3, public=[]),
        default_credentials=False,
        backup=None,
        https=False,
    )
    return replace(facts, **changes)


def cert(days: float) -> CertInfo:
    return CertInfo(namespace="ns", secret="demo-tls", subject="CN=minio", issuer="CN=minio",
                    not_after=NOW + timedelta(days=days), days_left=days)


def pod(name: str, **fields: Any) -> PodInfo:
    return PodInfo.model_validate({"name": name, "namespace": "ns", "phase": "Running", "ready": True} | fields)


def healthy_kube(**changes: Any) -> KubeFacts:
    from bot.clients.kube_models import TenantInfo

    tenant = TenantInfo.from_api({
        "metadata": {"name": "demo", "namespace": "ns"},
        "spec": {"pools": []},
        "status": {"currentState": "Initialized", "healthStatus": "green", "drivesOnline": 8, "drivesOffline": 0,
                   "drivesHealing": 0},
    })
    facts = KubeFacts(
        namespace="ns",
        tenant="demo",
        operator="minio-operator/minio-operator",
        tenant_info=tenant,
        operator_pods=[pod("minio-operator-abc")],
        pods=[pod(f"demo-pool-0-{i}") for i in range(4)],
        statefulsets=[],
        pvcs=[],
        events=[],
        network_policies=[],
        tls=TlsFacts(enabled=True, source="Tenant spec", certificates=[cert(90)]),
        root_default=False,
        metrics=KubeError("unavailable", "Kubernetes API", "metrics API not available"),
    )
    return replace(facts, **changes)


TENANT_DOC: dict[str, Any] = {
    "name": "demo",
    "endpoints": ["http://127.0.0.1:9001"],
    "credentials": {"access_key_env": "A", "secret_key_env": "B"},
    "probe": {"bucket": "probe"},
}
TENANT = TenantConfig.model_validate(TENANT_DOC)


def statuses(rows: list[Reason]) -> list[Status | None]:
    return [r.status for r in rows]


def test_a_tenant_with_no_running_pod_serves_nothing_and_is_unhealthy_not_degraded() -> None:
    for pods in ([], [pod(f"demo-pool-0-{i}", ready=False, phase="Pending") for i in range(4)]):
        section, reasons = evaluate_kubernetes(healthy_kube(pods=pods))
        assert section.status is Status.UNHEALTHY, pods
        assert any("serves nothing" in plain(r.text) for r in reasons if r.status is Status.UNHEALTHY)


# ---------------------------------------------------------------- erasure math


@pytest.mark.parametrize("size, parity", [(1, 0), (2, 1), (3, 1), (4, 2), (5, 2), (6, 3), (7, 3), (8, 4), (16, 4)])
def test_default_parity_follows_the_set_size(size: int, parity: int) -> None:
    assert default_parity(size) == parity


def test_a_4x2_tenant_has_one_set_of_8_with_write_quorum_5_and_read_quorum_4() -> None:
    sets = erasure_sets(server_info())
    assert [(s.size, s.parity, s.write_quorum, s.read_quorum, s.online) for s in sets] == [(8, 4, 5, 4, 8)]
    assert node_tolerance(sets) == 1 and node_tolerance(sets, read=True) == 2
    assert drive_tolerance(sets) == 3
    assert tolerance_text(1, 2) == "can lose 1 more node and keep writing, 2 and keep reading"


def test_one_node_down_leaves_no_write_tolerance_and_two_down_lose_write_quorum_but_not_read() -> None:
    one = erasure_sets(server_info(offline_nodes=(2,)))
    assert node_tolerance(one) == 0 and node_tolerance(one, read=True) == 1
    two = erasure_sets(server_info(offline_nodes=(3, 4)))
    assert not two[0].writable and two[0].readable
    assert node_tolerance(two) == -1 and node_tolerance(two, read=True) == 0
    assert tolerance_text(-1, 0) == "write quorum already lost"


def test_parity_comes_from_the_backend_not_the_default() -> None:
    # EC:2 on a set of 8: 6 data drives, write quorum 6; each node holds 2 of the set, so 1 node may go.
    sets = erasure_sets(server_info(parity=2))
    assert (sets[0].data, sets[0].write_quorum) == (6, 6)
    assert node_tolerance(sets) == 1 and drive_tolerance(sets) == 2


def test_data_equal_to_parity_needs_one_more_drive_to_write() -> None:
    assert ErasureSet(pool=0, index=0, size=6, parity=3, online=6).write_quorum == 4
    assert ErasureSet(pool=0, index=0, size=12, parity=4, online=12).write_quorum == 8


def test_tolerance_uses_the_live_distribution_of_drives_over_nodes() -> None:
    # 4 x 8 drives = 2 sets of 16, each node holds 4 drives of each set: 16 - 4 >= 12, one node may go.
    sets = erasure_sets(server_info(drives=8, sets=2))
    assert [(s.size, s.online_per_node) for s in sets] == [(16, (4, 4, 4, 4)), (16, (4, 4, 4, 4))]
    assert node_tolerance(sets) == 1
    # An uneven set: the worst case takes the node with the most drives first.
    uneven = ErasureSet(pool=0, index=0, size=8, parity=4, online=8, online_per_node=(3, 2, 2, 1))
    assert uneven.nodes_to_spare(uneven.write_quorum) == 1  # losing the 3-drive node leaves 5
    assert uneven.nodes_to_spare(uneven.read_quorum) == 1  # then the next 2 would leave 3 < 4


# ---------------------------------------------------------------- status rules


def test_precedence_unknown_counts_as_degraded_and_info_as_healthy() -> None:
    assert overall_status([Status.HEALTHY, Status.INFO]) is Status.HEALTHY
    assert overall_status([Status.HEALTHY, Status.UNKNOWN]) is Status.DEGRADED
    assert overall_status([Status.UNKNOWN, Status.DEGRADED, Status.UNHEALTHY]) is Status.UNHEALTHY
    reasons = [Reason(status=Status.DEGRADED, text="b"), Reason(status=Status.UNHEALTHY, text="a"),
               Reason(status=Status.DEGRADED, text="b")]
    assert decisive_reasons(reasons) == ["a", "b"]


@pytest.mark.parametrize("days, expected", [(90, Status.HEALTHY), (14.5, Status.HEALTHY), (5, Status.DEGRADED),
                                            (0.5, Status.UNHEALTHY), (-3, Status.UNHEALTHY)])
def test_certificate_expiry_thresholds(days: float, expected: Status) -> None:
    assert certificate_status(days) is expected


def test_a_healthy_tenant_is_healthy_and_says_why_nothing_decided_it() -> None:
    facts = TenantFacts(minio=healthy_minio(), kube=healthy_kube(), elapsed_s=0.1)
    verdict = evaluate(facts, TENANT, NOW)
    assert verdict.status is Status.HEALTHY and verdict.reasons == []
    assert [s.title for s in verdict.sections] == [
        "Kubernetes", "MinIO service", "Storage integrity", "Performance probe", "Security", "Backup",
        "Resource usage"]


def test_one_node_offline_is_degraded_and_named_once() -> None:
    minio = healthy_minio(liveness={n: probe(n, ok=n != 2, kind="unreachable") for n in range(1, 5)},
                          info=server_info(offline_nodes=(2,)))
    section, reasons = evaluate_minio_service(minio)
    assert section.status is Status.DEGRADED
    assert [r.text for r in reasons] == ["node 2 (127.0.0.1:9002) offline"]


def test_a_hung_node_is_called_not_answering() -> None:
    minio = healthy_minio(liveness={n: probe(n, ok=n != 3, kind="timeout") for n in range(1, 5)})
    _, reasons = evaluate_minio_service(minio)
    assert [r.text for r in reasons] == ["node 3 (127.0.0.1:9003) not answering (timed out; hung?)"]


def test_no_node_answering_is_unhealthy() -> None:
    down = {n: probe(n, ok=False, kind="unreachable") for n in range(1, 5)}
    minio = healthy_minio(liveness=down, info=MinioError("unreachable", "MinIO cluster", "no node answered"))
    section, reasons = evaluate_minio_service(minio)
    assert section.status is Status.UNHEALTHY and [r.text for r in reasons] == ["no MinIO node answers"]


def test_version_skew_and_offline_drive_are_degraded() -> None:
    info = server_info(versions={4: "RELEASE.2025-10-01T00-00-00Z"}, drive_states={(1, 2): "offline"})
    _, reasons = evaluate_minio_service(healthy_minio(info=info))
    texts = [r.text for r in reasons]
    assert any("version skew" in t and "on node 4" in t and "on node 1, 2, 3" in t for t in texts)
    assert "drive /data2 on node 1 offline" in texts


def test_write_quorum_lost_names_the_set_and_says_reads_still_work() -> None:
    minio = healthy_minio(
        info=server_info(offline_nodes=(3, 4)),
        cluster_write=ClusterHealth(ok=False, status=503, write_quorum=5, node=1, latency_ms=1.0),
    )
    section, reasons = evaluate_storage(minio)
    assert section.status is Status.UNHEALTHY
    assert [r.text for r in reasons] == ["write quorum lost in pool 0 set 0"]
    assert any("reads still possible" in plain(r.text) for r in section.rows)
    assert any("4 of 8 drives online, needs 5" in plain(r.text) for r in section.rows)


def test_quorum_is_judged_from_drive_states_when_no_node_answers_the_probe() -> None:
    unreachable = MinioError("unreachable", "MinIO cluster", "no node answered")
    minio = healthy_minio(info=server_info(offline_nodes=(2, 3)), cluster_write=unreachable)
    section, reasons = evaluate_storage(minio)
    assert section.status is Status.UNHEALTHY and "write quorum lost in pool 0 set 0" in [r.text for r in reasons]


def test_a_healing_drive_is_degraded_with_its_progress() -> None:
    info = server_info(healing={(2, 1): 0.37})
    section, reasons = evaluate_storage(healthy_minio(info=info))
    assert section.status is Status.DEGRADED
    assert [r.text for r in reasons] == ["drive /data1 on node 2 healing (37%)"]


@pytest.mark.parametrize(
    "put_ms, expected",
    [(150, Status.HEALTHY), (350, Status.DEGRADED), (1500, Status.UNHEALTHY)],
)
def test_canary_latency_against_the_thresholds(put_ms: float, expected: Status) -> None:
    canary = CanaryResult(bucket="probe", node=1, ok=True, put_ms=put_ms, get_ms=5, delete_ms=5)
    section, _ = evaluate_probe(canary, TENANT)
    assert section.status is expected


def test_a_missing_probe_bucket_is_degraded_with_the_fix() -> None:
    canary = CanaryResult(bucket="probe", node=1, ok=False, error_kind="not_found",
                          error="MinIO node 1 has no such object: canary put: NoSuchBucket: The bucket does not exist")
    section, reasons = evaluate_probe(canary, TENANT)
    assert section.status is Status.DEGRADED and [r.text for r in reasons] == ["probe bucket probe missing"]
    assert "mc mb" in plain(section.rows[0].text)


def test_a_canary_that_cannot_write_is_unhealthy() -> None:
    canary = CanaryResult(bucket="probe", node=1, ok=False, error_kind="unavailable",
                          error="MinIO node 1 unavailable: canary put: SlowDown: write quorum")
    section, reasons = evaluate_probe(canary, TENANT)
    assert section.status is Status.UNHEALTHY and [r.text for r in reasons] == ["canary PUT failed"]


def test_crashloop_pod_names_the_pod_and_the_last_termination_reason() -> None:
    bad = pod("demo-pool-0-1", ready=False, waiting_reason="CrashLoopBackOff", last_termination_reason="OOMKilled",
              restarts=7)
    section, reasons = evaluate_kubernetes(healthy_kube(pods=[pod("demo-pool-0-0"), bad]))
    assert section.status is Status.DEGRADED
    assert [r.text for r in reasons] == ["pod demo-pool-0-1 in CrashLoopBackOff, last exit OOMKilled, 7 restarts"]


def test_a_pod_that_was_oom_killed_but_runs_again_is_a_note_not_a_verdict() -> None:
    recovered = pod("demo-pool-0-2", restarts=2, last_termination_reason="OOMKilled")
    section, reasons = evaluate_kubernetes(healthy_kube(pods=[pod("demo-pool-0-0"), recovered]))
    assert section.status is Status.HEALTHY and reasons == []
    assert any(plain(r.text) == "pod demo-pool-0-2 restarted 2 time(s) (last exit: OOMKilled)" for r in section.rows)


def test_tenant_health_red_is_unhealthy_and_kubernetes_down_is_unknown() -> None:
    red = healthy_kube().tenant_info
    assert not isinstance(red, Exception) and red.status is not None
    red = red.model_copy(update={"status": red.status.model_copy(update={"health_status": "red"})})
    assert evaluate_kubernetes(healthy_kube(tenant_info=red))[0].status is Status.UNHEALTHY
    down = KubeError("unreachable", "Kubernetes API", "list pods: connection refused")
    everything_down = healthy_kube(**{f: down for f in ("tenant_info", "operator_pods", "pods", "statefulsets",
                                                         "pvcs", "events")})
    section, reasons = evaluate_kubernetes(everything_down)
    assert section.status is Status.UNKNOWN and section.error
    assert reasons[0].text.startswith("Kubernetes not checked: Kubernetes API unreachable")


def test_security_rules() -> None:
    expiring = healthy_kube(tls=TlsFacts(enabled=True, source="Tenant spec", certificates=[cert(5)]))
    section, reasons = evaluate_security(healthy_minio(), expiring, NOW)
    assert section.status is Status.DEGRADED and [r.text for r in reasons] == [
        "TLS certificate demo-tls expires in 5.0 d"]
    section, reasons = evaluate_security(healthy_minio(default_credentials=True), healthy_kube(), NOW)
    assert section.status is Status.UNHEALTHY and [r.text for r in reasons] == ["default root credentials in use"]
    # Posture notes a team may have chosen on purpose never change the verdict.
    public = healthy_minio(buckets=BucketExposure(total=2, checked=2, public=["web-assets"]))
    section, reasons = evaluate_security(public, None, NOW)
    assert section.status is Status.HEALTHY and reasons == []
    rows = [plain(r.text) for r in section.rows]
    assert any("web-assets" in r for r in rows) and any("TLS not enabled" in r for r in rows)


def test_backup_age_against_the_rpo() -> None:
    tenant = TenantConfig.model_validate(TENANT_DOC | {"backup": {"bucket": "backups", "prefix": "daily/",
                                                                  "rpo_hours": 24}})

    def freshness(hours: float | None) -> BackupFreshness:
        newest = NOW - timedelta(hours=hours) if hours is not None else None
        return BackupFreshness(bucket="backups", prefix="daily/", newest=newest, age=None, objects_seen=3,
                               truncated=False)

    assert evaluate_backup(None, TENANT, NOW)[0].status is Status.INFO
    assert evaluate_backup(freshness(3), tenant, NOW)[0].status is Status.HEALTHY
    section, reasons = evaluate_backup(freshness(30), tenant, NOW)
    assert section.status is Status.DEGRADED and reasons[0].text == "newest backup 30.0 h old (RPO 24 h)"
    assert evaluate_backup(freshness(None), tenant, NOW)[0].status is Status.DEGRADED


def test_a_section_that_could_not_be_checked_makes_the_tenant_degraded_and_says_which() -> None:
    timeout = MinioError("timeout", "canary", "no answer within 4.5 s")
    bucket_error = MinioError("auth", "MinIO node 1", "rejected")
    facts = TenantFacts(minio=healthy_minio(buckets=bucket_error, canary=timeout), kube=None, elapsed_s=1)
    verdict = evaluate(facts, TENANT, NOW)
    # The canary that timed out on every node is an answer (UNHEALTHY); the unreadable policies are UNKNOWN.
    assert verdict.status is Status.UNHEALTHY
    assert verdict.reasons[0] == "canary PUT/GET/DELETE failed on every node"
    assert any(r.startswith("bucket policies not checked") for r in verdict.reasons)
    only_unknown = TenantFacts(minio=healthy_minio(buckets=bucket_error), kube=None, elapsed_s=1)
    assert evaluate(only_unknown, TENANT, NOW).status is Status.DEGRADED


def test_when_no_node_answers_the_dependent_checks_do_not_repeat_the_reason() -> None:
    down = MinioError("unreachable", "MinIO cluster", "no node answered")
    minio = healthy_minio(
        liveness={n: probe(n, ok=False, kind="unreachable") for n in range(1, 5)},
        info=down, cluster_write=down, cluster_read=down, canary=down, buckets=down,
    )
    verdict = evaluate(TenantFacts(minio=minio, kube=healthy_kube(), elapsed_s=1), TENANT, NOW)
    assert verdict.status is Status.UNHEALTHY and verdict.reasons == ["no MinIO node answers"]
    storage = next(s for s in verdict.sections if s.title == "Storage integrity")
    assert storage.status is Status.UNKNOWN and plain(storage.error) == "no MinIO node answers"


# ---------------------------------------------------------------- keys that are missing, endpoints that are balanced

NO_KEYS = CredentialsUnavailable.for_tenant("demo", "environment variables A / B are not set")


def test_a_canary_that_could_not_be_sent_for_want_of_keys_is_not_checked_never_failed() -> None:
    canary = CanaryResult(bucket="probe", node=1, ok=False, error_kind=NO_KEYS.kind, error=str(NO_KEYS))
    section, reasons = evaluate_probe(canary, TENANT)
    assert section.status is Status.UNKNOWN
    assert [r.text for r in reasons] == ["no credentials configured/readable for tenant demo (environment variables "
                                         "A / B are not set)"]
    assert not any("failed" in plain(r.text) for r in section.rows)
    assert evaluate_probe(NO_KEYS, TENANT, minio_cause="no MinIO node answers")[0].status is Status.UNKNOWN


def test_missing_keys_are_said_as_they_are_not_hidden_behind_a_minio_outage() -> None:
    section, reasons = evaluate_security(healthy_minio(default_credentials=NO_KEYS), None, NOW,
                                         minio_cause="no MinIO node answers")
    assert section.status is Status.UNKNOWN and [r.text for r in reasons] == [str(NO_KEYS)]
    assert any(str(NO_KEYS) in plain(r.text) and "no MinIO node answers" not in plain(r.text) for r in section.rows)


def test_every_check_stopped_by_missing_keys_gives_one_reason() -> None:
    minio = healthy_minio(info=NO_KEYS, buckets=NO_KEYS, default_credentials=NO_KEYS,
                          canary=CanaryResult(bucket="probe", node=1, ok=False, error_kind="no_credentials",
                                              error=str(NO_KEYS)))
    verdict = evaluate(TenantFacts(minio=minio, kube=None, elapsed_s=0.1), TENANT, NOW)
    assert verdict.status is Status.DEGRADED and verdict.reasons == [str(NO_KEYS)]


def test_behind_a_load_balancer_no_node_is_judged_and_the_cluster_answer_decides() -> None:
    answered = LoadBalanced(cluster=ClusterHealth(ok=True, status=200, node=1, latency_ms=1.0))
    lb_nodes = [NodeRef(1, "minio.example:9000")]
    section, reasons = evaluate_minio_service(healthy_minio(nodes=lb_nodes, liveness=answered))
    rows = [plain(r.text) for r in section.rows]
    assert section.status is Status.HEALTHY and reasons == []
    assert "per-node verdicts unavailable: endpoints are load-balanced" in rows
    assert not any("node 1" in r for r in rows)
    gone = LoadBalanced(cluster=MinioError("unreachable", "MinIO node 1", "connection refused"))
    down = healthy_minio(nodes=lb_nodes, liveness=gone, info=MinioError("unreachable", "MinIO cluster", "no answer"))
    verdict = evaluate(TenantFacts(minio=down, kube=None, elapsed_s=0.1), TENANT, NOW)
    assert verdict.status is Status.UNHEALTHY and verdict.reasons == ["no MinIO node answers"]
