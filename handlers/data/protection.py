"""Protection changes as approved plans: enable versioning on a bucket, set (or remove) a bucket's quota.

Kinds ``bucket-versioning`` and ``bucket-quota`` (approval rule ``protection``). Versioning is only ever
turned on: the bot offers no way to suspend it or to touch object lock. Each plan fingerprints what it
saw (the versioning status, the quota) and is refused after approval if that moved.
"""

from __future__ import annotations

from collections.abc import Callable

from bot import humanize
from bot.changes import Change, ChangeKind, ChangePlan, Finding, Outcome, Target, seal
from bot.changes.tenant import configured
from bot.config import TenantConfig
from bot.runtime import Runtime
from handlers.data.evaluate import RestoreRefused

ACTION_KIND = "protection"


def _quota_text(size: int) -> str:
    return humanize.size(size) if size else "none"


def plan_enable_versioning(runtime: Runtime, tenant: TenantConfig, bucket: str, requester: str) -> ChangePlan:
    """Preview turning versioning on; refused when it already is."""
    state = runtime.minio(tenant).bucket_versioning(bucket).status
    if state == "Enabled":
        raise RestoreRefused(f"Versioning is already enabled on {bucket}: nothing to do.")
    return seal(ChangePlan(
        kind=EnableVersioning.name, action_kind=ACTION_KIND, tenant=tenant.name,
        title=f"Enable versioning on bucket {bucket} of {tenant.name}",
        params={"bucket": bucket, "requested_by": requester},
        targets=[Target(kind="Bucket", name=bucket, fingerprint=state)],
        changes=[Change(what=f"Versioning of {bucket}", before=state, after="Enabled")],
        notes=["From now on every overwrite and delete keeps the previous version (it counts towards the "
               "bucket's usage until a lifecycle rule expires it). Objects written before have one version.",
               "The bot never suspends versioning; that needs mc and a person."],
        risk="low", planned_at=runtime.clock(),
    ))


def plan_quota(runtime: Runtime, tenant: TenantConfig, bucket: str, size: int, requester: str) -> ChangePlan:
    """Preview setting a hard quota of ``size`` bytes (0 removes it), with the bucket's usage beside it."""
    client = runtime.minio(tenant)
    quota = client.bucket_quota(bucket)
    client.bucket_versioning(bucket)  # the bucket exists (NoSuchBucket otherwise)
    before = quota.limit if quota else 0
    if before == size:
        raise RestoreRefused(f"The quota of {bucket} is already {_quota_text(size)}: nothing to do.")
    used = client.data_usage().buckets.get(bucket)
    used_bytes = used.size if used else 0
    notes = [f"The bucket holds {humanize.size(used_bytes)} by the scanner's last count."]
    preflight = []
    if size and used_bytes >= size:
        preflight.append(Finding(check="usage below the quota", ok=False, blocking=False,
                                 detail="The bucket already holds more than that: every write to it will be "
                                 "refused until data is removed."))
    return seal(ChangePlan(
        kind=SetQuota.name, action_kind=ACTION_KIND, tenant=tenant.name,
        title=f"Set the quota of bucket {bucket} of {tenant.name} to {_quota_text(size)}",
        params={"bucket": bucket, "size": size, "requested_by": requester},
        targets=[Target(kind="Bucket", name=bucket, fingerprint=str(before))],
        changes=[Change(what=f"Hard quota of {bucket}", before=_quota_text(before), after=_quota_text(size))],
        notes=notes, preflight=preflight, risk="medium" if size else "low", planned_at=runtime.clock(),
    ))


def _unchanged(same: bool) -> Finding:
    return Finding(check="target unchanged", ok=same, detail="As previewed." if same else
                   "The bucket changed since the preview. Nothing was changed; request it again.")


class EnableVersioning(ChangeKind):
    """Change kind ``bucket-versioning`` (on only)."""

    name = "bucket-versioning"
    action_kind = ACTION_KIND

    def recheck(self, runtime: Runtime, plan: ChangePlan) -> list[Finding]:
        state = runtime.minio(configured(runtime, plan.tenant)).bucket_versioning(plan.params["bucket"]).status
        return [_unchanged(state == plan.targets[0].fingerprint)]

    def execute(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        client = runtime.minio(configured(runtime, plan.tenant))
        bucket = plan.params["bucket"]
        client.enable_bucket_versioning(bucket)
        state = client.bucket_versioning(bucket).status
        return Outcome(ok=state == "Enabled", summary=f"Versioning of {bucket} is now {state}.")


class SetQuota(ChangeKind):
    """Change kind ``bucket-quota``."""

    name = "bucket-quota"
    action_kind = ACTION_KIND

    def recheck(self, runtime: Runtime, plan: ChangePlan) -> list[Finding]:
        quota = runtime.minio(configured(runtime, plan.tenant)).bucket_quota(plan.params["bucket"])
        return [_unchanged(str(quota.limit if quota else 0) == plan.targets[0].fingerprint)]

    def execute(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        client = runtime.minio(configured(runtime, plan.tenant))
        bucket, size = plan.params["bucket"], int(plan.params["size"])
        client.set_bucket_quota(bucket, size)
        quota = client.bucket_quota(bucket)
        now = quota.limit if quota else 0
        return Outcome(ok=now == size, summary=f"The quota of {bucket} is now {_quota_text(now)}.")


CHANGE_KINDS = (EnableVersioning(), SetQuota())
