"""Maintenance windows against a real Kubernetes API server and the MinIO simulator.

Given the demo tenant (4 nodes x 2 drives, write quorum 5): `check` says node by
node whether it can go down; `enable` (approved by someone else) annotates the
Tenant, scales a console down where one exists and mutes alerts; `disable`
undoes exactly that; a changed target, a lost quorum or a missing RBAC
permission stop the change with a clear, audited reason.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from bot.changes.preflight import quorum_finding
from bot.clients.errors import KubeError, PerNodeUnavailable
from bot.clients.kube import KubeClient
from bot.clients.minio_models import ClusterHealth
from bot.invocation import UserError
from handlers import daily_report, maintenance
from handlers.maintenance import MODE, TIMESTAMP, UNTIL, MaintenanceArgs, maintenance_command
from handlers.maintenance.evaluate import muting_quorum_finding, nodes_safe_finding
from sandbox.kube.controlplane import ControlPlane
from sandbox.kube.world import TENANT_GROUP, TENANT_PLURAL, TENANT_VERSION, TenantWorld, set_tenant_status
from sandbox.launcher import SANDBOX_POD_URL, pod_resolve_map
from sandbox.minio_sim import SimCluster
from tests.reading import plain
from tests.test_approvals import ALICE, BOB, CAROL, OPS, Clock, World, text_of, world_from


class LiveClock(Clock):
    """Wall-clock time (windows and alert muting are compared with now), shiftable by `offset`."""

    def __init__(self) -> None:
        super().__init__()
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


def site_config(
    kubeconfig: Path, namespace: str, minio: SimCluster, keys: Path, store_url: str, **tenant: Any
) -> dict[str, Any]:
    """The bot's config for the demo tenant: Kubernetes Tenant + MinIO simulator endpoints."""
    (keys / "ak").write_text(minio.access_key)
    (keys / "sk").write_text(minio.secret_key)
    return {
        "admins": [],
        "store_url": store_url,
        "timeouts": {"connect": 2, "read": 5, "probe": 2, "report_deadline": 8},
        "clusters": [{"name": "test", "kubeconfig": str(kubeconfig), "discover": False}],
        "channels": [{"id": OPS}],
        "tenants": [
            {
                "name": "demo",
                "kubernetes": {"cluster": "test", "namespace": namespace, "tenant": "demo"},
                "endpoints": list(minio.endpoints),
                "credentials": {"access_key_file": str(keys / "ak"), "secret_key_file": str(keys / "sk")},
                "channels": [OPS],
                "operators": [ALICE],
                "approvals": {kind: {"approvers": [ALICE, BOB]} for kind in ("maintenance", "pod-delete")},
                **tenant,
            }
        ],
    }


@dataclass
class Site:
    """The bot (engine level) plus the admin handles to play the world around it."""

    bot: World
    api: client.ApiClient
    namespace: str
    minio: SimCluster
    kube: ControlPlane

    def tenant_object(self) -> dict[str, Any]:
        obj: dict[str, Any] = client.CustomObjectsApi(self.api).get_namespaced_custom_object(
            TENANT_GROUP, TENANT_VERSION, self.namespace, TENANT_PLURAL, "demo"
        )
        return obj

    def annotations(self) -> dict[str, str]:
        return dict(self.tenant_object()["metadata"].get("annotations") or {})

    def annotate(self, **values: str | None) -> None:
        """Change Tenant annotations by hand (as kubectl would)."""
        client.CustomObjectsApi(self.api).patch_namespaced_custom_object(
            TENANT_GROUP, TENANT_VERSION, self.namespace, TENANT_PLURAL, "demo",
            {"metadata": {"annotations": {k.replace("__", "/").replace("_", "."): v for k, v in values.items()}}},
            _content_type="application/merge-patch+json",
        )

    def add_console(self, replicas: int = 2) -> None:
        body = {
            "metadata": {"name": "demo-console", "labels": {"v1.min.io/tenant": "demo"}},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": "demo-console"}},
                "template": {
                    "metadata": {"labels": {"app": "demo-console"}},
                    "spec": {"containers": [{"name": "console", "image": "quay.io/minio/operator:v4.5.8"}]},
                },
            },
        }
        client.AppsV1Api(self.api).create_namespaced_deployment(self.namespace, body)

    def console_replicas(self) -> int:
        deployment = client.AppsV1Api(self.api).read_namespaced_deployment("demo-console", self.namespace)
        return int(deployment.spec.replicas)

    def run(self, user: str, action: str, **args: Any) -> Any:
        command = MaintenanceArgs(tenant="demo", action=action, **args)
        return maintenance_command(self.bot.inv(user), command)

    def approve_latest(self, user: str = BOB) -> str:
        approval = self.bot.runtime.store.approvals.recent(1)[0]
        result = self.bot.press(user, approval.id)
        assert result.ephemeral is None, text_of(result.ephemeral) if result.ephemeral else ""
        return approval.id


