"""Where a source object's backup lives: the layout a mirror of the tenant into the backup location makes.

A backup of ``<bucket>/<key>`` on the tenant is the object ``backup.prefix + "<bucket>/<key>"`` in
``backup.bucket`` (what ``mc mirror <tenant> <backup>/<prefix>`` or a bucket replication into one
prefix per bucket produces). Verification reads it that way to find each backup's source; a restore
reads it that way to find a source key's backup. Pure.
"""

from __future__ import annotations

from bot.config import BackupTarget


def backup_key(target: BackupTarget, bucket: str, key: str) -> str:
    """The key in ``target.bucket`` that holds the backup of ``bucket/key``."""
    return f"{target.prefix}{bucket}/{key}"


def source_of(target: BackupTarget, backup_object_key: str) -> tuple[str, str] | None:
    """(bucket, key) on the tenant that a backup object mirrors; None when it is not in that layout."""
    if not backup_object_key.startswith(target.prefix):
        return None
    bucket, slash, key = backup_object_key[len(target.prefix):].partition("/")
    if not bucket or not slash or not key:
        return None
    return bucket, key
