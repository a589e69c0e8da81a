"""The bot's HTTP servers (uvicorn + Starlette): Slack requests and probes on one port, metrics on another.

Bolt's built-in server is for development only; this serves the same bolt app
behind uvicorn. Two listeners, so a NetworkPolicy can admit each source to its
own port only:

* the app port (``slack.http_port``): ``/slack/events`` (HTTP mode), ``/alertmanager`` (``bot.webhooks``),
  ``/healthz``, ``/readyz``;
* the metrics port (``metrics_port``): ``/metrics``.

A Slack request must pass, in this order: exactly one signature and one
timestamp header (400 otherwise; with two, the replay check and the signature
check could each look at a different one); a body of at most
:data:`MAX_BODY_BYTES`, counted while it is read (413); a valid signature
within Slack's 5-minute window (401); the configured workspace and app, when
``slack.team_id`` / ``slack.app_id`` are set (403); and not seen by this
process before (401). Bolt then verifies the signature again and dispatches.

Replays are keyed on exactly what the signature covers, timestamp and raw body.
A copy sent to another replica is stopped before its work runs: the listeners
queue the work with a :class:`~bot.slack.app.ReplayClaim`, and the worker claims the
key in the store every replica shares (one INSERT; the one that finds the key
taken is the replay). The claim is made on the worker, not here, so an ack
never waits for the store.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import uvicorn
from slack_bolt.request import BoltRequest
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.slack.app import REPLAY_CLAIM, Bot, ReplayClaim
from bot.webhooks import alertmanager_route

log = logging.getLogger("minio_chatops.http")

MAX_BODY_BYTES = 1024 * 1024
"""Largest request body accepted; counted while reading, so a bigger one is never held in memory."""

BODY_READ_TIMEOUT_S = 10.0
"""A client that has not sent its whole (small) body by then is not Slack."""

SLACK_WINDOW_S = 300
"""Slack's rule: a request whose timestamp is more than five minutes off is refused."""

REPLAY_KEY_TTL_S = SLACK_WINDOW_S + 60
"""How long a served request's key is kept: past the window, plus room for clock skew between replicas."""

MAX_HEADER_BYTES = 16 * 1024  # uvicorn (h11): the request line and headers together
MAX_CONNECTIONS = 1000  # uvicorn answers 503 beyond this many concurrent connections


class BodyTooLarge(Exception):
    """The request body passed :data:`MAX_BODY_BYTES` while it was being read."""


class RequestBodyLimit:
    """ASGI middleware: refuse a declared ``Content-Length`` over the limit at once, and stop reading at it.

    The receive channel handed to the app counts the bytes; past the limit it
    raises :class:`BodyTooLarge`, which the app turns into 413. Nothing past the
    limit is buffered.
    """

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = [v for k, v in scope.get("headers", []) if k.lower() == b"content-length"]
        if declared and (len(declared) > 1 or not declared[0].isdigit() or int(declared[0]) > self.max_bytes):
            status = 400 if len(declared) > 1 or not declared[0].isdigit() else 413
            await _plain(send, status, b"request too large" if status == 413 else b"bad Content-Length")
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        await self.app(scope, limited, send)


async def _plain(send: Send, status: int, text: bytes) -> None:
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(text)).encode()),
               (b"connection", b"close")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": text})


async def _too_large(_request: Request, _exc: Exception) -> Response:
    return JSONResponse({"error": "request too large"}, status_code=413, headers={"Connection": "close"})


def replay_key(timestamp: str, body: bytes) -> str:
    """sha256 of what Slack's signature covers (``v0:{timestamp}:{body}``): one key per signed request."""
    return hashlib.sha256(b"v0:" + timestamp.encode("ascii") + b":" + body).hexdigest()


