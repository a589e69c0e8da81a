"""Maintenance: can a node be taken down now, and maintenance windows that mute alerts while you work.

- ``maintenance <tenant> check`` asks MinIO, node by node, "can this node be
  taken down now?" (``/minio/health/cluster?maintenance=true``: refused when it
  would break write quorum or while drives heal), naming each node by its pod
  where the bot reaches pods one by one, and shows the tenant's pods, PVCs,
  recent warning events and its window. Behind a load balancer no per-node
  answer exists: the check says so and still checks cluster-wide quorum.
- ``maintenance <tenant> enable [--hours H] [reason]`` (approval) opens a
  window with an end time: alerts for the tenant are muted while it lasts, the
  Tenant is annotated (``maintenance.minio.io/mode``, ``/timestamp``,
  ``/until``) and a console Deployment, where one exists (operators before v6),
  is scaled to 0. The window records exactly what was changed.
- ``maintenance <tenant> disable`` (approval unless the tenant sets
  ``approve_maintenance_disable: false``) reverses that record; whatever
  someone changed by hand since is left alone, and the preview says so.

Windows past their end stop muting alerts by themselves; the daily report
lists them until someone disables them. Layout: ``facts``, ``evaluate``,
``present`` (the check), ``plans`` and ``kinds`` (enable, disable).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.application import Capability
from bot.approval_engine import request_change
from bot.commands import Arg, Permission
from bot.invocation import Invocation
from bot.report import Report
from handlers.maintenance.evaluate import MODE, TIMESTAMP, UNTIL
from handlers.maintenance.facts import check_facts
from handlers.maintenance.kinds import CHANGE_KINDS
from handlers.maintenance.plans import plan_disable, plan_enable
from handlers.maintenance.present import check_report

__all__ = ["MODE", "TIMESTAMP", "UNTIL", "MaintenanceArgs", "capability", "maintenance_command"]

capability = Capability("maintenance", __doc__)
for _kind in CHANGE_KINDS:
    capability.change_kind(_kind)

DEFAULT_HOURS = 2.0
MAX_HOURS = 72.0


class MaintenanceArgs(BaseModel):
    """Arguments of `/minio maintenance`."""

    model_config = ConfigDict(extra="forbid")
    tenant: str
    action: Literal["check", "enable", "disable"]
    hours: float = Field(DEFAULT_HOURS, gt=0, le=MAX_HOURS)
    reason: str = Field("", max_length=300)


def _permission(args: MaintenanceArgs) -> Permission:
    return Permission.VIEW if args.action == "check" else Permission.REQUEST


@capability.verb(
    "maintenance",
    summary="Is it safe to take a node down? Open or close a maintenance window (needs approval).",
    model=MaintenanceArgs,
    args=(
        Arg("tenant", "the tenant", required=True),
        Arg("action", "what to do", required=True, choices=("check", "enable", "disable")),
        Arg("hours", f"window length for enable (default {DEFAULT_HOURS:g}, at most {MAX_HOURS:g})", kind="option"),
        Arg("reason", "why (shown on the approval card)", rest=True),
    ),
    permission=Permission.VIEW,
    permission_for=_permission,
    details="enable annotates the Tenant (maintenance.minio.io/mode, /timestamp, /until), scales the console "
    "Deployment to 0 where one exists and mutes alerts until the window ends; disable reverses exactly that.",
    examples=("/minio maintenance demo check", "/minio maintenance demo enable --hours 4 replacing drive 3"),
    slow=True,
)
def maintenance_command(inv: Invocation, args: MaintenanceArgs) -> Report:
    """check: node-by-node report; enable/disable: a previewed change that goes through approval."""
    tenant = inv.tenant(args.tenant)
    runtime = inv.runtime
    if args.action == "check":
        return check_report(tenant, check_facts(runtime, tenant), runtime.clock())
    if args.action == "enable":
        return request_change(inv, plan_enable(runtime, tenant, inv.user, args.hours, args.reason))
    plan = plan_disable(runtime, tenant, inv.user)
    return request_change(inv, plan, approval_required=tenant.approve_maintenance_disable)
