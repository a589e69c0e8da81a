"""The MinIO service section: is each node live (or, behind a load balancer, does MinIO answer at all), servers,
versions and skew, uptime, drives."""

from __future__ import annotations

from bot import humanize
from bot.clients.errors import ClientError
from bot.clients.minio_models import Drive, Probe, ServerInfo
from bot.report import Section, Status, duration, spans
from handlers.health.facts import LoadBalanced, MinioFacts, NodeRef
from handlers.health.findings import Reason, SectionBuilder, more, plural

RECENT_RESTART_S = 15 * 60  # a node up for less than this "restarted recently"
NO_NODE_ANSWERS = "no MinIO node answers"


def no_node_answers(liveness: dict[int, Probe]) -> str:
    """Why MinIO is out, said plainly: ``no MinIO node answered within 2 s`` when every node was
    waited for and none answered (hung or partitioned), else ``no MinIO node answers``."""
    probes = list(liveness.values())
    if probes and all(p.error_kind == "timeout" for p in probes):
        waited_s = max(p.latency_ms for p in probes) / 1000
        return f"no MinIO node answered within {humanize.duration(waited_s)}"
    return NO_NODE_ANSWERS


def server_label(endpoint: str, minio: MinioFacts) -> str:
    """``node 2 (10.0.0.2:9000)`` for a server the bot addresses as a node, else ``server <endpoint>``."""
    node = minio.node_at(endpoint)
    return node.label if node else f"server {endpoint}"


def drive_label(drive: Drive, server: str, minio: MinioFacts) -> str:
    """``drive /data1 on node 2``: the drive's path and where it is."""
    path = drive.endpoint.split("://", 1)[-1]
    path = "/" + path.split("/", 1)[1] if "/" in path else path
    node = minio.node_at(server)
    return f"drive {path} on " + (f"node {node.number}" if node else f"server {server}")


def evaluate_minio_service(minio: MinioFacts) -> tuple[Section, list[Reason]]:
    """Per-node liveness, servers online, versions and skew, uptime, drives online."""
    b = SectionBuilder("MinIO service")
    liveness = minio.liveness
    if isinstance(liveness, ClientError):
        b.failed(liveness)
        return b.build()
    if isinstance(liveness, LoadBalanced):
        answers, all_live = _load_balanced(b, liveness), False
    else:
        down = _per_node(b, minio, liveness)
        answers, all_live = len(down) < len(minio.nodes), not down
    if isinstance(minio.info, ClientError):
        if answers:
            b.not_checked("servers and drives", minio.info)
        return b.build()
    _servers(b, minio.info, minio)
    _uptime(b, minio.info, minio)
    _drives(b, minio.info, minio)
    if all_live and not b.reasons:
        b.ok(f"all {plural(len(minio.nodes), 'node')} live")
    return b.build()


def _load_balanced(b: SectionBuilder, liveness: LoadBalanced) -> bool:
    """Whether MinIO answers behind the balancer; which node answered cannot be known, so none is judged."""
    b.info(liveness.why)
    if isinstance(liveness.cluster, ClientError):
        b.finding(Status.UNHEALTHY, NO_NODE_ANSWERS, f"{NO_NODE_ANSWERS} ({liveness.cluster})")
        return False
    b.fact("Nodes live", "not known per node (load-balanced endpoint)")
    b.ok("MinIO answers through the load-balanced endpoint")
    return True


