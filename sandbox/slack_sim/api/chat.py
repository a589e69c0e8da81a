"""chat.*, pins.* and views.* methods."""

from __future__ import annotations

import copy
import re
import uuid
from typing import Any

from ..blockkit import validate_message, validate_view
from ..state import Ephemeral, Message, MessageVersion, View
from .core import ApiContext, ApiError, ApiRequest, api_method, member_channel, visible_channel

TRIGGER_TTL_S = 3.0


def message_content(req: ApiRequest) -> tuple[str | None, list[Any] | None, bool]:
    """`text`, `blocks` (None when absent) and whether legacy attachments were given."""
    text = req.params.get("text")
    blocks = req.json_value("blocks", "invalid_blocks_format")
    attachments = req.json_value("attachments", "invalid_attachments")
    if text is not None and not isinstance(text, str):
        text = str(text)
    return text, blocks, bool(attachments)


def check_content(text: str | None, blocks: Any, has_attachments: bool) -> None:
    """Raise the Slack error for a message that breaks a limit."""
    problem = validate_message(text, blocks)
    if problem is None or (problem.error == "no_text" and has_attachments):
        return
    body = problem.to_response()
    body.pop("ok")
    raise ApiError(body.pop("error"), **body)


# Slack: an event_type holds letters, digits, underscores and hyphens; no periods or other punctuation.
_EVENT_TYPE = re.compile(r"^[A-Za-z0-9_-]+$")
METADATA_SCHEMA_WARNING = "invalid_metadata_schema"


def message_metadata(req: ApiRequest) -> tuple[dict[str, Any] | None, str | None]:
    """The `metadata` parameter as Slack keeps it, and the warning to answer with.

    It must be an object with an `event_type` string and an `event_payload` object
    (else `invalid_metadata_format`). An `event_type` with other characters is not an
    error: the message is posted, the metadata dropped, and the answer warns
    `invalid_metadata_schema`.
    """
    metadata = req.json_value("metadata", "invalid_metadata_format")
    if metadata is None:
        return None, None
    if (
        not isinstance(metadata, dict)
        or not isinstance(metadata.get("event_type"), str)
        or not isinstance(metadata.get("event_payload"), dict)
    ):
        raise ApiError("invalid_metadata_format")
    if not _EVENT_TYPE.match(metadata["event_type"]):
        return None, METADATA_SCHEMA_WARNING
    return {"event_type": metadata["event_type"], "event_payload": copy.deepcopy(metadata["event_payload"])}, None


def with_warning(body: dict[str, Any], warning: str | None) -> dict[str, Any]:
    """An answer that also carries Slack's warning, as Slack sends it (both fields)."""
    if warning:
        body["warning"] = warning
        body["response_metadata"] = {"warnings": [warning]}
    return body


def thread_parent(ctx: ApiContext, channel_id: str, thread_ts: str | None) -> Message | None:
    """The parent of the thread `thread_ts` points into (a reply's ts leads to its parent)."""
    if not thread_ts:
        return None
    parent = ctx.ws.find_message(channel_id, thread_ts)
    if parent is None:
        raise ApiError("thread_not_found")
    if parent.is_reply and parent.thread_ts is not None:
        parent = ctx.ws.find_message(channel_id, parent.thread_ts) or parent
    parent.thread_ts = parent.ts
    return parent


