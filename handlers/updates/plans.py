"""The previewed upgrades and rollbacks: read the facts, evaluate them, seal the plan."""

from __future__ import annotations

from bot.changes import Change, ChangePlan, DryRun, Finding, Target, seal
from bot.changes.tenant import JsonPatch, TenantHandle, TenantObject, dry_run, dry_run_deployment
from bot.clients.fanout import required
from bot.clients.minio_models import ServerInfo
from bot.config import ClusterConfig
from bot.invocation import UserError
from bot.redact import contains_redaction, redact_structured, restore_redacted_patch
from bot.report import code, spans
from bot.runtime import Runtime
from bot.store import SpecSnapshot
from handlers.updates.evaluate import (
    image_changes,
    image_ops,
    image_source_finding,
    node_versions,
    operator_available_finding,
    operator_ops,
    operator_rollback_ops,
    operator_update_findings,
    rollback_ops,
    tenant_update_findings,
    upgrade_findings,
    version_summary,
)
from handlers.updates.facts import cluster_tenants, operator_handle, operator_target, upgrade_facts
from handlers.updates.images import ImageRef, compare_versions, image_tag
from handlers.updates.kinds import (
    OPERATOR_ACTION_KIND,
    OPERATOR_IMAGES,
    ROLLBACK_ACTION_KIND,
    TENANT_IMAGES,
    UPDATE_ACTION_KIND,
    OperatorRollback,
    OperatorUpdate,
    Rollback,
    TenantUpdate,
)
from handlers.updates.snapshots import images_fingerprint, snapshot_images, snapshot_key


def _reach(runtime: Runtime, cluster: str) -> str:
    """What an operator change touches: every Tenant on the cluster, not one."""
    names = ", ".join(t.name for t in cluster_tenants(runtime, cluster)) or "none"
    return (f"The operator manages every Tenant in cluster {cluster} (configured here: {names}): while its pod "
            "restarts, no Tenant is reconciled (MinIO itself keeps serving).")


def _when(snap: SpecSnapshot) -> str:
    return f"{snap.taken_at:%Y-%m-%d %H:%M} UTC"


def plan_tenant_update(runtime: Runtime, handle: TenantHandle, requester: str, image: ImageRef) -> ChangePlan:
    """Preview of `update <tenant> tenant <image>`: preflight, versions now, the patch and its dry run."""
    facts = upgrade_facts(runtime, handle)
    obj: TenantObject = required(facts.tenant)
    name, current = handle.config.name, obj.info.image
    if current == str(image):
        raise UserError(spans(code(name), " already runs ", code(str(image)), " (spec.image): nothing to upgrade."))
    current_tag = image_tag(current)
    running = version_summary(node_versions(facts.info)) if isinstance(facts.info, ServerInfo) \
        else f"unknown ({facts.info})"
    changes = [
        *image_changes("Tenant spec.image", current, str(image)),
        Change(what="MinIO version on the nodes", before=running, after=f"{image.tag} on every node"),
    ]
    ops = image_ops(current, str(image))
    notes = [
        "The operator checks health, updates MinIO in place, then rolls the StatefulSets: every server restarts "
        "once. The thread follows the Tenant's state and each node's version.",
        f"Before the patch the current spec is saved; /minio update {name} rollback restores it.",
    ]
    return seal(ChangePlan(
        kind=TenantUpdate.name, action_kind=UPDATE_ACTION_KIND, tenant=name, title=f"Upgrade {name} to {image.tag}",
        params={"image": str(image), "tag": image.tag, "previous": current, "ops": ops, "requested_by": requester},
        targets=[obj.target()], changes=changes, notes=notes, dry_run=dry_run(handle, ops),
        preflight=[image_source_finding(str(image), handle.config.allowed_images, [current] if current else [],
                                        TENANT_IMAGES),
                   *tenant_update_findings(facts, handle.config, current_tag, image)],
        risk="high" if compare_versions(current_tag, image.tag) == 1 else "medium", planned_at=runtime.clock(),
    ))


