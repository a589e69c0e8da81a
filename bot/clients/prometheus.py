"""Prometheus HTTP API v1 client: range queries, with the project's timeout policy and typed errors."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from urllib.parse import urlencode, urlsplit

import urllib3

from bot.clients.errors import ClientError, classify_transport_error
from bot.clients.timeouts import Timeouts, make_pool_manager
from bot.redact import register_secret


def parse_matrix(body: bytes) -> dict[float, float]:
    """Timestamp -> value of a range-query answer (the first series)."""
    doc = json.loads(body)
    if doc.get("status") != "success":
        raise ValueError(str(doc.get("error") or "query failed"))
    result = doc.get("data", {}).get("result") or []
    if not result:
        return {}
    return {float(ts): float(value) for ts, value in result[0].get("values", [])}


class PrometheusClient:
    """Queries one Prometheus server, with an optional bearer token (``Authorization: Bearer``)."""

    def __init__(
        self, url: str, timeouts: Timeouts, http: urllib3.PoolManager | None = None, *, token: str | None = None
    ) -> None:
        self.url = url.rstrip("/")
        self.timeouts = timeouts
        self._http = http or make_pool_manager(timeouts)
        self.target = f"Prometheus ({urlsplit(self.url).netloc})"
        register_secret(token)  # masked in logs and messages even if an error ever echoes it
        self._token = token
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}

    def query_range(self, query: str, since: datetime, until: datetime, step: timedelta) -> dict[float, float]:
        """Timestamp -> value of `query` over [since, until] on a grid of `step` (the first series)."""
        params = urlencode(
            {
                "query": query,
                "start": f"{since.timestamp():.3f}",
                "end": f"{until.timestamp():.3f}",
                "step": f"{step.total_seconds():g}",
            }
        )
        try:
            response = self._http.request(
                "GET",
                f"{self.url}/api/v1/query_range?{params}",
                headers=self._headers,
                timeout=self.timeouts.urllib3(),
            )
        except Exception as exc:  # noqa: BLE001 - every transport failure becomes a typed ClientError
            failure = classify_transport_error(exc, self.timeouts.connect, self.timeouts.read)
            raise ClientError(failure.kind, self.target, failure.detail, secrets=self._secrets()) from None
        if response.status in (401, 403):
            configured = "the configured bearer token" if self._token else "no token (set prometheus_token_env)"
            raise ClientError(
                "auth" if response.status == 401 else "forbidden",
                self.target,
                f"HTTP {response.status} for a range query with {configured}",
                status=response.status,
            )
        if response.status != 200:
            raise ClientError(
                "bad_response" if response.status < 500 else "unavailable",
                self.target,
                f"HTTP {response.status} for a range query",
                status=response.status,
            )
        try:
            return parse_matrix(response.data)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ClientError(
                "bad_response", self.target, f"unreadable range query answer ({exc})", secrets=self._secrets()
            ) from None

    def _secrets(self) -> tuple[str, ...]:
        return (self._token,) if self._token else ()
