"""Pure rules of scaling: pool layout, capacity before/after, and the findings a preview shows.

No I/O: every function takes facts already read (:mod:`handlers.scaling.facts`)
and returns values, :class:`~bot.changes.Finding` or :class:`~bot.changes.Change`
lines; plain sentences, no markup.
"""

from __future__ import annotations

import copy
import re
from datetime import datetime
from typing import Any

from bot import humanize
from bot.changes import Change, DryRun, Finding
from bot.changes.follow import Phase
from bot.changes.preflight import healing_finding, nodes_online_finding, quorum_finding, tenant_state_finding
from bot.changes.tenant import JsonPatch, TenantObject, pointer, raw_pools, refusal_text
from bot.clients.errors import ClientError, KubeError
from bot.clients.kube_models import PoolInfo, PvcInfo, StorageClassInfo, TenantInfo
from bot.clients.minio_models import ClusterHealth, HealStatus, PoolStatus, ServerInfo
from bot.erasure import MIN_DRIVES, default_parity, erasure_set_size, usable_bytes
from bot.invocation import UserError
from bot.report import code, join, spans
from handlers.capacity import drive_totals
from handlers.scaling.quantities import Cpu, Size, cpu_millicores, quantity_bytes

POOL_READY = "PoolInitialized"
RESTART_ANNOTATION = "minio-chatops/restartedAt"
MIN_MEMORY = 2 * 2**30  # MinIO's own guidance: below this, servers run out of memory under load
SHOWN_PVCS = 6
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def pct(part: int, whole: int) -> str:
    """`62.1 %` (or `n/a` without a whole)."""
    return f"{100.0 * part / whole:.1f} %" if whole else "n/a"


def pool_label(servers: int, volumes: int, size: int | None) -> str:
    """`4 servers x 2 volumes x 1.00 TiB`."""
    each = f" x {humanize.size(size)}" if size else ""
    return f"{servers} servers x {volumes} volumes{each}"


def pools_label(pools: list[PoolInfo]) -> str:
    """Every pool with its shape, or "(none)"."""
    return ", ".join(f"{p.name} ({pool_label(p.servers, p.volumes_per_server, p.size_bytes)})" for p in pools) \
        or "(none)"


def select_pools(info: TenantInfo, pool: str | None) -> list[int]:
    """Indexes of the pool called ``pool`` (UserError when unknown), or of every pool."""
    if pool is None:
        return list(range(len(info.pools)))
    for index, candidate in enumerate(info.pools):
        if candidate.name == pool:
            return [index]
    known = join([spans(code(p.name)) for p in info.pools]) or ("none",)
    raise UserError(spans("Tenant ", code(info.name), " has no pool ", code(pool[:63]), " (pools: ", known, ")."))


# ----------------------------------------------------------------------------- add-pool


def new_pool_layout(servers: int, volumes: int, name: str | None) -> int:
    """The erasure-set size of a new pool of ``servers`` x ``volumes``; UserError when MinIO could not run it."""
    if servers * volumes < MIN_DRIVES:
        raise UserError(spans(
            f"A pool needs at least {MIN_DRIVES} drives (servers x volumes per server), and {servers} x {volumes} "
            f"= {servers * volumes}. MinIO erasure-codes objects across a pool's drives; e.g. ",
            code(f"--servers 4 --volumes-per-server {max(1, volumes)}"), ".",
        ))
    set_size = erasure_set_size(servers, volumes)
    if set_size is None:
        raise UserError(
            f"{servers} servers x {volumes} volumes = {servers * volumes} drives cannot be split into erasure sets "
            "of 2 to 16 drives that line up with the servers. Pick counts like 4 x 4, 8 x 2 or 16 x 1."
        )
    if name is not None and (not _DNS_LABEL.match(name) or len(name) > 63):
        raise UserError(spans(code(name[:63]), " is not a valid pool name: use lower-case letters, digits and ",
                              code("-"), " (at most 63 characters), e.g. ", code("pool-1"), "."))
    return set_size


def next_pool_name(info: TenantInfo) -> str:
    """`pool-<n>` with the first n not taken (operators name pools pool-0, pool-1, ...)."""
    taken = {p.name for p in info.pools}
    n = len(info.pools)
    while f"pool-{n}" in taken:
        n += 1
    return f"pool-{n}"