def plan_operator_update(runtime: Runtime, cluster: ClusterConfig, requester: str, image: ImageRef) -> ChangePlan:
    """Preview of upgrading the operator Deployment of ``cluster``: the full image before/after, its source,
    readiness, dry run. The plan is the cluster's: its approvals govern it (never a tenant's rule)."""
    operator = operator_handle(runtime, cluster)
    ref = operator.ref
    deployment = operator.read()
    if deployment.image == str(image):
        raise UserError(spans("The operator ", code(f"{ref.namespace}/{ref.deployment}"), " already runs ",
                              code(str(image)), "."))
    ops = operator_ops(deployment.image, str(image))
    source = image_source_finding(str(image), ref.allowed_images, list(deployment.images), OPERATOR_IMAGES)
    return seal(ChangePlan(
        kind=OperatorUpdate.name, action_kind=OPERATOR_ACTION_KIND, cluster=cluster.name,
        title=f"Upgrade the MinIO Operator of cluster {cluster.name} to {image.tag}",
        params={"image": str(image), "previous": deployment.image, "namespace": ref.namespace,
                "deployment": ref.deployment, "ops": ops, "requested_by": requester},
        targets=[Target(kind="Deployment", namespace=ref.namespace, name=ref.deployment,
                        resource_version=deployment.resource_version, fingerprint=deployment.image)],
        changes=image_changes(f"Deployment {ref.namespace}/{ref.deployment} image", deployment.image, str(image)),
        notes=[_reach(runtime, cluster.name),
               "Before the patch the operator's current images are saved; /minio update operator rollback "
               "restores them."],
        dry_run=dry_run_deployment(operator.kube, ref.namespace, ref.deployment, ops),
        preflight=[source, *operator_update_findings(deployment, image, operator_target(runtime, cluster.name))],
        risk="high",
        planned_at=runtime.clock(),
    ))


SECRETS_KEPT = ("Secret values (environment entries named like passwords, keys or tokens) are never stored: each "
                "one keeps the value the Tenant has now.")


def _rollback_dry_run(handle: TenantHandle, ops: JsonPatch, live_spec: dict[str, object]) -> DryRun:
    """The dry run of the patch as it will be written: with the secrets it keeps put back from the live spec
    (the plan, the card and the store keep the redacted patch)."""
    try:
        complete = restore_redacted_patch(ops, {"spec": live_spec})
    except ValueError as exc:
        return DryRun(ok=False, detail=f"Not sent: {exc}. The bot never stores secret values, so it cannot put this "
                      "one back; set it on the Tenant first (or roll back by hand).")
    return dry_run(handle, complete)


def plan_rollback(runtime: Runtime, handle: TenantHandle, requester: str, snapshot_id: int) -> ChangePlan:
    """Preview of restoring snapshot ``snapshot_id``: the field-by-field diff, preflight and dry run.

    The diff compares the snapshot (stored redacted) with the live spec redacted
    the same way, so no secret reaches the plan, the card or the store, and a
    secret the snapshot could not keep is not a difference: it stays as it is now.
    """
    name = handle.config.name
    snap = runtime.store.specs.get(snapshot_id)
    if snap is None or snap.tenant != name:
        raise UserError(spans(f"There is no snapshot #{snapshot_id} of ", code(name), ". See ",
                              code(f"/minio update {name} rollback"), "."))
    facts = upgrade_facts(runtime, handle)
    obj: TenantObject = required(facts.tenant)
    live = obj.info.raw_spec
    ops, changes, notes = rollback_ops(redact_structured(live), dict(snap.spec))
    if not ops:
        raise UserError(f"The Tenant already matches snapshot #{snapshot_id} (as far as a rollback may change it): "
                        "nothing to roll back.")
    image = snap.spec.get("image")
    image_changes_now = isinstance(image, str) and image != obj.info.image
    if isinstance(image, str) and image_changes_now:
        changes += image_changes("Tenant image", obj.info.image, image)[1:]
    allowed = handle.config.allowed_images
    # The snapshot's image ran here before; an explicit list still has the last word.
    source = [image_source_finding(image, allowed, [obj.info.image or ""], TENANT_IMAGES)] \
        if isinstance(image, str) and image_changes_now and allowed is not None else []
    if contains_redaction(ops):
        notes.append(SECRETS_KEPT)
    notes.append(f"Before the patch the current spec is saved too, so this rollback can be undone with "
                 f"/minio update {name} rollback <new id>.")
    if image_changes_now:
        notes.append("The image changes: the operator rolls every server once; the thread follows the rollout.")
    return seal(ChangePlan(
        kind=Rollback.name, action_kind=ROLLBACK_ACTION_KIND, tenant=name,
        title=f"Roll {name} back to snapshot #{snapshot_id} ({_when(snap)})",
        params={"snapshot": snapshot_id, "ops": ops, "image": image if image_changes_now else None,
                "requested_by": requester},
        targets=[obj.target()], changes=changes, notes=[f"Snapshot #{snapshot_id}: {snap.reason[:200]}.", *notes],
        dry_run=_rollback_dry_run(handle, ops, live), preflight=[*source, *upgrade_findings(facts, name)],
        risk="high", planned_at=runtime.clock(),
    ))


