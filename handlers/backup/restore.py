"""Restoring from the backup location: copy backup objects back onto their source keys, after approval.

Kind ``backup-restore`` (approval rule ``restore``, like a restore from versions). The backup of
``<bucket>/<key>`` is read at ``backup.bucket``/``backup.prefix + <bucket>/<key>`` (``layout``). The
destination is ``<bucket>/<key>`` on the same tenant or, with ``--into``, on another configured tenant.

- Same endpoint (the backup lives on the destination tenant itself): a server-side copy per object.
- Another endpoint: each object is streamed through the bot (GET from the backup, PUT to the
  destination; one part in memory; a deadline per object, ``bot.clients.timeouts.stream_deadline``).

The preview counts objects and bytes, names the destination keys that exist now (each becomes a new
version when the destination bucket keeps versions; with versioning off or suspended, overwriting is
refused: the object there would be gone for good), and refuses a prefix beyond ``restore_prefix_limit``.
After approval the same facts are read again and the plan runs only if nothing changed (a fingerprint).
Objects are copied one at a time, in key order; the first failure stops the run and the outcome names
what was restored, the object that failed and what was not touched. S3 writes an object whole or not at
all, so nothing is left half-copied.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot import humanize
from bot.changes import Change, ChangeKind, ChangePlan, Finding, Outcome, Target, seal
from bot.clients import MinioClient
from bot.clients.errors import ClientError
from bot.clients.minio_models import ListedObject, VersioningInfo
from bot.config import BackupTarget, TenantConfig
from bot.runtime import Runtime
from handlers.backup.facts import backup_client
from handlers.backup.layout import backup_key

ACTION_KIND = "restore"
SAMPLE = 10
NAMED_IN_OUTCOME = 20
PROGRESS_EVERY = 100
SMALL_RUN = 20  # up to this many objects, progress is posted after each one


class BackupRestoreRefused(Exception):
    """Nothing sensible to restore: a plain reason (and a hint), shown to the requester; nothing changed."""

    def __init__(self, reason: str, hint: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.hint = hint


@dataclass(frozen=True)
class RestoreFacts:
    """The backup objects to restore, the destination bucket's versioning and what exists there now."""

    objects: list[ListedObject]  # backup objects, by key
    versioning: VersioningInfo
    existing: dict[str, ListedObject]  # destination key -> what is there now


def same_endpoint(source: TenantConfig, target: BackupTarget, destination: TenantConfig) -> bool:
    """A server-side copy is possible: the backup lives on the destination tenant itself."""
    return target.endpoint is None and destination.name == source.name


def restore_facts(runtime: Runtime, source: TenantConfig, target: BackupTarget, destination: TenantConfig,
                  bucket: str, key: str, prefix: bool) -> RestoreFacts:
    """Read the backup objects (one, or up to the limit under a prefix) and the destination's state.

    Raises BackupRestoreRefused when there is nothing to restore, or either side cannot be read (saying which).
    """
    try:
        objects = _backup_objects(runtime, source, target, destination.restore_prefix_limit, bucket, key, prefix)
    except ClientError as exc:
        location = f"{target.bucket}/{target.prefix}" + (f" at {target.endpoint}" if target.endpoint else "")
        if _no_bucket(exc):
            raise BackupRestoreRefused(f"The backup bucket {target.bucket} does not exist.") from None
        raise BackupRestoreRefused(f"The backup location {location} could not be read: {exc}.") from None
    try:
        return _destination(runtime.minio(destination), destination, objects, bucket, key, prefix)
    except ClientError as exc:
        if _no_bucket(exc):
            raise BackupRestoreRefused(f"Bucket {bucket} does not exist on {destination.name}.",
                                       "Create it first (the restore writes into an existing bucket).") from None
        raise BackupRestoreRefused(f"{destination.name} could not be read: {exc}.") from None


def _no_bucket(exc: ClientError) -> bool:
    return exc.kind == "not_found" and "NoSuchBucket" in exc.detail


def _backup_objects(runtime: Runtime, source: TenantConfig, target: BackupTarget, limit: int, bucket: str, key: str,
                    prefix: bool) -> list[ListedObject]:
    backups = backup_client(runtime, source, target)
    where = backup_key(target, bucket, key)
    if prefix:
        listing = backups.newest_objects(target.bucket, where, limit + 1, max_keys=limit + 1)
        if listing.seen > limit:
            raise BackupRestoreRefused(f"More than {limit:,} backup objects under {bucket}/{key}: over the limit for "
                                       "one restore.", "Restore a narrower prefix, or raise restore_prefix_limit.")
        objects = sorted(listing.objects, key=lambda o: o.key)
    else:
        found = backups.stat_object(target.bucket, where)
        objects = [found] if found is not None else []
    if not objects:
        raise _nothing_in_backup(backups, target, bucket, key, prefix)
    return objects


