"""Additional checksums (``x-amz-checksum-<algorithm>``) on PutObject and UploadPart, as MinIO checks them.

A client may send one ``x-amz-checksum-<algorithm>`` header (base64 of the digest of the body). MinIO
computes it over what it received and refuses a mismatch with 400 ``XAmzContentChecksumMismatch``
"The provided 'x-amz-checksum' header does not match what was computed." (cmd/api-errors.go). It
echoes the checksum in the PutObject answer, stores it with a single-part object and returns it on
GET/HEAD when the request says ``x-amz-checksum-mode: ENABLED``. boto3 sends CRC32 by default.

The simulator verifies CRC32, SHA-1 and SHA-256 (the standard library has them); CRC32C and
CRC64NVME are accepted and stored unverified (listed in DIFFERENCES.md).
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Callable
from email.message import Message

CHECKSUM_MODE = "x-amz-checksum-mode"
MISMATCH = ("XAmzContentChecksumMismatch", "The provided 'x-amz-checksum' header does not match what was computed.")

_DIGESTS: dict[str, Callable[[bytes], bytes] | None] = {
    "crc32": lambda data: zlib.crc32(data).to_bytes(4, "big"),
    "sha1": lambda data: hashlib.sha1(data, usedforsecurity=False).digest(),
    "sha256": lambda data: hashlib.sha256(data).digest(),
    "crc32c": None,  # not in the standard library: stored as sent
    "crc64nvme": None,
}


def sent_checksum(headers: Message) -> tuple[str, str] | None:
    """The (algorithm, base64 value) a request carries in ``x-amz-checksum-<algorithm>``, if any."""
    for algorithm in _DIGESTS:
        value = headers.get(f"x-amz-checksum-{algorithm}")
        if value:
            return algorithm, str(value)
    return None


def matches(checksum: tuple[str, str], data: bytes) -> bool:
    """Whether ``data`` has the checksum the client sent (True for algorithms the simulator cannot compute)."""
    algorithm, value = checksum
    digest = _DIGESTS[algorithm]
    return digest is None or base64.b64encode(digest(data)).decode() == value


def header(checksum: tuple[str, str]) -> tuple[str, str]:
    """The response header naming ``checksum``."""
    return f"x-amz-checksum-{checksum[0]}", checksum[1]
