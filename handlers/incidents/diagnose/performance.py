"""`/minio incident performance`: probe and canary latencies, locks held (`top/locks`), pod resource pressure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.clients.errors import ClientError
from bot.clients.kube_models import PodInfo, PodMetrics, TenantInfo, quantity
from bot.clients.minio_models import CanaryResult, ClusterHealth, Probe, TopLocks
from bot.config import ProbeSettings
from bot.report import Row, Section, Status, Text, code, duration, size, spans
from handlers.incidents.diagnose.sections import failed_section, ms, not_on_kubernetes, rows_status, untrusted
from handlers.incidents.model import Diagnosis, Fact, Gathered
from handlers.perf import speedtest_action

NEEDS = ("probes", "write_quorum", "canary", "locks", "pod_metrics", "tenant", "pods")
LOCKS_TITLE = "Locks held (top/locks)"
PRESSURE_TITLE = "Pod resource pressure"
MAX_LOCKS = 10
LOCK_WARN_S = 30.0
LOCK_CRITICAL_S = 300.0
PRESSURE_WARN = 0.80
PRESSURE_CRITICAL = 0.95


@dataclass(frozen=True)
class PerformanceFacts:
    """Probe and canary latencies, the oldest locks, pod resource use against limits."""

    probes: dict[int, Fact[Probe]]
    per_node: ClientError | None  # why there are no per-node probes (load-balanced endpoints)
    quorum: Fact[ClusterHealth]
    canary: Fact[CanaryResult]
    locks: Fact[TopLocks]
    metrics: Fact[list[PodMetrics]] | None
    tenant_info: Fact[TenantInfo] | None
    pods: Fact[list[PodInfo]] | None

    @classmethod
    def of(cls, got: Gathered) -> PerformanceFacts:
        probes = {int(n): probe for n, probe in got.items("probe").items()}
        return cls(probes, got.get("per_node"), got.get("write_quorum"), got.get("canary"), got.get("locks"),
                   got.get("pod_metrics"), got.get("tenant"), got.get("pods"))


def latency_status(value: float | None, probe: ProbeSettings) -> Status:
    """A latency against the tenant's warn and critical thresholds."""
    if value is None:
        return Status.UNKNOWN
    if value >= probe.critical_ms:
        return Status.UNHEALTHY
    return Status.DEGRADED if value >= probe.warn_ms else Status.HEALTHY


def _node_rows(facts: PerformanceFacts, probe: ProbeSettings) -> list[Row]:
    rows = []
    for n, answer in sorted(facts.probes.items()):
        if isinstance(answer, ClientError):
            rows.append(Row(status=Status.UNHEALTHY, text=spans(f"node {n} liveness: ", str(answer))))
        elif not answer.ok:
            why = answer.error or f"HTTP {answer.status}"
            rows.append(Row(status=Status.UNHEALTHY, text=spans(f"node {n} liveness: not live (", why, ")")))
        else:
            status = latency_status(answer.latency_ms, probe)
            rows.append(Row(status=status, text=f"node {n} liveness: {ms(answer.latency_ms)}"))
    return rows


def _quorum_row(quorum: Fact[ClusterHealth], probe: ProbeSettings) -> Row:
    if isinstance(quorum, ClientError):
        return Row(status=Status.UNKNOWN, text=spans("cluster probe: ", str(quorum)))
    if quorum.starting:
        return Row(status=Status.DEGRADED, text=f"cluster probe (node {quorum.node}): {ms(quorum.latency_ms)}, "
                   f"node {quorum.node} is starting ({quorum.server_status})")
    status = latency_status(quorum.latency_ms, probe) if quorum.ok else Status.UNHEALTHY
    failed = "" if quorum.ok else f", HTTP {quorum.status}"
    return Row(status=status, text=f"cluster probe (node {quorum.node}): {ms(quorum.latency_ms)}{failed}")


