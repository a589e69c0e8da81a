"""`/minio update <tenant> rollback [snapshot]`: list stored specs, preview the diff, restore on approval.

Snapshots are taken by the bot before every upgrade and every rollback
(``store.specs``). A rollback restores the snapshot's spec field by field,
with two rules that keep it within what MinIO allows:

- Pools are restored only when the snapshot has the same pools (names,
  servers, volumes): a rollback never adds or removes a pool. When pools were
  added or removed since, every other field is still restored and the card
  says the pools stay as they are (grow with ``add-pool``, shrink with
  ``decommission``).
- A pool's ``volumeClaimTemplate`` keeps its current value: volumes can only
  grow, so restoring a smaller size would only make the spec lie.

Before the patch the current spec is itself saved, so a rollback can be
rolled back. When the image changes, the thread follows the rollout like an
upgrade.

``/minio update operator rollback [id] [--cluster C]`` does the same for the
operator Deployment from the snapshots ``update operator <image>`` stores
(key ``operator:<cluster>``, see ``handlers/updates_operator.py``): it
restores each container's image, tests the current ones in the same JSON
patch, falls under the ``operator-update`` approval rule and follows the
operator's pods like the upgrade.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from bot.changes import Change, ChangePlan, Finding, Outcome, Target, seal
from bot.changes.follow import Phase, follow, follow_limits, format_duration
from bot.changes.tenant import (
    JsonPatch,
    TenantHandle,
    TenantObject,
    dry_run,
    dry_run_deployment,
    handle_by_name,
    pointer,
    tenant_config,
    unchanged_finding,
)
from bot.clients.errors import ClientError
from bot.commands import escape
from bot.config import TenantConfig
from bot.invocation import UserError
from bot.report import Action, Report, Row, Section
from bot.runtime import Runtime
from handlers.updates_images import image_tag
from handlers.updates_operator import (
    ACTION_KIND as OPERATOR_ACTION_KIND,
)
from handlers.updates_operator import (
    images_fingerprint,
    operator_observer,
    operator_ref,
    patch_operator,
    snapshot_key,
    store_operator_snapshot,
)
from handlers.updates_tenant import (
    follow_rollout,
    rollout_outcome,
    snapshot_and_apply,
    upgrade_facts,
    upgrade_findings,
)

ACTION_KIND = "rollback"
LISTED = 10
SHAPE = ("servers", "volumesPerServer")
_MISSING = object()


def _short(value: Any, limit: int = 90) -> str:
    if value is _MISSING:
        return "(unset)"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))
    return f"`{escape(text, limit)}`"


def rollback_ops(current: dict[str, Any], snapshot: dict[str, Any]) -> tuple[JsonPatch, list[Change], list[str]]:
    """(JSON patch, preview lines, notes) that turn ``current`` into ``snapshot`` within MinIO's rules (pure)."""
    ops: JsonPatch = []
    changes: list[Change] = []
    notes: list[str] = []
    for key in sorted(set(current) | set(snapshot)):
        if key == "pools":
            continue
        now, then = current.get(key, _MISSING), snapshot.get(key, _MISSING)
        if now == then:
            continue
        if then is _MISSING:
            ops.append({"op": "remove", "path": pointer("spec", key)})
        else:
            ops.append({"op": "add", "path": pointer("spec", key), "value": then})
        changes.append(Change(what=f"spec.{key}", before=_short(now), after=_short(then)))
    pools_now = [p for p in current.get("pools") or [] if isinstance(p, dict)]
    pools_then = [p for p in snapshot.get("pools") or [] if isinstance(p, dict)]
    shape_now = [(p.get("name"), *(p.get(k) for k in SHAPE)) for p in pools_now]
    shape_then = [(p.get("name"), *(p.get(k) for k in SHAPE)) for p in pools_then]
    if shape_now != shape_then:
        names_now = ", ".join(str(s[0]) for s in shape_now)
        names_then = ", ".join(str(s[0]) for s in shape_then)
        notes.append(f"Pools stay as they are ({names_now}; the snapshot had {names_then}): a rollback never adds or "
                     "removes a pool. Grow with `add-pool`, shrink with `decommission` + `remove-pool`.")
        return ops, changes, notes
    for index, (now_pool, then_pool) in enumerate(zip(pools_now, pools_then, strict=True)):
        restored = copy.deepcopy(then_pool)
        if "volumeClaimTemplate" in now_pool:
            restored["volumeClaimTemplate"] = now_pool["volumeClaimTemplate"]
            if now_pool.get("volumeClaimTemplate") != then_pool.get("volumeClaimTemplate"):
                notes.append(f"{now_pool.get('name')}: the volume claim template keeps its current value (volumes "
                             "only grow).")
        if restored == now_pool:
            continue
        ops += [{"op": "test", "path": pointer("spec", "pools", index, "name"), "value": now_pool.get("name")},
                {"op": "replace", "path": pointer("spec", "pools", index), "value": restored}]
        for field in sorted(set(now_pool) | set(restored)):
            before, after = now_pool.get(field, _MISSING), restored.get(field, _MISSING)
            if before != after:
                changes.append(Change(what=f"spec.pools[{now_pool.get('name')}].{field}", before=_short(before),
                                      after=_short(after)))
    return ops, changes, notes


