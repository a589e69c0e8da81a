"""Incident channels: `/minio incident declare <tenant> P1|P2|P3 <title>` and `/minio incident resolve`.

Declaring creates `#inc-<yyyymmdd>-<tenant>-<slug>` (with `-2`, `-3`, ... when
the name is taken), invites the caller and the channel's configured
responders, posts the incident card, posts and pins an evidence snapshot
(health plus the diagnostics matching the incident) and posts the emergency
runbook as a checklist. Every step is written to the incident's timeline;
resolving posts the timeline with a post-incident review template.

All Slack work goes through the invocation's `Outbox`; nothing here knows Slack.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from bot.clients.errors import ClientError
from bot.clients.fanout import fan_out
from bot.commands import escape
from bot.config import TenantConfig
from bot.invocation import Invocation, UserError
from bot.outbox import OutboxError
from bot.report import KeyValue, Report, Row, Section, Status, worst
from bot.runtime import Runtime
from bot.store import Incident, TimelineEntry
from handlers import runbooks
from handlers.health import TenantHealth, check_tenant
from handlers.incident_diagnostics import IncidentType, next_actions_section, run_diagnosis
from handlers.incident_timeline import BOT_ACTOR, actor_mention, record, timeline_lines

MAX_CHANNEL_NAME = 80  # Slack's limit
MAX_SUFFIX = 20  # `-2` ... `-20`; beyond that something else is wrong
EMERGENCY_RUNBOOK = "emergency"
# Evidence gathering may take a little longer than a report: the channel already exists by then.
EVIDENCE_EXTRA_S = 3.0

# Words in a title (or the health reasons) that say which diagnostics belong in the evidence.
_KEYWORDS: dict[IncidentType, tuple[str, ...]] = {
    IncidentType.POD_CRASH: ("crash", "oom", "restart", "pod", "backoff", "down", "dead"),
    IncidentType.STORAGE_FULL: ("full", "capacity", "disk", "space", "quota", "storage"),
    IncidentType.NETWORK_ISSUE: ("network", "partition", "unreachable", "dns", "connect", "offline", "peer"),
    IncidentType.PERFORMANCE: ("slow", "latency", "perf", "lock", "timeout", "cpu", "memory", "throughput"),
    IncidentType.SECURITY: ("security", "cert", "tls", "auth", "credential", "breach", "leak", "public", "exposed"),
    IncidentType.DATA_LOSS: ("loss", "lost", "missing", "deleted", "corrupt", "restore", "backup", "quorum"),
}


# ---------------------------------------------------------------- pure helpers


def slugify(text: str, limit: int) -> str:
    """Lower-case ASCII words joined by `-`, at most `limit` characters, never ending in `-`."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:limit].rstrip("-")


def channel_name(when: datetime, tenant: str, title: str) -> str:
    """`inc-<yyyymmdd>-<tenant>-<slug>`, leaving room for a `-NN` suffix within Slack's 80 characters."""
    base = f"inc-{when:%Y%m%d}-{tenant}"
    room = MAX_CHANNEL_NAME - len(base) - 1 - len(f"-{MAX_SUFFIX}")
    slug = slugify(title, room) if room > 0 else ""
    return f"{base}-{slug or 'incident'}"[: MAX_CHANNEL_NAME - len(f"-{MAX_SUFFIX}")].rstrip("-")


def matching_types(title: str) -> list[IncidentType]:
    """The incident types whose keywords appear in the title; empty when none does."""
    words = title.lower()
    return [kind for kind, keys in _KEYWORDS.items() if any(k in words for k in keys)]


def response_due(incident: Incident, minutes: int) -> datetime:
    """When the first response is due for the incident's severity."""
    return incident.declared_at + timedelta(minutes=minutes)


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def first_response(entries: list[TimelineEntry]) -> TimelineEntry | None:
    """The first thing a person did after the declaration: a command or a checklist tick."""
    people = [e for e in entries if e.actor not in (BOT_ACTOR, runbooks.SCHEDULER_ACTOR)]
    return next((e for e in people if e.kind in ("command", "check")), None)


POST_INCIDENT_TEMPLATE = [
    "*Impact*: who and what was affected, from when to when (UTC)?",
    "*Detection*: how did we find out, and how long after it started?",
    "*Root cause*: what failed, and why was it possible?",
    "*Response*: what did we do (see the timeline); what helped, what slowed us down?",
    "*What went well* / *what went wrong*:",
    "*Action items*: owner, due date, tracking link (one per line)",
    "*Runbook changes*: which steps of `runbooks/emergency/` to add, fix or drop?",
]


# ---------------------------------------------------------------- Slack side effects (through the outbox)


