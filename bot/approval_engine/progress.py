"""Progress of one execution: a single message in the card's thread, edited in place, at a bounded pace."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from bot import humanize
from bot.outbox import Outbox
from bot.report import Report, Section, Text, spans

log = logging.getLogger("minio_chatops.approvals")

PROGRESS_INTERVAL_S = 10.0  # one progress message per card, edited at most this often (Slack rate-limits edits)
MAX_SHOWN_LINES = 40


class ProgressThread:
    """Progress of one execution as a single message in the card's thread, edited in place.

    The first line posts the message; later lines edit it at most once per
    ``interval_s``, and :meth:`close` flushes the rest. Without a card
    (``channel`` or ``thread_ts`` None) lines are only collected. Both go
    through the outbox, the one delivery path.
    """

    def __init__(
        self,
        outbox: Outbox,
        channel: str | None,
        thread_ts: str | None,
        title: str,
        *,
        stamp: Callable[[], datetime],
        interval_s: float = PROGRESS_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
        max_lines: int = MAX_SHOWN_LINES,
    ) -> None:
        self.outbox = outbox
        self.channel = channel
        self.thread_ts = thread_ts
        self.title = title
        self.lines: list[Text] = []
        self._stamp = stamp
        self._interval = interval_s
        self._clock = clock
        self._max = max_lines
        self._ts: str | None = None
        self._last = 0.0
        self._dirty = False
        self._lock = threading.Lock()
        self.posts = 0  # messages posted and edits made, for tests and metrics
        self.edits = 0

    def __call__(self, text: Text) -> None:
        with self._lock:
            self.lines.append(self._stamped(text))
            now = self._clock()
            if self._ts is None:
                self._post(now)
            elif now - self._last >= self._interval:
                self._edit(now)
            else:
                self._dirty = True

    def close(self, final: Text | None = None) -> None:
        """Add the last line (if any) and make sure the message shows every line."""
        with self._lock:
            if final:
                self.lines.append(self._stamped(final))
                self._dirty = True
            if self._ts is None and self.lines:
                self._post(self._clock())
            elif self._dirty:
                self._edit(self._clock())

    def report(self) -> Report:
        shown = self.lines[-self._max :]
        if len(self.lines) > len(shown):
            shown = [f"… {len(self.lines) - len(shown)} earlier lines", *shown]
        return Report(title=f"Progress: {self.title}", sections=[Section(title="Steps", lines=shown)])

    def _stamped(self, text: Text) -> Text:
        at = humanize.time_of_day(self._stamp())
        # A change kind's plain string stays one string (it may still be written in the legacy style).
        return f"{at} {text}" if isinstance(text, str) else spans(at, " ", text)

    def _post(self, now: float) -> None:
        if not self.channel or not self.thread_ts:
            return
        try:
            self._ts = self.outbox.post(self.channel, self.report(), thread_ts=self.thread_ts)
            self.posts += 1
        except Exception as exc:  # noqa: BLE001 - progress is a courtesy; the change goes on
            log.warning("progress post failed", extra={"error_type": type(exc).__name__})
        self._last, self._dirty = now, False

    def _edit(self, now: float) -> None:
        if self._ts is None or not self.channel:
            self._post(now)
            return
        try:
            self.outbox.update(self.channel, self._ts, self.report())
            self.edits += 1
        except Exception as exc:  # noqa: BLE001
            log.warning("progress update failed", extra={"error_type": type(exc).__name__})
        self._last, self._dirty = now, False
