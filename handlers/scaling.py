"""`/minio scale <tenant> ...`: grow, resize, restart and shrink a tenant by MinIO's rules.

Scaling follows MinIO's rules: add pools to grow, decommission to shrink; the
servers and volumes of an existing pool never change (the Tenant CRD's CEL
rule ``self == oldSelf`` is the backstop; the bot refuses first, and says what
to do instead). Every change is a previewed :class:`~bot.changes.ChangePlan`
that goes through the approval engine:

=====================  ==========================  ====================================
action                 change kind                 module
=====================  ==========================  ====================================
add-pool               scale-add-pool              handlers/scaling_add_pool.py
resources              scale-resources             handlers/scaling_resources.py
restart                scale-restart               handlers/scaling_resources.py
storage                scale-storage               handlers/scaling_storage.py
decommission           scale-decommission          handlers/scaling_decommission.py
decommission --cancel  scale-decommission-cancel   handlers/scaling_decommission.py
remove-pool            scale-remove-pool           handlers/scaling_decommission.py
=====================  ==========================  ====================================

``decommission <pool> --status`` is read-only. ``servers`` / ``volumes`` (and
``--servers`` / ``--volumes-per-server`` on anything but ``add-pool``) are
answered with the explanation and the ``add-pool`` alternative.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.application import Capability
from bot.approval_engine import request_change
from bot.clients.errors import ClientError
from bot.commands import Arg, Permission, Verb, escape
from bot.config import TenantConfig
from bot.erasure import MIN_DRIVES, erasure_set_size
from bot.invocation import Invocation, UserError
from bot.report import Report
from bot.runtime import Runtime
from handlers import scaling_add_pool, scaling_decommission, scaling_resources, scaling_storage
from handlers.capacity_forecast import format_bytes
from handlers.scaling_add_pool import plan_add_pool
from handlers.scaling_decommission import decommission_status, plan_cancel, plan_decommission, plan_remove_pool
from handlers.scaling_resources import parse_limits, plan_resources, plan_restart
from handlers.scaling_storage import plan_storage
from handlers.scaling_tenant import handle_for
from handlers.sizes import Cpu, Size, SizeError, canonical_quantity, parse_cpu, parse_size

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


def _size(text: str | None, what: str = "size") -> Size:
    if text is None:
        raise UserError(f"Say the {what}: `--size 1Ti` (units Gi/GiB, G/GB, Ti, ...; decimals like 1.5Ti are fine).")
    try:
        return parse_size(text, what=what)
    except SizeError as exc:
        raise UserError(str(exc)) from None


def _cpu(text: str | None) -> Cpu | None:
    try:
        return parse_cpu(text) if text is not None else None
    except SizeError as exc:
        raise UserError(str(exc)) from None


# ----------------------------------------------------------------------------- the immutable-pool refusal


def _wants_shape_change(args: ScaleArgs) -> bool:
    if args.action in IMMUTABLE_ACTIONS:
        return True
    return args.action != "add-pool" and (args.servers is not None or args.volumes_per_server is not None)


def _suggested_pool(servers: int, volumes: int, size: int | None) -> str:
    quantity = canonical_quantity(size) if size else "<size>"
    return f"--servers {servers} --volumes-per-server {volumes} --size {quantity}"


def shape_refusal(runtime: Runtime, tenant: TenantConfig, args: ScaleArgs) -> Report:
    """Why the servers/volumes of an existing pool never change, and the command that grows the tenant instead."""
    wanted_servers, wanted_volumes = args.servers, args.volumes_per_server
    number = args.target if args.target and args.target.isdigit() else None
    pool_name = args.pool or (args.target if args.target and not number else None)
    if number is not None:
        if args.action == "volumes":
            wanted_volumes = int(number)
        else:
            wanted_servers = int(number)
    pool = None
    try:
        info = handle_for(runtime, tenant).read().info
        pool = next((p for p in info.pools if p.name == pool_name), None) if pool_name else (
            info.pools[0] if len(info.pools) == 1 else None)
    except (ClientError, UserError):
        pass  # the refusal stands without the pool's details
    what = "volumes per server" if args.action == "volumes" or (wanted_volumes and not wanted_servers) else "servers"
    shown = pool.name if pool else pool_name
    label = f"`{escape(shown, 63)}`" if shown else "an existing pool"
    lines = [
        f":no_entry: The {what} of {label} cannot change"
        + (f" (it has {pool.servers} servers x {pool.volumes_per_server} volumes)." if pool else "."),
        "MinIO fixes a pool's erasure sets when the pool is created: adding servers or drives to it would reshuffle "
        "where every object lives, so MinIO does not support it and the Tenant CRD makes `servers` and "
        "`volumesPerServer` of an existing pool immutable.",
    ]
    name = tenant.name
    if pool is not None:
        servers = pool.servers
        volumes = wanted_volumes or pool.volumes_per_server
        if wanted_servers and wanted_servers > pool.servers:
            extra = wanted_servers - pool.servers
            if extra * volumes >= MIN_DRIVES and erasure_set_size(extra, volumes):
                servers = extra
        grow = f"/minio scale {name} add-pool {_suggested_pool(servers, volumes, pool.size_bytes)}"
        size = f" of {format_bytes(pool.size_bytes)}" if pool.size_bytes else ""
        lines.append(f"To grow, add a pool (here {servers} servers x {volumes} volumes{size}): "
                     f"`{grow}`.")
        fewer_servers = bool(wanted_servers and wanted_servers < pool.servers)
        fewer_volumes = bool(wanted_volumes and wanted_volumes < pool.volumes_per_server)
        if fewer_servers or fewer_volumes:
            lines.append(f"To shrink, add the smaller pool first, then `/minio scale {name} decommission {pool.name}` "
                         "moves the data off and `remove-pool` removes it.")
    else:
        lines.append(f"To grow, add a pool: `/minio scale {name} add-pool --servers N --volumes-per-server M --size S`;"
                     f" to shrink, `/minio scale {name} decommission <pool>`.")
    return Report(title=f"Refused: a pool's {what} never change", summary="\n".join(lines), ephemeral=True,
                  failed=True)


# ----------------------------------------------------------------------------- the verb


def scale_command(inv: Invocation, args: ScaleArgs) -> Report:
    """Route `/minio scale <tenant> <action>` to its previewed change (or the refusal / status view)."""
    tenant = inv.tenant(args.tenant)
    runtime = inv.runtime
    if _wants_shape_change(args):
        return shape_refusal(runtime, tenant, args)
    handle = handle_for(runtime, tenant)
    if args.action == "add-pool":
        if args.servers is None or args.volumes_per_server is None:
            raise UserError(f"add-pool needs `--servers N --volumes-per-server M --size S`, e.g. `/minio scale "
                            f"{tenant.name} add-pool --servers 4 --volumes-per-server 4 --size 2Ti`.")
        plan = plan_add_pool(runtime, handle, inv.user, servers=args.servers, volumes=args.volumes_per_server,
                             size=_size(args.size), storage_class=args.storage_class, name=args.name or args.target)
    elif args.action == "resources":
        memory = _size(args.memory, "memory") if args.memory is not None else None
        plan = plan_resources(runtime, handle, inv.user, pool=args.pool_name, cpu=_cpu(args.cpu), memory=memory,
                              limits=parse_limits(args.limits))
    elif args.action == "storage":
        plan = plan_storage(runtime, handle, inv.user, size=_size(args.size), pool=args.pool_name)
    elif args.action == "restart":
        plan = plan_restart(runtime, handle, inv.user, pool=args.pool_name)
    else:
        pool = args.pool_name
        if not pool:
            raise UserError(f"Name the pool: `/minio scale {tenant.name} {args.action} <pool>`.")
        if args.action == "remove-pool":
            plan = plan_remove_pool(runtime, handle, inv.user, pool)
        elif args.status:
            return decommission_status(runtime, handle, pool)
        elif args.cancel:
            plan = plan_cancel(runtime, handle, inv.user, pool)
        else:
            plan = plan_decommission(runtime, handle, inv.user, pool)
    return request_change(inv, plan)


def _permission(args: ScaleArgs) -> Permission:
    read_only = args.action in IMMUTABLE_ACTIONS or (args.action == "decommission" and args.status)
    return Permission.VIEW if read_only else Permission.REQUEST


USAGE = (
    "<tenant> add-pool --servers N --volumes-per-server M --size S [--storage-class C] [--name P]"
    " | resources [--pool P] [--cpu X] [--memory Y] [--limits cpu=X,memory=Y]"
    " | storage --size S [--pool P] | restart [--pool P]"
    " | decommission <pool> [--cancel | --status] | remove-pool <pool>"
)

VERB = Verb(
    name="scale",
    summary="Grow (add a pool), resize (CPU/memory, volumes), restart, or shrink (decommission) a tenant.",
    model=ScaleArgs,
    handler=scale_command,
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
        "Grow by adding pools; shrink by decommissioning one (MinIO moves its data) and then `remove-pool`. "
        "The servers and volumes of an existing pool never change. Restarts roll the pods through the pool's "
        "annotations, as the operator expects (never `kubectl rollout restart`)."
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
    usage_override=USAGE,
)

capability = Capability("scaling", __doc__)
capability.add_verb(VERB)
for _kind in (*scaling_add_pool.CHANGE_KINDS, *scaling_resources.CHANGE_KINDS, *scaling_storage.CHANGE_KINDS,
              *scaling_decommission.CHANGE_KINDS):
    capability.change_kind(_kind)
