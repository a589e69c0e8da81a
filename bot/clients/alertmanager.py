"""Alertmanager API v2 client: create, read and expire silences, with the project's timeouts and typed errors.

Paths and fields are Alertmanager's public API v2: ``POST /api/v2/silences``
(answers ``{"silenceID": ...}``), ``GET /api/v2/silence/{id}``, ``DELETE
/api/v2/silence/{id}`` (expires it; 404 for an unknown id).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

import urllib3

from bot.clients.alertmanager_models import Matcher, Silence
from bot.clients.errors import ClientError, classify_transport_error
from bot.clients.timeouts import Timeouts, make_pool_manager
from bot.redact import register_secret


class AlertmanagerError(ClientError):
    """A failed call to Alertmanager's API."""


class AlertmanagerClient:
    """One Alertmanager (or an HA pair behind one URL), with an optional bearer token."""

    def __init__(
        self, url: str, timeouts: Timeouts, http: urllib3.PoolManager | None = None, *, token: str | None = None
    ) -> None:
        self.url = url.rstrip("/")
        self.timeouts = timeouts
        self._http = http or make_pool_manager(timeouts)
        self.target = f"Alertmanager ({urlsplit(self.url).netloc})"
        register_secret(token)
        self._token = token
        self._headers = {"Content-Type": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"

    def create_silence(
        self, matchers: list[Matcher], *, starts_at: datetime, ends_at: datetime, created_by: str, comment: str
    ) -> str:
        """Create a silence for ``matchers`` from ``starts_at`` to ``ends_at``; returns its id."""
        body = {
            "matchers": [m.model_dump(by_alias=True) for m in matchers],
            "startsAt": _rfc3339(starts_at),
            "endsAt": _rfc3339(ends_at),
            "createdBy": created_by,
            "comment": comment,
        }
        answer = self._call("POST", "/api/v2/silences", "creating a silence", body)
        silence_id = answer.get("silenceID") if isinstance(answer, dict) else None
        if not isinstance(silence_id, str) or not silence_id:
            raise AlertmanagerError("bad_response", self.target, "no silenceID in the answer to creating a silence")
        return silence_id

    def silence(self, silence_id: str) -> Silence:
        """One silence by id (AlertmanagerError ``not_found`` when Alertmanager has none)."""
        answer = self._call("GET", f"/api/v2/silence/{quote(silence_id, safe='')}", "reading a silence")
        if not isinstance(answer, dict):
            raise AlertmanagerError("bad_response", self.target, "a silence that is not an object")
        try:
            flat = {**answer, "state": (answer.get("status") or {}).get("state", "")}
            return Silence.model_validate(flat)
        except (ValueError, TypeError, AttributeError):
            raise AlertmanagerError("bad_response", self.target, "an unreadable silence") from None

    def expire_silence(self, silence_id: str) -> None:
        """End a silence now. Expiring one that has already ended is not an error."""
        try:
            self._call("DELETE", f"/api/v2/silence/{quote(silence_id, safe='')}", "expiring a silence")
        except AlertmanagerError as exc:
            # Alertmanager refuses to expire an expired silence (500 "already expired"): the wish is met.
            if exc.status != 500 or self.silence(silence_id).state != "expired":
                raise

    def _call(self, method: str, path: str, what: str, body: dict[str, Any] | None = None) -> Any:
        try:
            response = self._http.request(
                method,
                f"{self.url}{path}",
                body=json.dumps(body).encode() if body is not None else None,
                headers=self._headers,
                timeout=self.timeouts.urllib3(),
            )
        except Exception as exc:  # noqa: BLE001 - every transport failure becomes a typed error
            failure = classify_transport_error(exc, self.timeouts.connect, self.timeouts.read)
            raise AlertmanagerError(failure.kind, self.target, failure.detail, secrets=self._secrets(),
                                    not_sent=failure.not_sent) from None
        if response.status >= 300:
            raise AlertmanagerError(
                _kind(response.status), self.target, f"HTTP {response.status} {what}{_reason(response.data)}",
                status=response.status, secrets=self._secrets(),
            )
        if not response.data:
            return None
        try:
            return json.loads(response.data)
        except ValueError:
            raise AlertmanagerError("bad_response", self.target, f"unreadable answer {what}") from None

    def _secrets(self) -> tuple[str, ...]:
        return (self._token,) if self._token else ()


def _kind(status: int) -> Any:
    return {401: "auth", 403: "forbidden", 404: "not_found", 400: "invalid", 422: "invalid"}.get(
        status, "unavailable" if status >= 500 else "bad_response"
    )


def _reason(data: bytes) -> str:
    """Alertmanager's one-line reason (its error bodies are a JSON string or plain text), if short."""
    text = data.decode("utf-8", "replace").strip().strip('"')
    return f" ({text[:160]})" if text and "\n" not in text else ""


def _rfc3339(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("silence times must be timezone-aware")
    return at.isoformat().replace("+00:00", "Z")
