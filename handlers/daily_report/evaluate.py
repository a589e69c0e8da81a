"""The daily report's verdicts: pure functions over the gathered facts."""

from __future__ import annotations

from bot.report import Status, worst
from handlers.daily_report.facts import TenantFacts

PROBLEMS = (Status.UNHEALTHY, Status.DEGRADED, Status.UNKNOWN)


def worst_first(tenants: list[TenantFacts]) -> list[TenantFacts]:
    """Problems first; tenants with the same verdict keep the configuration's order."""
    return sorted(tenants, key=lambda f: -f.status.severity)


def tally(tenants: list[TenantFacts]) -> tuple[int, list[tuple[Status, int]]]:
    """(healthy tenants, [(problem verdict, how many)] for each problem verdict that occurs, worst first)."""
    healthy = sum(1 for f in tenants if f.status in (Status.HEALTHY, Status.INFO))
    counts = [(status, sum(1 for f in tenants if f.status is status)) for status in PROBLEMS]
    return healthy, [(status, n) for status, n in counts if n]


def overall(tenants: list[TenantFacts]) -> Status | None:
    """The report's verdict: the worst tenant's (None without tenants)."""
    return worst([f.status for f in tenants]) if tenants else None
