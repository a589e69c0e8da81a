"""The approval engine: a destructive change runs at most once, only after another authorised person approves it,
only if its target has not changed since the preview, and always audited.

Handlers build a :class:`~bot.changes.ChangePlan` and call :func:`request_change`;
everything after that lives here, transport-free (the outbox is the one way out)::

    pending --(enough votes)--> approved --(re-check ok)--> executing --> succeeded | failed
       |                           \\--(target changed / preflight fails)--> refused
       +--> rejected (approver, with a reason) | cancelled (requester) | expired (deadline)

- ``machine``: the state machine and its rules, pure (arrows, who may decide, what a click claims, recovery).
- ``ledger``: the writes: one conditional UPDATE per arrow, the audit trail, redrawing the card.
- ``card``: what people see: the card, the plan preview, state sentences, audit lines (spans, no markup).
- ``request``: :func:`request_change`. ``decisions``: approve, reject, cancel, expire.
- ``buttons``: the card's buttons and the rejection form. ``execution``: re-check, execute once, outcome.
- ``executor``: approved changes run on threads of their own, each holding a lease in the store while it runs.
- ``progress``: one thread message per execution, edited at a bounded pace. ``recovery``: what a stopped
  process left (only expired leases): the leader refuses what never started and resumes what was running.

Buttons: ``approve:<id>``, ``reject:<id>``, ``cancel-request:<id>`` with value
``<id>:<plan hash>``; a value that does not match the stored request is refused
and audited. Reject asks for a reason in a form (``reject-reason:<id>:<hash>``)
or via ``/minio reject <id> <reason>``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from bot.application import Capability, Job
from bot.changes import ChangeKind
from bot.outbox import Outbox

from .buttons import on_approve, on_cancel, on_reject, on_reject_reason
from .card import BOT_ACTOR, approval_card, audit_line, plan_sections, title_of
from .decisions import cancel, expire_due, reject
from .execution import execute_approved, start_execution
from .executor import ChangeExecutor
from .ledger import record
from .machine import APPROVE, CANCEL, REJECT, REJECT_REASON, Resolution, plan_of, resolution_of
from .progress import PROGRESS_INTERVAL_S, ProgressThread
from .recovery import recover, resume
from .request import request_change

if TYPE_CHECKING:
    from bot.runtime import Runtime

__all__ = [
    "APPROVE",
    "BOT_ACTOR",
    "CANCEL",
    "PROGRESS_INTERVAL_S",
    "REJECT",
    "REJECT_REASON",
    "ChangeExecutor",
    "ProgressThread",
    "Resolution",
    "approval_card",
    "audit_line",
    "cancel",
    "capability",
    "execute_approved",
    "expire_due",
    "plan_of",
    "plan_sections",
    "record",
    "recover",
    "reject",
    "request_change",
    "resolution_of",
    "resume",
    "start_execution",
    "title_of",
]

# The card's buttons check who may decide inside the engine (requester, the approver rule
# of the plan's action kind, the card's channel), because every refusal there is audited;
# the framework checks the channel before they run.
capability = Capability("approval-engine", "Approval cards: approve, reject (with a reason), cancel; expiry.")
capability.button(APPROVE)(on_approve)
capability.button(REJECT)(on_reject)
capability.button(REJECT_REASON)(on_reject_reason)
capability.button(CANCEL)(on_cancel)
capability.job(Job.EXPIRE)(expire_due)


@capability.job(Job.EXECUTIONS)
def recover_executions(
    runtime: Runtime, outbox: Outbox, now: datetime, kinds: Callable[[str], ChangeKind | None]
) -> list[str]:
    """The leader, every few seconds: refuse or resume what stopped processes left (expired leases only)."""
    return recover(runtime, outbox, now, kinds=kinds)
