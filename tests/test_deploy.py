"""deploy/helm/minio-chatops: rendered by the real Helm, checked as data, and validated by the real API server.

The chart is the one deployment path (the kustomize overlays were retired).
Helm 4 (Apache-2.0) is built from the Go module proxy by
``deploy/build-helm.sh`` into ``~/.cache/minio-chatops/tools/`` (quick when
already built). A missing Go toolchain FAILS these tests, never skips. The
examples in ``examples/`` are the deployments these tests and tests/test_rbac.py
prove; the helpers at the top are shared with tests/test_rbac.py.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from bot.clients.timeouts import SERVER_PEER_WAIT_S
from bot.config import Config, SecretCredentials, parse_config
from sandbox.kube.controlplane import ControlPlane

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
BUILD_SCRIPT = DEPLOY / "build-helm.sh"
CHART = DEPLOY / "helm" / "minio-chatops"
SINGLE = "single-namespace"
MULTI = "multi-tenant"
EXAMPLES = (SINGLE, MULTI)
# Where each example is installed (`helm install -n`).
RELEASE_NAMESPACE = {SINGLE: "minio-tenant", MULTI: "minio-chatops"}
BOT = "minio-chatops"  # the release name: the ServiceAccount, Deployment and Secret prefix
CONFIG_MAP = "minio-chatops-config"
BOT_UID = 10001

Manifest = dict[str, Any]


# ---------------------------------------------------------------- rendering (shared helpers)


def pinned_helm_version() -> str:
    """The Helm version pinned in deploy/tools/go.mod."""
    match = re.search(r"helm\.sh/helm/v4 (v[0-9.]+)", (DEPLOY / "tools" / "go.mod").read_text())
    assert match, "deploy/tools/go.mod pins no helm version"
    return match.group(1)


@functools.cache
def helm_binary() -> Path:
    """Path of the pinned helm, built by deploy/build-helm.sh when missing."""
    done = subprocess.run(["bash", str(BUILD_SCRIPT)], capture_output=True, text=True, timeout=3000, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{BUILD_SCRIPT} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return Path(done.stdout.strip().splitlines()[-1])


def helm() -> Path:
    """The renderer, or a test failure naming how to build it."""
    try:
        return helm_binary()
    except RuntimeError as exc:
        pytest.fail(f"cannot build helm: {exc}", pytrace=False)


def run_helm(*args: str) -> subprocess.CompletedProcess[str]:
    """One helm command with a private home (no repositories, no plugins, no cache of the user's)."""
    with tempfile.TemporaryDirectory() as home:
        env = {"HOME": home, "HELM_CACHE_HOME": f"{home}/cache", "HELM_CONFIG_HOME": f"{home}/config",
               "HELM_DATA_HOME": f"{home}/data", "PATH": "/usr/bin:/bin"}
        return subprocess.run([str(helm()), *args], capture_output=True, text=True, timeout=120, check=False, env=env)


def example_file(example: str) -> Path:
    """The example values file called ``example``."""
    return CHART / "examples" / f"{example}.yaml"


def template(example: str | None, overrides: dict[str, Any] | None = None,
             namespace: str | None = None) -> subprocess.CompletedProcess[str]:
    """`helm template minio-chatops <chart> -n <ns> [-f example] [-f overrides]`, not checked."""
    ns = namespace or RELEASE_NAMESPACE.get(example or "", "minio-chatops")
    args = ["template", BOT, str(CHART), "--namespace", ns]
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as extra:
        if example:
            args += ["--values", str(example_file(example))]
        if overrides is not None:
            yaml.safe_dump(overrides, extra)
            extra.flush()
            args += ["--values", extra.name]
        return run_helm(*args)


@functools.cache
def _render(example: str) -> str:
    done = template(example)
    assert done.returncode == 0, f"helm template -f examples/{example}.yaml failed:\n{done.stderr}"
    return done.stdout


def render(example: str) -> list[Manifest]:
    """The objects `helm template` produces for an example (a fresh copy each call)."""
    return [doc for doc in yaml.safe_load_all(_render(example)) if doc]


def render_with(overrides: dict[str, Any], example: str = MULTI) -> list[Manifest]:
    """An example with more values on top; fails the test when Helm refuses them."""
    done = template(example, overrides)
    assert done.returncode == 0, f"helm template refused {overrides}:\n{done.stderr}"
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def refusal(overrides: dict[str, Any], example: str | None = MULTI) -> str:
    """Helm's error for values it must refuse (the test fails if it renders them)."""
    done = template(example, overrides)
    assert done.returncode != 0, f"helm rendered {overrides}, which it must refuse"
    return done.stderr


def of_kind(manifests: list[Manifest], *kinds: str) -> list[Manifest]:
    """Objects of the given kinds, in rendering order."""
    return [m for m in manifests if m["kind"] in kinds]


def the(manifests: list[Manifest], kind: str, name_prefix: str = BOT) -> Manifest:
    """The single object of ``kind`` whose name starts with ``name_prefix``."""
    found = [m for m in of_kind(manifests, kind) if m["metadata"]["name"].startswith(name_prefix)]
    assert len(found) == 1, f"expected one {kind} {name_prefix}*, found {[m['metadata']['name'] for m in found]}"
    return found[0]


def bot_namespace(manifests: list[Manifest]) -> str:
    """Where the bot (its Deployment and ServiceAccount) runs."""
    return str(the(manifests, "Deployment")["metadata"]["namespace"])


def rendered_config(manifests: list[Manifest]) -> Config:
    """The bot's config.yaml from the rendered ConfigMap, validated like the bot does at start."""
    config_map = the(manifests, "ConfigMap", CONFIG_MAP)
    return parse_config(config_map["data"]["config.yaml"], source=f"ConfigMap {config_map['metadata']['name']}")


def managed_namespaces(config: Config) -> set[str]:
    """Namespaces the config points the bot at (clusters and tenants)."""
    found: set[str] = set()
    for cluster in config.clusters:
        assert cluster.namespaces is not None, (
            f"cluster {cluster.name}: namespaces must be listed; the manifests grant no cluster-wide Tenant access"
        )
        found.update(cluster.namespaces)
    found.update(t.kubernetes.namespace for t in config.tenants if t.kubernetes)
    return found


@dataclass(frozen=True)
class Grant:
    """One (namespace, group, resource[/subresource], verb) the bot's ServiceAccount holds.

    ``namespace`` None: cluster-wide. ``names`` None: any object; else only those names.
    """

    namespace: str | None
    group: str
    resource: str
    verb: str
    names: frozenset[str] | None = None

    @property
    def key(self) -> tuple[str | None, str, str, str]:
        """The grant without its resourceNames."""
        return (self.namespace, self.group, self.resource, self.verb)


def bot_grants(manifests: list[Manifest]) -> set[Grant]:
    """Every permission the rendered bindings give the bot's ServiceAccount."""
    sa_namespace = bot_namespace(manifests)
    roles = {(r["metadata"].get("namespace"), r["kind"], r["metadata"]["name"]): r for r in
             of_kind(manifests, "Role", "ClusterRole")}
    grants: set[Grant] = set()
    for binding in of_kind(manifests, "RoleBinding", "ClusterRoleBinding"):
        subjects = binding.get("subjects") or []
        if not any(s == {"kind": "ServiceAccount", "name": BOT, "namespace": sa_namespace} for s in subjects):
            continue
        ref = binding["roleRef"]
        scope = binding["metadata"].get("namespace") if binding["kind"] == "RoleBinding" else None
        role_ns = None if ref["kind"] == "ClusterRole" else scope
        role = roles.get((role_ns, ref["kind"], ref["name"]))
        assert role is not None, f"{binding['kind']} {binding['metadata']['name']} refers to missing {ref}"
        for rule in role.get("rules") or []:
            names = frozenset(rule["resourceNames"]) if rule.get("resourceNames") else None
            for group in rule.get("apiGroups") or []:
                for resource in rule.get("resources") or []:
                    for verb in rule.get("verbs") or []:
                        grants.add(Grant(scope, group, resource, verb, names))
    return grants


# ---------------------------------------------------------------- the raw API (server-side dry-run)


def api_request(
    api: client.ApiClient, method: str, path: str, body: Any = None, query: list[tuple[str, str]] | None = None
) -> tuple[int, Any, list[str]]:
    """One request; returns (status, decoded JSON body, Warning headers). Never raises on status."""
    headers = {"Accept": "application/json", "Content-Type": "application/json"}
    request = api.param_serialize(
        method=method, resource_path=path, query_params=query or [], header_params=headers, body=body,
        auth_settings=["BearerToken"],
    )
    response = api.call_api(*request)
    data = response.read()
    warnings = [v for k, v in response.headers.items() if k.lower() == "warning"]
    try:
        decoded = json.loads(data) if data else None
    except ValueError:
        decoded = None  # e.g. "404 page not found"
    return response.status, decoded, warnings


def collection_path(api: client.ApiClient, manifest: Manifest) -> str:
    """The REST collection path for a manifest (plural and scope from the server's own discovery)."""
    api_version, kind = manifest["apiVersion"], manifest["kind"]
    prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    status, body, _ = api_request(api, "GET", prefix)
    assert status == 200, f"the API server does not serve {api_version}"
    resource = next((r for r in body["resources"] if r["kind"] == kind and "/" not in r["name"]), None)
    assert resource is not None, f"the API server has no {kind} in {api_version}"
    if resource["namespaced"]:
        return f"{prefix}/namespaces/{manifest['metadata']['namespace']}/{resource['name']}"
    return f"{prefix}/{resource['name']}"


def create(api: client.ApiClient, manifest: Manifest, dry_run: bool) -> tuple[int, Any, list[str]]:
    """Create an object (strict field validation: unknown or duplicate fields are errors)."""
    query = [("fieldValidation", "Strict")] + ([("dryRun", "All")] if dry_run else [])
    return api_request(api, "POST", collection_path(api, manifest), manifest, query)


def ensure_namespace(api: client.ApiClient, name: str, labels: dict[str, str] | None = None) -> bool:
    """Create a namespace unless it exists; True when this call created it."""
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels or {}}}
    status, answer, _ = api_request(api, "POST", "/api/v1/namespaces", body)
    assert status in (201, 409), answer
    return status == 201


