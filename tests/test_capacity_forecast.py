"""Capacity maths, read like the runbook: thresholds, growth, the forecast and the sized recommendation.

Pure functions only: no simulator, no store. Dates are pinned.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import Thresholds
from bot.erasure import default_parity
from bot.humanize import signed_size, size
from handlers.capacity.forecast import (
    DAY,
    MAX_FIT_POINTS,
    MIN_POINTS,
    TIB,
    ForecastStatus,
    HistoryPoint,
    PoolShape,
    ThresholdState,
    bin_points,
    forecast,
    growth,
    recommend,
    theil_sen,
    threshold_state,
)
from handlers.capacity.present import (
    METHOD,
    forecast_reason,
    gap_note,
    growth_line,
    milestone_text,
    recommendation_text,
)
from tests.reading import plain

NOW = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
TOTAL = 100 * TIB  # usable
DEFAULTS = Thresholds()
SHAPE = PoolShape(servers=4, drives_per_server=4, set_size=16, parity=4, drive_size=8 * TIB)


def hourly(
    days: float, used_now: float, per_day: float, noise: float = 0.0, seed: int = 1, total: int = TOTAL
) -> list[HistoryPoint]:
    """Hourly points for `days` ending an hour before NOW, growing `per_day` bytes a day into `used_now`."""
    rng = random.Random(seed)
    points = []
    for hour in range(int(days * 24), 0, -1):
        at = NOW - timedelta(hours=hour)
        used = used_now - per_day * hour / 24 + rng.gauss(0, noise)
        points.append(HistoryPoint(taken_at=at, usable_used=int(max(0, used)), usable_total=total))
    return points


def now_point(used: float, total: int = TOTAL) -> HistoryPoint:
    return HistoryPoint(taken_at=NOW, usable_used=int(used), usable_total=total)


# --- thresholds ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pct, state",
    [
        (0, ThresholdState.OK),
        (69.99, ThresholdState.OK),
        (70, ThresholdState.PLAN),
        (80, ThresholdState.ALERT),
        (85, ThresholdState.ALERT),
        (90, ThresholdState.CRITICAL),
        (100, ThresholdState.CRITICAL),
    ],
)
def test_a_threshold_is_reached_at_exactly_its_value(pct: float, state: ThresholdState) -> None:
    assert threshold_state(pct, DEFAULTS) is state


@given(st.floats(0, 100), st.floats(0, 100))
def test_more_usage_never_means_a_milder_state(a: float, b: float) -> None:
    order = list(ThresholdState)
    low, high = sorted((a, b))
    assert order.index(threshold_state(low, DEFAULTS)) <= order.index(threshold_state(high, DEFAULTS))


def test_custom_thresholds_from_config_are_honoured() -> None:
    strict = Thresholds(plan=50, alert=60, critical=75)
    assert threshold_state(65, strict) is ThresholdState.ALERT


# --- Theil-Sen -----------------------------------------------------------------------------------


def test_theil_sen_recovers_a_straight_line_exactly() -> None:
    xs = [float(i) for i in range(50)]
    fit = theil_sen(xs, [3.0 * x + 7 for x in xs])
    assert fit.slope == pytest.approx(3.0) and fit.low == pytest.approx(3.0) and fit.high == pytest.approx(3.0)


def test_theil_sen_shrugs_off_a_one_off_bulk_delete_and_restore() -> None:
    xs = [float(i) for i in range(100)]
    ys = [2.0 * x for x in xs]
    for i in range(40, 60):  # 20 % of the points dropped by a large delete, then restored
        ys[i] -= 500
    fit = theil_sen(xs, ys)
    assert fit.slope == pytest.approx(2.0, rel=0.05)


@settings(max_examples=40, deadline=None)
@given(
    slope=st.floats(-1e3, 1e3),
    noise=st.floats(0.0, 50.0),
    n=st.integers(MIN_POINTS, 120),
    seed=st.integers(0, 10_000),
)
def test_the_interval_always_brackets_the_slope(slope: float, noise: float, n: int, seed: int) -> None:
    rng = random.Random(seed)
    xs = [float(i) for i in range(n)]
    ys = [slope * x + rng.gauss(0, noise) for x in xs]
    fit = theil_sen(xs, ys)
    assert fit.low <= fit.slope <= fit.high


def test_the_interval_covers_the_true_slope_about_95_percent_of_the_time() -> None:
    rng = random.Random(42)
    covered = 0
    for _ in range(200):
        xs = [float(i) for i in range(40)]
        ys = [5.0 * x + rng.gauss(0, 20) for x in xs]
        fit = theil_sen(xs, ys)
        covered += fit.low <= 5.0 <= fit.high
    assert 180 <= covered <= 200


def test_binning_bounds_the_points_and_keeps_the_trend() -> None:
    xs = [i / 24 for i in range(24 * 30 * 4)]  # 30 days of 15-minute points
    ys = [1000.0 * x for x in xs]
    bx, by = bin_points(xs, ys)
    assert len(bx) <= MAX_FIT_POINTS
    assert theil_sen(bx, by).slope == pytest.approx(1000.0, rel=1e-6)


def test_a_month_of_hourly_history_is_fitted() -> None:
    # Speed is measured by bench/capacity.py, not asserted here.
    points = hourly(30, 60 * TIB, 0.2 * TIB, noise=0.01 * TIB)
    fc = forecast(points, now_point(60 * TIB))
    assert fc.status is ForecastStatus.GROWING


# --- forecast ------------------------------------------------------------------------------------


def test_given_steady_growth_the_80_and_100_percent_dates_are_where_the_line_crosses() -> None:
    # 60 TiB used of 100, +0.5 TiB a day: 80 % in 40 days, full in 80 days.
    points = hourly(14, 60 * TIB, 0.5 * TIB, noise=0.002 * TIB)
    fc = forecast(points, now_point(60 * TIB))
    assert fc.status is ForecastStatus.GROWING
    eighty, full = fc.milestone(80.0), fc.milestone(100.0)
    assert eighty and full and eighty.eta and full.eta
    assert abs((eighty.eta - (NOW + 40 * DAY)) / DAY) < 1.0
    assert abs((full.eta - (NOW + 80 * DAY)) / DAY) < 2.0
    assert eighty.earliest and eighty.latest and eighty.earliest <= eighty.eta <= eighty.latest
    assert "Theil-Sen" in METHOD and "95 %" in METHOD
    assert "80 %: ~" in plain(milestone_text(eighty, fc.status))


@pytest.mark.parametrize(
    "points, why",
    [
        ([], "no stored snapshots yet"),
        (hourly(0.2, 50 * TIB, TIB), "snapshot(s) over"),  # 4 hours: too few and too short
        (hourly(1.5, 50 * TIB, TIB), "snapshot(s) over"),  # 36 hourly points, but under 48 h
    ],
)
def test_a_tenant_with_little_history_gets_not_enough_history_and_the_rule(
    points: list[HistoryPoint], why: str
) -> None:
    fc = forecast(points, now_point(50 * TIB))
    assert fc.status is ForecastStatus.NOT_ENOUGH_HISTORY
    reason = plain(forecast_reason(fc))
    assert why in reason and f">= {MIN_POINTS} snapshots" in reason and "48 h" in reason
    eighty = fc.milestone(80.0)
    assert eighty and eighty.eta is None and "not enough history" in plain(milestone_text(eighty, fc.status))


def test_sparse_snapshots_over_a_long_span_are_still_too_few() -> None:
    points = [
        HistoryPoint(taken_at=NOW - timedelta(days=d), usable_used=50 * TIB, usable_total=TOTAL) for d in range(1, 8)
    ]
    assert forecast(points, now_point(50 * TIB)).status is ForecastStatus.NOT_ENOUGH_HISTORY


def test_a_tenant_whose_usage_shrank_is_not_growing_and_gets_no_dates() -> None:
    points = hourly(7, 40 * TIB, -0.3 * TIB, noise=0.01 * TIB)
    fc = forecast(points, now_point(40 * TIB))
    assert fc.status is ForecastStatus.NOT_GROWING
    assert "shrinking" in plain(forecast_reason(fc))
    assert all(m.eta is None for m in fc.milestones)
    rec = recommend(fc, DEFAULTS, SHAPE)
    assert not rec.needed and "not growing" in plain(recommendation_text(rec))


def test_flat_usage_is_not_growing() -> None:
    fc = forecast(hourly(7, 40 * TIB, 0.0), now_point(40 * TIB))
    assert fc.status is ForecastStatus.NOT_GROWING and "flat" in plain(forecast_reason(fc))


def test_failed_polls_are_skipped_counted_and_named() -> None:
    points = hourly(7, 60 * TIB, 0.5 * TIB)
    outage = NOW - timedelta(days=2)
    points = [p for p in points if abs(p.taken_at - outage) > timedelta(hours=3)]
    points += [
        HistoryPoint(
            taken_at=outage + timedelta(hours=h), ok=False, error="MinIO node 1 unreachable: connection refused"
        )
        for h in range(-2, 3)
    ]
    fc = forecast(points, now_point(60 * TIB))
    assert fc.status is ForecastStatus.GROWING
    assert fc.gaps == 5
    assert "5 snapshot(s)" in plain(gap_note(fc)) and "connection refused" in plain(gap_note(fc))
    assert fc.slope_per_day == pytest.approx(0.5 * TIB, rel=0.02)


def test_already_full_milestones_say_reached() -> None:
    fc = forecast(hourly(7, 95 * TIB, 0.1 * TIB), now_point(95 * TIB), [80.0, 100.0])
    eighty, full = fc.milestone(80.0), fc.milestone(100.0)
    assert eighty and eighty.reached and "already reached" in plain(milestone_text(eighty, fc.status))
    assert full and not full.reached and full.eta is not None


def test_very_slow_growth_is_not_dated_beyond_five_years() -> None:
    fc = forecast(hourly(14, 10 * TIB, 0.001 * TIB), now_point(10 * TIB))
    full = fc.milestone(100.0)
    assert fc.status is ForecastStatus.GROWING and full and full.eta is None
    assert "not within 5 years" in plain(milestone_text(full, fc.status))


# --- growth --------------------------------------------------------------------------------------


def test_growth_compares_with_the_snapshot_nearest_24h_7d_and_30d_ago() -> None:
    points = hourly(31, 60 * TIB, 0.5 * TIB)
    by_label = {g.label: g for g in growth(points, now_point(60 * TIB))}
    assert by_label["24 h"].bytes == pytest.approx(0.5 * TIB, rel=0.01)
    assert by_label["7 d"].bytes == pytest.approx(3.5 * TIB, rel=0.01)
    assert by_label["30 d"].bytes == pytest.approx(15 * TIB, rel=0.01)
    assert by_label["7 d"].pct_points == pytest.approx(3.5, rel=0.01)


def test_growth_never_stretches_a_short_history_into_a_30_day_figure() -> None:
    points = hourly(9, 60 * TIB, 0.5 * TIB)
    by_label = {g.label: g for g in growth(points, now_point(60 * TIB))}
    assert by_label["7 d"].bytes is not None
    assert by_label["30 d"].bytes is None and "history starts" in plain(growth_line(by_label["30 d"]))


def test_shrinking_usage_shows_negative_growth() -> None:
    seven = growth(hourly(8, 40 * TIB, -1 * TIB), now_point(40 * TIB))[1]
    assert seven.bytes is not None and seven.bytes < 0
    assert signed_size(seven.bytes).startswith("-") and plain(growth_line(seven)).startswith("7 d: -")


# --- recommendation ------------------------------------------------------------------------------


def test_the_recommendation_is_sized_to_stay_under_70_percent_for_90_days() -> None:
    fc = forecast(hourly(14, 60 * TIB, 0.5 * TIB, noise=0.01 * TIB), now_point(60 * TIB))
    rec = recommend(fc, DEFAULTS, SHAPE)
    assert rec.needed
    assert fc.slope_high is not None
    projected = 60 * TIB + fc.slope_high * 90
    assert projected / (TOTAL + rec.add_usable_bytes) <= 0.70 + 1e-9
    # Not grossly oversized either: within 0.1 TiB (the rounding step) of the exact need.
    assert rec.add_usable_bytes - (projected / 0.70 - TOTAL) < 0.1 * TIB + 1
    # Raw converts with the parity of the tenant's storage class: EC:4 on sets of 16 -> 12/16 usable.
    assert rec.add_raw_bytes == pytest.approx(rec.add_usable_bytes * 16 / 12, rel=1e-9)
    assert rec.before is not None and abs((rec.before - (NOW + 20 * DAY)) / DAY) < 1.5
    text = plain(recommendation_text(rec))
    assert f"before {rec.before:%Y-%m-%d}" in text and "TiB usable" in text and "EC:4" in text


def test_no_pool_is_recommended_when_usage_stays_under_plan_for_90_days() -> None:
    fc = forecast(hourly(14, 20 * TIB, 0.05 * TIB), now_point(20 * TIB))
    rec = recommend(fc, DEFAULTS, SHAPE)
    assert not rec.needed and "No new capacity needed" in plain(recommendation_text(rec))


def test_above_plan_without_a_trend_still_sizes_the_pool_to_get_back_under() -> None:
    fc = forecast([], now_point(85 * TIB))
    rec = recommend(fc, DEFAULTS, SHAPE)
    assert rec.needed and "above the plan threshold" in plain(recommendation_text(rec))
    assert 85 * TIB / (TOTAL + rec.add_usable_bytes) <= 0.70


@settings(max_examples=60, deadline=None)
@given(
    used_pct=st.floats(1, 99),
    per_day_pct=st.floats(0.01, 3),
    parity=st.integers(1, 8),
)
def test_whenever_a_pool_is_recommended_it_is_big_enough(used_pct: float, per_day_pct: float, parity: int) -> None:
    used = TOTAL * used_pct / 100
    fc = forecast(hourly(7, used, TOTAL * per_day_pct / 100), now_point(used))
    shape = PoolShape(servers=4, drives_per_server=4, set_size=16, parity=parity)
    rec = recommend(fc, DEFAULTS, shape)
    if fc.status is ForecastStatus.GROWING and fc.slope_high:
        projected = used + max(fc.slope_high, 0) * 90
        assert projected / (TOTAL + rec.add_usable_bytes) <= 0.70 + 1e-9 or not rec.needed
        if rec.needed:
            assert rec.add_raw_bytes >= rec.add_usable_bytes


# --- formatting ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, text",
    [(0, "0 B"), (1023, "1023 B"), (512 << 30, "512 GiB"), (int(3.4 * TIB), "3.40 TiB"), (-(1 << 40), "-1.00 TiB")],
)
def test_sizes_read_in_binary_units(value: int, text: str) -> None:
    assert size(value) == text


@pytest.mark.parametrize("set_size, parity", [(1, 0), (2, 1), (3, 1), (4, 2), (5, 2), (6, 3), (7, 3), (8, 4), (16, 4)])
def test_default_parity_follows_minio(set_size: int, parity: int) -> None:
    assert default_parity(set_size) == parity


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0.01, 40), st.booleans(), st.floats(0, 1.2)),  # (days ago, ok, share of usable used)
        max_size=80,
    ),
    st.floats(0, 1.0),
)
def test_any_history_gives_a_consistent_forecast_and_never_raises(
    samples: list[tuple[float, bool, float]], share_now: float
) -> None:
    points = [
        HistoryPoint(
            taken_at=NOW - days * DAY, ok=ok, usable_used=int(share * TOTAL) if ok else None, usable_total=TOTAL
        )
        for days, ok, share in samples
    ]
    fc = forecast(points, now_point(share_now * TOTAL))
    assert fc.gaps == sum(1 for days, ok, _ in samples if not ok and days <= 30)
    for m in fc.milestones:
        assert m.reached == (share_now * TOTAL >= m.target_bytes)
        if fc.status is not ForecastStatus.GROWING or m.reached:
            assert m.eta is None
        elif m.eta is not None:
            assert m.eta >= NOW
            if m.earliest is not None:
                assert m.earliest <= m.eta
            if m.latest is not None:
                assert m.eta <= m.latest
    rec = recommend(fc, DEFAULTS, SHAPE)
    assert rec.needed == (rec.add_usable_bytes > 0)
