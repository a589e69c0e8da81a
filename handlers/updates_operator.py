"""`/minio update operator <image>`: upgrade the MinIO Operator Deployment of a tenant's cluster.

The operator runs once per cluster and manages every Tenant there, so this
change falls under the ``operator-update`` approval rule (two approvals unless
configured otherwise). Where the operator runs comes from the cluster's
``operator`` setting (default ``minio-operator/minio-operator``). The patch is
a JSON patch on the first container's image that also tests the old image;
after approval the Deployment's container images are saved as a snapshot (see
below), then the thread follows the operator's pods until the new image is
Ready and no pod of the old one is left.

Operator snapshots live in ``store.specs`` under the key ``operator:<cluster>``
(tenant names are DNS labels, so they never contain ``:``) with the spec
``{"kind": "Deployment", "namespace", "name", "images": [...], "resourceVersion"}``
where ``images`` lists the container images in container order (the
Deployment as the bot reads it carries no container names). ``/minio update
operator rollback [id]`` lists them or restores one (``operator-update``
approval rule, two approvals by default); the restore tests every current
image in its JSON patch and saves a snapshot of its own first.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from bot.changes import Change, ChangePlan, Finding, Outcome, Target, seal
from bot.changes.follow import Observation, Phase, follow, follow_limits, format_duration
from bot.changes.tenant import dry_run_deployment, tenant_config
from bot.clients.errors import ClientError
from bot.clients.kube import KubeClient
from bot.clients.kube_models import DeploymentInfo, PodInfo
from bot.config import OperatorRef, TenantConfig
from bot.invocation import UserError
from bot.runtime import Runtime
from handlers.updates_images import ImageRef, compare_versions, image_tag, same_version

ACTION_KIND = "operator-update"
IMAGE_PATH = "/spec/template/spec/containers/0/image"
SNAPSHOT_PREFIX = "operator:"


def snapshot_key(cluster: str) -> str:
    """The ``store.specs`` key of a cluster's operator snapshots (cannot collide with a tenant name)."""
    return f"{SNAPSHOT_PREFIX}{cluster}"


def snapshot_cluster(key: str) -> str | None:
    """The cluster of an operator snapshot key, or None for a tenant's snapshot."""
    return key[len(SNAPSHOT_PREFIX):] if key.startswith(SNAPSHOT_PREFIX) else None


def deployment_spec(deployment: DeploymentInfo) -> dict[str, Any]:
    """What a rollback of the operator needs: where it is and each container's image, in container order."""
    return {"kind": "Deployment", "namespace": deployment.namespace, "name": deployment.name,
            "images": list(deployment.images), "resourceVersion": deployment.resource_version}


def store_operator_snapshot(runtime: Runtime, cluster: str, deployment: DeploymentInfo, reason: str,
                            by: str | None) -> int:
    """Save the operator Deployment's container images as they are now; returns the snapshot id."""
    snapshot = runtime.store.specs.add(snapshot_key(cluster), deployment_spec(deployment), reason=reason,
                                       resource_version=deployment.resource_version, taken_by=by,
                                       at=runtime.clock())
    return snapshot.id


def patch_operator(kube: KubeClient, namespace: str, name: str, plan: ChangePlan) -> Outcome | None:
    """Write the plan's guarded JSON patch to the operator Deployment; a failed Outcome when it was refused."""
    try:
        kube.patch_deployment(namespace, name, list(plan.params["ops"]), json_patch=True)
    except ClientError as exc:
        if exc.kind == "invalid":
            return Outcome(ok=False, summary=f"The operator Deployment changed before the write, or the API "
                           f"server refused it ({exc}); nothing was changed.")
        raise
    return None


def images_fingerprint(images: list[str]) -> str:
    return json.dumps(images, separators=(",", ":"))


