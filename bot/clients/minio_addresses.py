"""Where a tenant's MinIO servers are: one endpoint per node, or one load-balanced URL.

A per-node question ("is node 3 live?", "can node 3 be taken down?") is only
meaningful when each endpoint is one server. The operator's `minio` Service
load-balances, so a Kubernetes Tenant is reached pod by pod through its
headless Service instead, by the stable names its StatefulSets give the pods:
`<tenant>-<pool>-<ordinal>.<tenant>-hl.<namespace>.svc.cluster.local:9000`.

Operator facts used here (from its public Tenant types): a pool's StatefulSet
is `<tenant>-<pool name>` unless `status.pools[i].ssName` says otherwise; MinIO
listens on port 9000 in every pod (the headless Service's port); the Tenant
serves TLS when `requestAutoCert` is true or absent (the operator's default)
or when `externalCertSecret` lists a certificate.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from bot.clients.kube_models import TenantInfo

MINIO_POD_PORT = 9000


class MinioAddresses(BaseModel):
    """The endpoints a MinioClient gets, node 1 first, and whether each is one server."""

    model_config = ConfigDict(frozen=True)

    endpoints: tuple[str, ...]
    per_node: bool
    node_names: tuple[str, ...] | None = None  # the pod behind each endpoint, when known


def tenant_uses_tls(spec: dict[str, Any]) -> bool:
    """True when the operator serves this Tenant over TLS (auto certificate by default, or an external one)."""
    auto = spec.get("requestAutoCert")
    external = spec.get("externalCertSecret")
    return auto is None or auto is True or (isinstance(external, list) and len(external) > 0)


def tenant_pods(info: TenantInfo) -> list[tuple[str, str]]:
    """(pool, pod name) of every MinIO pod the Tenant's spec asks for: pools in spec order, then ordinal."""
    states = info.status.pools if info.status else []
    pods: list[tuple[str, str]] = []
    for index, pool in enumerate(info.pools):
        statefulset = f"{info.name}-{pool.name}"
        if index < len(states) and states[index].ss_name:
            statefulset = states[index].ss_name
        pods.extend((pool.name, f"{statefulset}-{ordinal}") for ordinal in range(pool.servers))
    return pods


def pod_addresses(info: TenantInfo, pod_url: str) -> MinioAddresses:
    """One endpoint per pod, by its stable name (``pod_url`` is the cluster's template)."""
    scheme = "https" if tenant_uses_tls(info.raw_spec) else "http"
    pods = tenant_pods(info)
    endpoints = tuple(
        pod_url.format(
            scheme=scheme, pod=pod, pool=pool, tenant=info.name, namespace=info.namespace, port=MINIO_POD_PORT
        )
        for pool, pod in pods
    )
    return MinioAddresses(endpoints=endpoints, per_node=True, node_names=tuple(pod for _pool, pod in pods))


def service_addresses(namespace: str, tenant: str, minio_url: str) -> MinioAddresses:
    """One load-balanced URL for the whole Tenant: per-node verdicts are unavailable through it."""
    return MinioAddresses(endpoints=(minio_url.format(namespace=namespace, tenant=tenant),), per_node=False)


def static_addresses(endpoints: list[str], per_node: bool) -> MinioAddresses:
    """A tenant's configured static endpoints."""
    return MinioAddresses(endpoints=tuple(endpoints), per_node=per_node)
