"""Pure verdicts of a backup verification: each object read back against its listing, and freshness vs RPO."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot import humanize
from bot.clients.errors import ClientError
from bot.clients.minio_models import ListedObject, ReadBack
from bot.report import Status


@dataclass(frozen=True)
class ObjectCheck:
    """One sampled backup object: did it read back whole and unchanged?"""

    listed: ListedObject
    status: Status
    detail: str


def check_object(listed: ListedObject, read: ReadBack | ClientError | None) -> ObjectCheck:
    """Size must match the listing; the MD5 must match the ETag when the ETag is one (single-part uploads;
    a multipart ETag, ``<hash>-<parts>``, is not an MD5 of the data, so only the size is compared then)."""
    if read is None or isinstance(read, ClientError):
        why = "no answer" if read is None else read.detail
        return ObjectCheck(listed, Status.UNHEALTHY, f"could not be read back: {why}")
    if read.size != listed.size:
        return ObjectCheck(listed, Status.UNHEALTHY, f"read back {read.size} bytes, listed as {listed.size}")
    if "-" in listed.etag or not listed.etag:
        return ObjectCheck(listed, Status.HEALTHY, "read back whole (multipart upload: size compared, no MD5)")
    if read.md5 != listed.etag.lower():
        return ObjectCheck(listed, Status.UNHEALTHY, "read back with a different checksum than its ETag")
    return ObjectCheck(listed, Status.HEALTHY, "read back whole, checksum matches")


def freshness(newest: datetime | None, now: datetime, rpo_hours: float) -> tuple[Status, timedelta | None]:
    """DEGRADED when there is no backup or the newest is older than the RPO."""
    if newest is None:
        return Status.DEGRADED, None
    age = now - newest
    return (Status.DEGRADED if age > timedelta(hours=rpo_hours) else Status.HEALTHY), age


@dataclass(frozen=True)
class SourceCheck:
    """One sampled backup object against its source on the tenant (where the source still exists)."""

    status: Status
    detail: str


def compare_with_source(listed: ListedObject, read: ReadBack | ClientError | None,
                        source: ListedObject | ClientError | None, source_read: ReadBack | ClientError | None,
                        now: datetime, rpo_hours: float) -> SourceCheck:
    """Size and checksum of a backup against its source.

    Checksums: the ETags when both are single-part (an ETag is then the MD5 of the data); otherwise the
    source is read back and the MD5s compared. A source written after its backup is not compared (it is
    expected to differ): within the RPO that is said, beyond it the backup is behind (DEGRADED). A source
    that is gone is said, not a failure (backups outlive deletions on purpose).
    """
    if isinstance(source, ClientError):
        return SourceCheck(Status.UNKNOWN, f"source could not be checked: {source.detail}")
    if source is None:
        return SourceCheck(Status.INFO, "source no longer exists on the tenant (kept in the backup)")
    if source.last_modified and listed.last_modified and source.last_modified > listed.last_modified:
        behind = now - source.last_modified
        ago = humanize.duration(behind)
        if behind > timedelta(hours=rpo_hours):
            return SourceCheck(Status.DEGRADED, f"source changed {ago} ago and its backup still has the older copy: "
                               f"over the {rpo_hours:g} h RPO")
        return SourceCheck(Status.INFO, f"source changed {ago} ago, after this backup: within the {rpo_hours:g} h "
                           "RPO, the next backup should take it")
    if source.size != listed.size:
        return SourceCheck(Status.UNHEALTHY, f"differs from its source: {listed.size} bytes, source {source.size}")
    if _single_part(listed.etag) and _single_part(source.etag):
        if listed.etag.lower() != source.etag.lower():
            return SourceCheck(Status.UNHEALTHY, "differs from its source: ETag MD5s differ")
        return SourceCheck(Status.HEALTHY, "matches its source (size, ETag MD5)")
    if not isinstance(read, ReadBack) or not isinstance(source_read, ReadBack):
        why = source_read.detail if isinstance(source_read, ClientError) else "no answer"
        return SourceCheck(Status.UNKNOWN, f"same size as its source; the checksums could not be compared ({why})")
    if read.md5 != source_read.md5:
        return SourceCheck(Status.UNHEALTHY, "differs from its source: MD5s of the data read back differ")
    return SourceCheck(Status.HEALTHY, "matches its source (size, MD5 of both read back: multipart ETag)")


def needs_source_read(listed: ListedObject, source: ListedObject | ClientError | None) -> bool:
    """The source must be read back when an ETag is not an MD5 (multipart) and nothing else decides."""
    if not isinstance(source, ListedObject) or source.size != listed.size:
        return False
    if source.last_modified and listed.last_modified and source.last_modified > listed.last_modified:
        return False
    return not (_single_part(listed.etag) and _single_part(source.etag))


def _single_part(etag: str) -> bool:
    return bool(etag) and "-" not in etag
