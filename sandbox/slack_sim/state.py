"""The simulated workspace: users, channels, messages, files and everything the sim recorded.

All mutation happens under `Workspace.lock`; readers get deep copies so a test can
inspect state while the bot keeps writing.
"""

from __future__ import annotations

import copy
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

# The sandbox installs the app as deploy/slack-app-manifest.yaml asks (the doctor's tests keep them equal).
DEFAULT_BOT_SCOPES = frozenset({
    "channels:history", "channels:manage", "channels:read", "chat:write", "commands", "files:write",
    "groups:history", "groups:read", "groups:write", "pins:write", "usergroups:read",
})
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass
class User:
    """A workspace member as `users.info` describes it."""

    id: str
    name: str
    real_name: str
    is_admin: bool = False
    is_bot: bool = False
    deleted: bool = False

    def to_api(self, team_id: str) -> dict[str, Any]:
        """Render the user object Slack returns."""
        return {
            "id": self.id,
            "team_id": team_id,
            "name": self.name,
            "real_name": self.real_name,
            "deleted": self.deleted,
            "is_admin": self.is_admin,
            "is_owner": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "tz": "Etc/UTC",
            "profile": {
                "real_name": self.real_name,
                "display_name": self.name,
                "team": team_id,
            },
        }


@dataclass
class Channel:
    """A conversation: public or private channel, or a bot DM (`is_im`)."""

    id: str
    name: str
    members: list[str]
    is_private: bool = False
    is_im: bool = False
    is_archived: bool = False
    created: int = 0
    creator: str = ""

    def to_api(self, viewer_id: str) -> dict[str, Any]:
        """Render the conversation object as seen by `viewer_id` (the bot)."""
        body: dict[str, Any] = {
            "id": self.id,
            "created": self.created,
            "is_archived": self.is_archived,
            "is_im": self.is_im,
            "is_member": viewer_id in self.members,
            "is_private": self.is_private or self.is_im,
        }
        if self.is_im:
            body["user"] = next((m for m in self.members if m != viewer_id), "")
            return body
        body.update(
            {
                "name": self.name,
                "name_normalized": self.name,
                "is_channel": True,
                "is_group": False,
                "is_general": False,
                "creator": self.creator,
                "num_members": len(self.members),
                "topic": {"value": "", "creator": "", "last_set": 0},
                "purpose": {"value": "", "creator": "", "last_set": 0},
            }
        )
        return body


@dataclass
class MessageVersion:
    """A previous text/blocks of a message, kept when it is edited."""

    text: str
    blocks: list[dict[str, Any]]
    replaced_at: str


@dataclass
class Message:
    """A message in a channel (top level or thread reply)."""

    channel: str
    ts: str
    user: str
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    thread_ts: str | None = None
    bot_id: str | None = None
    app_id: str | None = None
    subtype: str | None = None
    files: list[str] = field(default_factory=list)
    reply_broadcast: bool = False
    metadata: dict[str, Any] | None = None
    via: str = "api"  # api | response_url | ack | user
    edits: list[MessageVersion] = field(default_factory=list)
    deleted: bool = False

    @property
    def is_reply(self) -> bool:
        """True for a thread reply (not the parent)."""
        return self.thread_ts is not None and self.thread_ts != self.ts

    @property
    def edited(self) -> bool:
        """True once the message has been updated at least once."""
        return bool(self.edits)

    def to_api(
        self,
        team_id: str,
        reply_count: int = 0,
        files: list[dict[str, Any]] | None = None,
        *,
        include_metadata: bool = True,
    ) -> dict[str, Any]:
        """Render the message object Slack returns (history shows `metadata` only when asked for it)."""
        body: dict[str, Any] = {"type": "message", "ts": self.ts, "user": self.user, "text": self.text, "team": team_id}
        if self.subtype:
            body["subtype"] = self.subtype
        if self.bot_id:
            body["bot_id"] = self.bot_id
        if self.app_id:
            body["app_id"] = self.app_id
        if self.blocks:
            body["blocks"] = copy.deepcopy(self.blocks)
        if self.thread_ts:
            body["thread_ts"] = self.thread_ts
        if reply_count:
            body["reply_count"] = reply_count
        if self.edits:
            body["edited"] = {"user": self.user, "ts": self.edits[-1].replaced_at}
        if files:
            body["files"] = files
            body["upload"] = True
        if self.metadata and include_metadata:
            body["metadata"] = copy.deepcopy(self.metadata)
        return body


@dataclass
class Ephemeral:
    """An ephemeral message: visible to one user in one channel, never stored by Slack."""

    channel: str
    user: str
    ts: str
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    thread_ts: str | None = None
    via: str = "api"  # api | response_url | ack | slack
    edits: list[MessageVersion] = field(default_factory=list)
    deleted: bool = False


