"""The approval engine: a destructive change runs at most once, only after another authorised person approves it,
only if its target has not changed since the preview, and always audited.

Handlers build a :class:`~bot.changes.ChangePlan` and call :func:`request_change`;
everything after that lives here, transport-free (the Slack specifics are in
``bot/app.py`` and ``bot/delivery.py``):

State machine (one row in ``approvals``; every arrow is one conditional UPDATE,
so among concurrent clicks or replicas exactly one caller wins it)::

    pending --(enough votes)--> approved --(re-check ok)--> executing --> succeeded | failed
       |                           \\--(target changed / preflight fails)--> refused
       +--> rejected (approver, with a reason) | cancelled (requester) | expired (deadline)

- A vote is one INSERT guarded by a unique key (one per user); when the votes
  reach the rule's ``required`` count, ``pending -> approved`` decides the winner.
- The winner removes the buttons at once, re-checks (plan hash, target
  resourceVersion, preflight) and moves ``approved -> executing`` before calling
  the change kind's ``execute``; anything that finds the row elsewhere does nothing.
- A process that dies while executing leaves the row in ``executing``. On the
  first engine use of a new process (and every :func:`expire_due` run), such
  rows are closed as ``failed`` with "outcome unknown" and never re-executed.

Buttons: ``approve:<id>``, ``reject:<id>``, ``cancel-request:<id>`` with value
``<id>:<plan hash>``; a value that does not match the stored request is refused
and audited. Reject asks for a reason in a form (``reject-reason:<id>:<hash>``)
or via ``/minio reject <id> <reason>``.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
import socket
import threading
import time
import weakref
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.application import Capability, Job
from bot.changes import ChangeKind, ChangePlan, Finding, Outcome, seal
from bot.clients.errors import ClientError
from bot.commands import escape
from bot.config import TenantConfig
from bot.interactions import Click, ClickResult
from bot.outbox import Outbox, OutboxError, Prompt
from bot.redact import redact
from bot.report import Action, KeyValue, Report, Row, Section, Status, notice
from bot.store import Approval, ApprovalStatus, AuditEvent

if TYPE_CHECKING:
    from bot.invocation import Invocation
    from bot.runtime import Runtime

log = logging.getLogger("minio_chatops.approvals")
audit_log = logging.getLogger("minio_chatops.audit")

APPROVE = "approve"
REJECT = "reject"
REJECT_REASON = "reject-reason"
CANCEL = "cancel-request"

PROGRESS_INTERVAL_S = 10.0  # one progress message per card, edited at most this often (Slack rate limits)
STALE_EXECUTION_AFTER = timedelta(hours=1)  # an execution older than this with no result is from a dead process
STALE_APPROVED_AFTER = timedelta(minutes=5)  # approved but never started: the winner died before executing
MIN_REASON_CHARS = 3
BOT_ACTOR = "bot"

HOST = socket.gethostname()
# Who runs executions in this process. A later process on the same host (a restarted
# container keeps its pod name) recognises executions left behind by an earlier one.
RUNNER = f"{HOST}:{os.getpid()}:{secrets.token_hex(4)}"

PENDING = ApprovalStatus.PENDING
APPROVED = ApprovalStatus.APPROVED
EXECUTING = ApprovalStatus.EXECUTING


class Resolution(BaseModel):
    """Why a request ended where it is; stored as JSON in ``approvals.result``."""

    model_config = ConfigDict(frozen=True)

    headline: str
    lines: list[str] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)  # the re-check after approval
    outcome: Outcome | None = None

    def dump(self) -> str:
        return self.model_dump_json()


def resolution_of(approval: Approval) -> Resolution | None:
    """The stored resolution of a request (None while nothing was decided)."""
    if not approval.result:
        return None
    try:
        return Resolution.model_validate_json(approval.result)
    except ValidationError:
        return Resolution(headline=approval.result[:500])


def plan_of(approval: Approval) -> ChangePlan | None:
    """The stored plan, or None when it cannot be read (never executed then)."""
    try:
        return ChangePlan.model_validate(approval.plan)
    except ValidationError:
        return None


# ----------------------------------------------------------------------------- audit


def audit_line(event: AuditEvent) -> str:
    """One audit event as one line of mrkdwn."""
    actor = event.actor if event.actor == BOT_ACTOR else f"<@{event.actor}>"
    parts = [f"`{event.at:%Y-%m-%d %H:%M:%S}` *{event.action}* by {actor}"]
    detail = event.detail or {}
    if detail.get("kind"):
        parts.append(f"{detail['kind']}")
    if event.tenant:
        parts.append(f"on `{event.tenant}`")
    if event.approval_id:
        parts.append(f"request `{event.approval_id}`")
    if event.plan_hash:
        parts.append(f"plan `{event.plan_hash[:12]}`")
    text = " · ".join(parts)
    why = detail.get("reason") or detail.get("summary")
    if why:
        text += f": {escape(str(why), 200)}"
    return text


def record(
    runtime: Runtime,
    outbox: Outbox | None,
    action: str,
    actor: str,
    *,
    approval: Approval | None = None,
    tenant: str | None = None,
    plan_hash: str | None = None,
    **detail: Any,
) -> AuditEvent:
    """Append one audit event, log it as a structured line, and copy it to the audit channel if configured."""
    if approval is not None:
        detail.setdefault("kind", approval.kind)
    event = runtime.store.audit.append(
        actor=actor,
        action=action,
        tenant=tenant or (approval.tenant if approval else None),
        approval_id=approval.id if approval else None,
        plan_hash=plan_hash or (approval.plan_hash if approval else None),
        detail=json.loads(json.dumps(detail, default=str)),
        at=runtime.clock(),
    )
    audit_log.info(
        "audit",
        extra={
            "audit_action": event.action,
            "actor": event.actor,
            "tenant": event.tenant,
            "approval_id": event.approval_id,
            "plan_hash": event.plan_hash,
            "detail": json.dumps(event.detail, sort_keys=True),
        },
    )
    channel = runtime.config.audit_channel
    if channel and outbox is not None:
        outbox.notify(channel, Report(title="", summary=audit_line(event)))
    return event


# ----------------------------------------------------------------------------- the card


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _finding_row(finding: Finding) -> Row:
    if finding.ok:
        status = Status.HEALTHY
    else:
        status = Status.UNHEALTHY if finding.blocking else Status.DEGRADED
    return Row(status=status, text=f"*{finding.check}*: {finding.detail}")


_HEADLINES = {
    ApprovalStatus.APPROVED: ":arrows_counterclockwise: Approved: re-checking the target and the preflight, then "
    "executing (progress in the thread).",
    ApprovalStatus.EXECUTING: ":gear: Executing; progress in the thread.",
    ApprovalStatus.SUCCEEDED: ":white_check_mark: Done.",
    ApprovalStatus.FAILED: ":x: Failed.",
    ApprovalStatus.REFUSED: ":no_entry: Refused after approval: nothing was changed.",
    ApprovalStatus.REJECTED: ":no_entry_sign: Rejected: nothing was changed.",
    ApprovalStatus.EXPIRED: ":hourglass: Expired without approval: nothing was changed.",
    ApprovalStatus.CANCELLED: ":heavy_multiplication_x: Cancelled: nothing was changed.",
}

_TITLES = {
    ApprovalStatus.PENDING: "Approval needed",
    ApprovalStatus.APPROVED: "Approved",
    ApprovalStatus.EXECUTING: "Executing",
    ApprovalStatus.SUCCEEDED: "Done",
    ApprovalStatus.FAILED: "Failed",
    ApprovalStatus.REFUSED: "Refused",
    ApprovalStatus.REJECTED: "Rejected",
    ApprovalStatus.EXPIRED: "Expired",
    ApprovalStatus.CANCELLED: "Cancelled",
}


def plan_sections(plan: ChangePlan) -> list[Section]:
    """The preview: what changes, the dry run and the preflight findings."""
    lines = [f"• {c.what}: {c.before} → {c.after}" for c in plan.changes]
    lines += [f"• {note}" for note in plan.notes]
    sections = [Section(title="What changes", lines=lines or ["(nothing to show)"])]
    if plan.dry_run is not None:
        mark = Status.HEALTHY if plan.dry_run.ok else Status.UNHEALTHY
        row = Row(status=mark, text=plan.dry_run.detail)
        sections.append(Section(title="Kubernetes server-side dry run", rows=[row]))
    if plan.preflight:
        sections.append(Section(title="Preflight at request time", rows=[_finding_row(f) for f in plan.preflight]))
    return sections


def approval_card(approval: Approval, plan: ChangePlan | None = None) -> Report:
    """The card for a request in its current state (buttons only while it is pending)."""
    plan = plan or plan_of(approval)
    title = plan.title if plan else f"{approval.kind} on {approval.tenant}"
    status = ApprovalStatus(approval.status)
    resolution = resolution_of(approval)
    votes = approval.approvers
    summary: list[str] = []
    if status == PENDING:
        needed = _plural(approval.approvals_required, "approval")
        action_kind = plan.action_kind if plan else approval.kind
        summary.append(
            f":hourglass_flowing_sand: <@{approval.requester}> asks to: *{title}*. Needs {needed} from "
            f"`{action_kind}` approvers other than the requester, by {_when(approval.expires_at)}."
        )
        if votes:
            summary.append(
                f"Approved so far by {', '.join(f'<@{v}>' for v in votes)} "
                f"({len(votes)} of {approval.approvals_required})."
            )
    else:
        summary.append(_HEADLINES.get(status, status.value))
        summary.append(f"Requested by <@{approval.requester}>.")
        if votes:
            summary.append(f"Approved by {', '.join(f'<@{v}>' for v in votes)}.")
    if resolution is not None and resolution.headline:
        summary.append(resolution.headline)
    sections = plan_sections(plan) if plan else [Section(title="Plan", error="the stored plan could not be read")]
    if resolution is not None and resolution.findings:
        sections.append(
            Section(title="Re-check after approval", rows=[_finding_row(f) for f in resolution.findings])
        )
    if resolution is not None and resolution.outcome is not None:
        outcome = resolution.outcome
        sections.append(
            Section(
                title="Outcome",
                status=Status.HEALTHY if outcome.ok else Status.UNHEALTHY,
                lines=[outcome.summary, *outcome.lines][:40],
            )
        )
    elif resolution is not None and resolution.lines:
        sections.append(Section(title="Details", lines=resolution.lines[:40]))
    if plan is not None:
        fields = [KeyValue(label="Risk", value=plan.risk), KeyValue(label="Tenant", value=plan.tenant)]
        if plan.targets:
            fields.append(KeyValue(label="Target", value="\n".join(t.label() for t in plan.targets[:5])))
        sections.append(Section(title="Summary", fields=fields))
    footer = [
        f"Request `{approval.id}` · plan hash `{approval.plan_hash[:12]}`"
        + (f" · resourceVersion `{approval.resource_version}`" if approval.resource_version else "")
    ]
    actions: list[Action] = []
    if status == PENDING:
        value = f"{approval.id}:{approval.plan_hash}"
        actions = [
            Action(
                label="Approve",
                action_id=f"{APPROVE}:{approval.id}",
                value=value,
                style="primary",
                confirm=f"Approve “{title}”? It runs once the required approvals are in, after a fresh re-check "
                "of the target and the preflight.",
            ),
            Action(
                label="Reject",
                action_id=f"{REJECT}:{approval.id}",
                value=value,
                style="danger",
                confirm="Reject this request? You will be asked for a reason, which the requester sees.",
            ),
            Action(
                label="Cancel request",
                action_id=f"{CANCEL}:{approval.id}",
                value=value,
                confirm="Cancel this request? Only the requester (or a bot admin) can.",
            ),
        ]
    return Report(
        title=f"{_TITLES.get(status, status.value)}: {title}",
        summary="\n".join(summary),
        sections=sections,
        actions=actions,
        footer=footer,
    )


def refresh_card(runtime: Runtime, outbox: Outbox, approval_id: str) -> Approval | None:
    """Redraw a request's card from the store (a failure is logged, never raised)."""
    approval = runtime.store.approvals.get(approval_id)
    if approval is None or not approval.channel or not approval.message_ts:
        return approval
    try:
        outbox.update(approval.channel, approval.message_ts, approval_card(approval))
    except Exception as exc:  # noqa: BLE001 - e.g. the card was deleted; the store and audit stay right
        log.warning("card update failed", extra={"approval_id": approval_id, "error_type": type(exc).__name__})
    return approval


