"""The one HTTP timeout and connection policy for every MinIO and Kubernetes call.

Every network call the bot makes goes through a pool built here: short connect
timeouts, read timeouts chosen from what the server itself waits for (admin and
cluster-health calls outlast MinIO's 10 s peer and health deadlines), no blind
retries (a retried probe hides the very failure it is meant to report), and at
most :data:`MAX_IN_FLIGHT_PER_ENDPOINT` concurrent calls per MinIO endpoint so
that a burst of reports never floods one node.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import urllib3
from pydantic import BaseModel, ConfigDict, Field

# Benchmarks require that no MinIO endpoint ever sees more than this many of
# our calls at once; the pool size and the per-endpoint semaphore both use it.
MAX_IN_FLIGHT_PER_ENDPOINT = 8

# --- The real server's own deadlines (facts from MinIO's public sources) ---------------
# `admin info` asks every peer in parallel, each with a 10 s deadline, and only then
# answers, reporting a peer that did not answer as "offline" (its drives offline). So one
# hung or partitioned peer makes every other node's `info` answer take ~10 s.
SERVER_PEER_WAIT_S = 10.0
# `/minio/health/cluster[/read]` evaluates quorum under the `api cluster_deadline`
# setting, 10 s by default (MINIO_API_CLUSTER_DEADLINE).
SERVER_CLUSTER_DEADLINE_S = 10.0
# What we allow on top of the server's deadline for it to build and send the answer.
# Local clusters answer within milliseconds of the deadline; 2 s covers a loaded node
# and a cross-zone round trip without letting a truly dead node hold a report long.
SERVER_DEADLINE_MARGIN_S = 2.0
# Read timeout for admin and cluster-health calls. It MUST exceed the server's own
# deadlines: with a shorter one (the bot once used 5 s), a single hung peer makes every
# healthy node's `info` time out as well, and "one node is down" becomes "no node
# answered". The connect timeout stays short: a dead node refuses or drops the
# connection at once, and only a node that accepted the request can be waiting on a peer.
ADMIN_READ_S = max(SERVER_PEER_WAIT_S, SERVER_CLUSTER_DEADLINE_S) + SERVER_DEADLINE_MARGIN_S

# Streaming one object from one endpoint to another (a restore from a backup on another endpoint).
# Every socket read is still bounded by the read timeout; the server itself sets no deadline on a
# whole transfer (S3 has none), so ours is a floor rate: a fixed allowance for the two requests plus
# the time the object takes at 1 MiB/s, far below any link between data centres. Slower than that,
# the transfer is stopped and named rather than left to hold the restore.
STREAM_BASE_S = 60.0
STREAM_FLOOR_BYTES_PER_S = 1 << 20


def stream_deadline(size: int) -> float:
    """Seconds one object of ``size`` bytes may take to stream from one endpoint to another."""
    return STREAM_BASE_S + max(0, size) / STREAM_FLOOR_BYTES_PER_S
# The object speed test (admin `speedtest`, one round, no autotune): every node uploads for `duration`,
# then downloads for `duration`, so the measuring takes 2 x duration. Around it the server checks the
# free capacity (a storage-info round over every node, bounded by the 10 s peer wait), creates its
# bucket and afterwards deletes what it wrote (a quorum write and a prefix delete, each again bounded
# by a peer wait). SPEEDTEST_OVERHEAD_S allows three peer waits for those steps: the whole answer must
# arrive within speedtest_deadline_s(duration). While measuring, the server writes a keep-alive value
# every 500 ms, so between two reads it is never silent for long: the admin read timeout (longer than
# any peer wait) still applies to each read, and a silence beyond it means the node is stuck.
SPEEDTEST_KEEPALIVE_S = 0.5
SPEEDTEST_OVERHEAD_S = 3 * SERVER_PEER_WAIT_S


def speedtest_deadline_s(duration_s: float) -> float:
    """How long a speed test of ``duration_s`` may take from request to the end of its answer."""
    return 2 * duration_s + SPEEDTEST_OVERHEAD_S


class Timeouts(BaseModel):
    """Connect and read timeouts, in seconds, for one kind of call."""

    model_config = ConfigDict(frozen=True)

    connect: float = Field(default=2.0, gt=0)
    read: float = Field(default=5.0, gt=0)
    # Admin and cluster-health calls wait on the server's peer deadlines (see ADMIN_READ_S).
    admin_read: float = Field(default=ADMIN_READ_S, gt=0)

    def urllib3(self) -> urllib3.Timeout:
        """The same policy as a ``urllib3.Timeout``."""
        return urllib3.Timeout(connect=self.connect, read=self.read)

    def as_tuple(self) -> tuple[float, float]:
        """``(connect, read)``, the form the Kubernetes client takes as ``_request_timeout``."""
        return (self.connect, self.read)

    def for_admin(self) -> Timeouts:
        """Timeouts for admin and cluster-health calls: the same connect, a read long enough to
        outlast the server's own peer wait and health deadline (never shorter than ``read``)."""
        return Timeouts(connect=self.connect, read=max(self.read, self.admin_read), admin_read=self.admin_read)

    def for_probe(self) -> Timeouts:
        """Tighter timeouts for liveness/readiness probes: a slow probe is already an answer.

        ``/minio/health/live`` and ``/ready`` answer from the node itself (no peer calls), so
        they keep short timeouts even though admin calls wait longer.
        """
        return Timeouts(connect=min(self.connect, 1.0), read=min(self.read, 2.0), admin_read=self.admin_read)

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
    resolve: Mapping[str, str] | None = None,
) -> urllib3.PoolManager:
    """Build the shared ``urllib3.PoolManager`` for MinIO calls.

    ``retries=False``: a failure is reported as it happened, never retried
    behind the caller's back. ``maxsize`` keeps at most that many connections
    per host; the per-endpoint semaphore (:func:`endpoint_slot`) caps calls in
    flight, so the pool never needs to open throw-away connections.
    ``resolve`` maps ``host[:port]`` to the ``address[:port]`` to connect to
    instead (see :class:`ResolvingPoolManager`).
    """
    timeouts = timeouts or Timeouts()
    cert_reqs = ssl.CERT_NONE if insecure else ssl.CERT_REQUIRED
    kwargs: dict[str, Any] = {
        "num_pools": 32,
        "maxsize": maxsize,
        "block": False,
        "timeout": timeouts.urllib3(),
        "retries": False,
        "cert_reqs": cert_reqs,
        "ca_certs": ca_file if ca_file and not insecure else None,
    }
    if resolve:
        return ResolvingPoolManager(resolve, **kwargs)
    return urllib3.PoolManager(**kwargs)


