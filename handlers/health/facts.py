"""Gather what `/minio health` evaluates: every MinIO and Kubernetes call, in one fan-out, under one deadline.

Nothing here decides anything. Each fact is either its value or the
:class:`ClientError` that explains why it is missing, so the evaluation can
say "could not check: ..." for one part and still judge the rest.

Calls that any node can answer are hedged (:mod:`handlers.health.hedging`).
Behind a load balancer (``client.per_node`` false) no answer can be tied to a
node, so liveness is not asked per node: the cluster's own health endpoint
says whether MinIO answers at all (:class:`LoadBalanced`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from bot.clients.errors import PER_NODE_UNAVAILABLE, ClientError, CredentialsUnavailable, ErrorKind, MinioError
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
from handlers.health.hedging import Once, first_answer, rotated

DEFAULT_CREDENTIAL = "minioadmin"  # MinIO's documented default root user and password
EVENTS_WINDOW = timedelta(hours=1)  # "recent" Warning events
MAX_POLICY_CHECKS = 100  # bucket policies read per check; more buckets are reported as unchecked
BACKUP_MAX_KEYS = 10_000


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
class LoadBalanced:
    """Liveness behind a load balancer: no verdict per node, only whether the cluster answers.

    ``cluster`` is ``/minio/health/cluster`` through the balancer: any answer
    (200, or 503 for a lost quorum, which Storage integrity judges) means MinIO
    answers; an error means nothing behind the balancer does.
    """

    cluster: ClusterHealth | ClientError
    why: str = PER_NODE_UNAVAILABLE


@dataclass(frozen=True)
class MinioFacts:
    """What the MinIO side said (or why it could not say)."""

    nodes: list[NodeRef]
    liveness: dict[int, Probe] | LoadBalanced | ClientError
    info: ServerInfo | ClientError
    cluster_write: ClusterHealth | ClientError
    cluster_read: ClusterHealth | ClientError
    canary: CanaryResult | ClientError
    buckets: BucketExposure | ClientError
    default_credentials: bool | ClientError
    backup: BackupFreshness | ClientError | None  # None: no backup target configured
    https: bool  # the bot reaches the tenant over https
    # Nodes whose cluster probe answered "still starting" (503 with X-Minio-Server-Status), by
    # node number, with the phase they named. The quorum probes moved on to other nodes.
    starting: Mapping[int, str] = field(default_factory=dict)

    def node_at(self, address: str) -> NodeRef | None:
        """The node the bot reaches at ``address`` (``host:port``), if it is one of them.

        Never the address of a load balancer: no server is that node.
        """
        if isinstance(self.liveness, LoadBalanced):
            return None
        return next((n for n in self.nodes if n.address == address), None)


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


# ---------------------------------------------------------------- MinIO calls


def load_balanced_liveness(client: MinioClient) -> LoadBalanced:
    """For a client whose endpoints are load-balanced: the cluster endpoint's answer instead of per-node liveness."""
    try:
        return LoadBalanced(cluster=client.cluster_health())
    except ClientError as exc:
        return LoadBalanced(cluster=exc)


def _liveness(client: MinioClient, until: float) -> dict[int, Probe] | LoadBalanced:
    """Every node's ``/minio/health/live``; behind a load balancer, the cluster endpoint instead."""
    if not client.per_node:
        return load_balanced_liveness(client)
    started = time.monotonic()
    probes = fan_out({str(n): partial(client.liveness, n) for n in client.nodes}, deadline_s=time_left(until))
    out: dict[int, Probe] = {}
    for key, probe in probes.items():
        if isinstance(probe, ClientError):
            # The fan-out deadline passed before the probe's own timeout: the node did not answer.
            probe = Probe(
                node=int(key),
                url=client.endpoints[int(key) - 1],
                ok=False,
                latency_ms=(time.monotonic() - started) * 1000,  # how long it was waited for
                error=str(probe),
                error_kind=probe.kind,
            )
        out[int(key)] = probe
    return out


# Nodes asked for admin `info` at once. With a hung peer every node's `info` waits MinIO's
# 10 s peer timeout before it answers, so a node brought in one hedge later answers one hedge
# too late for a 12 s report; two at the start cover one hung node of any size of cluster.
INFO_SPREAD = 2


def _hedged_info(client: MinioClient, until: float) -> ServerInfo:
    return first_answer(lambda n: client.server_info(node=n), rotated(client.nodes, 0), until, spread=INFO_SPREAD)


def _hedged_quorum(client: MinioClient, read: bool, until: float, starting: dict[int, str]) -> ClusterHealth:
    """The first node's quorum verdict. A 503 that says quorum is lost is an answer; a node that
    is still starting (503 with ``X-Minio-Server-Status``) evaluated nothing, so the next node is
    asked, and ``starting`` notes the node and its phase."""

    def attempt(node: int) -> ClusterHealth:
        health = client.cluster_health(read=read, node=node)
        if health.starting:
            starting[node] = health.server_status or "starting"
        return health

    order = rotated(client.nodes, 2 if read else 1)
    return first_answer(attempt, order, until, conclusive=lambda health: not health.starting)


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
        deadline_s=time_left(until),
        max_workers=8,
    )
    public = sorted(name for name, result in results.items() if result is True)
    failed = {name: str(result) for name, result in results.items() if isinstance(result, ClientError)}
    return BucketExposure(total=len(names), checked=len(checked), public=public, failed=failed)


