"""Getting reports into Slack: post, thread, update, respond and upload, rate-limit aware.

Every outgoing text passes through `redact`, and every call retries 429s after
Slack's `Retry-After` and 5xx answers a bounded number of times, except a keyed
post (`post_keyed`): Slack has no idempotency key of its own, and a 5xx or a
dropped connection may come after the message was posted, so that one is
retried only on 429 (refused before posting). The key rides in the message's
metadata, where `find_keyed` looks for it (conversations.history) before
anyone posts it again.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.webhook import WebhookClient

from bot.metrics import BotMetrics
from bot.outbox import OutboxError, Prompt
from bot.redact import redact
from bot.render import SlackMessage, render_home, render_slack
from bot.report import Report

log = logging.getLogger("minio_chatops.delivery")

SLACK_TIMEOUT_S = 10
NOTIFY_BACKLOG = 1000  # messages waiting for the notification sender; beyond it they are dropped (and logged)

T = TypeVar("T")

PROMPT_BLOCK = "prompt"  # block_id / action_id of a Prompt's one text input
PROMPT_ACTION = "answer"

KEYED_EVENT = "minio_chatops_keyed"  # metadata event_type of a keyed message (letters, digits, _ and - only)
HISTORY_PAGE = 200
HISTORY_PAGES = 5  # messages searched for a key: at most 1,000 since the given time


class _CountingRateLimitHandler(RateLimitErrorRetryHandler):
    """Retries after Retry-After, and counts every 429 for /metrics."""

    def __init__(self, metrics: BotMetrics, max_retry_count: int = 4):
        super().__init__(max_retry_count=max_retry_count)
        self._metrics = metrics

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is not None and response.status_code == 429:
            self._metrics.slack_ratelimited.labels(request.url.rsplit("/", 1)[-1]).inc()
        return super()._can_retry(state=state, request=request, response=response, error=error)


def retry_handlers(metrics: BotMetrics) -> list[RetryHandler]:
    """The retry policy for every Slack call: 429 after Retry-After, a few 5xx and connection errors."""
    return [
        _CountingRateLimitHandler(metrics),
        ServerErrorRetryHandler(max_retry_count=2),
        ConnectionErrorRetryHandler(max_retry_count=2),
    ]


def make_web_client(token: str, base_url: str | None, metrics: BotMetrics) -> WebClient:
    """A WebClient with the bot's timeout and retry policy."""
    kwargs: dict[str, Any] = {"token": token, "timeout": SLACK_TIMEOUT_S, "retry_handlers": retry_handlers(metrics)}
    if base_url:
        kwargs["base_url"] = base_url
    return WebClient(**kwargs)


def _without_blind_retries(client: WebClient, metrics: BotMetrics) -> WebClient:
    """The same client, retrying only 429s: for posts that must not be repeated on an unclear failure."""
    return WebClient(
        token=client.token, base_url=client.base_url, timeout=client.timeout, ssl=client.ssl, proxy=client.proxy,
        headers=client.headers, retry_handlers=[_CountingRateLimitHandler(metrics)],
    )


def keyed_metadata(key: str) -> dict[str, Any]:
    """The message metadata that carries an idempotency key."""
    return {"event_type": KEYED_EVENT, "event_payload": {"key": key}}


def carries_key(message: dict[str, Any], key: str) -> bool:
    """True when a message (as conversations.history shows it) carries `key` in its metadata."""
    metadata = message.get("metadata")
    if not isinstance(metadata, dict) or metadata.get("event_type") != KEYED_EVENT:
        return False
    payload = metadata.get("event_payload")
    return isinstance(payload, dict) and payload.get("key") == key


def _clean(message: SlackMessage) -> dict[str, Any]:
    """Payload with every string redacted (blocks included)."""

    def scrub(value: Any) -> Any:
        if isinstance(value, str):
            return redact(value)
        if isinstance(value, list):
            return [scrub(v) for v in value]
        if isinstance(value, dict):
            return {k: scrub(v) for k, v in value.items()}
        return value

    return {"text": redact(message.text), "blocks": scrub(message.blocks)}


