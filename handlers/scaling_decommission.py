"""Shrinking the MinIO way: decommission a pool, follow it, and only then remove it from the Tenant.

Three approval-gated steps and one read-only view:

- ``decommission <pool>`` (kind ``scale-decommission``): preflight (the other
  pools can hold the pool's data, every erasure set has write quorum, no
  healing, no other decommission), then ``pools/decommission`` through the
  MinIO admin API; the card's thread shows ``pools/status`` progress
  (percent moved, ETA, failed objects) until it completes or fails.
- ``decommission <pool> --cancel`` (kind ``scale-decommission-cancel``).
- ``remove-pool <pool>`` (kind ``scale-remove-pool``): offered only once
  MinIO reports the decommission complete; removes the pool from
  ``spec.pools`` (the operator never decommissions by itself).
- ``decommission <pool> --status``: progress now, with the removal button once
  complete.

MinIO numbers pools in the order of ``spec.pools``: the Tenant's pool ``i`` is
MinIO's pool ``i``, and the admin API names it by its command line (from
``pools/list``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.changes import Change, ChangePlan, Finding, Outcome, Target, TenantObject, seal
from bot.clients.errors import ClientError
from bot.clients.minio_models import ClusterHealth, HealStatus, PoolStatus, ServerInfo
from bot.commands import escape
from bot.config import TenantConfig
from bot.erasure import default_parity
from bot.humanize import size as format_bytes
from bot.invocation import UserError
from bot.report import Action, KeyValue, Report, Section, Status
from bot.runtime import Runtime
from handlers.capacity import drive_totals
from handlers.scaling_add_pool import stuck_events
from handlers.scaling_follow import Observation, Phase, follow, follow_limits, format_duration
from handlers.scaling_preflight import (
    INITIALIZED,
    healing_finding,
    quorum_finding,
    tenant_state_finding,
)
from handlers.scaling_tenant import (
    TargetChanged,
    TenantHandle,
    apply_guarded,
    dry_run,
    gather,
    gathered_tenant,
    handle_by_name,
    pointer,
    recheck_target,
    statefulset_name,
)

ACTION_KIND = "scale"
RUN = "run"  # the dispatcher's button that runs the command in its value


# ----------------------------------------------------------------------------- pure evaluation


def pool_usage(info: ServerInfo) -> dict[int, tuple[int, int]]:
    """Per MinIO pool: (usable total, usable used) from data drives only (minio-facts: disk_index < data)."""
    sizes = info.backend.drives_per_set
    parity = info.backend.standard_sc_parity
    out: dict[int, tuple[int, int]] = {}
    for drive in info.drives:
        set_size = sizes[drive.pool_index] if drive.pool_index < len(sizes) else 0
        data = set_size - (parity if parity is not None else default_parity(set_size)) if set_size else 1
        if set_size and drive.disk_index >= data:
            continue
        total, used = out.get(drive.pool_index, (0, 0))
        out[drive.pool_index] = (total + drive.total, used + max(0, drive.total - drive.available))
    return out


def capacity_finding(info: ServerInfo | ClientError, index: int, pool: str) -> Finding:
    """Can the other pools hold the leaving pool's data (usable bytes)?"""
    check = "room on the other pools"
    if isinstance(info, ClientError):
        return Finding(check=check, ok=False, detail=f"MinIO did not answer `info`, so the room left cannot be "
                       f"checked: {info}")
    usage = pool_usage(info)
    if index not in usage:
        return Finding(check=check, ok=False, detail=f"MinIO reports no drives for pool {index} ({pool}).")
    leaving = usage[index][1]
    room = sum(total - used for i, (total, used) in usage.items() if i != index)
    others_total = sum(total for i, (total, _used) in usage.items() if i != index)
    after = sum(used for _i, (_t, used) in usage.items())
    if leaving > room:
        return Finding(check=check, ok=False, detail=f"{pool} holds {format_bytes(leaving)} but the other pools have "
                       f"only {format_bytes(room)} free. Add a pool first (`add-pool`), then decommission.")
    share = f"{100.0 * after / others_total:.1f} %" if others_total else "n/a"
    return Finding(check=check, ok=True, detail=f"{pool} holds {format_bytes(leaving)}; the other pools have "
                   f"{format_bytes(room)} free and will be {share} used afterwards.")


