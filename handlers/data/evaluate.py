"""Pure decisions of the data capability: how well each bucket is protected, and what a restore would do.

No I/O: every function takes facts (``handlers.data.facts``) and returns verdicts or a restore decision.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Literal

from bot import humanize
from bot.clients.errors import ClientError
from bot.clients.minio_models import ObjectVersion
from bot.report import Status
from handlers.data.facts import BucketProtection, KeyFacts

QUOTA_WARN_RATIO = 0.9


@dataclass(frozen=True)
class BucketVerdict:
    """One bucket's protection in words a person acts on."""

    name: str
    status: Status
    versioning: str  # "Enabled" | "Suspended" | "Off" | "unknown"
    unprotected: bool  # holds data that a delete or an overwrite would lose for good
    problems: tuple[str, ...] = ()


def versioning_state(bucket: BucketProtection) -> str:
    """The bucket's versioning status, or "unknown" when it could not be read."""
    return "unknown" if isinstance(bucket.versioning, ClientError) else bucket.versioning.status


def judge_bucket(bucket: BucketProtection) -> BucketVerdict:
    """Versioning off (or suspended) on a bucket with data is the finding; a quota nearly used up, a
    replication rule switched off and unreadable parts are the others."""
    state = versioning_state(bucket)
    problems: list[str] = []
    unprotected = bucket.size > 0 and state in ("Off", "Suspended")
    status = Status.HEALTHY
    if unprotected:
        status = Status.DEGRADED
        problems.append("holds data without versioning: a delete or overwrite cannot be undone from MinIO"
                        if state == "Off" else "versioning is suspended: overwrites and deletes replace the "
                        "null version for good")
    replication = bucket.replication
    if replication is not None and not isinstance(replication, ClientError) and replication.disabled_rules:
        problems.append(f"{len(replication.disabled_rules)} replication rule(s) switched off")
        status = max(status, Status.DEGRADED, key=lambda s: s.severity)
    replication_problems = judge_replication(bucket)
    if replication_problems:
        problems += replication_problems
        status = max(status, Status.DEGRADED, key=lambda s: s.severity)
    quota = bucket.quota
    if quota is not None and not isinstance(quota, ClientError) and quota.limit:
        if bucket.size >= quota.limit * QUOTA_WARN_RATIO:
            problems.append(f"uses {100 * bucket.size / quota.limit:.0f} % of its quota")
            status = max(status, Status.DEGRADED, key=lambda s: s.severity)
    unread = [part for part, value in (("versioning", bucket.versioning), ("object lock", bucket.lock),
                                       ("replication", bucket.replication), ("quota", bucket.quota),
                                       ("lifecycle", bucket.lifecycle),
                                       ("replication metrics", bucket.replication_metrics),
                                       ("replication targets", bucket.remote_targets))
              if isinstance(value, ClientError)]
    if unread:
        problems.append("could not read " + ", ".join(unread))
        status = max(status, Status.UNKNOWN, key=lambda s: s.severity)
    return BucketVerdict(bucket.name, status, state, unprotected, tuple(problems))


def judge_replication(bucket: BucketProtection) -> list[str]:
    """Replication failing (failures in the last hour, or a target the server sees offline) or its backlog
    growing (more waiting now than the queue's running average), from the bucket's replication metrics and
    remote targets. An empty bucket is never flagged."""
    metrics = bucket.replication_metrics
    if bucket.size <= 0 or metrics is None or isinstance(metrics, ClientError):
        return []
    total = metrics.total
    problems = []
    if total.failed_hour_count > 0:
        problems.append(f"replication failing: {total.failed_hour_count:,.0f} operation(s) "
                        f"({humanize.size(int(total.failed_hour_bytes))}) failed in the last hour")
    targets = bucket.remote_targets
    if targets is not None and not isinstance(targets, ClientError):
        for target in targets:
            if not target.online:
                since = f" since {humanize.moment(target.last_online)}" if target.last_online else ""
                problems.append(f"replication failing: target {target.target_bucket or target.arn} is "
                                f"offline{since}")
    if total.queued_count > 0 and total.queued_count > total.queued_avg_count:
        problems.append(f"replication backlog growing: {total.queued_count:,.0f} waiting "
                        f"({humanize.size(int(total.queued_bytes))}), above its average of "
                        f"{total.queued_avg_count:,.0f}")
    return problems


# ------------------------------------------------------------------------- restore


