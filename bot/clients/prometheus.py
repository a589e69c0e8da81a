"""Prometheus HTTP API v1 client: range queries, with the project's timeout policy and typed errors."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from urllib.parse import urlencode, urlsplit

import urllib3

from bot.clients.errors import ClientError, classify_transport_error
from bot.clients.timeouts import Timeouts, make_pool_manager


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
    """Queries one Prometheus server."""

    def __init__(self, url: str, timeouts: Timeouts, http: urllib3.PoolManager | None = None) -> None:
        self.url = url.rstrip("/")
        self.timeouts = timeouts
        self._http = http or make_pool_manager(timeouts)
        self.target = f"Prometheus ({urlsplit(self.url).netloc})"

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
                "GET", f"{self.url}/api/v1/query_range?{params}", timeout=self.timeouts.urllib3()
            )
        except Exception as exc:  # noqa: BLE001 - every transport failure becomes a typed ClientError
            failure = classify_transport_error(exc, self.timeouts.connect, self.timeouts.read)
            raise ClientError(failure.kind, self.target, failure.detail) from None
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
            raise ClientError("bad_response", self.target, f"unreadable range query answer ({exc})") from None
