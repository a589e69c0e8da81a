"""KubeClient against a real kube-apiserver + etcd: parsing, patch semantics, and every error mapping."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from kubernetes import client

from bot.clients import KubeClient, KubeError, Timeouts
from sandbox.kube.controlplane import ControlPlane
from sandbox.kube.world import (
    TENANT_GROUP,
    TENANT_PLURAL,
    TENANT_VERSION,
    TenantWorld,
    crashloop_pod,
    set_pvc_pending,
)

pytestmark = pytest.mark.kube

FAST = Timeouts(connect=2.0, read=10.0)


@pytest.fixture
def kc(kube_api: client.ApiClient) -> KubeClient:
    """An admin KubeClient."""
    return KubeClient(kube_api, FAST)


# ---------------------------------------------------------------- reading the world


def test_given_a_healthy_tenant_it_reads_spec_status_and_pools(kc: KubeClient, tenant_world: TenantWorld) -> None:
    tenants = kc.list_tenants([tenant_world.namespace])
    assert [t.name for t in tenants] == ["demo"]
    tenant = kc.get_tenant(tenant_world.namespace, "demo")
    assert tenant.image == tenant_world.image
    assert tenant.resource_version
    assert [(p.name, p.servers, p.volumes_per_server) for p in tenant.pools] == [("pool-0", 4, 2)]
    assert tenant.pools[0].size_bytes == 2**40
    assert tenant.pools[0].storage_class == "standard"
    assert tenant.status is not None
    assert tenant.status.health_status == "green"
    assert tenant.status.drives_online == 8
    assert tenant.status.write_quorum == 5
    assert tenant.status.usage is not None and tenant.status.usage.raw_capacity == 8 * 2**40
    assert tenant.raw_spec["pools"][0]["name"] == "pool-0"
    # All namespaces includes it too.
    assert any(t.namespace == tenant_world.namespace for t in kc.list_tenants(None))


def test_pods_pvcs_statefulsets_are_listed_by_tenant_label(kc: KubeClient, tenant_world: TenantWorld) -> None:
    ns = tenant_world.namespace
    pods = kc.list_pods(ns, "demo")
    assert [p.name for p in pods] == tenant_world.pod_names()
    assert all(p.ready and p.phase == "Running" and p.pool == "pool-0" for p in pods)
    pvcs = kc.list_pvcs(ns, "demo")
    assert sorted(p.name for p in pvcs) == sorted(tenant_world.pvc_names())
    assert all(p.phase == "Bound" and p.capacity_bytes == 2**40 for p in pvcs)
    stses = kc.list_statefulsets(ns, "demo")
    assert [(s.name, s.replicas, s.ready, s.rolling) for s in stses] == [("demo-pool-0", 4, 4, False)]


def test_given_a_crashlooping_pod_and_a_pending_pvc_it_reports_reasons_and_warnings(
    kc: KubeClient, kube_api: client.ApiClient, tenant_world: TenantWorld
) -> None:
    ns = tenant_world.namespace
    crashloop_pod(kube_api, ns, "demo-pool-0-2")
    set_pvc_pending(kube_api, ns, "data0-demo-pool-0-3")
    pod = next(p for p in kc.list_pods(ns, "demo") if p.name == "demo-pool-0-2")
    assert (pod.ready, pod.restarts, pod.waiting_reason, pod.last_termination_reason) == (
        False,
        7,
        "CrashLoopBackOff",
        "OOMKilled",
    )
    pvc = next(p for p in kc.list_pvcs(ns, "demo") if p.name == "data0-demo-pool-0-3")
    assert pvc.phase == "Pending" and pvc.capacity_bytes is None and pvc.requested_bytes == 2**40
    warnings = kc.list_events(ns, warning_only=True, since=timedelta(minutes=10))
    # (The bare API server may add its own warnings, e.g. ClusterIPNotAllocated.)
    assert {e.reason for e in warnings} >= {"BackOff", "ProvisioningFailed"}
    assert all(e.type == "Warning" for e in warnings)
    backoff = next(e for e in warnings if e.reason == "BackOff")
    assert backoff.object == "Pod/demo-pool-0-2" and backoff.count == 7
    # Normal events are there when asked for.
    assert any(e.type == "Normal" for e in kc.list_events(ns, warning_only=False))
    assert sts_ready(kc, ns) == 3


def sts_ready(kc: KubeClient, ns: str) -> int:
    """Ready replicas of the tenant's only StatefulSet."""
    return kc.list_statefulsets(ns, "demo")[0].ready


