"""Request authentication for MinIO endpoints the SDK does not wrap.

Admin calls are signed exactly like S3 requests (SigV4, service ``s3``); the
signing itself is the ``minio`` SDK's (Apache-2.0), this module only builds
the canonical request parts. Prometheus v2 metrics take an HS512 JWT.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import SplitResult

from minio.credentials import Credentials
from minio.helpers import queryencode, sha256_hash
from minio.signer import sign_v4_s3
from minio.time import to_amz_date


def canonical_query(params: Mapping[str, str] | None) -> str:
    """Encode query parameters the way the SDK's signer canonicalises them (sorted, RFC 3986)."""
    if not params:
        return ""
    return "&".join(f"{queryencode(k)}={queryencode(v)}" for k, v in sorted(params.items()))


def signed_headers(
    *,
    method: str,
    url: SplitResult,
    access_key: str,
    secret_key: str,
    region: str,
    body: bytes | None = None,
    now: datetime | None = None,
) -> dict[str, str]:
    """Headers (Host, dates, payload hash, Authorization) for one SigV4-signed request."""
    date = (now or datetime.now(UTC)).replace(tzinfo=None)
    content_sha256 = sha256_hash(body)
    headers: dict[str, str | list[str] | tuple[str]] = {
        "Host": url.netloc,
        "x-amz-date": to_amz_date(date),
        "x-amz-content-sha256": content_sha256,
    }
    if body:
        headers["Content-Length"] = str(len(body))
    signed = sign_v4_s3(
        method=method,
        url=url,
        region=region,
        headers=headers,
        credentials=Credentials(access_key, secret_key),
        content_sha256=content_sha256,
        date=date,
    )
    return {k: v if isinstance(v, str) else ",".join(v) for k, v in signed.items()}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def prometheus_jwt(access_key: str, secret_key: str, ttl_s: int = 300, now: float | None = None) -> str:
    """The bearer token MinIO expects on ``/minio/v2/metrics/*``: HS512, sub=access key, iss=prometheus."""
    header = {"alg": "HS512", "typ": "JWT"}
    claims = {
        "exp": int((now if now is not None else time.time()) + ttl_s),
        "sub": access_key,
        "iss": "prometheus",
    }
    signing_input = (
        _b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + _b64url(json.dumps(claims, separators=(",", ":")).encode())
    )
    signature = hmac.new(secret_key.encode(), signing_input.encode(), hashlib.sha512).digest()
    return signing_input + "." + _b64url(signature)