# ---------------------------------------------------------------- fixtures


@pytest.fixture(params=EXAMPLES)
def example(request: pytest.FixtureRequest) -> str:
    """Each example deployment."""
    return str(request.param)


@pytest.fixture
def manifests(example: str) -> list[Manifest]:
    """The example, rendered."""
    return render(example)


def expected_secrets(config: Config) -> set[tuple[str | None, str]]:
    """(namespace, Secret) the bot must be able to read: each tenant's credentials and its TLS Secret."""
    wanted: set[tuple[str | None, str]] = set()
    for tenant in config.tenants:
        assert tenant.kubernetes is not None
        ns = tenant.kubernetes.namespace
        wanted.add((ns, f"{tenant.tenant_name}-tls"))
        if isinstance(tenant.credentials, SecretCredentials):
            wanted.add((tenant.credentials.namespace or ns, tenant.credentials.secret))
        elif tenant.credentials is None:  # the operator's own Secret, spec.configuration
            wanted.add((ns, f"{tenant.tenant_name}-env-configuration"))
    return wanted


# ---------------------------------------------------------------- the renderer and the chart's own checks


def test_the_renderer_is_the_pinned_helm_built_outside_the_work_tree() -> None:
    binary = helm()
    assert ROOT not in binary.parents, "tool binaries live in the cache folder, never in the work tree"
    assert binary.parent.name == f"helm-{pinned_helm_version()}"
    version = run_helm("version", "--template", "{{.Version}}")
    assert version.returncode == 0 and version.stdout.strip() == pinned_helm_version()


