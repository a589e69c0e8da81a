"""The approval state machine, pure: its arrows, who may decide, what a click claims, what a stopped process left.

Nothing here reads the store, the clock or Slack: each function takes the
request and the facts it needs and returns a decision, so every rule is
tested without servers (``tests/test_approval_machine.py``)::

    pending --(enough votes)--> approved --(re-check ok)--> executing --> succeeded | failed
       |                           \\--(target changed / preflight fails)--> refused
       +--> rejected (approver, with a reason) | cancelled (requester) | expired (deadline)

Every status but ``pending`` is reached from exactly one other status, so a
move is named by its target alone (:func:`source_of`), and the store makes
each move one conditional UPDATE that exactly one caller wins.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum

from pydantic import Field, ValidationError

from bot.changes import ChangePlan, Finding, Outcome, subject_cluster
from bot.models import Frozen
from bot.report import Text, bold, code, mention, spans
from bot.store import Approval, ApprovalStatus

PENDING = ApprovalStatus.PENDING
APPROVED = ApprovalStatus.APPROVED
EXECUTING = ApprovalStatus.EXECUTING
SUCCEEDED = ApprovalStatus.SUCCEEDED
FAILED = ApprovalStatus.FAILED
REFUSED = ApprovalStatus.REFUSED
REJECTED = ApprovalStatus.REJECTED
EXPIRED = ApprovalStatus.EXPIRED
CANCELLED = ApprovalStatus.CANCELLED

# Every arrow of the machine, by its target: the one status a request may come from.
_SOURCE = {
    APPROVED: PENDING,
    REJECTED: PENDING,
    CANCELLED: PENDING,
    EXPIRED: PENDING,
    EXECUTING: APPROVED,
    REFUSED: APPROVED,
    SUCCEEDED: EXECUTING,
    FAILED: EXECUTING,
}

# Button prefixes, which are also the stages an audited refusal names.
APPROVE = "approve"
REJECT = "reject"
REJECT_REASON = "reject-reason"
CANCEL = "cancel-request"

MIN_REASON_CHARS = 3
MAX_ID_CHARS = 32  # ids are 12 characters; anything longer in a click or command is not one
MAX_RESUMES = 3  # an execution taken over this often is closed as "outcome unknown" instead of followed again


def source_of(target: ApprovalStatus) -> ApprovalStatus:
    """The only status a request may move to ``target`` from (ValueError for ``pending``: nothing returns there)."""
    try:
        return _SOURCE[target]
    except KeyError:
        raise ValueError(f"no arrow leads to {target}") from None


class Resolution(Frozen):
    """Why a request ended where it is; stored as JSON in the request's ``result``."""

    headline: Text
    lines: list[Text] = Field(default_factory=list)
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


def action_kind_of(approval: Approval) -> str:
    """The approval rule a request falls under (its change kind's name when the plan cannot be read)."""
    plan = plan_of(approval)
    return plan.action_kind if plan else approval.kind


# ----------------------------------------------------------------------------- who may decide


class Refusal(Frozen):
    """Why someone may not do what they tried: ``text`` for them, ``reason`` for the audit trail."""

    text: Text
    reason: str


def subject_text(subject: str) -> Text:
    """What a request is about, for people: `demo`, or cluster `prod-eu` (see :func:`bot.changes.cluster_subject`)."""
    cluster = subject_cluster(subject)
    return spans("cluster ", code(cluster)) if cluster is not None else spans(code(subject))


def decider_refusal(
    approval: Approval, user: str, stage: str, *, tenant_configured: bool, approver: Callable[[str], bool]
) -> Refusal | None:
    """None when ``user`` may approve or reject (``stage``) the request: not its requester, an approver of its
    action kind on a tenant that is still configured (for a cluster's request: an approver of the cluster's rule,
    which is still configured). ``approver`` is asked last (it may look up groups)."""
    if user == approval.requester:
        if stage == APPROVE:
            text: Text = "You requested this change; someone else must approve it."
        else:
            text = spans("You requested this change: use ", bold("Cancel request"), " (or ",
                         code(f"/minio cancel {approval.id}"), ") instead of rejecting it.")
        return Refusal(text=text, reason="the requester may not decide")
    if not tenant_configured:
        if subject_cluster(approval.tenant) is not None:
            return Refusal(text=spans("The approval rule of ", subject_text(approval.tenant),
                                      " is no longer configured."), reason="no cluster approval rule")
        return Refusal(text=spans("Tenant ", code(approval.tenant), " is no longer configured."),
                       reason="unknown tenant")
    if not approver(user):
        text = spans("Only ", code(action_kind_of(approval)), " approvers of ", subject_text(approval.tenant),
                     f" may {stage} this request, and you are not one.")
        return Refusal(text=text, reason="not an approver")
    return None


