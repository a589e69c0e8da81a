"""What the Home tab shows, read from the store only (never a live call to MinIO or Kubernetes on open).

Health comes from the alert check's last verdict per tenant, capacity from
three of the hourly snapshots (the week's oldest, the newest a day ago, the
newest), incidents and approvals from their tables.
Which tenants: those the user sees on a Home (``Access.home_tenants``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.runtime import Runtime
from bot.store import StoreError
from handlers.home.evaluate import TREND_DAY, Point

HISTORY = timedelta(days=7)


@dataclass(frozen=True)
class TenantState:
    """One tenant as stored."""

    name: str
    health: str | None = None  # HEALTHY / DEGRADED / UNHEALTHY from the last alert check; None: not checked yet
    health_since: datetime | None = None
    series: list[Point] = field(default_factory=list)
    incidents: int = 0
    to_decide: int = 0  # pending approvals this user may decide (not their own, not yet voted)


@dataclass(frozen=True)
class HomeFacts:
    """The user's tenants and their stored state (``store_error``: why there is none)."""

    user: str
    now: datetime
    tenants: list[TenantState]
    store_error: str | None = None


def gather(runtime: Runtime, user: str) -> HomeFacts:
    """The stored state of every tenant ``user`` sees on Home, in configuration order."""
    now = runtime.clock()
    visible = runtime.access.home_tenants(user, list(runtime.config.tenants))
    if not visible:
        return HomeFacts(user=user, now=now, tenants=[])
    store = runtime.store
    try:
        health = {s.key.split(":", 1)[1]: s for s in store.alerts.all("health:")}
        usage = store.capacity.usage_points(now - HISTORY, now - TREND_DAY)
        incidents = Counter(i.tenant for i in store.incidents.open())
        pending = store.approvals.pending()
    except StoreError as exc:
        return HomeFacts(user=user, now=now, tenants=[TenantState(name=t.name) for t in visible],
                         store_error=exc.message)
    decide: Counter[str] = Counter()
    by_name = {t.name: t for t in visible}
    for approval in pending:
        tenant = by_name.get(approval.tenant)
        if tenant is None or approval.requester == user or any(v.user == user for v in approval.votes):
            continue
        if runtime.access.can_approve(user, tenant, approval.kind):
            decide[tenant.name] += 1
    states = []
    for tenant in visible:
        state = health.get(tenant.name)
        states.append(TenantState(
            name=tenant.name, health=state.state if state else None, health_since=state.since if state else None,
            series=usage.get(tenant.name, []), incidents=incidents[tenant.name], to_decide=decide[tenant.name],
        ))
    return HomeFacts(user=user, now=now, tenants=states)
