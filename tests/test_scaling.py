"""Scaling by MinIO's rules, against a real Kubernetes API server, the MinIO simulator and the store.

Given the demo tenant (pool-0: 4 servers x 2 volumes of 1 TiB, EC:4): adding a
pool is previewed with its capacity and the API server's dry run, approved by
someone else, appended once and followed until the operator (played by the
test) initialises it; changing the servers of pool-0 is refused with the
add-pool alternative; resources, restarts and volume growth roll or resize
exactly what was previewed; a decommission is followed to the end and only
then may the pool leave the spec.

Nothing runs controllers here: tests play the operator from a thread
(:class:`Operator`), writing Tenant status, pod start times and PVC capacity.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from kubernetes import client

from bot.approval_engine import plan_of
from bot.changes import ChangePlan, Outcome
from bot.changes.follow import Phase
from bot.changes.tenant import handle_by_name
from bot.clients.kube_models import TenantInfo
from bot.commands import Command
from bot.composition import load_application
from bot.dispatch import Dispatcher
from bot.report import Report
from handlers.scaling.kinds import AddPool, DecommissionStart
from handlers.scaling.observers import pool_observer, removal_observer, resize_observer, restart_observer
from handlers.scaling.plans import plan_add_pool
from handlers.scaling.quantities import parse_size
from handlers.updates.observers import rollout_observer
from sandbox.kube.controlplane import ControlPlane
from sandbox.kube.operator import OperatorStandIn
from sandbox.kube.world import (
    TENANT_GROUP,
    TENANT_PLURAL,
    TENANT_VERSION,
    PoolSpec,
    TenantWorld,
    add_warning_event,
    set_tenant_status,
)
from sandbox.minio_sim import SimCluster
from tests.reading import plain
from tests.test_approvals import ALICE, BOB, CAROL, OPS, World, text_of, world_from
from tests.test_maintenance import LiveClock, site_config

pytestmark = pytest.mark.kube

FAST = {"timeout_minutes": 0.25, "poll_seconds": 0.05}
APPROVERS = {kind: {"approvers": [ALICE, BOB, CAROL]} for kind in ("scale", "update", "rollback")}
_MERGE = "application/merge-patch+json"


# ----------------------------------------------------------------------------- the site


class Operator:
    """Plays the MinIO Operator (and kubelet) from a background thread: wait for a condition, then act."""

    def __init__(self) -> None:
        self._threads: list[threading.Thread] = []
        self.errors: list[BaseException] = []

    def when(self, condition: Callable[[], bool], act: Callable[[], None], timeout: float = 20.0) -> None:
        def run() -> None:
            deadline = time.monotonic() + timeout
            try:
                while time.monotonic() < deadline:
                    if condition():
                        act()
                        return
                    time.sleep(0.05)
            except BaseException as exc:  # surfaced by join()
                self.errors.append(exc)

        thread = threading.Thread(target=run, daemon=True, name="play-operator")
        thread.start()
        self._threads.append(thread)

    def join(self) -> None:
        for thread in self._threads:
            thread.join(timeout=30)
        assert not self.errors, self.errors


@dataclass
class Site:
    """The bot (engine + dispatcher with the real verbs) and admin handles to play the world around it."""

    bot: World
    api: client.ApiClient
    namespace: str
    minio: SimCluster
    kube: ControlPlane
    dispatcher: Dispatcher
    operator: Operator = field(default_factory=Operator)

    def run(self, user: str, text: str) -> Report:
        """Run `/minio <text>` as `user` in #ops (access checks included)."""
        parsed = self.dispatcher.parse(text)
        assert isinstance(parsed, Command), getattr(parsed, "message", parsed)
        return self.dispatcher.run(user, OPS, parsed, outbox=self.bot.outbox)

    def approve_latest(self, user: str = BOB) -> str:
        approval = self.bot.runtime.store.approvals.recent(1)[0]
        result = self.bot.press(user, approval.id)
        assert result.ephemeral is None, text_of(result.ephemeral) if result.ephemeral else ""
        return approval.id

    def latest_plan(self) -> ChangePlan:
        """The plan of the newest request, as stored."""
        plan = plan_of(self.bot.runtime.store.approvals.recent(1)[0])
        assert plan is not None
        return plan

    def resume(self, plan: ChangePlan) -> tuple[Outcome, str]:
        """What the leader's resume says about ``plan`` after the bot that executed it stopped: (outcome, progress)."""
        kind = self.dispatcher.app.change_kind(plan.kind)
        assert kind is not None
        lines: list[str] = []
        return kind.resume(self.bot.runtime, plan, lines.append), "\n".join(lines)

    def card(self, approval_id: str) -> str:
        approval = self.bot.runtime.store.approvals.get(approval_id)
        assert approval is not None and approval.message_ts
        return text_of(self.bot.outbox.card(approval.message_ts))

    def thread(self, approval_id: str) -> str:
        approval = self.bot.runtime.store.approvals.get(approval_id)
        assert approval is not None and approval.message_ts
        posts = [ts for _c, ts, _r, thread in self.bot.outbox.posts if thread == approval.message_ts]
        return "\n".join(text_of(self.bot.outbox.card(ts)) for ts in posts)  # each message as last edited

    def last_card(self) -> str:
        return text_of(self.bot.outbox.posts[-1][2])

    def tenant(self) -> dict[str, Any]:
        objects: Any = client.CustomObjectsApi(self.api)  # the SDK's models type every field Optional
        obj: dict[str, Any] = objects.get_namespaced_custom_object(
            TENANT_GROUP, TENANT_VERSION, self.namespace, TENANT_PLURAL, "demo")
        return obj

    def pools(self) -> list[dict[str, Any]]:
        return list(self.tenant()["spec"]["pools"])

    def patch_spec(self, spec: dict[str, Any]) -> None:
        """Someone else edits the Tenant spec (as kubectl would)."""
        client.CustomObjectsApi(self.api).patch_namespaced_custom_object(
            TENANT_GROUP, TENANT_VERSION, self.namespace, TENANT_PLURAL, "demo", {"spec": spec}, _content_type=_MERGE)

    def status(self, **status: Any) -> None:
        set_tenant_status(self.api, self.namespace, "demo", **status)

    def restart_pods(self, pool: str = "pool-0") -> None:
        """What the StatefulSet controller and kubelet do on a rollout: new pods, newer start times, Ready."""
        core: Any = client.CoreV1Api(self.api)
        later = (datetime.now(UTC) + timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
        for pod in core.list_namespaced_pod(self.namespace, label_selector=f"v1.min.io/pool={pool}").items:
            core.patch_namespaced_pod_status(pod.metadata.name, self.namespace, {"status": {"startTime": later}},
                                             _content_type=_MERGE)


def make_site(kube: ControlPlane, kube_api: client.ApiClient, kube_ns: str, minio: SimCluster, tmp_path: Path,
              *, token: str | None = None, operator_ns: str | None = None, admins: list[str] | None = None,
              cluster: dict[str, Any] | None = None, channels: tuple[str, ...] = (), **tenant: Any) -> Site:
    """The bot for the demo tenant in `kube_ns`; `operator_ns`: where its cluster's operator runs; `admins`;
    `cluster`: settings of the cluster (operators, approvals) over the defaults; `channels`: more channel ids."""
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig", token=token)
    keys = tmp_path / "keys"
    keys.mkdir(exist_ok=True)
    tenant = {"approvals": APPROVERS, "rollout": FAST, **tenant}
    raw = site_config(kubeconfig, kube_ns, minio, keys, f"sqlite:///{tmp_path / 'state.db'}", **tenant)
    raw["clusters"][0].update({"rollout": tenant["rollout"], **(cluster or {})})
    raw["channels"] += [{"id": c} for c in channels]
    if operator_ns:
        raw["clusters"][0]["operator"] = {"namespace": operator_ns, "deployment": "minio-operator",
                                          **raw["clusters"][0].get("operator", {})}
    if admins is not None:
        raw["admins"] = admins
    world = world_from(raw, clock=LiveClock())
    dispatcher = Dispatcher(world.runtime, load_application())
    world.dispatcher = dispatcher
    return Site(world, kube_api, kube_ns, minio, kube, dispatcher)


@pytest.fixture
def site(kube: ControlPlane, kube_api: client.ApiClient, tenant_world: TenantWorld, kube_ns: str,
         minio_cluster: SimCluster, tmp_path: Path) -> Iterator[Site]:
    s = make_site(kube, kube_api, kube_ns, minio_cluster, tmp_path)
    yield s
    s.operator.join()
    s.bot.runtime.close()


@pytest.fixture
def impatient(kube: ControlPlane, kube_api: client.ApiClient, tenant_world: TenantWorld, kube_ns: str,
              minio_cluster: SimCluster, tmp_path: Path) -> Iterator[Site]:
    """Like `site`, but the bot follows a change for 2 s only (for changes that never finish)."""
    s = make_site(kube, kube_api, kube_ns, minio_cluster, tmp_path, rollout={**FAST, "timeout_minutes": 2 / 60})
    yield s
    s.bot.runtime.close()


@pytest.fixture
def two_pools(kube: ControlPlane, kube_api: client.ApiClient, kube_ns: str, minio_cluster_factory: Any,
              tmp_path: Path) -> Iterator[Site]:
    """pool-0 and pool-1 (4 x 2 each) in Kubernetes and in MinIO; decommissions take 1.5 s."""
    TenantWorld(namespace=kube_ns, pools=[PoolSpec("pool-0"), PoolSpec("pool-1")]).apply(kube_api)
    minio = minio_cluster_factory([(4, 2), (4, 2)], decommission_seconds=1.5)
    s = make_site(kube, kube_api, kube_ns, minio, tmp_path)
    yield s
    s.operator.join()
    s.bot.runtime.close()


def pool_initialized(site: Site, pool: str) -> Callable[[], None]:
    """The operator's answer to a new pool: its StatefulSet listed as PoolInitialized, the Tenant Initialized."""

    def act() -> None:
        names = [p["name"] for p in site.pools()]
        site.status(currentState="Initialized",
                    pools=[{"ssName": f"demo-{n}", "state": "PoolInitialized"} for n in names])

    return act


# ----------------------------------------------------------------------------- add-pool


def test_given_a_4x2_tenant_add_pool_previews_capacity_and_dry_run_then_appends_once_and_follows_it(
    site: Site,
) -> None:
    report = site.run(ALICE, "scale demo add-pool --servers 4 --volumes-per-server 4 --size 2Ti")
    assert report.ephemeral and "Request `" in plain(report.summary), text_of(report)
    card = site.last_card()
    assert "Approval needed: Add pool pool-1 (4x4x2Ti) to demo" in card
    assert "+ pool-1 (4 servers x 4 volumes x 2.00 TiB, StorageClass standard)" in card
    assert "Raw capacity of the new pool (16 drives): — → +32.0 TiB" in card
    assert "Usable capacity of the new pool (EC:4, sets of 16): — → +24.0 TiB" in card
    assert "Tenant raw capacity: 8.00 TiB → 40.0 TiB" in card
    assert "Tenant usable capacity: 4.00 TiB → 28.0 TiB" in card
    assert "Usage (of usable capacity): 0.0 % of 4.00 TiB → 0.0 % of 28.0 TiB" in card
    assert "The API server accepted the patch (dryRun=All)" in card
    assert "every pod restarts once" in card
    assert [p["name"] for p in site.pools()] == ["pool-0"], "nothing changes before the approval"
    generation = site.tenant()["metadata"]["generation"]

    site.operator.when(lambda: len(site.pools()) == 2, pool_initialized(site, "pool-1"))
    approval_id = site.approve_latest(BOB)
    site.operator.join()
    assert site.bot.status(approval_id) == "succeeded", site.card(approval_id)
    pools = site.pools()
    assert [(p["name"], p["servers"], p["volumesPerServer"]) for p in pools] == [("pool-0", 4, 2), ("pool-1", 4, 4)]
    claim = pools[1]["volumeClaimTemplate"]["spec"]
    assert claim["resources"]["requests"]["storage"] == "2Ti" and claim["storageClassName"] == "standard"
    assert site.tenant()["metadata"]["generation"] == generation + 1, "the spec was written exactly once"
    assert "Pool pool-1 added and initialised" in site.card(approval_id)
    thread = site.thread(approval_id)
    assert "Pool pool-1 appended" in thread and "pool pool-1: PoolInitialized" in thread


def test_after_a_restart_a_pool_already_appended_is_followed_until_initialised_and_never_appended_again(
    site: Site,
) -> None:
    site.run(ALICE, "scale demo add-pool --servers 4 --volumes-per-server 4 --size 2Ti")
    plan = site.latest_plan()
    not_made, _ = site.resume(plan)  # the bot stopped before the write
    assert not not_made.ok and "most likely not made" in not_made.summary and "not run again" in not_made.summary
    assert [p["name"] for p in site.pools()] == ["pool-0"]

    site.patch_spec({"pools": [*site.pools(), plan.params["pool"]]})  # the bot appended the pool, then stopped
    generation = site.tenant()["metadata"]["generation"]
    site.operator.when(lambda: len(site.pools()) == 2, pool_initialized(site, "pool-1"))
    outcome, progress = site.resume(plan)
    site.operator.join()
    assert outcome.ok and "Pool pool-1 added and initialised" in outcome.summary, outcome
    assert "Pool pool-1 is in Tenant" in progress and "following it again" in progress
    assert site.tenant()["metadata"]["generation"] == generation, "resuming never writes"
    assert [p["name"] for p in site.pools()] == ["pool-0", "pool-1"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("--servers 1 --volumes-per-server 2 --size 1Ti", "A pool needs at least 4 drives"),
        ("--servers 4 --volumes-per-server 2 --size -5Gi", "cannot be negative"),
        ("--servers 4 --volumes-per-server 2 --size '10 bananas'", "unknown unit `bananas`"),
        ("--servers 4 --volumes-per-server 2 --size 100", "has no unit"),
        ("--servers 17 --volumes-per-server 1 --size 1Ti", "cannot be split into erasure sets"),
        ("--servers 4 --volumes-per-server 2 --size 1Ti --name Pool_1", "not a valid pool name"),
        ("--servers 4 --size 1Ti", "add-pool needs"),
    ],
)
def test_bad_add_pool_input_is_refused_with_the_reason_and_nothing_is_requested(
    site: Site, args: str, message: str
) -> None:
    report = site.run(ALICE, f"scale demo add-pool {args}")
    assert report.failed and message in plain(report.summary), plain(report.summary)
    assert not site.bot.outbox.posts and not site.bot.runtime.store.approvals.recent(1)


