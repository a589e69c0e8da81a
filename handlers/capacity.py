"""`/minio capacity [tenant]`: usage, top buckets, growth, forecast, recommendation and a chart.

Facts come from two admin calls made in parallel (`info` for drive capacity,
`datausageinfo` for the scanner's per-bucket figures: O(buckets), never an
object listing) and from the capacity history (the store, or Prometheus when
configured). Evaluation is pure (`evaluate_capacity`, `capacity_forecast`);
this module wires the calls and builds the Report.

Also used elsewhere:
- `take_snapshot(runtime, tenant)`: the hourly snapshot job (the scheduler).
- `capacity_summary(runtime, tenant)`: one line of the daily report.
"""

from __future__ import annotations

import heapq
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from pydantic import BaseModel, ConfigDict

from bot.application import Capability, Job
from bot.clients.errors import ClientError
from bot.clients.fanout import fan_out
from bot.clients.minio_models import DataUsage, ServerInfo
from bot.commands import Arg, Verb, escape
from bot.config import TenantConfig, Thresholds
from bot.erasure import default_parity
from bot.invocation import Invocation, UserError
from bot.report import Chart, KeyValue, Report, Row, Section, Status, worst
from bot.runtime import Runtime
from bot.store import BucketSize, StoreError
from handlers.capacity_forecast import (
    DAY,
    Forecast,
    ForecastStatus,
    Growth,
    HistoryPoint,
    PoolShape,
    Recommendation,
    ThresholdState,
    forecast,
    format_age,
    format_bytes,
    format_signed_bytes,
    growth,
    recommend,
    threshold_state,
)
from handlers.capacity_history import bucket_sizes_near, history_source, load_history

log = logging.getLogger("minio_chatops.capacity")

STALE_AFTER = timedelta(hours=6)  # older scanner data is flagged; big clusters scan for hours
TOP_BUCKETS = 10
SUMMARY_TARGET_PCT = 80.0

_STATUS = {
    ThresholdState.OK: Status.HEALTHY,
    ThresholdState.PLAN: Status.INFO,
    ThresholdState.ALERT: Status.DEGRADED,
    ThresholdState.CRITICAL: Status.UNHEALTHY,
}


# ----------------------------------------------------------------------------- models


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class BucketRow(_Frozen):
    """One bucket's size and object count from the scanner."""

    name: str
    size: int
    objects: int


class CapacityNow(_Frozen):
    """A tenant's capacity right now: drive totals from `info`, bucket figures from the scanner."""

    tenant: str
    raw_total: int
    raw_used: int
    raw_free: int
    usable_total: int
    usable_used: int
    usable_free: int
    pct_used: float  # of usable capacity
    buckets: list[BucketRow]  # the largest TOP_BUCKETS, largest first
    buckets_count: int
    objects: int
    data_size: int  # bytes of object data the scanner counted
    scanner_last_update: datetime | None  # None: the scanner has never finished a cycle
    stale: bool
    checked_at: datetime
    offline_drives: int = 0
    pool: PoolShape | None = None  # the newest pool's shape, for sizing a new one

    @property
    def point(self) -> HistoryPoint:
        """This measurement as a history point (the forecast's anchor)."""
        return HistoryPoint(
            taken_at=self.checked_at,
            usable_used=self.usable_used,
            usable_total=self.usable_total,
            raw_used=self.raw_used,
            raw_total=self.raw_total,
        )


