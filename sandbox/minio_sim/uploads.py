"""Multipart uploads in progress: the cluster-wide state behind sandbox/minio_sim/multipart.py."""

from __future__ import annotations

import hashlib
import threading
import uuid
from dataclasses import dataclass, field


@dataclass
class Part:
    """One uploaded part."""

    number: int
    data: bytes
    etag: str
    last_modified: float


@dataclass
class Upload:
    """One multipart upload in progress."""

    bucket: str
    key: str
    content_type: str
    metadata: dict[str, str]
    initiated: float
    parts: dict[int, Part] = field(default_factory=dict)


class Uploads:
    """The cluster's uploads in progress (shared by every node, like the real server's)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_id: dict[str, Upload] = {}

    def start(self, upload: Upload) -> str:
        upload_id = str(uuid.uuid4())
        with self._lock:
            self._by_id[upload_id] = upload
        return upload_id

    def find(self, upload_id: str, bucket: str, key: str) -> Upload | None:
        with self._lock:
            upload = self._by_id.get(upload_id)
        return upload if upload is not None and (upload.bucket, upload.key) == (bucket, key) else None

    def finish(self, upload_id: str) -> None:
        with self._lock:
            self._by_id.pop(upload_id, None)


def multipart_etag(part_etags: list[str]) -> str:
    """The S3 multipart ETag: MD5 of the concatenated binary part MD5s, then ``-N``."""
    digest = hashlib.md5(b"".join(bytes.fromhex(e) for e in part_etags), usedforsecurity=False).hexdigest()
    return f"{digest}-{len(part_etags)}"