def test_surroundings_network_policy_services_storage_classes_operator_cert(
    kc: KubeClient, tenant_world: TenantWorld
) -> None:
    ns = tenant_world.namespace
    [policy] = kc.list_network_policies(ns)
    assert policy.pod_selector == {"v1.min.io/tenant": "demo"} and policy.ingress_rules == 1
    assert {s.name for s in kc.list_services(ns)} == {"minio", "demo-console", "demo-hl"}
    classes = {s.name: s for s in kc.list_storage_classes()}
    assert classes["standard"].allow_volume_expansion and not classes["fixed"].allow_volume_expansion
    operator = kc.get_deployment("minio-operator", "minio-operator")
    assert operator.image == "quay.io/minio/operator:v7.1.1" and operator.ready == 1
    cert = kc.tls_certificate(ns, tenant_world.tls_secret)
    assert 89 < cert.days_left < 91
    assert f"minio.{ns}.svc" in cert.subject and f"minio.{ns}.svc" in cert.dns_names


def test_a_tenant_without_status_has_status_none(kc: KubeClient, kube_api: client.ApiClient, kube_ns: str) -> None:
    body = {
        "apiVersion": f"{TENANT_GROUP}/{TENANT_VERSION}",
        "kind": "Tenant",
        "metadata": {"name": "fresh", "namespace": kube_ns},
        "spec": {
            "image": "minio:x",
            "pools": [{"name": "p0", "servers": 4, "volumesPerServer": 1, "volumeClaimTemplate": {}}],
        },
    }
    client.CustomObjectsApi(kube_api).create_namespaced_custom_object(
        TENANT_GROUP, TENANT_VERSION, kube_ns, TENANT_PLURAL, body
    )
    tenant = kc.get_tenant(kube_ns, "fresh")
    assert tenant.status is None
    assert tenant.pools[0].size_bytes is None


def test_lists_are_paginated_beyond_the_page_size(kube_api: client.ApiClient, tenant_world: TenantWorld) -> None:
    small_pages = KubeClient(kube_api, FAST, page_size=3)
    ns = tenant_world.namespace
    assert len(small_pages.list_pods(ns, "demo")) == 4
    assert len(small_pages.list_pvcs(ns, "demo")) == 8
    # Proof that the server really paged: a limit-3 request returns a continue token.
    first = client.CoreV1Api(kube_api).list_namespaced_persistent_volume_claim(ns, limit=3)
    assert len(first.items) == 3 and first.metadata is not None and first.metadata._continue


# ---------------------------------------------------------------- patching


def test_merge_patch_dry_run_validates_but_does_not_persist(kc: KubeClient, tenant_world: TenantWorld) -> None:
    ns = tenant_world.namespace
    preview = kc.patch_tenant(ns, "demo", {"spec": {"image": "quay.io/minio/minio:NEW"}}, dry_run=True)
    assert preview.image == "quay.io/minio/minio:NEW"
    assert kc.get_tenant(ns, "demo").image == tenant_world.image
    applied = kc.patch_tenant(ns, "demo", {"spec": {"image": "quay.io/minio/minio:NEW"}})
    assert kc.get_tenant(ns, "demo").image == "quay.io/minio/minio:NEW" == applied.image


