"""How the bot reaches a tenant's MinIO nodes, and with which keys.

Given a Kubernetes Tenant, each pod is asked by its own stable name through the
headless Service (never "whichever pod the load balancer picks"); given static
endpoints behind a load balancer, per-node verdicts are refused, not guessed;
given a key rotation, the next command works; given no readable keys, the bot
says so instead of claiming the server rejected keys it never sent.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from bot.clients import MinioClient, MinioError, Timeouts
from bot.clients.errors import CredentialsUnavailable, PerNodeUnavailable
from bot.clients.kube_models import TenantInfo
from bot.clients.minio_addresses import pod_addresses
from bot.clients.minio_credentials import RefreshingCredentials
from bot.config import DEFAULT_POD_URL, ConfigError, parse_config
from bot.runtime import Runtime
from bot.shell import Shell
from sandbox.kube.controlplane import ControlPlane
from sandbox.kube.world import PoolSpec, TenantWorld
from sandbox.launcher import SANDBOX_POD_URL, pod_resolve_map
from sandbox.minio_sim import SimCluster

OPS, ALICE = "C0OPS", "U0ALICE"
QUICK = Timeouts(connect=1.0, read=3.0)
LOAD_BALANCED = "per-node verdicts unavailable: endpoints are load-balanced"


def runtime_for(config: dict[str, Any], environ: dict[str, str] | None = None) -> Runtime:
    base: dict[str, Any] = {"admins": [ALICE], "channels": [{"id": OPS}]}
    return Runtime(parse_config(yaml.safe_dump({**base, **config})), environ=environ or {})


def run(runtime: Runtime, line: str) -> str:
    out = io.StringIO()
    Shell(runtime, ALICE, OPS, out=out).run_line(line)
    return out.getvalue()


def static_tenant(cluster: SimCluster, endpoints: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "name": "static",
        "endpoints": endpoints,
        "credentials": {"access_key_env": "T_AK", "secret_key_env": "T_SK"},
        "channels": [OPS],
        **extra,
    }


def keys_of(cluster: SimCluster) -> dict[str, str]:
    return {"T_AK": cluster.access_key, "T_SK": cluster.secret_key}


def tenant_info(spec_extra: dict[str, Any], pools: list[dict[str, Any]] | None = None,
                status: dict[str, Any] | None = None) -> TenantInfo:
    pools = pools or [{"name": "pool-0", "servers": 2, "volumesPerServer": 2}]
    obj: dict[str, Any] = {"metadata": {"name": "logs", "namespace": "minio-logs"},
                           "spec": {"pools": pools, **spec_extra}}
    if status:
        obj["status"] = status
    return TenantInfo.from_api(obj)


# ---------------------------------------------------------------- addresses of a Kubernetes Tenant


def test_each_pod_gets_its_own_address_through_the_headless_service() -> None:
    info = tenant_info({}, pools=[{"name": "pool-0", "servers": 2, "volumesPerServer": 4},
                                  {"name": "fast", "servers": 2, "volumesPerServer": 2}])
    addresses = pod_addresses(info, DEFAULT_POD_URL)
    assert addresses.per_node
    assert addresses.endpoints == (
        "https://logs-pool-0-0.logs-hl.minio-logs.svc.cluster.local:9000",
        "https://logs-pool-0-1.logs-hl.minio-logs.svc.cluster.local:9000",
        "https://logs-fast-0.logs-hl.minio-logs.svc.cluster.local:9000",
        "https://logs-fast-1.logs-hl.minio-logs.svc.cluster.local:9000",
    )
    assert addresses.node_names == ("logs-pool-0-0", "logs-pool-0-1", "logs-fast-0", "logs-fast-1")


@pytest.mark.parametrize(
    ("spec", "scheme"),
    [
        ({}, "https"),  # requestAutoCert is on unless switched off
        ({"requestAutoCert": True}, "https"),
        ({"requestAutoCert": False}, "http"),
        ({"requestAutoCert": False, "externalCertSecret": [{"name": "t-tls", "type": "kubernetes.io/tls"}]}, "https"),
        ({"requestAutoCert": False, "externalCertSecret": []}, "http"),
    ],
)
def test_the_scheme_follows_the_tenants_tls_settings(spec: dict[str, Any], scheme: str) -> None:
    [cluster] = parse_config(yaml.safe_dump({"clusters": [{"name": "c"}]})).clusters
    addresses = pod_addresses(tenant_info(spec), cluster.pod_url)
    assert {e.split("://")[0] for e in addresses.endpoints} == {scheme}


def test_statefulset_names_from_the_operators_status_win() -> None:
    # Tenants created by older operators keep their StatefulSet names; status.pools[].ssName says which.
    info = tenant_info({"requestAutoCert": False}, status={"pools": [{"ssName": "logs-ss-0", "state": "Ready"}]})
    addresses = pod_addresses(info, DEFAULT_POD_URL)
    assert addresses.node_names == ("logs-ss-0-0", "logs-ss-0-1")


def test_cluster_address_templates_are_validated() -> None:
    for bad, why in (
        ({"pod_url": "http://minio.{namespace}.svc:9000"}, "must contain {pod}"),
        ({"pod_url": "http://{pod}.{nodename}:9000"}, "may only use"),
        ({"minio_url": "minio.{namespce}:9000"}, "may only use"),
    ):
        with pytest.raises(ConfigError) as info:
            parse_config(yaml.safe_dump({"clusters": [{"name": "c", **bad}]}))
        assert any(why in p and "clusters[0]" in p for p in info.value.problems), info.value.problems
    with pytest.raises(ConfigError) as info:
        parse_config(yaml.safe_dump({"resolve": {"pod.example:notaport": "127.0.0.1:9000"}}))
    assert any(p.startswith("resolve") for p in info.value.problems)


# ---------------------------------------------------------------- static endpoints: per node or load-balanced


def test_static_endpoints_mode_defaults_and_override(minio_cluster: SimCluster) -> None:
    several = runtime_for({"tenants": [static_tenant(minio_cluster, minio_cluster.endpoints)]}, keys_of(minio_cluster))
    assert several.minio(several.config.tenants[0]).per_node is True
    one = runtime_for({"tenants": [static_tenant(minio_cluster, minio_cluster.endpoints[:1])]}, keys_of(minio_cluster))
    assert one.minio(one.config.tenants[0]).per_node is False
    told = runtime_for(
        {"tenants": [static_tenant(minio_cluster, minio_cluster.endpoints[:1], endpoints_mode="per-node")]},
        keys_of(minio_cluster),
    )
    assert told.minio(told.config.tenants[0]).per_node is True
    with pytest.raises(ConfigError) as info:
        parse_config(yaml.safe_dump({"tenants": [static_tenant(minio_cluster, [], endpoints_mode="per-node",
                                                               kubernetes={"namespace": "x"})]}))
    assert any("endpoints_mode" in p for p in info.value.problems)


def test_a_load_balanced_tenant_refuses_per_node_verdicts_but_answers_cluster_questions(
    minio_cluster: SimCluster,
) -> None:
    runtime = runtime_for({"tenants": [static_tenant(minio_cluster, minio_cluster.endpoints[:1])]},
                          keys_of(minio_cluster))
    mc = runtime.minio(runtime.config.tenants[0])
    for question in (lambda: mc.liveness(1), lambda: mc.readiness(1),
                     lambda: mc.cluster_health(maintenance=True, node=1), lambda: mc.cluster_health(maintenance=True)):
        with pytest.raises(PerNodeUnavailable) as err:
            question()
        assert str(err.value) == LOAD_BALANCED and err.value.not_sent
    # Cluster-wide questions stay answerable through the balancer.
    assert mc.cluster_health().ok and mc.server_info().mode == "online"


# ---------------------------------------------------------------- the resolver override (real HTTP to the simulator)


def pod_client(cluster: SimCluster, resolve: dict[str, str]) -> MinioClient:
    pods = [f"demo-pool-0-{i}" for i in range(4)]
    return MinioClient(
        [f"http://{pod}.demo-hl.minio-demo.svc.cluster.local:9000" for pod in pods],
        cluster.access_key,
        cluster.secret_key,
        region=cluster.region,
        timeouts=QUICK,
        node_names=pods,
        resolve=resolve,
    )


def sim_map(cluster: SimCluster, nodes: range) -> dict[str, str]:
    return {
        f"demo-pool-0-{n - 1}.demo-hl.minio-demo.svc.cluster.local:9000": cluster.node_url(n).removeprefix("http://")
        for n in nodes
    }


def test_pod_names_reach_their_own_simulator_node(minio_cluster: SimCluster) -> None:
    mc = pod_client(minio_cluster, sim_map(minio_cluster, range(1, 5)))
    # Signed with the pod's name as Host, verified by the simulator: the name travelled, not the address.
    assert mc.server_info(node=2).mode == "online"
    assert [b.name for b in mc.list_buckets(node=3)] == []
    minio_cluster.stop_node(3)
    live = {n: mc.liveness(n) for n in mc.nodes}
    assert [n for n, probe in live.items() if not probe.ok] == [3], "node 3 is the pod demo-pool-0-2 and only it"
    assert "pod demo-pool-0-2" in (live[3].error or "")
    assert mc.cluster_health(maintenance=True, node=1).ok is False  # one node already down: node 1 is not safe


def test_a_pod_name_that_does_not_resolve_is_named(minio_cluster: SimCluster) -> None:
    mc = pod_client(minio_cluster, sim_map(minio_cluster, range(1, 4)))  # no entry for demo-pool-0-3
    probe = mc.liveness(4)
    assert not probe.ok and probe.error == "MinIO node 4 (pod demo-pool-0-3) unreachable: host name does not resolve"
    with pytest.raises(MinioError) as err:
        mc.cluster_health(maintenance=True, node=4)
    assert "pod demo-pool-0-3" in str(err.value) and "does not resolve" in str(err.value)
    assert mc.liveness(1).ok, "the other pods still answer"


# ---------------------------------------------------------------- credentials


def test_missing_credentials_are_not_reported_as_rejected(minio_cluster: SimCluster) -> None:
    runtime = runtime_for({"tenants": [static_tenant(minio_cluster, minio_cluster.endpoints)]})
    tenant = runtime.config.tenants[0]
    expected = "no credentials configured/readable for tenant static (environment variables T_AK / T_SK are not set)"
    with pytest.raises(CredentialsUnavailable) as err:
        runtime.credentials(tenant)
    assert str(err.value) == expected and err.value.kind == "no_credentials" and err.value.not_sent
    mc = runtime.minio(tenant)
    with pytest.raises(CredentialsUnavailable) as err:
        mc.server_info()
    assert str(err.value) == expected
    assert mc.liveness(1).ok, "unsigned probes need no keys"
    text = run(runtime, "/minio capacity static")
    assert expected in text and "rejected" not in text


def test_rotated_key_files_work_on_the_next_call(minio_cluster: SimCluster, tmp_path: Path) -> None:
    (tmp_path / "ak").write_text(minio_cluster.access_key)
    (tmp_path / "sk").write_text(minio_cluster.secret_key)
    files = {"access_key_file": str(tmp_path / "ak"), "secret_key_file": str(tmp_path / "sk")}
    tenant = static_tenant(minio_cluster, minio_cluster.endpoints, credentials=files)
    runtime = runtime_for({"tenants": [tenant]})
    mc = runtime.minio(runtime.config.tenants[0])
    assert mc.server_info().mode == "online"
    minio_cluster.set_root_credentials("rotated-admin", "rotated-secret-0123456789")
    (tmp_path / "ak").write_text("rotated-admin")
    (tmp_path / "sk").write_text("rotated-secret-0123456789")
    # Well inside the TTL: the rejection itself makes the bot read the keys again.
    assert mc.server_info().mode == "online"
    assert mc.list_buckets() == []
    assert mc.metrics_cluster()  # the Prometheus token is signed with the new keys too
    assert "rotated-secret" not in run(runtime, "/minio capacity static")


def test_keys_are_read_again_after_the_ttl_and_failures_are_shared() -> None:
    now = [0.0]
    answers: list[Any] = [("a1", "s1"), ("a2", "s2"), CredentialsUnavailable.for_tenant("t", "gone"), ("a3", "s3")]

    def read() -> tuple[str, str]:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    source = RefreshingCredentials(read, ttl_s=60, failed_ttl_s=5, clock=lambda: now[0])
    assert source.keys() == ("a1", "s1")
    now[0] = 59
    assert source.keys() == ("a1", "s1") and source.reads == 1
    now[0] = 60
    assert source.keys() == ("a2", "s2") and source.reads == 2
    # A rejection re-reads at once; a failed read keeps the keys that worked.
    now[0] = 70
    assert source.refresh(("a2", "s2")) is False and source.keys() == ("a2", "s2")
    now[0] = 71
    assert source.refresh(("a2", "s2")) is True and source.keys() == ("a3", "s3")


# ---------------------------------------------------------------- Kubernetes tenants, end to end


def world_with_keys(api: client.ApiClient, namespace: str, cluster: SimCluster) -> TenantWorld:
    """The demo Tenant whose operator Secret holds the simulator's root keys."""
    return TenantWorld(namespace=namespace, pools=[PoolSpec("pool-0")], root_user=cluster.access_key,
                       root_password=cluster.secret_key).apply(api)


