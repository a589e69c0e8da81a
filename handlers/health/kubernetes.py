"""The Kubernetes and Resource usage sections: the Tenant, its pods, StatefulSets, PVCs, operator, events, metrics."""

from __future__ import annotations

from collections import Counter

from bot.clients.errors import ClientError
from bot.clients.kube_models import PodInfo
from bot.report import Section, Status, code, size, spans
from handlers.health.facts import KubeFacts
from handlers.health.findings import MAX_ROWS, Reason, SectionBuilder, plural

_BAD_WAITING = frozenset(
    {"CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError", "CreateContainerError"}
)
_HEALTH_STATUS = {"green": Status.HEALTHY, "yellow": Status.DEGRADED, "red": Status.UNHEALTHY}
MAX_EVENTS = 5


def pod_problem(pod: PodInfo) -> tuple[Status, str] | None:
    """What is wrong with a pod (crash loop, image pull, not ready), or None when nothing is."""
    last = f", last exit {pod.last_termination_reason}" if pod.last_termination_reason else ""
    restarts = f", {plural(pod.restarts, 'restart')}" if pod.restarts else ""
    if pod.waiting_reason in _BAD_WAITING:
        return Status.DEGRADED, f"pod {pod.name} in {pod.waiting_reason}{last}{restarts}"
    if pod.deleting:
        return None  # a rolling restart; the StatefulSet count tells whether it lags
    if not pod.ready:
        waiting = f" ({pod.waiting_reason})" if pod.waiting_reason else ""
        return Status.DEGRADED, f"pod {pod.name} not ready, phase {pod.phase or 'unknown'}{waiting}{restarts}"
    return None


def evaluate_kubernetes(kube: KubeFacts | None) -> tuple[Section, list[Reason]]:
    """Operator pods, tenant pods, StatefulSets, PVCs, Tenant status and recent Warning events."""
    b = SectionBuilder("Kubernetes")
    if kube is None:
        b.info("static endpoints: no Kubernetes Tenant configured for this tenant")
        return b.build()
    facts = [kube.tenant_info, kube.pods, kube.statefulsets, kube.pvcs, kube.events, kube.operator_pods]
    errors = [f for f in facts if isinstance(f, ClientError)]
    if len(errors) == len(facts):
        b.failed(errors[0])
        return b.build()
    _tenant_status(b, kube)
    _pods(b, kube)
    _statefulsets(b, kube)
    _pvcs(b, kube)
    _operator(b, kube)
    _events(b, kube)
    return b.build()


def _tenant_status(b: SectionBuilder, kube: KubeFacts) -> None:
    where = f"{kube.namespace}/{kube.tenant}"
    info = kube.tenant_info
    if isinstance(info, ClientError):
        b.not_checked(f"Tenant {where}", info)
        return
    status = info.status
    if status is None:
        b.finding(Status.DEGRADED, f"Tenant {where} has no status (the operator has not reconciled it)")
        return
    health = status.health_status or "unknown"
    drives = ""
    if status.drives_online is not None:
        drives = f", drives {status.drives_online} online / {status.drives_offline or 0} offline"
        drives += f" / {status.drives_healing or 0} healing"
    b.fact("Tenant", f"{status.current_state or 'no state'}, health {health}{drives}")
    verdict = _HEALTH_STATUS.get(health)
    message = f": {status.health_message}" if status.health_message else ""
    if verdict is None:
        b.info(f"Tenant health status not reported yet{message}")
    elif verdict is Status.HEALTHY:
        b.ok(f"Tenant {status.current_state or ''} and {health}".replace("  ", " "))
    else:
        b.finding(verdict, f"Tenant health {health}{message}")
    if status.drives_offline:
        b.finding(Status.DEGRADED, f"operator sees {plural(status.drives_offline, 'drive')} offline")
    if status.drives_healing:
        b.finding(Status.DEGRADED, f"operator sees {plural(status.drives_healing, 'drive')} healing")
    if status.current_state and status.current_state != "Initialized":
        b.info(f"Tenant state: {status.current_state}")


def _pods(b: SectionBuilder, kube: KubeFacts) -> None:
    pods = kube.pods
    if isinstance(pods, ClientError):
        b.not_checked("pods", pods)
        return
    ready = sum(1 for p in pods if p.ready)
    restarts = sum(p.restarts for p in pods)
    b.fact("Pods", f"{ready}/{len(pods)} ready, {plural(restarts, 'restart')}")
    if not pods:
        b.finding(Status.UNHEALTHY, f"no MinIO pod exists (none labelled v1.min.io/tenant={kube.tenant}): "
                                    "the tenant serves nothing")
        return
    if ready == 0:
        b.finding(Status.UNHEALTHY, f"none of the {len(pods)} MinIO pods is ready: the tenant serves nothing")
    problems = [p for p in (pod_problem(pod) for pod in pods) if p is not None]
    for status, text in problems[:MAX_ROWS]:
        b.finding(status, text)
    if len(problems) > MAX_ROWS:
        b.line(f"... and {len(problems) - MAX_ROWS} more pods with problems")
    if not problems:
        b.ok(f"all {len(pods)} pods ready")
    restarted = [p for p in pods if p.restarts and pod_problem(p) is None]
    for pod in restarted[:MAX_ROWS]:
        last = f" (last exit: {pod.last_termination_reason})" if pod.last_termination_reason else ""
        b.info(f"pod {pod.name} restarted {pod.restarts} time(s){last}")