def test_an_unknown_storage_class_or_an_existing_pool_name_is_refused_at_preview(site: Site) -> None:
    report = site.run(ALICE, "scale demo add-pool --servers 4 --volumes-per-server 2 --size 1Ti --storage-class gold")
    assert report.failed and "Not requested" in report.title
    assert "StorageClass gold does not exist in the cluster (there: " in plain(report.summary)
    assert "standard" in plain(report.summary).split("(there: ")[1]
    report = site.run(ALICE, "scale demo add-pool --servers 8 --volumes-per-server 2 --size 1Ti --name pool-0")
    assert report.failed
    assert "A pool called pool-0 already exists (4 servers x 2 volumes x 1.00 TiB)" in plain(report.summary)
    assert "Duplicate value" in plain(report.summary), "the API server's own answer is shown too"
    assert not site.bot.outbox.posts and [p["name"] for p in site.pools()] == ["pool-0"]
    refusals = [e for e in site.bot.runtime.store.audit.recent(5) if e.action == "refuse"]
    assert len(refusals) == 2, "refused previews are audited"


def test_a_new_pool_that_never_initialises_is_reported_stuck_with_events(impatient: Site) -> None:
    site = impatient
    add_warning_event(site.api, site.namespace, "Pod", "demo-pool-1-0", "FailedScheduling",
                      "0/3 nodes are available: 3 Insufficient memory.")
    site.run(ALICE, "scale demo add-pool --servers 4 --volumes-per-server 2 --size 1Ti")
    started = time.monotonic()
    approval_id = site.approve_latest(BOB)
    assert time.monotonic() - started < 8, "the follow timeout is the tenant's rollout setting"
    assert site.bot.status(approval_id) == "failed"
    card = site.card(approval_id)
    assert "Pool pool-1 is in the spec but not initialised after" in card
    assert "Pod/demo-pool-1-0 FailedScheduling: 0/3 nodes are available: 3 Insufficient memory." in card
    assert [p["name"] for p in site.pools()] == ["pool-0", "pool-1"]


