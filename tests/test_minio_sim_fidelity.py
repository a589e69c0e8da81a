"""The simulator behaves like the real MinIO server where the bot once went wrong (issue 13)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
import urllib3
from minio.credentials import StaticProvider
from minio.error import MinioAdminException
from minio.minioadmin import MinioAdmin
from urllib3.exceptions import ReadTimeoutError

from sandbox.minio_sim import SimCluster
from tests.fixtures.minio import ClusterFactory, admin_call, admin_client, host_of, sim_http


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def get(cluster: SimCluster, path: str, node: int = 1, **headers: str) -> urllib3.BaseHTTPResponse:
    return sim_http().request("GET", f"{cluster.node_url(node)}{path}", headers=headers or None)


def counters(cluster: SimCluster, node: int) -> dict[str, int]:
    state = json.loads(sim_http().request("GET", f"{cluster.control_url}/state").data)
    return state["nodes"][node - 1]["rejections"]


# ------------------------------------------------------------------------ region


def test_the_sdk_admin_client_with_its_default_empty_region_reads_info(minio_cluster: SimCluster) -> None:
    # No region configured (MinIO's default): any signed region is accepted, the empty one too.
    admin = MinioAdmin(
        endpoint=host_of(minio_cluster),
        credentials=StaticProvider(minio_cluster.access_key, minio_cluster.secret_key),
        secure=False,
        http_client=sim_http(),
    )
    info = json.loads(admin.info())
    assert len(info["servers"]) == 4 and "region" not in info
    assert json.loads(admin_client(minio_cluster, region="eu-west-1").info())["mode"] == "online"


def test_a_configured_region_refuses_other_regions_including_the_empty_one(
    minio_cluster_factory: ClusterFactory,
) -> None:
    cluster = minio_cluster_factory([(4, 2)], region="eu-west-1")
    assert json.loads(admin_client(cluster, region="eu-west-1").info())["region"] == "eu-west-1"
    for wrong in ("", "us-east-1"):
        with pytest.raises(MinioAdminException) as err:
            admin_client(cluster, region=wrong).info()
        assert err.value._code == "400"
        assert json.loads(err.value._body)["Code"] == "AuthorizationHeaderMalformed"


# ------------------------------------------------------------------------ 426 and 501


def test_admin_apis_a_server_does_not_serve_answer_426_before_any_auth(minio_cluster_factory: ClusterFactory) -> None:
    single = minio_cluster_factory([(1, 4)])
    unsigned = get(single, "/minio/admin/v3/top/locks")
    doc = json.loads(unsigned.data)
    assert unsigned.status == 426 and doc["Code"] == "XMinioAdminVersionMismatch"
    assert "not supported by server in 'mode-server-xl'" in doc["Message"]

    cluster = minio_cluster_factory([(4, 2)])
    assert admin_call(cluster, "GET", "top/locks").status == 200  # distributed: served
    assert admin_call(cluster, "GET", "no-such-command").status == 426
    assert admin_call(cluster, "POST", "info").status == 426  # a known route with another method


def test_decommissioning_the_only_pool_is_501_whatever_the_argument(minio_cluster: SimCluster) -> None:
    for pool in ("0", "no-such-pool"):
        resp = admin_call(minio_cluster, "POST", "pools/decommission", {"pool": pool})
        assert resp.status == 501 and json.loads(resp.data)["Code"] == "NotImplemented"


# ------------------------------------------------------------------------ start-up phase


def test_a_starting_node_says_so_instead_of_reporting_quorum(minio_cluster: SimCluster) -> None:
    control = sim_http().request("POST", f"{minio_cluster.control_url}/node/1/starting?seconds=60")
    assert control.status == 200

    cluster_probe = get(minio_cluster, "/minio/health/cluster")
    assert cluster_probe.status == 503
    assert cluster_probe.headers["X-Minio-Server-Status"] == "offline"
    assert "X-Minio-Write-Quorum" not in cluster_probe.headers
    live = get(minio_cluster, "/minio/health/live")
    assert live.status == 200 and live.headers["X-Minio-Server-Status"] == "offline"
    admin = admin_call(minio_cluster, "GET", "info")
    assert admin.status == 503 and json.loads(admin.data)["Code"] == "XMinioServerNotInitialized"
    s3 = get(minio_cluster, "/")
    assert s3.status in (403, 503)  # unsigned; a signed call is 503 below

    # The other nodes serve, and list the starting one as initializing.
    assert get(minio_cluster, "/minio/health/cluster", node=2).status == 200
    states = [s["state"] for s in json.loads(admin_client(minio_cluster, 2).info())["servers"]]
    assert states == ["initializing", "online", "online", "online"]


def test_later_start_up_phases_keep_live_quiet_and_name_the_phase(minio_cluster: SimCluster) -> None:
    minio_cluster.set_starting(2, seconds=60, status="iam-offline")
    probe = get(minio_cluster, "/minio/health/cluster/read", node=2)
    assert probe.status == 503 and probe.headers["X-Minio-Server-Status"] == "iam-offline"
    assert "X-Minio-Server-Status" not in get(minio_cluster, "/minio/health/live", node=2).headers
    bad = sim_http().request("POST", f"{minio_cluster.control_url}/node/2/starting?seconds=1&status=sleepy")
    assert bad.status == 400


def test_startup_seconds_applies_at_start_and_after_every_restart(minio_cluster_factory: ClusterFactory) -> None:
    cluster = minio_cluster_factory([(4, 2)], startup_seconds=0.5)
    assert get(cluster, "/minio/health/cluster").status == 503
    assert wait_for(lambda: get(cluster, "/minio/health/cluster").status == 200)
    cluster.stop_node(3)
    cluster.start_node(3)
    assert get(cluster, "/minio/health/cluster", node=3).headers.get("X-Minio-Server-Status") == "offline"
    assert wait_for(lambda: get(cluster, "/minio/health/cluster", node=3).status == 200)


# ------------------------------------------------------------------------ hung peers


def test_a_hung_peer_holds_admin_info_for_the_peer_timeout_then_is_offline(
    minio_cluster_factory: ClusterFactory,
) -> None:
    cluster = minio_cluster_factory([(4, 2)], peer_timeout_s=1.5)
    cluster.hang_node(3)
    impatient = urllib3.PoolManager(timeout=urllib3.Timeout(connect=1.0, read=0.3), retries=False)
    # A client that gives up before the server's peer wait gets nothing from a healthy node.
    with pytest.raises(ReadTimeoutError):
        admin_call(cluster, "GET", "info", node=1, http=impatient)
    info = json.loads(admin_call(cluster, "GET", "info", node=1, http=sim_http(timeout=5.0)).data)
    offline = info["servers"][2]
    assert offline["state"] == "offline" and "version" not in offline and "uptime" not in offline
    assert {d["state"] for d in offline["drives"]} == {"offline"}
    assert info["backend"]["offlineDisks"] == 2


def test_a_stopped_peer_is_offline_at_once(minio_cluster_factory: ClusterFactory) -> None:
    cluster = minio_cluster_factory([(4, 2)], peer_timeout_s=5.0)
    cluster.stop_node(3)
    impatient = urllib3.PoolManager(timeout=urllib3.Timeout(connect=1.0, read=2.0), retries=False)
    # The connection is refused: nothing to wait for.
    info = json.loads(admin_call(cluster, "GET", "info", node=1, http=impatient).data)
    assert info["servers"][2]["state"] == "offline"


def test_the_real_peer_wait_is_the_default() -> None:
    assert SimCluster().model.peer_timeout_s == 10.0


# ------------------------------------------------------------------------ versions, quorum headers


def test_versions_are_rfc3339_in_info_and_metrics_whatever_form_was_set(minio_cluster: SimCluster) -> None:
    minio_cluster.set_version(2, "RELEASE.2025-10-15T17-29-55Z")
    versions = [s["version"] for s in json.loads(admin_client(minio_cluster).info())["servers"]]
    assert versions == ["2025-09-07T16:13:09Z", "2025-10-15T17:29:55Z", "2025-09-07T16:13:09Z", "2025-09-07T16:13:09Z"]
    token = minio_cluster.prometheus_token()
    text = get(minio_cluster, "/minio/v2/metrics/cluster", Authorization=f"Bearer {token}").data.decode()
    assert 'version="2025-10-15T17:29:55Z"' in text and "RELEASE." not in text


def test_each_probe_sends_only_its_own_quorum_header(minio_cluster: SimCluster) -> None:
    write = get(minio_cluster, "/minio/health/cluster")
    read = get(minio_cluster, "/minio/health/cluster/read")
    assert write.headers["X-Minio-Write-Quorum"] == "5" and "X-Minio-Read-Quorum" not in write.headers
    assert read.headers["X-Minio-Read-Quorum"] == "4" and "X-Minio-Write-Quorum" not in read.headers


# ------------------------------------------------------------------------ rejection counters


def test_rejection_counters_count_what_the_real_server_counts(minio_cluster: SimCluster) -> None:
    url = minio_cluster.node_url(1)
    http = sim_http()
    # An authorization scheme MinIO does not know: rejected_auth.
    unknown = http.request("GET", f"{url}/", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert unknown.status == 400 and b"InvalidRequest" in unknown.data
    # A wrong secret is an ordinary 403: not a "rejected" request.
    assert admin_call(minio_cluster, "GET", "info", secret_key="wrong-secret").status == 403
    # A call no route matches: rejected_invalid, answered 400 BadRequest.
    invalid = http.request("POST", f"{url}/some-bucket/some-key")
    assert invalid.status == 400 and b"BadRequest" in invalid.data
    assert counters(minio_cluster, 1) == {"auth": 1, "invalid": 1, "timestamp": 0, "header": 0}
    assert counters(minio_cluster, 2) == {"auth": 0, "invalid": 0, "timestamp": 0, "header": 0}

    token = minio_cluster.prometheus_token()
    text = get(minio_cluster, "/minio/v2/metrics/cluster", 3, Authorization=f"Bearer {token}").data.decode()
    endpoint = minio_cluster.node_url(1).removeprefix("http://")
    assert f'minio_s3_requests_rejected_auth_total{{server="{endpoint}"}} 1' in text
    assert f'minio_s3_requests_rejected_invalid_total{{server="{endpoint}"}} 1' in text

    # Counters belong to the process: a restart starts them again from zero.
    minio_cluster.stop_node(1)
    minio_cluster.start_node(1)
    assert counters(minio_cluster, 1)["auth"] == 0