@pytest.mark.parametrize("example", [None, *EXAMPLES])
def test_helm_lint_passes_with_the_defaults_and_every_example(example: str | None) -> None:
    args = ["lint", "--strict", str(CHART)] + (["--values", str(example_file(example))] if example else [])
    done = run_helm(*args)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 chart(s) failed" in done.stdout


@pytest.mark.parametrize("example", [None, *EXAMPLES])
def test_the_defaults_and_every_example_render(example: str | None) -> None:
    done = template(example)
    assert done.returncode == 0, done.stderr
    kinds = {m["kind"] for m in yaml.safe_load_all(done.stdout) if m}
    assert {"Deployment", "ServiceAccount", "ConfigMap", "NetworkPolicy", "Service"} <= kinds
    assert {"Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"} <= kinds
    assert "Secret" not in kinds, "tokens are referenced from a Secret the operator creates, never rendered"


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"replicaCount": "two"}, "/replicaCount"),
        ({"slack": {"mode": "websocket"}}, "/slack/mode"),
        ({"store": {"type": "mysql"}}, "/store/type"),
        ({"image": {"tag": "latest"}}, "/image/tag"),
        ({"metrics": {"port": 70000}}, "/metrics/port"),
        ({"config": {"clusters": [{"name": "default", "namespaces": []}]}}, "/config/clusters/0/namespaces"),
        ({"config": {"clusters": [{"namespaces": ["Not_A_Namespace"]}]}}, "/config/clusters/0/namespaces/0"),
        ({"config": {"clusters": [{"namespaces": ["a"]}], "store_url": "sqlite:///x"}}, "/config/store_url"),
        ({"config": {"clusters": [{"namespaces": ["a"], "kubeconfig": "/k"}]}}, "'kubeconfig' not allowed"),
        ({"networkPolicy": {"slackFrom": []}}, "/networkPolicy/slackFrom"),
        ({"replicas": 2}, "replicas"),
    ],
    ids=["replicaCount", "slack.mode", "store.type", "image.tag", "metrics.port", "no-namespaces", "bad-namespace",
         "chart-owned-key", "kubeconfig", "slackFrom", "unknown-key"],
)
def test_a_value_that_violates_the_schema_is_refused_naming_it(overrides: dict[str, Any], named: str) -> None:
    error = refusal(overrides)
    assert "values don't meet the specifications of the schema" in error, error
    assert f"'{named}'" in error or f"{named}:" in error or named in error.split("schema")[-1], error
    assert "Traceback" not in error


