"""Pure evaluation of gathered health facts: no I/O, no clock, no Slack.

Every function here takes facts (and `now` where age matters) and returns
report models, so each rule can be tested with hand-written facts.

Status rules, worst wins:

- UNHEALTHY: write or read quorum lost; no MinIO node answers; the canary
  cannot write or a step is slower than `probe.critical_ms`; a TLS certificate
  expired or expires within a day; default root credentials (anyone who knows
  MinIO's documented default can take the tenant over); Tenant `healthStatus`
  red.
- DEGRADED: a node offline, hung or initialising; a drive offline, unformatted
  or healing; version skew; a pod in CrashLoopBackOff (or an image pull or
  container config error) or not ready; a StatefulSet short of replicas; a
  PVC not Bound; Tenant yellow or drives offline/healing in its status; no
  ready operator pod; a canary step slower than `probe.warn_ms`; the probe
  bucket missing or not writable; a certificate expiring within 14 days; the
  newest backup older than the RPO.
- UNKNOWN (per section): the facts could not be gathered. The overall verdict
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

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from bot.clients.errors import ClientError
from bot.clients.kube_models import CertInfo, PodInfo
from bot.clients.minio_models import BackupFreshness, CanaryResult, ClusterHealth, Drive, Probe, ServerInfo
from bot.commands import escape
from bot.config import TenantConfig
from bot.report import Row, Section, Status, Text, worst
from handlers.health.erasure import ErasureSet, drive_tolerance, erasure_sets, node_tolerance, tolerance_text
from handlers.health.facts import BucketExposure, KubeFacts, MinioFacts, NodeRef, TenantFacts, TlsFacts
from handlers.health.findings import (
    MAX_ROWS,
    SectionBuilder,
    error_text,
    human_bytes,
    human_duration,
    more,
    plural,
)

CERT_WARN_DAYS = 14.0
CERT_CRITICAL_DAYS = 1.0
RECENT_RESTART_S = 15 * 60  # a node up for less than this "restarted recently"
MAX_REASONS = 10
_BAD_WAITING = frozenset(
    {"CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError", "CreateContainerError"}
)

SECTION_TITLES = (
    "Kubernetes",
    "MinIO service",
    "Storage integrity",
    "Performance probe",
    "Security",
    "Backup",
    "Resource usage",
)


class Evaluation(BaseModel):
    """The verdict for one tenant: overall status, the reasons that decided it, and the sections."""

    model_config = ConfigDict(frozen=True)

    status: Status
    reasons: list[str]
    sections: list[Section]


# ---------------------------------------------------------------- Kubernetes


def _pod_problem(pod: PodInfo) -> tuple[Status, str] | None:
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


_HEALTH_STATUS = {"green": Status.HEALTHY, "yellow": Status.DEGRADED, "red": Status.UNHEALTHY}


def evaluate_kubernetes(kube: KubeFacts | None) -> tuple[Section, list[Row]]:
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
    where = f"{kube.namespace}/{kube.tenant}"
    _tenant_status(b, kube, where)
    _pods(b, kube)
    _statefulsets(b, kube)
    _pvcs(b, kube)
    _operator(b, kube)
    _events(b, kube)
    return b.build()


def _tenant_status(b: SectionBuilder, kube: KubeFacts, where: str) -> None:
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
    message = f": {escape(status.health_message, 120)}" if status.health_message else ""
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
        b.info(f"Tenant state: {escape(status.current_state, 80)}")


def _pods(b: SectionBuilder, kube: KubeFacts) -> None:
    pods = kube.pods
    if isinstance(pods, ClientError):
        b.not_checked("pods", pods)
        return
    ready = sum(1 for p in pods if p.ready)
    restarts = sum(p.restarts for p in pods)
    b.fact("Pods", f"{ready}/{len(pods)} ready, {plural(restarts, 'restart')}")
    if not pods:
        b.finding(Status.DEGRADED, f"no pods labelled v1.min.io/tenant={kube.tenant}")
        return
    problems = [p for p in (_pod_problem(pod) for pod in pods) if p is not None]
    for status, text in problems[:MAX_ROWS]:
        b.finding(status, text)
    if len(problems) > MAX_ROWS:
        b.lines.append(f"... and {len(problems) - MAX_ROWS} more pods with problems")
    if not problems:
        b.ok(f"all {len(pods)} pods ready")
    restarted = [p for p in pods if p.restarts and _pod_problem(p) is None]
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
    b.fact("PVCs", f"{summary} ({human_bytes(total)})" if pvcs else summary)
    bad = [p for p in pvcs if p.phase != "Bound"]
    for pvc in bad[:MAX_ROWS]:
        size = human_bytes(pvc.requested_bytes)
        b.finding(Status.DEGRADED, f"PVC {pvc.name} {pvc.phase or 'Unknown'} ({size} requested)")
    if len(bad) > MAX_ROWS:
        b.lines.append(f"... and {len(bad) - MAX_ROWS} more PVCs not Bound")
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
        b.info(f"no MinIO Operator pods found ({kube.operator}); set `clusters[].operator` if it runs elsewhere")
    elif ready == 0:
        b.finding(Status.DEGRADED, "MinIO Operator has no ready pod (no reconciliation, no certificate rotation)")
    for pod in pods:
        problem = _pod_problem(pod)
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
    for event in events[:5]:
        count = f" (x{event.count})" if event.count > 1 else ""
        b.lines.append(f"{escape(f'{event.object} {event.reason}', 120)}{count}: {escape(event.message or '', 160)}")


# ---------------------------------------------------------------- MinIO service


def _node_index(nodes: list[NodeRef]) -> dict[str, NodeRef]:
    return {n.address: n for n in nodes}


def _server_label(endpoint: str, by_address: dict[str, NodeRef]) -> str:
    node = by_address.get(endpoint)
    return node.label if node else f"server {escape(endpoint, 100)}"


def _drive_label(drive: Drive, server: str, by_address: dict[str, NodeRef]) -> str:
    path = drive.endpoint.split("://", 1)[-1]
    path = "/" + path.split("/", 1)[1] if "/" in path else path
    node = by_address.get(server)
    where = f"node {node.number}" if node else f"server {escape(server, 100)}"
    return f"drive {escape(path, 80)} on {where}"


def evaluate_minio_service(minio: MinioFacts) -> tuple[Section, list[Row]]:
    """Per-node liveness, servers online, versions and skew, uptime, drives online."""
    b = SectionBuilder("MinIO service")
    liveness = minio.liveness
    if isinstance(liveness, ClientError):
        b.failed(liveness)
        return b.build()
    by_address = _node_index(minio.nodes)
    info = minio.info if isinstance(minio.info, ServerInfo) else None
    peer_state = {s.endpoint: s.state for s in info.servers} if info else {}
    down = [n for n in minio.nodes if not _live(liveness, n)]
    b.fact("Nodes live", f"{len(minio.nodes) - len(down)}/{len(minio.nodes)}")
    if minio.nodes and len(down) == len(minio.nodes):
        first = liveness[minio.nodes[0].number].error if minio.nodes[0].number in liveness else None
        b.finding(Status.UNHEALTHY, "no MinIO node answers", f"no MinIO node answers ({error_text(first or '?')})")
    for node in minio.nodes:
        probe = liveness.get(node.number)
        peers = peer_state.get(node.address)
        if probe is None or not probe.ok:
            if len(down) < len(minio.nodes):
                b.finding(
                    Status.DEGRADED,
                    _down_reason(node, probe.error_kind if probe else None, probe.status if probe else None),
                )
        elif probe.server_status_header == "offline":
            b.finding(Status.DEGRADED, f"{node.label} answers but its object layer is not ready")
        elif peers == "offline":
            b.finding(Status.DEGRADED, f"{node.label} offline to its peers (the bot can reach it)")
        elif peers == "initializing":
            b.finding(Status.DEGRADED, f"{node.label} initializing")
    if isinstance(minio.info, ClientError):
        if len(down) < len(minio.nodes):
            b.not_checked("servers and drives", minio.info)
        return b.build()
    assert info is not None
    _servers(b, info, by_address)
    _drives(b, info, by_address)
    if not down and not b.reasons:
        b.ok(f"all {plural(len(minio.nodes), 'node')} live")
    return b.build()


def _live(liveness: dict[int, Probe], node: NodeRef) -> bool:
    probe = liveness.get(node.number)
    return probe is not None and probe.ok


def _down_reason(node: NodeRef, kind: str | None, status: int | None) -> str:
    if kind == "timeout":
        return f"{node.label} not answering (timed out; hung?)"
    if status is not None:
        return f"{node.label} answers HTTP {status} on /minio/health/live"
    return f"{node.label} offline"


def _servers(b: SectionBuilder, info: ServerInfo, by_address: dict[str, NodeRef]) -> None:
    online = [s for s in info.servers if s.state == "online"]
    b.fact("Servers online", f"{len(online)}/{len(info.servers)} (as node {info.answered_by or '?'} sees them)")
    for server in info.servers:
        # Servers the bot addresses as nodes were judged above; only the others are left.
        if server.state != "online" and server.endpoint not in by_address:
            b.finding(Status.DEGRADED, f"server {escape(server.endpoint, 100)} {server.state or 'offline'}")
    versions: dict[str, list[str]] = {}
    for server in online:
        node = by_address.get(server.endpoint)
        versions.setdefault(server.version or "unknown", []).append(
            str(node.number) if node else escape(server.endpoint, 80)
        )
    if len(versions) == 1:
        b.fact("Version", next(iter(versions)))
    elif len(versions) > 1:
        spread = "; ".join(f"{v} on node {', '.join(nodes)}" for v, nodes in sorted(versions.items()))
        b.fact("Version", "skew")
        b.finding(Status.DEGRADED, f"version skew between nodes: {spread}")
    uptimes = {s.endpoint: s.uptime_s for s in online}
    if uptimes:
        youngest, oldest = min(uptimes.values()), max(uptimes.values())
        shortest, longest = human_duration(youngest), human_duration(oldest)
        b.fact("Uptime", longest if shortest == longest else f"{shortest} to {longest}")
        if oldest < RECENT_RESTART_S:
            b.info(f"all nodes started {human_duration(oldest)} ago")
        else:
            for endpoint, uptime in sorted(uptimes.items(), key=lambda kv: kv[1]):
                if uptime < RECENT_RESTART_S:
                    b.info(f"{_server_label(endpoint, by_address)} restarted {human_duration(uptime)} ago")


def _drives(b: SectionBuilder, info: ServerInfo, by_address: dict[str, NodeRef]) -> None:
    total = len(info.drives)
    ok = sum(1 for d in info.drives if d.state == "ok")
    b.fact("Drives online", f"{ok}/{total}")
    problems: list[str] = []
    for server in info.servers:
        if server.state != "online":
            continue  # its drives are offline with it; the node reason already says so
        for drive in server.drives:
            if drive.state != "ok":
                problems.append(f"{_drive_label(drive, server.endpoint, by_address)} {drive.state or 'offline'}")
    shown, hidden = more(problems)
    for text in shown:
        b.finding(Status.DEGRADED, text)
    if hidden:
        b.lines.append(f"... and {hidden} more drives not ok")


# ---------------------------------------------------------------- storage integrity


def evaluate_storage(minio: MinioFacts, minio_cause: str | None = None) -> tuple[Section, list[Row]]:
    """Write/read quorum, healing drives and progress, and how many more nodes the sets can lose."""
    b = SectionBuilder("Storage integrity")
    info = minio.info if isinstance(minio.info, ServerInfo) else None
    sets = erasure_sets(info) if info else []
    if info is None and isinstance(minio.cluster_write, ClientError) and isinstance(minio.cluster_read, ClientError):
        b.failed(minio.cluster_write, minio_cause)
        return b.build()
    if sets:
        layout = _layout(sets)
        b.fact("Erasure sets", layout)
        b.fact(
            "Quorum per set",
            f"write {sets[0].write_quorum}, read {sets[0].read_quorum}"
            if len({(s.write_quorum, s.read_quorum) for s in sets}) == 1
            else ", ".join(f"{s.name}: write {s.write_quorum}, read {s.read_quorum}" for s in sets),
        )
    write_ok = _quorum(b, minio.cluster_write, sets, read=False)
    read_ok = _quorum(b, minio.cluster_read, sets, read=True)
    if write_ok is False and read_ok:
        b.info("reads still possible: every set keeps read quorum")
    if sets and write_ok is not False:
        nodes_w, nodes_r = node_tolerance(sets), node_tolerance(sets, read=True)
        drives_w = drive_tolerance(sets)
        text = tolerance_text(nodes_w, nodes_r)
        b.fact("Drive tolerance", f"{plural(max(drives_w, 0), 'more drive')} per set and keep writing")
        if nodes_w > 0:
            b.ok(text)
        else:
            b.info(text)
    if info is not None:
        _healing(b, info, _node_index(minio.nodes))
    return b.build()


def _layout(sets: list[ErasureSet]) -> str:
    pools: dict[int, list[ErasureSet]] = {}
    for s in sets:
        pools.setdefault(s.pool, []).append(s)
    return "; ".join(
        f"pool {pool}: {plural(len(members), 'set')} of {members[0].size} drives, EC:{members[0].parity}"
        for pool, members in sorted(pools.items())
    )


def _quorum(b: SectionBuilder, answer: ClusterHealth | ClientError, sets: list[ErasureSet], read: bool) -> bool | None:
    """Judge one quorum from the cluster endpoint, explained (or replaced) by the computed sets."""
    kind = "read" if read else "write"
    lost = [s for s in sets if not (s.readable if read else s.writable)]
    if isinstance(answer, ClientError):
        if not sets:
            b.not_checked(f"{kind} quorum", answer)
            return None
        # No node answered the probe; the drive states still tell.
        b.info(f"/minio/health/cluster{'/read' if read else ''} not answered; judged from drive states")
        endpoint_ok = not lost
    else:
        endpoint_ok = answer.ok
    if endpoint_ok:
        b.ok(f"{kind} quorum met in every set")
        return True
    for s in lost or []:
        need = s.read_quorum if read else s.write_quorum
        b.finding(
            Status.UNHEALTHY,
            f"{kind} quorum lost in {s.name}",
            f"{kind} quorum lost in {s.name}: {s.online} of {s.size} drives online, needs {need}",
        )
    if not lost:
        status = answer.status if isinstance(answer, ClusterHealth) else "?"
        b.finding(
            Status.UNHEALTHY, f"{kind} quorum lost (/minio/health/cluster{'/read' if read else ''} answered {status})"
        )
    return False


def _healing(b: SectionBuilder, info: ServerInfo, by_address: dict[str, NodeRef]) -> None:
    healing = [(s.endpoint, d) for s in info.servers for d in s.drives if d.healing]
    b.fact("Healing", plural(len(healing), "drive") if healing else "none")
    for server, drive in healing[:MAX_ROWS]:
        progress = drive.heal_info.fraction_done if drive.heal_info else None
        label = _drive_label(drive, server, by_address)
        detail = ""
        if progress is not None and drive.heal_info is not None:
            detail = (
                f": {progress:.0%} ({human_bytes(drive.heal_info.bytes_done)} of "
                f"{human_bytes(drive.heal_info.bytes_total)}, {drive.heal_info.items_healed} objects)"
            )
        b.finding(
            Status.DEGRADED,
            f"{label} healing" + (f" ({progress:.0%})" if progress is not None else ""),
            f"{label} healing{detail}",
        )
    if len(healing) > MAX_ROWS:
        b.lines.append(f"... and {len(healing) - MAX_ROWS} more drives healing")


# ---------------------------------------------------------------- performance probe


def evaluate_probe(
    canary: CanaryResult | ClientError, tenant: TenantConfig, minio_cause: str | None = None
) -> tuple[Section, list[Row]]:
    """The canary PUT/GET/DELETE in the probe bucket, against the configured thresholds."""
    b = SectionBuilder("Performance probe")
    settings = tenant.probe
    bucket = escape(settings.bucket, 63)
    b.fact("Thresholds", f"warn {settings.warn_ms:g} ms, critical {settings.critical_ms:g} ms per step")
    if isinstance(canary, ClientError):
        if minio_cause:
            b.not_checked("canary", canary, minio_cause)
        elif canary.kind in ("timeout", "unreachable", "unavailable"):
            b.finding(
                Status.UNHEALTHY, "canary PUT/GET/DELETE failed on every node", f"canary failed: {error_text(canary)}"
            )
        else:
            b.not_checked("canary", canary)
        return b.build()
    if not canary.ok:
        _canary_failure(b, canary, bucket)
        return b.build()
    steps = {"PUT": canary.put_ms, "GET": canary.get_ms, "DELETE": canary.delete_ms}
    b.fact(
        "Canary",
        ", ".join(f"{k} {v:.0f} ms" for k, v in steps.items() if v is not None)
        + f" (bucket {bucket}, node {canary.node})",
    )
    slow = False
    for step, ms in steps.items():
        if ms is None:
            continue
        if ms > settings.critical_ms:
            b.finding(Status.UNHEALTHY, f"canary {step} {ms:.0f} ms (critical {settings.critical_ms:g} ms)")
            slow = True
        elif ms > settings.warn_ms:
            b.finding(Status.DEGRADED, f"canary {step} {ms:.0f} ms (warn {settings.warn_ms:g} ms)")
            slow = True
    if not slow:
        b.ok(f"canary PUT/GET/DELETE within {settings.warn_ms:g} ms each")
    return b.build()


def _canary_failure(b: SectionBuilder, canary: CanaryResult, bucket: str) -> None:
    error = canary.error or "failed"
    if canary.error_kind == "not_found" and "NoSuchBucket" in error:
        # A health check never creates buckets: a typo would litter the tenant, and the bot's
        # account should not need CreateBucket. Say how to fix it instead.
        b.finding(
            Status.DEGRADED,
            f"probe bucket {bucket} missing",
            f"probe bucket {bucket} missing: create it (`mc mb <alias>/{bucket}`) or set `probe.bucket`",
        )
    elif canary.error_kind in ("forbidden", "auth", "not_found", "invalid"):
        b.finding(Status.DEGRADED, f"canary cannot use probe bucket {bucket}: {error_text(error, 120)}")
    else:
        step = "PUT" if canary.put_ms is None else "GET/DELETE"
        b.finding(Status.UNHEALTHY, f"canary {step} failed", f"canary {step} failed: {error_text(error)}")


# ---------------------------------------------------------------- security


def evaluate_security(
    minio: MinioFacts,
    kube: KubeFacts | None,
    now: datetime,
    minio_cause: str | None = None,
    kube_cause: str | None = None,
) -> tuple[Section, list[Row]]:
    """NetworkPolicy, TLS and certificate expiry, default root credentials, public buckets."""
    b = SectionBuilder("Security")
    _network_policy(b, kube, kube_cause)
    tls: TlsFacts | ClientError = (
        kube.tls
        if kube is not None
        else TlsFacts(enabled=minio.https, source="endpoint scheme" + ("" if minio.https else " (http)"))
    )
    _tls(b, tls, now, kube_cause)
    root_default = kube.root_default if kube is not None and not kube_cause else None
    _credentials(b, minio.default_credentials, root_default, minio_cause)
    _public_buckets(b, minio.buckets, minio_cause)
    return b.build()


def _network_policy(b: SectionBuilder, kube: KubeFacts | None, cause: str | None) -> None:
    if kube is None:
        b.info("NetworkPolicy: not applicable (no Kubernetes Tenant)")
        return
    policies = kube.network_policies
    if isinstance(policies, ClientError):
        b.not_checked("NetworkPolicy", policies, cause)
    elif policies:
        b.ok(f"NetworkPolicy present: {', '.join(escape(p.name, 63) for p in policies[:5])}")
    else:
        b.info(f"no NetworkPolicy in namespace {kube.namespace}: any pod in the cluster can reach MinIO")


def certificate_status(days_left: float) -> Status:
    """Expired or within a day: UNHEALTHY; within 14 days: DEGRADED; else HEALTHY."""
    if days_left < CERT_CRITICAL_DAYS:
        return Status.UNHEALTHY
    if days_left < CERT_WARN_DAYS:
        return Status.DEGRADED
    return Status.HEALTHY


def _cert_days(cert: CertInfo, now: datetime) -> float:
    return (cert.not_after - now).total_seconds() / 86400


def _tls(b: SectionBuilder, tls: TlsFacts | ClientError, now: datetime, cause: str | None) -> None:
    if isinstance(tls, ClientError):
        b.not_checked("TLS", tls, cause)
        return
    if not tls.enabled:
        # Often terminated in front of MinIO (ingress, mesh), which the bot cannot see.
        b.info(f"TLS not enabled ({tls.source}): traffic and keys travel in clear text unless terminated in front")
        return
    b.fact("TLS", f"enabled ({tls.source})")
    for cert in tls.certificates:
        days = _cert_days(cert, now)
        status = certificate_status(days)
        name = escape(cert.secret, 63)
        if days < 0:
            text = f"TLS certificate {name} expired {human_duration(-days * 86400)} ago"
        else:
            text = f"TLS certificate {name} expires in {_days(days)}"
        if status is Status.HEALTHY:
            b.ok(f"{text} ({cert.not_after:%Y-%m-%d})")
        else:
            b.finding(status, text, f"{text} ({cert.not_after:%Y-%m-%d %H:%M} UTC): renew it")
    for secret, why in tls.unreadable.items():
        b.not_checked(f"certificate in Secret {escape(secret, 63)}", why)


def _days(days: float) -> str:
    return f"{days:.1f} days" if days < 2 else f"{round(days)} days"


def _credentials(
    b: SectionBuilder, bot_default: bool | ClientError, root_default: bool | ClientError | None, cause: str | None
) -> None:
    # Never name the value: it is registered as a secret and would be masked anyway.
    text = "default root credentials in use (MinIO's documented default user and password): change them"
    if bot_default is True or root_default is True:
        b.finding(Status.UNHEALTHY, "default root credentials in use", text)
    elif isinstance(bot_default, ClientError):
        b.not_checked("credentials", bot_default, cause)
    else:
        checked = "the bot's" + (" and the Tenant's root" if root_default is False else "")
        b.ok(f"no default credentials ({checked} credentials checked)")
    if isinstance(root_default, ClientError):
        # Reading the root Secret needs an extra RBAC grant; without it the bot's own keys were still checked.
        b.info(f"Tenant root credentials not checked: {error_text(root_default, 150)}")


def _public_buckets(b: SectionBuilder, buckets: BucketExposure | ClientError, cause: str | None) -> None:
    if isinstance(buckets, ClientError):
        b.not_checked("bucket policies", buckets, cause)
        return
    if buckets.public:
        names = ", ".join(escape(n, 63) for n in buckets.public[:10])
        more = f" and {len(buckets.public) - 10} more" if len(buckets.public) > 10 else ""
        b.info(f"anonymous access allowed on {plural(len(buckets.public), 'bucket')}: {names}{more}")
    else:
        b.ok(f"no public buckets ({buckets.checked} checked)")
    if buckets.checked < buckets.total:
        b.lines.append(f"only {buckets.checked} of {buckets.total} bucket policies checked")
    if buckets.failed:
        first = next(iter(buckets.failed.items()))
        b.not_checked(f"policy of {plural(len(buckets.failed), 'bucket')}", f"{first[0]}: {first[1]}")


# ---------------------------------------------------------------- backup


def evaluate_backup(
    backup: BackupFreshness | ClientError | None, tenant: TenantConfig, now: datetime, minio_cause: str | None = None
) -> tuple[Section, list[Row]]:
    """Age of the newest object under the backup target against the RPO."""
    b = SectionBuilder("Backup")
    target = tenant.backup
    if target is None:
        b.info("no backup target configured (set `backup` for this tenant to check its age against an RPO)")
        return b.build()
    where = escape(f"{target.bucket}/{target.prefix}", 120) + (
        f" at {escape(target.endpoint, 120)}" if target.endpoint else ""
    )
    b.fact("Target", where)
    b.fact("RPO", f"{target.rpo_hours:g} h")
    if isinstance(backup, ClientError):
        if backup.kind == "not_found" and "NoSuchBucket" in backup.detail:
            b.finding(Status.DEGRADED, f"backup bucket {escape(target.bucket, 63)} missing")
        else:
            # A backup kept on the tenant itself shares the tenant's outage.
            b.not_checked("backup", backup, None if target.endpoint else minio_cause)
        return b.build()
    if backup is None:
        b.not_checked("backup", "no answer")
        return b.build()
    if backup.newest is None:
        b.finding(Status.DEGRADED, f"no backup objects under {where}")
        return b.build()
    age = now - backup.newest
    b.fact("Newest backup", f"{backup.newest:%Y-%m-%d %H:%M} UTC ({human_duration(age.total_seconds())} old)")
    if age > timedelta(hours=target.rpo_hours):
        b.finding(
            Status.DEGRADED, f"newest backup {human_duration(age.total_seconds())} old (RPO {target.rpo_hours:g} h)"
        )
    else:
        b.ok(f"newest backup {human_duration(age.total_seconds())} old, within the {target.rpo_hours:g} h RPO")
    if backup.truncated:
        b.lines.append(f"looked at the first {backup.objects_seen} objects only")
    return b.build()


# ---------------------------------------------------------------- resource usage


def evaluate_resources(kube: KubeFacts | None, kube_cause: str | None = None) -> tuple[Section, list[Row]]:
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
    b.fact("Memory", human_bytes(sum(m.memory_bytes for m in metrics)))
    for m in sorted(metrics, key=lambda m: m.memory_bytes, reverse=True)[:MAX_ROWS]:
        b.lines.append(f"{m.name}: {m.cpu_millicores:.0f}m CPU, {human_bytes(m.memory_bytes)}")
    return b.build()


# ---------------------------------------------------------------- overall


def minio_root_cause(minio: MinioFacts) -> str | None:
    """"no MinIO node answers" (or why MinIO could not be asked at all) when that is so, else None."""
    if isinstance(minio.liveness, ClientError):
        return "MinIO could not be checked, see MinIO service"
    if minio.nodes and not any(p.ok for p in minio.liveness.values()):
        return "no MinIO node answers"
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


def decisive_reasons(reasons: Iterable[Row], limit: int = MAX_REASONS) -> list[Text]:
    """Reasons worst first (stable within a status), without duplicates, at most ``limit`` plus a count."""
    ordered = sorted(reasons, key=lambda r: -(r.status or Status.INFO).severity)
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
    reasons = [reason for _, rows in verdicts for reason in rows]
    status = overall_status(s.status for s in sections if s.status is not None)
    return Evaluation(status=status, reasons=decisive_reasons(reasons), sections=sections)
