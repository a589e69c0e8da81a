"""MinioClient calls for data recovery and security response, against the simulator over HTTP.

One page of versions at a time (never the whole bucket), restoring by copy or by deleting a
delete marker, bucket quota, service accounts, and enabling/disabling users.
"""

from __future__ import annotations

import io

import pytest
from minio.commonconfig import ENABLED
from minio.error import S3Error
from minio.versioningconfig import VersioningConfig

from bot.clients import MinioClient, MinioError
from sandbox.minio_sim.cluster import SimCluster
from tests.fixtures.minio import admin_client, s3_client


@pytest.fixture
def mc(minio_cluster: SimCluster) -> MinioClient:
    return MinioClient(minio_cluster.endpoints, minio_cluster.access_key, minio_cluster.secret_key)


def versioned(cluster: SimCluster, name: str = "docs") -> str:
    client = s3_client(cluster)
    client.make_bucket(name)
    client.set_bucket_versioning(name, VersioningConfig(ENABLED))
    return name


def put(cluster: SimCluster, bucket: str, key: str, data: bytes) -> str:
    result = s3_client(cluster).put_object(bucket, key, io.BytesIO(data), len(data))
    return str(result.version_id)


def test_versions_come_one_page_at_a_time_newest_first_with_markers_to_go_on(
    minio_cluster: SimCluster, mc: MinioClient
) -> None:
    bucket = versioned(minio_cluster)
    ids = [put(minio_cluster, bucket, "a/k", f"{i}".encode()) for i in range(3)]
    s3_client(minio_cluster).remove_object(bucket, "a/k")
    first = mc.list_object_versions(bucket, "a/k", max_keys=2)
    assert [(v.delete_marker, v.is_latest) for v in first.versions] == [(True, True), (False, False)]
    assert first.versions[1].version_id == ids[2] and first.truncated
    rest = mc.list_object_versions(bucket, "a/k", key_marker=first.next_key_marker,
                                   version_marker=first.next_version_marker, max_keys=2)
    assert [v.version_id for v in rest.versions] == [ids[1], ids[0]] and not rest.truncated
    assert rest.versions[0].size == 1 and rest.versions[0].last_modified is not None


def test_copying_an_old_version_makes_it_current_and_deleting_a_marker_undeletes(
    minio_cluster: SimCluster, mc: MinioClient
) -> None:
    bucket = versioned(minio_cluster)
    good = put(minio_cluster, bucket, "k", b"good")
    put(minio_cluster, bucket, "k", b"bad")
    copied = mc.copy_object_version(bucket, "k", good)
    assert copied.source_version_id == good and copied.version_id not in (None, good)
    s3 = s3_client(minio_cluster)
    assert s3.get_object(bucket, "k").read() == b"good"
    s3.remove_object(bucket, "k")
    marker = mc.list_object_versions(bucket, "k").versions[0]
    assert marker.delete_marker
    mc.delete_object_version(bucket, "k", marker.version_id)
    assert s3.get_object(bucket, "k").read() == b"good"


def test_a_version_of_another_key_is_not_found(minio_cluster: SimCluster, mc: MinioClient) -> None:
    bucket = versioned(minio_cluster)
    other = put(minio_cluster, bucket, "other", b"x")
    put(minio_cluster, bucket, "k", b"y")
    with pytest.raises(MinioError) as refused:
        mc.copy_object_version(bucket, "k", other)
    assert refused.value.kind == "not_found"  # the SDK stats the source first: a HEAD 404 has no code


def test_quota_is_none_until_set(minio_cluster: SimCluster, mc: MinioClient) -> None:
    s3_client(minio_cluster).make_bucket("quota-test")
    assert mc.bucket_quota("quota-test") is None
    admin_client(minio_cluster).bucket_quota_set("quota-test", 3 << 30)
    quota = mc.bucket_quota("quota-test")
    assert quota is not None and quota.limit == 3 << 30


def test_service_accounts_and_user_status(minio_cluster: SimCluster, mc: MinioClient) -> None:
    accounts = mc.list_service_accounts("backup-agent")
    assert [(a.access_key, a.parent_user, a.enabled) for a in accounts] == [
        ("svc-backup-nightly", "backup-agent", True)
    ]
    assert mc.list_service_accounts("grafana") == []
    mc.set_user_status("grafana", enabled=False)
    assert {u.access_key: u.status for u in mc.list_users()}["grafana"] == "disabled"
    with pytest.raises(S3Error) as refused:
        s3_client(minio_cluster, access_key="grafana", secret_key="sim-grafana-secret").list_buckets()
    assert refused.value.code == "InvalidAccessKeyId"
    mc.set_user_status("grafana", enabled=True)
    s3_client(minio_cluster, access_key="grafana", secret_key="sim-grafana-secret").list_buckets()
    assert mc.signing_user() == minio_cluster.access_key
