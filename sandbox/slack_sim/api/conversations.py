"""conversations.*, users.* and usergroups.* methods."""

from __future__ import annotations

import re
from typing import Any

from ..state import Channel
from .core import ApiContext, ApiError, ApiRequest, api_method, member_channel, paginate, visible_channel

MAX_CHANNEL_NAME = 80
_CHANNEL_NAME = re.compile(r"^[a-z0-9_-]+$")
RESERVED_CHANNEL_NAMES = {"here", "channel", "everyone", "group", "archive", "archived"}


def channel_name_problem(name: str) -> str | None:
    """The Slack error for an unacceptable channel name, or None."""
    if not name:
        return "invalid_name_required"
    if len(name) > MAX_CHANNEL_NAME:
        return "invalid_name_maxlength"
    if not _CHANNEL_NAME.match(name):
        return "invalid_name_specials"
    if set(name) <= {"-", "_"}:
        return "invalid_name_punctuation"
    if name in RESERVED_CHANNEL_NAMES:
        return "invalid_name"
    return None


@api_method("conversations.create")
def create_channel(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    """Create a channel with the bot as creator and first member."""
    ws = ctx.ws
    name = req.text("name") or ""
    problem = channel_name_problem(name)
    if problem:
        raise ApiError(problem)
    if any(c.name == name and not c.is_im for c in ws.channels.values()):
        raise ApiError("name_taken")
    channel = Channel(
        id=ws.new_id("C"),
        name=name,
        members=[ws.bot_user_id],
        is_private=req.flag("is_private"),
        created=int(ws.now()),
        creator=ws.bot_user_id,
    )
    ws.channels[channel.id] = channel
    ws.messages[channel.id] = []
    return {"ok": True, "channel": channel.to_api(ws.bot_user_id)}


@api_method("conversations.invite")
def invite(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    """Add users to a channel the bot is in; one bad user fails the whole call."""
    ws = ctx.ws
    channel = member_channel(ctx, req.text("channel"))
    users = list(dict.fromkeys(u.strip() for u in req.require("users", "no_user").split(",") if u.strip()))
    if not users:
        raise ApiError("no_user")
    for user in users:
        if user == ws.bot_user_id:
            raise ApiError("cant_invite_self")
        if user not in ws.users:
            raise ApiError("user_not_found", errors=[{"user": user, "ok": False, "error": "user_not_found"}])
        if user in channel.members:
            raise ApiError("already_in_channel", errors=[{"user": user, "ok": False, "error": "already_in_channel"}])
    for user in users:
        ws.add_member(channel, user, inviter=ws.bot_user_id)
    return {"ok": True, "channel": channel.to_api(ws.bot_user_id)}


@api_method("conversations.join")
def join(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    """The bot joins a public channel."""
    ws = ctx.ws
    channel = visible_channel(ctx, req.text("channel"))
    if channel.is_private or channel.is_im:
        raise ApiError("method_not_supported_for_channel_type")
    if channel.is_archived:
        raise ApiError("is_archived")
    body: dict[str, Any] = {"ok": True}
    if ws.bot_user_id in channel.members:
        body["warning"] = "already_in_channel"
        body["response_metadata"] = {"warnings": ["already_in_channel"]}
    else:
        ws.add_member(channel, ws.bot_user_id)
    body["channel"] = channel.to_api(ws.bot_user_id)
    return body


@api_method("conversations.info")
def info(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    """A channel the bot can see."""
    channel = visible_channel(ctx, req.text("channel"))
    return {"ok": True, "channel": channel.to_api(ctx.ws.bot_user_id)}


@api_method("conversations.members")
def members(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    """Member ids of a channel, paginated."""
    channel = visible_channel(ctx, req.text("channel"))
    page, cursor = paginate(list(channel.members), req)
    return {"ok": True, "members": page, "response_metadata": {"next_cursor": cursor}}


@api_method("conversations.list")
def list_channels(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    """Channels of the requested `types` the bot can see, paginated."""
    ws = ctx.ws
    types = set((req.text("types") or "public_channel").split(","))
    exclude_archived = req.flag("exclude_archived")
    visible = []
    for channel in ws.channels.values():
        if channel.is_im:
            kind = "im"
        elif channel.is_private:
            kind = "private_channel"
        else:
            kind = "public_channel"
        if kind not in types or (exclude_archived and channel.is_archived):
            continue
        if kind != "public_channel" and ws.bot_user_id not in channel.members:
            continue
        visible.append(channel.to_api(ws.bot_user_id))
    page, cursor = paginate(visible, req)
    return {"ok": True, "channels": page, "response_metadata": {"next_cursor": cursor}}


@api_method("conversations.open")
def open_dm(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    """The bot's DM with one user."""
    ws = ctx.ws
    users = [u for u in (req.text("users") or "").split(",") if u]
    if len(users) != 1:
        raise ApiError("users_list_not_supplied" if not users else "not_enough_users")
    if users[0] not in ws.users:
        raise ApiError("user_not_found")
    channel = ws.im_channel_for(users[0])
    return {"ok": True, "channel": {"id": channel.id}}


@api_method("conversations.history")
def history(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    """Top-level messages (and broadcast replies), newest first."""
    ws = ctx.ws
    channel = member_channel(ctx, req.text("channel"))
    latest = float(req.text("latest") or "inf")
    oldest = float(req.text("oldest") or "0")
    # Message metadata is returned only to a caller that asks for it.
    metadata = req.flag("include_all_metadata")
    shown = [
        ws.message_to_api(m, include_metadata=metadata)
        for m in reversed(ws.messages.get(channel.id, []))
        if not m.deleted and (not m.is_reply or m.reply_broadcast) and oldest < float(m.ts) < latest
    ]
    page, cursor = paginate(shown, req)
    return {
        "ok": True,
        "messages": page,
        "has_more": bool(cursor),
        "response_metadata": {"next_cursor": cursor},
    }


@api_method("conversations.replies")
def replies(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    """A thread: parent first, then replies oldest first."""
    ws = ctx.ws
    channel = member_channel(ctx, req.text("channel"))
    ts = req.require("ts", "thread_not_found")
    parent = ws.find_message(channel.id, ts)
    if parent is None:
        raise ApiError("thread_not_found")
    root = parent.thread_ts or parent.ts
    metadata = req.flag("include_all_metadata")
    thread = [
        ws.message_to_api(m, include_metadata=metadata)
        for m in ws.messages.get(channel.id, [])
        if not m.deleted and (m.ts == root or m.thread_ts == root)
    ]
    page, cursor = paginate(thread, req)
    return {"ok": True, "messages": page, "has_more": bool(cursor), "response_metadata": {"next_cursor": cursor}}


@api_method("users.info")
def user_info(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    """One user."""
    user = ctx.ws.users.get(req.require("user", "user_not_found"))
    if user is None:
        raise ApiError("user_not_found")
    return {"ok": True, "user": user.to_api(ctx.ws.team_id)}


def _require_paid_plan(ctx: ApiContext) -> None:
    if ctx.ws.free_plan:
        raise ApiError("plan_upgrade_required")


@api_method("usergroups.users.list")
def usergroup_users(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    """Member ids of a user group (paid plans only)."""
    _require_paid_plan(ctx)
    group = ctx.ws.usergroups.get(req.require("usergroup", "no_such_subteam"))
    if group is None or (group.is_disabled and not req.flag("include_disabled")):
        raise ApiError("no_such_subteam")
    return {"ok": True, "users": list(group.users)}


@api_method("usergroups.list")
def usergroups(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    """All user groups (paid plans only)."""
    _require_paid_plan(ctx)
    groups = []
    for group in ctx.ws.usergroups.values():
        if group.is_disabled and not req.flag("include_disabled"):
            continue
        body = group.to_api(ctx.ws.team_id)
        if req.flag("include_users"):
            body["users"] = list(group.users)
        groups.append(body)
    return {"ok": True, "usergroups": groups}
