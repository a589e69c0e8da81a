"""HS512 JSON Web Tokens for Prometheus scraping, as `mc admin prometheus generate` makes them.

Claims: `sub` = access key, `iss` = "prometheus", `exp`; signed with the secret
key. Only what the metrics endpoints need, with hmac/hashlib (no JWT library).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

ISSUER = "prometheus"


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_prometheus_token(
    access_key: str, secret_key: str, *, expiry_seconds: float = 3600.0, now: float | None = None
) -> str:
    """Return a bearer token that the simulator's (and MinIO's) metrics endpoints accept."""
    issued = time.time() if now is None else now
    header = _b64encode(json.dumps({"alg": "HS512", "typ": "JWT"}, separators=(",", ":")).encode())
    claims = {"exp": int(issued + expiry_seconds), "sub": access_key, "iss": ISSUER}
    payload = _b64encode(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode()
    signature = hmac.new(secret_key.encode(), signing_input, hashlib.sha512).digest()
    return f"{header}.{payload}.{_b64encode(signature)}"


def verify_prometheus_token(token: str, access_key: str, secret_key: str, *, now: float | None = None) -> bool:
    """True if `token` is an unexpired HS512 JWT for `access_key` signed with `secret_key`."""
    parts = token.split(".")
    if len(parts) != 3:
        return False
    try:
        header = json.loads(_b64decode(parts[0]))
        claims = json.loads(_b64decode(parts[1]))
        signature = _b64decode(parts[2])
    except ValueError:
        return False
    if not isinstance(header, dict) or header.get("alg") != "HS512" or not isinstance(claims, dict):
        return False
    expected = hmac.new(secret_key.encode(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha512).digest()
    if not hmac.compare_digest(expected, signature):
        return False
    if claims.get("sub") != access_key:
        return False
    exp = claims.get("exp")
    current = time.time() if now is None else now
    return isinstance(exp, int | float) and exp > current