def cluster_entry(kube: ControlPlane, tmp_path: Path, namespace: str, **extra: Any) -> dict[str, Any]:
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
    return {"name": "test", "kubeconfig": str(kubeconfig), "namespaces": [namespace], "channels": [OPS], **extra}


@pytest.mark.kube
def test_a_discovered_tenant_is_asked_pod_by_pod_with_the_operators_keys(
    kube: ControlPlane, kube_api: client.ApiClient, kube_ns: str, tmp_path: Path, minio_cluster: SimCluster
) -> None:
    world = world_with_keys(kube_api, kube_ns, minio_cluster)
    runtime = runtime_for({
        "clusters": [cluster_entry(kube, tmp_path, kube_ns, pod_url=SANDBOX_POD_URL)],
        "resolve": pod_resolve_map(world, minio_cluster),
    })
    [tenant] = runtime.tenants()
    mc = runtime.minio(tenant)
    assert mc.per_node and mc.endpoints == [
        f"http://demo-pool-0-{i}.demo-hl.{kube_ns}.svc.cluster.local:9000" for i in range(4)
    ]
    assert [mc.node_name(n) for n in mc.nodes] == world.pod_names()
    assert runtime.credentials(tenant) == (minio_cluster.access_key, minio_cluster.secret_key)
    minio_cluster.stop_node(2)
    line = next(li for li in run(runtime, "/minio tenants").splitlines() if f"{kube_ns}/demo" in li)
    assert "3/4 nodes live (down: node 2: MinIO node 2 (pod demo-pool-0-1) unreachable" in line
    check = run(runtime, f"/minio maintenance {tenant.name} check")
    assert "demo-pool-0-0.demo-hl" in check and "demo-pool-0-3.demo-hl" in check


