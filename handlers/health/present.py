"""Health results as reports: one tenant in full, or one row per tenant with its main reasons."""

from __future__ import annotations

from bot.report import Action, Report, Row, Section, Status, bold, code, duration, spans, when
from handlers.health.check import TenantHealth
from handlers.health.evaluate import overall_status

MAX_DETAIL_BUTTONS = 5
SUMMARY_REASONS = 3


def tenant_report(health: TenantHealth) -> Report:
    """The full report for one tenant."""
    if health.status is Status.HEALTHY:
        summary = spans(f"Every check passed ({len(health.sections)} areas in ", duration(health.duration_s), ").")
    else:
        summary = spans(f"{health.status.value} because of:")
    return Report(
        title=f"Health of {health.tenant}",
        status=health.status,
        summary=summary,
        reasons=[spans(reason) for reason in health.reasons],
        sections=health.sections,
        footer=[spans("Checked ", when(health.checked_at), " in ", duration(health.duration_s), ".")],
    )


def summary_report(results: list[TenantHealth]) -> Report:
    """One row per tenant with its verdict and main reasons, worst first; buttons for the full reports."""
    order = sorted(results, key=lambda h: -h.status.severity)
    rows = []
    for health in order:
        reasons = health.reasons[:SUMMARY_REASONS]
        more = f" (+{len(health.reasons) - SUMMARY_REASONS} more)" if len(health.reasons) > SUMMARY_REASONS else ""
        text = "; ".join(reasons) + more if reasons else "every check passed"
        rows.append(Row(status=health.status, text=spans(bold(health.tenant), f": {text}")))
    counts = {s: sum(1 for h in results if h.status is s) for s in (Status.HEALTHY, Status.DEGRADED, Status.UNHEALTHY)}
    summary = ", ".join(f"{n} {s.value.lower()}" for s, n in counts.items())
    actions = [
        Action(label=f"Details: {h.tenant}", action_id=f"run:health:{h.tenant}", value=f"/minio health {h.tenant}")
        for h in order
        if h.status is not Status.HEALTHY
    ][:MAX_DETAIL_BUTTONS]
    slowest = max((h.duration_s for h in results), default=0.0)
    return Report(
        title=f"Health of {len(results)} tenants",
        status=overall_status(h.status for h in results),
        summary=spans(summary + "."),
        sections=[Section(title="Tenants", rows=rows)],
        actions=actions,
        footer=[
            spans("Slowest check ", duration(slowest), ". ", code("/minio health <tenant>"), " shows the full report.")
        ],
    )