def _uses_default_credentials(runtime: Runtime, tenant: TenantConfig) -> bool | CredentialsUnavailable:
    """Whether the bot's own keys are MinIO's documented default; missing keys are the answer as they are."""
    try:
        access, secret = runtime.credentials(tenant)
    except CredentialsUnavailable as missing:
        return missing  # "no credentials configured/readable for tenant X (why)": nothing was checked
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


def time_left(until: float, margin: float = 0.05) -> float:
    """Seconds left before ``until`` (a ``time.monotonic()`` instant), keeping ``margin`` back; never zero."""
    return max(0.01, until - time.monotonic() - margin)


def _address(endpoint: str) -> str:
    return urlsplit(endpoint).netloc or endpoint


def gather_tenants(runtime: Runtime, tenants: list[TenantConfig], until: float) -> list[TenantFacts]:
    """Every fact for each tenant, in the order given: one fan-out for all of them, returning by ``until``."""
    started = time.monotonic()
    plans = [_Plan(runtime, tenant, until) for tenant in tenants]
    # Keys name the call in a timeout ("demo/info timed out"), so they carry the tenant's name.
    calls = {f"{plan.tenant.name}/{key}": call for plan in plans for key, call in plan.calls.items()}
    results = fan_out(calls, deadline_s=max(0.01, until - time.monotonic()), max_workers=max(1, len(calls)))
    elapsed = time.monotonic() - started
    return [
        plan.facts({key: results[f"{plan.tenant.name}/{key}"] for key in plan.calls}, elapsed) for plan in plans
    ]


class _Plan:
    """The calls that gather one tenant's facts, and how their results become :class:`TenantFacts`."""

    def __init__(self, runtime: Runtime, tenant: TenantConfig, until: float) -> None:
        self.tenant = tenant
        self.minio = Once(partial(runtime.minio, tenant))
        self.starting: dict[int, str] = {}  # filled by the quorum probes as they run
        self.calls = _minio_calls(runtime, tenant, self.minio, until, self.starting)
        ref = tenant.kubernetes
        self.operator = _operator_ref(runtime, ref.cluster) if ref is not None else ("", "")
        if ref is not None:
            self.calls |= _kube_calls(runtime, tenant, ref.namespace, self.operator)

    def facts(self, results: Mapping[str, Any], elapsed_s: float) -> TenantFacts:
        client = self.minio.value
        endpoints = client.endpoints if client is not None else self.tenant.endpoints
        minio = MinioFacts(
            nodes=[NodeRef(i, _address(e)) for i, e in enumerate(endpoints, start=1)],
            https=all(e.startswith("https://") for e in endpoints) if endpoints else False,
            backup=results.get("backup"),
            starting=dict(sorted(dict(self.starting).items())),  # copied first: late probes may still add
            **{name: results[key] for name, key in _MINIO_KEYS.items()},
        )
        ref = self.tenant.kubernetes
        kube = None
        if ref is not None:
            kube = KubeFacts(
                namespace=ref.namespace,
                tenant=self.tenant.tenant_name,
                operator="/".join(self.operator),
                **{name: results[key] for name, key in _KUBE_KEYS.items()},
            )
        return TenantFacts(minio=minio, kube=kube, elapsed_s=elapsed_s)


def _minio_calls(
    runtime: Runtime, tenant: TenantConfig, minio: Once[MinioClient], until: float, starting: dict[int, str]
) -> dict[str, Callable[[], Any]]:
    calls: dict[str, Callable[[], Any]] = {
        # The canary is the one sequential chain (PUT, GET, DELETE): start it first.
        "canary": lambda: _hedged_canary(minio(), tenant.probe.bucket, until),
        "live": lambda: _liveness(minio(), until),
        "info": lambda: _hedged_info(minio(), until),
        "write": lambda: _hedged_quorum(minio(), False, until, starting),
        "read": lambda: _hedged_quorum(minio(), True, until, starting),
        "buckets": lambda: _bucket_exposure(minio(), until),
        "credentials": partial(_uses_default_credentials, runtime, tenant),
    }
    if tenant.backup is not None:
        calls["backup"] = partial(_backup, runtime, tenant, tenant.backup)
    return calls


def _kube_calls(
    runtime: Runtime, tenant: TenantConfig, ns: str, operator: tuple[str, str]
) -> dict[str, Callable[[], Any]]:
    name = tenant.tenant_name
    kube = Once(partial(_require_kube, runtime, tenant))
    tenant_info = Once(lambda: kube().get_tenant(ns, name))
    return {
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


_MINIO_KEYS: Mapping[str, str] = {
    "liveness": "live",
    "info": "info",
    "cluster_write": "write",
    "cluster_read": "read",
    "canary": "canary",
    "buckets": "buckets",
    "default_credentials": "credentials",
}
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
