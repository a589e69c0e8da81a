"""Fault injection: the simulator's health, admin and S3 answers follow quorum math and node/drive faults."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
import urllib3
from urllib3.exceptions import NewConnectionError, ReadTimeoutError

from sandbox.minio_sim import SimCluster
from tests.fixtures.minio import ClusterFactory, admin_call, admin_client, s3_client, sim_http


def health(cluster: SimCluster, probe: str, node: int = 1) -> urllib3.BaseHTTPResponse:
    return sim_http().request("GET", f"{cluster.node_url(node)}/minio/health/{probe}")


def wait_for(predicate: Callable[[], bool], timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def drive_doc(cluster: SimCluster, node: int, drive: int, *, ask: int = 1) -> dict[str, object]:
    info = json.loads(admin_client(cluster, ask).info())
    return dict(info["servers"][node - 1]["drives"][drive - 1])


# --------------------------------------------------------------- quorum
@pytest.mark.parametrize(
    ("pools", "parity", "down", "cluster_status", "read_status", "write_quorum", "read_quorum"),
    [
        # 4 x 2 = one set of 8, EC:4 -> write quorum 5, read quorum 4 (the facts' example)
        ([(4, 2)], None, 0, 200, 200, 5, 4),
        ([(4, 2)], None, 1, 200, 200, 5, 4),
        ([(4, 2)], None, 2, 503, 200, 5, 4),
        ([(4, 2)], None, 3, 503, 503, 5, 4),
        # 4 x 4 = one set of 16, EC:4 -> 12/12: one node down leaves exactly 12
        ([(4, 4)], None, 1, 200, 200, 12, 12),
        ([(4, 4)], None, 2, 503, 503, 12, 12),
        # 4 x 8 = two sets of 16, four drives of each set per node
        ([(4, 8)], None, 1, 200, 200, 12, 12),
        ([(4, 8)], None, 2, 503, 503, 12, 12),
        # 4 x 6 = two sets of 12, EC:4 -> 8/8, three drives of each set per node
        ([(4, 6)], None, 1, 200, 200, 8, 8),
        ([(4, 6)], None, 2, 503, 503, 8, 8),
        # 2 x 2 = one set of 4, EC:2: data == parity, so write quorum is data + 1
        ([(2, 2)], None, 1, 503, 200, 3, 2),
        # EC:2 override on 4 x 2: 6 data drives -> 6/6
        ([(4, 2)], 2, 1, 200, 200, 6, 6),
        ([(4, 2)], 2, 2, 503, 503, 6, 6),
        # every set of every pool must hold: losing half of pool 1 breaks the cluster
        ([(4, 2), (2, 2)], None, 0, 200, 200, 5, 4),
        ([(2, 2), (4, 2)], None, 1, 503, 200, 5, 4),
    ],
)
def test_cluster_health_follows_quorum_math(
    minio_cluster_factory: ClusterFactory,
    pools: list[tuple[int, int]],
    parity: int | None,
    down: int,
    cluster_status: int,
    read_status: int,
    write_quorum: int,
    read_quorum: int,
) -> None:
    cluster = minio_cluster_factory(pools, storage_class_parity=parity)
    ask = len(cluster.endpoints)  # the last node stays up; nodes 1..down are stopped
    for n in range(1, down + 1):
        cluster.stop_node(n)

    write = health(cluster, "cluster", ask)
    read = health(cluster, "cluster/read", ask)
    assert (write.status, read.status) == (cluster_status, read_status)
    assert write.headers["X-Minio-Write-Quorum"] == str(write_quorum)
    assert read.headers["X-Minio-Read-Quorum"] == str(read_quorum)
    assert write.headers["X-Minio-Storage-Class-Defaults"] == ("true" if parity is None else "false")
    assert write.data == b"" and health(cluster, "live", ask).status == 200


def test_maintenance_asks_whether_this_node_may_go_down(minio_cluster: SimCluster) -> None:
    assert health(minio_cluster, "cluster?maintenance=true", 1).status == 200  # 6 of 8 left >= 5

    minio_cluster.stop_node(2)
    assert health(minio_cluster, "cluster", 1).status == 200
    refused = health(minio_cluster, "cluster?maintenance=true", 1)
    assert refused.status == 412  # 4 of 8 would be left: maintenance answers 412, not 503


def test_maintenance_fails_while_a_drive_heals(minio_cluster: SimCluster) -> None:
    minio_cluster.drive_replace(3, 1, heal_seconds=60, format_seconds=0)
    resp = health(minio_cluster, "cluster?maintenance=true", 1)
    assert resp.status == 412 and resp.headers["X-Minio-Healing-Drives"] == "1"
    assert health(minio_cluster, "cluster", 1).status == 200


# ---------------------------------------------------------- node faults
def test_stopped_node_refuses_and_peers_report_it_offline(minio_cluster: SimCluster) -> None:
    minio_cluster.stop_node(2)
    with pytest.raises(NewConnectionError):
        health(minio_cluster, "live", 2)

    info = json.loads(admin_client(minio_cluster, 3).info())
    node2 = info["servers"][1]
    assert node2["state"] == "offline"
    assert [d["state"] for d in node2["drives"]] == ["offline", "offline"]
    assert info["backend"]["offlineDisks"] == 2
    assert info["servers"][0]["network"][node2["endpoint"]] == "offline"

    minio_cluster.start_node(2)
    assert health(minio_cluster, "live", 2).status == 200
    assert json.loads(admin_client(minio_cluster, 2).info())["backend"]["offlineDisks"] == 0


def test_hung_node_accepts_but_never_answers(minio_cluster: SimCluster) -> None:
    minio_cluster.hang_node(3)
    quick = urllib3.PoolManager(timeout=urllib3.Timeout(connect=1.0, read=0.3), retries=False)
    with pytest.raises(ReadTimeoutError):
        quick.request("GET", f"{minio_cluster.node_url(3)}/minio/health/live")
    assert json.loads(admin_client(minio_cluster, 1).info())["servers"][2]["state"] == "offline"

    minio_cluster.start_node(3)
    assert health(minio_cluster, "live", 3).status == 200


def test_injected_latency_slows_every_node(minio_cluster: SimCluster) -> None:
    http = sim_http()
    http.request("GET", f"{minio_cluster.node_url(1)}/minio/health/live")  # warm the connection
    minio_cluster.set_latency(150)
    for node in (1, 4):
        started = time.perf_counter()
        assert http.request("GET", f"{minio_cluster.node_url(node)}/minio/health/live").status == 200
        assert time.perf_counter() - started >= 0.15
    minio_cluster.set_latency(0)
    started = time.perf_counter()
    http.request("GET", f"{minio_cluster.node_url(1)}/minio/health/live")
    assert time.perf_counter() - started < 0.15


def test_version_skew_is_per_node(minio_cluster: SimCluster) -> None:
    minio_cluster.set_version(4, "RELEASE.2025-10-15T17-29-55Z")
    versions = [s["version"] for s in json.loads(admin_client(minio_cluster).info())["servers"]]
    assert versions == ["2025-09-07T16:13:09Z"] * 3 + ["2025-10-15T17:29:55Z"]  # reported as RFC 3339


# --------------------------------------------------------- drive faults
def test_offline_drive_is_counted(minio_cluster: SimCluster) -> None:
    minio_cluster.drive_offline(2, 2)
    info = json.loads(admin_client(minio_cluster).info())
    assert (info["backend"]["onlineDisks"], info["backend"]["offlineDisks"]) == (7, 1)
    assert info["servers"][1]["drives"][1]["state"] == "offline"


def test_replaced_drive_goes_unformatted_then_heals(minio_cluster: SimCluster) -> None:
    old_uuid = drive_doc(minio_cluster, 2, 1)["uuid"]
    minio_cluster.drive_replace(2, 1, heal_seconds=0.6, format_seconds=0.8)

    fresh = drive_doc(minio_cluster, 2, 1)
    assert fresh["state"] == "unformatted" and fresh["uuid"] != old_uuid
    assert wait_for(lambda: drive_doc(minio_cluster, 2, 1)["healing"] is True)
    heal = json.loads(admin_call(minio_cluster, "POST", "background-heal/status").data)
    assert heal["HealDisks"] == [drive_doc(minio_cluster, 2, 1)["endpoint"]]
    assert wait_for(lambda: drive_doc(minio_cluster, 2, 1)["healing"] is False)
    assert drive_doc(minio_cluster, 2, 1)["state"] == "ok"
    assert json.loads(admin_call(minio_cluster, "POST", "background-heal/status").data)["HealDisks"] == []


# --------------------------------------------------------- decommission
def _pool_status(cluster: SimCluster, cmdline: str) -> dict[str, object]:
    resp = admin_call(cluster, "GET", "pools/status", {"pool": cmdline})
    assert resp.status == 200, resp.data
    return dict(json.loads(resp.data))


def test_decommission_progresses_to_completion(minio_cluster_factory: ClusterFactory) -> None:
    cluster = minio_cluster_factory([(4, 2), (4, 2)], decommission_seconds=0.8, drive_size=1 << 34)
    s3 = s3_client(cluster)
    s3.make_bucket("keep")
    cluster.set_usage({"keep": (1 << 30, 1000)})
    pools = json.loads(admin_call(cluster, "GET", "pools/list").data)
    assert [p["id"] for p in pools] == [0, 1] and "decommissionInfo" not in pools[1]
    second = pools[1]["cmdline"]

    assert admin_call(cluster, "POST", "pools/decommission", {"pool": second}).status == 200
    info = _pool_status(cluster, second)["decommissionInfo"]
    assert isinstance(info, dict) and not info["complete"] and info["totalSize"] == 8 << 34
    assert wait_for(lambda: _pool_status(cluster, second)["decommissionInfo"]["complete"] is True)  # type: ignore[index]
    usage = json.loads(admin_client(cluster).info())["pools"]
    assert usage["1"]["0"]["usage"] == 0 and usage["0"]["0"]["usage"] == 1 << 30

    again = admin_call(cluster, "POST", "pools/decommission", {"pool": second})
    assert again.status == 400 and json.loads(again.data)["Code"] == "XMinioDecommissionNotAllowed"


def test_decommission_failure_injected_midway_and_cancel(minio_cluster_factory: ClusterFactory) -> None:
    cluster = minio_cluster_factory([(4, 2), (4, 2), (4, 2)], decommission_seconds=0.8)
    # Arm the failure through the control port before the run starts.
    armed = sim_http().request("POST", f"{cluster.control_url}/decommission/fail?pool=1")
    assert armed.status == 200
    assert admin_call(cluster, "POST", "pools/decommission", {"pool": "1"}).status == 200
    assert wait_for(lambda: _pool_status(cluster, "1")["decommissionInfo"]["failed"] is True)  # type: ignore[index]
    failed = _pool_status(cluster, "1")["decommissionInfo"]
    assert isinstance(failed, dict) and failed["complete"] is False and failed["objectsDecommissionedFailed"] > 0

    cluster3 = json.loads(admin_call(cluster, "GET", "pools/list").data)[2]["cmdline"]
    assert admin_call(cluster, "POST", "pools/decommission", {"pool": cluster3}).status == 200
    assert admin_call(cluster, "POST", "pools/cancel", {"pool": cluster3}).status == 200
    canceled = _pool_status(cluster, cluster3)["decommissionInfo"]
    assert isinstance(canceled, dict) and canceled["canceled"] is True


def test_single_pool_cannot_be_decommissioned(minio_cluster: SimCluster) -> None:
    resp = admin_call(minio_cluster, "POST", "pools/decommission", {"pool": "0"})
    assert resp.status == 501 and json.loads(resp.data)["Code"] == "NotImplemented"
    unknown = admin_call(minio_cluster, "GET", "pools/status", {"pool": "http://elsewhere/{1...4}"})
    assert unknown.status == 400


# ---------------------------------------------------------- control port
def test_control_port_drives_the_same_faults(minio_cluster: SimCluster) -> None:
    http = sim_http()
    control = minio_cluster.control_url
    assert http.request("POST", f"{control}/node/2/stop").status == 200
    assert http.request("POST", f"{control}/drive/1/1/offline").status == 200
    assert http.request("POST", f"{control}/latency?ms=5").status == 200
    body = json.dumps({"backups": {"size": 5 << 30, "objects": 42}}).encode()
    assert http.request("POST", f"{control}/usage", body=body).status == 200
    assert http.request("POST", f"{control}/scanner/run").status == 200

    state = json.loads(http.request("GET", f"{control}/state").data)
    assert state["nodes"][1]["state"] == "stopped" and state["nodes"][0]["drives"][0]["state"] == "offline"
    assert state["latency_ms"] == 5 and state["buckets"] == 1
    assert state["health"] == {
        "cluster": True,
        "cluster_read": True,
        "write_quorum": 5,
        "read_quorum": 4,
        "healing_drives": 0,
    }
    assert http.request("POST", f"{control}/node/9/stop").status == 404
    assert http.request("POST", f"{control}/version").status == 400

    assert http.request("POST", f"{control}/reset").status == 200
    state = json.loads(http.request("GET", f"{control}/state").data)
    assert {n["state"] for n in state["nodes"]} == {"online"}
    assert state["buckets"] == 0 and state["scanner"]["last_update"] == "0001-01-01T00:00:00Z"
    assert health(minio_cluster, "live", 2).status == 200
