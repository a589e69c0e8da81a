"""Admin API (/minio/admin/v3/...): SigV4-authenticated, JSON in madmin's shapes."""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections.abc import Callable
from typing import cast

import urllib3
from minio.crypto import decrypt, encrypt

from sandbox.minio_sim.bucket_config import list_remote_targets
from sandbox.minio_sim.capacity import compute_capacity
from sandbox.minio_sim.context import NodeContext
from sandbox.minio_sim.decommission import Decommission
from sandbox.minio_sim.entities import DriveView, Pool
from sandbox.minio_sim.errors import JSON, admin_error, json_response
from sandbox.minio_sim.iam import ACCOUNT_OFF, ACCOUNT_ON, DISABLED, ENABLED
from sandbox.minio_sim.model import ClusterModel, reported_version
from sandbox.minio_sim.scanner import rfc3339
from sandbox.minio_sim.server import Request, Response
from sandbox.minio_sim.sigv4 import verify_request
from sandbox.minio_sim.speedtest import handle_speedtest

PREFIX = "/minio/admin/v3/"
GO_RUNTIME = "go1.24.6"

AdminHandler = Callable[[NodeContext, Request], Response]


def server_mode(model: ClusterModel) -> str:
    """MinIO's name for the deployment's mode, as its errors quote it."""
    if len(model.nodes) > 1:
        return "mode-server-distributed-xl"
    return "mode-server-xl" if len(model.drives) > 1 else "mode-server-xl-single"


def _not_served(model: ClusterModel, request: Request) -> Response:
    # MinIO's router answers every admin path it did not register (unknown command, an API
    # of another mode, a known command with another method) with 426, before any auth.
    return admin_error(
        426,
        "XMinioAdminVersionMismatch",
        f"This 'admin' API is not supported by server in '{server_mode(model)}'",
        resource=request.path,
    )


def not_initialized(request: Request) -> Response:
    """What a starting server answers to calls that need its object layer."""
    return admin_error(
        503, "XMinioServerNotInitialized", "Server not initialized yet, please try again.", resource=request.path
    )


def handle_admin(ctx: NodeContext, request: Request) -> Response:
    """Route by command and method, then authenticate, then run the command."""
    model = ctx.model
    command = request.path[len(PREFIX) :].strip("/")
    route = ROUTES.get(command)
    # top/locks is registered only in distributed mode: a single server does not serve it.
    if route is None or (command == "top/locks" and len(model.nodes) == 1) or request.method not in route[0]:
        return _not_served(model, request)
    auth = verify_request(
        method=request.method,
        raw_path=request.raw_path,
        raw_query=request.raw_query,
        headers=request.headers,
        body=request.body,
        access_key=model.access_key,
        secret_key=model.secret_key,
        lookup=model.signer,
        region=model.region or None,
    )
    if not auth.ok:
        if auth.rejected:
            model.count_rejection(ctx.node, auth.rejected)
        return admin_error(auth.status, auth.code, auth.message, resource=request.path)
    if model.starting_status(ctx.node) is not None:
        return not_initialized(request)
    return route[1](ctx, request)


# ------------------------------------------------------------------ info
def _commit_id(version: str) -> str:
    return hashlib.sha1(version.encode(), usedforsecurity=False).hexdigest()


def _drive_json(model: ClusterModel, view: DriveView, now_mono: float) -> dict[str, object]:
    d = view.drive
    doc: dict[str, object] = {
        "endpoint": view.endpoint,
        "rootDisk": False,
        "path": f"/data{d.slot}",
        "healing": view.healing,
        "scanning": False,
        "state": view.state,
        "uuid": "" if view.state == "offline" else d.uuid,
        "model": "SIMDISK",
        "major": 253,
        "minor": d.node * 16 + d.slot,
        "used_inodes": 0 if view.state == "offline" else 1000 + d.slot,
        "totalspace": view.total,
        "usedspace": view.used,
        "availspace": view.avail,
        "utilization": round(view.used * 100.0 / view.total, 3) if view.total else 0.0,
        "pool_index": d.pool_index,
        "set_index": d.set_index,
        "disk_index": d.disk_index,
    }
    if view.healing and d.replaced_at is not None:
        objects = model.set_object_count(d.pool_index, d.set_index)
        size = model.set_logical_bytes(d.pool_index, d.set_index) // max(
            model.pools[d.pool_index].sets[d.set_index].data, 1
        )
        started = time.time() - (now_mono - d.replaced_at)
        doc["heal_info"] = {
            "id": d.uuid,
            "pool_index": d.pool_index,
            "set_index": d.set_index,
            "disk_index": d.disk_index,
            "endpoint": view.endpoint,
            "path": f"/data{d.slot}",
            "started": rfc3339(started),
            "last_update": rfc3339(time.time()),
            "objects_total_count": objects,
            "objects_total_size": size,
            "items_healed": int(objects * view.heal_progress),
            "items_failed": 0,
            "bytes_done": int(size * view.heal_progress),
            "bytes_failed": 0,
            "finished": False,
        }
    return doc


