"""Pool decommission progress: a time-driven state machine (running -> complete | failed | canceled).

Progress is computed from the clock when asked, so no thread is needed and a
test can poll `pools/status` the way an operator would.
"""

from __future__ import annotations

from dataclasses import dataclass

# An injected failure strikes half-way unless the run is already past that point.
FAILURE_POINT = 0.5


@dataclass
class Decommission:
    """One decommission run of one pool.

    Like MinIO, `start_size`/`currentSize` are the pool's FREE raw bytes (at the
    start / now) and `total_size` its raw capacity; progress is how far free
    space has grown back towards the total.
    """

    pool_index: int
    start_wall: float
    start_mono: float
    duration: float
    start_size: int
    total_size: int
    start_bytes: int
    start_objects: int
    fail_at: float | None = None
    canceled_at: float | None = None
    settled: bool = False

    def _raw_progress(self, now: float) -> float:
        if self.duration <= 0:
            return 1.0
        return min(1.0, max(0.0, (now - self.start_mono) / self.duration))

    def progress(self, now: float) -> float:
        """Fraction of the pool's data moved so far (frozen once failed or canceled)."""
        value = self._raw_progress(now)
        if self.fail_at is not None:
            value = min(value, self.fail_at)
        if self.canceled_at is not None:
            value = min(value, self.canceled_at)
        return value

    def status(self, now: float) -> str:
        """running, complete, failed or canceled."""
        if self.canceled_at is not None:
            return "canceled"
        if self.fail_at is not None and self._raw_progress(now) >= self.fail_at:
            return "failed"
        if self._raw_progress(now) >= 1.0:
            return "complete"
        return "running"

    def active_or_complete(self, now: float) -> bool:
        """True while data is leaving the pool or has left it (the pool takes no new writes)."""
        return self.status(now) in ("running", "complete")

    def inject_failure(self, now: float) -> None:
        """Make this run fail half-way, or right now if it is already past half-way."""
        self.fail_at = max(FAILURE_POINT, self.progress(now))

    def cancel(self, now: float) -> None:
        """Stop the run where it is."""
        self.canceled_at = self.progress(now)

    def to_json(self, now: float, start_time: str) -> dict[str, object]:
        """madmin PoolDecommissionInfo fields."""
        done = self.progress(now)
        status = self.status(now)
        used_at_start = self.total_size - self.start_size
        return {
            "startTime": start_time,
            "startSize": self.start_size,
            "totalSize": self.total_size,
            "currentSize": self.total_size - int(used_at_start * (1.0 - done)),
            "complete": status == "complete",
            "failed": status == "failed",
            "canceled": status == "canceled",
            "objectsDecommissioned": int(self.start_objects * done),
            "objectsDecommissionedFailed": 1 if status == "failed" else 0,
            "bytesDecommissioned": int(self.start_bytes * done),
            "bytesDecommissionedFailed": 0,
        }
