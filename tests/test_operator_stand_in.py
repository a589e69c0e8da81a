"""The operator stand-in reconciles Tenants on the real test API server the way the MinIO Operator does.

Given the demo tenant (pool-0: 4 servers x 2 drives): the API server accepts a
pool of 2 x 1 drives, as the operator's CRD does, and the controller's error
lands in ``status.currentState`` where the bot's client recognises it; a valid
new pool gets its StatefulSet, PVCs and Ready pods; an image change rolls pool
by pool; a Tenant at rest is not rewritten.
"""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from bot.clients.kube import KubeClient
from bot.clients.kube_models import TenantInfo, operator_error
from bot.clients.timeouts import Timeouts
from sandbox.kube.operator import (
    INITIALIZED,
    UPDATING_MINIO_VERSION,
    OperatorStandIn,
    RolledPod,
    validate_tenant,
)
from sandbox.kube.world import (
    TENANT_GROUP,
    TENANT_PLURAL,
    TENANT_VERSION,
    PoolSpec,
    TenantWorld,
)
from sandbox.launcher import simulator_node

NEW_IMAGE = "quay.io/minio/minio:RELEASE.2025-10-15T17-29-55Z"
JSON_PATCH = "application/json-patch+json"


@pytest.fixture
def kc(kube_api: client.ApiClient) -> KubeClient:
    """The bot's Kubernetes client, as admin."""
    return KubeClient(kube_api, Timeouts(connect=2.0, read=10.0))


def _tenant(api: client.ApiClient, ns: str, name: str = "demo") -> dict[str, Any]:
    objects: Any = client.CustomObjectsApi(api)
    found: dict[str, Any] = objects.get_namespaced_custom_object(TENANT_GROUP, TENANT_VERSION, ns, TENANT_PLURAL, name)
    return found


