"""Leader election on a Kubernetes Lease: one leader at a time, quick hand-over, no split brain.

The rules are checked on an in-memory Lease with a fake clock; the behaviour
is checked against the real kube-apiserver with three electors in threads.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from bot.clients.lease import KubeLeaseStore, LeaseConflict, LeaseRecord, LeaseUnavailable
from bot.leader import LeaderElector
from sandbox.kube.controlplane import ControlPlane, find_binaries

LEASE_S = 3


# ----------------------------------------------------------------------------- helpers


class Timeline:
    """Leadership intervals of every elector, on one monotonic clock."""

    def __init__(self) -> None:
        self.intervals: list[list[Any]] = []  # [identity, start, end or None]
        self._lock = threading.Lock()

    def callbacks(self, identity: str) -> tuple[Callable[[], None], Callable[[], None]]:
        """(on_started, on_stopped) for one elector."""
        def started() -> None:
            with self._lock:
                self.intervals.append([identity, time.monotonic(), None])

        def stopped() -> None:
            with self._lock:
                for interval in self.intervals:
                    if interval[0] == identity and interval[2] is None:
                        interval[2] = time.monotonic()

        return started, stopped

    def leaders(self) -> list[str]:
        with self._lock:
            return [i[0] for i in self.intervals if i[2] is None]

    def started_after(self, moment: float) -> list[tuple[str, float]]:
        with self._lock:
            return [(i[0], i[1]) for i in self.intervals if i[1] > moment]

    def assert_no_overlap(self) -> None:
        with self._lock:
            spans = sorted((i[1], i[2] if i[2] is not None else float("inf"), i[0]) for i in self.intervals)
        for (_start_a, end_a, who_a), (start_b, _end_b, who_b) in itertools.pairwise(spans):
            assert start_b >= end_a, f"split brain: {who_a} led until {end_a}, {who_b} started at {start_b}"


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"not true within {timeout} s")


class MemoryLeases:
    """A Lease with resourceVersion semantics, in memory; `down` makes every call fail."""

    def __init__(self) -> None:
        self.spec: dict[str, Any] | None = None
        self.version = 0
        self.down = False

    def _record(self) -> LeaseRecord:
        assert self.spec is not None
        return LeaseRecord.from_json({"spec": self.spec, "metadata": {"resourceVersion": str(self.version)}})

    def get(self, timeout: float) -> LeaseRecord | None:
        if self.down:
            raise LeaseUnavailable("get: connection refused")
        return None if self.spec is None else self._record()

    def create(self, spec: dict[str, Any], timeout: float) -> LeaseRecord:
        if self.down:
            raise LeaseUnavailable("create: connection refused")
        if self.spec is not None:
            raise LeaseConflict("create: conflict")
        self.spec, self.version = dict(spec), self.version + 1
        return self._record()

    def update(self, spec: dict[str, Any], resource_version: str, timeout: float) -> LeaseRecord:
        if self.down:
            raise LeaseUnavailable("update: connection refused")
        if self.spec is None or resource_version != str(self.version):
            raise LeaseConflict("update: conflict")
        self.spec, self.version = dict(spec), self.version + 1
        return self._record()


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# ----------------------------------------------------------------------------- rules (in memory)


def test_a_stale_resource_version_loses_no_split_brain() -> None:
    leases, clock = MemoryLeases(), FakeMonotonic()
    a = LeaderElector(leases, "a", 6, clock=clock)
    b = LeaderElector(leases, "b", 6, clock=clock)
    a.tick(), b.tick()
    clock.now += 6
    assert a.tick() and a.is_leader and not b.is_leader, "a created the Lease after a lease of silence"
    clock.now += 7  # a stops renewing; b sees the same version for a whole lease
    b.tick()
    clock.now += 7
    # a renews at the same moment b tries to take over: both write version N, only one can win.
    record = leases.get(1)
    assert record is not None
    a._renew(record, clock(), 1)
    b._take_over(record, clock(), 1)
    assert a.is_leader and not b.is_leader
    assert leases.get(1) == LeaseRecord(holder="a", duration_s=6, transitions=0,
                                        acquire_time=record.acquire_time, resource_version=str(leases.version))


def test_the_leader_steps_down_before_anyone_may_take_over() -> None:
    leases, clock = MemoryLeases(), FakeMonotonic()
    events: list[tuple[str, float]] = []
    leader = LeaderElector(leases, "a", 15, clock=clock, on_stopped=lambda: events.append(("a stopped", clock.now)))
    other = LeaderElector(leases, "b", 15, clock=clock, on_started=lambda: events.append(("b started", clock.now)))
    leader.tick()
    clock.now += 15
    leader.tick()
    assert leader.is_leader
    renewed_at = clock.now
    other.tick()  # b sees that renewal now
    leases.down = True  # the API server goes away for everyone
    while not events:
        clock.now += 0.5
        leader.tick()
        other.tick()
    assert events == [("a stopped", renewed_at + 10)], "step down at 2/3 of the lease"
    leases.down = False
    while len(events) < 2:
        clock.now += 0.5
        other.tick()
    assert events[1] == ("b started", renewed_at + 15), "b waits the whole lease from when it saw the renewal"


def test_a_cold_start_waits_one_lease_before_creating_it() -> None:
    leases, clock = MemoryLeases(), FakeMonotonic()
    elector = LeaderElector(leases, "a", 10, clock=clock)
    elector.tick()
    clock.now += 9.9
    elector.tick()
    assert not elector.is_leader and leases.spec is None, "a live leader might be about to recreate it"
    clock.now += 0.2
    elector.tick()
    assert elector.is_leader


def test_a_released_lease_is_taken_over_after_one_second() -> None:
    leases, clock = MemoryLeases(), FakeMonotonic()
    a, b = LeaderElector(leases, "a", 15, clock=clock), LeaderElector(leases, "b", 15, clock=clock)
    a.tick(), b.tick()
    clock.now += 15
    a.tick(), b.tick()
    a.stop(release=True)
    assert leases.spec is not None and leases.spec["holderIdentity"] is None
    b.tick()
    clock.now += 1
    b.tick()
    assert b.is_leader and leases.spec["leaseTransitions"] == 1


# ----------------------------------------------------------------------------- the real API server


@pytest.fixture
def electors(kube: ControlPlane, kube_ns: str) -> Iterator[Callable[..., LeaderElector]]:
    """Make electors for one Lease in a fresh namespace; all stopped (without release) at the end."""
    made: list[LeaderElector] = []
    clients: list[client.ApiClient] = []

    def make(identity: str, timeline: Timeline, lease_seconds: int = LEASE_S, name: str = "chatops-leader",
             plane: ControlPlane | None = None) -> LeaderElector:
        api = (plane or kube).api_client()
        clients.append(api)
        started, stopped = timeline.callbacks(identity)
        elector = LeaderElector(
            KubeLeaseStore(api, kube_ns, name), identity, lease_seconds, request_timeout=1.0,
            on_started=started, on_stopped=stopped,
        )
        made.append(elector)
        return elector

    yield make
    for elector in made:
        elector.stop(release=False)
    for api in clients:
        api.close()


def read_lease(kube: ControlPlane, namespace: str, name: str = "chatops-leader") -> Any:
    with kube.api_client() as api:
        return client.CoordinationV1Api(api).read_namespaced_lease(name, namespace)


@pytest.mark.kube
def test_three_replicas_one_leader_and_hand_over_within_the_lease_when_it_dies(
    kube: ControlPlane, kube_ns: str, electors: Callable[..., LeaderElector]
) -> None:
    timeline = Timeline()
    replicas = {name: electors(name, timeline).start() for name in ("bot-a", "bot-b", "bot-c")}
    [leader] = wait_until(timeline.leaders, timeout=LEASE_S + 5)
    time.sleep(LEASE_S)  # a few renewals: still the same single leader
    assert timeline.leaders() == [leader]
    lease = read_lease(kube, kube_ns)
    assert lease.spec.holder_identity == leader and lease.spec.lease_duration_seconds == LEASE_S
    assert lease.spec.renew_time is not None and lease.spec.acquire_time is not None

    killed_at = time.monotonic()
    replicas[leader].stop(release=False)  # as a crash looks from outside: the Lease is left behind
    [(successor, started)] = wait_until(lambda: timeline.started_after(killed_at), timeout=LEASE_S + 5)
    handover = started - killed_at
    print(f"\nhand-over after a crash: {handover:.2f} s (lease {LEASE_S} s)")
    assert successor != leader and handover < LEASE_S + 2
    assert read_lease(kube, kube_ns).spec.lease_transitions == 1
    timeline.assert_no_overlap()


@pytest.mark.kube
def test_a_graceful_stop_releases_the_lease_for_a_quick_hand_over(
    kube_ns: str, electors: Callable[..., LeaderElector]
) -> None:
    timeline = Timeline()
    replicas = {name: electors(name, timeline, lease_seconds=6).start() for name in ("bot-a", "bot-b")}
    [leader] = wait_until(timeline.leaders, timeout=15)
    stopped_at = time.monotonic()
    replicas[leader].stop(release=True)
    [(_, started)] = wait_until(lambda: timeline.started_after(stopped_at), timeout=5)
    assert started - stopped_at < 2.5, "not the 6 s lease: the Lease was released"
    timeline.assert_no_overlap()


@pytest.mark.kube
def test_two_replicas_starting_at_the_same_instant_elect_one(
    kube_ns: str, electors: Callable[..., LeaderElector]
) -> None:
    timeline = Timeline()
    pair = [electors(name, timeline) for name in ("bot-a", "bot-b")]
    barrier = threading.Barrier(2)
    threads = [threading.Thread(target=lambda e=e: (barrier.wait(), e.start())) for e in pair]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wait_until(timeline.leaders, timeout=LEASE_S + 5)
    time.sleep(1.5)
    assert len(timeline.leaders()) == 1 and sum(e.is_leader for e in pair) == 1
    timeline.assert_no_overlap()


@pytest.mark.kube
def test_the_lease_deleted_by_hand_is_recreated_by_its_leader(
    kube: ControlPlane, kube_ns: str, electors: Callable[..., LeaderElector]
) -> None:
    timeline = Timeline()
    for name in ("bot-a", "bot-b", "bot-c"):
        electors(name, timeline).start()
    [leader] = wait_until(timeline.leaders, timeout=LEASE_S + 5)
    time.sleep(1)  # steady state: every replica has seen the Lease (a human is slower than one round trip)
    with kube.api_client() as api:
        client.CoordinationV1Api(api).delete_namespaced_lease("chatops-leader", kube_ns)
    recreated = wait_until(lambda: _holder(kube, kube_ns), timeout=LEASE_S)
    assert recreated == leader, "the holder put it back before anyone else may"
    time.sleep(LEASE_S + 1)
    assert timeline.leaders() == [leader] and len(timeline.intervals) == 1
    timeline.assert_no_overlap()


def _holder(kube: ControlPlane, namespace: str) -> str | None:
    with contextlib.suppress(client.ApiException):
        return str(read_lease(kube, namespace).spec.holder_identity)
    return None


@pytest.mark.kube
def test_the_lease_edited_by_hand_makes_the_leader_step_down_and_nobody_jumps_in_early(
    kube: ControlPlane, kube_ns: str, electors: Callable[..., LeaderElector]
) -> None:
    timeline = Timeline()
    for name in ("bot-a", "bot-b", "bot-c"):
        electors(name, timeline).start()
    wait_until(timeline.leaders, timeout=LEASE_S + 5)
    time.sleep(1)
    with kube.api_client() as api:
        client.CoordinationV1Api(api).patch_namespaced_lease(
            "chatops-leader", kube_ns, {"spec": {"holderIdentity": "someone-by-hand"}}
        )
    edited_at = time.monotonic()
    wait_until(lambda: not timeline.leaders(), timeout=LEASE_S)
    assert time.monotonic() - edited_at < LEASE_S / 3 + 1.5, "stepped down at its next renewal"
    [(successor, started)] = wait_until(lambda: timeline.started_after(edited_at), timeout=LEASE_S + 5)
    assert started - edited_at >= LEASE_S - 0.5, "the hand-written holder is given a whole lease"
    assert _holder(kube, kube_ns) == successor
    timeline.assert_no_overlap()


@pytest.mark.kube
def test_api_server_restarted_mid_lease_leaves_one_leader_and_no_overlap(tmp_path: Path) -> None:
    plane = ControlPlane.start(workdir=tmp_path / "plane", binaries=find_binaries())
    apis: list[client.ApiClient] = []
    replicas: list[LeaderElector] = []
    try:
        namespace = f"t-{uuid.uuid4().hex[:8]}"
        with plane.api_client() as api:
            client.CoreV1Api(api).create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
        timeline = Timeline()
        for name in ("bot-a", "bot-b", "bot-c"):
            api = plane.api_client()
            apis.append(api)
            started, stopped = timeline.callbacks(name)
            replicas.append(LeaderElector(KubeLeaseStore(api, namespace, "chatops-leader"), name, 6,
                                          request_timeout=1.0, on_started=started, on_stopped=stopped).start())
        [leader] = wait_until(timeline.leaders, timeout=12)
        argv = Path(f"/proc/{plane.apiserver.pid}/cmdline").read_bytes().decode().split("\0")[:-1]
        plane.apiserver.terminate()
        plane.apiserver.wait(timeout=20)
        down_at = time.monotonic()
        plane.apiserver = ControlPlane._spawn(argv, plane.apiserver_log)
        ControlPlane._wait_ready(plane.apiserver, plane.url, plane.ca_file, plane.apiserver_log)
        print(f"\nAPI server back after {time.monotonic() - down_at:.1f} s; leader before: {leader}")
        final = wait_until(lambda: timeline.leaders() or None, timeout=15)
        time.sleep(2.5)
        assert timeline.leaders() == final and len(final) == 1
        with plane.api_client() as api:
            lease = client.CoordinationV1Api(api).read_namespaced_lease("chatops-leader", namespace)
        assert lease.spec is not None and lease.spec.holder_identity == final[0]
        timeline.assert_no_overlap()
    finally:
        for elector in replicas:
            elector.stop(release=False)
        for api in apis:
            api.close()
        plane.stop()
