"""`/minio approvals`, `/minio audit [n]`, `/minio reject <id> <reason>`, `/minio cancel <id>`.

The listing and the audit trail show only tenants this channel may see; the
decisions themselves are checked by the approval engine (who may decide, from
where, whether the request is still pending) exactly as for the card's buttons.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from bot import approval_engine as engine
from bot.application import Capability
from bot.commands import Arg, NoArgs, Verb
from bot.invocation import Invocation
from bot.report import Action, Report, Row, Section, Status

AUDIT_DEFAULT = 20
AUDIT_MAX = 200


def approvals_command(inv: Invocation, _args: NoArgs) -> Report:
    """Pending requests for the tenants visible here: what, who asked, votes so far, deadline."""
    runtime = inv.runtime
    engine.expire_due(runtime, inv.outbox)  # a listing never shows a request that can no longer be approved
    visible = {t.name for t in inv.visible_tenants()}
    pending = [a for a in runtime.store.approvals.pending() if a.tenant in visible]
    if not pending:
        return Report(title="Pending approvals", summary="No change is waiting for approval here.", ephemeral=True)
    sections: list[Section] = []
    for approval in pending[:40]:
        plan = engine.plan_of(approval)
        title = plan.title if plan else f"{approval.kind} on {approval.tenant}"
        votes = ", ".join(f"<@{v}>" for v in approval.approvers) or "none yet"
        link = None
        if approval.channel and approval.message_ts:
            link = inv.outbox.permalink(approval.channel, approval.message_ts)
        where = f"<{link}|card>" if link else (f"card in <#{approval.channel}>" if approval.channel else "no card")
        lines = [
            f"Requested by <@{approval.requester}> · approvals {len(approval.approvers)} of "
            f"{approval.approvals_required} ({votes}) · expires {approval.expires_at:%Y-%m-%d %H:%M} UTC · {where}",
        ]
        actions = []
        if approval.requester == inv.user:
            actions.append(
                Action(
                    label=f"Cancel {approval.id}",
                    action_id=f"{engine.CANCEL}:{approval.id}",
                    value=f"{approval.id}:{approval.plan_hash}",
                    confirm=f"Cancel your request “{title}”?",
                )
            )
        sections.append(Section(title=f"`{approval.id}` {title}", lines=lines, actions=actions))
    more = [f"{len(pending) - 40} more not shown."] if len(pending) > 40 else []
    return Report(
        title="Pending approvals",
        summary=f"{len(pending)} change(s) waiting for approval. Decide on each card; requesters can cancel theirs.",
        sections=sections,
        footer=more,
        ephemeral=True,
    )


class AuditArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n: int = Field(AUDIT_DEFAULT, ge=1, le=AUDIT_MAX)


def audit_command(inv: Invocation, args: AuditArgs) -> Report:
    """The newest audited actions for tenants visible here (admins also see events without a tenant)."""
    runtime = inv.runtime
    visible = {t.name for t in inv.visible_tenants()}
    admin = runtime.access.is_admin(inv.user)
    # Read more than asked: events of tenants this channel cannot see are filtered out afterwards.
    events = [
        e
        for e in runtime.store.audit.recent(min(args.n * 5, 1000))
        if (e.tenant in visible) or (e.tenant is None and admin)
    ][: args.n]
    if not events:
        return Report(title="Audit trail", summary="Nothing audited for the tenants visible here yet.", ephemeral=True)
    rows = [Row(status=_status(e.action, e.detail), text=engine.audit_line(e)) for e in events]
    return Report(
        title="Audit trail",
        summary=f"The {len(events)} newest audited action(s), newest first. The trail is append-only.",
        sections=[Section(title="Events", rows=rows)],
        ephemeral=True,
    )


def _status(action: str, detail: dict[str, object]) -> Status | None:
    if action == "result":
        return Status.HEALTHY if detail.get("ok") is True else Status.UNHEALTHY
    if action in ("refuse", "reject", "expire", "cancel"):
        return Status.DEGRADED
    return None


class RejectArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=32)
    reason: str = ""


def reject_command(inv: Invocation, args: RejectArgs) -> Report:
    """Reject a pending request with a reason (the command twin of the card's Reject button)."""
    return engine.reject(inv.runtime, inv.outbox, args.id, inv.user, args.reason, channel=inv.channel)


class CancelArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=32)


def cancel_command(inv: Invocation, args: CancelArgs) -> Report:
    """Cancel your own pending request."""
    return engine.cancel(inv.runtime, inv.outbox, args.id, inv.user, channel=inv.channel)


APPROVALS_VERB = Verb(
    name="approvals",
    summary="List the changes waiting for approval here.",
    model=NoArgs,
    handler=approvals_command,
)

AUDIT_VERB = Verb(
    name="audit",
    summary="Show the newest audited actions (requests, approvals, rejections, executions, results).",
    model=AuditArgs,
    handler=audit_command,
    args=(Arg("n", f"how many events (1-{AUDIT_MAX}, default {AUDIT_DEFAULT})"),),
    examples=("/minio audit", "/minio audit 50"),
)

REJECT_VERB = Verb(
    name="reject",
    summary="Reject a pending change with a reason (same as the card's Reject button).",
    model=RejectArgs,
    handler=reject_command,
    args=(Arg("id", "the request id on the card", required=True), Arg("reason", "why", required=True, rest=True)),
    examples=("/minio reject Ab3dE5fG7hJ9 not during the backup window",),
)

CANCEL_VERB = Verb(
    name="cancel",
    summary="Cancel a change you requested that is still waiting for approval.",
    model=CancelArgs,
    handler=cancel_command,
    args=(Arg("id", "the request id on the card", required=True),),
)

VERBS = (APPROVALS_VERB, AUDIT_VERB, REJECT_VERB, CANCEL_VERB)

capability = Capability("approvals", __doc__)
for _verb in VERBS:
    capability.add_verb(_verb)
