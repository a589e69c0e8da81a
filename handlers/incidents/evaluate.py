"""Pure decisions of the incidents capability: which diagnostic reads which facts, the overall verdict,
which diagnostics an incident's title calls for, and how fast people responded."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from bot.config import TenantConfig
from bot.report import Status, Text, spans, worst
from bot.store import Incident, TimelineEntry
from handlers.incidents.diagnose import data_loss, network_issue, performance, pod_crash, security, storage_full
from handlers.incidents.model import Diagnosis, Gathered, IncidentType

NEEDS: dict[IncidentType, tuple[str, ...]] = {
    IncidentType.POD_CRASH: pod_crash.NEEDS,
    IncidentType.STORAGE_FULL: storage_full.NEEDS,
    IncidentType.NETWORK_ISSUE: network_issue.NEEDS,
    IncidentType.PERFORMANCE: performance.NEEDS,
    IncidentType.SECURITY: security.NEEDS,
    IncidentType.DATA_LOSS: data_loss.NEEDS,
}

# Words in a title that say which diagnostics belong in the evidence.
_KEYWORDS: dict[IncidentType, tuple[str, ...]] = {
    IncidentType.POD_CRASH: ("crash", "oom", "restart", "pod", "backoff", "down", "dead"),
    IncidentType.STORAGE_FULL: ("full", "capacity", "disk", "space", "quota", "storage"),
    IncidentType.NETWORK_ISSUE: ("network", "partition", "unreachable", "dns", "connect", "offline", "peer"),
    IncidentType.PERFORMANCE: ("slow", "latency", "perf", "lock", "timeout", "cpu", "memory", "throughput"),
    IncidentType.SECURITY: ("security", "cert", "tls", "auth", "credential", "breach", "leak", "public", "exposed"),
    IncidentType.DATA_LOSS: ("loss", "lost", "missing", "deleted", "corrupt", "restore", "backup", "quorum"),
}


def needs(kinds: Iterable[IncidentType]) -> set[str]:
    """Every fact the diagnostics of ``kinds`` read."""
    return {name for kind in kinds for name in NEEDS[kind]}


def diagnosis_of(kind: IncidentType, got: Gathered, tenant: TenantConfig, now: datetime) -> Diagnosis:
    """The diagnosis of ``kind`` from the gathered facts."""
    if kind is IncidentType.POD_CRASH:
        return pod_crash.evaluate_pod_crash(pod_crash.PodCrashFacts.of(got), tenant)
    if kind is IncidentType.STORAGE_FULL:
        return storage_full.evaluate_storage(storage_full.StorageFacts.of(got), tenant.name, tenant.thresholds, now)
    if kind is IncidentType.NETWORK_ISSUE:
        return network_issue.evaluate_network(network_issue.NetworkFacts.of(got), tenant)
    if kind is IncidentType.PERFORMANCE:
        return performance.evaluate_performance(performance.PerformanceFacts.of(got), tenant.name, tenant.probe)
    if kind is IncidentType.SECURITY:
        return security.evaluate_security(security.SecurityFacts.of(got), tenant.name)
    return data_loss.evaluate_data_loss(data_loss.DataLossFacts.of(got), tenant.name, tenant.backup)


def verdict(diagnosis: Diagnosis) -> tuple[Status, list[Text], int]:
    """The worst section verdict, the findings that need attention, and how many checks could not run."""
    sections = diagnosis.sections
    status = worst([s.status for s in sections if s.status], Status.UNKNOWN)
    findings: list[Text] = [
        spans(s.title, ": could not check") if s.error and not s.rows else s.title
        for s in sections
        if s.status in (Status.DEGRADED, Status.UNHEALTHY)
    ]
    return status, findings, sum(1 for s in sections if s.error)


def matching_types(title: str) -> list[IncidentType]:
    """The incident types whose keywords appear in the title; empty when none does."""
    words = title.lower()
    return [kind for kind, keys in _KEYWORDS.items() if any(k in words for k in keys)]


def response_due(incident: Incident, minutes: int) -> datetime:
    """When the first response is due for the incident's severity."""
    return incident.declared_at + timedelta(minutes=minutes)


def is_person(actor: str) -> bool:
    """A Slack user id (``U…``/``W…``), as opposed to the bot or the scheduler."""
    return actor[:1] in ("U", "W") and actor[1:].isalnum() and actor.isupper()


def first_response(entries: list[TimelineEntry]) -> TimelineEntry | None:
    """The first thing a person did after the declaration: a command or a checklist tick."""
    return next((e for e in entries if is_person(e.actor) and e.kind in ("command", "check")), None)
