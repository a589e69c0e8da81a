"""The restore change: preview what becomes the current version of one key, and make it so after approval.

Kind ``data-restore`` (approval rule ``restore``). The plan names the key and the version that is current
at preview time (the target's fingerprint); after approval the key is read again and the change runs only
if that is still so. Removing delete markers and a server-side copy both keep the history: nothing that
existed before is deleted except the delete markers themselves.
"""

from __future__ import annotations

from collections.abc import Callable

from bot import humanize
from bot.changes import Change, ChangeKind, ChangePlan, Finding, Outcome, Target, seal
from bot.changes.tenant import configured
from bot.clients import MinioClient
from bot.clients.errors import ClientError
from bot.clients.minio_models import ObjectVersion
from bot.config import TenantConfig
from bot.runtime import Runtime
from handlers.data.evaluate import RestoreDecision, RestoreRefused, check_destination, decide_copy_to, decide_restore
from handlers.data.facts import KeyFacts, key_facts

ACTION_KIND = "restore"


def _describe(version: ObjectVersion) -> str:
    if version.delete_marker:
        return f"delete marker {version.version_id}"
    modified = f", written {humanize.moment(version.last_modified)}" if version.last_modified else ""
    return f"version {version.version_id} ({humanize.size(version.size)}{modified})"


def plan_restore(runtime: Runtime, tenant: TenantConfig, bucket: str, key: str, version_id: str | None,
                 requester: str, to: str | None = None) -> ChangePlan:
    """The previewed restore; raises RestoreRefused (a plain reason) when there is nothing sensible to do.

    With ``to``: the chosen version is copied onto that other key of the same bucket instead (see
    :func:`plan_copy_to`); the key itself is left as it is.
    """
    if to is not None:
        return plan_copy_to(runtime, tenant, bucket, key, version_id, to, requester)
    facts = key_facts(runtime.minio(tenant), bucket, key, runtime.config.timeouts.report_deadline)
    decision = decide_restore(facts, version_id)
    where = f"{bucket}/{key}"
    changes = [Change(what=f"Current version of {where}", before=_describe(decision.current),
                      after=_describe(decision.becomes_current))]
    if decision.action == "remove-markers":
        how = f"Remove {len(decision.markers)} delete marker(s) above it; every data version stays."
        params_extra: dict[str, object] = {"markers": [m.version_id for m in decision.markers]}
    else:
        how = ("Copy it server-side onto the key as a new current version; every existing version stays in "
               "the history.")
        params_extra = {"source_version": decision.becomes_current.version_id}
    return seal(ChangePlan(
        kind=DataRestore.name,
        action_kind=ACTION_KIND,
        tenant=tenant.name,
        title=f"Restore {where} on {tenant.name}",
        params={"bucket": bucket, "key": key, "action": decision.action, "requested_by": requester,
                "expected_current": decision.current.version_id,
                "becomes_current": decision.becomes_current.version_id, **params_extra},
        targets=[Target(kind="Object", name=where, fingerprint=decision.current.version_id)],
        changes=changes,
        notes=[how],
        preflight=[Finding(check="versioning", ok=True, detail=f"Bucket {bucket} keeps versions "
                           f"({facts.versioning.status}).")],
        risk="low",
        planned_at=runtime.clock(),
    ))


def plan_copy_to(runtime: Runtime, tenant: TenantConfig, bucket: str, key: str, version_id: str | None, to: str,
                 requester: str) -> ChangePlan:
    """Preview copying a version of ``key`` (default: its newest data version, under any delete markers) onto
    the key ``to`` in the same bucket. The preview says whether ``to`` exists now; its current version (or
    its absence) is the fingerprint the approval re-checks."""
    client = runtime.minio(tenant)
    deadline = runtime.config.timeouts.report_deadline
    check_destination(key, to)  # before any call: same key, or a prefix
    source = decide_copy_to(key_facts(client, bucket, key, deadline), version_id, to)
    destination = key_facts(client, bucket, to, deadline)
    current = destination.versions[0] if destination.versions else None
    exists = current is not None and not current.delete_marker
    if not exists:
        state = f"{bucket}/{to} does not exist now" + (" (a delete marker is on top)" if current else "") + \
            ": the copy creates it."
    elif destination.versioning.status == "Enabled":
        state = (f"{bucket}/{to} exists now: the copy becomes its new current version and the one there now "
                 "stays in its history.")
    else:
        state = (f"{bucket}/{to} exists now and versioning is {destination.versioning.status}: the copy "
                 "replaces its current version for good.")
    return seal(ChangePlan(
        kind=DataRestore.name, action_kind=ACTION_KIND, tenant=tenant.name,
        title=f"Restore {bucket}/{key} to {bucket}/{to} on {tenant.name}",
        params={"bucket": bucket, "key": key, "to": to, "action": "copy-to", "requested_by": requester,
                "source_version": source.version_id, "becomes_current": source.version_id,
                "expected_current": current.version_id if current else None},
        targets=[Target(kind="Object", name=f"{bucket}/{to}",
                        fingerprint=current.version_id if current else "absent")],
        changes=[Change(what=f"Current version of {bucket}/{to}",
                        before=_describe(current) if current else "none (the key does not exist)",
                        after=f"a copy of {key} {_describe(source)}")],
        notes=[state, f"{bucket}/{key} itself is not touched."],
        preflight=[Finding(check="versioning", ok=True, detail=f"Bucket {bucket} keeps versions "
                           f"({destination.versioning.status}).")],
        risk="medium" if exists and destination.versioning.status != "Enabled" else "low",
        planned_at=runtime.clock(),
    ))