def progress_of(status: PoolStatus, now: datetime) -> tuple[Phase, str, float | None]:
    """(phase, line, fraction) of a pool's decommission from ``pools/status``."""
    dec = status.decommission
    if dec is None or dec.start_time is None:
        return Phase.RUNNING, "not started", None
    moved_total = max(0, dec.total_size - dec.start_size)
    fraction = 1.0 if moved_total == 0 else min(1.0, max(0.0, (dec.current_size - dec.start_size) / moved_total))
    objects = f"{dec.objects_decommissioned:,} object(s) moved"
    failed = f", {dec.objects_failed:,} failed" if dec.objects_failed or dec.bytes_failed else ""
    head = f"{fraction * 100:.0f} % ({format_bytes(fraction * moved_total)} of {format_bytes(moved_total)}), {objects}"
    if dec.complete:
        return Phase.DONE, f"complete: {head}{failed}", 1.0
    if dec.failed:
        return Phase.FAILED, f"FAILED at {head}{failed}", fraction
    if dec.canceled:
        return Phase.FAILED, f"canceled at {head}", fraction
    elapsed = (now - dec.start_time).total_seconds()
    eta = ""
    if fraction > 0.01 and elapsed > 0:
        eta = f", ETA ~{format_duration(elapsed * (1 - fraction) / fraction)}"
    return Phase.RUNNING, f"running: {head}{failed}{eta}", fraction


# ----------------------------------------------------------------------------- shared reading


def _minio_pool(pools: list[PoolStatus] | ClientError, tenant: TenantObject, pool: str) -> tuple[int, PoolStatus]:
    """(index, MinIO pool) of the Tenant pool ``pool``; UserError when it cannot be matched."""
    names = [p.name for p in tenant.info.pools]
    if pool not in names:
        known = ", ".join(f"`{n}`" for n in names) or "none"
        raise UserError(f"Tenant `{tenant.info.name}` has no pool `{escape(pool, 63)}` (pools: {known}).")
    if isinstance(pools, ClientError):
        raise pools
    index = names.index(pool)
    if len(pools) != len(names):
        raise UserError(f"MinIO runs {len(pools)} pool(s) but the Tenant lists {len(names)}: the operator has not "
                        "caught up. Wait until `/minio health` shows every pool, then ask again.")
    return index, next((p for p in pools if p.id == index), pools[index])


def _read_pool(runtime: Runtime, handle: TenantHandle, pool: str) -> tuple[TenantObject, int, PoolStatus]:
    """The Tenant, and the index and MinIO status of its pool ``pool``, read in parallel."""
    client = runtime.minio(handle.config)
    facts = gather(runtime, {"tenant": handle.read, "pools": client.pools_list})
    tenant = gathered_tenant(facts)
    pools = facts["pools"]
    assert isinstance(pools, list | ClientError)
    index, status = _minio_pool(pools, tenant, pool)
    return tenant, index, status


def decommission_status(runtime: Runtime, handle: TenantHandle, pool: str) -> Report:
    """`decommission <pool> --status`: progress now; the removal button once MinIO says it is complete."""
    _tenant, index, status = _read_pool(runtime, handle, pool)
    phase, line, _fraction = progress_of(status, runtime.clock())
    name = handle.config.name
    actions: list[Action] = []
    footer = []
    if phase == Phase.DONE:
        actions.append(Action(label=f"Remove {pool} from the Tenant"[:75], action_id=f"{RUN}:remove-pool:{pool}"[:255],
                              value=f"scale {name} remove-pool {pool}", style="danger",
                              confirm=f"Request approval to remove {pool} from the Tenant spec? MinIO reports its "
                              "decommission complete."))
        footer.append(f"Next: `/minio scale {name} remove-pool {pool}` (needs approval).")
    elif phase == Phase.RUNNING and status.decommission is not None:
        footer.append(f"Cancel: `/minio scale {name} decommission {pool} --cancel` (needs approval).")
    verdict = {Phase.DONE: Status.HEALTHY, Phase.FAILED: Status.UNHEALTHY}.get(phase, Status.INFO)
    return Report(
        title=f"Decommission of {pool} on {name}",
        status=verdict,
        summary=f"MinIO pool {index} ({pool}): {line}.",
        sections=[Section(title="pools/status", fields=[KeyValue(label="Pool", value=f"{pool} (MinIO pool {index})"),
                                                        KeyValue(label="State", value=line)])],
        actions=actions,
        footer=footer,
    )


def decommission_observer(runtime: Runtime, tenant: TenantConfig, cmdline: str) -> Callable[[], Observation]:
    """Poll ``pools/status`` for one pool."""

    def observe() -> Observation:
        status = runtime.minio(tenant).pools_status(cmdline)
        phase, line, _fraction = progress_of(status, runtime.clock())
        return Observation(phase, line)

    return observe


