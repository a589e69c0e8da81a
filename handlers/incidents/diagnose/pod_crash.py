"""`/minio incident pod-crash`: the crashed pods, why they ended, their events and last log lines (redacted)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from bot.clients.errors import ClientError
from bot.clients.kube_models import (
    EventInfo,
    PodInfo,
    PodLog,
)
from bot.clients.minio_models import (
    ServerInfo,
)
from bot.commands import escape
from bot.config import TenantConfig
from bot.redact import redact
from bot.report import Row, Section, Status, worst
from bot.runtime import Runtime
from handlers.incidents.facts import (
    Diagnosis,
    Fact,
    events_section,
    failed_section,
    gather,
    kube_target,
    not_on_kubernetes,
    server_label,
)
from handlers.incidents.remediation import pod_delete_action

LOG_TAIL_LINES = 20
LOG_LINE_CHARS = 200
MAX_LOG_PODS = 3  # logs of more pods than this would bury the rest of the report


def redact_log(lines: list[str], limit: int = LOG_TAIL_LINES) -> list[str]:
    """The last `limit` log lines, redacted and cut, safe to put in a Slack code block."""
    out: list[str] = []
    for line in lines[-limit:]:
        line = redact(line.rstrip())
        if len(line) > LOG_LINE_CHARS:
            line = line[: LOG_LINE_CHARS - 1] + "…"
        # Entities keep Slack from turning log text into links or mentions; ``` would end the block.
        line = line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("```", "'''")
        out.append(line)
    return out


@dataclass(frozen=True)
class PodCrashFacts:
    """Pods, their warning events and logs, plus MinIO's own view of its servers."""

    tenant: str
    pods: Fact[list[PodInfo]] | None  # None: not on Kubernetes
    events: Fact[list[EventInfo]] | None
    logs: dict[str, Fact[PodLog]]
    info: Fact[ServerInfo]


def crashed_pods(pods: list[PodInfo]) -> list[PodInfo]:
    """Pods that are crashing, crashed recently or are not running; worst first."""

    def bad(p: PodInfo) -> bool:
        return (not p.ready) or bool(p.waiting_reason) or p.phase not in ("Running", None)

    def rank(p: PodInfo) -> tuple[int, int, str]:
        return (0 if bad(p) else 1, -p.restarts, p.name)

    found = [p for p in pods if bad(p) or p.restarts > 0 or p.last_termination_reason]
    return sorted(found, key=rank)


def gather_pod_crash(runtime: Runtime, tenant: TenantConfig, until: float) -> PodCrashFacts:
    """Pods, events and MinIO `info` in parallel; then the logs of the crashed pods."""
    calls: dict[str, Callable[[], Any]] = {"info": lambda: runtime.minio(tenant).server_info()}
    if tenant.kubernetes is not None:
        calls["pods"] = lambda: kube_target(runtime, tenant).pods()
        calls["events"] = lambda: kube_target(runtime, tenant).events()
    first = gather(calls, until)
    logs: dict[str, Fact[PodLog]] = {}
    pods = first.get("pods")
    if isinstance(pods, list) and tenant.kubernetes is not None:
        kube = kube_target(runtime, tenant)
        targets = [p.name for p in crashed_pods(pods)][:MAX_LOG_PODS]
        logs = gather(
            {name: partial(kube.client.pod_logs, kube.namespace, name, LOG_TAIL_LINES) for name in targets}, until
        )
    return PodCrashFacts(
        tenant=tenant.tenant_name, pods=pods, events=first.get("events"), logs=logs, info=first["info"]
    )


_REASON_HINTS = {
    "OOMKilled": "the container went over its memory limit",
    "Error": "the process exited with an error (see its log)",
    "ContainerCannotRun": "the runtime could not start the container",
    "CrashLoopBackOff": "it keeps crashing; Kubernetes waits longer before each restart",
    "ImagePullBackOff": "the image cannot be pulled",
    "ErrImagePull": "the image cannot be pulled",
    "CreateContainerConfigError": "a referenced Secret or ConfigMap is missing",
}


def _pod_row(pod: PodInfo) -> Row:
    where = ", ".join(x for x in (f"pool {pod.pool}" if pod.pool else "", f"on {pod.node}" if pod.node else "") if x)
    parts = [f"`{escape(pod.name, 63)}`" + (f" ({escape(where, 100)})" if where else "")]
    state = pod.waiting_reason or pod.phase or "unknown"
    parts.append(f"{'ready' if pod.ready else 'NOT ready'}, {escape(state, 40)}")
    parts.append(f"{pod.restarts} restart(s)")
    for c in pod.containers:
        if c.last_termination_reason:
            code = f" (exit {c.last_exit_code})" if c.last_exit_code is not None else ""
            parts.append(f"container `{escape(c.name, 40)}` last ended *{escape(c.last_termination_reason, 40)}*{code}")
    crashing = pod.waiting_reason in ("CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull") or (
        not pod.ready and pod.phase != "Pending"
    )
    status = Status.UNHEALTHY if crashing else Status.DEGRADED
    return Row(status=status, text=" · ".join(parts))


