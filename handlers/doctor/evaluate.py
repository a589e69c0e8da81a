"""Pure verdicts over an installation: what access, scopes, policy actions and state it needs.

No I/O here. ``required_access`` says which Kubernetes calls the bot makes
where (the same placement the Helm chart grants and tests/test_rbac.py proves:
``API_CALLS`` in every tenant namespace, the operator's pods and Deployment in
its namespace, StorageClasses cluster-wide, the Lease next to the bot), with
the object names the configuration knows. ``required_actions`` turns
``POLICY_ACTIONS`` into (action, resource) pairs, and ``policy_allows``
evaluates one pair against the policy MinIO reports for the bot's user.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from bot.clients.kube import API_CALLS, TENANT_GROUP, TENANT_PLURAL, ApiCall
from bot.clients.lease import LEASE_API_CALLS
from bot.clients.minio import CANARY_PREFIX, POLICY_ACTIONS, REMEDY_METHODS
from bot.clients.slack_scopes import REQUIRED_SCOPES
from bot.config import ClusterConfig, Config, SecretCredentials, TenantConfig

CLUSTER_WIDE = {("storage.k8s.io", "storageclasses")}
SELF_REVIEW = ("authorization.k8s.io", "selfsubjectaccessreviews")  # how the doctor asks; not checked by itself
LEASES = ("coordination.k8s.io", "leases")
OPERATOR_CALLS: set[ApiCall] = {("", "pods", "", "list"), ("apps", "deployments", "", "get"),
                                ("apps", "deployments", "", "patch")}
NAMED_VERBS = {"get", "patch", "update"}
# Objects the bot reaches by name (the RBAC grants them by name); pods, PVCs and logs cannot be named in advance.
NAMED_RESOURCES = {("", "secrets"), ("apps", "deployments"), (TENANT_GROUP, TENANT_PLURAL)}
EVERY_BUCKET = "arn:aws:s3:::*"


@dataclass(frozen=True, order=True)
class Access:
    """One Kubernetes call the bot makes: verb on group/resource[/subresource], where, on which name."""

    namespace: str  # "" for cluster-wide
    group: str
    resource: str
    subresource: str
    verb: str
    name: str = ""  # "" for any object

    @property
    def resource_label(self) -> str:
        """``tenants.minio.min.io``, ``pods/log``, ``secrets``."""
        base = f"{self.resource}.{self.group}" if self.group else self.resource
        return f"{base}/{self.subresource}" if self.subresource else base


@cache
def _all_calls() -> tuple[ApiCall, ...]:
    calls = {call for rows in API_CALLS.values() for call in rows} | set(LEASE_API_CALLS)
    return tuple(sorted(c for c in calls if (c[0], c[1]) != SELF_REVIEW))


def tenant_namespaces(config: Config, cluster: ClusterConfig) -> list[str]:
    """Where the bot looks for Tenants on ``cluster``: its namespaces plus configured tenants' (sorted)."""
    found = set(cluster.namespaces or [])
    refs = [t.kubernetes for t in config.tenants if t.kubernetes]
    found.update(ref.namespace for ref in refs if ref.cluster == cluster.name)
    return sorted(found)


def _named_objects(config: Config, cluster: ClusterConfig, namespace: str) -> dict[tuple[str, str], set[str]]:
    """(group, resource) -> the object names the bot reads or changes by name in ``namespace``."""
    names: dict[tuple[str, str], set[str]] = {}
    for tenant in config.tenants:
        ref = tenant.kubernetes
        if ref is None or ref.cluster != cluster.name or ref.namespace != namespace:
            continue
        secrets = names.setdefault(("", "secrets"), set())
        secrets.add(f"{tenant.tenant_name}-tls")
        if isinstance(tenant.credentials, SecretCredentials) and tenant.credentials.namespace in (None, namespace):
            secrets.add(tenant.credentials.secret)
        elif tenant.credentials is None:  # the operator's configuration Secret, by its usual name
            secrets.add(f"{tenant.tenant_name}-env-configuration")
        names.setdefault(("apps", "deployments"), set()).add(f"{tenant.tenant_name}-console")
        names.setdefault((TENANT_GROUP, TENANT_PLURAL), set()).add(tenant.tenant_name)
    return names


def required_access(config: Config, cluster: ClusterConfig, bot_namespace: str) -> list[Access]:
    """Every (namespace, call, name) the bot needs on ``cluster``, deduplicated and sorted."""
    wanted: set[Access] = set()
    namespaces = tenant_namespaces(config, cluster)
    election = config.leader_election
    lease_here = election is not None and (election.cluster or config.clusters[0].name) == cluster.name
    for call in _all_calls():
        group, resource, sub, verb = call
        if (group, resource) in CLUSTER_WIDE:
            wanted.add(Access("", group, resource, sub, verb))
            continue
        if (group, resource) == LEASES:
            if lease_here and election is not None:
                wanted.add(Access(bot_namespace, group, resource, sub, verb, election.name if verb in NAMED_VERBS
                                  else ""))
            continue
        for ns in namespaces:
            wanted.update(_in_namespace(config, cluster, ns, call))
        if cluster.namespaces is None and call == (TENANT_GROUP, TENANT_PLURAL, "", "list"):
            wanted.add(Access("", group, resource, sub, verb))  # Tenants discovered in every namespace
        if call in OPERATOR_CALLS:
            name = cluster.operator.deployment if resource == "deployments" else ""
            wanted.add(Access(cluster.operator.namespace, group, resource, sub, verb, name))
    return sorted(wanted)


