"""`/minio incident`: diagnostics for the six incident types, and incident channels (declare / resolve).

    /minio incident <pod-crash|storage-full|network-issue|performance|security|data-loss> [tenant]
    /minio incident declare <tenant> P1|P2|P3 <title> [--type <incident type>]
    /minio incident resolve [summary]

Access: everything needs only VIEW on the tenant. On-call people must be able
to raise the alarm without being operators; what keeps an incident from being
declared by the wrong people is that the channel must see the tenant (the
dispatcher checks `tenant` like for any verb), and nothing here changes a
tenant. In an incident channel the tenant of its open incident is visible.

`record_command` is the dispatcher's hook that writes commands run in an
incident channel to the timeline.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from bot.application import Capability, Hook
from bot.commands import Arg, Verb, escape
from bot.config import TenantConfig
from bot.invocation import Invocation, UserError
from bot.report import Report
from handlers.incidents import channels as incident_channels
from handlers.incidents.diagnostics import INCIDENT_TYPES, IncidentType, diagnose
from handlers.incidents.timeline import record_command, record_event

SEVERITIES = ("P1", "P2", "P3")
ACTIONS = (*INCIDENT_TYPES, "declare", "resolve")

__all__ = ["VERB", "IncidentArgs", "incident_command", "record_command"]


class IncidentArgs(BaseModel):
    """The parsed form of the three shapes of `incident` (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")
    action: str
    tenant: str | None = None
    severity: str | None = None
    title: str | None = None
    summary: str | None = None
    type: IncidentType | None = None

    @model_validator(mode="before")
    @classmethod
    def _split_words(cls, data: Any) -> Any:
        """Give the free words after the action their meaning, which depends on the action."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        words = str(data.pop("words", "") or "").split()
        action = data.get("action")
        if data.get("type") is not None and action != "declare":
            raise ValueError("`--type` belongs to `declare`")
        if isinstance(data.get("type"), str) and data["type"].lower() not in INCIDENT_TYPES:
            raise ValueError(f"`--type` is one of {', '.join(INCIDENT_TYPES)}")
        if isinstance(data.get("type"), str):
            data["type"] = data["type"].lower()
        if action == "declare":
            if len(words) < 3:
                raise ValueError("declare needs a tenant, a severity (P1, P2 or P3) and a title")
            severity = words[1].upper()
            if severity not in SEVERITIES:
                raise ValueError(f"severity is P1, P2 or P3, not {escape(words[1], 10)}")
            data.update(tenant=words[0], severity=severity, title=" ".join(words[2:]))
        elif action == "resolve":
            if words:
                data["summary"] = " ".join(words)
        elif words:
            if len(words) > 1:
                raise ValueError(f"`incident {action}` takes one tenant, not `{escape(' '.join(words), 60)}`")
            data["tenant"] = words[0]
        return data


def _one_tenant(inv: Invocation, kind: str, name: str | None) -> TenantConfig:
    tenants = inv.tenants_or_one(name)
    if len(tenants) > 1:
        names = ", ".join(f"`{t.name}`" for t in tenants)
        raise UserError(f"Name the tenant: `/minio incident {kind} &lt;tenant&gt;` (tenants here: {names}).")
    return tenants[0]


def incident_command(inv: Invocation, args: IncidentArgs) -> Report:
    """Route `incident` to diagnostics, declare or resolve."""
    if args.action == "declare":
        assert args.tenant and args.severity and args.title  # the model guarantees them
        return incident_channels.declare(inv, args.tenant, args.severity, args.title, args.type)
    if args.action == "resolve":
        return incident_channels.resolve(inv, args.summary)
    kind = IncidentType(args.action)
    return diagnose(inv.runtime, _one_tenant(inv, kind.value, args.tenant), kind)


VERB = Verb(
    name="incident",
    summary="Incident diagnostics (pod-crash, storage-full, network-issue, performance, security, data-loss); "
    "declare an incident channel, resolve it.",
    model=IncidentArgs,
    handler=incident_command,
    args=(
        Arg("action", "an incident type, `declare` or `resolve`", choices=ACTIONS, required=True),
        Arg("words", "tenant (diagnostics); tenant, severity and title (declare); summary (resolve)", rest=True),
        Arg("type", "declare: which diagnostics go into the evidence (default: from the title)", kind="option"),
    ),
    usage_override="<type> [tenant] | declare <tenant> P1|P2|P3 <title> [--type TYPE] | resolve [summary]",
    details="Types: " + ", ".join(INCIDENT_TYPES) + ". Declaring creates `#inc-<date>-<tenant>-<title>`, invites "
    "you and the channel's responders, pins an evidence snapshot and posts the emergency checklist; every command "
    "there is recorded in the timeline.",
    examples=(
        "/minio incident pod-crash demo",
        "/minio incident declare demo P1 Pods crash looping",
        "/minio incident resolve Raised the memory limit; all pods ready",
    ),
    slow=True,
)

capability = Capability("incidents", __doc__)
capability.add_verb(VERB)
capability.hook(Hook.COMMAND_RUN)(record_command)
capability.hook(Hook.CHANNEL_EVENT)(record_event)