# ----------------------------------------------------------------------------- listing


def list_snapshots(runtime: Runtime, handle: TenantHandle) -> Report:
    """The tenant's stored specs, newest first, each with a button that previews its rollback."""
    name = handle.config.name
    snapshots = runtime.store.specs.list(name, limit=LISTED)
    if not snapshots:
        return Report(title=f"Rollback snapshots of {name}", summary="No snapshot is stored yet: the bot saves the "
                      f"spec before every upgrade (`/minio update {name} tenant <image>`).", ephemeral=True)
    rows: list[Row] = []
    actions: list[Action] = []
    for snap in snapshots:
        image = snap.spec.get("image") if isinstance(snap.spec, dict) else None
        who = f" by <@{snap.taken_by}>" if snap.taken_by else ""
        rows.append(Row(text=f"*#{snap.id}* {snap.taken_at:%Y-%m-%d %H:%M} UTC{who}: {escape(snap.reason, 120)} "
                        f"(image `{image_tag(str(image)) if image else 'unset'}`)"))
        if len(actions) < 5:
            actions.append(Action(label=f"Preview rollback to #{snap.id}", action_id=f"run:rollback:{snap.id}",
                                  value=f"update {name} rollback {snap.id}"))
    return Report(
        title=f"Rollback snapshots of {name}",
        summary=f"{len(snapshots)} stored spec(s), newest first. A rollback is previewed and needs approval.",
        sections=[Section(title="Snapshots", rows=rows)],
        actions=actions,
        footer=[f"`/minio update {name} rollback <id>` previews the diff."],
    )


# ----------------------------------------------------------------------------- the plan


