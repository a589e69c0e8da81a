"""Incident channels: `/minio incident declare|invite|resolve`.

Declaring creates `#inc-<yyyymmdd>-<tenant>-<slug>` (with `-2`, `-3`, ... when
the name is taken), private unless `incidents.private` is false. The bot lets in
the declarer and the tenant's responders (`tenants[].responders`, else its
operators and approvers; groups expanded), stores who it let in, and invites
them; later a responder brings in more with `/minio incident invite`. Only
those people see the tenant in the channel (see `Runtime._incident_link`).
Then it posts the incident card, posts and pins an evidence snapshot (health
plus the diagnostics matching the incident) and posts the emergency runbook as
a checklist. IAM users, policies and pod log tails go into a private channel
only; a public one gets a note of what was left out, and the tenant's own
channel gets those sections. Every step is written to the incident's timeline;
resolving posts the timeline with a post-incident review template.

All Slack work goes through the invocation's `Outbox`; nothing here knows Slack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.commands import Permission
from bot.config import TenantConfig
from bot.invocation import Invocation, UserError
from bot.outbox import OutboxError
from bot.report import Report, Text, code, join, mention, spans
from bot.runtime import Runtime
from bot.store import Incident
from handlers.incidents.diagnostics import gather_evidence
from handlers.incidents.disclosure import PUBLIC_CHANNEL, kinds, split_all, tenant_channels
from handlers.incidents.evaluate import first_response, matching_types, response_due
from handlers.incidents.model import Diagnosis, IncidentType, Withheld
from handlers.incidents.naming import MAX_SUFFIX, candidates, channel_name
from handlers.incidents.present import (
    declared_report,
    evidence_report,
    incident_card,
    invited_report,
    resolved_report,
    response_row,
    sensitive_evidence_report,
)
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


def create_incident_channel(inv: Invocation, base: str, private: bool) -> tuple[str, str]:
    """Create `base`, or `base-2`, `base-3`, ... when the name is taken; returns (channel id, name)."""
    for name in candidates(base):
        try:
            return inv.outbox.create_channel(name, private), name
        except OutboxError as exc:
            if exc.code != "name_taken":
                raise UserError(spans(f"Could not create the incident channel #{name}: ", str(exc))) from None
    raise UserError(f"#{base} and its -2 ... -{MAX_SUFFIX} variants are all taken; archive old ones.")


def responders(inv: Invocation, tenant: TenantConfig) -> tuple[list[str], list[str]]:
    """The caller first, then the tenant's responders as people (groups expanded); with unreadable groups."""
    people, unread = inv.runtime.access.users_of([inv.user, *tenant.incident_responders])
    return [p for p in people if p[:1] in ("U", "W")], unread


def _origin(runtime: Runtime, channel: str) -> str:
    configured = runtime.config.channel(channel)
    return f" from #{configured.name}" if configured and configured.name else ""


def _invite(d: _Declaration, people: list[str]) -> None:
    try:
        refused = d.inv.outbox.invite(d.channel, people)
    except OutboxError as exc:
        d.failed("invite everyone", exc)
        d.note("invite", f"invitation failed: {exc}")
        return
    invited = [p for p in people if p not in refused]
    if invited:
        d.note("invite", "invited " + ", ".join(invited))
    for user, why in refused.items():
        d.problems.append(spans("Could not invite ", mention(user), f": {why}"))
        d.note("invite", f"could not invite {user}: {why}")


def _withheld(
    inv: Invocation, tenant: TenantConfig, private: bool, held: dict[IncidentType, Diagnosis]
) -> Withheld | None:
    """What the evidence of a public channel leaves out, and where it goes instead (None: nothing is left out)."""
    if private or not held:
        return None
    if inv.channel in tenant.channels:
        where: Text = spans("posted in ", mention(inv.channel), ", where the incident was declared")
    else:
        where = spans("run the diagnostics in ", tenant_channels(tenant))
    return Withheld(kinds=kinds(list(held.values())), why=PUBLIC_CHANNEL, where=where)


