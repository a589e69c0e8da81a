"""Security response: who may sign requests on a tenant; disabling a user or revoking an access key (approved).

- ``security <tenant> users``: every IAM user with its status, policy and service accounts (each key's
  status and expiry; MinIO reports no time of last use, and the report says so); secrets are never fetched
  or shown; the bot's own user is marked.
- ``security <tenant> disable-user <name>`` / ``enable-user <name>`` (approval, rule ``security``):
  previews the status change and what it does to the user's service accounts; after approval the
  user is read again and changed once. The bot's own user and the root user are refused. Names may hold
  any printable character (unicode, ``/``, ``+``): they travel URL-encoded and are shown as typed.
- ``security <tenant> revoke-key <access key>`` / ``enable-key <access key>`` (approval, rule ``security``):
  turns one service account off (or on again). Off, not deleted: MinIO refuses the key on its next request,
  which is what a responder needs first, and the step can be undone; a deletion loses the secret for good
  (do it with mc once the incident is closed). The preview shows the key's owner, policy (inherited or its
  own), expiry and status. Refused: the bot's own key, the root user, a user's name (pointed to
  ``disable-user``), unknown keys and no-ops.
- Buttons (``buttons``): "Disable user X" / "Revoke key K", which the security diagnostic offers under its
  findings; a press requests the same plan as the command.

Layout: ``facts`` (users and service accounts, one fan-out; one key), ``evaluate`` (names, refusals, whom a
finding offers responses for), ``present`` (the users report), ``plans`` (the changes and their kinds),
``buttons`` (the response buttons other capabilities offer).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.application import Capability
from bot.approval_engine import request_change
from bot.commands import Arg, Permission
from bot.invocation import Invocation, UserError
from bot.report import Report, Text, code, spans
from handlers.security.buttons import RESPOND, clicked_tenant, on_response
from handlers.security.evaluate import StatusChangeRefused
from handlers.security.facts import identity_facts
from handlers.security.plans import KeyStatus, UserStatus, plan_key_status, plan_user_status
from handlers.security.present import users_report

__all__ = ["SecurityArgs", "capability", "security_command"]

ACTIONS = ("users", "disable-user", "enable-user", "revoke-key", "enable-key")
KEY_ACTIONS = ("revoke-key", "enable-key")

capability = Capability("security", __doc__)
capability.change_kind(UserStatus())
capability.change_kind(KeyStatus())
capability.button(RESPOND, permission=Permission.REQUEST, tenant=clicked_tenant)(on_response)


class SecurityArgs(BaseModel):
    """Arguments of `/minio security`."""

    model_config = ConfigDict(extra="forbid")
    tenant: str = Field(max_length=63)
    action: Literal["users", "disable-user", "enable-user", "revoke-key", "enable-key"]
    name: str | None = Field(None, max_length=300)

    @model_validator(mode="after")
    def _complete(self) -> SecurityArgs:
        if self.action in KEY_ACTIONS and not self.name:
            raise ValueError(f"{self.action} needs the access key")
        if self.action != "users" and not self.name:
            raise ValueError(f"{self.action} needs the user's name (its access key)")
        if self.action == "users" and self.name:
            raise ValueError("users takes no name")
        return self


def _permission(args: SecurityArgs) -> Permission:
    return Permission.VIEW if args.action == "users" else Permission.REQUEST


@capability.verb(
    "security",
    summary="Users and service accounts of a tenant; disable or enable a user, revoke or re-enable an access key "
    "(needs approval).",
    model=SecurityArgs,
    args=(
        Arg("tenant", "the tenant", required=True),
        Arg("action", "what to do", required=True, choices=ACTIONS),
        Arg("name", "the user for disable-user / enable-user, the access key for revoke-key / enable-key",
            metavar="name"),
    ),
    permission=Permission.VIEW,
    permission_for=_permission,
    details="A disabled user, and each of its service accounts, is refused by MinIO on every request. "
    "revoke-key turns one service account (access key) off: MinIO refuses it at once, its secret and policy stay, "
    "and enable-key turns it on again. The bot's own user or key and the root user cannot be changed from chat.",
    examples=("/minio security demo users", "/minio security demo disable-user old-ci",
              "/minio security demo revoke-key svc-backup-nightly"),
    slow=True,
)
def security_command(inv: Invocation, args: SecurityArgs) -> Report:
    """The users report, or a status change request."""
    tenant = inv.tenant(args.tenant)
    runtime = inv.runtime
    if args.action == "users":
        return users_report(tenant.name, identity_facts(runtime, tenant), runtime.clock())
    name = args.name or ""
    try:
        if args.action in KEY_ACTIONS:
            plan = plan_key_status(runtime, tenant, name, args.action == "enable-key", inv.user)
        else:
            plan = plan_user_status(runtime, tenant, name, args.action == "enable-user", inv.user)
    except StatusChangeRefused as refused:
        why: Text = spans("Not requested for ", code(name[:128]), f": {refused.reason}")
        if refused.instead:
            why = spans(why, " ", code(refused.instead))
        raise UserError(why) from None
    return request_change(inv, plan)