# ----------------------------------------------------------------------------- progress


class ProgressThread:
    """Progress of one execution as a single message in the card's thread, edited in place.

    The first line posts the message; later lines edit it at most once per
    ``interval_s`` (Slack rate-limits edits), and :meth:`close` flushes the rest.
    Without a card (``channel`` or ``thread_ts`` None) lines are only collected.
    """

    def __init__(
        self,
        outbox: Outbox,
        channel: str | None,
        thread_ts: str | None,
        title: str,
        *,
        stamp: Callable[[], datetime],
        interval_s: float = PROGRESS_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
        max_lines: int = 40,
    ) -> None:
        self.outbox = outbox
        self.channel = channel
        self.thread_ts = thread_ts
        self.title = title
        self.lines: list[str] = []
        self._stamp = stamp
        self._interval = interval_s
        self._clock = clock
        self._max = max_lines
        self._ts: str | None = None
        self._last = 0.0
        self._dirty = False
        self._lock = threading.Lock()
        self.posts = 0  # messages posted and edits made, for tests and metrics
        self.edits = 0

    def __call__(self, text: str) -> None:
        with self._lock:
            self.lines.append(f"`{self._stamp():%H:%M:%S}` {text}")
            now = self._clock()
            if self._ts is None:
                self._post(now)
            elif now - self._last >= self._interval:
                self._edit(now)
            else:
                self._dirty = True

    def close(self, final: str | None = None) -> None:
        """Add the last line (if any) and make sure the message shows every line."""
        with self._lock:
            if final:
                self.lines.append(f"`{self._stamp():%H:%M:%S}` {final}")
                self._dirty = True
            if self._ts is None and self.lines:
                self._post(self._clock())
            elif self._dirty:
                self._edit(self._clock())

    def report(self) -> Report:
        shown = self.lines[-self._max :]
        if len(self.lines) > len(shown):
            shown = [f"… {len(self.lines) - len(shown)} earlier lines", *shown]
        return Report(title=f"Progress: {self.title}", sections=[Section(title="Steps", lines=shown)])

    def _post(self, now: float) -> None:
        if not self.channel or not self.thread_ts:
            return
        try:
            self._ts = self.outbox.post(self.channel, self.report(), thread_ts=self.thread_ts)
            self.posts += 1
        except Exception as exc:  # noqa: BLE001 - progress is a courtesy; the change goes on
            log.warning("progress post failed", extra={"error_type": type(exc).__name__})
        self._last, self._dirty = now, False

    def _edit(self, now: float) -> None:
        if self._ts is None or not self.channel:
            self._post(now)
            return
        try:
            self.outbox.update(self.channel, self._ts, self.report())
            self.edits += 1
        except Exception as exc:  # noqa: BLE001
            log.warning("progress update failed", extra={"error_type": type(exc).__name__})
        self._last, self._dirty = now, False


