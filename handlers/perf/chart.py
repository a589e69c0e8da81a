"""The speed-test chart: PUT and GET throughput of every node, side by side, failed nodes marked.

Drawn on the shared canvas of :mod:`bot.charts`, like the capacity chart.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.charts import GREY, chart_canvas, png_bytes, style_axes

PUT = "#3d8fe0"
GET = "#e0913d"
FAILED = "#d64545"
MIB = 1 << 20

@dataclass(frozen=True)
class NodeBars:
    """One node's bars: its label, PUT and GET bytes per second, and whether it reported an error."""

    label: str
    put: int
    get: int
    failed: bool = False


def render_speedtest_chart(tenant: str, nodes: list[NodeBars]) -> bytes:
    """A ~900x400 PNG: per node, PUT and GET throughput in MiB/s; a failed node's label in red."""
    with chart_canvas() as (fig, ax):
        xs = list(range(len(nodes)))
        width = 0.38
        ax.bar([x - width / 2 for x in xs], [n.put / MIB for n in nodes], width, color=PUT, label="PUT")
        ax.bar([x + width / 2 for x in xs], [n.get / MIB for n in nodes], width, color=GET, label="GET")
        ax.set_xticks(xs, [n.label for n in nodes], fontsize=8)
        style_axes(ax, f"{tenant}: object speed test, throughput per node", "MiB/s per node", grid_axis="y",
                   legend_columns=2)
        for tick, node in zip(ax.get_xticklabels(), nodes, strict=True):
            tick.set_color(FAILED if node.failed else GREY)
        fig.subplots_adjust(left=0.08, right=0.98, top=0.87, bottom=0.15)
        return png_bytes(fig)