def test_more_than_one_replica_without_postgresql_is_refused() -> None:
    error = refusal({"replicaCount": 3}, SINGLE)
    assert "replicaCount is 3 but store.type is \"sqlite\"" in error, error
    assert "store.type=postgresql" in error
    # The same replicas with PostgreSQL render, with leader election in the config.
    config = rendered_config(render_with({"replicaCount": 3, "store": {"type": "postgresql"}}, SINGLE))
    assert config.leader_election is not None and config.leader_election.name == "minio-chatops-leader"


def test_other_refusals_name_the_value_and_the_fix() -> None:
    assert "podDisruptionBudget.minAvailable is 2 with replicaCount 2" in refusal(
        {"podDisruptionBudget": {"enabled": True, "minAvailable": 2}})
    outside = refusal({"config": {"clusters": [{"namespaces": ["minio-logs"]}], "tenants": [
        {"name": "analytics", "kubernetes": {"namespace": "minio-analytics"}}]}})
    assert 'config.tenants[0] (analytics): namespace "minio-analytics" is not in any config.clusters[].namespaces' \
        in outside
    assert "both 9102" in refusal({"slack": {"httpPort": 9102}})


# ---------------------------------------------------------------- RBAC, as data


def test_rendered_rbac_has_no_wildcards_no_cluster_admin_and_no_escalation(manifests: list[Manifest]) -> None:
    for role in of_kind(manifests, "Role", "ClusterRole"):
        where = f"{role['kind']} {role['metadata']['name']}"
        assert "aggregationRule" not in role, where
        for rule in role["rules"]:
            for field in ("apiGroups", "resources", "verbs", "resourceNames"):
                assert not any("*" in value for value in rule.get(field) or []), f"{where}: wildcard in {field}"
            assert "nonResourceURLs" not in rule, where
            assert not {"escalate", "bind", "impersonate", "deletecollection"} & set(rule["verbs"]), where
            for resource in rule["resources"]:
                assert resource.split("/")[0] not in ("roles", "rolebindings", "clusterroles", "clusterrolebindings",
                                                      "namespaces", "serviceaccounts", "nodes"), where
                assert not resource.endswith(("/exec", "/attach", "/portforward", "/proxy", "/token")), where
    for binding in of_kind(manifests, "RoleBinding", "ClusterRoleBinding"):
        ref = binding["roleRef"]
        assert ref["name"] not in ("cluster-admin", "admin", "edit", "view"), binding["metadata"]["name"]
        assert ref["name"].startswith(BOT), f"{binding['metadata']['name']} binds a role this chart does not own"
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": BOT, "namespace": bot_namespace(manifests)}
        ], f"{binding['metadata']['name']}: only the bot's ServiceAccount is bound"