def test_json_patch_appends_a_pool(kc: KubeClient, tenant_world: TenantWorld) -> None:
    new_pool = {"name": "pool-1", "servers": 4, "volumesPerServer": 2, "volumeClaimTemplate": {}}
    tenant = kc.patch_tenant(
        tenant_world.namespace,
        "demo",
        [{"op": "add", "path": "/spec/pools/-", "value": new_pool}],
        json_patch=True,
        dry_run=True,
    )
    assert [p.name for p in tenant.pools] == ["pool-0", "pool-1"]


def test_patch_shape_must_match_the_patch_type(kc: KubeClient) -> None:
    with pytest.raises(KubeError) as err:
        kc.patch_tenant("ns", "t", {"spec": {}}, json_patch=True)
    assert err.value.kind == "invalid"


def test_changing_servers_of_an_existing_pool_is_invalid_with_the_cel_message(
    kc: KubeClient, tenant_world: TenantWorld
) -> None:
    tenant = kc.get_tenant(tenant_world.namespace, "demo")
    pools = [p for p in tenant.raw_spec["pools"]]
    pools[0] = {**pools[0], "servers": 8}
    with pytest.raises(KubeError) as err:
        kc.patch_tenant(tenant_world.namespace, "demo", {"spec": {"pools": pools}}, dry_run=True)
    assert err.value.kind == "invalid" and err.value.status == 422
    assert "servers is immutable" in str(err.value)


def test_a_stale_resource_version_is_a_conflict(kc: KubeClient, tenant_world: TenantWorld) -> None:
    ns = tenant_world.namespace
    seen = kc.get_tenant(ns, "demo")
    kc.patch_tenant(ns, "demo", {"metadata": {"annotations": {"touched": "yes"}}})
    with pytest.raises(KubeError) as err:
        kc.patch_tenant(ns, "demo", {"spec": {"image": "x:y"}}, resource_version=seen.resource_version)
    assert err.value.kind == "conflict" and err.value.status == 409
    # The current version goes through.
    fresh = kc.get_tenant(ns, "demo")
    assert kc.patch_tenant(ns, "demo", {"spec": {"image": "x:y"}}, resource_version=fresh.resource_version).image


def test_patch_pvc_deployment_and_delete_pod_dry_run(kc: KubeClient, tenant_world: TenantWorld) -> None:
    ns = tenant_world.namespace
    pvc = kc.patch_pvc(
        ns, "data0-demo-pool-0-0", {"spec": {"resources": {"requests": {"storage": "2Ti"}}}}, dry_run=True
    )
    assert pvc.requested_bytes == 2 * 2**40
    dep = kc.patch_deployment("minio-operator", "minio-operator", {"metadata": {"labels": {"x": "y"}}}, dry_run=True)
    assert dep.name == "minio-operator"
    kc.delete_pod(ns, "demo-pool-0-1", dry_run=True)
    assert any(p.name == "demo-pool-0-1" for p in kc.list_pods(ns, "demo"))


# ---------------------------------------------------------------- errors


def test_a_missing_tenant_is_not_found(kc: KubeClient, kube_ns: str) -> None:
    with pytest.raises(KubeError) as err:
        kc.get_tenant(kube_ns, "nope")
    assert err.value.kind == "not_found" and "nope" in str(err.value)


def test_a_bad_token_is_an_auth_error_without_the_token(kube: ControlPlane) -> None:
    token = "definitely-not-a-valid-token-123456"
    with kube.api_client(token=token) as api:
        with pytest.raises(KubeError) as err:
            KubeClient(api, FAST).list_tenants(None)
    assert err.value.kind == "auth" and err.value.status == 401
    assert token not in str(err.value) and token not in repr(err.value)