def make_site(
    kube: ControlPlane, kube_api: client.ApiClient, kube_ns: str, minio: SimCluster, tmp_path: Path,
    *, token: str | None = None, capabilities: tuple[Any, ...] = (), **tenant: Any
) -> Site:
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig", token=token)
    keys = tmp_path / "keys"
    keys.mkdir(exist_ok=True)
    raw = site_config(kubeconfig, kube_ns, minio, keys, f"sqlite:///{tmp_path / 'state.db'}", **tenant)
    world = world_from(raw, clock=LiveClock(), capabilities=(maintenance.capability, *capabilities))
    return Site(world, kube_api, kube_ns, minio, kube)


@pytest.fixture
def site(kube: ControlPlane, kube_api: client.ApiClient, tenant_world: TenantWorld, kube_ns: str,
         minio_cluster: SimCluster, tmp_path: Path) -> Iterator[Site]:
    s = make_site(kube, kube_api, kube_ns, minio_cluster, tmp_path)
    yield s
    s.bot.runtime.close()


# ----------------------------------------------------------------------------- check


def test_check_on_a_healthy_tenant_says_every_node_can_go_down_one_at_a_time(site: Site) -> None:
    report = site.run(CAROL, "check")
    text = text_of(report)
    assert report.status is not None and report.status.value == "HEALTHY"
    assert "4 of 4 node(s) can be taken down now, one at a time." in text
    assert text.count("safe to take down now; every erasure set keeps write quorum without its drives") == 4
    assert "Pods (4/4 ready)" in text and "16 of 16 Bound" not in text and "8 of 8 Bound." in text
    assert "None open: alerts are active." in text


def test_check_explains_healing_drives_and_a_node_that_is_down(site: Site) -> None:
    site.minio.drive_replace(3, 1, heal_seconds=60, format_seconds=0)
    text = text_of(site.run(CAROL, "check"))
    assert "drive(s) are healing (X-Minio-Healing-Drives: 1, HTTP 412)" in text
    assert "wait until healing finishes" in text
    site.minio.reset()
    site.minio.stop_node(2)
    report = site.run(CAROL, "check")
    text = text_of(report)
    assert "node 2 (" in text and "did not answer" in text
    assert "NOT safe: without its drives an erasure set would fall below write quorum 5 (HTTP 412)" in text
    assert report.status is not None and report.status.value == "UNHEALTHY"


def test_check_says_a_starting_node_cannot_be_judged_and_never_calls_it_unsafe(site: Site) -> None:
    site.minio.set_starting(2, 30)  # node 2 answers 503 with X-Minio-Server-Status: offline
    report = site.run(CAROL, "check")
    text = text_of(report)
    assert "node 2 (" in text and "starting, cannot judge (offline)" in text, text
    assert "NOT safe" not in text and "lost write quorum" not in text
    assert "3 of 4 node(s) can be taken down now, one at a time." in text
    assert report.status is not None and report.status.value == "DEGRADED"


def test_preflight_quorum_finding_calls_a_starting_cluster_starting_and_a_503_lost() -> None:
    starting = ClusterHealth(ok=False, status=503, node=3, latency_ms=1.0, starting=True, server_status="iam-offline")
    finding = quorum_finding(starting)
    assert not finding.ok and finding.blocking, "no node has judged quorum: the change waits"
    assert "still starting (node 3: iam-offline)" in finding.detail and "lost" not in finding.detail
    assert "hide an outage" not in muting_quorum_finding(starting).detail
    lost = quorum_finding(ClusterHealth(ok=False, status=503, write_quorum=5, node=1, latency_ms=1.0))
    assert not lost.ok and "lost write quorum (write quorum 5) (HTTP 503)" in lost.detail


