"""PNG charts for reports: the one canvas and style every capability's chart is drawn with.

matplotlib's Agg canvas on a bare Figure (no pyplot: no global figure registry, no GUI backend)
renders PNG bytes in memory. The figure is transparent with mid-grey text, axes and grid, so the same
PNG reads on Slack's light and dark themes. matplotlib's font and text caches are shared by the whole
process, so every chart renders under one lock, whichever capability draws it. matplotlib is imported
on first use: it costs about 0.3 s and only the verbs with charts need it.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

WIDTH_PX, HEIGHT_PX, DPI = 900, 400, 100
GREY = "#8a8f98"  # mid-grey: legible on white and on Slack's #1a1d21
GRID = "#8a8f9840"

_render_lock = threading.Lock()


@contextmanager
def chart_canvas() -> Iterator[tuple[Any, Any]]:
    """A transparent ~900x400 figure and its axes, held under the process-wide render lock."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with _render_lock:
        fig = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        fig.patch.set_alpha(0.0)
        ax.set_facecolor("none")
        yield fig, ax


def style_axes(ax: Any, title: str, ylabel: str, *, grid_axis: str = "both", legend_columns: int = 4) -> None:
    """Grey title, label, ticks, spines and grid (no top or right spine); the legend above the plot, right."""
    ax.set_ylabel(ylabel, color=GREY)
    ax.set_title(title, color=GREY, fontsize=11, loc="left")
    ax.tick_params(colors=GREY, labelsize=8)
    for spine in ax.spines.values():
        spine.set_color(GREY)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(True, axis=grid_axis, color=GRID, lw=0.6)
    # Above the plot area, right-aligned: inside it the legend would hide data somewhere.
    legend = ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=legend_columns, fontsize=8,
                       frameon=False)
    for text in legend.get_texts():
        text.set_color(GREY)


def png_bytes(fig: Any) -> bytes:
    """The figure drawn once, as PNG bytes."""
    buffer = io.BytesIO()
    fig.canvas.print_png(buffer)
    return buffer.getvalue()