class CapacitySummary(_Frozen):
    """A tenant's capacity in one line (the daily report): % used, 7-day growth, days until 80 %."""

    tenant: str
    ok: bool
    error: str | None = None
    pct_used: float | None = None
    state: ThresholdState | None = None
    status: Status = Status.UNKNOWN
    growth_7d_bytes: int | None = None
    growth_7d_pct_points: float | None = None
    days_until_80: float | None = None  # 0 when already there; None when not forecast
    forecast: ForecastStatus | None = None
    stale: bool = False
    history_error: str | None = None  # the store (or Prometheus) could not be read: no growth, no forecast

    @property
    def line(self) -> str:
        """`62.1 % used (PLAN) · 7 d: +1.20 TiB (+1.9 pp) · 80 % in ~23 d`."""
        if not self.ok or self.pct_used is None:
            return f"capacity unknown: {self.error or 'no data'}"
        parts = [f"{self.pct_used:.1f} % used" + (f" ({self.state.value})" if self.state else "")]
        if self.history_error:
            parts.append("history unavailable")
        elif self.growth_7d_bytes is not None:
            pp = f" ({self.growth_7d_pct_points:+.1f} pp)" if self.growth_7d_pct_points is not None else ""
            parts.append(f"7 d: {format_signed_bytes(self.growth_7d_bytes)}{pp}")
        else:
            parts.append("7 d: no history")
        if self.days_until_80 is not None:
            parts.append("80 % reached" if self.days_until_80 == 0 else f"80 % in ~{self.days_until_80:.0f} d")
        elif self.forecast is not None:
            parts.append(f"80 %: {self.forecast.value}")
        if self.stale:
            parts.append("scanner data stale")
        return " · ".join(parts)


# ----------------------------------------------------------------------------- pure evaluation


def pool_shape(info: ServerInfo) -> PoolShape | None:
    """The newest pool's servers, drives per server, set size, parity and typical drive size."""
    sizes = info.backend.drives_per_set
    if not sizes:
        return None
    index = len(sizes) - 1
    set_size = sizes[index]
    parity = info.backend.standard_sc_parity
    servers = [s for s in info.servers if index in s.pool_numbers]
    per_server = max((sum(1 for d in s.drives if d.pool_index == index) for s in servers), default=0)
    drive_sizes = Counter(d.total for s in servers for d in s.drives if d.pool_index == index and d.total)
    return PoolShape(
        servers=len(servers),
        drives_per_server=per_server,
        set_size=set_size,
        parity=parity if parity is not None else default_parity(set_size),
        drive_size=drive_sizes.most_common(1)[0][0] if drive_sizes else 0,
    )


def drive_totals(info: ServerInfo) -> tuple[int, int, int, int, int]:
    """(raw total, raw free, usable total, usable free, offline drives) from the drives of `info`.

    Usable capacity counts only data drives: `disk_index < set size - parity`
    (minio-facts.md). Offline drives report no space, so totals shrink while
    drives are out; the report says so.
    """
    sizes = info.backend.drives_per_set
    parity = info.backend.standard_sc_parity
    raw_total = raw_free = usable_total = usable_free = offline = 0
    for drive in info.drives:
        raw_total += drive.total
        raw_free += drive.available
        if drive.state and drive.state != "ok":
            offline += 1
        if drive.pool_index < len(sizes):
            set_size = sizes[drive.pool_index]
            data = set_size - (parity if parity is not None else default_parity(set_size))
            is_data = drive.disk_index < data
        else:
            is_data = True  # no erasure layout reported (single drive): every drive holds data
        if is_data:
            usable_total += drive.total
            usable_free += drive.available
    return raw_total, raw_free, usable_total, usable_free, max(offline, info.backend.offline_disks)


def top_buckets(usage: DataUsage, n: int = TOP_BUCKETS) -> list[BucketRow]:
    """The `n` largest buckets, largest first (ties by name): O(buckets log n), no full sort."""
    largest = heapq.nsmallest(n, usage.buckets.items(), key=lambda item: (-item[1].size, item[0]))
    return [BucketRow(name=name, size=b.size, objects=b.objects) for name, b in largest]


