"""A button press and what it changes.

Buttons are declared on a capability (`bot.application.Capability.button`). A
click is acked at once by the Slack app; the handler runs on the work queue
and returns what to change: the clicked message, a reply in its thread, or an
ephemeral note to the clicker.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.report import Report


@dataclass(frozen=True)
class Click:
    """A button press, from the signed payload's trusted fields."""

    user: str
    channel: str
    message_ts: str
    action_id: str
    value: str
    thread_ts: str | None = None  # the thread the clicked message lives in, if any
    trigger_id: str | None = None  # lets the handler open a form (valid ~3 s); None outside Slack


@dataclass
class ClickResult:
    """What a click changes. Any field may be None."""

    update: Report | None = None  # replaces the clicked message
    reply: Report | None = None  # posted in the clicked message's thread
    ephemeral: Report | None = None  # only the clicker sees it