def test_a_pool_the_operator_rejects_stops_the_follow_at_once_with_the_operators_error(
    site: Site, operator_stand_in: OperatorStandIn
) -> None:
    # The API server stores a 2 x 1 pool (the operator's CRD has no such rule); the operator's controller then
    # refuses it in status.currentState. The bot's own preview refuses 2 x 1 too, so the approved change kind
    # runs here with that pool in its plan.
    runtime = site.bot.runtime
    assert operator_stand_in.wait_for(lambda: site.tenant().get("status", {}).get("currentState") == "Initialized")
    handle = handle_by_name(runtime, "demo")
    plan = plan_add_pool(runtime, handle, ALICE, servers=4, volumes=2, size=parse_size("1Ti"), storage_class=None,
                         name=None)
    plan = plan.model_copy(update={"params": {**plan.params, "pool": {**plan.params["pool"], "servers": 2,
                                                                       "volumesPerServer": 1}}})
    progress: list[str] = []
    outcome = AddPool().execute(runtime, plan, progress.append)
    assert not outcome.ok
    rejected = "the operator rejected the change: pool #1 with 2 servers must have at least 4 volumes in total"
    assert outcome.summary == f"Pool pool-1: {rejected}.", outcome.summary
    assert progress[-1] == rejected, "the follow stopped at the operator's error, not at its timeout"
    assert "Pool pool-1 stays in the Tenant spec" in outcome.lines[1]
    assert "Remove pool-1 from spec.pools or correct it (kubectl edit tenant" in outcome.lines[2]
    assert [p["name"] for p in site.pools()] == ["pool-0", "pool-1"]