def evaluate_capacity(
    tenant: str, info: ServerInfo, usage: DataUsage, now: datetime, top_n: int = TOP_BUCKETS
) -> CapacityNow:
    """Combine `info` and `datausageinfo` into a CapacityNow (pure)."""
    raw_total, raw_free, usable_total, usable_free, offline = drive_totals(info)
    usable_used = max(0, usable_total - usable_free)
    last = usage.last_update
    stale = last is None or now - last > STALE_AFTER
    return CapacityNow(
        tenant=tenant,
        raw_total=raw_total,
        raw_used=max(0, raw_total - raw_free),
        raw_free=raw_free,
        usable_total=usable_total,
        usable_used=usable_used,
        usable_free=usable_free,
        pct_used=100.0 * usable_used / usable_total if usable_total else 0.0,
        buckets=top_buckets(usage, top_n),
        buckets_count=max(usage.buckets_count, len(usage.buckets)),
        objects=usage.objects,
        data_size=usage.total_size,
        scanner_last_update=last,
        stale=stale,
        checked_at=now,
        offline_drives=offline,
        pool=pool_shape(info),
    )


def forecast_targets(thresholds: Thresholds) -> list[float]:
    """Percentages the report dates: each threshold, 80 % (the daily report's) and 100 %."""
    return sorted({float(thresholds.plan), float(thresholds.alert), float(thresholds.critical), 80.0, 100.0})


def summarize(
    tenant: str, now: CapacityNow, history: Sequence[HistoryPoint], thresholds: Thresholds
) -> CapacitySummary:
    """The daily-report line for a tenant from its measurement and history (pure)."""
    seven = growth(history, now.point, [("7 d", 7 * DAY)])[0]
    fc = forecast(history, now.point, [SUMMARY_TARGET_PCT])
    milestone = fc.milestone(SUMMARY_TARGET_PCT)
    days: float | None = None
    if milestone is not None and milestone.reached:
        days = 0.0
    elif milestone is not None and milestone.eta is not None and fc.status is ForecastStatus.GROWING:
        days = (milestone.eta - fc.anchor_at) / DAY
    state = threshold_state(now.pct_used, thresholds) if now.usable_total else None
    return CapacitySummary(
        tenant=tenant,
        ok=now.usable_total > 0,
        error=None if now.usable_total else "no capacity reported (every drive offline?)",
        pct_used=now.pct_used,
        state=state,
        status=_STATUS[state] if state else Status.UNKNOWN,
        growth_7d_bytes=seven.bytes,
        growth_7d_pct_points=seven.pct_points,
        days_until_80=days,
        forecast=fc.status,
        stale=now.stale,
    )


# ----------------------------------------------------------------------------- gathering


def _tenant(runtime: Runtime, tenant: TenantConfig | str) -> TenantConfig:
    if isinstance(tenant, TenantConfig):
        return tenant
    found = next((t for t in runtime.tenants() if t.name == tenant), None)
    if found is None:
        raise UserError(f"Unknown tenant `{escape(tenant, 63)}`.")
    return found


def gather(runtime: Runtime, tenant: TenantConfig) -> tuple[ServerInfo, DataUsage]:
    """`info` and `datausageinfo` in parallel (one deadline); raises the first ClientError."""
    client = runtime.minio(tenant)
    results = fan_out(
        {"info": client.server_info, "usage": client.data_usage},
        deadline_s=runtime.config.timeouts.report_deadline,
    )
    info, usage = results["info"], results["usage"]
    if isinstance(info, ClientError):
        raise info
    if isinstance(usage, ClientError):
        raise usage
    assert isinstance(info, ServerInfo) and isinstance(usage, DataUsage)
    return info, usage


def measure(runtime: Runtime, tenant: TenantConfig | str) -> CapacityNow:
    """The tenant's capacity now (one parallel gather of `server_info` + `data_usage`; raises ClientError)."""
    config = _tenant(runtime, tenant)
    info, usage = gather(runtime, config)
    return evaluate_capacity(config.name, info, usage, runtime.clock())


