"""`/minio tenants`: every tenant this channel may see, one status line each."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from bot.application import Capability
from bot.clients.errors import ClientError
from bot.clients.fanout import fan_out
from bot.commands import NoArgs, Verb
from bot.config import TenantConfig
from bot.invocation import Invocation, UserError
from bot.report import Report, Row, Section, Status, worst
from bot.runtime import Runtime


def _liveness(runtime: Runtime, tenant: TenantConfig) -> tuple[int, int, dict[int, str]]:
    """(live nodes, nodes, {down node: why}) from `/minio/health/live` on every node."""
    client = runtime.minio(tenant)
    probes = fan_out(
        {str(n): partial(client.liveness, n) for n in range(1, len(client.endpoints) + 1)},
        deadline_s=runtime.config.timeouts.probe + 0.5,
    )
    down: dict[int, str] = {}
    for key, probe in probes.items():
        if isinstance(probe, ClientError):
            down[int(key)] = probe.detail
        elif not probe.ok:
            down[int(key)] = probe.error or f"HTTP {probe.status}"
    return len(probes) - len(down), len(probes), dict(sorted(down.items()))


def _kubernetes(runtime: Runtime, tenant: TenantConfig) -> tuple[str | None, int, int]:
    """(Tenant healthStatus, ready pods, pods) from the Kubernetes API."""
    kube = runtime.kube_for(tenant)
    assert kube is not None and tenant.kubernetes is not None
    info = kube.get_tenant(tenant.kubernetes.namespace, tenant.tenant_name)
    pods = kube.list_pods(tenant.kubernetes.namespace, tenant.tenant_name)
    health = info.status.health_status if info.status else None
    return health, sum(1 for p in pods if p.ready), len(pods)


def tenant_line(runtime: Runtime, tenant: TenantConfig) -> tuple[Status, str]:
    """One status line for a tenant: MinIO liveness plus, when known, the Tenant resource."""
    calls: dict[str, Callable[[], Any]] = {"minio": lambda: _liveness(runtime, tenant)}
    if tenant.kubernetes:
        calls["kube"] = lambda: _kubernetes(runtime, tenant)
    results = fan_out(calls, deadline_s=runtime.config.timeouts.report_deadline)
    parts: list[str] = []
    statuses: list[Status] = []
    minio = results["minio"]
    if isinstance(minio, ClientError):
        parts.append(f"MinIO: {minio}")
        statuses.append(Status.UNKNOWN)
    else:
        live, total, down = minio
        text = f"{live}/{total} nodes live"
        if down:
            text += " (down: " + ", ".join(f"node {n}: {why}" for n, why in down.items()) + ")"
        parts.append(text)
        statuses.append(Status.HEALTHY if live == total else Status.UNHEALTHY if live == 0 else Status.DEGRADED)
    if "kube" in results:
        kube = results["kube"]
        if isinstance(kube, ClientError):
            parts.append(f"Kubernetes: {kube}")
            statuses.append(Status.UNKNOWN)
        else:
            health, ready, pods = kube
            parts.append(f"Tenant {health or 'status unknown'}")
            parts.append(f"{ready}/{pods} pods ready")
            statuses.append(
                {"green": Status.HEALTHY, "yellow": Status.DEGRADED, "red": Status.UNHEALTHY}.get(
                    health or "", Status.UNKNOWN
                )
            )
            if pods and ready < pods:
                statuses.append(Status.DEGRADED)
    where = f"{tenant.kubernetes.namespace}/{tenant.tenant_name}" if tenant.kubernetes else "static endpoints"
    return worst(statuses), f"*{tenant.name}* ({where}): " + " · ".join(parts)


def tenants_command(inv: Invocation, _args: NoArgs) -> Report:
    """List visible tenants with a one-line status each, checked in parallel."""
    tenants = inv.visible_tenants()
    if not tenants:
        raise UserError("No tenants are visible in this channel. Ask an admin to add it to a tenant's channels.")
    results = fan_out(
        {t.name: partial(tenant_line, inv.runtime, t) for t in tenants},
        deadline_s=inv.runtime.config.timeouts.report_deadline + 1,
    )
    lines: list[str] = []
    statuses: list[Status] = []
    for tenant in tenants:
        result = results[tenant.name]
        if isinstance(result, ClientError):
            statuses.append(Status.UNKNOWN)
            lines.append(f"*{tenant.name}*: {result}")
        else:
            statuses.append(result[0])
            lines.append(result[1])
    rows = [Row(status=s, text=t) for s, t in zip(statuses, lines, strict=True)]
    section = Section(title=f"{len(tenants)} tenant(s)", rows=rows)
    footer = [f"Discovery failed for cluster `{c}`: {e}" for c, e in inv.runtime.discovery_errors.items()]
    return Report(title="Tenants", status=worst(statuses), sections=[section], footer=footer)


VERB = Verb(
    name="tenants",
    summary="List the tenants this channel can see, with a one-line status each.",
    model=NoArgs,
    handler=tenants_command,
)

capability = Capability("tenants", __doc__)
capability.add_verb(VERB)
