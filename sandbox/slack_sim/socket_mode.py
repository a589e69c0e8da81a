"""The Socket Mode side of Slack: a websocket endpoint that sends envelopes and collects acks.

Bots reach it through `apps.connections.open`, which hands out single-use ticket URLs like
`ws://127.0.0.1:PORT/link/?ticket=...&app_id=...`. On connect the server sends `hello`, as
Slack does; `send_envelope` delivers an envelope to one connection and waits for the
`{"envelope_id": ...}` ack.
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from .state import CallRecord, Workspace

RECONNECT_WAIT_S = 2.0


class NoSocketConnection(RuntimeError):
    """Raised when an envelope must be sent but no bot is connected."""


@dataclass
class SocketAck:
    """What came back for one envelope."""

    envelope_id: str
    acked: bool
    payload: dict[str, Any] | None
    latency_s: float


@dataclass
class _Pending:
    event: threading.Event
    ack: dict[str, Any] | None = None
    received_at: float = 0.0


class SocketModeServer:
    """A websocket server speaking Slack's Socket Mode envelope protocol."""

    def __init__(self, ws: Workspace, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.ws = ws
        self.host = host
        self.port = port
        self._lock = threading.Lock()
        self._tickets: set[str] = set()
        self._connections: list[ServerConnection] = []
        self._draining: set[ServerConnection] = set()  # told to `disconnect`: no new envelopes
        self._pending: dict[str, _Pending] = {}
        self._round_robin = itertools.count()
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Bind and serve in a daemon thread."""
        self._server = serve(
            self._handle,
            self.host,
            self.port,
            process_request=self._check_ticket,
            compression=None,
            ping_interval=None,
            close_timeout=1,
            server_header="SlackSim",
        )
        self.port = self._server.socket.getsockname()[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="slack-sim-socket", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Close every connection and the listening socket (idempotent)."""
        if self._server is not None:
            self._server.shutdown()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def issue_url(self) -> str:
        """A fresh single-use websocket URL, as apps.connections.open returns."""
        ticket = uuid.uuid4().hex
        with self._lock:
            self._tickets.add(ticket)
        return f"ws://{self.host}:{self.port}/link/?ticket={ticket}&app_id={self.ws.app_id}"

    def connection_count(self) -> int:
        """Open bot connections."""
        with self._lock:
            return len(self._connections)

    def _check_ticket(self, connection: ServerConnection, request: Request) -> Response | None:
        ticket = parse_qs(urlsplit(request.path).query).get("ticket", [""])[0]
        with self._lock:
            if ticket not in self._tickets:
                return connection.respond(401, "invalid or used ticket\n")
            self._tickets.discard(ticket)
        return None

    def _handle(self, connection: ServerConnection) -> None:
        with self._lock:
            self._connections.append(connection)
            count = len(self._connections)
        try:
            connection.send(
                json.dumps(
                    {
                        "type": "hello",
                        "num_connections": count,
                        "debug_info": {"host": "applink-sim", "build_number": 1, "approximate_connection_time": 18060},
                        "connection_info": {"app_id": self.ws.app_id},
                    }
                )
            )
            for raw in connection:
                self._on_message(raw)
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                if connection in self._connections:
                    self._connections.remove(connection)
                self._draining.discard(connection)

    def _on_message(self, raw: str | bytes) -> None:
        received_at = time.perf_counter()
        try:
            message = json.loads(raw)
        except ValueError:
            message = None
        envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
        self.ws.record(
            CallRecord(
                method="socket_mode.ack",
                params=message if isinstance(message, dict) else {"raw": str(raw)},
                token=None,
                time=self.ws.now(),
                http_status=200,
                error=None if envelope_id else "invalid_ack",
            )
        )
        if not isinstance(envelope_id, str):
            return
        with self._lock:
            pending = self._pending.get(envelope_id)
        if pending is not None and not pending.event.is_set():
            assert isinstance(message, dict)
            pending.ack = message
            pending.received_at = received_at
            pending.event.set()

    def _pick_connections(self, wait_s: float) -> list[ServerConnection]:
        """Connections to try; after a `disconnect`, wait a little for the replacement connection."""
        deadline = time.monotonic() + wait_s
        while True:
            with self._lock:
                fresh = [c for c in self._connections if c not in self._draining]
                if fresh or not self._draining or time.monotonic() >= deadline:
                    return fresh or list(self._connections)
            time.sleep(0.01)

    def _deliver(self, envelope: dict[str, Any], wait_s: float) -> float:
        """Send to one connection (round robin); returns the send time."""
        connections = self._pick_connections(wait_s)
        if not connections:
            raise NoSocketConnection("no Socket Mode connection: start the bot's SocketModeHandler first")
        start = next(self._round_robin)
        for i in range(len(connections)):
            connection = connections[(start + i) % len(connections)]
            try:
                sent_at = time.perf_counter()
                connection.send(json.dumps(envelope))
                return sent_at
            except ConnectionClosed:
                continue
        raise NoSocketConnection("every Socket Mode connection closed while sending")

    def send_envelope(self, envelope: dict[str, Any], timeout: float = 10.0) -> SocketAck:
        """Deliver an envelope to one connected bot and wait for its ack."""
        envelope_id = str(envelope["envelope_id"])
        pending = _Pending(event=threading.Event())
        with self._lock:
            self._pending[envelope_id] = pending
        try:
            sent_at = self._deliver(envelope, wait_s=min(timeout, RECONNECT_WAIT_S))
            acked = pending.event.wait(timeout)
        finally:
            with self._lock:
                self._pending.pop(envelope_id, None)
        ack = pending.ack or {}
        payload = ack.get("payload")
        return SocketAck(
            envelope_id=envelope_id,
            acked=acked,
            payload=payload if isinstance(payload, dict) else None,
            latency_s=(pending.received_at - sent_at) if acked else timeout,
        )

    def drop_all(self) -> None:
        """Cut every connection at the TCP level, with no close frame (a network drop, unlike `disconnect`)."""
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.socket.shutdown(socket.SHUT_RDWR)
            except OSError:
                continue

    def disconnect_all(self, reason: str = "refresh_requested") -> None:
        """Send Slack's `disconnect` message to every connection (clients should reconnect).

        Like Slack, envelopes then go to the replacement connections, not to the old ones.
        """
        with self._lock:
            connections = list(self._connections)
            self._draining.update(connections)
        for connection in connections:
            try:
                connection.send(
                    json.dumps({"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-sim"}})
                )
            except ConnectionClosed:
                continue
