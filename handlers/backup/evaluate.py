"""Pure verdicts of a backup verification: each object read back against its listing, and freshness vs RPO."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

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