def workspace_mismatch(payload: dict[str, Any], team_id: str | None, app_id: str | None) -> str | None:
    """Why a signed payload is not for this installation (None when it is, or nothing is configured).

    ``url_verification`` and ``ssl_check`` carry no workspace; they run nothing.
    """
    if payload.get("type") == "url_verification" or payload.get("ssl_check"):
        return None
    if team_id is not None:
        from slack_bolt.request.internals import extract_team_id

        if extract_team_id(payload) != team_id:
            return "request from another Slack workspace"
    if app_id is not None and payload.get("api_app_id") != app_id:
        return "request for another Slack app"
    return None


class SeenRequests:
    """Replay keys this process has let through, for the 5-minute window: a replay to the same replica is
    refused at once (401) without touching the store. Copies sent to other replicas are stopped by the
    shared claim the work makes before it runs (:meth:`bot.slack.app.Bot.first_time`)."""

    def __init__(self, limit: int = 20_000) -> None:
        self._seen: dict[str, float] = {}
        self._limit = limit

    def first(self, key: str) -> bool:
        """True the first time ``key`` is seen within :data:`REPLAY_KEY_TTL_S` (event loop only: no lock)."""
        now = time.monotonic()
        if len(self._seen) >= self._limit:
            self._seen = {k: t for k, t in self._seen.items() if now - t < REPLAY_KEY_TTL_S}
        seen = self._seen.get(key)
        if seen is not None and now - seen < REPLAY_KEY_TTL_S:
            return False
        self._seen[key] = now
        return True


def _refuse(status: int, error: str) -> Response:
    return JSONResponse({"error": error}, status_code=status)


