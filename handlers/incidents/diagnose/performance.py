"""`/minio incident performance`: probe and canary latencies, locks held (`top/locks`), pod resource pressure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.clients.errors import ClientError
from bot.clients.kube_models import (
    PodInfo,
    PodMetrics,
    TenantInfo,
    quantity,
)
from bot.clients.minio_models import (
    CanaryResult,
    ClusterHealth,
    Probe,
    TopLocks,
)
from bot.commands import escape
from bot.config import TenantConfig
from bot.report import Row, Section, Status, worst
from bot.runtime import Runtime
from handlers.capacity_forecast import format_bytes
from handlers.incidents.facts import (
    Diagnosis,
    Fact,
    add_liveness_probes,
    failed_section,
    gather,
    kube_target,
    ms,
    not_on_kubernetes,
    per_node_unavailable,
    probes_of,
    safe_text,
)

MAX_LOCKS = 10
LOCK_WARN_S = 30.0
LOCK_CRITICAL_S = 300.0
PRESSURE_WARN = 0.80
PRESSURE_CRITICAL = 0.95


@dataclass(frozen=True)
class PerformanceFacts:
    """Probe and canary latencies, the oldest locks, pod resource use against limits."""

    probes: dict[int, Fact[Probe]]
    per_node_unavailable: str | None  # why there are no per-node probes (load-balanced endpoints)
    quorum: Fact[ClusterHealth]
    canary: Fact[CanaryResult]
    locks: Fact[TopLocks]
    metrics: Fact[list[PodMetrics]] | None
    tenant_info: Fact[TenantInfo] | None
    pods: Fact[list[PodInfo]] | None


def gather_performance(runtime: Runtime, tenant: TenantConfig, until: float) -> PerformanceFacts:
    """Liveness per node, the cluster probe, one canary round trip, `top/locks` and pod metrics, in parallel."""
    calls: dict[str, Callable[[], Any]] = {
        "canary": lambda: runtime.minio(tenant).canary(tenant.probe.bucket),
        "quorum": lambda: runtime.minio(tenant).cluster_health(),
        "locks": lambda: runtime.minio(tenant).top_locks(),
    }
    add_liveness_probes(calls, runtime, tenant)
    if tenant.kubernetes is not None:
        calls["metrics"] = lambda: kube_target(runtime, tenant).metrics()
        calls["tenant"] = lambda: kube_target(runtime, tenant).tenant()
        calls["pods"] = lambda: kube_target(runtime, tenant).pods()
    got = gather(calls, until)
    probes = probes_of(got)
    return PerformanceFacts(
        probes=probes,
        per_node_unavailable=per_node_unavailable(got),
        quorum=got["quorum"],
        canary=got["canary"],
        locks=got["locks"],
        metrics=got.get("metrics"),
        tenant_info=got.get("tenant"),
        pods=got.get("pods"),
    )


def _latency_status(ms: float | None, warn: float, critical: float) -> Status:
    if ms is None:
        return Status.UNKNOWN
    return Status.UNHEALTHY if ms >= critical else Status.DEGRADED if ms >= warn else Status.HEALTHY


def _pool_limits(info: TenantInfo) -> dict[str, tuple[float | None, int | None]]:
    """Pool name -> (CPU limit in millicores, memory limit in bytes), from the Tenant spec."""
    out: dict[str, tuple[float | None, int | None]] = {}
    for pool in info.pools:
        limits = pool.resources.get("limits") or pool.resources.get("requests") or {}
        cpu = quantity(limits.get("cpu"))
        mem = quantity(limits.get("memory"))
        out[pool.name] = (float(cpu * 1000) if cpu is not None else None, int(mem) if mem is not None else None)
    return out


def evaluate_performance(facts: PerformanceFacts, tenant: TenantConfig) -> Diagnosis:
    """Latencies against the tenant's probe thresholds, locks held too long, pods near their limits."""
    name = tenant.name
    warn, critical = tenant.probe.warn_ms, tenant.probe.critical_ms
    sections: list[Section] = []
    actions: list[str] = []
    rows: list[Row] = []
    for n, probe in sorted(facts.probes.items()):
        if isinstance(probe, ClientError):
            rows.append(Row(status=Status.UNHEALTHY, text=f"node {n} liveness: {escape(str(probe), 200)}"))
        else:
            status = _latency_status(probe.latency_ms, warn, critical) if probe.ok else Status.UNHEALTHY
            rows.append(Row(status=status, text=f"node {n} liveness: {ms(probe.latency_ms)}"))
    if isinstance(facts.quorum, ClientError):
        rows.append(Row(status=Status.UNKNOWN, text=f"cluster probe: {escape(str(facts.quorum), 200)}"))
    else:
        q = facts.quorum
        rows.append(
            Row(
                status=_latency_status(q.latency_ms, warn, critical) if q.ok else Status.UNHEALTHY,
                text=f"cluster probe (node {q.node}): {ms(q.latency_ms)}" + ("" if q.ok else f", HTTP {q.status}"),
            )
        )
    slow = False
    if isinstance(facts.canary, ClientError):
        rows.append(Row(status=Status.UNKNOWN, text=f"canary: {escape(str(facts.canary), 200)}"))
    else:
        c = facts.canary
        steps = f"PUT {ms(c.put_ms)} · GET {ms(c.get_ms)} · DELETE {ms(c.delete_ms)}"
        if c.ok:
            top = max(x for x in (c.put_ms, c.get_ms, c.delete_ms, 0.0) if x is not None)
            status = _latency_status(top, warn, critical)
            slow = status != Status.HEALTHY
            rows.append(Row(status=status, text=f"canary on `{escape(c.bucket, 63)}` (node {c.node}): {steps}"))
        else:
            rows.append(
                Row(status=Status.UNHEALTHY, text=f"canary on `{escape(c.bucket, 63)}` failed: {safe_text(c.error)}")
            )
    slow = slow or any(r.status in (Status.DEGRADED, Status.UNHEALTHY) for r in rows)
    sections.append(
        Section(
            title="Probe latencies",
            status=worst([r.status for r in rows if r.status], Status.UNKNOWN),
            rows=rows,
            lines=[
                f"Thresholds: warn {warn:g} ms, critical {critical:g} ms.",
                *([f"Per-node liveness: {facts.per_node_unavailable}."] if facts.per_node_unavailable else []),
            ],
        )
    )

    old_locks = False
    if isinstance(facts.locks, ClientError):
        sections.append(failed_section("Locks held (`top/locks`)", facts.locks))
    elif not facts.locks.supported:
        sections.append(
            Section(title="Locks held (`top/locks`)", status=Status.INFO, lines=["Single node: MinIO has no lock API."])
        )
    else:
        lock_rows: list[Row] = []
        for lock in facts.locks.locks[:MAX_LOCKS]:
            age = lock.elapsed_s or 0.0
            status = (
                Status.UNHEALTHY if age >= LOCK_CRITICAL_S else Status.DEGRADED if age >= LOCK_WARN_S else Status.INFO
            )
            old_locks = old_locks or age >= LOCK_WARN_S
            lock_rows.append(
                Row(
                    status=status,
                    text=f"`{escape(lock.resource, 120)}` {escape(lock.type, 10)} held {age:.0f} s"
                    + (f" by {escape(lock.source or lock.owner, 80)}" if lock.source or lock.owner else ""),
                )
            )
        sections.append(
            Section(
                title="Locks held (`top/locks`)",
                status=worst([r.status for r in lock_rows if r.status], Status.HEALTHY),
                rows=lock_rows,
                lines=[] if lock_rows else ["No locks held."],
            )
        )

    pressured: list[str] = []
    title = "Pod resource pressure"
    if facts.metrics is None:
        sections.append(not_on_kubernetes(title))
    else:
        limits = _pool_limits(facts.tenant_info) if isinstance(facts.tenant_info, TenantInfo) else {}
        pools = {p.name: p.pool for p in facts.pods} if isinstance(facts.pods, list) else {}
        oom = (
            [p.name for p in facts.pods if p.last_termination_reason == "OOMKilled"]
            if isinstance(facts.pods, list)
            else []
        )
        pr_rows: list[Row] = []
        if isinstance(facts.metrics, list):
            for m in facts.metrics:
                cpu_limit, mem_limit = limits.get(pools.get(m.name) or "", (None, None))
                shares = [
                    m.cpu_millicores / cpu_limit if cpu_limit else None,
                    m.memory_bytes / mem_limit if mem_limit else None,
                ]
                share = max((s for s in shares if s is not None), default=None)
                status = (
                    Status.UNKNOWN
                    if share is None
                    else Status.UNHEALTHY
                    if share >= PRESSURE_CRITICAL
                    else Status.DEGRADED
                    if share >= PRESSURE_WARN
                    else Status.HEALTHY
                )
                if status in (Status.DEGRADED, Status.UNHEALTHY):
                    pressured.append(m.name)
                cpu = f"CPU {m.cpu_millicores:.0f}m" + (f" of {cpu_limit:.0f}m" if cpu_limit else " (no limit)")
                mem = f"memory {format_bytes(m.memory_bytes)}" + (
                    f" of {format_bytes(mem_limit)}" if mem_limit else " (no limit)"
                )
                pr_rows.append(Row(status=status, text=f"`{escape(m.name, 63)}`: {cpu}, {mem}"))
        for pod in oom:
            pr_rows.append(Row(status=Status.UNHEALTHY, text=f"`{escape(pod, 63)}` was OOMKilled: memory pressure"))
            pressured.append(pod)
        if isinstance(facts.metrics, ClientError):
            section = Section(
                title=title, status=Status.UNHEALTHY if oom else Status.UNKNOWN, error=str(facts.metrics), rows=pr_rows
            )
        else:
            section = Section(
                title=title, status=worst([r.status for r in pr_rows if r.status], Status.HEALTHY), rows=pr_rows
            )
        sections.append(section)

    if old_locks:
        actions.append(
            "Long-held locks point at stuck clients or a slow drive: find the client (lock source) and stop it; "
            "a restart releases all locks (request it with `/minio maintenance " + name + " check` first)."
        )
    if pressured:
        actions.append(f"Pods near their limits: raise CPU/memory with `/minio scale {name} resources ...`.")
    if slow:
        actions.append(
            f"Requests are slow: compare nodes above; a single slow node usually has a failing drive "
            f"(`/minio health {name}`, Drives)."
        )
    if not actions:
        actions.append(
            "Server-side latency looks normal: check the clients' network path and request sizes; "
            f"re-run `/minio incident performance {name}` during the slowness."
        )
    return Diagnosis(sections, actions)
