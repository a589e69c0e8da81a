"""Gather what `/minio health` evaluates: every MinIO and Kubernetes call, in parallel, under one deadline.

Nothing here decides anything. Each fact is either its value or the
:class:`ClientError` that explains why it is missing, so the evaluation can
say "could not check: ..." for one part and still judge the rest.

Calls that any node can answer (admin ``info``, the cluster quorum probes,
bucket listing, the canary) are *hedged*: they start on one node and, if that
node fails or has not answered within ``HEDGE_S``, the next node is asked as
well; the first good answer wins. Each of those calls starts on a different
node so that the load spreads and one hung node cannot stall them all.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from bot.clients.errors import ClientError, ErrorKind, MinioError
from bot.clients.fanout import fan_out
from bot.clients.kube import KubeClient
from bot.clients.kube_models import (
    CertInfo,
    EventInfo,
    NetworkPolicyInfo,
    PodInfo,
    PodMetrics,
    PvcInfo,
    StatefulSetInfo,
    TenantInfo,
)
from bot.clients.minio import MinioClient
from bot.clients.minio_models import BackupFreshness, CanaryResult, ClusterHealth, Probe, ServerInfo
from bot.config import BackupTarget, TenantConfig
from bot.redact import register_secret
from bot.runtime import Runtime, parse_config_env

T = TypeVar("T")

DEFAULT_CREDENTIAL = "minioadmin"  # MinIO's documented default root user and password
EVENTS_WINDOW = timedelta(hours=1)  # "recent" Warning events
MAX_POLICY_CHECKS = 100  # bucket policies read per check; more buckets are reported as unchecked
BACKUP_MAX_KEYS = 10_000
# How long one node may keep a hedged call waiting before the next node is asked too. Short
# against the report deadline (5 s by default), long against a healthy answer (milliseconds).
HEDGE_S = 1.0
# Failures after which another node may answer (the kinds the client itself fails over on).
_MOVE_ON = frozenset({"unreachable", "timeout", "unavailable"})


# ---------------------------------------------------------------- facts


@dataclass(frozen=True)
class NodeRef:
    """A MinIO node as the bot addresses it: 1-based number and host:port."""

    number: int
    address: str

    @property
    def label(self) -> str:
        """``node 2 (127.0.0.1:9002)``: how every message names a node."""
        return f"node {self.number} ({self.address})"


class BucketExposure(BaseModel):
    """Which buckets allow anonymous access."""

    total: int
    checked: int
    public: list[str] = Field(default_factory=list)
    failed: dict[str, str] = Field(default_factory=dict)  # bucket -> why its policy could not be read


class TlsFacts(BaseModel):
    """How the tenant serves TLS, and the certificates found."""

    enabled: bool
    source: str  # what told us: the Tenant spec or the endpoint scheme
    certificates: list[CertInfo] = Field(default_factory=list)
    unreadable: dict[str, str] = Field(default_factory=dict)  # secret -> why it could not be read


@dataclass(frozen=True)
class MinioFacts:
    """What the MinIO side said (or why it could not say)."""

    nodes: list[NodeRef]
    liveness: dict[int, Probe] | ClientError
    info: ServerInfo | ClientError
    cluster_write: ClusterHealth | ClientError
    cluster_read: ClusterHealth | ClientError
    canary: CanaryResult | ClientError
    buckets: BucketExposure | ClientError
    default_credentials: bool | ClientError
    backup: BackupFreshness | ClientError | None  # None: no backup target configured
    https: bool  # the bot reaches the tenant over https


@dataclass(frozen=True)
class KubeFacts:
    """What the Kubernetes API said about the Tenant and its surroundings."""

    namespace: str
    tenant: str
    operator: str  # "namespace/deployment" of the MinIO Operator
    tenant_info: TenantInfo | ClientError
    operator_pods: list[PodInfo] | ClientError
    pods: list[PodInfo] | ClientError
    statefulsets: list[StatefulSetInfo] | ClientError
    pvcs: list[PvcInfo] | ClientError
    events: list[EventInfo] | ClientError
    network_policies: list[NetworkPolicyInfo] | ClientError
    tls: TlsFacts | ClientError
    root_default: bool | ClientError | None  # None: the Tenant names no configuration Secret
    metrics: list[PodMetrics] | ClientError


@dataclass(frozen=True)
class TenantFacts:
    """Everything gathered for one tenant, and how long it took."""

    minio: MinioFacts
    kube: KubeFacts | None  # None: a static tenant without a Kubernetes Tenant
    elapsed_s: float


# ---------------------------------------------------------------- concurrency helpers


class Once(Generic[T]):
    """Run ``fn`` at most once, from whichever thread asks first; later callers share its result or error.

    Several facts need the same client or the same Tenant object; this keeps
    them to one call without ordering the fan-out.
    """

    def __init__(self, fn: Callable[[], T]) -> None:
        self._fn = fn
        self._lock = threading.Lock()
        self._done = False
        self._value: T | None = None
        self._error: BaseException | None = None

    def __call__(self) -> T:
        with self._lock:
            if not self._done:
                try:
                    self._value = self._fn()
                except BaseException as exc:  # noqa: BLE001 - re-raised to every caller below
                    self._error = exc
                self._done = True
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]

    @property
    def value(self) -> T | None:
        """The result if the call already succeeded, else None (never blocks)."""
        return self._value if self._done and self._error is None else None


def first_answer(attempt: Callable[[int], T], order: list[int], until: float, hedge_s: float = HEDGE_S) -> T:
    """Run ``attempt(node)`` on ``order[0]``, hedging to the next node on failure or after ``hedge_s``.

    Returns the first successful answer. Raises the only error when one node
    was tried, a combined MinioError when every node failed, or a timeout
    error at ``until`` (a ``time.monotonic()`` instant). Abandoned attempts end
    on their own network timeouts.
    """
    if not order:
        raise MinioError("invalid", "MinIO cluster", "no nodes to ask")
    pool = ThreadPoolExecutor(max_workers=len(order), thread_name_prefix="hedge")
    futures: dict[Future[T], int] = {}
    errors: dict[int, ClientError] = {}
    queue = list(order)

    def launch() -> None:
        node = queue.pop(0)
        futures[pool.submit(attempt, node)] = node

    try:
        launch()
        while True:
            remaining = until - time.monotonic()
            if remaining <= 0:
                break
            # Futures not judged yet; a finished one is judged once, just below.
            unjudged = [f for f in futures if futures[f] not in errors]
            done, _ = wait(
                unjudged, timeout=min(remaining, hedge_s) if queue else remaining, return_when=FIRST_COMPLETED
            )
            for future in done:
                error = future.exception()
                if error is None:
                    return future.result()
                if not isinstance(error, ClientError) or error.kind not in _MOVE_ON:
                    raise error  # rejected keys, bad answers: every node would say the same
                errors[futures[future]] = error
            # Here a node failed or is merely slow: bring in the next one, if any is left.
            if queue:
                launch()
            elif len(errors) == len(futures):
                break
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return _no_answer(order, errors)


def _no_answer(order: list[int], errors: dict[int, ClientError]) -> Any:
    """Raise the error that explains why no node answered a hedged call."""
    if len(order) == 1 and errors:
        raise next(iter(errors.values()))
    tried = "; ".join(f"node {n}: {e.detail}" for n, e in errors.items())
    if len(errors) < len(order):
        missing = ", ".join(f"node {n}" for n in order if n not in errors)
        detail = f"no answer before the deadline from {missing}" + (f" ({tried})" if tried else "")
        raise MinioError("timeout", "MinIO cluster", detail)
    kinds = {e.kind for e in errors.values()}
    kind = next(iter(kinds)) if len(kinds) == 1 else "unreachable"
    raise MinioError(kind, "MinIO cluster", f"no node answered ({tried})")


def rotated(nodes: list[int], start: int) -> list[int]:
    """``nodes`` starting at position ``start`` (modulo), so hedged calls begin on different nodes."""
    if not nodes:
        return []
    shift = start % len(nodes)
    return nodes[shift:] + nodes[:shift]


def _remaining(until: float, margin: float = 0.05) -> float:
    return max(0.01, until - time.monotonic() - margin)


# ---------------------------------------------------------------- MinIO calls


def _liveness(client: MinioClient, until: float) -> dict[int, Probe]:
    probes = fan_out({str(n): partial(client.liveness, n) for n in client.nodes}, deadline_s=_remaining(until))
    out: dict[int, Probe] = {}
    for key, probe in probes.items():
        if isinstance(probe, ClientError):
            # The fan-out deadline passed before the probe's own timeout: the node did not answer.
            probe = Probe(
                node=int(key),
                url=client.endpoints[int(key) - 1],
                ok=False,
                latency_ms=0.0,
                error=str(probe),
                error_kind=probe.kind,
            )
        out[int(key)] = probe
    return out


def _hedged_info(client: MinioClient, until: float) -> ServerInfo:
    return first_answer(lambda n: client.server_info(node=n), rotated(client.nodes, 0), until)


def _hedged_quorum(client: MinioClient, read: bool, until: float) -> ClusterHealth:
    # 503 (quorum lost) is an answer, not a failure: only unreachable nodes make it move on.
    return first_answer(
        lambda n: client.cluster_health(read=read, node=n), rotated(client.nodes, 2 if read else 1), until
    )


def _canary_on(client: MinioClient, bucket: str, node: int) -> CanaryResult:
    result = client.canary(bucket, node=node)
    if not result.ok and result.put_ms is None and result.error_kind in ("unreachable", "timeout"):
        # The PUT got no answer from this node; another node may well serve it. (A 503 is an
        # answer: the cluster refused the write, and every node would say the same.)
        kind: ErrorKind = "timeout" if result.error_kind == "timeout" else "unreachable"
        raise MinioError(kind, f"canary via node {node}", result.error or "failed")
    return result


def _hedged_canary(client: MinioClient, bucket: str, until: float) -> CanaryResult:
    return first_answer(partial(_canary_on, client, bucket), rotated(client.nodes, 0), until)


def _bucket_exposure(client: MinioClient, until: float) -> BucketExposure:
    def listing(node: int) -> tuple[list[str], int]:
        return [b.name for b in client.list_buckets(node=node)], node

    names, node = first_answer(listing, rotated(client.nodes, 3), until)
    # Policies go to the node that just answered: it is known to be up.
    checked = names[:MAX_POLICY_CHECKS]
    results = fan_out(
        {name: partial(client.bucket_policy_public, name, node=node) for name in checked},
        deadline_s=_remaining(until),
        max_workers=8,
    )
    public = sorted(name for name, result in results.items() if result is True)
    failed = {name: str(result) for name, result in results.items() if isinstance(result, ClientError)}
    return BucketExposure(total=len(names), checked=len(checked), public=public, failed=failed)


def _uses_default_credentials(runtime: Runtime, tenant: TenantConfig) -> bool:
    access, secret = runtime.credentials(tenant)
    return access == DEFAULT_CREDENTIAL and secret == DEFAULT_CREDENTIAL


def backup_tenant(tenant: TenantConfig, target: BackupTarget) -> TenantConfig:
    """The backup endpoint as a tenant-shaped config, so the runtime builds (and caches) its client."""
    return TenantConfig(
        name=f"{tenant.name[:50].rstrip('-')}-backup-target",
        endpoints=[target.endpoint] if target.endpoint else [],
        kubernetes=tenant.kubernetes,
        credentials=target.credentials or tenant.credentials,
        region=tenant.region,
        ca_file=tenant.ca_file,
    )


def _backup(runtime: Runtime, tenant: TenantConfig, target: BackupTarget) -> BackupFreshness:
    client = runtime.minio(tenant if target.endpoint is None else backup_tenant(tenant, target))
    return client.backup_freshness(target.bucket, target.prefix, max_keys=BACKUP_MAX_KEYS)


# ---------------------------------------------------------------- Kubernetes calls


def _tenant_tls(kube: KubeClient, info: TenantInfo, namespace: str) -> TlsFacts:
    spec = info.raw_spec
    # The operator issues its own certificate unless told not to (requestAutoCert defaults to true).
    auto = spec.get("requestAutoCert", True) is not False
    external = [str(e["name"]) for e in spec.get("externalCertSecret") or [] if isinstance(e, dict) and e.get("name")]
    secrets = list(dict.fromkeys(external + ([f"{info.name}-tls"] if auto else [])))
    if not secrets:
        return TlsFacts(enabled=False, source="Tenant spec (requestAutoCert off, no externalCertSecret)")
    source = "Tenant spec: " + ", ".join(
        part for part in ("externalCertSecret" if external else "", "requestAutoCert" if auto else "") if part
    )
    certs: list[CertInfo] = []
    unreadable: dict[str, str] = {}
    for secret in secrets:
        try:
            certs.append(kube.tls_certificate(namespace, secret))
        except ClientError as exc:
            unreadable[secret] = str(exc)
    return TlsFacts(enabled=True, source=source, certificates=certs, unreadable=unreadable)


def _tenant_root_default(kube: KubeClient, info: TenantInfo, namespace: str) -> bool | None:
    configuration = info.raw_spec.get("configuration")
    name = configuration.get("name") if isinstance(configuration, dict) else None
    if not name:
        return None
    data = kube.read_secret(namespace, str(name))
    for value in data.values():
        register_secret(value)
    env = parse_config_env(data.get("config.env", ""))
    # Only a yes/no leaves this function: the values themselves are never kept.
    return env.get("MINIO_ROOT_USER") == DEFAULT_CREDENTIAL and env.get("MINIO_ROOT_PASSWORD") == DEFAULT_CREDENTIAL


def _operator_ref(runtime: Runtime, cluster: str) -> tuple[str, str]:
    """(namespace, Deployment name) of the cluster's MinIO Operator, as configured."""
    settings = runtime.config.cluster(cluster)
    if settings is None:
        return "minio-operator", "minio-operator"
    return settings.operator.namespace, settings.operator.deployment


