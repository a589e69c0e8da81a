"""S3 scenarios driven by boto3 (run in .venv-boto3, not in the bot's environment).

Reads one JSON object on stdin: ``{"endpoint", "access_key", "secret_key", "region", "scenario", "bucket"}``,
runs the named scenario with boto3's defaults (SigV4, its default checksums, s3transfer's multipart
thresholds) and prints what it observed as one JSON object. The pytest side (tests/test_s3_boto3.py)
asserts on it. Only the standard library and boto3 are imported here.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
from collections.abc import Callable
from typing import Any

import boto3  # type: ignore[import-not-found]
from botocore.config import Config  # type: ignore[import-not-found]
from botocore.exceptions import ClientError  # type: ignore[import-not-found]

MiB = 1024 * 1024


def error_of(call: Callable[[], Any]) -> dict[str, Any]:
    """The S3 error code and HTTP status a call fails with (``{"ok": True}`` when it does not fail)."""
    try:
        call()
    except ClientError as exc:
        return {"code": exc.response["Error"].get("Code"), "status": exc.response["ResponseMetadata"]["HTTPStatusCode"]}
    return {"ok": True}


def versions(s3: Any, bucket: str) -> dict[str, Any]:
    """The restore story: a key overwritten and deleted, its history listed, then brought back."""
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    good = s3.put_object(Bucket=bucket, Key="docs/report.pdf", Body=b"good")["VersionId"]
    bad = s3.put_object(Bucket=bucket, Key="docs/report.pdf", Body=b"bad")["VersionId"]
    deleted = s3.delete_object(Bucket=bucket, Key="docs/report.pdf")
    listing = s3.list_object_versions(Bucket=bucket, Prefix="docs/report.pdf")
    after_delete = error_of(lambda: s3.get_object(Bucket=bucket, Key="docs/report.pdf"))
    old = s3.get_object(Bucket=bucket, Key="docs/report.pdf", VersionId=good)["Body"].read().decode()
    s3.delete_object(Bucket=bucket, Key="docs/report.pdf", VersionId=deleted["VersionId"])
    undeleted = s3.get_object(Bucket=bucket, Key="docs/report.pdf")["Body"].read().decode()
    copied = s3.copy_object(Bucket=bucket, Key="docs/report.pdf",
                            CopySource={"Bucket": bucket, "Key": "docs/report.pdf", "VersionId": good})
    current = s3.get_object(Bucket=bucket, Key="docs/report.pdf")["Body"].read().decode()
    return {
        "good": good, "bad": bad, "marker": deleted["VersionId"], "delete_marker": deleted.get("DeleteMarker"),
        "listed_versions": [[v["VersionId"], v["IsLatest"], v["Size"]] for v in listing.get("Versions", [])],
        "listed_markers": [[m["VersionId"], m["IsLatest"]] for m in listing.get("DeleteMarkers", [])],
        "after_delete": after_delete, "old": old, "undeleted": undeleted,
        "copy_source_version": copied.get("CopySourceVersionId"), "copy_version": copied.get("VersionId"),
        "current": current,
    }


def errors(s3: Any, bucket: str, bad_secret: Any) -> dict[str, Any]:
    """What boto3 sees for the mistakes a restore can make."""
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    other = s3.put_object(Bucket=bucket, Key="other", Body=b"x")["VersionId"]
    s3.put_object(Bucket=bucket, Key="key", Body=b"y")
    plain = bucket + "-plain"
    s3.create_bucket(Bucket=plain)
    return {
        "missing_key": error_of(lambda: s3.get_object(Bucket=bucket, Key="never-existed")),
        "missing_key_head": error_of(lambda: s3.head_object(Bucket=bucket, Key="never-existed")),
        "version_of_another_key": error_of(lambda: s3.get_object(Bucket=bucket, Key="key", VersionId=other)),
        "malformed_version": error_of(lambda: s3.get_object(Bucket=bucket, Key="key", VersionId="not-a-version")),
        "missing_bucket": error_of(lambda: s3.list_object_versions(Bucket=bucket + "-gone", Prefix="a")),
        "bucket_name_too_short": error_of(lambda: s3.create_bucket(Bucket="b1")),
        "unversioned_status": s3.get_bucket_versioning(Bucket=plain).get("Status"),
        "no_lifecycle": error_of(lambda: s3.get_bucket_lifecycle_configuration(Bucket=plain)),
        "no_object_lock": error_of(lambda: s3.get_object_lock_configuration(Bucket=plain)),
        "wrong_secret": error_of(lambda: bad_secret.list_buckets()),
        "copy_version_of_another_key": error_of(lambda: s3.copy_object(
            Bucket=bucket, Key="key", CopySource={"Bucket": bucket, "Key": "key", "VersionId": other})),
    }


def multipart(s3: Any, bucket: str) -> dict[str, Any]:
    """s3transfer's multipart upload (8 MiB parts) and ranged reads; the multipart rules by hand."""
    s3.create_bucket(Bucket=bucket)
    data = bytes(range(256)) * (9 * MiB // 256 + 3)
    s3.upload_fileobj(io.BytesIO(data), bucket, "backup/big.tar")
    head = s3.head_object(Bucket=bucket, Key="backup/big.tar")
    back = io.BytesIO()
    s3.download_fileobj(bucket, "backup/big.tar", back)
    ranged = s3.get_object(Bucket=bucket, Key="backup/big.tar", Range="bytes=100-199")
    tail = s3.get_object(Bucket=bucket, Key="backup/big.tar", Range="bytes=-10")["Body"].read()
    past_end = error_of(lambda: s3.get_object(Bucket=bucket, Key="backup/big.tar", Range=f"bytes={len(data)}-"))

    upload = s3.create_multipart_upload(Bucket=bucket, Key="small-parts")["UploadId"]
    e1 = s3.upload_part(Bucket=bucket, Key="small-parts", UploadId=upload, PartNumber=1, Body=b"a" * 1024)["ETag"]
    e2 = s3.upload_part(Bucket=bucket, Key="small-parts", UploadId=upload, PartNumber=2, Body=b"b" * 1024)["ETag"]
    parts = s3.list_parts(Bucket=bucket, Key="small-parts", UploadId=upload)
    too_small = error_of(lambda: s3.complete_multipart_upload(
        Bucket=bucket, Key="small-parts", UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]}))
    wrong_order = error_of(lambda: s3.complete_multipart_upload(
        Bucket=bucket, Key="small-parts", UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": e2}, {"PartNumber": 1, "ETag": e1}]}))
    wrong_etag = error_of(lambda: s3.complete_multipart_upload(
        Bucket=bucket, Key="small-parts", UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e2}]}))
    s3.abort_multipart_upload(Bucket=bucket, Key="small-parts", UploadId=upload)
    after_abort = error_of(lambda: s3.upload_part(Bucket=bucket, Key="small-parts", UploadId=upload, PartNumber=3,
                                                  Body=b"c"))
    return {
        "size": len(data), "etag": head["ETag"].strip('"'), "content_length": head["ContentLength"],
        "md5": hashlib.md5(data, usedforsecurity=False).hexdigest(),
        "downloaded_equal": back.getvalue() == data,
        "range_status": ranged["ResponseMetadata"]["HTTPStatusCode"], "content_range": ranged.get("ContentRange"),
        "range_equal": ranged["Body"].read() == data[100:200], "tail_equal": tail == data[-10:],
        "past_end": past_end, "listed_parts": [[p["PartNumber"], p["Size"]] for p in parts.get("Parts", [])],
        "too_small": too_small, "wrong_order": wrong_order, "wrong_etag": wrong_etag, "after_abort": after_abort,
    }


