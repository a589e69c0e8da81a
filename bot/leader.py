"""Leader election among bot replicas with a Kubernetes Lease (`coordination.k8s.io/v1`).

Every replica serves commands and clicks; only the leader runs the scheduler.
The algorithm is client-go's, with two choices made for safety over speed:

* **Expiry is judged on the local monotonic clock.** A candidate notes *when it
  saw* the Lease's current version (`resourceVersion`) and may take it over only
  once `leaseDurationSeconds` have passed since, so clock skew between nodes
  (or a hand-edited `renewTime`) cannot make a live lease look expired.
* **Every write is conditional.** Create fails with 409 if the Lease exists;
  update carries the `resourceVersion` that was read and fails with 409 if
  anyone wrote in between. A 409 means another replica won: no split brain.

The leader renews every `lease/3` and steps down (calling `on_stopped` first,
which stops the scheduler) when it has not renewed for `2/3 lease`, measured
from the *start* of its last successful request: others cannot take over before
`lease` has passed since they saw that renewal, so there is always a gap of at
least `lease/3` between the old leader stopping and a new one starting.

A Lease that disappears (deleted by hand) is recreated at once by its holder;
the other replicas treat "absent" like a fresh record and wait a full lease
duration first, so a live leader always gets there before them. A graceful
shutdown releases the Lease (empty holder, 1 s duration) so hand-over is quick.

The Lease API calls themselves live in `bot/clients/lease.py` (`KubeLeaseStore`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from bot.clients.lease import LeaseConflict, LeaseRecord, LeaseUnavailable, micro_time
from bot.metrics import BotMetrics

log = logging.getLogger("minio_chatops.leader")

RELEASED_DURATION_S = 1
"""`leaseDurationSeconds` written on a graceful release: the others take over after one second."""


class LeaseStore(Protocol):
    """The three calls the elector makes; `timeout` bounds each one (seconds)."""

    def get(self, timeout: float) -> LeaseRecord | None:
        """The Lease, or None when it does not exist."""
        ...

    def create(self, spec: dict[str, Any], timeout: float) -> LeaseRecord:
        """Create the Lease; LeaseConflict when it already exists."""
        ...

    def update(self, spec: dict[str, Any], resource_version: str, timeout: float) -> LeaseRecord:
        """Replace the Lease if it is still at `resource_version`; LeaseConflict otherwise."""
        ...


_ABSENT = "<absent>"


class LeaderElector:
    """Campaigns for one Lease in a background thread; calls back when leadership starts or stops.

    `on_started` and `on_stopped` run on the elector's thread and must return
    quickly (start or stop a scheduler); a slow callback delays renewals.
    """

    def __init__(
        self,
        store: LeaseStore,
        identity: str,
        lease_seconds: int = 15,
        *,
        on_started: Callable[[], None] = lambda: None,
        on_stopped: Callable[[], None] = lambda: None,
        metrics: BotMetrics | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        request_timeout: float = 5.0,
    ):
        if lease_seconds < 2:
            raise ValueError("lease_seconds must be at least 2")
        self.store = store
        self.identity = identity
        self.lease_seconds = lease_seconds
        self.renew_interval = lease_seconds / 3
        self.renew_deadline = lease_seconds * 2 / 3
        # Candidates poll this often; hand-over takes at most lease + this (+ one request).
        self.retry_period = min(1.0, lease_seconds / 5)
        self.on_started = on_started
        self.on_stopped = on_stopped
        self.metrics = metrics
        self.clock = clock
        self.wall_clock = wall_clock
        self.request_timeout = request_timeout
        self._leading = False
        self._last_renew_start = 0.0
        self._observed_version: str | None = None
        self._observed_at = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # one tick at a time (the thread, or a test calling tick())
        if metrics is not None:
            metrics.leader.set(0)

    # ----- public ------------------------------------------------------------------------

    @property
    def is_leader(self) -> bool:
        """True while this replica holds the Lease (and has not passed its renew deadline)."""
        return self._leading

    def start(self) -> LeaderElector:
        """Campaign in a daemon thread until `stop()`."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="minio-chatops-leader", daemon=True)
        self._thread.start()
        return self

    def stop(self, release: bool = True) -> None:
        """Stop campaigning; a leader steps down (callback first) and, with `release`, frees the Lease.

        `release=False` leaves the Lease as a crash would: the others wait for it to expire.
        """
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.request_timeout + self.lease_seconds)
        with self._lock:
            if not self._leading:
                return
            self._step_down("shutting down")
            if release:
                self._release()

    def tick(self) -> float:
        """One round of the election; returns how long to wait before the next."""
        with self._lock:
            return self._tick()

    # ----- the loop ----------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                wait = self.tick()
            except Exception as exc:  # noqa: BLE001 - the campaign must survive a bug in one round
                log.error("leader election round failed", extra={"error_type": type(exc).__name__})
                wait = self.retry_period
            self._stop.wait(max(0.01, wait))

    def _budget(self, started: float) -> float:
        """Time a request may take: a leader's must end by its renew deadline."""
        if self._leading:
            left = self._last_renew_start + self.renew_deadline - started
            return max(0.1, min(self.request_timeout, left))
        return self.request_timeout

    def _tick(self) -> float:
        started = self.clock()
        budget = self._budget(started)
        try:
            record = self.store.get(budget)
        except LeaseUnavailable as exc:
            return self._failed(started, str(exc))
        version = _ABSENT if record is None else record.resource_version
        if version != self._observed_version:
            # Expiry counts from when *we* saw this version, never from the timestamps in it.
            self._observed_version = version
            self._observed_at = started
        if record is None:
            return self._absent(started, budget)
        if record.holder == self.identity:
            return self._renew(record, started, budget)
        if self._leading:
            self._step_down(f"the Lease is now held by {record.holder or 'nobody'}")
        duration = record.duration_s or self.lease_seconds
        expires = self._observed_at + duration
        if started < expires:
            return max(0.01, min(self.retry_period, expires - self.clock()))
        return self._take_over(record, started, budget)

    def _absent(self, started: float, budget: float) -> float:
        # The holder recreates at once; the others wait a full lease, which a live holder cannot miss.
        if not self._leading and started < self._observed_at + self.lease_seconds:
            return max(0.01, min(self.retry_period, self._observed_at + self.lease_seconds - self.clock()))
        try:
            created = self.store.create(self._spec(acquired=True, transitions=0), budget)
        except LeaseConflict:
            if self._leading:
                self._step_down("another replica created the Lease first")
            return self.retry_period
        except LeaseUnavailable as exc:
            return self._failed(started, str(exc))
        self._won(created, started, "created the Lease")
        return self.renew_interval

    def _renew(self, record: LeaseRecord, started: float, budget: float) -> float:
        # Ours: a renewal (or, after a restart with the same identity, taking it straight back).
        spec = self._spec(acquired=False, transitions=record.transitions, acquire_time=record.acquire_time)
        try:
            renewed = self.store.update(spec, record.resource_version, budget)
        except LeaseConflict:
            # Someone wrote in between (a hand edit, a candidate): read again soon, keep the deadline.
            return self._failed(started, "renewal conflicted", quick=True)
        except LeaseUnavailable as exc:
            return self._failed(started, str(exc))
        self._won(renewed, started, "renewed")
        return self.renew_interval

    def _take_over(self, record: LeaseRecord, started: float, budget: float) -> float:
        spec = self._spec(acquired=True, transitions=record.transitions + 1)
        try:
            taken = self.store.update(spec, record.resource_version, budget)
        except LeaseConflict:
            return self.retry_period  # another candidate won this round
        except LeaseUnavailable as exc:
            return self._failed(started, str(exc))
        self._won(taken, started, f"took over from {record.holder or 'a released lease'}")
        return self.renew_interval

    def _failed(self, started: float, reason: str, quick: bool = False) -> float:
        if self._leading:
            deadline = self._last_renew_start + self.renew_deadline
            now = self.clock()
            if now >= deadline:
                self._step_down(f"could not renew the Lease for {now - self._last_renew_start:.1f} s ({reason})")
            else:
                log.warning("lease renewal failed; retrying", extra={"reason": reason})
                return max(0.01, min(self.retry_period, deadline - now))
        return 0.05 if quick else self.retry_period

    # ----- state changes -----------------------------------------------------------------

    def _spec(self, *, acquired: bool, transitions: int, acquire_time: str | None = None) -> dict[str, Any]:
        now = micro_time(self.wall_clock())
        return {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": self.lease_seconds,
            "acquireTime": now if acquired or not acquire_time else acquire_time,
            "renewTime": now,
            "leaseTransitions": transitions,
        }

    def _won(self, record: LeaseRecord, started: float, how: str) -> None:
        self._last_renew_start = started
        self._observed_version = record.resource_version
        self._observed_at = started
        if self._leading:
            return
        self._leading = True
        log.info("became the leader", extra={"identity": self.identity, "how": how})
        if self.metrics is not None:
            self.metrics.leader.set(1)
            self.metrics.leader_changes.labels("acquired").inc()
        try:
            self.on_started()
        except Exception as exc:  # noqa: BLE001 - a failing callback must not kill the campaign
            log.error("on_started failed", extra={"error_type": type(exc).__name__})

    def _step_down(self, reason: str) -> None:
        if not self._leading:
            return
        self._leading = False
        log.warning("stepped down as leader", extra={"identity": self.identity, "reason": reason})
        if self.metrics is not None:
            self.metrics.leader.set(0)
            self.metrics.leader_changes.labels("lost").inc()
        try:
            self.on_stopped()
        except Exception as exc:  # noqa: BLE001
            log.error("on_stopped failed", extra={"error_type": type(exc).__name__})

    def _release(self) -> None:
        """Best effort: mark the Lease free so a successor need not wait for it to expire."""
        try:
            record = self.store.get(self.request_timeout)
            if record is None or record.holder != self.identity:
                return
            spec = {
                "holderIdentity": None,
                "leaseDurationSeconds": RELEASED_DURATION_S,
                "acquireTime": record.acquire_time,
                "renewTime": micro_time(self.wall_clock()),
                "leaseTransitions": record.transitions,
            }
            self.store.update(spec, record.resource_version, self.request_timeout)
            log.info("released the Lease", extra={"identity": self.identity})
        except (LeaseConflict, LeaseUnavailable) as exc:
            log.warning("could not release the Lease", extra={"reason": str(exc)})
