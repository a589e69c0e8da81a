"""The rendered RBAC, proven on a real API server: the bot's own token can do every call it makes, and nothing else.

``bot.clients.kube.API_CALLS`` lists the (group, resource, subresource, verb)
of every public ``KubeClient`` method. These tests keep three things equal:
the methods of KubeClient, the rows of API_CALLS, and the rules the Helm chart
(deploy/helm/minio-chatops) renders for its examples.
Adding an API call without its row, or a row without its rule, fails here.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from bot.clients.errors import KubeError
from bot.clients.kube import API_CALLS, ApiCall, KubeClient
from bot.clients.lease import LEASE_API_CALLS, KubeLeaseStore
from bot.clients.timeouts import Timeouts
from bot.commands import UsageError
from bot.composition import load_application
from bot.config import SecretCredentials, parse_config
from bot.leader import LeaderElector
from bot.runtime import Runtime
from bot.shell import Shell
from handlers import maintenance
from handlers.maintenance import MODE, MaintenanceArgs, maintenance_command
from sandbox.kube.controlplane import ControlPlane
from sandbox.kube.world import OPERATOR_NAMESPACE, TENANT_GROUP, TENANT_PLURAL, TENANT_VERSION, PoolSpec, TenantWorld
from sandbox.minio_sim import SimCluster
from tests.test_approvals import ALICE, BOB, OPS, text_of, world_from
from tests.test_deploy import (
    BOT,
    EXAMPLES,
    MULTI,
    ROOT,
    Manifest,
    api_request,
    bot_grants,
    bot_namespace,
    create,
    ensure_namespace,
    managed_namespaces,
    of_kind,
    render,
    rendered_config,
)
from tests.test_maintenance import LiveClock

# Where a call is made, when not in every tenant namespace.
CLUSTER_WIDE = {("storage.k8s.io", "storageclasses"), ("authorization.k8s.io", "selfsubjectaccessreviews")}
BOT_ONLY = {("coordination.k8s.io", "leases")}  # the leader-election Lease, next to the bot
# Calls also made in the MinIO Operator's namespace: health lists its pods; updates read and patch its Deployment.
ALSO_IN_OPERATOR_NAMESPACE: set[ApiCall] = {
    ("", "pods", "", "list"), ("apps", "deployments", "", "get"), ("apps", "deployments", "", "patch")
}
OPERATOR_DEPLOYMENT = "minio-operator"
# The only modules that may talk to the Kubernetes API, and what they call.
KUBE_CALLERS: dict[str, list[ApiCall]] = {
    "bot/clients/kube.py": [call for calls in API_CALLS.values() for call in calls],
    "bot/clients/lease.py": LEASE_API_CALLS,
}

RBAC_KINDS = ("ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")
FAST = Timeouts(connect=2.0, read=10.0)
ADMIN, PLATFORM = "U01ADMIN0001", "C01PLATFORM1"
UNMANAGED = "minio-unmanaged"


def all_calls() -> list[ApiCall]:
    """Every API call the bot makes: KubeClient's table plus leader election's."""
    return sorted({call for calls in KUBE_CALLERS.values() for call in calls})


@dataclass(frozen=True)
class Places:
    """The namespaces a rendered config points the bot at."""

    bot: str
    tenants: frozenset[str]
    operators: frozenset[str]
    elects_leader: bool

    @classmethod
    def of(cls, manifests: list[Manifest]) -> Places:
        config = rendered_config(manifests)
        return cls(
            bot=bot_namespace(manifests),
            tenants=frozenset(managed_namespaces(config)),
            operators=frozenset(c.operator.namespace for c in config.clusters),
            elects_leader=config.leader_election is not None,
        )

    def where(self, call: ApiCall) -> set[str | None]:
        """Namespaces (None: cluster-wide) where the bot makes ``call``."""
        key = (call[0], call[1])
        if key in CLUSTER_WIDE:
            return {None}
        if key in BOT_ONLY:
            # One replica (SQLite) elects no leader: no Lease call, so no Lease rule.
            return {self.bot} if self.elects_leader else set()
        found: set[str | None] = set(self.tenants)
        if call in ALSO_IN_OPERATOR_NAMESPACE:
            found |= self.operators
        return found


def name_limits(manifests: list[Manifest]) -> dict[tuple[str | None, str, str], frozenset[str]]:
    """(namespace, group, resource) -> the only object names the bot may get/patch/update there."""
    config = rendered_config(manifests)
    # Where the config discovers Tenants, their names are not known in advance.
    discovering = {ns for c in config.clusters if c.discover for ns in c.namespaces or []}
    limits: dict[tuple[str | None, str, str], set[str]] = {}
    for tenant in config.tenants:
        assert tenant.kubernetes is not None
        ns = tenant.kubernetes.namespace
        names = limits.setdefault((ns, "", "secrets"), set())
        names.add(f"{tenant.tenant_name}-tls")
        if isinstance(tenant.credentials, SecretCredentials):
            names.add(tenant.credentials.secret)
        elif tenant.credentials is None:
            names.add(f"{tenant.tenant_name}-env-configuration")
        limits.setdefault((ns, "apps", "deployments"), set()).add(f"{tenant.tenant_name}-console")
        if ns not in discovering:
            limits.setdefault((ns, TENANT_GROUP, TENANT_PLURAL), set()).add(tenant.tenant_name)
    for cluster in config.clusters:
        limits.setdefault((cluster.operator.namespace, "apps", "deployments"), set()).add(cluster.operator.deployment)
    if config.leader_election is not None:
        limits[(bot_namespace(manifests), "coordination.k8s.io", "leases")] = {config.leader_election.name}
    return {key: frozenset(names) for key, names in limits.items()}


def resource_of(call: ApiCall) -> str:
    """"pods/log" style resource name, as RBAC rules spell it."""
    return f"{call[1]}/{call[2]}" if call[2] else call[1]


# ---------------------------------------------------------------- the table is complete


def public_methods() -> set[str]:
    """Public methods and classmethods of KubeClient (properties are not calls)."""
    names = set()
    for name, value in inspect.getmembers(KubeClient):
        if name.startswith("_") or isinstance(inspect.getattr_static(KubeClient, name), property):
            continue
        if callable(value):
            names.add(name)
    return names


def test_every_public_kubeclient_method_is_in_api_calls() -> None:
    methods = public_methods()
    missing = sorted(methods - set(API_CALLS))
    assert not missing, f"add these KubeClient methods to API_CALLS in bot/clients/kube.py: {missing}"
    stale = sorted(set(API_CALLS) - methods)
    assert not stale, f"API_CALLS names methods KubeClient no longer has: {stale}"
    for method, calls in API_CALLS.items():
        for group, resource, subresource, verb in calls:
            assert resource == resource.lower() and "/" not in resource, (method, resource)
            assert verb in ("get", "list", "watch", "create", "update", "patch", "delete"), (method, verb)
            assert subresource in ("", "log", "status", "scale", "eviction"), (method, subresource)
            assert group == group.lower(), (method, group)


def test_the_table_matches_what_the_methods_call() -> None:
    # A cheap cross-check of the table against the code: each method's source names its resource.
    words = {"tenants": "TENANT_", "pods": "pod", "persistentvolumeclaims": "persistent_volume_claim",
             "statefulsets": "stateful_set", "deployments": "deployment", "events": "event",
             "networkpolicies": "network_polic", "storageclasses": "storage_class", "services": "service",
             "secrets": "secret", "selfsubjectaccessreviews": "self_subject_access_review"}
    for method, calls in API_CALLS.items():
        source = inspect.getsource(getattr(KubeClient, method))
        # A method that delegates to another listed method makes that method's calls.
        for other in API_CALLS:
            if other != method and re.search(rf"self\.{other}\(", source):
                source += inspect.getsource(getattr(KubeClient, other))
        for _group, resource, _sub, verb in calls:
            assert words[resource] in source, f"{method}: API_CALLS says {resource}, its code does not"
            if verb in ("patch", "delete"):
                assert f"{verb}_" in source, f"{method}: API_CALLS says {verb}"


def test_no_kubernetes_api_is_used_outside_the_declared_callers() -> None:
    # Otherwise a call could escape the tables, and the RBAC with it. (kubernetes.utils is not an API client.)
    api_use = re.compile(
        r"^\s*(from kubernetes(\.client\S*|\.dynamic\S*)? import (?!utils\b)|import kubernetes\b)", re.M
    )
    offenders = []
    for folder in ("bot", "handlers"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = str(path.relative_to(ROOT))
            if relative not in KUBE_CALLERS and api_use.search(path.read_text(encoding="utf-8")):
                offenders.append(relative)
    assert not offenders, f"Kubernetes API calls belong in KubeClient (with API_CALLS rows): {offenders}"


def test_no_code_reaches_into_kubeclients_api_objects_undeclared() -> None:
    private = re.compile(r"\._(core|apps|custom|networking|storage)\.\w+\(")
    offenders = []
    for folder in ("bot", "handlers"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = str(path.relative_to(ROOT))
            if relative not in KUBE_CALLERS and private.search(path.read_text(encoding="utf-8")):
                offenders.append(relative)
    assert not offenders, f"call KubeClient's public methods (and list them in API_CALLS): {offenders}"


def test_every_declared_call_is_in_kubeclients_table_or_leader_election() -> None:
    covered = {call for calls in API_CALLS.values() for call in calls} | set(LEASE_API_CALLS)
    for module, calls in KUBE_CALLERS.items():
        assert set(calls) <= covered, f"{module} makes calls no table declares"


def test_leader_election_declares_the_lease_calls_it_makes() -> None:
    verbs = {"read": "get", "list": "list", "create": "create", "replace": "update", "patch": "patch",
             "delete": "delete"}
    source = (ROOT / "bot" / "clients" / "lease.py").read_text(encoding="utf-8")
    made = {verbs[m] for m in re.findall(r"\.(read|list|create|replace|patch|delete)_namespaced_lease\(", source)}
    assert made == {call[3] for call in LEASE_API_CALLS}, (
        "bot/clients/lease.py LEASE_API_CALLS must list its Lease calls"
    )


# ---------------------------------------------------------------- the rendered rules are exactly the table


GrantKey = tuple[str | None, str, str, str]


def rbac_mismatches(manifests: list[Manifest], calls: list[ApiCall]) -> tuple[list[GrantKey], list[GrantKey]]:
    """(calls without a rule, rules without a call) as (namespace, group, resource, verb)."""
    places = Places.of(manifests)
    expected = {(ns, c[0], resource_of(c), c[3]) for c in calls for ns in places.where(c)}
    actual = {g.key for g in bot_grants(manifests)}
    return sorted(expected - actual, key=str), sorted(actual - expected, key=str)


@pytest.mark.parametrize("example", EXAMPLES)
def test_rendered_rules_grant_exactly_the_calls_in_api_calls(example: str) -> None:
    manifests = render(example)
    missing, extra = rbac_mismatches(manifests, all_calls())
    assert missing == [], "API calls without an RBAC rule"
    assert extra == [], "RBAC rules no API call needs"
    limits = name_limits(manifests)
    for grant in bot_grants(manifests):
        limit = limits.get((grant.namespace, grant.group, grant.resource))
        if limit is not None:
            # `create` and `list` cannot be limited by name (and secrets are never listed).
            wanted = None if grant.verb in ("create", "list") else limit
            assert grant.names == wanted, f"{grant} should be limited to {wanted}"
        else:
            assert grant.names is None, grant


def test_a_new_api_call_without_its_rule_is_caught() -> None:
    manifests = render(MULTI)
    new_call: ApiCall = ("apps", "statefulsets", "", "patch")
    missing, extra = rbac_mismatches(manifests, [*all_calls(), new_call])
    assert missing == [(ns, "apps", "statefulsets", "patch") for ns in ("minio-analytics", "minio-logs")]
    assert extra == []
    # And a rule whose call goes away is caught too.
    missing, extra = rbac_mismatches(manifests, [c for c in all_calls() if c != ("", "pods", "", "delete")])
    assert missing == [] and extra == [(ns, "", "pods", "delete") for ns in ("minio-analytics", "minio-logs")]


@pytest.mark.parametrize("example", EXAMPLES)
def test_the_bot_may_get_and_patch_only_the_tenants_it_is_configured_for(example: str) -> None:
    # Issue 14, item 11: names known from the config narrow the grant (resourceNames).
    manifests = render(example)
    config = rendered_config(manifests)
    configured: dict[str, set[str]] = {}
    for tenant in config.tenants:
        assert tenant.kubernetes is not None
        configured.setdefault(tenant.kubernetes.namespace, set()).add(tenant.tenant_name)
    tenant_grants = [g for g in bot_grants(manifests) if (g.group, g.resource) == (TENANT_GROUP, TENANT_PLURAL)]
    for grant in tenant_grants:
        if grant.verb == "list":
            assert grant.names is None
        else:
            assert grant.verb in ("get", "patch") and grant.names == frozenset(configured[str(grant.namespace)]), grant
    assert {(g.namespace, g.verb) for g in tenant_grants} == {
        (ns, verb) for ns in configured for verb in ("get", "list", "patch")
    }


def test_in_the_operator_namespace_the_bot_may_list_pods_and_upgrade_the_operator_only() -> None:
    grants = [g for g in bot_grants(render(MULTI)) if g.namespace == OPERATOR_NAMESPACE]
    assert {(g.resource, g.verb, g.names) for g in grants} == {
        ("pods", "list", None),
        ("deployments", "get", frozenset({OPERATOR_DEPLOYMENT})),
        ("deployments", "patch", frozenset({OPERATOR_DEPLOYMENT})),
    }


# ---------------------------------------------------------------- on the real API server


@dataclass
class Deployed:
    """The multi-tenant example's RBAC applied to the API server, tenants around it, and the bot's token."""

    kube: ControlPlane
    manifests: list[Manifest]
    token: str
    analytics: TenantWorld
    logs: TenantWorld

    @property
    def bot_ns(self) -> str:
        return bot_namespace(self.manifests)

    def bot_api(self) -> client.ApiClient:
        """An ApiClient authenticated as the bot's ServiceAccount."""
        return self.kube.api_client(self.token)

    def can(self, verb: str, resource: str, group: str = "", namespace: str | None = None,
            subresource: str = "", name: str | None = None) -> bool:
        """SelfSubjectAccessReview made with the bot's token."""
        review = client.V1SelfSubjectAccessReview(
            spec=client.V1SelfSubjectAccessReviewSpec(
                resource_attributes=client.V1ResourceAttributes(
                    group=group, resource=resource, subresource=subresource or None, verb=verb,
                    namespace=namespace, name=name,
                )
            )
        )
        with self.bot_api() as api:
            result = client.AuthorizationV1Api(api).create_self_subject_access_review(review)
        return bool(result.status and result.status.allowed)