def _env_vars(model: ClusterModel) -> dict[str, str]:
    # Deliberately includes secrets: MinIO leaks env values here and the bot must redact them.
    return {
        "MINIO_ROOT_USER": model.access_key,
        "MINIO_ROOT_PASSWORD": model.secret_key,
        "MINIO_STORAGE_CLASS_STANDARD": f"EC:{model.standard_parity()}",
        "MINIO_PROMETHEUS_AUTH_TYPE": model.prometheus_auth,
        "MINIO_REGION": model.region,
        "MINIO_KMS_SECRET_KEY": "sim-kms:MzJieXRlc2xvbmdzZWNyZXRrZXltdXN0YmVnaXZlbjE=",
        "MINIO_IDENTITY_OPENID_CLIENT_SECRET": "sim-oidc-client-secret",
    }


def _offline_server(model: ClusterModel, number: int) -> dict[str, object]:
    """A peer that did not answer, shaped as the real server reports it: state "offline",
    its drives as bare endpoints (Go zero values for the indexes), nothing else it would omit."""
    drives = [
        {
            "endpoint": model.drive_endpoint(d),
            "state": "offline",
            "major": 0,
            "minor": 0,
            "used_inodes": 0,
            "pool_index": 0,
            "set_index": 0,
            "disk_index": 0,
        }
        for d in sorted(model.drives, key=lambda d: d.slot)
        if d.node == number
    ]
    return {"state": "offline", "endpoint": model.node_endpoint(number), "drives": drives, "mem_stats": {}}


def build_info(ctx: NodeContext) -> dict[str, object]:
    """The madmin InfoMessage as seen from this node."""
    model = ctx.model
    snap = ctx.scanner.snapshot
    now_mono = time.monotonic()
    with model.lock:
        model.settle_decommissions()
        views = model.drive_views()
        online = {n: model.node_online(n) for n in model.nodes}
        network = {model.node_endpoint(n): "online" if up else "offline" for n, up in online.items()}
        servers: list[dict[str, object]] = []
        for number, node in sorted(model.nodes.items()):
            if not online[number]:
                servers.append(_offline_server(model, number))
                continue
            drives = [_drive_json(model, v, now_mono) for v in views if v.drive.node == number]
            version = reported_version(node.version)
            servers.append(
                {
                    # A peer whose object layer is not up yet says so.
                    "state": "initializing" if model.starting_status(number) == "offline" else "online",
                    "endpoint": model.node_endpoint(number),
                    "scheme": "http",
                    "uptime": int(time.time() - node.started_at),
                    "version": version,
                    "commitID": _commit_id(version),
                    "network": network,
                    "drives": drives,
                    "poolNumber": node.pool_index,
                    "poolNumbers": [node.pool_index],
                    "mem_stats": {
                        "alloc": (180 + 7 * number) << 20,
                        "total_alloc": (9000 + 31 * number) << 20,
                        "mallocs": 41_000_000 + number,
                        "frees": 40_500_000 + number,
                        "heap_alloc": (180 + 7 * number) << 20,
                    },
                    "go_max_procs": 2,
                    "num_cpu": 2,
                    "runtime_version": GO_RUNTIME,
                    "minio_env_vars": _env_vars(model),
                }
            )
        pools: dict[str, dict[str, object]] = {}
        for pool in model.pools:
            pool_doc: dict[str, object] = {}
            for eset in pool.sets:
                set_views = [
                    v for v in views if v.drive.pool_index == pool.index and v.drive.set_index == eset.set_index
                ]
                pool_doc[str(eset.set_index)] = {
                    "id": eset.set_index,
                    "rawUsage": sum(v.used for v in set_views),
                    "rawCapacity": sum(d.total for d in eset.drives),
                    "usage": model.set_logical_bytes(pool.index, eset.set_index),
                    "objectsCount": model.set_object_count(pool.index, eset.set_index),
                    "versionsCount": model.set_object_count(pool.index, eset.set_index),
                    "deleteMarkersCount": 0,
                    "healDisks": sum(1 for v in set_views if v.healing),
                }
            pools[str(pool.index)] = pool_doc
        online_disks = sum(1 for v in views if v.state == "ok")
        backend = {
            "backendType": "Erasure",
            "onlineDisks": online_disks,
            "offlineDisks": len(views) - online_disks,
            "standardSCParity": model.standard_parity(),
            "rrSCParity": model.rr_parity(),
            "totalSets": [len(p.sets) for p in model.pools],
            "totalDrivesPerSet": [p.set_size for p in model.pools],
        }
    return {
        "mode": "online",
        "domain": [],
        # omitempty on the real server: a server with no region configured sends no "region".
        **({"region": model.region} if model.region else {}),
        "sqsARN": [],
        "deploymentID": model.deployment_id,
        "buckets": {"count": len(snap.buckets)},
        "objects": {"count": snap.objects},
        "versions": {"count": snap.objects},
        "deletemarkers": {"count": 0},
        "usage": {"size": snap.size},
        "services": {},
        "backend": backend,
        "servers": servers,
        "pools": pools,
    }


