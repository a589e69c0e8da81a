"""Incidents: diagnostics for six incident types, incident channels with a timeline, and approval-gated remedies.

    /minio incident <pod-crash|storage-full|network-issue|performance|security|data-loss> [tenant]
    /minio incident declare <tenant> P1|P2|P3 <title> [--type <incident type>]
    /minio incident invite <member id>...
    /minio incident resolve [summary]

Diagnostics run real checks against MinIO and Kubernetes and end in the next
actions; pod-crash offers a "Delete pod" button under a failing pod, which
requests the deletion (quorum-checked, approved by a second person). Declaring
opens an incident channel (private unless `incidents.private: false`) with the
declarer and the tenant's responders, a pinned evidence snapshot and the
emergency checklist; every command and checklist tick there goes into the
timeline, which resolving posts with a review template.

Access: diagnostics need VIEW on the tenant. Declaring, inviting and resolving
need RESPOND: the tenant's responders, operators and approvers, and admins;
people who may only look at a tenant cannot open a channel about it or bring
anyone in. In an incident channel the tenant of its open incident is visible
only to the people the bot let in (the declarer, the responders, whoever a
responder invited through the bot), never to someone who joined by themselves.
IAM users, policies and pod log tails are never posted in a public incident
channel. The remedy button needs REQUEST.
"""

from __future__ import annotations

from bot.application import Capability, Hook
from bot.commands import Arg, Permission
from bot.config import TenantConfig
from bot.invocation import Invocation, UserError
from bot.report import Report, code, join, spans
from handlers.incidents import channels
from handlers.incidents.args import ACTIONS, IncidentArgs
from handlers.incidents.diagnostics import run_diagnosis
from handlers.incidents.disclosure import public_incident, split, withheld_here
from handlers.incidents.model import INCIDENT_TYPES, IncidentType
from handlers.incidents.present import diagnosis_report
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


def _permission(args: IncidentArgs) -> Permission:
    # invite and resolve need RESPOND too; their tenant is the channel's incident, checked by the handler.
    return Permission.RESPOND if args.action == "declare" else Permission.VIEW


@capability.verb(
    "incident",
    summary="Incident diagnostics (pod-crash, storage-full, network-issue, performance, security, data-loss); "
    "declare an incident channel, invite people into it, resolve it (declare, invite, resolve: the tenant's "
    "responders, operators and approvers).",
    model=IncidentArgs,
    args=(
        Arg("action", "an incident type, declare, invite or resolve", choices=ACTIONS, required=True),
        Arg("words", "tenant (diagnostics); tenant, severity and title (declare); member ids (invite); "
            "summary (resolve)", rest=True),
        Arg("type", "declare: which diagnostics go into the evidence (default: from the title)", kind="option"),
    ),
    permission_for=_permission,
    usage_override="<type> [tenant] | declare <tenant> P1|P2|P3 <title> [--type TYPE] | invite <member id>... "
    "| resolve [summary]",
    details="Types: " + ", ".join(INCIDENT_TYPES) + ". Anyone in a channel that sees the tenant may run the "
    "diagnostics. Declaring, inviting and resolving are for the tenant's responders (tenants[].responders; "
    "without them its operators and approvers) and bot admins; people who may only view a tenant cannot. "
    "Declaring creates a private channel named inc-DATE-TENANT-TITLE (public with incidents.private: false), "
    "invites you and the tenant's responders, pins an evidence snapshot and posts the emergency checklist; every "
    "command there is recorded in the timeline. Only the people the bot invited see the tenant there: bring "
    "someone in with invite and their member id (in Slack: their profile, ⋯, Copy member ID); someone added "
    "from Slack itself, or who joined a public incident channel by themselves, sees nothing, and while such a "
    "person is in a private incident channel the bot shows nothing about the tenant there. IAM users, policies "
    "and pod log tails never go into a public incident channel: the card says what was left out.",
    examples=(
        "/minio incident pod-crash demo",
        "/minio incident declare demo P1 Pods crash looping",
        "/minio incident invite U0123ABCD",
        "/minio incident resolve Raised the memory limit; all pods ready",
    ),
    slow=True,
)
def incident_command(inv: Invocation, args: IncidentArgs) -> Report:
    """Route `incident` to diagnostics, declare, invite or resolve."""
    if args.action == "declare":
        assert args.tenant and args.severity and args.title  # the model guarantees them
        return channels.declare(inv, args.tenant, args.severity, args.title, args.type)
    if args.action == "invite":
        return channels.invite(inv, args.people)
    if args.action == "resolve":
        return channels.resolve(inv, args.summary)
    kind = IncidentType(args.action)
    tenant = _one_tenant(inv, kind.value, args.tenant)
    diagnosis = run_diagnosis(inv.runtime, tenant, kind)
    if public_incident(inv.runtime, inv.channel) is None:
        return diagnosis_report(tenant.name, kind, diagnosis)
    shown, held = split(diagnosis)  # a public incident channel: the whole workspace can read it
    return diagnosis_report(tenant.name, kind, shown, withheld_here(tenant, kind, held) if held.sections else None)