def apply_rbac(kube: ControlPlane, manifests: list[Manifest]) -> None:
    """Create the ServiceAccount and RBAC objects for real (as admin)."""
    with kube.api_client() as admin:
        for manifest in of_kind(manifests, *RBAC_KINDS):
            status, body, _ = create(admin, manifest, dry_run=False)
            assert status == 201, f"{manifest['kind']} {manifest['metadata']['name']}: {body}"


def remove_rbac(kube: ControlPlane, manifests: list[Manifest]) -> None:
    """Delete the cluster-scoped RBAC objects and those in namespaces the test keeps."""
    with kube.api_client() as admin:
        rbac = client.RbacAuthorizationV1Api(admin)
        for manifest in of_kind(manifests, "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"):
            name, ns, kind = manifest["metadata"]["name"], manifest["metadata"].get("namespace"), manifest["kind"]
            with contextlib.suppress(ApiException):
                if kind == "ClusterRole":
                    rbac.delete_cluster_role(name)
                elif kind == "ClusterRoleBinding":
                    rbac.delete_cluster_role_binding(name)
                elif kind == "Role":
                    rbac.delete_namespaced_role(name, ns)
                else:
                    rbac.delete_namespaced_role_binding(name, ns)


@pytest.fixture(scope="module")
def deployed(kube: ControlPlane) -> Iterator[Deployed]:
    """Tenants "analytics" and "logs" where the example expects them, the chart's RBAC, and the bot's token."""
    manifests = render(MULTI)
    analytics = TenantWorld(namespace="minio-analytics", name="analytics")
    logs = TenantWorld(namespace="minio-logs", name="logs", pools=[PoolSpec("pool-0", servers=4, volumes_per_server=1)])
    namespaces = [bot_namespace(manifests), analytics.namespace, logs.namespace, UNMANAGED]
    with kube.api_client() as admin:
        for manifest in of_kind(manifests, "Namespace"):
            ensure_namespace(admin, manifest["metadata"]["name"], manifest["metadata"].get("labels"))
        for name in namespaces:
            ensure_namespace(admin, name)
        analytics.apply(admin)  # also the operator's namespace and Deployment
        logs.apply(admin)
        # The console Deployment older operators create; maintenance windows scale it down.
        labels = {"v1.min.io/console": "analytics-console"}
        console = {"replicas": 1, "selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels}, "spec": {"containers": [{"name": "console", "image": "console:1"}]}}}
        client.AppsV1Api(admin).create_namespaced_deployment(analytics.namespace, client.V1Deployment.model_validate(
            {"metadata": {"name": "analytics-console"}, "spec": console}))
        core = client.CoreV1Api(admin)
        # Secrets the bot must not read: another one next to the tenant, and a same-named one elsewhere.
        for ns, name in ((analytics.namespace, "analytics-backup-keys"), (UNMANAGED, analytics.config_secret)):
            core.create_namespaced_secret(
                ns, client.V1Secret(metadata=client.V1ObjectMeta(name=name), string_data={"key": "do-not-read"})
            )
    apply_rbac(kube, manifests)
    world = Deployed(kube, manifests, kube.mint_token(bot_namespace(manifests), BOT), analytics, logs)
    # The RBAC authorizer learns new bindings through a watch: wait until it has.
    deadline = time.monotonic() + 15
    while not world.can("list", "pods", namespace=logs.namespace):
        assert time.monotonic() < deadline, "the bot's RoleBindings never took effect"
        time.sleep(0.1)
    try:
        yield world
    finally:
        remove_rbac(kube, manifests)
        for name in namespaces:
            kube.delete_namespace(name)


@pytest.mark.kube
def test_placement_agrees_with_the_servers_discovery(deployed: Deployed) -> None:
    with deployed.kube.api_client() as admin:
        for call in all_calls():
            group, resource = call[0], call[1]
            if group == "metrics.k8s.io":
                continue  # not served without metrics-server; pods.metrics.k8s.io is namespaced
            if group == "":
                path = "/api/v1"
            else:
                status, body, _ = api_request(admin, "GET", f"/apis/{group}")
                assert status == 200, f"the API server does not serve {group}"
                path = f"/apis/{body['preferredVersion']['groupVersion']}"
            status, body, _ = api_request(admin, "GET", path)
            assert status == 200, path
            [served] = [r for r in body["resources"] if r["name"] == resource]
            assert served["namespaced"] == ((group, resource) not in CLUSTER_WIDE), call


@pytest.mark.kube
def test_the_bot_token_is_allowed_every_call_in_api_calls(deployed: Deployed) -> None:
    places = Places.of(deployed.manifests)
    limits = name_limits(deployed.manifests)
    denied = []
    for group, resource, subresource, verb in all_calls():
        for ns in places.where((group, resource, subresource, verb)):
            # Rules limited by resourceNames are checked for each allowed name.
            limit = limits.get((ns, group, resource)) if verb not in ("create", "list") else None
            for name in sorted(limit) if limit else [None]:
                if not deployed.can(verb, resource, group, ns, subresource, name):
                    denied.append((group, resource, subresource, verb, ns, name))
    assert denied == [], "the rendered RBAC refuses calls the bot makes"


# What the bot must never be able to do: (verb, resource, group, namespace, subresource, name).
FORBIDDEN: list[tuple[str, str, str, str | None, str, str | None]] = [
    # Secrets beyond the named ones.
    ("get", "secrets", "", "minio-analytics", "", "analytics-backup-keys"),
    ("list", "secrets", "", "minio-analytics", "", None),
    ("watch", "secrets", "", "minio-analytics", "", None),
    ("get", "secrets", "", "minio-logs", "", "analytics-env-configuration"),
    ("get", "secrets", "", UNMANAGED, "", "analytics-env-configuration"),
    ("get", "secrets", "", "minio-chatops", "", "minio-chatops-secrets"),
    ("list", "secrets", "", None, "", None),
    # Tenants: never created, replaced or deleted, status never written.
    ("delete", "tenants", TENANT_GROUP, "minio-analytics", "", "analytics"),
    ("deletecollection", "tenants", TENANT_GROUP, "minio-analytics", "", None),
    ("create", "tenants", TENANT_GROUP, "minio-analytics", "", None),
    ("update", "tenants", TENANT_GROUP, "minio-analytics", "", "analytics"),
    ("patch", "tenants", TENANT_GROUP, "minio-analytics", "status", "analytics"),
    ("list", "tenants", TENANT_GROUP, None, "", None),
    # Tenants the config does not name, even in a managed namespace.
    ("get", "tenants", TENANT_GROUP, "minio-analytics", "", "not-configured"),
    ("patch", "tenants", TENANT_GROUP, "minio-analytics", "", "logs"),
    ("patch", "tenants", TENANT_GROUP, "minio-logs", "", "analytics"),
    # Namespaces it does not manage.
    ("list", "pods", "", UNMANAGED, "", None),
    ("delete", "pods", "", UNMANAGED, "", None),
    ("get", "tenants", TENANT_GROUP, UNMANAGED, "", None),
    ("patch", "persistentvolumeclaims", "", UNMANAGED, "", None),
    ("list", "pods", "", None, "", None),
    ("list", "pods", "", "kube-system", "", None),
    ("patch", "deployments", "apps", "kube-system", "", None),
    # Namespaces themselves, RBAC, exec, and changes nobody approved a path for.
    ("create", "namespaces", "", None, "", None),
    ("delete", "namespaces", "", None, "", "minio-analytics"),
    ("create", "rolebindings", "rbac.authorization.k8s.io", "minio-analytics", "", None),
    ("escalate", "roles", "rbac.authorization.k8s.io", "minio-chatops", "", None),
    ("create", "pods", "", "minio-analytics", "exec", "analytics-pool-0-0"),
    ("create", "pods", "", "minio-analytics", "", None),
    ("delete", "persistentvolumeclaims", "", "minio-analytics", "", None),
    ("patch", "statefulsets", "apps", "minio-analytics", "", None),
    ("patch", "deployments", "apps", OPERATOR_NAMESPACE, "", "some-other-deployment"),
    ("get", "deployments", "apps", "minio-analytics", "", "some-app"),
    ("patch", "deployments", "apps", "minio-analytics", "", "logs-console"),
    ("delete", "deployments", "apps", OPERATOR_NAMESPACE, "", OPERATOR_DEPLOYMENT),
    ("update", "leases", "coordination.k8s.io", "minio-analytics", "", None),
    ("delete", "leases", "coordination.k8s.io", "minio-chatops", "", None),
    ("create", "serviceaccounts", "", "minio-chatops", "token", BOT),
    ("update", "storageclasses", "storage.k8s.io", None, "", "standard"),
]


@pytest.mark.kube
@pytest.mark.parametrize(("verb", "resource", "group", "namespace", "subresource", "name"), FORBIDDEN,
                         ids=[f"{f[0]}-{f[1]}{'/' + f[4] if f[4] else ''}-{f[3] or 'cluster'}" for f in FORBIDDEN])
def test_the_bot_token_is_denied(
    deployed: Deployed, verb: str, resource: str, group: str, namespace: str | None, subresource: str, name: str | None
) -> None:
    assert not deployed.can(verb, resource, group, namespace, subresource, name)


@pytest.mark.kube
def test_kubeclient_with_the_bot_token_does_its_reads_and_approved_changes(deployed: Deployed) -> None:
    analytics = deployed.analytics
    ns = analytics.namespace
    with deployed.bot_api() as api:
        kc = KubeClient(api, FAST)
        assert [t.name for t in kc.list_tenants([ns, deployed.logs.namespace])] == ["analytics", "logs"]
        tenant = kc.get_tenant(ns, "analytics")
        assert tenant.status is not None and tenant.status.health_status == "green"
        assert [p.name for p in kc.list_pods(ns, "analytics")] == analytics.pod_names()
        assert len(kc.list_pvcs(ns, "analytics")) == 8
        assert [s.name for s in kc.list_statefulsets(ns, "analytics")] == ["analytics-pool-0"]
        assert {e.reason for e in kc.list_events(ns, warning_only=False)} >= {"PoolInitialized"}
        assert [p.name for p in kc.list_network_policies(ns)] == [analytics.network_policy]
        assert "minio" in {s.name for s in kc.list_services(ns)}
        assert "standard" in {s.name for s in kc.list_storage_classes()}
        assert kc.get_deployment(OPERATOR_NAMESPACE, OPERATOR_DEPLOYMENT).ready == 1
        # Secrets: the credentials and the certificate, by name.
        assert kc.read_secret(ns, analytics.config_secret)["config.env"].count("MINIO_ROOT_") == 2
        assert 89 < kc.tls_certificate(ns, analytics.tls_secret).days_left < 91
        # Approved changes: server-side dry-run runs RBAC, admission and validation.
        new_image = "quay.io/minio/minio:RELEASE.2025-10-15T17-29-55Z"
        assert kc.patch_tenant(ns, "analytics", {"spec": {"image": new_image}}, dry_run=True).image == new_image
        pvc = analytics.pvc_names()[0]
        grown = kc.patch_pvc(ns, pvc, {"spec": {"resources": {"requests": {"storage": "2Ti"}}}}, dry_run=True)
        assert grown.requested_bytes == 2 * 2**40
        operator = kc.patch_deployment(OPERATOR_NAMESPACE, OPERATOR_DEPLOYMENT, {"metadata": {"labels": {"x": "y"}}},
                                       dry_run=True)
        assert operator.name == OPERATOR_DEPLOYMENT
        assert kc.get_deployment(ns, "analytics-console").replicas == 1
        assert kc.patch_deployment(ns, "analytics-console", {"spec": {"replicas": 0}}, dry_run=True).replicas == 0
        # Restarting a pod is a real delete (the StatefulSet would recreate it).
        victim = analytics.pod_names()[1]
        kc.delete_pod(ns, victim)
        assert victim not in [p.name for p in kc.list_pods(ns, "analytics")]
        # Logs and metrics are authorised; this control plane has neither a kubelet nor metrics-server.
        for call in (lambda: kc.pod_logs(ns, analytics.pod_names()[0]), lambda: kc.pod_metrics(ns, "analytics")):
            with pytest.raises(KubeError) as err:
                call()
            assert err.value.kind == "unavailable", str(err.value)


@pytest.mark.kube
def test_kubeclient_with_the_bot_token_is_refused_what_it_must_not_do(deployed: Deployed) -> None:
    ns = deployed.analytics.namespace
    with deployed.bot_api() as api:
        kc = KubeClient(api, FAST)
        refused = {
            "another secret": lambda: kc.read_secret(ns, "analytics-backup-keys"),
            "a named secret elsewhere": lambda: kc.read_secret(UNMANAGED, "analytics-env-configuration"),
            "pods of an unmanaged namespace": lambda: kc.list_pods(UNMANAGED),
            "a tenant in an unmanaged namespace": lambda: kc.get_tenant(UNMANAGED, "analytics"),
            "tenants in every namespace": lambda: kc.list_tenants(None),
            "a pod in an unmanaged namespace": lambda: kc.delete_pod(UNMANAGED, "x", dry_run=True),
        }
        for what, call in refused.items():
            with pytest.raises(KubeError) as err:
                call()
            assert err.value.kind == "forbidden", f"{what}: {err.value}"
        custom, core = client.CustomObjectsApi(api), client.CoreV1Api(api)
        with pytest.raises(ApiException) as deleting:
            custom.delete_namespaced_custom_object(TENANT_GROUP, TENANT_VERSION, ns, TENANT_PLURAL, "analytics")
        assert deleting.value.status == 403
        with pytest.raises(ApiException) as creating:
            core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="bot-made")))
        assert creating.value.status == 403
        with pytest.raises(ApiException) as listing:
            core.list_namespaced_secret(ns)
        assert listing.value.status == 403
    with deployed.kube.api_client() as admin:
        client.CustomObjectsApi(admin).get_namespaced_custom_object(
            TENANT_GROUP, TENANT_VERSION, ns, TENANT_PLURAL, "analytics"
        )


