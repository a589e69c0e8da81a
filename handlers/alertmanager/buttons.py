"""The buttons on an alert group's message: Declare incident, Run diagnostics again, Silence, Expire silence.

Each click answers by redrawing the same message. A silence is created in
Alertmanager (API v2) for the group's own labels, for the chosen hours, by an
operator of the tenant (the framework checks the permission the capability
declares), and audited; it can be expired early from the same message.
"""

from __future__ import annotations

from datetime import timedelta

from bot.clients.alertmanager_models import Matcher
from bot.clients.errors import ClientError
from bot.interactions import Click, ClickResult
from bot.invocation import Invocation, UserError
from bot.report import code, spans
from bot.store import AlertGroup
from handlers.alertmanager.evaluate import GroupRecord, incident_severity
from handlers.alertmanager.notifications import look, message_for, record_levels
from handlers.alertmanager.present import Evidence, evidence_report, timeline_text
from handlers.incidents.channels import declare


def _group_id(click: Click) -> str:
    return click.value.split(" ", 1)[0][:64]


def tenant_of_click(inv: Invocation, click: Click) -> str | None:
    """The tenant of the clicked alert group (None for unmapped groups: then only admins may act)."""
    group = inv.runtime.store.alert_groups.get(_group_id(click))
    return group.tenant if group is not None else None


def _group(inv: Invocation, click: Click) -> tuple[AlertGroup, GroupRecord]:
    group = inv.runtime.store.alert_groups.get(_group_id(click))
    if group is None:
        raise UserError("The bot no longer knows this alert group.")
    return group, GroupRecord.model_validate(group.record)


def on_declare(inv: Invocation, click: Click) -> ClickResult:
    """Open an incident channel with the alert's evidence pinned and the alert as its first timeline entry."""
    group, record = _group(inv, click)
    store = inv.runtime.store
    if group.incident_id is not None:
        known = store.incidents.get(group.incident_id)
        if known is not None and known.is_open:
            raise UserError(spans("Incident #", str(known.id), " is already open for this alert."))
    if record.tenant is None:
        raise UserError("This alert names no tenant; declare the incident with the incident command.")
    found = Evidence.model_validate(group.evidence)
    title = f"{record.title}: {record.summary}" if record.summary else record.title
    report = declare(
        inv, record.tenant, incident_severity(record.severity), title[:120],
        evidence=evidence_report(record, found), alert=(record.started_at, timeline_text(record)),
    )
    mine = [i for i in store.incidents.open(record.tenant) if i.declared_by == inv.user and i.title == title[:120]]
    if mine:
        group = store.alert_groups.update(group.id, at=inv.runtime.clock(), incident_id=mine[-1].id) or group
    return ClickResult(update=message_for(inv.runtime, group), reply=report)


def on_rerun(inv: Invocation, click: Click) -> ClickResult:
    """Run the group's diagnostics again and redraw the message with what they find now."""
    group, record = _group(inv, click)
    if record.tenant is None:
        raise UserError("This alert names no tenant: there is nothing to diagnose.")
    tenant = inv.tenant(record.tenant)
    found, levels = look(inv.runtime, tenant, record)
    group = inv.runtime.store.alert_groups.update(
        group.id, at=inv.runtime.clock(), evidence=found.model_dump(mode="json")
    ) or group
    if levels is not None and group.channel == click.channel:
        record_levels(inv.runtime, tenant, levels, click.message_ts)
    return ClickResult(update=message_for(inv.runtime, group))


def on_silence(inv: Invocation, click: Click) -> ClickResult:
    """Silence the group in Alertmanager for the clicked number of hours (audited)."""
    group, record = _group(inv, click)
    hours = _hours(inv, click)
    if group.status == "resolved":
        raise UserError("These alerts have resolved; there is nothing to silence.")
    if not record.matchers:
        raise UserError("This alert group has no labels to silence it by.")
    now = inv.runtime.clock()
    until = now + timedelta(hours=hours)
    try:
        silence_id = inv.runtime.alertmanager().create_silence(
            list(record.matchers), starts_at=now, ends_at=until, created_by=f"{inv.user} via minio-chatops",
            comment=f"Silenced from Slack for {hours:g} h: {record.title} (group {group.id[:12]})",
        )
    except ClientError as exc:
        raise UserError(spans("No silence was created: ", str(exc))) from None
    inv.runtime.store.audit.append(
        actor=inv.user, action="silence", tenant=record.tenant,
        detail={"silence_id": silence_id, "until": until.isoformat(), "hours": hours, "group": group.id[:12],
                "matchers": _shown(record.matchers)},
    )
    group = inv.runtime.store.alert_groups.update(
        group.id, at=now, silence_id=silence_id, silenced_by=inv.user, silenced_until=until
    ) or group
    _note(inv, record, f"silenced in Alertmanager for {hours:g} h by {inv.user} (silence {silence_id})")
    return ClickResult(update=message_for(inv.runtime, group))


def on_expire(inv: Invocation, click: Click) -> ClickResult:
    """End the group's silence now (audited)."""
    group, record = _group(inv, click)
    if group.silence_id is None:
        raise UserError("This alert group is not silenced.")
    try:
        inv.runtime.alertmanager().expire_silence(group.silence_id)
    except ClientError as exc:
        raise UserError(spans("The silence ", code(group.silence_id), " is still in place: ", str(exc))) from None
    inv.runtime.store.audit.append(
        actor=inv.user, action="silence-expire", tenant=record.tenant,
        detail={"silence_id": group.silence_id, "group": group.id[:12]},
    )
    _note(inv, record, f"silence {group.silence_id} expired early by {inv.user}")
    group = inv.runtime.store.alert_groups.update(
        group.id, at=inv.runtime.clock(), silence_id=None, silenced_by=None, silenced_until=None
    ) or group
    return ClickResult(update=message_for(inv.runtime, group))


def _hours(inv: Invocation, click: Click) -> float:
    """The clicked duration, only if it is one the configuration offers."""
    _gid, _, text = click.value.partition(" ")
    offered = inv.runtime.config.alertmanager.silence_hours
    try:
        hours = float(text)
    except ValueError:
        hours = -1.0
    if hours not in offered:
        raise UserError("That silence duration is not offered any more; use the buttons on a fresh message.")
    return hours


def _shown(matchers: list[Matcher]) -> dict[str, str]:
    return {m.name: m.value for m in matchers}


def _note(inv: Invocation, record: GroupRecord, text: str) -> None:
    """A line in the timeline of the tenant's open incidents."""
    if record.tenant is None:
        return
    for incident in inv.runtime.store.incidents.open(record.tenant):
        inv.runtime.store.incidents.add_entry(incident.id, actor=inv.user, kind="silence", text=text[:500],
                                              at=inv.runtime.clock())
