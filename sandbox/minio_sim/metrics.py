"""Prometheus v2 metrics (/minio/v2/metrics/{cluster,node,bucket}) in text exposition format."""

from __future__ import annotations

import time

from sandbox.minio_sim.capacity import compute_capacity
from sandbox.minio_sim.context import NodeContext
from sandbox.minio_sim.errors import admin_error
from sandbox.minio_sim.jwt_hs512 import verify_prometheus_token
from sandbox.minio_sim.model import REJECTION_KINDS, reported_version
from sandbox.minio_sim.server import Request, Response

PREFIX = "/minio/v2/metrics/"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _Exposition:
    """Accumulates samples grouped by family (the text format wants each family contiguous)."""

    def __init__(self) -> None:
        self._families: dict[str, tuple[str, str, list[str]]] = {}

    def add(self, name: str, help_text: str, value: float, labels: dict[str, str], kind: str = "gauge") -> None:
        family = self._families.setdefault(name, (help_text, kind, []))
        rendered = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
        number = str(int(value)) if float(value).is_integer() else repr(float(value))
        family[2].append(f"{name}{{{rendered}}} {number}")

    def render(self) -> bytes:
        lines: list[str] = []
        for name, (help_text, kind, samples) in self._families.items():
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", *samples]
        return ("\n".join(lines) + "\n").encode()


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _authorized(ctx: NodeContext, request: Request) -> bool:
    if ctx.model.prometheus_auth == "public":
        return True
    header = str(request.headers.get("Authorization") or "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    return verify_prometheus_token(token.strip(), ctx.model.access_key, ctx.model.secret_key)


def handle_metrics(ctx: NodeContext, request: Request) -> Response:
    """Serve a v2 metrics group after JWT (or no, when public) authentication."""
    if request.method not in ("GET", "HEAD"):
        return admin_error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")
    if not _authorized(ctx, request):
        return admin_error(403, "AccessDenied", "Access Denied.", resource=request.path)
    group = request.path[len(PREFIX) :].strip("/")
    builders = {"cluster": _cluster, "node": _node, "bucket": _bucket}
    if group not in builders:
        return admin_error(404, "XMinioUnknownAPIRequest", f"Unknown metrics group {group!r}", resource=request.path)
    out = _Exposition()
    builders[group](ctx, out)
    return Response(200, out.render(), CONTENT_TYPE)


def _cluster(ctx: NodeContext, out: _Exposition) -> None:
    model = ctx.model
    server = {"server": ctx.endpoint}
    with model.lock:
        views = model.drive_views()
        cap = compute_capacity(model, views)
        health = model.cluster_health(for_read=False)
        online_nodes = sum(1 for n in model.nodes.values() if model.node_online(n.number))
        total_nodes = len(model.nodes)
        heal_errors = model.heal_errors
        versions = {
            model.node_endpoint(n.number): reported_version(n.version)
            for n in model.nodes.values()
            if model.node_online(n.number)
        }
        rejections = {
            model.node_endpoint(n): dict(model.rejections.get(n, {})) for n in model.nodes if model.node_online(n)
        }
    snap = ctx.scanner.snapshot
    online_drives = sum(1 for v in views if v.state == "ok")
    out.add("minio_cluster_capacity_raw_total_bytes", "Total capacity online in the cluster", cap.raw_total, server)
    out.add("minio_cluster_capacity_raw_free_bytes", "Total free capacity online in the cluster", cap.raw_free, server)
    out.add(
        "minio_cluster_capacity_usable_total_bytes",
        "Total usable capacity online in the cluster",
        cap.usable_total,
        server,
    )
    out.add(
        "minio_cluster_capacity_usable_free_bytes",
        "Total free usable capacity online in the cluster",
        cap.usable_free,
        server,
    )
    out.add("minio_cluster_drive_online_total", "Total drives online in the cluster", online_drives, server)
    out.add(
        "minio_cluster_drive_offline_total", "Total drives offline in the cluster", len(views) - online_drives, server
    )
    out.add("minio_cluster_drive_total", "Total drives in the cluster", len(views), server)
    out.add("minio_cluster_nodes_online_total", "Total number of MinIO nodes online", online_nodes, server)
    out.add(
        "minio_cluster_nodes_offline_total", "Total number of MinIO nodes offline", total_nodes - online_nodes, server
    )
    out.add("minio_cluster_health_status", "Get current cluster health status", int(health.healthy), server)
    out.add("minio_cluster_write_quorum", "Maximum write quorum across all pools and sets", health.write_quorum, server)
    for s in health.sets:
        labels = {"pool": str(s.pool_index), "set": str(s.set_index), **server}
        out.add(
            "minio_cluster_health_erasure_set_status",
            "Get current health status for this erasure set",
            int(s.writable),
            labels,
        )
        out.add(
            "minio_cluster_health_erasure_set_online_drives",
            "Get the count of the online drives in this set",
            s.online,
            labels,
        )
        out.add(
            "minio_cluster_health_erasure_set_healing_drives",
            "Get the count of healing drives of this set",
            s.healing,
            labels,
        )
        out.add(
            "minio_cluster_health_erasure_set_write_quorum",
            "Get the write quorum for this erasure set",
            s.write_quorum,
            labels,
        )
        out.add(
            "minio_cluster_health_erasure_set_read_quorum",
            "Get the read quorum for this erasure set",
            s.read_quorum,
            labels,
        )
    out.add("minio_cluster_usage_object_total", "Total number of objects in a cluster", snap.objects, server)
    out.add("minio_cluster_usage_total_bytes", "Total cluster usage in bytes", snap.size, server)
    out.add("minio_cluster_bucket_total", "Total number of buckets in the cluster", len(snap.buckets), server)
    out.add(
        "minio_heal_objects_errors_total",
        "Objects for which healing failed in current self healing run",
        heal_errors,
        {"type": "object", **server},
        kind="counter",
    )
    _rejections(out, rejections)
    for endpoint, version in versions.items():
        out.add(
            "minio_software_version_info",
            "MinIO Release tag for the server",
            1,
            {"version": version, "server": endpoint},
        )
    for v in views:
        if v.state == "offline":
            continue
        labels = {"drive": v.endpoint, "server": ctx.model.node_endpoint(v.drive.node)}
        out.add("minio_node_drive_total_bytes", "Total storage on a drive", v.total, labels)
        out.add("minio_node_drive_used_bytes", "Total storage used on a drive", v.used, labels)
        out.add("minio_node_drive_free_bytes", "Total storage available on a drive", v.avail, labels)


_REJECTION_HELP = {
    "auth": "Total number of requests rejected for auth failure",
    "invalid": "Total number of invalid requests",
    "timestamp": "Total number of requests rejected for invalid timestamp",
    "header": "Total number of requests rejected for invalid header",
}


def _rejections(out: _Exposition, per_server: dict[str, dict[str, int]]) -> None:
    # Node-level HTTP counters, one sample per reachable server (the cluster group gathers
    # them from every peer). They count from each process's start.
    for kind in REJECTION_KINDS:
        for endpoint, counters in per_server.items():
            out.add(
                f"minio_s3_requests_rejected_{kind}_total",
                _REJECTION_HELP[kind],
                counters.get(kind, 0),
                {"server": endpoint},
                kind="counter",
            )


def _node(ctx: NodeContext, out: _Exposition) -> None:
    model = ctx.model
    with model.lock:
        views = [v for v in model.drive_views() if v.drive.node == ctx.node]
        node = model.nodes[ctx.node]
        own = dict(model.rejections.get(ctx.node, {}))
    server = {"server": ctx.endpoint}
    _rejections(out, {ctx.endpoint: own})
    out.add(
        "minio_node_process_uptime_seconds",
        "Uptime for MinIO process per node in seconds",
        int(time.time() - node.started_at),
        server,
    )
    out.add(
        "minio_node_drive_online_total",
        "Total drives online in this node",
        sum(1 for v in views if v.state == "ok"),
        server,
    )
    out.add(
        "minio_node_drive_offline_total",
        "Total drives offline in this node",
        sum(1 for v in views if v.state != "ok"),
        server,
    )
    for v in views:
        labels = {"drive": v.endpoint, **server}
        out.add("minio_node_drive_total_bytes", "Total storage on a drive", v.total, labels)
        out.add("minio_node_drive_used_bytes", "Total storage used on a drive", v.used, labels)
        out.add("minio_node_drive_free_bytes", "Total storage available on a drive", v.avail, labels)


def _bucket(ctx: NodeContext, out: _Exposition) -> None:
    snap = ctx.scanner.snapshot
    for name, (size, objects) in snap.buckets.items():
        labels = {"bucket": name, "server": ctx.endpoint}
        out.add("minio_bucket_usage_total_bytes", "Total bucket size in bytes", size, labels)
        out.add("minio_bucket_usage_object_total", "Total number of objects", objects, labels)
        out.add(
            "minio_bucket_usage_version_total", "Total number of versions (includes delete marker)", objects, labels
        )