def _facts(runtime: Runtime, handle: TenantHandle) -> dict[str, object]:
    client = runtime.minio(handle.config)
    return gather(runtime, {"tenant": handle.read, "pools": client.pools_list, "info": client.server_info,
                            "health": client.cluster_health, "heal": client.heal_status})


# ----------------------------------------------------------------------------- start


def plan_decommission(runtime: Runtime, handle: TenantHandle, requester: str, pool: str) -> ChangePlan:
    """Preview of starting a decommission: preflight on room, quorum, healing, and the pool's state."""
    facts = _facts(runtime, handle)
    tenant = gathered_tenant(facts)
    pools, info, health, heal = facts["pools"], facts["info"], facts["health"], facts["heal"]
    assert isinstance(pools, list | ClientError) and isinstance(info, ServerInfo | ClientError)
    assert isinstance(health, ClusterHealth | ClientError) and isinstance(heal, HealStatus | ClientError)
    if len(tenant.info.pools) < 2:
        raise UserError(f"`{pool}` is the only pool of `{tenant.info.name}`: MinIO cannot decommission its last pool. "
                        "Add a pool first.")
    index, status = _minio_pool(pools, tenant, pool)
    state = status.decommission
    findings = [capacity_finding(info, index, pool), quorum_finding(health), healing_finding(heal, info),
                tenant_state_finding(tenant)]
    listed = pools if isinstance(pools, list) else []
    others = [p for p in listed if isinstance(p, PoolStatus) and p.id != index and p.decommission
              and not (p.decommission.complete or p.decommission.failed or p.decommission.canceled)]
    if state is not None and not (state.failed or state.canceled):
        what = "complete" if state.complete else "already running"
        findings.append(Finding(check="pool state", ok=False, detail=f"The decommission of {pool} is {what}"
                                + (f": remove it with `/minio scale {handle.config.name} remove-pool {pool}`."
                                   if state.complete else ".")))
    elif others:
        findings.append(Finding(check="pool state", ok=False, detail=f"MinIO pool {others[0].id} is being "
                                "decommissioned already; one at a time."))
    else:
        again = " (again, after a failed or canceled run)" if state is not None else ""
        findings.append(Finding(check="pool state", ok=True,
                                detail=f"{pool} takes writes; no decommission runs{again}."))
    used = ""
    if isinstance(info, ServerInfo):
        usage = pool_usage(info).get(index)
        used = f" ({format_bytes(usage[1])} of data)" if usage else ""
        _raw_total, _raw_free, usable_total, _usable_free, _offline = drive_totals(info)
        after = usable_total - (usage[0] if usage else 0)
        capacity = Change(what="Tenant usable capacity", before=format_bytes(usable_total), after=format_bytes(after))
    else:
        capacity = Change(what="Tenant usable capacity", before="unknown", after="minus the pool")
    changes = [
        Change(what=f"MinIO pool {index} ({pool})", before="takes writes", after=f"decommissioning: data moves to "
               f"the other pools{used}"),
        capacity,
    ]
    notes = [
        "No Kubernetes object changes now: MinIO moves the data (`pools/decommission`), and this card's thread "
        "shows the progress.",
        f"When MinIO reports it complete, removing {pool} from the Tenant spec is a separate approved step "
        f"(`/minio scale {handle.config.name} remove-pool {pool}`).",
    ]
    return seal(ChangePlan(
        kind=DecommissionStart.name,
        action_kind=ACTION_KIND,
        tenant=handle.config.name,
        title=f"Decommission {pool} of {handle.config.name}",
        params={"pool": pool, "index": index, "cmdline": status.cmdline, "requested_by": requester},
        targets=[tenant.target(), Target(kind="MinioPool", name=pool, fingerprint=status.cmdline)],
        changes=changes,
        notes=notes,
        dry_run=None,
        preflight=findings,
        risk="high",
        planned_at=runtime.clock(),
    ))


