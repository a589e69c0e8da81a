"""Scale a tenant the way MinIO scales: grow by adding a pool, resize CPU/memory or volumes, restart, shrink.

``/minio scale <tenant> add-pool | resources | storage | restart | decommission <pool> | remove-pool <pool>``
previews the change (before -> after, capacity, the Kubernetes API server's
dry run of the exact patch, preflight) and posts it for a second person's
approval; after approval it is made once and followed in the card's thread
until done. ``decommission <pool> --status`` shows a decommission's progress.

The servers and volumes of an existing pool never change (MinIO fixes a
pool's erasure sets when it is created; the Tenant CRD refuses it too):
asking for that is answered with the reason and the ``add-pool`` command that
grows the tenant instead. Shrinking is a decommission (MinIO moves the data)
followed by ``remove-pool``.

Layout: ``facts`` (the reads), ``evaluate`` (the rules), ``plans`` (the
previews), ``kinds`` and ``observers`` (after approval), ``present`` (the
refusal and the status report), ``quantities`` (sizes as people type them).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.application import Capability
from bot.approval_engine import request_change
from bot.changes.tenant import handle_for, kube_handle
from bot.commands import Arg, Permission
from bot.config import TenantConfig
from bot.invocation import Invocation, UserError
from bot.report import Report, code, spans
from bot.runtime import Runtime
from handlers.scaling.facts import tenant_pools
from handlers.scaling.kinds import CHANGE_KINDS
from handlers.scaling.plans import (
    plan_add_pool,
    plan_cancel,
    plan_decommission,
    plan_remove_pool,
    plan_resources,
    plan_restart,
    plan_storage,
)
from handlers.scaling.present import decommission_status, shape_refusal
from handlers.scaling.quantities import EXAMPLES, Size, parse_cpu, parse_limits, parse_size

capability = Capability("scaling", __doc__)
for _kind in CHANGE_KINDS:
    capability.change_kind(_kind)

ACTIONS = ("add-pool", "resources", "storage", "restart", "decommission", "remove-pool", "servers", "volumes")
IMMUTABLE_ACTIONS = ("servers", "volumes")
Action = Literal["add-pool", "resources", "storage", "restart", "decommission", "remove-pool", "servers", "volumes"]


class ScaleArgs(BaseModel):
    """Arguments of `/minio scale`."""

    model_config = ConfigDict(extra="forbid")
    tenant: str
    action: Action
    target: str | None = Field(None, max_length=63)  # the pool of decommission / remove-pool
    servers: int | None = Field(None, ge=1, le=1024)
    volumes_per_server: int | None = Field(None, ge=1, le=256)
    size: str | None = Field(None, max_length=40)
    storage_class: str | None = Field(None, max_length=253)
    name: str | None = Field(None, max_length=63)
    pool: str | None = Field(None, max_length=63)
    cpu: str | None = Field(None, max_length=20)
    memory: str | None = Field(None, max_length=40)
    limits: str | None = Field(None, max_length=80)
    cancel: bool = False
    status: bool = False

    @property
    def pool_name(self) -> str | None:
        """The pool named by the positional argument or by `--pool`."""
        return self.target or self.pool

    @property
    def wants_shape_change(self) -> bool:
        """Servers or volumes of an existing pool: never possible."""
        if self.action in IMMUTABLE_ACTIONS:
            return True
        return self.action != "add-pool" and (self.servers is not None or self.volumes_per_server is not None)


def _size(text: str | None, what: str = "size") -> Size:
    if text is None:
        raise UserError(spans(f"Say the {what}: ", code("--size 1Ti"), " (units Gi/GiB, G/GB, Ti, ...; decimals like "
                              "1.5Ti are fine), e.g. ", EXAMPLES, "."))
    return parse_size(text, what=what)


def _refuse_shape_change(runtime: Runtime, tenant: TenantConfig, args: ScaleArgs) -> Report:
    servers, volumes = args.servers, args.volumes_per_server
    number = args.target if args.target and args.target.isdigit() else None
    pool_name = args.pool or (args.target if args.target and not number else None)
    if number is not None:
        volumes, servers = (int(number), servers) if args.action == "volumes" else (volumes, int(number))
    pools = tenant_pools(kube_handle(runtime, tenant)) or []
    pool = next((p for p in pools if p.name == pool_name), None) if pool_name else (
        pools[0] if len(pools) == 1 else None)
    what = "volumes per server" if args.action == "volumes" or (volumes and not servers) else "servers"
    return shape_refusal(tenant.name, pool, pool_name, what, servers, volumes)


def _permission(args: ScaleArgs) -> Permission:
    read_only = args.action in IMMUTABLE_ACTIONS or (args.action == "decommission" and args.status)
    return Permission.VIEW if read_only else Permission.REQUEST


@capability.verb(
    "scale",
    summary="Grow (add a pool), resize (CPU/memory, volumes), restart, or shrink (decommission) a tenant.",
    model=ScaleArgs,
    args=(
        Arg("tenant", "the tenant", required=True),
        Arg("action", "what to change", required=True, choices=ACTIONS),
        Arg("target", "the pool (decommission, remove-pool)", metavar="pool"),
        Arg("servers", "add-pool: servers in the new pool", kind="option", metavar="N"),
        Arg("volumes-per-server", "add-pool: volumes (drives) per server", kind="option", metavar="M"),
        Arg("size", "add-pool: size of each volume; storage: the new volume size (e.g. 2Ti, 500GiB, 1.5Ti)",
            kind="option", metavar="S"),
        Arg("storage-class", "add-pool: StorageClass (default: the newest pool's)", kind="option", metavar="C"),
        Arg("name", "add-pool: the new pool's name (default pool-<n>)", kind="option", metavar="P"),
        Arg("pool", "resources / storage / restart: one pool (default: every pool)", kind="option", metavar="P"),
        Arg("cpu", "resources: CPU request per server, e.g. 4 or 500m", kind="option", metavar="X"),
        Arg("memory", "resources: memory request per server, e.g. 16Gi", kind="option", metavar="Y"),
        Arg("limits", "resources: limits, e.g. cpu=8,memory=32Gi", kind="option", metavar="cpu=X,memory=Y"),
        Arg("cancel", "decommission: cancel the running decommission (needs approval)", kind="flag"),
        Arg("status", "decommission: show its progress (no approval)", kind="flag"),
    ),
    permission=Permission.REQUEST,
    permission_for=_permission,
    details=(
        "Every change is previewed (before/after, the API server's dry run, preflight) and needs approval. "
        "Grow by adding pools; shrink by decommissioning one (MinIO moves its data) and then remove-pool. "
        "The servers and volumes of an existing pool never change. Restarts roll the pods through the pool's "
        "annotations, as the operator expects (never kubectl rollout restart)."
    ),
    examples=(
        "/minio scale demo add-pool --servers 4 --volumes-per-server 4 --size 2Ti",
        "/minio scale demo resources --pool pool-0 --cpu 4 --memory 16Gi --limits memory=32Gi",
        "/minio scale demo storage --size 2Ti --pool pool-0",
        "/minio scale demo restart --pool pool-0",
        "/minio scale demo decommission pool-0",
        "/minio scale demo decommission pool-0 --status",
        "/minio scale demo remove-pool pool-0",
    ),
    slow=True,
    usage_override=(
        "<tenant> add-pool --servers N --volumes-per-server M --size S [--storage-class C] [--name P]"
        " | resources [--pool P] [--cpu X] [--memory Y] [--limits cpu=X,memory=Y]"
        " | storage --size S [--pool P] | restart [--pool P]"
        " | decommission <pool> [--cancel | --status] | remove-pool <pool>"
    ),
)
def scale(inv: Invocation, args: ScaleArgs) -> Report:
    """Route `/minio scale <tenant> <action>` to its previewed change (or the refusal / status view)."""
    tenant = inv.tenant(args.tenant)
    runtime = inv.runtime
    if args.wants_shape_change:
        return _refuse_shape_change(runtime, tenant, args)
    handle = handle_for(runtime, tenant)
    if args.action == "add-pool":
        if args.servers is None or args.volumes_per_server is None:
            raise UserError(spans("add-pool needs ", code("--servers N --volumes-per-server M --size S"), ", e.g. ",
                                  code(f"/minio scale {tenant.name} add-pool --servers 4 --volumes-per-server 4 "
                                       "--size 2Ti"), "."))
        plan = plan_add_pool(runtime, handle, inv.user, servers=args.servers, volumes=args.volumes_per_server,
                             size=_size(args.size), storage_class=args.storage_class, name=args.name or args.target)
    elif args.action == "resources":
        memory = _size(args.memory, "memory") if args.memory is not None else None
        cpu = parse_cpu(args.cpu) if args.cpu is not None else None
        plan = plan_resources(runtime, handle, inv.user, pool=args.pool_name, cpu=cpu, memory=memory,
                              limits=parse_limits(args.limits))
    elif args.action == "storage":
        plan = plan_storage(runtime, handle, inv.user, size=_size(args.size), pool=args.pool_name)
    elif args.action == "restart":
        plan = plan_restart(runtime, handle, inv.user, pool=args.pool_name)
    elif not args.pool_name:
        raise UserError(spans("Name the pool: ", code(f"/minio scale {tenant.name} {args.action} <pool>"), "."))
    elif args.action == "remove-pool":
        plan = plan_remove_pool(runtime, handle, inv.user, args.pool_name)
    elif args.status:
        return decommission_status(runtime, handle, args.pool_name)
    elif args.cancel:
        plan = plan_cancel(runtime, handle, inv.user, args.pool_name)
    else:
        plan = plan_decommission(runtime, handle, inv.user, args.pool_name)
    return request_change(inv, plan)