def test_check_on_load_balanced_endpoints_gives_no_per_node_verdict_and_still_checks_quorum(
    kube: ControlPlane, kube_api: client.ApiClient, tenant_world: TenantWorld, kube_ns: str,
    minio_cluster: SimCluster, tmp_path: Path,
) -> None:
    s = make_site(kube, kube_api, kube_ns, minio_cluster, tmp_path, endpoints_mode="load-balanced")
    try:
        report = s.run(CAROL, "check")
        text = text_of(report)
        assert "per-node verdicts unavailable: endpoints are load-balanced" in plain(report.summary)
        assert "safe to take down now;" not in text and "can be taken down now" not in text
        assert "did not answer" not in text and "node 1" not in text
        assert "every erasure set has write quorum" in text, "cluster-wide checks still run"
        assert "Pods (4/4 ready)" in text
        assert report.status is not None and report.status.value == "UNKNOWN"
    finally:
        s.bot.runtime.close()


def test_the_enable_preview_gives_no_per_node_verdict_behind_a_load_balancer_either() -> None:
    finding = nodes_safe_finding([], PerNodeUnavailable.asked("maintenance check"), "demo")
    assert not finding.ok and not finding.blocking, "a warning: maintenance itself may not need any node down"
    assert finding.detail == "per-node verdicts unavailable: endpoints are load-balanced"


def test_check_names_each_node_by_its_pod_when_reached_pod_by_pod(
    kube: ControlPlane, kube_api: client.ApiClient, tenant_world: TenantWorld, kube_ns: str,
    minio_cluster: SimCluster, tmp_path: Path,
) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    raw = site_config(kube.write_kubeconfig(tmp_path / "kubeconfig"), kube_ns, minio_cluster, keys,
                      f"sqlite:///{tmp_path / 'state.db'}")
    del raw["tenants"][0]["endpoints"]
    raw["clusters"][0]["pod_url"] = SANDBOX_POD_URL
    raw["resolve"] = pod_resolve_map(tenant_world, minio_cluster)
    bot = world_from(raw, clock=LiveClock(), capabilities=(maintenance.capability,))
    try:
        minio_cluster.stop_node(3)
        text = text_of(maintenance_command(bot.inv(CAROL), MaintenanceArgs(tenant="demo", action="check")))
        assert "node 1 (pod `demo-pool-0-0`" in text and "node 4 (pod `demo-pool-0-3`" in text
        assert "node 3 (pod `demo-pool-0-2`" in text and "did not answer" in text
    finally:
        bot.runtime.close()


# ----------------------------------------------------------------------------- enable / disable


def test_enable_needs_another_person_then_annotates_scales_the_console_and_mutes_alerts(site: Site) -> None:
    site.add_console(replicas=2)
    site.annotate(maintenance_minio_io__mode="false")  # someone's leftover: disable must restore it
    requested = site.run(ALICE, "enable", hours=3, reason="replace drive 3 on node 2")
    assert requested.ephemeral and "Request `" in plain(requested.summary)
    card = site.bot.outbox.posts[-1][2]
    text = text_of(card)
    assert f"Tenant annotation {MODE}: false → true" in text
    assert "Console Deployment demo-console replicas: 2 → 0" in text
    assert "accepted by the API server" in text and "Reason: replace drive 3 on node 2" in text
    approval = site.bot.runtime.store.approvals.recent(1)[0]
    assert "someone else must approve" in text_of(site.bot.press(ALICE, approval.id).ephemeral or card)
    assert site.annotations()[MODE] == "false", "nothing changes before the approval"

    site.approve_latest(BOB)
    annotations = site.annotations()
    assert annotations[MODE] == "true"
    until = datetime.fromisoformat(annotations[UNTIL].replace("Z", "+00:00"))
    started = datetime.fromisoformat(annotations[TIMESTAMP].replace("Z", "+00:00"))
    assert timedelta(hours=2, minutes=59) < until - started <= timedelta(hours=3, seconds=1)
    assert site.console_replicas() == 0
    assert site.bot.runtime.store.maintenance.active("demo", datetime.now(UTC)) is not None, "alerts are muted"
    assert site.bot.status(approval.id) == "succeeded"
    assert "Maintenance window" in text_of(site.run(CAROL, "check")) and "muted" in text_of(site.run(CAROL, "check"))

    site.run(ALICE, "disable")
    disable_card = text_of(site.bot.outbox.posts[-1][2])
    assert f"Tenant annotation {MODE}: true → false" in disable_card
    assert f"Tenant annotation {UNTIL}" in disable_card and "(removed)" in disable_card
    site.approve_latest(BOB)
    after = site.annotations()
    assert after.get(MODE) == "false" and TIMESTAMP not in after and UNTIL not in after
    assert site.console_replicas() == 2
    assert site.bot.runtime.store.maintenance.current("demo") is None, "alerts active again"


