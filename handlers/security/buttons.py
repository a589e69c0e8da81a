"""The security responses as buttons: "Disable user X" and "Revoke key K", offered under other reports' findings.

Other capabilities (the security diagnostic in handlers/incidents) import the builders from here; this module
never imports them. Pressing a button requests exactly the plan the command would (``disable-user`` /
``revoke-key``): the clicker is the requester, the card goes to the channel and another person approves. The
framework checks, before the handler runs, that the clicker may REQUEST changes on the button's tenant.

A button's value carries the tenant, the action and the name as JSON (names may hold ``/``, ``:`` and unicode);
its action id carries only a digest of the name, unique within a message as Slack requires.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from bot.approval_engine import request_change
from bot.clients.errors import ClientError
from bot.clients.minio_models import ServiceAccountInfo, UserInfo
from bot.interactions import Click, ClickResult
from bot.invocation import Invocation
from bot.report import Action, code, notice, spans
from handlers.security.evaluate import StatusChangeRefused
from handlers.security.plans import plan_key_status, plan_user_status

RESPOND = "security-respond"  # the button prefix this capability answers
DISABLE_USER = "disable-user"
REVOKE_KEY = "revoke-key"
MAX_RESPONSE_USERS = 3  # users a finding offers "Disable user" for (their keys are read for "Revoke key")
MAX_KEYS_PER_USER = 2  # Revoke buttons per user a finding names
MAX_KEY_BUTTONS = 5  # Revoke buttons per finding, all users together


def _action(tenant: str, action: str, name: str, label: str, confirm: str) -> Action:
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    return Action(
        label=label[:75],
        action_id=f"{RESPOND}:{action}:{digest}",
        value=json.dumps({"tenant": tenant, "action": action, "name": name}, ensure_ascii=False),
        style="danger",
        confirm=confirm,
    )


def disable_user_action(tenant: str, user: str) -> Action:
    """A button that requests (with approval) disabling IAM user ``user`` of ``tenant``."""
    return _action(tenant, DISABLE_USER, user, f"Disable user {user}",
                   f"Request approval to disable MinIO user {user}? It and its access keys are refused until it "
                   "is enabled again. Someone else must approve.")


def revoke_key_action(tenant: str, key: str) -> Action:
    """A button that requests (with approval) revoking access key ``key`` of ``tenant`` (turning it off)."""
    return _action(tenant, REVOKE_KEY, key, f"Revoke key {key}",
                   f"Request approval to revoke access key {key}? MinIO refuses it until it is enabled again. "
                   "Someone else must approve.")


def response_actions(
    tenant: str, users: list[UserInfo], keys: Mapping[str, list[ServiceAccountInfo] | ClientError]
) -> list[Action]:
    """Disable buttons for ``users`` (a finding's users, already chosen and bounded), and Revoke buttons for
    their keys that are on: at most ``MAX_KEYS_PER_USER`` each and ``MAX_KEY_BUTTONS`` in all."""
    disable = [disable_user_action(tenant, u.access_key) for u in users]
    revoke: list[Action] = []
    for user in users:
        accounts = keys.get(user.access_key)
        if isinstance(accounts, list):
            on = sorted((a for a in accounts if a.enabled), key=lambda a: a.access_key)
            revoke += [revoke_key_action(tenant, a.access_key) for a in on[:MAX_KEYS_PER_USER]]
    return disable + revoke[:MAX_KEY_BUTTONS]


def clicked_tenant(_inv: Invocation, click: Click) -> str | None:
    """The tenant a response button acts on (the framework checks the clicker's permission on it)."""
    return _parse(click.value).get("tenant") or None


def _parse(value: str) -> dict[str, str]:
    try:
        doc = json.loads(value)
    except ValueError:
        return {}
    if not isinstance(doc, dict):
        return {}
    return {k: v for k, v in doc.items() if isinstance(v, str)}


def on_response(inv: Invocation, click: Click) -> ClickResult:
    """Plan the response the button names and request its approval (the clicker is the requester)."""
    doc = _parse(click.value)
    action, name = doc.get("action"), doc.get("name", "")
    tenant = inv.runtime.find_tenant(doc.get("tenant", ""))
    if tenant is None or action not in (DISABLE_USER, REVOKE_KEY) or not name:
        return ClickResult(ephemeral=notice("This button does not match the tenant's configuration; run the "
                                            "diagnostics again."))
    try:
        if action == DISABLE_USER:
            plan = plan_user_status(inv.runtime, tenant, name, False, inv.user)
        else:
            plan = plan_key_status(inv.runtime, tenant, name, False, inv.user)
    except StatusChangeRefused as refused:
        return ClickResult(ephemeral=notice(spans("Not requested for ", code(name[:128]), f": {refused.reason}")))
    return ClickResult(ephemeral=request_change(inv, plan))