def build_asgi(bot: Bot, with_slack: bool = True) -> Starlette:
    """The app port: /slack/events (when serving HTTP mode), /healthz, /readyz."""

    async def healthz(_request: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(_request: Request) -> Response:
        if bot.queue.depth >= bot.config.slack.queue:
            return PlainTextResponse("work queue full", status_code=503)
        return PlainTextResponse("ready")

    routes = [Route("/healthz", healthz), Route("/readyz", readyz)]
    if with_slack:
        routes.append(Route("/slack/events", _slack_endpoint(bot), methods=["POST"]))
    routes.append(alertmanager_route(bot))
    return Starlette(
        routes=routes,
        middleware=[Middleware(RequestBodyLimit, max_bytes=MAX_BODY_BYTES)],
        exception_handlers={BodyTooLarge: _too_large},
    )


async def _verified(request: Request, verifier: SignatureVerifier) -> tuple[str, bytes, str] | Response:
    """(timestamp, raw body, text) of a request signed once with the signing secret, or the refusal."""
    signatures = request.headers.getlist("x-slack-signature")
    timestamps = request.headers.getlist("x-slack-request-timestamp")
    if len(signatures) > 1 or len(timestamps) > 1:
        return _refuse(400, "duplicate signature or timestamp header")
    if not signatures or not timestamps:
        return _refuse(401, "missing signature")
    signature, timestamp = signatures[0], timestamps[0]
    try:
        body = await asyncio.wait_for(request.body(), BODY_READ_TIMEOUT_S)
    except TimeoutError:
        return _refuse(408, "request body too slow")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return _refuse(400, "body is not UTF-8")
    if not timestamp.isdigit() or not verifier.is_valid(text, timestamp, signature):
        return _refuse(401, "invalid signature")
    return timestamp, body, text


def _slack_endpoint(bot: Bot) -> Any:
    signing = bot.secrets.slack_signing_secret
    if signing is None:
        raise ValueError("HTTP mode needs SLACK_SIGNING_SECRET")
    verifier = SignatureVerifier(signing.get_secret_value())
    team_id, app_id = bot.config.slack.team_id, bot.config.slack.app_id
    seen = SeenRequests()

    async def slack_events(request: Request) -> Response:
        verified = await _verified(request, verifier)
        if isinstance(verified, Response):
            return verified
        timestamp, body, text = verified
        try:
            # BoltRequest parses the body on construction; malformed JSON fails here.
            bolt_request = BoltRequest(
                body=text,
                query=request.url.query,
                headers={k: request.headers.getlist(k) for k in request.headers},
            )
        except Exception as exc:  # noqa: BLE001 - malformed payloads must not crash the server
            log.warning("bad slack request", extra={"error_type": type(exc).__name__})
            return _refuse(400, "malformed request")
        mismatch = workspace_mismatch(bolt_request.body, team_id, app_id)
        if mismatch is not None:
            log.warning("refused slack request", extra={"reason": mismatch})
            return _refuse(403, mismatch)
        key = replay_key(timestamp, body)
        if not seen.first(key):
            log.warning("replayed slack request refused")
            return _refuse(401, "replayed request")
        expires = datetime.fromtimestamp(int(timestamp), UTC) + timedelta(seconds=REPLAY_KEY_TTL_S)
        # The listeners queue the work with this claim; it runs only if the store has not seen the key.
        bolt_request.context[REPLAY_CLAIM] = ReplayClaim(key, expires)
        try:
            # Listeners only parse, queue and ack (~0.1 ms, no I/O), so dispatching on the
            # event loop is faster than a thread hop and keeps acks off the worker threads.
            bolt_response = bot.bolt.dispatch(bolt_request)
        except Exception as exc:  # noqa: BLE001 - malformed payloads must not crash the server
            log.warning("bad slack request", extra={"error_type": type(exc).__name__})
            return _refuse(400, "malformed request")
        return Response(
            content=bolt_response.body,
            status_code=bolt_response.status,
            headers={k: v[0] for k, v in bolt_response.headers.items() if v},
        )

    return slack_events


def build_metrics_asgi(bot: Bot) -> Starlette:
    """The metrics port: /metrics (Prometheus text format) and nothing else."""

    async def metrics(_request: Request) -> Response:
        return Response(bot.runtime.metrics.exposition(), media_type="text/plain; version=0.0.4")

    return Starlette(
        routes=[Route("/metrics", metrics)],
        middleware=[Middleware(RequestBodyLimit, max_bytes=0)],
        exception_handlers={BodyTooLarge: _too_large},
    )


class AsgiServer:
    """uvicorn in a thread, stoppable, with the bound port known after start."""

    def __init__(self, app: ASGIApp, host: str, port: int, name: str = "minio-chatops-http"):
        config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", access_log=False,
            timeout_keep_alive=30, backlog=2048,
            # Server-side limits: headers (h11), concurrent connections, no websockets, no proxy
            # headers trusted, no lifespan (the bot starts and stops its own parts).
            h11_max_incomplete_event_size=MAX_HEADER_BYTES, limit_concurrency=MAX_CONNECTIONS,
            ws="none", proxy_headers=False, server_header=False, lifespan="off",
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self.server.run, name=name, daemon=True)

    def start(self, timeout: float = 10.0) -> AsgiServer:
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


class HttpServer(AsgiServer):
    """The app port: Slack requests (unless ``with_slack`` is False) and the probes."""

    def __init__(self, bot: Bot, host: str, port: int, with_slack: bool = True):
        super().__init__(build_asgi(bot, with_slack), host, port, "minio-chatops-http")

    def start(self, timeout: float = 10.0) -> HttpServer:
        super().start(timeout)
        return self


class MetricsServer(AsgiServer):
    """The metrics port: /metrics only."""

    def __init__(self, bot: Bot, host: str, port: int):
        super().__init__(build_metrics_asgi(bot), host, port, "minio-chatops-metrics")

    def start(self, timeout: float = 10.0) -> MetricsServer:
        super().start(timeout)
        return self


def serve_http(bot: Bot, stop: threading.Event, with_slack: bool = True) -> None:
    """Serve the app port and the metrics port until `stop` is set."""
    host = bot.config.slack.http_host
    server = HttpServer(bot, host, bot.config.slack.http_port, with_slack).start()
    try:
        metrics = MetricsServer(bot, host, bot.config.metrics_port).start()
    except BaseException:
        server.stop()
        raise
    log.info("listening", extra={"port": server.port, "metrics_port": metrics.port, "slack": with_slack})
    try:
        stop.wait()
    finally:
        metrics.stop()
        server.stop()
