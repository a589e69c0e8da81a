"""The incident timeline: every bot action and every command in an incident channel, with who and when.

Entries are written to the store (`incident_timeline`), keyed by the open
incident that owns the channel. Recording never breaks what it records: a
store failure is logged and swallowed, since the command or click itself
matters more than its log line. Entries are plain text; who did it is the
entry's actor, a Slack user id or `BOT_ACTOR`.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.redact import redact
from bot.runtime import Runtime

log = logging.getLogger("minio_chatops.incidents")

BOT_ACTOR = "minio-chatops"  # the actor of entries the bot writes on its own behalf
MAX_TEXT = 500


def record(runtime: Runtime, channel: str, actor: str, kind: str, text: str, at: datetime | None = None) -> bool:
    """Append to the timeline of the open incident that owns `channel`; False when there is none (or on error)."""
    # Configured channels are never incident channels: skip the store for them.
    if runtime.config.channel(channel) is not None:
        return False
    try:
        incident = runtime.store.incidents.open_in_channel(channel)
        if incident is None:
            return False
        runtime.store.incidents.add_entry(
            incident.id, actor=actor[:64], kind=kind[:32], text=redact(text)[:MAX_TEXT], at=at or runtime.clock()
        )
        return True
    except Exception as exc:  # noqa: BLE001 - a timeline line must never break the action it records
        log.warning("timeline entry not recorded", extra={"channel": channel, "error_type": type(exc).__name__})
        return False


def record_command(runtime: Runtime, channel: str, user: str, text: str) -> None:
    """COMMAND_RUN listener: note a `/minio` command run in an incident channel (no-op elsewhere)."""
    command = text.strip()
    if not command.startswith("/minio"):
        command = f"/minio {command}".strip()
    record(runtime, channel, user, "command", command)


def record_event(runtime: Runtime, channel: str, actor: str, kind: str, text: str) -> None:
    """CHANNEL_EVENT listener: note what another capability did in an incident channel (a checklist tick)."""
    record(runtime, channel, actor, kind, text)
