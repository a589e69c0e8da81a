"""A bounded pool for command work, so slow MinIO/Kubernetes calls never delay an ack."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger("minio_chatops.worker")


class WorkQueue:
    """Runs jobs on `workers` threads with at most `capacity` jobs waiting or running.

    `submit` never blocks: when full it returns False and the caller tells the
    user to try again, instead of letting acks queue up behind slow work.
    """

    def __init__(self, workers: int, capacity: int, on_depth: Callable[[int], None] | None = None):
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="minio-chatops-work")
        self._slots = threading.BoundedSemaphore(capacity)
        self._depth = 0
        self._lock = threading.Lock()
        self._on_depth = on_depth or (lambda _d: None)

    def _change(self, delta: int) -> None:
        with self._lock:
            self._depth += delta
            depth = self._depth
        self._on_depth(depth)

    @property
    def depth(self) -> int:
        with self._lock:
            return self._depth

    def submit(self, job: Callable[[], None]) -> bool:
        """Queue `job`; False when the queue is full."""
        if not self._slots.acquire(blocking=False):
            return False
        self._change(+1)

        def run() -> None:
            try:
                job()
            except Exception as exc:  # noqa: BLE001 - a job must never kill its worker thread
                log.error("job failed", extra={"error_type": type(exc).__name__})
            finally:
                self._change(-1)
                self._slots.release()

        self._pool.submit(run)
        return True

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=not wait)
