"""The maintenance check as a report: node by node, then pods, PVCs, events and the window."""

from __future__ import annotations

from datetime import datetime

from bot.clients.errors import ClientError, PerNodeUnavailable
from bot.clients.minio_models import ClusterHealth
from bot.config import TenantConfig
from bot.report import Report, Row, Section, Status, Text, code, emoji, mention, spans, when, worst
from bot.store import MaintenanceWindow
from handlers.maintenance.evaluate import safe_nodes
from handlers.maintenance.facts import CheckFacts, NodeAnswer

NODES = "Node by node: safe to take down now?"
MAX_EVENTS = 10
MAX_UNBOUND = 20


def node_verdict(node: NodeAnswer) -> Row:
    """One node's answer to "can it be taken down now?", explained; the node named by its pod when known."""
    where = spans("pod ", code(node.pod), f", {node.address}") if node.pod else (node.address,)
    label = spans(f"node {node.number} (", where, ")")
    answer = node.answer
    if isinstance(answer, ClientError):
        return Row(status=Status.UNKNOWN, text=spans(
            label, f": did not answer ({answer}). It may already be down: count it as out, and do not take another "
            "node down until it is back."))
    if answer.starting:
        # It answered before evaluating anything (503 with X-Minio-Server-Status): no verdict either way.
        return Row(status=Status.UNKNOWN, text=spans(
            label, f": starting, cannot judge ({answer.server_status}). It serves nothing yet: count it as out, and "
            "do not take another node down until it serves."))
    if answer.ok:
        quorum = f" (write quorum {answer.quorum})" if answer.quorum else ""
        return Row(status=Status.HEALTHY, text=spans(label, ": safe to take down now; every erasure set keeps write "
                                                            f"quorum without its drives{quorum}."))
    if answer.maintenance_refused and answer.healing_drives > 0:
        return Row(status=Status.DEGRADED, text=spans(
            label, f": NOT safe now: {answer.healing_drives} drive(s) are healing (X-Minio-Healing-Drives: "
            f"{answer.healing_drives}, HTTP {answer.status}). MinIO refuses maintenance while any drive heals; "
            "wait until healing finishes."))
    quorum = f" {answer.quorum}" if answer.quorum else ""
    return Row(status=Status.UNHEALTHY, text=spans(
        label, f": NOT safe: without its drives an erasure set would fall below write quorum{quorum} "
        f"(HTTP {answer.status}). Bring offline drives or nodes back first."))


def _cluster_line(cluster: ClusterHealth | ClientError | None, *, always: bool) -> tuple[list[Text], list[Status]]:
    if isinstance(cluster, ClusterHealth) and cluster.quorum_lost:
        return [spans(emoji("red_circle"), " The cluster has lost write quorum right now: this is an incident, not "
                      "a maintenance slot.")], [Status.UNHEALTHY]
    if isinstance(cluster, ClusterHealth) and cluster.starting:
        return [f"Every node that answered is still starting (node {cluster.node}: {cluster.server_status}): "
                "write quorum is not known yet."], [Status.UNKNOWN]
    if not always:
        return [], []
    if isinstance(cluster, ClusterHealth):
        return ["Cluster-wide, every erasure set has write quorum now."], []
    return [f"MinIO did not answer the cluster health check: {cluster}"], [Status.UNKNOWN]


def _nodes_section(facts: CheckFacts) -> tuple[Section, Status, Text]:
    """The node-by-node section, its verdict and the report's summary."""
    if isinstance(facts.no_nodes, PerNodeUnavailable):
        lines, statuses = _cluster_line(facts.cluster, always=True)
        section = Section(title=NODES, status=Status.UNKNOWN, lines=[
            "MinIO's answer to ?maintenance=true could come from any node behind the balancer, so no node is asked. "
            "Reach the nodes one by one (per-node endpoints, or the pods' own names) for a node-by-node answer.",
            *lines])
        return section, worst([Status.UNKNOWN, *statuses]), f"{facts.no_nodes}."
    if facts.no_nodes is not None:
        return Section(title=NODES, error=str(facts.no_nodes)), Status.UNKNOWN, \
            "MinIO could not be asked which nodes are safe to take down."
    rows = [node_verdict(n) for n in facts.nodes]
    safe = len(safe_nodes(facts.nodes))
    lines, statuses = _cluster_line(facts.cluster, always=False)
    lines.append("Each answer assumes every other node stays up: take one node down at a time and run this check "
                 "again once it is back and healing has finished.")
    total = len(facts.nodes)
    verdict = Status.HEALTHY if safe == total else Status.UNHEALTHY if safe == 0 else Status.DEGRADED
    return Section(title=NODES, rows=rows, lines=lines), worst([verdict, *statuses]), \
        f"{safe} of {total} node(s) can be taken down now, one at a time."