def _operator_snapshot(runtime: Runtime, snapshot_id: int, cluster: str) -> tuple[SpecSnapshot, str, str, list[str]]:
    """(snapshot, namespace, Deployment name, images) of an operator snapshot of ``cluster``; UserError otherwise."""
    snap = runtime.store.specs.get(snapshot_id)
    if snap is None or snap.tenant != snapshot_key(cluster):
        raise UserError(spans(f"There is no operator snapshot #{snapshot_id} of cluster ", code(cluster), ". See ",
                              code("/minio update operator rollback"), "."))
    spec = dict(snap.spec)
    namespace, name = str(spec.get("namespace") or ""), str(spec.get("name") or "")
    restored = snapshot_images(spec)
    if spec.get("kind") != "Deployment" or not namespace or not name or not restored:
        raise UserError(f"Snapshot #{snapshot_id} does not describe an operator Deployment: nothing to restore.")
    return snap, namespace, name, restored


def plan_operator_rollback(runtime: Runtime, cluster: ClusterConfig, requester: str, snapshot_id: int) -> ChangePlan:
    """Preview of restoring operator snapshot ``snapshot_id`` of ``cluster``: the images before/after and the dry
    run. The plan is the cluster's: its approvals govern it (never a tenant's rule)."""
    operator = operator_handle(runtime, cluster)
    snap, namespace, name, restored = _operator_snapshot(runtime, snapshot_id, cluster.name)
    deployment = operator.kube.get_deployment(namespace, name)
    current = list(deployment.images)
    if len(current) != len(restored):
        raise UserError(spans(
            "The operator Deployment ", code(f"{namespace}/{name}"), f" now has {len(current)} container(s); "
            f"snapshot #{snapshot_id} has {len(restored)}: a rollback never adds or removes a container. Upgrade it "
            "with ", code("/minio update operator <image>"), " instead."))
    ops = operator_rollback_ops(current, restored)
    if not ops:
        raise UserError(f"The operator already runs the images of snapshot #{snapshot_id}: nothing to roll back.")
    changes = [change for index, (now, then) in enumerate(zip(current, restored, strict=True)) if now != then
               for change in image_changes(f"Deployment {namespace}/{name} container {index} image", now, then)]
    findings: list[Finding] = [operator_available_finding(deployment)]
    allowed = cluster.operator.allowed_images
    if allowed is not None:  # the snapshot's images ran here before; an explicit list still has the last word
        findings += [image_source_finding(then, allowed, current, OPERATOR_IMAGES)
                     for now, then in zip(current, restored, strict=True) if now != then]
    return seal(ChangePlan(
        kind=OperatorRollback.name, action_kind=OPERATOR_ACTION_KIND, cluster=cluster.name,
        title=f"Roll the MinIO Operator of cluster {cluster.name} back to snapshot #{snapshot_id} ({_when(snap)})",
        params={"snapshot": snapshot_id, "namespace": namespace, "deployment": name, "images": restored,
                "previous": current, "ops": ops, "requested_by": requester},
        targets=[Target(kind="Deployment", namespace=namespace, name=name,
                        resource_version=deployment.resource_version, fingerprint=images_fingerprint(current))],
        changes=changes,
        notes=[f"Snapshot #{snapshot_id}: {snap.reason[:200]}.", _reach(runtime, cluster.name),
               "Before the patch the operator's current images are saved too, so this rollback can be undone with "
               "/minio update operator rollback <new id>."],
        dry_run=dry_run_deployment(operator.kube, namespace, name, ops),
        preflight=findings, risk="high", planned_at=runtime.clock(),
    ))
