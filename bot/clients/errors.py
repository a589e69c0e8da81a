"""Typed client errors: what failed, where, and why, in one short sentence.

Handlers catch :class:`ClientError` (or receive it from ``fan_out``) and put
``str(error)`` in a report section; they never see tracebacks or raw HTTP
bodies. Every detail goes through :func:`scrub` so keys, tokens and
Authorization headers cannot leak into Slack or logs.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel
from urllib3 import exceptions as u3

from bot.redact import MASK, redact

ErrorKind = Literal[
    "unreachable",  # connection refused / reset / TLS / DNS
    "timeout",  # connect or read timeout, or a fan-out deadline
    "auth",  # credentials rejected (bad key, bad signature, bad token)
    "no_credentials",  # no credentials configured or readable: nothing was sent
    "forbidden",  # credentials fine, permission missing
    "not_found",
    "conflict",  # stale resourceVersion, state clash
    "invalid",  # the server rejected the request content (validation, CEL, 415)
    "bad_response",  # the server answered something we cannot read
    "unavailable",  # the feature/endpoint exists nowhere or is down (503, no kubelet, no metrics API)
    "unsupported",  # this server does not offer the API at all (MinIO 426, 501): every node says the same
    "internal",  # a bug on our side, surfaced without a traceback
]

_PHRASES: dict[str, str] = {
    "unreachable": "unreachable",
    "timeout": "timed out",
    "auth": "rejected the credentials",
    "no_credentials": "has no credentials",
    "forbidden": "denied access",
    "not_found": "has no such object",
    "conflict": "reported a conflict",
    "invalid": "rejected the request",
    "bad_response": "sent an unreadable answer",
    "unavailable": "unavailable",
    "unsupported": "does not offer this",
    "internal": "call failed",
}

_MAX_DETAIL = 400

def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """Return ``text`` safe to show: credentials removed, one line, bounded length.

    ``secrets`` are literal values (keys, tokens) known to the caller; they are
    replaced wherever they occur, in addition to the generic patterns.
    """
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, MASK)
    text = " ".join(redact(text).split())
    if len(text) > _MAX_DETAIL:
        text = text[: _MAX_DETAIL - 1] + "…"
    return text


class ClientErrorInfo(BaseModel):
    """A ClientError as data, for reports and audit records."""

    kind: str
    target: str
    detail: str
    status: int | None = None
    message: str


class ClientError(Exception):
    """A failed call to MinIO or Kubernetes, described for humans.

    ``kind`` says what class of failure it was (see :data:`ErrorKind`),
    ``target`` what was called (``"MinIO node 3 (127.0.0.1:9003)"``), ``detail``
    why, already scrubbed. ``str(error)`` is one sentence such as
    ``"MinIO node 3 unreachable: connection refused"``.
    """

    def __init__(
        self,
        kind: ErrorKind,
        target: str,
        detail: str,
        *,
        address: str | None = None,
        status: int | None = None,
        not_sent: bool = False,
        secrets: Iterable[str] = (),
    ) -> None:
        self.kind: ErrorKind = kind
        # True when the request certainly did not act on the server (never sent,
        # or refused before processing): safe to send to another node.
        self.not_sent = not_sent
        self.subject = target
        self.address = address
        self.detail = scrub(detail, secrets)
        self.status = status
        super().__init__(str(self))

    @property
    def target(self) -> str:
        """What was called, with its address when known."""
        return f"{self.subject} ({self.address})" if self.address else self.subject

    def __str__(self) -> str:
        return f"{self.subject} {_PHRASES.get(self.kind, 'failed')}: {self.detail}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(kind={self.kind!r}, target={self.target!r}, detail={self.detail!r})"

    def __reduce__(self) -> tuple[object, ...]:
        # Keep errors picklable (thread/process pools, caches) despite keyword-only args.
        return (
            _rebuild,
            (type(self), self.kind, self.subject, self.detail, self.address, self.status, self.not_sent),
        )

    def info(self) -> ClientErrorInfo:
        """This error as a pydantic model."""
        return ClientErrorInfo(
            kind=self.kind, target=self.target, detail=self.detail, status=self.status, message=str(self)
        )


def _rebuild(
    cls: type[ClientError],
    kind: ErrorKind,
    subject: str,
    detail: str,
    address: str | None,
    status: int | None,
    not_sent: bool,
) -> ClientError:
    return cls(kind, subject, detail, address=address, status=status, not_sent=not_sent)


class MinioError(ClientError):
    """A failed call to a MinIO node (admin, S3, health or metrics endpoint)."""


class NotSupported(MinioError):
    """The server does not offer this API at all: MinIO's 426 ``XMinioAdminVersionMismatch``
    (an admin API not served in this server's mode, e.g. ``top/locks`` on a single server) or
    501 ``NotImplemented`` (e.g. decommissioning the only pool).

    Not a fault: every node answers the same, so the client neither retries nor fails over,
    and a report says what the deployment lacks instead of "could not check". ``str(error)``
    is one line such as ``"MinIO node 1: this server does not offer the lock API (single server)"``.
    """

    def __str__(self) -> str:
        return f"{self.subject}: {self.detail}"


class KubeError(ClientError):
    """A failed call to the Kubernetes API server."""


class CredentialsUnavailable(MinioError):
    """No credentials are configured or readable for a tenant, so nothing was sent.

    Distinct from a rejection (kind ``auth``): the server never saw a request.
    ``str()`` is "no credentials configured/readable for tenant X (reason)".
    """

    @classmethod
    def for_tenant(cls, tenant: str, reason: str) -> CredentialsUnavailable:
        """The error for tenant ``tenant`` with a short ``reason``."""
        return cls("no_credentials", f"tenant {tenant}", reason, not_sent=True)

    def __str__(self) -> str:
        return f"no credentials configured/readable for {self.subject} ({self.detail})"


class PerNodeUnavailable(MinioError):
    """A per-node question (liveness, ``?maintenance=true``) asked of load-balanced endpoints.

    Behind a load balancer no answer can be tied to a node, so none is given.
    ``str()`` is the fixed sentence :data:`PER_NODE_UNAVAILABLE`.
    """

    @classmethod
    def asked(cls, question: str) -> PerNodeUnavailable:
        """The error for one per-node ``question`` (e.g. "liveness of node 2")."""
        return cls("unavailable", question, PER_NODE_UNAVAILABLE, not_sent=True)

    def __str__(self) -> str:
        return self.detail


PER_NODE_UNAVAILABLE = "per-node verdicts unavailable: endpoints are load-balanced"


class TransportFailure(BaseModel):
    """How a request failed below HTTP: the error kind, a short reason, and
    whether the request certainly never reached the server (safe to send elsewhere)."""

    kind: ErrorKind
    detail: str
    not_sent: bool


def classify_transport_error(
    exc: BaseException, connect_s: float | None = None, read_s: float | None = None
) -> TransportFailure:
    """Map a urllib3/socket exception to a :class:`TransportFailure`.

    Only the failure class and a fixed phrase are kept; exception text (which
    can include URLs) is not copied verbatim except for TLS reasons.
    """
    after_connect = f" after {connect_s:g} s" if connect_s else ""
    after_read = f" within {read_s:g} s" if read_s else ""
    if isinstance(exc, u3.MaxRetryError) and exc.reason is not None:
        return classify_transport_error(exc.reason, connect_s, read_s)
    # NewConnectionError subclasses ConnectTimeoutError: test it first.
    if isinstance(exc, u3.NameResolutionError):
        return TransportFailure(kind="unreachable", detail="host name does not resolve", not_sent=True)
    if isinstance(exc, u3.NewConnectionError | ConnectionRefusedError):
        text = str(exc).lower()
        if "refused" in text:
            return TransportFailure(kind="unreachable", detail="connection refused", not_sent=True)
        if "timed out" in text:
            return TransportFailure(kind="timeout", detail=f"connect timed out{after_connect}", not_sent=True)
        reason = text.rsplit("]", 1)[-1].strip() if "]" in text else "cannot connect"
        return TransportFailure(kind="unreachable", detail=f"cannot connect: {reason}", not_sent=True)
    if isinstance(exc, u3.ConnectTimeoutError):
        return TransportFailure(kind="timeout", detail=f"connect timed out{after_connect}", not_sent=True)
    if isinstance(exc, u3.ReadTimeoutError | socket.timeout | TimeoutError):
        return TransportFailure(kind="timeout", detail=f"no answer{after_read}", not_sent=False)
    if isinstance(exc, u3.SSLError | ssl.SSLError):
        tls_reason = getattr(exc, "reason", None) or exc
        return TransportFailure(kind="unreachable", detail=f"TLS handshake failed: {tls_reason}", not_sent=True)
    if isinstance(exc, u3.ProtocolError | ConnectionResetError | ConnectionAbortedError):
        return TransportFailure(kind="unreachable", detail="connection dropped before an answer", not_sent=False)
    if isinstance(exc, OSError | u3.HTTPError):
        return TransportFailure(kind="unreachable", detail=f"network error ({type(exc).__name__})", not_sent=False)
    return TransportFailure(kind="internal", detail=f"unexpected {type(exc).__name__}", not_sent=False)
