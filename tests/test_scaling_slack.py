"""Scaling end to end through Slack: the sandbox acceptance for add-pool and for changing servers of pool-0."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from kubernetes import client

from sandbox.kube.controlplane import ControlPlane
from sandbox.kube.world import TenantWorld, set_tenant_status
from sandbox.minio_sim import SimCluster
from sandbox.slack_sim import SlackSim
from tests.fixtures.bot import ALICE, BOB, OPS, BotFactory, RunningBot
from tests.test_approvals_slack import button, config_for, driver, tenant, wait_card, wait_state
from tests.test_scaling import APPROVERS, FAST
from tests.test_slack_app import wait_ephemeral

pytestmark = pytest.mark.kube


def test_approved_add_pool_appears_in_the_spec_after_its_dry_run_preview_and_servers_changes_are_refused(
    bot_factory: BotFactory, slack_sim: SlackSim, kube: ControlPlane, kube_api: client.ApiClient,
    tenant_world: TenantWorld, kube_ns: str, minio_cluster: SimCluster, tmp_path: Path,
) -> None:
    demo: RunningBot = bot_factory(config_for(slack_sim, kube, kube_ns, minio_cluster, tmp_path,
                                              approvals=APPROVERS, rollout=FAST))
    slack = demo.slack

    assert demo.slash(ALICE, OPS, "scale demo servers 8 --pool pool-0").ok
    refusal = wait_ephemeral(slack, OPS, ALICE, "cannot change")
    assert "add-pool --servers 4 --volumes-per-server 2 --size 1Ti" in refusal

    assert demo.slash(ALICE, OPS, "scale demo add-pool --servers 4 --volumes-per-server 2 --size 1Ti").ok
    card = wait_card(slack, "Add pool pool-1")
    preview = json.dumps(card.blocks)
    assert "Kubernetes server-side dry run" in preview and "The API server accepted the patch" in preview
    assert "+8.00 TiB" in preview, "the new pool's raw capacity is shown"
    assert [p["name"] for p in tenant(kube_api, kube_ns)["spec"]["pools"]] == ["pool-0"]

    def operator() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if len(tenant(kube_api, kube_ns)["spec"]["pools"]) == 2:
                set_tenant_status(kube_api, kube_ns, "demo", currentState="Initialized", pools=[
                    {"ssName": "demo-pool-0", "state": "PoolInitialized"},
                    {"ssName": "demo-pool-1", "state": "PoolInitialized"}])
                return
            time.sleep(0.05)

    playing = threading.Thread(target=operator, daemon=True)
    playing.start()
    approve, _value = button(card, "approve:")
    assert driver(demo).click(BOB, OPS, card.ts, approve).ok
    done = wait_state(slack, card.ts, "Done")
    playing.join(timeout=30)
    assert "Pool pool-1 added and initialised" in json.dumps(done.blocks)
    assert [p["name"] for p in tenant(kube_api, kube_ns)["spec"]["pools"]] == ["pool-0", "pool-1"]
