"""Acting as Slack users: slash commands, button clicks and modal submissions, sent to the bot.

HTTP mode posts signed form requests to the bot's events URL, exactly as Slack does. Socket
Mode sends the same payloads as envelopes over the bot's websocket. Either way the driver
returns an `AckResult` (status, body, time-to-ack) and applies what Slack would apply: an ack
body of a slash command becomes a message, a late or failed ack becomes Slackbot's
`failed with the error "operation_timeout"` ephemeral.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from .response_url import apply_response, issue_response_url
from .state import Channel, Ephemeral, Message, ResponseUrl, Trigger, User

if TYPE_CHECKING:
    from .sim import SlackSim

SLACK_ACK_DEADLINE_S = 3.0
VERIFICATION_TOKEN = "simDeprecatedVerificationToken"
SLACKBOT_USER_ID = "USLACKBOT"
SLACK_USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"


def sign(signing_secret: str, timestamp: int | str, body: bytes) -> str:
    """Slack's request signature: `v0=` + HMAC-SHA256 of `v0:{timestamp}:{body}`."""
    base = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Forgery:
    """Ways to tamper with a signed HTTP request (to test the bot's verification)."""

    signing_secret: str | None = None  # sign with this secret instead of the real one
    timestamp_offset_s: int = 0  # e.g. -600 sends a stale X-Slack-Request-Timestamp
    raw_body: bytes | None = None  # send (and sign) these bytes instead of the payload
    omit_signature: bool = False  # leave the signature headers out

    @classmethod
    def bad_signature(cls) -> Forgery:
        """Signed with the wrong secret."""
        return cls(signing_secret="not-the-signing-secret")

    @classmethod
    def stale(cls, seconds: int = 600) -> Forgery:
        """A correctly signed request whose timestamp is `seconds` old."""
        return cls(timestamp_offset_s=-seconds)


@dataclass
class AckResult:
    """What the bot answered to one slash command / interaction."""

    transport: str  # "http" or "socket"
    status: int  # HTTP status; Socket Mode: 200 when acked, 0 when not
    body: str  # raw ack body (Socket Mode: the ack payload as JSON, or "")
    ack_s: float  # seconds from sending to the ack
    request: dict[str, Any]  # the payload sent to the bot
    response_url: str = ""
    trigger_id: str = ""
    envelope_id: str | None = None
    payload: dict[str, Any] | None = None  # ack body / ack payload decoded, when JSON
    user_error: str | None = None  # what Slack would show the user: operation_timeout / dispatch_failed
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Acked with 200 within Slack's 3 seconds."""
        return self.status == 200 and self.user_error is None

    @property
    def timed_out(self) -> bool:
        """Slack would have given up waiting."""
        return self.user_error == "operation_timeout"


