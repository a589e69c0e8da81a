"""Check tenants: gather, evaluate and return by a deadline. What other capabilities call.

The daily report, alerts and incident evidence use :func:`check_tenant`; the
``health`` verb uses :func:`check_tenants` for every tenant a channel sees.
"""

from __future__ import annotations

import time
from datetime import datetime

from pydantic import Field

from bot.config import TenantConfig
from bot.models import Frozen
from bot.report import Section, Status
from bot.runtime import Runtime
from handlers.health.evaluate import evaluate
from handlers.health.facts import gather_tenants


class TenantHealth(Frozen):
    """The health of one tenant at one moment: verdict, the reasons that decided it, and the sections.

    ``reasons`` are short plain sentences (no markup; names as they are), so
    other reports can quote them; ``sections`` carry typed spans.
    """

    tenant: str
    status: Status
    reasons: list[str] = Field(default_factory=list)
    sections: list[Section] = Field(default_factory=list)
    checked_at: datetime
    duration_s: float = 0.0

    def section(self, title: str) -> Section | None:
        """The section called ``title``, if present."""
        return next((s for s in self.sections if s.title == title), None)


def _margin(deadline_s: float) -> float:
    # Time kept back from the deadline for evaluation and rendering (milliseconds in practice).
    return min(0.5, deadline_s * 0.1)


def check_tenant(runtime: Runtime, tenant: TenantConfig, deadline_s: float | None = None) -> TenantHealth:
    """Check one tenant: gather in parallel, evaluate, and return by ``deadline_s`` (default: the report deadline).

    Never raises for MinIO or Kubernetes failures: a part that could not be
    checked is a section that says why.
    """
    return check_tenants(runtime, [tenant], deadline_s)[0]


def check_tenants(runtime: Runtime, tenants: list[TenantConfig], deadline_s: float | None = None) -> list[TenantHealth]:
    """Check several tenants at once (one fan-out for all their calls), within one deadline; in the order given."""
    deadline = runtime.config.timeouts.report_deadline if deadline_s is None else deadline_s
    started = time.monotonic()
    checked_at = runtime.clock()
    gathered = gather_tenants(runtime, tenants, until=started + deadline - _margin(deadline))
    out: list[TenantHealth] = []
    for tenant, facts in zip(tenants, gathered, strict=True):
        verdict = evaluate(facts, tenant, checked_at)
        out.append(
            TenantHealth(
                tenant=tenant.name,
                status=verdict.status,
                reasons=verdict.reasons,
                sections=verdict.sections,
                checked_at=checked_at,
                duration_s=round(time.monotonic() - started, 3),
            )
        )
    return out
