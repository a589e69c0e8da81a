"""Buttons: each declared once with the handler that answers a click.

A click is acked at once by the Slack app; the handler runs on the work queue
and returns what to change: the clicked message, a reply in its thread, or an
ephemeral note to the clicker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.reports import Report

if TYPE_CHECKING:
    from bot.invocation import Invocation


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


@dataclass(frozen=True)
class Button:
    """Routes action ids `<prefix>` and `<prefix>:<anything>` to `handler`."""

    prefix: str
    handler: Callable[[Invocation, Click], ClickResult]


@dataclass
class Buttons:
    """All buttons the bot answers, by prefix."""

    by_prefix: dict[str, Button] = field(default_factory=dict)

    def add(self, button: Button) -> None:
        if button.prefix in self.by_prefix:
            raise ValueError(f"button {button.prefix} declared twice")
        self.by_prefix[button.prefix] = button

    def find(self, action_id: str) -> Button | None:
        return self.by_prefix.get(action_id.split(":", 1)[0])
