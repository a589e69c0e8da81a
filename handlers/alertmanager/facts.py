"""What the bot looks at for an alert group: the diagnostics that fit its conditions, in one fan-out.

Node or drive offline, quorum: the health check (quorum and "can lose N more").
Capacity: the capacity summary with its forecast. Latency: the performance
diagnostics. Auth failures: the security diagnostics. They run in parallel
under ONE deadline (the report deadline); a diagnostic that did not finish is
its error, shown as such, and the others still arrive.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from bot.clients.fanout import fan_out
from bot.config import TenantConfig
from bot.runtime import Runtime
from handlers.alertmanager.evaluate import Condition, Observation
from handlers.capacity import capacity_summary
from handlers.health import check_tenant
from handlers.incident_diagnostics import IncidentType, run_diagnosis

# The diagnostics return by the deadline; this covers evaluating and handing back their results.
FAN_OUT_MARGIN_S = 1.0


def observe(runtime: Runtime, tenant: TenantConfig, conditions: list[Condition]) -> dict[Condition, Observation]:
    """Run the diagnostics that fit ``conditions`` for ``tenant`` in parallel; each result or its error."""
    deadline = runtime.config.timeouts.report_deadline
    calls: dict[str, Callable[[], Observation]] = {}
    for condition in conditions or [Condition.HEALTH]:
        if condition is Condition.HEALTH:
            calls[condition.value] = partial(check_tenant, runtime, tenant, deadline)
        elif condition is Condition.CAPACITY:
            calls[condition.value] = partial(capacity_summary, runtime, tenant)
        elif condition is Condition.PERFORMANCE:
            calls[condition.value] = partial(run_diagnosis, runtime, tenant, IncidentType.PERFORMANCE, deadline)
        else:
            calls[condition.value] = partial(run_diagnosis, runtime, tenant, IncidentType.SECURITY, deadline)
    results = fan_out(calls, deadline_s=deadline + FAN_OUT_MARGIN_S, max_workers=len(calls))
    return {Condition(key): value for key, value in results.items()}