def _info(ctx: NodeContext, request: Request) -> Response:
    # The real server asks every peer in parallel, each with a deadline of peer_timeout_s
    # (10 s), and answers only when all have answered or timed out. A stopped peer refuses
    # the connection at once; a hung one (accepts, never answers) costs the full wait.
    model = ctx.model
    if any(model.node_hung(n) for n in model.nodes if n != ctx.node) and model.peer_timeout_s > 0:
        time.sleep(model.peer_timeout_s)
    return json_response(build_info(ctx))


def _data_usage(ctx: NodeContext, request: Request) -> Response:
    snap = ctx.scanner.snapshot
    with ctx.model.lock:
        cap = compute_capacity(ctx.model, ctx.model.drive_views())
    # Splice the cached per-bucket JSON in instead of re-serialising 10,000 buckets per call.
    head = {
        "lastUpdate": snap.last_update,
        "objectsCount": snap.objects,
        "versionsCount": snap.objects,
        "deleteMarkersCount": 0,
        "objectsTotalSize": snap.size,
        "objectsReplicationInfo": {},
        "bucketsCount": len(snap.buckets),
        "capacity": cap.usable_total,
        "freeCapacity": cap.usable_free,
        "usedCapacity": cap.usable_total - cap.usable_free,
    }
    body = json.dumps(head, separators=(",", ":")).encode()[:-1] + b',"bucketsUsageInfo":' + snap.buckets_json + b"}"
    return Response(200, body, JSON)


def _account_info(ctx: NodeContext, request: Request) -> Response:
    model = ctx.model
    snap = ctx.scanner.snapshot
    with model.lock:
        buckets = [
            {
                "name": b.name,
                "size": snap.buckets.get(b.name, (0, 0))[0],
                "objects": snap.buckets.get(b.name, (0, 0))[1],
                "created": rfc3339(b.created),
                "access": {"read": True, "write": True},
                "details": {
                    "versioning": b.versioning == "Enabled",
                    "versioningSuspended": b.versioning == "Suspended",
                    "locking": b.object_lock,
                    "replication": False,
                },
            }
            for b in sorted(model.buckets.values(), key=lambda b: b.name)
        ]
    doc = {
        "AccountName": model.access_key,
        "Server": {"Type": "Erasure", "StandardSCParity": model.standard_parity(), "RRSCParity": model.rr_parity()},
        "Policy": model.account_policy or BUILTIN_POLICIES["consoleAdmin"],
        "Buckets": buckets,
    }
    return json_response(doc)


def _caller_secret(ctx: NodeContext, request: Request) -> str:
    """The secret key of whoever signed the request (already verified): admin bodies are keyed by it."""
    caller = _caller(request)
    if caller == ctx.model.access_key:
        return ctx.model.secret_key
    return ctx.model.signer(caller)[0] or ctx.model.secret_key


