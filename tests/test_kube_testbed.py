"""The test control plane behaves like a real cluster where the bot depends on it."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from sandbox.kube.__main__ import main as kube_cli
from sandbox.kube.controlplane import ControlPlane
from sandbox.kube.world import (
    PoolSpec,
    TenantWorld,
    crashloop_pod,
    remove_network_policy,
    set_cert_expiry,
    set_pvc_pending,
    set_tenant_status,
)

pytestmark = pytest.mark.kube

GROUP, VERSION, PLURAL = "minio.min.io", "v2", "tenants"
MERGE = "application/merge-patch+json"


def _tenants(api: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api)


def _patch_tenant(api: client.ApiClient, world: TenantWorld, body: Any, content_type: str, **kw: Any) -> Any:
    return _tenants(api).patch_namespaced_custom_object(
        GROUP, VERSION, world.namespace, PLURAL, world.name, body, _content_type=content_type, **kw
    )


def _error(exc: pytest.ExceptionInfo[ApiException]) -> str:
    return str(json.loads(exc.value.body or "{}").get("message", ""))


def test_server_and_cli_report_v1_35(kube: ControlPlane, capsys: pytest.CaptureFixture[str]) -> None:
    assert kube.version().startswith("v1.35.")
    assert kube_cli(["--version"]) == 0
    assert capsys.readouterr().out.strip().startswith("Kubernetes v1.35.")


def test_resizing_an_existing_pool_is_rejected_but_adding_a_pool_is_accepted(
    kube_api: client.ApiClient, tenant_world: TenantWorld
) -> None:
    grown = PoolSpec("pool-0", servers=8).tenant_pool()
    with pytest.raises(ApiException) as exc:
        _patch_tenant(kube_api, tenant_world, {"spec": {"pools": [grown]}}, MERGE)
    assert exc.value.status == 422
    assert "servers is immutable" in _error(exc)

    more_drives = PoolSpec("pool-0", volumes_per_server=4).tenant_pool()
    with pytest.raises(ApiException) as exc:
        _patch_tenant(kube_api, tenant_world, {"spec": {"pools": [more_drives]}}, MERGE)
    assert exc.value.status == 422
    assert "volumesPerServer is immutable" in _error(exc)

    new_pool = PoolSpec("pool-1", servers=4, volumes_per_server=4).tenant_pool()
    add = [{"op": "add", "path": "/spec/pools/-", "value": new_pool}]
    tenant = _patch_tenant(kube_api, tenant_world, add, "application/json-patch+json")
    assert [p["name"] for p in tenant["spec"]["pools"]] == ["pool-0", "pool-1"]


def test_the_api_server_accepts_a_pool_with_fewer_than_four_drives_as_the_operators_crd_does(
    kube_api: client.ApiClient, kube_ns: str
) -> None:
    # The drive count is the operator controller's check, made after the write
    # (it sets the error into status.currentState); the CRD has no such rule.
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Tenant",
        "metadata": {"name": "tiny"},
        "spec": {"pools": [PoolSpec("pool-0", servers=2, volumes_per_server=1).tenant_pool()]},
    }
    created = _tenants(kube_api).create_namespaced_custom_object(GROUP, VERSION, kube_ns, PLURAL, body)
    assert [(p["servers"], p["volumesPerServer"]) for p in created["spec"]["pools"]] == [(2, 1)]
    assert "status" not in created or not created["status"], "nothing has reconciled it yet"


def test_tenant_takes_merge_patch_but_not_strategic_merge_patch(
    kube_api: client.ApiClient, tenant_world: TenantWorld
) -> None:
    image = "quay.io/minio/minio:RELEASE.2025-10-15T17-29-55Z"
    tenant = _patch_tenant(kube_api, tenant_world, {"spec": {"image": image}}, MERGE)
    assert tenant["spec"]["image"] == image

    with pytest.raises(ApiException) as exc:
        _patch_tenant(kube_api, tenant_world, {"spec": {"image": "x"}}, "application/strategic-merge-patch+json")
    assert exc.value.status == 415


def test_server_side_dry_run_does_not_persist(kube_api: client.ApiClient, tenant_world: TenantWorld) -> None:
    image = "quay.io/minio/minio:RELEASE.2025-10-15T17-29-55Z"
    preview = _patch_tenant(kube_api, tenant_world, {"spec": {"image": image}}, MERGE, dry_run="All")
    assert preview["spec"]["image"] == image
    stored = _tenants(kube_api).get_namespaced_custom_object(
        GROUP, VERSION, tenant_world.namespace, PLURAL, tenant_world.name
    )
    assert stored["spec"]["image"] == tenant_world.image


def test_restricted_service_account_can_read_pods_but_not_secrets(
    kube: ControlPlane, kube_api: client.ApiClient, tenant_world: TenantWorld
) -> None:
    ns = tenant_world.namespace
    core, rbac = client.CoreV1Api(kube_api), client.RbacAuthorizationV1Api(kube_api)
    core.create_namespaced_service_account(ns, {"metadata": {"name": "pod-reader"}})
    rbac.create_namespaced_role(
        ns,
        {"metadata": {"name": "pod-reader"}, "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]},
    )
    rbac.create_namespaced_role_binding(
        ns,
        {
            "metadata": {"name": "pod-reader"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "pod-reader", "namespace": ns}],
        },
    )
    token = kube.mint_token(ns, "pod-reader", expiration_seconds=600)

    with kube.api_client(token) as restricted:
        as_reader = client.CoreV1Api(restricted)
        with pytest.raises(ApiException) as exc:
            as_reader.list_namespaced_secret(ns)
        assert exc.value.status == 403
        pod = as_reader.read_namespaced_pod(tenant_world.pod_names()[0], ns)
        assert pod.metadata.labels["v1.min.io/tenant"] == tenant_world.name


def test_world_has_ready_pods_bound_pvcs_and_a_green_tenant(
    kube_api: client.ApiClient, tenant_world: TenantWorld
) -> None:
    ns, core = tenant_world.namespace, client.CoreV1Api(kube_api)
    pods = core.list_namespaced_pod(ns, label_selector="v1.min.io/tenant=demo,v1.min.io/pool=pool-0").items
    assert sorted(p.metadata.name for p in pods) == [f"demo-pool-0-{i}" for i in range(4)]
    for pod in pods:
        assert pod.status.phase == "Running"
        assert {c.type: c.status for c in pod.status.conditions}["Ready"] == "True"
        assert pod.status.container_statuses[0].restart_count == 0

    pvcs = core.list_namespaced_persistent_volume_claim(ns).items
    assert sorted(p.metadata.name for p in pvcs) == sorted(tenant_world.pvc_names())
    assert len(pvcs) == 8
    assert {(p.status.phase, p.status.capacity["storage"]) for p in pvcs} == {("Bound", "1Ti")}

    sts = client.AppsV1Api(kube_api).read_namespaced_stateful_set("demo-pool-0", ns)
    assert (sts.spec.replicas, sts.status.ready_replicas) == (4, 4)

    status = _tenants(kube_api).get_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "demo")["status"]
    assert status["currentState"] == "Initialized"
    assert status["healthStatus"] == "green"
    # 4 servers x 2 drives: one set of 8, EC:4, data == parity so quorum is 5.
    assert (status["drivesOnline"], status["writeQuorum"]) == (8, 5)
    assert status["usage"]["rawCapacity"] == 8 * 2**40


def test_crashlooping_pod_shows_backoff_oomkilled_and_unready_statefulset(
    kube_api: client.ApiClient, tenant_world: TenantWorld
) -> None:
    ns, core = tenant_world.namespace, client.CoreV1Api(kube_api)
    crashloop_pod(kube_api, ns, "demo-pool-0-2", restarts=7)

    pod = core.read_namespaced_pod("demo-pool-0-2", ns)
    container = pod.status.container_statuses[0]
    assert container.state.waiting.reason == "CrashLoopBackOff"
    assert container.last_state.terminated.reason == "OOMKilled"
    assert container.restart_count == 7
    assert {c.type: c.status for c in pod.status.conditions}["Ready"] == "False"

    sts = client.AppsV1Api(kube_api).read_namespaced_stateful_set("demo-pool-0", ns)
    assert sts.status.ready_replicas == 3
    events = core.list_namespaced_event(ns, field_selector="involvedObject.name=demo-pool-0-2").items
    assert [(e.type, e.reason) for e in events] == [("Warning", "BackOff")]


def _not_after(api: client.ApiClient, world: TenantWorld) -> dt.datetime:
    secret = client.CoreV1Api(api).read_namespaced_secret(world.tls_secret, world.namespace)
    assert secret.type == "kubernetes.io/tls"
    return x509.load_pem_x509_certificate(base64.b64decode(secret.data["tls.crt"])).not_valid_after_utc


def test_tls_secret_holds_a_real_certificate_with_the_chosen_expiry(
    kube_api: client.ApiClient, tenant_world: TenantWorld
) -> None:
    now = dt.datetime.now(dt.UTC)
    assert abs(_not_after(kube_api, tenant_world) - (now + dt.timedelta(days=90))) < dt.timedelta(minutes=5)
    set_cert_expiry(kube_api, tenant_world.namespace, tenant_world.tls_secret, days=5)
    assert abs(_not_after(kube_api, tenant_world) - (now + dt.timedelta(days=5))) < dt.timedelta(minutes=5)


def test_mutators_degrade_the_world(kube_api: client.ApiClient, tenant_world: TenantWorld) -> None:
    ns, core = tenant_world.namespace, client.CoreV1Api(kube_api)
    pvc = tenant_world.pvc_names()[0]
    set_pvc_pending(kube_api, ns, pvc)
    claim = core.read_namespaced_persistent_volume_claim(pvc, ns)
    assert (claim.status.phase, claim.status.capacity) == ("Pending", None)

    remove_network_policy(kube_api, ns, tenant_world.network_policy)
    assert client.NetworkingV1Api(kube_api).list_namespaced_network_policy(ns).items == []

    tenant = set_tenant_status(kube_api, ns, "demo", healthStatus="red", drivesOffline=2, drivesOnline=6)
    assert tenant["status"]["healthStatus"] == "red"
    assert tenant["status"]["writeQuorum"] == 5  # untouched fields survive the merge


def test_stale_update_conflicts(kube_api: client.ApiClient, tenant_world: TenantWorld) -> None:
    api = _tenants(kube_api)
    args = (GROUP, VERSION, tenant_world.namespace, PLURAL, tenant_world.name)
    stale = api.get_namespaced_custom_object(*args)
    fresh = api.get_namespaced_custom_object(*args)
    fresh["spec"]["pools"][0]["annotations"] = {"restartedAt": "now"}
    api.replace_namespaced_custom_object(*args, fresh)

    stale["spec"]["image"] = "quay.io/minio/minio:RELEASE.2025-10-15T17-29-55Z"
    with pytest.raises(ApiException) as exc:
        api.replace_namespaced_custom_object(*args, stale)
    assert exc.value.status == 409


def test_deleting_a_namespace_leaves_nothing_behind(kube: ControlPlane, kube_api: client.ApiClient) -> None:
    world = TenantWorld(namespace="doomed", name="gone").apply(kube_api)
    kube.delete_namespace(world.namespace)
    core = client.CoreV1Api(kube_api)
    assert [p for p in core.list_pod_for_all_namespaces().items if p.metadata.namespace == "doomed"] == []
    pvcs = core.list_persistent_volume_claim_for_all_namespaces().items
    assert [p for p in pvcs if p.metadata.namespace == "doomed"] == []
    tenants = _tenants(kube_api).list_cluster_custom_object(GROUP, VERSION, PLURAL)["items"]
    assert [t for t in tenants if t["metadata"]["namespace"] == "doomed"] == []
    with pytest.raises(ApiException) as exc:
        core.read_namespace("doomed")
    assert exc.value.status == 404


def test_cli_up_serves_a_cluster_until_sigterm(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox.kube", "up", "--kubeconfig", str(kubeconfig)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        line = json.loads(proc.stdout.readline())
        assert line["kubeconfig"] == str(kubeconfig)
        with config.new_client_from_config(str(kubeconfig)) as api:
            crd = client.ApiextensionsV1Api(api).read_custom_resource_definition("tenants.minio.min.io")
            assert crd.spec.names.kind == "Tenant"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
