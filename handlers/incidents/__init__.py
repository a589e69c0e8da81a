"""Incidents: diagnostics for six incident types, incident channels with a timeline, and approval-gated remedies.

    /minio incident <pod-crash|storage-full|network-issue|performance|security|data-loss> [tenant]
    /minio incident declare <tenant> P1|P2|P3 <title> [--type <incident type>]
    /minio incident resolve [summary]

Diagnostics run real checks against MinIO and Kubernetes and end in the next
actions; pod-crash offers a "Delete pod" button under a failing pod, which
requests the deletion (quorum-checked, approved by a second person). Declaring
opens a private incident channel with the responders, a pinned evidence
snapshot and the emergency checklist; every command and checklist tick there
goes into the timeline, which resolving posts with a review template.

Access: everything but the remedy needs only VIEW on the tenant. On-call
people must be able to raise the alarm without being operators; what keeps an
incident from being declared by the wrong people is that the channel must see
the tenant, and nothing here changes a tenant. In an incident channel the
tenant of its open incident is visible. The remedy button needs REQUEST.
"""

from __future__ import annotations

from bot.application import Capability, Hook
from bot.commands import Arg, Permission
from bot.config import TenantConfig
from bot.invocation import Invocation, UserError
from bot.report import Report, code, join, spans
from handlers.incidents import channels
from handlers.incidents.args import ACTIONS, IncidentArgs
from handlers.incidents.diagnostics import diagnose
from handlers.incidents.model import INCIDENT_TYPES, IncidentType
from handlers.incidents.remediation import REMEDIATE, PodDelete, clicked_tenant, on_remediate
from handlers.incidents.timeline import record_command, record_event

capability = Capability("incidents", __doc__)
capability.hook(Hook.COMMAND_RUN)(record_command)
capability.hook(Hook.CHANNEL_EVENT)(record_event)
capability.button(REMEDIATE, permission=Permission.REQUEST, tenant=clicked_tenant)(on_remediate)
capability.change_kind(PodDelete())


def _one_tenant(inv: Invocation, kind: str, name: str | None) -> TenantConfig:
    tenants = inv.tenants_or_one(name)
    if len(tenants) > 1:
        names = join([spans(code(t.name)) for t in tenants])
        raise UserError(spans("Name the tenant: ", code(f"/minio incident {kind} <tenant>"), " (tenants here: ",
                              names, ")."))
    return tenants[0]


@capability.verb(
    "incident",
    summary="Incident diagnostics (pod-crash, storage-full, network-issue, performance, security, data-loss); "
    "declare an incident channel, resolve it.",
    model=IncidentArgs,
    args=(
        Arg("action", "an incident type, declare or resolve", choices=ACTIONS, required=True),
        Arg("words", "tenant (diagnostics); tenant, severity and title (declare); summary (resolve)", rest=True),
        Arg("type", "declare: which diagnostics go into the evidence (default: from the title)", kind="option"),
    ),
    usage_override="<type> [tenant] | declare <tenant> P1|P2|P3 <title> [--type TYPE] | resolve [summary]",
    details="Types: " + ", ".join(INCIDENT_TYPES) + ". Declaring creates a channel named inc-DATE-TENANT-TITLE, "
    "invites you and the channel's responders, pins an evidence snapshot and posts the emergency checklist; every "
    "command there is recorded in the timeline.",
    examples=(
        "/minio incident pod-crash demo",
        "/minio incident declare demo P1 Pods crash looping",
        "/minio incident resolve Raised the memory limit; all pods ready",
    ),
    slow=True,
)
def incident_command(inv: Invocation, args: IncidentArgs) -> Report:
    """Route `incident` to diagnostics, declare or resolve."""
    if args.action == "declare":
        assert args.tenant and args.severity and args.title  # the model guarantees them
        return channels.declare(inv, args.tenant, args.severity, args.title, args.type)
    if args.action == "resolve":
        return channels.resolve(inv, args.summary)
    kind = IncidentType(args.action)
    return diagnose(inv.runtime, _one_tenant(inv, kind.value, args.tenant), kind)