def default_storage_class(info: TenantInfo, classes: list[StorageClassInfo] | ClientError) -> str | None:
    """The newest pool's StorageClass, else the cluster's default one."""
    for pool in reversed(info.pools):
        if pool.storage_class:
            return pool.storage_class
    if isinstance(classes, list):
        return next((c.name for c in classes if c.is_default), None)
    return None


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


def pool_name_finding(info: TenantInfo, name: str) -> Finding:
    """A new pool needs a name no pool has: an existing pool's shape never changes."""
    existing = next((p for p in info.pools if p.name == name), None)
    if existing is None:
        return Finding(check="pool name", ok=True, detail=f"{name} is a new pool name.")
    shape = pool_label(existing.servers, existing.volumes_per_server, existing.size_bytes)
    return Finding(check="pool name", ok=False, detail=(
        f"A pool called {name} already exists ({shape}). Pool names are unique and an existing pool's servers "
        f"and volumes never change: choose a new name (e.g. --name {next_pool_name(info)})."))


def storage_class_finding(classes: list[StorageClassInfo] | ClientError, wanted: str) -> Finding:
    """The StorageClass the new pool's volumes ask for must exist."""
    check = "storage class"
    if isinstance(classes, ClientError):
        return Finding(check=check, ok=False, detail=f"Could not list StorageClasses: {classes}")
    names = [c.name for c in classes]
    if wanted in names:
        return Finding(check=check, ok=True, detail=f"StorageClass {wanted} exists.")
    return Finding(check=check, ok=False, detail=f"StorageClass {wanted} does not exist in the cluster (there: "
                   f"{', '.join(names) or 'none'}). Pass --storage-class with one of those.")


def standard_parity(info: TenantInfo, server_info: ServerInfo | ClientError, set_size: int) -> tuple[int, str]:
    """(parity, where it comes from): MinIO's standard storage class, else its default for the first pool."""
    if isinstance(server_info, ServerInfo) and server_info.backend.standard_sc_parity is not None:
        return server_info.backend.standard_sc_parity, "the deployment's standard storage class"
    first = info.pools[0] if info.pools else None
    first_set = erasure_set_size(first.servers, first.volumes_per_server) if first else None
    return default_parity(first_set or set_size), ("MinIO's default for the first pool (MinIO did not report its "
                                                   "storage class)")


def parity_finding(set_size: int, parity: int, source: str) -> Finding:
    """MinIO applies the standard parity to every pool: at most half of the new pool's sets."""
    check = "erasure parity"
    if parity * 2 > set_size:
        return Finding(check=check, ok=False, detail=f"The tenant's standard parity is EC:{parity} ({source}), but "
                       f"the new pool's erasure sets hold only {set_size} drives: MinIO needs parity ≤ half the set "
                       f"size and would not start. Use more drives per pool (sets of {parity * 2} or more).")
    return Finding(check=check, ok=True, detail=f"EC:{parity} ({source}) on sets of {set_size}: "
                   f"{set_size - parity} data + {parity} parity drives per set.")


def capacity_changes(server_info: ServerInfo | ClientError, new_raw: int, new_usable: int
                     ) -> tuple[list[Change], list[str]]:
    """The tenant's raw and usable capacity and % used before and after (with why they may be missing)."""
    if isinstance(server_info, ClientError):
        return [], [f"MinIO did not answer the admin info request ({server_info}): today's capacity and % used are "
                    "not shown."]
    raw_total, _raw_free, usable_total, usable_free, offline = drive_totals(server_info)
    used = max(0, usable_total - usable_free)
    grown = usable_total + new_usable
    changes = [
        Change(what="Tenant raw capacity", before=humanize.size(raw_total), after=humanize.size(raw_total + new_raw)),
        Change(what="Tenant usable capacity", before=humanize.size(usable_total), after=humanize.size(grown)),
        Change(what="Usage (of usable capacity)", before=f"{pct(used, usable_total)} of {humanize.size(usable_total)}",
               after=f"{pct(used, grown)} of {humanize.size(grown)}"),
    ]
    notes = [f"{offline} drive(s) are offline now, so today's totals are understated."] if offline else []
    return changes, notes


# ----------------------------------------------------------------------------- resources and restart


