"""Who may do what, where.

- A channel sees the tenants that list it under `channels` (discovered tenants:
  the channels of their cluster). Admins follow the same rule: visibility is
  about where information is posted, not about who asks.
- Operators (per tenant), approvers and admins may *request* changes.
- Approvers for an action kind (users and Slack user groups) and admins may
  approve, never their own request (enforced in the approval engine).

Group membership comes from a `GroupMembers` callable so this module knows
nothing about Slack; the Slack implementation caches `usergroups.users.list`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.commands import Permission
from bot.config import Config, TenantConfig

GroupMembers = Callable[[str], frozenset[str]]


@dataclass(frozen=True)
class Decision:
    """The outcome of an access check; `reason` is shown to the caller on denial."""

    allowed: bool
    reason: str = ""


ALLOW = Decision(True)


class CachedGroups:
    """Caches group membership lookups for `ttl` seconds (Slack's API is Tier 2)."""

    def __init__(self, lookup: GroupMembers, ttl: float = 300.0, clock: Callable[[], float] = time.monotonic):
        self._lookup = lookup
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def __call__(self, group_id: str) -> frozenset[str]:
        now = self._clock()
        with self._lock:
            hit = self._cache.get(group_id)
            if hit and now - hit[0] < self._ttl:
                return hit[1]
        members = self._lookup(group_id)
        with self._lock:
            self._cache[group_id] = (now, members)
        return members


def no_groups(_group_id: str) -> frozenset[str]:
    """Group lookup for places without Slack (the shell): groups have no members."""
    return frozenset()


ChannelTenants = Callable[[str], frozenset[str]]
"""Tenant names a channel outside the configuration may see (an incident channel: its incident's tenant)."""


def no_linked_tenants(_channel: str) -> frozenset[str]:
    """No channel is linked to a tenant besides the configured ones."""
    return frozenset()


class Access:
    """Answers access questions for one configuration."""

    def __init__(self, config: Config, groups: GroupMembers = no_groups, linked: ChannelTenants = no_linked_tenants):
        self.config = config
        self._groups = groups
        self._linked = linked

    def is_admin(self, user: str) -> bool:
        return self._matches(user, self.config.admins)

    def _matches(self, user: str, principals: list[str]) -> bool:
        if user in principals:
            return True
        for principal in principals:
            if principal.startswith("S"):
                try:
                    if user in self._groups(principal):
                        return True
                except Exception:  # noqa: BLE001, S112 - an unreachable group API denies, it does not crash
                    continue
        return False

    def linked_tenants(self, channel: str) -> frozenset[str]:
        """Tenants an unconfigured channel may see (incident channels); configured channels have none."""
        if self.config.channel(channel) is not None:
            return frozenset()
        try:
            return self._linked(channel)
        except Exception:  # noqa: BLE001 - an unreachable store links nothing; it does not crash the check
            return frozenset()

    def can_see(self, channel: str, tenant: TenantConfig) -> bool:
        return channel in tenant.channels or tenant.name in self.linked_tenants(channel)

    def visible_tenants(self, channel: str, tenants: list[TenantConfig]) -> list[TenantConfig]:
        return [t for t in tenants if self.can_see(channel, t)]

    def home_tenants(self, user: str, tenants: list[TenantConfig]) -> list[TenantConfig]:
        """Tenants ``user`` sees on the App Home tab, which belongs to no channel: all of them for admins;
        else those they operate or approve, and those of channels where they are a responder."""
        if self.is_admin(user):
            return list(tenants)
        responding = {c.id for c in self.config.channels if self._matches(user, c.responders)}
        return [t for t in tenants if self.can_request(user, t) or responding & set(t.channels)]

    def can_request(self, user: str, tenant: TenantConfig) -> bool:
        if self.is_admin(user) or self._matches(user, tenant.operators):
            return True
        return any(self._matches(user, rule.approvers) for rule in tenant.approvals.values())

    def can_approve(self, user: str, tenant: TenantConfig, kind: str) -> bool:
        rule = tenant.approval_rule(kind)
        return self.is_admin(user) or self._matches(user, rule.approvers)

    def may_use(self, user: str, permission: Permission, tenants: list[TenantConfig]) -> bool:
        """Whether the caller may run a verb needing `permission` on any of `tenants` (for help)."""
        if permission == Permission.VIEW:
            return True
        if permission == Permission.ADMIN:
            return self.is_admin(user)
        return self.is_admin(user) or any(self.can_request(user, t) for t in tenants)

    def check(
        self, user: str, channel: str, verb: str, permission: Permission, tenant: TenantConfig | None
    ) -> Decision:
        """May `user` run `verb` (needing `permission`) on `tenant` in `channel`?"""
        target = f" on `{tenant.name}`" if tenant else ""
        if tenant is not None and not self.can_see(channel, tenant):
            return Decision(False, f"You may not run `{verb}`{target} here: this channel cannot see that tenant.")
        if permission == Permission.ADMIN and not self.is_admin(user):
            return Decision(False, f"You may not run `{verb}`{target}: it is for bot admins.")
        if permission == Permission.REQUEST and not (
            self.is_admin(user) or (tenant is not None and self.can_request(user, tenant))
        ):
            return Decision(
                False, f"You may not run `{verb}`{target}: you are not an operator or approver of this tenant."
            )
        return ALLOW
