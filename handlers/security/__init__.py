"""Security response: who may sign requests on a tenant, and disabling or enabling a user (approved).

- ``security <tenant> users``: every IAM user with its status, policy and service accounts (secrets are
  never fetched or shown); the bot's own user is marked.
- ``security <tenant> disable-user <name>`` / ``enable-user <name>`` (approval, rule ``security``):
  previews the status change and what it does to the user's service accounts; after approval the
  user is read again and changed once. The bot's own user and the root user are refused. Names may hold
  any printable character (unicode, ``/``, ``+``): they travel URL-encoded and are shown as typed.

Layout: ``facts`` (users and service accounts, one fan-out), ``evaluate`` (names, refusals),
``present`` (the users report), ``plans`` (the change and its kind).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.application import Capability
from bot.approval_engine import request_change
from bot.commands import Arg, Permission
from bot.invocation import Invocation, UserError
from bot.report import Report, code, spans
from handlers.security.evaluate import StatusChangeRefused
from handlers.security.facts import identity_facts
from handlers.security.plans import UserStatus, plan_user_status
from handlers.security.present import users_report

__all__ = ["SecurityArgs", "capability", "security_command"]

capability = Capability("security", __doc__)
capability.change_kind(UserStatus())


class SecurityArgs(BaseModel):
    """Arguments of `/minio security`."""

    model_config = ConfigDict(extra="forbid")
    tenant: str = Field(max_length=63)
    action: Literal["users", "disable-user", "enable-user"]
    name: str | None = Field(None, max_length=300)

    @model_validator(mode="after")
    def _complete(self) -> SecurityArgs:
        if self.action != "users" and not self.name:
            raise ValueError(f"{self.action} needs the user's name (its access key)")
        if self.action == "users" and self.name:
            raise ValueError("users takes no name")
        return self


def _permission(args: SecurityArgs) -> Permission:
    return Permission.VIEW if args.action == "users" else Permission.REQUEST


@capability.verb(
    "security",
    summary="Users and service accounts of a tenant; disable or enable a user (needs approval).",
    model=SecurityArgs,
    args=(
        Arg("tenant", "the tenant", required=True),
        Arg("action", "what to do", required=True, choices=("users", "disable-user", "enable-user")),
        Arg("name", "the user (access key) for disable-user / enable-user", metavar="user"),
    ),
    permission=Permission.VIEW,
    permission_for=_permission,
    details="A disabled user, and each of its service accounts, is refused by MinIO on every request. "
    "The bot's own user and the root user cannot be disabled from chat.",
    examples=("/minio security demo users", "/minio security demo disable-user old-ci"),
    slow=True,
)
def security_command(inv: Invocation, args: SecurityArgs) -> Report:
    """The users report, or a status change request."""
    tenant = inv.tenant(args.tenant)
    runtime = inv.runtime
    if args.action == "users":
        return users_report(tenant.name, identity_facts(runtime, tenant))
    name = args.name or ""
    try:
        plan = plan_user_status(runtime, tenant, name, args.action == "enable-user", inv.user)
    except StatusChangeRefused as refused:
        raise UserError(spans("Not requested for ", code(name[:128]), f": {refused.reason}")) from None
    return request_change(inv, plan)
