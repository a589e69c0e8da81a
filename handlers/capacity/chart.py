"""The capacity chart: usable used over time, thresholds, and the forecast with its interval.

Drawn on the shared canvas of :mod:`bot.charts` (transparent, grey text: it reads on Slack's light and
dark themes); the colours here are chosen to keep contrast on both (no black or white ink).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.charts import GREY, chart_canvas, png_bytes, style_axes
from bot.config import Thresholds
from handlers.capacity.forecast import TIB, Forecast, ForecastStatus, HistoryPoint

LINE = "#3d8fe0"  # usage
FORECAST = "#e0913d"
THRESHOLD_COLOURS = {"plan": "#c9a227", "alert": "#e0703d", "critical": "#d64545"}
FULL = "#d64545"
MAX_FORECAST = timedelta(days=180)
MIN_FORECAST = timedelta(days=14)

def _num(when: datetime) -> float:
    """A datetime as a matplotlib date number (days since the epoch, UTC)."""
    from matplotlib import dates as mdates

    return float(mdates.date2num(when))


def _forecast_end(fc: Forecast, history_span: timedelta) -> datetime:
    """How far to draw the forecast: past the 100 % date when near, bounded to 14..180 days."""
    length = max(MIN_FORECAST, min(history_span, MAX_FORECAST))
    full = fc.milestone(100.0)
    if full is not None and full.eta is not None:
        length = max(length, min((full.eta - fc.anchor_at) * 1.1, MAX_FORECAST))
    return fc.anchor_at + length


def _usage(ax: Any, ordered: list[HistoryPoint]) -> None:
    """The usage line, broken at failed polls so an outage never looks like data, and a dot for "now"."""
    xs: list[float] = []
    ys: list[float] = []
    gaps: list[float] = []
    for point in ordered:
        xs.append(_num(point.taken_at))
        if point.ok and point.usable_used is not None:
            ys.append(point.usable_used / TIB)
        else:
            ys.append(float("nan"))
            gaps.append(_num(point.taken_at))
    ax.plot(xs, ys, color=LINE, lw=2.0, label="usable used")
    latest = next((p for p in reversed(ordered) if p.ok and p.usable_used is not None), None)
    if latest is not None and latest.usable_used is not None:
        # A dot for "now": with no history yet it is the only thing on the chart.
        ax.plot([_num(latest.taken_at)], [latest.usable_used / TIB], ls="none", marker="o", color=LINE)
    if gaps:
        # Ticks on the time axis: an hour-wide band would vanish on a 90-day axis.
        ax.plot(gaps, [0.0] * len(gaps), ls="none", marker="|", markersize=14, mew=2, color=FULL,
                label="failed poll (gap)")


def _forecast(ax: Any, fc: Forecast, span: timedelta) -> datetime:
    """The forecast line and its 95 % band; returns where it ends."""
    stop = _forecast_end(fc, span)
    steps = [fc.anchor_at + (stop - fc.anchor_at) * i / 24 for i in range(25)]
    mid = [fc.used_at(t) / TIB for t in steps]
    low = [fc.used_at(t, fc.slope_low) / TIB for t in steps]
    high = [fc.used_at(t, fc.slope_high) / TIB for t in steps]
    when = [_num(t) for t in steps]
    ax.fill_between(when, low, high, color=FORECAST, alpha=0.18, lw=0, label="95 % interval")
    ax.plot(when, mid, color=FORECAST, lw=2.0, ls="--", label="forecast")
    return stop


def _limits(ax: Any, thresholds: Thresholds, usable_total: int) -> None:
    """The threshold lines and the "full" line, named at the right edge."""
    total_tib = usable_total / TIB
    lines: list[tuple[str, float, str, float, object]] = []
    for name in ("plan", "alert", "critical"):
        pct = float(getattr(thresholds, name))
        lines.append((f"{name} {pct:g} %", total_tib * pct / 100, THRESHOLD_COLOURS[name], 1.2, (0, (4, 3))))
    lines.append(("full", total_tib, FULL, 1.6, "-"))
    for label, y, colour, width, style in lines:
        ax.axhline(y, color=colour, lw=width, ls=style)
        ax.annotate(label, xy=(1.0, y), xycoords=("axes fraction", "data"), xytext=(4, 0),
                    textcoords="offset points", va="center", fontsize=8, color=colour)
    ax.set_ylim(0, total_tib * 1.05 if total_tib else 1)


def _style(ax: Any, title: str) -> None:
    """The shared grey style, with date ticks."""
    from matplotlib import dates as mdates

    style_axes(ax, title, "TiB (usable)")
    locator = mdates.AutoDateLocator(minticks=4, maxticks=9)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def render_capacity_chart(
    tenant: str,
    points: Sequence[HistoryPoint],
    fc: Forecast | None,
    thresholds: Thresholds,
    usable_total: int,
) -> bytes:
    """A ~900x400 PNG of usable used (TiB) over time with thresholds and the forecast."""
    ordered = sorted(points, key=lambda p: p.taken_at)
    with chart_canvas() as (fig, ax):
        _usage(ax, ordered)
        start = ordered[0].taken_at if ordered else (fc.anchor_at if fc else None)
        end = ordered[-1].taken_at if ordered else start
        if fc is not None and fc.status is ForecastStatus.GROWING and fc.slope_per_day is not None:
            end = _forecast(ax, fc, (end - start) if start and end else MIN_FORECAST)
        _limits(ax, thresholds, usable_total)
        if start and end and end > start:
            ax.set_xlim(_num(start), _num(end))
        elif start:
            # One point only (no history yet): a week either side, not matplotlib's default of years.
            ax.set_xlim(_num(start - timedelta(days=7)), _num(start + timedelta(days=7)))
        title = f"{tenant}: usable capacity used"
        if fc is not None and fc.status is not ForecastStatus.GROWING:
            title += f" (forecast: {fc.status.value})"
        if fc is not None:
            ax.axvline(_num(fc.anchor_at), color=GREY, lw=0.8, ls=":")
        _style(ax, title)
        # Fixed margins instead of tight_layout (which costs a full extra layout pass): room on the
        # left for the axis label, on the right for the threshold names, on top for title and legend.
        fig.subplots_adjust(left=0.07, right=0.885, top=0.87, bottom=0.12)
        return png_bytes(fig)