def plan_rollback(runtime: Runtime, handle: TenantHandle, requester: str, snapshot_id: int) -> ChangePlan:
    """Preview of restoring snapshot ``snapshot_id``: the field-by-field diff, preflight and dry run."""
    name = handle.config.name
    snap = runtime.store.specs.get(snapshot_id)
    if snap is None or snap.tenant != name:
        raise UserError(f"There is no snapshot #{snapshot_id} of `{name}`. See `/minio update {name} rollback`.")
    facts = upgrade_facts(runtime, handle)
    obj = facts["tenant"]
    if isinstance(obj, ClientError):
        raise obj
    assert isinstance(obj, TenantObject)
    ops, changes, notes = rollback_ops(obj.info.raw_spec, dict(snap.spec))
    if not ops:
        raise UserError(f"The Tenant already matches snapshot #{snapshot_id} (as far as a rollback may change it): "
                        "nothing to roll back.")
    image = snap.spec.get("image")
    image_changes = isinstance(image, str) and image != obj.info.image
    findings = upgrade_findings(facts, name)
    notes.append(f"Before the patch the current spec is saved too, so this rollback can be undone with "
                 f"`/minio update {name} rollback <new id>`.")
    if image_changes:
        notes.append("The image changes: the operator rolls every server once; the thread follows the rollout.")
    return seal(ChangePlan(
        kind=Rollback.name,
        action_kind=ACTION_KIND,
        tenant=name,
        title=f"Roll {name} back to snapshot #{snapshot_id} ({snap.taken_at:%Y-%m-%d %H:%M} UTC)",
        params={"snapshot": snapshot_id, "ops": ops, "image": image if image_changes else None,
                "requested_by": requester},
        targets=[obj.target()],
        changes=changes,
        notes=[f"Snapshot #{snapshot_id}: {escape(snap.reason, 200)}.", *notes],
        dry_run=dry_run(handle, ops),
        preflight=findings,
        risk="high",
        planned_at=runtime.clock(),
    ))