def evaluate_pod_crash(facts: PodCrashFacts, tenant: str) -> Diagnosis:
    """Crashed pods, why they ended, what Kubernetes said, their last log lines, and MinIO's view."""
    sections: list[Section] = []
    actions: list[str] = []
    reasons: Counter[str] = Counter()
    pods = facts.pods
    if pods is None:
        sections.append(not_on_kubernetes("Pods"))
    elif isinstance(pods, ClientError):
        sections.append(failed_section("Pods", pods))
    else:
        bad = crashed_pods(pods)
        ready = sum(1 for p in pods if p.ready)
        lines = [f"{ready}/{len(pods)} pods ready."]
        rows = [_pod_row(p) for p in bad]
        status = worst([r.status for r in rows if r.status], Status.HEALTHY)
        if not pods:
            status, lines = Status.UNHEALTHY, ["No pods found for this tenant."]
        # Approval-gated remediation: one button per failing pod requests its deletion (quorum-checked first).
        buttons = [pod_delete_action(tenant, p.namespace, p.name) for p in bad if not p.ready and not p.deleting][:5]
        sections.append(Section(title="Pods", status=status, lines=lines, rows=rows, actions=buttons))
        for pod in bad:
            for c in pod.containers:
                for reason in (c.waiting_reason, c.last_termination_reason):
                    if reason:
                        reasons[reason] += 1
        if reasons:
            hint_rows = [
                Row(text=f"*{escape(r, 40)}* x{n}: {_REASON_HINTS.get(r, 'see the pod events and log')}")
                for r, n in reasons.most_common()
            ]
            sections.append(Section(title="Termination reasons", status=Status.INFO, rows=hint_rows))
    sections.append(events_section(facts.events, facts.tenant))
    for name, log in facts.logs.items():
        title = f"Last log lines: {escape(name, 63)}"
        if isinstance(log, ClientError):
            sections.append(failed_section(title, log))
        elif not log.lines:
            sections.append(Section(title=title, status=Status.INFO, lines=["(the log is empty)"]))
        else:
            sections.append(Section(title=title, lines=["```" + "\n".join(redact_log(log.lines)) + "```"]))
    sections.append(_minio_servers_section(facts.info))

    if "OOMKilled" in reasons:
        actions.append(
            f"Give the pool more memory: `/minio scale {tenant} resources ...` (previewed, needs approval); "
            "until then avoid large concurrent uploads."
        )
    if reasons.keys() & {"ImagePullBackOff", "ErrImagePull"}:
        actions.append(f"Fix the image reference or registry credentials: `/minio update {tenant} check`.")
    if reasons.keys() & {"CrashLoopBackOff", "Error", "ContainerCannotRun"}:
        actions.append(
            "Read the log lines above: drive mounts, `format.json` errors and a wrong configuration Secret are "
            "the usual causes."
        )
    if reasons.get("CreateContainerConfigError"):
        actions.append("Restore the Secret or ConfigMap the pod references (see the events above).")
    if isinstance(pods, list) and crashed_pods(pods):
        actions.append(f"Check whether the cluster still has write quorum: `/minio health {tenant}`.")
        actions.append(
            f"If the pod needs a restart, request it through the bot (approval): `/minio maintenance {tenant} check` "
            "first."
        )
    elif isinstance(pods, list):
        actions.append(f"No pod is crashing now; watch restart counts with `/minio health {tenant}`.")
    else:
        actions.append(f"Kubernetes could not be inspected; confirm node state from MinIO: `/minio health {tenant}`.")
    return Diagnosis(sections, actions)


def _minio_servers_section(info: Fact[ServerInfo]) -> Section:
    title = "MinIO view of its servers"
    if isinstance(info, ClientError):
        return failed_section(title, info)
    offline = [s for s in info.servers if s.state != "online"]
    lines = [f"{len(info.servers) - len(offline)}/{len(info.servers)} servers online."]
    rows = [Row(status=Status.UNHEALTHY, text=f"{server_label(s.endpoint)}: {escape(s.state, 20)}") for s in offline]
    return Section(title=title, status=Status.UNHEALTHY if offline else Status.HEALTHY, lines=lines, rows=rows)