def _kube_sections(facts: CheckFacts) -> list[Section]:
    sections: list[Section] = []
    if isinstance(facts.pods, list):
        rows = []
        for pod in facts.pods:
            problem = pod.waiting_reason or ("not ready" if not pod.ready else None)
            waiting = f", {pod.waiting_reason}" if pod.waiting_reason else ""
            rows.append(Row(status=Status.DEGRADED if problem else Status.HEALTHY, text=spans(
                code(pod.name), f" {pod.phase or '?'}, {'ready' if pod.ready else 'NOT ready'}, {pod.restarts} "
                f"restart(s){waiting}")))
        sections.append(Section(title=f"Pods ({sum(p.ready for p in facts.pods)}/{len(facts.pods)} ready)",
                                rows=rows or [Row(status=Status.UNKNOWN, text="no pods found")]))
    else:
        sections.append(Section(title="Pods", error=str(facts.pods)))
    if isinstance(facts.pvcs, list):
        unbound = [p for p in facts.pvcs if p.phase != "Bound"]
        lines: list[Text] = [f"{len(facts.pvcs) - len(unbound)} of {len(facts.pvcs)} Bound."]
        lines += [spans(code(p.name), f": {p.phase or 'unknown phase'}") for p in unbound[:MAX_UNBOUND]]
        sections.append(Section(title="PVCs", status=Status.DEGRADED if unbound else Status.HEALTHY, lines=lines))
    else:
        sections.append(Section(title="PVCs", error=str(facts.pvcs)))
    if isinstance(facts.events, list):
        events: list[Text] = []
        for event in facts.events[:MAX_EVENTS]:
            at = f"{event.last_seen:%H:%M} " if event.last_seen else ""
            times = f" (x{event.count})" if event.count > 1 else ""
            events.append(f"{at}{event.object} {event.reason}: {(event.message or '')[:200]}{times}")
        sections.append(Section(title="Recent warning events (last hour)", lines=events or ["None."]))
    else:
        sections.append(Section(title="Recent warning events", error=str(facts.events)))
    return sections


def _window_section(tenant: str, window: MaintenanceWindow | None, now: datetime) -> Section:
    if window is None:
        return Section(title="Maintenance window", lines=["None open: alerts are active."])
    state = (spans("open until ", when(window.until), ": alerts for ", code(tenant), " are muted")
             if window.until > now else
             spans("past its end (", when(window.until), "): alerts are active again; disable it to undo its "
                   "changes"))
    return Section(title="Maintenance window", status=Status.INFO if window.until > now else Status.DEGRADED,
                   lines=[spans("Opened by ", mention(window.started_by), " at ", when(window.started_at), ", ",
                                state, ".")])


def check_report(tenant: TenantConfig, facts: CheckFacts, now: datetime) -> Report:
    """Node by node: is it safe to take this node down now? Plus pods, PVCs, events and the current window."""
    nodes, status, summary = _nodes_section(facts)
    sections = [nodes, *(_kube_sections(facts) if facts.kubernetes else []),
                _window_section(tenant.name, facts.window, now)]
    return Report(
        title=f"Maintenance check: {tenant.name}",
        status=status,
        summary=summary,
        sections=sections,
        footer=[spans("Open a window: ", code(f"/minio maintenance {tenant.name} enable [--hours H] [reason]"),
                      " (needs approval).")],
    )
