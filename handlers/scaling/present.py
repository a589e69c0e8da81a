"""The scaling answers that are reports, not plans: the immutable-pool refusal and a decommission's progress."""

from __future__ import annotations

from bot.changes.follow import Phase
from bot.changes.tenant import TenantHandle
from bot.clients.kube_models import PoolInfo
from bot.erasure import MIN_DRIVES, erasure_set_size
from bot.report import Action, Inline, KeyValue, Report, Section, Status, Text, code, join, size, spans
from bot.runtime import Runtime
from handlers.scaling.evaluate import minio_pool, progress_of
from handlers.scaling.facts import pool_facts
from handlers.scaling.quantities import canonical_quantity

RUN = "run"  # the dispatcher's button that runs the command in its value


def _grow_command(tenant: str, pool: PoolInfo, servers: int | None, volumes: int | None) -> tuple[str, int, int]:
    """The add-pool command that grows the tenant instead (a pool the size of the extra servers when that works)."""
    grow_servers, grow_volumes = pool.servers, volumes or pool.volumes_per_server
    if servers and servers > pool.servers:
        extra = servers - pool.servers
        if extra * grow_volumes >= MIN_DRIVES and erasure_set_size(extra, grow_volumes):
            grow_servers = extra
    quantity = canonical_quantity(pool.size_bytes) if pool.size_bytes else "<size>"
    command = (f"/minio scale {tenant} add-pool --servers {grow_servers} --volumes-per-server {grow_volumes} "
               f"--size {quantity}")
    return command, grow_servers, grow_volumes


def _alternatives(tenant: str, pool: PoolInfo | None, servers: int | None, volumes: int | None) -> list[Text]:
    if pool is None:
        return [spans("To grow, add a pool: ", code(f"/minio scale {tenant} add-pool --servers N "
                                                     "--volumes-per-server M --size S"),
                      "; to shrink, ", code(f"/minio scale {tenant} decommission <pool>"), ".")]
    command, grow_servers, grow_volumes = _grow_command(tenant, pool, servers, volumes)
    each: tuple[Inline, ...] = (" of ", size(pool.size_bytes)) if pool.size_bytes else ()
    lines: list[Text] = [spans(f"To grow, add a pool (here {grow_servers} servers x {grow_volumes} volumes", each,
                               "): ", code(command), ".")]
    if (servers and servers < pool.servers) or (volumes and volumes < pool.volumes_per_server):
        lines.append(spans("To shrink, add the smaller pool first, then ",
                           code(f"/minio scale {tenant} decommission {pool.name}"), " moves the data off and ",
                           code("remove-pool"), " removes it."))
    return lines


def shape_refusal(tenant: str, pool: PoolInfo | None, pool_name: str | None, what: str, servers: int | None,
                  volumes: int | None) -> Report:
    """Why the servers/volumes of an existing pool never change, and the command that grows the tenant instead."""
    shown = pool.name if pool else pool_name
    label: Text = spans(code(shown[:63])) if shown else "an existing pool"
    shape = f" (it has {pool.servers} servers x {pool.volumes_per_server} volumes)." if pool else "."
    lines: list[Text] = [
        spans(f"The {what} of ", label, " cannot change", shape),
        spans("MinIO fixes a pool's erasure sets when the pool is created: adding servers or drives to it would "
              "reshuffle where every object lives, so MinIO does not support it and the Tenant CRD makes ",
              code("servers"), " and ", code("volumesPerServer"), " of an existing pool immutable."),
        *_alternatives(tenant, pool, servers, volumes),
    ]
    return Report(title=f"Refused: a pool's {what} never change", summary=join(lines, "\n"), ephemeral=True,
                  failed=True)


def decommission_status(runtime: Runtime, handle: TenantHandle, pool: str) -> Report:
    """`decommission <pool> --status`: progress now; the removal button once MinIO says it is complete."""
    tenant, pools = pool_facts(runtime, handle)
    index, status = minio_pool(pools, tenant, pool)
    phase, line = progress_of(status, runtime.clock())
    name = handle.config.name
    actions: list[Action] = []
    footer: list[Text] = []
    if phase == Phase.DONE:
        actions.append(Action(label=f"Remove {pool} from the Tenant", action_id=":".join((RUN, "remove-pool", pool)),
                              value=f"scale {name} remove-pool {pool}", style="danger",
                              confirm=f"Request approval to remove {pool} from the Tenant spec? MinIO reports its "
                              "decommission complete."))
        footer.append(spans("Next: ", code(f"/minio scale {name} remove-pool {pool}"), " (needs approval)."))
    elif phase == Phase.RUNNING and status.decommission is not None:
        footer.append(spans("Cancel: ", code(f"/minio scale {name} decommission {pool} --cancel"),
                            " (needs approval)."))
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
