"""What the maintenance check and a window's preview read: one parallel read each, under the report deadline.

Per-node questions ("can node 3 go down now?", MinIO's ``?maintenance=true``)
are only asked of endpoints that are one node each: behind a load balancer
the answer could come from any node, so none is asked and the facts say why
(:class:`~bot.clients.errors.PerNodeUnavailable`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from bot.changes.tenant import TenantHandle, TenantObject, kube_handle
from bot.clients.errors import ClientError, PerNodeUnavailable
from bot.clients.fanout import fan_out, required
from bot.clients.kube import KubeClient
from bot.clients.kube_models import EventInfo, PodInfo, PvcInfo
from bot.clients.minio import MinioClient
from bot.clients.minio_models import ClusterHealth
from bot.config import TenantConfig
from bot.models import Frozen
from bot.runtime import Runtime
from bot.store import MaintenanceWindow

EVENTS_SINCE = timedelta(hours=1)


def _read(runtime: Runtime, calls: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    return fan_out(calls, deadline_s=runtime.config.timeouts.report_deadline)


def console_name(tenant: TenantConfig) -> str:
    """The console Deployment name older operators created: ``<tenant>-console``."""
    return f"{tenant.tenant_name}-console"


class ConsoleState(Frozen):
    """The console Deployment older operators create (operator v6+ has none)."""

    name: str
    replicas: int
    resource_version: str


def console_state(kube: KubeClient, namespace: str, tenant: TenantConfig) -> ConsoleState | None:
    """The console Deployment if one exists (None when there is none)."""
    try:
        deployment = kube.get_deployment(namespace, console_name(tenant))
    except ClientError as exc:
        if exc.kind == "not_found":
            return None
        raise
    return ConsoleState(name=deployment.name, replicas=deployment.replicas,
                        resource_version=deployment.resource_version)


# ----------------------------------------------------------------------------- MinIO, node by node


@dataclass(frozen=True)
class NodeAnswer:
    """One node's answer to "can it be taken down now?" (or why it gave none)."""

    number: int
    address: str  # host:port the bot asked
    pod: str | None  # the pod it is, when the bot reaches nodes pod by pod
    answer: ClusterHealth | ClientError


def _node_calls(client: MinioClient) -> dict[str, Callable[[], ClusterHealth]]:
    return {f"node:{n}": partial(client.cluster_health, maintenance=True, node=n) for n in client.nodes}


def _node_answers(client: MinioClient, got: dict[str, Any]) -> list[NodeAnswer]:
    addresses = [url.split("://", 1)[-1] for url in client.endpoints]
    return [NodeAnswer(n, address, client.node_name(n), got[f"node:{n}"])
            for n, address in zip(client.nodes, addresses, strict=True)]


def _minio(runtime: Runtime, tenant: TenantConfig) -> MinioClient | ClientError:
    try:
        return runtime.minio(tenant)
    except ClientError as exc:
        return exc


def _per_node(client: MinioClient | ClientError) -> ClientError | None:
    """Why no node can be asked on its own (None when every endpoint is one node)."""
    if isinstance(client, ClientError):
        return client
    return None if client.per_node else PerNodeUnavailable.asked("maintenance check")


# ----------------------------------------------------------------------------- the check


@dataclass(frozen=True)
class CheckFacts:
    """Everything `maintenance <tenant> check` shows."""

    nodes: list[NodeAnswer]
    no_nodes: ClientError | None  # why no node was asked (load-balanced endpoints, no client)
    cluster: ClusterHealth | ClientError | None
    kubernetes: bool
    pods: list[PodInfo] | ClientError | None
    pvcs: list[PvcInfo] | ClientError | None
    events: list[EventInfo] | ClientError | None
    window: MaintenanceWindow | None


def check_facts(runtime: Runtime, tenant: TenantConfig) -> CheckFacts:
    """Each node's answer, cluster-wide quorum, the tenant's pods, PVCs and warning events, and its window."""
    client = _minio(runtime, tenant)
    no_nodes = _per_node(client)
    calls: dict[str, Callable[[], Any]] = {}
    if isinstance(client, MinioClient):
        calls["cluster"] = client.cluster_health
        if no_nodes is None:
            calls.update(_node_calls(client))
    handle = kube_handle(runtime, tenant)
    if handle is not None:
        calls["pods"] = partial(handle.kube.list_pods, handle.namespace, handle.name)
        calls["pvcs"] = partial(handle.kube.list_pvcs, handle.namespace, handle.name)
        calls["events"] = partial(handle.kube.list_events, handle.namespace, True, EVENTS_SINCE)
    got = _read(runtime, calls)
    nodes = _node_answers(client, got) if isinstance(client, MinioClient) and no_nodes is None else []
    return CheckFacts(nodes=nodes, no_nodes=no_nodes, cluster=got.get("cluster"), kubernetes=handle is not None,
                      pods=got.get("pods"), pvcs=got.get("pvcs"), events=got.get("events"),
                      window=runtime.store.maintenance.current(tenant.name))


# ----------------------------------------------------------------------------- enable and disable


@dataclass(frozen=True)
class WindowFacts:
    """What opening or closing a window is previewed (and re-checked) from."""

    handle: TenantHandle | None  # None: no Kubernetes Tenant configured
    tenant: TenantObject | None
    console: ConsoleState | None
    window: MaintenanceWindow | None
    health: ClusterHealth | ClientError
    nodes: list[NodeAnswer]
    no_nodes: ClientError | None


def window_facts(runtime: Runtime, tenant: TenantConfig, *, ask_nodes: bool = True) -> WindowFacts:
    """The Tenant and its console (required when configured), write quorum and each node's answer, in parallel."""
    client = _minio(runtime, tenant)
    no_nodes = _per_node(client) if ask_nodes else None
    calls: dict[str, Callable[[], Any]] = {}
    if isinstance(client, MinioClient):
        calls["health"] = client.cluster_health
        if ask_nodes and no_nodes is None:
            calls.update(_node_calls(client))
    handle = kube_handle(runtime, tenant)
    if handle is not None:
        calls["tenant"] = handle.read
        calls["console"] = partial(console_state, handle.kube, handle.namespace, tenant)
    got = _read(runtime, calls)
    nodes = _node_answers(client, got) if isinstance(client, MinioClient) and ask_nodes and no_nodes is None else []
    return WindowFacts(
        handle=handle,
        tenant=required(got["tenant"]) if handle is not None else None,
        console=required(got["console"]) if handle is not None else None,
        window=runtime.store.maintenance.current(tenant.name),
        health=got["health"] if isinstance(client, MinioClient) else client,
        nodes=nodes,
        no_nodes=no_nodes,
    )
