"""Pure capacity maths: thresholds, growth, a robust forecast and a sized recommendation.

Nothing here does I/O and nothing here writes a sentence. Inputs are plain
models (history points, thresholds, pool shape); outputs are models of numbers
and dates that `present` turns into text. Every function is deterministic, so
tests can pin dates and hypothesis can fuzz them.

Forecast method (stated in every report that shows one):

* The fit uses the successful snapshots of the last :data:`FIT_WINDOW` (failed
  polls are skipped and counted, never interpolated).
* Points are binned to at most :data:`MAX_FIT_POINTS` medians, which bounds
  the cost (Theil-Sen is O(n^2)) and damps the hour-to-hour autocorrelation of
  hourly snapshots.
* Slope: Theil-Sen (the median of all pairwise slopes), robust to up to ~29 %
  outliers such as a one-off bulk delete or a restore.
* Uncertainty: the 95 % interval of Sen's slope from Kendall's tau
  (Sen 1968, Gilbert 1987 §16.5), i.e. order statistics of the pairwise slopes.
* Projection: from the latest measurement at the fitted slope; early/late dates
  come from the interval's upper/lower slope.
* "Not enough history" below :data:`MIN_POINTS` snapshots or a span shorter
  than :data:`MIN_SPAN`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from bot.config import Thresholds
from bot.models import Frozen

DAY = timedelta(days=1)
FIT_WINDOW = timedelta(days=30)
MIN_POINTS = 12
MIN_SPAN = timedelta(hours=48)
MAX_FIT_POINTS = 240
HORIZON = timedelta(days=5 * 365)  # dates further out are "beyond 5 years": the fit means nothing there
RECOMMEND_DAYS = 90
Z_95 = 1.959964
TIB = 1 << 40
GIB = 1 << 30
GROWTH_PERIODS: tuple[tuple[str, timedelta], ...] = (("24 h", DAY), ("7 d", 7 * DAY), ("30 d", 30 * DAY))


# ----------------------------------------------------------------------------- sizing


def tib_ceil(value: float, step: float = 0.1) -> float:
    """`value` bytes in whole `step`s of TiB, rounded UP: a recommendation must not undershoot.

    (Not a display formatter: a new pool is sized in these steps, and the recommendation says so.)
    """
    return math.ceil(value / TIB / step - 1e-9) * step


# ----------------------------------------------------------------------------- thresholds


class ThresholdState(StrEnum):
    """Where usage stands against the configured thresholds."""

    OK = "OK"
    PLAN = "PLAN"
    ALERT = "ALERT"
    CRITICAL = "CRITICAL"


def threshold_state(pct_used: float, thresholds: Thresholds) -> ThresholdState:
    """The highest threshold reached (a threshold is reached at exactly its value)."""
    if pct_used >= thresholds.critical:
        return ThresholdState.CRITICAL
    if pct_used >= thresholds.alert:
        return ThresholdState.ALERT
    if pct_used >= thresholds.plan:
        return ThresholdState.PLAN
    return ThresholdState.OK


# ----------------------------------------------------------------------------- history


class HistoryPoint(Frozen):
    """One poll of a tenant's capacity; `ok=False` marks a failed poll (a gap), with `error`."""

    taken_at: datetime
    ok: bool = True
    usable_used: int | None = None
    usable_total: int | None = None
    raw_used: int | None = None
    raw_total: int | None = None
    error: str | None = None

    @property
    def pct_used(self) -> float | None:
        """Share of usable capacity used, in percent (None for gaps or an empty tenant)."""
        if not self.ok or self.usable_used is None or not self.usable_total:
            return None
        return 100.0 * self.usable_used / self.usable_total


def _ok_points(points: Sequence[HistoryPoint]) -> list[HistoryPoint]:
    return sorted((p for p in points if p.ok and p.usable_used is not None), key=lambda p: p.taken_at)


# ----------------------------------------------------------------------------- growth


class Growth(Frozen):
    """Change of usable used bytes over one period; `since` None when history does not reach back.

    Without a figure, `history_starts` is the first successful snapshot (None: no history at all).
    """

    label: str
    period: timedelta
    since: datetime | None = None
    bytes: int | None = None
    pct_points: float | None = None
    history_starts: datetime | None = None