class SlackDriver:
    """Acts as workspace members towards the bot; see the module docstring."""

    def __init__(self, sim: SlackSim, events_url: str | None = None) -> None:
        self.sim = sim
        self.ws = sim.ws
        self.events_url = events_url

    # -- what users do -------------------------------------------------------------------

    def slash(
        self,
        user_id: str,
        channel_id: str,
        command_line: str,
        *,
        events_url: str | None = None,
        via: str | None = None,
        forge: Forgery | None = None,
        timeout: float = 10.0,
    ) -> AckResult:
        """Type `command_line` (e.g. `/minio health demo`) in a channel as `user_id`."""
        user, channel = self._actor(user_id, channel_id)
        command, _, text = command_line.strip().partition(" ")
        record = issue_response_url(self.ws, channel=channel.id, user=user.id, kind="slash_command")
        trigger = self._issue_trigger(user.id)
        payload = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.ws.team_id,
            "team_domain": self.ws.team_domain,
            "channel_id": channel.id,
            "channel_name": "directmessage" if channel.is_im else channel.name,
            "user_id": user.id,
            "user_name": user.name,
            "command": command,
            "text": text.strip(),
            "api_app_id": self.ws.app_id,
            "is_enterprise_install": "false",
            "response_url": self._response_url(record),
            "trigger_id": trigger.id,
        }
        transport, url = self._transport(via, events_url)
        if transport == "http":
            result = self._post_http(url, payload, payload, forge, timeout)
        else:
            result = self._send_socket("slash_commands", payload, True, timeout)
        result.response_url, result.trigger_id = payload["response_url"], trigger.id
        self._after_slash_ack(result, record, command)
        return result

    def open_home(self, user_id: str, *, events_url: str | None = None, via: str | None = None,
                  timeout: float = 10.0) -> AckResult:
        """Open the app's Home tab as `user_id`: an `app_home_opened` event (Events API)."""
        with self.ws.lock:
            user = self.ws.users[user_id]
        now = time.time()
        payload: dict[str, Any] = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.ws.team_id,
            "api_app_id": self.ws.app_id,
            "type": "event_callback",
            "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}",
            "event_time": int(now),
            "event": {"type": "app_home_opened", "user": user.id, "channel": f"D{user.id[1:]}", "tab": "home",
                      "event_ts": f"{now:.6f}"},
        }
        transport, url = self._transport(via, events_url)
        if transport == "http":
            return self._post_http(url, payload, payload, None, timeout, as_json=True)
        return self._send_socket("events_api", payload, False, timeout)

    def click_home(self, user_id: str, action_id: str, value: str, *, events_url: str | None = None,
                   via: str | None = None, timeout: float = 10.0) -> AckResult:
        """Press a button on the user's Home tab (container type "view", no channel)."""
        with self.ws.lock:
            user = self.ws.users[user_id]
            view = copy.deepcopy(self.ws.home_views.get(user_id) or {"blocks": []})
        block_id, element = find_element(view["blocks"], action_id, None)
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": user.id, "username": user.name, "name": user.name, "team_id": self.ws.team_id},
            "api_app_id": self.ws.app_id,
            "token": VERIFICATION_TOKEN,
            "container": {"type": "view", "view_id": "VHOME"},
            "trigger_id": self._issue_trigger(user.id).id,
            "team": {"id": self.ws.team_id, "domain": self.ws.team_domain},
            "view": {"id": "VHOME", "type": "home"},
            "actions": [self._action(element, action_id, block_id, value)],
        }
        transport, url = self._transport(via, events_url)
        if transport == "http":
            return self._post_http(url, {"payload": json.dumps(payload)}, payload, None, timeout)
        return self._send_socket("interactive", payload, False, timeout)

    def click(
        self,
        user_id: str,
        channel_id: str,
        message_ts: str,
        action_id: str,
        value: str | None = None,
        *,
        block_id: str | None = None,
        events_url: str | None = None,
        via: str | None = None,
        forge: Forgery | None = None,
        timeout: float = 10.0,
    ) -> AckResult:
        """Press the button `action_id` on message `message_ts` (a channel message or an ephemeral)."""
        user, channel = self._actor(user_id, channel_id)
        with self.ws.lock:
            message = self.ws.find_message(channel.id, message_ts)
            ephemeral = None if message is not None else self.ws.find_ephemeral(channel.id, message_ts)
            blocks = message.blocks if message else ephemeral.blocks if ephemeral else []
            found_block_id, element = find_element(blocks, action_id, block_id)
            message_api = self.ws.message_to_api(message) if message is not None else None
            thread_ts = message.thread_ts if message else ephemeral.thread_ts if ephemeral else None
        record = issue_response_url(
            self.ws,
            channel=channel.id,
            user=user.id,
            kind="block_actions",
            origin_ts=message_ts,
            origin_ephemeral=ephemeral is not None,
        )
        trigger = self._issue_trigger(user.id)
        container: dict[str, Any] = {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel.id,
            "is_ephemeral": ephemeral is not None,
        }
        if thread_ts:
            container["thread_ts"] = thread_ts
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": user.id, "username": user.name, "name": user.name, "team_id": self.ws.team_id},
            "api_app_id": self.ws.app_id,
            "token": VERIFICATION_TOKEN,
            "container": container,
            "trigger_id": trigger.id,
            "team": {"id": self.ws.team_id, "domain": self.ws.team_domain},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel.id, "name": "directmessage" if channel.is_im else channel.name},
            "state": {"values": {}},
            "response_url": self._response_url(record),
            "actions": [self._action(element, action_id, block_id or found_block_id, value)],
        }
        if message_api is not None:
            payload["message"] = message_api
        transport, url = self._transport(via, events_url)
        if transport == "http":
            result = self._post_http(url, {"payload": json.dumps(payload)}, payload, forge, timeout)
        else:
            result = self._send_socket("interactive", payload, False, timeout)
        result.response_url, result.trigger_id = payload["response_url"], trigger.id
        return result

    def submit_view(
        self,
        user_id: str,
        view_id: str,
        values: dict[str, Any] | None = None,
        *,
        events_url: str | None = None,
        via: str | None = None,
        forge: Forgery | None = None,
        timeout: float = 10.0,
    ) -> AckResult:
        """Submit an open modal. `values` maps block_id to a string (the input's value) or to
        Slack's `{action_id: {type, value...}}` state dict."""
        with self.ws.lock:
            user = self.ws.users.get(user_id)
            view = self.ws.views.get(view_id)
            if user is None or view is None:
                raise ValueError(f"unknown user {user_id!r} or view {view_id!r}")
            body = dict(view.view)
            state = view_state(body.get("blocks", []), values or {})
            body.update(
                {
                    "id": view.id,
                    "team_id": self.ws.team_id,
                    "app_id": self.ws.app_id,
                    "bot_id": self.ws.bot_id,
                    "hash": view.hash,
                    "state": {"values": state},
                    "root_view_id": view.id,
                    "previous_view_id": None,
                }
            )
        trigger = self._issue_trigger(user.id)
        payload = {
            "type": "view_submission",
            "team": {"id": self.ws.team_id, "domain": self.ws.team_domain},
            "user": {"id": user.id, "username": user.name, "name": user.name, "team_id": self.ws.team_id},
            "api_app_id": self.ws.app_id,
            "token": VERIFICATION_TOKEN,
            "trigger_id": trigger.id,
            "view": body,
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        transport, url = self._transport(via, events_url)
        if transport == "http":
            result = self._post_http(url, {"payload": json.dumps(payload)}, payload, forge, timeout)
        else:
            result = self._send_socket("interactive", payload, True, timeout)
        result.trigger_id = trigger.id
        action = (result.payload or {}).get("response_action")
        if result.ok and action in (None, "clear"):
            with self.ws.lock:
                for open_view in self.ws.views.values():
                    if open_view.user == user.id and (action == "clear" or open_view.id == view_id):
                        open_view.closed = True
        elif result.ok and action == "update" and isinstance((result.payload or {}).get("view"), dict):
            with self.ws.lock:
                view.view = dict(result.payload["view"])  # type: ignore[index]
        return result

    def trigger_for(self, user_id: str) -> str:
        """A fresh trigger_id for `user_id`, as Slack attaches to every interaction (valid 3 s)."""
        return self._issue_trigger(user_id).id

    def say(self, user_id: str, channel_id: str, text: str, thread_ts: str | None = None) -> str:
        """Post a plain message as a human (no event is sent to the bot); returns its ts."""
        user, channel = self._actor(user_id, channel_id)
        with self.ws.lock:
            message = self.ws.add_message(
                Message(
                    channel=channel.id, ts=self.ws.next_ts(), user=user.id, text=text, thread_ts=thread_ts, via="user"
                )
            )
            return message.ts

    def join(self, user_id: str, channel_id: str) -> None:
        """`user_id` joins a public channel by themselves (Slack's "Join channel"); nobody invited them.

        Slack offers no way into a private channel without an invitation, so that is a ValueError.
        """
        with self.ws.lock:
            user, channel = self._find(user_id, channel_id, member=None)
            if channel.is_private or channel.is_im:
                raise ValueError(f"{channel.name} is private: only a member can add {user.name}")
            if channel.is_archived:
                raise ValueError(f"{channel.name} is archived")
            if user.id not in channel.members:
                self.ws.add_member(channel, user.id)

    def add_members(self, user_id: str, channel_id: str, users: list[str]) -> None:
        """A member adds people to a channel from Slack itself ("Add people"), not through any app.

        Any member may do this in public and (by default) private channels.
        """
        with self.ws.lock:
            inviter, channel = self._find(user_id, channel_id, member=True)
            if channel.is_im or channel.is_archived:
                raise ValueError(f"nobody can be added to {channel.name}")
            for invited in users:
                if invited not in self.ws.users:
                    raise ValueError(f"unknown user {invited!r}: add it with SlackSim.add_user")
            for invited in users:
                if invited not in channel.members:
                    self.ws.add_member(channel, invited, inviter=inviter.id)

    # -- plumbing ------------------------------------------------------------------------

    def _find(self, user_id: str, channel_id: str, *, member: bool | None = False) -> tuple[User, Channel]:
        """The user and channel (call with the lock held).

        `member`: True, the user must be in the channel; False, only in a private one (which does not
        exist for anyone else); None, no check.
        """
        user = self.ws.users.get(user_id)
        channel = self.ws.find_channel(channel_id, allow_name=True)
        if user is None:
            raise ValueError(f"unknown user {user_id!r}: add it with SlackSim.add_user")
        if channel is None:
            raise ValueError(f"unknown channel {channel_id!r}: add it with SlackSim.add_channel")
        if member is not None and (member or channel.is_private) and user.id not in channel.members:
            # A private channel does not exist for non-members: nothing can be typed or clicked there.
            raise ValueError(f"{user.name} is not a member of {channel.name}")
        return user, channel

    def _actor(self, user_id: str, channel_id: str) -> tuple[User, Channel]:
        with self.ws.lock:
            return self._find(user_id, channel_id)

    def _issue_trigger(self, user_id: str) -> Trigger:
        with self.ws.lock:
            now = self.ws.now()
            trigger = Trigger(
                id=f"{int(now * 1000)}.{self.ws.team_id[1:]}.{uuid.uuid4().hex}", user=user_id, created=now
            )
            self.ws.triggers[trigger.id] = trigger
            return trigger

    def _response_url(self, record: ResponseUrl) -> str:
        return f"{self.sim.base_url}response/{record.id}"

    def _transport(self, via: str | None, events_url: str | None) -> tuple[str, str]:
        url = events_url or self.events_url or ""
        transport = via or ("http" if url else "socket")
        if transport == "http" and not url:
            raise ValueError("HTTP mode needs events_url (SlackSim.driver(events_url=...) or per call)")
        if transport not in ("http", "socket"):
            raise ValueError(f"via must be 'http' or 'socket', not {transport!r}")
        return transport, url

    @staticmethod
    def _action(element: dict[str, Any] | None, action_id: str, block_id: str, value: str | None) -> dict[str, Any]:
        element = element or {"type": "button", "text": {"type": "plain_text", "text": action_id}}
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": block_id,
            "type": element.get("type", "button"),
            "action_ts": f"{time.time():.6f}",
        }
        if action["type"] == "button":
            action["text"] = element.get("text", {"type": "plain_text", "text": action_id})
            action["value"] = value if value is not None else element.get("value", "")
            if "style" in element:
                action["style"] = element["style"]
        elif value is not None:
            option = next((o for o in element.get("options", []) if o.get("value") == value), None)
            action["selected_option"] = option or {"text": {"type": "plain_text", "text": value}, "value": value}
        return action

    def _post_http(
        self, url: str, form: dict[str, Any], payload: dict[str, Any], forge: Forgery | None, timeout: float,
        as_json: bool = False,
    ) -> AckResult:
        forge = forge or Forgery()
        encoded = json.dumps(form).encode() if as_json else urlencode(form).encode()
        body = forge.raw_body if forge.raw_body is not None else encoded
        timestamp = int(time.time()) + forge.timestamp_offset_s
        content_type = "application/json" if as_json else "application/x-www-form-urlencoded"
        headers = {"Content-Type": content_type, "User-Agent": SLACK_USER_AGENT}
        if not forge.omit_signature:
            headers["X-Slack-Request-Timestamp"] = str(timestamp)
            headers["X-Slack-Signature"] = sign(forge.signing_secret or self.sim.signing_secret, timestamp, body)
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                status, text = response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode("utf-8", "replace")
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            status, text = 0, str(error)
        elapsed = time.perf_counter() - started
        return AckResult(
            transport="http",
            status=status,
            body=text,
            ack_s=elapsed,
            request=payload,
            payload=_json_or_none(text),
            user_error=_user_error(status, elapsed),
        )

    def _send_socket(self, kind: str, payload: dict[str, Any], accepts_payload: bool, timeout: float) -> AckResult:
        envelope = {
            "envelope_id": str(uuid.uuid4()),
            "type": kind,
            "payload": payload,
            "accepts_response_payload": accepts_payload,
        }
        ack = self.sim.socket.send_envelope(envelope, timeout)
        status = 200 if ack.acked else 0
        return AckResult(
            transport="socket",
            status=status,
            body=json.dumps(ack.payload) if ack.payload else "",
            ack_s=ack.latency_s,
            request=payload,
            envelope_id=ack.envelope_id,
            payload=ack.payload,
            user_error=_user_error(status, ack.latency_s),
        )

    def _after_slash_ack(self, result: AckResult, record: ResponseUrl, command: str) -> None:
        """Show the user what Slack shows after a slash command's ack."""
        if result.user_error is not None:
            with self.ws.lock:
                self.ws.ephemerals.append(
                    Ephemeral(
                        channel=record.channel,
                        user=record.user,
                        ts=self.ws.next_ts(),
                        text=f'{command} failed with the error "{result.user_error}"',
                        via="slack",
                    )
                )
            return
        if result.payload is not None:
            response = result.payload
        elif result.body.strip():
            response = {"text": result.body}
        else:
            return
        status, text = apply_response(self.ws, record, response, via="ack")
        result.extra["ack_response"] = (status, text)


