"""deploy/: rendered by the real renderer (kustomize), checked as data, and validated by the real API server.

The renderer is kustomize (Apache-2.0), built from the Go module proxy by
``deploy/build-kustomize.sh`` into ``~/.cache/minio-chatops/tools/`` (quick
when already built). A missing Go toolchain FAILS these tests, never skips.
The helpers at the top are shared with tests/test_rbac.py.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
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
BUILD_SCRIPT = DEPLOY / "build-kustomize.sh"
BASE = "base"
SINGLE = "overlays/single-namespace"
MULTI = "overlays/multi-tenant"
OVERLAYS = (SINGLE, MULTI)
BOT = "minio-chatops"  # the ServiceAccount, Deployment and Secret prefix
CONFIG_MAP = "minio-chatops-config"
BOT_UID = 10001

Manifest = dict[str, Any]


# ---------------------------------------------------------------- rendering (shared helpers)


def pinned_kustomize_version() -> str:
    """The kustomize version pinned in deploy/tools/go.mod."""
    match = re.search(r"sigs\.k8s\.io/kustomize/kustomize/v5 (v[0-9.]+)", (DEPLOY / "tools" / "go.mod").read_text())
    assert match, "deploy/tools/go.mod pins no kustomize version"
    return match.group(1)


@functools.cache
def kustomize_binary() -> Path:
    """Path of the pinned kustomize, built by deploy/build-kustomize.sh when missing."""
    done = subprocess.run(["bash", str(BUILD_SCRIPT)], capture_output=True, text=True, timeout=1800, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{BUILD_SCRIPT} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return Path(done.stdout.strip().splitlines()[-1])


def kustomize() -> Path:
    """The renderer, or a test failure naming how to build it."""
    try:
        return kustomize_binary()
    except RuntimeError as exc:
        pytest.fail(f"cannot build kustomize: {exc}", pytrace=False)


@functools.cache
def _render(overlay: str) -> str:
    done = subprocess.run(
        [str(kustomize()), "build", str(DEPLOY / overlay)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"kustomize build {overlay} failed:\n{done.stderr}"
    return done.stdout


def render(overlay: str) -> list[Manifest]:
    """The objects `kustomize build deploy/<overlay>` produces (a fresh copy each call)."""
    return [doc for doc in yaml.safe_load_all(_render(overlay)) if doc]


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


def overlay_config(manifests: list[Manifest]) -> Config:
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


@pytest.fixture(params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> str:
    """Each deployable overlay."""
    return str(request.param)


@pytest.fixture
def manifests(overlay: str) -> list[Manifest]:
    """The overlay, rendered."""
    return render(overlay)


# ---------------------------------------------------------------- the renderer


def test_the_renderer_is_the_pinned_kustomize_built_outside_the_work_tree() -> None:
    binary = kustomize()
    assert ROOT not in binary.parents, "tool binaries live in the cache folder, never in the work tree"
    assert binary.parent.name == f"kustomize-{pinned_kustomize_version()}"
    version = subprocess.run([str(binary), "version"], capture_output=True, text=True, check=True, timeout=30)
    assert version.stdout.strip() == pinned_kustomize_version()


@pytest.mark.parametrize("target", [BASE, *OVERLAYS])
def test_base_and_every_overlay_render(target: str) -> None:
    kinds = {m["kind"] for m in render(target)}
    assert {"Deployment", "ServiceAccount", "ConfigMap", "PodDisruptionBudget", "NetworkPolicy", "Service"} <= kinds
    assert {"Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"} <= kinds
    assert "Secret" not in kinds, "tokens are referenced from a Secret the operator creates, never rendered"


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
    config = overlay_config(manifests)
    secret_grants = [g for g in bot_grants(manifests) if g.group == "" and g.resource == "secrets"]
    assert secret_grants, "the bot reads its tenants' credentials and TLS Secrets"
    for grant in secret_grants:
        assert grant.verb == "get" and grant.names, f"secrets must be `get` with resourceNames, not {grant}"
    granted = {(g.namespace, name) for g in secret_grants for name in g.names or ()}
    wanted: set[tuple[str | None, str]] = set()
    for tenant in config.tenants:
        assert tenant.kubernetes is not None
        ns = tenant.kubernetes.namespace
        wanted.add((ns, f"{tenant.tenant_name}-tls"))
        if isinstance(tenant.credentials, SecretCredentials):
            wanted.add((tenant.credentials.namespace or ns, tenant.credentials.secret))
    assert granted == wanted, "each tenant's credentials Secret and <tenant>-tls, nothing else"


def test_overlay_config_is_valid_and_every_namespace_it_names_is_granted(manifests: list[Manifest]) -> None:
    config = overlay_config(manifests)
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


def test_the_deployment_runs_two_hardened_replicas_with_probes_and_limits(manifests: list[Manifest]) -> None:
    deployment = the(manifests, "Deployment")
    spec = deployment["spec"]
    assert spec["replicas"] == 2
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
    config = overlay_config(manifests)
    assert container["ports"] == [
        {"name": "http", "containerPort": config.slack.http_port, "protocol": "TCP"},
        {"name": "metrics", "containerPort": config.metrics_port, "protocol": "TCP"},
    ]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert not container["image"].endswith(":latest") and ":" in container["image"]
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]["name"]], "the only writable path is an emptyDir at /tmp"
    config_volume = volumes[mounts["/etc/minio-chatops"]["name"]]
    assert config_volume["configMap"]["name"] == the(manifests, "ConfigMap", CONFIG_MAP)["metadata"]["name"]
    assert mounts["/etc/minio-chatops"]["readOnly"] is True


def test_tokens_come_from_a_secret_and_the_config_from_the_configmap(manifests: list[Manifest]) -> None:
    [container] = the(manifests, "Deployment")["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["MINIO_CHATOPS_CONFIG"]["value"] == "/etc/minio-chatops/config.yaml"
    # Leader election: this replica's identity and the Lease's namespace (bot/scheduler.py).
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert env["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
    secret_refs = {name: e["valueFrom"]["secretKeyRef"] for name, e in env.items() if "secretKeyRef" in
                   (e.get("valueFrom") or {})}
    assert set(secret_refs) == {"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "MINIO_CHATOPS_STORE_URL",
                                "ALERTMANAGER_WEBHOOK_TOKEN"}
    assert secret_refs["ALERTMANAGER_WEBHOOK_TOKEN"].get("optional"), "alerts from Alertmanager are optional"
    assert {ref["name"] for ref in secret_refs.values()} == {f"{BOT}-secrets"}
    # Socket Mode (app token) or HTTP mode (signing secret): either may be absent, the bot token may not.
    assert secret_refs["SLACK_APP_TOKEN"].get("optional") and secret_refs["SLACK_SIGNING_SECRET"].get("optional")
    assert not secret_refs["SLACK_BOT_TOKEN"].get("optional")
    literal = " ".join(str(e.get("value", "")) for e in container["env"])
    assert not re.search(r"xox[abp]-|xapp-|postgres(ql)?(\+\w+)?://\S+:\S+@", literal), "no secret values inline"
    assert not re.search(r"xox[abp]-|xapp-", the(manifests, "ConfigMap", CONFIG_MAP)["data"]["config.yaml"])


def test_disruption_budget_and_network_policy_select_the_bot(manifests: list[Manifest]) -> None:
    labels = the(manifests, "Deployment")["spec"]["template"]["metadata"]["labels"]
    budget = the(manifests, "PodDisruptionBudget")["spec"]
    assert budget["minAvailable"] == 1
    assert budget["selector"]["matchLabels"].items() <= labels.items()
    policy = the(manifests, "NetworkPolicy")["spec"]
    assert policy["podSelector"]["matchLabels"].items() <= labels.items()
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
    egress_ports = {(p["port"], p["protocol"]) for rule in policy["egress"] for p in rule["ports"]}
    assert {(53, "UDP"), (53, "TCP"), (443, "TCP"), (6443, "TCP"), (9000, "TCP"), (5432, "TCP"),
            (9093, "TCP")} == egress_ports
    service = the(manifests, "Service")["spec"]
    assert service["selector"].items() <= labels.items()
    assert [(p["name"], p["targetPort"]) for p in service["ports"]] == [("http", "http"), ("metrics", "metrics")]


def test_network_policy_admits_slack_and_prometheus_separately(manifests: list[Manifest]) -> None:
    # Issue 14, item 5: the HTTP port was open to every source, and /metrics shared it with Slack.
    config = overlay_config(manifests)
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
    assert config.metrics_port != config.slack.http_port


def test_network_policy_admits_alertmanager_to_the_app_port_only(manifests: list[Manifest]) -> None:
    config = overlay_config(manifests)
    policy = the(manifests, "NetworkPolicy")["spec"]
    [rule] = [r for r in policy["ingress"]
              if any(f.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/name") == "alertmanager"
                     for f in r["from"])]
    assert [p["port"] for p in rule["ports"]] == [config.slack.http_port], "the webhook is on the app port"


# ---------------------------------------------------------------- the real API server


@pytest.mark.kube
def test_every_rendered_object_passes_server_side_dry_run(kube: ControlPlane, overlay: str) -> None:
    manifests = render(overlay)
    created: list[str] = []
    with kube.api_client() as admin:
        try:
            for namespace in of_kind(manifests, "Namespace"):
                status, body, warnings = create(admin, namespace, dry_run=True)
                assert status == 201 and not warnings, (status, body, warnings)
                if ensure_namespace(admin, namespace["metadata"]["name"], namespace["metadata"].get("labels")):
                    created.append(namespace["metadata"]["name"])
            for name in sorted({m["metadata"].get("namespace") for m in manifests} - {None}):
                if ensure_namespace(admin, str(name)):
                    created.append(str(name))
            for manifest in manifests:
                if manifest["kind"] == "Namespace":
                    continue
                status, body, warnings = create(admin, manifest, dry_run=True)
                where = f"{manifest['kind']} {manifest['metadata']['name']}"
                assert status == 201, f"{where}: HTTP {status} {(body or {}).get('message')}"
                # e.g. PodSecurity "restricted" violations arrive as warnings on the Deployment.
                assert not warnings, f"{where}: {warnings}"
            # Dry-run persisted nothing.
            status, _, _ = api_request(
                admin, "GET", f"/apis/apps/v1/namespaces/{bot_namespace(manifests)}/deployments/{BOT}"
            )
            assert status == 404
        finally:
            for name in created:
                kube.delete_namespace(name)


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
def test_the_pod_meets_the_restricted_pod_security_standard_which_would_warn_otherwise(kube: ControlPlane) -> None:
    manifests = render(MULTI)
    namespace = the(manifests, "Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    deployment = the(manifests, "Deployment")
    deployment["metadata"]["namespace"] = "pss-probe"
    with kube.api_client() as admin:
        ensure_namespace(admin, "pss-probe", {"pod-security.kubernetes.io/enforce": "restricted"})
        try:
            status, _, warnings = create(admin, deployment, dry_run=True)
            assert status == 201 and warnings == []
            [container] = deployment["spec"]["template"]["spec"]["containers"]
            del container["securityContext"]["capabilities"]
            status, _, warnings = create(admin, deployment, dry_run=True)
            assert status == 201 and any("restricted" in w and "capabilities" in w for w in warnings), warnings
        finally:
            kube.delete_namespace("pss-probe")