def growth(
    points: Sequence[HistoryPoint],
    now: HistoryPoint,
    periods: Sequence[tuple[str, timedelta]] = GROWTH_PERIODS,
) -> list[Growth]:
    """Growth over each period, comparing `now` with the successful snapshot nearest to `now - period`.

    The reference must lie within 10 % of the period (at least one hour) of the
    target time, so a 30-day figure is never quietly computed from 9 days.
    Percentage points are of the CURRENT usable capacity, so adding a pool does
    not show up as negative growth.
    """
    ok = _ok_points(points)
    out: list[Growth] = []
    for label, period in periods:
        target = now.taken_at - period
        tolerance = max(timedelta(hours=1), period / 10)
        candidates = [p for p in ok if abs(p.taken_at - target) <= tolerance and p.taken_at < now.taken_at]
        if not candidates or now.usable_used is None:
            out.append(Growth(label=label, period=period, history_starts=ok[0].taken_at if ok else None))
            continue
        ref = min(candidates, key=lambda p: (abs(p.taken_at - target), p.taken_at))
        assert ref.usable_used is not None
        delta = now.usable_used - ref.usable_used
        pp = 100.0 * delta / now.usable_total if now.usable_total else None
        out.append(Growth(label=label, period=period, since=ref.taken_at, bytes=delta, pct_points=pp))
    return out


# ----------------------------------------------------------------------------- Theil-Sen


class SlopeFit(Frozen):
    """A Theil-Sen slope (bytes per day) with its 95 % interval."""

    slope: float
    low: float
    high: float
    points: int


def bin_points(
    xs: Sequence[float], ys: Sequence[float], max_points: int = MAX_FIT_POINTS
) -> tuple[list[float], list[float]]:
    """Reduce sorted (x, y) to at most `max_points` (median x, median y) pairs over equal-width x bins."""
    if len(xs) <= max_points:
        return list(xs), list(ys)
    lo, hi = xs[0], xs[-1]
    width = (hi - lo) / max_points or 1.0
    bins: dict[int, tuple[list[float], list[float]]] = {}
    for x, y in zip(xs, ys, strict=True):
        index = min(int((x - lo) / width), max_points - 1)
        bx, by = bins.setdefault(index, ([], []))
        bx.append(x)
        by.append(y)
    out_x: list[float] = []
    out_y: list[float] = []
    for index in sorted(bins):
        bx, by = bins[index]
        out_x.append(_median(bx))
        out_y.append(_median(by))
    return out_x, out_y


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def theil_sen(xs: Sequence[float], ys: Sequence[float]) -> SlopeFit:
    """Theil-Sen slope of y over x with Sen's 95 % confidence interval (needs >= 2 distinct x).

    Interval: with N pairwise slopes sorted ascending and
    C = z * sqrt(n (n-1) (2n+5) / 18), the bounds are the slopes of rank
    (N - C) / 2 and (N + C) / 2 + 1 (Gilbert 1987, eq. 16.5).
    """
    n = len(xs)
    slopes: list[float] = []
    for i in range(n - 1):  # list comprehensions over zip: several times faster than one indexed generator
        xi, yi = xs[i], ys[i]
        slopes += [(y - yi) / (x - xi) for x, y in zip(xs[i + 1 :], ys[i + 1 :], strict=True) if x != xi]
    slopes.sort()
    if not slopes:
        raise ValueError("Theil-Sen needs at least two distinct x values")
    count = len(slopes)
    c = Z_95 * math.sqrt(n * (n - 1) * (2 * n + 5) / 18)
    lower_rank = max(1, math.floor((count - c) / 2))
    upper_rank = min(count, math.ceil((count + c) / 2) + 1)
    return SlopeFit(slope=_median(slopes), low=slopes[lower_rank - 1], high=slopes[upper_rank - 1], points=n)


# ----------------------------------------------------------------------------- forecast


class ForecastStatus(StrEnum):
    """What the forecast could say."""

    GROWING = "growing"
    NOT_GROWING = "not growing"
    NOT_ENOUGH_HISTORY = "not enough history"


class Milestone(Frozen):
    """When usage reaches `pct` % of the current usable capacity.

    `reached` True: already there. Otherwise `eta` (fitted slope) and the interval
    `earliest`..`latest`; None means "not within 5 years" (or never, for a flat slope).
    """

    pct: float
    target_bytes: int
    reached: bool = False
    eta: datetime | None = None
    earliest: datetime | None = None
    latest: datetime | None = None