def config_with_bot_token(deployed: Deployed, tmp_path: Path) -> dict[str, Any]:
    """The chart's own config.yaml, pointed at this API server with the bot's token instead of in-cluster."""
    raw: dict[str, Any] = yaml.safe_load(rendered_config_text(deployed.manifests))
    kubeconfig = deployed.kube.write_kubeconfig(tmp_path / "kubeconfig", token=deployed.token)
    for cluster in raw["clusters"]:
        cluster.pop("in_cluster")
        cluster["kubeconfig"] = str(kubeconfig)
    raw["timeouts"] = {"connect": 1, "read": 5, "probe": 1, "report_deadline": 10}
    return raw


@pytest.mark.kube
def test_every_command_runs_through_the_bot_with_its_own_token(deployed: Deployed, tmp_path: Path) -> None:
    config = parse_config(yaml.safe_dump(config_with_bot_token(deployed, tmp_path)))
    # As in the pod: POD_NAMESPACE places the leader-election Lease (the doctor checks it).
    runtime = Runtime(config, environ={"MINIO_CHATOPS_STORE_URL": f"sqlite:///{tmp_path / 'state.db'}",
                                       "POD_NAMESPACE": deployed.bot_ns})
    # Credentials come from the named Secret, read with the bot's token.
    analytics = config.tenant("analytics")
    assert analytics is not None
    assert runtime.credentials(analytics) == (deployed.analytics.root_user, deployed.analytics.root_password)
    out = io.StringIO()
    shell = Shell(runtime, user=ADMIN, channel=PLATFORM, out=out)
    ran = []
    try:
        # Each verb with the tenant, bare, and its own examples (aimed at this tenant). Changes stop at
        # their approval card here; the client calls they execute once approved are covered above.
        for verb in load_application().registry:
            examples = [e.replace(" demo", " analytics") for e in verb.examples]
            for line in dict.fromkeys([f"/minio {verb.name} analytics", f"/minio {verb.name}", *examples]):
                if not isinstance(shell.dispatcher.parse(line), UsageError):
                    shell.run_line(line)
                    ran.append(line)
    finally:
        runtime.close()
    text = out.getvalue()
    assert "/minio tenants" in ran and "4/4 pods ready" in text and "Tenant green" in text
    assert not re.search(r"denied access|forbidden|cannot (get|list|patch|delete)", text, re.I), text