def _canary_row(canary: Fact[CanaryResult], probe: ProbeSettings) -> Row:
    if isinstance(canary, ClientError):
        return Row(status=Status.UNKNOWN, text=spans("canary: ", str(canary)))
    if not canary.ok:
        return Row(status=Status.UNHEALTHY, text=spans("canary on ", code(canary.bucket), " failed: ",
                                                       untrusted(canary.error)))
    slowest = max(x for x in (canary.put_ms, canary.get_ms, canary.delete_ms, 0.0) if x is not None)
    steps = f"PUT {ms(canary.put_ms)} · GET {ms(canary.get_ms)} · DELETE {ms(canary.delete_ms)}"
    return Row(status=latency_status(slowest, probe),
               text=spans("canary on ", code(canary.bucket), f" (node {canary.node}): {steps}"))


def latency_section(facts: PerformanceFacts, probe: ProbeSettings) -> tuple[Section, bool]:
    """Liveness per node, the cluster probe and a canary round trip; with whether anything is slow."""
    rows = [*_node_rows(facts, probe), _quorum_row(facts.quorum, probe), _canary_row(facts.canary, probe)]
    slow = any(r.status in (Status.DEGRADED, Status.UNHEALTHY) for r in rows)
    lines: list[Text] = [f"Thresholds: warn {probe.warn_ms:g} ms, critical {probe.critical_ms:g} ms."]
    if facts.per_node is not None:
        lines.append(spans("Per-node liveness: ", str(facts.per_node), "."))
    section = Section(title="Probe latencies", status=rows_status(rows, Status.UNKNOWN), rows=rows, lines=lines)
    return section, slow


def lock_status(age_s: float) -> Status:
    """A lock held this long: fine, suspicious (DEGRADED) or stuck (UNHEALTHY)."""
    return Status.UNHEALTHY if age_s >= LOCK_CRITICAL_S else Status.DEGRADED if age_s >= LOCK_WARN_S else Status.INFO


def locks_section(locks: Fact[TopLocks]) -> tuple[Section, bool]:
    """The oldest locks MinIO holds; with whether any is held suspiciously long."""
    if isinstance(locks, ClientError):
        return failed_section(LOCKS_TITLE, locks), False
    if not locks.supported:
        # A fact about the deployment (426 from a non-distributed server), not a failed check.
        why = (" (", locks.reason, ")") if locks.reason else ()
        line = spans("Single server: no lock API", *why, ".")
        return Section(title=LOCKS_TITLE, status=Status.INFO, lines=[line]), False
    rows: list[Row] = []
    for lock in locks.locks[:MAX_LOCKS]:
        age = lock.elapsed or timedelta(0)
        holder = lock.source or lock.owner
        kind = f" {lock.type}" if lock.type else ""
        text = spans(code(lock.resource), f"{kind} held ", duration(age), (" by ", holder) if holder else "")
        rows.append(Row(status=lock_status(age.total_seconds()), text=text))
    old = any((lock.elapsed or timedelta(0)).total_seconds() >= LOCK_WARN_S for lock in locks.locks[:MAX_LOCKS])
    section = Section(title=LOCKS_TITLE, status=rows_status(rows, Status.HEALTHY), rows=rows,
                      lines=[] if rows else ["No locks held."])
    return section, old


def pool_limits(info: TenantInfo) -> dict[str, tuple[float | None, int | None]]:
    """Pool name -> (CPU limit in millicores, memory limit in bytes), from the Tenant spec."""
    out: dict[str, tuple[float | None, int | None]] = {}
    for pool in info.pools:
        limits = pool.resources.get("limits") or pool.resources.get("requests") or {}
        cpu, mem = quantity(limits.get("cpu")), quantity(limits.get("memory"))
        out[pool.name] = (float(cpu * 1000) if cpu is not None else None, int(mem) if mem is not None else None)
    return out