def _encrypted(ctx: NodeContext, request: Request, doc: object) -> Response:
    # sio/DARE, keyed by the caller's secret key: what MinioAdmin decrypts (list-users, service accounts).
    secret = _caller_secret(ctx, request)
    return Response(200, encrypt(json.dumps(doc).encode(), secret), "application/octet-stream")


def _list_users(ctx: NodeContext, request: Request) -> Response:
    with ctx.model.lock:
        doc = {name: user.public() for name, user in ctx.model.iam.users.items()}
    return _encrypted(ctx, request, doc)


def _no_such_user(request: Request) -> Response:
    return admin_error(404, "XMinioAdminNoSuchUser", "The specified user does not exist", resource=request.path)


def _invalid_argument(request: Request) -> Response:
    return admin_error(400, "XMinioAdminInvalidArgument", "Invalid arguments specified.", resource=request.path)


def _user_info(ctx: NodeContext, request: Request) -> Response:
    user = ctx.model.iam.users.get(request.query.get("accessKey", ""))
    if user is None:
        return _no_such_user(request)
    return json_response(user.public())


def _add_user(ctx: NodeContext, request: Request) -> Response:
    access_key = request.query.get("accessKey", "")
    try:
        body = cast(urllib3.BaseHTTPResponse, _Body(request.body))
        doc = json.loads(decrypt(body, _caller_secret(ctx, request)))
        secret, status = str(doc["secretKey"]), str(doc.get("status") or ENABLED)
    except Exception:  # noqa: BLE001 - any unreadable body is the same refusal
        return _invalid_argument(request)
    if not access_key or access_key == ctx.model.access_key or status not in (ENABLED, DISABLED):
        return _invalid_argument(request)
    with ctx.model.lock:
        ctx.model.iam.add_user(access_key, secret, status)
        ctx.model.touch()
    return Response(200)


def _set_user_status(ctx: NodeContext, request: Request) -> Response:
    access_key, status = request.query.get("accessKey", ""), request.query.get("status", "")
    caller = _caller(request)
    # The real server refuses changing your own status; the root user is no IAM user.
    if access_key == caller or status not in (ENABLED, DISABLED):
        return _invalid_argument(request)
    with ctx.model.lock:
        user = ctx.model.iam.users.get(access_key)
        if user is None:
            return _no_such_user(request)
        user.status = status
        ctx.model.touch()
    return Response(200)


def _list_service_accounts(ctx: NodeContext, request: Request) -> Response:
    parent = request.query.get("user", "") or _caller(request)
    with ctx.model.lock:
        accounts = [
            account.public(key)
            for key, account in sorted(ctx.model.iam.service_accounts.items())
            if account.parent == parent
        ]
    return _encrypted(ctx, request, {"accounts": accounts})


def _no_such_service_account(request: Request) -> Response:
    # Real: ErrAdminServiceAccountNotFound, for unknown keys, IAM users and the root user alike.
    return admin_error(404, "XMinioInvalidIAMCredentials", "The specified service account is not found",
                       resource=request.path)


def _info_service_account(ctx: NodeContext, request: Request) -> Response:
    access_key = request.query.get("accessKey", "")
    if not access_key:
        return admin_error(400, "InvalidRequest", "Invalid Request", resource=request.path)
    with ctx.model.lock:
        account = ctx.model.iam.service_accounts.get(access_key)
        if account is None:
            return _no_such_service_account(request)
        parent = ctx.model.iam.users.get(account.parent)
        parent_policy = BUILTIN_POLICIES.get(parent.policy if parent else "consoleAdmin", _policy([]))
        doc = account.info(parent_policy)
    return _encrypted(ctx, request, doc)


# update-service-account's newStatus: "on"/"off", and (newer servers) "enabled"/"disabled" as synonyms.
_ACCOUNT_STATUS = {"on": ACCOUNT_ON, "off": ACCOUNT_OFF, "enabled": ACCOUNT_ON, "disabled": ACCOUNT_OFF}


