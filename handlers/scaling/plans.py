"""The previewed change of each scaling action: read the facts, evaluate them, seal the plan.

A plan is what the approval card shows and what the change kind
(:mod:`handlers.scaling.kinds`) executes after approval: before -> after, the
API server's dry run of the exact patch, and the preflight findings.
"""

from __future__ import annotations

from typing import Any

from bot import humanize
from bot.changes import Change, ChangePlan, DryRun, Finding, Risk, Target, seal
from bot.changes.follow import Phase
from bot.changes.preflight import healing_finding, quorum_finding, tenant_state_finding
from bot.changes.tenant import JsonPatch, TenantHandle, TenantObject, dry_run, pointer, raw_pools
from bot.clients.minio_models import ServerInfo
from bot.erasure import usable_bytes
from bot.invocation import UserError
from bot.report import code, spans
from bot.runtime import Runtime
from handlers.scaling.evaluate import (
    capacity_changes,
    capacity_finding,
    claim_template_ops,
    decommission_capacity,
    default_storage_class,
    limit_problems,
    merge_dry_runs,
    minio_pool,
    new_pool_layout,
    new_pool_spec,
    new_resources,
    next_pool_name,
    parity_finding,
    pool_label,
    pool_name_finding,
    pool_pvcs,
    pool_state_finding,
    pools_label,
    progress_of,
    pvc_dry_run,
    pvc_patch,
    removal_finding,
    resource_changes,
    resource_findings,
    restart_ops,
    rolling_findings,
    select_pools,
    standard_parity,
    storage_changes,
    storage_class_finding,
    storage_findings,
)
from handlers.scaling.facts import (
    add_pool_facts,
    decommission_facts,
    pool_facts,
    pvc_dry_runs,
    rolling_facts,
    storage_facts,
)
from handlers.scaling.kinds import (
    ACTION_KIND,
    AddPool,
    DecommissionCancel,
    DecommissionStart,
    RemovePool,
    Resources,
    Restart,
    Storage,
)
from handlers.scaling.quantities import Cpu, Size

POOLS_RESTART = ("Pods restart: the operator rolls {pools} one pod at a time{why}. Each server is briefly offline "
                 "while its pod restarts.")


def _sealed(runtime: Runtime, handle: TenantHandle, kind: str, title: str, params: dict[str, Any],
            targets: list[Target], changes: list[Change], notes: list[str], dry: DryRun | None,
            findings: list[Finding], risk: Risk) -> ChangePlan:
    return seal(ChangePlan(
        kind=kind, action_kind=ACTION_KIND, tenant=handle.config.name, title=title, params=params, targets=targets,
        changes=changes, notes=notes, dry_run=dry, preflight=findings, risk=risk, planned_at=runtime.clock(),
    ))


# ----------------------------------------------------------------------------- add-pool