def test_secrets_are_readable_only_by_name_and_only_the_configured_ones(manifests: list[Manifest]) -> None:
    config = rendered_config(manifests)
    secret_grants = [g for g in bot_grants(manifests) if g.group == "" and g.resource == "secrets"]
    assert secret_grants, "the bot reads its tenants' credentials and TLS Secrets"
    for grant in secret_grants:
        assert grant.verb == "get" and grant.names, f"secrets must be `get` with resourceNames, not {grant}"
    granted = {(g.namespace, name) for g in secret_grants for name in g.names or ()}
    assert granted == expected_secrets(config), "each tenant's credentials Secret and <tenant>-tls, nothing else"


def test_a_tenant_without_credentials_gets_the_operators_secret_and_extra_secrets_are_added() -> None:
    manifests = render_with({
        "config": {"clusters": [{"namespaces": ["minio-logs"], "discover": False}],
                   "tenants": [{"name": "logs", "kubernetes": {"namespace": "minio-logs"}}]},
        "rbac": {"extraSecrets": {"minio-logs": ["logs-external-cert"]}},
    })
    granted = {(g.namespace, n) for g in bot_grants(manifests) if g.resource == "secrets" for n in g.names or ()}
    assert granted == {("minio-logs", "logs-env-configuration"), ("minio-logs", "logs-tls"),
                       ("minio-logs", "logs-external-cert")}


def test_a_discovering_namespace_grants_tenants_without_names() -> None:
    manifests = render_with({"config": {"clusters": [{"namespaces": ["minio-logs"], "discover": True}],
                                        "tenants": []}})
    tenants = {(g.verb, g.names) for g in bot_grants(manifests) if g.resource == "tenants"}
    assert tenants == {("list", None), ("get", None), ("patch", None)}


def test_config_is_valid_and_every_namespace_it_names_is_granted(manifests: list[Manifest]) -> None:
    config = rendered_config(manifests)
    assert all(c.in_cluster for c in config.clusters), "in the cluster the bot uses its ServiceAccount token"
    # MinIO's `admin info` waits 10 s for a hung peer: a shorter report deadline turns one hung node
    # into "no node answered".
    assert config.timeouts.report_deadline > SERVER_PEER_WAIT_S, "report_deadline outlasts MinIO's peer wait"
    namespaces = managed_namespaces(config)
    tenant_roles = {r["metadata"]["namespace"] for r in of_kind(manifests, "Role")
                    if r["metadata"]["name"] == f"{BOT}-tenant"}
    assert tenant_roles == namespaces, "a tenant Role in exactly the namespaces config.yaml names"
    policy = the(manifests, "NetworkPolicy")
    minio = next(rule for rule in policy["spec"]["egress"] if {p["port"] for p in rule["ports"]} == {9000})
    [selector] = minio["to"][0]["namespaceSelector"]["matchExpressions"]
    assert set(selector["values"]) == namespaces, "MinIO egress allowed to the managed namespaces only"


# ---------------------------------------------------------------- the workload


def test_the_deployment_runs_hardened_replicas_with_probes_and_limits(manifests: list[Manifest]) -> None:
    deployment = the(manifests, "Deployment")
    spec = deployment["spec"]
    config = rendered_config(manifests)
    ha = config.leader_election is not None
    assert spec["replicas"] == (2 if ha else 1)
    assert spec["strategy"]["type"] == ("RollingUpdate" if ha else "Recreate"), "SQLite: one writer at a time"
    pod = spec["template"]["spec"]
    assert pod["serviceAccountName"] == BOT
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == BOT_UID
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC")
    [container] = pod["containers"]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["runAsUser"] == BOT_UID and security["runAsNonRoot"] is True
    resources = container["resources"]
    assert {"cpu", "memory"} <= set(resources["requests"]) and {"cpu", "memory"} <= set(resources["limits"])
    assert container["ports"] == [
        {"name": "http", "containerPort": config.slack.http_port, "protocol": "TCP"},
        {"name": "metrics", "containerPort": config.metrics_port, "protocol": "TCP"},
    ]
    assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert not container["image"].endswith(":latest") and ":" in container["image"]
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]["name"]]
    config_volume = volumes[mounts["/etc/minio-chatops"]["name"]]
    assert config_volume["configMap"]["name"] == the(manifests, "ConfigMap", CONFIG_MAP)["metadata"]["name"]
    assert mounts["/etc/minio-chatops"]["readOnly"] is True
    writable = set(mounts) - {"/etc/minio-chatops"}
    if ha:
        assert writable == {"/tmp"}, "with PostgreSQL the only writable path is an emptyDir at /tmp"
    else:
        assert writable == {"/tmp", "/var/lib/minio-chatops"}, "SQLite lives on its own volume"
        claim = volumes[mounts["/var/lib/minio-chatops"]["name"]]["persistentVolumeClaim"]["claimName"]
        assert the(manifests, "PersistentVolumeClaim")["metadata"]["name"] == claim


