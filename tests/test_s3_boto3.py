"""The simulator's S3 side, checked with boto3: a client written by neither the bot nor the simulator.

boto3 runs in its own environment (.venv-boto3, made by `make setup`; see tests/boto3_client/) and
drives the scenarios in tests/boto3_client/scenarios.py over real HTTP. Each test asserts what a
person restoring data would rely on: the history of a key, the errors a mistake gives, multipart
backups and their ETags, and pages that add up.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest

from bot.clients import MinioClient
from bot.report import Status
from handlers.backup.evaluate import check_object
from sandbox.minio_sim.cluster import SimCluster
from tests.fixtures.minio import s3_client

ROOT = Path(__file__).resolve().parent.parent
BOTO3_PYTHON = ROOT / ".venv-boto3" / "bin" / "python"
SCENARIOS = ROOT / "tests" / "boto3_client" / "scenarios.py"
SCENARIO_TIMEOUT_S = 120.0


def run(cluster: SimCluster, scenario: str, bucket: str) -> dict[str, Any]:
    """Run one boto3 scenario against node 1 of ``cluster`` and return what it observed."""
    if not BOTO3_PYTHON.exists():
        pytest.fail(f"{BOTO3_PYTHON} is missing: run `make setup` (it builds the boto3 environment)", pytrace=False)
    spec = {"endpoint": cluster.node_url(1), "access_key": cluster.access_key, "secret_key": cluster.secret_key,
            "region": cluster.region or "us-east-1", "scenario": scenario, "bucket": bucket}
    done = subprocess.run([str(BOTO3_PYTHON), str(SCENARIOS)], input=json.dumps(spec), capture_output=True,
                          text=True, timeout=SCENARIO_TIMEOUT_S, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_boto3_sees_a_deleted_key_history_and_brings_it_back(minio_cluster: SimCluster) -> None:
    seen = run(minio_cluster, "versions", "restore-story")
    assert seen["delete_marker"] is True
    assert seen["listed_markers"] == [[seen["marker"], True]]
    assert seen["listed_versions"] == [[seen["bad"], False, 3], [seen["good"], False, 4]]
    assert seen["after_delete"] == {"code": "NoSuchKey", "status": 404}
    assert seen["old"] == "good" and seen["undeleted"] == "bad"
    assert seen["copy_source_version"] == seen["good"] and seen["copy_version"] not in (seen["good"], seen["bad"])
    assert seen["current"] == "good"


def test_boto3_gets_the_real_servers_errors_for_restore_mistakes(minio_cluster: SimCluster) -> None:
    seen = run(minio_cluster, "errors", "mistakes")
    assert seen["missing_key"] == {"code": "NoSuchKey", "status": 404}
    assert seen["missing_key_head"] == {"code": "404", "status": 404}  # HEAD has no body: boto3 reports the status
    assert seen["version_of_another_key"] == {"code": "NoSuchVersion", "status": 404}
    assert seen["malformed_version"] == {"code": "InvalidArgument", "status": 400}
    assert seen["missing_bucket"] == {"code": "NoSuchBucket", "status": 404}
    assert seen["bucket_name_too_short"] == {"code": "InvalidBucketName", "status": 400}
    assert seen["unversioned_status"] is None
    assert seen["no_lifecycle"] == {"code": "NoSuchLifecycleConfiguration", "status": 404}
    assert seen["no_object_lock"] == {"code": "ObjectLockConfigurationNotFoundError", "status": 404}
    assert seen["wrong_secret"] == {"code": "SignatureDoesNotMatch", "status": 403}
    assert seen["copy_version_of_another_key"] == {"code": "NoSuchVersion", "status": 404}


def test_boto3_multipart_uploads_ranges_and_the_multipart_rules(minio_cluster: SimCluster) -> None:
    seen = run(minio_cluster, "multipart", "backups")
    assert seen["downloaded_equal"] and seen["content_length"] == seen["size"]
    # 8 MiB parts (s3transfer's default) for a little over 9 MiB: two parts, and an ETag that is no MD5.
    assert seen["etag"].endswith("-2") and seen["etag"].split("-")[0] != seen["md5"]
    assert seen["range_status"] == 206 and seen["content_range"] == f"bytes 100-199/{seen['size']}"
    assert seen["range_equal"] and seen["tail_equal"]
    assert seen["past_end"] == {"code": "InvalidRange", "status": 416}
    assert seen["listed_parts"] == [[1, 1024], [2, 1024]]
    assert seen["too_small"] == {"code": "EntityTooSmall", "status": 400}
    assert seen["wrong_order"] == {"code": "InvalidPartOrder", "status": 400}
    assert seen["wrong_etag"] == {"code": "InvalidPart", "status": 400}
    assert seen["after_abort"] == {"code": "NoSuchUpload", "status": 404}


def test_boto3_checksums_are_checked_echoed_and_returned_on_request(minio_cluster: SimCluster) -> None:
    seen = run(minio_cluster, "checksums", "sums")
    assert seen["default_crc32"] == base64.b64encode(zlib.crc32(b"restore me").to_bytes(4, "big")).decode()
    assert seen["sha256"] == base64.b64encode(hashlib.sha256(b"restore me").digest()).decode()
    assert seen["sha256_back"] == seen["sha256"] and seen["body_back"] == "restore me"
    # boto3 asks for it (x-amz-checksum-mode: ENABLED); a client that does not ask is not sent it.
    plain = s3_client(minio_cluster).get_object("sums", "sha")
    assert "x-amz-checksum-sha256" not in {k.lower() for k in plain.headers} and plain.read() == b"restore me"
    assert seen["wrong"] == {"code": "XAmzContentChecksumMismatch", "status": 400}
    assert seen["wrong_stored"] == {"code": "404", "status": 404}, "a refused body is not stored"
    assert seen["wrong_part"] == {"code": "XAmzContentChecksumMismatch", "status": 400}


def test_boto3_paginators_add_up_to_every_key_and_version(minio_cluster: SimCluster) -> None:
    seen = run(minio_cluster, "paging", "pages")
    assert seen["object_pages"] == [["logs/00", "logs/01", "logs/02"], ["logs/03", "logs/04", "logs/05"], ["logs/06"]]
    assert len(seen["versions"]) == 8
    assert seen["versions"][:2] == [["logs/00", True], ["logs/00", False]]
    assert sorted(k for k, latest in seen["versions"] if latest) == [f"logs/{i:02d}" for i in range(7)]


def test_a_multipart_backup_written_by_boto3_is_verified_by_size_not_md5(minio_cluster: SimCluster) -> None:
    """The bot's backup check reads a boto3 multipart upload back whole and says why it compared no MD5."""
    run(minio_cluster, "multipart", "backups")
    bot = MinioClient(minio_cluster.endpoints, minio_cluster.access_key, minio_cluster.secret_key)
    newest = bot.newest_objects("backups", "backup/", 5, max_keys=100)
    [listed] = newest.objects
    verdict = check_object(listed, bot.read_back("backups", listed.key))
    assert verdict.status is Status.HEALTHY and "multipart" in verdict.detail
    # A smaller backup the minio SDK writes in one part: its ETag is the MD5, and it is compared.
    data = s3_client(minio_cluster).get_object("backups", listed.key).read()[: 1024 * 1024]
    s3_client(minio_cluster).put_object("backups", listed.key, io.BytesIO(data), len(data))
    [single] = bot.newest_objects("backups", "backup/", 5, max_keys=100).objects
    assert single.etag == hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert "checksum matches" in check_object(single, bot.read_back("backups", single.key)).detail


def test_the_scenarios_run_outside_the_bots_environment() -> None:
    """boto3 must not leak into the bot's own environment (its python-dateutil pin conflicts)."""
    assert "boto3" not in sys.modules
    assert BOTO3_PYTHON.parent.parent != Path(sys.prefix)