def checksums(s3: Any, bucket: str) -> dict[str, Any]:
    """boto3's default CRC32, an explicit SHA-256, and a checksum that does not match the body."""
    s3.create_bucket(Bucket=bucket)
    default = s3.put_object(Bucket=bucket, Key="default", Body=b"restore me")
    sha = s3.put_object(Bucket=bucket, Key="sha", Body=b"restore me", ChecksumAlgorithm="SHA256")
    back = s3.get_object(Bucket=bucket, Key="sha", ChecksumMode="ENABLED")
    wrong = error_of(lambda: s3.put_object(Bucket=bucket, Key="wrong", Body=b"restore me",
                                           ChecksumSHA256="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="))
    upload = s3.create_multipart_upload(Bucket=bucket, Key="parts")["UploadId"]
    wrong_part = error_of(lambda: s3.upload_part(Bucket=bucket, Key="parts", UploadId=upload, PartNumber=1,
                                                 Body=b"part", ChecksumCRC32="AAAAAA=="))
    s3.abort_multipart_upload(Bucket=bucket, Key="parts", UploadId=upload)
    return {
        "default_crc32": default.get("ChecksumCRC32"), "sha256": sha.get("ChecksumSHA256"),
        "sha256_back": back.get("ChecksumSHA256"), "body_back": back["Body"].read().decode(),
        "wrong": wrong, "wrong_stored": error_of(lambda: s3.head_object(Bucket=bucket, Key="wrong")),
        "wrong_part": wrong_part,
    }


def paging(s3: Any, bucket: str) -> dict[str, Any]:
    """ListObjectsV2 and ListObjectVersions pages, followed with boto3's paginators."""
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for i in range(7):
        s3.put_object(Bucket=bucket, Key=f"logs/{i:02d}", Body=b"x" * i)
    s3.put_object(Bucket=bucket, Key="logs/00", Body=b"again")
    objects = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="logs/", PaginationConfig={
        "PageSize": 3})
    version_pages = s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix="logs/",
                                                                     PaginationConfig={"PageSize": 3})
    object_pages = [[o["Key"] for o in page.get("Contents", [])] for page in objects]
    versions_seen = [[v["Key"], v["IsLatest"]] for page in version_pages for v in page.get("Versions", [])]
    return {"object_pages": object_pages, "versions": versions_seen}


def main() -> None:
    spec = json.load(sys.stdin)
    config = Config(retries={"max_attempts": 1}, connect_timeout=3, read_timeout=10,
                    s3={"addressing_style": "path"})

    def client(secret: str) -> Any:
        return boto3.client("s3", endpoint_url=spec["endpoint"], aws_access_key_id=spec["access_key"],
                            aws_secret_access_key=secret, region_name=spec["region"], config=config)

    s3 = client(spec["secret_key"])
    bucket = spec["bucket"]
    scenario = spec["scenario"]
    if scenario == "errors":
        result = errors(s3, bucket, client(spec["secret_key"] + "-wrong"))
    else:
        result = {"versions": versions, "multipart": multipart, "paging": paging,
                  "checksums": checksums}[scenario](s3, bucket)
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
