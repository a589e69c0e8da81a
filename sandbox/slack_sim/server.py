"""The sim's HTTP server: Web API, upload URLs, response_urls and the `/_sim/*` control endpoints.

Routes:
    POST|GET /api/<method>         Slack Web API (form, JSON or multipart; token in `Authorization: Bearer`)
    POST     /upload/v1/<file_id>  upload URL handed out by files.getUploadURLExternal
    POST     /response/<id>        response_url of a slash command or interaction
    GET      /_sim/state           read-only JSON view of channels, messages, files
    GET      /_sim/calls           every recorded request
    POST     /_sim/fault           {"method", "status", "retry_after", "times", "latency_ms", "error", "for_seconds"}
    DELETE   /_sim/fault           clear queued faults
    POST     /_sim/rate_limits     {"enabled": bool}
    POST     /_sim/free_plan       {"enabled": bool}
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .api import WebApi, receive_upload
from .faults import Fault, FaultPlan, RateLimiter
from .response_url import post_to_response_url
from .state import CallRecord, Workspace

SERVER_ERRORS = {500: "internal_error", 502: "bad_gateway", 503: "service_unavailable", 504: "request_timeout"}


@dataclass
class HttpReply:
    """A response to write back."""

    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, obj: Any, headers: dict[str, str] | None = None) -> HttpReply:
        """A JSON reply."""
        return cls(status, json.dumps(obj, default=str).encode(), headers=headers or {})

    @classmethod
    def text(cls, status: int, text: str) -> HttpReply:
        """A plain-text reply (upload URLs and response_urls answer in text)."""
        return cls(status, text.encode(), content_type="text/plain; charset=utf-8")


def decode_params(content_type: str, body: bytes, query: str) -> dict[str, Any]:
    """Merge query string and body (JSON, urlencoded form or multipart) into one dict."""
    params: dict[str, Any] = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    if not body:
        return params
    if "json" in content_type:
        decoded = json.loads(body)
        if not isinstance(decoded, dict):
            raise ValueError("JSON body must be an object")
        params.update({k: v for k, v in decoded.items() if v is not None})
    elif content_type.startswith("multipart/form-data"):
        parsed = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + body
        )
        for part in parsed.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if not isinstance(name, str) or not isinstance(payload, bytes):
                continue
            params[name] = f"<{len(payload)} bytes>" if part.get_filename() else payload.decode("utf-8", "replace")
    else:
        form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
        params.update({k: v[-1] for k, v in form.items()})
    return params


def bearer_token(headers: dict[str, str]) -> str | None:
    """The token from `Authorization: Bearer ...`, if any."""
    value = headers.get("authorization", "")
    if value.lower().startswith("bearer "):
        return value[7:].strip() or None
    return None


class SimRouter:
    """Maps a request to a reply; applies faults and rate limits; records every call."""

    def __init__(self, ws: Workspace, api: WebApi, faults: FaultPlan, limiter: RateLimiter) -> None:
        self.ws = ws
        self.api = api
        self.faults = faults
        self.limiter = limiter

    def route(self, verb: str, target: str, headers: dict[str, str], body: bytes) -> HttpReply:
        """Dispatch one HTTP request."""
        parts = urlsplit(target)
        path = parts.path
        content_type = headers.get("content-type", "")
        if path.startswith("/api/") and verb in ("GET", "POST"):
            return self._web_api(path.removeprefix("/api/"), headers, body, parts.query)
        if path.startswith("/upload/v1/") and verb == "POST":
            return self._recorded(
                "upload",
                {"file_id": path.rsplit("/", 1)[-1], "bytes": len(body)},
                None,
                self._upload(path, body, content_type),
            )
        if path.startswith("/response/") and verb == "POST":
            params = _loose_json(body)
            url_id = path.removeprefix("/response/")
            return self._recorded(
                "response_url", {"url_id": url_id, **params}, None, lambda: self._response(url_id, body)
            )
        if path.startswith("/_sim/"):
            return self._control(verb, path.removeprefix("/_sim/"), body)
        if path == "/" and verb == "GET":
            return HttpReply.json(200, {"ok": True, "service": "slack-sim", "methods": self.api.methods()})
        return HttpReply.json(404, {"ok": False, "error": "not_found"})

    # -- Web API -----------------------------------------------------------------------

    def _web_api(self, method: str, headers: dict[str, str], body: bytes, query: str) -> HttpReply:
        try:
            params = decode_params(headers.get("content-type", ""), body, query)
        except (ValueError, UnicodeDecodeError):
            params = {"_raw": body[:2000].decode("utf-8", "replace")}
            return self._recorded(
                method,
                params,
                bearer_token(headers),
                lambda: HttpReply.json(200, {"ok": False, "error": "invalid_json"}),
            )
        token = bearer_token(headers) or params.pop("token", None)
        params.pop("token", None)

        def answer() -> HttpReply:
            retry_after = self.limiter.check(method, str(params.get("channel", "")), time.monotonic())
            if retry_after is not None:
                return HttpReply.json(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)})
            body = self.api.handle(method, params, token)
            # Like Slack: every bot-token answer names the token's scopes.
            headers = {"X-OAuth-Scopes": ",".join(self.ws.scopes)} if self.api.is_bot_token(token) else {}
            return HttpReply.json(200, body, headers)

        return self._recorded(method, params, token, answer)

    # -- upload URL and response_url -----------------------------------------------------

    def _upload(self, path: str, body: bytes, content_type: str) -> Callable[[], HttpReply]:
        def answer() -> HttpReply:
            status, text = receive_upload(self.api.ctx, path.rsplit("/", 1)[-1], body, content_type)
            return HttpReply.text(status, text)

        return answer

    def _response(self, url_id: str, body: bytes) -> HttpReply:
        status, text = post_to_response_url(self.ws, url_id, body)
        return HttpReply.text(status, text)

    # -- faults and recording ------------------------------------------------------------

    def _fault_reply(self, name: str) -> HttpReply | None:
        fault = self.faults.take(name)
        if fault is None:
            return None
        if fault.latency_ms:
            time.sleep(fault.latency_ms / 1000.0)
        if fault.status == 429:
            return HttpReply.json(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(fault.retry_after)})
        if fault.status >= 500:
            return HttpReply.json(
                fault.status, {"ok": False, "error": fault.error or SERVER_ERRORS.get(fault.status, "fatal_error")}
            )
        if fault.error:
            return HttpReply.json(fault.status, {"ok": False, "error": fault.error})
        return None

    def _recorded(
        self, name: str, params: dict[str, Any], token: str | None, answer: Callable[[], HttpReply]
    ) -> HttpReply:
        received = self.ws.now()
        started = time.perf_counter()
        reply = self._fault_reply(name) or answer()
        error: str | None = None
        if reply.content_type.startswith("application/json"):
            decoded = json.loads(reply.body)
            if isinstance(decoded, dict) and decoded.get("ok") is False:
                error = str(decoded.get("error"))
        elif reply.status != 200:
            error = reply.body.decode("utf-8", "replace")
        self.ws.record(
            CallRecord(
                method=name,
                params=params,
                token=token,
                time=received,
                http_status=reply.status,
                error=error,
                duration_s=time.perf_counter() - started,
            )
        )
        return reply

    # -- control -------------------------------------------------------------------------

    def _control(self, verb: str, name: str, body: bytes) -> HttpReply:
        if verb == "GET" and name == "state":
            return HttpReply.json(200, self.ws.snapshot())
        if verb == "GET" and name == "calls":
            with self.ws.lock:
                return HttpReply.json(200, [asdict(c) for c in self.ws.calls])
        if verb == "DELETE" and name == "fault":
            self.faults.clear()
            return HttpReply.json(200, {"ok": True})
        if verb != "POST":
            return HttpReply.json(404, {"ok": False, "error": "not_found"})
        request = _loose_json(body)
        if name == "fault":
            request.pop("ends_at", None)  # derived from for_seconds, never given
            try:
                self.faults.add(Fault(**request))
            except (TypeError, ValueError) as error:
                return HttpReply.json(400, {"ok": False, "error": str(error)})
            return HttpReply.json(200, {"ok": True})
        if name == "rate_limits":
            self.limiter.enabled = bool(request.get("enabled", True))
            self.limiter.reset()
            return HttpReply.json(200, {"ok": True})
        if name == "free_plan":
            with self.ws.lock:
                self.ws.free_plan = bool(request.get("enabled", True))
            return HttpReply.json(200, {"ok": True})
        return HttpReply.json(404, {"ok": False, "error": "not_found"})


def _loose_json(body: bytes) -> dict[str, Any]:
    try:
        decoded = json.loads(body or b"{}")
    except ValueError:
        return {}
    return decoded if isinstance(decoded, dict) else {}


class _RequestHandler(BaseHTTPRequestHandler):
    server: SimHTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "SlackSim/1.0"
    timeout = 30  # idle keep-alive connections give their thread back

    def _serve(self) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = self._read_body(headers)
        try:
            reply = self.server.router.route(self.command, self.path, headers, body)
        except Exception as error:  # noqa: BLE001  (a sim bug must not hang the client)
            reply = HttpReply.json(500, {"ok": False, "error": "sim_internal_error", "detail": repr(error)})
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(reply.body)

    def _read_body(self, headers: dict[str, str]) -> bytes:
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(headers.get("content-length", "0") or 0)
        return self.rfile.read(length) if length else b""

    do_GET = _serve
    do_POST = _serve
    do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: every call is in `SlackSim.calls()` instead."""


class SimHTTPServer(ThreadingHTTPServer):
    """Thread-per-connection HTTP server with a deep accept backlog (bursts of 50+ clients)."""

    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], router: SimRouter) -> None:
        super().__init__(address, _RequestHandler)
        self.router = router
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port."""
        return int(self.server_address[1])

    def start(self) -> None:
        """Serve in a daemon thread."""
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.02}, name="slack-sim-http", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