def operator_ref(runtime: Runtime, tenant: TenantConfig) -> tuple[KubeClient, OperatorRef, str]:
    """(client, where the operator runs, cluster name) for the tenant's cluster; UserError for static tenants."""
    kube = runtime.kube_for(tenant)
    if kube is None or tenant.kubernetes is None:
        raise UserError(f"`{tenant.name}` has no Kubernetes cluster configured, so it has no operator to upgrade.")
    cluster = runtime.config.cluster(tenant.kubernetes.cluster)
    return kube, cluster.operator if cluster else OperatorRef(), tenant.kubernetes.cluster


def operator_ops(current: str | None, new: str) -> list[dict[str, Any]]:
    """JSON patch of the first container's image, testing the old one."""
    test = [{"op": "test", "path": IMAGE_PATH, "value": current}] if current else []
    return [*test, {"op": "replace", "path": IMAGE_PATH, "value": new}]


def plan_operator_update(runtime: Runtime, tenant: TenantConfig, requester: str, image: ImageRef) -> ChangePlan:
    """Preview of upgrading the operator Deployment: before/after image, readiness, dry run."""
    kube, ref, cluster = operator_ref(runtime, tenant)
    deployment = kube.get_deployment(ref.namespace, ref.deployment)
    if deployment.image == str(image):
        raise UserError(f"The operator `{ref.namespace}/{ref.deployment}` already runs `{image}`.")
    findings: list[Finding] = []
    if deployment.available >= deployment.replicas:
        findings.append(Finding(check="operator available", ok=True, detail=f"{deployment.available}/"
                                f"{deployment.replicas} replica(s) available."))
    else:
        findings.append(Finding(check="operator available", ok=False, blocking=False, detail=(
            f"Only {deployment.available}/{deployment.replicas} replica(s) are available now; the upgrade may "
            "be what fixes it, or may hide why.")))
    order = compare_versions(image_tag(deployment.image), image.tag)
    if order == 1:
        findings.append(Finding(check="version direction", ok=False, blocking=False, detail=(
            f"{image.tag} is older than {image_tag(deployment.image)}: a downgrade of the operator.")))
    wanted = tenant.target_versions.operator
    if wanted and not same_version(wanted, image.tag):
        findings.append(Finding(check="configured target", ok=False, blocking=False,
                                detail=f"The configured operator target is {wanted}, not {image.tag}."))
    ops = operator_ops(deployment.image, str(image))
    return seal(ChangePlan(
        kind=OperatorUpdate.name,
        action_kind=ACTION_KIND,
        tenant=tenant.name,
        title=f"Upgrade the MinIO Operator of cluster {cluster} to {image.tag}",
        params={"image": str(image), "previous": deployment.image, "namespace": ref.namespace,
                "deployment": ref.deployment, "ops": ops, "requested_by": requester},
        targets=[Target(kind="Deployment", namespace=ref.namespace, name=ref.deployment,
                        resource_version=deployment.resource_version, fingerprint=deployment.image)],
        changes=[Change(what=f"Deployment {ref.namespace}/{ref.deployment} image", before=f"`{deployment.image}`",
                        after=f"`{image}`")],
        notes=[f"The operator manages every Tenant in cluster `{cluster}`, not only `{tenant.name}`: while its pod "
               "restarts, no Tenant is reconciled (MinIO itself keeps serving).",
               "Before the patch the operator's current images are saved; `/minio update operator rollback` "
               "restores them."],
        dry_run=dry_run_deployment(kube, ref.namespace, ref.deployment, ops),
        preflight=findings,
        risk="high",
        planned_at=runtime.clock(),
    ))


