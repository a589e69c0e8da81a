"""Approvals as people list and decide them, besides the cards themselves.

`/minio approvals` lists the changes waiting for a decision (with a Cancel
button on your own), `/minio audit [n]` shows the newest audited actions, and
`/minio reject <id> <reason>` and `/minio cancel <id>` are the command twins of
the card's Reject and Cancel buttons. The listing and the audit trail show only
tenants this channel may see; the decisions themselves are checked by the
approval engine (who may decide, from where, whether the request is still
pending) exactly as for the card's buttons.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from bot import approval_engine as engine
from bot.application import Capability
from bot.commands import Arg, NoArgs
from bot.invocation import Invocation
from bot.report import Report
from handlers.approvals.facts import card_links, pending_requests, recent_events
from handlers.approvals.present import MAX_LISTED, audit_report, pending_report

AUDIT_DEFAULT = 20
AUDIT_MAX = 200

capability = Capability("approvals", __doc__)


class AuditArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n: int = Field(AUDIT_DEFAULT, ge=1, le=AUDIT_MAX)


class RejectArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=32)
    reason: str = ""


class CancelArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=32)


@capability.verb("approvals", summary="List the changes waiting for approval here.", model=NoArgs)
def approvals_command(inv: Invocation, _args: NoArgs) -> Report:
    """Pending requests for the tenants visible here: what, who asked, votes so far, deadline."""
    engine.expire_due(inv.runtime, inv.outbox)  # a listing never shows a request that can no longer be approved
    pending = pending_requests(inv)
    return pending_report(pending, card_links(inv, pending[:MAX_LISTED]), inv.user)


@capability.verb(
    "audit",
    summary="Show the newest audited actions (requests, approvals, rejections, executions, results).",
    model=AuditArgs,
    args=(Arg("n", f"how many events (1-{AUDIT_MAX}, default {AUDIT_DEFAULT})"),),
    examples=("/minio audit", "/minio audit 50"),
)
def audit_command(inv: Invocation, args: AuditArgs) -> Report:
    """The newest audited actions for tenants visible here (admins also see events without a tenant)."""
    return audit_report(recent_events(inv, args.n))


@capability.verb(
    "reject",
    summary="Reject a pending change with a reason (same as the card's Reject button).",
    model=RejectArgs,
    args=(Arg("id", "the request id on the card", required=True), Arg("reason", "why", required=True, rest=True)),
    examples=("/minio reject Ab3dE5fG7hJ9 not during the backup window",),
)
def reject_command(inv: Invocation, args: RejectArgs) -> Report:
    """Reject a pending request with a reason (the command twin of the card's Reject button)."""
    return engine.reject(inv.runtime, inv.outbox, args.id, inv.user, args.reason, channel=inv.channel)


@capability.verb(
    "cancel",
    summary="Cancel a change you requested that is still waiting for approval.",
    model=CancelArgs,
    args=(Arg("id", "the request id on the card", required=True),),
)
def cancel_command(inv: Invocation, args: CancelArgs) -> Report:
    """Cancel your own pending request."""
    return engine.cancel(inv.runtime, inv.outbox, args.id, inv.user, channel=inv.channel)
