"""The bot's HTTP server (uvicorn + Starlette): Slack requests, probes and metrics.

Bolt's built-in server is for development only; this serves the same bolt app
behind uvicorn. Slack requests are verified by bolt (signature, 5-minute
timestamp window); on top, a signature seen before is refused as a replay.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

import uvicorn
from slack_bolt.request import BoltRequest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.webhooks import alertmanager_route

if TYPE_CHECKING:
    from bot.app import Bot

log = logging.getLogger("minio_chatops.http")

REPLAY_WINDOW_S = 310.0
MAX_BODY_BYTES = 256 * 1024


class ReplayGuard:
    """Remembers signatures for the 5-minute window Slack allows, refusing repeats."""

    def __init__(self, window_s: float = REPLAY_WINDOW_S):
        self._window = window_s
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def claim(self, signature: str) -> bool:
        """True the first time a signature is presented within the window."""
        now = time.monotonic()
        with self._lock:
            if len(self._seen) > 10000:
                self._seen = {s: t for s, t in self._seen.items() if now - t < self._window}
            seen = self._seen.get(signature)
            if seen is not None and now - seen < self._window:
                return False
            self._seen[signature] = now
            return True

    def release(self, signature: str) -> None:
        """Forget a signature whose request was refused, so it cannot block a genuine one."""
        with self._lock:
            self._seen.pop(signature, None)


def build_asgi(bot: Bot, with_slack: bool = True) -> Starlette:
    """The ASGI app: /slack/events (when serving HTTP mode), /healthz, /readyz, /metrics."""
    guard = ReplayGuard()

    async def slack_events(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return JSONResponse({"error": "request too large"}, status_code=413)
        signature = request.headers.get("x-slack-signature", "")
        if not signature:
            return JSONResponse({"error": "missing signature"}, status_code=401)
        if not guard.claim(signature):
            return JSONResponse({"error": "replayed request"}, status_code=401)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            guard.release(signature)
            return JSONResponse({"error": "body is not UTF-8"}, status_code=400)
        try:
            # BoltRequest parses the body on construction; malformed JSON fails here.
            bolt_request = BoltRequest(
                body=text,
                query=request.url.query,
                headers={k: [v] for k, v in request.headers.items()},
            )
            # Listeners only parse, queue and ack (~0.1 ms, no I/O), so dispatching on the
            # event loop is faster than a thread hop and keeps acks off the worker threads.
            bolt_response = bot.bolt.dispatch(bolt_request)
        except Exception as exc:  # noqa: BLE001 - malformed payloads must not crash the server
            guard.release(signature)
            log.warning("bad slack request", extra={"error_type": type(exc).__name__})
            return JSONResponse({"error": "malformed request"}, status_code=400)
        if bolt_response.status >= 400:
            guard.release(signature)
        return Response(
            content=bolt_response.body,
            status_code=bolt_response.status,
            headers={k: v[0] for k, v in bolt_response.headers.items() if v},
        )

    async def healthz(_request: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(_request: Request) -> Response:
        if bot.queue.depth >= bot.config.slack.queue:
            return PlainTextResponse("work queue full", status_code=503)
        return PlainTextResponse("ready")

    async def metrics(_request: Request) -> Response:
        return Response(bot.runtime.metrics.exposition(), media_type="text/plain; version=0.0.4")

    routes = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
    ]
    if with_slack:
        routes.append(Route("/slack/events", slack_events, methods=["POST"]))
    routes.append(alertmanager_route(bot))
    return Starlette(routes=routes)


class HttpServer:
    """uvicorn in a thread, stoppable, with the bound port known after start."""

    def __init__(self, bot: Bot, host: str, port: int, with_slack: bool = True):
        config = uvicorn.Config(
            build_asgi(bot, with_slack), host=host, port=port, log_level="warning", access_log=False,
            timeout_keep_alive=30, backlog=2048,
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self.server.run, name="minio-chatops-http", daemon=True)

    def start(self, timeout: float = 10.0) -> HttpServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the HTTP server did not start")
            time.sleep(0.02)
        return self

    @property
    def port(self) -> int:
        sockets = [s for server in self.server.servers for s in server.sockets]
        return int(sockets[0].getsockname()[1])

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=5)


def serve_http(bot: Bot, stop: threading.Event, with_slack: bool = True) -> None:
    """Serve until `stop` is set."""
    server = HttpServer(bot, bot.config.slack.http_host, bot.config.slack.http_port, with_slack).start()
    log.info("listening", extra={"port": server.port, "slack": with_slack})
    try:
        stop.wait()
    finally:
        server.stop()