def test_every_follower_that_reads_the_tenant_stops_at_the_operators_error() -> None:
    rejected = {"currentState": "pool #0 with 3 servers must have at least 6 volumes in total"}
    tenant = TenantInfo.from_api({"metadata": {"namespace": "ns", "name": "demo"}, "status": rejected})

    class _Kube:
        def get_tenant(self, _namespace: str, _name: str) -> TenantInfo:
            return tenant

        def list_pods(self, *_args: Any) -> list[Any]:
            raise AssertionError("nothing else is read once the operator has rejected the change")

        list_pvcs = list_pods

    handle: Any = SimpleNamespace(kube=_Kube(), namespace="ns", name="demo")
    runtime: Any = None  # a rollout that the operator rejected never asks MinIO
    for observe in (pool_observer(handle, "pool-1"), removal_observer(handle, "pool-0"),
                    restart_observer(handle, ["pool-0"], {}), resize_observer(handle, ["data0-demo-pool-0-0"], 1),
                    rollout_observer(runtime, handle, "RELEASE.2025-10-15T17-29-55Z", {})):
        seen = observe()
        assert (seen.phase, seen.line) == (Phase.FAILED, "the operator rejected the change: pool #0 with 3 servers "
                                                         "must have at least 6 volumes in total")


def test_the_tenant_changed_by_someone_else_between_preview_and_approval_is_not_written(site: Site) -> None:
    site.run(ALICE, "scale demo add-pool --servers 4 --volumes-per-server 2 --size 1Ti")
    site.patch_spec({"image": "quay.io/minio/minio:RELEASE.2025-10-01T00-00-00Z"})  # a colleague's upgrade
    approval_id = site.approve_latest(BOB)
    assert site.bot.status(approval_id) == "refused"
    assert "changed since the preview" in site.card(approval_id)
    assert [p["name"] for p in site.pools()] == ["pool-0"]