def _per_node(b: SectionBuilder, minio: MinioFacts, liveness: dict[int, Probe]) -> list[NodeRef]:
    """Judge each node from its own liveness probe and its peers' view; returns the nodes that are down."""
    info = minio.info if isinstance(minio.info, ServerInfo) else None
    peer_state = {s.endpoint: s.state for s in info.servers} if info else {}
    down = [n for n in minio.nodes if not _live(liveness, n)]
    b.fact("Nodes live", f"{len(minio.nodes) - len(down)}/{len(minio.nodes)}")
    if minio.nodes and len(down) == len(minio.nodes):
        first = liveness[minio.nodes[0].number].error if minio.nodes[0].number in liveness else None
        reason = no_node_answers(liveness)
        b.finding(Status.UNHEALTHY, reason, f"{reason} ({first or '?'})")
        return down
    for node in minio.nodes:
        probe = liveness.get(node.number)
        peers = peer_state.get(node.address)
        phase = (minio.starting.get(node.number) or probe.server_status_header) if probe is not None else None
        if probe is None or not probe.ok:
            b.finding(Status.DEGRADED, _down_reason(node, probe))
        elif phase:
            # Live, but its object layer, IAM or bucket metadata is not ready yet: it serves nothing
            # now, and it said so itself; quorum is judged by the nodes that serve.
            b.finding(Status.DEGRADED, f"{node.label} is starting ({phase})")
        elif peers == "offline":
            b.finding(Status.DEGRADED, f"{node.label} offline to its peers (the bot can reach it)")
        elif peers == "initializing":
            b.finding(Status.DEGRADED, f"{node.label} initializing")
    return down


def _live(liveness: dict[int, Probe], node: NodeRef) -> bool:
    probe = liveness.get(node.number)
    return probe is not None and probe.ok


def _down_reason(node: NodeRef, probe: Probe | None) -> str:
    if probe is not None and probe.error_kind == "timeout":
        return f"{node.label} not answering (timed out; hung?)"
    if probe is not None and probe.status is not None:
        return f"{node.label} answers HTTP {probe.status} on /minio/health/live"
    return f"{node.label} offline"


def _servers(b: SectionBuilder, info: ServerInfo, minio: MinioFacts) -> None:
    online = [s for s in info.servers if s.state == "online"]
    balanced = isinstance(minio.liveness, LoadBalanced)
    seen_by = "the load-balanced endpoint" if balanced else f"node {info.answered_by or '?'}"
    b.fact("Servers online", f"{len(online)}/{len(info.servers)} (as {seen_by} sees them)")
    for server in info.servers:
        # Servers the bot addresses as nodes were judged above; only the others are left.
        if server.state != "online" and minio.node_at(server.endpoint) is None:
            b.finding(Status.DEGRADED, f"server {server.endpoint} {server.state or 'offline'}")
    versions: dict[str, list[str]] = {}
    for server in online:
        node = minio.node_at(server.endpoint)
        version = server.release_tag or server.version or "unknown"
        versions.setdefault(version, []).append(str(node.number) if node else server.endpoint)
    if len(versions) == 1:
        b.fact("Version", next(iter(versions)))
    elif len(versions) > 1:
        spread = "; ".join(f"{v} on node {', '.join(nodes)}" for v, nodes in sorted(versions.items()))
        b.fact("Version", "skew")
        b.finding(Status.DEGRADED, f"version skew between nodes: {spread}")


def _uptime(b: SectionBuilder, info: ServerInfo, minio: MinioFacts) -> None:
    uptimes = {s.endpoint: s.uptime_s for s in info.servers if s.state == "online"}
    if not uptimes:
        return
    youngest, oldest = min(uptimes.values()), max(uptimes.values())
    same = humanize.duration(youngest) == humanize.duration(oldest)
    b.fact("Uptime", spans(duration(oldest)) if same else spans(duration(youngest), " to ", duration(oldest)))
    if oldest < RECENT_RESTART_S:
        b.info(spans("all nodes started ", duration(oldest), " ago"))
        return
    for endpoint, uptime in sorted(uptimes.items(), key=lambda kv: kv[1]):
        if uptime < RECENT_RESTART_S:
            b.info(spans(server_label(endpoint, minio), " restarted ", duration(uptime), " ago"))


def _drives(b: SectionBuilder, info: ServerInfo, minio: MinioFacts) -> None:
    total = len(info.drives)
    ok = sum(1 for d in info.drives if d.state == "ok")
    b.fact("Drives online", f"{ok}/{total}")
    problems: list[str] = []
    for server in info.servers:
        if server.state != "online":
            continue  # its drives are offline with it; the node reason already says so
        for drive in server.drives:
            if drive.state != "ok":
                problems.append(f"{drive_label(drive, server.endpoint, minio)} {drive.state or 'offline'}")
    shown, hidden = more(problems)
    for text in shown:
        b.finding(Status.DEGRADED, text)
    if hidden:
        b.line(f"... and {hidden} more drives not ok")
