"""Prometheus behind a bearer token: the client sends it, refuses quietly without it, and never shows it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from bot.clients.errors import ClientError
from bot.clients.prometheus import PrometheusClient
from bot.clients.timeouts import Timeouts
from bot.config import ConfigError, parse_config
from bot.redact import redact
from bot.runtime import Runtime
from handlers.capacity.history import load_history

TOKEN = "prom-token-5f1c9a7e2b"
TOKEN_ENV = "PROM_TOKEN"  # the variable the tenant config names
USABLE_TOTAL = 4 << 40
FAST = Timeouts(connect=0.5, read=2.0)


@dataclass
class TokenPrometheus:
    """A stdlib HTTP server answering `/api/v1/query_range` only with `Authorization: Bearer <TOKEN>`."""

    url: str
    seen_auth: list[str | None] = field(default_factory=list)


def _matrix(start: float, end: float, step: float) -> dict[str, Any]:
    values = []
    ts = start
    while ts <= end + 1e-6:
        values.append([ts, str(USABLE_TOTAL)])
        ts += step
    return {"status": "success", "data": {"resultType": "matrix", "result": [{"metric": {}, "values": values}]}}


@pytest.fixture
def token_prometheus() -> Iterator[TokenPrometheus]:
    state = TokenPrometheus(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            auth = self.headers.get("Authorization")
            state.seen_auth.append(auth)
            parts = urlsplit(self.path)
            if auth != f"Bearer {TOKEN}":
                self._answer(401, {"status": "error", "error": "unauthorized"})
            elif parts.path != "/api/v1/query_range":
                self._answer(404, {"status": "error", "error": "not found"})
            else:
                q = {k: v[0] for k, v in parse_qs(parts.query).items()}
                self._answer(200, _matrix(float(q["start"]), float(q["end"]), float(q["step"])))

        def _answer(self, status: int, doc: dict[str, Any]) -> None:
            body = json.dumps(doc).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def runtime_for(url: str, environ: dict[str, str], token_env: str | None = TOKEN_ENV) -> Runtime:
    tenant: dict[str, Any] = {
        "name": "demo",
        "endpoints": ["http://127.0.0.1:9"],
        "credentials": {"access_key_env": "AK", "secret_key_env": "SK"},
        "channels": ["C0OPS"],
        "prometheus_url": url,
    }
    if token_env is not None:
        tenant["prometheus_token_env"] = token_env
    doc = {"store_url": "sqlite:///:memory:", "channels": [{"id": "C0OPS"}], "tenants": [tenant]}
    return Runtime(parse_config(yaml.safe_dump(doc)), environ={"AK": "minio", "SK": "minio-secret", **environ})


# ---------------------------------------------------------------- the client


def test_the_client_sends_the_token_as_a_bearer_header(token_prometheus: TokenPrometheus) -> None:
    client = PrometheusClient(token_prometheus.url, FAST, token=TOKEN)
    until = datetime.now(UTC)
    series = client.query_range("up", until - timedelta(minutes=2), until, timedelta(minutes=1))
    assert len(series) == 3 and set(series.values()) == {float(USABLE_TOTAL)}
    assert token_prometheus.seen_auth == [f"Bearer {TOKEN}"]


def test_without_a_token_a_401_is_an_auth_error_that_names_the_setting(token_prometheus: TokenPrometheus) -> None:
    until = datetime.now(UTC)
    with pytest.raises(ClientError) as err:
        PrometheusClient(token_prometheus.url, FAST).query_range(
            "up", until - timedelta(minutes=1), until, timedelta(minutes=1)
        )
    assert err.value.kind == "auth" and err.value.status == 401
    assert "prometheus_token_env" in str(err.value)
    assert token_prometheus.seen_auth == [None]


def test_a_wrong_token_is_refused_and_never_shown(token_prometheus: TokenPrometheus) -> None:
    wrong = "wrong-token-0a9b8c7d6e"
    until = datetime.now(UTC)
    with pytest.raises(ClientError) as err:
        PrometheusClient(token_prometheus.url, FAST, token=wrong).query_range(
            "up", until - timedelta(minutes=1), until, timedelta(minutes=1)
        )
    assert err.value.kind == "auth" and wrong not in str(err.value)
    # The token is registered with the one redaction function: any log line or message that held it is masked.
    assert wrong not in redact(f"request failed with token {wrong}")


# ---------------------------------------------------------------- config and capacity history


def test_capacity_history_reads_the_token_from_the_named_environment_variable(
    token_prometheus: TokenPrometheus,
) -> None:
    runtime = runtime_for(token_prometheus.url, {"PROM_TOKEN": TOKEN})
    try:
        tenant = runtime.config.tenant("demo")
        assert tenant is not None and tenant.prometheus_token_env == "PROM_TOKEN"
        points = load_history(runtime, tenant, datetime.now(UTC))
        assert any(p.ok and p.usable_total == USABLE_TOTAL for p in points)
        assert token_prometheus.seen_auth and set(token_prometheus.seen_auth) == {f"Bearer {TOKEN}"}
        assert TOKEN not in redact(f"Authorization failed for {TOKEN}")
    finally:
        runtime.close()


def test_a_named_but_unset_token_variable_fails_without_querying(token_prometheus: TokenPrometheus) -> None:
    runtime = runtime_for(token_prometheus.url, {})
    try:
        tenant = runtime.config.tenant("demo")
        assert tenant is not None
        with pytest.raises(ClientError) as err:
            load_history(runtime, tenant, datetime.now(UTC))
        assert err.value.kind == "auth" and "PROM_TOKEN is not set" in str(err.value)
        assert token_prometheus.seen_auth == []
    finally:
        runtime.close()


def test_without_a_token_setting_prometheus_is_queried_without_authorization(
    token_prometheus: TokenPrometheus,
) -> None:
    runtime = runtime_for(token_prometheus.url, {}, token_env=None)
    try:
        tenant = runtime.config.tenant("demo")
        assert tenant is not None and tenant.prometheus_token_env is None
        with pytest.raises(ClientError) as err:
            load_history(runtime, tenant, datetime.now(UTC))
        assert err.value.kind == "auth"
        assert token_prometheus.seen_auth and set(token_prometheus.seen_auth) == {None}
    finally:
        runtime.close()


def test_the_config_takes_a_variable_name_not_a_token() -> None:
    with pytest.raises(ConfigError, match="NAME of an environment variable") as err:
        runtime_for("http://127.0.0.1:9090", {}, token_env="Bearer abc.def")
    assert "abc.def" not in str(err.value)  # a token pasted by mistake is not echoed