def rendered_config_text(manifests: list[Manifest]) -> str:
    """config.yaml as rendered into the chart's ConfigMap."""
    rendered_config(manifests)  # valid as shipped
    [config_map] = [m for m in of_kind(manifests, "ConfigMap") if m["metadata"]["name"].startswith(f"{BOT}-config")]
    return str(config_map["data"]["config.yaml"])


@pytest.mark.kube
def test_leader_election_with_the_bot_token_creates_renews_and_releases_its_lease(deployed: Deployed) -> None:
    election = rendered_config(deployed.manifests).leader_election
    assert election is not None
    with deployed.bot_api() as api:
        store = KubeLeaseStore(api, deployed.bot_ns, election.name)
        now = [0.0]
        elector = LeaderElector(store, "minio-chatops-0", election.lease_seconds, clock=lambda: now[0])
        elector.tick()  # no Lease yet: candidates wait a full lease before creating it
        now[0] += election.lease_seconds
        elector.tick()
        assert elector.is_leader, "the bot's token may create the Lease"
        first = store.get(5.0)
        now[0] += 1
        elector.tick()
        renewed = store.get(5.0)
        assert elector.is_leader and first and renewed and renewed.resource_version != first.resource_version
        elector.stop(release=True)
        released = store.get(5.0)
        assert released is not None and released.holder == ""
        # Another Lease name is not the bot's to touch.
        other = KubeLeaseStore(api, deployed.bot_ns, "someone-elses-lease")
        with pytest.raises(Exception, match="403"):
            other.get(5.0)


