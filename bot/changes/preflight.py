"""Preflight checks shared by scaling, upgrades and maintenance: is the tenant calm enough to change now?

Each function is pure over facts gathered by the caller (in parallel) and
returns one :class:`~bot.changes.Finding`: ok, or a sentence a person can act
on. "Blocking" means the change is refused; non-blocking findings are shown on
the card as warnings.
"""

from __future__ import annotations

from bot.changes.plan import Finding
from bot.changes.tenant import TenantObject
from bot.clients.errors import ClientError
from bot.clients.minio_models import ClusterHealth, HealStatus, PoolStatus, ServerInfo
from bot.store import Approval, ApprovalStatus

INITIALIZED = "Initialized"
BUSY_STATUSES = {ApprovalStatus.APPROVED, ApprovalStatus.EXECUTING}


def tenant_state_finding(tenant: TenantObject | ClientError) -> Finding:
    """The operator must report the Tenant ``Initialized``: anything else means it is busy with a change."""
    check = "Tenant state"
    if isinstance(tenant, ClientError):
        return Finding(check=check, ok=False, detail=f"Could not read the Tenant: {tenant}")
    status = tenant.info.status
    if status is None or not status.current_state:
        return Finding(check=check, ok=True, blocking=False,
                       detail="The operator has written no status yet; cannot tell whether it is busy.")
    if status.current_state == INITIALIZED:
        return Finding(check=check, ok=True, detail="The operator reports the Tenant Initialized (no change "
                       "in progress).")
    return Finding(check=check, ok=False, detail=f"The operator reports {status.current_state}: another change "
                   "is in progress. Wait until it reads Initialized.")


def tenant_health_finding(tenant: TenantObject | ClientError, *, blocking: bool = True) -> Finding:
    """The operator's own health verdict (``status.healthStatus``): red refuses, yellow warns."""
    check = "Tenant health"
    if isinstance(tenant, ClientError):
        return Finding(check=check, ok=False, blocking=blocking, detail=f"Could not read the Tenant: {tenant}")
    status = tenant.info.status
    health = status.health_status if status else None
    message = f" ({status.health_message})" if status and status.health_message else ""
    if health == "green":
        return Finding(check=check, ok=True, blocking=blocking, detail="The operator reports the Tenant green.")
    if health == "yellow":
        return Finding(check=check, ok=False, blocking=False,
                       detail=f"The operator reports the Tenant yellow{message}: some drives or nodes are degraded.")
    if health is None:
        return Finding(check=check, ok=True, blocking=False, detail="The operator reports no health yet.")
    return Finding(check=check, ok=False, blocking=blocking, detail=f"The operator reports the Tenant {health}"
                   f"{message}. Fix that first (see /minio health).")


def quorum_finding(health: ClusterHealth | ClientError) -> Finding:
    """MinIO's ``/minio/health/cluster``: every erasure set must have write quorum.

    A node still starting answers 503 without judging quorum; the client asks the next
    node then, so a starting answer here means no node that answered has judged it yet:
    the change waits, and nothing is called lost.
    """
    check = "write quorum"
    if isinstance(health, ClientError):
        return Finding(check=check, ok=False, detail=f"MinIO did not answer the cluster health check: {health}")
    if health.starting:
        return Finding(check=check, ok=False, detail=f"MinIO is still starting (node {health.node}: "
                       f"{health.server_status}): no node has judged write quorum yet. Ask again once it serves.")
    quorum = f" (write quorum {health.quorum})" if health.quorum else ""
    if health.quorum_lost:
        return Finding(check=check, ok=False, detail=f"An erasure set has lost write quorum{quorum} "
                       f"(HTTP {health.status}). Restore the missing drives or nodes first.")
    return Finding(check=check, ok=True, detail=f"Every erasure set has write quorum{quorum}.")


def nodes_online_finding(info: ServerInfo | ClientError) -> Finding:
    """Every MinIO node must be online: a rolling change takes one more down at a time."""
    check = "nodes online"
    if isinstance(info, ClientError):
        return Finding(check=check, ok=False, detail=f"MinIO did not answer the admin info request: {info}")
    down = [s.endpoint for s in info.servers if s.state != "online"]
    if not down:
        return Finding(check=check, ok=True, detail=f"All {len(info.servers)} MinIO nodes are online.")
    return Finding(check=check, ok=False, detail=f"{len(down)} of {len(info.servers)} nodes are not online "
                   f"({', '.join(down[:4])}): a rolling change would take another one down. Bring them back first.")


def healing_finding(heal: HealStatus | ClientError, info: ServerInfo | ClientError) -> Finding:
    """No drive may be healing: a restart during healing slows it down and narrows the margin for failures."""
    check = "no healing"
    healing: set[str] = set()
    if isinstance(heal, HealStatus):
        healing.update(heal.healing_drives)
    if isinstance(info, ServerInfo):
        healing.update(d.endpoint for d in info.drives if d.healing)
    if healing:
        names = ", ".join(sorted(healing)[:4])
        return Finding(check=check, ok=False, detail=f"{len(healing)} drive(s) are healing ({names}). Wait until "
                       "healing finishes (see /minio health), then ask again.")
    if isinstance(heal, ClientError) and isinstance(info, ClientError):
        return Finding(check=check, ok=False, detail=f"Could not ask MinIO about healing: {heal}")
    return Finding(check=check, ok=True, detail="No drive is healing.")


def decommission_finding(pools: list[PoolStatus] | ClientError) -> Finding:
    """No decommission may be running: pool membership must not change under another change."""
    check = "no decommission running"
    if isinstance(pools, ClientError):
        return Finding(check=check, ok=False, blocking=False, detail=f"Could not list MinIO's pools: {pools}")
    running = [p for p in pools if p.decommission and not (p.decommission.complete or p.decommission.failed
                                                             or p.decommission.canceled)]
    if running:
        return Finding(check=check, ok=False, detail=f"Pool {running[0].id} is being decommissioned. Let it finish "
                       "(or cancel it) first.")
    return Finding(check=check, ok=True, detail="No pool is being decommissioned.")


def other_change_finding(approvals: list[Approval] | Exception, tenant: str, own_hash: str = "") -> Finding:
    """No other approved change of this tenant may be executing right now (``own_hash``: this plan's request)."""
    check = "no other change running"
    if isinstance(approvals, Exception):
        return Finding(check=check, ok=False, blocking=False, detail=f"Could not read the approval store: {approvals}")
    busy = [a for a in approvals if a.tenant == tenant and a.status in BUSY_STATUSES and a.plan_hash != own_hash]
    if busy:
        first = busy[0]
        return Finding(check=check, ok=False, detail=f"Request {first.id} ({first.kind}) is being executed on "
                       f"{tenant}. Wait until it finishes.")
    return Finding(check=check, ok=True, detail="No other approved change is executing on this tenant.")