@pytest.mark.kube
def test_the_default_addresses_are_the_pods_own_names_not_the_minio_service(
    kube: ControlPlane, kube_api: client.ApiClient, kube_ns: str, tmp_path: Path, minio_cluster: SimCluster
) -> None:
    world_with_keys(kube_api, kube_ns, minio_cluster)
    runtime = runtime_for({"clusters": [cluster_entry(kube, tmp_path, kube_ns)]})
    [tenant] = runtime.tenants()
    mc = runtime.minio(tenant)
    # The demo Tenant declares an external certificate: TLS, on the pods' port 9000.
    assert mc.endpoints == [f"https://demo-pool-0-{i}.demo-hl.{kube_ns}.svc.cluster.local:9000" for i in range(4)]
    # Outside the cluster those names do not resolve: said per pod, not hidden.
    probe = mc.liveness(1)
    assert not probe.ok and "pod demo-pool-0-0" in (probe.error or "") and "does not resolve" in (probe.error or "")


@pytest.mark.kube
def test_a_minio_url_is_one_load_balanced_address(
    kube: ControlPlane, kube_api: client.ApiClient, kube_ns: str, tmp_path: Path, minio_cluster: SimCluster
) -> None:
    world_with_keys(kube_api, kube_ns, minio_cluster)
    runtime = runtime_for({"clusters": [cluster_entry(kube, tmp_path, kube_ns, minio_url=minio_cluster.node_url(1))]})
    [tenant] = runtime.tenants()
    mc = runtime.minio(tenant)
    assert mc.endpoints == [minio_cluster.node_url(1)] and mc.per_node is False
    assert mc.server_info().mode == "online", "reached, with the keys from the operator's Secret"
    with pytest.raises(PerNodeUnavailable):
        mc.cluster_health(maintenance=True, node=1)


