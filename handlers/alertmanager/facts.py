"""What the bot looks at for an alert group: the diagnostics that fit its conditions, in one gathering.

Node or drive offline, quorum: the health check (quorum and "can lose N more").
Capacity: the capacity summary with its forecast. Latency: the performance
diagnostics. Auth failures: the security diagnostics. Everything is gathered
together (the incident diagnostics' facts, each once, plus the health check and
the capacity summary) under ONE deadline, the report deadline; a diagnostic that
did not finish is its error, shown as such, and the others still arrive.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from bot.clients.errors import ClientError
from bot.config import TenantConfig
from bot.runtime import Runtime
from handlers.alertmanager.evaluate import Condition, Observation
from handlers.capacity import capacity_summary
from handlers.health import check_tenant
from handlers.incidents.diagnostics import run_diagnoses
from handlers.incidents.model import IncidentType

# The diagnostics return by the deadline; this covers evaluating and handing back their results.
FAN_OUT_MARGIN_S = 1.0
_DIAGNOSES = {Condition.PERFORMANCE: IncidentType.PERFORMANCE, Condition.SECURITY: IncidentType.SECURITY}


def observe(runtime: Runtime, tenant: TenantConfig, conditions: list[Condition]) -> dict[Condition, Observation]:
    """Run the diagnostics that fit ``conditions`` for ``tenant`` together; each result or its error."""
    deadline = runtime.config.timeouts.report_deadline
    wanted = conditions or [Condition.HEALTH]
    extra: dict[str, Callable[[], Any]] = {}
    if Condition.HEALTH in wanted:
        extra["health"] = partial(check_tenant, runtime, tenant, deadline)
    if Condition.CAPACITY in wanted:
        extra["capacity"] = partial(capacity_summary, runtime, tenant)
    kinds = [_DIAGNOSES[c] for c in wanted if c in _DIAGNOSES]
    diagnoses, got = run_diagnoses(runtime, tenant, kinds, deadline + FAN_OUT_MARGIN_S, extra)
    out: dict[Condition, Observation] = {}
    for condition in wanted:
        found = diagnoses[_DIAGNOSES[condition]] if condition in _DIAGNOSES else got.get(condition.value)
        out[condition] = found if found is not None else ClientError("internal", condition.value, "not gathered")
    return out
