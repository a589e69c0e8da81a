"""The user status change: preview enabling or disabling one IAM user, and do it after approval.

Kind ``user-status`` (approval rule ``security``). The plan records the user's status at preview time
(the target's fingerprint); after approval the user is read again and the change runs only if nothing
moved. A disabled user can no longer sign any request, and neither can its service accounts.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.changes import Change, ChangeKind, ChangePlan, Finding, Outcome, Target, seal
from bot.clients.errors import ClientError
from bot.config import TenantConfig
from bot.runtime import Runtime
from handlers.security.evaluate import StatusChangeRefused, check_name, decide_status_change
from handlers.security.facts import identity_facts

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
