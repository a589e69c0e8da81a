"""Object versions of one bucket: the version stack of each key, delete markers, and ListObjectVersions.

The rules follow S3 versioning as MinIO implements it:

- Versioning off (never enabled): a PUT replaces the key's only version (id ``null``); a DELETE
  removes it.
- Enabled: a PUT adds a version with a new id on top; a DELETE without a version id adds a
  delete marker on top (also for a key that never existed); a DELETE with a version id removes
  exactly that version, and the one below becomes current.
- Suspended: a PUT or a DELETE without a version id replaces the key's ``null`` version (an object
  or a delete marker) and puts the new one on top; versions with ids stay.

Everything here runs under the model's lock; the model accounts bytes for what is added or removed.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass

from sandbox.minio_sim.entities import Bucket, StoredObject

NULL_VERSION = "null"
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def valid_version_id(version_id: str) -> bool:
    """MinIO accepts ``null`` or a UUID as a version id; anything else is 400 InvalidArgument."""
    return version_id == NULL_VERSION or bool(_UUID.match(version_id))


@dataclass(frozen=True)
class Removed:
    """What a write or delete took off a key's stack (the model un-accounts their bytes)."""

    versions: tuple[StoredObject, ...] = ()


def _refresh_current(bucket: Bucket, key: str) -> None:
    """Keep ``objects`` (the current versions) and the key index in step with the key's stack."""
    stack = bucket.versions.get(key)
    if stack and not stack[0].delete_marker:
        bucket.objects[key] = stack[0]
        return
    bucket.objects.pop(key, None)
    if not stack and key in bucket.versions:
        del bucket.versions[key]
        bucket.version_keys = None


def _push(bucket: Bucket, version: StoredObject) -> Removed:
    """Put ``version`` on top of its key's stack, replacing what the bucket's versioning state says."""
    stack = bucket.versions.get(version.key)
    if stack is None:
        stack = bucket.versions[version.key] = []
        bucket.version_keys = None
    removed: list[StoredObject] = []
    if bucket.versioning is None:
        removed, stack[:] = list(stack), []
    elif version.version_id == NULL_VERSION:  # suspended: the null version is replaced
        removed = [v for v in stack if v.version_id == NULL_VERSION]
        stack[:] = [v for v in stack if v.version_id != NULL_VERSION]
    stack.insert(0, version)
    _refresh_current(bucket, version.key)
    return Removed(tuple(removed))


def write(bucket: Bucket, version: StoredObject) -> Removed:
    """A PUT (or the target of a copy): ``version`` becomes the key's current version."""
    return _push(bucket, version)


def delete_current(bucket: Bucket, key: str, make_marker: Callable[[], StoredObject]) -> tuple[StoredObject | None,
                                                                                                Removed]:
    """A DELETE without a version id: remove the key (versioning off) or add a delete marker."""
    if bucket.versioning is None:
        stack = bucket.versions.get(key, [])
        removed = Removed(tuple(stack))
        if stack:
            stack.clear()
            _refresh_current(bucket, key)
        return None, removed
    marker = make_marker()
    return marker, _push(bucket, marker)


def find(bucket: Bucket, key: str, version_id: str) -> StoredObject | None:
    """The version ``version_id`` of ``key`` (an object or a delete marker), or None."""
    for version in bucket.versions.get(key, ()):
        if version.version_id == version_id:
            return version
    return None


def delete_version(bucket: Bucket, key: str, version_id: str) -> StoredObject | None:
    """A DELETE with a version id: remove exactly that version; the one below becomes current."""
    stack = bucket.versions.get(key)
    found = find(bucket, key, version_id)
    if stack is None or found is None:
        return None
    stack.remove(found)
    _refresh_current(bucket, key)
    return found


def sorted_keys(bucket: Bucket) -> list[str]:
    """Keys with versions, sorted (cached until a key appears or disappears)."""
    if bucket.version_keys is None:
        bucket.version_keys = sorted(bucket.versions)
    return bucket.version_keys


@dataclass(frozen=True)
class VersionPage:
    """One page of ListObjectVersions."""

    entries: tuple[tuple[StoredObject, bool], ...]  # (version, is latest), key order, newest first per key
    prefixes: tuple[str, ...]
    truncated: bool
    next_key_marker: str = ""
    next_version_marker: str = ""


def list_page(bucket: Bucket, prefix: str, key_marker: str, version_marker: str, delimiter: str,
              max_keys: int) -> VersionPage:
    """Versions of keys under ``prefix`` after the markers, at most ``max_keys`` entries.

    Cost: a binary search to the first key, then the page itself (never the whole bucket).
    """
    keys = sorted_keys(bucket)
    start = bisect.bisect_left(keys, max(prefix, key_marker))
    entries: list[tuple[StoredObject, bool]] = []
    prefixes: list[str] = []
    last_key = last_version = ""
    for index in range(start, len(keys)):
        key = keys[index]
        if not key.startswith(prefix):
            break
        if prefixes and key.startswith(prefixes[-1]):
            continue
        stack = bucket.versions[key]
        skip_to = 0
        if key == key_marker:
            if not version_marker:
                continue  # key-marker alone: listing starts after this key
            ids = [v.version_id for v in stack]
            if version_marker not in ids:
                continue
            skip_to = ids.index(version_marker) + 1
        if delimiter and (cut := key.find(delimiter, len(prefix))) >= 0:
            if len(entries) + len(prefixes) >= max_keys:
                return VersionPage(tuple(entries), tuple(prefixes), True, last_key, last_version)
            prefixes.append(key[: cut + len(delimiter)])
            last_key, last_version = key, ""
            continue
        for position in range(skip_to, len(stack)):
            if len(entries) + len(prefixes) >= max_keys:
                return VersionPage(tuple(entries), tuple(prefixes), True, last_key, last_version)
            entries.append((stack[position], position == 0))
            last_key, last_version = key, stack[position].version_id
    return VersionPage(tuple(entries), tuple(prefixes), False)
