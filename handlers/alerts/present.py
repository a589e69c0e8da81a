"""The alert posts: a transition of health or capacity, in words (spans, no markup)."""

from __future__ import annotations

from bot.config import Thresholds
from bot.report import Report, Text, bold, code, spans, when
from handlers.alerts.evaluate import STATUS, rank
from handlers.capacity import CapacitySummary, summary_line
from handlers.health import TenantHealth

MAX_REASONS = 5


def health_message(tenant: str, previous: str, current: str, health: TenantHealth, since: Text) -> Report:
    """The post for a health transition; `since` says how long the previous level lasted (" after 3 min")."""
    if current == "HEALTHY":
        title = f"Recovered: {tenant} is HEALTHY again"
        summary = spans(bold(tenant), f" is back to HEALTHY (was {previous}", since, ").")
        reasons: list[Text] = []
    else:
        worse = rank("health", current) > rank("health", previous)
        title = f"{tenant} is {current}" if worse else f"{tenant} improved to {current}"
        summary = spans(bold(tenant), f" is now {current} (was {previous}). Why:")
        reasons = [r for r in health.reasons[:MAX_REASONS]] or ["no reason given"]
    return Report(
        title=f"MinIO alert: {title}",
        status=STATUS[current],
        summary=summary,
        reasons=reasons,
        footer=[spans(code(f"/minio health {tenant}"), " for the full report · checked ", when(health.checked_at))],
    )


def capacity_message(
    tenant: str, previous: str, current: str, summary: CapacitySummary, thresholds: Thresholds, since: Text
) -> Report:
    """The post for a capacity transition."""
    limits = {"PLAN": thresholds.plan, "ALERT": thresholds.alert, "CRITICAL": thresholds.critical}
    pct = summary.pct_used or 0.0
    if current == "OK":
        lowest = limits["PLAN"]
        title = f"Recovered: {tenant} capacity below {lowest:g} %"
        text = spans(bold(tenant), f" uses {pct:.1f} %, below the {lowest:g} % planning threshold again "
                                   f"(was {previous}", since, ").")
    elif rank("capacity", current) > rank("capacity", previous):
        title = f"{tenant} capacity crossed {limits[current]:g} % ({current})"
        text = spans(bold(tenant), f" uses {pct:.1f} % of its usable capacity, over the {limits[current]:g} % "
                                   f"{current.lower()} threshold.")
    else:
        title = f"{tenant} capacity eased to {current}"
        text = spans(bold(tenant), f" uses {pct:.1f} %, back below {limits[previous]:g} % "
                                   f"(still over {limits[current]:g} %).")
    return Report(
        title=f"MinIO alert: {title}",
        status=STATUS[current],
        summary=text,
        reasons=[summary_line(summary)],
        footer=[spans(code(f"/minio capacity {tenant}"), " for usage, growth and the forecast")],
    )
