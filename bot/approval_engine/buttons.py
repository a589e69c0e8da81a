"""The card's buttons: Approve, Reject (which asks for a reason in a form), Cancel request, and that form.

Every click is first checked against the stored request: the button's value
must name it and the plan hash it was drawn for, and it must come from the
request's own card. A click that fails either is refused and audited. Who may
decide is checked in :mod:`.decisions`, the same way as for the commands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.interactions import Click, ClickResult
from bot.outbox import OutboxError, Prompt
from bot.report import Report, code, mention, notice, spans
from bot.store import Approval

from .card import title_of
from .decisions import approve, cancel, may_decide, refuse, reject
from .ledger import find
from .machine import (
    APPROVE,
    CANCEL,
    MIN_REASON_CHARS,
    REJECT,
    REJECT_REASON,
    Refusal,
    claim_matches,
    claim_of,
    plan_of,
    pressed_on_card,
)

if TYPE_CHECKING:
    from bot.invocation import Invocation

_ALTERED = Refusal(
    text="This button does not match any approval request (it may have been altered). Nothing was done.",
    reason="button value does not match the stored request",
)


def button_target(inv: Invocation, click: Click, stage: str) -> Approval | Report:
    """The request a card button (or its form) refers to, after checking its value and where it was pressed."""
    runtime, outbox = inv.runtime, inv.outbox
    claim = claim_of(click.action_id, click.value)
    approval = find(runtime, claim.approval_id)
    if approval is None or not claim_matches(claim, approval):
        return refuse(runtime, outbox, click.user, _ALTERED, stage=stage, approval=approval,
                      action_id=click.action_id[:120], value=click.value[:200])
    if not pressed_on_card(approval, click.channel, click.message_ts):
        elsewhere = Refusal(
            text=spans("This request can only be decided on its card in ", mention(approval.channel or ""), "."),
            reason="pressed outside the request's card",
        )
        return refuse(runtime, outbox, click.user, elsewhere, stage=stage, approval=approval, channel=click.channel)
    return approval


def on_approve(inv: Invocation, click: Click) -> ClickResult:
    """The Approve button: vote; the vote that reaches the required count executes the change."""
    target = button_target(inv, click, APPROVE)
    if isinstance(target, Report):
        return ClickResult(ephemeral=target)
    return ClickResult(ephemeral=approve(inv.runtime, inv.outbox, target, click.user, inv.app.change_kind))


def on_reject(inv: Invocation, click: Click) -> ClickResult:
    """The Reject button: ask the approver for a reason (a form), or point at the command."""
    target = button_target(inv, click, REJECT)
    if isinstance(target, Report):
        return ClickResult(ephemeral=target)
    refused = may_decide(inv.runtime, inv.outbox, target, click.user, REJECT)
    if refused is not None:
        return ClickResult(ephemeral=refused)
    return _ask_reason(inv, click, target)


def _ask_reason(inv: Invocation, click: Click, approval: Approval) -> ClickResult:
    fallback = notice(spans("Reject it with a reason: ", code(f"/minio reject {approval.id} <reason>"), "."))
    if not click.trigger_id or not approval.channel or not approval.message_ts:
        return ClickResult(ephemeral=fallback)
    prompt = Prompt(
        callback_id=f"{REJECT_REASON}:{approval.id}:{approval.plan_hash}",
        title="Reject request",
        label=f"Why reject “{title_of(approval, plan_of(approval))}”? The requester will see this.",
        channel=approval.channel,
        message_ts=approval.message_ts,
        submit="Reject",
        placeholder="e.g. not during business hours; drive 3 is still healing",
        min_length=MIN_REASON_CHARS,
        max_length=500,
    )
    try:
        inv.outbox.open_modal(click.trigger_id, prompt)
    except OutboxError:
        return ClickResult(ephemeral=fallback)
    return ClickResult()


def on_reject_reason(inv: Invocation, click: Click) -> ClickResult:
    """The submitted rejection form: reject with the typed reason."""
    target = button_target(inv, click, REJECT)
    if isinstance(target, Report):
        return ClickResult(ephemeral=target)
    return ClickResult(ephemeral=reject(inv.runtime, inv.outbox, target.id, click.user, click.value))


def on_cancel(inv: Invocation, click: Click) -> ClickResult:
    """The Cancel request button (requester or bot admin)."""
    target = button_target(inv, click, CANCEL)
    if isinstance(target, Report):
        return ClickResult(ephemeral=target)
    return ClickResult(ephemeral=cancel(inv.runtime, inv.outbox, target.id, click.user))