def operator_observer(kube: KubeClient, namespace: str, name: str, image: str, previous: str | None
                      ) -> Callable[[], Observation]:
    """Done when at least ``replicas`` pods run ``image`` and are Ready, and no pod of ``previous`` is left."""

    def observe() -> Observation:
        deployment: DeploymentInfo = kube.get_deployment(namespace, name)
        pods: list[PodInfo] = [p for p in kube.list_pods(namespace) if p.name.startswith(f"{name}-")
                               and not p.deleting]
        new = [p for p in pods if any(c.image == image for c in p.containers)]
        ready = [p for p in new if p.ready]
        old = [p for p in pods if previous and any(c.image == previous for c in p.containers)]
        waiting = sorted({p.waiting_reason for p in new if p.waiting_reason})
        line = f"{len(ready)}/{deployment.replicas} operator pod(s) Ready on the new image, {len(old)} old left"
        if waiting:
            line += f" (waiting: {', '.join(waiting)})"
        if any(w in ("ImagePullBackOff", "ErrImagePull", "InvalidImageName") for w in waiting):
            return Observation(Phase.FAILED, line)
        done = deployment.image == image and len(ready) >= max(1, deployment.replicas) and not old
        return Observation(Phase.DONE if done else Phase.RUNNING, line)

    return observe


class OperatorUpdate:
    """Change kind `update-operator`: patch the operator Deployment's image and follow its pods."""

    name = "update-operator"
    action_kind = ACTION_KIND

    def recheck(self, runtime: Runtime, plan: ChangePlan) -> list[Finding]:
        tenant = tenant_config(runtime, plan.tenant)
        if tenant is None:
            return [Finding(check="tenant", ok=False, detail=f"Tenant `{plan.tenant}` is no longer configured.")]
        kube, _ref, _cluster = operator_ref(runtime, tenant)
        namespace, name = str(plan.params["namespace"]), str(plan.params["deployment"])
        deployment = kube.get_deployment(namespace, name)
        if deployment.image != plan.params["previous"]:
            return [Finding(check="target unchanged", ok=False, detail=(
                f"The operator image changed since the preview (`{plan.params['previous']}` -> "
                f"`{deployment.image}`). Request it again."))]
        return [Finding(check="target unchanged", ok=True, detail=f"The operator still runs `{deployment.image}`.")]

    def execute(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        tenant = tenant_config(runtime, plan.tenant)
        if tenant is None:
            return Outcome(ok=False, summary=f"Tenant `{plan.tenant}` is no longer configured; nothing was changed.")
        kube, _ref, cluster = operator_ref(runtime, tenant)
        namespace, name = str(plan.params["namespace"]), str(plan.params["deployment"])
        image, previous = str(plan.params["image"]), plan.params.get("previous")
        requester = plan.params.get("requested_by")
        current = kube.get_deployment(namespace, name)
        if current.image != previous:
            return Outcome(ok=False, summary=f"The operator image changed since the preview (`{previous}` -> "
                           f"`{current.image}`); nothing was changed.")
        saved = store_operator_snapshot(runtime, cluster, current, f"before operator upgrade to {image}",
                                        str(requester) if requester else None)
        progress(f"Snapshot #{saved} of the operator's images stored (image `{current.image}`).")
        refused = patch_operator(kube, namespace, name, plan)
        if refused is not None:
            return refused
        first = f"Deployment {namespace}/{name} image set to `{image}`."
        progress(first)
        undo = f"Snapshot #{saved} keeps the previous images: `/minio update operator rollback {saved}`."
        timeout, poll = follow_limits(tenant)
        result = follow(operator_observer(kube, namespace, name, image, str(previous) if previous else None),
                        progress, timeout_s=timeout, poll_s=poll, what="the operator rollout")
        if result.phase == Phase.DONE:
            return Outcome(ok=True, summary=f"The operator runs `{image}` ({format_duration(result.elapsed_s)}).",
                           lines=[first, result.line, undo])
        took = format_duration(result.elapsed_s)
        verb = "failed" if result.phase == Phase.FAILED else f"did not finish within {took}"
        return Outcome(ok=False, summary=f"The operator rollout {verb}: {result.line}.",
                       lines=[first, "Nothing else was touched. To go back, request `/minio update operator "
                              f"rollback {saved}` (needs approval)."])


CHANGE_KINDS = (OperatorUpdate(),)
