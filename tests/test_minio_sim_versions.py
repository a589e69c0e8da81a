"""The simulator's object versioning, as the real server does it, seen through the `minio` SDK and raw S3 calls.

Versions and delete markers, ListObjectVersions with its markers, GET/HEAD/DELETE with a version id,
CopyObject from a version, versioning off and suspended.
"""

from __future__ import annotations

import io
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from urllib.parse import quote, urlencode, urlsplit

import pytest
import urllib3
from minio import Minio
from minio import time as minio_time
from minio.commonconfig import ENABLED, CopySource
from minio.credentials import Credentials
from minio.error import S3Error
from minio.helpers import sha256_hash
from minio.signer import sign_v4_s3
from minio.versioningconfig import SUSPENDED, VersioningConfig

from sandbox.minio_sim import SimCluster
from tests.fixtures.minio import s3_client, sim_http

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def s3_raw(
    cluster: SimCluster,
    method: str,
    path: str,
    query: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> urllib3.BaseHTTPResponse:
    """A SigV4-signed S3 call with exactly the query and headers given (no SDK in between)."""
    encoded = urlencode(sorted((query or {}).items()), quote_via=quote)
    url = urlsplit(f"{cluster.node_url(1)}{quote(path)}?{encoded}")
    date = minio_time.utcnow()
    content_sha = sha256_hash(b"")
    signing: dict[str, str | list[str] | tuple[str]] = {
        "Host": url.netloc,
        "x-amz-date": minio_time.to_amz_date(date),
        "x-amz-content-sha256": content_sha,
        **(headers or {}),
    }
    signed = sign_v4_s3(
        method=method, url=url, region="us-east-1", headers=signing,
        credentials=Credentials(cluster.access_key, cluster.secret_key), content_sha256=content_sha, date=date,
    )
    return sim_http().request(method, url.geturl(), headers={k: str(v) for k, v in signed.items()})


def versioned_bucket(client: Minio, name: str = "docs") -> str:
    client.make_bucket(name)
    client.set_bucket_versioning(name, VersioningConfig(ENABLED))
    return name


def put(client: Minio, bucket: str, key: str, data: bytes) -> str | None:
    return client.put_object(bucket, key, io.BytesIO(data), len(data)).version_id


def read(client: Minio, bucket: str, key: str, version_id: str | None = None) -> bytes:
    response = client.get_object(bucket, key, version_id=version_id)
    try:
        return bytes(response.read())
    finally:
        response.close()
        response.release_conn()


def versions_of(client: Minio, bucket: str, prefix: str) -> list[tuple[str, str | None, bool, bool]]:
    """(key, version id, is latest, is delete marker) as the SDK lists them, in the server's order.

    The SDK puts a page's delete markers after its versions; the server's order (key, then newest
    first) is restored from the list the SDK gives, which keeps each group in document order.
    """
    listed = list(client.list_objects(bucket, prefix=prefix, include_version=True, recursive=True))
    rows = [(o.object_name or "", o.version_id, str(o.is_latest).lower() == "true", bool(o.is_delete_marker),
             o.last_modified) for o in listed]
    rows.sort(key=lambda r: (r[0], not r[2], -(r[4].timestamp() if r[4] else 0)))
    return [r[:4] for r in rows]


def test_each_put_in_a_versioned_bucket_keeps_a_version_newest_first(minio_cluster: SimCluster) -> None:
    client = s3_client(minio_cluster)
    bucket = versioned_bucket(client)
    first = put(client, bucket, "a.txt", b"one")
    second = put(client, bucket, "a.txt", b"two")
    assert first and second and first != second
    assert client.get_bucket_versioning(bucket).status == "Enabled"
    assert versions_of(client, bucket, "a.txt") == [("a.txt", second, True, False), ("a.txt", first, False, False)]
    assert read(client, bucket, "a.txt") == b"two"
    assert read(client, bucket, "a.txt", first) == b"one"


def test_a_delete_adds_a_marker_the_object_disappears_and_removing_the_marker_brings_it_back(
    minio_cluster: SimCluster,
) -> None:
    client = s3_client(minio_cluster)
    bucket = versioned_bucket(client)
    kept = put(client, bucket, "report.pdf", b"data")
    client.remove_object(bucket, "report.pdf")
    listed = versions_of(client, bucket, "report.pdf")
    assert [(latest, marker) for _, _, latest, marker in listed] == [(True, True), (False, False)]
    marker = listed[0][1]
    with pytest.raises(S3Error) as missing:
        client.stat_object(bucket, "report.pdf")
    assert missing.value.code == "NoSuchKey"
    assert missing.value.response.headers.get("x-amz-delete-marker") == "true"
    assert missing.value.response.headers.get("x-amz-version-id") == marker
    assert [o.object_name for o in client.list_objects(bucket)] == []  # plain listing: gone
    client.remove_object(bucket, "report.pdf", version_id=marker)
    assert read(client, bucket, "report.pdf") == b"data"
    assert versions_of(client, bucket, "report.pdf") == [("report.pdf", kept, True, False)]


def test_get_of_a_delete_marker_by_its_id_is_405_and_an_unknown_or_malformed_id_is_refused(
    minio_cluster: SimCluster,
) -> None:
    client = s3_client(minio_cluster)
    bucket = versioned_bucket(client)
    put(client, bucket, "k", b"x")
    client.remove_object(bucket, "k")
    marker = versions_of(client, bucket, "k")[0][1]
    assert marker is not None
    answer = s3_raw(minio_cluster, "GET", f"/{bucket}/k", {"versionId": marker})
    assert (answer.status, answer.headers.get("x-amz-delete-marker")) == (405, "true")
    assert b"<Code>MethodNotAllowed</Code>" in answer.data
    unknown = s3_raw(minio_cluster, "GET", f"/{bucket}/k", {"versionId": str(uuid.uuid4())})
    assert unknown.status == 404 and b"<Code>NoSuchVersion</Code>" in unknown.data
    malformed = s3_raw(minio_cluster, "GET", f"/{bucket}/k", {"versionId": "not-a-version"})
    assert malformed.status == 400 and b"<Code>InvalidArgument</Code>" in malformed.data
    head = s3_raw(minio_cluster, "HEAD", f"/{bucket}/k", {"versionId": marker})
    assert (head.status, head.data) == (405, b"")


def test_deleting_a_version_removes_only_it_and_the_one_below_becomes_current(minio_cluster: SimCluster) -> None:
    client = s3_client(minio_cluster)
    bucket = versioned_bucket(client)
    v1 = put(client, bucket, "k", b"1")
    v2 = put(client, bucket, "k", b"2")
    client.remove_object(bucket, "k", version_id=v2)
    assert versions_of(client, bucket, "k") == [("k", v1, True, False)]
    assert read(client, bucket, "k") == b"1"


def test_copy_of_an_old_version_to_the_same_key_becomes_the_new_current_version(minio_cluster: SimCluster) -> None:
    client = s3_client(minio_cluster)
    bucket = versioned_bucket(client)
    old = put(client, bucket, "k", b"good")
    put(client, bucket, "k", b"corrupted")
    result = client.copy_object(bucket, "k", CopySource(bucket, "k", version_id=old))
    assert result.version_id and result.version_id != old
    assert read(client, bucket, "k") == b"good"
    assert versions_of(client, bucket, "k")[0][1] == result.version_id
    assert len(versions_of(client, bucket, "k")) == 3  # nothing was lost


def test_copy_names_its_source_version_and_refuses_markers_and_self_copies_without_a_version(
    minio_cluster: SimCluster,
) -> None:
    client = s3_client(minio_cluster)
    bucket = versioned_bucket(client)
    old = put(client, bucket, "k", b"good")
    source = {"x-amz-copy-source": f"/{bucket}/k?versionId={old}"}
    answer = s3_raw(minio_cluster, "PUT", f"/{bucket}/copy", headers=source)
    assert answer.status == 200 and answer.headers.get("x-amz-copy-source-version-id") == old
    assert b"<CopyObjectResult" in answer.data
    itself = s3_raw(minio_cluster, "PUT", f"/{bucket}/k", headers={"x-amz-copy-source": f"/{bucket}/k"})
    assert itself.status == 400 and b"<Code>InvalidRequest</Code>" in itself.data
    client.remove_object(bucket, "k")
    marker = versions_of(client, bucket, "k")[0][1]
    marker_source = {"x-amz-copy-source": f"/{bucket}/k?versionId={marker}"}
    of_marker = s3_raw(minio_cluster, "PUT", f"/{bucket}/x", headers=marker_source)
    assert of_marker.status == 405
    gone = s3_raw(minio_cluster, "PUT", f"/{bucket}/x", headers={"x-amz-copy-source": f"/{bucket}/k"})
    assert gone.status == 404 and b"<Code>NoSuchKey</Code>" in gone.data


def test_version_listing_pages_with_key_and_version_markers_and_stays_inside_the_prefix(
    minio_cluster: SimCluster,
) -> None:
    client = s3_client(minio_cluster)
    bucket = versioned_bucket(client)
    for i in range(5):
        put(client, bucket, "logs/app.log", f"{i}".encode())
    put(client, bucket, "logs/app.log2", b"other key")
    put(client, bucket, "other/file", b"outside the prefix")
    seen: list[tuple[str, str]] = []
    query = {"versions": "", "prefix": "logs/app.log", "max-keys": "2"}
    pages = 0
    while True:
        root = ET.fromstring(s3_raw(minio_cluster, "GET", f"/{bucket}", query).data)  # noqa: S314 - our simulator
        pages += 1
        for entry in root.findall(f"{NS}Version"):
            seen.append((entry.findtext(f"{NS}Key") or "", entry.findtext(f"{NS}IsLatest") or ""))
        if root.findtext(f"{NS}IsTruncated") != "true":
            break
        query = {**query, "key-marker": root.findtext(f"{NS}NextKeyMarker") or "",
                 "version-id-marker": root.findtext(f"{NS}NextVersionIdMarker") or ""}
    assert pages == 3
    assert seen == [("logs/app.log", "true")] + [("logs/app.log", "false")] * 4 + [("logs/app.log2", "true")]


def test_versioning_off_keeps_one_null_version_and_suspended_replaces_only_the_null_one(
    minio_cluster: SimCluster,
) -> None:
    client = s3_client(minio_cluster)
    client.make_bucket("plain")
    put(client, "plain", "k", b"1")
    put(client, "plain", "k", b"2")
    assert versions_of(client, "plain", "k") == [("k", "null", True, False)]
    client.remove_object("plain", "k")
    assert versions_of(client, "plain", "k") == []
    bucket = versioned_bucket(client, "susp")
    kept = put(client, bucket, "k", b"versioned")
    client.set_bucket_versioning(bucket, VersioningConfig(SUSPENDED))
    put(client, bucket, "k", b"null-1")
    put(client, bucket, "k", b"null-2")
    assert versions_of(client, bucket, "k") == [("k", "null", True, False), ("k", kept, False, False)]
    assert read(client, bucket, "k") == b"null-2"


def test_a_bucket_with_only_old_versions_is_not_empty_and_usage_counts_versions_and_markers(
    minio_cluster: SimCluster,
) -> None:
    client = s3_client(minio_cluster)
    bucket = versioned_bucket(client)
    put(client, bucket, "k", b"12345")
    put(client, bucket, "k", b"123")
    client.remove_object(bucket, "k")
    with pytest.raises(S3Error) as refused:
        client.remove_bucket(bucket)
    assert refused.value.code == "BucketNotEmpty"
    minio_cluster.run_scanner()
    usage = minio_cluster.scanner.snapshot.buckets_json
    assert b'"docs":{"size":8,"objectsCount":0,"versionsCount":2,"deleteMarkersCount":1}' in usage


def test_multi_delete_adds_markers_and_deletes_named_versions(minio_cluster: SimCluster) -> None:
    from minio.deleteobjects import DeleteObject

    client = s3_client(minio_cluster)
    bucket = versioned_bucket(client)
    v1 = put(client, bucket, "a", b"a")
    put(client, bucket, "b", b"b")
    errors = list(client.remove_objects(bucket, [DeleteObject("a", v1), DeleteObject("b")]))
    assert errors == []
    assert versions_of(client, bucket, "a") == []
    assert [m for _, _, _, m in versions_of(client, bucket, "b")] == [True, False]