def find_element(
    blocks: list[dict[str, Any]], action_id: str, block_id: str | None = None
) -> tuple[str, dict[str, Any] | None]:
    """The block_id and element carrying `action_id` (in actions blocks or section accessories)."""
    for block in blocks:
        if block_id is not None and block.get("block_id") != block_id:
            continue
        candidates = list(block.get("elements", [])) if block.get("type") == "actions" else []
        if isinstance(block.get("accessory"), dict):
            candidates.append(block["accessory"])
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return str(block.get("block_id", "")), element
    return block_id or "", None


def view_state(blocks: list[dict[str, Any]], values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Build `view.state.values` from `{block_id: "text"}` shorthands or full state dicts."""
    state: dict[str, dict[str, Any]] = {}
    for block_id, value in values.items():
        if isinstance(value, dict):
            state[block_id] = value
            continue
        block = next((b for b in blocks if b.get("block_id") == block_id), {})
        element = block.get("element", {}) if isinstance(block, dict) else {}
        action_id = element.get("action_id", block_id)
        state[block_id] = {action_id: {"type": element.get("type", "plain_text_input"), "value": value}}
    return state


def _json_or_none(text: str) -> dict[str, Any] | None:
    if not text.strip().startswith("{"):
        return None
    try:
        decoded = json.loads(text)
    except ValueError:
        return None
    return decoded if isinstance(decoded, dict) else None


def _user_error(status: int, elapsed: float) -> str | None:
    if status == 0 or elapsed > SLACK_ACK_DEADLINE_S:
        return "operation_timeout"
    if status != 200:
        return "dispatch_failed"
    return None
