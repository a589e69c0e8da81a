"""response_url: issue one per slash command / interaction and apply what the bot posts to it.

A response_url takes up to 5 posts within 30 minutes. Posts become ephemeral messages to the
invoking user unless `response_type` is `in_channel`; `replace_original` / `delete_original`
act on the message the interaction came from. Ack bodies (HTTP or Socket Mode payloads) go
through the same path without using up a post.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from .blockkit import validate_message
from .state import Ephemeral, Message, MessageVersion, ResponseUrl, Workspace

RESPONSE_URL_MAX_USES = 5
RESPONSE_URL_TTL_S = 30 * 60


def issue_response_url(
    ws: Workspace,
    *,
    channel: str,
    user: str,
    kind: str,
    origin_ts: str | None = None,
    origin_ephemeral: bool = False,
) -> ResponseUrl:
    """Create and remember a response_url for one interaction."""
    with ws.lock:
        record = ResponseUrl(
            id=ws.new_id("R"),
            channel=channel,
            user=user,
            created=ws.now(),
            kind=kind,
            origin_ts=origin_ts,
            origin_ephemeral=origin_ephemeral,
        )
        ws.response_urls[record.id] = record
        return record


def post_to_response_url(ws: Workspace, url_id: str, body: bytes) -> tuple[int, str]:
    """Handle a POST to `/response/<url_id>`; returns (HTTP status, plain-text body)."""
    with ws.lock:
        record = ws.response_urls.get(url_id)
        if record is None:
            return 404, "invalid_url"
        if ws.now() - record.created > RESPONSE_URL_TTL_S or record.uses >= RESPONSE_URL_MAX_USES:
            return 404, "expired_url"
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            return 400, "invalid_payload"
        if not isinstance(payload, dict):
            return 400, "invalid_payload"
        status, text = apply_response(ws, record, payload, via="response_url")
        if status == 200:
            record.uses += 1
        return status, text


def _replace(target: Message | Ephemeral, text: str, blocks: list[Any], replaced_at: str) -> None:
    target.edits.append(MessageVersion(target.text, target.blocks, replaced_at=replaced_at))
    target.text = text
    target.blocks = copy.deepcopy(blocks)


def apply_response(ws: Workspace, record: ResponseUrl, payload: dict[str, Any], *, via: str) -> tuple[int, str]:
    """Turn a response payload into what the user sees; returns (HTTP status, body text)."""
    with ws.lock:
        origin: Message | Ephemeral | None = None
        if record.origin_ts:
            if record.origin_ephemeral:
                origin = ws.find_ephemeral(record.channel, record.origin_ts)
            else:
                origin = ws.find_message(record.channel, record.origin_ts)
        if payload.get("delete_original") in (True, "true"):
            if origin is None:
                return 404, "message_not_found"
            origin.deleted = True
            return 200, "ok"
        text = payload.get("text")
        blocks = payload.get("blocks")
        problem = validate_message(text, blocks)
        if problem is not None:
            return 400, problem.error
        if payload.get("replace_original") in (True, "true") and origin is not None:
            _replace(origin, text or "", blocks or [], ws.next_ts())
            return 200, "ok"
        thread_ts = payload.get("thread_ts")
        if payload.get("response_type") == "in_channel":
            ws.add_message(
                Message(
                    channel=record.channel,
                    ts=ws.next_ts(),
                    user=ws.bot_user_id,
                    text=text or "",
                    blocks=blocks or [],
                    thread_ts=thread_ts,
                    bot_id=ws.bot_id,
                    app_id=ws.app_id,
                    via=via,
                )
            )
        else:
            ws.ephemerals.append(
                Ephemeral(
                    channel=record.channel,
                    user=record.user,
                    ts=ws.next_ts(),
                    text=text or "",
                    blocks=blocks or [],
                    thread_ts=thread_ts,
                    via=via,
                )
            )
        return 200, "ok"
