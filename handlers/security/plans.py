"""The status changes: preview enabling or disabling one IAM user, or turning one access key off (revoke) or on,
and do it after approval.

Kinds ``user-status`` and ``key-status`` (approval rule ``security``). The plan records the target's status at
preview time (its fingerprint); after approval the target is read again and the change runs only if nothing
moved. A disabled user can no longer sign any request, and neither can its service accounts; an access key that
is off is refused on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from bot.changes import Change, ChangeKind, ChangePlan, Finding, Outcome, Target, seal
from bot.clients.errors import ClientError
from bot.clients.minio_models import ServiceAccountDetail
from bot.config import TenantConfig
from bot.runtime import Runtime
from handlers.security.evaluate import (
    KeyChange,
    StatusChangeRefused,
    check_name,
    decide_key_status,
    decide_status_change,
)
from handlers.security.facts import identity_facts, key_facts

ACTION_KIND = "security"


def plan_user_status(runtime: Runtime, tenant: TenantConfig, name: str, enable: bool, requester: str) -> ChangePlan:
    """The previewed change; raises StatusChangeRefused for names that cannot or need not change."""
    check_name(name)
    facts = identity_facts(runtime, tenant, only=name)
    change = decide_status_change(facts, name, enable)
    verb = "Enable" if enable else "Disable"
    after = "enabled" if enable else "disabled"
    notes = ["A disabled user cannot sign any request; its service accounts stop working too."
             if not enable else "The user and its service accounts can sign requests again."]
    changes = [Change(what=f"MinIO user {name}", before=change.user.status, after=after)]
    if change.service_accounts:
        changes.append(Change(what=f"Service accounts of {name}", before=f"{change.service_accounts} usable",
                              after="usable" if enable else "refused with the user"))
    return seal(ChangePlan(
        kind=UserStatus.name,
        action_kind=ACTION_KIND,
        tenant=tenant.name,
        title=f"{verb} MinIO user {name} on {tenant.name}",
        params={"user": name, "enable": enable, "requested_by": requester},
        targets=[Target(kind="MinioUser", name=name, fingerprint=change.user.status)],
        changes=changes,
        notes=[*notes, f"Policy {change.user.policy_name or 'none'} stays attached."],
        risk="medium" if not enable else "low",
        planned_at=runtime.clock(),
    ))


class UserStatus(ChangeKind):
    """Change kind ``user-status``."""

    name = "user-status"
    action_kind = ACTION_KIND

    def recheck(self, runtime: Runtime, plan: ChangePlan) -> list[Finding]:
        """Still the bot's own user? Still that status? (The same rules as the preview, on fresh facts.)"""
        tenant = runtime.find_tenant(plan.tenant)
        if tenant is None:
            return [Finding(check="tenant", ok=False, detail="The tenant is no longer configured.")]
        name = plan.params["user"]
        facts = identity_facts(runtime, tenant, only=name)
        try:
            change = decide_status_change(facts, name, bool(plan.params["enable"]))
        except StatusChangeRefused as refused:
            return [Finding(check="target unchanged", ok=False, detail=f"{refused.reason} Nothing was changed.")]
        same = change.user.status == plan.targets[0].fingerprint
        return [Finding(check="target unchanged", ok=same, detail="The user's status is the one previewed." if same
                        else "The user changed since the preview. Nothing was changed; request it again.")]

    def execute(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        """One admin call, then read the user back to say what the server now holds."""
        tenant = runtime.find_tenant(plan.tenant)
        if tenant is None:
            return Outcome(ok=False, summary="The tenant is no longer configured; nothing was changed.")
        client = runtime.minio(tenant)
        name, enable = plan.params["user"], bool(plan.params["enable"])
        wanted = "enabled" if enable else "disabled"
        try:
            client.set_user_status(name, enabled=enable)
        except ClientError as exc:
            return Outcome(ok=False, summary=f"MinIO refused to set user {name} {wanted}: {exc}")
        progress(f"MinIO accepted: user {name} {wanted}.")
        try:
            now = next((u.status for u in client.list_users() if u.access_key == name), "gone")
        except ClientError as exc:
            return Outcome(ok=True, summary=f"User {name} set {wanted} (could not read it back: {exc}).")
        if now != wanted:
            return Outcome(ok=False, summary=f"MinIO accepted the change but user {name} reads as {now}.")
        return Outcome(ok=True, summary=f"User {name} is {wanted} on {tenant.name}.",
                       lines=[f"User {name}: {plan.targets[0].fingerprint} -> {wanted}."])


# ----------------------------------------------------------------------------- revoking an access key


def _expiry(account: ServiceAccountDetail, now: datetime) -> str:
    if account.expiration is None:
        return "never expires"
    stamp = account.expiration.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"expired {stamp}" if account.expiration <= now else f"expires {stamp}"


def _policy(change: KeyChange) -> str:
    account, parent = change.account, change.parent
    if account.implied_policy:
        named = f" (policy {parent.policy_name or 'none'})" if parent is not None else ""
        return f"inherited from {account.parent_user}{named}"
    count = account.policy_statements()
    size = f"{count} statement(s)" if count is not None else "unreadable"
    return f"its own inline policy ({size}), within what {account.parent_user} may do"


def plan_key_status(runtime: Runtime, tenant: TenantConfig, key: str, enable: bool, requester: str) -> ChangePlan:
    """The previewed revocation (``enable`` False) or re-enabling of one service account; raises
    StatusChangeRefused for keys that cannot or need not change.

    Revoking turns the key off (admin ``update-service-account``, ``newStatus: off``) rather than deleting it:
    MinIO refuses an off key on its very next request, which is what a responder needs first, and the step can
    be undone (``enable-key``) once the key's owner is cleared, while a deleted key's secret is gone for good
    and every client holding it needs a new one. Delete it with mc after the incident if it must go.
    """
    check_name(key, "access key")
    facts = key_facts(runtime, tenant, key)
    change = decide_key_status(facts, tenant.name, enable)
    account, now = change.account, runtime.clock()
    owner = account.parent_user or "unknown"
    if change.parent is not None and change.parent.status != "enabled":
        owner += f" (user {change.parent.status}: the key is refused already while it stays so)"
    label = f" ({account.name})" if account.name else ""
    notes = [
        f"Owner: {owner}.",
        f"Policy: {_policy(change)}.",
        f"Expiry: {_expiry(account, now)}.",
        "Last use: not reported by MinIO.",
        "Its secret and policy stay; only its status changes."
        + (f" Undo with /minio security {tenant.name} enable-key {key}." if not enable else ""),
    ]
    if account.description:
        notes.insert(1, f"Description: {account.description[:200]}.")
    after = "on: it can sign requests again" if enable else "off: MinIO refuses every request signed with it"
    return seal(ChangePlan(
        kind=KeyStatus.name,
        action_kind=ACTION_KIND,
        tenant=tenant.name,
        title=f"{'Enable' if enable else 'Revoke'} access key {key}{label} on {tenant.name}",
        params={"key": key, "enable": enable, "requested_by": requester},
        targets=[Target(kind="MinioServiceAccount", name=key, fingerprint=change.fingerprint)],
        changes=[Change(what=f"Access key {key} of {owner.split(' ')[0]}", before=account.status or "unknown",
                        after=after)],
        notes=notes,
        risk="low" if enable else "medium",
        planned_at=now,
    ))


class KeyStatus(ChangeKind):
    """Change kind ``key-status`` (approval rule ``security``): one service account turned off or on."""

    name = "key-status"
    action_kind = ACTION_KIND

    def recheck(self, runtime: Runtime, plan: ChangePlan) -> list[Finding]:
        """Same rules as the preview on fresh facts; the key's status and owner are the ones previewed."""
        tenant = runtime.find_tenant(plan.tenant)
        if tenant is None:
            return [Finding(check="tenant", ok=False, detail="The tenant is no longer configured.")]
        key = plan.params["key"]
        try:
            change = decide_key_status(key_facts(runtime, tenant, key), tenant.name, bool(plan.params["enable"]))
        except StatusChangeRefused as refused:
            return [Finding(check="target unchanged", ok=False, detail=f"{refused.reason} Nothing was changed.")]
        same = change.fingerprint == plan.targets[0].fingerprint
        return [Finding(check="target unchanged", ok=same, detail="The key's status and owner are the ones previewed."
                        if same else "The key changed since the preview. Nothing was changed; request it again.")]

    def execute(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        """One admin call, then read the key back to say what the server now holds."""
        tenant = runtime.find_tenant(plan.tenant)
        if tenant is None:
            return Outcome(ok=False, summary="The tenant is no longer configured; nothing was changed.")
        client = runtime.minio(tenant)
        key, enable = plan.params["key"], bool(plan.params["enable"])
        wanted = "on" if enable else "off"
        try:
            client.set_service_account_status(key, enabled=enable)
        except ClientError as exc:
            return Outcome(ok=False, summary=f"MinIO refused to turn access key {key} {wanted}: {exc}")
        progress(f"MinIO accepted: access key {key} {wanted}.")
        try:
            account = client.service_account_info(key)
        except ClientError as exc:
            return Outcome(ok=True, summary=f"Access key {key} turned {wanted} (could not read it back: {exc}).")
        now = "gone" if account is None else account.status
        if account is None or account.enabled != enable:
            return Outcome(ok=False, summary=f"MinIO accepted the change but access key {key} reads as {now}.")
        done = "revoked: MinIO refuses it from now on" if not enable else "on again"
        return Outcome(ok=True, summary=f"Access key {key} is {done} ({tenant.name}).",
                       lines=[f"Access key {key}: {(plan.targets[0].fingerprint or '').split('|')[0]} -> {now}."])