@pytest.mark.kube
def test_an_approved_maintenance_window_executes_with_the_bot_token(
    deployed: Deployed, minio_cluster: SimCluster, tmp_path: Path
) -> None:
    # The approval engine end to end: request, a second person approves, the change runs once with
    # the bot's token (Tenant annotations + console scaled to 0), then the same back.
    kubeconfig = deployed.kube.write_kubeconfig(tmp_path / "kubeconfig", token=deployed.token)
    (tmp_path / "ak").write_text(minio_cluster.access_key)
    (tmp_path / "sk").write_text(minio_cluster.secret_key)
    raw = {
        "store_url": f"sqlite:///{tmp_path / 'state.db'}",
        "timeouts": {"connect": 2, "read": 5, "probe": 2, "report_deadline": 8},
        "clusters": [{"name": "default", "kubeconfig": str(kubeconfig), "namespaces": [deployed.analytics.namespace],
                      "discover": False}],
        "channels": [{"id": OPS}],
        "tenants": [{
            "name": "analytics",
            "kubernetes": {"cluster": "default", "namespace": deployed.analytics.namespace, "tenant": "analytics"},
            "endpoints": list(minio_cluster.endpoints),
            "credentials": {"access_key_file": str(tmp_path / "ak"), "secret_key_file": str(tmp_path / "sk")},
            "channels": [OPS],
            "operators": [ALICE],
            "approvals": {"maintenance": {"approvers": [ALICE, BOB]}},
        }],
    }
    bot = world_from(raw, clock=LiveClock(), capabilities=(maintenance.capability,))
    ns = deployed.analytics.namespace

    def annotations() -> dict[str, str]:
        with deployed.kube.api_client() as admin:
            path = f"/apis/{TENANT_GROUP}/{TENANT_VERSION}/namespaces/{ns}/{TENANT_PLURAL}/analytics"
            status, body, _ = api_request(admin, "GET", path)
        assert status == 200
        return dict(body["metadata"].get("annotations") or {})

    def console_replicas() -> int:
        with deployed.kube.api_client() as admin:
            return KubeClient(admin, FAST).get_deployment(ns, "analytics-console").replicas

    try:
        for action, mode, replicas in (("enable", "true", 0), ("disable", None, 1)):
            requested = maintenance_command(bot.inv(ALICE), MaintenanceArgs(tenant="analytics", action=action))
            assert not requested.failed, text_of(requested)
            approval = bot.runtime.store.approvals.recent(1)[0]
            result = bot.press(BOB, approval.id)
            assert result.ephemeral is None, text_of(result.ephemeral) if result.ephemeral else ""
            assert bot.status(approval.id) == "succeeded", text_of(bot.outbox.posts[-1][2])
            assert annotations().get(MODE) == mode and console_replicas() == replicas
    finally:
        bot.runtime.close()