def test_a_status_refresh_by_the_operator_between_preview_and_approval_is_fine(site: Site) -> None:
    site.run(ALICE, "scale demo add-pool --servers 4 --volumes-per-server 2 --size 1Ti")
    site.status(healthMessage="usage refreshed")
    site.operator.when(lambda: len(site.pools()) == 2, pool_initialized(site, "pool-1"))
    approval_id = site.approve_latest(BOB)
    site.operator.join()
    assert site.bot.status(approval_id) == "succeeded"


# ----------------------------------------------------------------------------- an existing pool's shape


@pytest.mark.parametrize("text", [
    "scale demo servers 8 --pool pool-0",
    "scale demo resources --pool pool-0 --servers 8",
    "scale demo servers pool-0 --servers 8",
])
def test_given_pool_0_with_4_servers_asking_to_change_servers_is_refused_and_suggests_add_pool(
    site: Site, text: str
) -> None:
    report = site.run(CAROL, text)  # anyone may ask; nobody gets it
    assert report.failed and report.title == "Refused: a pool's servers never change"
    summary = plain(report.summary)
    assert "The servers of `pool-0` cannot change (it has 4 servers x 2 volumes)." in summary
    assert "`servers` and `volumesPerServer` of an existing pool immutable" in summary
    assert "`/minio scale demo add-pool --servers 4 --volumes-per-server 2 --size 1Ti`" in summary
    assert not site.bot.runtime.store.approvals.recent(1) and site.pools()[0]["servers"] == 4


