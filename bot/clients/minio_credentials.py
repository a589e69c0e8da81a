"""Where a MinioClient gets its keys: fixed ones, or keys re-read after a TTL and after a rejection.

Keys rotate (the security diagnostics recommend it). A client that kept the
keys it started with would fail every call after a rotation until the bot
restarts, so the runtime hands clients a :class:`RefreshingCredentials`: the
keys are read again once they are older than a short TTL, and at once when
the server rejects them (the caller then retries the rejected request once).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

from pydantic import SecretStr

from bot.clients.errors import ClientError

CREDENTIALS_TTL_S = 60.0
"""How long keys read from a Secret, a file or the environment are used before they are read again."""

FAILED_READ_TTL_S = 5.0
"""How long a failed read is remembered: the calls of one report share it instead of each re-reading."""

MIN_FORCED_REREAD_S = 1.0
"""After a rejection the keys are re-read at once, but not more often than this (parallel calls share it)."""

Keys = tuple[str, str]


class CredentialSource(Protocol):
    """What a MinioClient asks for its (access key, secret key)."""

    def keys(self) -> Keys:
        """The current (access key, secret key); raises ClientError when there are none."""
        ...

    def refresh(self, stale: Keys) -> bool:
        """``stale`` was rejected: read the keys again; True when they differ from ``stale``."""
        ...


class StaticCredentials:
    """Keys fixed for the life of the client (tests, the sandbox's simulator)."""

    def __init__(self, access_key: str, secret_key: SecretStr | str) -> None:
        self._access = access_key
        self._secret = secret_key if isinstance(secret_key, SecretStr) else SecretStr(secret_key)

    def __repr__(self) -> str:
        return "StaticCredentials(***)"

    def keys(self) -> Keys:
        """The fixed keys."""
        return self._access, self._secret.get_secret_value()

    def refresh(self, stale: Keys) -> bool:
        """Fixed keys never change."""
        return False


class RefreshingCredentials:
    """Keys from ``read()``, kept ``ttl_s`` seconds, re-read at once after a rejection.

    ``read`` raises a ClientError (e.g. ``CredentialsUnavailable``) when no
    keys can be had; that error is remembered for ``failed_ttl_s`` so the
    parallel calls of one report do not each retry the read.
    """

    def __init__(
        self,
        read: Callable[[], Keys],
        ttl_s: float = CREDENTIALS_TTL_S,
        failed_ttl_s: float = FAILED_READ_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self.ttl_s = ttl_s
        self.failed_ttl_s = failed_ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: tuple[str, SecretStr] | None = None
        self._failure: ClientError | None = None
        self._read_at = float("-inf")
        self._forced_at = float("-inf")
        self.reads = 0  # how many times the source was read (tests and metrics)

    def __repr__(self) -> str:
        return f"RefreshingCredentials(ttl_s={self.ttl_s:g})"

    def keys(self) -> Keys:
        """The cached keys, read again when older than the TTL."""
        with self._lock:
            age = self._clock() - self._read_at
            if self._keys is None and self._failure is not None and age < self.failed_ttl_s:
                raise self._failure
            if self._keys is None or age >= self.ttl_s:
                self._load()
            return self._current()

    def refresh(self, stale: Keys) -> bool:
        """Re-read now (unless another caller already did since ``stale``); True when the keys changed."""
        with self._lock:
            if self._keys is not None and self._current() != stale:
                return True  # someone else already picked up new keys
            if self._clock() - self._forced_at < MIN_FORCED_REREAD_S:
                return False  # just re-read for another rejected call: these keys are the newest there are
            self._forced_at = self._clock()
            try:
                self._load()
            except ClientError:
                return False
            return self._current() != stale

    def _current(self) -> Keys:
        if self._keys is None:
            assert self._failure is not None
            raise self._failure
        return self._keys[0], self._keys[1].get_secret_value()

    def _load(self) -> None:
        self.reads += 1
        self._read_at = self._clock()
        try:
            access, secret = self._read()
        except ClientError as exc:
            # Keys that were good stay in use until the source answers again: a Kubernetes
            # API blip must not stop MinIO calls that the old keys still authorise.
            self._failure = exc
            if self._keys is None:
                raise
            return
        self._keys, self._failure = (access, SecretStr(secret)), None
