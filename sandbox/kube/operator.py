"""A stand-in for the MinIO Operator's Tenant controller, reconciling Tenants on the test API server.

The real operator is AGPL and needs a kubelet; this is the project's own small
reconcile loop, written from the operator's public facts (status field names,
state strings, validation messages: see ``OPERATOR.md`` beside this file). It
plays the operator and, because nothing else runs here, also the StatefulSet
controller, the volume binder and the kubelet: it writes pod status itself.

For each Tenant, one pass of :meth:`OperatorStandIn.reconcile`:

1. validates the spec as the controller does *after* the write; an invalid
   Tenant gets the error text in ``status.currentState`` (availableReplicas 0)
   and nothing is rolled out until the spec changes;
2. drops pools that left the spec (their StatefulSet and pods), as after a decommission;
3. creates a missing pool: StatefulSet ``<tenant>-<pool>``, Bound PVCs, Ready
   pods labelled ``v1.min.io/tenant`` / ``v1.min.io/pool`` (``PoolCreated``),
   and on the next pass marks it ``PoolInitialized`` (``Restarting MinIO`` in
   between when older pools exist, as the operator restarts them);
4. rolls a ``spec.image`` change one pool per pass (``Updating MinIO Version``);
5. writes the health fields from the pods and ends at ``Initialized``.

Status is written only when it changes, so a resting Tenant keeps its
resourceVersion. Start it as a thread (:meth:`start` / :meth:`stop`) or drive
it pass by pass (:meth:`reconcile_all`) in tests.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.utils import parse_quantity

from sandbox.kube.world import (
    EXPANDABLE_STORAGE_CLASS,
    TENANT_GROUP,
    TENANT_PLURAL,
    TENANT_VERSION,
    PoolSpec,
    add_event,
    pool_revision,
    write_pool,
    write_pool_pod,
    write_quorum,
)

log = logging.getLogger("minio_chatops.sandbox.operator")

# The controller's Tenant.status.currentState values (its public constants).
INITIALIZED = "Initialized"
PROVISIONING_CLUSTER_IP_SERVICE = "Provisioning MinIO Cluster IP Service"
PROVISIONING_HEADLESS_SERVICE = "Provisioning MinIO Headless Service"
PROVISIONING_STATEFULSET = "Provisioning MinIO Statefulset"
UPDATING_MINIO_VERSION = "Updating MinIO Version"
RESTARTING_MINIO = "Restarting MinIO"
WAITING_FOR_HEALTHY = "Waiting for Tenant to be healthy"
INCONSISTENT_VERSIONS = "Different versions across MinIO Pools"
NOT_OWNED = "Statefulset not controlled by operator"
ALREADY_EXISTS = "Another MinIO Tenant already exists in the namespace"

# Tenant.status.pools[].state
POOL_NOT_CREATED = "PoolNotCreated"
POOL_CREATED = "PoolCreated"
POOL_INITIALIZED = "PoolInitialized"

# Tenant.status.healthStatus / healthMessage
GREEN, YELLOW, RED = "green", "yellow", "red"
REDUCED_AVAILABILITY = "Reduced Availability"
SERVICE_UNAVAILABLE = "Service Unavailable"

REQUEST_TIMEOUT_S = 10.0
_MERGE = "application/merge-patch+json"
_JSON_PATCH = "application/json-patch+json"


def validate_tenant(spec: dict[str, Any]) -> str | None:
    """The controller's post-write validation of a Tenant spec: its error text, or None when it may be rolled out.

    Same checks, order and wording as the operator's (pools, configuration
    Secret, then each pool by its index in ``spec.pools``).
    """
    pools = spec.get("pools")
    if pools is None:
        return "pools must be configured"
    if not (spec.get("configuration") or {}).get("name"):
        return "please set 'configuration' secret with credentials for Tenant"
    for index, pool in enumerate(pools):
        problem = validate_pool(index, pool)
        if problem:
            return problem
    return None


def validate_pool(index: int, pool: dict[str, Any]) -> str | None:
    """One pool's check (``index`` is its 0-based position in ``spec.pools``)."""
    servers = int(pool.get("servers") or 0)
    volumes = int(pool.get("volumesPerServer") or 0)
    if servers <= 0:
        return f"pool #{index} cannot have 0 servers"
    if volumes <= 0:
        return f"pool #{index} cannot have 0 volumes per server"
    # A single server may run with fewer than 4 drives; 2 or 3 servers may not.
    if servers * volumes < 4 and servers in (2, 3):
        return f"pool #{index} with {servers} servers must have at least {2 * servers} volumes in total"
    template = pool.get("volumeClaimTemplate")
    if template is None:
        return "a volume claim template must be specified"
    claim = template.get("spec") or {}
    requests = (claim.get("resources") or {}).get("requests")
    if requests is None:
        return "volume claim template must specify resource request"
    storage = requests.get("storage")
    if storage is None:
        return "volume claim template must specify resource storage request"
    if parse_quantity(storage) <= 0:  # ValueError for an unreadable size: see reconcile()
        return "volume size must be greater than 0"
    if not claim.get("accessModes"):
        return "volume access mode must be specified"
    return None


