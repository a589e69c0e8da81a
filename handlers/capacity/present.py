"""Capacity presentation: facts and evaluation in, `Report`s with typed spans out (no markup, no I/O)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from bot import humanize
from bot.clients.errors import ClientError
from bot.config import TenantConfig, Thresholds
from bot.report import (
    Chart,
    KeyValue,
    Report,
    Row,
    Section,
    Status,
    Text,
    bold,
    code,
    duration,
    join,
    size,
    spans,
    when,
    worst,
)
from handlers.capacity.evaluate import (
    STALE_AFTER,
    STATUS,
    CapacityNow,
    CapacitySummary,
    forecast_targets,
)
from handlers.capacity.forecast import (
    MAX_FIT_POINTS,
    MIN_POINTS,
    MIN_SPAN,
    Advice,
    Forecast,
    ForecastStatus,
    Growth,
    HistoryPoint,
    Milestone,
    Recommendation,
    ThresholdState,
    forecast,
    growth,
    recommend,
    threshold_state,
)
from handlers.capacity.history import history_source

log = logging.getLogger("minio_chatops.capacity")

METHOD = (
    "Theil-Sen slope over the stored snapshots of the last 30 days (binned to at most "
    f"{MAX_FIT_POINTS} medians), 95 % interval from Kendall's tau (Sen 1968); "
    f"needs >= {MIN_POINTS} snapshots over >= {MIN_SPAN.total_seconds() / 3600:g} h"
)

ChartRenderer = Callable[[str, list[HistoryPoint], Forecast | None, Thresholds, int], bytes]


# ----------------------------------------------------------------------------- sentences


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f} %" if whole else "n/a"


def _per_day(bytes_per_day: float) -> Text:
    return spans(size(bytes_per_day, signed=True), "/day")


def summary_line(summary: CapacitySummary) -> Text:
    """`62.1 % used (PLAN) · 7 d: +1.20 TiB (+1.9 pp) · 80 % in ~23.0 d` (the daily report's and alerts' line)."""
    if not summary.ok or summary.pct_used is None:
        return spans("capacity unknown: ", summary.error or "no data")
    state = f" ({summary.state.value})" if summary.state else ""
    parts: list[Text] = [f"{summary.pct_used:.1f} % used{state}"]
    if summary.history_error:
        parts.append("history unavailable")
    elif summary.growth_7d_bytes is not None:
        pp = summary.growth_7d_pct_points
        points = f" ({pp:+.1f} pp)" if pp is not None else ""
        parts.append(spans("7 d: ", size(summary.growth_7d_bytes, signed=True), points))
    else:
        parts.append("7 d: no history")
    if summary.days_until_80 == 0:
        parts.append("80 % reached")
    elif summary.days_until_80 is not None:
        parts.append(spans("80 % in ~", duration(summary.days_until_80 * 86400)))
    elif summary.forecast is not None:
        parts.append(f"80 %: {summary.forecast.value}")
    if summary.stale:
        parts.append("scanner data stale")
    return join(parts, " · ")


def growth_line(g: Growth) -> Text:
    """`7 d: +1.20 TiB (+1.50 pp of usable)`, or why there is no figure."""
    if g.bytes is None:
        why = spans("history starts ", when(g.history_starts, "date")) if g.history_starts else "no history yet"
        return spans(f"{g.label}: n/a (", why, ")")
    pp = f" ({g.pct_points:+.2f} pp of usable)" if g.pct_points is not None else ""
    return spans(f"{g.label}: ", size(g.bytes, signed=True), pp)


def milestone_when(milestone: Milestone, status: ForecastStatus) -> Text:
    """When usage reaches the milestone: `~2025-06-01 (95 % interval 2025-05-20 .. 2025-06-15)`."""
    if milestone.reached:
        return "already reached"
    if status is not ForecastStatus.GROWING:
        return f"not forecast ({status.value})"
    if milestone.eta is None:
        return "not within 5 years at the current rate"
    eta = when(milestone.eta, "date")
    early, late = milestone.earliest, milestone.latest
    if early and late and len({humanize.date(d) for d in (milestone.eta, early, late)}) == 1:
        return spans("~", eta, " (95 % interval within that day)")
    return spans(
        "~", eta, " (95 % interval ", when(early, "date") if early else "?", " .. ",
        when(late, "date") if late else "not within 5 years", ")",
    )


def milestone_text(milestone: Milestone, status: ForecastStatus) -> Text:
    """`80 %: ~2025-06-01 (95 % interval ...)`."""
    return spans(f"{milestone.pct:g} %: ", milestone_when(milestone, status))


def forecast_reason(fc: Forecast) -> Text:
    """Why the forecast says what it says: `Not enough history: ...`, `Not growing: ...`, `Growing ...`."""
    slope = fc.slope_per_day or 0.0
    if fc.status is ForecastStatus.NOT_ENOUGH_HISTORY:
        # The anchor (today's measurement) counts as a point, but "no snapshots yet" is what a user needs to hear.
        have: Text = "no stored snapshots yet"
        if fc.points > 1:
            have = spans(f"{fc.points} snapshot(s) over ", duration(fc.span))
        need = f"; a forecast needs >= {MIN_POINTS} snapshots over >= {MIN_SPAN.total_seconds() / 3600:g} h"
        return spans("Not enough history: ", have, need)
    if fc.status is ForecastStatus.NOT_GROWING:
        return spans("Not growing: usage is ", "shrinking" if slope < 0 else "flat", " (", _per_day(slope), ")")
    unsure = "" if (fc.slope_low or 0.0) > 0 else " (the 95 % interval includes no growth)"
    return spans("Growing ", _per_day(slope), unsure)


def gap_note(fc: Forecast) -> Text:
    """The failed polls in the fit window ("" when there were none)."""
    if not fc.gaps:
        return ""
    last = when(fc.last_gap_at, "date") if fc.last_gap_at else "?"
    error = f": {fc.last_gap_error}" if fc.last_gap_error else ""
    return spans(
        f"{fc.gaps} snapshot(s) in the window failed (MinIO unreachable; the fit skips them, last on ", last, error, ")"
    )


def _pool(rec: Recommendation) -> tuple[str, str]:
    """(usable size, raw size and shape) of the recommended pool, in the 0.1 TiB steps it was sized in."""
    usable = f">= {rec.add_usable_tib:.1f} TiB usable"
    shape = rec.shape
    if shape is None or not shape.set_size:
        return usable, ""
    detail = f"{rec.add_raw_tib:.1f} TiB raw at {shape.label}"
    if shape.servers * shape.drives_per_server:
        detail += (
            f", e.g. {shape.servers} servers x {shape.drives_per_server} drives of "
            f">= {rec.drive_tib:.1f} TiB like the newest pool"
        )
    return usable, detail


def recommendation_text(rec: Recommendation) -> Text:
    """The recommendation as one sentence."""
    plan, days = f"{rec.plan_pct:g} %", rec.horizon_days
    if rec.advice is Advice.STAYS_UNDER:
        at = when(rec.horizon_end, "date") if rec.horizon_end else "?"
        return spans(
            f"No new capacity needed: at the upper growth estimate usage stays under {plan} for {days} days "
            f"(about {rec.peak_pct or 0.0:.1f} % on ", at, ").",
        )
    if rec.advice is Advice.NOT_GROWING:
        return f"No action needed: usage is not growing and is under {plan}."
    if rec.advice is Advice.NEEDS_HISTORY:
        return f"No action needed now (usage under {plan}); a sized recommendation needs more history."
    usable, detail = _pool(rec)
    if rec.advice is Advice.BACK_UNDER_PLAN:
        why = "no growth forecast" if rec.forecast_status is ForecastStatus.NOT_GROWING else rec.forecast_status.value
        return (
            f"Usage is {rec.pct_now:.1f} %, above the plan threshold of {plan} ({why}): add a pool of "
            f"{usable}{f' ({detail})' if detail else ''} to get back under {plan}, or free space."
        )
    deadline: Text = (
        "as soon as possible (usage is already above the plan threshold)" if rec.asap
        else spans("before ", when(rec.before, "date")) if rec.before else "within the horizon"
    )
    return spans(
        f"Add a pool of {usable} ", deadline, f" to stay under {plan} for {days} days (",
        f"{detail}; " if detail else "", "sized at the upper growth estimate, ", _per_day(rec.slope_per_day or 0.0),
        ").",
    )


# ----------------------------------------------------------------------------- sections


def _usage_section(now: CapacityNow) -> Section:
    last = now.scanner_last_update
    scanner: Text = (
        spans("as of ", when(last), " (", duration(now.checked_at - last), " ago)") if last else "no finished scan yet"
    )
    fields = [
        KeyValue(label="Usable", value=spans(
            size(now.usable_used), " of ", size(now.usable_total), f" used ({now.pct_used:.1f} %), ",
            size(now.usable_free), " free",
        )),
        KeyValue(label="Raw", value=spans(
            size(now.raw_used), " of ", size(now.raw_total), f" used ({_pct(now.raw_used, now.raw_total)}), ",
            size(now.raw_free), " free",
        )),
        KeyValue(label="Objects", value=spans(
            f"{now.objects:,} in {now.buckets_count:,} bucket(s), ", size(now.data_size)
        )),
        KeyValue(label="Scanner data", value=scanner),
    ]
    if now.pool is not None:
        fields.append(KeyValue(label="Erasure coding", value=f"{now.pool.label}: usable counts data drives only"))
    return Section(title="Usage", fields=fields)


def _threshold_rows(now: CapacityNow, fc: Forecast | None, thresholds: Thresholds) -> list[Row]:
    rows: list[Row] = []
    for name, state in (("plan", ThresholdState.PLAN), ("alert", ThresholdState.ALERT),
                        ("critical", ThresholdState.CRITICAL)):
        pct = float(getattr(thresholds, name))
        if now.pct_used >= pct:
            rows.append(Row(status=STATUS[state], text=f"{name} {pct:g} %: crossed (now {now.pct_used:.1f} %)"))
            continue
        milestone = fc.milestone(pct) if fc else None
        expected = milestone_when(milestone, fc.status) if milestone and fc else "no forecast"
        rows.append(Row(status=Status.HEALTHY, text=spans(f"{name} {pct:g} %: not reached; forecast ", expected)))
    return rows


def _forecast_lines(fc: Forecast) -> list[Text]:
    lines: list[Text] = [spans(forecast_reason(fc), ".")]
    if fc.status is ForecastStatus.GROWING and fc.slope_low is not None and fc.slope_high is not None:
        lines[0] = spans(
            "Growing ", _per_day(fc.slope_per_day or 0), " (95 % interval ", size(fc.slope_low, signed=True), " .. ",
            _per_day(fc.slope_high), ").",
        )
    for pct in (80.0, 100.0):
        milestone = fc.milestone(pct)
        if milestone is not None:
            lines.append(spans("• ", milestone_text(milestone, fc.status)))
    lines.append(spans(f"Method: {METHOD}; fit on {fc.points} snapshot(s) over ", duration(fc.span), "."))
    if fc.gaps:
        lines.append(spans("Gaps: ", gap_note(fc), "."))
    return lines


def _bucket_lines(now: CapacityNow, reference: dict[str, int] | None) -> list[Text]:
    lines: list[Text] = []
    for bucket in now.buckets:
        share = f" · {_pct(bucket.size, now.data_size)} of data" if now.data_size else ""
        grew: Text = ""
        if reference is not None and bucket.name in reference:
            grew = spans(" · ", size(bucket.size - reference[bucket.name], signed=True), " in 7 d")
        lines.append(spans(code(bucket.name), ": ", size(bucket.size), f" · {bucket.objects:,} objects{share}", grew))
    return lines


def _buckets_section(now: CapacityNow, reference: dict[str, int] | None) -> Section:
    if now.scanner_last_update is None:
        return Section(title="Buckets", lines=["No scanner result yet: bucket sizes appear after the first cycle."])
    title = f"Top {len(now.buckets)} of {now.buckets_count:,} bucket(s) by size"
    return Section(title=title, lines=_bucket_lines(now, reference) or ["No buckets."])


# ----------------------------------------------------------------------------- reports


def _title(tenant: TenantConfig) -> str:
    return f"Capacity: {tenant.name}"


def _unmeasured(
    tenant: TenantConfig, error: ClientError, points: list[HistoryPoint], reasons: list[Text], now: datetime
) -> Report:
    """MinIO could not be measured: say why, and what the last snapshot said."""
    footer: list[Text] = [f"History from {history_source(tenant)}."]
    last = next((p for p in reversed(points) if p.ok and p.usable_total), None)
    if last is None:
        summary = spans("Could not measure capacity: ", str(error))
    else:
        pct = last.pct_used or 0.0
        state = threshold_state(pct, tenant.thresholds)
        summary = spans(
            f"Could not measure capacity now: {error}. Last snapshot (", duration(now - last.taken_at),
            f" ago): {pct:.1f} % of usable used ({state.value}).",
        )
    return Report(title=_title(tenant), status=Status.UNKNOWN, summary=summary, reasons=reasons, footer=footer)


def _history_reasons(history: list[HistoryPoint] | str) -> list[Text]:
    if isinstance(history, str):
        return [spans(f"History unavailable ({history}): growth and forecast cannot be computed.")]
    return []


def _reasons(current: CapacityNow, history: list[HistoryPoint] | str, now: datetime) -> list[Text]:
    reasons = _history_reasons(history)
    if current.scanner_last_update is None:
        reasons.append(
            "The scanner has not finished a cycle yet (lastUpdate is zero): bucket and object figures are "
            "not available; drive totals are current."
        )
    elif current.stale:
        reasons.append(spans(
            "Bucket figures are stale: the scanner's last cycle finished ", duration(now - current.scanner_last_update),
            " ago (flagged after ", duration(STALE_AFTER), ").",
        ))
    if current.offline_drives:
        reasons.append(f"{current.offline_drives} drive(s) offline: raw and usable totals exclude them.")
    if not current.usable_total:
        reasons.append("No capacity reported (every drive offline?).")
    return reasons


def _sections(
    tenant: TenantConfig, current: CapacityNow, history: list[HistoryPoint] | str, fc: Forecast | None,
    reference: dict[str, int] | None, status: Status,
) -> list[Section]:
    thresholds = tenant.thresholds
    sections = [_usage_section(current)]
    sections.append(Section(title="Thresholds", status=status, rows=_threshold_rows(current, fc, thresholds)))
    if isinstance(history, list):
        sections.append(Section(title="Growth", lines=[growth_line(g) for g in growth(history, current.point)]))
    else:
        sections.append(Section(title="Growth", error=spans(history)))
    if fc is not None:
        sections.append(Section(title="Forecast", lines=_forecast_lines(fc)))
        rec = recommend(fc, thresholds, current.pool)
        sections.append(Section(
            title="Recommendation", status=Status.DEGRADED if rec.needed else Status.HEALTHY,
            lines=[recommendation_text(rec)],
        ))
    elif isinstance(history, str):
        sections.append(Section(title="Forecast", error=spans(history)))
    sections.append(_buckets_section(current, reference))
    return sections


def _chart(
    tenant: TenantConfig, current: CapacityNow, points: list[HistoryPoint], fc: Forecast | None, draw: ChartRenderer
) -> Chart | None:
    """The PNG, or None when it could not be drawn (a chart is a bonus; the text report stands alone)."""
    plotted = [*points, current.point]
    try:
        png = draw(tenant.name, plotted, fc, tenant.thresholds, current.usable_total)
    except Exception as exc:  # noqa: BLE001 - a chart is a bonus; the text report stands alone
        log.warning("capacity chart failed", extra={"tenant": tenant.name, "error_type": type(exc).__name__})
        return None
    span = humanize.duration(current.checked_at - min(p.taken_at for p in plotted))  # a chart title is plain text
    return Chart(filename=f"capacity-{tenant.name}.png", title=f"{tenant.name}: capacity, last {span}", png=png)


def _summary(current: CapacityNow, fc: Forecast | None, thresholds: Thresholds) -> Text:
    state = threshold_state(current.pct_used, thresholds)
    summary = spans(
        f"{state.value}: {current.pct_used:.1f} % of usable capacity used (", size(current.usable_used), " of ",
        size(current.usable_total), ")",
    )
    if fc is not None:
        eighty = fc.milestone(80.0)
        if eighty is not None and not eighty.reached and eighty.eta is not None and fc.status is ForecastStatus.GROWING:
            summary = spans(summary, "; 80 % forecast ~", when(eighty.eta, "date"))
        elif fc.status is not ForecastStatus.GROWING:
            summary = spans(summary, f"; {fc.status.value}")
    return spans(summary, ".")


def build_report(
    tenant: TenantConfig,
    current: CapacityNow | ClientError,
    history: list[HistoryPoint] | str,
    bucket_reference: dict[str, int] | None,
    now: datetime,
    chart: ChartRenderer | None = None,
) -> Report:
    """The full capacity report from gathered facts; `chart` renders the PNG (None: no chart)."""
    points = history if isinstance(history, list) else []
    if isinstance(current, ClientError):
        return _unmeasured(tenant, current, points, _history_reasons(history), now)
    thresholds = tenant.thresholds
    state = threshold_state(current.pct_used, thresholds)
    status = STATUS[state] if current.usable_total else Status.UNKNOWN
    fc: Forecast | None = None
    if isinstance(history, list) and current.usable_total:
        fc = forecast(points, current.point, forecast_targets(thresholds))
    footer: list[Text] = [
        "Sizes from MinIO's scanner (datausageinfo, O(buckets), no object listing) and drive totals; "
        f"history from {history_source(tenant)}. Thresholds: plan {thresholds.plan:g} %, "
        f"alert {thresholds.alert:g} %, critical {thresholds.critical:g} %."
    ]
    charts: list[Chart] = []
    if chart is not None and current.usable_total:
        drawn = _chart(tenant, current, points, fc, chart)
        if drawn is None:
            footer.append("The chart could not be drawn.")
        else:
            charts.append(drawn)
    return Report(
        title=_title(tenant),
        status=status,
        summary=_summary(current, fc, thresholds),
        reasons=_reasons(current, history, now),
        sections=_sections(tenant, current, history, fc, bucket_reference, status),
        footer=footer,
        charts=charts,
    )


def build_summary_report(summaries: list[CapacitySummary]) -> Report:
    """One row per tenant: its summary line."""
    rows = [Row(status=s.status, text=spans(bold(s.tenant), ": ", summary_line(s))) for s in summaries]
    return Report(
        title="Capacity",
        status=worst([r.status for r in rows if r.status]),
        sections=[Section(title=f"{len(summaries)} tenant(s)", rows=rows)],
        footer=[spans(code("/minio capacity <tenant>"), " shows buckets, growth, the forecast and a chart.")],
    )