def split_host_port(text: str) -> tuple[str, int | None]:
    """``"host:port"`` -> ``("host", port)``; ``"host"`` -> ``("host", None)``. Raises ValueError on a bad port."""
    host, sep, port = text.rpartition(":")
    if not sep or "]" in port:
        return text, None
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r}: the port must be a number from 1 to 65535")
    return host, int(port)


class ResolvingPoolManager(urllib3.PoolManager):
    """A PoolManager that connects to overridden addresses, like ``curl --resolve``.

    Requests keep their URL's host name in the ``Host`` header, in TLS SNI and
    in certificate verification; only the TCP connection goes elsewhere. Keys
    are ``host:port`` (that port only) or ``host`` (any port); values are
    ``address:port`` or ``address`` (same port). The sandbox uses it to map a
    Tenant's per-pod names to the simulator's node ports; outside a cluster it
    maps pod names to port-forwards.
    """

    def __init__(self, resolve: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.resolve = {k.lower(): v for k, v in resolve.items()}

    def _target(self, host: str, port: int | None) -> tuple[str, int | None] | None:
        override = self.resolve.get(f"{host.lower()}:{port}") or self.resolve.get(host.lower())
        if override is None:
            return None
        address, new_port = split_host_port(override)
        return address, new_port or port

    def connection_from_host(
        self,
        host: str | None,
        port: int | None = None,
        scheme: str | None = "http",
        pool_kwargs: dict[str, Any] | None = None,
    ) -> urllib3.HTTPConnectionPool:
        """The pool for the overridden address when ``host[:port]`` is mapped, else the usual one."""
        if host:
            if port is None:
                port = 443 if scheme == "https" else 80
            target = self._target(host, port)
            if target is not None:
                kwargs = dict(pool_kwargs or {})
                if scheme == "https":
                    # Verify the certificate against the name asked for, not the address used.
                    kwargs.setdefault("server_hostname", host)
                    kwargs.setdefault("assert_hostname", host)
                host, port = target
                pool_kwargs = kwargs
        return super().connection_from_host(host, port, scheme, pool_kwargs)

    def urlopen(  # type: ignore[override]  # the same signature as PoolManager.urlopen
        self, method: str, url: str, redirect: bool = True, **kw: Any
    ) -> urllib3.BaseHTTPResponse:
        """Send with the URL's own ``Host`` header when its host is mapped elsewhere."""
        parts = urllib3.util.parse_url(url)
        if parts.host and self._target(parts.host, parts.port or (443 if parts.scheme == "https" else 80)):
            headers = dict(kw.get("headers") or {})
            if not any(k.lower() == "host" for k in headers):
                headers["Host"] = parts.netloc
            kw["headers"] = headers
        return super().urlopen(method, url, redirect=redirect, **kw)


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
