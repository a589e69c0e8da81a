"""`/minio scale <tenant> add-pool`: grow a tenant the way MinIO grows, by appending a server pool.

The preview shows the new pool's raw and usable capacity (usable at the
deployment's standard parity, which MinIO applies to every pool), the
tenant's capacity and % used before and after, the operator's state, and the
API server's verdict on the exact JSON patch (``dryRun=All``: schema, the
CRD's CEL rules and RBAC). After approval the pool is appended once and the
card's thread follows the new pool in ``Tenant.status.pools`` until the
operator reports it initialised, or reports it stuck with the namespace's
recent warning events.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from bot.changes import Change, ChangePlan, Finding, Outcome, seal
from bot.clients.errors import ClientError
from bot.clients.kube_models import EventInfo, StorageClassInfo, TenantInfo
from bot.clients.minio_models import ServerInfo
from bot.commands import escape
from bot.erasure import MIN_DRIVES, default_parity, erasure_set_size, usable_bytes
from bot.humanize import size as format_bytes
from bot.invocation import UserError
from bot.runtime import Runtime
from handlers.capacity import drive_totals
from handlers.scaling_follow import Observation, Phase, follow, follow_limits, format_duration
from handlers.scaling_preflight import INITIALIZED, quorum_finding, tenant_state_finding
from handlers.scaling_tenant import (
    TargetChanged,
    TenantHandle,
    apply_guarded,
    dry_run,
    gather,
    gathered_tenant,
    handle_by_name,
    raw_pools,
    recheck_target,
    statefulset_name,
)
from handlers.sizes import Size

ACTION_KIND = "scale"


POOL_READY = "PoolInitialized"
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
STUCK_EVENTS = 8


# ----------------------------------------------------------------------------- pure layout math


def pct(part: int, whole: int) -> str:
    """`62.1 %` (or `n/a` without a whole)."""
    return f"{100.0 * part / whole:.1f} %" if whole else "n/a"


def pool_label(servers: int, volumes: int, size: int | None) -> str:
    """`4 servers x 2 volumes x 1.00 TiB`."""
    each = f" x {format_bytes(size)}" if size else ""
    return f"{servers} servers x {volumes} volumes{each}"


def next_pool_name(info: TenantInfo) -> str:
    """`pool-<n>` with the first n not taken (operators name pools pool-0, pool-1, ...)."""
    taken = {p.name for p in info.pools}
    n = len(info.pools)
    while f"pool-{n}" in taken:
        n += 1
    return f"pool-{n}"


def new_pool_spec(info: TenantInfo, name: str, servers: int, volumes: int, size: Size, storage_class: str
                  ) -> dict[str, Any]:
    """The pool to append: the newest pool's settings (affinity, resources, ...) with the new shape and volumes.

    Copying the newest pool keeps scheduling, security context and resources
    consistent across pools; only the shape and the claim template change.
    """
    pools = raw_pools(info)
    template: dict[str, Any] = copy.deepcopy(pools[-1]) if pools else {}
    claim = template.get("volumeClaimTemplate") if isinstance(template.get("volumeClaimTemplate"), dict) else {}
    assert isinstance(claim, dict)
    claim_spec = dict(claim.get("spec") or {})
    claim_spec["storageClassName"] = storage_class
    claim_spec.setdefault("accessModes", ["ReadWriteOnce"])
    claim_spec["resources"] = {**(claim_spec.get("resources") or {}), "requests": {"storage": size.quantity}}
    template.update(
        {
            "name": name,
            "servers": servers,
            "volumesPerServer": volumes,
            "volumeClaimTemplate": {**claim, "metadata": claim.get("metadata") or {"name": "data"},
                                    "spec": claim_spec},
        }
    )
    return template


# ----------------------------------------------------------------------------- the plan


def _storage_class_finding(classes: list[StorageClassInfo] | ClientError, wanted: str) -> Finding:
    check = "storage class"
    if isinstance(classes, ClientError):
        return Finding(check=check, ok=False, detail=f"Could not list StorageClasses: {classes}")
    names = [c.name for c in classes]
    if wanted in names:
        return Finding(check=check, ok=True, detail=f"StorageClass `{escape(wanted, 63)}` exists.")
    known = ", ".join(f"`{n}`" for n in names) or "none"
    return Finding(check=check, ok=False, detail=f"StorageClass `{escape(wanted, 63)}` does not exist in the "
                   f"cluster (there: {known}). Pass `--storage-class` with one of those.")


def _parity_finding(set_size: int, parity: int, source: str) -> Finding:
    check = "erasure parity"
    if parity * 2 > set_size:
        return Finding(check=check, ok=False, detail=f"The tenant's standard parity is EC:{parity} ({source}), but "
                       f"the new pool's erasure sets hold only {set_size} drives: MinIO needs parity ≤ half the set "
                       f"size and would not start. Use more drives per pool (sets of {parity * 2} or more).")
    return Finding(check=check, ok=True, detail=f"EC:{parity} ({source}) on sets of {set_size}: "
                   f"{set_size - parity} data + {parity} parity drives per set.")


def default_storage_class(info: TenantInfo, classes: list[StorageClassInfo] | ClientError) -> str | None:
    """The newest pool's StorageClass, else the cluster's default one."""
    for pool in reversed(info.pools):
        if pool.storage_class:
            return pool.storage_class
    if isinstance(classes, list):
        return next((c.name for c in classes if c.is_default), None)
    return None


def plan_add_pool(
    runtime: Runtime,
    handle: TenantHandle,
    requester: str,
    *,
    servers: int,
    volumes: int,
    size: Size,
    storage_class: str | None,
    name: str | None,
) -> ChangePlan:
    """Preview of appending a pool: capacity before/after, preflight and the API server's dry run."""
    if servers * volumes < MIN_DRIVES:
        raise UserError(
            f"A pool needs at least {MIN_DRIVES} drives (servers x volumes per server), and {servers} x {volumes} "
            f"= {servers * volumes}. MinIO erasure-codes objects across a pool's drives; e.g. "
            f"`--servers 4 --volumes-per-server {max(1, volumes)}`."
        )
    set_size = erasure_set_size(servers, volumes)
    if set_size is None:
        raise UserError(
            f"{servers} servers x {volumes} volumes = {servers * volumes} drives cannot be split into erasure sets "
            "of 2 to 16 drives that line up with the servers. Pick counts like 4 x 4, 8 x 2 or 16 x 1."
        )
    if name is not None and (not _DNS_LABEL.match(name) or len(name) > 63):
        raise UserError(f"`{escape(name, 63)}` is not a valid pool name: use lower-case letters, digits and `-` "
                        "(at most 63 characters), e.g. `pool-1`.")
    client = runtime.minio(handle.config)
    facts = gather(runtime, {
        "tenant": handle.read,
        "classes": handle.kube.list_storage_classes,
        "info": client.server_info,
        "health": client.cluster_health,
    })
    tenant = gathered_tenant(facts)
    info = tenant.info
    classes = facts["classes"]
    server_info = facts["info"]
    pool_name = name or next_pool_name(info)
    sc = storage_class or default_storage_class(info, classes)
    if sc is None:
        raise UserError("The Tenant's pools name no StorageClass and the cluster has no default one: "
                        "pass `--storage-class`.")
    findings: list[Finding] = []
    existing = next((p for p in info.pools if p.name == pool_name), None)
    if existing is not None:
        shape = pool_label(existing.servers, existing.volumes_per_server, existing.size_bytes)
        findings.append(Finding(check="pool name", ok=False, detail=(
            f"A pool called `{escape(pool_name, 63)}` already exists ({shape}). Pool names are unique and an "
            f"existing pool's servers and volumes never change: choose a new name "
            f"(e.g. `--name {next_pool_name(info)}`).")))
    else:
        findings.append(Finding(check="pool name", ok=True, detail=f"`{pool_name}` is a new pool name."))
    findings.append(_storage_class_finding(classes, sc))
    if isinstance(server_info, ServerInfo) and server_info.backend.standard_sc_parity is not None:
        parity, source = server_info.backend.standard_sc_parity, "the deployment's standard storage class"
    else:
        first = info.pools[0] if info.pools else None
        first_set = erasure_set_size(first.servers, first.volumes_per_server) if first else None
        parity = default_parity(first_set or set_size)
        source = "MinIO's default for the first pool (MinIO did not report its storage class)"
    findings.append(_parity_finding(set_size, parity, source))
    findings.append(quorum_finding(facts["health"]))
    findings.append(tenant_state_finding(tenant))

    new_raw = servers * volumes * size.bytes
    new_usable = usable_bytes(new_raw, set_size, min(parity, set_size // 2))
    changes = [
        Change(
            what="Tenant spec.pools",
            before=", ".join(f"{p.name} ({pool_label(p.servers, p.volumes_per_server, p.size_bytes)})"
                             for p in info.pools) or "(none)",
            after=f"+ {pool_name} ({pool_label(servers, volumes, size.bytes)}, StorageClass `{escape(sc, 63)}`)",
        ),
        Change(what=f"Raw capacity of the new pool ({servers * volumes} drives)", before="—",
               after=f"+{format_bytes(new_raw)}"),
        Change(what=f"Usable capacity of the new pool (EC:{parity}, sets of {set_size})", before="—",
               after=f"+{format_bytes(new_usable)}"),
    ]
    notes: list[str] = []
    if isinstance(server_info, ServerInfo):
        raw_total, _raw_free, usable_total, usable_free, offline = drive_totals(server_info)
        used = max(0, usable_total - usable_free)
        changes += [
            Change(what="Tenant raw capacity", before=format_bytes(raw_total), after=format_bytes(raw_total + new_raw)),
            Change(what="Tenant usable capacity", before=format_bytes(usable_total),
                   after=format_bytes(usable_total + new_usable)),
            Change(what="Usage (of usable capacity)",
                   before=f"{pct(used, usable_total)} of {format_bytes(usable_total)}",
                   after=f"{pct(used, usable_total + new_usable)} of {format_bytes(usable_total + new_usable)}"),
        ]
        if offline:
            notes.append(f"{offline} drive(s) are offline now, so today's totals are understated.")
    else:
        notes.append(f"MinIO did not answer `info` ({server_info}): today's capacity and % used are not shown.")
    if info.pools:
        notes.append(f"Other pool settings (resources, affinity, tolerations, security context) are copied from "
                     f"`{info.pools[-1].name}`.")
    notes.append("The operator adds the pool to every MinIO server's command line: every pod restarts once, and "
                 "new objects start landing on the new pool. Existing data is not moved.")
    pool = new_pool_spec(info, pool_name, servers, volumes, size, sc)
    ops = [{"op": "add", "path": "/spec/pools/-", "value": pool}]
    return seal(ChangePlan(
        kind=AddPool.name,
        action_kind=ACTION_KIND,
        tenant=handle.config.name,
        title=f"Add pool {pool_name} ({servers}x{volumes}x{size.quantity}) to {handle.config.name}",
        params={"pool": pool, "name": pool_name, "requested_by": requester},
        targets=[tenant.target()],
        changes=changes,
        notes=notes,
        dry_run=dry_run(handle, ops),
        preflight=findings,
        risk="medium",
        planned_at=runtime.clock(),
    ))


# ----------------------------------------------------------------------------- following


def pool_observer(handle: TenantHandle, pool: str) -> Callable[[], Observation]:
    """Look at the operator's view of the new pool: ``status.pools[].state`` and ``status.currentState``."""
    ss_name = statefulset_name(handle, pool)

    def observe() -> Observation:
        info = handle.kube.get_tenant(handle.namespace, handle.name)
        status = info.status
        state = status.current_state if status else None
        pool_state = next((p.state for p in (status.pools if status else []) if p.ss_name == ss_name), None)
        line = f"Tenant `{state or 'no status'}`; pool `{pool}`: {pool_state or 'not in status yet'}"
        if pool_state == POOL_READY and state == INITIALIZED:
            return Observation(Phase.DONE, line)
        return Observation(Phase.RUNNING, line)

    return observe


def stuck_events(handle: TenantHandle, needle: str, since_s: float) -> list[str]:
    """Recent warning events about the Tenant or any object whose name contains ``needle`` (pods, PVCs, sets)."""
    try:
        events: list[EventInfo] = handle.kube.list_events(handle.namespace, True, timedelta(seconds=since_s + 120))
    except ClientError as exc:
        return [f"(events could not be read: {exc})"]
    lines = []
    for event in events:
        if needle in event.object or event.object == f"Tenant/{handle.name}":
            times = f" (x{event.count})" if event.count > 1 else ""
            lines.append(f"{event.object} {event.reason}: {escape(event.message or '', 200)}{times}")
    return lines[:STUCK_EVENTS]


class AddPool:
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
        pool_name = str(plan.params["name"])
        try:
            apply_guarded(handle, plan.targets[0], [{"op": "add", "path": "/spec/pools/-",
                                                     "value": plan.params["pool"]}])
        except TargetChanged as exc:
            return Outcome(ok=False, summary=str(exc))
        first = f"Pool `{pool_name}` appended to Tenant {handle.namespace}/{handle.name} spec.pools."
        progress(first)
        timeout, poll = follow_limits(handle.config)
        result = follow(pool_observer(handle, pool_name), progress, timeout_s=timeout, poll_s=poll,
                        what=f"pool {pool_name} to initialise")
        if result.phase == Phase.DONE:
            return Outcome(ok=True, summary=f"Pool {pool_name} added and initialised "
                           f"({format_duration(result.elapsed_s)}).", lines=[first, result.line])
        events = stuck_events(handle, statefulset_name(handle, pool_name), result.elapsed_s)
        return Outcome(
            ok=False,
            summary=f"Pool {pool_name} is in the spec but not initialised after {format_duration(result.elapsed_s)} "
            f"(stuck: {result.line}).",
            lines=[first, "Nothing else was changed. Recent warning events:", *(events or ["none"]),
                   "Check `/minio health` and the operator's logs; the pool stays in the spec."],
        )


CHANGE_KINDS = (AddPool(),)