class DecommissionStart:
    """Change kind `scale-decommission`: start a pool's decommission and follow it."""

    name = "scale-decommission"
    action_kind = ACTION_KIND

    def recheck(self, runtime: Runtime, plan: ChangePlan) -> list[Finding]:
        handle, _current, unchanged = recheck_target(runtime, plan)
        facts = _facts(runtime, handle)
        info, health, heal = facts["info"], facts["health"], facts["heal"]
        assert isinstance(info, ServerInfo | ClientError) and isinstance(health, ClusterHealth | ClientError)
        assert isinstance(heal, HealStatus | ClientError)
        pool, index = str(plan.params["pool"]), int(plan.params["index"])
        return [unchanged, capacity_finding(info, index, pool), quorum_finding(health), healing_finding(heal, info)]

    def execute(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        handle = handle_by_name(runtime, plan.tenant)
        pool, cmdline = str(plan.params["pool"]), str(plan.params["cmdline"])
        runtime.minio(handle.config).decommission_start(cmdline)
        first = f"MinIO accepted the decommission of {pool} (pool {plan.params['index']})."
        progress(first)
        timeout, poll = follow_limits(handle.config)
        result = follow(decommission_observer(runtime, handle.config, cmdline), progress, timeout_s=timeout,
                        poll_s=poll, what=f"the decommission of {pool}")
        name = handle.config.name
        if result.phase == Phase.DONE:
            return Outcome(ok=True, summary=f"Decommission of {pool} complete ({format_duration(result.elapsed_s)}). "
                           f"Next: `/minio scale {name} remove-pool {pool}` (needs approval) removes it from the "
                           "Tenant.", lines=[first, result.line])
        if result.phase == Phase.FAILED:
            return Outcome(ok=False, summary=f"Decommission of {pool} stopped: {result.line}.", lines=[
                first, f"{pool} stays in the Tenant and keeps serving the data that was not moved. Nothing else was "
                f"touched. Check `/minio health`, then start it again (`/minio scale {name} decommission {pool}`)."])
        return Outcome(ok=True, summary=f"Decommission of {pool} is still running after "
                       f"{format_duration(result.elapsed_s)} ({result.line}); the bot stopped following it.",
                       lines=[first, f"Follow it with `/minio scale {name} decommission {pool} --status`."])


# ----------------------------------------------------------------------------- cancel


def plan_cancel(runtime: Runtime, handle: TenantHandle, requester: str, pool: str) -> ChangePlan:
    """Preview of cancelling a running decommission."""
    tenant, index, status = _read_pool(runtime, handle, pool)
    phase, line, _fraction = progress_of(status, runtime.clock())
    running = status.decommission is not None and phase == Phase.RUNNING
    finding = (Finding(check="decommission running", ok=True, detail=f"{pool}: {line}.") if running
               else Finding(check="decommission running", ok=False, detail=f"No decommission of {pool} is running "
                            f"({line}): nothing to cancel."))
    return seal(ChangePlan(
        kind=DecommissionCancel.name,
        action_kind=ACTION_KIND,
        tenant=handle.config.name,
        title=f"Cancel the decommission of {pool} on {handle.config.name}",
        params={"pool": pool, "index": index, "cmdline": status.cmdline, "requested_by": requester},
        targets=[tenant.target(), Target(kind="MinioPool", name=pool, fingerprint=status.cmdline)],
        changes=[Change(what=f"MinIO pool {index} ({pool})", before=f"decommissioning ({line})",
                        after="takes writes again; data already moved stays on the other pools")],
        notes=["No Kubernetes object changes: MinIO's `pools/cancel`."],
        dry_run=None,
        preflight=[finding],
        risk="low",
        planned_at=runtime.clock(),
    ))


class DecommissionCancel:
    """Change kind `scale-decommission-cancel`."""

    name = "scale-decommission-cancel"
    action_kind = ACTION_KIND

    def recheck(self, runtime: Runtime, plan: ChangePlan) -> list[Finding]:
        handle = handle_by_name(runtime, plan.tenant)
        status = runtime.minio(handle.config).pools_status(str(plan.params["cmdline"]))
        phase, line, _fraction = progress_of(status, runtime.clock())
        if status.decommission is not None and phase == Phase.RUNNING:
            return [Finding(check="decommission running", ok=True, detail=f"Still running: {line}.")]
        return [Finding(check="decommission running", ok=False, detail=f"It is no longer running ({line}).")]

    def execute(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        handle = handle_by_name(runtime, plan.tenant)
        pool, cmdline = str(plan.params["pool"]), str(plan.params["cmdline"])
        client = runtime.minio(handle.config)
        client.decommission_cancel(cmdline)
        _phase, line, _fraction = progress_of(client.pools_status(cmdline), runtime.clock())
        progress(f"{pool}: {line}")
        return Outcome(ok=True, summary=f"Decommission of {pool} canceled ({line}).",
                       lines=[f"{pool} takes writes again; start over with `/minio scale {handle.config.name} "
                              f"decommission {pool}`."])


# ----------------------------------------------------------------------------- remove the pool


def plan_remove_pool(runtime: Runtime, handle: TenantHandle, requester: str, pool: str) -> ChangePlan:
    """Preview of removing a fully decommissioned pool from ``spec.pools``."""
    tenant, index, status = _read_pool(runtime, handle, pool)
    phase, line, _fraction = progress_of(status, runtime.clock())
    if phase == Phase.DONE:
        finding = Finding(check="decommission complete", ok=True, detail=f"MinIO reports {pool} {line}.")
    else:
        finding = Finding(check="decommission complete", ok=False, detail=(
            f"MinIO reports the decommission of {pool} {line}: a pool leaves the Tenant only after MinIO has moved "
            f"all its data. Start it with `/minio scale {handle.config.name} decommission {pool}`."
            if status.decommission is None else
            f"MinIO reports the decommission of {pool} {line}: wait until it is complete."))
    ops = [{"op": "test", "path": pointer("spec", "pools", index, "name"), "value": pool},
           {"op": "remove", "path": pointer("spec", "pools", index)}]
    remaining = [p.name for p in tenant.info.pools if p.name != pool]
    return seal(ChangePlan(
        kind=RemovePool.name,
        action_kind=ACTION_KIND,
        tenant=handle.config.name,
        title=f"Remove the decommissioned pool {pool} from {handle.config.name}",
        params={"pool": pool, "index": index, "ops": ops, "requested_by": requester},
        targets=[tenant.target()],
        changes=[Change(what="Tenant spec.pools", before=", ".join(p.name for p in tenant.info.pools),
                        after=", ".join(remaining))],
        notes=["The operator restarts the remaining servers without the pool. Its PVCs are kept: delete them by "
               "hand once you are sure nothing needs them."],
        dry_run=dry_run(handle, ops),
        preflight=[finding, tenant_state_finding(tenant)],
        risk="high",
        planned_at=runtime.clock(),
    ))


class RemovePool:
    """Change kind `scale-remove-pool`: drop a decommissioned pool from ``spec.pools``."""

    name = "scale-remove-pool"
    action_kind = ACTION_KIND

    def recheck(self, runtime: Runtime, plan: ChangePlan) -> list[Finding]:
        handle, _current, unchanged = recheck_target(runtime, plan)
        pools = runtime.minio(handle.config).pools_list()
        index = int(plan.params["index"])
        status = next((p for p in pools if p.id == index), None)
        phase, line, _f = progress_of(status, runtime.clock()) if status else (Phase.FAILED, "pool not found", None)
        done = Finding(check="decommission complete", ok=phase == Phase.DONE, detail=f"MinIO reports it {line}.")
        return [unchanged, done]

    def execute(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        handle = handle_by_name(runtime, plan.tenant)
        pool = str(plan.params["pool"])
        try:
            apply_guarded(handle, plan.targets[0], list(plan.params["ops"]))
        except TargetChanged as exc:
            return Outcome(ok=False, summary=str(exc))
        first = f"{pool} removed from Tenant {handle.namespace}/{handle.name} spec.pools."
        progress(first)
        ss_name = statefulset_name(handle, pool)

        def observe() -> Observation:
            status = handle.kube.get_tenant(handle.namespace, handle.name).status
            state = status.current_state if status else None
            listed = any(p.ss_name == ss_name for p in (status.pools if status else []))
            line = f"Tenant `{state or 'no status'}`; {pool} {'still' if listed else 'no longer'} in its status"
            return Observation(Phase.DONE if state == INITIALIZED and not listed else Phase.RUNNING, line)

        timeout, poll = follow_limits(handle.config)
        result = follow(observe, progress, timeout_s=timeout, poll_s=poll, what="the operator to drop the pool")
        if result.phase == Phase.DONE:
            return Outcome(ok=True, summary=f"{pool} removed; the operator reports the Tenant Initialized "
                           f"({format_duration(result.elapsed_s)}).", lines=[first, result.line])
        events = stuck_events(handle, handle.name, result.elapsed_s)
        return Outcome(ok=False, summary=f"{pool} is out of the spec, but the operator has not settled after "
                       f"{format_duration(result.elapsed_s)} ({result.line}).",
                       lines=[first, "Recent warning events:", *(events or ["none"])])


CHANGE_KINDS = (DecommissionStart(), DecommissionCancel(), RemovePool())