def test_fewer_volumes_points_at_decommission_and_the_api_server_backstop_holds(site: Site) -> None:
    report = site.run(ALICE, "scale demo volumes 1 --pool pool-0")
    assert report.failed and "volumes per server of `pool-0` cannot change" in plain(report.summary)
    assert "decommission pool-0" in plain(report.summary)
    # The bot is not the only guard: the CRD's CEL rule refuses the same edit.
    with pytest.raises(client.ApiException) as refused:
        site.patch_spec({"pools": [{**site.pools()[0], "servers": 8}]})
    assert refused.value.status == 422 and "servers is immutable" in str(refused.value.body)


# ----------------------------------------------------------------------------- resources and restart


def test_resources_show_before_after_warn_that_pods_restart_and_follow_the_roll(site: Site) -> None:
    report = site.run(ALICE, "scale demo resources --pool pool-0 --cpu 4 --memory 16GiB --limits memory=32Gi")
    assert not report.failed, text_of(report)
    card = site.last_card()
    assert "pool-0 requests.cpu: (unset) → 4" in card and "pool-0 requests.memory: (unset) → 16Gi" in card
    assert "pool-0 limits.memory: (unset) → 32Gi" in card
    assert "Pods restart: the operator rolls pool-0 one pod at a time" in card
    site.operator.when(lambda: "resources" in site.pools()[0], site.restart_pods)
    approval_id = site.approve_latest(BOB)
    site.operator.join()
    assert site.bot.status(approval_id) == "succeeded", site.card(approval_id)
    assert site.pools()[0]["resources"] == {"requests": {"cpu": "4", "memory": "16Gi"}, "limits": {"memory": "32Gi"}}
    assert "4/4 pod(s) of pool-0 restarted and Ready" in site.card(approval_id)


def test_limits_below_requests_and_an_unknown_pool_are_refused(site: Site) -> None:
    report = site.run(ALICE, "scale demo resources --cpu 4 --limits cpu=2")
    assert report.failed and "pool-0: CPU limit 2 is below the request 4" in plain(report.summary)
    report = site.run(ALICE, "scale demo resources --pool pool-9 --cpu 4")
    assert report.failed and "has no pool `pool-9` (pools: `pool-0`)" in plain(report.summary)
    report = site.run(ALICE, "scale demo resources --cpu lots")
    assert report.failed and "not a CPU amount" in plain(report.summary)


def test_restart_rolls_the_pool_through_its_annotations_never_the_statefulset(site: Site) -> None:
    apps: Any = client.AppsV1Api(site.api)
    before = apps.read_namespaced_stateful_set("demo-pool-0", site.namespace).metadata.generation
    site.run(ALICE, "scale demo restart")
    card = site.last_card()
    assert "pool-0 annotation minio-chatops/restartedAt: (unset) →" in card
    assert "the operator reverts kubectl rollout restart" in card
    site.operator.when(lambda: "annotations" in site.pools()[0], site.restart_pods)
    approval_id = site.approve_latest(BOB)
    site.operator.join()
    assert site.bot.status(approval_id) == "succeeded", site.card(approval_id)
    assert "minio-chatops/restartedAt" in site.pools()[0]["annotations"]
    assert apps.read_namespaced_stateful_set("demo-pool-0", site.namespace).metadata.generation == before


def test_restart_refused_while_a_drive_heals(site: Site) -> None:
    site.minio.drive_replace(2, 1, heal_seconds=60, format_seconds=0)
    report = site.run(ALICE, "scale demo restart --pool pool-0")
    assert report.failed and "drive(s) are healing" in plain(report.summary)


# ----------------------------------------------------------------------------- storage


def test_volume_growth_patches_every_pvc_and_follows_the_resize(site: Site) -> None:
    report = site.run(ALICE, "scale demo storage --size 1.5Ti --pool pool-0")
    assert not report.failed, text_of(report)
    card = site.last_card()
    assert "pool-0: 8 PVC(s) request" in card and "1.00 TiB → 1536Gi (1.50 TiB)" in card
    assert "pool-0: raw / usable capacity: 8.00 TiB / 4.00 TiB → 12.0 TiB / 6.00 TiB" in card
    assert "The API server accepted all 9 writes" in card
    core: Any = client.CoreV1Api(site.api)

    def grown() -> bool:
        pvcs = core.list_namespaced_persistent_volume_claim(site.namespace).items
        return all(p.spec.resources.requests["storage"] == "1536Gi" for p in pvcs)

    def resize() -> None:
        for pvc in core.list_namespaced_persistent_volume_claim(site.namespace).items:
            core.patch_namespaced_persistent_volume_claim_status(pvc.metadata.name, site.namespace, {"status": {
                "capacity": {"storage": "1536Gi"},
                "conditions": [{"type": "FileSystemResizePending", "status": "True"}]}}, _content_type=_MERGE)

    site.operator.when(grown, resize)
    approval_id = site.approve_latest(BOB)
    site.operator.join()
    assert site.bot.status(approval_id) == "succeeded", site.card(approval_id)
    assert site.pools()[0]["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"] == "1536Gi"
    assert "8/8 PVC(s) at the new size (8 FileSystemResizePending)" in site.card(approval_id)


