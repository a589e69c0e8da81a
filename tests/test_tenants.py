"""`/minio tenants` as an operator uses it: one status line per tenant this channel may see."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import parse_config
from bot.runtime import Runtime
from bot.shell import Shell
from sandbox.kube.controlplane import ControlPlane
from sandbox.kube.world import TenantWorld, set_tenant_status
from sandbox.minio_sim import SimCluster

OPS, OTHER = "C0OPS", "C0OTHER"
ALICE = "U0ALICE"


def static_tenant(cluster: SimCluster, name: str = "static", channels: list[str] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "endpoints": cluster.endpoints,
        "credentials": {"access_key_env": "T_AK", "secret_key_env": "T_SK"},
        "channels": channels or [OPS],
    }


def shell_for(config: dict[str, Any], cluster: SimCluster | None = None, channel: str = OPS) -> tuple[Shell, Any]:
    import io

    environ = {"T_AK": cluster.access_key, "T_SK": cluster.secret_key} if cluster else {}
    runtime = Runtime(parse_config(yaml.safe_dump(config)), environ=environ)
    out = io.StringIO()
    return Shell(runtime, ALICE, channel, out=out), out


def base(**extra: Any) -> dict[str, Any]:
    config: dict[str, Any] = {"admins": [ALICE], "channels": [{"id": OPS}, {"id": OTHER}], "tenants": []}
    config.update(extra)
    return config


def test_static_tenant_all_nodes_live(minio_cluster: SimCluster) -> None:
    shell, out = shell_for(base(tenants=[static_tenant(minio_cluster)]), minio_cluster)
    assert shell.run_line("/minio tenants") == 0
    text = out.getvalue()
    assert "Tenants: HEALTHY" in text and "static" in text and "4/4 nodes live" in text


def test_one_node_down_is_named(minio_cluster: SimCluster) -> None:
    minio_cluster.stop_node(2)
    shell, out = shell_for(base(tenants=[static_tenant(minio_cluster)]), minio_cluster)
    assert shell.run_line("/minio tenants") == 1
    text = out.getvalue()
    assert "DEGRADED" in text and "3/4 nodes live (down: node 2:" in text and "refused" in text


def test_hung_node_does_not_hold_the_answer(minio_cluster: SimCluster) -> None:
    minio_cluster.hang_node(3)
    config = base(tenants=[static_tenant(minio_cluster)], timeouts={"probe": 1, "report_deadline": 3})
    shell, out = shell_for(config, minio_cluster)
    assert shell.run_line("/minio tenants") == 1
    assert "down: node 3: no answer within" in out.getvalue()


def test_load_balanced_endpoints_get_no_per_node_verdict_but_the_clusters_answer(minio_cluster: SimCluster) -> None:
    # One address in front of the cluster: its liveness answer would be whichever node the balancer picked.
    balanced = {"endpoints": minio_cluster.endpoints[:1], "endpoints_mode": "load-balanced"}
    tenant = static_tenant(minio_cluster) | balanced
    shell, out = shell_for(base(tenants=[tenant]), minio_cluster)
    assert shell.run_line("/minio tenants") == 0
    line = next(line for line in out.getvalue().splitlines() if "static" in line)
    assert "per-node verdicts unavailable: endpoints are load-balanced" in line
    assert "cluster write quorum met" in line
    assert "node 1" not in line and "nodes live" not in line
    minio_cluster.stop_node(3)
    minio_cluster.stop_node(4)
    shell, out = shell_for(base(tenants=[tenant]), minio_cluster)
    assert shell.run_line("/minio tenants") == 2
    assert "cluster write quorum lost (HTTP 503)" in out.getvalue()


def test_a_starting_load_balanced_cluster_is_starting_not_quorum_lost(minio_cluster: SimCluster) -> None:
    # The balancer sent the cluster probe to a node still starting: MinIO never evaluated quorum there.
    balanced = {"endpoints": minio_cluster.endpoints[:1], "endpoints_mode": "load-balanced"}
    tenant = static_tenant(minio_cluster) | balanced
    minio_cluster.set_starting(1, 30, status="iam-offline")
    shell, out = shell_for(base(tenants=[tenant]), minio_cluster)
    assert shell.run_line("/minio tenants") == 1
    line = next(line for line in out.getvalue().splitlines() if "static" in line)
    assert "the node that answered is starting (iam-offline): quorum not evaluated yet" in line
    assert "quorum lost" not in line and "DEGRADED" in out.getvalue()


def test_channel_sees_only_its_tenants(minio_cluster: SimCluster) -> None:
    tenants = [static_tenant(minio_cluster, "mine"), static_tenant(minio_cluster, "theirs", [OTHER])]
    shell, out = shell_for(base(tenants=tenants), minio_cluster)
    shell.run_line("/minio tenants")
    assert "mine" in out.getvalue() and "theirs" not in out.getvalue()


def test_missing_credentials_are_reported_not_raised(minio_cluster: SimCluster) -> None:
    # Liveness needs no keys: the status line still comes; a keyed call says what is missing.
    shell, out = shell_for(base(tenants=[static_tenant(minio_cluster)]), None)
    assert shell.run_line("/minio tenants") == 0 and "4/4 nodes live" in out.getvalue()
    code = shell.run_line("/minio capacity static")
    text = out.getvalue()
    assert code in (1, 3)
    assert "no credentials configured/readable for tenant static (environment variables T_AK / T_SK" in text
    assert "rejected" not in text and "Traceback" not in text


@pytest.mark.kube
def test_kubernetes_tenants_are_discovered_with_their_status(
    kube: ControlPlane, tenant_world: TenantWorld, kube_ns: str, tmp_path: Path, minio_cluster: SimCluster
) -> None:
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
    config = base(
        clusters=[{"name": "test", "kubeconfig": str(kubeconfig), "namespaces": [kube_ns], "channels": [OPS]}],
        tenants=[static_tenant(minio_cluster)],
    )
    shell, out = shell_for(config, minio_cluster)
    shell.run_line("/minio tenants")
    text = out.getvalue()
    assert "static" in text, "configured tenants stay listed"
    line = next(line for line in text.splitlines() if f"{kube_ns}/{tenant_world.name}" in line)
    assert "Tenant green" in line and "4/4 pods ready" in line
    # Outside the cluster the pods' in-cluster names do not resolve: said per pod, not hidden.
    assert "0/4 nodes live (down: node 1: MinIO node 1 (pod demo-pool-0-0)" in line and "does not resolve" in line


@pytest.mark.kube
def test_tenant_without_status_and_configured_kubernetes_ref(
    kube: ControlPlane, tenant_world: TenantWorld, kube_ns: str, tmp_path: Path, minio_cluster: SimCluster
) -> None:
    api = kube.api_client()
    set_tenant_status(api, kube_ns, tenant_world.name, healthStatus=None, currentState=None)
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
    tenant = static_tenant(minio_cluster, "demo")
    tenant["kubernetes"] = {"cluster": "test", "namespace": kube_ns, "tenant": tenant_world.name}
    config = base(
        clusters=[{"name": "test", "kubeconfig": str(kubeconfig), "discover": False}], tenants=[tenant]
    )
    shell, out = shell_for(config, minio_cluster)
    shell.run_line("/minio tenants")
    assert "Tenant status unknown" in out.getvalue()
    assert "4/4 nodes live" in out.getvalue()


def test_unreachable_kubernetes_api_still_reports_minio(minio_cluster: SimCluster, tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "gone", "cluster": {"server": "https://127.0.0.1:9"}}],
                "users": [{"name": "u", "user": {"token": "x"}}],
                "contexts": [{"name": "c", "context": {"cluster": "gone", "user": "u"}}],
                "current-context": "c",
            }
        )
    )
    tenant = static_tenant(minio_cluster, "demo")
    tenant["kubernetes"] = {"cluster": "gone", "namespace": "minio-demo"}
    config = base(clusters=[{"name": "gone", "kubeconfig": str(kubeconfig), "discover": True}], tenants=[tenant])
    shell, out = shell_for(config, minio_cluster)
    shell.run_line("/minio tenants")
    text = out.getvalue()
    assert "4/4 nodes live" in text
    assert "Kubernetes API unreachable" in text
    assert "Discovery failed for cluster `gone`" in text


@pytest.mark.kube
def test_discovered_tenants_are_reached_through_the_clusters_minio_url(
    kube: ControlPlane, tenant_world: TenantWorld, kube_ns: str, tmp_path: Path, minio_cluster: SimCluster
) -> None:
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
    port = minio_cluster.endpoints[0].rsplit(":", 1)[1]
    config = base(
        clusters=[{"name": "test", "kubeconfig": str(kubeconfig), "namespaces": [kube_ns], "channels": [OPS],
                   "minio_url": f"http://127.0.0.1:{port}"}],
    )
    shell, out = shell_for(config)
    runtime = shell.dispatcher.runtime
    [tenant] = runtime.tenants()
    client = runtime.minio(tenant)
    # One load-balanced address: reached, but per-node verdicts are not offered (tests/test_minio_reach.py).
    assert client.endpoints == [f"http://127.0.0.1:{port}"] and client.per_node is False
    assert client.cluster_health().ok
    shell.run_line("/minio tenants")
    line = next(line for line in out.getvalue().splitlines() if f"{kube_ns}/{tenant_world.name}" in line)
    assert "Tenant green" in line


def test_minio_url_template_is_validated() -> None:
    from bot.config import ConfigError

    with pytest.raises(ConfigError) as info:
        parse_config(yaml.safe_dump({"clusters": [{"name": "c", "minio_url": "minio.{namespce}:9000"}]}))
    assert any("clusters[0].minio_url" in p for p in info.value.problems)
