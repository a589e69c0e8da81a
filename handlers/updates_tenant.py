"""`/minio update <tenant> tenant <image>`: a MinIO upgrade through ``spec.image``, with a rollback snapshot.

Preflight refuses an upgrade unless the tenant is calm: the operator reports
it green and ``Initialized`` (no change in progress), every erasure set has
write quorum, every node is online, no drive heals, no decommission runs and
no other approved change of this tenant is executing. After approval the
current spec is saved in the store (``store.specs``: what ``rollback``
restores), ``spec.image`` is patched (a JSON patch that also tests the old
image), and the thread follows the rollout: the operator's ``currentState``
and the version each MinIO node reports, until every node runs the new
release and the Tenant is ``Initialized`` again, or the timeout is reported
with nothing else touched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.changes import Change, ChangePlan, Finding, Outcome, TenantObject, seal
from bot.clients.errors import ClientError
from bot.clients.minio_models import ClusterHealth, HealStatus, PoolStatus, ServerInfo
from bot.config import TenantConfig
from bot.invocation import UserError
from bot.runtime import Runtime
from bot.store import Approval
from handlers.scaling_follow import FollowResult, Observation, Phase, follow, follow_limits, format_duration
from handlers.scaling_preflight import (
    INITIALIZED,
    decommission_finding,
    healing_finding,
    nodes_online_finding,
    other_change_finding,
    quorum_finding,
    tenant_health_finding,
    tenant_state_finding,
)
from handlers.scaling_tenant import (
    TargetChanged,
    TenantHandle,
    apply_guarded,
    dry_run,
    gather,
    handle_by_name,
    unchanged_finding,
)
from handlers.updates_images import ImageRef, compare_versions, image_tag, release_time, same_version

ACTION_KIND = "update"
RECENT_APPROVALS = 50


# ----------------------------------------------------------------------------- preflight


def upgrade_facts(runtime: Runtime, handle: TenantHandle) -> dict[str, Any]:
    """Everything the upgrade preflight reads, in parallel."""
    client = runtime.minio(handle.config)
    return gather(runtime, {
        "tenant": handle.read,
        "info": client.server_info,
        "health": client.cluster_health,
        "heal": client.heal_status,
        "pools": client.pools_list,
        "approvals": lambda: runtime.store.approvals.recent(RECENT_APPROVALS, tenant=handle.config.name),
    })


def upgrade_findings(facts: dict[str, Any], tenant: str, own_hash: str = "") -> list[Finding]:
    """healthy, quorum, all nodes online, no healing, not in another change (pure over ``facts``)."""
    info: ServerInfo | ClientError = facts["info"]
    heal: HealStatus | ClientError = facts["heal"]
    health: ClusterHealth | ClientError = facts["health"]
    pools: list[PoolStatus] | ClientError = facts["pools"]
    approvals: list[Approval] | ClientError = facts["approvals"]
    obj: TenantObject | ClientError = facts["tenant"]
    return [
        tenant_health_finding(obj),
        quorum_finding(health),
        nodes_online_finding(info),
        healing_finding(heal, info),
        tenant_state_finding(obj),
        decommission_finding(pools),
        other_change_finding(approvals, tenant, own_hash),
    ]


def node_versions(info: ServerInfo) -> dict[str, str]:
    """endpoint -> version MinIO reports for it."""
    return {s.endpoint: s.release_tag or s.version for s in info.servers}


def version_summary(versions: dict[str, str]) -> str:
    """`RELEASE.X on 3 nodes, RELEASE.Y on 1` (most common first)."""
    counts: dict[str, int] = {}
    for version in versions.values():
        counts[version or "unknown"] = counts.get(version or "unknown", 0) + 1
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{v} on {n} node{'s' if n != 1 else ''}" for v, n in ordered) or "no nodes reported"


def direction_finding(current: str | None, target: ImageRef) -> Finding:
    """Upgrade, downgrade or unknown order (a downgrade is allowed but flagged: MinIO may not read newer metadata)."""
    check = "version direction"
    order = compare_versions(current, target.tag)
    if order == -1:
        return Finding(check=check, ok=True, detail=f"{current} -> {target.tag} is an upgrade.")
    if order == 1:
        return Finding(check=check, ok=False, blocking=False, detail=f"{target.tag} is OLDER than {current}: a "
                       "downgrade. MinIO does not promise that older releases read what newer ones wrote; prefer "
                       "`rollback` to a snapshot taken before the upgrade.")
    return Finding(check=check, ok=True, blocking=False, detail=f"{current or 'the current tag'} and {target.tag} "
                   "cannot be ordered (not MinIO release tags); check the release notes yourself.")


def target_finding(tenant: TenantConfig, target: ImageRef) -> Finding | None:
    """Compare with the configured target version, when one is set."""
    wanted = tenant.target_versions.minio
    if not wanted:
        return None
    if same_version(wanted, target.tag):
        return Finding(check="configured target", ok=True, blocking=False,
                       detail=f"{target.tag} is the configured target version.")
    return Finding(check="configured target", ok=False, blocking=False,
                   detail=f"The configured target is {wanted}, not {target.tag}.")


def image_ops(current: str | None, new: str) -> list[dict[str, Any]]:
    """JSON patch that sets ``spec.image``, testing the previous value so a concurrent edit fails the write."""
    if current is None:
        return [{"op": "add", "path": "/spec/image", "value": new}]
    return [{"op": "test", "path": "/spec/image", "value": current}, {"op": "replace", "path": "/spec/image",
                                                                       "value": new}]


# ----------------------------------------------------------------------------- the plan


def plan_tenant_update(runtime: Runtime, handle: TenantHandle, requester: str, image: ImageRef) -> ChangePlan:
    """Preview of `update <tenant> tenant <image>`: preflight, versions now, the patch and its dry run."""
    facts = upgrade_facts(runtime, handle)
    obj = facts["tenant"]
    if isinstance(obj, ClientError):
        raise obj
    assert isinstance(obj, TenantObject)
    current = obj.info.image
    if current == str(image):
        raise UserError(f"`{handle.config.name}` already runs `{image}` (spec.image): nothing to upgrade.")
    current_tag = image_tag(current)
    findings = upgrade_findings(facts, handle.config.name)
    findings.append(direction_finding(current_tag, image))
    configured = target_finding(handle.config, image)
    if configured is not None:
        findings.append(configured)
    info = facts["info"]
    running = version_summary(node_versions(info)) if isinstance(info, ServerInfo) else f"unknown ({info})"
    changes = [
        Change(what="Tenant spec.image", before=f"`{current or '(operator default)'}`", after=f"`{image}`"),
        Change(what="MinIO version on the nodes", before=running, after=f"{image.tag} on every node"),
    ]
    ops = image_ops(current, str(image))
    notes = [
        "The operator checks health, updates MinIO in place, then rolls the StatefulSets: every server restarts "
        "once. The thread follows the Tenant's state and each node's version.",
        f"Before the patch the current spec is saved; `/minio update {handle.config.name} rollback` restores it.",
    ]
    risk = "high" if compare_versions(current_tag, image.tag) == 1 else "medium"
    return seal(ChangePlan(
        kind=TenantUpdate.name,
        action_kind=ACTION_KIND,
        tenant=handle.config.name,
        title=f"Upgrade {handle.config.name} to {image.tag}",
        params={"image": str(image), "tag": image.tag, "previous": current, "ops": ops, "requested_by": requester},
        targets=[obj.target()],
        changes=changes,
        notes=notes,
        dry_run=dry_run(handle, ops),
        preflight=findings,
        risk=risk,
        planned_at=runtime.clock(),
    ))


# ----------------------------------------------------------------------------- following a rollout


def rollout_observer(runtime: Runtime, handle: TenantHandle, tag: str, before: dict[str, str]
                     ) -> Callable[[], Observation]:
    """Done when the Tenant is ``Initialized`` and every node reports ``tag`` (or, for tags that are not MinIO
    release tags, one common version different from before); failed when the operator reports a failure."""
    comparable = release_time(tag) is not None

    def observe() -> Observation:
        status = handle.kube.get_tenant(handle.namespace, handle.name).status
        state = (status.current_state if status else None) or "no status"
        if any(word in state.lower() for word in ("fail", "error")):
            return Observation(Phase.FAILED, f"the operator reports `{state}`")
        try:
            versions = node_versions(runtime.minio(handle.config).server_info())
        except ClientError as exc:
            return Observation(Phase.RUNNING, f"Tenant `{state}`; MinIO not answering ({exc.kind}): servers restart")
        if comparable:
            on_target = [e for e, v in versions.items() if same_version(v, tag)]
        else:
            common = set(versions.values())
            changed = len(common) == 1 and common != set(before.values())
            on_target = list(versions) if changed else []
        line = f"Tenant `{state}`; {len(on_target)}/{len(versions)} node(s) on {tag}"
        if len(on_target) < len(versions):
            line += f" ({version_summary(versions)})"
        done = versions and len(on_target) == len(versions) and state == INITIALIZED
        return Observation(Phase.DONE if done else Phase.RUNNING, line)

    return observe


def follow_rollout(runtime: Runtime, handle: TenantHandle, tag: str, before: dict[str, str],
                   progress: Callable[[str], None]) -> FollowResult:
    """Follow a MinIO rollout to ``tag`` within the tenant's rollout timeout."""
    timeout, poll = follow_limits(handle.config)
    return follow(rollout_observer(runtime, handle, tag, before), progress, timeout_s=timeout, poll_s=poll,
                  what=f"the rollout of {tag}")


