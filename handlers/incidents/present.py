"""Reports of the incidents capability: a diagnosis, the evidence snapshot, the incident card, the
declaration's answer and the resolution with its timeline and review template."""

from __future__ import annotations

from datetime import datetime

from bot.clients.errors import ClientError
from bot.report import (
    KeyValue,
    Report,
    Row,
    Section,
    Status,
    Text,
    bold,
    code,
    duration,
    join,
    link,
    mention,
    spans,
    when,
    worst,
)
from bot.store import Incident, TimelineEntry
from handlers.health import TenantHealth
from handlers.incidents.diagnose.sections import numbered
from handlers.incidents.evaluate import is_person, verdict
from handlers.incidents.model import Diagnosis, IncidentType, Withheld

MAX_EVIDENCE_REASONS = 8
MAX_TIMELINE_LINES = 200
MAX_SUMMARY_CHARS = 2000

POST_INCIDENT_TEMPLATE: list[Text] = [
    spans(bold("Impact"), ": who and what was affected, from when to when (UTC)?"),
    spans(bold("Detection"), ": how did we find out, and how long after it started?"),
    spans(bold("Root cause"), ": what failed, and why was it possible?"),
    spans(bold("Response"), ": what did we do (see the timeline); what helped, what slowed us down?"),
    spans(bold("What went well"), " / ", bold("what went wrong"), ":"),
    spans(bold("Action items"), ": owner, due date, tracking link (one per line)"),
    spans(bold("Runbook changes"), ": which steps of ", code("runbooks/emergency/"), " to add, fix or drop?"),
]


def next_actions_section(actions: list[Text], title: str = "Recommended next actions") -> Section:
    """The numbered list every diagnostic ends with."""
    return Section(title=title, lines=numbered(actions))


def left_out_section(withheld: Withheld) -> Section:
    """What a report leaves out (sensitive evidence), why, and where it can be seen instead."""
    return Section(
        title="Left out",
        status=Status.INFO,
        lines=[
            spans("Not posted here: ", ", ".join(k.value for k in withheld.kinds), "."),
            spans("Why: ", withheld.why, "."),
            spans("Where instead: ", withheld.where, "."),
        ],
    )


def diagnosis_report(tenant: str, kind: IncidentType, diagnosis: Diagnosis, withheld: Withheld | None = None) -> Report:
    """The report for `/minio incident <type> <tenant>`: sections, overall verdict, next actions last."""
    status, findings, unknown = verdict(diagnosis)
    summary = f"{len(findings)} finding(s) need attention." if findings else "Nothing abnormal found by these checks."
    if unknown:
        summary += f" {unknown} check(s) could not run."
    left_out = [left_out_section(withheld)] if withheld else []
    return Report(
        title=f"Incident diagnostics: {kind.value} on {tenant}",
        status=status,
        summary=summary,
        reasons=findings,
        sections=[*left_out, *diagnosis.sections, next_actions_section(diagnosis.next_actions)],
    )


def _prefixed(prefix: str, sections: list[Section]) -> list[Section]:
    return [s.model_copy(update={"title": f"{prefix} · {s.title}"}) for s in sections]


def evidence_report(
    tenant: str, taken_at: datetime, health: TenantHealth | ClientError, diagnoses: dict[IncidentType, Diagnosis],
    withheld: Withheld | None = None,
) -> Report:
    """Health and the matching diagnostics as one snapshot report (pinned in the incident channel)."""
    sections: list[Section] = [left_out_section(withheld)] if withheld else []
    reasons: list[Text] = []
    statuses: list[Status] = []
    if isinstance(health, ClientError):
        sections.append(Section(title="Health", status=Status.UNKNOWN, error=spans(str(health))))
    else:
        statuses.append(health.status)
        reasons += health.reasons
        sections += _prefixed("Health", health.sections)
    for kind, diagnosis in diagnoses.items():
        sections += _prefixed(kind.value, diagnosis.sections)
        sections.append(next_actions_section(diagnosis.next_actions, f"{kind.value} · next actions"))
    kinds = ", ".join(k.value for k in diagnoses) or "no"
    return Report(
        title=f"Evidence snapshot: {tenant}",
        status=worst(statuses + [s.status for s in sections if s.status], Status.UNKNOWN),
        summary=spans("Taken ", when(taken_at), f": health and {kinds} diagnostics. Refresh with ",
                      code(f"/minio health {tenant}"), "."),
        reasons=reasons[:MAX_EVIDENCE_REASONS],
        sections=sections,
    )


