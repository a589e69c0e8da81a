"""What a scaling plan reads before it is shown: one parallel read per plan, under the report deadline.

Each reader returns typed facts: the Tenant is required (no plan without it,
its read error is raised); every other fact is its value or the ClientError
that stands in its place, for the preflight to report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from bot.changes.tenant import TenantHandle, TenantObject
from bot.clients.errors import ClientError
from bot.clients.fanout import fan_out, required
from bot.clients.kube_models import EventInfo, PoolInfo, PvcInfo, StorageClassInfo
from bot.clients.minio_models import ClusterHealth, HealStatus, PoolStatus, ServerInfo
from bot.runtime import Runtime

STUCK_EVENTS = 8


def _read(runtime: Runtime, calls: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    return fan_out(calls, deadline_s=runtime.config.timeouts.report_deadline)


@dataclass(frozen=True)
class AddPoolFacts:
    """What adding a pool is previewed from."""

    tenant: TenantObject
    classes: list[StorageClassInfo] | ClientError
    info: ServerInfo | ClientError
    health: ClusterHealth | ClientError


def add_pool_facts(runtime: Runtime, handle: TenantHandle) -> AddPoolFacts:
    """The Tenant, the cluster's StorageClasses, MinIO's info and write quorum, in parallel."""
    client = runtime.minio(handle.config)
    got = _read(runtime, {"tenant": handle.read, "classes": handle.kube.list_storage_classes,
                          "info": client.server_info, "health": client.cluster_health})
    return AddPoolFacts(tenant=required(got["tenant"]), classes=got["classes"], info=got["info"],
                        health=got["health"])


@dataclass(frozen=True)
class StorageFacts:
    """What growing a pool's volumes is previewed from."""

    tenant: TenantObject
    classes: dict[str, StorageClassInfo]
    pvcs: list[PvcInfo]
    info: ServerInfo | ClientError


def storage_facts(runtime: Runtime, handle: TenantHandle) -> StorageFacts:
    """The Tenant, StorageClasses and PVCs (all required) and MinIO's info, in parallel."""
    got = _read(runtime, {"tenant": handle.read, "classes": handle.kube.list_storage_classes,
                          "pvcs": partial(handle.kube.list_pvcs, handle.namespace, handle.name),
                          "info": runtime.minio(handle.config).server_info})
    classes: list[StorageClassInfo] = required(got["classes"])
    return StorageFacts(tenant=required(got["tenant"]), classes={c.name: c for c in classes},
                        pvcs=required(got["pvcs"]), info=got["info"])


def pvc_dry_runs(runtime: Runtime, handle: TenantHandle, names: list[str], patch: dict[str, Any]
                 ) -> dict[str, object]:
    """The API server's answer to ``patch`` on each PVC with ``dryRun=All``: None when accepted, else the error."""
    return _read(runtime, {name: partial(handle.kube.patch_pvc, handle.namespace, name, patch, dry_run=True)
                           for name in names})


@dataclass(frozen=True)
class RollingFacts:
    """What a change that rolls a pool's pods is previewed (and re-checked) from."""

    tenant: TenantObject
    health: ClusterHealth | ClientError
    info: ServerInfo | ClientError
    heal: HealStatus | ClientError


def rolling_facts(runtime: Runtime, handle: TenantHandle) -> RollingFacts:
    """The Tenant, write quorum, MinIO's info and healing state, in parallel."""
    client = runtime.minio(handle.config)
    got = _read(runtime, {"tenant": handle.read, "health": client.cluster_health, "info": client.server_info,
                          "heal": client.heal_status})
    return RollingFacts(tenant=required(got["tenant"]), health=got["health"], info=got["info"], heal=got["heal"])


@dataclass(frozen=True)
class DecommissionFacts:
    """What a decommission is previewed (and re-checked) from."""

    tenant: TenantObject
    pools: list[PoolStatus] | ClientError
    info: ServerInfo | ClientError
    health: ClusterHealth | ClientError
    heal: HealStatus | ClientError


def decommission_facts(runtime: Runtime, handle: TenantHandle) -> DecommissionFacts:
    """The Tenant, MinIO's pools, info, write quorum and healing state, in parallel."""
    client = runtime.minio(handle.config)
    got = _read(runtime, {"tenant": handle.read, "pools": client.pools_list, "info": client.server_info,
                          "health": client.cluster_health, "heal": client.heal_status})
    return DecommissionFacts(tenant=required(got["tenant"]), pools=got["pools"], info=got["info"],
                             health=got["health"], heal=got["heal"])


def pool_facts(runtime: Runtime, handle: TenantHandle) -> tuple[TenantObject, list[PoolStatus]]:
    """The Tenant and MinIO's pools (both required), in parallel."""
    got = _read(runtime, {"tenant": handle.read, "pools": runtime.minio(handle.config).pools_list})
    return required(got["tenant"]), required(got["pools"])


def stuck_events(handle: TenantHandle, needle: str, since_s: float) -> list[str]:
    """Recent warning events about the Tenant or any object whose name contains ``needle`` (pods, PVCs, sets)."""
    try:
        events: list[EventInfo] = handle.kube.list_events(handle.namespace, True, timedelta(seconds=since_s + 120))
    except ClientError as exc:
        return [f"(events could not be read: {exc})"]
    lines = []
    for event in events:
        if needle in event.object or event.object == f"Tenant/{handle.name}":
            times = f" (x{event.count})" if event.count > 1 else ""
            lines.append(f"{event.object} {event.reason}: {(event.message or '')[:200]}{times}")
    return lines[:STUCK_EVENTS]


def pod_starts(handle: TenantHandle, pools: list[str]) -> dict[str, str]:
    """Start time (ISO) of each pod of ``pools`` right now ("" when the pod has none yet)."""
    pods = handle.kube.list_pods(handle.namespace, handle.name)
    return {p.name: p.started_at.isoformat() if p.started_at else "" for p in pods if p.pool in pools}


def tenant_pools(handle: TenantHandle | None) -> list[PoolInfo] | None:
    """The Tenant's pools, or None when there is no Tenant or it cannot be read (for explanations only)."""
    if handle is None:
        return None
    try:
        return handle.read().info.pools
    except ClientError:
        return None