def store_snapshot(runtime: Runtime, tenant: str, obj: TenantObject, reason: str, by: str | None) -> int:
    """Save the Tenant's spec as it is now; returns the snapshot id."""
    snapshot = runtime.store.specs.add(tenant, obj.info.raw_spec, reason=reason,
                                       resource_version=obj.resource_version, taken_by=by, at=runtime.clock())
    return snapshot.id


def snapshot_and_apply(
    runtime: Runtime,
    handle: TenantHandle,
    plan: ChangePlan,
    reason: str,
    saved_line: Callable[[int, TenantObject], str],
    progress: Callable[[str], None],
) -> tuple[dict[str, str], int] | Outcome:
    """Note the node versions, then snapshot the spec and write the plan's guarded patch.

    Returns (node versions before, snapshot id), or a failed Outcome when the Tenant
    changed since the preview (then nothing is written).
    """
    requester = plan.params.get("requested_by")
    try:
        before = node_versions(runtime.minio(handle.config).server_info())
    except ClientError:
        before = {}
    saved: list[int] = []

    def snapshot(obj: TenantObject) -> None:
        saved.append(store_snapshot(runtime, plan.tenant, obj, reason, str(requester) if requester else None))
        progress(saved_line(saved[-1], obj))

    try:
        apply_guarded(handle, plan.targets[0], list(plan.params["ops"]), before_write=snapshot)
    except TargetChanged as exc:
        return Outcome(ok=False, summary=str(exc))
    return before, saved[0]