def _update_service_account(ctx: NodeContext, request: Request) -> Response:
    access_key = request.query.get("accessKey", "")
    if not access_key:
        return admin_error(400, "InvalidRequest", "Invalid Request", resource=request.path)
    with ctx.model.lock:
        if access_key not in ctx.model.iam.service_accounts:
            return _no_such_service_account(request)
    try:
        body = cast(urllib3.BaseHTTPResponse, _Body(request.body))
        doc = json.loads(decrypt(body, _caller_secret(ctx, request)))
        status = str(doc.get("newStatus") or "")
    except Exception:  # noqa: BLE001 - any unreadable body is the same refusal
        return admin_error(400, "XMinioAdminConfigBadJSON", "JSON configuration provided is of incorrect format",
                           resource=request.path)
    if status and status not in _ACCOUNT_STATUS:
        return admin_error(500, "InternalError", "unknown account status value", resource=request.path)
    with ctx.model.lock:
        account = ctx.model.iam.service_accounts.get(access_key)
        if account is None:
            return _no_such_service_account(request)
        if status:
            account.status = _ACCOUNT_STATUS[status]
        ctx.model.touch()
    return Response(204)


def _caller(request: Request) -> str:
    """The access key that signed the request (already verified)."""
    authorization = str(request.headers.get("Authorization") or "")
    credential = authorization.partition("Credential=")[2].split(",")[0].strip()
    return credential.rsplit("/", 4)[0]  # access keys may contain "/": the scope is the last four parts


class _Body(io.BytesIO):
    """A request body shaped like the urllib3 response ``minio.crypto.decrypt`` reads from."""

    def release_conn(self) -> None:
        """Nothing to release."""


def _list_policies(ctx: NodeContext, request: Request) -> Response:
    return json_response(BUILTIN_POLICIES)


def _bucket_quota(ctx: NodeContext, request: Request) -> Response:
    name = request.query.get("bucket", "")
    bucket = ctx.model.buckets.get(name)
    if bucket is None:
        return admin_error(404, "NoSuchBucket", "The specified bucket does not exist", resource=request.path)
    if not bucket.quota:
        return admin_error(
            404, "XMinioAdminNoSuchQuotaConfiguration", "The quota configuration does not exist", resource=request.path
        )
    return json_response({"quota": bucket.quota, "size": bucket.quota, "quotatype": "hard"})


def _set_bucket_quota(ctx: NodeContext, request: Request) -> Response:
    name = request.query.get("bucket", "")
    bucket = ctx.model.buckets.get(name)
    if bucket is None:
        return admin_error(404, "NoSuchBucket", "The specified bucket does not exist", resource=request.path)
    try:
        doc = json.loads(request.body or b"{}")
        size = int(doc.get("size") or doc.get("quota") or 0)
    except (ValueError, TypeError, AttributeError):
        return admin_error(400, "XMinioAdminBucketQuotaConfigError", "Invalid bucket quota configuration",
                           resource=request.path)
    if size < 0 or (size and str(doc.get("quotatype") or "hard") != "hard"):
        return admin_error(400, "XMinioAdminBucketQuotaConfigError", "Invalid bucket quota configuration",
                           resource=request.path)
    with ctx.model.lock:
        bucket.quota = size  # 0 clears it
        ctx.model.touch()
    return Response(200)


def _heal_status(ctx: NodeContext, request: Request) -> Response:
    model = ctx.model
    now_mono = time.monotonic()
    with model.lock:
        views = model.drive_views()
        offline_nodes = [model.node_endpoint(n) for n in sorted(model.nodes) if not model.node_online(n)]
        sets = []
        for eset in model.all_sets():
            set_views = [
                v for v in views if v.drive.pool_index == eset.pool_index and v.drive.set_index == eset.set_index
            ]
            healing = any(v.healing for v in set_views)
            sets.append(
                {
                    "id": f"{eset.pool_index}-{eset.set_index}",
                    "pool_index": eset.pool_index,
                    "set_index": eset.set_index,
                    "heal_status": "healing" if healing else "finished",
                    "heal_priority": "",
                    "total_objects": model.set_object_count(eset.pool_index, eset.set_index),
                    "disks": [_drive_json(model, v, now_mono) for v in set_views],
                }
            )
        doc = {
            "offline_nodes": offline_nodes,
            "ScannedItemsCount": ctx.scanner.snapshot.objects,
            "LastHealActivity": ctx.scanner.snapshot.last_update,
            "NextHealRound": "0001-01-01T00:00:00Z",
            "HealDisks": [v.endpoint for v in views if v.healing],
            "sets": sets,
            "mrf": {},
            "sc_parity": {"STANDARD": model.standard_parity(), "REDUCED_REDUNDANCY": model.rr_parity()},
        }
    return json_response(doc)


