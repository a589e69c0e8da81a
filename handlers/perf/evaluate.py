"""Pure rules of the speed test: what may be asked (bounds), whether the cluster is fit for it, who goes first.

Nothing here talks to a server: the arguments as typed, the facts gathered (``facts``) and the other
speed-test requests in the store come in; numbers, findings and verdicts go out.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from datetime import datetime

from bot.changes import Finding
from bot.clients.errors import ClientError
from bot.clients.minio_models import ServerInfo, SpeedTestResult
from bot.invocation import UserError
from bot.report import Status, code, spans
from handlers.scaling.quantities import SizeError, parse_size

# Bounds: long enough to measure, short enough that MinIO's freeze of S3 traffic (the whole test) stays
# brief, and a load (streams x object size per node) a production cluster can take for a minute.
MIN_DURATION_S, MAX_DURATION_S, DEFAULT_DURATION_S = 2, 60, 10
MIN_SIZE, MAX_SIZE, DEFAULT_SIZE = 4 << 10, 64 << 20, 4 << 20
MIN_CONCURRENCY, MAX_CONCURRENCY, DEFAULT_CONCURRENCY = 1, 32, 8
_LIMITS = {
    "duration": f"{MIN_DURATION_S}-{MAX_DURATION_S} s",
    "size": "4 KiB-64 MiB",
    "concurrency": f"{MIN_CONCURRENCY}-{MAX_CONCURRENCY} streams per node",
}
LIMITS = ", ".join(f"{what} {limit}" for what, limit in _LIMITS.items())
SLOW_SHARE = 0.5  # a node below half the median throughput of its peers is called slow
_DURATION = re.compile(r"^(?:(?P<m>\d{1,3})\s?m(?:in)?)?\s?(?:(?P<s>\d{1,4})\s?s?)?$")


@dataclass(frozen=True)
class SpeedTestSettings:
    """What one speed test runs: seconds per phase, object size in bytes, streams per node."""

    duration_s: int = DEFAULT_DURATION_S
    size: int = DEFAULT_SIZE
    concurrency: int = DEFAULT_CONCURRENCY

    @property
    def measuring_s(self) -> int:
        """Every node uploads for the duration, then downloads for it."""
        return 2 * self.duration_s


def _bounded(value: int, low: int, high: int, what: str, shown: str) -> int:
    if not low <= value <= high:
        raise UserError(spans(f"The {what} must be within {_LIMITS[what]} (got ", code(shown[:40]), ")."))
    return value


def parse_duration_s(text: str) -> int:
    """``10s``, ``90s``, ``1m``, ``1m30s`` or ``45`` (seconds) -> whole seconds within the bounds."""
    match = _DURATION.match(text.strip().lower())
    if not text.strip() or match is None or not (match["m"] or match["s"]):
        raise UserError(spans(code(text[:40]), " is not a duration; use e.g. ", code("10s"), " or ", code("1m"), "."))
    seconds = int(match["m"] or 0) * 60 + int(match["s"] or 0)
    return _bounded(seconds, MIN_DURATION_S, MAX_DURATION_S, "duration", text)


def parse_object_size(text: str) -> int:
    """``4MiB``, ``512KiB``, ``64Mi`` -> bytes within the bounds (the units of /minio scale)."""
    try:
        value = parse_size(text, what="object size").bytes
    except SizeError as exc:
        raise UserError(exc.text) from None
    return _bounded(value, MIN_SIZE, MAX_SIZE, "size", text)


def parse_concurrency(text: str) -> int:
    """A whole number of streams per node within the bounds."""
    if not text.strip().isdigit():
        raise UserError(spans(code(text[:40]), " is not a number of streams; use e.g. ", code("8"), "."))
    return _bounded(int(text.strip()), MIN_CONCURRENCY, MAX_CONCURRENCY, "concurrency", text)


def settings_from(duration: str | None, size: str | None, concurrency: str | None) -> SpeedTestSettings:
    """The settings as typed (each may be omitted: the defaults); UserError naming the first bad one."""
    return SpeedTestSettings(
        duration_s=parse_duration_s(duration) if duration is not None else DEFAULT_DURATION_S,
        size=parse_object_size(size) if size is not None else DEFAULT_SIZE,
        concurrency=parse_concurrency(concurrency) if concurrency is not None else DEFAULT_CONCURRENCY,
    )


# ----------------------------------------------------------------------------- fitness of the cluster


def nodes_finding(info: ServerInfo | ClientError) -> Finding:
    """Blocking: every node online and every drive ok (a test on a degraded cluster measures the fault)."""
    check = "every node online"
    if isinstance(info, ClientError):
        return Finding(check=check, ok=False, detail=f"Cannot tell whether every node is online: {info}")
    offline = [s.endpoint for s in info.servers if s.state != "online"]
    if offline:
        return Finding(check=check, ok=False, detail=f"{len(offline)} of {len(info.servers)} node(s) are not "
                       f"online ({', '.join(offline[:4])}): bring them back before measuring.")
    drives = [d.endpoint for s in info.servers for d in s.drives if d.state != "ok"]
    if drives:
        return Finding(check=check, ok=False, detail=f"{len(drives)} drive(s) are not ok ({', '.join(drives[:3])}): "
                       "a speed test now would measure the fault and slow the recovery.")
    total = sum(len(s.drives) for s in info.servers)
    return Finding(check=check, ok=True, detail=f"All {len(info.servers)} nodes and {total} drives are online.")


@dataclass(frozen=True)
class OtherRequest:
    """Another speed-test request on the same tenant, as the store holds it."""

    id: str
    status: str  # "approved" (about to run) or "executing"
    created_at: datetime
    requester: str


def first_of(mine: OtherRequest | None, others: list[OtherRequest]) -> OtherRequest | None:
    """The request that goes before ``mine``, or None when ``mine`` may run.

    Before ``mine`` runs, any running request goes first, and so does an approved one requested earlier:
    of two requests approved at the same moment (each sees the other) the earlier (then the smaller id)
    runs and the other is refused. Once ``mine`` is executing only an earlier request still counts, so of
    two that reached "executing" together exactly one goes on. At preview time (``mine`` None) any
    active request goes first.
    """

    def order(request: OtherRequest) -> tuple[datetime, str]:
        return request.created_at, request.id

    if mine is None:
        return min(others, key=order) if others else None
    if mine.status != "executing":
        running = [o for o in others if o.status == "executing"]
        if running:
            return min(running, key=order)
    earlier = [o for o in others if order(o) < order(mine)]
    return min(earlier, key=order) if earlier else None


def one_at_a_time_finding(first: OtherRequest | None) -> Finding:
    """Blocking: no other speed test running (or about to) on this tenant."""
    check = "no other speed test"
    if first is None:
        return Finding(check=check, ok=True, detail="No other speed test is running on this tenant.")
    what = "is running" if first.status == "executing" else "was approved first and runs"
    return Finding(check=check, ok=False, detail=f"Another speed test {what} on this tenant (request {first.id}); "
                   "two at once would measure each other. Request it again when that one has ended.")


# ----------------------------------------------------------------------------- the result


def node_status(throughput: int, error: str, peers_median: float) -> Status:
    """A node's verdict: failed (it reported an error), slow (under half its peers' median) or fine."""
    if error:
        return Status.UNHEALTHY
    if peers_median > 0 and throughput < SLOW_SHARE * peers_median:
        return Status.DEGRADED
    return Status.HEALTHY


def median_throughput(values: list[int]) -> float:
    """The median of the nodes that moved any bytes (0 when none did)."""
    moved = [v for v in values if v > 0]
    return float(statistics.median(moved)) if moved else 0.0


def overall_status(result: SpeedTestResult) -> Status:
    """UNHEALTHY when a node failed, DEGRADED when one is slow, HEALTHY otherwise."""
    puts = median_throughput([s.throughput_per_s for s in result.put.servers])
    gets = median_throughput([s.throughput_per_s for s in result.get.servers])
    statuses = [node_status(s.throughput_per_s, s.error, puts) for s in result.put.servers]
    statuses += [node_status(s.throughput_per_s, s.error, gets) for s in result.get.servers]
    if Status.UNHEALTHY in statuses:
        return Status.UNHEALTHY
    return Status.DEGRADED if Status.DEGRADED in statuses else Status.HEALTHY
