"""Unauthenticated health endpoints under /minio/health/ (empty bodies, status + headers only)."""

from __future__ import annotations

from sandbox.minio_sim.context import NodeContext
from sandbox.minio_sim.server import Request, Response

PREFIX = "/minio/health/"


def handle_health(ctx: NodeContext, request: Request) -> Response:
    """Answer live, ready, cluster and cluster/read probes as the real server does."""
    if request.method not in ("GET", "HEAD"):
        return Response(405)
    probe = request.path[len(PREFIX) :].strip("/")
    starting = ctx.model.starting_status(ctx.node)
    if probe in ("live", "ready"):
        # The process answers, so it is live; the simulator has no KMS/etcd to be unready on.
        # While the object layer is not up, MinIO still answers 200 but says so in a header.
        headers = [("X-Minio-Server-Status", "offline")] if starting == "offline" else []
        return Response(200, headers=headers)
    if probe not in ("cluster", "cluster/read"):
        return Response(404)
    if starting is not None:
        # A starting server answers before evaluating quorum: 503, the phase it is in, and
        # no quorum headers. This is "starting", not "quorum lost".
        return Response(503, headers=[("X-Minio-Server-Status", starting)])

    for_read = probe == "cluster/read"
    maintenance = request.query.get("maintenance", "").lower() == "true"
    result = ctx.model.cluster_health(for_read=for_read, maintenance_node=ctx.node if maintenance else None)
    # One quorum header per probe: write quorum on /cluster, read quorum on /cluster/read.
    headers = [
        ("X-Minio-Read-Quorum", str(result.read_quorum))
        if for_read
        else ("X-Minio-Write-Quorum", str(result.write_quorum)),
        ("X-Minio-Storage-Class-Defaults", "true" if result.using_defaults else "false"),
    ]
    if maintenance and result.healing_drives > 0:
        headers.append(("X-Minio-Healing-Drives", str(result.healing_drives)))
    if result.healthy:
        return Response(200, headers=headers)
    # Maintenance asks "may I take this node down?": MinIO answers no with 412, not 503.
    return Response(412 if maintenance else 503, headers=headers)
