"""What every incident diagnostic shares: the incident types, the `Diagnosis` result, Kubernetes access and
section helpers.

Each type lives in its own module (`incident_pod_crash`, `incident_storage_full`, ...): it gathers its facts in
one parallel fan-out under one deadline, then a pure function turns them into sections and next actions. A fact
that could not be gathered is its `ClientError`, shown as "could not check" in its own section.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import Any, TypeAlias, TypeVar

from bot.clients.errors import ClientError, KubeError, PerNodeUnavailable
from bot.clients.fanout import fan_out
from bot.clients.kube import KubeClient
from bot.clients.kube_models import (
    EventInfo,
    NetworkPolicyInfo,
    PodInfo,
    PodMetrics,
    PvcInfo,
    ServiceInfo,
    TenantInfo,
)
from bot.commands import escape
from bot.config import TenantConfig
from bot.redact import redact
from bot.report import Section, Status
from bot.runtime import Runtime

T = TypeVar("T")


class IncidentType(StrEnum):
    """The incident types the old incident-response script knew, now backed by real checks."""

    POD_CRASH = "pod-crash"
    STORAGE_FULL = "storage-full"
    NETWORK_ISSUE = "network-issue"
    PERFORMANCE = "performance"
    SECURITY = "security"
    DATA_LOSS = "data-loss"


INCIDENT_TYPES: tuple[str, ...] = tuple(t.value for t in IncidentType)

EVENTS_WINDOW = timedelta(hours=1)
MAX_EVENTS = 10
MAX_BUCKETS = 100  # per-bucket S3 calls per diagnosis; more buckets are reported as unchecked


@dataclass(frozen=True)
class Diagnosis:
    """What one diagnostic found: its sections and what to do next, most urgent first."""

    sections: list[Section]
    next_actions: list[str]


# A gathered fact: its value, or the error that says why it is missing.
Fact: TypeAlias = T | ClientError


@dataclass(frozen=True)
class KubeTarget:
    """A tenant's Kubernetes client, namespace and Tenant name: the reads the diagnostics need."""

    client: KubeClient
    namespace: str
    name: str

    def pods(self) -> list[PodInfo]:
        return self.client.list_pods(self.namespace, self.name)

    def events(self) -> list[EventInfo]:
        return self.client.list_events(self.namespace, warning_only=True, since=EVENTS_WINDOW)

    def pvcs(self) -> list[PvcInfo]:
        return self.client.list_pvcs(self.namespace, self.name)

    def services(self) -> list[ServiceInfo]:
        return self.client.list_services(self.namespace)

    def policies(self) -> list[NetworkPolicyInfo]:
        return self.client.list_network_policies(self.namespace)

    def metrics(self) -> list[PodMetrics]:
        return self.client.pod_metrics(self.namespace, self.name)

    def tenant(self) -> TenantInfo:
        return self.client.get_tenant(self.namespace, self.name)


def kube_target(runtime: Runtime, tenant: TenantConfig) -> KubeTarget:
    """Where a tenant that runs on Kubernetes lives (callers check `tenant.kubernetes` first)."""
    if tenant.kubernetes is None:  # pragma: no cover - callers check first
        raise KubeError("unavailable", "Kubernetes", "this tenant has no Kubernetes Tenant")
    kube = runtime.kube_for(tenant)
    assert kube is not None
    return KubeTarget(kube, tenant.kubernetes.namespace, tenant.tenant_name)


def time_left(until: float) -> float:
    """Seconds until `until` (monotonic), never less than a sliver so a late call still gets a chance."""
    return max(0.05, until - time.monotonic())


def gather(calls: Mapping[str, Callable[[], Any]], until: float) -> dict[str, Any]:
    """Run `calls` in parallel; each key gets its result or the ClientError that explains why not."""
    return fan_out(calls, deadline_s=time_left(until), max_workers=max(1, len(calls)))


def failed_section(title: str, error: ClientError) -> Section:
    """A section that could not be checked, saying why."""
    return Section(title=title, status=Status.UNKNOWN, error=str(error))


def not_on_kubernetes(title: str) -> Section:
    """The section for a Kubernetes fact of a tenant that has only static endpoints."""
    return Section(title=title, status=Status.INFO, lines=["Static tenant: there is no Kubernetes Tenant to inspect."])


def safe_text(value: str | None, limit: int = 200) -> str:
    """Untrusted text (event messages, reasons) made safe for mrkdwn and free of secrets."""
    return escape(redact(value or ""), limit)


def ms(value: float | None) -> str:
    """A latency in milliseconds, or n/a."""
    return "n/a" if value is None else f"{value:.0f} ms"


def clock_time(when: datetime | None) -> str:
    """`HH:MM:SS` (UTC) of an event."""
    return when.strftime("%H:%M:%S") if when else "--:--:--"


def _tenant_events(events: list[EventInfo], tenant: str) -> list[EventInfo]:
    """Warning events about the tenant's own objects (pods, StatefulSets, PVCs, the Tenant)."""
    mine = [e for e in events if e.object.split("/", 1)[-1].startswith(tenant) or e.object == f"Tenant/{tenant}"]
    return mine[:MAX_EVENTS]


def events_section(events: Fact[list[EventInfo]] | None, tenant: str) -> Section:
    """Recent Warning events about the tenant's objects."""
    title = "Recent warning events (1 h)"
    if events is None:
        return not_on_kubernetes(title)
    if isinstance(events, ClientError):
        return failed_section(title, events)
    mine = _tenant_events(events, tenant)
    if not mine:
        return Section(title=title, status=Status.HEALTHY, lines=["No warning events about this tenant."])
    lines = [
        f"{clock_time(e.last_seen)} `{safe_text(e.object, 80)}` *{safe_text(e.reason, 60)}*: {safe_text(e.message)}"
        + (f" (x{e.count})" if e.count > 1 else "")
        for e in mine
    ]
    return Section(title=title, status=Status.DEGRADED, lines=lines)


def server_label(endpoint: str) -> str:
    """A MinIO server endpoint as reports show it."""
    return escape(endpoint, 80)


PER_NODE = "per-node"  # the gather key saying why there are no per-node probes (load-balanced endpoints)


def add_liveness_probes(calls: dict[str, Callable[[], Any]], runtime: Runtime, tenant: TenantConfig) -> list[str]:
    """Add a `probe:<node>` liveness call per MinIO node to `calls`; returns the endpoints.

    When the client cannot be built (e.g. credentials), one `probe:0` carries that error. Behind a load
    balancer no answer belongs to a node: no probe is added, and `per-node` says why (see `per_node_unavailable`).
    """
    try:
        client = runtime.minio(tenant)
    except ClientError as exc:
        calls["probe:0"] = partial(raise_error, exc)
        return []
    if not client.per_node:
        calls[PER_NODE] = partial(raise_error, PerNodeUnavailable.asked("liveness of each node"))
        return []
    for n in client.nodes:
        calls[f"probe:{n}"] = partial(client.liveness, n)
    return list(client.endpoints)


def per_node_unavailable(got: Mapping[str, Any]) -> str | None:
    """Why a gather has no per-node probes (endpoints are load-balanced), or None."""
    reason = got.get(PER_NODE)
    return str(reason) if reason is not None else None


def probes_of(got: Mapping[str, Any]) -> dict[int, Any]:
    """The `probe:<node>` results of a gather, by node number."""
    return {int(k.split(":", 1)[1]): v for k, v in got.items() if k.startswith("probe:")}


def raise_error(exc: ClientError) -> Any:
    """A call that fails with `exc` (so a fact that failed before the fan-out still gets its section)."""
    raise exc
