"""Incident diagnostics: `/minio incident <type> [tenant]` for the six incident types, and the evidence
snapshot of a declared incident.

Facts are gathered once for every diagnostic asked for (`facts.gather`), under
one deadline; each diagnostic then turns them into sections and the
recommended next actions (`evaluate`). A fact that could not be gathered is
its ClientError, shown as "could not check" in its own section, so a dead
Kubernetes API never hides what MinIO said, and the other way round.
"""

from __future__ import annotations

import time
from functools import partial

from bot.clients.errors import ClientError
from bot.config import TenantConfig
from bot.report import Report
from bot.runtime import Runtime
from handlers.health import TenantHealth, check_tenant
from handlers.incidents import evaluate, facts
from handlers.incidents.model import Diagnosis, Gathered, IncidentType
from handlers.incidents.present import diagnosis_report

# Evidence gathering may take a little longer than a report: the incident channel already exists by then.
EVIDENCE_EXTRA_S = 3.0


def run_diagnoses(
    runtime: Runtime, tenant: TenantConfig, kinds: list[IncidentType], deadline_s: float | None = None,
    extra: facts.Calls | None = None,
) -> tuple[dict[IncidentType, Diagnosis], Gathered]:
    """Gather what ``kinds`` need (and the ``extra`` calls) by the deadline, then evaluate each kind."""
    deadline = deadline_s if deadline_s is not None else runtime.config.timeouts.report_deadline
    got = facts.gather(runtime, tenant, evaluate.needs(kinds), time.monotonic() + deadline, extra)
    now = runtime.clock()
    return {kind: evaluate.diagnosis_of(kind, got, tenant, now) for kind in kinds}, got


def run_diagnosis(
    runtime: Runtime, tenant: TenantConfig, kind: IncidentType, deadline_s: float | None = None
) -> Diagnosis:
    """Gather and evaluate one incident type for one tenant; returns by the deadline (plus evaluation)."""
    return run_diagnoses(runtime, tenant, [kind], deadline_s)[0][kind]


def diagnose(runtime: Runtime, tenant: TenantConfig, kind: IncidentType, deadline_s: float | None = None) -> Report:
    """`/minio incident <type> <tenant>`: real checks, then what to do next."""
    return diagnosis_report(tenant.name, kind, run_diagnosis(runtime, tenant, kind, deadline_s))


def gather_evidence(
    runtime: Runtime, tenant: TenantConfig, kinds: list[IncidentType]
) -> tuple[TenantHealth | ClientError, dict[IncidentType, Diagnosis]]:
    """Health and the diagnostics of ``kinds``, gathered together (each fact once)."""
    deadline = runtime.config.timeouts.report_deadline
    health: facts.Calls = {"health": partial(check_tenant, runtime, tenant, deadline)}
    diagnoses, got = run_diagnoses(runtime, tenant, kinds, deadline + EVIDENCE_EXTRA_S, health)
    return got.get("health"), diagnoses