class Delivery:
    """Sends rendered reports through one WebClient."""

    def __init__(self, client: WebClient, metrics: BotMetrics):
        self.client = client
        self.metrics = metrics
        self.once_client = _without_blind_retries(client, metrics)

    def call(self, method: str, *, via: WebClient | None = None, **kwargs: Any) -> dict[str, Any]:
        """Call one Web API method (``None`` arguments left out) with the bot's timeout and retry policy.

        ``via``: another client (``once_client`` for a post that must not be repeated blindly).
        Returns the answer's data; a failure is counted and logged, then raised as slack_sdk raised it.
        """
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        client = via or self.client
        return self._counted(method, lambda: client.api_call(method, json=kwargs))

    def _counted(self, method: str, send: Callable[[], Any]) -> dict[str, Any]:
        try:
            response = send()
            return dict(response.data) if isinstance(response.data, dict) else {}
        except SlackApiError as exc:
            error = str(exc.response.get("error", "unknown")) if exc.response is not None else "unknown"
            self.metrics.slack_errors.labels(method, error).inc()
            log.warning("slack call failed", extra={"method": method, "error": error})
            raise
        except Exception as exc:
            self.metrics.slack_errors.labels(method, type(exc).__name__).inc()
            log.warning("slack call failed", extra={"method": method, "error": type(exc).__name__})
            raise

    def post(self, channel: str, report: Report, thread_ts: str | None = None, *, key: str | None = None) -> str:
        """Post a report (head + thread replies + charts); returns the head message's ts.

        With ``key`` the head carries it in its metadata and is never repeated on a 5xx or a lost
        connection (the caller asks :meth:`find_keyed` before trying again).
        """
        rendered = render_slack(report)
        head = self.call(
            "chat.postMessage", via=self.once_client if key else None, channel=channel, thread_ts=thread_ts,
            metadata=keyed_metadata(key) if key else None, **_clean(rendered.head),
        )
        ts = str(head.get("ts", ""))
        for part in rendered.thread:
            self.call("chat.postMessage", channel=channel, thread_ts=thread_ts or ts, **_clean(part))
        for chart in report.charts:
            try:
                self.client.files_upload_v2(
                    channel=channel, thread_ts=thread_ts or ts, content=chart.png, filename=chart.filename,
                    title=chart.title,
                )
            except Exception as exc:  # noqa: BLE001 - the text report already stands on its own
                self.metrics.slack_errors.labels("files.upload_v2", type(exc).__name__).inc()
                log.warning("chart upload failed", extra={"error_type": type(exc).__name__})
        return ts

    def find_keyed(self, channel: str, key: str, since: datetime) -> str | None:
        """The ts of the top-level message posted since `since` whose metadata carries `key`, or None."""
        oldest = f"{since.timestamp():.6f}"

        def page(cursor: str | None) -> Any:
            return self.client.conversations_history(
                channel=channel, oldest=oldest, include_all_metadata=True, limit=HISTORY_PAGE, cursor=cursor
            )

        cursor: str | None = None
        for _ in range(HISTORY_PAGES):
            data = self._counted("conversations.history", partial(page, cursor))
            for message in data.get("messages") or []:
                if isinstance(message, dict) and carries_key(message, key):
                    return str(message.get("ts", ""))
            cursor = str((data.get("response_metadata") or {}).get("next_cursor") or "") or None
            if cursor is None:
                return None
        log.warning("keyed message not found in the searched history", extra={"channel": channel,
                                                                             "messages": HISTORY_PAGE * HISTORY_PAGES})
        return None

    def update(self, channel: str, ts: str, report: Report) -> None:
        """Replace a posted message with a new rendering (its thread is left as it is)."""
        self.call("chat.update", channel=channel, ts=ts, **_clean(render_slack(report).head))

    def post_ephemeral(self, channel: str, user: str, report: Report) -> None:
        """Show a report to one user in a channel (for answers that have no response_url, e.g. forms)."""
        self.call("chat.postEphemeral", channel=channel, user=user, **_clean(render_slack(report).head))

    def publish_home(self, user: str, report: Report) -> None:
        """Show ``report`` as ``user``'s App Home tab (``views.publish``)."""
        self.call("views.publish", user_id=user, view=render_home(report))

    def respond(self, response_url: str, report: Report, replace_original: bool = False) -> None:
        """Answer through a response_url (the only way to reach a user ephemerally after the ack)."""
        rendered = render_slack(report)
        webhook = WebhookClient(response_url, timeout=SLACK_TIMEOUT_S, retry_handlers=retry_handlers(self.metrics))
        response_type = "ephemeral" if report.ephemeral else "in_channel"
        # A response_url takes 5 posts; the head plus at most 3 parts leaves one spare.
        for index, message in enumerate([rendered.head, *rendered.thread][:4]):
            payload = _clean(message)
            try:
                result = webhook.send(
                    text=payload["text"],
                    blocks=payload["blocks"],
                    response_type=response_type,
                    replace_original=replace_original and index == 0,
                )
            except Exception as exc:  # noqa: BLE001 - an unreachable response_url is logged, not fatal
                self.metrics.slack_errors.labels("response_url", type(exc).__name__).inc()
                log.warning("response_url post failed", extra={"error_type": type(exc).__name__})
                return
            if result.status_code >= 400:
                self.metrics.slack_errors.labels("response_url", str(result.status_code)).inc()
                log.warning("response_url post failed", extra={"status": result.status_code})
                return


def _delivered(what: str, send: Callable[[], T]) -> T:
    """``send()``, with Slack's refusals and network trouble turned into :class:`OutboxError`."""
    try:
        return send()
    except SlackApiError as exc:
        code = str(exc.response.get("error", "")) if exc.response is not None else ""
        raise OutboxError(f"Slack refused {what}: {code or 'unknown error'}", code) from None
    except Exception as exc:  # noqa: BLE001 - network trouble becomes a typed delivery error
        raise OutboxError(f"Slack unreachable for {what} ({type(exc).__name__})", "unreachable") from None


