"""Per-node request entry point: fault behaviour (hang, stop, latency) first, then routing by path."""

from __future__ import annotations

import logging
import time

from sandbox.minio_sim.admin import PREFIX as ADMIN_PREFIX
from sandbox.minio_sim.admin import handle_admin
from sandbox.minio_sim.context import NodeContext
from sandbox.minio_sim.errors import admin_error, s3_error
from sandbox.minio_sim.health import PREFIX as HEALTH_PREFIX
from sandbox.minio_sim.health import handle_health
from sandbox.minio_sim.metrics import PREFIX as METRICS_PREFIX
from sandbox.minio_sim.metrics import handle_metrics
from sandbox.minio_sim.s3 import handle_s3
from sandbox.minio_sim.server import Handler, Request, Response

log = logging.getLogger(__name__)


def route(ctx: NodeContext, request: Request) -> Response:
    """Send a request to the health, metrics, admin or S3 handlers."""
    path = request.path
    if path.startswith(HEALTH_PREFIX):
        return handle_health(ctx, request)
    if path.startswith(METRICS_PREFIX):
        return handle_metrics(ctx, request)
    if path.startswith(ADMIN_PREFIX):
        return handle_admin(ctx, request)
    if path.startswith("/minio/"):
        return admin_error(404, "XMinioUnknownAPIRequest", f"Unknown API request at {path}", resource=path)
    return handle_s3(ctx, request)


def node_handler(ctx: NodeContext) -> Handler:
    """The handler one node's listener runs for every request."""

    def handle(request: Request) -> Response | None:
        # A hung node (think SIGSTOP) holds the request until it is resumed or stopped.
        if not ctx.model.await_serving(ctx.node):
            return None
        delay = ctx.model.latency_ms
        if delay > 0:
            time.sleep(delay / 1000.0)
            if not ctx.model.node_online(ctx.node):
                return None
        try:
            return route(ctx, request)
        except Exception:  # a simulator bug must surface as a 500, not a silently dropped connection
            log.exception("minio_sim: handler failed for %s %s", request.method, request.raw_path)
            return s3_error(
                500,
                "InternalError",
                "We encountered an internal error, please try again.",
                resource=request.path,
                head=request.method == "HEAD",
            )

    return handle
