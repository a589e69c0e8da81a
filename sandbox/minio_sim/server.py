"""Minimal HTTP/1.1 listener: one listening socket, one daemon thread per connection.

Hand-rolled around `http.server.BaseHTTPRequestHandler` (instead of
`ThreadingHTTPServer.serve_forever`) so that stopping a node is immediate and
real: the listening socket is closed (new connections are refused) and live
keep-alive connections are cut, like a killed process.
"""

from __future__ import annotations

import contextlib
import random
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl, unquote


@dataclass
class Request:
    """A parsed HTTP request."""

    method: str
    raw_path: str
    raw_query: str
    headers: Message
    body: bytes

    @property
    def path(self) -> str:
        """Percent-decoded path."""
        return unquote(self.raw_path)

    @property
    def query(self) -> dict[str, str]:
        """Query parameters (first value wins; blank values kept)."""
        result: dict[str, str] = {}
        for key, value in parse_qsl(self.raw_query, keep_blank_values=True):
            result.setdefault(key, value)
        return result


@dataclass
class Response:
    """An HTTP response; `content_length` overrides len(body) (HEAD of an object)."""

    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_length: int | None = None
    # A body produced while it is sent (the speed test's progress values): written with chunked transfer
    # encoding and flushed chunk by chunk, as Go's server does when a handler flushes before it returns.
    stream: Iterator[bytes] | None = None


# A handler returns None to drop the connection without answering (stopped node).
Handler = Callable[[Request], "Response | None"]


def _ephemeral_floor() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as fh:
            return int(fh.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def bind_listen_socket(host: str, port: int) -> socket.socket:
    """Bind and listen. Port 0 picks a free port BELOW the ephemeral range, so a stopped
    node's port cannot be taken by an outgoing connection before the node restarts."""
    floor = _ephemeral_floor()
    candidates = [port] if port else [random.randrange(20000, max(floor, 20001)) for _ in range(50)] + [0]
    last_error: OSError | None = None
    for candidate in candidates:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, candidate))
        except OSError as exc:
            sock.close()
            last_error = exc
            continue
        sock.listen(128)
        return sock
    raise last_error or OSError(f"could not bind {host}:{port}")


class _ConnectionHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, delayed ACKs add ~40 ms per request.
    disable_nagle_algorithm = True
    server: HttpListener  # type: ignore[assignment]

    def version_string(self) -> str:
        """The Server header MinIO sends."""
        return "MinIO"

    def log_message(self, format: str, *args: object) -> None:
        """Silence per-request logging."""

    def _serve(self) -> None:
        raw_path, _, raw_query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(self.command, raw_path, raw_query, self.headers, body)
        response = self.server.handler(request)
        if response is None:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(response.status)
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        for name, value in response.headers:
            self.send_header(name, value)
        if response.stream is not None:
            self._send_stream(response.stream)
            return
        length = response.content_length if response.content_length is not None else len(response.body)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)

    def _send_stream(self, stream: Iterator[bytes]) -> None:
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for chunk in stream:
                if chunk:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.close_connection = True  # the client went away (or the node was stopped) mid-answer
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _serve


class HttpListener:
    """Serve `handler` on host:port until stop(); start() may be called again to re-open the same port."""

    def __init__(self, handler: Handler, host: str = "127.0.0.1", port: int = 0) -> None:
        self.handler = handler
        self.host = host
        self.port = port
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._guard = threading.Lock()

    @property
    def running(self) -> bool:
        return self._sock is not None

    def start(self) -> int:
        """Bind (keeping the port from a previous run) and start accepting; returns the port."""
        if self._sock is not None:
            return self.port
        sock = bind_listen_socket(self.host, self.port)
        self.port = sock.getsockname()[1]
        self._sock = sock
        self._thread = threading.Thread(
            target=self._accept_loop, args=(sock,), daemon=True, name=f"minio-sim-{self.port}"
        )
        self._thread.start()
        return self.port

    def stop(self) -> None:
        """Close the listening socket and cut every open connection."""
        sock, self._sock = self._sock, None
        if sock is None:
            return
        # shutdown() wakes the thread blocked in accept() on Linux; close() alone would not.
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
        with self._guard:
            live = list(self._connections)
        for conn in live:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=2.0)

    def _accept_loop(self, sock: socket.socket) -> None:
        while True:
            try:
                conn, addr = sock.accept()
            except OSError:
                return
            if self._sock is not sock:
                conn.close()
                return
            threading.Thread(target=self._serve_connection, args=(conn, addr), daemon=True).start()

    def _serve_connection(self, conn: socket.socket, addr: tuple[str, int]) -> None:
        with self._guard:
            self._connections.add(conn)
        try:
            _ConnectionHandler(conn, addr, self)  # type: ignore[arg-type]
        except OSError:
            pass  # client went away or the node was stopped mid-request
        finally:
            with self._guard:
                self._connections.discard(conn)
            with contextlib.suppress(OSError):
                conn.close()
