"""Remediation buttons: deleting a crash-looping pod, gated by approval and by the erasure-set quorum.

Given the demo tenant (4 nodes x 2 drives, EC:4, write quorum 5) with pod
demo-pool-0-1 crash-looping and its MinIO node down, the diagnostics' button
requests the deletion, another person approves, the pod is deleted once and
followed until its StatefulSet has it Ready again. When deleting a pod would
leave an erasure set below write quorum, nothing is requested (or, if the
cluster got worse after the request, the approval is refused).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from kubernetes import client

from bot.clients.minio import MinioClient
from bot.clients.minio_models import ServerInfo
from bot.interactions import Click, ClickResult
from bot.report import Action
from handlers import incidents, maintenance
from handlers.incidents import remediation
from handlers.incidents.quorum import server_for_pod, write_quorum_problems
from handlers.incidents.remediation import pod_delete_action
from sandbox.kube.controlplane import ControlPlane
from sandbox.kube.world import TenantWorld, crashloop_pod
from sandbox.launcher import SANDBOX_POD_URL, pod_resolve_map
from sandbox.minio_sim import SimCluster
from tests.test_approvals import ALICE, BOB, CAROL, OPS, text_of, world_from
from tests.test_maintenance import Site, site_config

CRASHING = "demo-pool-0-1"  # MinIO node 2


@pytest.fixture
def site(kube: ControlPlane, kube_api: client.ApiClient, tenant_world: TenantWorld, kube_ns: str,
         minio_cluster: SimCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    """The demo tenant reached pod by pod, as in a cluster (its pod names mapped to the simulator's nodes)."""
    monkeypatch.setattr(remediation, "FOLLOW_TIMEOUT_S", 8.0)
    monkeypatch.setattr(remediation, "FOLLOW_POLL_S", 0.2)
    keys = tmp_path / "keys"
    keys.mkdir(exist_ok=True)
    raw = site_config(kube.write_kubeconfig(tmp_path / "kubeconfig"), kube_ns, minio_cluster, keys,
                      f"sqlite:///{tmp_path / 'state.db'}")
    del raw["tenants"][0]["endpoints"]
    raw["clusters"][0]["pod_url"] = SANDBOX_POD_URL
    raw["resolve"] = pod_resolve_map(tenant_world, minio_cluster)
    world = world_from(raw, capabilities=(maintenance.capability, incidents.capability))
    yield Site(world, kube_api, kube_ns, minio_cluster, kube)
    world.runtime.close()


def press(site: Site, user: str, action: Action) -> ClickResult:
    """Press a remediation button under a diagnostics report in #ops."""
    click = Click(user=user, channel=OPS, message_ts="1700000000.000100", action_id=action.action_id,
                  value=action.value)
    return site.bot.dispatcher.click(click, outbox=site.bot.outbox)


def pods(site: Site) -> dict[str, client.V1Pod]:
    return {p.metadata.name: p for p in client.CoreV1Api(site.api).list_namespaced_pod(site.namespace).items}


def recreate_when_deleted(site: Site, name: str) -> threading.Thread:
    """Play the StatefulSet controller and kubelet: bring the pod back, Running and Ready."""

    def run() -> None:
        core = client.CoreV1Api(site.api)
        deadline = time.monotonic() + 20
        while name in pods(site) and time.monotonic() < deadline:
            time.sleep(0.1)
        labels = {"v1.min.io/tenant": "demo", "v1.min.io/pool": "pool-0"}
        core.create_namespaced_pod(site.namespace, {
            "metadata": {"name": name, "labels": labels},
            "spec": {"containers": [{"name": "minio", "image": "quay.io/minio/minio:latest"}]},
        })
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        time.sleep(0.5)  # seen as recreated-but-starting first
        core.patch_namespaced_pod_status(name, site.namespace, {"status": {
            "phase": "Running",
            "startTime": now,
            "conditions": [{"type": "Ready", "status": "True"}, {"type": "ContainersReady", "status": "True"}],
            "containerStatuses": [{"name": "minio", "image": "quay.io/minio/minio:latest", "imageID": "",
                                   "ready": True, "started": True, "restartCount": 0,
                                   "state": {"running": {"startedAt": now}}}],
        }}, _content_type="application/merge-patch+json")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_crash_looping_pod_is_deleted_once_after_approval_and_followed_until_ready(site: Site) -> None:
    crashloop_pod(site.api, site.namespace, CRASHING)
    site.minio.stop_node(2)
    action = pod_delete_action("demo", site.namespace, CRASHING)
    assert action.style == "danger" and action.confirm
    requested = press(site, ALICE, action)
    assert requested.ephemeral is not None
    assert "Requested: Delete pod demo-pool-0-1 of demo" in requested.ephemeral.title
    [(channel, ts, card, _thread)] = site.bot.outbox.posts
    text = text_of(card)
    assert channel == OPS and "CrashLoopBackOff, 7 restart(s), last exit OOMKilled" in text
    assert "StatefulSet demo-pool-0 recreates it with the same PVCs" in text
    assert "Every erasure set keeps write quorum without demo-pool-0-1" in text
    assert "delete pod" in text and "accepted by the API server" in text
    assert CRASHING in pods(site), "nothing happens before the approval"

    approval = site.bot.runtime.store.approvals.recent(1)[0]
    assert "someone else must approve" in text_of(site.bot.press(ALICE, approval.id).ephemeral or card)
    follower = recreate_when_deleted(site, CRASHING)
    assert site.bot.press(BOB, approval.id).ephemeral is None
    follower.join(20)
    assert site.bot.status(approval.id) == "succeeded"
    final = text_of(site.bot.outbox.card(ts))
    assert "deleted, recreated and Ready again" in final
    thread_texts = [text_of(r) for r in site.bot.outbox.thread(ts)]
    thread_texts += [text_of(r) for _c, _ts, r in site.bot.outbox.updates if r.title.startswith("Progress")]
    assert any("waiting for its StatefulSet" in t for t in thread_texts), thread_texts
    assert any("Ready again after" in t for t in thread_texts)
    assert site.bot.actions(approval.id).count("execute") == 1
    assert "already approved" in text_of(site.bot.press(CAROL, approval.id).ephemeral or card)


def test_deleting_a_pod_that_would_break_write_quorum_is_not_even_requested(site: Site) -> None:
    crashloop_pod(site.api, site.namespace, "demo-pool-0-0")  # restarting, but MinIO node 1 serves between crashes
    site.minio.stop_node(3)  # another node is already down: 6 of 8 drives online, write quorum 5
    result = press(site, ALICE, pod_delete_action("demo", site.namespace, "demo-pool-0-0"))
    assert result.ephemeral is not None and result.ephemeral.failed
    text = text_of(result.ephemeral)
    assert "Deleting demo-pool-0-0 now would break writes" in text
    assert "pool 0 set 0 would keep 4 online drive(s), below its write quorum of 5" in text
    assert not site.bot.outbox.posts and "demo-pool-0-0" in pods(site)
    refusal = site.bot.runtime.store.audit.recent(1)[0]
    assert refusal.action == "refuse" and refusal.actor == ALICE and "write quorum" in refusal.detail["reason"]


def test_quorum_lost_after_the_request_refuses_the_approval(site: Site) -> None:
    crashloop_pod(site.api, site.namespace, CRASHING)
    site.minio.stop_node(2)
    press(site, ALICE, pod_delete_action("demo", site.namespace, CRASHING))
    approval = site.bot.runtime.store.approvals.recent(1)[0]
    site.minio.stop_node(3)  # another node fails while the card waits: 4 of 8 drives left
    site.bot.press(BOB, approval.id)
    assert site.bot.status(approval.id) == "refused"
    card = text_of(site.bot.outbox.card(approval.message_ts or ""))
    assert "would break writes" in card and CRASHING in pods(site)


def test_a_ready_pod_is_not_deleted(site: Site) -> None:
    result = press(site, ALICE, pod_delete_action("demo", site.namespace, "demo-pool-0-2"))
    assert result.ephemeral is not None and "is Ready: deleting it would only interrupt" in text_of(result.ephemeral)
    assert not site.bot.outbox.posts


def test_a_pod_recreated_since_the_preview_is_not_deleted_again(site: Site) -> None:
    crashloop_pod(site.api, site.namespace, CRASHING)
    site.minio.stop_node(2)
    press(site, ALICE, pod_delete_action("demo", site.namespace, CRASHING))
    approval = site.bot.runtime.store.approvals.recent(1)[0]
    client.CoreV1Api(site.api).delete_namespaced_pod(CRASHING, site.namespace)  # someone ran kubectl delete
    site.bot.press(BOB, approval.id)
    assert site.bot.status(approval.id) == "refused"
    assert "is gone or already being recreated" in text_of(site.bot.outbox.card(approval.message_ts or ""))


def test_the_button_checks_who_presses_it_and_what_it_names(site: Site) -> None:
    crashloop_pod(site.api, site.namespace, CRASHING)
    refused = press(site, CAROL, pod_delete_action("demo", site.namespace, CRASHING))
    assert refused.ephemeral is not None
    assert "you are not an operator or approver of this tenant" in text_of(refused.ephemeral)
    forged = press(site, ALICE, pod_delete_action("demo", "kube-system", "kube-apiserver"))
    assert forged.ephemeral is not None and "does not match the tenant's configuration" in text_of(forged.ephemeral)
    missing = press(site, ALICE, pod_delete_action("demo", site.namespace, "etcd-0"))
    assert missing.ephemeral is not None and "No pod `etcd-0` of tenant `demo`" in text_of(missing.ephemeral)
    assert not site.bot.outbox.posts


def _info(endpoints: list[str], offline: set[str]) -> ServerInfo:
    servers = []
    for n, endpoint in enumerate(endpoints):
        drives = [
            {"endpoint": f"http://{endpoint}/data{d}", "state": "offline" if endpoint in offline else "ok",
             "pool_index": 0, "set_index": 0, "disk_index": n * 2 + d}
            for d in range(2)
        ]
        servers.append({"endpoint": endpoint, "state": "online", "drives": drives})
    backend = {"backendType": "Erasure", "standardSCParity": 4, "totalSets": [1], "totalDrivesPerSet": [8]}
    return ServerInfo.model_validate({"servers": servers, "backend": backend})


def test_pods_map_to_minio_nodes_by_hostname_or_by_the_clients_pod_names_never_by_order() -> None:
    hosts = [f"demo-pool-0-{i}.demo-hl.minio.svc.cluster.local:9000" for i in range(4)]
    static = MinioClient([f"http://{h}" for h in hosts], "ak", "sk")
    assert server_for_pod(_info(hosts, offline=set()), "demo-pool-0-2", static, {}) == hosts[2]
    local = [f"127.0.0.1:{9000 + i}" for i in range(4)]
    pods = [f"demo-pool-0-{i}" for i in range(4)]
    named = MinioClient([f"http://{p}.demo-hl.minio.svc.cluster.local:9000" for p in pods], "ak", "sk",
                        node_names=pods)
    resolve = {f"{p}.demo-hl.minio.svc.cluster.local:9000": address for p, address in zip(pods, local, strict=True)}
    assert server_for_pod(_info(local, set()), "demo-pool-0-3", named, resolve) == local[3]
    assert server_for_pod(_info(local, set()), "demo-pool-9-0", named, resolve) is None
    # Static endpoints carry no pod names: their order is not taken as a pod's node.
    unnamed = MinioClient([f"http://{address}" for address in local], "ak", "sk")
    assert server_for_pod(_info(local, set()), "demo-pool-0-3", unnamed, {}) is None


def test_write_quorum_math_counts_only_the_drives_online_now() -> None:
    local = [f"127.0.0.1:{9000 + i}" for i in range(4)]
    assert write_quorum_problems(_info(local, set()), local[0]) == []  # 6 of 8 left, quorum 5
    assert write_quorum_problems(_info(local, {local[1]}), local[1]) == []  # its drives are already out
    assert write_quorum_problems(_info(local, {local[1]}), local[0]) == [
        "pool 0 set 0 would keep 4 online drive(s), below its write quorum of 5"
    ]


def test_the_pod_crash_diagnostics_offer_the_button_and_it_requests_the_deletion(site: Site) -> None:
    from handlers.incidents.diagnostics import run_diagnosis
    from handlers.incidents.model import IncidentType

    crashloop_pod(site.api, site.namespace, CRASHING)
    site.minio.stop_node(2)
    tenant = site.bot.runtime.config.tenant("demo")
    assert tenant is not None
    diagnosis = run_diagnosis(site.bot.runtime, tenant, IncidentType.POD_CRASH)
    pods_section = next(s for s in diagnosis.sections if s.title == "Pods")
    [action] = pods_section.actions
    assert action.action_id == f"remediate:pod-delete:{CRASHING}"
    result = press(site, ALICE, action)
    assert result.ephemeral is not None and result.ephemeral.title == f"Requested: Delete pod {CRASHING} of demo"
    assert site.bot.outbox.posts and site.bot.outbox.posts[0][2].title.startswith("Approval needed")


def test_a_pod_of_a_tenant_reached_pod_by_pod_is_matched_to_its_node_by_name(site: Site) -> None:
    crashloop_pod(site.api, site.namespace, CRASHING)
    site.minio.stop_node(2)
    tenant = site.bot.runtime.config.tenant("demo")
    assert tenant is not None and site.bot.runtime.minio(tenant).node_name(2) == CRASHING
    requested = press(site, ALICE, pod_delete_action("demo", site.namespace, CRASHING))
    assert requested.ephemeral is not None and not requested.ephemeral.failed, text_of(requested.ephemeral)
    [(_channel, _ts, card, _thread)] = site.bot.outbox.posts
    assert "Every erasure set keeps write quorum without demo-pool-0-1" in text_of(card)
