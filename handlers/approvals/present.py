"""The approval verbs' answers: pending requests with their votes and deadlines, and the audit trail."""

from __future__ import annotations

from bot.approval_engine import CANCEL, audit_line, plan_of, title_of
from bot.report import Action, Report, Row, Section, Text, join, link, mention, spans, when
from bot.store import Approval, AuditEvent
from handlers.approvals.evaluate import event_status

MAX_LISTED = 40


def pending_report(pending: list[Approval], links: dict[str, str], user: str) -> Report:
    """One section per pending request (the first MAX_LISTED), with a Cancel button on the caller's own."""
    if not pending:
        return Report(title="Pending approvals", summary="No change is waiting for approval here.", ephemeral=True)
    more: list[Text] = [f"{len(pending) - MAX_LISTED} more not shown."] if len(pending) > MAX_LISTED else []
    return Report(
        title="Pending approvals",
        summary=f"{len(pending)} change(s) waiting for approval. Decide on each card; requesters can cancel theirs.",
        sections=[_pending_section(a, links.get(a.id), user) for a in pending[:MAX_LISTED]],
        footer=more,
        ephemeral=True,
    )


def _pending_section(approval: Approval, url: str | None, user: str) -> Section:
    title = title_of(approval, plan_of(approval))
    votes: Text = join([spans(mention(v)) for v in approval.approvers]) or "none yet"
    if url:
        where: Text = spans(link(url, "card"))
    else:
        where = spans("card in ", mention(approval.channel)) if approval.channel else "no card"
    line = spans(
        "Requested by ", mention(approval.requester),
        f" · approvals {len(approval.approvers)} of {approval.approvals_required} (", votes, ") · expires ",
        when(approval.expires_at), " · ", where,
    )
    actions = []
    if approval.requester == user:
        actions.append(Action(
            label=f"Cancel {approval.id}",
            action_id=f"{CANCEL}:{approval.id}",
            value=f"{approval.id}:{approval.plan_hash}",
            confirm=f"Cancel your request “{title}”?",
        ))
    return Section(title=f"{approval.id}: {title}", lines=[line], actions=actions)


def audit_report(events: list[AuditEvent]) -> Report:
    """The audit trail, newest first, one line per event with its verdict."""
    if not events:
        return Report(title="Audit trail", summary="Nothing audited for the tenants visible here yet.", ephemeral=True)
    rows = [Row(status=event_status(e), text=audit_line(e)) for e in events]
    return Report(
        title="Audit trail",
        summary=f"The {len(events)} newest audited action(s), newest first. The trail is append-only.",
        sections=[Section(title="Events", rows=rows)],
        ephemeral=True,
    )