def access_line(private: bool) -> Text:
    """Who sees the tenant in an incident channel, and how someone else gets in."""
    invite = code("/minio incident invite <member id>")
    if private:
        return spans("Private channel: only the people the bot invited are here and see tenant details. "
                     "Responders bring in more with ", invite, "; someone added from Slack itself sees nothing "
                     "until then, and while they are here nobody does.")
    return spans("Public channel: anyone in the workspace can read it, and commands here work only for the "
                 "people the bot invited (responders bring in more with ", invite, ").")


def incident_card(
    incident: Incident, tenant: str, origin: str, minutes: int, due: datetime, people: list[str],
    withheld: Withheld | None = None,
) -> Report:
    """The first message in the incident channel: who declared what, when a response is due, who is in, and
    what was left out of the channel."""
    return Report(
        title=f"{incident.severity} incident: {incident.title}",
        status=Status.UNHEALTHY if incident.severity == "P1" else Status.DEGRADED,
        summary=spans("Declared by ", mention(incident.declared_by), " in ", mention(origin), " for tenant ",
                      bold(tenant), "."),
        sections=[
            Section(
                title=f"Incident #{incident.id}",
                fields=[
                    KeyValue(label="Tenant", value=spans(tenant)),
                    KeyValue(label="Severity", value=f"{incident.severity}: first response within {minutes} min"),
                    KeyValue(label="Response due", value=spans(when(due))),
                    KeyValue(label="Responders", value=join([spans(mention(p)) for p in people])),
                ],
                lines=[access_line(incident.is_private),
                       spans("Every ", code("/minio"), " command and checklist tick here goes into the timeline. "
                             "Resolve with ", code("/minio incident resolve <summary>"), ".")],
            ),
            *([left_out_section(withheld)] if withheld else []),
        ],
    )


def sensitive_evidence_report(
    incident: Incident, tenant: str, channel: str, taken_at: datetime, held: dict[IncidentType, Diagnosis]
) -> Report:
    """The evidence left out of a public incident channel, for the tenant's own channel."""
    sections = [s for kind, d in held.items() for s in _prefixed(kind.value, d.sections)]
    kinds = sorted({k.value for d in held.values() for k in d.sensitive.values()})
    return Report(
        title=f"Sensitive evidence: incident #{incident.id} on {tenant}",
        status=worst([s.status for s in sections if s.status], Status.INFO),
        summary=spans("Taken ", when(taken_at), ": ", ", ".join(kinds), ", left out of the public incident channel ",
                      mention(channel), " (anyone in the workspace can read it)."),
        sections=sections,
    )


def declared_report(
    incident: Incident, channel: str, minutes: int, due: datetime, people: list[str], evidence: Status | None,
    evidence_link: str | None, checklist: str, problems: list[Text], withheld: Withheld | None = None,
) -> Report:
    """The answer to `/minio incident declare`: where the incident lives now, and what could not be done."""
    pinned = spans(" (", link(evidence_link, "pinned snapshot"), ")") if evidence_link else " (pinned in the channel)"
    lines: list[Text] = [
        spans("Invited: ", join([spans(mention(p)) for p in people])),
        spans(f"Evidence: {evidence.value if evidence else 'n/a'}", pinned),
        f"Emergency checklist: {checklist}",
        "The channel is private." if incident.is_private else "The channel is public (incidents.private: false).",
    ]
    if withheld:
        lines.append(spans("Left out of the channel: ", ", ".join(k.value for k in withheld.kinds), "; ",
                           withheld.where, "."))
    return Report(
        title=f"{incident.severity} incident declared: {incident.title}",
        status=Status.UNHEALTHY if incident.severity == "P1" else Status.DEGRADED,
        summary=spans(mention(channel), " is open for tenant ", bold(incident.tenant or "-"),
                      "; first response due by ", when(due), f" ({minutes} min)."),
        reasons=problems,
        sections=[Section(title=f"Incident #{incident.id}", lines=lines)],
    )