def prompt_view(prompt: Prompt) -> dict[str, Any]:
    """A Prompt as a Slack modal: one text input; where it came from rides in private_metadata."""

    def text(value: str, limit: int) -> dict[str, str]:
        return {"type": "plain_text", "text": value if len(value) <= limit else value[: limit - 1] + "…"}

    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": PROMPT_ACTION,
        "multiline": prompt.multiline,
        "min_length": prompt.min_length,
        "max_length": prompt.max_length,
    }
    if prompt.placeholder:
        element["placeholder"] = text(prompt.placeholder, 150)
    return {
        "type": "modal",
        "callback_id": prompt.callback_id,
        "title": text(prompt.title, 24),
        "submit": text(prompt.submit, 24),
        "close": text("Cancel", 24),
        "private_metadata": json.dumps({"channel": prompt.channel, "message_ts": prompt.message_ts}),
        "blocks": [{"type": "input", "block_id": PROMPT_BLOCK, "label": text(prompt.label, 2000), "element": element}],
    }


def prompt_submission(view: dict[str, Any]) -> tuple[str, str, str]:
    """(answer, channel, message_ts) of a submitted Prompt modal; empty strings where absent."""
    state = ((view.get("state") or {}).get("values") or {}).get(PROMPT_BLOCK) or {}
    answer = str((state.get(PROMPT_ACTION) or {}).get("value") or "")
    try:
        meta = json.loads(str(view.get("private_metadata") or "{}"))
    except ValueError:
        meta = {}
    if not isinstance(meta, dict):
        meta = {}
    return answer, str(meta.get("channel") or ""), str(meta.get("message_ts") or "")


class SlackOutbox:
    """The `Outbox` handlers use, backed by the Slack Web API through :class:`Delivery`."""

    def __init__(self, delivery: Delivery):
        self.delivery = delivery
        self._later: queue.Queue[tuple[str, Report]] = queue.Queue(maxsize=NOTIFY_BACKLOG)
        self._sender: threading.Thread | None = None
        self._sender_lock = threading.Lock()

    def _api(self, method: str, **kwargs: Any) -> dict[str, Any]:
        return _delivered(method, lambda: self.delivery.call(method, **kwargs))

    def post(self, channel: str, report: Report, thread_ts: str | None = None) -> str:
        return _delivered("the message", lambda: self.delivery.post(channel, report, thread_ts=thread_ts))

    def post_keyed(self, channel: str, report: Report, key: str) -> str:
        return _delivered("the message", lambda: self.delivery.post(channel, report, key=key))

    def find_keyed(self, channel: str, key: str, since: datetime) -> str | None:
        return _delivered("conversations.history", lambda: self.delivery.find_keyed(channel, key, since))

    def update(self, channel: str, ts: str, report: Report) -> None:
        _delivered("chat.update", lambda: self.delivery.update(channel, ts, report))

    def notify(self, channel: str, report: Report) -> None:
        # One sender thread per outbox: Slack allows about one message per second per channel, so
        # fifty clicks that each copy a line must not make fifty click handlers wait out 429s.
        with self._sender_lock:
            if self._sender is None or not self._sender.is_alive():
                self._sender = threading.Thread(target=self._send_later, name="slack-notify", daemon=True)
                self._sender.start()
        try:
            self._later.put_nowait((channel, report))
        except queue.Full:
            log.warning("notification backlog full; message dropped", extra={"channel": channel})

    def _send_later(self) -> None:
        while True:
            channel, report = self._later.get()
            try:
                self.post(channel, report)
            except OutboxError as exc:
                log.warning("notification not delivered", extra={"channel": channel, "error": exc.code})

    def create_channel(self, name: str, private: bool) -> str:
        data = self._api("conversations.create", name=name, is_private=private)
        return str((data.get("channel") or {}).get("id", ""))

    def invite(self, channel: str, users: list[str]) -> dict[str, str]:
        # One call per person: Slack refuses a whole list for one bad id, and says which one only loosely.
        refused: dict[str, str] = {}
        for user in users:
            try:
                self._api("conversations.invite", channel=channel, users=user)
            except OutboxError as exc:
                if exc.code == "already_in_channel":
                    continue
                if exc.code not in ("cant_invite_self", "user_not_found", "cant_invite", "user_is_restricted"):
                    raise
                refused[user] = exc.code
        return refused

    def pin(self, channel: str, ts: str) -> None:
        try:
            self._api("pins.add", channel=channel, timestamp=ts)
        except OutboxError as exc:
            if exc.code != "already_pinned":
                raise

    def permalink(self, channel: str, ts: str) -> str | None:
        try:
            data = self._api("chat.getPermalink", channel=channel, message_ts=ts)
        except OutboxError:
            return None
        link = data.get("permalink")
        return str(link) if link else None

    def open_modal(self, trigger_id: str, prompt: Prompt) -> None:
        self._api("views.open", trigger_id=trigger_id, view=prompt_view(prompt))
