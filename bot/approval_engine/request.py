"""Requesting a change: store the plan, audit the request, post its card, and tell the requester where it is."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.changes import ChangePlan, Finding, seal
from bot.config import CLUSTER_ACTION_KINDS, ApprovalRule
from bot.invocation import UserError
from bot.outbox import OutboxError
from bot.render.inline import to_plain
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


@dataclass(frozen=True)
class Governance:
    """Whose rule decides a plan: the approver rule, where its card goes, and what it is about (for messages)."""

    rule: ApprovalRule
    channel: str | None  # where the card goes; None: the channel it was requested in
    about: Text  # `demo`, or cluster `prod-eu`


def governance_of(inv: Invocation, plan: ChangePlan) -> Governance | Report:
    """The rule a plan falls under, or an audited refusal.

    A tenant's plan: the tenant's rule for its action kind (the channel must see
    the tenant). A cluster's plan (the operator): the cluster's ``approvals``,
    refused when the cluster has none or the requester is not one of its
    operators; its card always goes to the cluster's approval channel.
    """
    if plan.cluster is None:
        if plan.action_kind in CLUSTER_ACTION_KINDS:
            raise ValueError(f"{plan.kind!r} changes a whole cluster: its plan must name the cluster, not a tenant")
        tenant = inv.tenant(plan.tenant)
        return Governance(rule=tenant.approval_rule(plan.action_kind), channel=tenant.approval_channel,
                          about=spans(code(tenant.name)))
    cluster = inv.runtime.config.cluster(plan.cluster)
    if cluster is None:
        raise UserError(spans("Cluster ", code(plan.cluster[:63]), " is not configured."))
    decision = inv.runtime.access.check_cluster_request(inv.user, cluster)
    if not decision.allowed or cluster.approvals is None:
        record(inv.runtime, inv.outbox, "refuse", inv.user, tenant=plan.subject, plan_hash=plan.plan_hash,
               stage="request", kind=plan.kind, reason=to_plain(decision.reason)[:1000])
        return notice(decision.reason)
    return Governance(rule=cluster.approvals, channel=cluster.approvals.channel,
                      about=spans("cluster ", code(cluster.name)))


def request_change(inv: Invocation, plan: ChangePlan, *, approval_required: bool = True) -> Report:
    """Store a request for ``plan``, audit it, post its approval card and return a short confirmation.

    The card goes to the tenant's ``approval_channel`` (a cluster's plan: the
    cluster's ``approvals.channel``) or else the current channel. A plan whose
    preview already failed (blocking preflight, failed dry run) is not
    requested: the caller is told why, and the refusal is audited. With
    ``approval_required=False`` (a tenant's kind configured to need no
    approval) the change is re-checked and executed at once, still through the
    same states and audit trail, and the outcome is returned; a cluster's plan
    always needs its approvals.
    """
    kind = inv.app.change_kind(plan.kind)
    if kind is None or kind.action_kind != plan.action_kind:
        raise ValueError(f"change kind {plan.kind!r} is not registered for action kind {plan.action_kind!r}")
    if plan.plan_hash != plan.compute_hash():
        plan = seal(plan)
    governance = governance_of(inv, plan)
    if isinstance(governance, Report):
        return governance
    failures = plan.blocking_failures()
    if failures:
        return _not_requested(inv, plan, failures)
    approval_required = approval_required or plan.cluster is not None
    approval = _store_request(inv, plan, governance, approval_required)
    if not approval_required:
        return _run_without_approval(inv, approval, plan)
    try:
        ts = inv.outbox.post(approval.channel or inv.channel, approval_card(approval, plan))
    except OutboxError as exc:
        return _card_not_posted(inv, approval, exc)
    inv.runtime.store.approvals.set_message(approval.id, channel=approval.channel or inv.channel, message_ts=ts)
    return _requested(inv, approval, plan, governance, ts)


def _not_requested(inv: Invocation, plan: ChangePlan, failures: list[Finding]) -> Report:
    record(inv.runtime, inv.outbox, "refuse", inv.user, tenant=plan.subject, plan_hash=plan.plan_hash,
           stage="request", kind=plan.kind, reason="; ".join(f.detail for f in failures)[:1000])
    return Report(
        title=f"Not requested: {plan.title}",
        summary=spans(emoji("no_entry"), " The preview found a problem, so nothing was requested:",
                      failure_list(failures)),
        sections=plan_sections(plan),
        ephemeral=True,
        failed=True,
    )


def _store_request(inv: Invocation, plan: ChangePlan, governance: Governance, approval_required: bool) -> Approval:
    runtime = inv.runtime
    rule = governance.rule
    now = runtime.clock()
    channel = (governance.channel or inv.channel) if approval_required else inv.channel
    approval = runtime.store.approvals.create(
        tenant=plan.subject,
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


def _requested(inv: Invocation, approval: Approval, plan: ChangePlan, governance: Governance, ts: str) -> Report:
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
    if not _others_can_approve(inv.runtime, governance.rule, inv.user):
        lines.append(spans(emoji("warning"), " Nobody else is configured to approve ", code(plan.action_kind), " on ",
                           governance.about, ": ask an admin to add approvers."))
    return Report(title=f"Requested: {plan.title}", summary=join(lines, "\n"), ephemeral=True)


def _others_can_approve(runtime: Runtime, rule: ApprovalRule, requester: str) -> bool:
    principals = [*rule.approvers, *runtime.config.admins]
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
