"""Upgrade and rollback end to end: signed Slack requests to the real bot, a real Kubernetes API server, MinIO.

The acceptance scenario: alice asks `/minio update demo tenant <image>`; the
card previews the patch and its dry run; bob approves; the Tenant's spec is
written once, the snapshot is stored, the card says Done and the thread shows
the rollout; then `rollback <id>`, approved by bob, restores the old image.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from kubernetes import client

from sandbox.kube.controlplane import ControlPlane
from sandbox.kube.world import DEFAULT_IMAGE, TenantWorld, set_tenant_status
from sandbox.minio_sim import SimCluster
from sandbox.slack_sim import SlackSim
from tests.fixtures.bot import ALICE, BOB, OPS, BotFactory, RunningBot
from tests.test_approvals_slack import button, config_for, driver, tenant, wait_card, wait_state
from tests.test_scaling import APPROVERS, FAST
from tests.test_slack_app import wait_ephemeral

pytestmark = pytest.mark.kube

NEW_TAG = "RELEASE.2025-10-15T17-29-55Z"
NEW = f"quay.io/minio/minio:{NEW_TAG}"


def play_rollout(api: client.ApiClient, namespace: str, minio: SimCluster, image: str) -> threading.Thread:
    """The operator, in a thread: once spec.image is `image`, update each node, then report Initialized."""

    def run() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if tenant(api, namespace)["spec"].get("image") == image:
                set_tenant_status(api, namespace, "demo", currentState="Updating MinIO Version")
                for node in range(1, 5):
                    minio.set_version(node, image.rsplit(":", 1)[1])
                set_tenant_status(api, namespace, "demo", currentState="Initialized")
                return
            time.sleep(0.05)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_upgrade_approved_in_slack_stores_a_snapshot_that_rollback_restores(
    bot_factory: BotFactory, slack_sim: SlackSim, kube: ControlPlane, kube_api: client.ApiClient,
    tenant_world: TenantWorld, kube_ns: str, minio_cluster: SimCluster, tmp_path: Path,
) -> None:
    demo: RunningBot = bot_factory(config_for(slack_sim, kube, kube_ns, minio_cluster, tmp_path,
                                              approvals=APPROVERS, rollout=FAST))
    slack = demo.slack
    generation = tenant(kube_api, kube_ns)["metadata"]["generation"]

    assert demo.slash(ALICE, OPS, f"update demo tenant {NEW}").ok
    card = wait_card(slack, "Upgrade demo to")
    preview = json.dumps(card.blocks)
    assert "Tenant spec.image" in preview and NEW in preview and "dryRun=All" in preview
    wait_ephemeral(slack, OPS, ALICE, "the approval card is below")
    approve, _value = button(card, "approve:")
    operator = play_rollout(kube_api, kube_ns, minio_cluster, NEW)
    assert driver(demo).click(BOB, OPS, card.ts, approve).ok
    done = wait_state(slack, card.ts, "Done")
    operator.join(timeout=30)
    assert f"demo runs {NEW_TAG} on every node" in json.dumps(done.blocks)
    assert not [b for b in done.blocks if b.get("type") == "actions"], "no buttons on a decided card"
    after = tenant(kube_api, kube_ns)
    assert after["spec"]["image"] == NEW and after["metadata"]["generation"] == generation + 1
    [snapshot] = demo.bot.runtime.store.specs.list("demo")
    assert snapshot.spec["image"] == DEFAULT_IMAGE
    progress = [m for m in slack.thread(OPS, card.ts) if m.ts != card.ts]
    assert progress and f"Snapshot #{snapshot.id}" in json.dumps(progress[0].blocks)

    assert demo.slash(ALICE, OPS, "update demo rollback").ok
    listing = wait_card(slack, "Rollback snapshots of demo")
    assert f"before update to {NEW_TAG}" in json.dumps(listing.blocks)
    assert button(listing, "run:rollback:")[1] == f"update demo rollback {snapshot.id}"
    assert demo.slash(ALICE, OPS, f"update demo rollback {snapshot.id}").ok
    rollback = wait_card(slack, f"Roll demo back to snapshot #{snapshot.id}")
    assert "spec.image" in json.dumps(rollback.blocks)
    approve, _value = button(rollback, "approve:")
    operator = play_rollout(kube_api, kube_ns, minio_cluster, DEFAULT_IMAGE)
    assert driver(demo).click(BOB, OPS, rollback.ts, approve).ok
    wait_state(slack, rollback.ts, "Done")
    operator.join(timeout=30)
    assert tenant(kube_api, kube_ns)["spec"]["image"] == DEFAULT_IMAGE