@pytest.mark.kube
def test_a_configured_tenant_without_credentials_reads_the_secret_its_tenant_names(
    kube: ControlPlane, kube_api: client.ApiClient, kube_ns: str, tmp_path: Path, minio_cluster: SimCluster
) -> None:
    world_with_keys(kube_api, kube_ns, minio_cluster)
    runtime = runtime_for({
        "clusters": [cluster_entry(kube, tmp_path, kube_ns, discover=False)],
        "tenants": [{"name": "demo", "kubernetes": {"cluster": "test", "namespace": kube_ns},
                     "endpoints": minio_cluster.endpoints, "channels": [OPS],
                     "credentials": {"secret": "demo-env-configuration"}},
                    {"name": "bare", "kubernetes": {"cluster": "test", "namespace": kube_ns, "tenant": "demo"},
                     "channels": [OPS]}],
    })
    bare = runtime.config.tenant("bare")
    assert bare is not None
    assert runtime.credentials(bare) == (minio_cluster.access_key, minio_cluster.secret_key)


@pytest.mark.kube
def test_an_unreadable_secret_is_no_credentials_with_the_reason(
    kube: ControlPlane, kube_api: client.ApiClient, kube_ns: str, tmp_path: Path, minio_cluster: SimCluster
) -> None:
    world_with_keys(kube_api, kube_ns, minio_cluster)
    runtime = runtime_for({
        "clusters": [cluster_entry(kube, tmp_path, kube_ns, discover=False)],
        "tenants": [{"name": "demo", "kubernetes": {"cluster": "test", "namespace": kube_ns},
                     "endpoints": minio_cluster.endpoints, "channels": [OPS],
                     "credentials": {"secret": "no-such-secret"}}],
    })
    tenant = runtime.config.tenants[0]
    with pytest.raises(CredentialsUnavailable) as err:
        runtime.minio(tenant).server_info()
    text = str(err.value)
    assert text.startswith(f"no credentials configured/readable for tenant demo (Secret {kube_ns}/no-such-secret:")
    assert "not found" in text and "rejected" not in text