# ----------------------------------------------------------------------------- requesting


def _tenant(runtime: Runtime, name: str) -> TenantConfig | None:
    return next((t for t in runtime.tenants() if t.name == name), None)


def _others_can_approve(runtime: Runtime, tenant: TenantConfig, action_kind: str, requester: str) -> bool:
    principals = [*tenant.approval_rule(action_kind).approvers, *runtime.config.admins]
    # A user group may hold anyone: only plain user lists can be ruled out here.
    return any(p.startswith("S") or p != requester for p in principals)


def request_change(inv: Invocation, plan: ChangePlan, *, approval_required: bool = True) -> Report:
    """Store a request for ``plan``, audit it, post its approval card and return a short confirmation.

    The card goes to the tenant's ``approval_channel`` or else the current
    channel. A plan whose preview already failed (blocking preflight, failed
    dry run) is not requested: the caller is told why, and the refusal is
    audited. With ``approval_required=False`` (a kind configured to need no
    approval) the change is re-checked and executed at once, still through the
    same states and audit trail, and the outcome is returned.
    """
    runtime = inv.runtime
    ensure_recovered(runtime, inv.outbox)
    kind = inv.app.change_kind(plan.kind)
    if kind is None or kind.action_kind != plan.action_kind:
        raise ValueError(f"change kind {plan.kind!r} is not registered for action kind {plan.action_kind!r}")
    if plan.plan_hash != plan.compute_hash():
        plan = seal(plan)
    tenant = inv.tenant(plan.tenant)
    failures = plan.blocking_failures()
    if failures:
        record(runtime, inv.outbox, "refuse", inv.user, tenant=plan.tenant, plan_hash=plan.plan_hash,
               stage="request", kind=plan.kind, reason="; ".join(f.detail for f in failures)[:1000])
        return Report(
            title=f"Not requested: {plan.title}",
            summary=":no_entry: The preview found a problem, so nothing was requested:\n"
            + "\n".join(f"• *{f.check}*: {f.detail}" for f in failures),
            sections=plan_sections(plan),
            ephemeral=True,
            failed=True,
        )
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
    if not approval_required:
        return _run_without_approval(inv, approval, plan)
    try:
        ts = inv.outbox.post(channel, approval_card(approval, plan))
    except OutboxError as exc:
        reason = f"the approval card could not be posted in <#{channel}> ({exc})"
        if runtime.store.approvals.transition(
            approval.id, {PENDING}, ApprovalStatus.CANCELLED, decided_at=now,
            result=Resolution(headline=f"Cancelled: {reason}.").dump(),
        ):
            record(runtime, inv.outbox, "cancel", BOT_ACTOR, approval=approval, reason=reason)
        return notice(f"Nothing was requested: {escape(reason, 300)}. Invite the bot there, or ask an admin.")
    runtime.store.approvals.set_message(approval.id, channel=channel, message_ts=ts)
    where = "below" if channel == inv.channel else f"in <#{channel}>"
    link = inv.outbox.permalink(channel, ts)
    lines = [
        f"Request `{approval.id}`: the approval card is {where}" + (f" ({link})" if link else "") + ".",
        f"It needs {_plural(approval.approvals_required, 'approval')} from `{plan.action_kind}` approvers "
        f"other than you, by {_when(approval.expires_at)}. Cancel it with `/minio cancel {approval.id}`.",
    ]
    if not _others_can_approve(runtime, tenant, plan.action_kind, inv.user):
        lines.append(
            f":warning: Nobody else is configured to approve `{plan.action_kind}` on `{plan.tenant}`: "
            "ask an admin to add approvers."
        )
    return Report(title=f"Requested: {plan.title}", summary="\n".join(lines), ephemeral=True)