def test_storage_refuses_shrinking_and_classes_without_expansion(
    kube: ControlPlane, kube_api: client.ApiClient, kube_ns: str, minio_cluster: SimCluster, tmp_path: Path
) -> None:
    TenantWorld(namespace=kube_ns, pools=[PoolSpec("pool-0", storage_class="fixed")]).apply(kube_api)
    site = make_site(kube, kube_api, kube_ns, minio_cluster, tmp_path)
    try:
        report = site.run(ALICE, "scale demo storage --size 2Ti")
        assert report.failed and "StorageClass fixed of pool-0 does not allow volume expansion" in plain(report.summary)
        report = site.run(ALICE, "scale demo storage --size 512Gi")
        assert report.failed and "is smaller than pool-0's volumes (1.00 TiB): Kubernetes volumes can only grow" \
            in plain(report.summary)
        report = site.run(ALICE, "scale demo storage --size 1Ti")
        assert report.failed and "already 1.00 TiB: nothing to grow" in plain(report.summary)
        assert not site.bot.outbox.posts
    finally:
        site.bot.runtime.close()


# ----------------------------------------------------------------------------- decommission


def test_decommission_is_followed_to_the_end_and_only_then_the_pool_may_leave_the_spec(two_pools: Site) -> None:
    site = two_pools
    early = site.run(ALICE, "scale demo remove-pool pool-0")
    assert early.failed and "a pool leaves the Tenant only after MinIO has moved all its data" in plain(early.summary)

    report = site.run(ALICE, "scale demo decommission pool-0")
    assert not report.failed, text_of(report)
    card = site.last_card()
    assert "room on the other pools" in card and "will be 0.0 % used afterwards" in card
    assert "MinIO pool 0 (pool-0): takes writes → decommissioning" in card
    approval_id = site.approve_latest(BOB)
    assert site.bot.status(approval_id) == "succeeded", site.card(approval_id)
    final = site.card(approval_id)
    assert "Decommission of pool-0 complete" in final and "/minio scale demo remove-pool pool-0" in final
    assert "running: " in site.thread(approval_id) or "complete: 100 %" in site.thread(approval_id)
    assert [p["name"] for p in site.pools()] == ["pool-0", "pool-1"], "MinIO moved data; the spec is untouched"

    status = site.run(CAROL, "scale demo decommission pool-0 --status")
    assert "complete: 100 %" in plain(status.summary)
    assert [a.value for a in status.actions] == ["scale demo remove-pool pool-0"]

    report = site.run(ALICE, "scale demo remove-pool pool-0")
    assert not report.failed, text_of(report)
    assert "Tenant spec.pools: pool-0, pool-1 → pool-1" in site.last_card()
    site.operator.when(lambda: len(site.pools()) == 1, lambda: site.status(
        currentState="Initialized", pools=[{"ssName": "demo-pool-1", "state": "PoolInitialized"}]))
    removal = site.approve_latest(BOB)
    site.operator.join()
    assert site.bot.status(removal) == "succeeded", site.card(removal)
    assert [p["name"] for p in site.pools()] == ["pool-1"]


def test_after_a_restart_a_started_decommission_is_followed_to_its_end_and_never_started_again(
    two_pools: Site,
) -> None:
    site = two_pools
    site.run(ALICE, "scale demo decommission pool-0")
    plan = site.latest_plan()
    not_made, _ = site.resume(plan)  # the bot stopped before MinIO was asked
    assert not not_made.ok and "most likely not made" in not_made.summary
    tenant = site.bot.runtime.find_tenant("demo")
    assert tenant is not None
    minio = site.bot.runtime.minio(tenant)
    assert minio.pools_status(str(plan.params["cmdline"])).decommission is None

    minio.decommission_start(str(plan.params["cmdline"]))  # the bot started it, then stopped
    outcome, progress = site.resume(plan)
    assert outcome.ok and "Decommission of pool-0 complete" in outcome.summary, outcome
    assert "following it again" in progress and "complete: 100 %" in progress
    assert [p["name"] for p in site.pools()] == ["pool-0", "pool-1"], "MinIO moved data; the spec is untouched"


