"""Typed views of the Kubernetes objects the bot reads: Tenants, pods, PVCs, events and friends.

Each model has a ``from_api`` constructor that takes the object as the API
server sent it (a JSON dict, camelCase) and keeps only what handlers need.
Secrets are never modelled, except a TLS certificate's public facts.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from kubernetes.utils import parse_quantity
from pydantic import BaseModel, Field

TENANT_LABEL = "v1.min.io/tenant"
POOL_LABEL = "v1.min.io/pool"


def quantity(value: Any) -> Decimal | None:
    """A Kubernetes quantity ("1Ti", "250m", "2") as a Decimal; None when absent or unreadable."""
    if value is None or value == "":
        return None
    try:
        return Decimal(parse_quantity(value))
    except (ValueError, TypeError, InvalidOperation):
        return None


def quantity_int(value: Any) -> int | None:
    """A quantity rounded down to an integer (bytes, counts)."""
    q = quantity(value)
    return int(q) if q is not None else None


def timestamp(value: Any) -> datetime | None:
    """An RFC 3339 timestamp from the API; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _dig(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


# ---------------------------------------------------------------- Tenant


class TenantRef(BaseModel):
    """Where a Tenant lives."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


class PoolInfo(BaseModel):
    """One entry of ``Tenant.spec.pools``."""

    name: str
    servers: int
    volumes_per_server: int
    size_bytes: int | None = None
    storage_class: str | None = None
    resources: dict[str, Any] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)

    @property
    def drives(self) -> int:
        """Drives in the pool."""
        return self.servers * self.volumes_per_server

    @classmethod
    def from_api(cls, pool: dict[str, Any]) -> PoolInfo:
        """Parse one ``spec.pools[]`` entry."""
        claim = _dig(pool, "volumeClaimTemplate", "spec") or {}
        return cls(
            name=str(pool.get("name", "")),
            servers=int(pool.get("servers") or 0),
            volumes_per_server=int(pool.get("volumesPerServer") or 0),
            size_bytes=quantity_int(_dig(claim, "resources", "requests", "storage")),
            storage_class=claim.get("storageClassName"),
            resources=pool.get("resources") or {},
            annotations={str(k): str(v) for k, v in (pool.get("annotations") or {}).items()},
        )


class TenantUsage(BaseModel):
    """``Tenant.status.usage`` (refreshed by the operator every few minutes)."""

    capacity: int | None = None
    raw_capacity: int | None = None
    usage: int | None = None
    raw_usage: int | None = None


class TenantPoolState(BaseModel):
    """``Tenant.status.pools[]``."""

    ss_name: str
    state: str


class TenantStatus(BaseModel):
    """What the operator last wrote into ``Tenant.status``."""

    current_state: str | None = None
    health_status: str | None = None
    health_message: str | None = None
    available_replicas: int | None = None
    drives_online: int | None = None
    drives_offline: int | None = None
    drives_healing: int | None = None
    write_quorum: int | None = None
    usage: TenantUsage | None = None
    pools: list[TenantPoolState] = Field(default_factory=list)

    @classmethod
    def from_api(cls, status: Any) -> TenantStatus | None:
        """Parse ``status``; None when the operator has written nothing yet."""
        if not isinstance(status, dict) or not status:
            return None
        usage = status.get("usage")
        return cls(
            current_state=status.get("currentState"),
            health_status=status.get("healthStatus"),
            health_message=status.get("healthMessage") or None,
            available_replicas=status.get("availableReplicas"),
            drives_online=status.get("drivesOnline"),
            drives_offline=status.get("drivesOffline"),
            drives_healing=status.get("drivesHealing"),
            write_quorum=status.get("writeQuorum"),
            usage=TenantUsage(
                capacity=quantity_int(usage.get("capacity")),
                raw_capacity=quantity_int(usage.get("rawCapacity")),
                usage=quantity_int(usage.get("usage")),
                raw_usage=quantity_int(usage.get("rawUsage")),
            )
            if isinstance(usage, dict)
            else None,
            pools=[
                TenantPoolState(ss_name=str(p.get("ssName", "")), state=str(p.get("state", "")))
                for p in status.get("pools") or []
                if isinstance(p, dict)
            ],
        )


class TenantInfo(TenantRef):
    """A MinIO Tenant: spec essentials, operator status (None if never written), and the raw spec."""

    @property
    def current_state(self) -> str | None:
        """``status.currentState`` as the operator last wrote it (None before its first write)."""
        return self.status.current_state if self.status else None

    image: str | None = None
    pools: list[PoolInfo] = Field(default_factory=list)
    status: TenantStatus | None = None
    resource_version: str = ""
    generation: int | None = None
    created: datetime | None = None
    raw_spec: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def from_api(cls, obj: dict[str, Any]) -> TenantInfo:
        """Parse a Tenant custom object."""
        meta = _meta(obj)
        raw_spec = obj.get("spec")
        spec: dict[str, Any] = raw_spec if isinstance(raw_spec, dict) else {}
        return cls(
            namespace=str(meta.get("namespace", "")),
            name=str(meta.get("name", "")),
            image=spec.get("image"),
            pools=[PoolInfo.from_api(p) for p in spec.get("pools") or [] if isinstance(p, dict)],
            status=TenantStatus.from_api(obj.get("status")),
            resource_version=str(meta.get("resourceVersion", "")),
            generation=meta.get("generation"),
            created=timestamp(meta.get("creationTimestamp")),
            raw_spec=spec,
        )


# The MinIO Operator writes its progress *and* its errors into
# status.currentState. Fixed failure states (its public constants):
OPERATOR_FAILURE_STATES = frozenset(
    {
        "Statefulset not controlled by operator",
        "Another MinIO Tenant already exists in the namespace",
        "Tenant credentials are not set properly",
        "Pool Decommissioning Not Allowed",
    }
)
# Otherwise an error is the text of a Go error: the controller's post-write
# validation ("pool #1 with 2 servers must have at least 4 volumes in total",
# older operators: "pool #0 setup must have a minimum of 4 volumes per server"),
# "Can't modify server count for pool p", or a failed update. Progress states
# ("Provisioning ...", "Waiting for ...", "Updating MinIO Version", "Restarting
# MinIO", "Different versions across MinIO Pools", which it repairs itself)
# match none of these, and an unknown state is not called an error.
_OPERATOR_ERROR_TEXT = re.compile(
    r"^(pool #\d+ |pools must be configured|please set |plese set |a volume claim template must"
    r"|volume claim template must|volume size must|volume access mode must|Can't modify server count"
    r"|invalid domain|overlapping domains)"
    r"|\b(fail|failed|failure|error)\b",
    re.IGNORECASE,
)


def operator_error(info: TenantInfo) -> str | None:
    """The operator's error for this Tenant (its ``currentState`` text), or None when it reports none.

    The controller validates a spec only after the API server stored it; a
    rejected pool or image never rolls out and the error stays in
    ``currentState`` until the spec changes, so a follower that sees it should
    stop and show it instead of waiting for its timeout.
    """
    state = (info.current_state or "").strip()
    if not state:
        return None
    if state in OPERATOR_FAILURE_STATES or _OPERATOR_ERROR_TEXT.search(state):
        return state
    return None


# ---------------------------------------------------------------- workloads


class ContainerInfo(BaseModel):
    """One container's status in a pod."""

    name: str
    image: str | None = None
    ready: bool = False
    restarts: int = 0
    state: str | None = None  # "running", "waiting" or "terminated"
    waiting_reason: str | None = None
    waiting_message: str | None = None
    last_termination_reason: str | None = None
    last_exit_code: int | None = None

    @classmethod
    def from_api(cls, cs: dict[str, Any]) -> ContainerInfo:
        """Parse one ``status.containerStatuses[]`` entry."""
        state = cs.get("state") or {}
        last = _dig(cs, "lastState", "terminated") or {}
        return cls(
            name=str(cs.get("name", "")),
            image=cs.get("image"),
            ready=bool(cs.get("ready")),
            restarts=int(cs.get("restartCount") or 0),
            state=next(iter(state), None) if isinstance(state, dict) else None,
            waiting_reason=_dig(state, "waiting", "reason"),
            waiting_message=_dig(state, "waiting", "message"),
            last_termination_reason=last.get("reason"),
            last_exit_code=last.get("exitCode"),
        )


class PodInfo(BaseModel):
    """A pod's health at a glance, plus per-container detail."""

    name: str
    namespace: str
    phase: str | None = None
    ready: bool = False
    restarts: int = 0
    waiting_reason: str | None = None
    last_termination_reason: str | None = None
    node: str | None = None
    pool: str | None = None
    ip: str | None = None
    started_at: datetime | None = None
    deleting: bool = False
    containers: list[ContainerInfo] = Field(default_factory=list)

    @classmethod
    def from_api(cls, obj: dict[str, Any]) -> PodInfo:
        """Parse a Pod."""
        meta, status = _meta(obj), obj.get("status") or {}
        containers = [ContainerInfo.from_api(c) for c in status.get("containerStatuses") or []]
        conditions = status.get("conditions") or []
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
        return cls(
            name=str(meta.get("name", "")),
            namespace=str(meta.get("namespace", "")),
            phase=status.get("phase"),
            ready=ready,
            restarts=sum(c.restarts for c in containers),
            waiting_reason=next((c.waiting_reason for c in containers if c.waiting_reason), None),
            last_termination_reason=next(
                (c.last_termination_reason for c in containers if c.last_termination_reason), None
            ),
            node=_dig(obj, "spec", "nodeName"),
            pool=(meta.get("labels") or {}).get(POOL_LABEL),
            ip=status.get("podIP"),
            started_at=timestamp(status.get("startTime")),
            deleting=bool(meta.get("deletionTimestamp")),
            containers=containers,
        )


class PvcInfo(BaseModel):
    """A PersistentVolumeClaim: requested vs provisioned size, binding state."""

    name: str
    namespace: str
    phase: str | None = None
    capacity_bytes: int | None = None
    requested_bytes: int | None = None
    storage_class: str | None = None
    pool: str | None = None
    conditions: list[str] = Field(default_factory=list)

    @classmethod
    def from_api(cls, obj: dict[str, Any]) -> PvcInfo:
        """Parse a PVC."""
        meta, spec, status = _meta(obj), obj.get("spec") or {}, obj.get("status") or {}
        return cls(
            name=str(meta.get("name", "")),
            namespace=str(meta.get("namespace", "")),
            phase=status.get("phase"),
            capacity_bytes=quantity_int(_dig(status, "capacity", "storage")),
            requested_bytes=quantity_int(_dig(spec, "resources", "requests", "storage")),
            storage_class=spec.get("storageClassName"),
            pool=(meta.get("labels") or {}).get(POOL_LABEL),
            conditions=[str(c.get("type")) for c in status.get("conditions") or [] if c.get("status") == "True"],
        )


class StatefulSetInfo(BaseModel):
    """A StatefulSet (one per Tenant pool): desired vs ready replicas, rollout revisions."""

    name: str
    namespace: str
    replicas: int = 0
    ready: int = 0
    updated: int = 0
    current_revision: str | None = None
    update_revision: str | None = None
    pool: str | None = None

    @property
    def rolling(self) -> bool:
        """True while pods still run an older revision."""
        return bool(self.update_revision and self.current_revision != self.update_revision)

    @classmethod
    def from_api(cls, obj: dict[str, Any]) -> StatefulSetInfo:
        """Parse a StatefulSet."""
        meta, spec, status = _meta(obj), obj.get("spec") or {}, obj.get("status") or {}
        return cls(
            name=str(meta.get("name", "")),
            namespace=str(meta.get("namespace", "")),
            replicas=int(spec.get("replicas") or 0),
            ready=int(status.get("readyReplicas") or 0),
            updated=int(status.get("updatedReplicas") or 0),
            current_revision=status.get("currentRevision"),
            update_revision=status.get("updateRevision"),
            pool=(meta.get("labels") or {}).get(POOL_LABEL),
        )


class DeploymentInfo(BaseModel):
    """A Deployment (e.g. the MinIO Operator): image and replica counts."""

    name: str
    namespace: str
    image: str | None = None
    images: list[str] = Field(default_factory=list)
    replicas: int = 0
    ready: int = 0
    available: int = 0
    updated: int = 0
    resource_version: str = ""

    @classmethod
    def from_api(cls, obj: dict[str, Any]) -> DeploymentInfo:
        """Parse a Deployment."""
        meta, spec, status = _meta(obj), obj.get("spec") or {}, obj.get("status") or {}
        images = [str(c.get("image")) for c in _dig(spec, "template", "spec", "containers") or [] if c.get("image")]
        return cls(
            name=str(meta.get("name", "")),
            namespace=str(meta.get("namespace", "")),
            image=images[0] if images else None,
            images=images,
            replicas=int(spec["replicas"]) if spec.get("replicas") is not None else 1,
            ready=int(status.get("readyReplicas") or 0),
            available=int(status.get("availableReplicas") or 0),
            updated=int(status.get("updatedReplicas") or 0),
            resource_version=str(meta.get("resourceVersion", "")),
        )


# ---------------------------------------------------------------- events, network, storage


class EventInfo(BaseModel):
    """A core/v1 Event about some object."""

    type: str | None = None
    reason: str | None = None
    message: str | None = None
    object: str = ""  # "Kind/name"
    namespace: str = ""
    count: int = 1
    last_seen: datetime | None = None
    source: str | None = None

    @classmethod
    def from_api(cls, obj: dict[str, Any]) -> EventInfo:
        """Parse an Event; ``last_seen`` falls back through series, lastTimestamp, eventTime, creation."""
        meta, involved = _meta(obj), obj.get("involvedObject") or {}
        last_seen = (
            timestamp(_dig(obj, "series", "lastObservedTime"))
            or timestamp(obj.get("lastTimestamp"))
            or timestamp(obj.get("eventTime"))
            or timestamp(meta.get("creationTimestamp"))
        )
        count = obj.get("count") or _dig(obj, "series", "count") or 1
        return cls(
            type=obj.get("type"),
            reason=obj.get("reason"),
            message=obj.get("message"),
            object=f"{involved.get('kind', '?')}/{involved.get('name', '?')}",
            namespace=str(meta.get("namespace", "")),
            count=int(count),
            last_seen=last_seen,
            source=_dig(obj, "source", "component") or obj.get("reportingComponent") or None,
        )


class NetworkPolicyInfo(BaseModel):
    """A NetworkPolicy, summarised."""

    name: str
    namespace: str
    pod_selector: dict[str, str] = Field(default_factory=dict)
    policy_types: list[str] = Field(default_factory=list)
    ingress_rules: int = 0
    egress_rules: int = 0

    @classmethod
    def from_api(cls, obj: dict[str, Any]) -> NetworkPolicyInfo:
        """Parse a NetworkPolicy."""
        meta, spec = _meta(obj), obj.get("spec") or {}
        return cls(
            name=str(meta.get("name", "")),
            namespace=str(meta.get("namespace", "")),
            pod_selector={str(k): str(v) for k, v in (_dig(spec, "podSelector", "matchLabels") or {}).items()},
            policy_types=list(spec.get("policyTypes") or []),
            ingress_rules=len(spec.get("ingress") or []),
            egress_rules=len(spec.get("egress") or []),
        )


class StorageClassInfo(BaseModel):
    """A StorageClass: can its volumes grow in place?"""

    name: str
    provisioner: str | None = None
    allow_volume_expansion: bool = False
    is_default: bool = False

    @classmethod
    def from_api(cls, obj: dict[str, Any]) -> StorageClassInfo:
        """Parse a StorageClass."""
        meta = _meta(obj)
        annotations = meta.get("annotations") or {}
        return cls(
            name=str(meta.get("name", "")),
            provisioner=obj.get("provisioner"),
            allow_volume_expansion=bool(obj.get("allowVolumeExpansion")),
            is_default=annotations.get("storageclass.kubernetes.io/is-default-class") == "true",
        )


class ServiceInfo(BaseModel):
    """A Service: type, cluster IP, ports, selector."""

    name: str
    namespace: str
    type: str | None = None
    cluster_ip: str | None = None
    ports: list[int] = Field(default_factory=list)
    selector: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def from_api(cls, obj: dict[str, Any]) -> ServiceInfo:
        """Parse a Service."""
        meta, spec = _meta(obj), obj.get("spec") or {}
        return cls(
            name=str(meta.get("name", "")),
            namespace=str(meta.get("namespace", "")),
            type=spec.get("type"),
            cluster_ip=spec.get("clusterIP"),
            ports=[int(p["port"]) for p in spec.get("ports") or [] if "port" in p],
            selector={str(k): str(v) for k, v in (spec.get("selector") or {}).items()},
        )


# ---------------------------------------------------------------- certificates, metrics, logs


class CertInfo(BaseModel):
    """Public facts of a TLS certificate stored in a Secret (never the key)."""

    namespace: str
    secret: str
    subject: str
    issuer: str
    not_after: datetime
    days_left: float
    dns_names: list[str] = Field(default_factory=list)

    @property
    def expired(self) -> bool:
        """True once ``not_after`` has passed."""
        return self.days_left < 0


class ContainerUsage(BaseModel):
    """CPU and memory use of one container (metrics.k8s.io)."""

    cpu_millicores: float = 0.0
    memory_bytes: int = 0


class PodMetrics(BaseModel):
    """CPU and memory use of one pod, summed over its containers."""

    name: str
    namespace: str
    cpu_millicores: float = 0.0
    memory_bytes: int = 0
    window_s: float | None = None
    timestamp: datetime | None = None
    containers: dict[str, ContainerUsage] = Field(default_factory=dict)

    @classmethod
    def from_api(cls, obj: dict[str, Any]) -> PodMetrics:
        """Parse a metrics.k8s.io PodMetrics object."""
        meta = _meta(obj)
        containers: dict[str, ContainerUsage] = {}
        for c in obj.get("containers") or []:
            usage = c.get("usage") or {}
            cpu = quantity(usage.get("cpu"))
            containers[str(c.get("name", ""))] = ContainerUsage(
                cpu_millicores=float(cpu * 1000) if cpu is not None else 0.0,
                memory_bytes=quantity_int(usage.get("memory")) or 0,
            )
        window = obj.get("window")
        return cls(
            name=str(meta.get("name", "")),
            namespace=str(meta.get("namespace", "")),
            cpu_millicores=sum(c.cpu_millicores for c in containers.values()),
            memory_bytes=sum(c.memory_bytes for c in containers.values()),
            window_s=float(window.rstrip("s"))
            if isinstance(window, str) and window.endswith("s") and window[:-1].replace(".", "", 1).isdigit()
            else None,
            timestamp=timestamp(obj.get("timestamp")),
            containers=containers,
        )


class PodLog(BaseModel):
    """The tail of one container's log."""

    namespace: str
    pod: str
    container: str | None = None
    lines: list[str] = Field(default_factory=list)