def _statefulsets(b: SectionBuilder, kube: KubeFacts) -> None:
    sets = kube.statefulsets
    if isinstance(sets, ClientError):
        b.not_checked("StatefulSets", sets)
        return
    b.fact("StatefulSets", ", ".join(f"{s.name} {s.ready}/{s.replicas}" for s in sets) or "none")
    for sts in sets:
        if sts.ready < sts.replicas:
            b.finding(Status.DEGRADED, f"StatefulSet {sts.name} {sts.ready}/{sts.replicas} ready")
        if sts.rolling:
            b.info(f"StatefulSet {sts.name} is rolling out a new revision ({sts.updated}/{sts.replicas} updated)")


def _pvcs(b: SectionBuilder, kube: KubeFacts) -> None:
    pvcs = kube.pvcs
    if isinstance(pvcs, ClientError):
        b.not_checked("PVCs", pvcs)
        return
    phases = Counter(p.phase or "Unknown" for p in pvcs)
    total = sum(p.capacity_bytes or p.requested_bytes or 0 for p in pvcs)
    summary = ", ".join(f"{n} {phase}" for phase, n in sorted(phases.items())) or "none"
    b.fact("PVCs", spans(summary, " (", size(total), ")") if pvcs else summary)
    bad = [p for p in pvcs if p.phase != "Bound"]
    for pvc in bad[:MAX_ROWS]:
        requested = spans(" (", size(pvc.requested_bytes), " requested)") if pvc.requested_bytes is not None else ""
        reason = f"PVC {pvc.name} {pvc.phase or 'Unknown'}"
        b.finding(Status.DEGRADED, reason, spans(reason, requested))
    if len(bad) > MAX_ROWS:
        b.line(f"... and {len(bad) - MAX_ROWS} more PVCs not Bound")
    if pvcs and not bad:
        b.ok(f"all {len(pvcs)} PVCs Bound")


def _operator(b: SectionBuilder, kube: KubeFacts) -> None:
    pods = kube.operator_pods
    if isinstance(pods, ClientError):
        b.not_checked("MinIO Operator", pods)
        return
    ready = sum(1 for p in pods if p.ready)
    b.fact("Operator", f"{ready}/{len(pods)} pods ready" if pods else "not found")
    if not pods:
        # It may be installed under another namespace; the tenant keeps serving without it.
        b.info(spans(
            "no MinIO Operator pods found (", code(kube.operator), "); set ", code("clusters[].operator"),
            " if it runs elsewhere",
        ))
    elif ready == 0:
        b.finding(Status.DEGRADED, "MinIO Operator has no ready pod (no reconciliation, no certificate rotation)")
    for pod in pods:
        problem = pod_problem(pod)
        if problem is not None and ready > 0:
            b.finding(problem[0], "operator " + problem[1])


def _events(b: SectionBuilder, kube: KubeFacts) -> None:
    events = kube.events
    if isinstance(events, ClientError):
        b.not_checked("events", events)
        return
    if not events:
        return
    b.info(f"{plural(len(events), 'Warning event')} in the last hour")
    for event in events[:MAX_EVENTS]:
        count = f" (x{event.count})" if event.count > 1 else ""
        b.line(spans(code(event.object), f" {event.reason}{count}: {event.message or ''}"))


def evaluate_resources(kube: KubeFacts | None, kube_cause: str | None = None) -> tuple[Section, list[Reason]]:
    """Pod CPU and memory from the metrics API, when the cluster serves one."""
    b = SectionBuilder("Resource usage")
    if kube is None:
        b.info("no Kubernetes Tenant: pod metrics not applicable")
        return b.build()
    metrics = kube.metrics
    if isinstance(metrics, ClientError):
        if metrics.kind == "unavailable":
            b.info("metrics API not available (no metrics-server): CPU/memory not shown")
        else:
            b.not_checked("pod metrics", metrics, kube_cause)
        return b.build()
    if not metrics:
        b.info("the metrics API has no samples for these pods yet")
        return b.build()
    b.fact("CPU", f"{sum(m.cpu_millicores for m in metrics):.0f}m over {plural(len(metrics), 'pod')}")
    b.fact("Memory", spans(size(sum(m.memory_bytes for m in metrics))))
    for m in sorted(metrics, key=lambda m: m.memory_bytes, reverse=True)[:MAX_ROWS]:
        b.line(spans(code(m.name), f": {m.cpu_millicores:.0f}m CPU, ", size(m.memory_bytes)))
    return b.build()