def _in_namespace(config: Config, cluster: ClusterConfig, ns: str, call: ApiCall) -> list[Access]:
    group, resource, sub, verb = call
    if verb not in NAMED_VERBS or sub or (group, resource) not in NAMED_RESOURCES:
        return [Access(ns, group, resource, sub, verb)]
    if (group, resource) == (TENANT_GROUP, TENANT_PLURAL) and cluster.discover:
        return [Access(ns, group, resource, sub, verb)]  # discovered Tenants are not known by name
    names = _named_objects(config, cluster, ns).get((group, resource), set())
    return [Access(ns, group, resource, sub, verb, name) for name in sorted(names)]


# ---------------------------------------------------------------- Slack


def missing_scopes(granted: frozenset[str]) -> list[str]:
    """Scopes the bot needs that the token lacks, in REQUIRED_SCOPES order."""
    return [scope for scope in REQUIRED_SCOPES if scope not in granted]


def unused_scopes(granted: frozenset[str]) -> list[str]:
    """Scopes the token holds that the code never uses (least privilege), sorted."""
    return sorted(granted - set(REQUIRED_SCOPES))


def channels_to_check(config: Config) -> list[str]:
    """Every channel id the configuration names (reports, tenants, clusters, approvals, alerts, audit)."""
    found: list[str] = [c.id for c in config.channels]
    found += [c.alerts_to for c in config.channels if c.alerts_to]
    for tenant in config.tenants:
        found += tenant.channels + ([tenant.approval_channel] if tenant.approval_channel else [])
    for cluster in config.clusters:
        found += cluster.channels
    if config.audit_channel:
        found.append(config.audit_channel)
    return list(dict.fromkeys(found))


def groups_to_check(config: Config) -> list[str]:
    """Every Slack user-group id (``S...``) the configuration names for access or approval."""
    found: list[str] = list(config.admins)
    for tenant in config.tenants:
        found += tenant.operators + tenant.responders
        for rule in tenant.approvals.values():
            found += rule.approvers
    for cluster in config.clusters:
        found += cluster.operators + (cluster.approvals.approvers if cluster.approvals else [])
    return [g for g in dict.fromkeys(found) if g.startswith("S")]


# ---------------------------------------------------------------- MinIO policy


def required_actions(tenant: TenantConfig) -> list[tuple[str, str]]:
    """(action, resource) for every action the bot's MinIO user needs; resource "" for admin actions.

    Bucket reads apply to every bucket (the security check reads each bucket's
    policy), so they are asked for ``arn:aws:s3:::*`` itself; object writes
    only under the canary prefix of the probe bucket.
    """
    canary = f"arn:aws:s3:::{tenant.probe.bucket}/{CANARY_PREFIX}doctor"
    out: dict[str, str] = {}
    # Remedies (restores, user status, quotas) need the second policy, bot-policy-remedies.json:
    # without it the bot reports and previews, and approved remedies fail with AccessDenied.
    for method, actions in POLICY_ACTIONS.items():
        if method in REMEDY_METHODS:
            continue
        for action in actions:
            if action.startswith("admin:"):
                out[action] = ""
            elif action in ("s3:PutObject", "s3:GetObject", "s3:DeleteObject"):
                out[action] = canary
            else:
                out[action] = EVERY_BUCKET
    return sorted(out.items())


def _matches(pattern: str, value: str) -> bool:
    """IAM wildcard match: ``*`` any run, ``?`` one character."""
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, value) is not None


def _listed(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, list) else []


def _statement_covers(statement: dict[str, object], action: str, resource: str) -> bool:
    if "NotAction" in statement:
        if any(_matches(p, action) for p in _listed(statement["NotAction"])):
            return False
    elif not any(_matches(p, action) for p in _listed(statement.get("Action"))):
        return False
    if not resource or "Resource" not in statement:
        return True  # admin actions, and statements without resources, apply everywhere
    return any(_matches(p, resource) for p in _listed(statement["Resource"]))


def policy_allows(policy: dict[str, object], action: str, resource: str) -> bool:
    """True when the policy allows ``action`` on ``resource``: an Allow covers it and no Deny does.

    Statements with a ``Condition`` are not evaluated: such an Allow does not
    count (it may not hold for the bot's calls), such a Deny does (it may).
    """
    allowed = False
    for statement in _listed_statements(policy):
        if not _statement_covers(statement, action, resource):
            continue
        if statement.get("Effect") == "Deny":
            return False
        if statement.get("Effect") == "Allow" and not statement.get("Condition"):
            allowed = True
    return allowed


def _listed_statements(policy: dict[str, object]) -> list[dict[str, object]]:
    statements = policy.get("Statement")
    if isinstance(statements, dict):
        return [statements]
    return [s for s in statements if isinstance(s, dict)] if isinstance(statements, list) else []


# ---------------------------------------------------------------- store and election


def pending_migrations(applied: list[int], known: list[int]) -> list[int]:
    """Versions this code would apply at start (the bot migrates; the doctor never does)."""
    return [v for v in known if v not in applied]


def lease_age_s(renew_time: str | None, now: datetime) -> float | None:
    """Seconds since the Lease was last renewed, or None when it never was."""
    if not renew_time:
        return None
    try:
        renewed = datetime.fromisoformat(renew_time.replace("Z", "+00:00"))
    except ValueError:
        return None
    return max(0.0, (now - renewed).total_seconds())
