"""`/minio health` typed in Slack: the report lands in the channel and no secret ever reaches Slack."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.report import Status
from sandbox.kube.controlplane import ControlPlane
from sandbox.kube.world import TenantWorld
from sandbox.minio_sim import SimCluster
from sandbox.slack_sim import SlackSim
from tests.fixtures.bot import ALICE, OPS, BotFactory, base_config
from tests.fixtures.minio import admin_client

SECRET_ENV = ("PASSWORD", "SECRET", "ROOT_USER", "KEY")


def minio_env_secrets(cluster: SimCluster) -> list[str]:
    """The secret-looking values MinIO leaks in `info` under `minio_env_vars`, read the way the bot would."""
    info = json.loads(admin_client(cluster).info())
    values: list[str] = []
    for server in info["servers"]:
        for key, value in (server.get("minio_env_vars") or {}).items():
            if any(word in key for word in SECRET_ENV) and value:
                values.append(str(value))
    assert values, "the simulator should leak its environment in info"
    return values


def everything_slack_saw(slack: SlackSim) -> list[str]:
    """Every request the bot made to Slack (params, not the auth header) and every message and ephemeral."""
    seen = [json.dumps(call.params, default=str) for call in slack.calls()]
    for channel in (OPS,):
        seen += [m.text + json.dumps(m.blocks) for m in slack.messages(channel)]
        seen += [e.text + json.dumps(e.blocks) for e in slack.ephemerals(channel)]
    return seen


def test_health_in_slack_posts_the_report_and_no_secret_reaches_slack(
    bot_factory: BotFactory,
    slack_sim: SlackSim,
    minio_cluster: SimCluster,
    tenant_world: TenantWorld,
    kube: ControlPlane,
    tmp_path: Path,
) -> None:
    minio_cluster.load_demo_data()
    (tmp_path / "ak").write_text(minio_cluster.access_key)
    (tmp_path / "sk").write_text(minio_cluster.secret_key)
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
    tenant: dict[str, Any] = {
        "name": "demo",
        "endpoints": minio_cluster.endpoints,
        "credentials": {"access_key_file": str(tmp_path / "ak"), "secret_key_file": str(tmp_path / "sk")},
        "channels": [OPS],
        "probe": {"bucket": "probe"},
        "kubernetes": {"cluster": "test", "namespace": tenant_world.namespace, "tenant": tenant_world.name},
    }
    config = base_config(
        slack_sim,
        tenants=[tenant],
        clusters=[{"name": "test", "kubeconfig": str(kubeconfig), "discover": False}],
        store_url=f"sqlite:///{tmp_path / 'bot.db'}",
    )
    running = bot_factory(config)
    minio_cluster.stop_node(2)

    ack = running.slash(ALICE, OPS, "health demo")
    assert ack.ok and ack.ack_s < 3.0

    def report() -> Any:
        return next((m for m in slack_sim.messages(OPS) if m.text.startswith("Health of demo")), None)

    message = slack_sim.wait_for(report, timeout=15)
    posted = message.text + json.dumps(message.blocks)
    assert message.text.startswith(f"Health of demo: {Status.DEGRADED.value}")
    node2 = minio_cluster.node_url(2).removeprefix("http://")
    assert f"node 2 ({node2}) offline" in posted
    for title in ("Kubernetes", "MinIO service", "Storage integrity", "Performance probe", "Security"):
        assert title in posted

    secrets = [
        minio_cluster.secret_key,
        tenant_world.root_password,
        slack_sim.bot_token,
        slack_sim.signing_secret,
        *minio_env_secrets(minio_cluster),
    ]
    seen = everything_slack_saw(slack_sim)
    assert len(seen) >= 2
    for text in seen:
        for secret in secrets:
            assert secret not in text, "a secret reached Slack"
        assert "minio_env_vars" not in text and "MINIO_ROOT_PASSWORD" not in text
