"""The scaling change kinds: what an approved plan re-checks, writes once, and follows until it is done.

=========================  ==============================================================
kind                       after approval
=========================  ==============================================================
scale-add-pool             append the pool; follow it until the operator initialises it
scale-storage              patch every PVC, then the Tenant's claim template; follow the resize
scale-resources            set ``spec.pools[].resources``; follow the pods as the operator rolls them
scale-restart              stamp a pool annotation; follow the pods as the operator rolls them
scale-decommission         MinIO's ``pools/decommission``; follow ``pools/status``
scale-decommission-cancel  MinIO's ``pools/cancel``
scale-remove-pool          drop the decommissioned pool from ``spec.pools``; follow the operator
=========================  ==============================================================

After a restart (the bot that executed it stopped), ``scale-add-pool`` and ``scale-decommission``
resume: when the pool is in the spec (or MinIO reports the decommission) they follow it to its end,
never writing again; the others report by re-checking.
"""

from __future__ import annotations

from collections.abc import Callable

from bot import humanize
from bot.changes import ChangeKind, ChangePlan, Finding, Outcome, outcome_by_recheck
from bot.changes.follow import FollowResult, Observation, Phase, follow, follow_limits
from bot.changes.preflight import healing_finding, quorum_finding, tenant_state_finding
from bot.changes.tenant import (
    TargetChanged,
    TenantHandle,
    apply_guarded,
    handle_by_name,
    recheck_target,
    statefulset_name,
)
from bot.clients.errors import ClientError, NotSupported
from bot.runtime import Runtime
from handlers.scaling.evaluate import capacity_finding, progress_of, pvc_patch, rolling_findings
from handlers.scaling.facts import decommission_facts, pod_starts, rolling_facts, stuck_events
from handlers.scaling.observers import (
    decommission_observer,
    pool_observer,
    removal_observer,
    resize_observer,
    restart_observer,
)
from handlers.scaling.quantities import Size

ACTION_KIND = "scale"


def _follow(handle: TenantHandle, observe: Callable[[], Observation], progress: Callable[[str], None], what: str
            ) -> tuple[FollowResult, str]:
    """Follow within the tenant's rollout limits: how it ended, and how long it took (in words)."""
    timeout, poll = follow_limits(handle.config)
    result = follow(observe, progress, timeout_s=timeout, poll_s=poll, what=what)
    return result, humanize.duration(result.elapsed_s)


def _guarded(handle: TenantHandle, plan: ChangePlan, ops: list[dict[str, object]]) -> Outcome | None:
    """Write ``ops`` if the Tenant is as previewed; a failed Outcome when it is not."""
    try:
        apply_guarded(handle, plan.targets[0], ops)
    except TargetChanged as exc:
        return Outcome(ok=False, summary=str(exc))
    return None