class Forecast(Frozen):
    """The forecast of usable used bytes, with how it was made."""

    status: ForecastStatus
    anchor_at: datetime
    anchor_used: int
    usable_total: int
    slope_per_day: float | None = None
    slope_low: float | None = None
    slope_high: float | None = None
    points: int = 0
    span: timedelta = timedelta(0)
    gaps: int = 0
    last_gap_at: datetime | None = None
    last_gap_error: str | None = None
    milestones: list[Milestone] = []

    def milestone(self, pct: float) -> Milestone | None:
        """The milestone for `pct`, if it was forecast."""
        return next((m for m in self.milestones if m.pct == pct), None)

    def used_at(self, when: datetime, slope: float | None = None) -> float:
        """Projected usable used bytes at `when` (at `slope`, default the fitted one)."""
        rate = self.slope_per_day if slope is None else slope
        return self.anchor_used + (rate or 0.0) * ((when - self.anchor_at) / DAY)


def _eta(anchor_at: datetime, remaining: float, slope: float) -> datetime | None:
    if slope <= 0:
        return None
    days = remaining / slope
    if days > HORIZON / DAY:
        return None
    return anchor_at + days * DAY


def _dated(milestone: Milestone, anchor_at: datetime, remaining: float, fit: SlopeFit) -> Milestone:
    """The milestone dated at the fitted slope, and early/late at the interval's upper/lower slope."""
    return milestone.model_copy(
        update={
            "eta": _eta(anchor_at, remaining, fit.slope),
            "earliest": _eta(anchor_at, remaining, fit.high),
            "latest": _eta(anchor_at, remaining, fit.low),
        }
    )


def forecast(
    points: Sequence[HistoryPoint],
    now: HistoryPoint,
    targets_pct: Sequence[float] = (80.0, 100.0),
    window: timedelta = FIT_WINDOW,
) -> Forecast:
    """Fit the history (plus `now`, the latest measurement) and date each target percentage.

    `now` anchors the projection and fixes the usable capacity targets refer
    to. Gaps (`ok=False`) in the window are counted and named, never filled.
    """
    if now.usable_used is None or not now.usable_total:
        raise ValueError("the anchor measurement needs usable_used and usable_total")
    start = now.taken_at - window
    in_window = [p for p in points if start <= p.taken_at <= now.taken_at]
    gaps = sorted((p for p in in_window if not p.ok), key=lambda p: p.taken_at)
    ok = _ok_points(in_window)
    if not ok or ok[-1].taken_at < now.taken_at:
        ok.append(now)
    targets = [
        Milestone(
            pct=pct,
            target_bytes=int(now.usable_total * pct / 100),
            reached=now.usable_used >= now.usable_total * pct / 100,
        )
        for pct in targets_pct
    ]
    span = ok[-1].taken_at - ok[0].taken_at
    base = {
        "anchor_at": now.taken_at,
        "anchor_used": now.usable_used,
        "usable_total": now.usable_total,
        "points": len(ok),
        "span": span,
        "gaps": len(gaps),
        "last_gap_at": gaps[-1].taken_at if gaps else None,
        "last_gap_error": gaps[-1].error if gaps else None,
    }
    if len(ok) < MIN_POINTS or span < MIN_SPAN:
        return Forecast(status=ForecastStatus.NOT_ENOUGH_HISTORY, milestones=targets, **base)
    origin = ok[0].taken_at
    xs = [(p.taken_at - origin) / DAY for p in ok]
    ys = [float(p.usable_used or 0) for p in ok]
    bx, by = bin_points(xs, ys)
    fit = theil_sen(bx, by)
    slopes = {"slope_per_day": fit.slope, "slope_low": fit.low, "slope_high": fit.high}
    if fit.slope <= 0:
        return Forecast(status=ForecastStatus.NOT_GROWING, milestones=targets, **base, **slopes)
    milestones = [m if m.reached else _dated(m, now.taken_at, m.target_bytes - now.usable_used, fit) for m in targets]
    return Forecast(status=ForecastStatus.GROWING, milestones=milestones, **base, **slopes)


# ----------------------------------------------------------------------------- recommendation


class PoolShape(Frozen):
    """The shape of the newest pool: what a new pool like it would look like."""

    servers: int
    drives_per_server: int
    set_size: int
    parity: int
    drive_size: int = 0  # typical drive size in bytes (0 when unknown)

    @property
    def data_fraction(self) -> float:
        """Usable share of raw capacity: data drives / set size."""
        return (self.set_size - self.parity) / self.set_size if self.set_size else 1.0

    @property
    def label(self) -> str:
        """`EC:4 on sets of 8`."""
        return f"EC:{self.parity} on sets of {self.set_size}"



