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
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from bot.changes import Change, ChangePlan, Finding, Outcome, TenantObject, register, seal
from bot.clients.errors import ClientError
from bot.commands import escape
from bot.invocation import UserError
from bot.reports import Action, Report, Row, Section
from bot.runtime import Runtime
from handlers.scaling_tenant import (
    JsonPatch,
    TargetChanged,
    TenantHandle,
    apply_guarded,
    dry_run,
    handle_by_name,
    pointer,
    unchanged_finding,
)
from handlers.updates_images import image_tag
from handlers.updates_tenant import (
    follow_rollout,
    node_versions,
    rollout_outcome,
    store_snapshot,
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
        requester = plan.params.get("requested_by")
        try:
            before = node_versions(runtime.minio(handle.config).server_info())
        except ClientError:
            before = {}
        saved: list[int] = []

        def snapshot(obj: TenantObject) -> None:
            saved.append(store_snapshot(runtime, plan.tenant, obj, f"before rollback to #{snapshot_id}",
                                        str(requester) if requester else None))
            progress(f"Snapshot #{saved[-1]} of the current spec stored.")

        try:
            apply_guarded(handle, plan.targets[0], list(plan.params["ops"]), before_write=snapshot)
        except TargetChanged as exc:
            return Outcome(ok=False, summary=str(exc))
        first = [f"Snapshot #{saved[0]} stored.", f"Spec restored from snapshot #{snapshot_id}."]
        progress(first[-1])
        tag = image_tag(str(image)) if image else None
        if not tag:
            return Outcome(ok=True, summary=f"{plan.tenant} restored to snapshot #{snapshot_id}.",
                           lines=[*first, f"Undo with `/minio update {plan.tenant} rollback {saved[0]}`."])
        result = follow_rollout(runtime, handle, tag, before, progress)
        return rollout_outcome(result, plan.tenant, tag, saved[0], first)


register(Rollback())
