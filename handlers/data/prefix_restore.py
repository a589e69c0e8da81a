"""Restoring every key under a prefix: undelete them, or bring them back to how they were at a time.

Kind ``data-restore-prefix`` (approval rule ``restore``). The preview reads the prefix's versions a page
at a time and stops as soon as it holds more keys than the tenant's ``restore_prefix_limit``: then it
refuses. Each key is decided by the same rules as a one-key restore. After approval the prefix is read
again and the plan runs only if no key changed (a fingerprint over every key's current version); keys
are restored one by one (see :func:`run_steps` for what happens when a node goes down) and the outcome
counts the keys restored, failed, unknown and not attempted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot import humanize
from bot.changes import Change, ChangeKind, ChangePlan, Finding, Outcome, Target, seal
from bot.clients import MinioClient
from bot.clients.errors import ClientError
from bot.clients.minio_models import ObjectVersion, VersioningInfo
from bot.config import TenantConfig
from bot.runtime import Runtime
from handlers.data.evaluate import RestoreDecision, RestoreRefused, decide_restore
from handlers.data.facts import KeyFacts
from handlers.data.restore import ACTION_KIND

PAGE = 1000
SAMPLE = 10
PROGRESS_EVERY = 100
STOP_AFTER_FAILURES = 3
"""Keys in a row that no node would take before a prefix restore stops (the cluster is not taking writes)."""
NAMED = 10
"""Keys named in an outcome's lists; the rest are counted."""


@dataclass(frozen=True)
class PrefixFacts:
    """The versions of every key under a prefix (newest first per key), read up to the limit."""

    versioning: VersioningInfo
    keys: dict[str, list[ObjectVersion]]
    over_limit: bool


def prefix_facts(client: MinioClient, bucket: str, prefix: str, limit: int) -> PrefixFacts:
    """Page through the prefix until it ends or holds more than ``limit`` keys (never further)."""
    versioning = client.bucket_versioning(bucket)
    keys: dict[str, list[ObjectVersion]] = {}
    key_marker = version_marker = ""
    while True:
        page = client.list_object_versions(bucket, prefix, key_marker=key_marker, version_marker=version_marker,
                                           max_keys=PAGE)
        for version in page.versions:
            keys.setdefault(version.key, []).append(version)
        if len(keys) > limit:
            return PrefixFacts(versioning, keys, True)
        if not page.truncated:
            return PrefixFacts(versioning, keys, False)
        key_marker, version_marker = page.next_key_marker, page.next_version_marker


def state_fingerprint(keys: dict[str, list[ObjectVersion]]) -> str:
    """A digest of every key's current version: any write, delete or restore under the prefix changes it."""
    digest = hashlib.sha256()
    for key in sorted(keys):
        digest.update(f"{key}\0{keys[key][0].version_id}\n".encode())
    return digest.hexdigest()


def decide_prefix(facts: PrefixFacts, bucket: str, before: datetime | None) -> dict[str, RestoreDecision]:
    """Per key, what a restore does; keys with nothing to do are left out. Pure."""
    decisions: dict[str, RestoreDecision] = {}
    for key, versions in facts.keys.items():
        one = KeyFacts(bucket, key, facts.versioning, versions, [], True)
        try:
            if before is None:
                if versions[0].delete_marker:
                    decisions[key] = decide_restore(one, None)
                continue
            then = next((v for v in versions if v.last_modified is not None and v.last_modified <= before), None)
            if then is None or then.delete_marker:
                continue  # the key did not exist (or was deleted) at that time: left alone
            decisions[key] = decide_restore(one, then.version_id)
        except RestoreRefused:
            continue  # already as wanted, or only delete markers
    return decisions


def plan_prefix_restore(runtime: Runtime, tenant: TenantConfig, bucket: str, prefix: str,
                        before: datetime | None, requester: str) -> ChangePlan:
    """The previewed prefix restore: how many keys, how many bytes, a sample; refused over the limit."""
    limit = tenant.restore_prefix_limit
    facts = prefix_facts(runtime.minio(tenant), bucket, prefix, limit)
    if facts.versioning.status == "Off":
        raise RestoreRefused(f"Versioning is off on bucket {bucket}: MinIO keeps no old versions there.",
                             "Only a backup can help.")
    if facts.over_limit:
        raise RestoreRefused(f"More than {limit:,} keys under {bucket}/{prefix}: over this tenant's limit for one "
                             "restore.", "Restore a narrower prefix, or raise restore_prefix_limit.")
    decisions = decide_prefix(facts, bucket, before)
    if not decisions:
        when = f" to how they were at {humanize.moment(before)}" if before else ""
        raise RestoreRefused(f"Nothing under {bucket}/{prefix} needs restoring{when} ({len(facts.keys):,} key(s) "
                             "looked at).")
    total = sum(d.becomes_current.size for d in decisions.values())
    copies = sum(1 for d in decisions.values() if d.action == "copy")
    steps: list[dict[str, Any]] = [
        {"key": key, "action": d.action, "version": d.becomes_current.version_id,
         "markers": [m.version_id for m in d.markers]}
        for key, d in sorted(decisions.items())
    ]
    sample = [f"{s['key']}: {'remove delete marker(s)' if s['action'] == 'remove-markers' else 'copy version '}"
              f"{'' if s['action'] == 'remove-markers' else s['version']}" for s in steps[:SAMPLE]]
    target = "undelete" if before is None else f"as at {humanize.moment(before)}"
    return seal(ChangePlan(
        kind=PrefixRestore.name, action_kind=ACTION_KIND, tenant=tenant.name,
        title=f"Restore {len(steps):,} key(s) under {bucket}/{prefix} on {tenant.name} ({target})",
        params={"bucket": bucket, "prefix": prefix, "steps": steps, "requested_by": requester,
                "before": before.isoformat() if before else None},
        targets=[Target(kind="Prefix", name=f"{bucket}/{prefix}", fingerprint=state_fingerprint(facts.keys))],
        changes=[Change(what=f"Keys under {bucket}/{prefix}", before=f"{len(steps):,} to restore",
                        after=f"{len(steps):,} restored ({humanize.size(total)}; {copies:,} by copy, "
                        f"{len(steps) - copies:,} by removing delete markers)")],
        notes=[f"{len(facts.keys):,} key(s) looked at; limit {limit:,}.", *sample,
               *([f"... and {len(steps) - SAMPLE:,} more."] if len(steps) > SAMPLE else [])],
        risk="medium", planned_at=runtime.clock(),
    ))


