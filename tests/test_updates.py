"""Upgrades and rollbacks against a real Kubernetes API server, the MinIO simulator and the store.

Given the demo tenant on RELEASE.2025-09-07T16-13-09Z: `check` shows each
node's version and any skew against the configured targets; an approved
upgrade stores a snapshot of the spec, patches `spec.image` once and follows
the rollout (the operator is played by the test) to the end; `rollback`
restores the snapshot. A healing drive, a busy operator, a Tenant edited by
someone else, a rollout that never finishes and RBAC all stop it cleanly.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from sandbox.kube.controlplane import ControlPlane
from sandbox.kube.world import DEFAULT_IMAGE, OPERATOR_IMAGE, TenantWorld, ensure_operator
from sandbox.minio_sim import SimCluster
from tests.reading import plain
from tests.test_approvals import ALICE, BOB, CAROL, OPS, text_of
from tests.test_maintenance import _restricted_identity
from tests.test_scaling import FAST, Site, make_site

pytestmark = pytest.mark.kube

OLD_TAG = DEFAULT_IMAGE.rsplit(":", 1)[1]
NEW_TAG = "RELEASE.2025-10-15T17-29-55Z"
NEW = f"quay.io/minio/minio:{NEW_TAG}"
NEW_OPERATOR = "quay.io/minio/operator:v7.1.2"
DIGEST = "sha256:" + "ab" * 32
# The cluster's own governance of its operator: ALICE may request, BOB and CAROL approve (two of them), in #ops.
CLUSTER_RULE = {"operators": [ALICE], "approvals": {"approvers": [BOB, CAROL], "channel": OPS}}


@pytest.fixture
def site(kube: ControlPlane, kube_api: client.ApiClient, tenant_world: TenantWorld, kube_ns: str,
         minio_cluster: SimCluster, tmp_path: Path) -> Iterator[Site]:
    s = make_site(kube, kube_api, kube_ns, minio_cluster, tmp_path,
                  target_versions={"minio": NEW_TAG, "operator": "v7.1.2"})
    yield s
    s.operator.join()
    s.bot.runtime.close()


@pytest.fixture
def impatient(kube: ControlPlane, kube_api: client.ApiClient, tenant_world: TenantWorld, kube_ns: str,
              minio_cluster: SimCluster, tmp_path: Path) -> Iterator[Site]:
    s = make_site(kube, kube_api, kube_ns, minio_cluster, tmp_path, rollout={**FAST, "timeout_minutes": 2 / 60})
    yield s
    s.bot.runtime.close()


def roll_out(site: Site, image: str) -> None:
    """Play the operator: once spec.image is `image`, update node by node, then report Initialized."""
    tag = image.rsplit(":", 1)[1]

    def act() -> None:
        site.status(currentState="Updating MinIO Version")
        for node in range(1, 5):
            site.minio.set_version(node, tag)
            time.sleep(0.05)
        site.status(currentState="Initialized")

    site.operator.when(lambda: site.tenant()["spec"].get("image") == image, act)


# ----------------------------------------------------------------------------- check


def test_check_shows_images_node_versions_skew_and_the_configured_targets(site: Site) -> None:
    site.minio.set_version(3, NEW_TAG)
    report = site.run(CAROL, "update demo check")
    text = text_of(report)
    assert report.status is not None and report.status.value == "DEGRADED"
    assert f"Tenant image (spec.image): `{DEFAULT_IMAGE}`" in text
    assert f"Operator (minio-operator/minio-operator): `{OPERATOR_IMAGE}` (1/1 available)" in text
    assert f"Target versions (configured): MinIO {NEW_TAG} · operator v7.1.2" in text
    assert f"Version skew: {OLD_TAG} on 3 nodes, {NEW_TAG} on 1 node" in text
    assert f"MinIO is on {OLD_TAG}; the configured target is {NEW_TAG}." in text
    assert "The operator is on v7.1.1; the configured target is v7.1.2." in text
    assert [a.value for a in report.actions] == [f"update demo tenant {NEW}",
                                                 "update demo operator quay.io/minio/operator:v7.1.2"]


# ----------------------------------------------------------------------------- upgrade and rollback


def test_an_approved_upgrade_stores_a_snapshot_follows_the_rollout_and_rollback_restores_it(site: Site) -> None:
    report = site.run(ALICE, f"update demo tenant {NEW}")
    assert not report.failed, text_of(report)
    card = site.last_card()
    assert f"Tenant spec.image: {DEFAULT_IMAGE} → {NEW}" in card
    assert "Tenant spec.image registry: quay.io → quay.io (unchanged)" in card
    assert f"Tenant spec.image tag: {OLD_TAG} → {NEW_TAG}" in card
    assert "image source: quay.io/minio/minio is an allowed source (the repository running now)" in card
    assert f"MinIO version on the nodes: {OLD_TAG} on 4 nodes → {NEW_TAG} on every node" in card
    assert "The API server accepted the patch (dryRun=All)" in card
    for check in ("Tenant health", "write quorum", "nodes online", "no healing", "Tenant state",
                  "no decommission running", "no other change running"):
        assert check in card, check
    assert f"{OLD_TAG} -> {NEW_TAG} is an upgrade." in card and "is the configured target version" in card
    assert site.bot.runtime.store.specs.list("demo") == [], "nothing is stored before the approval"
    generation = site.tenant()["metadata"]["generation"]

    roll_out(site, NEW)
    upgrade = site.approve_latest(BOB)
    site.operator.join()
    assert site.bot.status(upgrade) == "succeeded", site.card(upgrade)
    assert site.tenant()["spec"]["image"] == NEW
    assert site.tenant()["metadata"]["generation"] == generation + 1, "spec.image written once"
    [snapshot] = site.bot.runtime.store.specs.list("demo")
    assert snapshot.spec["image"] == DEFAULT_IMAGE and snapshot.reason == f"before update to {NEW_TAG}"
    assert snapshot.taken_by == ALICE
    final = site.card(upgrade)
    assert f"demo runs {NEW_TAG} on every node" in final and f"/minio update demo rollback {snapshot.id}" in final
    thread = site.thread(upgrade)
    assert f"Snapshot #{snapshot.id} of the current spec stored" in thread
    assert "Tenant Initialized; 4/4 node(s) on" in thread

    listing = site.run(CAROL, "update demo rollback")
    assert f"#{snapshot.id}" in text_of(listing) and f"before update to {NEW_TAG}" in text_of(listing)
    assert [a.value for a in listing.actions] == [f"update demo rollback {snapshot.id}"]

    report = site.run(ALICE, f"update demo rollback {snapshot.id}")
    assert not report.failed, text_of(report)
    card = site.last_card()
    assert f"spec.image: {NEW} → {DEFAULT_IMAGE}" in card and "The API server accepted the patch" in card
    roll_out(site, DEFAULT_IMAGE)
    rollback = site.approve_latest(BOB)
    site.operator.join()
    assert site.bot.status(rollback) == "succeeded", site.card(rollback)
    assert site.tenant()["spec"]["image"] == DEFAULT_IMAGE
    newest = site.bot.runtime.store.specs.list("demo")[0]
    assert newest.spec["image"] == NEW and newest.reason == f"before rollback to #{snapshot.id}", "undo is possible"


def test_after_a_restart_an_upgrade_already_written_is_followed_to_its_end_and_never_written_again(
    site: Site,
) -> None:
    site.run(ALICE, f"update demo tenant {NEW}")
    plan = site.latest_plan()
    not_made, _ = site.resume(plan)  # the bot stopped before writing spec.image
    assert not not_made.ok and "most likely not made" in not_made.summary and "not run again" in not_made.summary
    assert site.tenant()["spec"]["image"] == DEFAULT_IMAGE

    site.patch_spec({"image": NEW})  # the bot wrote spec.image, then its pod was killed
    generation = site.tenant()["metadata"]["generation"]
    roll_out(site, NEW)
    outcome, progress = site.resume(plan)
    site.operator.join()
    assert outcome.ok and f"demo runs {NEW_TAG} on every node" in outcome.summary, outcome
    assert "following the rollout again" in progress and "Tenant Initialized; 4/4 node(s) on" in progress
    assert site.tenant()["metadata"]["generation"] == generation, "resuming never writes"


def test_after_a_restart_a_rollback_already_written_is_followed_again_and_never_written_again(site: Site) -> None:
    site.run(ALICE, f"update demo tenant {NEW}")
    roll_out(site, NEW)
    upgrade = site.approve_latest(BOB)
    site.operator.join()
    assert site.bot.status(upgrade) == "succeeded", site.card(upgrade)
    [snapshot] = site.bot.runtime.store.specs.list("demo")
    report = site.run(ALICE, f"update demo rollback {snapshot.id}")
    assert not report.failed, text_of(report)
    plan = site.latest_plan()
    not_made, _ = site.resume(plan)  # the bot stopped before restoring the spec
    assert not not_made.ok and "most likely not made" in not_made.summary and "not run again" in not_made.summary
    assert site.tenant()["spec"]["image"] == NEW

    site.patch_spec({"image": DEFAULT_IMAGE})  # the bot restored the spec, then its pod was killed
    generation = site.tenant()["metadata"]["generation"]
    roll_out(site, DEFAULT_IMAGE)
    outcome, progress = site.resume(plan)
    site.operator.join()
    assert outcome.ok and f"demo runs {OLD_TAG} on every node" in outcome.summary, outcome
    assert f"the rollback to snapshot #{snapshot.id} was written before the bot stopped" in progress
    assert site.tenant()["metadata"]["generation"] == generation, "resuming never writes"


@pytest.mark.parametrize(("image", "message"), [
    ("quay.io/minio/minio", "has no tag"),
    (f"quay.io/minio/minio@{DIGEST}", "has a digest but no tag"),
    ("quay.io/minio/minio:latest", "is a moving tag"),
    ("quay.io/minio/minio:RELEASE.X@sha256:1234", "is not a valid digest"),
    ("Quay.io/MinIO/minio:1", "is not a valid repository"),
])
def test_images_without_a_release_tag_are_refused(site: Site, image: str, message: str) -> None:
    report = site.run(ALICE, f"update demo tenant {image}")
    assert report.failed and message in plain(report.summary), plain(report.summary)
    assert not site.bot.runtime.store.approvals.recent(1)


def test_a_digest_pinned_to_a_tag_is_accepted(site: Site) -> None:
    report = site.run(ALICE, f"update demo tenant {NEW}@{DIGEST}")
    assert not report.failed, text_of(report)
    assert f"{NEW}@{DIGEST}" in site.last_card()


def test_an_upgrade_requested_while_a_drive_heals_is_refused(site: Site) -> None:
    site.minio.drive_replace(2, 1, heal_seconds=60, format_seconds=0)
    report = site.run(ALICE, f"update demo tenant {NEW}")
    assert report.failed and "Not requested" in report.title
    assert "drive(s) are healing" in plain(report.summary) and "Wait until healing finishes" in plain(report.summary)
    assert site.tenant()["spec"]["image"] == DEFAULT_IMAGE


def test_an_upgrade_while_the_operator_is_busy_or_the_tenant_is_red_is_refused(site: Site) -> None:
    site.status(currentState="Provisioning MinIO Statefulset")
    report = site.run(ALICE, f"update demo tenant {NEW}")
    assert report.failed and "another change is in progress" in plain(report.summary)
    site.status(currentState="Initialized", healthStatus="red", healthMessage="2 drives offline")
    report = site.run(ALICE, f"update demo tenant {NEW}")
    assert report.failed and "The operator reports the Tenant red (2 drives offline)" in plain(report.summary)


def test_the_tenant_changed_by_someone_else_between_preview_and_approval_is_refused(site: Site) -> None:
    site.run(ALICE, f"update demo tenant {NEW}")
    site.patch_spec({"image": "quay.io/minio/minio:RELEASE.2025-09-30T00-00-00Z"})
    approval_id = site.approve_latest(BOB)
    assert site.bot.status(approval_id) == "refused"
    assert "changed since the preview" in site.card(approval_id)
    assert site.tenant()["spec"]["image"] == "quay.io/minio/minio:RELEASE.2025-09-30T00-00-00Z"
    assert site.bot.runtime.store.specs.list("demo") == [], "no snapshot for a change that did not happen"


def test_a_rollout_that_never_completes_is_reported_and_nothing_else_is_touched(impatient: Site) -> None:
    site = impatient
    before = site.tenant()
    site.run(ALICE, f"update demo tenant {NEW}")
    approval_id = site.approve_latest(BOB)
    assert site.bot.status(approval_id) == "failed"
    card = site.card(approval_id)
    assert f"The rollout of {NEW_TAG} did not complete within 2 s" in card
    assert f"0/4 node(s) on {NEW_TAG}" in card and "Nothing else was touched" in card
    [snapshot] = site.bot.runtime.store.specs.list("demo")
    assert f"/minio update demo rollback {snapshot.id}" in card
    after = site.tenant()
    assert after["spec"] == {**before["spec"], "image": NEW}, "only spec.image changed"
    assert after["metadata"]["generation"] == before["metadata"]["generation"] + 1


def test_rbac_that_denies_the_patch_stops_the_upgrade_at_the_preview(
    kube: ControlPlane, kube_api: client.ApiClient, tenant_world: TenantWorld, kube_ns: str,
    minio_cluster: SimCluster, tmp_path: Path,
) -> None:
    token = _restricted_identity(kube, kube_api, kube_ns, patch=False)
    s = make_site(kube, kube_api, kube_ns, minio_cluster, tmp_path, token=token)
    try:
        report = s.run(ALICE, f"update demo tenant {NEW}")
        assert report.failed and "Kubernetes dry run" in plain(report.summary)
        assert "Kubernetes RBAC denies the bot this write" in plain(report.summary)
        assert 'cannot patch resource "tenants"' in plain(report.summary)
        refusal = s.bot.runtime.store.audit.recent(1)[0]
        assert refusal.action == "refuse" and refusal.detail["kind"] == "update-tenant"
        assert s.tenant()["spec"]["image"] == DEFAULT_IMAGE
    finally:
        s.bot.runtime.close()


def test_rollback_of_an_unknown_snapshot_and_with_pools_added_since(site: Site) -> None:
    assert "No snapshot is stored yet" in plain(site.run(CAROL, "update demo rollback").summary)
    report = site.run(ALICE, "update demo rollback 42")
    assert report.failed and "There is no snapshot #42 of `demo`" in plain(report.summary)
    spec = dict(site.tenant()["spec"])
    saved = site.bot.runtime.store.specs.add("demo", {**spec, "image": NEW}, reason="hand-made")
    pool = {**site.pools()[0], "name": "pool-1"}
    site.patch_spec({"pools": [*site.pools(), pool]})  # a pool added after the snapshot
    report = site.run(ALICE, f"update demo rollback {saved.id}")
    assert not report.failed, text_of(report)
    card = site.last_card()
    assert "Pools stay as they are (pool-0, pool-1; the snapshot had pool-0)" in card
    assert f"spec.image: {DEFAULT_IMAGE} → {NEW}" in card


# ----------------------------------------------------------------------------- the operator


def test_operator_upgrade_needs_two_approvals_by_default_and_follows_its_pods(
    kube: ControlPlane, kube_api: client.ApiClient, tenant_world: TenantWorld, kube_ns: str,
    minio_cluster: SimCluster, tmp_path: Path,
) -> None:
    ensure_operator(kube_api, namespace=kube_ns)  # this test's own operator Deployment
    s = make_site(kube, kube_api, kube_ns, minio_cluster, tmp_path, operator_ns=kube_ns, cluster=CLUSTER_RULE)
    apps: Any = client.AppsV1Api(kube_api)  # the SDK's models type every field Optional
    core: Any = client.CoreV1Api(kube_api)
    try:
        report = s.run(ALICE, f"update operator {NEW_OPERATOR}")
        assert not report.failed, text_of(report)
        card = s.last_card()
        assert "Needs 2 approvals from `operator-update` approvers" in card
        assert f"Deployment {kube_ns}/minio-operator image: {OPERATOR_IMAGE} → {NEW_OPERATOR}" in card
        assert "The API server accepted the patch (dryRun=All)" in card
        assert "manages every Tenant in cluster test" in card

        def new_pod() -> None:  # the ReplicaSet controller and kubelet
            old = [p.metadata.name for p in core.list_namespaced_pod(kube_ns).items
                   if p.metadata.name.startswith("minio-operator-")]
            labels = {"name": "minio-operator", "app.kubernetes.io/name": "operator"}
            core.create_namespaced_pod(kube_ns, {"metadata": {"name": "minio-operator-5d8f7c9b6-n3w01",
                                                              "labels": labels},
                                                 "spec": {"containers": [{"name": "operator", "image": NEW_OPERATOR}]}})
            core.patch_namespaced_pod_status("minio-operator-5d8f7c9b6-n3w01", kube_ns, {"status": {
                "phase": "Running",
                "conditions": [{"type": "Ready", "status": "True"}],
                "containerStatuses": [{"name": "operator", "image": NEW_OPERATOR, "imageID": "", "ready": True,
                                       "restartCount": 0, "state": {"running": {}}}]}},
                _content_type="application/merge-patch+json")
            for name in old:
                core.delete_namespaced_pod(name, kube_ns, grace_period_seconds=0)

        def patched() -> bool:
            deployment = apps.read_namespaced_deployment("minio-operator", kube_ns)
            return bool(deployment.spec.template.spec.containers[0].image == NEW_OPERATOR)

        s.operator.when(patched, new_pod)
        approval = s.bot.runtime.store.approvals.recent(1)[0]
        first = s.bot.press(BOB, approval.id)
        assert first.ephemeral is not None and "1 more approval needed" in text_of(first.ephemeral)
        assert not patched(), "one approval is not enough"
        assert s.bot.press(CAROL, approval.id).ephemeral is None
        s.operator.join()
        assert s.bot.status(approval.id) == "succeeded", s.card(approval.id)
        assert patched()
        assert "1/1 operator pod(s) Ready on the new image, 0 old left" in s.card(approval.id)
    finally:
        s.bot.runtime.close()


# ----------------------------------------------------------------------------- operator snapshots and rollback


OPERATOR_LABELS = {"name": "minio-operator", "app.kubernetes.io/name": "operator"}


def operator_site(kube: ControlPlane, kube_api: client.ApiClient, kube_ns: str, minio: SimCluster,
                  tmp_path: Path) -> Site:
    """The bot with this test's own operator Deployment, governed by the cluster's rule (two approvals)."""
    ensure_operator(kube_api, namespace=kube_ns)
    return make_site(kube, kube_api, kube_ns, minio, tmp_path, operator_ns=kube_ns, cluster=CLUSTER_RULE)


def operator_image(kube_api: client.ApiClient, namespace: str) -> str:
    apps: Any = client.AppsV1Api(kube_api)
    return str(apps.read_namespaced_deployment("minio-operator", namespace).spec.template.spec.containers[0].image)


def set_operator_image(kube_api: client.ApiClient, namespace: str, image: str) -> None:
    """Someone else edits the operator Deployment."""
    apps: Any = client.AppsV1Api(kube_api)
    apps.patch_namespaced_deployment("minio-operator", namespace, {"spec": {"template": {"spec": {
        "containers": [{"name": "operator", "image": image}]}}}})


def play_operator(site: Site, image: str, pod: str) -> None:
    """The ReplicaSet controller and kubelet: once the Deployment asks for `image`, replace the operator pod."""
    core: Any = client.CoreV1Api(site.api)
    namespace = site.namespace

    def replace() -> None:
        old = [p.metadata.name for p in core.list_namespaced_pod(namespace).items
               if p.metadata.name.startswith("minio-operator-")]
        core.create_namespaced_pod(namespace, {"metadata": {"name": pod, "labels": OPERATOR_LABELS},
                                               "spec": {"containers": [{"name": "operator", "image": image}]}})
        core.patch_namespaced_pod_status(pod, namespace, {"status": {
            "phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{"name": "operator", "image": image, "imageID": "", "ready": True,
                                   "restartCount": 0, "state": {"running": {}}}]}},
            _content_type="application/merge-patch+json")
        for name in old:
            core.delete_namespaced_pod(name, namespace, grace_period_seconds=0)

    site.operator.when(lambda: operator_image(site.api, namespace) == image, replace)


def approve_twice(site: Site) -> str:
    approval = site.bot.runtime.store.approvals.recent(1)[0]
    site.bot.press(BOB, approval.id)
    site.bot.press(CAROL, approval.id)
    return approval.id


def test_an_approved_operator_upgrade_stores_a_snapshot_and_an_approved_rollback_restores_it(
    kube: ControlPlane, kube_api: client.ApiClient, tenant_world: TenantWorld, kube_ns: str,
    minio_cluster: SimCluster, tmp_path: Path,
) -> None:
    s = operator_site(kube, kube_api, kube_ns, minio_cluster, tmp_path)
    try:
        assert "No operator snapshot is stored yet" in plain(s.run(ALICE, "update operator rollback").summary)
        assert not s.run(ALICE, f"update operator {NEW_OPERATOR}").failed
        assert "/minio update operator rollback restores them" in s.last_card()
        assert s.bot.runtime.store.specs.list("operator:test") == [], "nothing is stored before the approval"
        play_operator(s, NEW_OPERATOR, "minio-operator-5d8f7c9b6-n3w01")
        upgrade = approve_twice(s)
        s.operator.join()
        assert s.bot.status(upgrade) == "succeeded", s.card(upgrade)
        [snapshot] = s.bot.runtime.store.specs.list("operator:test")
        assert snapshot.spec["kind"] == "Deployment" and snapshot.spec["images"] == [OPERATOR_IMAGE]
        assert (snapshot.spec["namespace"], snapshot.spec["name"]) == (kube_ns, "minio-operator")
        assert snapshot.reason == f"before operator upgrade to {NEW_OPERATOR}" and snapshot.taken_by == ALICE
        assert snapshot.resource_version and snapshot.spec["resourceVersion"] == snapshot.resource_version
        assert s.bot.runtime.store.specs.list("demo") == [], "operator snapshots never mix with the tenant's"
        assert f"Snapshot #{snapshot.id} of the operator's images stored" in s.thread(upgrade)
        assert f"/minio update operator rollback {snapshot.id}" in s.card(upgrade)

        listing = s.run(ALICE, "update operator rollback")
        text = text_of(listing)
        assert f"#{snapshot.id}" in text and f"before operator upgrade to {NEW_OPERATOR}" in text
        assert f"`{OPERATOR_IMAGE}`" in text
        assert [a.value for a in listing.actions] == [f"update operator rollback {snapshot.id} --cluster test"]

        report = s.run(ALICE, f"update operator rollback {snapshot.id}")
        assert not report.failed, text_of(report)
        card = s.last_card()
        assert "Needs 2 approvals from `operator-update` approvers" in card
        assert (f"Deployment {kube_ns}/minio-operator container 0 image: {NEW_OPERATOR} → {OPERATOR_IMAGE}"
                in card)
        assert "The API server accepted the patch (dryRun=All)" in card
        play_operator(s, OPERATOR_IMAGE, "minio-operator-6c7d9b5f4d-b4ck1")
        rollback = approve_twice(s)
        s.operator.join()
        assert s.bot.status(rollback) == "succeeded", s.card(rollback)
        assert operator_image(kube_api, kube_ns) == OPERATOR_IMAGE
        assert "1/1 operator pod(s) Ready on the new image, 0 old left" in s.card(rollback)
        newest = s.bot.runtime.store.specs.list("operator:test")[0]
        assert newest.spec["images"] == [NEW_OPERATOR], "the rollback can be undone"
        assert newest.reason == f"before operator rollback to #{snapshot.id}"
    finally:
        s.bot.runtime.close()


def test_an_operator_rollback_whose_deployment_changed_since_the_preview_is_refused(
    kube: ControlPlane, kube_api: client.ApiClient, tenant_world: TenantWorld, kube_ns: str,
    minio_cluster: SimCluster, tmp_path: Path,
) -> None:
    s = operator_site(kube, kube_api, kube_ns, minio_cluster, tmp_path)
    try:
        saved = s.bot.runtime.store.specs.add("operator:test", {
            "kind": "Deployment", "namespace": kube_ns, "name": "minio-operator", "images": [OPERATOR_IMAGE]},
            reason="hand-made")
        report = s.run(ALICE, f"update operator rollback {saved.id}")
        assert report.failed and "already runs the images of snapshot" in plain(report.summary)
        assert plain(s.run(ALICE, "update demo rollback").summary).startswith("No snapshot"), "not a tenant snapshot"
        report = s.run(ALICE, f"update demo rollback {saved.id}")
        assert report.failed and f"There is no snapshot #{saved.id} of `demo`" in plain(report.summary)

        set_operator_image(kube_api, kube_ns, NEW_OPERATOR)
        report = s.run(ALICE, f"update operator rollback {saved.id}")
        assert not report.failed, text_of(report)
        set_operator_image(kube_api, kube_ns, "quay.io/minio/operator:v7.1.3")  # someone else, meanwhile
        approval = approve_twice(s)
        assert s.bot.status(approval) == "refused"
        assert "changed since the preview" in s.card(approval)
        assert operator_image(kube_api, kube_ns) == "quay.io/minio/operator:v7.1.3"
        assert [x.id for x in s.bot.runtime.store.specs.list("operator:test")] == [saved.id], "no new snapshot"
    finally:
        s.bot.runtime.close()


def test_after_a_restart_an_operator_upgrade_already_written_is_followed_and_never_written_again(
    kube: ControlPlane, kube_api: client.ApiClient, tenant_world: TenantWorld, kube_ns: str,
    minio_cluster: SimCluster, tmp_path: Path,
) -> None:
    s = operator_site(kube, kube_api, kube_ns, minio_cluster, tmp_path)
    apps: Any = client.AppsV1Api(kube_api)
    try:
        assert not s.run(ALICE, f"update operator {NEW_OPERATOR}").failed
        plan = s.latest_plan()
        not_made, _ = s.resume(plan)  # the bot stopped before patching the Deployment
        assert not not_made.ok and "most likely not made" in not_made.summary
        assert operator_image(kube_api, kube_ns) == OPERATOR_IMAGE

        play_operator(s, NEW_OPERATOR, "minio-operator-5d8f7c9b6-r3sum")
        set_operator_image(kube_api, kube_ns, NEW_OPERATOR)  # the bot wrote the image, then its pod was killed
        generation = apps.read_namespaced_deployment("minio-operator", kube_ns).metadata.generation
        outcome, progress = s.resume(plan)
        s.operator.join()
        assert outcome.ok and f"The operator runs {NEW_OPERATOR}" in outcome.summary, outcome
        assert "the change was written before the bot stopped; following its pods again" in progress
        assert "1/1 operator pod(s) Ready on the new image" in "\n".join(outcome.lines)
        after = apps.read_namespaced_deployment("minio-operator", kube_ns).metadata.generation
        assert after == generation, "resuming never writes"
    finally:
        s.bot.runtime.close()


# ----------------------------------------------------------------------------- governance of the operator (issue 14)


PLATFORM = "C0PLATFORM"
DAVE, ERIN = "U0DAVE", "U0ERIN"


def test_an_operator_upgrade_by_a_requester_of_a_one_approver_tenant_needs_the_clusters_approvers(
    kube: ControlPlane, kube_api: client.ApiClient, tenant_world: TenantWorld, kube_ns: str,
    minio_cluster: SimCluster, tmp_path: Path,
) -> None:
    # demo: ALICE and DAVE operate it; any one of its approvers (BOB) is enough for its own changes.
    # The cluster: only ALICE may request operator changes; CAROL and ERIN approve them, two of them, in #platform.
    ensure_operator(kube_api, namespace=kube_ns)
    one = {kind: {"approvers": [BOB], "required": 1} for kind in ("scale", "update", "rollback")}
    s = make_site(kube, kube_api, kube_ns, minio_cluster, tmp_path, operator_ns=kube_ns, approvals=one,
                  operators=[ALICE, DAVE], channels=(PLATFORM,),
                  cluster={"operators": [ALICE], "approvals": {"approvers": [CAROL, ERIN], "channel": PLATFORM}})
    try:
        report = s.run(DAVE, f"update operator {NEW_OPERATOR}")
        assert "You may not request operator changes on cluster `test`" in plain(report.summary)
        assert not s.bot.runtime.store.approvals.recent(1), "a tenant's operator requests nothing for the cluster"

        report = s.run(ALICE, f"update operator {NEW_OPERATOR}")
        assert not report.failed, text_of(report)
        [(channel, _ts, card, _thread)] = s.bot.outbox.posts
        assert channel == PLATFORM, "the card goes to the cluster's channel, where its approvers are"
        assert "Needs 2 approvals from `operator-update` approvers of cluster `test`" in text_of(card)
        approval = s.bot.runtime.store.approvals.recent(1)[0]
        assert approval.approvals_required == 2

        refused = s.bot.press(BOB, approval.id, channel=PLATFORM)  # demo's approver: enough under demo's rule
        assert refused.ephemeral is not None
        assert "Only `operator-update` approvers of cluster `test`" in text_of(refused.ephemeral)
        voted = s.bot.press(CAROL, approval.id, channel=PLATFORM)
        assert voted.ephemeral is not None and "1 more approval needed" in text_of(voted.ephemeral)
        assert s.bot.status(approval.id) == "pending"
        assert operator_image(kube_api, kube_ns) == OPERATOR_IMAGE, "nothing changed on one approval"

        play_operator(s, NEW_OPERATOR, "minio-operator-5d8f7c9b6-g0v01")
        assert s.bot.press(ERIN, approval.id, channel=PLATFORM).ephemeral is None
        s.operator.join()
        assert s.bot.status(approval.id) == "succeeded", s.card(approval.id)
        assert operator_image(kube_api, kube_ns) == NEW_OPERATOR
    finally:
        s.bot.runtime.close()


def test_an_operator_upgrade_on_a_cluster_without_approvals_is_refused_with_the_reason(
    kube: ControlPlane, kube_api: client.ApiClient, tenant_world: TenantWorld, kube_ns: str,
    minio_cluster: SimCluster, tmp_path: Path,
) -> None:
    ensure_operator(kube_api, namespace=kube_ns)
    s = make_site(kube, kube_api, kube_ns, minio_cluster, tmp_path, operator_ns=kube_ns, admins=[ALICE])
    try:
        for command in (f"update operator {NEW_OPERATOR}", f"update demo operator {NEW_OPERATOR}"):
            report = s.run(ALICE, command)
            assert "the cluster has no `approvals`" in plain(report.summary), command
        assert not s.bot.runtime.store.approvals.recent(1) and not s.bot.outbox.posts
        assert operator_image(kube_api, kube_ns) == OPERATOR_IMAGE
    finally:
        s.bot.runtime.close()


# ----------------------------------------------------------------------------- where images may come from (issue 14)


def test_an_image_from_an_unlisted_registry_is_refused_and_nothing_is_requested(site: Site) -> None:
    report = site.run(ALICE, f"update demo tenant ghcr.io/minio/minio:{NEW_TAG}")
    assert report.failed and "Not requested" in report.title
    why = plain(report.summary)
    assert "ghcr.io/minio/minio is not an allowed image source" in why
    assert "Allowed: quay.io/minio/minio (the repository running now)" in why and "allowed_images" in why
    assert not site.bot.runtime.store.approvals.recent(1) and not site.bot.outbox.posts
    assert site.bot.runtime.store.audit.recent(1)[0].action == "refuse"
    assert site.tenant()["spec"]["image"] == DEFAULT_IMAGE


def test_an_operator_image_from_an_unlisted_registry_is_refused_and_nothing_is_requested(
    kube: ControlPlane, kube_api: client.ApiClient, tenant_world: TenantWorld, kube_ns: str,
    minio_cluster: SimCluster, tmp_path: Path,
) -> None:
    s = operator_site(kube, kube_api, kube_ns, minio_cluster, tmp_path)
    try:
        report = s.run(ALICE, "update operator registry.example.com/minio/operator:v7.1.2")
        assert report.failed and "registry.example.com/minio/operator is not an allowed image source" in plain(
            report.summary)
        assert "Allowed: quay.io/minio/operator (the repository running now)" in plain(report.summary)
        assert not s.bot.runtime.store.approvals.recent(1) and not s.bot.outbox.posts
    finally:
        s.bot.runtime.close()


def test_a_listed_registry_is_accepted_and_the_card_shows_the_full_reference_before_and_after(
    kube: ControlPlane, kube_api: client.ApiClient, tenant_world: TenantWorld, kube_ns: str,
    minio_cluster: SimCluster, tmp_path: Path,
) -> None:
    mirror = f"registry.example.com:5000/mirror/minio:{NEW_TAG}@{DIGEST}"
    s = make_site(kube, kube_api, kube_ns, minio_cluster, tmp_path,
                  allowed_images=["quay.io/minio/", "registry.example.com:5000/mirror/"])
    try:
        assert s.run(ALICE, f"update demo tenant docker.io/minio/minio:{NEW_TAG}").failed, "not listed"
        report = s.run(ALICE, f"update demo tenant {mirror}")
        assert not report.failed, text_of(report)
        card = s.last_card()
        assert f"Tenant spec.image: {DEFAULT_IMAGE} → {mirror}" in card
        assert "Tenant spec.image registry: quay.io → registry.example.com:5000" in card
        assert "Tenant spec.image repository: minio/minio → mirror/minio" in card
        assert f"Tenant spec.image tag: {OLD_TAG} → {NEW_TAG}" in card
        assert f"Tenant spec.image digest: none → {DIGEST}" in card
        assert "registry.example.com:5000/mirror/minio is an allowed source (allowed_images of the tenant)" in card
    finally:
        s.bot.runtime.close()
