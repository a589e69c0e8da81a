"""The object speed test (admin POST ``speedtest``): a stream of madmin SpeedTestResult values, per node.

Like the real server: the capacity check first (507 ``XMinioSpeedtestInsufficientCapacity`` when
concurrent x size exceeds the usable free space), then a zero value every 500 ms while every node
"uploads" for ``duration`` and "downloads" for ``duration``, then one result and the end of the body.
Per node: throughput and objects/s for PUT and GET and an error text; latencies cluster-wide.
A node that was down at any moment, or that hit an injected write error, reports the real server's
texts ("no results for uploads|downloads upon first attempt, ..."). Nothing stops a second test from
running alongside the first (the real server takes no lock either).

Figures are made up from a fixed per-node bandwidth (slowed by ``/speedtest/node/<n>/slow``), not
measured; no object is written; autotune, storage class, bucket and noclear are accepted and ignored;
S3 traffic is not frozen while the test runs. See DIFFERENCES.md.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Iterator

from sandbox.minio_sim.capacity import compute_capacity
from sandbox.minio_sim.context import NodeContext
from sandbox.minio_sim.errors import admin_error
from sandbox.minio_sim.model import ClusterModel, reported_version
from sandbox.minio_sim.server import Request, Response

MIB = 1 << 20
DEFAULT_SIZE = 64 * MIB  # the server's defaults when a parameter is missing or unparsable
DEFAULT_CONCURRENT = 32
DEFAULT_DURATION_S = 10.0
KEEPALIVE_S = 0.5
PUT_BYTES_PER_S = 400 * MIB  # one healthy node at full concurrency
GET_BYTES_PER_S = 800 * MIB
FULL_CONCURRENCY = 8  # below this many streams per node, bandwidth goes unused
MAX_SAMPLES_PER_NODE = 2000  # enough for the percentiles; the counts are in the throughput figures
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_GO_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse_go_duration(text: str) -> float | None:
    """Seconds of a Go duration string (``10s``, ``1m30s``, ``500ms``); None when Go would refuse it."""
    text = text.strip()
    if text == "0":
        return 0.0
    at, total = 0, 0.0
    while at < len(text):
        match = _GO_PART.match(text, at)
        if match is None:
            return None
        total += float(match[1]) * _GO_UNITS[match[2]]
        at = match.end()
    return total if text else None


def go_duration_text(seconds: float) -> str:
    """Go's ``Duration.String()`` for the durations a speed test takes (``10s``, ``1m30s``, ``500ms``)."""
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    minutes, rest = divmod(seconds, 60)
    if minutes < 1:
        return f"{rest:g}s"
    hours, minutes = divmod(int(minutes), 60)
    return (f"{hours}h" if hours else "") + f"{minutes}m{rest:g}s"


def ibytes(value: int) -> str:
    """go-humanize's ``IBytes`` (``2.0 GiB``), the form the capacity refusal quotes."""
    if value < 10:
        return f"{value} B"
    units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    exponent = min(math.floor(math.log(value) / math.log(1024)), len(units) - 1)
    shown = math.floor(value / 1024**exponent * 10 + 0.5) / 10
    return (f"{shown:.1f}" if shown < 10 else f"{shown:.0f}") + f" {units[exponent]}"


def _int(text: str | None, default: int) -> int:
    try:
        return int(text or "")
    except ValueError:
        return default


def handle_speedtest(ctx: NodeContext, request: Request) -> Response:
    """POST speedtest: refuse when the space is short, else stream keep-alives and then the result."""
    model = ctx.model
    query = request.query
    size = _int(query.get("size"), DEFAULT_SIZE)
    concurrent = _int(query.get("concurrent"), DEFAULT_CONCURRENT)
    duration = parse_go_duration(query.get("duration", ""))
    if duration is None:
        duration = DEFAULT_DURATION_S
    with model.lock:
        free = compute_capacity(model, model.drive_views()).usable_free
    needed = concurrent * size
    if free < needed:
        return admin_error(
            507,
            "XMinioSpeedtestInsufficientCapacity",
            "not enough usable space available to perform speedtest - "
            f"expected {ibytes(needed)}, got {ibytes(free)}",
            resource=request.path,
        )
    return Response(200, content_type="text/plain; charset=utf-8",
                    stream=_run(ctx, max(size, 1), max(concurrent, 1), duration))


def _zero_timings() -> dict[str, int]:
    return dict.fromkeys(("avg", "p50", "p75", "p95", "p99", "p999", "l5p", "s5p", "max", "min", "sdev", "range"), 0)


def _zero_stats() -> dict[str, object]:
    return {"throughputPerSec": 0, "objectsPerSec": 0, "responseTime": _zero_timings(), "ttfb": _zero_timings(),
            "servers": None}


ZERO = {"version": "", "servers": 0, "disks": 0, "size": 0, "concurrent": 0, "PUTStats": _zero_stats(),
        "GETStats": _zero_stats()}