def _run_without_approval(inv: Invocation, approval: Approval, plan: ChangePlan) -> Report:
    runtime = inv.runtime
    note = Resolution(headline="No approval needed for this change (configuration).")
    if not runtime.store.approvals.transition(approval.id, {PENDING}, APPROVED, decided_at=runtime.clock(),
                                              result=note.dump()):
        return notice("This request was decided elsewhere before it could run.")
    record(runtime, inv.outbox, "approved", inv.user, approval=approval, automatic=True,
           reason="no approval required by configuration")
    progress = ProgressThread(inv.outbox, None, None, plan.title, stamp=runtime.clock)
    final = execute_approved(runtime, inv.outbox, approval.id, inv.app.change_kind, progress=progress)
    card = approval_card(final or approval, plan)
    sections = [*card.sections]
    if progress.lines:
        sections.append(Section(title="Progress", lines=progress.lines[-40:]))
    return card.model_copy(update={"sections": sections, "ephemeral": False, "actions": []})


# ----------------------------------------------------------------------------- executing


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
    ``approved -> executing`` transition guards it again, so a second caller
    (another replica, a retry) finds the row elsewhere and does nothing.
    """
    store = runtime.store
    approval = refresh_card(runtime, outbox, approval_id)  # buttons gone at once
    if approval is None or approval.status != APPROVED:
        return approval
    plan = plan_of(approval)
    findings: list[Finding] = []
    if plan is None or not hmac.compare_digest(plan.compute_hash(), approval.plan_hash):
        findings.append(Finding(check="plan integrity", ok=False,
                                detail="The stored plan does not match its hash; it will not be run."))
    kind = kinds(plan.kind) if plan is not None else None
    if plan is not None and kind is None:
        findings.append(Finding(check="change kind", ok=False,
                                detail=f"This bot does not know how to run `{plan.kind}` changes."))
    if plan is not None and kind is not None and not findings:
        try:
            findings += kind.recheck(runtime, plan)
        except ClientError as exc:
            findings.append(Finding(check="re-check", ok=False, detail=f"Could not re-check: {exc}"))
        except Exception as exc:  # noqa: BLE001 - a broken check refuses; it never runs the change blind
            log.error("re-check failed", extra={"approval_id": approval_id, "error_type": type(exc).__name__,
                                                 "error": redact(str(exc))[:300]})
            findings.append(Finding(check="re-check", ok=False,
                                    detail=f"The re-check failed unexpectedly ({type(exc).__name__})."))
    blocking = [f for f in findings if not f.ok and f.blocking]
    now = runtime.clock()
    if blocking or plan is None or kind is None:
        why = "; ".join(f.detail for f in blocking[:3])
        resolution = Resolution(headline=f"Refused at approval time: {why}", findings=findings)
        if store.approvals.transition(approval_id, {APPROVED}, ApprovalStatus.REFUSED, result=resolution.dump()):
            record(runtime, outbox, "refuse", BOT_ACTOR, approval=approval, stage="recheck",
                   reason=why[:1000], checks=[f.check for f in blocking])
        return refresh_card(runtime, outbox, approval_id)
    resolution = Resolution(headline="Re-check passed.", findings=findings)
    if not store.approvals.transition(approval_id, {APPROVED}, EXECUTING, executed_at=now, result=resolution.dump()):
        return store.approvals.get(approval_id)
    record(runtime, outbox, "execute", BOT_ACTOR, approval=approval, kind=plan.kind, runner=RUNNER,
           requester=approval.requester, approvers=approval.approvers)
    if progress is None:
        progress = ProgressThread(outbox, approval.channel, approval.message_ts, plan.title, stamp=runtime.clock)
    # No card update here: the "Approved" card already says it executes next, and one Slack call
    # less keeps the click-to-execution time short. The next update is the outcome.
    try:
        outcome = kind.execute(runtime, plan, progress)
    except ClientError as exc:
        outcome = Outcome(ok=False, summary=f"Failed: {exc}")
    except Exception as exc:  # noqa: BLE001 - the row must still end as failed, with a reason people can use
        log.error("execution failed", extra={"approval_id": approval_id, "error_type": type(exc).__name__,
                                              "error": redact(str(exc))[:300]})
        outcome = Outcome(ok=False, summary=f"Failed unexpectedly ({type(exc).__name__}); see the bot's logs.")
    progress.close(("Done: " if outcome.ok else "Stopped: ") + outcome.summary)
    final = Resolution(headline=outcome.summary, findings=findings, outcome=outcome)
    status = ApprovalStatus.SUCCEEDED if outcome.ok else ApprovalStatus.FAILED
    store.approvals.transition(approval_id, {EXECUTING}, status, result=final.dump())
    record(runtime, outbox, "result", BOT_ACTOR, approval=approval, kind=plan.kind, ok=outcome.ok,
           summary=outcome.summary, lines=outcome.lines[:20])
    return refresh_card(runtime, outbox, approval_id)


# ----------------------------------------------------------------------------- deciding


def _status_text(approval: Approval) -> str:
    resolution = resolution_of(approval)
    why = f" {resolution.headline}" if resolution and resolution.headline else ""
    texts = {
        APPROVED: "This request is already approved and is being executed (see its card).",
        EXECUTING: "This request is already approved and is being executed (see its card).",
        ApprovalStatus.SUCCEEDED: "This request was already approved and executed.",
        ApprovalStatus.FAILED: "This request was already approved and executed; it failed." + why,
        ApprovalStatus.REFUSED: "This request was approved but refused at the re-check; request it again." + why,
        ApprovalStatus.REJECTED: "This request was already rejected." + why,
        ApprovalStatus.EXPIRED: f"This request expired at {_when(approval.expires_at)}; request it again.",
        ApprovalStatus.CANCELLED: "This request was cancelled." + why,
    }
    return texts.get(ApprovalStatus(approval.status), f"This request is {approval.status}.")


def _expire(runtime: Runtime, outbox: Outbox, approval: Approval, now: datetime) -> bool:
    """Move one overdue pending request to expired (True if this caller did) and update its card."""
    resolution = Resolution(headline=f"Expired at {_when(approval.expires_at)} without the required approvals.")
    if not runtime.store.approvals.transition(approval.id, {PENDING}, ApprovalStatus.EXPIRED, decided_at=now,
                                              result=resolution.dump()):
        return False
    record(runtime, outbox, "expire", BOT_ACTOR, approval=approval, expires_at=approval.expires_at.isoformat())
    refresh_card(runtime, outbox, approval.id)
    return True


def _still_pending(runtime: Runtime, outbox: Outbox, approval: Approval) -> str | None:
    """None when the request can still be decided; otherwise why not (expiring it when its time is up)."""
    if approval.status != PENDING:
        return _status_text(approval)
    if approval.expires_at <= runtime.clock():
        _expire(runtime, outbox, approval, runtime.clock())
        return f"This request expired at {_when(approval.expires_at)}; request it again."
    return None


def _refuse(runtime: Runtime, outbox: Outbox, user: str, text: str, *, stage: str, reason: str,
            approval: Approval | None = None, **detail: Any) -> ClickResult:
    record(runtime, outbox, "refuse", user, approval=approval, stage=stage, reason=reason, **detail)
    return ClickResult(ephemeral=notice(text))


def _button_target(inv: Invocation, click: Click, stage: str) -> Approval | ClickResult:
    """The request a card button (or form) refers to, after checking the value and where it was pressed.

    action_id ``<prefix>:<id>[:<hash>]``, value ``<id>:<hash>`` (forms carry the hash in the action id).
    """
    runtime, outbox = inv.runtime, inv.outbox
    parts = click.action_id.split(":")
    approval_id = parts[1] if len(parts) > 1 else ""
    if len(parts) > 2:
        value_id, claimed_hash = approval_id, parts[2]
    else:
        value_id, _, claimed_hash = click.value.partition(":")
    approval = runtime.store.approvals.get(approval_id) if 0 < len(approval_id) <= 32 else None
    if approval is None or value_id != approval_id or not hmac.compare_digest(
        claimed_hash.encode(), approval.plan_hash.encode()
    ):
        return _refuse(
            runtime, outbox, click.user,
            "This button does not match any approval request (it may have been altered). Nothing was done.",
            stage=stage, reason="button value does not match the stored request", approval=approval,
            action_id=click.action_id[:120], value=click.value[:200],
        )
    if (approval.channel and click.channel != approval.channel) or (
        approval.message_ts and click.message_ts and click.message_ts != approval.message_ts
    ):
        return _refuse(
            runtime, outbox, click.user,
            f"This request can only be decided on its card in <#{approval.channel}>.",
            stage=stage, reason="pressed outside the request's card", approval=approval, channel=click.channel,
        )
    return approval


def _may_decide(runtime: Runtime, outbox: Outbox, approval: Approval, user: str, stage: str) -> ClickResult | None:
    """Refuse self-approval and people outside the approver group (both audited)."""
    plan = plan_of(approval)
    action_kind = plan.action_kind if plan else approval.kind
    if user == approval.requester:
        text = (
            "You requested this change; someone else must approve it."
            if stage == APPROVE
            else "You requested this change: use *Cancel request* (or `/minio cancel "
            f"{approval.id}`) instead of rejecting it."
        )
        return _refuse(runtime, outbox, user, text, stage=stage, reason="the requester may not decide",
                       approval=approval)
    tenant = _tenant(runtime, approval.tenant)
    if tenant is None:
        return _refuse(runtime, outbox, user, f"Tenant `{approval.tenant}` is no longer configured.",
                       stage=stage, reason="unknown tenant", approval=approval)
    if not runtime.access.can_approve(user, tenant, action_kind):
        return _refuse(
            runtime, outbox, user,
            f"Only `{action_kind}` approvers of `{approval.tenant}` may {stage} this request, and you are not one.",
            stage=stage, reason="not an approver", approval=approval,
        )
    return None


def on_approve(inv: Invocation, click: Click) -> ClickResult:
    """The Approve button: vote; the vote that reaches the required count executes the change."""
    runtime, outbox = inv.runtime, inv.outbox
    ensure_recovered(runtime, outbox)
    target = _button_target(inv, click, APPROVE)
    if isinstance(target, ClickResult):
        return target
    approval = target
    blocked = _still_pending(runtime, outbox, approval)
    if blocked:
        return ClickResult(ephemeral=notice(blocked))
    refusal = _may_decide(runtime, outbox, approval, click.user, APPROVE)
    if refusal is not None:
        return refusal
    store = runtime.store
    if not store.approvals.add_vote(approval.id, click.user, at=runtime.clock()):
        return ClickResult(ephemeral=notice("You already approved this request."))
    record(runtime, outbox, "approve", click.user, approval=approval)
    # With one approval required, this vote is enough (the requester's own is refused above):
    # skipping the read keeps the click-to-execution path short.
    votes = (
        [click.user]
        if approval.approvals_required == 1
        else [v.user for v in store.approvals.votes(approval.id) if v.user != approval.requester]
    )
    if len(votes) < approval.approvals_required:
        refresh_card(runtime, outbox, approval.id)
        missing = approval.approvals_required - len(votes)
        return ClickResult(ephemeral=notice(f"Your approval is recorded; {_plural(missing, 'more approval')} needed."))
    if not store.approvals.transition(approval.id, {PENDING}, APPROVED, decided_at=runtime.clock()):
        current = store.approvals.get(approval.id)
        return ClickResult(ephemeral=notice(_status_text(current) if current else "This request is gone."))
    record(runtime, outbox, "approved", click.user, approval=approval, approvers=votes)
    execute_approved(runtime, outbox, approval.id, inv.app.change_kind)
    return ClickResult()


def on_reject(inv: Invocation, click: Click) -> ClickResult:
    """The Reject button: ask the approver for a reason (a form), or point at the command."""
    runtime, outbox = inv.runtime, inv.outbox
    target = _button_target(inv, click, REJECT)
    if isinstance(target, ClickResult):
        return target
    approval = target
    blocked = _still_pending(runtime, outbox, approval)
    if blocked:
        return ClickResult(ephemeral=notice(blocked))
    refusal = _may_decide(runtime, outbox, approval, click.user, REJECT)
    if refusal is not None:
        return refusal
    fallback = notice(f"Reject it with a reason: `/minio reject {approval.id} <reason>`.")
    if not click.trigger_id or not approval.channel or not approval.message_ts:
        return ClickResult(ephemeral=fallback)
    plan = plan_of(approval)
    prompt = Prompt(
        callback_id=f"{REJECT_REASON}:{approval.id}:{approval.plan_hash}",
        title="Reject request",
        label=f"Why reject “{plan.title if plan else approval.kind}”? The requester will see this.",
        channel=approval.channel,
        message_ts=approval.message_ts,
        submit="Reject",
        placeholder="e.g. not during business hours; drive 3 is still healing",
        min_length=MIN_REASON_CHARS,
        max_length=500,
    )
    try:
        outbox.open_modal(click.trigger_id, prompt)
    except OutboxError:
        return ClickResult(ephemeral=fallback)
    return ClickResult()


def on_reject_reason(inv: Invocation, click: Click) -> ClickResult:
    """The submitted rejection form: reject with the typed reason."""
    target = _button_target(inv, click, REJECT)
    if isinstance(target, ClickResult):
        return target
    return ClickResult(ephemeral=reject(inv.runtime, inv.outbox, target.id, click.user, click.value))


def on_cancel(inv: Invocation, click: Click) -> ClickResult:
    """The Cancel request button (requester or bot admin)."""
    target = _button_target(inv, click, CANCEL)
    if isinstance(target, ClickResult):
        return target
    return ClickResult(ephemeral=cancel(inv.runtime, inv.outbox, target.id, click.user))


def reject(runtime: Runtime, outbox: Outbox, approval_id: str, user: str, reason: str,
           *, channel: str | None = None) -> Report:
    """Reject a pending request with a reason (from the form or `/minio reject`).

    ``channel`` (the command's channel) must be the card's channel or one that
    can see the tenant; the form path has been checked against the card already.
    """
    ensure_recovered(runtime, outbox)
    approval = runtime.store.approvals.get(approval_id) if len(approval_id) <= 32 else None
    if approval is None:
        return notice(f"There is no approval request `{escape(approval_id, 40)}`. See `/minio approvals`.")
    if channel is not None and not _channel_may_decide(runtime, approval, channel):
        return notice(f"Request `{approval.id}` cannot be decided from this channel.")
    blocked = _still_pending(runtime, outbox, approval)
    if blocked:
        return notice(blocked)
    refusal = _may_decide(runtime, outbox, approval, user, REJECT)
    if refusal is not None:
        return refusal.ephemeral or notice("Refused.")
    reason = " ".join(reason.split())
    if len(reason) < MIN_REASON_CHARS:
        return notice(f"Say why you reject it (at least {MIN_REASON_CHARS} characters): "
                      f"`/minio reject {approval.id} <reason>`.")
    resolution = Resolution(headline=f"Rejected by <@{user}>: {escape(reason, 500)}")
    if not runtime.store.approvals.transition(approval.id, {PENDING}, ApprovalStatus.REJECTED,
                                              decided_at=runtime.clock(), result=resolution.dump()):
        current = runtime.store.approvals.get(approval.id)
        return notice(_status_text(current) if current else "This request is gone.")
    record(runtime, outbox, "reject", user, approval=approval, reason=reason[:500])
    refresh_card(runtime, outbox, approval.id)
    return Report(title="", summary=f"Rejected request `{approval.id}`. The card says why.", ephemeral=True)


def cancel(runtime: Runtime, outbox: Outbox, approval_id: str, user: str, *, channel: str | None = None) -> Report:
    """Cancel a pending request: its requester (or a bot admin) only."""
    ensure_recovered(runtime, outbox)
    approval = runtime.store.approvals.get(approval_id) if len(approval_id) <= 32 else None
    if approval is None:
        return notice(f"There is no approval request `{escape(approval_id, 40)}`. See `/minio approvals`.")
    if channel is not None and not _channel_may_decide(runtime, approval, channel):
        return notice(f"Request `{approval.id}` cannot be cancelled from this channel.")
    if user != approval.requester and not runtime.access.is_admin(user):
        record(runtime, outbox, "refuse", user, approval=approval, stage=CANCEL, reason="not the requester")
        return notice(f"Only <@{approval.requester}>, who requested it, can cancel this request.")
    blocked = _still_pending(runtime, outbox, approval)
    if blocked:
        return notice(blocked)
    by = "its requester" if user == approval.requester else f"<@{user}> (bot admin)"
    resolution = Resolution(headline=f"Cancelled by {by}.")
    if not runtime.store.approvals.transition(approval.id, {PENDING}, ApprovalStatus.CANCELLED,
                                              decided_at=runtime.clock(), result=resolution.dump()):
        current = runtime.store.approvals.get(approval.id)
        return notice(_status_text(current) if current else "This request is gone.")
    record(runtime, outbox, "cancel", user, approval=approval)
    refresh_card(runtime, outbox, approval.id)
    return Report(title="", summary=f"Cancelled request `{approval.id}`.", ephemeral=True)


def _channel_may_decide(runtime: Runtime, approval: Approval, channel: str) -> bool:
    if channel == approval.channel:
        return True
    tenant = _tenant(runtime, approval.tenant)
    return tenant is not None and runtime.access.can_see(channel, tenant)


# ----------------------------------------------------------------------------- housekeeping


def expire_due(runtime: Runtime, outbox: Outbox, now: datetime | None = None) -> list[str]:
    """Expire overdue pending requests (cards updated, audited); for the scheduler, every minute.

    Also closes executions left behind by a dead process (see :func:`recover`).
    Returns the ids expired now.
    """
    now = now or runtime.clock()
    expired = [a.id for a in runtime.store.approvals.due_for_expiry(now) if _expire(runtime, outbox, a, now)]
    recover(runtime, outbox, now)
    return expired


def _runner_of(runtime: Runtime, approval_id: str) -> str | None:
    for event in runtime.store.audit.for_approval(approval_id):
        if event.action == "execute":
            runner = event.detail.get("runner")
            return str(runner) if runner else None
    return None


def recover(runtime: Runtime, outbox: Outbox, now: datetime | None = None, *, scan: int = 500) -> list[str]:
    """Close requests a dead process left half-way; they are never executed again.

    ``executing`` rows started by an earlier process on this host, or older
    than STALE_EXECUTION_AFTER, become ``failed`` with "outcome unknown".
    ``approved`` rows that never started within STALE_APPROVED_AFTER become
    ``refused`` (nothing ran). Returns the ids closed.
    """
    now = now or runtime.clock()
    store = runtime.store
    closed: list[str] = []
    for approval in store.approvals.recent(scan):
        if approval.status == EXECUTING:
            runner = _runner_of(runtime, approval.id)
            earlier_here = runner is not None and runner != RUNNER and runner.split(":", 1)[0] == HOST
            too_old = approval.executed_at is not None and now - approval.executed_at > STALE_EXECUTION_AFTER
            if not (earlier_here or too_old):
                continue
            previous = resolution_of(approval)
            outcome = Outcome(ok=False, summary="Outcome unknown: the bot stopped while this was executing.",
                              lines=["It was not run again. Check the target by hand (`/minio health`) and "
                                     "request the change again if it is still needed."])
            resolution = Resolution(headline=outcome.summary, findings=previous.findings if previous else [],
                                    outcome=outcome)
            if store.approvals.transition(approval.id, {EXECUTING}, ApprovalStatus.FAILED, result=resolution.dump()):
                record(runtime, outbox, "result", BOT_ACTOR, approval=approval, ok=None, outcome="unknown",
                       summary=outcome.summary, runner=runner)
                refresh_card(runtime, outbox, approval.id)
                closed.append(approval.id)
        elif approval.status == APPROVED and approval.decided_at and now - approval.decided_at > STALE_APPROVED_AFTER:
            resolution = Resolution(headline="The bot stopped after the approval and before executing; "
                                    "nothing was changed. Request it again.")
            if store.approvals.transition(approval.id, {APPROVED}, ApprovalStatus.REFUSED, result=resolution.dump()):
                record(runtime, outbox, "refuse", BOT_ACTOR, approval=approval, stage="recovery",
                       reason="approved but never started")
                refresh_card(runtime, outbox, approval.id)
                closed.append(approval.id)
    return closed


_RECOVERED: weakref.WeakSet[Runtime] = weakref.WeakSet()
_RECOVER_LOCK = threading.Lock()


def ensure_recovered(runtime: Runtime, outbox: Outbox) -> None:
    """Run :func:`recover` once per runtime (the first engine use after a start)."""
    with _RECOVER_LOCK:
        if runtime in _RECOVERED:
            return
        _RECOVERED.add(runtime)
    try:
        recover(runtime, outbox)
    except Exception as exc:  # noqa: BLE001 - recovery must not block new requests; the scheduler retries it
        log.error("recovery failed", extra={"error_type": type(exc).__name__, "error": redact(str(exc))[:300]})


# The engine's own declarations. The card's buttons check who may decide inside the engine
# (requester, approver rule of the plan's action kind, the card's channel), because every
# refusal there is audited; the framework checks the channel before they run.
capability = Capability("approval-engine", "Approval cards: approve, reject (with a reason), cancel; expiry.")
for _prefix, _handler in ((APPROVE, on_approve), (REJECT, on_reject), (REJECT_REASON, on_reject_reason),
                          (CANCEL, on_cancel)):
    capability.button(_prefix)(_handler)
capability.job(Job.EXPIRE)(expire_due)