def _show(resources: dict[str, Any], section: str, key: str) -> str:
    value = (resources.get(section) or {}).get(key)
    return "(unset)" if value is None else str(value)


def new_resources(current: dict[str, Any], cpu: Cpu | None, memory: Size | None, limits: dict[str, str]
                  ) -> dict[str, Any]:
    """``current`` pool resources with the requested CPU/memory requests and limits set."""
    new = {k: dict(v) for k, v in current.items() if isinstance(v, dict)}
    requests = new.setdefault("requests", {})
    if cpu is not None:
        requests["cpu"] = cpu.quantity
    if memory is not None:
        requests["memory"] = memory.quantity
    if limits:
        new.setdefault("limits", {}).update(limits)
    return new


def resource_changes(pool: str, current: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """One preview line per request/limit that changes."""
    changes = []
    for section in ("requests", "limits"):
        for key in ("cpu", "memory"):
            before, after = _show(current, section, key), _show(new, section, key)
            if before != after:
                changes.append(Change(what=f"{pool} {section}.{key}", before=before, after=after))
    return changes


def limit_problems(pool: str, resources: dict[str, Any]) -> list[str]:
    """Kubernetes refuses pods whose limit is below the request; the CRD cannot see that, so the bot must."""
    problems = []
    requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
    if "cpu" in requests and "cpu" in limits:
        req, lim = cpu_millicores(requests["cpu"]), cpu_millicores(limits["cpu"])
        if req is not None and lim is not None and lim < req:
            problems.append(f"{pool}: CPU limit {limits['cpu']} is below the request {requests['cpu']}")
    if "memory" in requests and "memory" in limits:
        req_b, lim_b = quantity_bytes(requests["memory"]), quantity_bytes(limits["memory"])
        if req_b is not None and lim_b is not None and lim_b < req_b:
            problems.append(f"{pool}: memory limit {limits['memory']} is below the request {requests['memory']}")
    return problems


def rolling_findings(tenant: TenantObject, health: ClusterHealth | ClientError, info: ServerInfo | ClientError,
                     heal: HealStatus | ClientError) -> list[Finding]:
    """Before pods roll: write quorum, every node online, no healing, and the operator idle."""
    return [quorum_finding(health), nodes_online_finding(info), healing_finding(heal, info),
            tenant_state_finding(tenant)]


def resource_findings(problems: list[str], memory: Size | None) -> list[Finding]:
    """Limits below requests refuse the change; too little memory is a warning."""
    findings = []
    if problems:
        findings.append(Finding(check="limits ≥ requests", ok=False, detail="; ".join(problems) + ". Kubernetes "
                                "would refuse the pods; raise the limits (--limits) or lower the requests."))
    if memory is not None and memory.bytes < MIN_MEMORY:
        findings.append(Finding(check="memory", ok=False, blocking=False, detail=f"{memory.quantity} is below "
                                f"{humanize.size(MIN_MEMORY)}: MinIO servers with so little memory fail under load."))
    return findings


def restart_ops(index: int, pool: dict[str, Any], stamp: str) -> tuple[JsonPatch, Change]:
    """The JSON patch that stamps the restart annotation on pool ``index``, and its preview line."""
    name = str(pool.get("name"))
    annotations = pool.get("annotations")
    ops: JsonPatch = [{"op": "test", "path": pointer("spec", "pools", index, "name"), "value": name}]
    if isinstance(annotations, dict):
        ops.append({"op": "add", "path": pointer("spec", "pools", index, "annotations", RESTART_ANNOTATION),
                    "value": stamp})
        before = annotations.get(RESTART_ANNOTATION)
    else:
        ops.append({"op": "add", "path": pointer("spec", "pools", index, "annotations"),
                    "value": {RESTART_ANNOTATION: stamp}})
        before = None
    return ops, Change(what=f"{name} annotation {RESTART_ANNOTATION}", before=before or "(unset)", after=stamp)


# ----------------------------------------------------------------------------- storage


def pool_pvcs(pvcs: list[PvcInfo], pool: str) -> list[PvcInfo]:
    """The PVCs of ``pool`` (label v1.min.io/pool), by name."""
    return sorted((p for p in pvcs if p.pool == pool), key=lambda p: p.name)


def expansion_finding(pool: str, class_name: str | None, classes: dict[str, StorageClassInfo]) -> Finding:
    """Kubernetes grows a PVC in place only when its StorageClass allows volume expansion."""
    check = f"{pool}: volume expansion"
    if not class_name:
        return Finding(check=check, ok=False, detail=f"{pool}'s volumes name no StorageClass, so nobody can say "
                       "whether they can grow. Expand them by hand or set a StorageClass.")
    sc = classes.get(class_name)
    if sc is None:
        return Finding(check=check, ok=False, detail=f"StorageClass {class_name} of {pool} does not "
                       "exist any more; Kubernetes cannot resize its volumes.")
    if not sc.allow_volume_expansion:
        return Finding(check=check, ok=False, detail=f"StorageClass {class_name} of {pool} does not allow volume "
                       "expansion (allowVolumeExpansion is not true), so its PVCs cannot grow. Add a new pool with a "
                       "bigger size instead (/minio scale <tenant> add-pool ...).")
    return Finding(check=check, ok=True, detail=f"StorageClass {class_name} allows volume expansion.")


def size_finding(pool: str, size: Size, sizes: list[int]) -> Finding:
    """Volumes only grow: a new size below (or equal to) today's is refused."""
    check = f"{pool}: size"
    largest, smallest = max(sizes), min(sizes)
    if size.bytes < largest:
        return Finding(check=check, ok=False, detail=(
            f"{size.quantity} ({humanize.size(size.bytes)}) is smaller than {pool}'s volumes "
            f"({humanize.size(largest)}): Kubernetes volumes can only grow. To shrink, add a smaller pool and "
            "decommission this one."))
    if size.bytes == smallest == largest:
        return Finding(check=check, ok=False, detail=f"{pool}'s volumes are already {humanize.size(largest)}: "
                       "nothing to grow.")
    return Finding(check=check, ok=True, detail=f"{humanize.size(largest)} -> {humanize.size(size.bytes)} per volume "
                   "(growing only).")


def storage_findings(pool: PoolInfo, pvcs: list[PvcInfo], size: Size, classes: dict[str, StorageClassInfo]
                     ) -> list[Finding]:
    """Can every PVC of ``pool`` grow to ``size``: found, expandable, growing, bound?"""
    if not pvcs:
        return [Finding(check=f"{pool.name}: PVCs", ok=False, detail=f"No PVCs of {pool.name} were found (label "
                        "v1.min.io/pool); nothing to resize.")]
    findings = [
        expansion_finding(pool.name, pool.storage_class or pvcs[0].storage_class, classes),
        size_finding(pool.name, size, [p.requested_bytes or p.capacity_bytes or 0 for p in pvcs]),
    ]
    pending = [p.name for p in pvcs if p.phase != "Bound"]
    if pending:
        findings.append(Finding(check=f"{pool.name}: PVCs bound", ok=False, detail=f"{len(pending)} PVC(s) are not "
                                f"Bound ({', '.join(pending[:3])}): only bound claims can be resized."))
    return findings


def pvc_patch(size: Size) -> dict[str, Any]:
    """The merge patch that asks for ``size`` on a PVC."""
    return {"spec": {"resources": {"requests": {"storage": size.quantity}}}}


def storage_changes(pool: PoolInfo, pvcs: list[PvcInfo], size: Size, parity: int | None) -> list[Change]:
    """The PVC requests, the pool's raw/usable capacity and the claim template, before and after."""
    sizes = [p.requested_bytes or p.capacity_bytes or 0 for p in pvcs]
    largest = max(sizes)
    shown = ", ".join(p.name for p in pvcs[:SHOWN_PVCS]) + (" …" if len(pvcs) > SHOWN_PVCS else "")
    set_size = erasure_set_size(pool.servers, pool.volumes_per_server) or 1
    par = min(parity if parity is not None else 0, set_size // 2)
    raw_before, raw_after = sum(sizes), size.bytes * len(pvcs)
    return [
        Change(what=f"{pool.name}: {len(pvcs)} PVC(s) request ({shown})", before=humanize.size(largest),
               after=f"{size.quantity} ({humanize.size(size.bytes)})"),
        Change(what=f"{pool.name}: raw / usable capacity",
               before=f"{humanize.size(raw_before)} / {humanize.size(usable_bytes(raw_before, set_size, par))}",
               after=f"{humanize.size(raw_after)} / {humanize.size(usable_bytes(raw_after, set_size, par))}"),
        Change(what=f"{pool.name}: Tenant volumeClaimTemplate request",
               before=humanize.size(pool.size_bytes or largest), after=size.quantity),
    ]


def claim_template_ops(index: int, pool: str, size: Size) -> JsonPatch:
    """Record the new volume size in the pool's ``volumeClaimTemplate`` (testing the pool is still there)."""
    return [
        {"op": "test", "path": pointer("spec", "pools", index, "name"), "value": pool},
        {"op": "add", "path": pointer("spec", "pools", index, "volumeClaimTemplate", "spec", "resources",
                                      "requests", "storage"), "value": size.quantity},
    ]


def pvc_dry_run(name: str, answer: object) -> DryRun:
    """The API server's answer to one PVC's dry-run write."""
    if isinstance(answer, KubeError):
        return DryRun(ok=False, detail=f"PVC {name}: {refusal_text(answer)}")
    if isinstance(answer, ClientError):
        return DryRun(ok=False, detail=f"PVC {name}: {answer}")
    return DryRun(ok=True, detail=f"PVC {name}: accepted")


def merge_dry_runs(results: list[DryRun]) -> DryRun:
    """One verdict for several dry-run writes: the first refusal, or all accepted."""
    failed = [r for r in results if not r.ok]
    if failed:
        return DryRun(ok=False, detail=f"{len(failed)} of {len(results)} writes refused: {failed[0].detail}")
    return DryRun(ok=True, detail=f"The API server accepted all {len(results)} writes (dryRun=All): PVC validation, "
                  "the resize admission check and RBAC pass.")


# ----------------------------------------------------------------------------- decommission


def _one_pool(info: ServerInfo, index: int) -> ServerInfo:
    servers = [s.model_copy(update={"drives": [d for d in s.drives if d.pool_index == index]}) for s in info.servers]
    return info.model_copy(update={"servers": servers})


def pool_usage(info: ServerInfo) -> dict[int, tuple[int, int]]:
    """Per MinIO pool: (usable total, usable used), counted as the capacity report counts them."""
    out: dict[int, tuple[int, int]] = {}
    for index in sorted({d.pool_index for d in info.drives}):
        _raw_total, _raw_free, usable_total, usable_free, _offline = drive_totals(_one_pool(info, index))
        out[index] = (usable_total, max(0, usable_total - usable_free))
    return out


def capacity_finding(info: ServerInfo | ClientError, index: int, pool: str) -> Finding:
    """Can the other pools hold the leaving pool's data (usable bytes)?"""
    check = "room on the other pools"
    if isinstance(info, ClientError):
        return Finding(check=check, ok=False, detail=f"MinIO did not answer the admin info request, so the room left "
                       f"cannot be checked: {info}")
    usage = pool_usage(info)
    if index not in usage:
        return Finding(check=check, ok=False, detail=f"MinIO reports no drives for pool {index} ({pool}).")
    leaving = usage[index][1]
    room = sum(total - used for i, (total, used) in usage.items() if i != index)
    others_total = sum(total for i, (total, _used) in usage.items() if i != index)
    after = sum(used for _i, (_t, used) in usage.items())
    if leaving > room:
        return Finding(check=check, ok=False, detail=f"{pool} holds {humanize.size(leaving)} but the other pools "
                       f"have only {humanize.size(room)} free. Add a pool first (add-pool), then decommission.")
    return Finding(check=check, ok=True, detail=f"{pool} holds {humanize.size(leaving)}; the other pools have "
                   f"{humanize.size(room)} free and will be {pct(after, others_total)} used afterwards.")


def decommission_capacity(info: ServerInfo | ClientError, index: int) -> tuple[str, Change]:
    """(how much data the pool holds, for the preview line; the tenant's usable capacity before and after)."""
    if isinstance(info, ClientError):
        return "", Change(what="Tenant usable capacity", before="unknown", after="minus the pool")
    usage = pool_usage(info).get(index)
    _raw_total, _raw_free, usable_total, _usable_free, _offline = drive_totals(info)
    after = usable_total - (usage[0] if usage else 0)
    held = f" ({humanize.size(usage[1])} of data)" if usage else ""
    return held, Change(what="Tenant usable capacity", before=humanize.size(usable_total), after=humanize.size(after))


def _running(status: PoolStatus) -> bool:
    dec = status.decommission
    return dec is not None and not (dec.complete or dec.failed or dec.canceled)


def pool_state_finding(pools: list[PoolStatus] | ClientError, index: int, status: PoolStatus, pool: str,
                       tenant: str) -> Finding:
    """A pool can start decommissioning when it takes writes and no other pool is decommissioning."""
    state = status.decommission
    if state is not None and not (state.failed or state.canceled):
        what = "complete" if state.complete else "already running"
        then = f": remove it with /minio scale {tenant} remove-pool {pool}." if state.complete else "."
        return Finding(check="pool state", ok=False, detail=f"The decommission of {pool} is {what}{then}")
    others = [p for p in (pools if isinstance(pools, list) else []) if p.id != index and _running(p)]
    if others:
        return Finding(check="pool state", ok=False, detail=f"MinIO pool {others[0].id} is being decommissioned "
                       "already; one at a time.")
    again = " (again, after a failed or canceled run)" if state is not None else ""
    return Finding(check="pool state", ok=True, detail=f"{pool} takes writes; no decommission runs{again}.")


def minio_pool(pools: list[PoolStatus] | ClientError, tenant: TenantObject, pool: str) -> tuple[int, PoolStatus]:
    """(index, MinIO pool) of the Tenant pool ``pool``; UserError when it cannot be matched."""
    names = [p.name for p in tenant.info.pools]
    if pool not in names:
        known = join([spans(code(n)) for n in names]) or ("none",)
        raise UserError(spans("Tenant ", code(tenant.info.name), " has no pool ", code(pool[:63]), " (pools: ",
                              known, ")."))
    if isinstance(pools, ClientError):
        raise pools
    index = names.index(pool)
    if len(pools) != len(names):
        raise UserError(spans(f"MinIO runs {len(pools)} pool(s) but the Tenant lists {len(names)}: the operator has "
                              "not caught up. Wait until ", code("/minio health"), " shows every pool, then ask "
                              "again."))
    return index, next((p for p in pools if p.id == index), pools[index])


def progress_of(status: PoolStatus, now: datetime) -> tuple[Phase, str]:
    """(phase, line) of a pool's decommission from ``pools/status``."""
    dec = status.decommission
    if dec is None or dec.start_time is None:
        return Phase.RUNNING, "not started"
    moved_total = max(0, dec.total_size - dec.start_size)
    fraction = 1.0 if moved_total == 0 else min(1.0, max(0.0, (dec.current_size - dec.start_size) / moved_total))
    objects = f"{dec.objects_decommissioned:,} object(s) moved"
    failed = f", {dec.objects_failed:,} failed" if dec.objects_failed or dec.bytes_failed else ""
    head = (f"{fraction * 100:.0f} % ({humanize.size(fraction * moved_total)} of {humanize.size(moved_total)}), "
            f"{objects}")
    if dec.complete:
        return Phase.DONE, f"complete: {head}{failed}"
    if dec.failed:
        return Phase.FAILED, f"FAILED at {head}{failed}"
    if dec.canceled:
        return Phase.FAILED, f"canceled at {head}"
    elapsed = (now - dec.start_time).total_seconds()
    eta = ""
    if fraction > 0.01 and elapsed > 0:
        eta = f", ETA ~{humanize.duration(elapsed * (1 - fraction) / fraction)}"
    return Phase.RUNNING, f"running: {head}{failed}{eta}"


def removal_finding(phase: Phase, line: str, status: PoolStatus, pool: str, tenant: str) -> Finding:
    """A pool leaves the Tenant only once MinIO has moved all its data."""
    check = "decommission complete"
    if phase == Phase.DONE:
        return Finding(check=check, ok=True, detail=f"MinIO reports {pool} {line}.")
    if status.decommission is None:
        return Finding(check=check, ok=False, detail=(
            f"MinIO reports the decommission of {pool} {line}: a pool leaves the Tenant only after MinIO has moved "
            f"all its data. Start it with /minio scale {tenant} decommission {pool}."))
    return Finding(check=check, ok=False, detail=f"MinIO reports the decommission of {pool} {line}: wait until it "
                   "is complete.")
