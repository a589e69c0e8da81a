"""Pure rules of the approval verbs: which audit events a caller may see, and how each one reads."""

from __future__ import annotations

from bot.report import Status
from bot.store import AuditEvent

# Events of tenants a channel cannot see are filtered out after reading, so read ahead.
READ_AHEAD = 5

_SETBACKS = ("refuse", "reject", "expire", "cancel")


def visible_events(events: list[AuditEvent], visible: set[str], *, admin: bool, limit: int) -> list[AuditEvent]:
    """The first ``limit`` events about a visible tenant (and, for admins, those about no tenant)."""
    return [e for e in events if e.tenant in visible or (e.tenant is None and admin)][:limit]


def event_status(event: AuditEvent) -> Status | None:
    """A result is healthy or not by its outcome; a refusal, rejection, expiry or cancellation is a setback."""
    if event.action == "result":
        return Status.HEALTHY if event.detail.get("ok") is True else Status.UNHEALTHY
    if event.action in _SETBACKS:
        return Status.DEGRADED
    return None
