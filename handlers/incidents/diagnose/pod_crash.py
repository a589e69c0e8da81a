"""`/minio incident pod-crash`: the crashed pods, why they ended, their events and last log lines (redacted)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from bot.clients.errors import ClientError
from bot.clients.kube_models import EventInfo, PodInfo, PodLog
from bot.clients.minio_models import ServerInfo
from bot.config import TenantConfig
from bot.report import Row, Section, Status, Text, bold, code, join, spans
from handlers.incidents.diagnose.sections import (
    events_section,
    failed_section,
    not_on_kubernetes,
    rows_status,
    untrusted,
)
from handlers.incidents.model import Diagnosis, Fact, Gathered, Sensitive
from handlers.incidents.pods import crashed_pods
from handlers.incidents.remediation import pod_delete_action

NEEDS = ("info", "pods", "events", "logs")
LOG_LINE_CHARS = 200
MAX_DELETE_BUTTONS = 5

_REASON_HINTS = {
    "OOMKilled": "the container went over its memory limit",
    "Error": "the process exited with an error (see its log)",
    "ContainerCannotRun": "the runtime could not start the container",
    "CrashLoopBackOff": "it keeps crashing; Kubernetes waits longer before each restart",
    "ImagePullBackOff": "the image cannot be pulled",
    "ErrImagePull": "the image cannot be pulled",
    "CreateContainerConfigError": "a referenced Secret or ConfigMap is missing",
}


@dataclass(frozen=True)
class PodCrashFacts:
    """Pods, their warning events and logs, plus MinIO's own view of its servers."""

    pods: Fact[list[PodInfo]] | None  # None: not on Kubernetes
    events: Fact[list[EventInfo]] | None
    logs: dict[str, Fact[PodLog]]
    info: Fact[ServerInfo]

    @classmethod
    def of(cls, got: Gathered) -> PodCrashFacts:
        return cls(got.get("pods"), got.get("events"), got.items("log"), got.get("info"))


def redact_log(lines: list[str], limit: int = 20) -> list[str]:
    """The last ``limit`` log lines, without secrets, each cut to ``LOG_LINE_CHARS``."""
    return [untrusted(line.rstrip(), LOG_LINE_CHARS) for line in lines[-limit:]]


def log_section(pod: str, log: Fact[PodLog]) -> Section:
    """A pod's last log lines, verbatim (redacted), or why they could not be read."""
    title = f"Last log lines: {pod}"
    if isinstance(log, ClientError):
        return failed_section(title, log)
    if not log.lines:
        return Section(title=title, status=Status.INFO, lines=["(the log is empty)"])
    return Section(title=title, lines=[spans(code(line)) for line in redact_log(log.lines)])


def _pod_row(pod: PodInfo) -> Row:
    where = ", ".join(x for x in (f"pool {pod.pool}" if pod.pool else "", f"on {pod.node}" if pod.node else "") if x)
    parts: list[Text] = [spans(code(pod.name), f" ({where})" if where else "")]
    parts.append(f"{'ready' if pod.ready else 'NOT ready'}, {pod.waiting_reason or pod.phase or 'unknown'}")
    parts.append(f"{pod.restarts} restart(s)")
    for c in pod.containers:
        if c.last_termination_reason:
            exit_code = f" (exit {c.last_exit_code})" if c.last_exit_code is not None else ""
            parts.append(spans("container ", code(c.name), " last ended ", bold(c.last_termination_reason), exit_code))
    crashing = pod.waiting_reason in ("CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull") or (
        not pod.ready and pod.phase != "Pending"
    )
    return Row(status=Status.UNHEALTHY if crashing else Status.DEGRADED, text=join(parts, " · "))


def termination_reasons(bad: list[PodInfo]) -> Counter[str]:
    """How often each waiting or termination reason occurs among the crashed pods' containers."""
    return Counter(r for pod in bad for c in pod.containers for r in (c.waiting_reason, c.last_termination_reason) if r)