def test_a_decommission_that_fails_midway_is_reported_and_nothing_else_is_touched(two_pools: Site) -> None:
    site = two_pools
    site.minio.fail_decommission(0)
    site.run(ALICE, "scale demo decommission pool-0")
    approval_id = site.approve_latest(BOB)
    assert site.bot.status(approval_id) == "failed"
    card = site.card(approval_id)
    assert "Decommission of pool-0 stopped: FAILED at 50 %" in card and "failed" in card
    assert "pool-0 stays in the Tenant" in card
    assert [p["name"] for p in site.pools()] == ["pool-0", "pool-1"]


def test_cancel_needs_approval_too(
    kube: ControlPlane, kube_api: client.ApiClient, kube_ns: str, minio_cluster_factory: Any, tmp_path: Path
) -> None:
    TenantWorld(namespace=kube_ns, pools=[PoolSpec("pool-0"), PoolSpec("pool-1")]).apply(kube_api)
    minio = minio_cluster_factory([(4, 2), (4, 2)], decommission_seconds=60)
    # The bot stops following after ~1 s; the decommission runs on.
    site = make_site(kube, kube_api, kube_ns, minio, tmp_path, rollout={**FAST, "timeout_minutes": 1 / 60})
    try:
        site.run(ALICE, "scale demo decommission pool-1")
        started = site.approve_latest(BOB)
        assert "still running after" in site.card(started)
        report = site.run(ALICE, "scale demo decommission pool-1 --cancel")
        assert not report.failed and "Approval needed: Cancel the decommission of pool-1" in site.last_card()
        assert "running: " in plain(site.run(CAROL, "scale demo decommission pool-1 --status").summary)
        approval_id = site.approve_latest(BOB)
        assert site.bot.status(approval_id) == "succeeded", site.card(approval_id)
        assert "canceled at" in plain(site.run(CAROL, "scale demo decommission pool-1 --status").summary)
    finally:
        site.bot.runtime.close()


def test_the_last_pool_cannot_be_decommissioned(site: Site) -> None:
    report = site.run(ALICE, "scale demo decommission pool-0")
    assert report.failed and "MinIO cannot decommission its last pool. Add a pool first." in plain(report.summary)


def test_a_decommission_minio_cannot_do_at_all_ends_with_its_one_line_and_changes_nothing(site: Site) -> None:
    # MinIO answers 501 NotImplemented to decommissioning the only pool (or a deployment started with legacy
    # endpoint arguments); the preview refuses the only pool, so this runs the approved change kind directly.
    runtime = site.bot.runtime
    cmdline = runtime.minio(runtime.config.tenants[0]).pools_list()[0].cmdline
    plan = ChangePlan(kind=DecommissionStart.name, action_kind="scale", tenant="demo", title="Decommission pool-0",
                      params={"pool": "pool-0", "index": 0, "cmdline": cmdline}, planned_at=datetime.now(UTC))
    progress: list[str] = []
    outcome = DecommissionStart().execute(runtime, plan, progress.append)
    assert not outcome.ok and progress == []
    assert outcome.summary.endswith("this deployment cannot decommission a pool: it has a single pool (or uses "
                                    "legacy endpoint arguments) (HTTP 501 NotImplemented)"), outcome.summary
    assert "\n" not in outcome.summary and outcome.lines == ["Nothing was changed: pool-0 stays in the Tenant and "
                                                             "keeps serving."]
    assert runtime.minio(runtime.config.tenants[0]).pools_list()[0].decommission is None
    assert [p["name"] for p in site.pools()] == ["pool-0"]


def test_decommission_preflight_refuses_when_the_other_pools_cannot_hold_the_data(two_pools: Site) -> None:
    site = two_pools
    site.minio.set_usage({"big": (3 * 2**40, 10)})  # ~3 TiB across 8 TiB usable: fine
    site.minio.run_scanner()
    single = site.run(ALICE, "scale demo decommission pool-9")
    assert single.failed and "has no pool `pool-9`" in plain(single.summary)
    site.minio.disk_full(5)
    site.minio.disk_full(6)
    site.minio.disk_full(7)
    site.minio.disk_full(8)  # pool-1's drives report no free space
    report = site.run(ALICE, "scale demo decommission pool-0")
    assert report.failed and "room on the other pools" in plain(report.summary) and "free" in plain(report.summary)
