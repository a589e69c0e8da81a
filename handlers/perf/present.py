"""A speed test's result as a report: per node PUT and GET throughput, cluster-wide latencies, and a chart.

MinIO measures throughput per node but latency over every node's requests together (madmin Timings),
so the report says "all nodes" for latencies. Node labels come from the client (node number and pod)
when the server's endpoint is one of its endpoints, else the endpoint's host as MinIO gave it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import timedelta

from bot import humanize
from bot.clients.minio_models import SpeedTestResult, SpeedTestServer, SpeedTestTimings
from bot.report import Chart, Report, Row, Section, Status, Text, code, duration, join, size, spans
from handlers.perf.chart import NodeBars, render_speedtest_chart
from handlers.perf.evaluate import SpeedTestSettings, median_throughput, node_status, overall_status

log = logging.getLogger("minio_chatops.perf")

NodeLabel = Callable[[str], str]  # endpoint host:port -> "node 2 (pod demo-pool-0-1)"
ChartRenderer = Callable[[str, list[NodeBars]], bytes]


def natural(text: str) -> list[int | str]:
    """A sort key that puts ``node 2`` before ``node 10``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def rate(value: int) -> str:
    """A throughput as plain text: ``1.20 GiB/s``."""
    return f"{humanize.size(value)}/s"


def _latency_line(kind: str, timings: SpeedTestTimings) -> Text:
    if not timings.measured:
        return f"{kind}: no sample."
    named = (("avg", timings.avg), ("p50", timings.p50), ("p99", timings.p99), ("max", timings.max))
    return spans(f"{kind}: ", join([spans(f"{name} ", duration(value)) for name, value in named if value is not None]))


def _node_row(label: str, put: SpeedTestServer, get: SpeedTestServer | None, medians: tuple[float, float]) -> Row:
    get_tp = get.throughput_per_s if get else 0
    get_ops = get.objects_per_s if get else 0
    error = put.error or (get.error if get else "")
    status = max((node_status(put.throughput_per_s, error, medians[0]),
                  node_status(get_tp, error, medians[1])), key=lambda s: s.severity)
    text = spans(code(label), ": PUT ", size(put.throughput_per_s), f"/s ({put.objects_per_s} obj/s), GET ",
                 size(get_tp), f"/s ({get_ops} obj/s)")
    if error:
        text = spans(text, " - failed: ", error[:300])
    elif status is Status.DEGRADED:
        text = spans(text, " - slow: under half the median of its peers")
    return Row(status=status, text=text)


def node_lines(result: SpeedTestResult, label: NodeLabel) -> list[str]:
    """One plain line per node (the outcome's lines, kept with the request)."""
    gets = {s.endpoint: s for s in result.get.servers}
    lines = []
    for put in sorted(result.put.servers, key=lambda s: natural(label(s.host))):
        get = gets.get(put.endpoint)
        line = f"{label(put.host)}: PUT {rate(put.throughput_per_s)}, GET {rate(get.throughput_per_s if get else 0)}"
        error = put.error or (get.error if get else "")
        lines.append(f"{line}, failed: {error[:200]}" if error else line)
    return lines


def _chart(tenant: str, result: SpeedTestResult, label: NodeLabel, draw: ChartRenderer) -> Chart | None:
    gets = {s.endpoint: s.throughput_per_s for s in result.get.servers}
    bars = [NodeBars(label(s.host), s.throughput_per_s, gets.get(s.endpoint, 0), bool(s.error))
            for s in sorted(result.put.servers, key=lambda s: natural(label(s.host)))]
    try:
        png = draw(tenant, bars)
    except Exception as exc:  # noqa: BLE001 - a chart is a bonus; the text report stands alone
        log.warning("speed test chart failed", extra={"tenant": tenant, "error_type": type(exc).__name__})
        return None
    return Chart(filename=f"speedtest-{tenant}.png", title=f"{tenant}: speed test per node", png=png)


def speedtest_report(
    tenant: str,
    settings: SpeedTestSettings,
    result: SpeedTestResult,
    label: NodeLabel,
    draw: ChartRenderer = render_speedtest_chart,
) -> Report:
    """The result: verdict, per-node rows (PUT and GET), latencies of all nodes, the settings, a chart."""
    medians = (median_throughput([s.throughput_per_s for s in result.put.servers]),
               median_throughput([s.throughput_per_s for s in result.get.servers]))
    gets = {s.endpoint: s for s in result.get.servers}
    puts = sorted(result.put.servers, key=lambda s: natural(label(s.host)))  # node 1, node 2, ..., node 10
    rows = [_node_row(label(p.host), p, gets.get(p.endpoint), medians) for p in puts]
    failed = [r.text for r in rows if r.status is Status.UNHEALTHY]
    slow = [r.text for r in rows if r.status is Status.DEGRADED]
    latencies: list[Text] = [
        _latency_line("PUT response", result.put.response),
        _latency_line("GET response", result.get.response),
        _latency_line("GET first byte", result.get.ttfb),
    ]
    chart = _chart(tenant, result, label, draw)
    return Report(
        title=f"Speed test of {tenant}: PUT {rate(result.put.throughput_per_s)}, "
              f"GET {rate(result.get.throughput_per_s)}",
        status=overall_status(result),
        summary=spans(f"{result.servers} nodes, {result.disks} drives; ", size(result.size), " objects, "
                      f"{result.concurrent} streams per node, ", duration(timedelta(seconds=settings.duration_s)),
                      " of PUT then ", duration(timedelta(seconds=settings.duration_s)), " of GET on every node",
                      (" (MinIO ", code(result.version), ")") if result.version else "", "."),
        reasons=[spans("Failed: ", t) for t in failed] + [spans("Slow: ", t) for t in slow],
        sections=[
            Section(title="Per node (PUT, GET)", status=overall_status(result), rows=rows),
            Section(title="Latency (all nodes together)", lines=latencies),
        ],
        footer=["Throughput is what each node moved on its own, to and from the whole cluster; MinIO "
                "measures latency over every node's requests together."],
        charts=[chart] if chart is not None else [],
    )
