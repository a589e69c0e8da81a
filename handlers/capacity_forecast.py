"""Pure capacity maths: thresholds, growth, a robust forecast and a sized recommendation.

Nothing here does I/O. Inputs are plain models (history points, thresholds,
pool shape); outputs are models the report builder turns into text. Every
function is deterministic, so tests can pin dates and hypothesis can fuzz them.

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

from pydantic import BaseModel, ConfigDict

from bot.config import Thresholds

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

METHOD = (
    "Theil-Sen slope over the stored snapshots of the last 30 days (binned to at most "
    f"{MAX_FIT_POINTS} medians), 95 % interval from Kendall's tau (Sen 1968); "
    f"needs >= {MIN_POINTS} snapshots over >= {MIN_SPAN.total_seconds() / 3600:g} h"
)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


# ----------------------------------------------------------------------------- formatting


def format_bytes(value: float) -> str:
    """Binary units with three significant digits: 512 GiB, 3.40 TiB, 1.25 PiB."""
    sign = "-" if value < 0 else ""
    value = abs(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024 or unit == "PiB":
            if unit == "B":
                return f"{sign}{int(value)} B"
            digits = 0 if value >= 100 else 1 if value >= 10 else 2
            return f"{sign}{value:.{digits}f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def format_signed_bytes(value: float) -> str:
    """`+1.20 TiB` / `-512 GiB` / `±0 B`."""
    if value == 0:
        return "±0 B"
    return ("+" if value > 0 else "") + format_bytes(value)


def format_date(when: datetime) -> str:
    """A calendar date in UTC (forecasts are never precise to the hour)."""
    return when.strftime("%Y-%m-%d")


def format_age(age: timedelta) -> str:
    """`45 s`, `12 min`, `3.5 h`, `2.1 d`."""
    seconds = max(0.0, age.total_seconds())
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def tib_ceil(value: float, step: float = 0.1) -> float:
    """`value` bytes in TiB, rounded UP to `step` TiB (a recommendation must not undershoot)."""
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


class HistoryPoint(_Frozen):
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


class Growth(_Frozen):
    """Change of usable used bytes over one period; `since` None when history does not reach back."""

    label: str
    period: timedelta
    since: datetime | None = None
    bytes: int | None = None
    pct_points: float | None = None
    note: str = ""


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
            first = ok[0].taken_at if ok else None
            note = f"history starts {format_date(first)}" if first else "no history yet"
            out.append(Growth(label=label, period=period, note=note))
            continue
        ref = min(candidates, key=lambda p: (abs(p.taken_at - target), p.taken_at))
        assert ref.usable_used is not None
        delta = now.usable_used - ref.usable_used
        pp = 100.0 * delta / now.usable_total if now.usable_total else None
        out.append(Growth(label=label, period=period, since=ref.taken_at, bytes=delta, pct_points=pp))
    return out


# ----------------------------------------------------------------------------- Theil-Sen


class SlopeFit(_Frozen):
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
    slopes = sorted((ys[j] - ys[i]) / (xs[j] - xs[i]) for i in range(n) for j in range(i + 1, n) if xs[j] != xs[i])
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


class Milestone(_Frozen):
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

    def describe(self, status: ForecastStatus) -> str:
        """One line such as `80 %: ~2025-06-01 (95 %: 2025-05-20 .. 2025-06-15)`."""
        head = f"{self.pct:g} %"
        if self.reached:
            return f"{head}: already reached"
        if status is not ForecastStatus.GROWING:
            return f"{head}: not forecast ({status.value})"
        if self.eta is None:
            return f"{head}: not within 5 years at the current rate"
        eta = format_date(self.eta)
        early = format_date(self.earliest) if self.earliest else "?"
        late = format_date(self.latest) if self.latest else "not within 5 years"
        if early == late == eta:
            return f"{head}: ~{eta} (95 % interval within that day)"
        return f"{head}: ~{eta} (95 % interval {early} .. {late})"


class Forecast(_Frozen):
    """The forecast of usable used bytes, with how it was made."""

    status: ForecastStatus
    reason: str
    method: str = METHOD
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

    @property
    def gap_note(self) -> str:
        """A sentence about failed polls in the fit window ('' when there were none)."""
        if not self.gaps:
            return ""
        when = format_date(self.last_gap_at) if self.last_gap_at else "?"
        error = f": {self.last_gap_error}" if self.last_gap_error else ""
        return (
            f"{self.gaps} snapshot(s) in the window failed (MinIO unreachable; the fit skips them, "
            f"last on {when}{error})"
        )

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
    base = {
        "anchor_at": now.taken_at,
        "anchor_used": now.usable_used,
        "usable_total": now.usable_total,
        "points": len(ok),
        "span": ok[-1].taken_at - ok[0].taken_at,
        "gaps": len(gaps),
        "last_gap_at": gaps[-1].taken_at if gaps else None,
        "last_gap_error": gaps[-1].error if gaps else None,
    }
    span = ok[-1].taken_at - ok[0].taken_at
    if len(ok) < MIN_POINTS or span < MIN_SPAN:
        # The anchor (today's measurement) counts as a point, but "no snapshots yet" is what a user needs to hear.
        have = f"{len(ok)} snapshot(s) over {format_age(span)}" if len(ok) > 1 else "no stored snapshots yet"
        return Forecast(
            status=ForecastStatus.NOT_ENOUGH_HISTORY,
            reason=f"not enough history: {have}; a forecast needs >= {MIN_POINTS} snapshots over "
            f">= {MIN_SPAN.total_seconds() / 3600:g} h",
            milestones=targets,
            **base,
        )
    origin = ok[0].taken_at
    xs = [(p.taken_at - origin) / DAY for p in ok]
    ys = [float(p.usable_used or 0) for p in ok]
    bx, by = bin_points(xs, ys)
    fit = theil_sen(bx, by)
    slopes = {"slope_per_day": fit.slope, "slope_low": fit.low, "slope_high": fit.high}
    if fit.slope <= 0:
        trend = "shrinking" if fit.slope < 0 else "flat"
        return Forecast(
            status=ForecastStatus.NOT_GROWING,
            reason=f"not growing: usage is {trend} ({format_signed_bytes(fit.slope)}/day)",
            milestones=targets,
            **base,
            **slopes,
        )
    milestones = []
    for m in targets:
        if m.reached:
            milestones.append(m)
            continue
        remaining = m.target_bytes - now.usable_used
        milestones.append(
            m.model_copy(
                update={
                    "eta": _eta(now.taken_at, remaining, fit.slope),
                    "earliest": _eta(now.taken_at, remaining, fit.high),
                    "latest": _eta(now.taken_at, remaining, fit.low),
                }
            )
        )
    significance = "" if fit.low > 0 else " (the 95 % interval includes no growth)"
    return Forecast(
        status=ForecastStatus.GROWING,
        reason=f"growing {format_signed_bytes(fit.slope)}/day{significance}",
        milestones=milestones,
        **base,
        **slopes,
    )


# ----------------------------------------------------------------------------- recommendation


class PoolShape(_Frozen):
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


class Recommendation(_Frozen):
    """What to do about capacity, sized from the forecast."""

    needed: bool
    text: str
    add_usable_bytes: int = 0
    add_raw_bytes: int = 0
    before: datetime | None = None
    drive_size_bytes: int = 0


def _size_text(add_usable: float, shape: PoolShape | None) -> tuple[str, str, int, int]:
    """(usable size, raw size and shape detail, usable bytes, drive size) of a pool adding `add_usable`."""
    usable_tib = tib_ceil(add_usable)
    usable_bytes = int(usable_tib * TIB)
    if shape is None or not shape.set_size:
        return f">= {usable_tib:.1f} TiB usable", "", usable_bytes, 0
    raw = usable_bytes / shape.data_fraction
    raw_tib = tib_ceil(raw)
    text = f">= {usable_tib:.1f} TiB usable"
    detail = f"{raw_tib:.1f} TiB raw at {shape.label}"
    drives = shape.servers * shape.drives_per_server
    drive_size = 0
    if drives:
        drive_size = int(tib_ceil(raw / drives) * TIB)
        detail += (
            f", e.g. {shape.servers} servers x {shape.drives_per_server} drives of "
            f">= {drive_size / TIB:.1f} TiB like the newest pool"
        )
    return text, detail, usable_bytes, drive_size


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
    if fc.status is ForecastStatus.GROWING and fc.slope_high is not None:
        slope = max(fc.slope_high, 0.0)
        projected = used + slope * horizon_days
        needed_total = projected / (plan / 100)
        add = needed_total - total
        if add <= 0:
            peak = 100.0 * projected / total
            return Recommendation(
                needed=False,
                text=f"No new capacity needed: at the upper growth estimate usage stays under {plan:g} % "
                f"for {horizon_days} days (about {peak:.1f} % on {format_date(fc.anchor_at + horizon_days * DAY)}).",
            )
        size, detail, add_bytes, drive_size = _size_text(add, shape)
        before: datetime | None
        if pct_now >= plan:
            before = fc.anchor_at
            when = "as soon as possible (usage is already above the plan threshold)"
        else:
            eta = _eta(fc.anchor_at, total * plan / 100 - used, slope)
            before = eta
            when = f"before {format_date(eta)}" if eta else "within the horizon"
        return Recommendation(
            needed=True,
            text=f"Add a pool of {size} {when} to stay under {plan:g} % for {horizon_days} days "
            f"({detail + '; ' if detail else ''}sized at the upper growth estimate, "
            f"{format_signed_bytes(slope)}/day).",
            add_usable_bytes=add_bytes,
            add_raw_bytes=int(add_bytes / shape.data_fraction) if shape else 0,
            before=before,
            drive_size_bytes=drive_size,
        )
    # No usable trend: size only what it takes to get back under the plan threshold.
    if pct_now >= plan:
        add = used / (plan / 100) - total
        size, detail, add_bytes, drive_size = _size_text(add, shape)
        why = "no growth forecast" if fc.status is ForecastStatus.NOT_GROWING else fc.status.value
        return Recommendation(
            needed=True,
            text=f"Usage is {pct_now:.1f} %, above the plan threshold of {plan:g} % ({why}): add a pool of "
            f"{size}{f' ({detail})' if detail else ''} to get back under {plan:g} %, or free space.",
            add_usable_bytes=add_bytes,
            add_raw_bytes=int(add_bytes / shape.data_fraction) if shape else 0,
            before=fc.anchor_at,
            drive_size_bytes=drive_size,
        )
    if fc.status is ForecastStatus.NOT_GROWING:
        return Recommendation(needed=False, text=f"No action needed: usage is not growing and is under {plan:g} %.")
    return Recommendation(
        needed=False,
        text=f"No action needed now (usage under {plan:g} %); a sized recommendation needs more history.",
    )
