"""Incident diagnostics: `/minio incident <type> [tenant]` for the six incident types.

Each type lives in its own module (`incident_pod_crash`, `incident_storage_full`,
`incident_network_issue`, `incident_performance`, `incident_security`,
`incident_data_loss`): it gathers its facts in one parallel fan-out under one
deadline (`gather_*`), then a pure function turns the facts into sections and
the recommended next actions (`evaluate_*`). A fact that could not be gathered is
its `ClientError`, shown as "could not check" in its own section, so a dead
Kubernetes API never hides what MinIO said, and the other way round.

Nothing here lists objects to measure anything: sizes come from the scanner's
data-usage result. Pod logs are redacted line by line before they reach a
report.
"""

from __future__ import annotations

import time

from bot.config import TenantConfig
from bot.report import Report, Section, Status, worst
from bot.runtime import Runtime
from handlers.incidents.diagnose.data_loss import evaluate_data_loss, gather_data_loss
from handlers.incidents.diagnose.network_issue import evaluate_network, gather_network
from handlers.incidents.diagnose.performance import evaluate_performance, gather_performance
from handlers.incidents.diagnose.pod_crash import evaluate_pod_crash, gather_pod_crash
from handlers.incidents.diagnose.security import evaluate_security, gather_security
from handlers.incidents.diagnose.storage_full import evaluate_storage, gather_storage
from handlers.incidents.facts import INCIDENT_TYPES, Diagnosis, IncidentType

__all__ = [
    "INCIDENT_TYPES",
    "Diagnosis",
    "IncidentType",
    "diagnose",
    "diagnosis_report",
    "next_actions_section",
    "run_diagnosis",
]


def _deadline(runtime: Runtime, deadline_s: float | None) -> float:
    return deadline_s if deadline_s is not None else runtime.config.timeouts.report_deadline


def run_diagnosis(
    runtime: Runtime, tenant: TenantConfig, kind: IncidentType, deadline_s: float | None = None
) -> Diagnosis:
    """Gather and evaluate one incident type for one tenant; returns by the deadline (plus evaluation)."""
    until = time.monotonic() + _deadline(runtime, deadline_s)
    now = runtime.clock()
    if kind is IncidentType.POD_CRASH:
        return evaluate_pod_crash(gather_pod_crash(runtime, tenant, until), tenant.name)
    if kind is IncidentType.STORAGE_FULL:
        return evaluate_storage(gather_storage(runtime, tenant, until), tenant, now)
    if kind is IncidentType.NETWORK_ISSUE:
        return evaluate_network(gather_network(runtime, tenant, until), tenant.tenant_name)
    if kind is IncidentType.PERFORMANCE:
        return evaluate_performance(gather_performance(runtime, tenant, until), tenant)
    if kind is IncidentType.SECURITY:
        return evaluate_security(gather_security(runtime, tenant, until), tenant.name)
    return evaluate_data_loss(gather_data_loss(runtime, tenant, until), tenant)


def next_actions_section(actions: list[str]) -> Section:
    """The numbered list every diagnostic ends with."""
    return Section(title="Recommended next actions", lines=[f"{i}. {a}" for i, a in enumerate(actions, start=1)])


def diagnosis_report(tenant: TenantConfig, kind: IncidentType, diagnosis: Diagnosis) -> Report:
    """The report for `/minio incident <type> <tenant>`: sections, overall verdict, next actions last."""
    status = worst([s.status for s in diagnosis.sections if s.status], Status.UNKNOWN)
    reasons = [
        f"{s.title}: could not check" if s.error and not s.rows else s.title
        for s in diagnosis.sections
        if s.status in (Status.DEGRADED, Status.UNHEALTHY)
    ]
    unknown = [s.title for s in diagnosis.sections if s.error]
    summary = f"{len(reasons)} finding(s) need attention." if reasons else "Nothing abnormal found by these checks."
    if unknown:
        summary += f" {len(unknown)} check(s) could not run."
    return Report(
        title=f"Incident diagnostics: {kind.value} on {tenant.name}",
        status=status,
        summary=summary,
        reasons=reasons,
        sections=[*diagnosis.sections, next_actions_section(diagnosis.next_actions)],
    )


def diagnose(runtime: Runtime, tenant: TenantConfig, kind: IncidentType, deadline_s: float | None = None) -> Report:
    """`/minio incident <type> <tenant>`: real checks, then what to do next."""
    return diagnosis_report(tenant, kind, run_diagnosis(runtime, tenant, kind, deadline_s))
