"""Executing an approved request: re-check it, run it once, follow its progress, record how it ended."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.changes import ChangeKind, ChangePlan, Finding, Outcome
from bot.clients.errors import ClientError
from bot.outbox import Outbox
from bot.redact import redact
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
from .recovery import RUNNER

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger("minio_chatops.approvals")


def execute_approved(
    runtime: Runtime,
    outbox: Outbox,
    approval_id: str,
    kinds: Callable[[str], ChangeKind | None],
    *,
    progress: ProgressThread | None = None,
) -> Approval | None:
    """Re-check and execute an ``approved`` request, once. Returns the request as it ended.

    Only the caller that moved the request to ``approved`` calls this; the
    ``approved -> executing`` move guards it again, so a second caller
    (another replica, a retry) finds the row elsewhere and does nothing.
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
    if not advance(runtime, approval_id, EXECUTING, resolution, executed_at=runtime.clock()):
        return runtime.store.approvals.get(approval_id)
    record(runtime, outbox, "execute", BOT_ACTOR, approval=approval, kind=plan.kind, runner=RUNNER,
           requester=approval.requester, approvers=approval.approvers)
    if progress is None:
        progress = ProgressThread(outbox, approval.channel, approval.message_ts, plan.title, stamp=runtime.clock)
    # No card update here: the "Approved" card already says it executes next, and one Slack call
    # less keeps the click-to-execution time short. The next update is the outcome.
    outcome = run_once(runtime, kind, plan, progress, approval_id)
    progress.close(("Done: " if outcome.ok else "Stopped: ") + outcome.summary)
    final = Resolution(headline=outcome.summary, findings=findings, outcome=outcome)
    advance(runtime, approval_id, SUCCEEDED if outcome.ok else FAILED, final)
    record(runtime, outbox, "result", BOT_ACTOR, approval=approval, kind=plan.kind, ok=outcome.ok,
           summary=outcome.summary, lines=outcome.lines[:20])
    return refresh_card(runtime, outbox, approval_id)


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


def run_once(
    runtime: Runtime, kind: ChangeKind, plan: ChangePlan, progress: Callable[[str], None], approval_id: str
) -> Outcome:
    """The change kind's execute; whatever it raises becomes a failed outcome people can act on."""
    try:
        return kind.execute(runtime, plan, progress)
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
    if advance(runtime, approval.id, REFUSED, resolution):
        record(runtime, outbox, "refuse", BOT_ACTOR, approval=approval, stage="recheck",
               reason=why[:1000], checks=[f.check for f in stopped])
    return refresh_card(runtime, outbox, approval.id)
