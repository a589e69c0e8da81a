"""Fault injection (429, 5xx, latency, forced errors) and Slack-like rate limiting."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

# Per-minute limits of Slack's tiers, for the methods the sim implements.
TIER_PER_MINUTE = {1: 1, 2: 20, 3: 50, 4: 100}
METHOD_TIERS = {
    "conversations.create": 2,
    "conversations.list": 2,
    "pins.add": 2,
    "usergroups.users.list": 2,
    "usergroups.list": 2,
    "chat.update": 3,
    "chat.delete": 3,
    "conversations.invite": 3,
    "conversations.join": 3,
    "conversations.info": 3,
    "conversations.history": 3,
    "conversations.replies": 3,
    "conversations.open": 3,
    "chat.postEphemeral": 4,
    "conversations.members": 4,
    "users.info": 4,
    "views.open": 4,
    "views.update": 4,
    "files.getUploadURLExternal": 4,
    "files.completeUploadExternal": 4,
}
# chat.postMessage: about one message per second per channel, with a short burst.
POST_MESSAGE_PER_SECOND = 1.0
POST_MESSAGE_BURST = 3


@dataclass
class Fault:
    """What to do to the next `times` requests of `method` (`*` matches every method).

    `status` 429 answers `ratelimited` with a `Retry-After` header, 5xx answers a server
    error, 200 with `error` answers `{"ok": false, "error": error}`, and 200 without
    `error` only adds `latency_ms`. `times=None` keeps the fault until it is cleared.
    `for_seconds` makes it an outage instead ("500 for two minutes"): it applies to every
    matching request until that much sim time has passed since it was queued (`times`
    is then ignored).
    """

    method: str
    status: int = 429
    retry_after: int = 1
    times: int | None = 1
    latency_ms: int = 0
    error: str | None = None
    for_seconds: float | None = None
    ends_at: float | None = None  # sim time; set by FaultPlan.add from `for_seconds`

    def matches(self, method: str) -> bool:
        """True when this fault applies to `method`."""
        return self.method in ("*", method)

    def over(self, now: float) -> bool:
        """True once a time-bounded fault has run its course."""
        return self.ends_at is not None and now >= self.ends_at


class FaultPlan:
    """Queued faults, consumed first-in first-out per method; `clock` is the sim's time."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._clock = clock

    def add(self, fault: Fault) -> None:
        """Queue a fault (a `for_seconds` fault starts counting now)."""
        if fault.for_seconds is not None:
            if fault.for_seconds <= 0:
                raise ValueError("for_seconds must be positive")
            fault.times = None
            fault.ends_at = self._clock() + fault.for_seconds
        with self._lock:
            self._faults.append(fault)

    def take(self, method: str) -> Fault | None:
        """The fault to apply to this request of `method`, if any (counts one use)."""
        now = self._clock()
        with self._lock:
            self._faults = [f for f in self._faults if not f.over(now)]
            for fault in self._faults:
                if fault.matches(method):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        """Drop every queued fault."""
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[Fault]:
        """Faults still queued (time-bounded ones only while their window lasts)."""
        now = self._clock()
        with self._lock:
            return [f for f in self._faults if not f.over(now)]


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets: chat.postMessage per channel, and Slack's tiers per method."""

    def __init__(self) -> None:
        self.enabled = False
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}

    def reset(self) -> None:
        """Forget every bucket (all full again)."""
        with self._lock:
            self._buckets.clear()

    def check(self, method: str, channel: str | None, now: float) -> int | None:
        """None when the request may pass, else the Retry-After seconds to answer with."""
        if not self.enabled:
            return None
        if method == "chat.postMessage":
            return self._take(f"{method}:{channel or ''}", POST_MESSAGE_PER_SECOND, POST_MESSAGE_BURST, now)
        tier = METHOD_TIERS.get(method)
        if tier is None:
            return None
        per_minute = TIER_PER_MINUTE[tier]
        return self._take(method, per_minute / 60.0, per_minute, now)

    def _take(self, key: str, rate: float, burst: int, now: float) -> int | None:
        with self._lock:
            bucket = self._buckets.setdefault(key, _Bucket(tokens=float(burst), updated=now))
            bucket.tokens = min(float(burst), bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return None
            return max(1, math.ceil((1.0 - bucket.tokens) / rate))
