"""Capacity history from Prometheus: range queries over MinIO's v2 cluster capacity metrics.

Used instead of the store when a tenant sets `prometheus_url` (plus
`prometheus_selector` when one Prometheus scrapes several tenants). The series
are `minio_cluster_capacity_{usable,raw}_{total,free}_bytes` from
`/minio/v2/metrics/cluster`; several scraped nodes report the same cluster
figures, so each query takes the `max` across them, of the last sample in each
grid step (`last_over_time`), so any scrape interval up to the step works.

A grid step without a sample between the first and the last sample is a gap
(the scrape failed: MinIO or the exporter was down), reported like a failed
snapshot in the store.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from functools import partial

import urllib3

from bot.clients.errors import ClientError
from bot.clients.fanout import fan_out
from bot.clients.prometheus import PrometheusClient
from bot.clients.timeouts import Timeouts
from handlers.capacity.forecast import HistoryPoint

METRICS = {
    "usable_total": "minio_cluster_capacity_usable_total_bytes",
    "usable_free": "minio_cluster_capacity_usable_free_bytes",
    "raw_total": "minio_cluster_capacity_raw_total_bytes",
    "raw_free": "minio_cluster_capacity_raw_free_bytes",
}
MAX_POINTS = 720  # one a hour over 30 days; far below Prometheus' 11,000-point limit
MIN_STEP = timedelta(seconds=1)
MAX_STEP = timedelta(hours=1)
GAP_ERROR = "no Prometheus sample (the scrape failed: MinIO or its metrics endpoint was unreachable)"


def choose_step(since: datetime, until: datetime) -> timedelta:
    """A grid step giving at most MAX_POINTS points, between one second and one hour, whole seconds."""
    seconds = (until - since).total_seconds() / MAX_POINTS
    seconds = min(max(seconds, MIN_STEP.total_seconds()), MAX_STEP.total_seconds())
    return timedelta(seconds=math.ceil(seconds))


def points_from_series(series: dict[str, dict[float, float]], since: datetime, step: timedelta) -> list[HistoryPoint]:
    """Join the four series on their timestamps; missing grid steps inside the data become gaps."""
    stamps = sorted(set(series["usable_total"]) & set(series["usable_free"]))
    if not stamps:
        return []
    present = set(stamps)
    first, last = stamps[0], stamps[-1]
    step_s = step.total_seconds()
    grid = [first + i * step_s for i in range(round((last - first) / step_s) + 1)]
    points: list[HistoryPoint] = []
    for ts in grid:
        # Prometheus aligns the grid on `start`; tolerate float noise in the timestamps it returns.
        match = next((s for s in (ts, round(ts, 3)) if s in present), None)
        taken_at = datetime.fromtimestamp(ts, UTC)
        if match is None:
            points.append(HistoryPoint(taken_at=taken_at, ok=False, error=GAP_ERROR))
            continue
        usable_total = int(series["usable_total"][match])
        usable_free = int(series["usable_free"][match])
        raw_total = series["raw_total"].get(match)
        raw_free = series["raw_free"].get(match)
        points.append(
            HistoryPoint(
                taken_at=taken_at,
                usable_total=usable_total,
                usable_used=max(0, usable_total - usable_free),
                raw_total=int(raw_total) if raw_total is not None else None,
                raw_used=int(raw_total - raw_free) if raw_total is not None and raw_free is not None else None,
            )
        )
    return points


class PrometheusHistory:
    """Reads a tenant's capacity history from one Prometheus server (HTTP API v1)."""

    def __init__(
        self,
        url: str,
        timeouts: Timeouts,
        selector: str = "",
        http: urllib3.PoolManager | None = None,
        *,
        token: str | None = None,
    ) -> None:
        self.selector = selector
        self.timeouts = timeouts
        self._client = PrometheusClient(url, timeouts, http, token=token)

    def _query_range(self, metric: str, since: datetime, until: datetime, step: timedelta) -> dict[float, float]:
        # last_over_time over one step: any scrape within the step counts (scrape intervals vary), and a
        # step without one stays empty, which is exactly a gap.
        window = f"{max(1, round(step.total_seconds()))}s"
        query = f"max(last_over_time({metric}{{{self.selector}}}[{window}]))"
        return self._client.query_range(query, since, until, step)

    def calls(self, since: datetime, until: datetime, step: timedelta) -> dict[str, Callable[[], dict[float, float]]]:
        """One range query per series (keys of METRICS), for the caller's fan-out."""
        return {key: partial(self._query_range, metric, since, until, step) for key, metric in METRICS.items()}

    def history(self, since: datetime, until: datetime, step: timedelta | None = None) -> list[HistoryPoint]:
        """Capacity points from `since` to `until` on a grid of `step` (chosen from the span by default).

        On its own (tests, one-off reads): the capacity report puts `calls` into its own fan-out.
        """
        step = step or choose_step(since, until)
        results = fan_out(self.calls(since, until, step), deadline_s=self.timeouts.total + 1)
        return points_from_results(results, since, step)


def points_from_results(
    results: Mapping[str, dict[float, float] | ClientError], since: datetime, step: timedelta
) -> list[HistoryPoint]:
    """The history from the range queries' results; raises the ClientError of a failed usable series.

    Raw figures are optional (usable drives the forecast): a failed raw query leaves them out.
    """
    series: dict[str, dict[float, float]] = {}
    for key in METRICS:
        result = results.get(key, {})
        if isinstance(result, ClientError):
            if key.startswith("usable"):
                raise result
            result = {}
        series[key] = result
    return points_from_series(series, since, step)