class Rollback:
    """Change kind `update-rollback`: save the current spec, restore a snapshot's, follow the rollout."""

    name = "update-rollback"
    action_kind = ACTION_KIND

    def recheck(self, runtime: Runtime, plan: ChangePlan) -> list[Finding]:
        handle = handle_by_name(runtime, plan.tenant)
        _current, unchanged = unchanged_finding(handle, plan.targets[0])
        facts = upgrade_facts(runtime, handle)
        checks = upgrade_findings(facts, plan.tenant, plan.plan_hash)
        return [unchanged, *checks]

    def execute(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        handle = handle_by_name(runtime, plan.tenant)
        snapshot_id = int(plan.params["snapshot"])
        image = plan.params.get("image")
        applied = snapshot_and_apply(
            runtime, handle, plan, f"before rollback to #{snapshot_id}",
            lambda sid, _obj: f"Snapshot #{sid} of the current spec stored.", progress,
        )
        if isinstance(applied, Outcome):
            return applied
        before, saved_id = applied
        saved = [saved_id]
        first = [f"Snapshot #{saved[0]} stored.", f"Spec restored from snapshot #{snapshot_id}."]
        progress(first[-1])
        tag = image_tag(str(image)) if image else None
        if not tag:
            return Outcome(ok=True, summary=f"{plan.tenant} restored to snapshot #{snapshot_id}.",
                           lines=[*first, f"Undo with `/minio update {plan.tenant} rollback {saved[0]}`."])
        result = follow_rollout(runtime, handle, tag, before, progress)
        return rollout_outcome(result, plan.tenant, tag, saved[0], first)




# ----------------------------------------------------------------------------- the operator


def _snapshot_images(spec: Any) -> list[str]:
    images = spec.get("images") if isinstance(spec, dict) else None
    return [str(i) for i in images] if isinstance(images, list) else []


def list_operator_snapshots(runtime: Runtime, cluster: str) -> Report:
    """The cluster's stored operator images, newest first, each with a button that previews its rollback."""
    title = f"Operator rollback snapshots of cluster {cluster}"
    snapshots = runtime.store.specs.list(snapshot_key(cluster), limit=LISTED)
    if not snapshots:
        return Report(title=title, summary="No operator snapshot is stored yet: the bot saves the operator's images "
                      "before every operator upgrade (`/minio update operator <image>`).", ephemeral=True)
    rows: list[Row] = []
    actions: list[Action] = []
    for snap in snapshots:
        images = ", ".join(f"`{escape(i, 90)}`" for i in _snapshot_images(snap.spec)) or "no image"
        who = f" by <@{snap.taken_by}>" if snap.taken_by else ""
        rows.append(Row(text=f"*#{snap.id}* {snap.taken_at:%Y-%m-%d %H:%M} UTC{who}: {escape(snap.reason, 120)} "
                        f"({images})"))
        if len(actions) < 5:
            actions.append(Action(label=f"Preview rollback to #{snap.id}", action_id=f"run:operator-rollback:{snap.id}",
                                  value=f"update operator rollback {snap.id} --cluster {cluster}"))
    return Report(
        title=title,
        summary=f"{len(snapshots)} stored operator snapshot(s), newest first. A rollback is previewed and needs "
                "the `operator-update` approvals.",
        sections=[Section(title="Snapshots", rows=rows)],
        actions=actions,
        footer=["`/minio update operator rollback <id>` previews the change."],
    )


def operator_rollback_ops(current: list[str], restored: list[str]) -> JsonPatch:
    """JSON patch that sets each container's image back, testing each current one (pure)."""
    ops: JsonPatch = []
    for index, (now, then) in enumerate(zip(current, restored, strict=True)):
        if now != then:
            path = f"/spec/template/spec/containers/{index}/image"
            ops += [{"op": "test", "path": path, "value": now}, {"op": "replace", "path": path, "value": then}]
    return ops


def plan_operator_rollback(runtime: Runtime, tenant: TenantConfig, requester: str, snapshot_id: int) -> ChangePlan:
    """Preview of restoring operator snapshot ``snapshot_id``: the images before/after and the dry run."""
    kube, _ref, cluster = operator_ref(runtime, tenant)
    snap = runtime.store.specs.get(snapshot_id)
    if snap is None or snap.tenant != snapshot_key(cluster):
        raise UserError(f"There is no operator snapshot #{snapshot_id} of cluster `{cluster}`. See "
                        "`/minio update operator rollback`.")
    spec = dict(snap.spec)
    namespace, name = str(spec.get("namespace") or ""), str(spec.get("name") or "")
    restored = _snapshot_images(spec)
    if spec.get("kind") != "Deployment" or not namespace or not name or not restored:
        raise UserError(f"Snapshot #{snapshot_id} does not describe an operator Deployment: nothing to restore.")
    deployment = kube.get_deployment(namespace, name)
    current = list(deployment.images)
    if len(current) != len(restored):
        raise UserError(f"The operator Deployment `{namespace}/{name}` now has {len(current)} container(s); "
                        f"snapshot #{snapshot_id} has {len(restored)}: a rollback never adds or removes a "
                        "container. Upgrade it with `/minio update operator <image>` instead.")
    ops = operator_rollback_ops(current, restored)
    if not ops:
        raise UserError(f"The operator already runs the images of snapshot #{snapshot_id}: nothing to roll back.")
    findings: list[Finding] = []
    if deployment.available >= deployment.replicas:
        findings.append(Finding(check="operator available", ok=True, detail=f"{deployment.available}/"
                                f"{deployment.replicas} replica(s) available."))
    else:
        findings.append(Finding(check="operator available", ok=False, blocking=False, detail=(
            f"Only {deployment.available}/{deployment.replicas} replica(s) are available now.")))
    changes = [Change(what=f"Deployment {namespace}/{name} container {index} image", before=f"`{now}`",
                      after=f"`{then}`")
               for index, (now, then) in enumerate(zip(current, restored, strict=True)) if now != then]
    return seal(ChangePlan(
        kind=OperatorRollback.name,
        action_kind=OPERATOR_ACTION_KIND,
        tenant=tenant.name,
        title=f"Roll the MinIO Operator of cluster {cluster} back to snapshot #{snapshot_id} "
              f"({snap.taken_at:%Y-%m-%d %H:%M} UTC)",
        params={"snapshot": snapshot_id, "namespace": namespace, "deployment": name, "images": restored,
                "previous": current, "ops": ops, "requested_by": requester},
        targets=[Target(kind="Deployment", namespace=namespace, name=name,
                        resource_version=deployment.resource_version, fingerprint=images_fingerprint(current))],
        changes=changes,
        notes=[f"Snapshot #{snapshot_id}: {escape(snap.reason, 200)}.",
               f"The operator manages every Tenant in cluster `{cluster}`, not only `{tenant.name}`: while its pod "
               "restarts, no Tenant is reconciled (MinIO itself keeps serving).",
               "Before the patch the operator's current images are saved too, so this rollback can be undone with "
               "`/minio update operator rollback <new id>`."],
        dry_run=dry_run_deployment(kube, namespace, name, ops),
        preflight=findings,
        risk="high",
        planned_at=runtime.clock(),
    ))


class OperatorRollback:
    """Change kind `update-operator-rollback`: save the operator's images, restore a snapshot's, follow the pods."""

    name = "update-operator-rollback"
    action_kind = OPERATOR_ACTION_KIND

    @staticmethod
    def _changed(previous: list[str], current: list[str]) -> str:
        return (f"The operator Deployment changed since the preview (images {images_fingerprint(previous)} -> "
                f"{images_fingerprint(current)}).")

    def recheck(self, runtime: Runtime, plan: ChangePlan) -> list[Finding]:
        tenant = tenant_config(runtime, plan.tenant)
        if tenant is None:
            return [Finding(check="tenant", ok=False, detail=f"Tenant `{plan.tenant}` is no longer configured.")]
        kube, _ref, _cluster = operator_ref(runtime, tenant)
        previous = [str(i) for i in plan.params["previous"]]
        deployment = kube.get_deployment(str(plan.params["namespace"]), str(plan.params["deployment"]))
        if list(deployment.images) != previous:
            return [Finding(check="target unchanged", ok=False,
                            detail=f"{self._changed(previous, deployment.images)} Request it again.")]
        return [Finding(check="target unchanged", ok=True,
                        detail=f"The operator still runs {images_fingerprint(previous)}.")]

    def execute(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        tenant = tenant_config(runtime, plan.tenant)
        if tenant is None:
            return Outcome(ok=False, summary=f"Tenant `{plan.tenant}` is no longer configured; nothing was changed.")
        kube, _ref, cluster = operator_ref(runtime, tenant)
        namespace, name = str(plan.params["namespace"]), str(plan.params["deployment"])
        snapshot_id = int(plan.params["snapshot"])
        previous = [str(i) for i in plan.params["previous"]]
        restored = [str(i) for i in plan.params["images"]]
        requester = plan.params.get("requested_by")
        current = kube.get_deployment(namespace, name)
        if list(current.images) != previous:
            return Outcome(ok=False, summary=f"{self._changed(previous, current.images)} Nothing was changed.")
        saved = store_operator_snapshot(runtime, cluster, current, f"before operator rollback to #{snapshot_id}",
                                        str(requester) if requester else None)
        progress(f"Snapshot #{saved} of the operator's images stored.")
        refused = patch_operator(kube, namespace, name, plan)
        if refused is not None:
            return refused
        first = [f"Snapshot #{saved} stored.",
                 f"Deployment {namespace}/{name} images restored from snapshot #{snapshot_id}."]
        progress(first[-1])
        undo = f"Undo with `/minio update operator rollback {saved}` (needs approval)."
        image, old = restored[0], previous[0]
        timeout, poll = follow_limits(tenant)
        result = follow(operator_observer(kube, namespace, name, image, old if old != image else None),
                        progress, timeout_s=timeout, poll_s=poll, what="the operator rollout")
        took = format_duration(result.elapsed_s)
        if result.phase == Phase.DONE:
            return Outcome(ok=True, summary=f"The operator runs `{image}` again, restored from snapshot "
                           f"#{snapshot_id} ({took}).", lines=[*first, result.line, undo])
        verb = "failed" if result.phase == Phase.FAILED else f"did not finish within {took}"
        return Outcome(ok=False, summary=f"The operator rollout {verb}: {result.line}.",
                       lines=[*first, "Nothing else was touched.", undo])


CHANGE_KINDS = (Rollback(), OperatorRollback())
