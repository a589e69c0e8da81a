"""`/minio scale <tenant> storage --size S [--pool P]`: grow every PVC of a pool in place.

Refused, with the reason, when the pool's StorageClass does not allow volume
expansion or the new size would shrink (or keep) a volume: Kubernetes can only
grow PVCs. After approval every PVC of the pool gets the new request, the
Tenant's ``volumeClaimTemplate`` records the size (so replaced drives come back
at the same size and capacity reports match), and the thread follows the
resize conditions (``Resizing``, ``FileSystemResizePending``) until every PVC
reports the new capacity.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from bot.changes import Change, ChangePlan, DryRun, Finding, Outcome, Target, TenantObject, seal
from bot.clients.errors import ClientError, KubeError
from bot.clients.kube_models import PvcInfo, StorageClassInfo
from bot.clients.minio_models import ServerInfo
from bot.commands import escape
from bot.erasure import erasure_set_size, usable_bytes
from bot.humanize import size as format_bytes
from bot.runtime import Runtime
from handlers.scaling_follow import Observation, Phase, follow, follow_limits, format_duration
from handlers.scaling_resources import select_pools
from handlers.scaling_tenant import (
    JsonPatch,
    TargetChanged,
    TenantHandle,
    apply_guarded,
    dry_run,
    gather,
    handle_by_name,
    pointer,
    recheck_target,
    refusal_text,
)
from handlers.sizes import Size

ACTION_KIND = "scale"
SHOWN_PVCS = 6


def _pvc_patch(size: Size) -> dict[str, Any]:
    return {"spec": {"resources": {"requests": {"storage": size.quantity}}}}


def _expansion_finding(pool: str, class_name: str | None, classes: dict[str, StorageClassInfo]) -> Finding:
    check = f"{pool}: volume expansion"
    if not class_name:
        return Finding(check=check, ok=False, detail=f"{pool}'s volumes name no StorageClass, so nobody can say "
                       "whether they can grow. Expand them by hand or set a StorageClass.")
    sc = classes.get(class_name)
    if sc is None:
        return Finding(check=check, ok=False, detail=f"StorageClass `{escape(class_name, 63)}` of {pool} does not "
                       "exist any more; Kubernetes cannot resize its volumes.")
    if not sc.allow_volume_expansion:
        return Finding(check=check, ok=False, detail=f"StorageClass `{escape(class_name, 63)}` of {pool} does not "
                       "allow volume expansion (`allowVolumeExpansion` is not true), so its PVCs cannot grow. Add a "
                       f"new pool with a bigger size instead (`/minio scale <tenant> add-pool ...`).")
    return Finding(check=check, ok=True, detail=f"StorageClass `{escape(class_name, 63)}` allows volume expansion.")


def _pvc_dry_run(name: str, answer: object) -> DryRun:
    if isinstance(answer, KubeError):
        return DryRun(ok=False, detail=f"PVC {name}: {refusal_text(answer)}")
    if isinstance(answer, ClientError):
        return DryRun(ok=False, detail=f"PVC {name}: {answer}")
    return DryRun(ok=True, detail=f"PVC {name}: accepted")


def _merge_dry_runs(results: list[DryRun]) -> DryRun:
    failed = [r for r in results if not r.ok]
    if failed:
        return DryRun(ok=False, detail=f"{len(failed)} of {len(results)} writes refused: {failed[0].detail}")
    return DryRun(ok=True, detail=f"The API server accepted all {len(results)} writes (dryRun=All): PVC validation, "
                  "the resize admission check and RBAC pass.")


def plan_storage(runtime: Runtime, handle: TenantHandle, requester: str, *, size: Size, pool: str | None
                 ) -> ChangePlan:
    """Preview of growing every PVC of one pool (or every pool) to ``size``."""
    client = runtime.minio(handle.config)
    facts = gather(runtime, {"tenant": handle.read, "classes": handle.kube.list_storage_classes,
                            "pvcs": partial(handle.kube.list_pvcs, handle.namespace, handle.name),
                            "info": client.server_info})
    for key in ("tenant", "classes", "pvcs"):
        if isinstance(facts[key], ClientError):
            raise facts[key]
    tenant, classes_list, pvcs_all, server_info = facts["tenant"], facts["classes"], facts["pvcs"], facts["info"]
    assert isinstance(tenant, TenantObject) and isinstance(classes_list, list) and isinstance(pvcs_all, list)
    classes = {c.name: c for c in classes_list if isinstance(c, StorageClassInfo)}
    info = tenant.info
    indexes = select_pools(info, pool)
    findings: list[Finding] = []
    changes: list[Change] = []
    targets: list[Target] = [tenant.target()]
    tenant_ops: JsonPatch = []
    pvc_names: list[str] = []
    names: list[str] = []
    parity = server_info.backend.standard_sc_parity if isinstance(server_info, ServerInfo) else None
    for index in indexes:
        spec_pool = info.pools[index]
        names.append(spec_pool.name)
        pvcs = sorted((p for p in pvcs_all if isinstance(p, PvcInfo) and p.pool == spec_pool.name),
                      key=lambda p: p.name)
        if not pvcs:
            findings.append(Finding(check=f"{spec_pool.name}: PVCs", ok=False, detail=f"No PVCs of {spec_pool.name} "
                                    "were found (label v1.min.io/pool); nothing to resize."))
            continue
        class_name = spec_pool.storage_class or pvcs[0].storage_class
        findings.append(_expansion_finding(spec_pool.name, class_name, classes))
        sizes = [p.requested_bytes or p.capacity_bytes or 0 for p in pvcs]
        largest, smallest = max(sizes), min(sizes)
        if size.bytes < largest:
            findings.append(Finding(check=f"{spec_pool.name}: size", ok=False, detail=(
                f"{size.quantity} ({format_bytes(size.bytes)}) is smaller than {spec_pool.name}'s volumes "
                f"({format_bytes(largest)}): Kubernetes volumes can only grow. To shrink, add a smaller pool and "
                "decommission this one.")))
        elif size.bytes == smallest == largest:
            findings.append(Finding(check=f"{spec_pool.name}: size", ok=False, detail=(
                f"{spec_pool.name}'s volumes are already {format_bytes(largest)}: nothing to grow.")))
        else:
            findings.append(Finding(check=f"{spec_pool.name}: size", ok=True, detail=(
                f"{format_bytes(largest)} -> {format_bytes(size.bytes)} per volume (growing only).")))
        pending = [p.name for p in pvcs if p.phase != "Bound"]
        if pending:
            findings.append(Finding(check=f"{spec_pool.name}: PVCs bound", ok=False, detail=(
                f"{len(pending)} PVC(s) are not Bound ({', '.join(pending[:3])}): only bound claims can be resized.")))
        pvc_names += [p.name for p in pvcs]
        targets += [Target(kind="PersistentVolumeClaim", namespace=handle.namespace, name=p.name,
                           fingerprint=str(p.requested_bytes)) for p in pvcs]
        shown = ", ".join(f"`{p.name}`" for p in pvcs[:SHOWN_PVCS]) + (" …" if len(pvcs) > SHOWN_PVCS else "")
        changes.append(Change(what=f"{spec_pool.name}: {len(pvcs)} PVC(s) request ({shown})",
                              before=format_bytes(largest), after=f"{size.quantity} ({format_bytes(size.bytes)})"))
        set_size = erasure_set_size(spec_pool.servers, spec_pool.volumes_per_server) or 1
        par = min(parity if parity is not None else 0, set_size // 2)
        raw_before, raw_after = sum(sizes), size.bytes * len(pvcs)
        usable_before, usable_after = usable_bytes(raw_before, set_size, par), usable_bytes(raw_after, set_size, par)
        changes.append(Change(what=f"{spec_pool.name}: raw / usable capacity",
                              before=f"{format_bytes(raw_before)} / {format_bytes(usable_before)}",
                              after=f"{format_bytes(raw_after)} / {format_bytes(usable_after)}"))
        changes.append(Change(what=f"{spec_pool.name}: Tenant volumeClaimTemplate request",
                              before=format_bytes(spec_pool.size_bytes or largest), after=size.quantity))
        tenant_ops += [
            {"op": "test", "path": pointer("spec", "pools", index, "name"), "value": spec_pool.name},
            {"op": "add", "path": pointer("spec", "pools", index, "volumeClaimTemplate", "spec", "resources",
                                          "requests", "storage"), "value": size.quantity},
        ]
    ready = pvc_names and all(f.ok or not f.blocking for f in findings)
    dry: DryRun | None = None
    if ready:
        checks = {name: partial(handle.kube.patch_pvc, handle.namespace, name, _pvc_patch(size), dry_run=True)
                  for name in pvc_names}
        answers = gather(runtime, dict(checks))
        results = [_pvc_dry_run(name, answer) for name, answer in answers.items()]
        results.append(dry_run(handle, tenant_ops))
        dry = _merge_dry_runs(results)
    notes = ["PVCs are patched one by one, then the Tenant's volumeClaimTemplate. MinIO sees the extra space once "
             "the filesystem has grown; some drivers need the pod to restart for that (`FileSystemResizePending`)."]
    return seal(ChangePlan(
        kind=Storage.name,
        action_kind=ACTION_KIND,
        tenant=handle.config.name,
        title=f"Grow the volumes of {', '.join(names)} on {handle.config.name} to {size.quantity}",
        params={"pvcs": pvc_names, "size": size.quantity, "size_bytes": size.bytes, "tenant_ops": tenant_ops,
                "pools": names, "requested_by": requester},
        targets=targets,
        changes=changes,
        notes=notes,
        dry_run=dry,
        preflight=findings,
        risk="medium",
        planned_at=runtime.clock(),
    ))


def resize_observer(handle: TenantHandle, names: list[str], size_bytes: int) -> Callable[[], Observation]:
    """Done when every PVC reports ``status.capacity`` of at least the new size."""
    wanted = set(names)

    def observe() -> Observation:
        pvcs = [p for p in handle.kube.list_pvcs(handle.namespace, handle.name) if p.name in wanted]
        grown = [p for p in pvcs if (p.capacity_bytes or 0) >= size_bytes]
        conditions: dict[str, int] = {}
        for pvc in pvcs:
            for condition in pvc.conditions:
                conditions[condition] = conditions.get(condition, 0) + 1
        line = f"{len(grown)}/{len(wanted)} PVC(s) at the new size"
        if conditions:
            line += " (" + ", ".join(f"{n} {c}" for c, n in sorted(conditions.items())) + ")"
        missing = wanted - {p.name for p in pvcs}
        if missing:
            return Observation(Phase.FAILED, f"{line}; PVC(s) gone: {', '.join(sorted(missing)[:3])}")
        return Observation(Phase.DONE if len(grown) == len(wanted) else Phase.RUNNING, line)

    return observe


class Storage:
    """Change kind `scale-storage`: grow every PVC of a pool, then record the size in the Tenant."""

    name = "scale-storage"
    action_kind = ACTION_KIND

    def recheck(self, runtime: Runtime, plan: ChangePlan) -> list[Finding]:
        handle, _current, unchanged = recheck_target(runtime, plan)
        findings = [unchanged]
        planned = {t.name: t.fingerprint for t in plan.targets if t.kind == "PersistentVolumeClaim"}
        now = {p.name: str(p.requested_bytes) for p in handle.kube.list_pvcs(handle.namespace, handle.name)}
        moved = [n for n, fp in planned.items() if now.get(n) != fp]
        findings.append(
            Finding(check="PVCs unchanged", ok=False, detail=f"{len(moved)} PVC(s) changed or vanished since the "
                    f"preview ({', '.join(moved[:3])}). Request it again.")
            if moved else Finding(check="PVCs unchanged", ok=True, detail=f"All {len(planned)} PVCs are as previewed.")
        )
        return findings

    def execute(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        handle = handle_by_name(runtime, plan.tenant)
        names = [str(n) for n in plan.params["pvcs"]]
        size = Size(bytes=int(plan.params["size_bytes"]), quantity=str(plan.params["size"]))
        done: list[str] = []
        for name in names:
            try:
                handle.kube.patch_pvc(handle.namespace, name, _pvc_patch(size))
            except ClientError as exc:
                rest = len(names) - len(done)
                return Outcome(ok=False, summary=f"PVC {name} could not be resized: {exc}", lines=[
                    f"{len(done)} PVC(s) were already patched ({', '.join(done[:4]) or 'none'}) and keep the new "
                    f"request (volumes cannot shrink); {rest} were not touched, nor was the Tenant."])
            done.append(name)
        progress(f"{len(done)} PVC(s) patched to {size.quantity}.")
        try:
            apply_guarded(handle, plan.targets[0], list(plan.params["tenant_ops"]))
            progress(f"Tenant {handle.namespace}/{handle.name} volumeClaimTemplate set to {size.quantity}.")
        except (TargetChanged, ClientError) as exc:
            progress(f"The Tenant's volumeClaimTemplate was not updated ({exc}); the PVCs are resized anyway.")
        timeout, poll = follow_limits(handle.config)
        result = follow(resize_observer(handle, names, size.bytes), progress, timeout_s=timeout, poll_s=poll,
                        what="the volumes to grow")
        if result.phase == Phase.DONE:
            return Outcome(ok=True, summary=f"{len(names)} volume(s) grown to {size.quantity} "
                           f"({format_duration(result.elapsed_s)}).", lines=[result.line])
        return Outcome(ok=False, summary=f"The resize did not finish within {format_duration(result.elapsed_s)}: "
                       f"{result.line}.", lines=["The PVC requests are set; the storage driver has not finished. "
                                                 "`FileSystemResizePending` needs the pod to restart "
                                                 "(`/minio scale <tenant> restart`)."])


CHANGE_KINDS = (Storage(),)