def pressure_status(share: float | None) -> Status:
    """A pod's use as a share of its limit: fine, near it (DEGRADED) or at it (UNHEALTHY)."""
    if share is None:
        return Status.UNKNOWN
    if share >= PRESSURE_CRITICAL:
        return Status.UNHEALTHY
    return Status.DEGRADED if share >= PRESSURE_WARN else Status.HEALTHY


def _metrics_row(m: PodMetrics, cpu_limit: float | None, mem_limit: int | None) -> Row:
    shares = [m.cpu_millicores / cpu_limit if cpu_limit else None, m.memory_bytes / mem_limit if mem_limit else None]
    status = pressure_status(max((s for s in shares if s is not None), default=None))
    cpu = f"CPU {m.cpu_millicores:.0f}m" + (f" of {cpu_limit:.0f}m" if cpu_limit else " (no limit)")
    mem = spans("memory ", size(m.memory_bytes), (" of ", size(mem_limit)) if mem_limit else " (no limit)")
    return Row(status=status, text=spans(code(m.name), f": {cpu}, ", mem))


def pressure_section(facts: PerformanceFacts) -> tuple[Section, bool]:
    """Each pod's CPU and memory against its pool's limits, and OOM kills; with whether any pod is under pressure."""
    if facts.metrics is None:
        return not_on_kubernetes(PRESSURE_TITLE), False
    limits = pool_limits(facts.tenant_info) if isinstance(facts.tenant_info, TenantInfo) else {}
    pods = facts.pods if isinstance(facts.pods, list) else []
    pools = {p.name: p.pool for p in pods}
    rows = [_metrics_row(m, *limits.get(pools.get(m.name) or "", (None, None)))
            for m in (facts.metrics if isinstance(facts.metrics, list) else [])]
    oom = [p.name for p in pods if p.last_termination_reason == "OOMKilled"]
    rows += [Row(status=Status.UNHEALTHY, text=spans(code(pod), " was OOMKilled: memory pressure")) for pod in oom]
    pressured = any(r.status in (Status.DEGRADED, Status.UNHEALTHY) for r in rows)
    if isinstance(facts.metrics, ClientError):
        status = Status.UNHEALTHY if oom else Status.UNKNOWN
        return Section(title=PRESSURE_TITLE, status=status, error=spans(str(facts.metrics)), rows=rows), pressured
    return Section(title=PRESSURE_TITLE, status=rows_status(rows, Status.HEALTHY), rows=rows), pressured


def performance_actions(tenant: str, slow: bool, old_locks: bool, pressured: bool) -> list[Text]:
    """Where the time goes: stuck lock holders, pods at their limits, a slow node."""
    actions: list[Text] = []
    if old_locks:
        actions.append(spans("Long-held locks point at stuck clients or a slow drive: find the client (lock source) "
                             "and stop it; a restart releases all locks (request it with ",
                             code(f"/minio maintenance {tenant} check"), " first)."))
    if pressured:
        actions.append(spans("Pods near their limits: raise CPU/memory with ",
                             code(f"/minio scale {tenant} resources ..."), "."))
    if slow:
        actions.append(spans("Requests are slow: compare nodes above; a single slow node usually has a failing drive (",
                             code(f"/minio health {tenant}"), ", Drives)."))
    if not actions:
        actions.append(spans("Server-side latency looks normal: check the clients' network path and request sizes; "
                             "re-run ", code(f"/minio incident performance {tenant}"), " during the slowness."))
    return actions


def evaluate_performance(facts: PerformanceFacts, tenant: str, probe: ProbeSettings) -> Diagnosis:
    """Latencies against the tenant's probe thresholds, locks held too long, pods near their limits."""
    latency, slow = latency_section(facts, probe)
    # Measure what the cluster can do now: MinIO's speed test, requested (with approval) from the button.
    latency = latency.model_copy(update={"actions": [*latency.actions, speedtest_action(tenant)]})
    locks, old_locks = locks_section(facts.locks)
    pressure, pressured = pressure_section(facts)
    return Diagnosis([latency, locks, pressure], performance_actions(tenant, slow, old_locks, pressured))
