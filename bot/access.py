"""Who may do what, where.

- A channel sees the tenants that list it under `channels` (discovered tenants:
  the channels of their cluster), and the tenants whose alerts it receives
  (`alerts_to`), so the buttons on an alert work where the alert is posted. Admins follow the same rule: visibility is
  about where information is posted, not about who asks.
- Operators (per tenant), approvers and admins may *request* changes.
- Approvers for an action kind (users and Slack user groups) and admins may
  approve, never their own request (enforced in the approval engine).
- Responders (per tenant), operators, approvers and admins may *respond*:
  declare an incident and bring people into its channel.
- A channel outside the configuration (an incident channel) is *linked* to a
  tenant for one person at a time: `ChannelLinks(channel, user)` says which
  tenants that person may see there, or why nothing (the runtime answers from
  the store: only people the bot itself let in, never someone who joined).
- Changes to a whole cluster (its operator) are governed per cluster, never by
  a tenant's rule: the cluster's `operators` (and admins) may request them, its
  `approvals.approvers` (and admins) approve them, and a cluster without
  `approvals` refuses them. A channel sees a cluster's requests when it is the
  cluster's approval channel or one of its `channels`.

Group membership comes from a `GroupMembers` callable so this module knows
nothing about Slack; the Slack implementation caches `usergroups.users.list`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.commands import Permission
from bot.config import ClusterConfig, Config, TenantConfig
from bot.report import Text, code, spans

GroupMembers = Callable[[str], frozenset[str]]

ChannelMembers = Callable[[str], frozenset[str]]
"""The people in a channel, the bot itself left out (Slack: `conversations.members`); raises when unknown."""


@dataclass(frozen=True)
class Decision:
    """The outcome of an access check; `reason` is shown to the caller on denial."""

    allowed: bool
    reason: Text = ""


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


@dataclass(frozen=True)
class ChannelLink:
    """What a channel outside the configuration (an incident channel) means for one person.

    `admitted`: they may use the bot there at all (the bot let them in). `tenants`: what may be shown to them
    there (empty while someone else in the channel may not see it). `refusal`: why nothing is shown.
    """

    tenants: frozenset[str] = frozenset()
    admitted: bool = False
    refusal: Text = ""


NOT_LINKED = ChannelLink()
UNCHECKABLE = ChannelLink(refusal="I could not check who may see what in this channel; try again in a minute.")

ChannelLinks = Callable[[str, str], ChannelLink]
"""(channel, user) -> the tenants that person may see in a channel outside the configuration."""


def no_links(_channel: str, _user: str) -> ChannelLink:
    """No channel is linked to a tenant besides the configured ones."""
    return NOT_LINKED


class Access:
    """Answers access questions for one configuration."""

    def __init__(self, config: Config, groups: GroupMembers = no_groups, links: ChannelLinks = no_links):
        self.config = config
        self._groups = groups
        self._links = links

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

    def link(self, channel: str, user: str | None) -> ChannelLink:
        """What an unconfigured channel (an incident channel) shows `user`; configured channels link nothing.

        Without a person (a scheduled job) nothing is linked: a linked tenant is shown person by person.
        """
        if user is None or self.config.channel(channel) is not None:
            return NOT_LINKED
        try:
            return self._links(channel, user)
        except Exception:  # noqa: BLE001 - an unreachable store or Slack shows nothing; it does not crash the check
            return UNCHECKABLE

    def linked_tenants(self, channel: str, user: str | None) -> frozenset[str]:
        """Tenants `user` may see in an unconfigured channel (an incident channel the bot let them into)."""
        return self.link(channel, user).tenants

    def alert_channels(self, tenant: TenantConfig) -> list[str]:
        """Where the tenant's alerts go: each channel that sees it, through its `alerts_to` route, de-duplicated."""
        out: list[str] = []
        for channel_id in tenant.channels:
            channel = self.config.channel(channel_id)
            target = channel.alerts_to if channel is not None and channel.alerts_to else channel_id
            if target not in out:
                out.append(target)
        return out

    def is_alert_channel(self, channel: str) -> bool:
        """True when some configured channel routes its alerts to ``channel``, or unmapped alerts go there."""
        return channel == self.config.alertmanager.fallback_channel or any(
            c.alerts_to == channel for c in self.config.channels
        )

    def can_see(self, channel: str, tenant: TenantConfig, user: str | None = None) -> bool:
        """A channel sees the tenants that list it, those whose alerts it receives, and its incident's tenant
        (that one only for `user`, when the bot let them in)."""
        return (
            channel in tenant.channels
            or channel in self.alert_channels(tenant)
            or tenant.name in self.linked_tenants(channel, user)
        )

    def visible_tenants(self, channel: str, tenants: list[TenantConfig], user: str | None = None) -> list[TenantConfig]:
        linked = self.linked_tenants(channel, user)  # one look-up for every tenant
        return [t for t in tenants if channel in t.channels or channel in self.alert_channels(t) or t.name in linked]

    def home_tenants(self, user: str, tenants: list[TenantConfig]) -> list[TenantConfig]:
        """Tenants ``user`` sees on the App Home tab, which belongs to no channel: all of them for admins;
        else those they respond to, operate or approve."""
        if self.is_admin(user):
            return list(tenants)
        return [t for t in tenants if self.can_respond(user, t)]

    def can_request(self, user: str, tenant: TenantConfig) -> bool:
        if self.is_admin(user) or self._matches(user, tenant.operators):
            return True
        return any(self._matches(user, rule.approvers) for rule in tenant.approvals.values())

    def can_respond(self, user: str, tenant: TenantConfig) -> bool:
        """Responders of the tenant, its operators and approvers, and admins may declare and invite."""
        return self._matches(user, tenant.responders) or self.can_request(user, tenant)

    def users_of(self, principals: list[str]) -> tuple[list[str], list[str]]:
        """The people `principals` name, groups expanded; with the groups that could not be read."""
        users: list[str] = []
        unread: list[str] = []
        for principal in principals:
            if not principal.startswith("S"):
                users.append(principal)
                continue
            try:
                users.extend(sorted(self._groups(principal)))
            except Exception:  # noqa: BLE001 - an unreadable group is reported by the caller, not raised
                unread.append(principal)
        return list(dict.fromkeys(users)), unread

    def can_approve(self, user: str, tenant: TenantConfig, kind: str) -> bool:
        rule = tenant.approval_rule(kind)
        return self.is_admin(user) or self._matches(user, rule.approvers)

    def can_see_cluster(self, channel: str, cluster: ClusterConfig) -> bool:
        """Whether ``channel`` sees the cluster's own requests (its approval channel or one of its ``channels``)."""
        approvals = cluster.approvals
        return (approvals is not None and channel == approvals.channel) or channel in cluster.channels

    def visible_clusters(self, channel: str) -> list[ClusterConfig]:
        """The clusters whose requests ``channel`` sees, in configuration order."""
        return [c for c in self.config.clusters if self.can_see_cluster(channel, c)]

    def can_request_cluster(self, user: str, cluster: ClusterConfig) -> bool:
        """A cluster's operators and the bot admins may request changes to the whole cluster."""
        return self.is_admin(user) or self._matches(user, cluster.operators)

    def can_approve_cluster(self, user: str, cluster: ClusterConfig) -> bool:
        """The cluster's approvers and the bot admins, and only when the cluster has an approval rule."""
        if cluster.approvals is None:
            return False
        return self.is_admin(user) or self._matches(user, cluster.approvals.approvers)

    def check_cluster_request(self, user: str, cluster: ClusterConfig) -> Decision:
        """May ``user`` request a change to the whole cluster (its operator)? The reason says what is missing."""
        name = code(cluster.name[:63])
        if cluster.approvals is None:
            return Decision(False, spans(
                "Operator changes on cluster ", name, " are refused: the cluster has no ", code("approvals"),
                " (approvers, required, channel) in the configuration. The operator manages every Tenant there, "
                "so its changes are governed per cluster, never by one tenant's rule."))
        if not self.can_request_cluster(user, cluster):
            return Decision(False, spans(
                "You may not request operator changes on cluster ", name, ": you are not one of its ",
                code("operators"), " (nor a bot admin). Operating a tenant there is not enough."))
        return ALLOW

    def may_use(self, user: str, permission: Permission, tenants: list[TenantConfig]) -> bool:
        """Whether the caller may run a verb needing `permission` on any of `tenants` (for help)."""
        if permission == Permission.VIEW:
            return True
        if permission == Permission.ADMIN:
            return self.is_admin(user)
        if permission == Permission.RESPOND:
            return self.is_admin(user) or any(self.can_respond(user, t) for t in tenants)
        return self.is_admin(user) or any(self.can_request(user, t) for t in tenants)

    def check(
        self, user: str, channel: str, verb: str, permission: Permission, tenant: TenantConfig | None
    ) -> Decision:
        """May `user` run `verb` (needing `permission`) on `tenant` in `channel`?"""
        what = spans("You may not run ", code(verb), spans(" on ", code(tenant.name)) if tenant else ())
        if tenant is not None and not self.can_see(channel, tenant, user):
            return Decision(False, self.link(channel, user).refusal
                            or spans(what, " here: this channel cannot see that tenant."))
        if permission == Permission.ADMIN and not self.is_admin(user):
            return Decision(False, spans(what, ": it is for bot admins."))
        if permission == Permission.RESPOND and not (tenant is not None and self.can_respond(user, tenant)):
            return Decision(False, spans(what, ": that is for the tenant's responders, operators and approvers "
                                               "(and bot admins)."))
        if permission == Permission.REQUEST and not (
            self.is_admin(user) or (tenant is not None and self.can_request(user, tenant))
        ):
            return Decision(False, spans(what, ": you are not an operator or approver of this tenant."))
        return ALLOW
