"""The MinIO simulator speaks S3, admin and metrics well enough for the real `minio` SDK."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time

import pytest
from minio.deleteobjects import DeleteObject
from minio.error import MinioAdminException, S3Error

from sandbox.minio_sim import SimCluster, make_prometheus_token
from tests.fixtures.minio import ClusterFactory, admin_call, admin_client, s3_client, sim_http

ZERO_TIME = "0001-01-01T00:00:00Z"


# ------------------------------------------------------------------------ S3
def test_s3_round_trip_with_the_sdk(minio_cluster: SimCluster) -> None:
    s3 = s3_client(minio_cluster, node=2)
    s3.make_bucket("photos")
    s3.put_object(
        "photos", "2024/cat 1.jpg", io.BytesIO(b"meow"), 4, content_type="image/jpeg", metadata={"owner": "ops"}
    )

    assert s3.get_object("photos", "2024/cat 1.jpg").read() == b"meow"
    stat = s3.stat_object("photos", "2024/cat 1.jpg")
    assert (stat.size, stat.content_type) == (4, "image/jpeg")
    assert stat.metadata is not None and stat.metadata["x-amz-meta-owner"] == "ops"
    assert stat.last_modified is not None and abs(time.time() - stat.last_modified.timestamp()) < 60
    assert [b.name for b in s3.list_buckets()] == ["photos"]

    # Any node serves the same data: one cluster model behind every port.
    assert s3_client(minio_cluster, node=4).get_object("photos", "2024/cat 1.jpg").read() == b"meow"

    s3.remove_object("photos", "2024/cat 1.jpg")
    with pytest.raises(S3Error) as err:
        s3.stat_object("photos", "2024/cat 1.jpg")
    assert err.value.code == "NoSuchKey"
    s3.put_object("photos", "tmp/1", io.BytesIO(b"1"), 1)
    assert list(s3.remove_objects("photos", [DeleteObject("tmp/1")])) == []  # multi-object delete
    s3.remove_bucket("photos")
    assert not s3.bucket_exists("photos")


def test_list_objects_prefix_delimiter_and_continuation(minio_cluster: SimCluster) -> None:
    s3 = s3_client(minio_cluster)
    s3.make_bucket("logs")
    keys = [f"app/{i:02d}.log" for i in range(7)] + ["db/0.log", "top.txt"]
    for key in keys:
        s3.put_object("logs", key, io.BytesIO(b"x"), 1)

    assert [o.object_name for o in s3.list_objects("logs", recursive=True)] == sorted(keys)
    assert sorted(o.object_name for o in s3.list_objects("logs")) == ["app/", "db/", "top.txt"]
    assert [o.object_name for o in s3.list_objects("logs", prefix="app/0", recursive=True)] == keys[:7]
    # max-keys=2 forces four continuation round trips; the SDK must still see every key once.
    paged = [o.object_name for o in s3._list_objects("logs", max_keys=2, prefix="app/")]
    assert paged == keys[:7]
    listed = next(iter(s3.list_objects("logs", prefix="top")))
    assert listed.last_modified is not None and listed.size == 1


def test_bucket_policy_versioning_and_object_lock(minio_cluster: SimCluster) -> None:
    s3 = s3_client(minio_cluster)
    s3.make_bucket("web")
    s3.make_bucket("vault", object_lock=True)

    with pytest.raises(S3Error) as err:
        s3.get_bucket_policy("web")
    assert err.value.code == "NoSuchBucketPolicy"
    assert s3.get_bucket_versioning("web").status is None  # never enabled
    with pytest.raises(S3Error) as err:
        s3.get_object_lock_config("web")
    assert err.value.code == "ObjectLockConfigurationNotFoundError"

    assert s3.get_bucket_versioning("vault").status == "Enabled"
    assert s3.get_object_lock_config("vault").mode is None  # enabled, no default retention

    minio_cluster.set_bucket_public("web")
    policy = json.loads(s3.get_bucket_policy("web"))
    assert any(s["Principal"] == {"AWS": ["*"]} and "s3:GetObject" in s["Action"] for s in policy["Statement"])


def test_anonymous_read_only_works_on_a_public_bucket(minio_cluster: SimCluster) -> None:
    s3 = s3_client(minio_cluster)
    s3.make_bucket("web")
    s3.put_object("web", "index.html", io.BytesIO(b"<h1>hi</h1>"), 11)
    http = sim_http()
    url = f"{minio_cluster.node_url(1)}/web/index.html"

    denied = http.request("GET", url)
    assert denied.status == 403 and b"<Code>AccessDenied</Code>" in denied.data
    minio_cluster.set_bucket_public("web")
    assert http.request("GET", url).data == b"<h1>hi</h1>"


def test_wrong_credentials_are_rejected_s3_style(minio_cluster: SimCluster) -> None:
    with pytest.raises(S3Error) as err:
        s3_client(minio_cluster, secret_key="not-the-secret").list_buckets()
    assert (err.value.code, err.value.response.status) == ("SignatureDoesNotMatch", 403)

    with pytest.raises(S3Error) as err:
        s3_client(minio_cluster, access_key="nobody").list_buckets()
    assert (err.value.code, err.value.response.status) == ("InvalidAccessKeyId", 403)


def test_put_without_write_quorum_is_503_slow_down(minio_cluster: SimCluster) -> None:
    s3 = s3_client(minio_cluster)
    s3.make_bucket("data")
    minio_cluster.stop_node(3)
    minio_cluster.stop_node(4)  # 4 of 8 drives left, write quorum is 5

    with pytest.raises(S3Error) as err:
        s3.put_object("data", "k", io.BytesIO(b"v"), 1)
    assert (err.value.code, err.value.response.status) == ("SlowDownWrite", 503)


def test_full_drives_refuse_writes_once_quorum_of_space_is_gone(minio_cluster: SimCluster) -> None:
    s3 = s3_client(minio_cluster)
    s3.make_bucket("data")
    minio_cluster.disk_full(2)
    s3.put_object("data", "still-fits", io.BytesIO(b"v"), 1)  # 6 drives with space >= write quorum 5

    minio_cluster.disk_full(3)
    with pytest.raises(S3Error) as err:
        s3.put_object("data", "no-room", io.BytesIO(b"v"), 1)
    assert (err.value.code, err.value.response.status) == ("XMinioStorageFull", 507)
    info = json.loads(admin_client(minio_cluster).info())
    full = [d["availspace"] for s in info["servers"][1:3] for d in s["drives"]]
    assert full == [0, 0, 0, 0]


# --------------------------------------------------------------------- admin
def test_admin_info_reports_configured_nodes_and_drives(minio_cluster_factory: ClusterFactory) -> None:
    cluster = minio_cluster_factory([(4, 2), (2, 4)], drive_size=1 << 30, region="us-east-1")
    info = json.loads(admin_client(cluster).info())

    assert info["mode"] == "online" and info["region"] == "us-east-1"
    assert info["backend"]["backendType"] == "Erasure"
    assert info["backend"]["totalSets"] == [1, 1]
    assert info["backend"]["totalDrivesPerSet"] == [8, 8]
    assert (info["backend"]["onlineDisks"], info["backend"]["offlineDisks"]) == (16, 0)
    assert info["backend"]["standardSCParity"] == 4
    servers = info["servers"]
    assert [s["endpoint"] for s in servers] == [e.removeprefix("http://") for e in cluster.endpoints]
    assert [s["poolNumber"] for s in servers] == [0, 0, 0, 0, 1, 1]
    assert [len(s["drives"]) for s in servers] == [2, 2, 2, 2, 4, 4]
    first = servers[0]
    assert first["state"] == "online" and first["version"] == "2025-09-07T16:13:09Z"  # RFC 3339, not the tag
    assert len(first["commitID"]) == 40 and set(first["network"].values()) == {"online"}
    # The leak the bot must redact is really there.
    assert first["minio_env_vars"]["MINIO_ROOT_PASSWORD"] == cluster.secret_key
    drive = first["drives"][0]
    assert drive["state"] == "ok" and drive["totalspace"] == 1 << 30
    assert drive["usedspace"] + drive["availspace"] == drive["totalspace"]
    assert {(d["pool_index"], d["set_index"]) for s in servers for d in s["drives"]} == {(0, 0), (1, 0)}
    assert {"rawCapacity", "rawUsage", "usage"} <= set(info["pools"]["1"]["0"])
    assert info["pools"]["0"]["0"]["rawCapacity"] == 8 << 30


def test_user_list_response_is_encrypted_and_the_sdk_decrypts_it(minio_cluster: SimCluster) -> None:
    raw = admin_call(minio_cluster, "GET", "list-users")
    assert raw.status == 200 and b"policyName" not in raw.data  # sio/DARE ciphertext on the wire

    users = json.loads(admin_client(minio_cluster).user_list())
    assert users["backup-agent"] == {"policyName": "readwrite", "status": "enabled"}
    assert users["old-ci"]["status"] == "disabled"


def test_admin_auth_errors_use_minio_json_shape(minio_cluster_factory: ClusterFactory) -> None:
    cluster = minio_cluster_factory([(4, 2)], region="us-east-1")
    with pytest.raises(MinioAdminException) as err:
        admin_client(cluster, secret_key="wrong").info()
    assert err.value._code == "403"
    assert json.loads(err.value._body)["Code"] == "SignatureDoesNotMatch"

    # A server with a region configured refuses requests signed for another one.
    with pytest.raises(MinioAdminException) as err:
        admin_client(cluster, region="eu-west-1").info()
    assert err.value._code == "400"
    assert json.loads(err.value._body)["Code"] == "AuthorizationHeaderMalformed"


def test_account_info_and_policies(minio_cluster: SimCluster) -> None:
    s3_client(minio_cluster).make_bucket("reports")
    admin = admin_client(minio_cluster)
    account = json.loads(admin.account_info())
    assert account["AccountName"] == "simadmin"
    assert [b["name"] for b in account["Buckets"]] == ["reports"]
    assert "readwrite" in json.loads(admin.policy_list())


def test_top_locks_is_426_on_a_single_node_and_a_list_when_distributed(
    minio_cluster_factory: ClusterFactory,
) -> None:
    single = minio_cluster_factory([(1, 4)])
    with pytest.raises(MinioAdminException) as err:
        admin_client(single).top_locks()
    # A single server does not register the lock API: MinIO's router answers 426, not 404.
    assert err.value._code == "426"
    assert json.loads(err.value._body)["Code"] == "XMinioAdminVersionMismatch"

    cluster = minio_cluster_factory([(4, 2)])
    assert json.loads(admin_client(cluster).top_locks()) == []
    cluster.add_lock("photos/2024/cat.jpg", age_seconds=600)
    (lock,) = json.loads(admin_client(cluster).top_locks())
    assert lock["resource"] == "photos/2024/cat.jpg" and lock["elapsed"] >= 600 * 10**9


def test_service_restart_dry_run_names_every_peer(minio_cluster: SimCluster) -> None:
    minio_cluster.stop_node(4)
    before = json.loads(admin_client(minio_cluster).info())["servers"][0]["uptime"]
    resp = admin_call(minio_cluster, "POST", "service", {"action": "restart", "type": "2", "dry-run": "true"})
    doc = json.loads(resp.data)
    assert resp.status == 200 and doc["dryRun"] is True and doc["action"] == "restart"
    assert [r.get("err", "") for r in doc["results"]] == ["", "", "", "node is offline"]
    assert json.loads(admin_client(minio_cluster).info())["servers"][0]["uptime"] >= before


def test_service_restart_bounces_online_nodes(minio_cluster: SimCluster) -> None:
    def started_at() -> list[float]:
        return [float(n["started_at"]) for n in minio_cluster.state()["nodes"]]  # type: ignore[index]

    before = started_at()
    resp = admin_call(minio_cluster, "POST", "service", {"action": "restart", "type": "2"})
    assert resp.status == 200 and json.loads(resp.data)["dryRun"] is False
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and not all(a > b for a, b in zip(started_at(), before, strict=True)):
        time.sleep(0.02)
    assert all(a > b for a, b in zip(started_at(), before, strict=True))
    assert sim_http().request("GET", f"{minio_cluster.node_url(4)}/minio/health/live").status == 200


# ------------------------------------------------------------------ scanner
def test_data_usage_lags_until_the_first_scanner_cycle(minio_cluster_factory: ClusterFactory) -> None:
    cluster = minio_cluster_factory(scanner_interval=3600)
    s3 = s3_client(cluster)
    s3.make_bucket("logs")
    s3.put_object("logs", "a", io.BytesIO(b"12345"), 5)
    admin = admin_client(cluster)

    before = json.loads(admin.get_data_usage_info())
    assert before["lastUpdate"] == ZERO_TIME
    assert (before["objectsCount"], before["bucketsCount"]) == (0, 0)

    cluster.run_scanner()
    after = json.loads(admin.get_data_usage_info())
    assert after["lastUpdate"] != ZERO_TIME
    assert (after["objectsCount"], after["objectsTotalSize"], after["bucketsCount"]) == (1, 5, 1)
    assert after["bucketsUsageInfo"]["logs"]["size"] == 5
    info = json.loads(admin.info())
    assert (info["buckets"]["count"], info["objects"]["count"], info["usage"]["size"]) == (1, 1, 5)


def test_background_scanner_publishes_on_its_own(minio_cluster_factory: ClusterFactory) -> None:
    cluster = minio_cluster_factory(scanner_interval=0.1)
    cluster.set_usage({"archive": (10**12, 5_000_000)})
    admin = admin_client(cluster)
    deadline = time.monotonic() + 3
    usage = json.loads(admin.get_data_usage_info())
    while usage["lastUpdate"] == ZERO_TIME and time.monotonic() < deadline:
        time.sleep(0.05)
        usage = json.loads(admin.get_data_usage_info())
    assert usage["bucketsUsageInfo"]["archive"] == {
        "size": 10**12,
        "objectsCount": 5_000_000,
        "versionsCount": 5_000_000,
        "deleteMarkersCount": 0,
    }


# ------------------------------------------------------------------ metrics
def test_metrics_need_a_valid_prometheus_jwt(minio_cluster: SimCluster) -> None:
    http = sim_http()
    url = f"{minio_cluster.node_url(1)}/minio/v2/metrics/cluster"
    assert http.request("GET", url).status == 403
    forged = make_prometheus_token(minio_cluster.access_key, "not-the-secret")
    assert http.request("GET", url, headers={"Authorization": f"Bearer {forged}"}).status == 403
    expired = make_prometheus_token(minio_cluster.access_key, minio_cluster.secret_key, expiry_seconds=-5)
    assert http.request("GET", url, headers={"Authorization": f"Bearer {expired}"}).status == 403

    minio_cluster.stop_node(4)
    resp = http.request("GET", url, headers={"Authorization": f"Bearer {minio_cluster.prometheus_token()}"})
    assert resp.status == 200
    text = resp.data.decode()
    server = minio_cluster.node_url(1).removeprefix("http://")
    assert f'minio_cluster_nodes_offline_total{{server="{server}"}} 1' in text
    assert f'minio_cluster_drive_offline_total{{server="{server}"}} 2' in text
    assert f'minio_cluster_write_quorum{{server="{server}"}} 5' in text
    assert f'minio_cluster_health_status{{server="{server}"}} 1' in text
    for name in (
        "minio_cluster_capacity_raw_total_bytes",
        "minio_cluster_capacity_usable_free_bytes",
        "minio_heal_objects_errors_total",
    ):
        assert f"# TYPE {name} " in text


def test_public_metrics_and_bucket_usage(minio_cluster_factory: ClusterFactory) -> None:
    cluster = minio_cluster_factory(prometheus_auth="public")
    cluster.set_usage({"backups": (7 << 30, 12)})
    cluster.run_scanner()
    resp = sim_http().request("GET", f"{cluster.node_url(2)}/minio/v2/metrics/bucket")
    assert resp.status == 200
    server = cluster.node_url(2).removeprefix("http://")
    assert f'minio_bucket_usage_total_bytes{{bucket="backups",server="{server}"}} {7 << 30}' in resp.data.decode()
    assert f'minio_bucket_usage_object_total{{bucket="backups",server="{server}"}} 12' in resp.data.decode()


def test_capacity_metrics_count_only_data_drives_as_usable(minio_cluster_factory: ClusterFactory) -> None:
    cluster = minio_cluster_factory(prometheus_auth="public", drive_size=1 << 30)
    text = sim_http().request("GET", f"{cluster.node_url(1)}/minio/v2/metrics/cluster").data.decode()
    values = {
        line.split("{")[0]: int(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("minio_cluster_capacity_")
    }
    assert values["minio_cluster_capacity_raw_total_bytes"] == 8 << 30
    assert values["minio_cluster_capacity_usable_total_bytes"] == 4 << 30  # EC:4 of 8


# ---------------------------------------------------------------------- CLI
def test_cli_prints_its_endpoints_and_serves_until_sigterm() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox.minio_sim",
            "--pool",
            "2x2",
            "--pool",
            "2x2",
            "--scanner-interval",
            "1",
            "--prometheus-auth",
            "public",
            "--drive-size",
            "10Gi",
            "--demo-data",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = json.loads(proc.stdout.readline())
        assert line["pid"] == proc.pid and len(line["endpoints"]) == 4
        http = sim_http()
        assert http.request("GET", f"{line['endpoints'][3]}/minio/health/cluster").status == 200
        state = json.loads(http.request("GET", f"{line['control_url']}/state").data)
        assert [p["set_size"] for p in state["pools"]] == [4, 4]
        assert state["buckets"] == 6  # backups, logs, ml-datasets, web-assets, probe, documents
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