def test_enable_without_a_console_says_so_and_disable_leaves_hand_edits_alone(site: Site) -> None:
    site.run(ALICE, "enable")
    card = text_of(site.bot.outbox.posts[-1][2])
    assert "No console Deployment demo-console (MinIO Operator v6+ has none): nothing to scale." in card
    approval_id = site.approve_latest(BOB)
    final = text_of(site.bot.outbox.card(site.bot.runtime.store.approvals.get(approval_id).message_ts or ""))
    assert "No console Deployment (MinIO Operator v6+): nothing scaled." in final
    site.annotate(maintenance_minio_io__until="2099-01-01T00:00:00Z")  # extended by hand
    site.run(ALICE, "disable")
    card = text_of(site.bot.outbox.posts[-1][2])
    assert f"{UNTIL} was changed by hand since enable" in card
    site.approve_latest(BOB)
    after = site.annotations()
    assert MODE not in after and TIMESTAMP not in after
    assert after[UNTIL] == "2099-01-01T00:00:00Z", "only what enable set, and still holds, is reversed"


def test_disable_runs_at_once_when_configured_without_approval(
    kube: ControlPlane, kube_api: client.ApiClient, tenant_world: TenantWorld, kube_ns: str,
    minio_cluster: SimCluster, tmp_path: Path,
) -> None:
    s = make_site(kube, kube_api, kube_ns, minio_cluster, tmp_path, approve_maintenance_disable=False)
    s.run(ALICE, "enable")
    s.approve_latest(BOB)
    report = s.run(ALICE, "disable")
    assert not report.ephemeral and report.title.startswith("Done") and MODE not in s.annotations()
    approval = s.bot.runtime.store.approvals.recent(1)[0]
    assert s.bot.actions(approval.id) == ["request", "approved", "execute", "result"]
    with pytest.raises(UserError, match="nothing to disable"):
        s.run(ALICE, "disable")
    s.bot.runtime.close()


def test_a_second_window_cannot_be_requested_while_one_is_open(site: Site) -> None:
    site.run(ALICE, "enable")
    site.approve_latest(BOB)
    again = site.run(ALICE, "enable")
    assert again.failed and "A window is already open" in plain(again.summary)


# ----------------------------------------------------------------------------- faults


def test_a_target_changed_between_preview_and_approval_is_refused(site: Site) -> None:
    site.run(ALICE, "enable")
    site.annotate(example_com__owner="someone-else")  # a real change to the Tenant's metadata
    approval_id = site.approve_latest(BOB)
    assert site.bot.status(approval_id) == "refused"
    card = text_of(site.bot.outbox.card(site.bot.runtime.store.approvals.get(approval_id).message_ts or ""))
    assert "changed since the preview" in card and "request the change again" in card
    assert MODE not in site.annotations() and site.bot.runtime.store.maintenance.current("demo") is None


def test_a_status_only_change_by_the_operator_does_not_invalidate_the_plan(site: Site) -> None:
    site.run(ALICE, "enable")
    set_tenant_status(site.api, site.namespace, "demo", healthMessage="usage refreshed")  # bumps resourceVersion
    approval_id = site.approve_latest(BOB)
    assert site.bot.status(approval_id) == "succeeded"
    card = text_of(site.bot.outbox.card(site.bot.runtime.store.approvals.get(approval_id).message_ts or ""))
    assert "only its status changed since the preview" in card


def test_preflight_failing_at_approval_time_refuses_and_the_card_says_why(site: Site) -> None:
    site.run(ALICE, "enable")
    site.minio.stop_node(1)
    site.minio.stop_node(2)  # 4 of 8 drives left: below write quorum 5
    approval_id = site.approve_latest(BOB)
    assert site.bot.status(approval_id) == "refused"
    card = text_of(site.bot.outbox.card(site.bot.runtime.store.approvals.get(approval_id).message_ts or ""))
    assert "lost write quorum" in card and "Muting alerts now would hide an outage" in card
    assert site.bot.runtime.store.maintenance.current("demo") is None and MODE not in site.annotations()
    refusal = site.bot.runtime.store.audit.for_approval(approval_id)[-1]
    assert refusal.action == "refuse" and refusal.detail["stage"] == "recheck"


def _restricted_identity(kube: ControlPlane, api: client.ApiClient, namespace: str, patch: bool) -> str:
    """A ServiceAccount whose Role reads everything maintenance needs, and patches only if `patch`."""
    core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
    core.create_namespaced_service_account(namespace, {"metadata": {"name": "chatops"}})
    rbac.create_namespaced_role(namespace, _role(patch))
    rbac.create_namespaced_role_binding(namespace, {
        "metadata": {"name": "chatops"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "chatops"},
        "subjects": [{"kind": "ServiceAccount", "name": "chatops", "namespace": namespace}],
    })
    return kube.mint_token(namespace, "chatops")


