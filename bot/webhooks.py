"""Alertmanager's webhook receiver, ``POST /alertmanager``: authenticated, bounded, and answered at once.

A request passes, in this order:

1. ``Authorization: Bearer <token>`` equal to ``ALERTMANAGER_WEBHOOK_TOKEN`` (compared in constant
   time): 401 when missing or wrong; 503 while no token is configured (nothing is accepted unauthenticated);
2. a body of at most :data:`MAX_ALERT_BODY_BYTES`, counted while it is read (413), sent within
   :data:`BODY_READ_TIMEOUT_S` (408);
3. a JSON webhook payload of version 4 with at least one alert (400 otherwise);
4. the delivery claimed in the store, keyed by groupKey, status and the alerts' fingerprints: a retry or
   repeat of a notification already taken is answered 200 ``duplicate`` and goes no further;
5. the work queued (503 when the queue is full; the claim is released so Alertmanager's retry is taken).

Like a Slack ack, the answer never waits for MinIO, Kubernetes or Slack: listeners of
:attr:`Hook.ALERT_NOTIFICATION` run on the work queue. A listener that raises gives the delivery
back (its claim is released), so Alertmanager's next retry or repeat is handled again.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.application import Hook
from bot.clients.alertmanager_models import WebhookPayload
from bot.models import Frozen
from bot.redact import register_secret
from bot.store.errors import StoreError

if TYPE_CHECKING:
    from bot.slack.app import Bot

log = logging.getLogger("minio_chatops.webhooks")

ALERTMANAGER_PATH = "/alertmanager"
MAX_ALERT_BODY_BYTES = 1024 * 1024
"""Largest notification accepted: about 1,500 alerts with their labels and annotations."""
BODY_READ_TIMEOUT_S = 10.0


class AlertNotification(Frozen):
    """One accepted Alertmanager notification, as handed to :attr:`Hook.ALERT_NOTIFICATION` listeners."""

    payload: WebhookPayload
    group_id: str  # sha256 of the groupKey: the group's stable id
    delivery_key: str  # what makes this notification the same as its retries and repeats
    received_at: datetime


def group_id(group_key: str) -> str:
    """A group's stable id: sha256 of Alertmanager's groupKey (hex)."""
    return hashlib.sha256(group_key.encode()).hexdigest()


def delivery_key(payload: WebhookPayload) -> str:
    """sha256 over groupKey, status and the sorted alert fingerprints (labels when a fingerprint is missing)."""
    prints = sorted(
        f"{a.status}:{a.fingerprint or json.dumps(a.labels, sort_keys=True)}" for a in payload.alerts
    )
    digest = hashlib.sha256(payload.group_key.encode())
    for part in (payload.status, *prints):
        digest.update(b"\0" + part.encode())
    return digest.hexdigest()


def _refuse(status: int, error: str, **headers: str) -> Response:
    return JSONResponse({"error": error}, status_code=status, headers=headers or None)


async def _read_bounded(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it passes ``limit`` bytes (nothing past the limit is kept)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _authorized(request: Request, token: str) -> bool:
    values = request.headers.getlist("authorization")
    if len(values) != 1:
        return False
    scheme, _, presented = values[0].partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), token.encode())


def _parse(body: bytes) -> WebhookPayload | str:
    """The payload, or a short reason it is not one (never echoing the body)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return "malformed JSON"
    if not isinstance(data, dict):
        return "the body is not a JSON object"
    if str(data.get("version", "")) != "4":
        return "not an Alertmanager webhook payload of version 4"
    try:
        return WebhookPayload.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][:3])
        return f"not an Alertmanager webhook payload ({where}: {first['msg'][:80]})"


def alertmanager_route(bot: Bot) -> Route:
    """The ``/alertmanager`` route, served next to ``/healthz`` whatever the Slack transport."""
    secret = bot.secrets.alertmanager_webhook_token
    token = secret.get_secret_value() if secret is not None else None
    register_secret(token)
    count = bot.runtime.metrics.alerts

    async def receive(request: Request) -> Response:
        if token is None:
            return _refuse(503, "no ALERTMANAGER_WEBHOOK_TOKEN is configured")
        if not _authorized(request, token):
            count.labels("alertmanager", "refused").inc()
            return _refuse(401, "missing or wrong bearer token", **{"WWW-Authenticate": "Bearer"})
        try:
            body = await asyncio.wait_for(_read_bounded(request, MAX_ALERT_BODY_BYTES), BODY_READ_TIMEOUT_S)
        except TimeoutError:
            return _refuse(408, "request body too slow")
        if body is None:
            return _refuse(413, "notification too large", Connection="close")
        parsed = await run_in_threadpool(_parse, body)
        if isinstance(parsed, str):
            count.labels("alertmanager", "refused").inc()
            return _refuse(400, parsed)
        notification = AlertNotification(
            payload=parsed, group_id=group_id(parsed.group_key), delivery_key=delivery_key(parsed),
            received_at=datetime.now(UTC),
        )
        try:
            first = await run_in_threadpool(_claim, bot, notification)
        except StoreError as exc:
            # Fail closed: without the shared record a duplicate could post twice. Alertmanager retries.
            log.warning("alert notification refused: store unavailable", extra={"error": exc.message})
            return _refuse(503, "state store unavailable")
        if not first:
            count.labels("alertmanager", "duplicate").inc()
            return JSONResponse({"status": "duplicate"})
        if not bot.queue.submit(lambda: handle_notification(bot, notification)):
            await run_in_threadpool(_release, bot, notification)
            count.labels("alertmanager", "busy").inc()
            return _refuse(503, "work queue full")
        count.labels("alertmanager", "queued").inc()
        return JSONResponse({"status": "queued"})

    return Route(ALERTMANAGER_PATH, receive, methods=["POST"])


def _claim(bot: Bot, notification: AlertNotification) -> bool:
    return bot.runtime.store.alert_groups.claim_delivery(
        notification.delivery_key, group_id=notification.group_id, status=notification.payload.status,
        at=notification.received_at,
    )


def _release(bot: Bot, notification: AlertNotification) -> None:
    try:
        bot.runtime.store.alert_groups.release_delivery(notification.delivery_key)
    except StoreError as exc:
        log.warning("delivery claim not released", extra={"error": exc.message})


def handle_notification(bot: Bot, notification: AlertNotification) -> None:
    """Worker side: every listener of the hook; a failure gives the delivery back to Alertmanager."""
    failed = False
    for listener in bot.application.listeners(Hook.ALERT_NOTIFICATION):
        try:
            listener(bot.runtime, bot.outbox, notification)
        except Exception as exc:  # noqa: BLE001 - one notification must never stop the worker
            failed = True
            log.warning("alert notification not handled",
                        extra={"group": notification.group_id[:12], "error_type": type(exc).__name__})
    if failed:
        _release(bot, notification)