def _post_sensitive(d: _Declaration, tenant: TenantConfig, held: dict[IncidentType, Diagnosis]) -> None:
    """The evidence left out of a public incident channel, posted where the incident was declared."""
    inv = d.inv
    if not held or inv.channel not in tenant.channels:
        return
    report = sensitive_evidence_report(d.incident, tenant.name, d.channel, inv.runtime.clock(), held)
    try:
        inv.outbox.post(inv.channel, report)
    except OutboxError as exc:
        d.failed("post the sensitive evidence in the declaring channel", exc)
        return
    what = ", ".join(k.value for k in kinds(list(held.values())))
    d.note("evidence", f"posted the {what} in the declaring channel, not here (this channel is public)")


def _pin_evidence(d: _Declaration, evidence: Report) -> str | None:
    ts = d.post(evidence, "evidence", f"posted the evidence snapshot ({evidence.status})")
    if ts:
        try:
            d.inv.outbox.pin(d.channel, ts)
            d.note("pin", "pinned the evidence snapshot")
        except OutboxError as exc:
            d.failed("pin the evidence", exc)
    return ts


def _post_checklist(d: _Declaration, tenant: TenantConfig) -> str:
    try:
        run, _ts = post_checklist(d.inv.runtime, d.inv.outbox, d.channel, EMERGENCY_RUNBOOK, tenant.name, BOT_ACTOR)
    except OutboxError as exc:
        d.failed("post the emergency checklist", exc)
        return "not posted"
    d.note("runbook", f"posted the emergency checklist (run #{run.id})")
    return f"run #{run.id}"


def _open(
    inv: Invocation, tenant: TenantConfig, severity: str, title: str, alert: tuple[datetime, str] | None
) -> tuple[_Declaration, list[str]]:
    """Create the channel, store the incident with the people let in (and the alert it came from), invite them."""
    runtime = inv.runtime
    private = runtime.config.incidents.private
    people, unread = responders(inv, tenant)
    now = runtime.clock()
    channel, name = create_incident_channel(inv, channel_name(now, tenant.name, title), private)
    # Let them in before Slack adds them: they may see the tenant there from their first moment in it.
    incident = runtime.store.incidents.declare(
        severity=severity, title=title, declared_by=inv.user, tenant=tenant.name, channel_id=channel, at=now,
        private=private, members=people,
    )
    if alert is not None:
        runtime.store.incidents.add_entry(incident.id, actor=ALERT_ACTOR, kind="alert", text=alert[1][:500],
                                          at=alert[0])
    d = _Declaration(inv, incident, channel)
    d.note("channel", f"created {'private' if private else 'public'} #{name}{_origin(runtime, inv.channel)}")
    if unread:
        d.problems.append(spans("Could not read the members of ", join([spans(mention(g)) for g in unread]),
                                "; invite them with ", code("/minio incident invite <member id>"), "."))
    _invite(d, people)
    return d, people


