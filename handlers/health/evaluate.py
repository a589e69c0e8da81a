"""The verdict for one tenant from its gathered facts: pure functions, no I/O, no clock, no Slack.

Each section is judged by its own module (``kubernetes``, ``minio_service``,
``storage``, ``probe``, ``security``, ``backup``); this one puts them together,
finds the root causes that later sections should not repeat, and picks the
reasons that decided. Every rule takes facts (and ``now`` where age matters), so
each can be tested with hand-written facts.

Status rules, worst wins:

- UNHEALTHY: write or read quorum lost; no MinIO node answers (every node
  waited for: "no MinIO node answered within N s"); the canary
  cannot write or a step is slower than `probe.critical_ms`; a TLS certificate
  expired or expires within a day; default root credentials (anyone who knows
  MinIO's documented default can take the tenant over); Tenant `healthStatus`
  red.
- DEGRADED: a node offline, hung, initialising or starting (its own 503 with
  X-Minio-Server-Status is "starting", never "quorum lost"; behind a load balancer no
  node is judged: "per-node verdicts unavailable", servers come from admin info); a drive offline, unformatted
  or healing; version skew; a pod in CrashLoopBackOff (or an image pull or
  container config error) or not ready; a StatefulSet short of replicas; a
  PVC not Bound; Tenant yellow or drives offline/healing in its status; no
  ready operator pod; a canary step slower than `probe.warn_ms`; the probe
  bucket missing or not writable; a certificate expiring within 14 days; the
  newest backup older than the RPO.
- UNKNOWN (per section): the facts could not be gathered, or the tenant has no
  usable keys (a check that was never sent is "not checked", never "failed"). The overall verdict
  is promised to be HEALTHY, DEGRADED or UNHEALTHY (and scripts read its exit
  code), so an UNKNOWN section makes the tenant at least DEGRADED: a blind
  spot cannot be vouched for. The section itself keeps UNKNOWN so readers can
  tell "not checked" from "broken".
- INFO (never changes the verdict): posture notes a team may have chosen on
  purpose (no NetworkPolicy, TLS off, public buckets, no backup target), the
  metrics API missing, recent node restarts, Warning events, and pods that
  restarted but run again (with their last exit reason, e.g. OOMKilled: the
  API keeps no time for it, so it cannot tell last hour from last month).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from bot.clients.errors import ClientError
from bot.config import TenantConfig
from bot.models import Frozen
from bot.report import Section, Status, worst
from handlers.health.backup import evaluate_backup
from handlers.health.facts import KubeFacts, LoadBalanced, MinioFacts, TenantFacts
from handlers.health.findings import Reason
from handlers.health.kubernetes import evaluate_kubernetes, evaluate_resources
from handlers.health.minio_service import NO_NODE_ANSWERS, evaluate_minio_service, no_node_answers
from handlers.health.probe import evaluate_probe
from handlers.health.security import evaluate_security
from handlers.health.storage import evaluate_storage

MAX_REASONS = 10

SECTION_TITLES = (
    "Kubernetes",
    "MinIO service",
    "Storage integrity",
    "Performance probe",
    "Security",
    "Backup",
    "Resource usage",
)


class Evaluation(Frozen):
    """The verdict for one tenant: overall status, the reasons that decided it (plain sentences), the sections."""

    status: Status
    reasons: list[str]
    sections: list[Section]


def minio_root_cause(minio: MinioFacts) -> str | None:
    """"no MinIO node answers" (or why MinIO could not be asked at all) when that is so, else None."""
    liveness = minio.liveness
    if isinstance(liveness, ClientError):
        return "MinIO could not be checked, see MinIO service"
    if isinstance(liveness, LoadBalanced):
        return NO_NODE_ANSWERS if isinstance(liveness.cluster, ClientError) else None
    if minio.nodes and not any(p.ok for p in liveness.values()):
        return no_node_answers(liveness)
    return None


def kube_root_cause(kube: KubeFacts | None) -> str | None:
    """"Kubernetes API did not answer" when no Kubernetes fact could be gathered, else None."""
    if kube is None:
        return None
    core = [kube.tenant_info, kube.pods, kube.statefulsets, kube.pvcs, kube.events, kube.operator_pods]
    return "the Kubernetes API did not answer" if all(isinstance(f, ClientError) for f in core) else None


def overall_status(statuses: Iterable[Status]) -> Status:
    """HEALTHY, DEGRADED or UNHEALTHY: the worst section, INFO counting as HEALTHY, UNKNOWN as DEGRADED."""
    verdict = worst(list(statuses))
    if verdict is Status.UNKNOWN:
        return Status.DEGRADED
    if verdict is Status.INFO:
        return Status.HEALTHY
    return verdict


def decisive_reasons(reasons: Iterable[Reason], limit: int = MAX_REASONS) -> list[str]:
    """Reasons worst first (stable within a status), without duplicates, at most ``limit`` plus a count."""
    ordered = sorted(reasons, key=lambda r: -r.status.severity)
    texts = list(dict.fromkeys(r.text for r in ordered))
    if len(texts) > limit:
        return [*texts[:limit], f"... and {len(texts) - limit} more"]
    return texts


def evaluate(facts: TenantFacts, tenant: TenantConfig, now: datetime) -> Evaluation:
    """The whole verdict for one tenant from its gathered facts."""
    # When a whole side is down, its own section gives the one reason; the checks that
    # depended on it say "not checked" without repeating it.
    minio_cause = minio_root_cause(facts.minio)
    kube_cause = kube_root_cause(facts.kube)
    verdicts = [
        evaluate_kubernetes(facts.kube),
        evaluate_minio_service(facts.minio),
        evaluate_storage(facts.minio, minio_cause),
        evaluate_probe(facts.minio.canary, tenant, minio_cause),
        evaluate_security(facts.minio, facts.kube, now, minio_cause, kube_cause),
        evaluate_backup(facts.minio.backup, tenant, now, minio_cause),
        evaluate_resources(facts.kube, kube_cause),
    ]
    sections = [section for section, _ in verdicts]
    reasons = [reason for _, found in verdicts for reason in found]
    status = overall_status(s.status for s in sections if s.status is not None)
    return Evaluation(status=status, reasons=decisive_reasons(reasons), sections=sections)
