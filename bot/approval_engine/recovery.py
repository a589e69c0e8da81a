"""What a stopped process left half-way: the leader refuses what never started and resumes what was running.

Every approved or executing request is held by one process through a lease in
the store, renewed while it runs (:mod:`.executor`). Only an *expired* lease
counts as left behind: a live execution is never touched, whatever host its
process runs on (the shell exec'd into the bot's pod is just another process,
and it never recovers anything: ``runtime.recovers`` is False there).

The leader's ``executions`` job (every few seconds, :data:`bot.application.Job.EXECUTIONS`):

* ``approved``, lease expired: ``refused``: nothing ran; request it again.
* ``executing``, lease expired: taken over (one conditional UPDATE: of racing
  leaders exactly one wins) and resumed on this process's change executor: the
  change kind's ``resume`` re-reads the target and follows the change to its end
  (it never writes again), and the outcome lands in the card's thread and on
  the card. After :data:`.machine.MAX_RESUMES` take-overs, or when the plan or
  its kind is unknown here, it ends as "outcome unknown" instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from bot.changes import ChangeKind, ChangePlan, Outcome, outcome_by_recheck
from bot.outbox import Outbox
from bot.store import Approval

from .card import BOT_ACTOR
from .execution import finish, guarded
from .ledger import advance, record, refresh_card
from .machine import FAILED, REFUSED, Leftover, Resolution, abandoned, may_resume, plan_of, resolution_of
from .progress import ProgressThread

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger("minio_chatops.approvals")

UNKNOWN_OUTCOME = "Outcome unknown: the bot stopped while this was executing."
CHECK_BY_HAND = (
    "It was not run again. Check the target by hand (/minio health) and request the change again if it is still needed."
)
RESUMING = "The bot process running this stopped; another one took it over and follows it from here."


def recover(
    runtime: Runtime,
    outbox: Outbox,
    now: datetime | None = None,
    *,
    kinds: Callable[[str], ChangeKind | None] = lambda _name: None,
    scan: int = 500,
) -> list[str]:
    """The leader's sweep: close or resume requests whose holder's lease expired. Returns the ids handled.

    Resumed executions run on this process's change executor; this call only takes them
    over and queues them. Does nothing where ``runtime.recovers`` is False (the shell).
    """
    if not runtime.recovers:
        return []
    now = now or runtime.clock()
    handled: list[str] = []
    ours = runtime.executor.held()  # running here, late to renew (a stalled store): not left behind
    for approval in runtime.store.approvals.lease_expired(now, scan):
        if approval.id in ours:
            continue
        leftover = abandoned(approval, now)
        if leftover == Leftover.NEVER_STARTED and _close_never_started(runtime, outbox, approval, now):
            handled.append(approval.id)
        elif leftover == Leftover.INTERRUPTED and _take_over(runtime, outbox, approval, now, kinds):
            handled.append(approval.id)
    return handled


def _close_never_started(runtime: Runtime, outbox: Outbox, approval: Approval, now: datetime) -> bool:
    resolution = Resolution(headline="The bot stopped after the approval and before executing; "
                            "nothing was changed. Request it again.")
    if not advance(runtime, approval.id, REFUSED, resolution, lease_expired_by=now):
        return False
    record(runtime, outbox, "refuse", BOT_ACTOR, approval=approval, stage="recovery",
           reason="approved but never started", runner=approval.lease_owner)
    refresh_card(runtime, outbox, approval.id)
    return True


def _take_over(
    runtime: Runtime, outbox: Outbox, approval: Approval, now: datetime, kinds: Callable[[str], ChangeKind | None]
) -> bool:
    """Become the holder of an interrupted execution, then resume it on the change executor."""
    executor = runtime.executor
    if not runtime.store.approvals.take_over(approval.id, owner=executor.owner, until=executor.lease_until(), now=now):
        return False  # another leader (or the holder, renewing late) was first
    runtime.metrics.executions_resumed.inc()
    resumes = sum(1 for e in runtime.store.audit.for_approval(approval.id) if e.action == "resume")
    record(runtime, outbox, "resume", BOT_ACTOR, approval=approval, runner=executor.owner,
           previous=approval.lease_owner, resumes=resumes + 1)
    if not executor.submit(approval.id, lambda: resume(runtime, outbox, approval, kinds, resumes=resumes)):
        log.warning("resume not started: the bot is stopping", extra={"approval_id": approval.id})
    return True


def resume(
    runtime: Runtime,
    outbox: Outbox,
    approval: Approval,
    kinds: Callable[[str], ChangeKind | None],
    *,
    resumes: int = 0,
) -> Approval | None:
    """Follow an execution this process took over to its end (the kind's ``resume``); never executes again."""
    plan = plan_of(approval)
    kind = kinds(plan.kind) if plan is not None else None
    if plan is None or kind is None or not may_resume(resumes):
        return _close_unknown(runtime, outbox, approval)
    previous = resolution_of(approval)
    progress = ProgressThread(outbox, approval.channel, approval.message_ts, plan.title, stamp=runtime.clock)
    progress(RESUMING)
    outcome = guarded(_resume_step(kind), runtime, plan, progress, approval.id)
    return finish(runtime, outbox, approval, plan, progress, outcome, previous.findings if previous else [])


def _resume_step(kind: ChangeKind) -> Callable[[Runtime, ChangePlan, Callable[[str], None]], Outcome]:
    # A kind written as a plain class, before `resume` existed, gets the protocol's default.
    step: Callable[[Runtime, ChangePlan, Callable[[str], None]], Outcome] | None = getattr(kind, "resume", None)
    return step or (lambda runtime, plan, progress: outcome_by_recheck(kind, runtime, plan, progress))


def _close_unknown(runtime: Runtime, outbox: Outbox, approval: Approval) -> Approval | None:
    """End an execution that cannot be followed again as failed, "outcome unknown" (it is never run again)."""
    previous = resolution_of(approval)
    outcome = Outcome(ok=False, summary=UNKNOWN_OUTCOME, lines=[CHECK_BY_HAND])
    resolution = Resolution(headline=UNKNOWN_OUTCOME, findings=previous.findings if previous else [], outcome=outcome)
    if not advance(runtime, approval.id, FAILED, resolution, held_by=runtime.executor.owner):
        return runtime.store.approvals.get(approval.id)
    record(runtime, outbox, "result", BOT_ACTOR, approval=approval, ok=None, outcome="unknown",
           summary=UNKNOWN_OUTCOME, runner=approval.lease_owner)
    return refresh_card(runtime, outbox, approval.id)