def take_snapshot(runtime: Runtime, tenant: TenantConfig | str) -> None:
    """Store one capacity snapshot with every bucket's size; when MinIO fails, store a gap with the error.

    Called hourly per tenant by the scheduler. Store failures raise StoreError
    (the scheduler logs them; there is nowhere else to record them).
    """
    config = _tenant(runtime, tenant)
    taken_at = runtime.clock()
    try:
        info, usage = gather(runtime, config)
    except ClientError as exc:
        log.warning("capacity snapshot failed", extra={"tenant": config.name, "error": str(exc)})
        runtime.store.capacity.add_gap(config.name, taken_at=taken_at, error=str(exc))
        return
    now = evaluate_capacity(config.name, info, usage, taken_at, top_n=0)
    runtime.store.capacity.add_snapshot(
        config.name,
        taken_at=taken_at,
        raw_total=now.raw_total,
        raw_used=now.raw_used,
        usable_total=now.usable_total,
        usable_used=now.usable_used,
        objects=now.objects,
        buckets_count=now.buckets_count,
        scanner_last_update=now.scanner_last_update,
        buckets=[BucketSize(bucket=name, size=b.size, objects=b.objects) for name, b in usage.buckets.items()],
    )


def _history_or_error(runtime: Runtime, tenant: TenantConfig, now: datetime) -> list[HistoryPoint] | str:
    try:
        return load_history(runtime, tenant, now)
    except StoreError as exc:
        return f"store unavailable: {exc.message}"
    except ClientError as exc:
        return str(exc)


def _bucket_reference(runtime: Runtime, tenant: TenantConfig, now: datetime) -> dict[str, int] | None:
    """Bucket sizes about 7 days ago, for per-bucket growth (store only; None when unknown)."""
    if tenant.prometheus_url:
        return None
    try:
        return bucket_sizes_near(runtime.store, tenant.name, now - 7 * DAY, timedelta(hours=17))
    except StoreError:
        return None


def capacity_summary(runtime: Runtime, tenant: TenantConfig | str) -> CapacitySummary:
    """One tenant's daily-report line: measurement and history gathered in parallel, then summarized."""
    config = _tenant(runtime, tenant)
    now = runtime.clock()
    calls: dict[str, Callable[[], Any]] = {
        "now": partial(measure, runtime, config),
        "history": partial(_history_or_error, runtime, config, now),
    }
    results = fan_out(calls, deadline_s=runtime.config.timeouts.report_deadline + 1)
    current, history = results["now"], results["history"]
    if isinstance(current, ClientError):
        return CapacitySummary(tenant=config.name, ok=False, error=str(current))
    assert isinstance(current, CapacityNow)
    if isinstance(history, list):
        return summarize(config.name, current, history, config.thresholds)
    summary = summarize(config.name, current, [], config.thresholds)
    error = history if isinstance(history, str) else str(history)
    # Without history only "already at 80 %" is still known.
    reached = 0.0 if summary.days_until_80 == 0 else None
    return summary.model_copy(update={"history_error": error, "forecast": None, "days_until_80": reached})


# ----------------------------------------------------------------------------- report


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f} %" if whole else "n/a"


def _usage_section(now: CapacityNow) -> Section:
    last = now.scanner_last_update
    scanner = (
        f"as of {last:%Y-%m-%d %H:%M} UTC ({format_age(now.checked_at - last)} ago)" if last else "no finished scan yet"
    )
    fields = [
        KeyValue(
            label="Usable",
            value=f"{format_bytes(now.usable_used)} of {format_bytes(now.usable_total)} used "
            f"({now.pct_used:.1f} %), {format_bytes(now.usable_free)} free",
        ),
        KeyValue(
            label="Raw",
            value=f"{format_bytes(now.raw_used)} of {format_bytes(now.raw_total)} used "
            f"({_pct(now.raw_used, now.raw_total)}), {format_bytes(now.raw_free)} free",
        ),
        KeyValue(
            label="Objects", value=f"{now.objects:,} in {now.buckets_count:,} bucket(s), {format_bytes(now.data_size)}"
        ),
        KeyValue(label="Scanner data", value=scanner),
    ]
    if now.pool is not None:
        fields.append(KeyValue(label="Erasure coding", value=f"{now.pool.label}: usable counts data drives only"))
    return Section(title="Usage", fields=fields)