class RestoreRefused(Exception):
    """The restore cannot be planned; ``reason`` says why and what would help (plain sentences)."""

    def __init__(self, reason: str, hint: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.hint = hint


@dataclass(frozen=True)
class RestoreDecision:
    """What a restore does to one key: remove delete markers from the top, or copy a version to the top."""

    action: Literal["remove-markers", "copy"]
    becomes_current: ObjectVersion
    current: ObjectVersion  # the newest version now (object or delete marker): the plan's fingerprint
    markers: tuple[ObjectVersion, ...] = ()  # the delete markers removed, newest first


def decide_restore(facts: KeyFacts, version_id: str | None) -> RestoreDecision:
    """Which version becomes current and how, or RestoreRefused with the reason.

    Without ``version_id``: undelete, i.e. remove the delete markers above the newest object version.
    With it: that object version becomes current; by removing only delete markers when nothing but
    markers lies above it, otherwise by a server-side copy onto the key (history is kept either way).
    """
    _check_history(facts)
    versions = facts.versions
    current = versions[0]
    if version_id is None:
        return _undelete(facts, current)
    chosen = _data_version(facts, version_id, "remove the delete markers")
    if chosen is current:
        raise RestoreRefused(f"Version {version_id} is already the current version of {facts.key}: nothing to do.")
    above = versions[: versions.index(chosen)]
    if all(v.delete_marker for v in above):
        return RestoreDecision("remove-markers", chosen, current, tuple(above))
    return RestoreDecision("copy", chosen, current)


def _backup_hint(facts: KeyFacts) -> str:
    return (f"Only a backup can help: /minio backup <tenant> restore {facts.bucket}/{facts.key} brings it back from "
            "the tenant's backup location, if one is configured.")


def _check_history(facts: KeyFacts) -> None:
    """RestoreRefused unless the bucket keeps versions and the key has a (fully read) history."""
    if facts.versioning.status == "Off":
        raise RestoreRefused(
            f"Versioning is off on bucket {facts.bucket}: MinIO keeps no old versions or delete markers there, "
            "so a deleted or overwritten object cannot be brought back from MinIO.",
            _backup_hint(facts))
    if not facts.versions:
        hint = ("Keys under that name: " + ", ".join(facts.others) + ".") if facts.others else ""
        raise RestoreRefused(f"{facts.key} has no version and no delete marker in {facts.bucket}: it never "
                             "existed there (or every version was deleted for good).", hint)
    if not facts.complete:
        raise RestoreRefused(f"{facts.key} has more versions than the bot reads for a restore; restore it with "
                             "an S3 client.")


def check_destination(key: str, to: str) -> None:
    """RestoreRefused when ``to`` is the key itself (plain restore does that) or looks like a prefix."""
    if to == key:
        raise RestoreRefused(f"The destination is {key} itself.", "Use restore without --to for that.")
    if not to.strip() or to.endswith("/"):
        raise RestoreRefused(f"The destination {to.strip() or '(empty)'} looks like a prefix, not a key.",
                             "Name the key to write, e.g. reports/2026-q3.restored.pdf.")


def decide_copy_to(facts: KeyFacts, version_id: str | None, to: str) -> ObjectVersion:
    """The version of ``facts.key`` to copy onto another key ``to`` (same bucket), or RestoreRefused.

    Without ``version_id``: the newest data version, under any delete markers on top.
    """
    check_destination(facts.key, to)
    _check_history(facts)
    if version_id is None:
        data = next((v for v in facts.versions if not v.delete_marker), None)
        if data is None:
            raise RestoreRefused(f"{facts.key} has only delete markers: there is no data version to copy.",
                                 _backup_hint(facts))
        return data
    return _data_version(facts, version_id, "copy the newest data version")


def _data_version(facts: KeyFacts, version_id: str, default: str) -> ObjectVersion:
    """The object version ``version_id`` of the key; RestoreRefused when it is another key's or a delete marker."""
    chosen = next((v for v in facts.versions if v.version_id == version_id), None)
    if chosen is None:
        raise RestoreRefused(f"Version {version_id} is not a version of {facts.key}.",
                             "List its versions with the versions command and pick one of those.")
    if chosen.delete_marker:
        raise RestoreRefused(f"Version {version_id} of {facts.key} is a delete marker, not data.",
                             f"Pick an object version, or leave --version out to {default}.")
    return chosen


def _undelete(facts: KeyFacts, current: ObjectVersion) -> RestoreDecision:
    if not current.delete_marker:
        raise RestoreRefused(f"{facts.key} is not deleted: its current version is {current.version_id}.",
                             "To roll back to an older version, name it with --version.")
    markers: list[ObjectVersion] = []
    for version in facts.versions:
        if not version.delete_marker:
            return RestoreDecision("remove-markers", version, current, tuple(markers))
        markers.append(version)
    raise RestoreRefused(f"{facts.key} has only delete markers: there is no data version to bring back.",
                         _backup_hint(facts))


# ------------------------------------------------------------------------- paging


def page_token(key_marker: str, version_marker: str) -> str:
    """An opaque token for the next page (the two S3 markers; keys may hold any character)."""
    return base64.urlsafe_b64encode(json.dumps([key_marker, version_marker]).encode()).decode().rstrip("=")


def read_page_token(token: str) -> tuple[str, str]:
    """The markers in a token from :func:`page_token`; ValueError when it is not one."""
    try:
        doc = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("not a page token") from exc
    if not (isinstance(doc, list) and len(doc) == 2 and all(isinstance(x, str) for x in doc)):
        raise ValueError("not a page token")
    return doc[0], doc[1]


def split_target(target: str) -> tuple[str, str]:
    """``bucket/key-or-prefix`` -> (bucket, key); ValueError without a bucket or a key."""
    bucket, _, key = target.lstrip("/").partition("/")
    if not bucket or not key:
        raise ValueError("name a bucket and a key or prefix: <bucket>/<key-or-prefix>")
    return bucket, key
