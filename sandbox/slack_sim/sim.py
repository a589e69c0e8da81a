"""`SlackSim`: one simulated Slack workspace with a Web API server and a Socket Mode endpoint."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from .api import ApiContext, WebApi
from .driver import SlackDriver
from .faults import Fault, FaultPlan, RateLimiter
from .server import SimHTTPServer, SimRouter
from .socket_mode import SocketModeServer
from .state import CallRecord, Channel, Ephemeral, MemberEvent, Message, SimFile, User, Usergroup, View, Workspace

T = TypeVar("T")

DEMO_USERS = (
    ("U0ALICE", "alice", "Alice Andersen", True),
    ("U0BOB", "bob", "Bob Brown", False),
    ("U0CAROL", "carol", "Carol Chen", False),
)
DEFAULT_BOT_TOKEN = "xoxb-sim-token"
DEFAULT_APP_TOKEN = "xapp-sim-token"
DEFAULT_SIGNING_SECRET = "sim-signing-secret"
DEMO_OPS_CHANNEL = "C0OPS"
DEMO_PLATFORM_CHANNEL = "C0PLATFORM"
DEMO_ONCALL_GROUP = "S0ONCALL"


class SlackSim:
    """A local Slack: point `WebClient(base_url=sim.api_url)` at it and drive it as users.

    Example:
        sim = SlackSim().start()
        sim.seed_demo()
        WebClient(token=sim.bot_token, base_url=sim.api_url).chat_postMessage(channel="C0OPS", text="hi")
        assert sim.messages("C0OPS")[-1].text == "hi"
        sim.stop()
    """

    def __init__(
        self,
        bot_token: str = DEFAULT_BOT_TOKEN,
        app_token: str = DEFAULT_APP_TOKEN,
        signing_secret: str = DEFAULT_SIGNING_SECRET,
        team_id: str = "T0SIM",
        bot_user_id: str = "U0BOT",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        socket_port: int = 0,
        bot_name: str = "minio-bot",
        bot_id: str = "B0BOT",
        app_id: str = "A0SIM",
        team_domain: str = "sim-workspace",
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.signing_secret = signing_secret
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.host = host
        self.port = port
        self.ws = Workspace(
            team_id=team_id, team_domain=team_domain, bot_user_id=bot_user_id, bot_id=bot_id, app_id=app_id
        )
        self.ws.users[bot_user_id] = User(id=bot_user_id, name=bot_name, real_name=bot_name, is_bot=True)
        self.faults = FaultPlan(clock=self.ws.now)
        self.limiter = RateLimiter()
        self.socket = SocketModeServer(self.ws, host=host, port=socket_port)
        self.api = WebApi(
            ApiContext(ws=self.ws, public_url=lambda: self.base_url, socket_url=self.socket.issue_url),
            bot_token=bot_token,
            app_token=app_token,
        )
        self._http: SimHTTPServer | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> SlackSim:
        """Bind both servers (free ports unless given) and serve in background threads."""
        self._http = SimHTTPServer((self.host, self.port), SimRouter(self.ws, self.api, self.faults, self.limiter))
        self.port = self._http.port
        self._http.start()
        self.socket.start()
        return self

    def stop(self) -> None:
        """Close websocket connections and stop serving."""
        self.socket.stop()
        if self._http is not None:
            self._http.stop()
            self._http = None

    def __enter__(self) -> SlackSim:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """Root URL of the HTTP server, ending in `/`."""
        return f"http://{self.host}:{self.port}/"

    @property
    def api_url(self) -> str:
        """Web API base URL for `WebClient(base_url=...)`, ending in `/api/`."""
        return f"{self.base_url}api/"

    # -- workspace setup -----------------------------------------------------------------

    def add_user(self, user_id: str, name: str, real_name: str | None = None, is_admin: bool = False) -> User:
        """Add a member to the workspace."""
        user = User(id=user_id, name=name, real_name=real_name or name.title(), is_admin=is_admin)
        with self.ws.lock:
            self.ws.users[user_id] = user
        return user

    def add_channel(
        self,
        name: str,
        members: list[str] | None = None,
        bot_member: bool = True,
        *,
        is_private: bool = False,
        channel_id: str | None = None,
    ) -> str:
        """Add a channel (the bot joins it unless `bot_member=False`); returns its id."""
        with self.ws.lock:
            channel_id = channel_id or self.ws.new_id("C")
            everyone = list(members or [])
            if bot_member and self.bot_user_id not in everyone:
                everyone.append(self.bot_user_id)
            self.ws.channels[channel_id] = Channel(
                id=channel_id,
                name=name.removeprefix("#"),
                members=everyone,
                is_private=is_private,
                created=int(self.ws.now()),
                creator=everyone[0] if everyone else "",
            )
            self.ws.messages.setdefault(channel_id, [])
        return channel_id

    def add_usergroup(self, group_id: str, handle: str, users: list[str], name: str | None = None) -> Usergroup:
        """Add a user group such as `@oncall`."""
        group = Usergroup(id=group_id, handle=handle, users=list(users), name=name or handle)
        with self.ws.lock:
            self.ws.usergroups[group_id] = group
        return group

    def seed_demo(self) -> dict[str, str]:
        """alice/bob/carol, #ops (all three + bot), #platform (alice + carol, bot NOT a member), @oncall."""
        for user_id, name, real_name, is_admin in DEMO_USERS:
            self.add_user(user_id, name, real_name, is_admin)
        ops = self.add_channel("ops", ["U0ALICE", "U0BOB", "U0CAROL"], channel_id=DEMO_OPS_CHANNEL)
        platform = self.add_channel(
            "platform", ["U0ALICE", "U0CAROL"], bot_member=False, channel_id=DEMO_PLATFORM_CHANNEL
        )
        self.add_usergroup(DEMO_ONCALL_GROUP, "oncall", ["U0ALICE", "U0BOB"], name="On-call")
        return {"ops": ops, "platform": platform, "oncall": DEMO_ONCALL_GROUP}

    def set_free_plan(self, free: bool = True) -> None:
        """On a free plan usergroups.* answers `plan_upgrade_required`."""
        with self.ws.lock:
            self.ws.free_plan = free

    def set_scopes(self, scopes: list[str]) -> None:
        """The scopes the bot token holds (auth.test and every bot call report them in X-OAuth-Scopes)."""
        with self.ws.lock:
            self.ws.scopes = sorted(scopes)

    def set_rate_limits(self, enabled: bool = True) -> None:
        """Rate-limit like Slack: chat.postMessage ~1/s per channel (burst 3), tiers for the rest."""
        self.limiter.enabled = enabled
        self.limiter.reset()

    def set_file_share_delay(self, seconds: float) -> None:
        """Share completed uploads into channels after `seconds` (Slack shares asynchronously)."""
        self.api.ctx.file_share_delay_s = seconds

    def advance_clock(self, seconds: float) -> None:
        """Move sim time forward: expires response_urls (30 min) and trigger_ids (3 s)."""
        self.ws.advance_clock(seconds)

    # -- faults --------------------------------------------------------------------------

    def inject(
        self,
        method: str,
        status: int = 429,
        retry_after: int = 1,
        times: int | None = 1,
        latency_ms: int = 0,
        error: str | None = None,
        for_seconds: float | None = None,
    ) -> None:
        """Break the next `times` calls of `method` (`*` = any; also `upload`, `response_url`).

        status 429 -> `ratelimited` + `Retry-After: retry_after`; 5xx -> server error;
        200 + error -> `{"ok": false, "error": error}`; 200 alone -> just `latency_ms`.
        `for_seconds`: an outage instead, every matching call for that long in sim time
        (`advance_clock` ends it early), e.g. ``inject("*", status=500, for_seconds=120)``.
        """
        self.faults.add(
            Fault(
                method=method, status=status, retry_after=retry_after, times=times, latency_ms=latency_ms, error=error,
                for_seconds=for_seconds,
            )
        )

    def clear_faults(self) -> None:
        """Drop faults not yet consumed."""
        self.faults.clear()

    # -- users' side -----------------------------------------------------------------------

    def driver(self, events_url: str | None = None) -> SlackDriver:
        """A driver acting as users; HTTP mode when `events_url` is given, else Socket Mode."""
        return SlackDriver(self, events_url)

    def socket_connections(self) -> int:
        """Number of bots connected over Socket Mode."""
        return self.socket.connection_count()

    def disconnect_socket_clients(self, reason: str = "refresh_requested") -> None:
        """Ask connected bots to reconnect, as Slack does periodically."""
        self.socket.disconnect_all(reason)

    def drop_socket_connections(self) -> None:
        """Hang up every Socket Mode connection abruptly (no `disconnect` message first)."""
        self.socket.drop_all()

    # -- what people see -----------------------------------------------------------------

    def messages(self, channel_id: str, include_replies: bool = True) -> list[Message]:
        """Live messages of a channel, oldest first, as currently shown (after edits)."""
        with self.ws.lock:
            return [
                copy.deepcopy(m)
                for m in self.ws.messages.get(channel_id, [])
                if not m.deleted and (include_replies or not m.is_reply)
            ]

    def thread(self, channel_id: str, ts: str) -> list[Message]:
        """A thread: the parent, then its replies."""
        return [m for m in self.messages(channel_id) if m.ts == ts or m.thread_ts == ts]

    def ephemerals(self, channel_id: str, user_id: str | None = None) -> list[Ephemeral]:
        """Ephemeral messages shown in a channel (to one user, or to anyone)."""
        with self.ws.lock:
            return [
                copy.deepcopy(e)
                for e in self.ws.ephemerals
                if e.channel == channel_id and not e.deleted and (user_id is None or e.user == user_id)
            ]

    def files(self, channel_id: str | None = None) -> list[SimFile]:
        """Uploaded files (those shared into `channel_id`, or all)."""
        with self.ws.lock:
            return [copy.deepcopy(f) for f in self.ws.files.values() if channel_id is None or channel_id in f.channels]

    def pins(self, channel_id: str) -> list[str]:
        """Timestamps of pinned messages."""
        with self.ws.lock:
            return list(self.ws.pins.get(channel_id, []))

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        """The App Home tab last published for the user (views.publish), if any."""
        with self.ws.lock:
            view = self.ws.home_views.get(user_id)
            return copy.deepcopy(view) if view is not None else None

    def views(self, user_id: str | None = None, include_closed: bool = False) -> list[View]:
        """Modals opened with views.open."""
        with self.ws.lock:
            return [
                copy.deepcopy(v)
                for v in self.ws.views.values()
                if (user_id is None or v.user == user_id) and (include_closed or not v.closed)
            ]

    def channel(self, channel_id: str) -> Channel | None:
        """A channel by id or name."""
        with self.ws.lock:
            channel = self.ws.find_channel(channel_id, allow_name=True)
            return copy.deepcopy(channel)

    def member_events(self, channel_id: str | None = None) -> list[dict[str, object]]:
        """`member_joined_channel` events (as Slack would send them) for one channel or all, oldest first."""
        with self.ws.lock:
            events: list[MemberEvent] = [
                e for e in self.ws.member_events if channel_id is None or e.channel == channel_id
            ]
            return [e.to_api(self.ws.team_id) for e in events]

    def calls(self, method: str | None = None) -> list[CallRecord]:
        """Every request received, oldest first (optionally only one method)."""
        with self.ws.lock:
            return [copy.deepcopy(c) for c in self.ws.calls if method is None or c.method == method]

    def state(self) -> dict[str, Any]:
        """The JSON-able snapshot served at `/_sim/state`."""
        return self.ws.snapshot()

    @staticmethod
    def wait_for(predicate: Callable[[], T], timeout: float = 5.0, interval: float = 0.02) -> T:
        """Poll until `predicate()` is truthy and return it; TimeoutError after `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.monotonic() >= deadline:
                raise TimeoutError(f"condition not met within {timeout}s")
            time.sleep(interval)