def image_tag(image: str) -> str:
    """The part after the first ``:`` (what the controller compares to decide on an update)."""
    parts = image.split(":")
    return parts[1] if len(parts) > 1 else ""


def pool_spec(pool: dict[str, Any]) -> PoolSpec:
    """A Tenant ``spec.pools[]`` entry as the world builder's PoolSpec."""
    claim = (pool.get("volumeClaimTemplate") or {}).get("spec") or {}
    return PoolSpec(
        name=str(pool["name"]),
        servers=int(pool["servers"]),
        volumes_per_server=int(pool["volumesPerServer"]),
        size=str(claim["resources"]["requests"]["storage"]),
        storage_class=str(claim.get("storageClassName") or EXPANDABLE_STORAGE_CLASS),
    )


@dataclass(frozen=True)
class RolledPod:
    """One pod replaced by a rollout (for a hook that moves the MinIO simulator along)."""

    namespace: str
    tenant: str
    pool: str
    ordinal: int
    image: str


@dataclass
class OperatorStandIn:
    """Reconciles Tenants in ``namespaces`` (every namespace when empty) like the MinIO Operator would.

    ``on_pod_rolled`` is called for each pod a rollout replaces (e.g. to give
    the simulator node playing it the new version). Errors other than write
    conflicts are logged and kept in ``errors``; the loop goes on.
    """

    api: client.ApiClient
    namespaces: list[str] = field(default_factory=list)
    interval_s: float = 0.2
    on_pod_rolled: Callable[[RolledPod], None] | None = None
    timeout_s: float = REQUEST_TIMEOUT_S
    errors: list[str] = field(default_factory=list)
    passes: int = 0
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _own_api: client.ApiClient | None = field(default=None, repr=False)

    # -- running -----------------------------------------------------------
    def start(self) -> OperatorStandIn:
        """Reconcile every ``interval_s`` from a daemon thread (with its own ApiClient) until :meth:`stop`."""
        if self._thread is not None:
            return self
        self._own_api = client.ApiClient(self.api.configuration)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="operator-stand-in", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 15.0) -> None:
        """Stop the loop and wait for the pass in progress to end."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
            self._thread = None
        if self._own_api is not None:
            with contextlib.suppress(Exception):
                self._own_api.close()
            self._own_api = None

    def __enter__(self) -> OperatorStandIn:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.reconcile_all()
            self._stop.wait(self.interval_s)

    @property
    def _api(self) -> client.ApiClient:
        return self._own_api if self._own_api is not None else self.api

    def wait_for(self, condition: Callable[[], bool], timeout_s: float = 20.0) -> bool:
        """Poll ``condition`` until it holds or ``timeout_s`` passes (for tests of a running stand-in)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.05)
        return condition()

    # -- one pass ----------------------------------------------------------
    def reconcile_all(self) -> None:
        """One pass over every Tenant in scope; a failing Tenant does not stop the others."""
        self.passes += 1
        try:
            tenants = self._list_tenants()
        except ApiException as exc:
            self._note(f"listing Tenants failed: HTTP {exc.status}")
            return
        for tenant in tenants:
            meta = tenant.get("metadata") or {}
            try:
                self.reconcile(tenant)
            except ApiException as exc:
                if exc.status in (404, 409):
                    continue  # changed or deleted under us: the next pass sees the new object
                self._note(f"{meta.get('namespace')}/{meta.get('name')}: HTTP {exc.status} {exc.reason}")
            except Exception as exc:  # noqa: BLE001 - a stand-in keeps running; the error is kept for the test
                self._note(f"{meta.get('namespace')}/{meta.get('name')}: {type(exc).__name__}: {exc}")

    def _note(self, message: str) -> None:
        log.warning("operator stand-in: %s", message)
        self.errors.append(message)

    def _list_tenants(self) -> list[dict[str, Any]]:
        objects = client.CustomObjectsApi(self._api)
        if not self.namespaces:
            found = objects.list_cluster_custom_object(
                TENANT_GROUP, TENANT_VERSION, TENANT_PLURAL, _request_timeout=self.timeout_s
            )
            return list(cast(dict[str, Any], found).get("items") or [])
        items: list[dict[str, Any]] = []
        for namespace in self.namespaces:
            found = objects.list_namespaced_custom_object(
                TENANT_GROUP, TENANT_VERSION, namespace, TENANT_PLURAL, _request_timeout=self.timeout_s
            )
            items.extend(cast(dict[str, Any], found).get("items") or [])
        return items

    def reconcile(self, tenant: dict[str, Any]) -> str:
        """Move one Tenant one step towards its spec; return the currentState written (or kept)."""
        ns, name = tenant["metadata"]["namespace"], tenant["metadata"]["name"]
        spec: dict[str, Any] = tenant.get("spec") or {}
        status: dict[str, Any] = dict(tenant.get("status") or {})
        writer = _StatusWriter(self._api, ns, name, status, self.timeout_s)

        try:
            problem = validate_tenant(spec)
        except (ValueError, TypeError, KeyError):
            # The operator cannot even decode such a Tenant (e.g. an unreadable volume size): it writes nothing.
            return str(status.get("currentState") or "")
        if problem:
            return writer.state(problem, 0)
        if self._another_tenant_in(ns, name) and status.get("currentState") != INITIALIZED:
            return writer.state(ALREADY_EXISTS, 0)
        self._ensure_services(ns, name, writer)

        pools: list[dict[str, Any]] = list(spec.get("pools") or [])
        wanted = {f"{name}-{p['name']}" for p in pools}
        known = [dict(p) for p in status.get("pools") or [] if isinstance(p, dict)]
        removed = [p["ssName"] for p in known if p.get("ssName") not in wanted]
        if removed:
            self._remove_pools(tenant, removed)
            known = [p for p in known if p.get("ssName") in wanted]
            writer.update(pools=known, currentState=RESTARTING_MINIO)
            return RESTARTING_MINIO

        sets = self._statefulsets(ns, name)
        for index, pool in enumerate(pools):
            ss_name = f"{name}-{pool['name']}"
            if not any(p.get("ssName") == ss_name for p in known):
                known.append({"ssName": ss_name, "state": POOL_NOT_CREATED})
            existing = sets.get(ss_name)
            if existing is None:
                writer.state(PROVISIONING_STATEFULSET, 0, pools=known)
                self._create_pool(tenant, pool, index)
                add_event(self._api, ns, tenant, "Normal", "PoolCreated", f"Tenant pool {pool['name']} created",
                          timeout_s=self.timeout_s)
                _pool_entry(known, ss_name)["state"] = POOL_CREATED
                writer.update(pools=known)
                return PROVISIONING_STATEFULSET
            owners = (existing.get("metadata") or {}).get("ownerReferences") or []
            if not any(o.get("uid") == tenant["metadata"]["uid"] and o.get("controller") for o in owners):
                return writer.state(NOT_OWNED, int((existing.get("status") or {}).get("replicas") or 0))
            if int((existing.get("spec") or {}).get("replicas") or 0) != int(pool["servers"]):
                return writer.state(f"Can't modify server count for pool {pool['name']}", 0)

        fresh = [p for p in known if p.get("state") != POOL_INITIALIZED]
        if fresh:
            had_initialized = len(fresh) < len(known)
            for entry in fresh:
                entry["state"] = POOL_INITIALIZED
            if had_initialized:
                # The operator restarts the running pools so they learn the new pool's endpoints.
                writer.update(pools=known, currentState=RESTARTING_MINIO)
                return RESTARTING_MINIO
            writer.update(pools=known)

        image = str(spec.get("image") or "")
        if image:
            rolling = self._roll_one_pool(tenant, pools, sets, image, writer)
            if rolling is not None:
                return rolling
        images = {image_tag(_sts_image(sets[f"{name}-{p['name']}"])) for p in pools}
        if len(images) > 1:
            return writer.state(INCONSISTENT_VERSIONS, self._available(sets))

        health = self._health(ns, name, pools)
        writer.update(**health)
        if health["healthStatus"] != GREEN:
            return writer.state(WAITING_FOR_HEALTHY, 0)
        return writer.state(INITIALIZED, self._available(self._statefulsets(ns, name)))

    # -- pieces ------------------------------------------------------------
    def _another_tenant_in(self, namespace: str, name: str) -> bool:
        found = client.CustomObjectsApi(self._api).list_namespaced_custom_object(
            TENANT_GROUP, TENANT_VERSION, namespace, TENANT_PLURAL, _request_timeout=self.timeout_s
        )
        names = [t["metadata"]["name"] for t in cast(dict[str, Any], found).get("items") or []]
        return any(n != name for n in names)

    def _ensure_services(self, ns: str, name: str, writer: _StatusWriter) -> None:
        core = client.CoreV1Api(self._api)
        selector = {"v1.min.io/tenant": name}
        wanted: list[tuple[str, str, dict[str, Any]]] = [
            (PROVISIONING_CLUSTER_IP_SERVICE, "minio", {"ports": [{"name": "https-minio", "port": 443,
                                                                    "targetPort": 9000}]}),
            (PROVISIONING_HEADLESS_SERVICE, f"{name}-hl", {"clusterIP": "None", "publishNotReadyAddresses": True,
                                                            "ports": [{"name": "https-minio", "port": 9000,
                                                                       "targetPort": 9000}]}),
        ]
        for state, svc, spec in wanted:
            try:
                core.read_namespaced_service(svc, ns, _request_timeout=self.timeout_s)
                continue
            except ApiException as exc:
                if exc.status != 404:
                    raise
            writer.state(state, 0)
            body = {"metadata": {"name": svc, "labels": selector}, "spec": {"selector": selector, **spec}}
            with contextlib.suppress(ApiException):
                core.create_namespaced_service(ns, client.V1Service.model_validate(body),
                                               _request_timeout=self.timeout_s)

    def _statefulsets(self, ns: str, name: str) -> dict[str, dict[str, Any]]:
        found = client.AppsV1Api(self._api).list_namespaced_stateful_set(
            ns, label_selector=f"v1.min.io/tenant={name}", _request_timeout=self.timeout_s
        )
        sanitized = self._api.sanitize_for_serialization(found)
        return {s["metadata"]["name"]: s for s in sanitized.get("items") or []}

    @staticmethod
    def _available(sets: dict[str, dict[str, Any]]) -> int:
        return sum(int((s.get("status") or {}).get("availableReplicas") or 0) for s in sets.values())

    def _create_pool(self, tenant: dict[str, Any], pool: dict[str, Any], index: int) -> None:
        ns, name = tenant["metadata"]["namespace"], tenant["metadata"]["name"]
        write_pool(
            self._api,
            ns,
            tenant,
            pool_spec(pool),
            str(tenant["spec"].get("image") or ""),
            headless_service=f"{name}-hl",
            pool_index=index,
            started_s_ago=0,
            timeout_s=self.timeout_s,
        )

    def _remove_pools(self, tenant: dict[str, Any], ss_names: Iterable[str]) -> None:
        ns = tenant["metadata"]["namespace"]
        apps, core = client.AppsV1Api(self._api), client.CoreV1Api(self._api)
        for ss_name in ss_names:
            add_event(self._api, ns, tenant, "Normal", "PoolRemoved", f"Tenant pool {ss_name} removed",
                      timeout_s=self.timeout_s)
            with contextlib.suppress(ApiException):
                apps.delete_namespaced_stateful_set(ss_name, ns, _request_timeout=self.timeout_s)
            # The garbage collector's part: the set's pods go with it (its PVCs stay, as in a cluster).
            for pod in self._pods(ns, tenant["metadata"]["name"]):
                owners = pod["metadata"].get("ownerReferences") or []
                if any(o.get("kind") == "StatefulSet" and o.get("name") == ss_name for o in owners):
                    with contextlib.suppress(ApiException):
                        core.delete_namespaced_pod(pod["metadata"]["name"], ns, grace_period_seconds=0,
                                                   _request_timeout=self.timeout_s)

    def _roll_one_pool(
        self,
        tenant: dict[str, Any],
        pools: list[dict[str, Any]],
        sets: dict[str, dict[str, Any]],
        image: str,
        writer: _StatusWriter,
    ) -> str | None:
        """Replace the pods of the first pool not on ``image``; the state while a rollout is under way, else None."""
        name = tenant["metadata"]["name"]
        behind = [p for p in pools if image_tag(_sts_image(sets[f"{name}-{p['name']}"])) != image_tag(image)]
        if not behind:
            return None
        if writer.current.get("currentState") != UPDATING_MINIO_VERSION:
            if not self._pods_ready(tenant["metadata"]["namespace"], name):
                # The operator updates only a healthy MinIO; it waits without changing the status.
                return str(writer.current.get("currentState") or "")
            writer.state(UPDATING_MINIO_VERSION, self._available(sets))
        pool = behind[0]
        self._roll_pool(tenant, pool, pools.index(pool), sets[f"{name}-{pool['name']}"], image)
        return UPDATING_MINIO_VERSION

    def _roll_pool(
        self, tenant: dict[str, Any], pool: dict[str, Any], index: int, sts: dict[str, Any], image: str
    ) -> None:
        ns, name = tenant["metadata"]["namespace"], tenant["metadata"]["name"]
        apps, core = client.AppsV1Api(self._api), client.CoreV1Api(self._api)
        ss_name = sts["metadata"]["name"]
        spec = pool_spec(pool)
        updated = self._api.sanitize_for_serialization(apps.patch_namespaced_stateful_set(
            ss_name, ns, [{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": image}],
            _content_type=_JSON_PATCH, _request_timeout=self.timeout_s,
        ))
        add_event(self._api, ns, tenant, "Normal", "PoolUpdated", f"Tenant pool {pool['name']} updated",
                  timeout_s=self.timeout_s)
        # The StatefulSet controller and kubelet: highest ordinal first, one pod at a time.
        for ordinal in reversed(range(spec.servers)):
            pod = f"{ss_name}-{ordinal}"
            with contextlib.suppress(ApiException):
                core.delete_namespaced_pod(pod, ns, grace_period_seconds=0, _request_timeout=self.timeout_s)
            write_pool_pod(
                self._api, ns, ss_name, str(updated["metadata"]["uid"]), spec, ordinal, image,
                headless_service=f"{name}-hl", ip=f"10.244.{index}.{ordinal + 10}", timeout_s=self.timeout_s,
            )
            if self.on_pod_rolled is not None:
                self.on_pod_rolled(RolledPod(ns, name, pool["name"], ordinal, image))
        revision = pool_revision(ss_name, image)
        apps.patch_namespaced_stateful_set_status(
            ss_name, ns,
            {"status": {"observedGeneration": updated["metadata"]["generation"], "replicas": spec.servers,
                        "readyReplicas": spec.servers, "currentReplicas": spec.servers,
                        "updatedReplicas": spec.servers, "availableReplicas": spec.servers,
                        "currentRevision": revision, "updateRevision": revision}},
            _content_type=_MERGE, _request_timeout=self.timeout_s,
        )

    def _pods(self, ns: str, name: str) -> list[dict[str, Any]]:
        found = client.CoreV1Api(self._api).list_namespaced_pod(
            ns, label_selector=f"v1.min.io/tenant={name}", _request_timeout=self.timeout_s)
        return list(self._api.sanitize_for_serialization(found).get("items") or [])

    def _pods_ready(self, ns: str, name: str) -> bool:
        return all(_ready(p) for p in self._pods(ns, name))

    def _health(self, ns: str, name: str, pools: list[dict[str, Any]]) -> dict[str, Any]:
        """Health fields from the pods: a Ready pod's drives are online (the operator asks MinIO instead)."""
        ready = {p["metadata"]["name"] for p in self._pods(ns, name) if _ready(p)}
        online = offline = 0
        for pool in pools:
            for ordinal in range(int(pool["servers"])):
                drives = int(pool["volumesPerServer"])
                if f"{name}-{pool['name']}-{ordinal}" in ready:
                    online += drives
                else:
                    offline += drives
        quorum = write_quorum(int(pools[0]["servers"]), int(pools[0]["volumesPerServer"]))
        if offline == 0:
            health, message = GREEN, ""
        elif online < quorum:
            health, message = RED, SERVICE_UNAVAILABLE
        else:
            health, message = YELLOW, REDUCED_AVAILABILITY
        return {"drivesOnline": online, "drivesOffline": offline, "drivesHealing": 0, "writeQuorum": quorum,
                "healthStatus": health, "healthMessage": message}


def _ready(pod: dict[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _sts_image(sts: dict[str, Any]) -> str:
    containers = sts["spec"]["template"]["spec"]["containers"]
    return str(containers[0].get("image") or "")


def _pool_entry(pools: list[dict[str, Any]], ss_name: str) -> dict[str, Any]:
    return next(p for p in pools if p.get("ssName") == ss_name)


class _StatusWriter:
    """Writes Tenant.status through the status subresource, only the fields that change."""

    def __init__(self, api: client.ApiClient, ns: str, name: str, status: dict[str, Any], timeout_s: float) -> None:
        self.api, self.ns, self.name, self.timeout_s = api, ns, name, timeout_s
        self.current = status

    def state(self, state: str, available: int, **more: Any) -> str:
        """Set currentState and availableReplicas (as the controller's updateTenantStatus does)."""
        self.update(currentState=state, availableReplicas=available, **more)
        return state

    def update(self, **fields: Any) -> None:
        changed = {k: v for k, v in fields.items() if self.current.get(k) != v}
        if not changed:
            return
        client.CustomObjectsApi(self.api).patch_namespaced_custom_object_status(
            TENANT_GROUP, TENANT_VERSION, self.ns, TENANT_PLURAL, self.name, {"status": changed},
            _content_type=_MERGE, _request_timeout=self.timeout_s,
        )
        self.current.update(changed)
