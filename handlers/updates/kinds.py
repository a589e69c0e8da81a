"""The upgrade and rollback change kinds: re-check, save a snapshot, write once, follow the rollout.

========================  ================  ==================================================================
kind                      approval rule     after approval
========================  ================  ==================================================================
update-tenant             update            save the spec, patch ``spec.image``, follow the nodes' versions
update-rollback           rollback          save the spec, restore a snapshot's, follow the rollout if the
                                            image changes
update-operator           operator-update   save the operator's images, patch its Deployment, follow its pods
update-operator-rollback  operator-update   save the operator's images, restore a snapshot's, follow its pods
========================  ================  ==================================================================

The operator kinds change a whole cluster: their plans name the cluster, whose
``approvals`` govern them. A rollback's patch is stored redacted; the secrets
it must keep are put back from the live spec just before the write.

After a restart (the bot that executed it stopped), ``update-tenant`` resumes: when ``spec.image`` was
written it follows the rollout to its end, never writing again; the others report by re-checking.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot import humanize
from bot.changes import ChangeKind, ChangePlan, Finding, Outcome, outcome_by_recheck
from bot.changes.follow import FollowResult, Phase, follow, follow_limits
from bot.changes.plan import NOT_RUN_AGAIN
from bot.changes.tenant import (
    JsonPatch,
    TargetChanged,
    TenantHandle,
    TenantObject,
    apply_guarded,
    handle_by_name,
    tenant_unchanged,
    unchanged_finding,
)
from bot.clients.errors import ClientError
from bot.clients.kube import KubeClient
from bot.config import ClusterConfig
from bot.redact import restore_redacted_patch
from bot.runtime import Runtime
from handlers.updates.evaluate import image_source_finding, upgrade_findings
from handlers.updates.facts import node_versions_now, operator_handle, upgrade_facts
from handlers.updates.images import image_tag
from handlers.updates.observers import operator_observer, rollout_observer
from handlers.updates.snapshots import images_fingerprint, snapshot_key, store_operator_snapshot, store_tenant_snapshot

UPDATE_ACTION_KIND = "update"
ROLLBACK_ACTION_KIND = "rollback"
OPERATOR_ACTION_KIND = "operator-update"
TENANT_IMAGES = "allowed_images of the tenant"
OPERATOR_IMAGES = "operator.allowed_images of the cluster"


def _requester(plan: ChangePlan) -> str | None:
    requester = plan.params.get("requested_by")
    return str(requester) if requester else None


# ----------------------------------------------------------------------------- the tenant's spec


def _snapshot_and_apply(runtime: Runtime, handle: TenantHandle, plan: ChangePlan, reason: str,
                        saved_line: Callable[[int, TenantObject], str], progress: Callable[[str], None],
                        ops: JsonPatch | None = None) -> tuple[dict[str, str], int] | Outcome:
    """Note the node versions, then snapshot the spec and write the guarded patch (``ops``, default the plan's).

    Returns (node versions before, snapshot id), or a failed Outcome when the Tenant
    changed since the preview (then nothing is written).
    """
    before = node_versions_now(runtime, handle.config)
    saved: list[int] = []

    def snapshot(obj: TenantObject) -> None:
        saved.append(store_tenant_snapshot(runtime, plan.tenant, obj, reason, _requester(plan)))
        progress(saved_line(saved[-1], obj))

    try:
        apply_guarded(handle, plan.targets[0], list(plan.params["ops"]) if ops is None else ops,
                      before_write=snapshot)
    except TargetChanged as exc:
        return Outcome(ok=False, summary=str(exc))
    return before, saved[0]


def _follow_rollout(runtime: Runtime, handle: TenantHandle, tag: str, before: dict[str, str],
                    progress: Callable[[str], None]) -> FollowResult:
    timeout, poll = follow_limits(handle.config)
    return follow(rollout_observer(runtime, handle, tag, before), progress, timeout_s=timeout, poll_s=poll,
                  what=f"the rollout of {tag}")


def _rollout_outcome(result: FollowResult, tenant: str, tag: str, snapshot_id: int | None, first: list[str]
                     ) -> Outcome:
    """The outcome of a followed rollout, with the rollback command when it did not finish."""
    rollback = f"/minio update {tenant} rollback {'' if snapshot_id is None else f'{snapshot_id} '}(needs approval)"
    took = humanize.duration(result.elapsed_s)
    if result.phase == Phase.DONE:
        kept = "The newest snapshot" if snapshot_id is None else f"Snapshot #{snapshot_id}"
        return Outcome(ok=True, summary=f"{tenant} runs {tag} on every node ({took}).",
                       lines=[*first, result.line, f"{kept} keeps the previous spec: {rollback}."])
    if result.phase == Phase.FAILED:
        return Outcome(ok=False, summary=f"The rollout of {tag} failed: {result.line}.",
                       lines=[*first, "Nothing else was touched.", f"Roll back with {rollback}."])
    return Outcome(ok=False, summary=f"The rollout of {tag} did not complete within {took} ({result.line}).",
                   lines=[*first, "Nothing else was touched: the spec keeps the new image and the operator keeps "
                          f"trying. Check /minio health and the operator's logs; roll back with {rollback}."])


def _recheck_tenant(runtime: Runtime, plan: ChangePlan) -> list[Finding]:
    handle = handle_by_name(runtime, plan.tenant)
    current, unchanged = unchanged_finding(handle, plan.targets[0])
    if current is None:
        return [unchanged]
    findings = [unchanged, *upgrade_findings(upgrade_facts(runtime, handle), plan.tenant, plan.plan_hash)]
    image = plan.params.get("image")
    allowed = handle.config.allowed_images
    # An upgrade's image must still be from an allowed source (the list may have changed since the preview); a
    # rollback's image ran here before, so only an explicit list is checked again.
    if isinstance(image, str) and (plan.kind == TenantUpdate.name or allowed is not None):
        running = [current.info.image] if current.info.image else []
        findings.insert(1, image_source_finding(image, allowed, running, TENANT_IMAGES))
    return findings


def _complete_ops(handle: TenantHandle, plan: ChangePlan) -> JsonPatch | Outcome:
    """The rollback's patch with the secrets it keeps put back from the Tenant as it is now (the plan stores
    them redacted); a failed Outcome when the Tenant moved or a secret has no current value to keep."""
    current = handle.read()
    unchanged = tenant_unchanged(plan.targets[0], current)
    if not unchanged.ok:  # the values put back must come from the spec that was previewed
        return Outcome(ok=False, summary=f"{unchanged.detail} Nothing was written.")
    try:
        return restore_redacted_patch(list(plan.params["ops"]), {"spec": current.info.raw_spec})
    except ValueError as exc:
        return Outcome(ok=False, summary=f"Not restored: {exc}. The bot never stores secret values, so it cannot put "
                       "this one back; nothing was written. Set it on the Tenant first, or roll back by hand.")


class TenantUpdate(ChangeKind):
    """Change kind `update-tenant`: snapshot the spec, patch ``spec.image``, follow the rollout."""

    name = "update-tenant"
    action_kind = UPDATE_ACTION_KIND

    def recheck(self, runtime: Runtime, plan: ChangePlan) -> list[Finding]:
        return _recheck_tenant(runtime, plan)

    def execute(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        handle = handle_by_name(runtime, plan.tenant)
        image, tag = str(plan.params["image"]), str(plan.params["tag"])
        applied = _snapshot_and_apply(
            runtime, handle, plan, f"before update to {tag}",
            lambda sid, obj: f"Snapshot #{sid} of the current spec stored (image {obj.info.image}).", progress,
        )
        if isinstance(applied, Outcome):
            return applied
        before, snapshot_id = applied
        first = [f"Snapshot #{snapshot_id} stored.", f"spec.image set to {image}; the operator rolls it out."]
        progress(first[-1])
        result = _follow_rollout(runtime, handle, tag, before, progress)
        return _rollout_outcome(result, plan.tenant, tag, snapshot_id, first)

    def resume(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        handle = handle_by_name(runtime, plan.tenant)
        image, tag = str(plan.params["image"]), str(plan.params["tag"])
        if handle.kube.get_tenant(handle.namespace, handle.name).image != image:
            return outcome_by_recheck(self, runtime, plan, progress)  # spec.image was never written
        snapshot_id = _snapshot_before(runtime, plan, f"before update to {tag}")
        first = [f"spec.image is {image}: the upgrade was written before the bot stopped; following the rollout "
                 "again."]
        progress(first[-1])
        # The node versions before the write were lost with the process: a release tag needs none, and any
        # other tag counts as rolled out once every node agrees on one version.
        result = _follow_rollout(runtime, handle, tag, {}, progress)
        return _rollout_outcome(result, plan.tenant, tag, snapshot_id, first)


def _snapshot_before(runtime: Runtime, plan: ChangePlan, reason: str) -> int | None:
    """The spec snapshot the executing process stored before writing (None if it cannot be found)."""
    taken = [s for s in runtime.store.specs.list(plan.tenant) if s.reason == reason and s.taken_at >= plan.planned_at]
    return taken[0].id if taken else None


class Rollback(ChangeKind):
    """Change kind `update-rollback`: save the current spec, restore a snapshot's, follow the rollout."""

    name = "update-rollback"
    action_kind = ROLLBACK_ACTION_KIND

    def recheck(self, runtime: Runtime, plan: ChangePlan) -> list[Finding]:
        return _recheck_tenant(runtime, plan)

    def execute(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        handle = handle_by_name(runtime, plan.tenant)
        snapshot_id = int(plan.params["snapshot"])
        image = plan.params.get("image")
        ops = _complete_ops(handle, plan)
        if isinstance(ops, Outcome):
            return ops
        applied = _snapshot_and_apply(
            runtime, handle, plan, f"before rollback to #{snapshot_id}",
            lambda sid, _obj: f"Snapshot #{sid} of the current spec stored.", progress, ops,
        )
        if isinstance(applied, Outcome):
            return applied
        before, saved = applied
        first = [f"Snapshot #{saved} stored.", f"Spec restored from snapshot #{snapshot_id}."]
        progress(first[-1])
        tag = image_tag(str(image)) if image else None
        if not tag:
            return Outcome(ok=True, summary=f"{plan.tenant} restored to snapshot #{snapshot_id}.",
                           lines=[*first, f"Undo with /minio update {plan.tenant} rollback {saved}."])
        result = _follow_rollout(runtime, handle, tag, before, progress)
        return _rollout_outcome(result, plan.tenant, tag, saved, first)

    def resume(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        """A rollback that changes the image and was written before the bot stopped is followed again."""
        handle = handle_by_name(runtime, plan.tenant)
        image = plan.params.get("image")
        if not image or handle.kube.get_tenant(handle.namespace, handle.name).image != image:
            return outcome_by_recheck(self, runtime, plan, progress)  # nothing to follow, or never written
        snapshot_id = int(plan.params["snapshot"])
        saved = _snapshot_before(runtime, plan, f"before rollback to #{snapshot_id}")
        first = [f"spec.image is {image} again: the rollback to snapshot #{snapshot_id} was written before the "
                 "bot stopped; following the rollout again."]
        progress(first[-1])
        tag = image_tag(str(image)) or str(image)
        return _rollout_outcome(_follow_rollout(runtime, handle, tag, {}, progress), plan.tenant, tag, saved, first)


# ----------------------------------------------------------------------------- the operator


@dataclass(frozen=True)
class _Operator:
    """The operator Deployment a plan changes, and the cluster it runs on."""

    cluster: ClusterConfig
    kube: KubeClient
    namespace: str
    name: str

    def images(self) -> list[str]:
        return list(self.kube.get_deployment(self.namespace, self.name).images)


def _previous(plan: ChangePlan) -> list[str]:
    """The images the plan was previewed against: every container's (rollback) or the first one's (upgrade)."""
    previous = plan.params["previous"]
    return [str(i) for i in previous] if isinstance(previous, list) else [str(previous)]


def _as_previewed(images: list[str], plan: ChangePlan) -> bool:
    if isinstance(plan.params["previous"], list):  # a rollback previews every container's image
        return images == _previous(plan)
    return images[:1] == _previous(plan)  # an upgrade, the first container's


def _operator_of(runtime: Runtime, plan: ChangePlan) -> _Operator | str:
    """The operator the plan changes, or why it may not run: a plan must name its cluster, whose approvals
    governed it (a plan from before cluster governance names a tenant and is refused)."""
    if plan.cluster is None:
        return (f"This operator change was planned under the rules of tenant {plan.tenant}, not of its cluster. "
                "Request it again: operator changes are governed per cluster")
    cluster = runtime.config.cluster(plan.cluster)
    if cluster is None or cluster.approvals is None:
        return f"Cluster {plan.cluster} is no longer configured with approvals"
    operator = operator_handle(runtime, cluster)
    return _Operator(cluster, operator.kube, str(plan.params["namespace"]), str(plan.params["deployment"]))


def _recheck_images(runtime: Runtime, plan: ChangePlan) -> list[Finding]:
    operator = _operator_of(runtime, plan)
    if isinstance(operator, str):
        return [Finding(check="cluster approvals", ok=False, detail=f"{operator}.")]
    now, previous = operator.images(), _previous(plan)
    if not _as_previewed(now, plan):
        return [Finding(check="target unchanged", ok=False, detail=f"The operator Deployment changed since the "
                        f"preview (images {images_fingerprint(previous)} -> {images_fingerprint(now)}). Request it "
                        "again.")]
    findings = [Finding(check="target unchanged", ok=True, detail=f"The operator still runs "
                        f"{images_fingerprint(now)}.")]
    allowed = operator.cluster.operator.allowed_images
    if plan.kind == OperatorUpdate.name:
        findings.append(image_source_finding(str(plan.params["image"]), allowed, now, OPERATOR_IMAGES))
    elif allowed is not None:  # a rollback's images ran here before; an explicit list still has the last word
        findings += [image_source_finding(str(i), allowed, now, OPERATOR_IMAGES) for i in plan.params["images"]
                     if str(i) not in now]
    return findings


def _change_operator(runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None], reason: str
                     ) -> tuple[_Operator, int] | Outcome:
    """Check the images are as previewed, save them, write the plan's guarded patch."""
    operator = _operator_of(runtime, plan)
    if isinstance(operator, str):
        return Outcome(ok=False, summary=f"{operator}; nothing was changed.")
    current, previous = operator.kube.get_deployment(operator.namespace, operator.name), _previous(plan)
    if not _as_previewed(list(current.images), plan):
        return Outcome(ok=False, summary=f"The operator Deployment changed since the preview (images "
                       f"{images_fingerprint(previous)} -> {images_fingerprint(current.images)}); nothing was "
                       "changed.")
    saved = store_operator_snapshot(runtime, operator.cluster.name, current, reason, _requester(plan))
    progress(f"Snapshot #{saved} of the operator's images stored ({', '.join(current.images)}).")
    try:
        operator.kube.patch_deployment(operator.namespace, operator.name, list(plan.params["ops"]), json_patch=True)
    except ClientError as exc:
        if exc.kind == "invalid":
            return Outcome(ok=False, summary=f"The operator Deployment changed before the write, or the API server "
                           f"refused it ({exc}); nothing was changed.")
        raise
    return operator, saved


def _follow_operator(operator: _Operator, image: str, previous: str | None, progress: Callable[[str], None]
                     ) -> tuple[FollowResult, str]:
    timeout, poll = follow_limits(operator.cluster)
    result = follow(operator_observer(operator.kube, operator.namespace, operator.name, image, previous), progress,
                    timeout_s=timeout, poll_s=poll, what="the operator rollout")
    return result, humanize.duration(result.elapsed_s)


class OperatorUpdate(ChangeKind):
    """Change kind `update-operator`: patch the operator Deployment's image and follow its pods."""

    name = "update-operator"
    action_kind = OPERATOR_ACTION_KIND

    def recheck(self, runtime: Runtime, plan: ChangePlan) -> list[Finding]:
        return _recheck_images(runtime, plan)

    def execute(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        image, previous = str(plan.params["image"]), str(plan.params["previous"])
        changed = _change_operator(runtime, plan, progress, f"before operator upgrade to {image}")
        if isinstance(changed, Outcome):
            return changed
        operator, saved = changed
        first = f"Deployment {operator.namespace}/{operator.name} image set to {image}."
        progress(first)
        undo = f"Snapshot #{saved} keeps the previous images: /minio update operator rollback {saved}."
        result, took = _follow_operator(operator, image, previous, progress)
        return _operator_outcome(result, took, f"The operator runs {image}", [first], undo, saved)

    def resume(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        """An upgrade written before the bot stopped is followed again; otherwise re-checked (never rewritten)."""
        image = str(plan.params["image"])
        return _resume_operator(self, runtime, plan, progress, [image], f"before operator upgrade to {image}",
                                f"The operator runs {image}")


class OperatorRollback(ChangeKind):
    """Change kind `update-operator-rollback`: save the operator's images, restore a snapshot's, follow the pods."""

    name = "update-operator-rollback"
    action_kind = OPERATOR_ACTION_KIND

    def recheck(self, runtime: Runtime, plan: ChangePlan) -> list[Finding]:
        return _recheck_images(runtime, plan)

    def execute(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        snapshot_id = int(plan.params["snapshot"])
        previous = [str(i) for i in plan.params["previous"]]
        restored = [str(i) for i in plan.params["images"]]
        changed = _change_operator(runtime, plan, progress, f"before operator rollback to #{snapshot_id}")
        if isinstance(changed, Outcome):
            return changed
        operator, saved = changed
        first = [f"Snapshot #{saved} stored.",
                 f"Deployment {operator.namespace}/{operator.name} images restored from snapshot #{snapshot_id}."]
        progress(first[-1])
        undo = f"Undo with /minio update operator rollback {saved} (needs approval)."
        image, old = restored[0], previous[0]
        result, took = _follow_operator(operator, image, old if old != image else None, progress)
        return _operator_outcome(result, took, f"The operator runs {image} again, restored from snapshot "
                                 f"#{snapshot_id}", first, undo, saved)

    def resume(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        """A rollback written before the bot stopped is followed again; otherwise re-checked (never rewritten)."""
        snapshot_id = int(plan.params["snapshot"])
        restored = [str(i) for i in plan.params["images"]]
        return _resume_operator(self, runtime, plan, progress, restored, f"before operator rollback to #{snapshot_id}",
                                f"The operator runs {restored[0]} again, restored from snapshot #{snapshot_id}")


def _operator_outcome(result: FollowResult, took: str, done: str, first: list[str], undo: str,
                      saved: int | None) -> Outcome:
    """The outcome of a followed operator rollout: ``done`` on success, else what failed and how to go back."""
    if result.phase == Phase.DONE:
        return Outcome(ok=True, summary=f"{done} ({took}).", lines=[*first, result.line, undo])
    verb = "failed" if result.phase == Phase.FAILED else f"did not finish within {took}"
    back = (f"To go back, request /minio update operator rollback {saved} (needs approval)." if saved is not None
            else "List the snapshots with /minio update operator rollback.")
    return Outcome(ok=False, summary=f"The operator rollout {verb}: {result.line}.",
                   lines=[*first, f"Nothing else was touched. {back}"])


def _resume_operator(kind: ChangeKind, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None],
                     images: list[str], reason: str, done: str) -> Outcome:
    """Follow an operator change the stopped process wrote (the Deployment runs ``images`` now, which the
    preview did not); anything else is reported by re-checking. Never writes."""
    operator = _operator_of(runtime, plan)
    if isinstance(operator, str):
        return Outcome(ok=False, summary=f"{operator}. {NOT_RUN_AGAIN}")
    now = operator.images()
    if now[: len(images)] != images or _as_previewed(now, plan):
        return outcome_by_recheck(kind, runtime, plan, progress)
    saved = next((s.id for s in runtime.store.specs.list(snapshot_key(operator.cluster.name))
                  if s.reason == reason and s.taken_at >= plan.planned_at), None)
    first = [f"Deployment {operator.namespace}/{operator.name} runs {images[0]}: the change was written before the "
             "bot stopped; following its pods again."]
    progress(first[-1])
    previous = _previous(plan)[0]
    result, took = _follow_operator(operator, images[0], previous if previous != images[0] else None, progress)
    undo = (f"Undo with /minio update operator rollback {saved} (needs approval)." if saved is not None
            else "The snapshot taken before the change is listed by /minio update operator rollback.")
    return _operator_outcome(result, took, done, first, undo, saved)


CHANGE_KINDS = (TenantUpdate(), Rollback(), OperatorUpdate(), OperatorRollback())
