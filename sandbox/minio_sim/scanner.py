"""The data-usage scanner: a background cycle that snapshots bucket usage.

Like MinIO's scanner, its result is stale by up to one cycle and `lastUpdate`
stays at the zero time until the first cycle finishes. Each cycle costs
O(buckets); the JSON for `datausageinfo` is cached and rebuilt only when the
model changed, so serving it is cheap even with 10,000 buckets.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sandbox.minio_sim.model import ClusterModel

ZERO_TIME = "0001-01-01T00:00:00Z"


def rfc3339(ts: float) -> str:
    """RFC 3339 UTC timestamp with nanosecond-style fraction, as Go prints time.Time."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


@dataclass(frozen=True)
class UsageSnapshot:
    """The result of one completed scanner cycle."""

    last_update: str = ZERO_TIME
    completed_at: float = 0.0
    cycle: int = 0
    objects: int = 0
    size: int = 0
    buckets: dict[str, tuple[int, int]] = field(default_factory=dict)
    buckets_json: bytes = b"{}"


class Scanner:
    """Runs scanner cycles every `interval` seconds on a daemon thread."""

    def __init__(self, model: ClusterModel, interval: float) -> None:
        self.model = model
        self.interval = interval
        self.snapshot = UsageSnapshot()
        self._generation = -1
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._cycle_lock = threading.Lock()

    def start(self) -> None:
        """Start the periodic cycle; the first result lands one interval from now."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, args=(self._stop,), daemon=True, name="minio-sim-scanner")
        self._thread.start()

    def stop(self) -> None:
        """Stop the background cycle."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None

    def reset(self) -> None:
        """Forget every result (lastUpdate back to zero) and restart the cycle timer."""
        running = self._thread is not None
        self.stop()
        with self._cycle_lock:
            self.snapshot = UsageSnapshot()
            self._generation = -1
        if running:
            self.start()

    def _loop(self, stop: threading.Event) -> None:
        while not stop.wait(self.interval):
            self.run_cycle()

    def run_cycle(self) -> UsageSnapshot:
        """Scan now and publish the result."""
        with self._cycle_lock:
            with self.model.lock:
                generation = self.model.generation
                if generation != self._generation:
                    counts = self.model.version_counts()
                    buckets = {name: (size, objects) for name, size, objects, _ in self.model.usage_rows()}
                else:
                    counts = {}
                    buckets = self.snapshot.buckets
            if generation != self._generation:
                buckets_json = json.dumps(
                    {
                        name: {
                            "size": size,
                            "objectsCount": objects,
                            "versionsCount": counts.get(name, (objects, 0))[0],
                            "deleteMarkersCount": counts.get(name, (objects, 0))[1],
                        }
                        for name, (size, objects) in buckets.items()
                    },
                    separators=(",", ":"),
                ).encode()
                self._generation = generation
            else:
                buckets_json = self.snapshot.buckets_json
            now = time.time()
            self.snapshot = UsageSnapshot(
                last_update=rfc3339(now),
                completed_at=now,
                cycle=self.snapshot.cycle + 1,
                objects=sum(o for _, o in buckets.values()),
                size=sum(s for s, _ in buckets.values()),
                buckets=buckets,
                buckets_json=buckets_json,
            )
            return self.snapshot
