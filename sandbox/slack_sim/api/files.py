"""files.* (the v2 upload flow), the upload URL itself, auth.test and apps.connections.open."""

from __future__ import annotations

import email.parser
import email.policy
import threading
from typing import Any

from ..state import Message, SimFile
from .core import APP, ApiContext, ApiError, ApiRequest, api_method, member_channel


@api_method("auth.test")
def auth_test(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    """Who the bot token belongs to."""
    ws = ctx.ws
    bot = ws.users.get(ws.bot_user_id)
    return {
        "ok": True,
        "url": f"https://{ws.team_domain}.slack.com/",
        "team": "Sim Workspace",
        "user": bot.name if bot else "bot",
        "team_id": ws.team_id,
        "user_id": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "is_enterprise_install": False,
    }


@api_method("apps.connections.open", token_kind=APP)
def open_connection(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    """A fresh Socket Mode websocket URL (app-level token only)."""
    return {"ok": True, "url": ctx.socket_url()}


@api_method("files.getUploadURLExternal")
def get_upload_url(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    """Reserve a file id and hand out the URL to POST its bytes to."""
    ws = ctx.ws
    filename = req.require("filename")
    length = req.integer("length", 0)
    if length <= 0:
        raise ApiError("invalid_arguments", response_metadata={"messages": ["[ERROR] missing required field: length"]})
    file = SimFile(id=ws.new_id("F"), name=filename, length=length, user=ws.bot_user_id, created=ws.now())
    ws.files[file.id] = file
    return {"ok": True, "upload_url": f"{ctx.public_url()}upload/v1/{file.id}", "file_id": file.id}


def receive_upload(ctx: ApiContext, file_id: str, body: bytes, content_type: str) -> tuple[int, str]:
    """Store bytes POSTed to an upload URL (raw body or multipart `file` field)."""
    content = body
    if content_type.startswith("multipart/form-data"):
        parsed = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + body
        )
        parts = [
            p
            for p in parsed.iter_parts()
            if p.get_filename() or p.get_param("name", header="content-disposition") == "file"
        ]
        if not parts:
            return 400, "invalid_payload"
        payload = parts[0].get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
    with ctx.ws.lock:
        file = ctx.ws.files.get(file_id)
        if file is None or file.completed:
            return 404, "file_not_found"
        file.content = content
        file.uploaded = True
    return 200, f"OK - {len(content)}"


def _share(ctx: ApiContext, files: list[SimFile], channel_id: str, comment: str, thread_ts: str | None) -> None:
    ws = ctx.ws
    with ws.lock:
        message = ws.add_message(
            Message(
                channel=channel_id,
                ts=ws.next_ts(),
                user=ws.bot_user_id,
                text=comment,
                thread_ts=thread_ts,
                bot_id=ws.bot_id,
                app_id=ws.app_id,
                files=[f.id for f in files],
            )
        )
        for file in files:
            file.channels.append(channel_id)
            file.message_ts[channel_id] = message.ts


@api_method("files.completeUploadExternal")
def complete_upload(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    """Finish uploads and share them into a channel the bot is in (asynchronously, like Slack)."""
    ws = ctx.ws
    entries = req.json_value("files", "invalid_arguments")
    if not isinstance(entries, list) or not entries:
        raise ApiError("invalid_arguments", response_metadata={"messages": ["[ERROR] missing required field: files"]})
    files: list[SimFile] = []
    for entry in entries:
        file = ws.files.get(entry.get("id", "")) if isinstance(entry, dict) else None
        if file is None or not file.uploaded:
            raise ApiError("file_not_found")
        file.title = str(entry.get("title") or file.name)
        files.append(file)
    refs = [req.text("channel_id"), *(req.text("channels") or "").split(",")]
    channels = [member_channel(ctx, ref) for ref in refs if ref]
    thread_ts = req.text("thread_ts")
    if thread_ts and channels and ws.find_message(channels[0].id, thread_ts) is None:
        raise ApiError("thread_not_found")
    for file in files:
        file.completed = True
    comment = req.text("initial_comment") or ""
    for channel in channels:
        if ctx.file_share_delay_s > 0:
            timer = threading.Timer(ctx.file_share_delay_s, _share, (ctx, files, channel.id, comment, thread_ts))
            timer.daemon = True
            timer.start()
        else:
            _share(ctx, files, channel.id, comment, thread_ts)
    return {"ok": True, "files": [{"id": f.id, "title": f.title} for f in files]}