def rollout_outcome(result: FollowResult, tenant: str, tag: str, snapshot_id: int, first: list[str]) -> Outcome:
    """The outcome of a followed rollout, with the rollback command when it did not finish."""
    rollback = f"`/minio update {tenant} rollback {snapshot_id}` (needs approval)"
    if result.phase == Phase.DONE:
        return Outcome(ok=True, summary=f"{tenant} runs {tag} on every node ({format_duration(result.elapsed_s)}).",
                       lines=[*first, result.line, f"Snapshot #{snapshot_id} keeps the previous spec: {rollback}."])
    if result.phase == Phase.FAILED:
        return Outcome(ok=False, summary=f"The rollout of {tag} failed: {result.line}.",
                       lines=[*first, "Nothing else was touched.", f"Roll back with {rollback}."])
    return Outcome(ok=False, summary=f"The rollout of {tag} did not complete within "
                   f"{format_duration(result.elapsed_s)} ({result.line}).",
                   lines=[*first, "Nothing else was touched: the spec keeps the new image and the operator keeps "
                          f"trying. Check `/minio health` and the operator's logs; roll back with {rollback}."])


class TenantUpdate:
    """Change kind `update-tenant`: snapshot the spec, patch ``spec.image``, follow the rollout."""

    name = "update-tenant"
    action_kind = ACTION_KIND

    def recheck(self, runtime: Runtime, plan: ChangePlan) -> list[Finding]:
        handle = handle_by_name(runtime, plan.tenant)
        facts = upgrade_facts(runtime, handle)
        obj = facts["tenant"]
        if isinstance(obj, ClientError):
            return [Finding(check="target unchanged", ok=False, detail=f"Could not read the Tenant: {obj}")]
        _current, unchanged = unchanged_finding(handle, plan.targets[0])
        return [unchanged, *upgrade_findings(facts, plan.tenant, plan.plan_hash)]

    def execute(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        handle = handle_by_name(runtime, plan.tenant)
        image, tag = str(plan.params["image"]), str(plan.params["tag"])
        applied = snapshot_and_apply(
            runtime, handle, plan, f"before update to {tag}",
            lambda sid, obj: f"Snapshot #{sid} of the current spec stored (image `{obj.info.image}`).", progress,
        )
        if isinstance(applied, Outcome):
            return applied
        before, snapshot_id = applied
        first = [f"Snapshot #{snapshot_id} stored.", f"spec.image set to `{image}`; the operator rolls it out."]
        progress(first[-1])
        result = follow_rollout(runtime, handle, tag, before, progress)
        return rollout_outcome(result, plan.tenant, tag, snapshot_id, first)


CHANGE_KINDS = (TenantUpdate(),)
