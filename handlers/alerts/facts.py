"""What alerts observe: every tenant's health and capacity, in ONE fan-out under ONE deadline."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from bot.clients.errors import ClientError
from bot.clients.fanout import fan_out
from bot.config import TenantConfig
from bot.runtime import Runtime
from handlers.capacity import CapacitySummary, capacity_summary
from handlers.health import TenantHealth, check_tenant


@dataclass(frozen=True)
class AlertSources:
    """Where the observations come from; tests pass stand-ins."""

    health: Callable[[Runtime, TenantConfig, float], TenantHealth] = check_tenant
    capacity: Callable[[Runtime, TenantConfig], CapacitySummary] = capacity_summary


@dataclass(frozen=True)
class Observation:
    """One tenant's health and capacity as observed now (either may be the ClientError that stopped it)."""

    tenant: TenantConfig
    health: TenantHealth | ClientError
    capacity: CapacitySummary | ClientError


def observe(runtime: Runtime, tenants: list[TenantConfig], sources: AlertSources) -> list[Observation]:
    """Health and capacity of every tenant, in the order given, bounded by `scheduler.parallel` workers."""
    deadline = runtime.config.timeouts.report_deadline
    workers = runtime.config.scheduler.parallel
    calls: dict[str, Callable[[], TenantHealth | CapacitySummary]] = {}
    for tenant in tenants:
        calls[f"health:{tenant.name}"] = partial(sources.health, runtime, tenant, deadline)
        calls[f"capacity:{tenant.name}"] = partial(sources.capacity, runtime, tenant)
    # One deadline for everything: allow one report deadline per wave of workers.
    waves = math.ceil(len(calls) / workers) if calls else 1
    results = fan_out(calls, deadline_s=waves * (deadline + 1) + 1, max_workers=workers)
    observations = []
    for tenant in tenants:
        health, capacity = results[f"health:{tenant.name}"], results[f"capacity:{tenant.name}"]
        assert isinstance(health, TenantHealth | ClientError) and isinstance(capacity, CapacitySummary | ClientError)
        observations.append(Observation(tenant=tenant, health=health, capacity=capacity))
    return observations
