"""Deciding a pending request: approve (vote), reject with a reason, cancel, and expire when its time is up.

Each decision reads the facts the pure rules in :mod:`.machine` need (the
tenant, the approver rule, the clock), refuses with an audited reason when a
rule says no, and otherwise makes one move, audits it and redraws the card.
The card's buttons and the ``reject`` / ``cancel`` commands both come here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.changes import ChangeKind, subject_cluster
from bot.outbox import Outbox
from bot.report import Report, Text, code, mention, notice, spans, when
from bot.store import Approval

from .card import BOT_ACTOR, expired_text, plural, shortened, status_text
from .execution import lease_of, start_execution
from .ledger import advance, find, record, refresh_card
from .machine import (
    APPROVE,
    APPROVED,
    CANCEL,
    CANCELLED,
    EXPIRED,
    MIN_REASON_CHARS,
    PENDING,
    REJECT,
    REJECTED,
    Refusal,
    Resolution,
    action_kind_of,
    canceller_refusal,
    channel_may_decide,
    clean_reason,
    decider_refusal,
    is_overdue,
    votes_counted,
)

if TYPE_CHECKING:
    from bot.runtime import Runtime


def refuse(runtime: Runtime, outbox: Outbox, user: str, refusal: Refusal, *, stage: str,
           approval: Approval | None = None, **detail: Any) -> Report:
    """Audit a refusal and say it to the one who tried."""
    record(runtime, outbox, "refuse", user, approval=approval, stage=stage, reason=refusal.reason, **detail)
    return notice(refusal.text)


def may_decide(runtime: Runtime, outbox: Outbox, approval: Approval, user: str, stage: str) -> Report | None:
    """None when the request is still pending and ``user`` may approve or reject it (``stage``); else why not
    (an audited refusal when the rule says no, the request's state when it has moved on or expired)."""
    blocked = still_pending(runtime, outbox, approval)
    if blocked:
        return notice(blocked)
    governed, approver = approver_rule(runtime, approval)
    refusal = decider_refusal(approval, user, stage, tenant_configured=governed, approver=approver)
    return None if refusal is None else refuse(runtime, outbox, user, refusal, stage=stage, approval=approval)


def approver_rule(runtime: Runtime, approval: Approval) -> tuple[bool, Callable[[str], bool]]:
    """(whether the rule that governs the request is still configured, who is an approver under it).

    A cluster's request (the operator) is decided by the cluster's ``approvals``
    only; a tenant's by the tenant's rule for the action kind.
    """
    kind = action_kind_of(approval)
    cluster_name = subject_cluster(approval.tenant)
    if cluster_name is not None:
        cluster = runtime.config.cluster(cluster_name)
        if cluster is None or cluster.approvals is None:
            return False, lambda _who: False
        return True, lambda who: runtime.access.can_approve_cluster(who, cluster)
    tenant = runtime.find_tenant(approval.tenant)
    if tenant is None:
        return False, lambda _who: False
    return True, lambda who: runtime.access.can_approve(who, tenant, kind)


def still_pending(runtime: Runtime, outbox: Outbox, approval: Approval) -> Text | None:
    """None when the request can still be decided; otherwise why not (expiring it when its time is up)."""
    if approval.status != PENDING:
        return status_text(approval)
    now = runtime.clock()
    if is_overdue(approval, now):
        expire(runtime, outbox, approval, now)
        return expired_text(approval)
    return None


def current_text(runtime: Runtime, approval_id: str) -> Text:
    """Where a request is now, for a caller who lost the race to move it."""
    current = runtime.store.approvals.get(approval_id)
    return status_text(current) if current else "This request is gone."


def approve(
    runtime: Runtime, outbox: Outbox, approval: Approval, user: str, kinds: Callable[[str], ChangeKind | None]
) -> Report | None:
    """Count ``user``'s approval; the vote that reaches the required count starts the change.

    The change runs on the change executor (its card and thread tell everyone how it goes), so the
    voter's thread returns at once. Returns what to tell the voter, or None when their vote started it.
    """
    refused = may_decide(runtime, outbox, approval, user, APPROVE)
    if refused is not None:
        return refused
    store = runtime.store
    if not store.approvals.add_vote(approval.id, user, at=runtime.clock()):
        return notice("You already approved this request.")
    record(runtime, outbox, "approve", user, approval=approval)
    # With one approval required, this vote is enough (the requester's own is refused above):
    # skipping the read keeps the click-to-execution path short.
    votes = (
        [user]
        if approval.approvals_required == 1
        else votes_counted(approval, [v.user for v in store.approvals.votes(approval.id)])
    )
    if len(votes) < approval.approvals_required:
        refresh_card(runtime, outbox, approval.id)
        missing = approval.approvals_required - len(votes)
        return notice(f"Your approval is recorded; {plural(missing, 'more approval')} needed.")
    if not advance(runtime, approval.id, APPROVED, decided_at=runtime.clock(), **lease_of(runtime)):
        return notice(current_text(runtime, approval.id))
    record(runtime, outbox, "approved", user, approval=approval, approvers=votes)
    start_execution(runtime, outbox, approval.id, kinds)
    return None


def _decidable(
    runtime: Runtime, approval_id: str, channel: str | None, verb: str, user: str
) -> Approval | Report:
    """The request a command names, if the command's channel may decide it (the card's, or one that sees the
    tenant); a form was checked against the card already and passes no channel."""
    approval = find(runtime, approval_id)
    if approval is None:
        return notice(spans("There is no approval request ", code(shortened(approval_id, 40)), ". See ",
                            code("/minio approvals"), "."))
    if channel is not None and not channel_may_decide(
        approval, channel, sees_tenant=lambda: _sees(runtime, channel, approval.tenant, user)
    ):
        return notice(spans("Request ", code(approval.id), f" cannot be {verb} from this channel."))
    return approval


def _sees(runtime: Runtime, channel: str, subject: str, user: str) -> bool:
    cluster_name = subject_cluster(subject)
    if cluster_name is not None:
        cluster = runtime.config.cluster(cluster_name)
        return cluster is not None and runtime.access.can_see_cluster(channel, cluster)
    tenant = runtime.find_tenant(subject)
    return tenant is not None and runtime.access.can_see(channel, tenant, user)


def reject(runtime: Runtime, outbox: Outbox, approval_id: str, user: str, reason: str,
           *, channel: str | None = None) -> Report:
    """Reject a pending request with a reason (from the form or ``/minio reject``)."""
    approval = _decidable(runtime, approval_id, channel, "decided", user)
    if isinstance(approval, Report):
        return approval
    refused = may_decide(runtime, outbox, approval, user, REJECT)
    if refused is not None:
        return refused
    cleaned = clean_reason(reason)
    if cleaned is None:
        return notice(spans(f"Say why you reject it (at least {MIN_REASON_CHARS} characters): ",
                            code(f"/minio reject {approval.id} <reason>"), "."))
    resolution = Resolution(headline=spans("Rejected by ", mention(user), ": ", shortened(cleaned, 500)))
    if not advance(runtime, approval.id, REJECTED, resolution, decided_at=runtime.clock()):
        return notice(current_text(runtime, approval.id))
    record(runtime, outbox, "reject", user, approval=approval, reason=cleaned[:500])
    refresh_card(runtime, outbox, approval.id)
    return Report(title="", summary=spans("Rejected request ", code(approval.id), ". The card says why."),
                  ephemeral=True)


def cancel(runtime: Runtime, outbox: Outbox, approval_id: str, user: str, *, channel: str | None = None) -> Report:
    """Cancel a pending request: its requester (or a bot admin) only."""
    approval = _decidable(runtime, approval_id, channel, "cancelled", user)
    if isinstance(approval, Report):
        return approval
    refusal = canceller_refusal(approval, user, admin=runtime.access.is_admin)
    if refusal is not None:
        return refuse(runtime, outbox, user, refusal, stage=CANCEL, approval=approval)
    blocked = still_pending(runtime, outbox, approval)
    if blocked:
        return notice(blocked)
    by: Text = "its requester" if user == approval.requester else spans(mention(user), " (bot admin)")
    resolution = Resolution(headline=spans("Cancelled by ", by, "."))
    if not advance(runtime, approval.id, CANCELLED, resolution, decided_at=runtime.clock()):
        return notice(current_text(runtime, approval.id))
    record(runtime, outbox, "cancel", user, approval=approval)
    refresh_card(runtime, outbox, approval.id)
    return Report(title="", summary=spans("Cancelled request ", code(approval.id), "."), ephemeral=True)


def expire(runtime: Runtime, outbox: Outbox, approval: Approval, now: datetime) -> bool:
    """Move one overdue pending request to expired (True if this caller did) and update its card."""
    headline = spans("Expired at ", when(approval.expires_at), " without the required approvals.")
    resolution = Resolution(headline=headline)
    if not advance(runtime, approval.id, EXPIRED, resolution, decided_at=now):
        return False
    record(runtime, outbox, "expire", BOT_ACTOR, approval=approval, expires_at=approval.expires_at.isoformat())
    refresh_card(runtime, outbox, approval.id)
    return True


def expire_due(runtime: Runtime, outbox: Outbox, now: datetime | None = None) -> list[str]:
    """Expire overdue pending requests (cards updated, audited); for the scheduler, every minute, and before a
    listing. Returns the ids expired now. (What a stopped process left is the leader's: :func:`.recovery.recover`.)
    """
    now = now or runtime.clock()
    return [a.id for a in runtime.store.approvals.due_for_expiry(now) if expire(runtime, outbox, a, now)]