@pytest.mark.kube
def test_the_doctor_names_the_one_rbac_rule_removed(deployed: Deployed, tmp_path: Path) -> None:
    # The chart's own config, run with the bot's token: every call allowed; then one rule taken away.
    from handlers.doctor.facts import gather
    from handlers.doctor.present import doctor_report
    from tests.reading import plain

    raw = config_with_bot_token(deployed, tmp_path)
    raw["store_url"] = f"sqlite:///{tmp_path / 'state.db'}"

    def kubernetes_rows() -> list[tuple[str, str]]:
        runtime = Runtime(parse_config(yaml.safe_dump(raw)), environ={"POD_NAMESPACE": deployed.bot_ns})
        try:
            report = doctor_report(gather(runtime))
        finally:
            runtime.close()
        [section] = [s for s in report.sections if s.title.startswith("Kubernetes")]
        return [(str(r.status), plain(r.text)) for r in section.rows]

    [(status, text)] = kubernetes_rows()
    assert status == "HEALTHY" and text.endswith("Kubernetes calls the bot makes are allowed"), text
    rbac = client.RbacAuthorizationV1Api
    [role] = [r for r in of_kind(deployed.manifests, "Role")
              if r["metadata"]["name"] == f"{BOT}-tenant-named" and r["metadata"]["namespace"] == "minio-logs"]
    original = role["rules"]
    rules = [dict(r, verbs=["get"]) if r["resources"] == [TENANT_PLURAL] else r for r in original]
    with deployed.kube.api_client() as admin:
        rbac(admin).patch_namespaced_role(f"{BOT}-tenant-named", "minio-logs", {"rules": rules})
    try:
        deadline = time.monotonic() + 15
        while deployed.can("patch", TENANT_PLURAL, TENANT_GROUP, "minio-logs", name="logs"):
            assert time.monotonic() < deadline, "the changed Role never took effect"
            time.sleep(0.1)
        assert kubernetes_rows() == [(
            "UNHEALTHY",
            "cannot `patch` `tenants.minio.min.io` `logs` in `minio-logs`: grant it: the Helm chart renders exactly "
            "these rules from this config (helm upgrade)",
        )]
    finally:
        with deployed.kube.api_client() as admin:
            rbac(admin).patch_namespaced_role(f"{BOT}-tenant-named", "minio-logs", {"rules": original})