def test_a_restricted_service_account_is_forbidden_and_told_what(
    kube: ControlPlane, kube_api: client.ApiClient, kube_ns: str
) -> None:
    client.CoreV1Api(kube_api).create_namespaced_service_account(
        kube_ns, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="viewer"))
    )
    token = kube.mint_token(kube_ns, "viewer")
    with kube.api_client(token=token) as api:
        with pytest.raises(KubeError) as err:
            KubeClient(api, FAST).list_pods(kube_ns, "demo")
    assert err.value.kind == "forbidden" and err.value.status == 403
    message = str(err.value)
    assert "cannot list" in message and '"pods"' in message
    assert token not in message


def test_a_closed_port_is_unreachable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = client.Configuration(host=f"https://127.0.0.1:{port}")
    with client.ApiClient(conf) as api:
        start = time.monotonic()
        with pytest.raises(KubeError) as err:
            KubeClient(api, Timeouts(connect=1, read=1)).list_tenants(None)
    assert err.value.kind == "unreachable" and "connection refused" in str(err.value)
    assert time.monotonic() - start < 2  # no blind retries


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never answers (a hung API server)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_a_hung_api_server_times_out_once(silent_server: int) -> None:
    conf = client.Configuration(host=f"http://127.0.0.1:{silent_server}")
    with client.ApiClient(conf) as api:
        start = time.monotonic()
        with pytest.raises(KubeError) as err:
            KubeClient(api, Timeouts(connect=0.5, read=0.5)).get_tenant("ns", "t")
    elapsed = time.monotonic() - start
    assert err.value.kind == "timeout"
    assert elapsed < 1.5, f"took {elapsed:.2f} s: retried?"


def test_pod_logs_without_a_kubelet_are_unavailable_not_a_crash(
    kc: KubeClient, kube_api: client.ApiClient, tenant_world: TenantWorld
) -> None:
    ns = tenant_world.namespace
    # An unscheduled pod: the API server answers 204 with no stream.
    with pytest.raises(KubeError) as unscheduled:
        kc.pod_logs(ns, "demo-pool-0-0", tail_lines=20)
    assert unscheduled.value.kind == "unavailable"
    assert str(unscheduled.value).startswith("Kubernetes API unavailable: pod logs unavailable:")
    # A pod bound to a node: the API server must reach that node's kubelet, and cannot.
    client.CoreV1Api(kube_api).create_namespaced_pod(
        ns,
        client.V1Pod(
            metadata=client.V1ObjectMeta(name="on-node"),
            spec=client.V1PodSpec(node_name="node-1", containers=[client.V1Container(name="minio", image="minio:x")]),
        ),
    )
    with pytest.raises(KubeError) as no_kubelet:
        kc.pod_logs(ns, "on-node")
    assert no_kubelet.value.kind == "unavailable" and "pod logs unavailable" in str(no_kubelet.value)
    with pytest.raises(KubeError) as missing:
        kc.pod_logs(ns, "no-such-pod")
    assert missing.value.kind == "not_found"


def test_without_metrics_server_the_metrics_api_is_not_available(kc: KubeClient, tenant_world: TenantWorld) -> None:
    with pytest.raises(KubeError) as err:
        kc.pod_metrics(tenant_world.namespace, "demo")
    assert err.value.kind == "unavailable" and "metrics API not available" in str(err.value)


def test_repr_shows_the_host_only(kc: KubeClient, kube_api: client.ApiClient) -> None:
    token = str(kube_api.configuration.api_key["BearerToken"])
    assert token not in repr(kc) and token not in str(kc)
    assert "127.0.0.1" in repr(kc)


def test_from_kubeconfig(kube: ControlPlane, tmp_path: Path) -> None:
    path = kube.write_kubeconfig(tmp_path / "config")
    kc = KubeClient.from_kubeconfig(str(path), "sandbox")
    assert isinstance(kc.list_storage_classes(), list)
    with pytest.raises(KubeError) as err:
        KubeClient.from_kubeconfig(str(tmp_path / "missing"), None)
    assert err.value.kind == "invalid"
