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

from dataclasses import dataclass, field
from datetime import datetime

from bot.config import TenantConfig
from bot.invocation import Invocation, UserError
from bot.outbox import OutboxError
from bot.report import Report, Text, code, spans
from bot.runtime import Runtime
from bot.store import Incident
from handlers.incidents.diagnostics import gather_evidence
from handlers.incidents.evaluate import first_response, matching_types, response_due
from handlers.incidents.model import IncidentType
from handlers.incidents.naming import MAX_SUFFIX, candidates, channel_name
from handlers.incidents.present import declared_report, evidence_report, incident_card, resolved_report, response_row
from handlers.incidents.timeline import BOT_ACTOR, record
from handlers.runbooks import post_checklist

ALERT_ACTOR = "alertmanager"  # the actor of the alert an incident was declared from

EMERGENCY_RUNBOOK = "emergency"


@dataclass
class _Declaration:
    """One declaration under way: where it happens, and what went wrong so far (reported, never raised)."""

    inv: Invocation
    incident: Incident
    channel: str
    problems: list[Text] = field(default_factory=list)

    def note(self, kind: str, text: str) -> None:
        record(self.inv.runtime, self.channel, BOT_ACTOR, kind, text)

    def failed(self, what: str, exc: OutboxError) -> None:
        self.problems.append(spans(f"Could not {what}: ", str(exc)))

    def post(self, report: Report, kind: str, what: str) -> str | None:
        """Post into the incident channel and note it in the timeline; a failure is noted, not raised."""
        try:
            ts = self.inv.outbox.post(self.channel, report)
        except OutboxError as exc:
            self.failed(f"post the {kind}", exc)
            self.note(kind, f"{what}: FAILED ({exc})")
            return None
        self.note(kind, what)
        return ts


def create_incident_channel(inv: Invocation, base: str) -> tuple[str, str]:
    """Create `base`, or `base-2`, `base-3`, ... when the name is taken; returns (channel id, name)."""
    for name in candidates(base):
        try:
            return inv.outbox.create_channel(name), name
        except OutboxError as exc:
            if exc.code != "name_taken":
                raise UserError(spans(f"Could not create the incident channel #{name}: ", str(exc))) from None
    raise UserError(f"#{base} and its -2 ... -{MAX_SUFFIX} variants are all taken; archive old ones.")


def responders(inv: Invocation) -> list[str]:
    """The caller first, then the origin channel's configured responders (user ids; groups cannot be invited)."""
    channel = inv.runtime.config.channel(inv.channel)
    configured = channel.responders if channel else []
    return list(dict.fromkeys([inv.user, *(r for r in configured if r[:1] in ("U", "W"))]))


def _origin(runtime: Runtime, channel: str) -> str:
    configured = runtime.config.channel(channel)
    return f" from #{configured.name}" if configured and configured.name else ""


def _invite(d: _Declaration, people: list[str]) -> None:
    try:
        d.inv.outbox.invite(d.channel, people)
        d.note("invite", "invited " + ", ".join(people))
    except OutboxError as exc:
        d.failed("invite everyone", exc)
        d.note("invite", f"invitation failed: {exc}")


def _pin_evidence(
    d: _Declaration, tenant: TenantConfig, kinds: list[IncidentType], evidence: Report | None = None
) -> tuple[Report, str | None]:
    if evidence is None:
        health, diagnoses = gather_evidence(d.inv.runtime, tenant, kinds)
        evidence = evidence_report(tenant.name, d.inv.runtime.clock(), health, diagnoses)
    ts = d.post(evidence, "evidence", f"posted the evidence snapshot ({evidence.status})")
    if ts:
        try:
            d.inv.outbox.pin(d.channel, ts)
            d.note("pin", "pinned the evidence snapshot")
        except OutboxError as exc:
            d.failed("pin the evidence", exc)
    return evidence, ts


def _post_checklist(d: _Declaration, tenant: TenantConfig) -> str:
    try:
        run, _ts = post_checklist(d.inv.runtime, d.inv.outbox, d.channel, EMERGENCY_RUNBOOK, tenant.name, BOT_ACTOR)
    except OutboxError as exc:
        d.failed("post the emergency checklist", exc)
        return "not posted"
    d.note("runbook", f"posted the emergency checklist (run #{run.id})")
    return f"run #{run.id}"


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
    now = runtime.clock()
    channel, name = create_incident_channel(inv, channel_name(now, tenant.name, title))
    incident = runtime.store.incidents.declare(
        severity=severity, title=title, declared_by=inv.user, tenant=tenant.name, channel_id=channel, at=now
    )
    if alert is not None:
        runtime.store.incidents.add_entry(incident.id, actor=ALERT_ACTOR, kind="alert", text=alert[1][:500],
                                          at=alert[0])
    d = _Declaration(inv, incident, channel)
    d.note("channel", f"created #{name}{_origin(runtime, inv.channel)}")
    people = responders(inv)
    _invite(d, people)
    minutes = runtime.config.severity_minutes.get(severity, 60)
    due = response_due(incident, minutes)
    d.post(incident_card(incident, tenant.name, inv.channel, minutes, due, people), "card", "posted the incident card")
    kinds = [kind] if kind else matching_types(title)
    evidence, ts = _pin_evidence(d, tenant, kinds or list(IncidentType), evidence)
    checklist = _post_checklist(d, tenant)
    link = inv.outbox.permalink(channel, ts) if ts else None
    return declared_report(incident, channel, minutes, due, people, evidence.status, link, checklist, d.problems)


def resolve(inv: Invocation, summary: str | None) -> Report:
    """Close the channel's incident: the summary, its timeline and the post-incident review template."""
    store = inv.runtime.store
    incident = store.incidents.open_in_channel(inv.channel)
    if incident is None:
        raise UserError(spans("There is no open incident in this channel. Run ", code("/minio incident resolve"),
                              " in its channel."))
    now = inv.runtime.clock()
    text = summary.strip() if summary and summary.strip() else "(no summary given)"
    if not store.incidents.resolve(incident.id, by=inv.user, summary=text, at=now):
        raise UserError(f"Incident #{incident.id} was resolved already.")
    entries = store.incidents.timeline(incident.id)
    minutes = inv.runtime.config.severity_minutes.get(incident.severity, 60)
    response = response_row(incident, first_response(entries), response_due(incident, minutes), minutes)
    return resolved_report(incident, text, inv.user, now, entries, response)
