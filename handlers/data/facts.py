"""What `/minio data` asks MinIO: the scanner's usage, each shown bucket's protection, and one key's versions.

Status is one fan-out under the report deadline: the scanner's data usage first (O(buckets), never a
listing), then versioning, object lock, replication (and, for a bucket that replicates, its replication
metrics, asked right after its rules in the same worker), lifecycle and quota of the largest buckets only,
at most ``MAX_IN_FLIGHT_PER_ENDPOINT`` calls in flight (the client also enforces that per endpoint). Versions
are read one page at a time and always under a prefix: never a whole-bucket listing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from bot.clients import MinioClient
from bot.clients.errors import ClientError
from bot.clients.fanout import fan_out, required
from bot.clients.minio_models import (
    BucketQuota,
    DataUsage,
    LifecycleInfo,
    ObjectLockInfo,
    ObjectVersion,
    RemoteTarget,
    ReplicationInfo,
    ReplicationMetrics,
    VersioningInfo,
    VersionPage,
)
from bot.clients.timeouts import MAX_IN_FLIGHT_PER_ENDPOINT
from bot.config import TenantConfig
from bot.runtime import Runtime

TOP_BUCKETS = 20
"""How many buckets (largest first) the status report inspects one by one; the rest are counted."""
KEY_VERSION_PAGES = 5
"""Pages (of 1,000) read for one key's versions before a restore gives up: 5,000 versions."""


@dataclass(frozen=True)
class BucketProtection:
    """What one bucket's protection looks like (each part its answer or the error that hides it)."""

    name: str
    size: int
    objects: int
    versions: int
    versioning: VersioningInfo | ClientError
    lock: ObjectLockInfo | ClientError
    replication: ReplicationInfo | ClientError | None
    quota: BucketQuota | ClientError | None
    lifecycle: LifecycleInfo | ClientError | None = None
    # Read only when the bucket replicates (the server refuses it otherwise); None: not replicating.
    replication_metrics: ReplicationMetrics | ClientError | None = None
    remote_targets: list[RemoteTarget] | ClientError | None = None  # online or not, link latency


@dataclass(frozen=True)
class StatusFacts:
    """The scanner's usage and the protection of the buckets picked for a closer look."""

    usage: DataUsage
    buckets: list[BucketProtection]
    named: str | None  # the bucket asked for, if one was


def status_facts(runtime: Runtime, tenant: TenantConfig, bucket: str | None,
                 top: int | None = None) -> StatusFacts:
    """Usage from the scanner, then the protection of ``bucket`` (or of the ``top`` largest) in one fan-out."""
    client = runtime.minio(tenant)
    deadline = runtime.config.timeouts.report_deadline
    usage = client.data_usage()
    if bucket is not None:
        names = [bucket]
    else:
        names = [name for name, _ in sorted(usage.buckets.items(), key=lambda kv: (-kv[1].size, kv[0]))[
            : TOP_BUCKETS if top is None else top]]
    calls: dict[str, Callable[[], Any]] = {}
    for name in names:
        calls[f"versioning:{name}"] = partial(client.bucket_versioning, name)
        calls[f"lock:{name}"] = partial(client.object_lock, name)
        calls[f"replication:{name}"] = partial(_replication, client, name)
        calls[f"quota:{name}"] = partial(client.bucket_quota, name)
        calls[f"lifecycle:{name}"] = partial(client.bucket_lifecycle, name)
    results = fan_out(calls, deadline_s=deadline, max_workers=MAX_IN_FLIGHT_PER_ENDPOINT)
    buckets = []
    for name in names:
        figures = usage.buckets.get(name)
        replication = results[f"replication:{name}"]
        rules, metrics, targets = (replication, None, None) if isinstance(replication, ClientError) else replication
        buckets.append(BucketProtection(
            name=name,
            size=figures.size if figures else 0,
            objects=figures.objects if figures else 0,
            versions=figures.versions if figures else 0,
            versioning=results[f"versioning:{name}"],
            lock=results[f"lock:{name}"],
            replication=rules,
            quota=results[f"quota:{name}"],
            lifecycle=results[f"lifecycle:{name}"],
            replication_metrics=metrics,
            remote_targets=targets,
        ))
    return StatusFacts(usage=usage, buckets=buckets, named=bucket)


def _replication(client: MinioClient, bucket: str) -> tuple[
        ReplicationInfo | None, ReplicationMetrics | ClientError | None, list[RemoteTarget] | ClientError | None]:
    """The bucket's replication rules, then (only when it has some) its replication metrics and its remote
    targets, one after the other in this worker; a failed read of either is kept as its error so the rules
    still show."""
    rules = client.bucket_replication(bucket)
    if rules is None or not rules.rules:
        return rules, None, None
    metrics: ReplicationMetrics | ClientError
    targets: list[RemoteTarget] | ClientError
    try:
        metrics = client.bucket_replication_metrics(bucket) or ReplicationMetrics.from_answer(bucket, {})
    except ClientError as exc:
        metrics = exc
    try:
        targets = client.bucket_remote_targets(bucket)
    except ClientError as exc:
        targets = exc
    return rules, metrics, targets


@dataclass(frozen=True)
class VersionFacts:
    """One page of versions under a prefix, and the bucket's versioning (why old versions exist or not)."""

    page: VersionPage
    versioning: VersioningInfo | ClientError


def version_facts(runtime: Runtime, tenant: TenantConfig, bucket: str, prefix: str, key_marker: str,
                  version_marker: str, page_size: int) -> VersionFacts:
    """The page and the versioning status, asked together under one deadline."""
    client = runtime.minio(tenant)
    calls: dict[str, Callable[[], Any]] = {
            "page": partial(client.list_object_versions, bucket, prefix, key_marker=key_marker,
                            version_marker=version_marker, max_keys=page_size),
            "versioning": partial(client.bucket_versioning, bucket),
    }
    results = fan_out(calls, deadline_s=runtime.config.timeouts.report_deadline)
    page: VersionPage = required(results["page"])
    return VersionFacts(page=page, versioning=results["versioning"])


@dataclass(frozen=True)
class KeyFacts:
    """Every version of one key (newest first) and its bucket's versioning; ``others`` are a few keys that
    share the key as a prefix (to suggest what was meant when the key itself has no version)."""

    bucket: str
    key: str
    versioning: VersioningInfo
    versions: list[ObjectVersion]
    others: list[str]
    complete: bool  # False: the key has more versions than were read


def key_facts(client: MinioClient, bucket: str, key: str, deadline_s: float) -> KeyFacts:
    """The versions of exactly ``key``: pages under the prefix ``key`` until another key starts."""
    calls: dict[str, Callable[[], Any]] = {
        "versioning": partial(client.bucket_versioning, bucket),
        "page": partial(client.list_object_versions, bucket, key, max_keys=1000),
    }
    first = fan_out(calls, deadline_s=deadline_s)
    versioning: VersioningInfo = required(first["versioning"])
    page: VersionPage = required(first["page"])
    versions: list[ObjectVersion] = []
    others: list[str] = []
    for _ in range(KEY_VERSION_PAGES):
        versions += [v for v in page.versions if v.key == key]
        others += [v.key for v in page.versions if v.key != key and v.key not in others][:5]
        if not page.truncated or page.next_key_marker != key:
            return KeyFacts(bucket, key, versioning, versions, others[:5], True)
        page = client.list_object_versions(bucket, key, key_marker=page.next_key_marker,
                                           version_marker=page.next_version_marker, max_keys=1000)
    return KeyFacts(bucket, key, versioning, versions, others[:5], False)
