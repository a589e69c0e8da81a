"""The one HTTP timeout and connection policy for every MinIO and Kubernetes call.

Every network call the bot makes goes through a pool built here: short connect
and read timeouts, no blind retries (a retried probe hides the very failure it
is meant to report), and at most :data:`MAX_IN_FLIGHT_PER_ENDPOINT` concurrent
calls per MinIO endpoint so that a burst of reports never floods one node.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import urllib3
from pydantic import BaseModel, ConfigDict, Field

# Benchmarks require that no MinIO endpoint ever sees more than this many of
# our calls at once; the pool size and the per-endpoint semaphore both use it.
MAX_IN_FLIGHT_PER_ENDPOINT = 8


class Timeouts(BaseModel):
    """Connect and read timeouts, in seconds, for one kind of call."""

    model_config = ConfigDict(frozen=True)

    connect: float = Field(default=2.0, gt=0)
    read: float = Field(default=5.0, gt=0)

    def urllib3(self) -> urllib3.Timeout:
        """The same policy as a ``urllib3.Timeout``."""
        return urllib3.Timeout(connect=self.connect, read=self.read)

    def as_tuple(self) -> tuple[float, float]:
        """``(connect, read)``, the form the Kubernetes client takes as ``_request_timeout``."""
        return (self.connect, self.read)

    def for_probe(self) -> Timeouts:
        """Tighter timeouts for liveness/readiness probes: a slow probe is already an answer."""
        return Timeouts(connect=min(self.connect, 1.0), read=min(self.read, 2.0))

    @property
    def total(self) -> float:
        """Worst-case wall time of one request under this policy."""
        return self.connect + self.read


def make_pool_manager(
    timeouts: Timeouts | None = None,
    *,
    maxsize: int = MAX_IN_FLIGHT_PER_ENDPOINT,
    ca_file: str | None = None,
    insecure: bool = False,
) -> urllib3.PoolManager:
    """Build the shared ``urllib3.PoolManager`` for MinIO calls.

    ``retries=False``: a failure is reported as it happened, never retried
    behind the caller's back. ``maxsize`` keeps at most that many connections
    per host; the per-endpoint semaphore (:func:`endpoint_slot`) caps calls in
    flight, so the pool never needs to open throw-away connections.
    """
    timeouts = timeouts or Timeouts()
    cert_reqs = ssl.CERT_NONE if insecure else ssl.CERT_REQUIRED
    return urllib3.PoolManager(
        num_pools=32,
        maxsize=maxsize,
        block=False,
        timeout=timeouts.urllib3(),
        retries=False,
        cert_reqs=cert_reqs,
        ca_certs=ca_file if ca_file and not insecure else None,
    )


class EndpointBusyError(Exception):
    """All in-flight slots of one endpoint stayed taken for the whole wait."""


_gates: dict[str, threading.BoundedSemaphore] = {}
_gates_lock = threading.Lock()


def _gate(endpoint: str) -> threading.BoundedSemaphore:
    with _gates_lock:
        gate = _gates.get(endpoint)
        if gate is None:
            gate = threading.BoundedSemaphore(MAX_IN_FLIGHT_PER_ENDPOINT)
            _gates[endpoint] = gate
        return gate


@contextmanager
def endpoint_slot(endpoint: str, wait_s: float) -> Iterator[None]:
    """Hold one of the endpoint's in-flight slots for the duration of a call.

    The semaphores are process-wide (keyed by ``host:port``) so the cap holds
    even when several client objects talk to the same node. Waiting longer
    than ``wait_s`` raises :class:`EndpointBusyError`.
    """
    gate = _gate(endpoint)
    if not gate.acquire(timeout=wait_s):
        raise EndpointBusyError(endpoint)
    try:
        yield
    finally:
        gate.release()