def _patch(api: client.ApiClient, ns: str, ops: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    objects: Any = client.CustomObjectsApi(api)
    result: dict[str, Any] = objects.patch_namespaced_custom_object(
        TENANT_GROUP, TENANT_VERSION, ns, TENANT_PLURAL, "demo", ops, _content_type=JSON_PATCH, **kw
    )
    return result


def _add_pool(pool: PoolSpec) -> list[dict[str, Any]]:
    return [{"op": "add", "path": "/spec/pools/-", "value": pool.tenant_pool()}]


def _state(api: client.ApiClient, ns: str) -> str | None:
    return (_tenant(api, ns).get("status") or {}).get("currentState")


def _pods(api: client.ApiClient, ns: str, pool: str) -> list[Any]:
    items = client.CoreV1Api(api).list_namespaced_pod(ns, label_selector=f"v1.min.io/pool={pool}").items
    return sorted(items, key=lambda p: p.metadata.name)


def _images(api: client.ApiClient, ns: str, pool: str) -> set[str]:
    return {p.spec.containers[0].image for p in _pods(api, ns, pool)}


# ----------------------------------------------------------------------------- the controller's own checks


@pytest.mark.parametrize(
    ("servers", "volumes", "error"),
    [
        (2, 1, "pool #1 with 2 servers must have at least 4 volumes in total"),
        (3, 1, "pool #1 with 3 servers must have at least 6 volumes in total"),
        (0, 4, "pool #1 cannot have 0 servers"),
        (4, 0, "pool #1 cannot have 0 volumes per server"),
        (1, 2, None),  # a single server may have fewer drives: the operator accepts it
        (2, 2, None),
    ],
)
def test_the_controller_validation_names_the_pool_by_its_index(servers: int, volumes: int, error: str | None) -> None:
    spec = {
        "configuration": {"name": "demo-env-configuration"},
        "pools": [PoolSpec("pool-0").tenant_pool(), PoolSpec("pool-1", servers, volumes).tenant_pool()],
    }
    assert validate_tenant(spec) == error


def test_a_tenant_without_its_configuration_secret_is_not_rolled_out() -> None:
    spec = {"pools": [PoolSpec("pool-0").tenant_pool()]}
    assert validate_tenant(spec) == "please set 'configuration' secret with credentials for Tenant"


# ----------------------------------------------------------------------------- against the API server


@pytest.mark.kube
def test_a_2x1_pool_is_accepted_by_the_api_server_and_rejected_by_the_operator_into_current_state(
    kube_api: client.ApiClient, tenant_world: TenantWorld, operator_stand_in: OperatorStandIn, kc: KubeClient
) -> None:
    ns = tenant_world.namespace
    tiny = PoolSpec("pool-1", servers=2, volumes_per_server=1)

    preview = _patch(kube_api, ns, _add_pool(tiny), dry_run="All")
    assert [p["name"] for p in preview["spec"]["pools"]] == ["pool-0", "pool-1"], "the dry run passes"
    assert [p["name"] for p in _tenant(kube_api, ns)["spec"]["pools"]] == ["pool-0"], "and persists nothing"

    _patch(kube_api, ns, _add_pool(tiny))
    error = "pool #1 with 2 servers must have at least 4 volumes in total"
    assert operator_stand_in.wait_for(lambda: _state(kube_api, ns) == error), _tenant(kube_api, ns).get("status")

    status = _tenant(kube_api, ns)["status"]
    assert status["availableReplicas"] == 0
    assert [p["ssName"] for p in status["pools"]] == ["demo-pool-0"], "the rejected pool never enters the status"
    assert not _pods(kube_api, ns, "pool-1")
    names = [s.metadata.name for s in client.AppsV1Api(kube_api).list_namespaced_stateful_set(ns).items]
    assert names == ["demo-pool-0"]

    info = kc.get_tenant(ns, "demo")
    assert info.current_state == error
    assert operator_error(info) == error


@pytest.mark.kube
def test_a_valid_new_pool_gets_its_statefulset_claims_and_ready_pods(
    kube_api: client.ApiClient, tenant_world: TenantWorld, operator_stand_in: OperatorStandIn, kc: KubeClient
) -> None:
    ns = tenant_world.namespace
    _patch(kube_api, ns, _add_pool(PoolSpec("pool-1", servers=4, volumes_per_server=4, size="2Ti")))

    def initialised() -> bool:
        status = _tenant(kube_api, ns).get("status") or {}
        pools = [(p["ssName"], p["state"]) for p in status.get("pools") or []]
        return status.get("currentState") == INITIALIZED and pools == [
            ("demo-pool-0", "PoolInitialized"), ("demo-pool-1", "PoolInitialized")]

    assert operator_stand_in.wait_for(initialised), _tenant(kube_api, ns).get("status")
    status = _tenant(kube_api, ns)["status"]
    assert status["availableReplicas"] == 8 and status["drivesOnline"] == 4 * 2 + 4 * 4
    assert status["healthStatus"] == "green"

    sts = client.AppsV1Api(kube_api).read_namespaced_stateful_set("demo-pool-1", ns)
    assert sts.spec.replicas == 4 and sts.status.ready_replicas == 4
    owner = sts.metadata.owner_references[0]
    assert (owner.kind, owner.name, owner.controller) == ("Tenant", "demo", True)
    pods = _pods(kube_api, ns, "pool-1")
    assert [p.metadata.name for p in pods] == [f"demo-pool-1-{i}" for i in range(4)]
    assert all(p.metadata.labels["v1.min.io/tenant"] == "demo" for p in pods)
    assert all(c.type != "Ready" or c.status == "True" for p in pods for c in p.status.conditions)
    claims = client.CoreV1Api(kube_api).list_namespaced_persistent_volume_claim(
        ns, label_selector="v1.min.io/pool=pool-1").items
    assert len(claims) == 16 and {c.status.phase for c in claims} == {"Bound"}
    reasons = {(e.reason, e.message) for e in client.CoreV1Api(kube_api).list_namespaced_event(ns).items}
    assert ("PoolCreated", "Tenant pool pool-1 created") in reasons
    assert operator_error(kc.get_tenant(ns, "demo")) is None


@pytest.mark.kube
def test_an_image_change_rolls_pool_by_pool_then_the_tenant_is_initialized_again(
    kube_api: client.ApiClient, kube_ns: str
) -> None:
    world = TenantWorld(namespace=kube_ns, pools=[PoolSpec("pool-0"), PoolSpec("pool-1")]).apply(kube_api)
    rolled: list[RolledPod] = []
    stand_in = OperatorStandIn(kube_api, namespaces=[kube_ns], on_pod_rolled=rolled.append)
    stand_in.reconcile_all()
    assert _state(kube_api, kube_ns) == INITIALIZED and not rolled, "a healthy tenant is left as it is"

    _patch(kube_api, kube_ns, [{"op": "replace", "path": "/spec/image", "value": NEW_IMAGE}])
    stand_in.reconcile_all()
    assert _state(kube_api, kube_ns) == UPDATING_MINIO_VERSION
    assert _images(kube_api, kube_ns, "pool-0") == {NEW_IMAGE}
    assert _images(kube_api, kube_ns, "pool-1") == {world.image}, "one pool at a time"

    stand_in.reconcile_all()
    assert _state(kube_api, kube_ns) == UPDATING_MINIO_VERSION
    assert _images(kube_api, kube_ns, "pool-1") == {NEW_IMAGE}

    stand_in.reconcile_all()
    assert _state(kube_api, kube_ns) == INITIALIZED
    assert [(r.pool, r.ordinal) for r in rolled] == [("pool-0", i) for i in (3, 2, 1, 0)] + [
        ("pool-1", i) for i in (3, 2, 1, 0)]
    for pool in ("pool-0", "pool-1"):
        sts = client.AppsV1Api(kube_api).read_namespaced_stateful_set(f"demo-{pool}", kube_ns)
        assert sts.spec.template.spec.containers[0].image == NEW_IMAGE
        assert sts.status.current_revision == sts.status.update_revision
    assert not stand_in.errors, stand_in.errors


@pytest.mark.kube
def test_a_tenant_at_rest_is_not_rewritten_and_a_removed_pool_loses_its_statefulset(
    kube_api: client.ApiClient, kube_ns: str
) -> None:
    TenantWorld(namespace=kube_ns, pools=[PoolSpec("pool-0"), PoolSpec("pool-1")]).apply(kube_api)
    stand_in = OperatorStandIn(kube_api, namespaces=[kube_ns])
    before = _tenant(kube_api, kube_ns)["metadata"]["resourceVersion"]
    stand_in.reconcile_all()
    stand_in.reconcile_all()
    assert _tenant(kube_api, kube_ns)["metadata"]["resourceVersion"] == before, "no write while nothing changes"

    _patch(kube_api, kube_ns, [{"op": "remove", "path": "/spec/pools/1"}])
    for _ in range(3):
        stand_in.reconcile_all()
    status = _tenant(kube_api, kube_ns)["status"]
    assert status["currentState"] == INITIALIZED and [p["ssName"] for p in status["pools"]] == ["demo-pool-0"]
    names = [s.metadata.name for s in client.AppsV1Api(kube_api).list_namespaced_stateful_set(kube_ns).items]
    assert names == ["demo-pool-0"] and not _pods(kube_api, kube_ns, "pool-1")
    assert not stand_in.errors, stand_in.errors


# ----------------------------------------------------------------------------- the bot's reading of the state


@pytest.mark.parametrize(
    ("state", "error"),
    [
        ("Initialized", False),
        ("Provisioning MinIO Statefulset", False),
        ("Updating MinIO Version", False),
        ("Restarting MinIO", False),
        ("Waiting for Tenant to be healthy", False),
        ("Different versions across MinIO Pools", False),
        ("", False),
        ("pool #1 with 2 servers must have at least 4 volumes in total", True),
        ("pool #0 setup must have a minimum of 4 volumes per server", True),
        ("Can't modify server count for pool pool-0", True),
        ("Another MinIO Tenant already exists in the namespace", True),
        ("Tenant credentials are not set properly", True),
        ("Unable to get canonical update URL for Tenant 'demo', failed with boom", True),
    ],
)
def test_operator_error_recognises_the_controllers_error_states_only(state: str, error: bool) -> None:
    info = TenantInfo.from_api({"metadata": {"name": "demo", "namespace": "ns"}, "status": {"currentState": state}})
    assert operator_error(info) == (state if error else None)


def test_a_tenant_the_operator_never_wrote_has_no_state_and_no_error() -> None:
    info = TenantInfo.from_api({"metadata": {"name": "demo", "namespace": "ns"}, "spec": {}})
    assert info.current_state is None and operator_error(info) is None


def test_the_sandbox_moves_the_simulator_node_playing_each_rolled_pod() -> None:
    world = TenantWorld(pools=[PoolSpec("pool-0", servers=4), PoolSpec("pool-1", servers=2)])
    assert [simulator_node(world, "pool-0", i) for i in range(4)] == [1, 2, 3, 4]
    assert [simulator_node(world, "pool-1", i) for i in range(2)] == [5, 6]
    assert simulator_node(world, "pool-1", 2) is None and simulator_node(world, "pool-9", 0) is None