def create_incident_channel(inv: Invocation, base: str) -> tuple[str, str]:
    """Create `base`, or `base-2`, `base-3`, ... when the name is taken; returns (channel id, name)."""
    for n in range(1, MAX_SUFFIX + 1):
        name = base if n == 1 else f"{base}-{n}"
        try:
            return inv.outbox.create_channel(name), name
        except OutboxError as exc:
            if exc.code != "name_taken":
                message = f"Could not create the incident channel #{escape(name, 80)}: {escape(str(exc), 200)}"
                raise UserError(message) from None
    raise UserError(f"#{escape(base, 80)} and its -2 ... -{MAX_SUFFIX} variants are all taken; archive old ones.")


def _responders(inv: Invocation) -> list[str]:
    """The caller first, then the origin channel's configured responders (user ids; groups cannot be invited)."""
    channel = inv.runtime.config.channel(inv.channel)
    configured = channel.responders if channel else []
    people = [inv.user, *(r for r in configured if r[:1] in ("U", "W"))]
    return list(dict.fromkeys(people))


def _evidence(runtime: Runtime, tenant: TenantConfig, kinds: list[IncidentType]) -> Report:
    """Health and the matching diagnostics, gathered in parallel, as one snapshot report."""
    deadline = runtime.config.timeouts.report_deadline
    calls: dict[str, Callable[[], Any]] = {"health": partial(check_tenant, runtime, tenant, deadline)}
    for kind in kinds:
        calls[kind.value] = partial(run_diagnosis, runtime, tenant, kind, deadline)
    results = fan_out(calls, deadline_s=deadline + EVIDENCE_EXTRA_S, max_workers=len(calls))
    sections: list[Section] = []
    reasons: list[str] = []
    statuses: list[Status] = []
    health = results["health"]
    if isinstance(health, TenantHealth):
        statuses.append(health.status)
        reasons += health.reasons
        sections += [s.model_copy(update={"title": f"Health · {s.title}"}) for s in health.sections]
    else:
        sections.append(Section(title="Health", status=Status.UNKNOWN, error=str(health)))
    for kind in kinds:
        result = results[kind.value]
        if isinstance(result, ClientError):
            sections.append(Section(title=f"{kind.value}", status=Status.UNKNOWN, error=str(result)))
            continue
        sections += [s.model_copy(update={"title": f"{kind.value} · {s.title}"}) for s in result.sections]
        sections.append(
            next_actions_section(result.next_actions).model_copy(update={"title": f"{kind.value} · next actions"})
        )
    status = worst(statuses + [s.status for s in sections if s.status], Status.UNKNOWN)
    return Report(
        title=f"Evidence snapshot: {tenant.name}",
        status=status,
        summary=f"Taken {runtime.clock():%Y-%m-%d %H:%M:%S} UTC: health and "
        + (", ".join(k.value for k in kinds) or "no")
        + " diagnostics. Refresh with `/minio health "
        + tenant.name
        + "`.",
        reasons=reasons[:8],
        sections=sections,
    )


def declare(
    inv: Invocation, tenant_name: str, severity: str, title: str, kind: IncidentType | None = None, *,
    evidence: Report | None = None, alert: tuple[datetime, str] | None = None,
) -> Report:
    """Declare an incident: channel, people, card, pinned evidence, emergency checklist, timeline.

    Declared from an alert: ``evidence`` is pinned instead of a fresh snapshot, and ``alert`` (when it
    fired, what fired) is the timeline's first entry.
    """
    runtime = inv.runtime
    tenant = inv.tenant(tenant_name)
    store = runtime.store
    now = runtime.clock()
    channel, name = create_incident_channel(inv, channel_name(now, tenant.name, title))
    incident = store.incidents.declare(
        severity=severity, title=title, declared_by=inv.user, tenant=tenant.name, channel_id=channel, at=now
    )
    if alert is not None:
        store.incidents.add_entry(incident.id, actor="alertmanager", kind="alert", text=alert[1][:500], at=alert[0])
    record(runtime, channel, BOT_ACTOR, "channel", f"created #{name} from <#{inv.channel}>")
    problems: list[str] = []

    people = _responders(inv)
    try:
        inv.outbox.invite(channel, people)
        record(runtime, channel, BOT_ACTOR, "invite", "invited " + ", ".join(f"<@{p}>" for p in people))
    except OutboxError as exc:
        problems.append(f"Could not invite everyone: {escape(str(exc), 200)}")
        record(runtime, channel, BOT_ACTOR, "invite", f"invitation failed: {exc}")

    minutes = runtime.config.severity_minutes.get(severity, 60)
    due = response_due(incident, minutes)
    card = Report(
        title=f"{severity} incident: {title}",
        status=Status.UNHEALTHY if severity == "P1" else Status.DEGRADED,
        summary=f"Declared by <@{inv.user}> in <#{inv.channel}> for tenant *{tenant.name}*.",
        sections=[
            Section(
                title=f"Incident #{incident.id}",
                fields=[
                    KeyValue(label="Tenant", value=tenant.name),
                    KeyValue(label="Severity", value=f"{severity}: first response within {minutes} min"),
                    KeyValue(label="Response due", value=f"{due:%Y-%m-%d %H:%M} UTC"),
                    KeyValue(label="Responders", value=", ".join(f"<@{p}>" for p in people)),
                ],
                lines=[
                    "Every `/minio` command and checklist tick here goes into the timeline. "
                    "Resolve with `/minio incident resolve &lt;summary&gt;`."
                ],
            )
        ],
    )
    _post(inv, channel, card, "card", "posted the incident card", problems)

    kinds = [kind] if kind else matching_types(title)
    evidence = evidence or _evidence(runtime, tenant, kinds or list(IncidentType))
    ts = _post(inv, channel, evidence, "evidence", f"posted the evidence snapshot ({evidence.status})", problems)
    if ts:
        try:
            inv.outbox.pin(channel, ts)
            record(runtime, channel, BOT_ACTOR, "pin", "pinned the evidence snapshot")
        except OutboxError as exc:
            problems.append(f"Could not pin the evidence: {escape(str(exc), 200)}")

    try:
        run, _ts = runbooks.post_checklist(runtime, inv.outbox, channel, EMERGENCY_RUNBOOK, tenant.name, BOT_ACTOR)
        checklist = f"run #{run.id}"
    except OutboxError as exc:
        problems.append(f"Could not post the emergency checklist: {escape(str(exc), 200)}")
        checklist = "not posted"

    link = inv.outbox.permalink(channel, ts) if ts else None
    return Report(
        title=f"{severity} incident declared: {title}",
        status=Status.UNHEALTHY if severity == "P1" else Status.DEGRADED,
        summary=f"<#{channel}> is open for tenant *{tenant.name}*; first response due by {due:%H:%M} UTC "
        f"({minutes} min).",
        reasons=problems,
        sections=[
            Section(
                title=f"Incident #{incident.id}",
                lines=[
                    "Invited: " + ", ".join(f"<@{p}>" for p in people),
                    f"Evidence: {evidence.status.value if evidence.status else 'n/a'}"
                    + (f" (<{link}|pinned snapshot>)" if link else " (pinned in the channel)"),
                    f"Emergency checklist: {checklist}",
                ],
            )
        ],
    )