def _threshold_rows(now: CapacityNow, fc: Forecast | None, thresholds: Thresholds) -> list[Row]:
    rows: list[Row] = []
    for name, state in (
        ("plan", ThresholdState.PLAN),
        ("alert", ThresholdState.ALERT),
        ("critical", ThresholdState.CRITICAL),
    ):
        pct = float(getattr(thresholds, name))
        if now.pct_used >= pct:
            rows.append(Row(status=_STATUS[state], text=f"{name} {pct:g} %: crossed (now {now.pct_used:.1f} %)"))
            continue
        milestone = fc.milestone(pct) if fc else None
        when = milestone.describe(fc.status) if milestone and fc else f"{pct:g} %: no forecast"
        rows.append(
            Row(status=Status.HEALTHY, text=f"{name} {pct:g} %: not reached; forecast {when.split(': ', 1)[1]}")
        )
    return rows


def _growth_lines(growths: list[Growth]) -> list[str]:
    lines = []
    for g in growths:
        if g.bytes is None:
            lines.append(f"{g.label}: n/a ({g.note})")
        else:
            pp = f" ({g.pct_points:+.2f} pp of usable)" if g.pct_points is not None else ""
            lines.append(f"{g.label}: {format_signed_bytes(g.bytes)}{pp}")
    return lines


def _forecast_lines(fc: Forecast) -> list[str]:
    lines = [fc.reason[:1].upper() + fc.reason[1:] + "."]
    if fc.status is ForecastStatus.GROWING and fc.slope_low is not None and fc.slope_high is not None:
        lines[0] = (
            f"Growing {format_signed_bytes(fc.slope_per_day or 0)}/day "
            f"(95 % interval {format_signed_bytes(fc.slope_low)} .. {format_signed_bytes(fc.slope_high)}/day)."
        )
    for pct in (80.0, 100.0):
        milestone = fc.milestone(pct)
        if milestone is not None:
            lines.append(f"• {milestone.describe(fc.status)}")
    lines.append(f"Method: {fc.method}; fit on {fc.points} snapshot(s) over {format_age(fc.span)}.")
    if fc.gap_note:
        lines.append(f"Gaps: {fc.gap_note}.")
    return lines


def _bucket_rows(now: CapacityNow, reference: dict[str, int] | None) -> list[str]:
    lines = []
    for bucket in now.buckets:
        share = f" · {_pct(bucket.size, now.data_size)} of data" if now.data_size else ""
        grew = ""
        if reference is not None and bucket.name in reference:
            grew = f" · {format_signed_bytes(bucket.size - reference[bucket.name])} in 7 d"
        lines.append(
            f"`{escape(bucket.name, 63)}`: {format_bytes(bucket.size)} · {bucket.objects:,} objects{share}{grew}"
        )
    return lines


