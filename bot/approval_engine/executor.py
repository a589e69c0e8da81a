"""Where approved changes run: threads of their own, each execution holding a lease in the store.

Commands run on the command workers (``bot/worker.py``) and answer in seconds; an
approved change may follow a rollout for an hour. So changes run here, on at most
``executions.workers`` threads, and never hold a command's thread: a few parallel
upgrades cannot starve ``/minio health``.

While this process holds a request (approved and waiting for a thread, or
executing), a heartbeat renews its lease in the store every third of
``executions.lease_seconds``. A process that stops renews nothing; once its lease
has expired, the leader takes the request over and resumes following it
(:mod:`.recovery`). A process stopping on purpose releases its leases, so its
successor resumes them at once. The threads are daemons: a stopping bot does
not wait an hour for a rollout it can hand over.

This module knows the store and the clock only; what a job does is the engine's.
"""

from __future__ import annotations

import logging
import os
import queue
import secrets
import socket
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.redact import redact

if TYPE_CHECKING:
    from bot.store import Store

log = logging.getLogger("minio_chatops.approvals")

RENEWALS_PER_LEASE = 3  # a holder renews this often per lease period, so one missed renewal loses nothing


def new_owner_id() -> str:
    """A lease owner id unique to one executor (one per bot process): ``host:pid:token``, for logs and audit."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class ChangeExecutor:
    """Runs approved changes on ``workers`` daemon threads and keeps their leases alive while they run.

    :meth:`hold` before :meth:`submit` (or before a long step outside it):
    the request's id is then renewed with every heartbeat until the job ends.
    """

    def __init__(
        self,
        store: Callable[[], Store],
        clock: Callable[[], datetime],
        *,
        workers: int,
        lease_s: float,
        owner: str | None = None,
        on_held: Callable[[int], None] | None = None,
    ) -> None:
        self.owner = owner or new_owner_id()
        self.lease = timedelta(seconds=lease_s)
        self.workers = workers
        self._store = store
        self._clock = clock
        self._on_held = on_held or (lambda _n: None)
        self._jobs: queue.SimpleQueue[tuple[str, Callable[[], object]] | None] = queue.SimpleQueue()
        self._held: dict[str, int] = {}  # approval id -> jobs of this process holding it
        self._lost: set[str] = set()
        self._threads: list[threading.Thread] = []
        self._idle = threading.Condition()
        self._busy = 0
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    def lease_until(self) -> datetime:
        """When a lease taken or renewed now expires."""
        return self._clock() + self.lease

    # ----- running ---------------------------------------------------------------------------

    def submit(self, approval_id: str, job: Callable[[], object]) -> bool:
        """Run ``job`` on an execution thread (queued while all are busy), holding ``approval_id`` until it ends.

        False once the executor is shut down (nothing runs; the lease then expires and the leader takes over).
        """
        with self._idle:
            if self._stop.is_set():
                return False
            self._start_threads()
            self._busy += 1
        self.hold(approval_id)
        self._jobs.put((approval_id, job))
        return True

    def hold(self, approval_id: str) -> None:
        """Keep renewing ``approval_id``'s lease until a matching :meth:`release` (or the job that holds it ends)."""
        with self._idle:
            self._held[approval_id] = self._held.get(approval_id, 0) + 1
            count = len(self._held)
        self._on_held(count)

    def release(self, approval_id: str) -> None:
        with self._idle:
            left = self._held.get(approval_id, 0) - 1
            if left > 0:
                self._held[approval_id] = left
            else:
                self._held.pop(approval_id, None)
                self._lost.discard(approval_id)
            count = len(self._held)
        self._on_held(count)

    def held(self) -> set[str]:
        """The requests this process holds now (queued or running)."""
        with self._idle:
            return set(self._held)

    def lost(self, approval_id: str) -> bool:
        """True when another process took this request over (its lease expired while we held it)."""
        with self._idle:
            return approval_id in self._lost

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no job is queued or running (tests, and a stopping process); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout)

    def _start_threads(self) -> None:
        if self._threads:
            return
        for n in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"minio-chatops-change-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)
        self._heartbeat = threading.Thread(target=self._beat, name="minio-chatops-lease", daemon=True)
        self._heartbeat.start()

    def _work(self) -> None:
        while True:
            item = self._jobs.get()
            if item is None:
                return
            approval_id, job = item
            try:
                job()
            except Exception as exc:  # noqa: BLE001 - a job must never kill its thread; the lease tells the rest
                log.error("execution job failed", extra={"approval_id": approval_id, "error_type": type(exc).__name__,
                                                         "error": redact(str(exc))[:300]})
            finally:
                self.release(approval_id)
                with self._idle:
                    self._busy -= 1
                    self._idle.notify_all()

    # ----- the lease ---------------------------------------------------------------------------

    def renew(self) -> set[str]:
        """One heartbeat: extend every held lease; returns the ids this process no longer holds (taken over)."""
        held = self.held()
        if not held:
            return set()
        renewed = self._store().approvals.renew_leases(self.owner, held, self.lease_until())
        gone = held - renewed
        with self._idle:
            # Ended requests are released by their job; only those still held here were taken from us.
            newly = {a for a in gone if a in self._held} - self._lost
            self._lost |= newly
        for approval_id in sorted(newly):
            # Usually another process took it over; it may also have just ended (then nothing is lost).
            log.info("execution lease no longer held", extra={"approval_id": approval_id, "owner": self.owner})
        return gone

    def _beat(self) -> None:
        interval = self.lease.total_seconds() / RENEWALS_PER_LEASE
        while not self._stop.wait(interval):
            try:
                self.renew()
            except Exception as exc:  # noqa: BLE001 - a store blip: the next beat tries again within the lease
                log.warning("execution lease renewal failed", extra={"error_type": type(exc).__name__})

    def shutdown(self, *, release: bool = True) -> None:
        """Stop taking jobs and renewing leases; with ``release``, end the held leases now for a quick hand-over.

        Running jobs are not waited for (their threads are daemons): their outcome is
        then written by whoever resumes them, or by them if they finish first.
        """
        with self._idle:
            if self._stop.is_set():
                return
            self._stop.set()
            threads = list(self._threads)
        for _ in threads:
            self._jobs.put(None)
        held = self.held()
        if release and held:
            try:
                self._store().approvals.release_leases(self.owner, held, self._clock())
            except Exception as exc:  # noqa: BLE001 - then the leases simply expire
                log.warning("execution leases not released", extra={"error_type": type(exc).__name__})