def _current_facts(runtime: Runtime, plan: ChangePlan) -> KeyFacts:
    tenant = configured(runtime, plan.tenant)
    params = plan.params
    return key_facts(runtime.minio(tenant), params["bucket"], params["key"], runtime.config.timeouts.report_deadline)


class DataRestore(ChangeKind):
    """Change kind ``data-restore``."""

    name = "data-restore"
    action_kind = ACTION_KIND

    def recheck(self, runtime: Runtime, plan: ChangePlan) -> list[Finding]:
        """The key's current version is still the one previewed, and the chosen version still exists
        (for a copy to another key: that key's current version, or its absence, is as previewed)."""
        params = plan.params
        if params["action"] == "copy-to":
            return _recheck_copy_to(runtime, plan)
        facts = _current_facts(runtime, plan)
        current = facts.versions[0].version_id if facts.versions else None
        same = current == params["expected_current"]
        findings = [Finding(check="target unchanged", ok=same, detail="The key's current version is the one "
                            "previewed." if same else "The key changed since the preview (its current version "
                            "is another now). Nothing was changed; request it again.")]
        exists = any(v.version_id == params["becomes_current"] for v in facts.versions)
        findings.append(Finding(check="version to restore", ok=exists, detail="Still there." if exists else
                                "The version to restore is gone. Nothing was changed."))
        return findings

    def execute(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        """Remove the markers one by one (saying how far it got), or make the one copy."""
        tenant = runtime.find_tenant(plan.tenant)
        if tenant is None:
            return Outcome(ok=False, summary="The tenant is no longer configured; nothing was changed.")
        client = runtime.minio(tenant)
        params = plan.params
        bucket, key = params["bucket"], params["key"]
        where = f"{bucket}/{key}"
        if params["action"] == "copy-to":
            return _copy_to(client, bucket, key, params["to"], params["source_version"], progress)
        if params["action"] == "copy":
            try:
                copied = client.copy_object_version(bucket, key, params["source_version"])
            except ClientError as exc:
                maybe = "" if exc.not_sent else (
                    " It is not known whether the copy happened: list the key's versions before trying again.")
                return Outcome(ok=False, summary=f"The copy of {where} failed: {exc}.{maybe}")
            line = f"Copied version {params['source_version']} onto {where}: new current version {copied.version_id}."
            progress(line)
            return Outcome(ok=True, summary=f"{where} restored to version {params['source_version']}.", lines=[line])
        return _remove_markers(client, bucket, key, list(params["markers"]), params["becomes_current"], progress)


def _recheck_copy_to(runtime: Runtime, plan: ChangePlan) -> list[Finding]:
    params = plan.params
    deadline = runtime.config.timeouts.report_deadline
    tenant = runtime.find_tenant(plan.tenant)
    if tenant is None:
        return [Finding(check="tenant", ok=False, detail="The tenant is no longer configured.")]
    client = runtime.minio(tenant)
    destination = key_facts(client, params["bucket"], params["to"], deadline)
    now = destination.versions[0].version_id if destination.versions else None
    same = now == params["expected_current"]
    source = key_facts(client, params["bucket"], params["key"], deadline)
    exists = any(v.version_id == params["source_version"] and not v.delete_marker for v in source.versions)
    return [
        Finding(check="target unchanged", ok=same, detail="The destination is as previewed." if same else
                "The destination changed since the preview (it was written or deleted). Nothing was changed; "
                "request it again."),
        Finding(check="version to restore", ok=exists, detail="Still there." if exists else
                "The version to copy is gone. Nothing was changed."),
    ]


def _copy_to(client: MinioClient, bucket: str, key: str, to: str, version: str,
             progress: Callable[[str], None]) -> Outcome:
    try:
        copied = client.copy_object_version(bucket, key, version, to=to)
    except ClientError as exc:
        maybe = "" if exc.not_sent else (
            f" It is not known whether the copy happened: list the versions of {bucket}/{to} before trying again.")
        return Outcome(ok=False, summary=f"The copy of {bucket}/{key} to {to} failed: {exc}.{maybe}")
    line = (f"Copied version {version} of {bucket}/{key} onto {bucket}/{to}: new current version "
            f"{copied.version_id}; {key} itself is unchanged.")
    progress(line)
    return Outcome(ok=True, summary=f"{bucket}/{key} (version {version}) restored to {bucket}/{to}.", lines=[line])


def _remove_markers(client: MinioClient, bucket: str, key: str, markers: list[str], becomes: str,
                    progress: Callable[[str], None]) -> Outcome:
    """Delete each marker (newest first); on a failure say which were removed and that the key is still deleted."""
    where = f"{bucket}/{key}"
    lines: list[str] = []
    for done, marker in enumerate(markers):
        try:
            client.delete_object_version(bucket, key, marker)
        except ClientError as exc:
            lines.append(f"Removing delete marker {marker} failed: {exc}.")
            state = (f"{done} of {len(markers)} delete marker(s) were removed; {where} still reads as deleted "
                     "(a delete marker is still on top). Nothing else changed; request the restore again.")
            return Outcome(ok=False, summary=f"Restore of {where} stopped: {state}", lines=[*lines, state])
        lines.append(f"Removed delete marker {marker}.")
        progress(lines[-1])
    lines.append(f"Version {becomes} is current again.")
    return Outcome(ok=True, summary=f"{where} is back: version {becomes} is current.", lines=lines)


__all__ = ["ACTION_KIND", "DataRestore", "RestoreDecision", "RestoreRefused", "plan_copy_to", "plan_restore"]