@api_method("chat.postMessage")
def post_message(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    """Post a message as the bot to a channel it is in (or DM a user by id)."""
    ws = ctx.ws
    channel = member_channel(ctx, req.text("channel"), allow_name=True)
    text, blocks, has_attachments = message_content(req)
    check_content(text, blocks, has_attachments)
    metadata, warning = message_metadata(req)
    parent = thread_parent(ctx, channel.id, req.text("thread_ts"))
    message = ws.add_message(
        Message(
            channel=channel.id,
            ts=ws.next_ts(),
            user=ws.bot_user_id,
            text=text or "",
            blocks=blocks or [],
            thread_ts=parent.ts if parent else None,
            bot_id=ws.bot_id,
            app_id=ws.app_id,
            reply_broadcast=req.flag("reply_broadcast"),
            metadata=metadata,
        )
    )
    body = {"ok": True, "channel": channel.id, "ts": message.ts, "message": ws.message_to_api(message)}
    return with_warning(body, warning)


@api_method("chat.update")
def update_message(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    """Edit one of the bot's own messages; omitted text/blocks are kept."""
    ws = ctx.ws
    channel = member_channel(ctx, req.text("channel"))
    message = ws.find_message(channel.id, req.require("ts", "message_not_found"))
    if message is None:
        raise ApiError("message_not_found")
    if message.user != ws.bot_user_id:
        raise ApiError("cant_update_message")
    text, blocks, has_attachments = message_content(req)
    new_text = text if text is not None else message.text
    new_blocks = blocks if blocks is not None else message.blocks
    check_content(new_text, new_blocks, has_attachments)
    metadata, warning = message_metadata(req)
    message.edits.append(MessageVersion(message.text, message.blocks, replaced_at=ws.next_ts()))
    message.text = new_text
    message.blocks = copy.deepcopy(new_blocks)
    if metadata is not None:  # omitted metadata is kept, like omitted text
        message.metadata = metadata
    body = {
        "ok": True,
        "channel": channel.id,
        "ts": message.ts,
        "text": message.text,
        "message": ws.message_to_api(message),
    }
    return with_warning(body, warning)


@api_method("chat.delete")
def delete_message(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    """Delete one of the bot's own messages."""
    ws = ctx.ws
    channel = member_channel(ctx, req.text("channel"))
    message = ws.find_message(channel.id, req.require("ts", "message_not_found"))
    if message is None:
        raise ApiError("message_not_found")
    if message.user != ws.bot_user_id:
        raise ApiError("cant_delete_message")
    message.deleted = True
    pins = ws.pins.get(channel.id, [])
    if message.ts in pins:
        pins.remove(message.ts)
    return {"ok": True, "channel": channel.id, "ts": message.ts}


@api_method("chat.postEphemeral")
def post_ephemeral(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    """Show a message to one member of a channel."""
    ws = ctx.ws
    channel = member_channel(ctx, req.text("channel"), allow_name=True)
    user = req.require("user", "user_not_found")
    if user not in ws.users:
        raise ApiError("user_not_found")
    if user not in channel.members:
        raise ApiError("user_not_in_channel")
    text, blocks, has_attachments = message_content(req)
    check_content(text, blocks, has_attachments)
    ephemeral = Ephemeral(
        channel=channel.id,
        user=user,
        ts=ws.next_ts(),
        text=text or "",
        blocks=blocks or [],
        thread_ts=req.text("thread_ts"),
    )
    ws.ephemerals.append(ephemeral)
    return {"ok": True, "message_ts": ephemeral.ts}


@api_method("chat.getPermalink")
def get_permalink(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    """A permalink to a message."""
    channel = visible_channel(ctx, req.text("channel"))
    ts = req.require("message_ts", "message_not_found")
    if ctx.ws.find_message(channel.id, ts) is None:
        raise ApiError("message_not_found")
    link = f"https://{ctx.ws.team_domain}.slack.com/archives/{channel.id}/p{ts.replace('.', '')}"
    return {"ok": True, "channel": channel.id, "permalink": link}


@api_method("pins.add")
def add_pin(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    """Pin a message to its channel."""
    ws = ctx.ws
    channel = member_channel(ctx, req.text("channel"))
    ts = req.require("timestamp", "no_item_specified")
    if ws.find_message(channel.id, ts) is None:
        raise ApiError("message_not_found")
    pins = ws.pins.setdefault(channel.id, [])
    if ts in pins:
        raise ApiError("already_pinned")
    pins.append(ts)
    return {"ok": True}


@api_method("pins.list")
def list_pins(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    """Pinned messages of a channel."""
    ws = ctx.ws
    channel = visible_channel(ctx, req.text("channel"))
    items = []
    for ts in ws.pins.get(channel.id, []):
        message = ws.find_message(channel.id, ts)
        if message is not None:
            items.append({"type": "message", "channel": channel.id, "message": ws.message_to_api(message)})
    return {"ok": True, "items": items}


def view_to_api(ctx: ApiContext, view: View) -> dict[str, Any]:
    """The view object views.* methods return."""
    body = copy.deepcopy(view.view)
    body.update(
        {
            "id": view.id,
            "team_id": ctx.ws.team_id,
            "app_id": ctx.ws.app_id,
            "bot_id": ctx.ws.bot_id,
            "hash": view.hash,
            "state": {"values": {}},
            "root_view_id": view.id,
            "previous_view_id": None,
        }
    )
    body.setdefault("private_metadata", "")
    body.setdefault("callback_id", "")
    body.setdefault("external_id", "")
    return body


def checked_view(req: ApiRequest) -> dict[str, Any]:
    """The `view` parameter, validated."""
    view = req.json_value("view", "invalid_arguments")
    problem = validate_view(view)
    if problem is not None:
        body = problem.to_response()
        raise ApiError(body["error"], response_metadata=body.get("response_metadata", {}))
    assert isinstance(view, dict)
    return view


@api_method("views.publish")
def publish_view(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    """Set a user's App Home tab (a `home` view of at most 100 blocks)."""
    ws = ctx.ws
    user = req.require("user_id", "invalid_arguments")
    if user not in ws.users:
        raise ApiError("user_not_found")
    view = checked_view(req)
    if view.get("type") != "home":
        problem = "must be a home view [json-pointer:/view/type]"
        raise ApiError("invalid_arguments", response_metadata={"messages": [problem]})
    ws.home_views[user] = view
    return {"ok": True, "view": {"id": ws.new_id("V"), "type": "home", "blocks": view.get("blocks", [])}}


@api_method("views.open")
def open_view(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    """Open a modal for the user whose action issued `trigger_id` (valid 3 s, once)."""
    ws = ctx.ws
    trigger = ws.triggers.get(req.require("trigger_id", "invalid_trigger_id"))
    if trigger is None:
        raise ApiError("invalid_trigger_id")
    if trigger.used:
        raise ApiError("exchanged_trigger_id")
    if ws.now() - trigger.created > TRIGGER_TTL_S:
        raise ApiError("expired_trigger_id")
    view_body = checked_view(req)
    trigger.used = True
    view = View(id=ws.new_id("V"), user=trigger.user, view=view_body, hash=uuid.uuid4().hex[:16], created=ws.now())
    ws.views[view.id] = view
    return {"ok": True, "view": view_to_api(ctx, view)}


@api_method("views.update")
def update_view(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    """Replace an open modal (by `view_id` or `external_id`), honouring `hash`."""
    ws = ctx.ws
    view_id, external_id = req.text("view_id"), req.text("external_id")
    view = ws.views.get(view_id or "") or next(
        (v for v in ws.views.values() if external_id and v.view.get("external_id") == external_id), None
    )
    if view is None:
        raise ApiError("not_found")
    expected = req.text("hash")
    if expected and expected != view.hash:
        raise ApiError("hash_conflict")
    view.view = checked_view(req)
    view.hash = uuid.uuid4().hex[:16]
    return {"ok": True, "view": view_to_api(ctx, view)}
