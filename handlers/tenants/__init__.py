"""`/minio tenants`: every tenant this channel may see, one status line each.

Each line says whether MinIO is live (node by node, or, behind a load
balancer, whether the cluster answers), and for Kubernetes Tenants the
Tenant's own health and how many of its pods are ready.
"""

from __future__ import annotations

from bot.application import Capability
from bot.commands import NoArgs
from bot.invocation import Invocation
from bot.report import Report
from handlers.tenants.facts import gather
from handlers.tenants.present import tenants_report

capability = Capability("tenants", __doc__)


@capability.verb(
    "tenants", summary="List the tenants this channel can see, with a one-line status each.", model=NoArgs
)
def tenants_command(inv: Invocation, _args: NoArgs) -> Report:
    """List visible tenants with a one-line status each, checked in parallel."""
    found = gather(inv.runtime, inv.tenants_or_one(None))
    return tenants_report(found, dict(inv.runtime.discovery_errors))