class PrefixRestore(ChangeKind):
    """Change kind ``data-restore-prefix``."""

    name = "data-restore-prefix"
    action_kind = ACTION_KIND

    def recheck(self, runtime: Runtime, plan: ChangePlan) -> list[Finding]:
        """No key under the prefix changed since the preview."""
        tenant = runtime.find_tenant(plan.tenant)
        if tenant is None:
            return [Finding(check="tenant", ok=False, detail="The tenant is no longer configured.")]
        facts = prefix_facts(runtime.minio(tenant), plan.params["bucket"], plan.params["prefix"],
                             tenant.restore_prefix_limit)
        same = not facts.over_limit and state_fingerprint(facts.keys) == plan.targets[0].fingerprint
        return [Finding(check="target unchanged", ok=same, detail="No key under the prefix changed." if same else
                        "Keys under the prefix changed since the preview. Nothing was changed; request it again.")]

    def execute(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        """Key by key; the first failure stops the run, and the outcome says what was and was not restored."""
        tenant = runtime.find_tenant(plan.tenant)
        if tenant is None:
            return Outcome(ok=False, summary="The tenant is no longer configured; nothing was changed.")
        return run_steps(runtime.minio(tenant), plan.params["bucket"], list(plan.params["steps"]), progress)


def run_steps(client: MinioClient, bucket: str, steps: list[dict[str, Any]],
              progress: Callable[[str], None]) -> Outcome:
    """Restore each key in order and say exactly what became of every key.

    Where the server still answers, the run carries on: the client moves on to another node when one
    refuses a request it certainly did not act on (a node went down), so one node down costs nothing.
    A key whose request certainly did nothing (no node took it) is counted as failed and the run goes
    on with the next key, until ``STOP_AFTER_FAILURES`` such keys in a row: then the cluster is not taking
    writes and the run stops. A request that was sent and got no answer may have been carried out: the
    run stops at once and names that key as unknown. A copy is one request (never half-done); a key
    whose delete markers were only partly removed is said to still read as deleted.
    """
    restored = 0
    failed: list[str] = []
    reasons: list[str] = []
    unknown: str | None = None
    streak = 0
    attempted = 0
    for step in steps:
        attempted += 1
        key = step["key"]
        error, removed = _restore_one(client, bucket, step)
        if error is None:
            restored += 1
            streak = 0
            if restored % PROGRESS_EVERY == 0:
                progress(f"{restored:,} of {len(steps):,} key(s) restored.")
            continue
        if not error.not_sent:
            unknown = f"{key} ({error})"
            break
        partly = (f" ({removed} of {len(step['markers'])} delete markers removed: it still reads as deleted)"
                  if removed else "")
        failed.append(f"{key}{partly}")
        reasons.append(str(error))
        streak += 1
        if streak >= STOP_AFTER_FAILURES:
            break
    not_attempted = [step["key"] for step in steps[attempted:]]
    return _outcome(bucket, len(steps), restored, failed, reasons, unknown, not_attempted)


def _restore_one(client: MinioClient, bucket: str, step: dict[str, Any]) -> tuple[ClientError | None, int]:
    """Restore one key; (the error, if any, and how many of its delete markers were removed)."""
    removed = 0
    try:
        if step["action"] == "copy":
            client.copy_object_version(bucket, step["key"], step["version"])
        else:
            for marker in step["markers"]:
                client.delete_object_version(bucket, step["key"], marker)
                removed += 1
    except ClientError as exc:
        return exc, removed
    return None, removed


def _names(keys: list[str]) -> str:
    shown = ", ".join(keys[:NAMED])
    return shown + (f" and {len(keys) - NAMED:,} more" if len(keys) > NAMED else "")


def _outcome(bucket: str, total: int, restored: int, failed: list[str], reasons: list[str], unknown: str | None,
             not_attempted: list[str]) -> Outcome:
    if restored == total:
        return Outcome(ok=True, summary=f"{total:,} key(s) restored under {bucket}.",
                       lines=[f"{total:,} of {total:,} key(s) restored."])
    lines = [f"Restored {restored:,} of {total:,} key(s)."]
    if failed:
        lines.append(f"Failed, nothing changed on them ({len(failed):,}): {_names(failed)}. Last error: {reasons[-1]}.")
    if unknown is not None:
        lines.append(f"Not known whether it was restored (the request got no answer): {unknown}. List its "
                     "versions before trying again.")
    if not_attempted:
        lines.append(f"Not attempted ({len(not_attempted):,}): {_names(not_attempted)}.")
    stopped = "stopped" if not_attempted or unknown is not None else "finished with failures"
    return Outcome(ok=False, summary=f"Prefix restore {stopped}. " + " ".join(lines), lines=lines)