def declare(
    inv: Invocation, tenant_name: str, severity: str, title: str, kind: IncidentType | None = None, *,
    evidence: Report | None = None, alert: tuple[datetime, str] | None = None,
) -> Report:
    """Declare an incident: channel, people let in, card, pinned evidence, emergency checklist, timeline.

    Declared from an alert: ``evidence`` is pinned instead of a fresh snapshot (it holds only the sections
    with a problem, never IAM users or log lines, so a public channel may show it whole), and ``alert``
    (when it fired, what fired) is the timeline's first entry.
    """
    runtime = inv.runtime
    tenant = inv.tenant(tenant_name)
    d, people = _open(inv, tenant, severity, title, alert)
    incident, private = d.incident, d.incident.is_private
    held: dict[IncidentType, Diagnosis] = {}
    withheld: Withheld | None = None
    if evidence is None:
        health, diagnoses = gather_evidence(runtime, tenant, [kind] if kind else matching_types(title) or
                                            list(IncidentType))
        shown, held = (diagnoses, {}) if private else split_all(diagnoses)
        withheld = _withheld(inv, tenant, private, held)
        evidence = evidence_report(tenant.name, runtime.clock(), health, shown, withheld)
    minutes = runtime.config.severity_minutes.get(severity, 60)
    due = response_due(incident, minutes)
    card = incident_card(incident, tenant.name, inv.channel, minutes, due, people, withheld)
    d.post(card, "card", "posted the incident card")
    ts = _pin_evidence(d, evidence)
    _post_sensitive(d, tenant, held)
    checklist = _post_checklist(d, tenant)
    link = inv.outbox.permalink(d.channel, ts) if ts else None
    return declared_report(incident, d.channel, minutes, due, people, evidence.status, link, checklist, d.problems,
                           withheld)


def _incident_here(inv: Invocation, verb: str) -> Incident:
    """The open incident of this channel; UserError when there is none."""
    incident = inv.runtime.store.incidents.open_in_channel(inv.channel)
    if incident is None:
        raise UserError(spans("There is no open incident in this channel. Run ", code(f"/minio incident {verb}"),
                              " in its channel."))
    return incident


def _responder_here(inv: Invocation, verb: str, tenant: TenantConfig) -> None:
    """RESPOND on the incident's tenant (the framework cannot: its tenant comes from the channel)."""
    decision = inv.runtime.access.check(inv.user, inv.channel, f"incident {verb}", Permission.RESPOND, tenant)
    if not decision.allowed:
        raise UserError(decision.reason)


def invite(inv: Invocation, people: list[str]) -> Report:
    """Let people into this incident's channel (a responder asks): stored first, then added in Slack.

    It works while someone not let in is in the channel (bringing them in is one way out of that), so the
    tenant is looked up without the channel's visibility; the caller was let in (the framework checked).
    """
    incident = _incident_here(inv, "invite")
    tenant = inv.runtime.find_tenant(incident.tenant or "")
    if tenant is None:
        raise UserError(spans("The tenant of this incident, ", code(incident.tenant or "-"), ", is not configured."))
    if not inv.runtime.access.can_respond(inv.user, tenant):
        raise UserError(spans("You may not run ", code("incident invite"), ": that is for the tenant's responders, "
                              "operators and approvers (and bot admins)."))
    new = inv.runtime.store.incidents.let_in(incident.id, people, by=inv.user, at=inv.runtime.clock())
    try:
        refused = inv.outbox.invite(inv.channel, people)
    except OutboxError as exc:
        raise UserError(spans("They may see the tenant here now, but I could not add them to the channel: ",
                              str(exc), ". Add them from Slack.")) from None
    added = [p for p in people if p not in refused]
    if added:
        record(inv.runtime, inv.channel, inv.user, "invite", "invited " + ", ".join(added))
    return invited_report(tenant.name, added, [p for p in people if p not in new], refused)


def resolve(inv: Invocation, summary: str | None) -> Report:
    """Close the channel's incident: the summary, its timeline and the post-incident review template."""
    incident = _incident_here(inv, "resolve")
    _responder_here(inv, "resolve", inv.tenant(incident.tenant or ""))
    store = inv.runtime.store
    now = inv.runtime.clock()
    text = summary.strip() if summary and summary.strip() else "(no summary given)"
    if not store.incidents.resolve(incident.id, by=inv.user, summary=text, at=now):
        raise UserError(f"Incident #{incident.id} was resolved already.")
    entries = store.incidents.timeline(incident.id)
    minutes = inv.runtime.config.severity_minutes.get(incident.severity, 60)
    response = response_row(incident, first_response(entries), response_due(incident, minutes), minutes)
    return resolved_report(incident, text, inv.user, now, entries, response)