# ----------------------------------------------------------------- pools
def _pool_status(model: ClusterModel, pool: Pool, now_mono: float) -> dict[str, object]:
    doc: dict[str, object] = {"id": pool.index, "cmdline": model.pool_cmdline(pool), "lastUpdate": rfc3339(time.time())}
    dec = model.decommissions.get(pool.index)
    if dec is not None:
        doc["decommissionInfo"] = dec.to_json(now_mono, rfc3339(dec.start_wall))
    return doc


def _resolve_pools(ctx: NodeContext, request: Request) -> list[Pool] | Response:
    arg = request.query.get("pool", "")
    pools = [ctx.model.find_pool(part) for part in arg.split(",")] if arg else [None]
    if any(p is None for p in pools):
        return admin_error(
            400,
            "XMinioAdminInvalidArgument",
            f"Invalid arguments specified: pool {arg!r} not found",
            resource=request.path,
        )
    return [p for p in pools if p is not None]


def _pools_list(ctx: NodeContext, request: Request) -> Response:
    model = ctx.model
    with model.lock:
        model.settle_decommissions()
        now = time.monotonic()
        return json_response([_pool_status(model, p, now) for p in model.pools])


def _pools_status(ctx: NodeContext, request: Request) -> Response:
    pools = _resolve_pools(ctx, request)
    if isinstance(pools, Response):
        return pools
    with ctx.model.lock:
        ctx.model.settle_decommissions()
        return json_response(_pool_status(ctx.model, pools[0], time.monotonic()))


def _pools_decommission(ctx: NodeContext, request: Request) -> Response:
    model = ctx.model
    if len(model.pools) == 1:
        # Checked before the pool argument: a single-pool deployment has nothing to drain into.
        return admin_error(
            501,
            "NotImplemented",
            "A header you provided implies functionality that is not implemented",
            resource=request.path,
        )
    pools = _resolve_pools(ctx, request)
    if isinstance(pools, Response):
        return pools
    now = time.monotonic()
    with model.lock:
        model.settle_decommissions()
        for pool in pools:
            dec = model.decommissions.get(pool.index)
            if dec is not None and dec.active_or_complete(now):
                return admin_error(
                    400,
                    "XMinioDecommissionNotAllowed",
                    f"Decommission already in progress or complete for pool {pool.index}",
                    resource=request.path,
                )
        leaving = {p.index for p in pools}
        needed = sum(model.pool_used_bytes(i) for i in leaving)
        room = sum(
            model.pool_usable_free(p.index)
            for p in model.pools
            if p.index not in leaving and model.pool_accepts_writes(p.index)
        )
        if needed > room:
            return admin_error(
                400,
                "XMinioDecommissionNotAllowed",
                "Insufficient capacity on the remaining pools to decommission",
                resource=request.path,
            )
        views = model.drive_views()
        for pool in pools:
            pool_views = [v for v in views if v.drive.pool_index == pool.index]
            dec = Decommission(
                pool_index=pool.index,
                start_wall=time.time(),
                start_mono=now,
                duration=model.decommission_seconds,
                start_size=sum(v.avail for v in pool_views),
                total_size=model.pool_raw_capacity(pool.index),
                start_bytes=model.pool_used_bytes(pool.index),
                start_objects=sum(model.set_object_count(pool.index, s.set_index) for s in pool.sets),
            )
            if pool.index in model.pending_decommission_failures:
                model.pending_decommission_failures.discard(pool.index)
                dec.inject_failure(now)
            model.decommissions[pool.index] = dec
        model.touch()
    return Response(200)


def _pools_cancel(ctx: NodeContext, request: Request) -> Response:
    pools = _resolve_pools(ctx, request)
    if isinstance(pools, Response):
        return pools
    now = time.monotonic()
    with ctx.model.lock:
        ctx.model.settle_decommissions()
        for pool in pools:
            dec = ctx.model.decommissions.get(pool.index)
            if dec is None or dec.status(now) != "running":
                return admin_error(
                    400,
                    "XMinioDecommissionNotAllowed",
                    f"No decommission is running on pool {pool.index}",
                    resource=request.path,
                )
            dec.cancel(now)
        ctx.model.touch()
    return Response(200)


