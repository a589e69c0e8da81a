"""What every Web API method shares: the request wrapper, errors, the method registry, lookups."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..state import Channel, Workspace

BOT = "bot"
APP = "app"


class ApiError(Exception):
    """A Slack error answer: `{"ok": false, "error": error, **extra}` with HTTP 200."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra

    def to_response(self) -> dict[str, Any]:
        """The JSON body to send."""
        return {"ok": False, "error": self.error, **self.extra}


@dataclass
class ApiContext:
    """What handlers need besides the workspace: public URLs and tunables."""

    ws: Workspace
    public_url: Callable[[], str]  # e.g. http://127.0.0.1:PORT/
    socket_url: Callable[[], str]  # issues a fresh ws:// URL with a ticket
    file_share_delay_s: float = 0.0


@dataclass
class ApiRequest:
    """One decoded Web API call: form, JSON and query parameters merged."""

    method: str
    params: dict[str, Any]
    token: str | None

    def text(self, name: str) -> str | None:
        """A parameter as a string; None when absent (JSON null counts as absent)."""
        value = self.params.get(name)
        if value is None:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        return value if isinstance(value, str) else str(value)

    def require(self, name: str, error: str = "invalid_arguments") -> str:
        """A non-empty string parameter, else `error`."""
        value = self.text(name)
        if not value:
            if error == "invalid_arguments":
                raise ApiError(error, response_metadata={"messages": [f"[ERROR] missing required field: {name}"]})
            raise ApiError(error)
        return value

    def flag(self, name: str) -> bool:
        """A boolean parameter (`true`, `1`, JSON true)."""
        value = self.params.get(name)
        if isinstance(value, bool):
            return value
        return str(value).lower() in ("1", "true") if value is not None else False

    def json_value(self, name: str, error: str) -> Any:
        """A parameter that may arrive as JSON text (form posts) or as JSON (JSON posts)."""
        value = self.params.get(name)
        if isinstance(value, str):
            if not value.strip():
                return None
            try:
                return json.loads(value)
            except ValueError:
                raise ApiError(error) from None
        return value

    def integer(self, name: str, default: int) -> int:
        """An integer parameter."""
        value = self.text(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except ValueError:
            raise ApiError("invalid_arguments") from None


Handler = Callable[[ApiContext, ApiRequest], dict[str, Any]]
REGISTRY: dict[str, tuple[str, Handler]] = {}


def api_method(name: str, token_kind: str = BOT) -> Callable[[Handler], Handler]:
    """Register a handler for a Web API method and the token type it accepts."""

    def register(handler: Handler) -> Handler:
        REGISTRY[name] = (token_kind, handler)
        return handler

    return register


def visible_channel(ctx: ApiContext, ref: str | None, *, allow_name: bool = False) -> Channel:
    """The channel the bot can see: private channels and DMs it is not in do not exist for it."""
    ws = ctx.ws
    if not ref:
        raise ApiError("channel_not_found")
    channel = ws.find_channel(ref, allow_name=allow_name)
    if channel is None and allow_name and ref in ws.users and ref != ws.bot_user_id:
        channel = ws.im_channel_for(ref)
    if channel is None:
        raise ApiError("channel_not_found")
    if (channel.is_private or channel.is_im) and ws.bot_user_id not in channel.members:
        raise ApiError("channel_not_found")
    return channel


def member_channel(ctx: ApiContext, ref: str | None, *, allow_name: bool = False) -> Channel:
    """The channel, provided the bot is a member and it is not archived."""
    channel = visible_channel(ctx, ref, allow_name=allow_name)
    if ctx.ws.bot_user_id not in channel.members:
        raise ApiError("not_in_channel")
    if channel.is_archived:
        raise ApiError("is_archived")
    return channel


def paginate(items: list[Any], req: ApiRequest, default_limit: int = 100) -> tuple[list[Any], str]:
    """Slice by `cursor`/`limit`; returns the page and the next cursor ("" at the end)."""
    limit = max(1, min(req.integer("limit", default_limit) or default_limit, 1000))
    cursor = req.text("cursor") or ""
    offset = 0
    if cursor:
        try:
            offset = int(base64.b64decode(cursor).decode().removeprefix("offset:"))
        except (ValueError, binascii.Error):
            raise ApiError("invalid_cursor") from None
    page = items[offset : offset + limit]
    next_offset = offset + limit
    next_cursor = base64.b64encode(f"offset:{next_offset}".encode()).decode() if next_offset < len(items) else ""
    return page, next_cursor