def _destination(dest: MinioClient, destination: TenantConfig, objects: list[ListedObject], bucket: str, key: str,
                 prefix: bool) -> RestoreFacts:
    versioning = dest.bucket_versioning(bucket)
    existing: dict[str, ListedObject] = {}
    if prefix:
        scan = 4 * destination.restore_prefix_limit  # the destination may hold more keys than the backup
        listing = dest.newest_objects(bucket, key, scan, max_keys=scan)
        if listing.truncated:
            raise BackupRestoreRefused(f"More than {scan:,} keys under {bucket}/{key} on {destination.name}: too many "
                                       "to check which ones a restore would overwrite.", "Restore a narrower prefix.")
        existing = {o.key: o for o in listing.objects}
    else:
        now = dest.stat_object(bucket, key)
        if now is not None:
            existing[key] = now
    return RestoreFacts(objects=objects, versioning=versioning, existing=existing)


def _nothing_in_backup(backups: MinioClient, target: BackupTarget, bucket: str, key: str,
                       prefix: bool) -> BackupRestoreRefused:
    location = f"{target.bucket}/{target.prefix}"
    anything = backups.newest_objects(target.bucket, target.prefix, 1, max_keys=1)
    if not anything.objects:
        return BackupRestoreRefused(f"The backup location {location} is empty: there are no backups to restore from.",
                                    "Check the backup job.")
    what = f"anything under {bucket}/{key}" if prefix else f"{bucket}/{key}"
    hint = "" if prefix else "For every key under a prefix, add --prefix."
    return BackupRestoreRefused(f"The backup holds no {what} (looked at {target.bucket}/"
                                f"{backup_key(target, bucket, key)}).", hint)


def destination_key(target: BackupTarget, obj: ListedObject, bucket: str) -> str:
    """The source key a backup object restores to (the layout read backwards)."""
    return obj.key[len(backup_key(target, bucket, "")):]


def fingerprint(facts: RestoreFacts) -> str:
    """Digest of what the plan relies on: each backup object (size, ETag), the destination's versioning and
    each destination key that exists (ETag)."""
    digest = hashlib.sha256(f"versioning={facts.versioning.status}\n".encode())
    for obj in facts.objects:
        digest.update(f"b\0{obj.key}\0{obj.size}\0{obj.etag}\n".encode())
    for key in sorted(facts.existing):
        digest.update(f"d\0{key}\0{facts.existing[key].etag}\n".encode())
    return digest.hexdigest()


def plan_backup_restore(runtime: Runtime, source: TenantConfig, target: BackupTarget, destination: TenantConfig,
                        bucket: str, key: str, prefix: bool, requester: str) -> ChangePlan:
    """The previewed restore from backup; raises BackupRestoreRefused (a plain reason) when it cannot be."""
    facts = restore_facts(runtime, source, target, destination, bucket, key, prefix)
    steps: list[dict[str, Any]] = []
    identical = 0
    for obj in facts.objects:
        dest_key = destination_key(target, obj, bucket)
        now = facts.existing.get(dest_key)
        if now is not None and now.size == obj.size and now.etag and now.etag == obj.etag:
            identical += 1  # the same bytes are there already: a copy would only add a version
            continue
        steps.append({"key": dest_key, "backup_key": obj.key, "size": obj.size, "overwrites": now is not None})
    if not steps:
        raise BackupRestoreRefused(f"{bucket}/{key} on {destination.name} is already identical to its backup "
                                   f"({identical:,} object(s) with the same size and ETag).")
    overwrites = [s["key"] for s in steps if s["overwrites"]]
    keeps_versions = facts.versioning.enabled
    if overwrites and not keeps_versions:
        raise BackupRestoreRefused(
            f"{len(overwrites):,} of the {len(steps):,} destination key(s) exist now in {bucket} on {destination.name} "
            f"(e.g. {overwrites[0]}), and that bucket does not keep versions ({facts.versioning.status}): restoring "
            "would replace them with no way back.",
            "Enable versioning on the bucket first, or restore into another tenant with --into.")
    server_side = same_endpoint(source, target, destination)
    method = "server-side copy per object" if server_side else "streamed through the bot, object by object"
    total = sum(s["size"] for s in steps)
    where = f"{bucket}/{key}"
    onto = destination.name if destination.name == source.name else f"{destination.name} (from {source.name}'s backup)"
    sample = [f"{bucket}/{s['key']} ({humanize.size(s['size'])}): "
              + ("exists now, becomes a new version" if s["overwrites"] else "new") for s in steps[:SAMPLE]]
    return seal(ChangePlan(
        kind=BackupRestore.name, action_kind=ACTION_KIND, tenant=destination.name,
        title=f"Restore {len(steps):,} object(s) under {where} on {onto} from backup" if prefix
        else f"Restore {where} on {onto} from backup",
        params={"source": source.name, "bucket": bucket, "key": key, "prefix": prefix, "steps": steps,
                "server_side": server_side, "requested_by": requester},
        targets=[Target(kind="Prefix" if prefix else "Object", name=where, fingerprint=fingerprint(facts))],
        changes=[Change(what=f"{where} on {destination.name}",
                        before=f"{len(overwrites):,} of {len(steps):,} object(s) exist now",
                        after=f"{len(steps):,} object(s) restored from {target.bucket}/{target.prefix} "
                        f"({humanize.size(total)}; {method})")],
        notes=[*sample, *([f"... and {len(steps) - SAMPLE:,} more."] if len(steps) > SAMPLE else []),
               *([f"{len(overwrites):,} existing object(s) become a new version; the version there now stays in "
                  "the history."] if overwrites else []),
               *([f"{identical:,} object(s) already identical to their backup (same size and ETag): left alone."]
                 if identical else []),
               *([f"{len(steps):,} object(s) looked at; limit {destination.restore_prefix_limit:,}."] if prefix
                 else [])],
        preflight=[Finding(check="versioning", ok=True, detail=f"Bucket {bucket} on {destination.name}: versioning "
                           f"{facts.versioning.status}" + ("." if keeps_versions else "; no existing key is "
                                                           "overwritten."))],
        risk="medium" if overwrites else "low", planned_at=runtime.clock(),
    ))


