"""The Alertmanager API v2 client against a real Alertmanager, and against one that hangs or refuses."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.clients.alertmanager import AlertmanagerClient, AlertmanagerError
from bot.clients.alertmanager_models import Matcher
from bot.clients.timeouts import Timeouts
from tests.alerting import now
from tests.fixtures.alertmanager import AlertmanagerFactory, free_port

FAST = Timeouts(connect=0.5, read=0.5)


def test_a_silence_is_created_read_and_expired(alertmanager_factory: AlertmanagerFactory) -> None:
    server = alertmanager_factory("http://127.0.0.1:9/alertmanager", "unused")
    client = AlertmanagerClient(server.url, FAST)
    start = now()
    silence_id = client.create_silence(
        [Matcher(name="alertname", value="MinioNodeOffline"), Matcher(name="tenant", value="demo")],
        starts_at=start, ends_at=start + timedelta(hours=1), created_by="U0BOB via minio-chatops", comment="test",
    )
    silence = client.silence(silence_id)
    assert (silence.state, silence.created_by) == ("active", "U0BOB via minio-chatops")
    assert {(m.name, m.value) for m in silence.matchers} == {("alertname", "MinioNodeOffline"), ("tenant", "demo")}
    client.expire_silence(silence_id)
    assert client.silence(silence_id).state == "expired"
    client.expire_silence(silence_id)  # expiring again is no error: the wish is met


def test_an_unknown_silence_is_not_found(alertmanager_factory: AlertmanagerFactory) -> None:
    server = alertmanager_factory("http://127.0.0.1:9/alertmanager", "unused")
    with pytest.raises(AlertmanagerError) as caught:
        AlertmanagerClient(server.url, FAST).silence("00000000-0000-0000-0000-000000000000")
    assert caught.value.kind == "not_found"


def test_nothing_listening_is_unreachable_and_says_where() -> None:
    port = free_port()
    with pytest.raises(AlertmanagerError) as caught:
        AlertmanagerClient(f"http://127.0.0.1:{port}", FAST).expire_silence("x")
    assert caught.value.kind == "unreachable" and caught.value.not_sent
    assert str(caught.value) == f"Alertmanager (127.0.0.1:{port}) unreachable: connection refused"


@pytest.fixture
def hung() -> Iterator[str]:
    """A server that accepts connections and never answers."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        held: list[socket.socket] = []
        stop = threading.Event()

        def accept() -> None:
            server.settimeout(0.2)
            while not stop.is_set():
                try:
                    held.append(server.accept()[0])
                except OSError:
                    continue

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
        stop.set()
        thread.join()
        for conn in held:
            conn.close()


def test_a_hung_alertmanager_times_out_within_the_read_timeout(hung: str) -> None:
    with pytest.raises(AlertmanagerError) as caught:
        AlertmanagerClient(hung, FAST).create_silence(
            [Matcher(name="a", value="b")], starts_at=now(), ends_at=now() + timedelta(hours=1),
            created_by="U", comment="c",
        )
    assert caught.value.kind == "timeout" and "no answer within 0.5 s" in str(caught.value)


class _Refusing(BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_POST(self) -> None:
        _Refusing.seen.append(self.headers.get("Authorization", ""))
        body = b'"silence validation failed"'
        self.send_response(400)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        return


def test_a_refusal_carries_the_reason_and_the_token_is_sent_but_never_shown() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = AlertmanagerClient(f"http://127.0.0.1:{server.server_port}", FAST, token="am-api-secret-token")
        with pytest.raises(AlertmanagerError) as caught:
            client.create_silence([Matcher(name="a", value="b")], starts_at=now(), ends_at=now() + timedelta(hours=1),
                                  created_by="U", comment="c")
    finally:
        server.shutdown()
    assert caught.value.kind == "invalid" and "(silence validation failed)" in str(caught.value)
    assert _Refusing.seen == ["Bearer am-api-secret-token"]
    assert "am-api-secret-token" not in str(caught.value)
