"""Where handlers send messages without knowing Slack.

A handler that must post more than one answer (progress in a thread, an
approval card, an incident channel) talks to an `Outbox`. The Slack bot gives
it one backed by the Web API; the shell gives it one that prints; tests can
use either.
"""

from __future__ import annotations

import itertools
import sys
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TextIO

from pydantic import BaseModel, ConfigDict

from bot.render import render_text
from bot.report import Report


class OutboxError(Exception):
    """A message could not be delivered; the text says why (e.g. `name_taken`)."""

    def __init__(self, message: str, code: str = ""):
        super().__init__(message)
        self.code = code


class Prompt(BaseModel):
    """A one-question form (Slack: a modal with one text input), transport-free.

    Its submission comes back as a click whose ``action_id`` is ``callback_id``,
    whose ``value`` is the typed text, and whose channel / message are
    ``channel`` / ``message_ts`` (so it is routed and checked like a button).
    """

    model_config = ConfigDict(frozen=True)

    callback_id: str
    title: str  # Slack: 24 characters at most
    label: str
    channel: str
    message_ts: str
    submit: str = "Submit"
    placeholder: str = ""
    min_length: int = 1
    max_length: int = 500
    multiline: bool = True


class Outbox(Protocol):
    """Posting, updating and channel operations, transport-free."""

    def post(self, channel: str, report: Report, thread_ts: str | None = None) -> str:
        """Post a report; returns the message id (Slack: its ts)."""
        ...

    def post_keyed(self, channel: str, report: Report, key: str) -> str:
        """Post a report whose message carries an idempotency key (Slack: message metadata); returns its ts.

        The transport never repeats this post by itself on an unclear failure (a
        5xx, a lost connection): the caller decides, after asking `find_keyed`.
        """
        ...

    def find_keyed(self, channel: str, key: str, since: datetime) -> str | None:
        """The ts of a message posted with `post_keyed(..., key)` since `since`, or None.

        Raises OutboxError when the channel cannot be read (then nobody knows).
        """
        ...

    def update(self, channel: str, ts: str, report: Report) -> None:
        """Replace a message the bot posted."""
        ...

    def notify(self, channel: str, report: Report) -> None:
        """Post a report nobody waits for (a copy of an audit line): returns at once, keeps the order,
        and logs a failure instead of raising it (the transport owns its pace and retries)."""
        ...

    def create_channel(self, name: str, private: bool) -> str:
        """Create a channel (private: only invited people can see it); returns its id.

        Raises OutboxError("...", "name_taken") on collision.
        """
        ...

    def invite(self, channel: str, users: list[str]) -> dict[str, str]:
        """Add users to a channel; returns those that could not be added, with why (already-present users
        count as added)."""
        ...

    def pin(self, channel: str, ts: str) -> None:
        """Pin a message."""
        ...

    def permalink(self, channel: str, ts: str) -> str | None:
        """A link to a message, when the transport has one."""
        ...

    def open_modal(self, trigger_id: str, prompt: Prompt) -> None:
        """Ask the user who clicked (``trigger_id``, < 3 s old) one question; OutboxError when it cannot."""
        ...


@dataclass
class TerminalOutbox:
    """Prints what would be posted; used by the shell (Slack may be down) and in tests."""

    out: TextIO = field(default_factory=lambda: sys.stdout)
    posted: list[tuple[str, str, Report, str | None]] = field(default_factory=list)
    channels: dict[str, str] = field(default_factory=dict)
    keyed: dict[tuple[str, str], str] = field(default_factory=dict)  # (channel, key) -> ts
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _next(self) -> str:
        with self._lock:
            return f"{next(self._ids):06d}.000000"

    def post(self, channel: str, report: Report, thread_ts: str | None = None) -> str:
        ts = self._next()
        self.posted.append((channel, ts, report, thread_ts))
        where = f"{channel} thread {thread_ts}" if thread_ts else channel
        self.out.write(f"--- posted to {where} ---\n{render_text(report)}")
        return ts

    def post_keyed(self, channel: str, report: Report, key: str) -> str:
        ts = self.post(channel, report)
        self.keyed[(channel, key)] = ts
        return ts

    def find_keyed(self, channel: str, key: str, since: datetime) -> str | None:
        return self.keyed.get((channel, key))

    def update(self, channel: str, ts: str, report: Report) -> None:
        self.posted.append((channel, ts, report, None))
        self.out.write(f"--- updated {channel} {ts} ---\n{render_text(report)}")

    def notify(self, channel: str, report: Report) -> None:
        self.post(channel, report)

    def create_channel(self, name: str, private: bool) -> str:
        if name in self.channels.values():
            raise OutboxError(f"a channel named #{name} exists", "name_taken")
        channel = f"CTERM{len(self.channels) + 1:04d}"
        self.channels[channel] = name
        self.out.write(f"--- created {'private' if private else 'public'} #{name} ({channel}) ---\n")
        return channel

    def invite(self, channel: str, users: list[str]) -> dict[str, str]:
        self.out.write(f"--- invited {', '.join(users)} to {channel} ---\n")
        return {}

    def pin(self, channel: str, ts: str) -> None:
        self.out.write(f"--- pinned {ts} in {channel} ---\n")

    def permalink(self, channel: str, ts: str) -> str | None:
        return None

    def open_modal(self, trigger_id: str, prompt: Prompt) -> None:
        raise OutboxError("forms need Slack; use the command instead", "unsupported")