def _run(ctx: NodeContext, size: int, concurrent: int, duration: float) -> Iterator[bytes]:
    model = ctx.model
    with model.lock:
        model.speedtest.running += 1
        model.speedtest.started += 1
        scale = model.speedtest.time_scale
    try:
        total = 2 * duration * scale  # uploads for `duration`, then downloads for `duration`
        start = time.monotonic()
        down: set[int] = set()
        while True:
            with model.lock:
                down |= {n for n in model.nodes if not model.node_online(n)}
            left = start + total - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(KEEPALIVE_S, left))
            if not model.await_serving(ctx.node):  # a hung node writes nothing until resumed; a stopped one dies
                return
            if time.monotonic() - start < total:
                yield (json.dumps(ZERO) + "\n").encode()
        result = _result(ctx, size, concurrent, duration, down)
        if result is not None:  # no sample at all: the real server fails without a result
            yield (json.dumps(result) + "\n").encode()
    finally:
        with model.lock:
            model.speedtest.running -= 1


def _node_figures(model: ClusterModel, number: int, concurrent: int, size: int, duration: float,
                  down: set[int]) -> tuple[int, int]:
    """(bytes uploaded, bytes downloaded) by one node, in whole objects."""
    if number in down:
        return 0, 0
    share = model.speedtest.slow.get(number, 1.0) * min(1.0, concurrent / FULL_CONCURRENCY)
    spread = 1.0 + 0.02 * (number % 3)  # nodes are never exactly alike
    uploaded = int(PUT_BYTES_PER_S * share * spread * duration) // size * size
    if number in model.speedtest.failing:
        return uploaded // 2 // size * size, 0  # a write error: the server skips the downloads
    downloaded = int(GET_BYTES_PER_S * share * spread * duration) // size * size
    return uploaded, downloaded


def _samples(seconds_each: float, count: int) -> list[float]:
    """Latencies around ``seconds_each`` (a fixed spread, so the percentiles differ from the mean)."""
    return [seconds_each * (0.8 + 0.4 * ((i * 7919) % 1000) / 1000) for i in range(min(count, MAX_SAMPLES_PER_NODE))]


def _timings(samples: list[float]) -> dict[str, int]:
    """madmin Timings of the samples, integer nanoseconds."""
    if not samples:
        return _zero_timings()
    ts = sorted(samples)
    n = len(ts)
    avg = sum(ts) / n

    def pct(p: float) -> float:
        return ts[max(int(n * p + 0.5) - 1, 0)]

    top, bottom = ts[int(n * 0.95 + 0.5):], ts[: int(n * 0.05 + 0.5)]
    doc = {
        "avg": avg, "p50": ts[n // 2], "p75": pct(0.75), "p95": pct(0.95), "p99": pct(0.99), "p999": pct(0.999),
        "l5p": sum(top) / len(top) if len(top) > 1 else ts[-1],
        "s5p": sum(bottom) / len(bottom) if len(bottom) > 1 else ts[0],
        "max": ts[-1], "min": ts[0], "sdev": math.sqrt(sum((avg - t) ** 2 for t in ts) / n), "range": ts[-1] - ts[0],
    }
    return {key: int(value * 1e9) for key, value in doc.items()}


def _result(ctx: NodeContext, size: int, concurrent: int, duration: float,
            down: set[int]) -> dict[str, object] | None:
    model = ctx.model
    secs = max(int(duration), 1)  # the server divides by uint64(duration seconds)
    text = go_duration_text(duration)
    with model.lock:
        ordered = sorted((f"http://{model.node_endpoint(n)}", n) for n in model.nodes)
        version = reported_version(model.nodes[ctx.node].version)
        disks = len(model.drives)
        figures = {n: _node_figures(model, n, concurrent, size, duration, down) for _, n in ordered}
    put_servers, get_servers = [], []
    put_lat: list[float] = []
    get_lat: list[float] = []
    for endpoint, number in ordered:
        uploaded, downloaded = figures[number]
        error = ""
        if downloaded == 0:
            error = f"no results for downloads upon first attempt, concurrency {concurrent} and duration {text}"
        if uploaded == 0:
            error = f"no results for uploads upon first attempt, concurrency {concurrent} and duration {text}"
        put_servers.append({"endpoint": endpoint, "throughputPerSec": uploaded // secs,
                            "objectsPerSec": uploaded // size // secs, "err": error})
        get_servers.append({"endpoint": endpoint, "throughputPerSec": downloaded // secs,
                            "objectsPerSec": downloaded // size // secs, "err": error})
        if uploaded:
            put_lat += _samples(concurrent * size / (uploaded / duration), uploaded // size)
        if downloaded:
            get_lat += _samples(concurrent * size / (downloaded / duration), downloaded // size)
    if not put_lat:
        return None
    total_up = sum(f[0] for f in figures.values())
    total_down = sum(f[1] for f in figures.values())
    return {
        "version": version, "servers": len(ordered), "disks": disks, "size": size, "concurrent": concurrent,
        "PUTStats": {"throughputPerSec": total_up // secs, "objectsPerSec": total_up // size // secs,
                     "responseTime": _timings(put_lat), "ttfb": _zero_timings(), "servers": put_servers},
        "GETStats": {"throughputPerSec": total_down // secs, "objectsPerSec": total_down // size // secs,
                     "responseTime": _timings(get_lat), "ttfb": _timings([t * 0.1 for t in get_lat]),
                     "servers": get_servers},
    }
