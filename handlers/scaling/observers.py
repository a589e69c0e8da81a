"""What following an approved scaling change looks at, one poll at a time.

Each observer returns an :class:`~bot.changes.follow.Observation` (phase and a
plain line for the card's thread); :func:`bot.changes.follow.follow` polls it
until done, failed or the tenant's rollout timeout.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.changes.follow import Observation, Phase, operator_rejection
from bot.changes.preflight import INITIALIZED
from bot.changes.tenant import TenantHandle, statefulset_name
from bot.clients.kube_models import PodInfo
from bot.config import TenantConfig
from bot.runtime import Runtime
from handlers.scaling.evaluate import POOL_READY, progress_of


def pool_observer(handle: TenantHandle, pool: str) -> Callable[[], Observation]:
    """The operator's view of a new pool: ``status.pools[].state`` and ``status.currentState``."""
    ss_name = statefulset_name(handle, pool)

    def observe() -> Observation:
        info = handle.kube.get_tenant(handle.namespace, handle.name)
        rejected = operator_rejection(info)
        if rejected is not None:
            return rejected
        status = info.status
        state = status.current_state if status else None
        pool_state = next((p.state for p in (status.pools if status else []) if p.ss_name == ss_name), None)
        line = f"Tenant {state or 'no status'}; pool {pool}: {pool_state or 'not in status yet'}"
        done = pool_state == POOL_READY and state == INITIALIZED
        return Observation(Phase.DONE if done else Phase.RUNNING, line)

    return observe


def removal_observer(handle: TenantHandle, pool: str) -> Callable[[], Observation]:
    """Done when the operator reports the Tenant ``Initialized`` without the removed pool in its status."""
    ss_name = statefulset_name(handle, pool)

    def observe() -> Observation:
        info = handle.kube.get_tenant(handle.namespace, handle.name)
        rejected = operator_rejection(info)
        if rejected is not None:
            return rejected
        status = info.status
        state = status.current_state if status else None
        listed = any(p.ss_name == ss_name for p in (status.pools if status else []))
        line = f"Tenant {state or 'no status'}; {pool} {'still' if listed else 'no longer'} in its status"
        return Observation(Phase.DONE if state == INITIALIZED and not listed else Phase.RUNNING, line)

    return observe


def resize_observer(handle: TenantHandle, names: list[str], size_bytes: int) -> Callable[[], Observation]:
    """Done when every PVC reports ``status.capacity`` of at least the new size; failed when the operator
    rejected the Tenant's new claim template."""
    wanted = set(names)

    def observe() -> Observation:
        rejected = operator_rejection(handle.kube.get_tenant(handle.namespace, handle.name))
        if rejected is not None:
            return rejected
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


def restart_observer(handle: TenantHandle, pools: list[str], before: dict[str, str]) -> Callable[[], Observation]:
    """Done when every pod of ``pools`` started after ``before`` (or is new) and is Ready; failed when the
    operator rejected the Tenant's new spec (it then rolls nothing)."""

    def restarted(pod: PodInfo) -> bool:
        previous = before.get(pod.name)
        now = pod.started_at.isoformat() if pod.started_at else ""
        return previous is None or (bool(now) and now > previous)

    def observe() -> Observation:
        rejected = operator_rejection(handle.kube.get_tenant(handle.namespace, handle.name))
        if rejected is not None:
            return rejected
        pods = [p for p in handle.kube.list_pods(handle.namespace, handle.name) if p.pool in pools]
        total = max(len(before), len(pods))
        ready = [p for p in pods if restarted(p) and not p.deleting and p.ready]
        waiting = sorted({p.waiting_reason for p in pods if p.waiting_reason})
        line = f"{len(ready)}/{total} pod(s) of {', '.join(pools)} restarted and Ready"
        if waiting:
            line += f" (waiting: {', '.join(waiting)})"
        return Observation(Phase.DONE if total and len(ready) >= total else Phase.RUNNING, line)

    return observe


def decommission_observer(runtime: Runtime, tenant: TenantConfig, cmdline: str) -> Callable[[], Observation]:
    """MinIO's ``pools/status`` of one pool."""

    def observe() -> Observation:
        phase, line = progress_of(runtime.minio(tenant).pools_status(cmdline), runtime.clock())
        return Observation(phase, line)

    return observe