def test_a_config_change_rolls_the_pods() -> None:
    before = the(render(MULTI), "Deployment")["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
    changed = render_with({"config": {**yaml.safe_load(example_file(MULTI).read_text())["config"], "admins": ["U1"]}})
    after = the(changed, "Deployment")["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
    assert before != after


def secret_env(container: Manifest) -> dict[str, Manifest]:
    """Env name -> its secretKeyRef."""
    return {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]
            if "secretKeyRef" in (e.get("valueFrom") or {})}


def test_tokens_come_from_a_secret_and_the_config_from_the_configmap(manifests: list[Manifest]) -> None:
    [container] = the(manifests, "Deployment")["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["MINIO_CHATOPS_CONFIG"]["value"] == "/etc/minio-chatops/config.yaml"
    # Leader election: this replica's identity and the Lease's namespace (bot/scheduler.py).
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert env["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
    refs = secret_env(container)
    slack = {"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "ALERTMANAGER_WEBHOOK_TOKEN"}
    if rendered_config(manifests).leader_election is not None:
        assert set(refs) == slack | {"MINIO_CHATOPS_STORE_URL"}
    else:
        assert set(refs) == slack
        assert env["MINIO_CHATOPS_STORE_URL"]["value"] == "sqlite:////var/lib/minio-chatops/state.db"
    assert {ref["name"] for ref in refs.values()} == {f"{BOT}-secrets"}
    # mode auto: Socket Mode (app token) or HTTP mode (signing secret); the bot token is never optional.
    assert refs["SLACK_APP_TOKEN"].get("optional") and refs["SLACK_SIGNING_SECRET"].get("optional")
    assert not refs["SLACK_BOT_TOKEN"].get("optional")
    assert refs["ALERTMANAGER_WEBHOOK_TOKEN"].get("optional"), "alerts from Alertmanager are optional"
    literal = " ".join(str(e.get("value", "")) for e in container["env"])
    assert not re.search(r"xox[abp]-|xapp-|postgres(ql)?(\+\w+)?://\S+:\S+@", literal), "no secret values inline"
    assert not re.search(r"xox[abp]-|xapp-", the(manifests, "ConfigMap", CONFIG_MAP)["data"]["config.yaml"])


@pytest.mark.parametrize(("mode", "required", "absent"), [
    ("socket", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"), ("http", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN")])
def test_the_slack_mode_requires_its_secret_and_drops_the_other(mode: str, required: str, absent: str) -> None:
    manifests = render_with({"slack": {"mode": mode, "existingSecret": "slack-tokens", "appTokenKey": "app"}})
    [container] = the(manifests, "Deployment")["spec"]["template"]["spec"]["containers"]
    refs = secret_env(container)
    assert absent not in refs and not refs[required].get("optional")
    assert refs[required]["name"] == refs["SLACK_BOT_TOKEN"]["name"] == "slack-tokens"
    assert refs["MINIO_CHATOPS_STORE_URL"]["name"] == f"{BOT}-secrets", "the store's Secret is its own setting"
    assert rendered_config(manifests).slack.mode == mode


def test_disruption_budget_and_network_policy_select_the_bot(manifests: list[Manifest]) -> None:
    labels = the(manifests, "Deployment")["spec"]["template"]["metadata"]["labels"]
    ha = rendered_config(manifests).leader_election is not None
    budgets = of_kind(manifests, "PodDisruptionBudget")
    if ha:
        [budget] = budgets
        assert budget["spec"]["minAvailable"] == 1
        assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
    else:
        assert budgets == [], "one replica: a budget would block every node drain"
    policy = the(manifests, "NetworkPolicy")["spec"]
    assert policy["podSelector"]["matchLabels"].items() <= labels.items()
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
    egress_ports = {(p["port"], p["protocol"]) for rule in policy["egress"] for p in rule["ports"]}
    base = {(53, "UDP"), (53, "TCP"), (443, "TCP"), (6443, "TCP"), (9000, "TCP"), (9093, "TCP")}
    assert egress_ports == (base | {(5432, "TCP")} if ha else base), "PostgreSQL only when it is the store"
    service = the(manifests, "Service")["spec"]
    assert service["selector"].items() <= labels.items()
    assert [(p["name"], p["targetPort"]) for p in service["ports"]] == [("http", "http"), ("metrics", "metrics")]


def test_network_policy_admits_slack_and_prometheus_separately(manifests: list[Manifest]) -> None:
    config = rendered_config(manifests)
    policy = the(manifests, "NetworkPolicy")["spec"]
    rules = {}
    for rule in policy["ingress"]:
        assert rule.get("from"), f"an ingress rule without `from` admits every source: {rule}"
        [port] = rule["ports"]
        rules[port["port"]] = rule["from"]
    assert set(rules) == {config.slack.http_port, config.metrics_port}, "the app port and the metrics port only"
    assert rules[config.slack.http_port] != rules[config.metrics_port], "Slack and Prometheus come from apart"
    [container] = the(manifests, "Deployment")["spec"]["template"]["spec"]["containers"]
    named = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert named == {"http": config.slack.http_port, "metrics": config.metrics_port}
    service = {p["name"]: p["port"] for p in the(manifests, "Service")["spec"]["ports"]}
    assert service == named


def test_ports_are_set_once_and_followed_everywhere() -> None:
    manifests = render_with({"slack": {"httpPort": 8080}, "metrics": {"port": 9200},
                             "networkPolicy": {"metricsFrom": [{"ipBlock": {"cidr": "10.1.0.0/16"}}]}})
    config = rendered_config(manifests)
    assert (config.slack.http_port, config.metrics_port) == (8080, 9200)
    ingress = {r["ports"][0]["port"]: r["from"] for r in the(manifests, "NetworkPolicy")["spec"]["ingress"]}
    assert ingress[9200] == [{"ipBlock": {"cidr": "10.1.0.0/16"}}] and 8080 in ingress
    assert [p["port"] for p in the(manifests, "Service")["spec"]["ports"]] == [8080, 9200]


def test_a_service_monitor_scrapes_the_metrics_port_when_enabled() -> None:
    assert of_kind(render(MULTI), "ServiceMonitor") == []
    manifests = render_with({"metrics": {"serviceMonitor": {"enabled": True, "labels": {"release": "kps"}}}})
    monitor = the(manifests, "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "kps"
    assert monitor["spec"]["selector"]["matchLabels"].items() <= the(manifests, "Service")["metadata"]["labels"].items()
    assert monitor["spec"]["endpoints"] == [{"port": "metrics", "path": "/metrics", "interval": "30s"}]


def test_the_doctor_runs_as_a_helm_test_with_the_bots_identity(manifests: list[Manifest]) -> None:
    [pod] = of_kind(manifests, "Pod")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    [doctor] = pod["spec"]["containers"]
    [bot] = the(manifests, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert doctor["args"] == ["doctor"] and doctor["image"] == bot["image"]
    assert doctor["env"] == bot["env"] and doctor["volumeMounts"] == bot["volumeMounts"]
    assert doctor["securityContext"] == bot["securityContext"]
    assert pod["spec"]["serviceAccountName"] == BOT and pod["spec"]["restartPolicy"] == "Never"
    after = render_with({"doctor": {"afterInstall": True}})
    assert the(after, "Pod")["metadata"]["annotations"]["helm.sh/hook"] == "test,post-install,post-upgrade"
    assert of_kind(render_with({"doctor": {"enabled": False}}), "Pod") == []


def test_network_policy_admits_alertmanager_to_the_app_port_only(manifests: list[Manifest]) -> None:
    config = rendered_config(manifests)
    policy = the(manifests, "NetworkPolicy")["spec"]
    [rule] = [r for r in policy["ingress"]
              if any(f.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/name") == "alertmanager"
                     for f in r["from"])]
    assert [p["port"] for p in rule["ports"]] == [config.slack.http_port], "the webhook is on the app port"


# ---------------------------------------------------------------- the real API server

SERVICE_MONITOR_CRD = {
    # A stand-in for the Prometheus Operator's CRD: the kind and scope only, any fields.
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "servicemonitors.monitoring.coreos.com"},
    "spec": {
        "group": "monitoring.coreos.com",
        "scope": "Namespaced",
        "names": {"plural": "servicemonitors", "singular": "servicemonitor", "kind": "ServiceMonitor"},
        "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
            "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}],
    },
}


def dry_run_all(kube: ControlPlane, manifests: list[Manifest]) -> None:
    """Server-side dry run of every object (namespaces created for real, removed after)."""
    created: list[str] = []
    with kube.api_client() as admin:
        try:
            for name in sorted({m["metadata"].get("namespace") for m in manifests} - {None}):
                if ensure_namespace(admin, str(name)):
                    created.append(str(name))
            for manifest in manifests:
                status, body, warnings = create(admin, manifest, dry_run=True)
                where = f"{manifest['kind']} {manifest['metadata']['name']}"
                assert status == 201, f"{where}: HTTP {status} {(body or {}).get('message')}"
                # e.g. PodSecurity "restricted" violations arrive as warnings on the Deployment.
                assert not warnings, f"{where}: {warnings}"
            # Dry-run persisted nothing.
            for manifest in manifests:
                path = f"{collection_path(admin, manifest)}/{manifest['metadata']['name']}"
                assert api_request(admin, "GET", path)[0] == 404, f"{path} was created"
        finally:
            for name in created:
                kube.delete_namespace(name)


@pytest.mark.kube
def test_every_rendered_object_passes_server_side_dry_run(kube: ControlPlane, example: str) -> None:
    manifests = render(example)
    assert {m["kind"] for m in manifests} >= {"Deployment", "Pod", "Role"}
    dry_run_all(kube, manifests)


@pytest.mark.kube
def test_the_service_monitor_passes_server_side_dry_run_where_its_crd_exists(kube: ControlPlane) -> None:
    manifests = of_kind(render_with({"metrics": {"serviceMonitor": {"enabled": True}}}), "ServiceMonitor")
    with kube.api_client() as admin:
        status, body, _ = api_request(admin, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                                      SERVICE_MONITOR_CRD)
        assert status in (201, 409), body
        try:
            deadline = time.monotonic() + 20
            while api_request(admin, "GET", "/apis/monitoring.coreos.com/v1")[0] != 200:
                assert time.monotonic() < deadline, "the ServiceMonitor CRD never got served"
                time.sleep(0.2)
            dry_run_all(kube, manifests)
        finally:
            api_request(admin, "DELETE",
                        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/servicemonitors.monitoring.coreos.com")


@pytest.mark.kube
def test_a_typo_in_a_manifest_is_refused_by_strict_validation(kube: ControlPlane) -> None:
    deployment = the(render(MULTI), "Deployment")
    deployment["metadata"]["namespace"] = "default"
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    container["readinesProbe"] = container.pop("readinessProbe")
    with kube.api_client() as admin:
        status, body, _ = create(admin, deployment, dry_run=True)
    assert status == 400 and "readinesProbe" in body["message"]


@pytest.mark.kube
@pytest.mark.parametrize("kind", ["Deployment", "Pod"])
def test_the_pods_meet_the_restricted_pod_security_standard_which_would_warn_otherwise(
    kube: ControlPlane, kind: str
) -> None:
    workload_object = the(render(MULTI), kind)
    workload_object["metadata"]["namespace"] = "pss-probe"
    with kube.api_client() as admin:
        ensure_namespace(admin, "pss-probe", {"pod-security.kubernetes.io/enforce": "restricted"})
        try:
            status, _, warnings = create(admin, workload_object, dry_run=True)
            assert status == 201 and warnings == []
            spec = workload_object["spec"]["template"]["spec"] if kind == "Deployment" else workload_object["spec"]
            [container] = spec["containers"]
            del container["securityContext"]["capabilities"]
            status, body, warnings = create(admin, workload_object, dry_run=True)
            if kind == "Deployment":
                assert status == 201 and any("restricted" in w and "capabilities" in w for w in warnings), warnings
            else:  # a bare Pod is refused outright by "enforce"
                assert status == 403 and "capabilities" in body["message"], body
        finally:
            kube.delete_namespace("pss-probe")