class Advice(StrEnum):
    """Which recommendation the forecast supports."""

    ADD_POOL = "add a pool"  # growing: sized to stay under the plan threshold for the horizon
    BACK_UNDER_PLAN = "back under plan"  # above the plan threshold without a trend: size what gets it back under
    STAYS_UNDER = "stays under"  # growing, but under the plan threshold for the whole horizon
    NOT_GROWING = "not growing"  # under the plan threshold and not growing
    NEEDS_HISTORY = "needs history"  # under the plan threshold; too little history to size anything


class Recommendation(Frozen):
    """What to do about capacity, sized from the forecast (numbers and dates; `present` words it).

    For ADD_POOL and BACK_UNDER_PLAN the new pool is `add_usable_tib` usable (rounded up to
    0.1 TiB), `add_raw_tib` raw at the newest pool's erasure coding, e.g. drives of at least
    `drive_tib`; `before` None with `asap` False means "within the horizon".
    """

    needed: bool
    advice: Advice
    plan_pct: float
    horizon_days: int = RECOMMEND_DAYS
    pct_now: float = 0.0
    slope_per_day: float | None = None  # the upper growth estimate the pool is sized at
    peak_pct: float | None = None  # STAYS_UNDER: usage at the end of the horizon
    horizon_end: datetime | None = None
    forecast_status: ForecastStatus = ForecastStatus.NOT_ENOUGH_HISTORY
    shape: PoolShape | None = None
    add_usable_tib: float = 0.0
    add_raw_tib: float = 0.0
    drive_tib: float = 0.0
    add_usable_bytes: int = 0
    add_raw_bytes: int = 0
    before: datetime | None = None
    asap: bool = False  # usage is already above the plan threshold
    drive_size_bytes: int = 0


def _sized(add_usable: float, shape: PoolShape | None) -> dict[str, float | int]:
    """The fields of a Recommendation that size a pool adding `add_usable` bytes of usable capacity."""
    usable_tib = tib_ceil(add_usable)
    usable_bytes = int(usable_tib * TIB)
    sized: dict[str, float | int] = {"add_usable_tib": usable_tib, "add_usable_bytes": usable_bytes}
    if shape is None:
        return sized
    raw = usable_bytes / shape.data_fraction
    sized["add_raw_bytes"] = int(raw)
    if not shape.set_size:
        return sized
    sized["add_raw_tib"] = tib_ceil(raw)
    drives = shape.servers * shape.drives_per_server
    if drives:
        drive_tib = tib_ceil(raw / drives)
        sized |= {"drive_tib": drive_tib, "drive_size_bytes": int(drive_tib * TIB)}
    return sized


def recommend(
    fc: Forecast,
    thresholds: Thresholds,
    shape: PoolShape | None,
    horizon_days: int = RECOMMEND_DAYS,
) -> Recommendation:
    """Size a new pool so usage stays under the plan threshold for `horizon_days`.

    Sized at the UPPER slope of the 95 % interval (so the pool is big enough
    unless growth accelerates beyond what the history shows); the date is when
    usage would cross the plan threshold at that slope.
    """
    plan = thresholds.plan
    total, used = fc.usable_total, fc.anchor_used
    pct_now = 100.0 * used / total if total else 0.0
    base = {"plan_pct": plan, "horizon_days": horizon_days, "pct_now": pct_now, "forecast_status": fc.status,
            "shape": shape}
    if fc.status is ForecastStatus.GROWING and fc.slope_high is not None:
        slope = max(fc.slope_high, 0.0)
        projected = used + slope * horizon_days
        add = projected / (plan / 100) - total
        if add <= 0:
            return Recommendation(
                needed=False, advice=Advice.STAYS_UNDER, slope_per_day=slope, peak_pct=100.0 * projected / total,
                horizon_end=fc.anchor_at + horizon_days * DAY, **base,
            )
        asap = pct_now >= plan
        before = fc.anchor_at if asap else _eta(fc.anchor_at, total * plan / 100 - used, slope)
        return Recommendation(
            needed=True, advice=Advice.ADD_POOL, slope_per_day=slope, before=before, asap=asap,
            **base, **_sized(add, shape),
        )
    # No usable trend: size only what it takes to get back under the plan threshold.
    if pct_now >= plan:
        add = used / (plan / 100) - total
        return Recommendation(
            needed=True, advice=Advice.BACK_UNDER_PLAN, before=fc.anchor_at, asap=True, **base, **_sized(add, shape)
        )
    advice = Advice.NOT_GROWING if fc.status is ForecastStatus.NOT_GROWING else Advice.NEEDS_HISTORY
    return Recommendation(needed=False, advice=advice, **base)
