"""The Storage integrity section: write and read quorum, healing drives, and how many more nodes the sets can lose."""

from __future__ import annotations

from bot.clients.errors import ClientError
from bot.clients.minio_models import ClusterHealth, ServerInfo
from bot.report import Section, Status, code, size, spans
from handlers.health.erasure import ErasureSet, drive_tolerance, erasure_sets, node_tolerance, tolerance_text
from handlers.health.facts import MinioFacts
from handlers.health.findings import MAX_ROWS, Reason, SectionBuilder, plural
from handlers.health.minio_service import drive_label


def evaluate_storage(minio: MinioFacts, minio_cause: str | None = None) -> tuple[Section, list[Reason]]:
    """Write/read quorum, healing drives and progress, and how many more nodes the sets can lose."""
    b = SectionBuilder("Storage integrity")
    info = minio.info if isinstance(minio.info, ServerInfo) else None
    sets = erasure_sets(info) if info else []
    if info is None and isinstance(minio.cluster_write, ClientError) and isinstance(minio.cluster_read, ClientError):
        b.failed(minio.cluster_write, minio_cause)
        return b.build()
    if sets:
        b.fact("Erasure sets", _layout(sets))
        b.fact("Quorum per set", _quorums(sets))
    write_ok = _quorum(b, minio, sets, read=False)
    read_ok = _quorum(b, minio, sets, read=True)
    if write_ok is False and read_ok:
        b.info("reads still possible: every set keeps read quorum")
    if sets and write_ok is not False:
        nodes_w, nodes_r = node_tolerance(sets), node_tolerance(sets, read=True)
        text = tolerance_text(nodes_w, nodes_r)
        b.fact("Drive tolerance", f"{plural(max(drive_tolerance(sets), 0), 'more drive')} per set and keep writing")
        if nodes_w > 0:
            b.ok(text)
        else:
            b.info(text)
    if info is not None:
        _healing(b, info, minio)
    return b.build()


def _layout(sets: list[ErasureSet]) -> str:
    pools: dict[int, list[ErasureSet]] = {}
    for s in sets:
        pools.setdefault(s.pool, []).append(s)
    return "; ".join(
        f"pool {pool}: {plural(len(members), 'set')} of {members[0].size} drives, EC:{members[0].parity}"
        for pool, members in sorted(pools.items())
    )


def _quorums(sets: list[ErasureSet]) -> str:
    if len({(s.write_quorum, s.read_quorum) for s in sets}) == 1:
        return f"write {sets[0].write_quorum}, read {sets[0].read_quorum}"
    return ", ".join(f"{s.name}: write {s.write_quorum}, read {s.read_quorum}" for s in sets)


def _quorum(b: SectionBuilder, minio: MinioFacts, sets: list[ErasureSet], read: bool) -> bool | None:
    """Judge one quorum from the cluster endpoint, explained (or replaced) by the computed sets."""
    answer = minio.cluster_read if read else minio.cluster_write
    kind = "read" if read else "write"
    path = "/minio/health/cluster" + ("/read" if read else "")
    lost = [s for s in sets if not (s.readable if read else s.writable)]
    if isinstance(answer, ClusterHealth) and answer.starting:
        # Every node asked is still starting: none evaluated quorum, so nothing is known, nothing is lost.
        node = next((n.label for n in minio.nodes if n.number == answer.node), f"node {answer.node}")
        b.finding(Status.UNKNOWN, f"{kind} quorum not known: {node} is starting ({answer.server_status})")
        return None
    if isinstance(answer, ClientError):
        if not sets:
            b.not_checked(f"{kind} quorum", answer)
            return None
        # No node answered the probe; the drive states still tell.
        b.info(spans(code(path), " not answered; judged from drive states"))
        endpoint_ok = not lost
    else:
        endpoint_ok = not answer.quorum_lost
    if endpoint_ok:
        b.ok(f"{kind} quorum met in every set")
        return True
    for s in lost:
        need = s.read_quorum if read else s.write_quorum
        b.finding(
            Status.UNHEALTHY,
            f"{kind} quorum lost in {s.name}",
            f"{kind} quorum lost in {s.name}: {s.online} of {s.size} drives online, needs {need}",
        )
    if not lost:
        status = answer.status if isinstance(answer, ClusterHealth) else "?"
        b.finding(Status.UNHEALTHY, f"{kind} quorum lost ({path} answered {status})")
    return False


def _healing(b: SectionBuilder, info: ServerInfo, minio: MinioFacts) -> None:
    healing = [(s.endpoint, d) for s in info.servers for d in s.drives if d.healing]
    b.fact("Healing", plural(len(healing), "drive") if healing else "none")
    for server, drive in healing[:MAX_ROWS]:
        heal = drive.heal_info
        progress = heal.fraction_done if heal else None
        label = drive_label(drive, server, minio)
        if progress is None or heal is None:
            b.finding(Status.DEGRADED, f"{label} healing")
            continue
        b.finding(
            Status.DEGRADED,
            f"{label} healing ({progress:.0%})",
            spans(
                f"{label} healing: {progress:.0%} (", size(heal.bytes_done), " of ", size(heal.bytes_total),
                f", {heal.items_healed} objects)",
            ),
        )
    if len(healing) > MAX_ROWS:
        b.line(f"... and {len(healing) - MAX_ROWS} more drives healing")