@pytest.mark.kube
def test_after_a_rotation_of_the_root_credentials_the_next_command_works(
    kube: ControlPlane, kube_api: client.ApiClient, kube_ns: str, tmp_path: Path, minio_cluster: SimCluster
) -> None:
    world = world_with_keys(kube_api, kube_ns, minio_cluster)
    runtime = runtime_for({
        "clusters": [cluster_entry(kube, tmp_path, kube_ns, pod_url=SANDBOX_POD_URL)],
        "resolve": pod_resolve_map(world, minio_cluster),
    })
    [tenant] = runtime.tenants()
    assert "could not" not in run(runtime, f"/minio capacity {tenant.name}").lower()
    # The operator's way: a new config.env in the Secret, and MinIO restarted with it.
    new_user, new_password = "rotated-admin", "rotated-password-0123456789"
    env = f'export MINIO_ROOT_USER="{new_user}"\nexport MINIO_ROOT_PASSWORD="{new_password}"\n'
    patch = {"stringData": {"config.env": env}}
    client.CoreV1Api(kube_api).patch_namespaced_secret(world.config_secret, kube_ns, patch)
    minio_cluster.set_root_credentials(new_user, new_password)
    text = run(runtime, f"/minio capacity {tenant.name}")
    assert "rejected" not in text and "could not" not in text.lower(), text
    assert runtime.credentials(tenant) == (new_user, new_password)
    assert new_password not in text


def test_tls_to_a_mapped_pod_name_checks_the_certificate_against_the_pod_name(tmp_path: Path) -> None:
    import ssl
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from sandbox.kube.world import make_self_signed_cert

    name = "demo-pool-0-0.demo-hl.minio-demo.svc.cluster.local"
    cert, key = make_self_signed_cert(name, ["*.demo-hl.minio-demo.svc.cluster.local"], days=1)
    (tmp_path / "cert.pem").write_bytes(cert)
    (tmp_path / "key.pem").write_bytes(key)
    hosts: list[str] = []

    class Live(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hosts.append(self.headers.get("Host", ""))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Live)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        address = f"127.0.0.1:{server.server_address[1]}"
        good = MinioClient([f"https://{name}:9000"], "ak", "sk", timeouts=QUICK, ca_file=str(tmp_path / "cert.pem"),
                           resolve={f"{name}:9000": address})
        assert good.liveness(1).ok and hosts == [f"{name}:9000"]
        # Another name mapped to the same server: its certificate does not cover it, and that is said.
        other = "minio.elsewhere.example"
        bad = MinioClient([f"https://{other}:9000"], "ak", "sk", timeouts=QUICK, ca_file=str(tmp_path / "cert.pem"),
                          resolve={other: address})
        probe = bad.liveness(1)
        assert not probe.ok and "TLS handshake failed" in (probe.error or "")
    finally:
        server.shutdown()
        server.server_close()