@dataclass
class SimFile:
    """A file created by files.getUploadURLExternal and filled by the upload URL."""

    id: str
    name: str
    length: int
    user: str
    created: float
    title: str = ""
    content: bytes = b""
    uploaded: bool = False
    completed: bool = False
    channels: list[str] = field(default_factory=list)
    message_ts: dict[str, str] = field(default_factory=dict)

    @property
    def is_png(self) -> bool:
        """True when the uploaded bytes carry the PNG signature."""
        return self.content.startswith(PNG_SIGNATURE)

    @property
    def filetype(self) -> str:
        """Slack-style file type, sniffed from the bytes first and the name second."""
        if self.is_png:
            return "png"
        if self.content.startswith(b"\xff\xd8\xff"):
            return "jpg"
        suffix = self.name.rsplit(".", 1)[-1].lower() if "." in self.name else ""
        return suffix or "binary"

    @property
    def mimetype(self) -> str:
        """MIME type matching `filetype`."""
        return {"png": "image/png", "jpg": "image/jpeg", "txt": "text/plain", "json": "application/json"}.get(
            self.filetype, "application/octet-stream"
        )

    def to_api(self) -> dict[str, Any]:
        """Render the file object Slack returns (no bytes)."""
        return {
            "id": self.id,
            "name": self.name,
            "title": self.title or self.name,
            "mimetype": self.mimetype,
            "filetype": self.filetype,
            "size": len(self.content),
            "user": self.user,
            "created": int(self.created),
            "is_external": False,
            "channels": list(self.channels),
        }


@dataclass
class Usergroup:
    """A user group (`@oncall`)."""

    id: str
    handle: str
    users: list[str]
    name: str = ""
    is_disabled: bool = False

    def to_api(self, team_id: str) -> dict[str, Any]:
        """Render the usergroup object Slack returns."""
        return {
            "id": self.id,
            "team_id": team_id,
            "handle": self.handle,
            "name": self.name or self.handle,
            "is_usergroup": True,
            "date_delete": 1 if self.is_disabled else 0,
            "user_count": len(self.users),
        }


@dataclass
class MemberEvent:
    """Someone joined a channel, shaped like Slack's `member_joined_channel` event.

    Recorded for every way in (invited by the bot or by a member, or joined by themselves) so tests
    can see what Slack would report to an app subscribed to the event; the sim delivers no events.
    """

    user: str
    channel: str
    channel_type: str  # "C": public channel, "G": private channel (as in the event)
    event_ts: str
    inviter: str | None = None  # absent in Slack's event when the user joined by themselves

    def to_api(self, team_id: str) -> dict[str, Any]:
        """The event body Slack sends (inside an `event_callback`)."""
        body: dict[str, Any] = {
            "type": "member_joined_channel",
            "user": self.user,
            "channel": self.channel,
            "channel_type": self.channel_type,
            "team": team_id,
            "event_ts": self.event_ts,
        }
        if self.inviter:
            body["inviter"] = self.inviter
        return body


@dataclass
class CallRecord:
    """One request the sim received (Web API, upload URL, response_url or Socket Mode ack)."""

    method: str
    params: dict[str, Any]
    token: str | None
    time: float
    http_status: int
    error: str | None = None
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the call succeeded from Slack's point of view."""
        return self.http_status == 200 and self.error is None


@dataclass
class ResponseUrl:
    """A response_url handed to the bot with a slash command or interaction."""

    id: str
    channel: str
    user: str
    created: float
    kind: str  # slash_command | block_actions | view_submission
    origin_ts: str | None = None
    origin_ephemeral: bool = False
    uses: int = 0


@dataclass
class Trigger:
    """A trigger_id: lets the bot open one modal within 3 seconds."""

    id: str
    user: str
    created: float
    used: bool = False


@dataclass
class View:
    """A modal opened with views.open."""

    id: str
    user: str
    view: dict[str, Any]
    hash: str
    created: float
    closed: bool = False


