"""Slack wiring: bolt listeners, the work queue, and the two transports.

Listeners only parse and ack (well under Slack's 3 s); everything that talks to
MinIO, Kubernetes or the store runs on the bounded `WorkQueue`.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.access import CachedGroups
from bot.application import Application
from bot.clients.slack import WebClientProbe
from bot.commands import Command, UsageError
from bot.composition import load_application
from bot.config import Config, Secrets
from bot.dispatch import Dispatcher, new_request_id
from bot.interactions import Click
from bot.metrics import BotMetrics
from bot.redact import register_secret
from bot.render.inline import to_mrkdwn
from bot.report import Report, code, emoji, mention, notice, spans
from bot.runtime import Runtime
from bot.slack.delivery import PROMPT_BLOCK, Delivery, SlackOutbox, make_web_client, prompt_submission
from bot.slack.home_tab import PAGE_ACTION, RUN_ACTION, HomeTab
from bot.store.errors import StoreError
from bot.worker import WorkQueue

log = logging.getLogger("minio_chatops.app")


REPLAY_CLAIM = "minio_chatops_replay_claim"
# Who is in a private incident channel is read again after this long: one command's access checks share an
# answer, while someone added to the channel is noticed by the next command.
CHANNEL_MEMBERS_TTL_S = 2.0
"""Key in bolt's context under which the HTTP endpoint passes a request's :class:`ReplayClaim`."""


@dataclass(frozen=True)
class ReplayClaim:
    """What a verified HTTP request claims in the shared store before its work runs (see bot/http.py)."""

    key: str  # sha256 of "v0:{timestamp}:{raw body}", exactly what the signature covers
    expires_at: datetime


@dataclass
class SlashRequest:
    """The parts of a slash command or button click the bot trusts (signed fields only)."""

    user: str
    channel: str
    text: str
    response_url: str | None
    thread_ts: str | None = None


class SlackGroups:
    """Slack user-group members via `usergroups.users.list` (Tier 2: callers cache it)."""

    def __init__(self, client: WebClient):
        self._client = client

    def __call__(self, group_id: str) -> frozenset[str]:
        response = self._client.usergroups_users_list(usergroup=group_id)
        return frozenset(response.get("users") or [])


class SlackChannelMembers:
    """Who is in a channel (`conversations.members`, every page), the bot itself left out.

    Asked before anything about a tenant is shown in a private incident channel, so the answer must be
    fresh: callers cache it for seconds, not minutes.
    """

    PAGE = 200
    MAX_PAGES = 50  # 10,000 people: far beyond an incident channel; more is refused rather than half-read

    def __init__(self, client: WebClient):
        self._client = client
        self._me: str | None = None

    def __call__(self, channel: str) -> frozenset[str]:
        if self._me is None:
            self._me = str(self._client.auth_test().get("user_id") or "")
        members: set[str] = set()
        cursor: str | None = None
        for _page in range(self.MAX_PAGES):
            response = self._client.conversations_members(channel=channel, limit=self.PAGE, cursor=cursor)
            members.update(response.get("members") or [])
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if cursor is None:
                return frozenset(members - {self._me})
        raise RuntimeError(f"more than {self.PAGE * self.MAX_PAGES} members in {channel}")


class Bot:
    """The bot: a runtime, a dispatcher and a Slack delivery, joined by a work queue."""

    def __init__(self, config: Config, secrets: Secrets, application: Application | None = None):
        if secrets.slack_bot_token is None:
            raise ValueError("SLACK_BOT_TOKEN is not set")
        for secret in (secrets.slack_bot_token, secrets.slack_app_token, secrets.slack_signing_secret):
            if secret is not None:
                register_secret(secret.get_secret_value())
        self.config = config
        self.secrets = secrets
        self.application = application or load_application()
        metrics = BotMetrics()
        self.client = make_web_client(secrets.slack_bot_token.get_secret_value(), config.slack.api_url, metrics)
        groups = CachedGroups(SlackGroups(self.client), ttl=config.slack.usergroup_cache_seconds)
        # The same cache for channel members, held just long enough for one command's several access checks.
        members = CachedGroups(SlackChannelMembers(self.client), ttl=CHANNEL_MEMBERS_TTL_S)
        self.runtime = Runtime(config, groups=groups, metrics=metrics, channel_members=members,
                               slack=WebClientProbe(self.client))
        self.dispatcher = Dispatcher(self.runtime, self.application)
        self.delivery = Delivery(self.client, self.runtime.metrics)
        self.outbox = SlackOutbox(self.delivery)
        self.queue = WorkQueue(
            config.slack.workers, config.slack.queue, on_depth=self.runtime.metrics.queue_depth.set
        )
        self.home = HomeTab(self.runtime, self.application, self.delivery)
        self.bolt = self._build_app()

    # ----- bolt ---------------------------------------------------------------------

    def _build_app(self) -> App:
        signing = self.secrets.slack_signing_secret
        app = App(
            client=self.client,
            signing_secret=signing.get_secret_value() if signing else "socket-mode-unused",
            # Listeners only parse and ack; the real work goes to the WorkQueue, so running
            # them inline is both fastest and keeps bolt's own executor out of the ack path.
            process_before_response=True,
            token_verification_enabled=False,
            request_verification_enabled=signing is not None,
            logger=logging.getLogger("minio_chatops.bolt"),
        )
        app.command(re.compile(r"^/minio"))(self._on_command)
        app.action(re.compile(r".*"))(self._on_click)
        app.view(re.compile(r".*"))(self._on_form)
        app.event("app_home_opened")(self._on_home_opened)
        app.error(self._on_error)
        return app

    def _on_error(self, error: Exception, body: dict[str, Any]) -> None:
        log.error("listener failed", extra={"error_type": type(error).__name__})

    def _on_command(self, ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        request = SlashRequest(
            user=str(body.get("user_id", "")),
            channel=str(body.get("channel_id", "")),
            text=str(body.get("text", "")),
            response_url=body.get("response_url"),
        )
        self.accept(request, ack, claim=context.get(REPLAY_CLAIM))

    def _on_home_opened(self, ack: Ack, event: dict[str, Any]) -> None:
        """Ack at once; publish the user's Home tab on the work queue (rate-limited per user)."""
        ack()
        user = str(event.get("user") or "")
        if event.get("tab") == "home" and user:
            self.queue.submit(lambda: self.home.opened(user))

    def _on_home_click(self, click: Click) -> None:
        """A button on the Home tab: turn its page, or open a tenant's report in a modal."""
        if click.action_id.startswith(PAGE_ACTION):
            page = int(click.value) if click.value.isdigit() else 1
            self.queue.submit(lambda: self.home.turn_page(click.user, page))
        elif click.action_id.startswith(RUN_ACTION) and click.trigger_id:
            trigger = click.trigger_id
            self.queue.submit(lambda: self.home.run_report(click.user, click.value, trigger))

    def first_time(self, claim: ReplayClaim | None, response_url: str | None) -> bool:
        """Worker side, before a request's work: True unless the store says another copy already ran.

        Requests over HTTP carry a claim (Socket Mode requests come over the app's own
        connection and carry none). One INSERT in the store every replica shares decides;
        done here, on the worker, so the ack never waits for the store. Without the store
        the work is not run (a replay could otherwise run twice).
        """
        if claim is None:
            return True
        try:
            if self.runtime.store.replays.claim(claim.key, claim.expires_at):
                return True
        except StoreError as exc:
            log.error("replay check failed", extra={"error_type": type(exc).__name__})
            if response_url:
                self.delivery.respond(response_url, notice(
                    "The bot cannot reach its state store, so it cannot check that this request is not a "
                    "replay; nothing was run. Try again in a minute."))
            return False
        log.warning("replayed slack request dropped")
        return False

    def _on_click(self, ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        """Ack a button press at once; answer it on the work queue."""
        action = (body.get("actions") or [{}])[0]
        container = body.get("container") or {}
        message = body.get("message") or {}
        click = Click(
            user=str((body.get("user") or {}).get("id", "")),
            channel=str(container.get("channel_id") or (body.get("channel") or {}).get("id", "")),
            message_ts=str(container.get("message_ts") or message.get("ts") or ""),
            action_id=str(action.get("action_id", "")),
            value=str(action.get("value", ""))[:2000],
            thread_ts=str(message.get("thread_ts") or "") or None,
            trigger_id=str(body.get("trigger_id") or "") or None,
        )
        response_url = body.get("response_url")
        ack()
        if container.get("type") == "view" and click.user and (body.get("view") or {}).get("type") == "home":
            self._on_home_click(click)
            return
        if not click.user or not click.channel or not click.action_id:
            return
        request_id = new_request_id()
        claim = context.get(REPLAY_CLAIM)

        def work() -> None:
            if self.first_time(claim, response_url):
                self.answer_click(click, response_url, request_id)

        if not self.queue.submit(work):
            self.runtime.metrics.rejected.inc()
            if response_url:
                # Never wait on Slack inside a listener: the note goes out from its own short-lived thread.
                busy = notice("The bot is busy right now; press again in a minute.")
                threading.Thread(target=self.delivery.respond, args=(response_url, busy), daemon=True).start()

    def _on_form(self, ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        """A submitted form (e.g. a rejection reason): checked for an answer in the ack, then routed like a click."""
        view = body.get("view") or {}
        answer, channel, message_ts = prompt_submission(view)
        if not answer.strip():
            ack(response_action="errors", errors={PROMPT_BLOCK: "Please write an answer."})
            return
        ack()
        click = Click(
            user=str((body.get("user") or {}).get("id", "")),
            channel=channel,
            message_ts=message_ts,
            action_id=str(view.get("callback_id", "")),
            value=answer[:3000],
        )
        if not click.user or not click.channel or not click.action_id:
            return
        request_id = new_request_id()
        claim = context.get(REPLAY_CLAIM)

        def work() -> None:
            if self.first_time(claim, None):
                self.answer_click(click, None, request_id)

        if not self.queue.submit(work):
            self.runtime.metrics.rejected.inc()

    def answer_click(self, click: Click, response_url: str | None, request_id: str) -> None:
        """Worker side: run the button's handler and apply what it returns."""
        result = self.dispatcher.click(click, outbox=self.outbox, request_id=request_id)
        if result.update is not None:
            try:
                self.delivery.update(click.channel, click.message_ts, result.update)
            except Exception:  # noqa: BLE001 - e.g. the message was deleted; the reply still goes out
                log.warning("could not update the clicked message", extra={"request_id": request_id})
        if result.reply is not None:
            request = SlashRequest(click.user, click.channel, "", response_url,
                                   thread_ts=click.thread_ts or click.message_ts)
            self.deliver(request, result.reply)
        if result.ephemeral is not None and response_url:
            self.delivery.respond(response_url, result.ephemeral.model_copy(update={"ephemeral": True}))
        elif result.ephemeral is not None:
            # Form submissions carry no response_url: show the answer to the user with chat.postEphemeral.
            try:
                self.delivery.post_ephemeral(click.channel, click.user, result.ephemeral)
            except Exception:  # noqa: BLE001 - e.g. the bot is not in the channel; the card still tells the story
                log.warning("could not answer the form", extra={"request_id": request_id})

    def accept(self, request: SlashRequest, ack: Callable[..., object], claim: ReplayClaim | None = None) -> None:
        """Parse, ack at once, and queue the work. Bad input is answered in the ack itself.

        ``claim``: the HTTP request's replay key; the work runs only if it is the first copy.
        """
        if not request.user or not request.channel:
            ack(response_type="ephemeral",
                text=to_mrkdwn(spans(emoji("warning"), " That request is missing its user or channel.")))
            return
        parsed = self.dispatcher.parse(request.text)
        if isinstance(parsed, UsageError):
            self.runtime.metrics.command_done(parsed.verb or "unknown", "bad_input", 0.0)
            ack(response_type="ephemeral", text=to_mrkdwn(spans(emoji("warning"), " ", parsed.text)))
            return
        request_id = new_request_id()

        def work() -> None:
            if self.first_time(claim, request.response_url):
                self.run(request, parsed, request_id)

        if not self.queue.submit(work):
            self.runtime.metrics.rejected.inc()
            ack(response_type="ephemeral",
                text=to_mrkdwn(spans(emoji("hourglass"), " The bot is busy right now; try again in a minute.")))
            return
        if parsed.verb.slow:
            working = spans(emoji("hourglass_flowing_sand"), " Working on ", code(f"/minio {parsed.text[:200]}"), "…")
            ack(response_type="ephemeral", text=to_mrkdwn(working))
        else:
            ack()

    def run(self, request: SlashRequest, command: Command, request_id: str) -> None:
        """Worker side: run the command and deliver the report."""
        report = self.dispatcher.run(
            request.user, request.channel, command, request_id=request_id, outbox=self.outbox,
            thread_ts=request.thread_ts,
        )
        self.deliver(request, report)

    def deliver(self, request: SlashRequest, report: Report) -> None:
        """Ephemeral answers go back via response_url; shared reports are posted in the channel."""
        if report.ephemeral:
            if request.response_url:
                self.delivery.respond(request.response_url, report)
            return
        report = report.model_copy(update={"footer": [*report.footer, spans("Requested by ", mention(request.user))]})
        try:
            self.delivery.post(request.channel, report, thread_ts=request.thread_ts)
        except Exception:  # noqa: BLE001 - e.g. not_in_channel: answer through response_url instead
            if request.response_url:
                hint = notice(spans("I could not post in this channel (invite me with ", code("/invite @minio-chatops"),
                                    ")."))
                self.delivery.respond(request.response_url, report)
                self.delivery.respond(request.response_url, hint)

    # ----- transports ---------------------------------------------------------------

    def start_socket_mode(self) -> Callable[[], None]:
        """Connect over Socket Mode in the background; returns a stop function."""
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        if self.secrets.slack_app_token is None:
            raise ValueError("SLACK_APP_TOKEN is needed for Socket Mode")
        handler = SocketModeHandler(
            self.bolt, app_token=self.secrets.slack_app_token.get_secret_value(), web_client=self.client
        )
        handler.connect()
        return handler.close

    def close(self) -> None:
        self.queue.shutdown(wait=False)
        self.runtime.close()