def invited_report(tenant: str, added: list[str], already: list[str], refused: dict[str, str]) -> Report:
    """The answer to `/minio incident invite`: who is in now (and sees the tenant here), who could not be added."""
    lines: list[Text] = []
    if added:
        lines.append(spans("Added ", join([spans(mention(p)) for p in added]), ": they see tenant ", bold(tenant),
                           " in this channel now."))
    if already:
        lines.append(spans("Already let in before: ", join([spans(mention(p)) for p in already]), "."))
    for user, why in refused.items():
        lines.append(spans("Could not add ", mention(user), f" to the channel: {why}."))
    return Report(
        title="",
        status=Status.DEGRADED if refused else Status.HEALTHY,
        summary=lines[0] if lines else "Nobody to invite.",
        reasons=lines[1:],
    )


def actor(name: str) -> Text:
    """A person as a mention; the bot or the scheduler by name."""
    return spans(mention(name)) if is_person(name) else spans(name)


def timeline_line(entry: TimelineEntry) -> Text:
    """`2026-01-02 09:14 UTC · @alice · command: /minio health demo`."""
    text: Text = spans(entry.text)
    invited = entry.text.removeprefix("invited ").split(", ")
    if entry.kind == "invite" and entry.text.startswith("invited ") and all(is_person(p) for p in invited):
        text = spans("invited ", join([spans(mention(p)) for p in invited]))
    return spans(when(entry.at), " · ", actor(entry.actor), f" · {entry.kind}: ", text)


def timeline_lines(entries: list[TimelineEntry], limit: int = MAX_TIMELINE_LINES) -> list[Text]:
    """One line per entry, oldest first, and how many more are stored."""
    lines = [timeline_line(e) for e in entries[:limit]]
    if len(entries) > limit:
        lines.append(f"… {len(entries) - limit} more entries are stored.")
    return lines


def response_row(incident: Incident, first: TimelineEntry | None, due: datetime, minutes: int) -> Row:
    """How long until the first person acted, against the severity's target."""
    if first is None:
        return Row(status=Status.DEGRADED, text="no response was recorded")
    late = first.at > due
    return Row(
        status=Status.DEGRADED if late else Status.HEALTHY,
        text=spans("first response after ", duration(first.at - incident.declared_at, clock=True), " by ",
                   actor(first.actor), f" ({'missed' if late else 'met'} the {minutes} min target)"),
    )


def resolved_report(
    incident: Incident, summary: str, by: str, now: datetime, entries: list[TimelineEntry], response: Row
) -> Report:
    """The answer to `/minio incident resolve`: summary, response time, timeline and review template."""
    return Report(
        title=f"Resolved: {incident.title}",
        status=Status.HEALTHY,
        summary=spans(f"Incident #{incident.id} ({incident.severity}, tenant ", bold(incident.tenant or "-"),
                      ") resolved by ", mention(by), " after ", duration(now - incident.declared_at, clock=True), "."),
        sections=[
            Section(title="Summary", lines=[spans(summary[:MAX_SUMMARY_CHARS])]),
            Section(
                title="Response",
                rows=[response],
                fields=[
                    KeyValue(label="Declared", value=spans(when(incident.declared_at), " by ",
                                                           actor(incident.declared_by))),
                    KeyValue(label="Resolved", value=spans(when(now), " by ", mention(by))),
                ],
            ),
            Section(title=f"Timeline ({len(entries)} entries)", lines=timeline_lines(entries)),
            Section(title="Post-incident review (copy, fill in, file)", lines=POST_INCIDENT_TEMPLATE),
        ],
        footer=[f"The timeline is stored with incident #{incident.id}."],
    )
