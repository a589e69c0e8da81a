"""What the approval verbs read: the store's pending requests and audit events, and where each card is."""

from __future__ import annotations

from bot.invocation import Invocation
from bot.store import Approval, AuditEvent
from handlers.approvals.evaluate import READ_AHEAD, visible_events


def pending_requests(inv: Invocation) -> list[Approval]:
    """Requests still waiting for a decision, for the tenants this channel may see, oldest first."""
    visible = {t.name for t in inv.visible_tenants()}
    return [a for a in inv.runtime.store.approvals.pending() if a.tenant in visible]


def card_links(inv: Invocation, approvals: list[Approval]) -> dict[str, str]:
    """A link to each request's card, where the transport has one (by request id)."""
    links: dict[str, str] = {}
    for approval in approvals:
        if approval.channel and approval.message_ts:
            url = inv.outbox.permalink(approval.channel, approval.message_ts)
            if url:
                links[approval.id] = url
    return links


def recent_events(inv: Invocation, n: int) -> list[AuditEvent]:
    """The ``n`` newest audit events this caller may see here (admins also see events without a tenant)."""
    runtime = inv.runtime
    visible = {t.name for t in inv.visible_tenants()}
    events = runtime.store.audit.recent(min(n * READ_AHEAD, 1000))
    return visible_events(events, visible, admin=runtime.access.is_admin(inv.user), limit=n)