def build_report(
    tenant: TenantConfig,
    current: CapacityNow | ClientError,
    history: list[HistoryPoint] | str,
    bucket_reference: dict[str, int] | None,
    now: datetime,
    chart: Callable[..., bytes] | None = None,
) -> Report:
    """The full capacity report from gathered facts; `chart` renders the PNG (None: no chart)."""
    thresholds = tenant.thresholds
    reasons: list[str] = []
    points = history if isinstance(history, list) else []
    if isinstance(history, str):
        reasons.append(f"History unavailable ({history}): growth and forecast cannot be computed.")
    if isinstance(current, ClientError):
        last = next((p for p in reversed(points) if p.ok and p.usable_total), None)
        footer = [f"History from {history_source(tenant)}."]
        if last is None:
            return Report(
                title=f"Capacity: {tenant.name}",
                status=Status.UNKNOWN,
                summary=f"Could not measure capacity: {current}",
                reasons=reasons,
                footer=footer,
            )
        pct = last.pct_used or 0.0
        state = threshold_state(pct, thresholds)
        return Report(
            title=f"Capacity: {tenant.name}",
            status=Status.UNKNOWN,
            summary=f"Could not measure capacity now: {current}. Last snapshot "
            f"({format_age(now - last.taken_at)} ago): {pct:.1f} % of usable used ({state.value}).",
            reasons=reasons,
            footer=footer,
        )
    state = threshold_state(current.pct_used, thresholds)
    status = _STATUS[state] if current.usable_total else Status.UNKNOWN
    if current.scanner_last_update is None:
        reasons.append(
            "The scanner has not finished a cycle yet (lastUpdate is zero): bucket and object figures are "
            "not available; drive totals are current."
        )
    elif current.stale:
        reasons.append(
            f"Bucket figures are stale: the scanner's last cycle finished "
            f"{format_age(now - current.scanner_last_update)} ago (flagged after {format_age(STALE_AFTER)})."
        )
    if current.offline_drives:
        reasons.append(f"{current.offline_drives} drive(s) offline: raw and usable totals exclude them.")
    if not current.usable_total:
        reasons.append("No capacity reported (every drive offline?).")

    sections = [_usage_section(current)]
    fc: Forecast | None = None
    if isinstance(history, list) and current.usable_total:
        fc = forecast(points, current.point, forecast_targets(thresholds))
    sections.append(Section(title="Thresholds", status=status, rows=_threshold_rows(current, fc, thresholds)))
    if isinstance(history, list):
        sections.append(Section(title="Growth", lines=_growth_lines(growth(points, current.point))))
    else:
        sections.append(Section(title="Growth", error=history))
    if fc is not None:
        sections.append(Section(title="Forecast", lines=_forecast_lines(fc)))
        rec: Recommendation = recommend(fc, thresholds, current.pool)
        sections.append(
            Section(title="Recommendation", status=Status.DEGRADED if rec.needed else Status.HEALTHY, lines=[rec.text])
        )
    elif isinstance(history, str):
        sections.append(Section(title="Forecast", error=history))
    if current.scanner_last_update is None:
        sections.append(
            Section(title="Buckets", lines=["No scanner result yet: bucket sizes appear after the first cycle."])
        )
    else:
        title = f"Top {len(current.buckets)} of {current.buckets_count:,} bucket(s) by size"
        lines = _bucket_rows(current, bucket_reference) or ["No buckets."]
        sections.append(Section(title=title, lines=lines))

    charts: list[Chart] = []
    footer = [
        "Sizes from MinIO's scanner (datausageinfo, O(buckets), no object listing) and drive totals; "
        f"history from {history_source(tenant)}. Thresholds: plan {thresholds.plan:g} %, "
        f"alert {thresholds.alert:g} %, critical {thresholds.critical:g} %."
    ]
    if chart is not None and current.usable_total:
        plotted = [*points, current.point]
        try:
            png = chart(tenant.name, plotted, fc, thresholds, current.usable_total)
            span = format_age(current.checked_at - min(p.taken_at for p in plotted))
            charts.append(
                Chart(filename=f"capacity-{tenant.name}.png", title=f"{tenant.name}: capacity, last {span}", png=png)
            )
        except Exception as exc:  # noqa: BLE001 - a chart is a bonus; the text report stands alone
            log.warning("capacity chart failed", extra={"tenant": tenant.name, "error_type": type(exc).__name__})
            footer.append("The chart could not be drawn.")
    summary = (
        f"{state.value}: {current.pct_used:.1f} % of usable capacity used "
        f"({format_bytes(current.usable_used)} of {format_bytes(current.usable_total)})"
    )
    if fc is not None:
        eighty = fc.milestone(80.0)
        if eighty is not None and not eighty.reached and eighty.eta is not None and fc.status is ForecastStatus.GROWING:
            summary += f"; 80 % forecast ~{eighty.eta:%Y-%m-%d}"
        elif fc.status is not ForecastStatus.GROWING:
            summary += f"; {fc.status.value}"
    return Report(
        title=f"Capacity: {tenant.name}",
        status=status,
        summary=summary + ".",
        reasons=reasons,
        sections=sections,
        footer=footer,
        charts=charts,
    )