def _tenants(runtime: Runtime, plan: ChangePlan) -> tuple[TenantConfig, BackupTarget, TenantConfig] | str:
    source = runtime.find_tenant(plan.params["source"])
    destination = runtime.find_tenant(plan.tenant)
    if source is None or destination is None:
        return "The tenant is no longer configured; nothing was changed."
    if source.backup is None:
        return f"{source.name} has no backup location configured any more; nothing was changed."
    return source, source.backup, destination


class BackupRestore(ChangeKind):
    """Change kind ``backup-restore``."""

    name = "backup-restore"
    action_kind = ACTION_KIND

    def recheck(self, runtime: Runtime, plan: ChangePlan) -> list[Finding]:
        """The backup objects and the destination keys are as previewed."""
        found = _tenants(runtime, plan)
        if isinstance(found, str):
            return [Finding(check="tenant", ok=False, detail=found)]
        source, target, destination = found
        params = plan.params
        try:
            facts = restore_facts(runtime, source, target, destination, params["bucket"], params["key"],
                                  params["prefix"])
        except BackupRestoreRefused as refused:
            return [Finding(check="target unchanged", ok=False, detail=f"{refused.reason} Nothing was changed.")]
        same = fingerprint(facts) == plan.targets[0].fingerprint
        return [Finding(check="target unchanged", ok=same, detail="The backup and the destination are as previewed."
                        if same else "The backup or the destination changed since the preview. Nothing was changed; "
                        "request it again.")]

    def execute(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        """Object by object; the first failure stops the run, and the outcome says what was and was not restored."""
        found = _tenants(runtime, plan)
        if isinstance(found, str):
            return Outcome(ok=False, summary=found)
        source, target, destination = found
        copy = _copier(runtime, source, target, destination, plan.params)
        return run_restore(copy, plan.params["bucket"], list(plan.params["steps"]), progress)


Copy = Callable[[dict[str, Any]], object]


def _copier(runtime: Runtime, source: TenantConfig, target: BackupTarget, destination: TenantConfig,
            params: dict[str, Any]) -> Copy:
    dest = runtime.minio(destination)
    bucket = params["bucket"]
    if params["server_side"]:
        return lambda step: dest.copy_object(target.bucket, step["backup_key"], bucket, step["key"])
    backups = backup_client(runtime, source, target)
    return lambda step: backups.stream_to(target.bucket, step["backup_key"], step["size"], dest, bucket, step["key"])


def run_restore(copy: Copy, bucket: str, steps: list[dict[str, Any]], progress: Callable[[str], None]) -> Outcome:
    """Copy each object in order; stop at the first failure, naming what was restored, what failed and what
    was not touched."""
    done: list[str] = []
    moved = 0
    for step in steps:
        try:
            copy(step)
        except ClientError as exc:
            maybe = "" if exc.not_sent else " (it may or may not have been written: check that key before retrying)"
            state = [
                f"Restored {len(done):,} of {len(steps):,} object(s) ({humanize.size(moved)}).",
                f"Failed: {bucket}/{step['key']}: {exc}{maybe}.",
                f"Not restored: {bucket}/{step['key']} and the {len(steps) - len(done) - 1:,} object(s) after it, "
                "which were not touched.",
            ]
            named = [f"Restored: {bucket}/{k}" for k in done[:NAMED_IN_OUTCOME]]
            more = [f"... and {len(done) - NAMED_IN_OUTCOME:,} more restored."] if len(done) > NAMED_IN_OUTCOME else []
            rest = [s["key"] for s in steps[len(done) + 1:]]
            untouched = [f"Not touched: {bucket}/{k}" for k in rest[:NAMED_IN_OUTCOME]]
            return Outcome(ok=False, summary=f"Restore from backup stopped. {' '.join(state)}",
                           lines=[*state, *named, *more, *untouched])
        done.append(step["key"])
        moved += int(step["size"])
        if len(steps) <= SMALL_RUN or len(done) % PROGRESS_EVERY == 0:
            progress(f"{len(done):,} of {len(steps):,} object(s) restored ({humanize.size(moved)}): "
                     f"{bucket}/{step['key']}")
    return Outcome(ok=True, summary=f"{len(steps):,} object(s) restored from backup into {bucket} "
                   f"({humanize.size(moved)}).", lines=[f"{len(steps):,} of {len(steps):,} object(s) restored."])
