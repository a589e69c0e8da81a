"""Pure figures for the Home tab from stored history: capacity %, its 24-hour trend, days until 80 %."""

from __future__ import annotations

from datetime import datetime, timedelta

TREND_DAY = timedelta(hours=24)
FLAT_POINTS = 0.5  # percentage points per day below which usage counts as flat
PLAN_PCT = 80.0

Point = tuple[datetime, int, int]  # (taken_at, usable_used, usable_total)


def pct_used(point: Point) -> float | None:
    """Usable capacity used, in percent (None without a total)."""
    _at, used, total = point
    return 100.0 * used / total if total > 0 else None


def _at_or_before(series: list[Point], moment: datetime) -> Point | None:
    found = None
    for point in series:
        if point[0] > moment:
            break
        found = point
    return found


def trend(series: list[Point]) -> str | None:
    """"up", "down" or "flat" over the last 24 h (None without a point a day old)."""
    if not series:
        return None
    latest = series[-1]
    before = _at_or_before(series, latest[0] - TREND_DAY)
    if before is None:
        return None
    now_pct, then_pct = pct_used(latest), pct_used(before)
    if now_pct is None or then_pct is None:
        return None
    days = max((latest[0] - before[0]).total_seconds() / 86400, 1e-9)
    per_day = (now_pct - then_pct) / days
    if abs(per_day) < FLAT_POINTS:
        return "flat"
    return "up" if per_day > 0 else "down"


def days_to(series: list[Point], pct: float = PLAN_PCT) -> float | None:
    """Days until ``pct`` at the growth between the oldest and newest point (None: not growing, or past it).

    A straight line over the stored week: cheap enough for hundreds of tenants on every open;
    `/minio capacity` has the robust forecast with its interval.
    """
    if len(series) < 2:
        return None
    first, last = series[0], series[-1]
    span_days = (last[0] - first[0]).total_seconds() / 86400
    if span_days <= 0 or last[2] <= 0:
        return None
    growth = (last[1] - first[1]) / span_days  # bytes per day
    room = pct / 100 * last[2] - last[1]
    if growth <= 0 or room <= 0:
        return None
    return room / growth
