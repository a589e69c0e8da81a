"""`/minio scale <tenant> resources` and `/minio scale <tenant> restart`: changes that roll a pool's pods.

Both edit one field of ``spec.pools[]`` and let the operator roll the pool's
StatefulSet, one pod at a time:

- ``resources`` sets CPU/memory requests (and optionally limits) of one pool
  or every pool, with a before/after table and a warning that pods restart.
- ``restart`` stamps ``minio-chatops/restartedAt`` into the pool's
  ``annotations``: the operator copies pool annotations to the pod template,
  so the change rolls the pods the way the operator honours. ``kubectl rollout
  restart`` is never used: the operator reverts the StatefulSet it owns.

After approval the card's thread follows the pods until every one of them has
started again (a newer ``startTime`` than before the change) and is Ready.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.changes import Change, ChangePlan, Finding, Outcome, TenantObject, seal
from bot.clients.errors import ClientError
from bot.clients.kube_models import PodInfo, TenantInfo
from bot.clients.minio_models import ClusterHealth, HealStatus, ServerInfo
from bot.commands import escape
from bot.humanize import size as format_bytes
from bot.invocation import UserError
from bot.runtime import Runtime
from handlers.scaling_follow import Observation, Phase, follow, follow_limits, format_duration
from handlers.scaling_preflight import (
    healing_finding,
    nodes_online_finding,
    quorum_finding,
    tenant_state_finding,
)
from handlers.scaling_tenant import (
    JsonPatch,
    TargetChanged,
    TenantHandle,
    apply_guarded,
    dry_run,
    gather,
    gathered_tenant,
    handle_by_name,
    pointer,
    raw_pools,
    recheck_target,
)
from handlers.sizes import Cpu, Size, SizeError, cpu_millicores, parse_cpu, parse_size, quantity_bytes

ACTION_KIND = "scale"
RESTART_ANNOTATION = "minio-chatops/restartedAt"
MIN_MEMORY = 2 * 2**30  # MinIO's own guidance: below this, servers run out of memory under load


# ----------------------------------------------------------------------------- shared


def select_pools(info: TenantInfo, pool: str | None) -> list[int]:
    """Indexes of the pool called ``pool`` (UserError when unknown), or of every pool."""
    if pool is None:
        return list(range(len(info.pools)))
    for index, candidate in enumerate(info.pools):
        if candidate.name == pool:
            return [index]
    known = ", ".join(f"`{p.name}`" for p in info.pools) or "none"
    raise UserError(f"Tenant `{info.name}` has no pool `{escape(pool, 63)}` (pools: {known}).")


def _rolling_preflight(runtime: Runtime, handle: TenantHandle) -> tuple[TenantObject, list[Finding]]:
    """Read the Tenant and the MinIO facts a rolling restart needs, in parallel."""
    client = runtime.minio(handle.config)
    facts = gather(runtime, {"tenant": handle.read, "health": client.cluster_health, "info": client.server_info,
                            "heal": client.heal_status})
    tenant = gathered_tenant(facts)
    health, info, heal = facts["health"], facts["info"], facts["heal"]
    assert isinstance(health, ClusterHealth | ClientError)
    assert isinstance(info, ServerInfo | ClientError)
    assert isinstance(heal, HealStatus | ClientError)
    findings = [
        quorum_finding(health),
        nodes_online_finding(info),
        healing_finding(heal, info),
        tenant_state_finding(tenant),
    ]
    return tenant, findings


def _rolling_plan(
    runtime: Runtime,
    handle: TenantHandle,
    tenant: TenantObject,
    requester: str,
    *,
    kind: str,
    title: str,
    names: list[str],
    ops: JsonPatch,
    changes: list[Change],
    notes: list[str],
    findings: list[Finding],
) -> ChangePlan:
    """The sealed plan of a change that patches ``spec.pools[]`` of ``names`` and lets the operator roll them."""
    return seal(ChangePlan(
        kind=kind,
        action_kind=ACTION_KIND,
        tenant=handle.config.name,
        title=title,
        params={"pools": names, "ops": ops, "requested_by": requester},
        targets=[tenant.target()],
        changes=changes,
        notes=notes,
        dry_run=dry_run(handle, ops),
        preflight=findings,
        risk="medium",
        planned_at=runtime.clock(),
    ))


def pod_starts(handle: TenantHandle, pools: list[str]) -> dict[str, str]:
    """Start time (ISO) of each pod of ``pools`` right now ("" when the pod has none yet)."""
    pods = handle.kube.list_pods(handle.namespace, handle.name)
    return {p.name: p.started_at.isoformat() if p.started_at else "" for p in pods if p.pool in pools}


def restart_observer(handle: TenantHandle, pools: list[str], before: dict[str, str]) -> Callable[[], Observation]:
    """Done when every pod of ``pools`` started after ``before`` (or is new) and is Ready."""

    def restarted(pod: PodInfo) -> bool:
        previous = before.get(pod.name)
        now = pod.started_at.isoformat() if pod.started_at else ""
        return previous is None or (bool(now) and now > previous)

    def observe() -> Observation:
        pods = [p for p in handle.kube.list_pods(handle.namespace, handle.name) if p.pool in pools]
        total = max(len(before), len(pods))
        fresh = [p for p in pods if restarted(p) and not p.deleting]
        ready = [p for p in fresh if p.ready]
        waiting = sorted({p.waiting_reason for p in pods if p.waiting_reason})
        line = f"{len(ready)}/{total} pod(s) of {', '.join(pools)} restarted and Ready"
        if waiting:
            line += f" (waiting: {', '.join(waiting)})"
        if total and len(ready) >= total:
            return Observation(Phase.DONE, line)
        return Observation(Phase.RUNNING, line)

    return observe


def _execute_rolling(runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None], what: str) -> Outcome:
    handle = handle_by_name(runtime, plan.tenant)
    pools = [str(p) for p in plan.params["pools"]]
    before = pod_starts(handle, pools)
    try:
        apply_guarded(handle, plan.targets[0], list(plan.params["ops"]))
    except TargetChanged as exc:
        return Outcome(ok=False, summary=str(exc))
    first = f"Tenant {handle.namespace}/{handle.name} patched ({what}); the operator rolls {', '.join(pools)}."
    progress(first)
    timeout, poll = follow_limits(handle.config)
    result = follow(restart_observer(handle, pools, before), progress, timeout_s=timeout, poll_s=poll,
                    what="the pods to restart")
    if result.phase == Phase.DONE:
        return Outcome(ok=True, summary=f"{what.capitalize()} applied; every pod restarted "
                       f"({format_duration(result.elapsed_s)}).", lines=[first, result.line])
    return Outcome(
        ok=False,
        summary=f"The spec is changed ({what}) but the pods have not all restarted after "
        f"{format_duration(result.elapsed_s)}: {result.line}.",
        lines=[first, "Nothing else was touched. Check the operator's logs and `/minio health`."],
    )


class _RollingChange:
    """A change kind that patches ``spec.pools[]`` and follows the pods while the operator rolls them."""

    name: str
    action_kind = ACTION_KIND
    what: str  # how the progress lines name the change, e.g. "new resources"

    def recheck(self, runtime: Runtime, plan: ChangePlan) -> list[Finding]:
        handle, current, unchanged = recheck_target(runtime, plan)
        if current is None:
            return [unchanged]
        _tenant, checks = _rolling_preflight(runtime, handle)
        return [unchanged, *checks]

    def execute(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        return _execute_rolling(runtime, plan, progress, self.what)



# ----------------------------------------------------------------------------- resources


def parse_limits(text: str | None) -> dict[str, str]:
    """`cpu=4,memory=16Gi` -> {"cpu": "4", "memory": "16Gi"} (validated quantities)."""
    if not text:
        return {}
    out: dict[str, str] = {}
    for part in text.split(","):
        key, eq, value = part.strip().partition("=")
        key = key.strip().lower()
        if not eq or key not in ("cpu", "memory") or not value.strip():
            raise UserError(f"`--limits` takes `cpu=X,memory=Y` (either or both), not `{escape(part, 40)}`.")
        try:
            out[key] = parse_cpu(value).quantity if key == "cpu" else parse_size(value, what="memory").quantity
        except SizeError as exc:
            raise UserError(str(exc)) from None
    return out


def _show(resources: dict[str, Any], section: str, key: str) -> str:
    value = (resources.get(section) or {}).get(key)
    return "(unset)" if value is None else str(value)


def _limit_problems(pool: str, resources: dict[str, Any]) -> list[str]:
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


def plan_resources(
    runtime: Runtime,
    handle: TenantHandle,
    requester: str,
    *,
    pool: str | None,
    cpu: Cpu | None,
    memory: Size | None,
    limits: dict[str, str],
) -> ChangePlan:
    """Preview of new CPU/memory for one pool or all: before/after per pool, restart warning, dry run."""
    if cpu is None and memory is None and not limits:
        raise UserError("Say what to set: `--cpu X` and/or `--memory Y` (requests), optionally `--limits "
                        "cpu=X,memory=Y`.")
    tenant, findings = _rolling_preflight(runtime, handle)
    info = tenant.info
    indexes = select_pools(info, pool)
    raw = raw_pools(info)
    ops: JsonPatch = []
    changes: list[Change] = []
    problems: list[str] = []
    names: list[str] = []
    for index in indexes:
        name = info.pools[index].name
        names.append(name)
        current: dict[str, Any] = dict(raw[index].get("resources") or {})
        new = {k: dict(v) for k, v in current.items() if isinstance(v, dict)}
        requests = new.setdefault("requests", {})
        if cpu is not None:
            requests["cpu"] = cpu.quantity
        if memory is not None:
            requests["memory"] = memory.quantity
        if limits:
            new.setdefault("limits", {}).update(limits)
        problems += _limit_problems(name, new)
        for section in ("requests", "limits"):
            for key in ("cpu", "memory"):
                before, after = _show(current, section, key), _show(new, section, key)
                if before != after:
                    changes.append(Change(what=f"{name} {section}.{key}", before=before, after=after))
        ops += [
            {"op": "test", "path": pointer("spec", "pools", index, "name"), "value": name},
            {"op": "add", "path": pointer("spec", "pools", index, "resources"), "value": new},
        ]
    if not changes:
        raise UserError("Those are already the pool's resources: nothing to change.")
    if problems:
        findings.append(Finding(check="limits ≥ requests", ok=False, detail="; ".join(problems) + ". Kubernetes "
                                "would refuse the pods; raise the limits (`--limits`) or lower the requests."))
    if memory is not None and memory.bytes < MIN_MEMORY:
        findings.append(Finding(check="memory", ok=False, blocking=False, detail=f"{memory.quantity} is below "
                                f"{format_bytes(MIN_MEMORY)}: MinIO servers with so little memory fail under load."))
    notes = [f":warning: Pods restart: the operator rolls {', '.join(names)} one pod at a time to apply the new "
             "resources. Each server is briefly offline while its pod restarts."]
    return _rolling_plan(
        runtime, handle, tenant, requester,
        kind=Resources.name,
        title=f"Set resources of {', '.join(names)} on {handle.config.name} (pods restart)",
        names=names, ops=ops, changes=changes, notes=notes, findings=findings,
    )


class Resources(_RollingChange):
    """Change kind `scale-resources`: set ``spec.pools[].resources``; the operator rolls the pods."""

    name = "scale-resources"
    what = "new resources"


# ----------------------------------------------------------------------------- restart


def plan_restart(runtime: Runtime, handle: TenantHandle, requester: str, *, pool: str | None) -> ChangePlan:
    """Preview of a rolling restart through pool annotations (never `kubectl rollout restart`)."""
    tenant, findings = _rolling_preflight(runtime, handle)
    info = tenant.info
    indexes = select_pools(info, pool)
    raw = raw_pools(info)
    stamp = runtime.clock().strftime("%Y-%m-%dT%H:%M:%SZ")
    ops: JsonPatch = []
    changes: list[Change] = []
    names: list[str] = []
    for index in indexes:
        name = info.pools[index].name
        names.append(name)
        annotations = raw[index].get("annotations")
        ops.append({"op": "test", "path": pointer("spec", "pools", index, "name"), "value": name})
        if isinstance(annotations, dict):
            ops.append({"op": "add", "path": pointer("spec", "pools", index, "annotations", RESTART_ANNOTATION),
                        "value": stamp})
            before = annotations.get(RESTART_ANNOTATION)
        else:
            ops.append({"op": "add", "path": pointer("spec", "pools", index, "annotations"),
                        "value": {RESTART_ANNOTATION: stamp}})
            before = None
        changes.append(Change(what=f"{name} annotation `{RESTART_ANNOTATION}`", before=before or "(unset)",
                              after=stamp))
    notes = [
        f":warning: Pods restart: the operator rolls {', '.join(names)} one pod at a time (the annotation is copied "
        "to the pod template). Each server is briefly offline while its pod restarts.",
        "Done through the Tenant's pool annotations because the operator reverts `kubectl rollout restart` on the "
        "StatefulSets it owns.",
    ]
    return _rolling_plan(
        runtime, handle, tenant, requester,
        kind=Restart.name,
        title=f"Rolling restart of {', '.join(names)} on {handle.config.name}",
        names=names, ops=ops, changes=changes, notes=notes, findings=findings,
    )


class Restart(_RollingChange):
    """Change kind `scale-restart`: stamp a pool annotation so the operator rolls the pods."""

    name = "scale-restart"
    what = "a rolling restart"


CHANGE_KINDS = (Resources(), Restart())