def _operator_pods(kube: KubeClient, namespace: str, deployment: str) -> list[PodInfo]:
    # A Deployment's pods are named <deployment>-<template hash>-<suffix>.
    return [p for p in kube.list_pods(namespace) if p.name.startswith(f"{deployment}-")]


def _require_kube(runtime: Runtime, tenant: TenantConfig) -> KubeClient:
    kube = runtime.kube_for(tenant)
    assert kube is not None  # only called for tenants with a Kubernetes reference
    return kube


# ---------------------------------------------------------------- gather


def _address(endpoint: str) -> str:
    return urlsplit(endpoint).netloc or endpoint


def gather_facts(runtime: Runtime, tenant: TenantConfig, until: float) -> TenantFacts:
    """Every fact for one tenant, gathered in one parallel fan-out that returns by ``until`` (monotonic)."""
    started = time.monotonic()
    minio = Once(partial(runtime.minio, tenant))
    calls: dict[str, Callable[[], Any]] = {
        # The canary is the one sequential chain (PUT, GET, DELETE): start it first.
        "canary": lambda: _hedged_canary(minio(), tenant.probe.bucket, until),
        "live": lambda: _liveness(minio(), until),
        "info": lambda: _hedged_info(minio(), until),
        "write": lambda: _hedged_quorum(minio(), False, until),
        "read": lambda: _hedged_quorum(minio(), True, until),
        "buckets": lambda: _bucket_exposure(minio(), until),
        "credentials": partial(_uses_default_credentials, runtime, tenant),
    }
    if tenant.backup is not None:
        calls["backup"] = partial(_backup, runtime, tenant, tenant.backup)
    ref = tenant.kubernetes
    if ref is not None:
        ns, name = ref.namespace, tenant.tenant_name
        kube = Once(partial(_require_kube, runtime, tenant))
        tenant_info = Once(lambda: kube().get_tenant(ns, name))
        operator = _operator_ref(runtime, ref.cluster)
        calls |= {
            "k8s.tenant": tenant_info,
            "k8s.operator": lambda: _operator_pods(kube(), *operator),
            "k8s.pods": lambda: kube().list_pods(ns, name),
            "k8s.statefulsets": lambda: kube().list_statefulsets(ns, name),
            "k8s.pvcs": lambda: kube().list_pvcs(ns, name),
            "k8s.events": lambda: kube().list_events(ns, warning_only=True, since=EVENTS_WINDOW),
            "k8s.netpol": lambda: kube().list_network_policies(ns),
            "k8s.tls": lambda: _tenant_tls(kube(), tenant_info(), ns),
            "k8s.root": lambda: _tenant_root_default(kube(), tenant_info(), ns),
            "k8s.metrics": lambda: kube().pod_metrics(ns, name),
        }
    results = fan_out(calls, deadline_s=max(0.01, until - time.monotonic()), max_workers=len(calls))
    client = minio.value
    endpoints = client.endpoints if client is not None else tenant.endpoints
    facts = MinioFacts(
        nodes=[NodeRef(i, _address(e)) for i, e in enumerate(endpoints, start=1)],
        liveness=results["live"],
        info=results["info"],
        cluster_write=results["write"],
        cluster_read=results["read"],
        canary=results["canary"],
        buckets=results["buckets"],
        default_credentials=results["credentials"],
        backup=results.get("backup"),
        https=all(e.startswith("https://") for e in endpoints) if endpoints else False,
    )
    kube_facts = None
    if ref is not None:
        kube_facts = KubeFacts(
            namespace=ref.namespace,
            tenant=tenant.tenant_name,
            operator="/".join(operator),
            **{field: results[key] for field, key in _KUBE_KEYS.items()},
        )
    return TenantFacts(minio=facts, kube=kube_facts, elapsed_s=time.monotonic() - started)


_KUBE_KEYS: Mapping[str, str] = {
    "tenant_info": "k8s.tenant",
    "operator_pods": "k8s.operator",
    "pods": "k8s.pods",
    "statefulsets": "k8s.statefulsets",
    "pvcs": "k8s.pvcs",
    "events": "k8s.events",
    "network_policies": "k8s.netpol",
    "tls": "k8s.tls",
    "root_default": "k8s.root",
    "metrics": "k8s.metrics",
}