def plan_add_pool(runtime: Runtime, handle: TenantHandle, requester: str, *, servers: int, volumes: int, size: Size,
                  storage_class: str | None, name: str | None) -> ChangePlan:
    """Preview of appending a pool: capacity before/after, preflight and the API server's dry run."""
    set_size = new_pool_layout(servers, volumes, name)
    facts = add_pool_facts(runtime, handle)
    info = facts.tenant.info
    pool_name = name or next_pool_name(info)
    sc = storage_class or default_storage_class(info, facts.classes)
    if sc is None:
        raise UserError(spans("The Tenant's pools name no StorageClass and the cluster has no default one: pass ",
                              code("--storage-class"), "."))
    parity, source = standard_parity(info, facts.info, set_size)
    findings = [pool_name_finding(info, pool_name), storage_class_finding(facts.classes, sc),
                parity_finding(set_size, parity, source), quorum_finding(facts.health),
                tenant_state_finding(facts.tenant)]
    new_raw = servers * volumes * size.bytes
    new_usable = usable_bytes(new_raw, set_size, min(parity, set_size // 2))
    totals, notes = capacity_changes(facts.info, new_raw, new_usable)
    changes = [
        Change(what="Tenant spec.pools", before=pools_label(info.pools),
               after=f"+ {pool_name} ({pool_label(servers, volumes, size.bytes)}, StorageClass {sc})"),
        Change(what=f"Raw capacity of the new pool ({servers * volumes} drives)", before="—",
               after=humanize.signed_size(new_raw)),
        Change(what=f"Usable capacity of the new pool (EC:{parity}, sets of {set_size})", before="—",
               after=humanize.signed_size(new_usable)),
        *totals,
    ]
    if info.pools:
        notes.append(f"Other pool settings (resources, affinity, tolerations, security context) are copied from "
                     f"{info.pools[-1].name}.")
    notes.append("The operator adds the pool to every MinIO server's command line: every pod restarts once, and "
                 "new objects start landing on the new pool. Existing data is not moved.")
    pool = new_pool_spec(info, pool_name, servers, volumes, size, sc)
    ops: JsonPatch = [{"op": "add", "path": "/spec/pools/-", "value": pool}]
    return _sealed(
        runtime, handle, AddPool.name, f"Add pool {pool_name} ({servers}x{volumes}x{size.quantity}) to "
        f"{handle.config.name}", {"pool": pool, "name": pool_name, "requested_by": requester},
        [facts.tenant.target()], changes, notes, dry_run(handle, ops), findings, "medium",
    )


# ----------------------------------------------------------------------------- storage


def _storage_dry_run(runtime: Runtime, handle: TenantHandle, pvcs: list[str], size: Size, tenant_ops: JsonPatch
                     ) -> DryRun:
    answers = pvc_dry_runs(runtime, handle, pvcs, pvc_patch(size))
    return merge_dry_runs([*(pvc_dry_run(name, answer) for name, answer in answers.items()),
                           dry_run(handle, tenant_ops)])


def plan_storage(runtime: Runtime, handle: TenantHandle, requester: str, *, size: Size, pool: str | None
                 ) -> ChangePlan:
    """Preview of growing every PVC of one pool (or every pool) to ``size``."""
    facts = storage_facts(runtime, handle)
    info = facts.tenant.info
    parity = facts.info.backend.standard_sc_parity if isinstance(facts.info, ServerInfo) else None
    findings: list[Finding] = []
    changes: list[Change] = []
    targets = [facts.tenant.target()]
    tenant_ops: JsonPatch = []
    pvc_names: list[str] = []
    names: list[str] = []
    for index in select_pools(info, pool):
        spec_pool = info.pools[index]
        names.append(spec_pool.name)
        pvcs = pool_pvcs(facts.pvcs, spec_pool.name)
        findings += storage_findings(spec_pool, pvcs, size, facts.classes)
        if not pvcs:
            continue
        changes += storage_changes(spec_pool, pvcs, size, parity)
        tenant_ops += claim_template_ops(index, spec_pool.name, size)
        pvc_names += [p.name for p in pvcs]
        targets += [Target(kind="PersistentVolumeClaim", namespace=handle.namespace, name=p.name,
                           fingerprint=str(p.requested_bytes)) for p in pvcs]
    ready = bool(pvc_names) and all(f.ok or not f.blocking for f in findings)
    dry = _storage_dry_run(runtime, handle, pvc_names, size, tenant_ops) if ready else None
    notes = ["PVCs are patched one by one, then the Tenant's volumeClaimTemplate. MinIO sees the extra space once "
             "the filesystem has grown; some drivers need the pod to restart for that (FileSystemResizePending)."]
    params = {"pvcs": pvc_names, "size": size.quantity, "size_bytes": size.bytes, "tenant_ops": tenant_ops,
              "pools": names, "requested_by": requester}
    title = f"Grow the volumes of {', '.join(names)} on {handle.config.name} to {size.quantity}"
    return _sealed(runtime, handle, Storage.name, title, params, targets, changes, notes, dry, findings, "medium")


# ----------------------------------------------------------------------------- resources and restart


def _rolling_preflight(runtime: Runtime, handle: TenantHandle) -> tuple[TenantObject, list[Finding]]:
    facts = rolling_facts(runtime, handle)
    return facts.tenant, rolling_findings(facts.tenant, facts.health, facts.info, facts.heal)


def _rolling_plan(runtime: Runtime, handle: TenantHandle, tenant: TenantObject, requester: str, kind: str,
                  title: str, names: list[str], ops: JsonPatch, changes: list[Change], notes: list[str],
                  findings: list[Finding]) -> ChangePlan:
    """The sealed plan of a change that patches ``spec.pools[]`` of ``names`` and lets the operator roll them."""
    params = {"pools": names, "ops": ops, "requested_by": requester}
    return _sealed(runtime, handle, kind, title, params, [tenant.target()], changes, notes, dry_run(handle, ops),
                   findings, "medium")


def plan_resources(runtime: Runtime, handle: TenantHandle, requester: str, *, pool: str | None, cpu: Cpu | None,
                   memory: Size | None, limits: dict[str, str]) -> ChangePlan:
    """Preview of new CPU/memory for one pool or all: before/after per pool, restart warning, dry run."""
    if cpu is None and memory is None and not limits:
        raise UserError(spans("Say what to set: ", code("--cpu X"), " and/or ", code("--memory Y"), " (requests), "
                              "optionally ", code("--limits cpu=X,memory=Y"), "."))
    tenant, findings = _rolling_preflight(runtime, handle)
    info = tenant.info
    raw = raw_pools(info)
    ops: JsonPatch = []
    changes: list[Change] = []
    problems: list[str] = []
    names: list[str] = []
    for index in select_pools(info, pool):
        name = info.pools[index].name
        current: dict[str, Any] = dict(raw[index].get("resources") or {})
        new = new_resources(current, cpu, memory, limits)
        names.append(name)
        problems += limit_problems(name, new)
        changes += resource_changes(name, current, new)
        ops += [{"op": "test", "path": pointer("spec", "pools", index, "name"), "value": name},
                {"op": "add", "path": pointer("spec", "pools", index, "resources"), "value": new}]
    if not changes:
        raise UserError("Those are already the pool's resources: nothing to change.")
    findings += resource_findings(problems, memory)
    notes = [POOLS_RESTART.format(pools=", ".join(names), why=" to apply the new resources")]
    title = f"Set resources of {', '.join(names)} on {handle.config.name} (pods restart)"
    return _rolling_plan(runtime, handle, tenant, requester, Resources.name, title, names, ops, changes, notes,
                         findings)


def plan_restart(runtime: Runtime, handle: TenantHandle, requester: str, *, pool: str | None) -> ChangePlan:
    """Preview of a rolling restart through pool annotations (never `kubectl rollout restart`)."""
    tenant, findings = _rolling_preflight(runtime, handle)
    info = tenant.info
    raw = raw_pools(info)
    stamp = runtime.clock().strftime("%Y-%m-%dT%H:%M:%SZ")
    ops: JsonPatch = []
    changes: list[Change] = []
    names: list[str] = []
    for index in select_pools(info, pool):
        pool_ops, change = restart_ops(index, raw[index], stamp)
        names.append(info.pools[index].name)
        ops += pool_ops
        changes.append(change)
    notes = [
        POOLS_RESTART.format(pools=", ".join(names), why=" (the annotation is copied to the pod template)"),
        "Done through the Tenant's pool annotations because the operator reverts kubectl rollout restart on the "
        "StatefulSets it owns.",
    ]
    title = f"Rolling restart of {', '.join(names)} on {handle.config.name}"
    return _rolling_plan(runtime, handle, tenant, requester, Restart.name, title, names, ops, changes, notes,
                         findings)


# ----------------------------------------------------------------------------- decommission, cancel, remove-pool


def plan_decommission(runtime: Runtime, handle: TenantHandle, requester: str, pool: str) -> ChangePlan:
    """Preview of starting a decommission: preflight on room, quorum, healing, and the pool's state."""
    facts = decommission_facts(runtime, handle)
    tenant, name = facts.tenant, handle.config.name
    if len(tenant.info.pools) < 2:
        raise UserError(spans(code(pool[:63]), " is the only pool of ", code(tenant.info.name), ": MinIO cannot "
                              "decommission its last pool. Add a pool first."))
    index, status = minio_pool(facts.pools, tenant, pool)
    findings = [capacity_finding(facts.info, index, pool), quorum_finding(facts.health),
                healing_finding(facts.heal, facts.info), tenant_state_finding(tenant),
                pool_state_finding(facts.pools, index, status, pool, name)]
    held, capacity = decommission_capacity(facts.info, index)
    changes = [Change(what=f"MinIO pool {index} ({pool})", before="takes writes",
                      after=f"decommissioning: data moves to the other pools{held}"), capacity]
    notes = [
        "No Kubernetes object changes now: MinIO moves the data (pools/decommission), and this card's thread "
        "shows the progress.",
        f"When MinIO reports it complete, removing {pool} from the Tenant spec is a separate approved step "
        f"(/minio scale {name} remove-pool {pool}).",
    ]
    params = {"pool": pool, "index": index, "cmdline": status.cmdline, "requested_by": requester}
    targets = [tenant.target(), Target(kind="MinioPool", name=pool, fingerprint=status.cmdline)]
    return _sealed(runtime, handle, DecommissionStart.name, f"Decommission {pool} of {name}", params, targets,
                   changes, notes, None, findings, "high")


def plan_cancel(runtime: Runtime, handle: TenantHandle, requester: str, pool: str) -> ChangePlan:
    """Preview of cancelling a running decommission."""
    tenant, pools = pool_facts(runtime, handle)
    index, status = minio_pool(pools, tenant, pool)
    phase, line = progress_of(status, runtime.clock())
    running = status.decommission is not None and phase == Phase.RUNNING
    finding = (Finding(check="decommission running", ok=True, detail=f"{pool}: {line}.") if running
               else Finding(check="decommission running", ok=False, detail=f"No decommission of {pool} is running "
                            f"({line}): nothing to cancel."))
    changes = [Change(what=f"MinIO pool {index} ({pool})", before=f"decommissioning ({line})",
                      after="takes writes again; data already moved stays on the other pools")]
    params = {"pool": pool, "index": index, "cmdline": status.cmdline, "requested_by": requester}
    targets = [tenant.target(), Target(kind="MinioPool", name=pool, fingerprint=status.cmdline)]
    return _sealed(runtime, handle, DecommissionCancel.name, f"Cancel the decommission of {pool} on "
                   f"{handle.config.name}", params, targets, changes,
                   ["No Kubernetes object changes: MinIO's pools/cancel."], None, [finding], "low")


def plan_remove_pool(runtime: Runtime, handle: TenantHandle, requester: str, pool: str) -> ChangePlan:
    """Preview of removing a fully decommissioned pool from ``spec.pools``."""
    tenant, pools = pool_facts(runtime, handle)
    index, status = minio_pool(pools, tenant, pool)
    phase, line = progress_of(status, runtime.clock())
    finding = removal_finding(phase, line, status, pool, handle.config.name)
    ops: JsonPatch = [{"op": "test", "path": pointer("spec", "pools", index, "name"), "value": pool},
                      {"op": "remove", "path": pointer("spec", "pools", index)}]
    remaining = [p for p in tenant.info.pools if p.name != pool]
    changes = [Change(what="Tenant spec.pools", before=", ".join(p.name for p in tenant.info.pools),
                      after=", ".join(p.name for p in remaining))]
    notes = ["The operator restarts the remaining servers without the pool. Its PVCs are kept: delete them by hand "
             "once you are sure nothing needs them."]
    params = {"pool": pool, "index": index, "ops": ops, "requested_by": requester}
    return _sealed(runtime, handle, RemovePool.name, f"Remove the decommissioned pool {pool} from "
                   f"{handle.config.name}", params, [tenant.target()], changes, notes, dry_run(handle, ops),
                   [finding, tenant_state_finding(tenant)], "high")
