"""Requesting a change: store the plan, audit the request, post its card, and tell the requester where it is."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.changes import ChangePlan, Finding, seal
from bot.config import TenantConfig
from bot.outbox import OutboxError
from bot.report import Report, Section, Text, code, emoji, join, link, mention, notice, spans, when
from bot.store import Approval

from .card import BOT_ACTOR, MAX_DETAIL_LINES, approval_card, failure_list, plan_sections, plural
from .execution import execute_approved, lease_of
from .ledger import advance, record
from .machine import APPROVED, CANCELLED, Resolution
from .progress import ProgressThread

if TYPE_CHECKING:
    from bot.invocation import Invocation
    from bot.runtime import Runtime


def request_change(inv: Invocation, plan: ChangePlan, *, approval_required: bool = True) -> Report:
    """Store a request for ``plan``, audit it, post its approval card and return a short confirmation.

    The card goes to the tenant's ``approval_channel`` or else the current
    channel. A plan whose preview already failed (blocking preflight, failed
    dry run) is not requested: the caller is told why, and the refusal is
    audited. With ``approval_required=False`` (a kind configured to need no
    approval) the change is re-checked and executed at once, still through the
    same states and audit trail, and the outcome is returned.
    """
    kind = inv.app.change_kind(plan.kind)
    if kind is None or kind.action_kind != plan.action_kind:
        raise ValueError(f"change kind {plan.kind!r} is not registered for action kind {plan.action_kind!r}")
    if plan.plan_hash != plan.compute_hash():
        plan = seal(plan)
    tenant = inv.tenant(plan.tenant)
    failures = plan.blocking_failures()
    if failures:
        return _not_requested(inv, plan, failures)
    approval = _store_request(inv, plan, tenant, approval_required)
    if not approval_required:
        return _run_without_approval(inv, approval, plan)
    try:
        ts = inv.outbox.post(approval.channel or inv.channel, approval_card(approval, plan))
    except OutboxError as exc:
        return _card_not_posted(inv, approval, exc)
    inv.runtime.store.approvals.set_message(approval.id, channel=approval.channel or inv.channel, message_ts=ts)
    return _requested(inv, approval, plan, tenant, ts)


def _not_requested(inv: Invocation, plan: ChangePlan, failures: list[Finding]) -> Report:
    record(inv.runtime, inv.outbox, "refuse", inv.user, tenant=plan.tenant, plan_hash=plan.plan_hash,
           stage="request", kind=plan.kind, reason="; ".join(f.detail for f in failures)[:1000])
    return Report(
        title=f"Not requested: {plan.title}",
        summary=spans(emoji("no_entry"), " The preview found a problem, so nothing was requested:",
                      failure_list(failures)),
        sections=plan_sections(plan),
        ephemeral=True,
        failed=True,
    )


def _store_request(inv: Invocation, plan: ChangePlan, tenant: TenantConfig, approval_required: bool) -> Approval:
    runtime = inv.runtime
    rule = tenant.approval_rule(plan.action_kind)
    now = runtime.clock()
    channel = (tenant.approval_channel or inv.channel) if approval_required else inv.channel
    approval = runtime.store.approvals.create(
        tenant=plan.tenant,
        kind=plan.kind,
        plan=plan.model_dump(mode="json"),
        plan_hash=plan.plan_hash,
        requester=inv.user,
        expires_at=now + timedelta(minutes=rule.expiry_minutes),
        approvals_required=rule.required if approval_required else 1,
        resource_version=plan.resource_version,
        channel=channel,
        created_at=now,
    )
    record(runtime, inv.outbox, "request", inv.user, approval=approval, kind=plan.kind, title=plan.title,
           approval_required=approval_required, required=approval.approvals_required, channel=channel)
    return approval


def _card_not_posted(inv: Invocation, approval: Approval, exc: OutboxError) -> Report:
    """The card could not be posted: the request is cancelled at once (nobody could decide it)."""
    runtime = inv.runtime
    channel = approval.channel or inv.channel
    why: Text = spans("the approval card could not be posted in ", mention(channel), f" ({exc})")
    resolution = Resolution(headline=spans("Cancelled: ", why, "."))
    if advance(runtime, approval.id, CANCELLED, resolution, decided_at=runtime.clock()):
        record(runtime, inv.outbox, "cancel", BOT_ACTOR, approval=approval,
               reason=f"the approval card could not be posted in channel {channel} ({exc})")
    return notice(spans("Nothing was requested: ", why, ". Invite the bot there, or ask an admin."))


def _requested(inv: Invocation, approval: Approval, plan: ChangePlan, tenant: TenantConfig, ts: str) -> Report:
    """The requester's confirmation: where the card is, what it needs, how to cancel."""
    channel = approval.channel or inv.channel
    url = inv.outbox.permalink(channel, ts)
    where: Text = "below" if channel == inv.channel else spans("in ", mention(channel))
    opened = spans(" (", link(url, "open it"), ")") if url else ()
    lines: list[Text] = [
        spans("Request ", code(approval.id), ": the approval card is ", where, opened, "."),
        spans(f"It needs {plural(approval.approvals_required, 'approval')} from ", code(plan.action_kind),
              " approvers other than you, by ", when(approval.expires_at), ". Cancel it with ",
              code(f"/minio cancel {approval.id}"), "."),
    ]
    if not _others_can_approve(inv.runtime, tenant, plan.action_kind, inv.user):
        lines.append(spans(emoji("warning"), " Nobody else is configured to approve ", code(plan.action_kind), " on ",
                           code(plan.tenant), ": ask an admin to add approvers."))
    return Report(title=f"Requested: {plan.title}", summary=join(lines, "\n"), ephemeral=True)


def _others_can_approve(runtime: Runtime, tenant: TenantConfig, action_kind: str, requester: str) -> bool:
    principals = [*tenant.approval_rule(action_kind).approvers, *runtime.config.admins]
    # A user group may hold anyone: only plain user lists can be ruled out here.
    return any(p.startswith("S") or p != requester for p in principals)


def _run_without_approval(inv: Invocation, approval: Approval, plan: ChangePlan) -> Report:
    """A kind configured to need no approval: through the same states and audit trail, at once."""
    runtime = inv.runtime
    note = Resolution(headline="No approval needed for this change (configuration).")
    if not advance(runtime, approval.id, APPROVED, note, decided_at=runtime.clock(), **lease_of(runtime)):
        return notice("This request was decided elsewhere before it could run.")
    record(runtime, inv.outbox, "approved", inv.user, approval=approval, automatic=True,
           reason="no approval required by configuration")
    progress = ProgressThread(inv.outbox, None, None, plan.title, stamp=runtime.clock)
    done = threading.Event()

    def run() -> None:
        try:
            execute_approved(runtime, inv.outbox, approval.id, inv.app.change_kind, progress=progress)
        finally:
            done.set()

    # On the change executor like every change (its bound holds); the requester waits for the outcome here.
    if runtime.executor.submit(approval.id, run):
        done.wait()
    final = runtime.store.approvals.get(approval.id)
    card = approval_card(final or approval, plan)
    sections = [*card.sections]
    if progress.lines:
        sections.append(Section(title="Progress", lines=progress.lines[-MAX_DETAIL_LINES:]))
    return card.model_copy(update={"sections": sections, "ephemeral": False, "actions": []})
