"""The speed-test chart: PUT and GET throughput of every node, side by side, failed nodes marked.

Drawn like the capacity chart (matplotlib's Agg canvas on a bare Figure, PNG bytes in memory, a
transparent background with mid-grey text so it reads on Slack's light and dark themes).
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass

WIDTH_PX, HEIGHT_PX, DPI = 900, 400, 100
GREY = "#8a8f98"
GRID = "#8a8f9840"
PUT = "#3d8fe0"
GET = "#e0913d"
FAILED = "#d64545"
MIB = 1 << 20

_render_lock = threading.Lock()  # one render at a time: matplotlib's font cache and caches are shared


@dataclass(frozen=True)
class NodeBars:
    """One node's bars: its label, PUT and GET bytes per second, and whether it reported an error."""

    label: str
    put: int
    get: int
    failed: bool = False


def render_speedtest_chart(tenant: str, nodes: list[NodeBars]) -> bytes:
    """A ~900x400 PNG: per node, PUT and GET throughput in MiB/s; a failed node's label in red."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with _render_lock:
        fig = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
        canvas = FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        fig.patch.set_alpha(0.0)
        ax.set_facecolor("none")
        xs = list(range(len(nodes)))
        width = 0.38
        ax.bar([x - width / 2 for x in xs], [n.put / MIB for n in nodes], width, color=PUT, label="PUT")
        ax.bar([x + width / 2 for x in xs], [n.get / MIB for n in nodes], width, color=GET, label="GET")
        ax.set_xticks(xs, [n.label for n in nodes], fontsize=8)
        for tick, node in zip(ax.get_xticklabels(), nodes, strict=True):
            tick.set_color(FAILED if node.failed else GREY)
        ax.set_ylabel("MiB/s per node", color=GREY)
        ax.set_title(f"{tenant}: object speed test, throughput per node", color=GREY, fontsize=11, loc="left")
        ax.tick_params(colors=GREY, labelsize=8)
        for spine in ax.spines.values():
            spine.set_color(GREY)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.grid(True, axis="y", color=GRID, lw=0.6)
        legend = ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=2, fontsize=8, frameon=False)
        for text in legend.get_texts():
            text.set_color(GREY)
        fig.subplots_adjust(left=0.08, right=0.98, top=0.87, bottom=0.15)
        buffer = io.BytesIO()
        canvas.print_png(buffer)
        return buffer.getvalue()
