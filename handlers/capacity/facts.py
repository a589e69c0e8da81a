"""Capacity facts: every client call for one or many tenants, in ONE fan-out with ONE deadline.

Per tenant: MinIO's `info` (drive capacity) and `datausageinfo` (the scanner's
per-bucket figures: O(buckets), never an object listing); when asked, the
capacity history (one store read, or four Prometheus range queries) and the
bucket sizes of about 7 days ago (store only, for per-bucket growth). Nothing
here evaluates: a failed call is kept as its error (or the reason) for the
report to show.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from bot.clients.errors import ClientError
from bot.clients.fanout import fan_out
from bot.clients.minio_models import DataUsage, ServerInfo
from bot.config import TenantConfig
from bot.invocation import UserError
from bot.report import code, spans
from bot.runtime import Runtime
from bot.store import StoreError
from handlers.capacity.forecast import DAY, HistoryPoint
from handlers.capacity.history import bucket_sizes_near, history_calls, history_from

BUCKET_REFERENCE_AGE = 7 * DAY  # per-bucket growth compares with the snapshot nearest to a week ago
BUCKET_REFERENCE_TOLERANCE = timedelta(hours=17)
MAX_WORKERS = 16  # MinIO calls also wait at the client gate: at most 8 in flight per endpoint


@dataclass(frozen=True)
class CapacityFacts:
    """What the calls for one tenant returned: each a value, or the ClientError (history: the reason) it failed with."""

    tenant: TenantConfig
    at: datetime  # the clock when the calls started: "now" for every figure
    info: ServerInfo | ClientError
    usage: DataUsage | ClientError
    history: list[HistoryPoint] | str | None = None  # str: why it is unavailable; None: not asked
    bucket_reference: dict[str, int] | None = None  # bucket -> bytes about 7 days ago; None: unknown

    @property
    def error(self) -> ClientError | None:
        """Why MinIO could not be measured (the first failed call), or None."""
        for result in (self.info, self.usage):
            if isinstance(result, ClientError):
                return result
        return None


def tenant_config(runtime: Runtime, tenant: TenantConfig | str) -> TenantConfig:
    """`tenant` itself, or the tenant of that name (a UserError when there is none)."""
    if isinstance(tenant, TenantConfig):
        return tenant
    found = runtime.find_tenant(tenant)
    if found is None:
        raise UserError(spans("Unknown tenant ", code(tenant[:63]), "."))
    return found


def _bucket_reference(runtime: Runtime, tenant: str, now: datetime) -> dict[str, int] | None:
    try:
        return bucket_sizes_near(runtime.store, tenant, now - BUCKET_REFERENCE_AGE, BUCKET_REFERENCE_TOLERANCE)
    except StoreError:
        return None  # per-bucket growth is a bonus; the history section reports the store's trouble


def _server_info(runtime: Runtime, tenant: TenantConfig) -> ServerInfo:
    return runtime.minio(tenant).server_info()


def _data_usage(runtime: Runtime, tenant: TenantConfig) -> DataUsage:
    return runtime.minio(tenant).data_usage()


def _key(tenant: TenantConfig, part: str) -> str:
    # Also the target a timed-out call is named by: "demo: data usage timed out ...".
    return f"{tenant.name}: {part}"


def _calls(
    runtime: Runtime, tenant: TenantConfig, now: datetime, history: bool, buckets: bool
) -> dict[str, Callable[[], object]]:
    calls: dict[str, Callable[[], object]] = {
        _key(tenant, "server info"): partial(_server_info, runtime, tenant),
        _key(tenant, "data usage"): partial(_data_usage, runtime, tenant),
    }
    if history:
        for name, call in history_calls(runtime, tenant, now).items():
            calls[_key(tenant, f"history {name}")] = call
    if buckets and not tenant.prometheus_url:
        calls[_key(tenant, "bucket sizes")] = partial(_bucket_reference, runtime, tenant.name, now)
    return calls


def _history(tenant: TenantConfig, now: datetime, results: dict[str, object]) -> list[HistoryPoint] | str:
    prefix = _key(tenant, "history ")
    mine = {key.removeprefix(prefix): value for key, value in results.items() if key.startswith(prefix)}
    try:
        return history_from(tenant, now, mine)
    except StoreError as exc:
        return f"store unavailable: {exc.message}"
    except ClientError as exc:
        return str(exc)


def _collect(
    tenant: TenantConfig, now: datetime, results: dict[str, object], history: bool
) -> CapacityFacts:
    info = results[_key(tenant, "server info")]
    usage = results[_key(tenant, "data usage")]
    reference = results.get(_key(tenant, "bucket sizes"))
    assert isinstance(info, ServerInfo | ClientError) and isinstance(usage, DataUsage | ClientError)
    return CapacityFacts(
        tenant=tenant,
        at=now,
        info=info,
        usage=usage,
        history=_history(tenant, now, results) if history else None,
        bucket_reference=reference if isinstance(reference, dict) else None,
    )


def gather(
    runtime: Runtime,
    tenants: list[TenantConfig],
    *,
    history: bool = False,
    buckets: bool = False,
    deadline_s: float | None = None,
) -> list[CapacityFacts]:
    """The facts of every tenant (in the order given) from one fan-out under one deadline; never raises.

    `history`: also read the capacity history; `buckets`: also the bucket sizes of a week ago.
    The deadline defaults to the configured report deadline.
    """
    now = runtime.clock()
    calls: dict[str, Callable[[], object]] = {}
    for tenant in tenants:
        calls |= _calls(runtime, tenant, now, history, buckets)
    deadline = runtime.config.timeouts.report_deadline if deadline_s is None else deadline_s
    results: dict[str, object] = dict(fan_out(calls, deadline_s=deadline, max_workers=MAX_WORKERS))
    return [_collect(tenant, now, results, history) for tenant in tenants]