def _post(inv: Invocation, channel: str, report: Report, kind: str, what: str, problems: list[str]) -> str | None:
    """Post into the incident channel and note it in the timeline; a failure is noted, not raised."""
    try:
        ts = inv.outbox.post(channel, report)
    except OutboxError as exc:
        problems.append(f"Could not post the {kind}: {escape(str(exc), 200)}")
        record(inv.runtime, channel, BOT_ACTOR, kind, f"{what}: FAILED ({exc})")
        return None
    record(inv.runtime, channel, BOT_ACTOR, kind, what)
    return ts


def resolve(inv: Invocation, summary: str | None) -> Report:
    """Close the channel's incident: the summary, its timeline and the post-incident review template."""
    store = inv.runtime.store
    incident = store.incidents.open_in_channel(inv.channel)
    if incident is None:
        raise UserError("There is no open incident in this channel. Run `/minio incident resolve` in its channel.")
    now = inv.runtime.clock()
    text = summary.strip() if summary and summary.strip() else "(no summary given)"
    if not store.incidents.resolve(incident.id, by=inv.user, summary=text, at=now):
        raise UserError(f"Incident #{incident.id} was resolved already.")
    entries = store.incidents.timeline(incident.id)
    minutes = inv.runtime.config.severity_minutes.get(incident.severity, 60)
    due = response_due(incident, minutes)
    first = first_response(entries)
    if first is None:
        response = "no response was recorded"
        response_status = Status.DEGRADED
    else:
        late = first.at > due
        response = (
            f"first response after {_duration(first.at - incident.declared_at)} by {actor_mention(first.actor)} "
            f"({'missed' if late else 'met'} the {minutes} min target)"
        )
        response_status = Status.DEGRADED if late else Status.HEALTHY
    return Report(
        title=f"Resolved: {incident.title}",
        status=Status.HEALTHY,
        summary=f"Incident #{incident.id} ({incident.severity}, tenant *{incident.tenant or '-'}*) resolved by "
        f"<@{inv.user}> after {_duration(now - incident.declared_at)}.",
        sections=[
            Section(title="Summary", lines=[escape(text, 2000)]),
            Section(
                title="Response",
                rows=[Row(status=response_status, text=response)],
                fields=[
                    KeyValue(
                        label="Declared",
                        value=f"{incident.declared_at:%Y-%m-%d %H:%M} UTC by {actor_mention(incident.declared_by)}",
                    ),
                    KeyValue(label="Resolved", value=f"{now:%Y-%m-%d %H:%M} UTC by <@{inv.user}>"),
                ],
            ),
            Section(title=f"Timeline ({len(entries)} entries)", lines=timeline_lines(entries)),
            Section(title="Post-incident review (copy, fill in, file)", lines=POST_INCIDENT_TEMPLATE),
        ],
        footer=[f"The timeline is stored with incident #{incident.id}."],
    )
