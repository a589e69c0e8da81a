"""Capacity history: where it comes from (the store, or Prometheus) and the calls that read it.

The store holds one row per hourly snapshot (gaps included, `ok=False`); when a
tenant has `prometheus_url` configured, history comes from range queries over
MinIO's own metrics instead (see `prometheus`). Either way the forecast receives
the same `HistoryPoint` list. `history_calls` gives the calls to put into the
report's one fan-out; `history_from` reads their results.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from functools import partial
from urllib.parse import urlsplit

from bot.clients.errors import ClientError
from bot.clients.fanout import fan_out
from bot.config import TenantConfig
from bot.runtime import Runtime
from bot.store import CapacitySnapshot, Store, StoreError
from handlers.capacity.forecast import FIT_WINDOW, HistoryPoint
from handlers.capacity.prometheus import PrometheusHistory, choose_step, points_from_results

HISTORY_WINDOW = FIT_WINDOW + timedelta(days=1)  # 30 d growth needs a point from a little before 30 d ago
STORE_CALL = "store"


def point_from_snapshot(snapshot: CapacitySnapshot) -> HistoryPoint:
    """A stored snapshot (or gap) as a history point."""
    return HistoryPoint(
        taken_at=snapshot.taken_at,
        ok=snapshot.ok,
        usable_used=snapshot.usable_used,
        usable_total=snapshot.usable_total,
        raw_used=snapshot.raw_used,
        raw_total=snapshot.raw_total,
        error=snapshot.error,
    )


def store_history(store: Store, tenant: str, since: datetime, until: datetime | None = None) -> list[HistoryPoint]:
    """Snapshots of `tenant` since `since`, oldest first, gaps included (raises StoreError)."""
    return [point_from_snapshot(s) for s in store.capacity.history(tenant, since, until)]


def history_source(tenant: TenantConfig) -> str:
    """Where this tenant's history comes from, for the report footer."""
    return "Prometheus" if tenant.prometheus_url else "the bot's store"


def prometheus_token(runtime: Runtime, tenant: TenantConfig) -> str | None:
    """The bearer token for the tenant's Prometheus, from the variable `prometheus_token_env` names (None: no auth).

    Raises ClientError when the variable is named but not set, rather than querying without the token.
    """
    name = tenant.prometheus_token_env
    if name is None:
        return None
    token = runtime.environ.get(name, "").strip()
    if not token:
        netloc = urlsplit(tenant.prometheus_url or "").netloc
        raise ClientError("auth", f"Prometheus ({netloc})", f"environment variable {name} is not set")
    return token


def _raise(error: ClientError) -> dict[float, float]:
    raise error


def _read_store(runtime: Runtime, tenant: str, since: datetime, until: datetime) -> list[HistoryPoint] | StoreError:
    # Returned, not raised: fan_out would turn it into "internal", and the store's own message says more.
    try:
        return store_history(runtime.store, tenant, since, until)
    except StoreError as exc:
        return exc


def history_calls(runtime: Runtime, tenant: TenantConfig, now: datetime) -> dict[str, Callable[[], object]]:
    """The calls that read the tenant's history up to `now`: four Prometheus range queries, or one store read."""
    since = now - HISTORY_WINDOW
    if not tenant.prometheus_url:
        return {STORE_CALL: partial(_read_store, runtime, tenant.name, since, now + timedelta(seconds=1))}
    try:
        token = prometheus_token(runtime, tenant)
    except ClientError as exc:
        # Not one query without the configured token: every series fails with the reason.
        return {key: partial(_raise, exc) for key in ("usable_total", "usable_free")}
    source = PrometheusHistory(tenant.prometheus_url, runtime.timeouts, selector=tenant.prometheus_selector,
                               token=token)
    return dict(source.calls(since, now, choose_step(since, now)))


def history_from(tenant: TenantConfig, now: datetime, results: Mapping[str, object]) -> list[HistoryPoint]:
    """The history from the results of `history_calls`; raises the ClientError or StoreError that prevented it."""
    if not tenant.prometheus_url:
        result = results[STORE_CALL]
        if isinstance(result, ClientError | StoreError):
            raise result
        assert isinstance(result, list)
        return result
    since = now - HISTORY_WINDOW
    series = {key: value for key, value in results.items() if isinstance(value, dict | ClientError)}
    return points_from_results(series, since, choose_step(since, now))


def load_history(runtime: Runtime, tenant: TenantConfig, now: datetime) -> list[HistoryPoint]:
    """One tenant's history on its own (one fan-out): Prometheus range queries when configured, else the store.

    Raises StoreError when the store is unavailable and ClientError when Prometheus is.
    """
    results = fan_out(history_calls(runtime, tenant, now), deadline_s=runtime.timeouts.total + 1)
    return history_from(tenant, now, results)


def bucket_sizes_near(store: Store, tenant: str, when: datetime, tolerance: timedelta) -> dict[str, int] | None:
    """Per-bucket sizes of the successful snapshot nearest to `when` (None if none within `tolerance`).

    Snapshots without buckets (taken before the scanner's first cycle) are skipped: an empty
    reference would make every bucket look new.
    """
    window = store.capacity.history(tenant, when - tolerance, when + tolerance)
    candidates = [s for s in window if s.ok and s.buckets_count]
    if not candidates:
        return None
    nearest = min(candidates, key=lambda s: abs(s.taken_at - when))
    return {b.bucket: b.size for b in store.capacity.buckets(nearest.id)}