class AddPool(ChangeKind):
    """Change kind `scale-add-pool`: append one pool to ``spec.pools``."""

    name = "scale-add-pool"
    action_kind = ACTION_KIND

    def recheck(self, runtime: Runtime, plan: ChangePlan) -> list[Finding]:
        handle, current, unchanged = recheck_target(runtime, plan)
        findings = [unchanged]
        if current is not None:
            findings.append(tenant_state_finding(current))
        try:
            findings.append(quorum_finding(runtime.minio(handle.config).cluster_health()))
        except ClientError as exc:
            findings.append(quorum_finding(exc))
        return findings

    def execute(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        handle = handle_by_name(runtime, plan.tenant)
        pool = str(plan.params["name"])
        refused = _guarded(handle, plan, [{"op": "add", "path": "/spec/pools/-", "value": plan.params["pool"]}])
        if refused is not None:
            return refused
        first = f"Pool {pool} appended to Tenant {handle.namespace}/{handle.name} spec.pools."
        progress(first)
        return _follow_pool(handle, pool, progress, first)

    def resume(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        handle = handle_by_name(runtime, plan.tenant)
        pool = str(plan.params["name"])
        if pool not in [p.name for p in handle.kube.get_tenant(handle.namespace, handle.name).pools]:
            return outcome_by_recheck(self, runtime, plan, progress)  # the pool was never appended
        first = f"Pool {pool} is in Tenant {handle.namespace}/{handle.name} spec.pools; following it again."
        progress(first)
        return _follow_pool(handle, pool, progress, first)


def _follow_pool(handle: TenantHandle, pool: str, progress: Callable[[str], None], first: str) -> Outcome:
    """Follow a pool in the spec until the operator initialises it; the outcome either way."""
    result, took = _follow(handle, pool_observer(handle, pool), progress, f"pool {pool} to initialise")
    if result.phase == Phase.DONE:
        return Outcome(ok=True, summary=f"Pool {pool} added and initialised ({took}).", lines=[first, result.line])
    if result.phase == Phase.FAILED:
        where = f"kubectl edit tenant -n {handle.namespace} {handle.name}"
        return Outcome(ok=False, summary=f"Pool {pool}: {result.line}.", lines=[
            first, f"Pool {pool} stays in the Tenant spec: the API server stored it, but the operator creates "
            "nothing and rolls out no other change while its error stands.",
            f"Remove {pool} from spec.pools or correct it ({where}), then check /minio health; ask for a valid "
            f"pool again with /minio scale {handle.config.name} add-pool."])
    events = stuck_events(handle, statefulset_name(handle, pool), result.elapsed_s)
    return Outcome(
        ok=False,
        summary=f"Pool {pool} is in the spec but not initialised after {took} (stuck: {result.line}).",
        lines=[first, "Nothing else was changed. Recent warning events:", *(events or ["none"]),
               "Check /minio health and the operator's logs; the pool stays in the spec."],
    )


class Storage(ChangeKind):
    """Change kind `scale-storage`: grow every PVC of a pool, then record the size in the Tenant."""

    name = "scale-storage"
    action_kind = ACTION_KIND

    def recheck(self, runtime: Runtime, plan: ChangePlan) -> list[Finding]:
        handle, _current, unchanged = recheck_target(runtime, plan)
        planned = {t.name: t.fingerprint for t in plan.targets if t.kind == "PersistentVolumeClaim"}
        now = {p.name: str(p.requested_bytes) for p in handle.kube.list_pvcs(handle.namespace, handle.name)}
        moved = [n for n, fp in planned.items() if now.get(n) != fp]
        if moved:
            return [unchanged, Finding(check="PVCs unchanged", ok=False, detail=f"{len(moved)} PVC(s) changed or "
                                       f"vanished since the preview ({', '.join(moved[:3])}). Request it again.")]
        return [unchanged, Finding(check="PVCs unchanged", ok=True, detail=f"All {len(planned)} PVCs are as "
                                   "previewed.")]

    def execute(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        handle = handle_by_name(runtime, plan.tenant)
        names = [str(n) for n in plan.params["pvcs"]]
        size = Size(bytes=int(plan.params["size_bytes"]), quantity=str(plan.params["size"]))
        for done, name in enumerate(names):
            try:
                handle.kube.patch_pvc(handle.namespace, name, pvc_patch(size))
            except ClientError as exc:
                return Outcome(ok=False, summary=f"PVC {name} could not be resized: {exc}", lines=[
                    f"{done} PVC(s) were already patched ({', '.join(names[:min(done, 4)]) or 'none'}) and keep the "
                    f"new request (volumes cannot shrink); {len(names) - done} were not touched, nor was the Tenant."])
        progress(f"{len(names)} PVC(s) patched to {size.quantity}.")
        try:
            apply_guarded(handle, plan.targets[0], list(plan.params["tenant_ops"]))
            progress(f"Tenant {handle.namespace}/{handle.name} volumeClaimTemplate set to {size.quantity}.")
        except (TargetChanged, ClientError) as exc:
            progress(f"The Tenant's volumeClaimTemplate was not updated ({exc}); the PVCs are resized anyway.")
        result, took = _follow(handle, resize_observer(handle, names, size.bytes), progress,
                                    "the volumes to grow")
        if result.phase == Phase.DONE:
            return Outcome(ok=True, summary=f"{len(names)} volume(s) grown to {size.quantity} ({took}).",
                           lines=[result.line])
        if result.phase == Phase.FAILED:
            return Outcome(ok=False, summary=f"The resize stopped: {result.line}.",
                           lines=["The PVC requests are set; the Tenant's spec keeps the new claim template. Correct "
                                  "the Tenant so the operator accepts it again, then check /minio health."])
        return Outcome(ok=False, summary=f"The resize did not finish within {took}: {result.line}.",
                       lines=["The PVC requests are set; the storage driver has not finished. FileSystemResizePending "
                              "needs the pod to restart (/minio scale <tenant> restart)."])


class _RollingChange(ChangeKind):
    """A change kind that patches ``spec.pools[]`` and follows the pods while the operator rolls them."""

    name: str
    action_kind = ACTION_KIND
    what: str  # how the progress lines name the change, e.g. "new resources"

    def recheck(self, runtime: Runtime, plan: ChangePlan) -> list[Finding]:
        handle, current, unchanged = recheck_target(runtime, plan)
        if current is None:
            return [unchanged]
        facts = rolling_facts(runtime, handle)
        return [unchanged, *rolling_findings(facts.tenant, facts.health, facts.info, facts.heal)]

    def execute(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        handle = handle_by_name(runtime, plan.tenant)
        pools = [str(p) for p in plan.params["pools"]]
        before = pod_starts(handle, pools)
        refused = _guarded(handle, plan, list(plan.params["ops"]))
        if refused is not None:
            return refused
        first = f"Tenant {handle.namespace}/{handle.name} patched ({self.what}); the operator rolls {', '.join(pools)}."
        progress(first)
        result, took = _follow(handle, restart_observer(handle, pools, before), progress, "the pods to restart")
        if result.phase == Phase.DONE:
            return Outcome(ok=True, summary=f"{self.what.capitalize()} applied; every pod restarted ({took}).",
                           lines=[first, result.line])
        if result.phase == Phase.FAILED:
            return Outcome(ok=False, summary=f"{self.what.capitalize()}: {result.line}.", lines=[
                first, "The spec keeps the change, and the operator rolls nothing while its error stands: correct "
                "the Tenant (or undo the change), then check /minio health."])
        return Outcome(ok=False, summary=f"The spec is changed ({self.what}) but the pods have not all restarted "
                       f"after {took}: {result.line}.",
                       lines=[first, "Nothing else was touched. Check the operator's logs and /minio health."])


class Resources(_RollingChange):
    """Change kind `scale-resources`: set ``spec.pools[].resources``; the operator rolls the pods."""

    name = "scale-resources"
    what = "new resources"


class Restart(_RollingChange):
    """Change kind `scale-restart`: stamp a pool annotation so the operator rolls the pods."""

    name = "scale-restart"
    what = "a rolling restart"


class DecommissionStart(ChangeKind):
    """Change kind `scale-decommission`: start a pool's decommission and follow it."""

    name = "scale-decommission"
    action_kind = ACTION_KIND

    def recheck(self, runtime: Runtime, plan: ChangePlan) -> list[Finding]:
        handle, _current, unchanged = recheck_target(runtime, plan)
        facts = decommission_facts(runtime, handle)
        pool, index = str(plan.params["pool"]), int(plan.params["index"])
        return [unchanged, capacity_finding(facts.info, index, pool), quorum_finding(facts.health),
                healing_finding(facts.heal, facts.info)]

    def execute(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        handle = handle_by_name(runtime, plan.tenant)
        pool, cmdline = str(plan.params["pool"]), str(plan.params["cmdline"])
        try:
            runtime.minio(handle.config).decommission_start(cmdline)
        except NotSupported as exc:
            # 501: this deployment cannot decommission at all (a single pool, or legacy endpoint arguments).
            return Outcome(ok=False, summary=str(exc), lines=[f"Nothing was changed: {pool} stays in the Tenant and "
                                                              "keeps serving."])
        first = f"MinIO accepted the decommission of {pool} (pool {plan.params['index']})."
        progress(first)
        return _follow_decommission(runtime, handle, pool, cmdline, progress, first)

    def resume(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        handle = handle_by_name(runtime, plan.tenant)
        pool, cmdline = str(plan.params["pool"]), str(plan.params["cmdline"])
        if runtime.minio(handle.config).pools_status(cmdline).decommission is None:
            return outcome_by_recheck(self, runtime, plan, progress)  # MinIO never started it
        first = f"MinIO reports the decommission of {pool} (pool {plan.params['index']}) started; following it again."
        progress(first)
        return _follow_decommission(runtime, handle, pool, cmdline, progress, first)


def _follow_decommission(runtime: Runtime, handle: TenantHandle, pool: str, cmdline: str,
                         progress: Callable[[str], None], first: str) -> Outcome:
    """Follow MinIO's ``pools/status`` of a decommission that has started; the outcome either way."""
    name = handle.config.name
    result, took = _follow(handle, decommission_observer(runtime, handle.config, cmdline), progress,
                           f"the decommission of {pool}")
    if result.phase == Phase.DONE:
        return Outcome(ok=True, summary=f"Decommission of {pool} complete ({took}). Next: /minio scale {name} "
                       f"remove-pool {pool} (needs approval) removes it from the Tenant.",
                       lines=[first, result.line])
    if result.phase == Phase.FAILED:
        return Outcome(ok=False, summary=f"Decommission of {pool} stopped: {result.line}.", lines=[
            first, f"{pool} stays in the Tenant and keeps serving the data that was not moved. Nothing else was "
            f"touched. Check /minio health, then start it again (/minio scale {name} decommission {pool})."])
    return Outcome(ok=True, summary=f"Decommission of {pool} is still running after {took} ({result.line}); "
                   "the bot stopped following it.",
                   lines=[first, f"Follow it with /minio scale {name} decommission {pool} --status."])


class DecommissionCancel(ChangeKind):
    """Change kind `scale-decommission-cancel`."""

    name = "scale-decommission-cancel"
    action_kind = ACTION_KIND

    def recheck(self, runtime: Runtime, plan: ChangePlan) -> list[Finding]:
        handle = handle_by_name(runtime, plan.tenant)
        status = runtime.minio(handle.config).pools_status(str(plan.params["cmdline"]))
        phase, line = progress_of(status, runtime.clock())
        if status.decommission is not None and phase == Phase.RUNNING:
            return [Finding(check="decommission running", ok=True, detail=f"Still running: {line}.")]
        return [Finding(check="decommission running", ok=False, detail=f"It is no longer running ({line}).")]

    def execute(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        handle = handle_by_name(runtime, plan.tenant)
        pool, cmdline = str(plan.params["pool"]), str(plan.params["cmdline"])
        client = runtime.minio(handle.config)
        try:
            client.decommission_cancel(cmdline)
        except NotSupported as exc:
            return Outcome(ok=False, summary=str(exc), lines=["Nothing was changed."])
        _phase, line = progress_of(client.pools_status(cmdline), runtime.clock())
        progress(f"{pool}: {line}")
        return Outcome(ok=True, summary=f"Decommission of {pool} canceled ({line}).",
                       lines=[f"{pool} takes writes again; start over with /minio scale {handle.config.name} "
                              f"decommission {pool}."])


class RemovePool(ChangeKind):
    """Change kind `scale-remove-pool`: drop a decommissioned pool from ``spec.pools``."""

    name = "scale-remove-pool"
    action_kind = ACTION_KIND

    def recheck(self, runtime: Runtime, plan: ChangePlan) -> list[Finding]:
        handle, _current, unchanged = recheck_target(runtime, plan)
        index = int(plan.params["index"])
        status = next((p for p in runtime.minio(handle.config).pools_list() if p.id == index), None)
        phase, line = progress_of(status, runtime.clock()) if status else (Phase.FAILED, "pool not found")
        done = Finding(check="decommission complete", ok=phase == Phase.DONE, detail=f"MinIO reports it {line}.")
        return [unchanged, done]

    def execute(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        handle = handle_by_name(runtime, plan.tenant)
        pool = str(plan.params["pool"])
        refused = _guarded(handle, plan, list(plan.params["ops"]))
        if refused is not None:
            return refused
        first = f"{pool} removed from Tenant {handle.namespace}/{handle.name} spec.pools."
        progress(first)
        result, took = _follow(handle, removal_observer(handle, pool), progress, "the operator to drop the pool")
        if result.phase == Phase.DONE:
            return Outcome(ok=True, summary=f"{pool} removed; the operator reports the Tenant Initialized ({took}).",
                           lines=[first, result.line])
        if result.phase == Phase.FAILED:
            return Outcome(ok=False, summary=f"{pool} is out of the spec, but {result.line}.", lines=[
                first, "Correct the Tenant so the operator accepts it, then check /minio health."])
        events = stuck_events(handle, handle.name, result.elapsed_s)
        return Outcome(ok=False, summary=f"{pool} is out of the spec, but the operator has not settled after {took} "
                       f"({result.line}).", lines=[first, "Recent warning events:", *(events or ["none"])])


CHANGE_KINDS = (AddPool(), Storage(), Resources(), Restart(), DecommissionStart(), DecommissionCancel(), RemovePool())