def _role(patch: bool) -> dict[str, Any]:
    tenant_verbs = ["get", "list", "patch"] if patch else ["get", "list"]
    return {
        "metadata": {"name": "chatops"},
        "rules": [
            {"apiGroups": [TENANT_GROUP], "resources": [TENANT_PLURAL], "verbs": tenant_verbs},
            {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"]},
            {"apiGroups": [""], "resources": ["pods", "persistentvolumeclaims", "events"], "verbs": ["list"]},
        ],
    }


def test_a_request_kubernetes_rbac_would_deny_is_refused_at_preview_and_audited(
    kube: ControlPlane, kube_api: client.ApiClient, tenant_world: TenantWorld, kube_ns: str,
    minio_cluster: SimCluster, tmp_path: Path,
) -> None:
    token = _restricted_identity(kube, kube_api, kube_ns, patch=False)
    s = make_site(kube, kube_api, kube_ns, minio_cluster, tmp_path, token=token)
    report = s.run(ALICE, "enable")
    assert report.failed and "Kubernetes dry run" in plain(report.summary)
    assert "denied access" in plain(report.summary) and "patch" in plain(report.summary)
    refusal = s.bot.runtime.store.audit.recent(1)[0]
    assert refusal.action == "refuse" and refusal.detail["stage"] == "request" and "patch" in refusal.detail["reason"]
    assert not s.bot.outbox.posts and MODE not in s.annotations()
    s.bot.runtime.close()


def test_rbac_denying_the_write_at_execution_fails_clearly_audited_and_changes_nothing(
    kube: ControlPlane, kube_api: client.ApiClient, tenant_world: TenantWorld, kube_ns: str,
    minio_cluster: SimCluster, tmp_path: Path,
) -> None:
    token = _restricted_identity(kube, kube_api, kube_ns, patch=True)
    s = make_site(kube, kube_api, kube_ns, minio_cluster, tmp_path, token=token)
    requested = s.run(ALICE, "enable")
    assert not requested.failed, text_of(requested)
    # Between the request and the approval, someone takes the bot's patch permission away.
    client.RbacAuthorizationV1Api(kube_api).replace_namespaced_role("chatops", kube_ns, _role(patch=False))
    restricted = KubeClient.from_kubeconfig(str(tmp_path / "kubeconfig"))
    for _ in range(100):  # RBAC changes reach the authorizer's cache within moments
        try:
            restricted.patch_tenant(kube_ns, "demo", {"metadata": {"annotations": {"x": "y"}}}, dry_run=True)
        except KubeError as exc:
            if exc.kind == "forbidden":
                break
        time.sleep(0.1)
    approval_id = s.approve_latest(BOB)
    assert s.bot.status(approval_id) == "failed"
    approval = s.bot.runtime.store.approvals.get(approval_id)
    assert approval is not None
    card = text_of(s.bot.outbox.card(approval.message_ts or ""))
    assert "Kubernetes refused to annotate Tenant" in card and "denied access" in card and "patch" in card
    assert "The window was closed again" in card
    result = s.bot.runtime.store.audit.for_approval(approval_id)[-1]
    assert result.action == "result" and result.detail["ok"] is False and "denied access" in result.detail["summary"]
    assert MODE not in s.annotations()
    assert s.bot.runtime.store.maintenance.current("demo") is None, "alerts were not muted for a failed change"
    s.bot.runtime.close()


# ----------------------------------------------------------------------------- daily report


def test_a_window_past_its_end_unmutes_alerts_and_shows_in_the_daily_report(site: Site) -> None:
    site.run(ALICE, "enable", hours=1)
    site.approve_latest(BOB)
    tenants = site.bot.runtime.tenants()
    assert daily_report.overdue_windows(site.bot.runtime, tenants, datetime.now(UTC)) == []
    later = datetime.now(UTC) + timedelta(hours=3)
    [window] = daily_report.overdue_windows(site.bot.runtime, tenants, later)
    assert window.tenant == "demo" and window.changes["annotations"][MODE]["after"] == "true"
    assert site.bot.runtime.store.maintenance.active("demo", later) is None, "alerts are no longer muted"
    site.bot.clock.offset = timedelta(hours=3)  # type: ignore[attr-defined]
    assert "past its end" in text_of(site.run(CAROL, "check"))