def pods_sections(pods: Fact[list[PodInfo]] | None, tenant: str) -> list[Section]:
    """The pods (crashed ones as rows, with a delete button per failing pod) and their termination reasons."""
    if pods is None:
        return [not_on_kubernetes("Pods")]
    if isinstance(pods, ClientError):
        return [failed_section("Pods", pods)]
    bad = crashed_pods(pods)
    rows = [_pod_row(p) for p in bad]
    status, lines = rows_status(rows, Status.HEALTHY), [f"{sum(1 for p in pods if p.ready)}/{len(pods)} pods ready."]
    if not pods:
        status, lines = Status.UNHEALTHY, ["No pods found for this tenant."]
    # Approval-gated remediation: one button per failing pod requests its deletion (quorum-checked first).
    buttons = [pod_delete_action(tenant, p.namespace, p.name) for p in bad if not p.ready and not p.deleting]
    sections = [Section(title="Pods", status=status, lines=lines, rows=rows, actions=buttons[:MAX_DELETE_BUTTONS])]
    reasons = termination_reasons(bad)
    if reasons:
        hints = [
            Row(text=spans(bold(r), f" x{n}: {_REASON_HINTS.get(r, 'see the pod events and log')}"))
            for r, n in reasons.most_common()
        ]
        sections.append(Section(title="Termination reasons", status=Status.INFO, rows=hints))
    return sections


def minio_servers_section(info: Fact[ServerInfo]) -> Section:
    """How many servers MinIO itself sees online, and which are not."""
    title = "MinIO view of its servers"
    if isinstance(info, ClientError):
        return failed_section(title, info)
    offline = [s for s in info.servers if s.state != "online"]
    lines = [f"{len(info.servers) - len(offline)}/{len(info.servers)} servers online."]
    rows = [Row(status=Status.UNHEALTHY, text=spans(s.endpoint, ": ", s.state or "unknown")) for s in offline]
    return Section(title=title, status=Status.UNHEALTHY if offline else Status.HEALTHY, lines=lines, rows=rows)


def pod_crash_actions(pods: Fact[list[PodInfo]] | None, tenant: str) -> list[Text]:
    """What to do next, from the termination reasons and whether anything is crashing now."""
    reasons = termination_reasons(crashed_pods(pods)) if isinstance(pods, list) else Counter[str]()
    actions: list[Text] = []
    if "OOMKilled" in reasons:
        actions.append(spans("Give the pool more memory: ", code(f"/minio scale {tenant} resources ..."),
                             " (previewed, needs approval); until then avoid large concurrent uploads."))
    if reasons.keys() & {"ImagePullBackOff", "ErrImagePull"}:
        actions.append(spans("Fix the image reference or registry credentials: ", code(f"/minio update {tenant} check"),
                             "."))
    if reasons.keys() & {"CrashLoopBackOff", "Error", "ContainerCannotRun"}:
        actions.append(spans("Read the log lines above: drive mounts, ", code("format.json"),
                             " errors and a wrong configuration Secret are the usual causes."))
    if reasons.get("CreateContainerConfigError"):
        actions.append("Restore the Secret or ConfigMap the pod references (see the events above).")
    health = code(f"/minio health {tenant}")
    if isinstance(pods, list) and crashed_pods(pods):
        actions.append(spans("Check whether the cluster still has write quorum: ", health, "."))
        actions.append(spans("If the pod needs a restart, request it through the bot (approval): ",
                             code(f"/minio maintenance {tenant} check"), " first."))
    elif isinstance(pods, list):
        actions.append(spans("No pod is crashing now; watch restart counts with ", health, "."))
    else:
        actions.append(spans("Kubernetes could not be inspected; confirm node state from MinIO: ", health, "."))
    return actions


def evaluate_pod_crash(facts: PodCrashFacts, tenant: TenantConfig) -> Diagnosis:
    """Crashed pods, why they ended, what Kubernetes said, their last log lines, and MinIO's view."""
    logs = [log_section(pod, log) for pod, log in facts.logs.items()]
    sections = [
        *pods_sections(facts.pods, tenant.name),
        events_section(facts.events, tenant.tenant_name),
        *logs,
        minio_servers_section(facts.info),
    ]
    sensitive = {s.title: Sensitive.LOG_TAILS for s in logs}
    return Diagnosis(sections, pod_crash_actions(facts.pods, tenant.name), sensitive=sensitive)
