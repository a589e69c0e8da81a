"""`/minio health [tenant]`: one report with an overall HEALTHY / DEGRADED / UNHEALTHY and the reasons.

Gathering (every MinIO and Kubernetes call, in parallel, under the report
deadline) lives in `health_gather`; the verdict is computed by pure functions
in `health_evaluate`. This module ties them together and is what other
features call: the daily report, alerts and incident evidence use
`check_tenant`; `health_report` builds what the command shows.
"""

from __future__ import annotations

import time
from datetime import datetime
from functools import partial

from pydantic import BaseModel, ConfigDict, Field

from bot.application import Capability
from bot.clients.errors import ClientError
from bot.clients.fanout import fan_out
from bot.commands import Arg, Verb, escape
from bot.config import TenantConfig
from bot.invocation import Invocation
from bot.report import Action, Report, Row, Section, Status
from bot.runtime import Runtime
from handlers.health.evaluate import evaluate, overall_status
from handlers.health.facts import backup_tenant, gather_facts

MAX_DETAIL_BUTTONS = 5
SUMMARY_REASONS = 3


class TenantHealth(BaseModel):
    """The health of one tenant at one moment: verdict, the reasons that decided it, and the sections."""

    model_config = ConfigDict(frozen=True)

    tenant: str
    status: Status
    reasons: list[str] = Field(default_factory=list)
    sections: list[Section] = Field(default_factory=list)
    checked_at: datetime
    duration_s: float = 0.0

    def section(self, title: str) -> Section | None:
        """The section called ``title``, if present."""
        return next((s for s in self.sections if s.title == title), None)


def _margin(deadline_s: float) -> float:
    # Time kept back from the deadline for evaluation and rendering (milliseconds in practice).
    return min(0.5, deadline_s * 0.1)


def check_tenant(runtime: Runtime, tenant: TenantConfig, deadline_s: float | None = None) -> TenantHealth:
    """Check one tenant: gather in parallel, evaluate, and return by ``deadline_s`` (default: the report deadline).

    Never raises for MinIO or Kubernetes failures: a part that could not be
    checked is a section that says why.
    """
    deadline = runtime.config.timeouts.report_deadline if deadline_s is None else deadline_s
    started = time.monotonic()
    checked_at = runtime.clock()
    facts = gather_facts(runtime, tenant, until=started + deadline - _margin(deadline))
    verdict = evaluate(facts, tenant, checked_at)
    return TenantHealth(
        tenant=tenant.name,
        status=verdict.status,
        reasons=verdict.reasons,
        sections=verdict.sections,
        checked_at=checked_at,
        duration_s=round(time.monotonic() - started, 3),
    )


def check_tenants(runtime: Runtime, tenants: list[TenantConfig], deadline_s: float | None = None) -> list[TenantHealth]:
    """Check several tenants in parallel, each within the same deadline; in the order given."""
    deadline = runtime.config.timeouts.report_deadline if deadline_s is None else deadline_s
    if len(tenants) == 1:
        return [check_tenant(runtime, tenants[0], deadline)]
    results = fan_out(
        {t.name: partial(check_tenant, runtime, t, deadline) for t in tenants},
        deadline_s=deadline,
        max_workers=len(tenants),
    )
    out: list[TenantHealth] = []
    for tenant in tenants:
        result = results[tenant.name]
        if isinstance(result, ClientError):
            # Only a bug or an overrun lands here; the tenant still gets a line that says so.
            reason = f"not checked: {escape(str(result), 200)}"
            out.append(
                TenantHealth(
                    tenant=tenant.name,
                    status=Status.DEGRADED,
                    reasons=[reason],
                    checked_at=runtime.clock(),
                    duration_s=deadline,
                )
            )
        else:
            out.append(result)
    return out


def tenant_report(health: TenantHealth) -> Report:
    """The full report for one tenant."""
    if health.status is Status.HEALTHY:
        summary = f"Every check passed ({len(health.sections)} areas in {health.duration_s:.1f} s)."
    else:
        summary = f"{health.status.value} because of:"
    return Report(
        title=f"Health of {health.tenant}",
        status=health.status,
        summary=summary,
        reasons=health.reasons,
        sections=health.sections,
        footer=[f"Checked {health.checked_at:%Y-%m-%d %H:%M:%S} UTC in {health.duration_s:.1f} s."],
    )


def summary_report(results: list[TenantHealth]) -> Report:
    """One row per tenant with its verdict and main reasons, worst first; buttons for the full reports."""
    order = sorted(results, key=lambda h: -h.status.severity)
    rows = []
    for health in order:
        reasons = health.reasons[:SUMMARY_REASONS]
        more = f" (+{len(health.reasons) - SUMMARY_REASONS} more)" if len(health.reasons) > SUMMARY_REASONS else ""
        text = "; ".join(reasons) + more if reasons else "every check passed"
        rows.append(Row(status=health.status, text=f"*{health.tenant}*: {text}"))
    counts = {s: sum(1 for h in results if h.status is s) for s in (Status.HEALTHY, Status.DEGRADED, Status.UNHEALTHY)}
    summary = ", ".join(f"{n} {s.value.lower()}" for s, n in counts.items())
    actions = [
        Action(label=f"Details: {h.tenant}"[:75], action_id=f"run:health:{h.tenant}", value=f"/minio health {h.tenant}")
        for h in order
        if h.status is not Status.HEALTHY
    ][:MAX_DETAIL_BUTTONS]
    slowest = max((h.duration_s for h in results), default=0.0)
    return Report(
        title=f"Health of {len(results)} tenants",
        status=overall_status(h.status for h in results),
        summary=summary + ".",
        sections=[Section(title="Tenants", rows=rows)],
        actions=actions,
        footer=[f"Slowest check {slowest:.1f} s. `/minio health <tenant>` shows the full report."],
    )


def health_report(runtime: Runtime, tenants: list[TenantConfig]) -> Report:
    """One tenant: its full report. Several: a summary with one row per tenant and the reasons."""
    results = check_tenants(runtime, tenants)
    if len(results) == 1:
        return tenant_report(results[0])
    return summary_report(results)


class HealthArgs(BaseModel):
    """Arguments of `/minio health`."""

    model_config = ConfigDict(extra="forbid")
    tenant: str | None = None


def health_command(inv: Invocation, args: HealthArgs) -> Report:
    """Check the named tenant, or every tenant this channel can see."""
    return health_report(inv.runtime, inv.tenants_or_one(args.tenant))


VERB = Verb(
    name="health",
    summary="Full health report: HEALTHY / DEGRADED / UNHEALTHY with the reasons.",
    model=HealthArgs,
    handler=health_command,
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

capability = Capability("health", __doc__)
capability.add_verb(VERB)

__all__ = ["TenantHealth", "backup_tenant", "capability", "check_tenant", "check_tenants", "health_report"]