def canceller_refusal(approval: Approval, user: str, *, admin: Callable[[str], bool]) -> Refusal | None:
    """None when ``user`` may cancel the request: its requester, or a bot admin."""
    if user == approval.requester or admin(user):
        return None
    return Refusal(text=spans("Only ", mention(approval.requester), ", who requested it, can cancel this request."),
                   reason="not the requester")


def channel_may_decide(approval: Approval, channel: str, *, sees_tenant: Callable[[], bool]) -> bool:
    """A command decides a request from the card's channel, or from one that may see the request's tenant (or
    cluster)."""
    return channel == approval.channel or sees_tenant()


def is_overdue(approval: Approval, now: datetime) -> bool:
    """A pending request whose deadline has passed (it can only expire now)."""
    return approval.status == PENDING and approval.expires_at <= now


def votes_counted(approval: Approval, voters: list[str]) -> list[str]:
    """The votes that count toward ``approvals_required``: everyone's but the requester's."""
    return [v for v in voters if v != approval.requester]


def clean_reason(reason: str) -> str | None:
    """A rejection reason on one line, or None when it is too short to tell anyone why."""
    reason = " ".join(reason.split())
    return reason if len(reason) >= MIN_REASON_CHARS else None


# ----------------------------------------------------------------------------- what a click claims


class Claim(Frozen):
    """What a card button (or its form) says it acts on: the request id, and the plan hash it was drawn for."""

    approval_id: str
    value_id: str
    plan_hash: str

    @property
    def names_an_id(self) -> bool:
        return 0 < len(self.approval_id) <= MAX_ID_CHARS


def claim_of(action_id: str, value: str) -> Claim:
    """Read action_id ``<prefix>:<id>[:<hash>]`` and value ``<id>:<hash>`` (forms carry the hash in the id)."""
    parts = action_id.split(":")
    approval_id = parts[1] if len(parts) > 1 else ""
    if len(parts) > 2:
        return Claim(approval_id=approval_id, value_id=approval_id, plan_hash=parts[2])
    value_id, _, plan_hash = value.partition(":")
    return Claim(approval_id=approval_id, value_id=value_id, plan_hash=plan_hash)


def claim_matches(claim: Claim, approval: Approval) -> bool:
    """The click names this request and the plan hash it was drawn for (compared in constant time)."""
    return claim.value_id == approval.id and hmac.compare_digest(claim.plan_hash.encode(), approval.plan_hash.encode())


def pressed_on_card(approval: Approval, channel: str, message_ts: str | None) -> bool:
    """The click came from the request's own card (its channel and, when both are known, its message)."""
    if approval.channel and channel != approval.channel:
        return False
    return not (approval.message_ts and message_ts and message_ts != approval.message_ts)


# ----------------------------------------------------------------------------- re-check and recovery


def integrity_findings(approval: Approval, plan: ChangePlan | None, kind_known: bool) -> list[Finding]:
    """Refusals before any re-check: a plan that no longer matches its hash, or a kind nobody can run."""
    if plan is None or not hmac.compare_digest(plan.compute_hash(), approval.plan_hash):
        return [Finding(check="plan integrity", ok=False,
                        detail="The stored plan does not match its hash; it will not be run.")]
    if not kind_known:
        return [Finding(check="change kind", ok=False,
                        detail=f"This bot does not know how to run {plan.kind} changes.")]
    return []


def blocking(findings: list[Finding]) -> list[Finding]:
    """The findings that refuse a change."""
    return [f for f in findings if not f.ok and f.blocking]


class Leftover(StrEnum):
    """What a process that stopped left half-way, once its lease has expired."""

    NEVER_STARTED = "never-started"  # approved, never executed: refuse it (nothing ran)
    INTERRUPTED = "interrupted"  # executing: take it over and resume following it (never run again)


def abandoned(approval: Approval, now: datetime) -> Leftover | None:
    """What a stopped process left, or None while its holder is alive (its lease has not expired at ``now``).

    Only an expired lease counts: a live execution is renewed by its own
    process, whatever host it runs on, and nothing else may touch it. A
    request with no lease at all (written before leases existed) counts as
    expired.
    """
    if approval.status not in (APPROVED, EXECUTING):
        return None
    if approval.lease_expires_at is not None and approval.lease_expires_at > now:
        return None
    return Leftover.NEVER_STARTED if approval.status == APPROVED else Leftover.INTERRUPTED


def may_resume(resumes_so_far: int) -> bool:
    """Whether an interrupted execution is followed again, or closed as "outcome unknown" (it kept stopping
    the processes that followed it)."""
    return resumes_so_far < MAX_RESUMES
