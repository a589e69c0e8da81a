"""What people see of a request: its card, the preview of its plan, its state in one sentence, audit lines.

Pure presentation: a request (and its plan) in, a :class:`~bot.report.Report`
or :data:`~bot.report.Text` out, written with spans, never markup. The texts a
change kind wrote (plan lines, findings, outcomes) are shown as they are.
"""

from __future__ import annotations

from bot import humanize
from bot.changes import ChangePlan, Finding, subject_cluster
from bot.report import (
    Action,
    Inline,
    KeyValue,
    Report,
    Row,
    Section,
    Status,
    Text,
    bold,
    code,
    emoji,
    join,
    mention,
    spans,
    when,
)
from bot.store import Approval, ApprovalStatus, AuditEvent

from .machine import (
    APPROVE,
    CANCEL,
    PENDING,
    REJECT,
    Resolution,
    action_kind_of,
    plan_of,
    resolution_of,
    subject_text,
)

BOT_ACTOR = "bot"  # the audit trail's actor for what the engine does by itself
MAX_DETAIL_LINES = 40

_HEADLINES: dict[ApprovalStatus, tuple[str, str]] = {
    ApprovalStatus.APPROVED: ("arrows_counterclockwise", "Approved: re-checking the target and the preflight, then "
                              "executing (progress in the thread)."),
    ApprovalStatus.EXECUTING: ("gear", "Executing; progress in the thread."),
    ApprovalStatus.SUCCEEDED: ("white_check_mark", "Done."),
    ApprovalStatus.FAILED: ("x", "Failed."),
    ApprovalStatus.REFUSED: ("no_entry", "Refused after approval: nothing was changed."),
    ApprovalStatus.REJECTED: ("no_entry_sign", "Rejected: nothing was changed."),
    ApprovalStatus.EXPIRED: ("hourglass", "Expired without approval: nothing was changed."),
    ApprovalStatus.CANCELLED: ("heavy_multiplication_x", "Cancelled: nothing was changed."),
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


def plural(count: int, word: str) -> str:
    """``1 approval``, ``2 approvals``."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def shortened(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters (the last one an ellipsis when cut)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def title_of(approval: Approval, plan: ChangePlan | None) -> str:
    """What the request asks for, in a few words."""
    return plan.title if plan else f"{approval.kind} on {approval.tenant}"


def finding_row(finding: Finding) -> Row:
    """One check of a plan, with its verdict."""
    if finding.ok:
        status = Status.HEALTHY
    else:
        status = Status.UNHEALTHY if finding.blocking else Status.DEGRADED
    return Row(status=status, text=spans(bold(finding.check), ": ", finding.detail))


def failure_list(findings: list[Finding]) -> tuple[Inline, ...]:
    """Failed checks, one bulleted line each."""
    return spans(*(spans("\n• ", bold(f.check), ": ", f.detail) for f in findings))


def plan_sections(plan: ChangePlan) -> list[Section]:
    """The preview: what changes, the dry run and the preflight findings."""
    lines: list[Text] = [f"• {c.what}: {c.before} → {c.after}" for c in plan.changes]
    lines += [f"• {note}" for note in plan.notes]
    sections = [Section(title="What changes", lines=lines or ["(nothing to show)"])]
    if plan.dry_run is not None:
        mark = Status.HEALTHY if plan.dry_run.ok else Status.UNHEALTHY
        row = Row(status=mark, text=plan.dry_run.detail)
        sections.append(Section(title="Kubernetes server-side dry run", rows=[row]))
    if plan.preflight:
        sections.append(Section(title="Preflight at request time", rows=[finding_row(f) for f in plan.preflight]))
    return sections


def approval_card(approval: Approval, plan: ChangePlan | None = None) -> Report:
    """The card for a request in its current state (buttons only while it is pending)."""
    plan = plan or plan_of(approval)
    title = title_of(approval, plan)
    status = ApprovalStatus(approval.status)
    resolution = resolution_of(approval)
    return Report(
        title=f"{_TITLES.get(status, status.value)}: {title}",
        summary=join(_summary(approval, status, title, resolution), "\n"),
        sections=_sections(plan, resolution),
        actions=_buttons(approval, title) if status == PENDING else [],
        footer=[_footer(approval)],
    )


def _summary(approval: Approval, status: ApprovalStatus, title: str, resolution: Resolution | None) -> list[Text]:
    votes = join([spans(mention(v)) for v in approval.approvers])
    lines: list[Text] = []
    if status == PENDING:
        needed = plural(approval.approvals_required, "approval")
        lines.append(spans(
            emoji("hourglass_flowing_sand"), " ", mention(approval.requester), " asks to: ", bold(title),
            f". Needs {needed} from ", code(action_kind_of(approval)), " approvers",
            spans(" of ", subject_text(approval.tenant)) if subject_cluster(approval.tenant) else (),
            " other than the requester, by ",
            when(approval.expires_at), ".",
        ))
        if votes:
            lines.append(spans("Approved so far by ", votes,
                               f" ({len(approval.approvers)} of {approval.approvals_required})."))
    else:
        icon, headline = _HEADLINES.get(status, ("", status.value))
        lines.append(spans(emoji(icon), " ", headline) if icon else headline)
        lines.append(spans("Requested by ", mention(approval.requester), "."))
        if votes:
            lines.append(spans("Approved by ", votes, "."))
    if resolution is not None and resolution.headline:
        lines.append(resolution.headline)
    return lines


def _sections(plan: ChangePlan | None, resolution: Resolution | None) -> list[Section]:
    sections = plan_sections(plan) if plan else [Section(title="Plan", error="the stored plan could not be read")]
    if resolution is not None and resolution.findings:
        sections.append(Section(title="Re-check after approval", rows=[finding_row(f) for f in resolution.findings]))
    if resolution is not None and resolution.outcome is not None:
        outcome = resolution.outcome
        sections.append(Section(
            title="Outcome",
            status=Status.HEALTHY if outcome.ok else Status.UNHEALTHY,
            lines=[outcome.summary, *outcome.lines][:MAX_DETAIL_LINES],
        ))
    elif resolution is not None and resolution.lines:
        sections.append(Section(title="Details", lines=resolution.lines[:MAX_DETAIL_LINES]))
    if plan is not None:
        scope = KeyValue(label="Cluster", value=plan.cluster) if plan.cluster else KeyValue(label="Tenant",
                                                                                              value=plan.tenant)
        fields = [KeyValue(label="Risk", value=plan.risk), scope]
        if plan.targets:
            fields.append(KeyValue(label="Target", value="\n".join(t.label() for t in plan.targets[:5])))
        sections.append(Section(title="Summary", fields=fields))
    return sections


def _buttons(approval: Approval, title: str) -> list[Action]:
    value = f"{approval.id}:{approval.plan_hash}"
    return [
        Action(
            label="Approve", action_id=f"{APPROVE}:{approval.id}", value=value, style="primary",
            confirm=f"Approve “{title}”? It runs once the required approvals are in, after a fresh re-check "
            "of the target and the preflight.",
        ),
        Action(
            label="Reject", action_id=f"{REJECT}:{approval.id}", value=value, style="danger",
            confirm="Reject this request? You will be asked for a reason, which the requester sees.",
        ),
        Action(
            label="Cancel request", action_id=f"{CANCEL}:{approval.id}", value=value,
            confirm="Cancel this request? Only the requester (or a bot admin) can.",
        ),
    ]


def _footer(approval: Approval) -> Text:
    version = spans(" · resourceVersion ", code(approval.resource_version)) if approval.resource_version else ()
    return spans("Request ", code(approval.id), " · plan hash ", code(approval.plan_hash[:12]), version)


def status_text(approval: Approval) -> Text:
    """Why a request can no longer be decided, in one sentence (for whoever just tried)."""
    resolution = resolution_of(approval)
    why: tuple[Inline, ...] = spans(" ", resolution.headline) if resolution and resolution.headline else ()
    texts: dict[ApprovalStatus, Text] = {
        ApprovalStatus.APPROVED: "This request is already approved and is being executed (see its card).",
        ApprovalStatus.EXECUTING: "This request is already approved and is being executed (see its card).",
        ApprovalStatus.SUCCEEDED: "This request was already approved and executed.",
        ApprovalStatus.FAILED: spans("This request was already approved and executed; it failed.", why),
        ApprovalStatus.REFUSED: spans("This request was approved but refused at the re-check; request it again.", why),
        ApprovalStatus.REJECTED: spans("This request was already rejected.", why),
        ApprovalStatus.EXPIRED: expired_text(approval),
        ApprovalStatus.CANCELLED: spans("This request was cancelled.", why),
    }
    return texts.get(ApprovalStatus(approval.status), f"This request is {approval.status}.")


def expired_text(approval: Approval) -> Text:
    """The answer to a click on a request whose time is up."""
    return spans("This request expired at ", when(approval.expires_at), "; request it again.")


def audit_line(event: AuditEvent) -> Text:
    """One audit event as one line: when, what, who, on which tenant, request and plan, and why."""
    actor = event.actor if event.actor == BOT_ACTOR else mention(event.actor)
    parts: list[Text] = [spans(code(humanize.stamp(event.at)), " ", bold(event.action), " by ", actor)]
    detail = event.detail or {}
    if detail.get("kind"):
        parts.append(str(detail["kind"]))
    if event.tenant:
        parts.append(spans("on ", subject_text(event.tenant)))
    if event.approval_id:
        parts.append(spans("request ", code(event.approval_id)))
    if event.plan_hash:
        parts.append(spans("plan ", code(event.plan_hash[:12])))
    why = detail.get("reason") or detail.get("summary")
    return spans(join(parts, " · "), (": ", shortened(str(why), 200)) if why else ())