# --------------------------------------------------------------- service
def _service(ctx: NodeContext, request: Request) -> Response:
    query = request.query
    action = query.get("action", "")
    dry_run = query.get("dry-run", "").lower() == "true"
    if action not in ("restart", "stop"):
        return admin_error(
            400, "XMinioAdminInvalidArgument", f"Invalid service action {action!r}", resource=request.path
        )
    model = ctx.model
    with model.lock:
        numbers = sorted(model.nodes)
        results = [
            {"host": model.node_endpoint(n)}
            if model.node_online(n)
            else {"host": model.node_endpoint(n), "err": "node is offline"}
            for n in numbers
        ]
        reachable = [n for n in numbers if model.node_online(n)]
    doc = {"action": action, "forced": False, "dryRun": dry_run, "results": results}
    if not dry_run:
        (ctx.restart_nodes if action == "restart" else ctx.stop_nodes)(reachable)
    return json_response(doc)


def _top_locks(ctx: NodeContext, request: Request) -> Response:
    model = ctx.model
    count = int(request.query.get("count", "10") or 10)
    now = time.time()
    with model.lock:
        servers = [f"http://{model.node_endpoint(n)}" for n in sorted(model.nodes)]
        entries = sorted(model.locks, key=lambda e: e.since)[:count]
        quorum = len(servers) // 2 + 1
        doc = [
            {
                "time": rfc3339(e.since),
                "elapsed": int((now - e.since) * 1e9),  # Go time.Duration: nanoseconds
                "resource": e.resource,
                "type": e.lock_type,
                "source": "[sandbox/minio_sim]",
                "serverlist": servers,
                "owner": e.owner,
                "id": e.uid,
                "quorum": quorum,
            }
            for e in entries
        ]
    return json_response(doc)


def _policy(statements: list[dict[str, object]]) -> dict[str, object]:
    return {"Version": "2012-10-17", "Statement": statements}


BUILTIN_POLICIES: dict[str, dict[str, object]] = {
    "consoleAdmin": _policy(
        [
            {"Effect": "Allow", "Action": ["admin:*"]},
            {"Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::*"]},
        ]
    ),
    "readwrite": _policy([{"Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::*"]}]),
    "readonly": _policy(
        [{"Effect": "Allow", "Action": ["s3:GetBucketLocation", "s3:GetObject"], "Resource": ["arn:aws:s3:::*"]}]
    ),
    "writeonly": _policy([{"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": ["arn:aws:s3:::*"]}]),
    "diagnostics": _policy(
        [
            {
                "Effect": "Allow",
                "Action": ["admin:ServerInfo", "admin:Prometheus", "admin:TopLocksInfo", "admin:BandwidthMonitor"],
                "Resource": ["arn:aws:s3:::*"],
            }
        ]
    ),
}

GET = frozenset({"GET"})
POST = frozenset({"POST"})
ROUTES: dict[str, tuple[frozenset[str], AdminHandler]] = {
    "info": (GET, _info),
    "datausageinfo": (GET, _data_usage),
    "accountinfo": (GET, _account_info),
    "list-users": (GET, _list_users),
    "user-info": (GET, _user_info),
    "add-user": (frozenset({"PUT"}), _add_user),
    "set-user-status": (frozenset({"PUT"}), _set_user_status),
    "list-service-accounts": (GET, _list_service_accounts),
    "info-service-account": (GET, _info_service_account),
    "update-service-account": (POST, _update_service_account),
    "list-canned-policies": (GET, _list_policies),
    "get-bucket-quota": (GET, _bucket_quota),
    "list-remote-targets": (GET, list_remote_targets),
    "set-bucket-quota": (frozenset({"PUT"}), _set_bucket_quota),
    "background-heal/status": (frozenset({"GET", "POST"}), _heal_status),
    "pools/list": (GET, _pools_list),
    "pools/status": (GET, _pools_status),
    "pools/decommission": (POST, _pools_decommission),
    "pools/cancel": (POST, _pools_cancel),
    "service": (POST, _service),
    "top/locks": (GET, _top_locks),
    "speedtest": (POST, handle_speedtest),
    "speedtest/object": (POST, handle_speedtest),
}
