"""What the approval verbs read: the store's pending requests and audit events, and where each card is."""

from __future__ import annotations

from bot.changes import cluster_subject
from bot.invocation import Invocation
from bot.store import Approval, AuditEvent
from handlers.approvals.evaluate import READ_AHEAD, visible_events


def visible_subjects(inv: Invocation) -> set[str]:
    """What requests and audit events this channel may see are filed under: its tenants, and the clusters whose
    approval channel (or ``channels``) it is."""
    clusters = {cluster_subject(c.name) for c in inv.runtime.access.visible_clusters(inv.channel)}
    return {t.name for t in inv.visible_tenants()} | clusters


def pending_requests(inv: Invocation) -> list[Approval]:
    """Requests still waiting for a decision, for the tenants (and clusters) this channel may see, oldest first."""
    visible = visible_subjects(inv)
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
    visible = visible_subjects(inv)
    events = runtime.store.audit.recent(min(n * READ_AHEAD, 1000))
    return visible_events(events, visible, admin=runtime.access.is_admin(inv.user), limit=n)
