"""`/minio health [tenant]`: is this tenant well, and if not, why?

One report per tenant with an overall HEALTHY / DEGRADED / UNHEALTHY and the
reasons that decided it, from Kubernetes (operator, pods, StatefulSets, PVCs,
Tenant status, events), the MinIO service (nodes, versions, drives), storage
integrity (quorum, healing, how many more nodes it can lose), a canary
PUT/GET/DELETE, security (NetworkPolicy, TLS expiry, default credentials,
public buckets), backup age and pod resources. Without a tenant: one line per
tenant the channel sees, worst first.

Inside: ``facts`` gathers (one fan-out, one deadline), ``evaluate`` judges
(pure, one module per section), ``present`` builds the report. Other
capabilities use :func:`check_tenant` and :class:`TenantHealth` (and ``tenants``
the load-balanced liveness, :func:`load_balanced_liveness`).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from bot.application import Capability
from bot.commands import Arg
from bot.config import TenantConfig
from bot.invocation import Invocation
from bot.report import Report
from bot.runtime import Runtime
from handlers.health.check import TenantHealth, check_tenant, check_tenants
from handlers.health.facts import LoadBalanced, backup_tenant, load_balanced_liveness
from handlers.health.present import summary_report, tenant_report

__all__ = [
    "LoadBalanced",
    "TenantHealth",
    "backup_tenant",
    "capability",
    "check_tenant",
    "check_tenants",
    "health_report",
    "load_balanced_liveness",
]

capability = Capability("health", __doc__)


class HealthArgs(BaseModel):
    """Arguments of `/minio health`."""

    model_config = ConfigDict(extra="forbid")
    tenant: str | None = None


def health_report(runtime: Runtime, tenants: list[TenantConfig]) -> Report:
    """One tenant: its full report. Several: a summary with one row per tenant and the reasons."""
    results = check_tenants(runtime, tenants)
    if len(results) == 1:
        return tenant_report(results[0])
    return summary_report(results)


@capability.verb(
    "health",
    summary="Full health report: HEALTHY / DEGRADED / UNHEALTHY with the reasons.",
    model=HealthArgs,
    args=(Arg("tenant", "a tenant name; every tenant this channel can see when omitted"),),
    details=(
        "Checks Kubernetes (operator, pods, StatefulSets, PVCs, Tenant status, events), the MinIO service "
        "(nodes, versions, drives), storage integrity (quorum, healing, how many more nodes it can lose), "
        "a canary PUT/GET/DELETE, security (NetworkPolicy, TLS expiry, default credentials, public buckets), "
        "backup age and resource usage. In the shell it exits 0/1/2 for HEALTHY/DEGRADED/UNHEALTHY."
    ),
    examples=("/minio health demo", "/minio health"),
    slow=True,
)
def health_command(inv: Invocation, args: HealthArgs) -> Report:
    """Check the named tenant, or every tenant this channel can see."""
    return health_report(inv.runtime, inv.tenants_or_one(args.tenant))
