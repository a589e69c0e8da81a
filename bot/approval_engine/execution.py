"""Executing an approved request: on the change executor, re-check it, run it once, follow it, record how it ended."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from bot.changes import ChangeKind, ChangePlan, Finding, Outcome
from bot.clients.errors import ClientError
from bot.outbox import Outbox
from bot.redact import redact
from bot.report import Report
from bot.store import Approval

from .card import BOT_ACTOR
from .ledger import advance, record, refresh_card
from .machine import (
    APPROVED,
    EXECUTING,
    FAILED,
    REFUSED,
    SUCCEEDED,
    Resolution,
    blocking,
    integrity_findings,
    plan_of,
)
from .progress import ProgressThread

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger("minio_chatops.approvals")


def start_execution(
    runtime: Runtime, outbox: Outbox, approval_id: str, kinds: Callable[[str], ChangeKind | None]
) -> bool:
    """Run an ``approved`` request on the change executor, not on the caller's (command) thread.

    The caller moved it to ``approved`` with this process's lease (:func:`lease_of`). False
    when the executor is shut down: the lease then expires and the leader refuses the request.
    """
    submitted = runtime.executor.submit(approval_id, partial(execute_approved, runtime, outbox, approval_id, kinds))
    if not submitted:
        log.warning("execution not started: the bot is stopping", extra={"approval_id": approval_id})
    return submitted


def lease_of(runtime: Runtime) -> dict[str, Any]:
    """The lease fields of a move that makes this process the request's holder (for ``advance``)."""
    return {"lease_owner": runtime.executor.owner, "lease_expires_at": runtime.executor.lease_until()}


def execute_approved(
    runtime: Runtime,
    outbox: Outbox,
    approval_id: str,
    kinds: Callable[[str], ChangeKind | None],
    *,
    progress: ProgressThread | None = None,
) -> Approval | None:
    """Re-check and execute an ``approved`` request this process holds, once. Returns the request as it ended.

    Runs on the change executor. Only the caller that moved the request to
    ``approved`` starts this; the ``approved -> executing`` move guards it again
    (status and lease holder), so a second caller finds the row elsewhere and does nothing.
    """
    approval = refresh_card(runtime, outbox, approval_id)  # buttons gone at once
    if approval is None or approval.status != APPROVED:
        return approval
    plan = plan_of(approval)
    kind = kinds(plan.kind) if plan is not None else None
    findings = integrity_findings(approval, plan, kind is not None)
    if plan is not None and kind is not None and not findings:
        findings = recheck(runtime, kind, plan, approval_id)
    if blocking(findings) or plan is None or kind is None:
        return _refuse(runtime, outbox, approval, findings)
    resolution = Resolution(headline="Re-check passed.", findings=findings)
    owner = runtime.executor.owner
    if not advance(runtime, approval_id, EXECUTING, resolution, executed_at=runtime.clock(), held_by=owner):
        return runtime.store.approvals.get(approval_id)
    record(runtime, outbox, "execute", BOT_ACTOR, approval=approval, kind=plan.kind, runner=owner,
           requester=approval.requester, approvers=approval.approvers)
    if progress is None:
        progress = ProgressThread(outbox, approval.channel, approval.message_ts, plan.title, stamp=runtime.clock)
    # No card update here: the "Approved" card already says it executes next, and one Slack call
    # less keeps the click-to-execution time short. The next update is the outcome.
    outcome = guarded(kind.execute, runtime, plan, progress, approval_id)
    return finish(runtime, outbox, approval, plan, progress, outcome, findings)


def finish(
    runtime: Runtime,
    outbox: Outbox,
    approval: Approval,
    plan: ChangePlan,
    progress: ProgressThread,
    outcome: Outcome,
    findings: list[Finding],
) -> Approval | None:
    """Record how an execution this process holds ended: thread, store, audit trail, card.

    When another process took the execution over meanwhile (this one's lease had
    expired), that process says the outcome; this one only logs what it saw.
    """
    progress.close(("Done: " if outcome.ok else "Stopped: ") + outcome.summary)
    final = Resolution(headline=outcome.summary, findings=findings, outcome=outcome)
    status = SUCCEEDED if outcome.ok else FAILED
    if not advance(runtime, approval.id, status, final, held_by=runtime.executor.owner):
        log.warning("outcome not recorded: another process holds this execution now",
                    extra={"approval_id": approval.id, "ok": outcome.ok})
        return runtime.store.approvals.get(approval.id)
    record(runtime, outbox, "result", BOT_ACTOR, approval=approval, kind=plan.kind, ok=outcome.ok,
           summary=outcome.summary, lines=outcome.lines[:20])
    if outcome.report is not None:
        post_outcome_report(outbox, approval, outcome.report)
    return refresh_card(runtime, outbox, approval.id)


def post_outcome_report(outbox: Outbox, approval: Approval, report: Report) -> None:
    """Post an outcome's report (figures, a chart) in the card's thread; a failed post never fails the change."""
    if not approval.channel or not approval.message_ts:
        return
    try:
        outbox.post(approval.channel, report, thread_ts=approval.message_ts)
    except Exception as exc:  # noqa: BLE001 - the outcome is recorded and on the card already
        log.warning("outcome report not posted", extra={"approval_id": approval.id,
                                                         "error_type": type(exc).__name__})


def recheck(runtime: Runtime, kind: ChangeKind, plan: ChangePlan, approval_id: str) -> list[Finding]:
    """The change kind's re-check; a check that cannot run is a failed (blocking) finding, never a pass."""
    try:
        return kind.recheck(runtime, plan)
    except ClientError as exc:
        return [Finding(check="re-check", ok=False, detail=f"Could not re-check: {exc}")]
    except Exception as exc:  # noqa: BLE001 - a broken check refuses; it never runs the change blind
        log.error("re-check failed", extra={"approval_id": approval_id, "error_type": type(exc).__name__,
                                             "error": redact(str(exc))[:300]})
        return [Finding(check="re-check", ok=False, detail=f"The re-check failed unexpectedly ({type(exc).__name__}).")]


def guarded(
    step: Callable[[Runtime, ChangePlan, Callable[[str], None]], Outcome],
    runtime: Runtime,
    plan: ChangePlan,
    progress: Callable[[str], None],
    approval_id: str,
) -> Outcome:
    """A change kind's execute (or resume); whatever it raises becomes a failed outcome people can act on."""
    try:
        return step(runtime, plan, progress)
    except ClientError as exc:
        return Outcome(ok=False, summary=f"Failed: {exc}")
    except Exception as exc:  # noqa: BLE001 - the row must still end as failed, with a reason people can use
        log.error("execution failed", extra={"approval_id": approval_id, "error_type": type(exc).__name__,
                                              "error": redact(str(exc))[:300]})
        return Outcome(ok=False, summary=f"Failed unexpectedly ({type(exc).__name__}); see the bot's logs.")


def _refuse(runtime: Runtime, outbox: Outbox, approval: Approval, findings: list[Finding]) -> Approval | None:
    """End an approved request as refused: the re-check (or the plan itself) says it must not run."""
    stopped = blocking(findings)
    why = "; ".join(f.detail for f in stopped[:3])
    resolution = Resolution(headline=f"Refused at approval time: {why}", findings=findings)
    if advance(runtime, approval.id, REFUSED, resolution, held_by=runtime.executor.owner):
        record(runtime, outbox, "refuse", BOT_ACTOR, approval=approval, stage="recheck",
               reason=why[:1000], checks=[f.check for f in stopped])
    return refresh_card(runtime, outbox, approval.id)