def tenant_report(runtime: Runtime, tenant: TenantConfig, with_chart: bool = True) -> Report:
    """Gather (MinIO and history in parallel) and build one tenant's capacity report."""
    now = runtime.clock()
    calls: dict[str, Callable[[], Any]] = {
        "now": partial(measure, runtime, tenant),
        "history": partial(_history_or_error, runtime, tenant, now),
        "buckets": partial(_bucket_reference, runtime, tenant, now),
    }
    results = fan_out(calls, deadline_s=runtime.config.timeouts.report_deadline + 1)
    current = results["now"]
    history = results["history"]
    if isinstance(history, ClientError):  # the fan-out deadline passed
        history = str(history)
    reference = results["buckets"]
    if isinstance(reference, ClientError):
        reference = None
    assert isinstance(current, CapacityNow | ClientError)
    chart: Callable[..., bytes] | None = None
    if with_chart:
        from handlers.capacity_chart import render_capacity_chart

        chart = render_capacity_chart
    return build_report(tenant, current, history, reference, now, chart)


def summary_report(runtime: Runtime, tenants: Sequence[TenantConfig]) -> Report:
    """One row per tenant (capacity_summary for each, in parallel)."""
    results = fan_out(
        {t.name: partial(capacity_summary, runtime, t) for t in tenants},
        deadline_s=runtime.config.timeouts.report_deadline + 2,
    )
    rows: list[Row] = []
    for tenant in tenants:
        result = results[tenant.name]
        if isinstance(result, ClientError):
            rows.append(Row(status=Status.UNKNOWN, text=f"*{tenant.name}*: {result}"))
        else:
            assert isinstance(result, CapacitySummary)
            rows.append(Row(status=result.status, text=f"*{tenant.name}*: {result.line}"))
    return Report(
        title="Capacity",
        status=worst([r.status for r in rows if r.status]),
        sections=[Section(title=f"{len(tenants)} tenant(s)", rows=rows)],
        footer=["`/minio capacity <tenant>` shows buckets, growth, the forecast and a chart."],
    )


class CapacityArgs(BaseModel):
    """Arguments of `/minio capacity`."""

    model_config = ConfigDict(extra="forbid")
    tenant: str | None = None


def capacity_command(inv: Invocation, args: CapacityArgs) -> Report:
    """`/minio capacity [tenant]`: the full report for one tenant, or a summary row per visible tenant."""
    if args.tenant:
        return tenant_report(inv.runtime, inv.tenant(args.tenant))
    return summary_report(inv.runtime, inv.tenants_or_one(None))


VERB = Verb(
    name="capacity",
    summary="Capacity: used/free, top buckets, growth, forecast of 80 % and full, and a chart.",
    model=CapacityArgs,
    handler=capacity_command,
    args=(Arg("tenant", "a tenant; without it, one summary line per tenant visible here"),),
    details=(
        "Usable capacity counts data drives only. Bucket sizes come from MinIO's scanner (never from listing "
        "objects). The forecast is a Theil-Sen fit over the stored hourly snapshots, with a 95 % interval."
    ),
    examples=("/minio capacity demo", "/minio capacity"),
    slow=True,
)

capability = Capability("capacity", __doc__)
capability.add_verb(VERB)
capability.job(Job.SNAPSHOT)(take_snapshot)