class Workspace:
    """Every piece of state of one simulated Slack workspace, guarded by one lock."""

    def __init__(
        self,
        *,
        team_id: str,
        team_domain: str,
        bot_user_id: str,
        bot_id: str,
        app_id: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.team_id = team_id
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.lock = threading.RLock()
        self._clock = clock
        self._clock_offset = 0.0
        self._last_ts_us = 0
        self._ids = itertools.count(1)
        self.free_plan = False
        # The bot token's scopes, as Slack reports them in X-OAuth-Scopes (default: the app manifest's).
        self.scopes: list[str] = sorted(DEFAULT_BOT_SCOPES)
        self.users: dict[str, User] = {}
        self.channels: dict[str, Channel] = {}
        self.usergroups: dict[str, Usergroup] = {}
        self.messages: dict[str, list[Message]] = {}
        self.ephemerals: list[Ephemeral] = []
        self.pins: dict[str, list[str]] = {}
        self.files: dict[str, SimFile] = {}
        self.response_urls: dict[str, ResponseUrl] = {}
        self.triggers: dict[str, Trigger] = {}
        self.views: dict[str, View] = {}
        self.home_views: dict[str, dict[str, Any]] = {}  # user -> the Home tab published for them
        self.calls: list[CallRecord] = []
        self.member_events: list[MemberEvent] = []

    # -- clock and ids ---------------------------------------------------------------

    def now(self) -> float:
        """Sim time: the wall clock plus whatever `advance_clock` added."""
        return self._clock() + self._clock_offset

    def advance_clock(self, seconds: float) -> None:
        """Move sim time forward (expire response_urls and trigger_ids without sleeping)."""
        with self.lock:
            self._clock_offset += seconds

    def next_ts(self) -> str:
        """A unique, increasing message timestamp like `1712345678.000123`."""
        with self.lock:
            now_us = int(self.now() * 1_000_000)
            self._last_ts_us = max(now_us, self._last_ts_us + 1)
            seconds, micros = divmod(self._last_ts_us, 1_000_000)
            return f"{seconds}.{micros:06d}"

    def new_id(self, prefix: str) -> str:
        """A fresh Slack-looking id (`C0S0000001`, `F0S0000002`, ...)."""
        with self.lock:
            return f"{prefix}0S{next(self._ids):07d}"

    # -- lookups (call with the lock held) -------------------------------------------

    def find_channel(self, ref: str, *, allow_name: bool = False) -> Channel | None:
        """A channel by id, or by `name` / `#name` when `allow_name`."""
        channel = self.channels.get(ref)
        if channel is not None or not allow_name:
            return channel
        name = ref.removeprefix("#")
        return next((c for c in self.channels.values() if c.name == name and not c.is_im), None)

    def find_message(self, channel_id: str, ts: str) -> Message | None:
        """A live (not deleted) message by channel and ts."""
        return next((m for m in self.messages.get(channel_id, []) if m.ts == ts and not m.deleted), None)

    def find_ephemeral(self, channel_id: str, ts: str) -> Ephemeral | None:
        """A live ephemeral message by channel and ts."""
        return next((e for e in self.ephemerals if e.channel == channel_id and e.ts == ts and not e.deleted), None)

    def im_channel_for(self, user_id: str) -> Channel:
        """The bot's DM with `user_id`, created on first use."""
        for channel in self.channels.values():
            if channel.is_im and user_id in channel.members:
                return channel
        channel = Channel(
            id=self.new_id("D"),
            name=user_id,
            members=[user_id, self.bot_user_id],
            is_im=True,
            created=int(self.now()),
        )
        self.channels[channel.id] = channel
        self.messages[channel.id] = []
        return channel

    def reply_count(self, channel_id: str, ts: str) -> int:
        """Number of live replies in the thread started by `ts`."""
        return sum(1 for m in self.messages.get(channel_id, []) if m.thread_ts == ts and m.ts != ts and not m.deleted)

    def message_to_api(self, message: Message, *, include_metadata: bool = True) -> dict[str, Any]:
        """A message as the Web API shows it, with reply count and files."""
        files = [self.files[f].to_api() for f in message.files if f in self.files]
        return message.to_api(
            self.team_id, self.reply_count(message.channel, message.ts), files, include_metadata=include_metadata
        )

    # -- mutation (call with the lock held) ------------------------------------------

    def add_message(self, message: Message) -> Message:
        """Append a message to its channel."""
        self.messages.setdefault(message.channel, []).append(message)
        return message

    def add_member(self, channel: Channel, user: str, inviter: str | None = None) -> None:
        """Put `user` in `channel` (invited by `inviter`, or by themselves) and log the join event."""
        channel.members.append(user)
        self.member_events.append(
            MemberEvent(
                user=user,
                channel=channel.id,
                channel_type="G" if channel.is_private else "C",
                event_ts=self.next_ts(),
                inviter=inviter,
            )
        )

    def record(self, call: CallRecord) -> None:
        """Remember a request for `SlackSim.calls()`."""
        with self.lock:
            self.calls.append(call)

    # -- read-only snapshot ----------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """A JSON-able view of channels, messages, pins, files and users for humans."""
        with self.lock:
            channels = []
            for channel in self.channels.values():
                channels.append(
                    {
                        **asdict(channel),
                        "messages": [
                            {k: v for k, v in asdict(m).items() if k != "channel"}
                            for m in self.messages.get(channel.id, [])
                            if not m.deleted
                        ],
                        "pins": list(self.pins.get(channel.id, [])),
                        "ephemerals": [asdict(e) for e in self.ephemerals if e.channel == channel.id and not e.deleted],
                    }
                )
            return {
                "team_id": self.team_id,
                "bot_user_id": self.bot_user_id,
                "free_plan": self.free_plan,
                "users": [asdict(u) for u in self.users.values()],
                "usergroups": [asdict(g) for g in self.usergroups.values()],
                "channels": channels,
                "files": [f.to_api() for f in self.files.values()],
                "views": [
                    {"id": v.id, "user": v.user, "view": v.view, "closed": v.closed} for v in self.views.values()
                ],
                "call_count": len(self.calls),
            }
