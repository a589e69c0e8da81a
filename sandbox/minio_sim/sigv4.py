"""Server-side AWS Signature Version 4 verification (Authorization header form).

Written from the public SigV4 specification; the client side it must agree
with is `minio.signer` in the installed SDK.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from urllib.parse import quote, unquote

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
MAX_CLOCK_SKEW_SECONDS = 15 * 60
_SPACES = re.compile(r" +")
_AUTH_FIELDS = re.compile(r"(Credential|SignedHeaders|Signature)=([^,\s]+)")


@dataclass(frozen=True)
class AuthResult:
    """Outcome of verifying a request; `code`/`status` follow S3's error codes."""

    ok: bool
    status: int = 200
    code: str = ""
    message: str = ""
    access_key: str = ""
    anonymous: bool = False
    # Which of MinIO's rejected-request counters this refusal counts in, if any
    # ("auth": unsupported authorization scheme, "timestamp": missing or skewed date).
    rejected: str | None = None


def _fail(status: int, code: str, message: str, rejected: str | None = None) -> AuthResult:
    return AuthResult(ok=False, status=status, code=code, message=message, rejected=rejected)


def _same_region(signed: str, configured: str) -> bool:
    # Old S3 clients say "US" for us-east-1; MinIO accepts it as such.
    def canonical(region: str) -> str:
        return "us-east-1" if region == "US" else region

    return canonical(signed) == canonical(configured)


def _aws_quote(value: str) -> str:
    # SigV4 encodes everything except the RFC 3986 unreserved characters.
    return quote(value, safe="-_.~")


def canonical_query(raw_query: str) -> str:
    """Canonical query string: decode each pair, re-encode strictly, sort by key then value."""
    pairs = []
    for part in raw_query.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        pairs.append((_aws_quote(unquote(key)), _aws_quote(unquote(value))))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def _header_value(headers: Message, name: str) -> str:
    values = headers.get_all(name) or []
    return ",".join(_SPACES.sub(" ", str(v)).strip() for v in values)


def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    """Derive the SigV4 signing key for a date (YYYYMMDD), region and service."""
    key = hmac.new(("AWS4" + secret_key).encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _parse_authorization(value: str) -> Mapping[str, str] | None:
    if not value.startswith(ALGORITHM + " "):
        return None
    fields = dict(_AUTH_FIELDS.findall(value[len(ALGORITHM) :]))
    if set(fields) != {"Credential", "SignedHeaders", "Signature"}:
        return None
    return fields


def verify_request(
    *,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Message,
    body: bytes,
    access_key: str,
    secret_key: str,
    region: str | None,
    now: datetime | None = None,
    lookup: Callable[[str], tuple[str | None, bool]] | None = None,
) -> AuthResult:
    """Verify a header-signed request.

    `region=None` accepts any region in the credential scope, including the empty
    one: a server with no region configured does that for every request, and MinIO
    does it for GetBucketLocation and ListBuckets so clients can discover the region.
    A server with a region configured refuses other regions.
    A request without an Authorization header is reported as anonymous.
    ``lookup(access_key) -> (secret or None, disabled)`` names other identities than
    ``access_key``/``secret_key``; a disabled one is refused before its signature is checked.
    """
    authorization = str(headers.get("Authorization") or "")
    if not authorization:
        return AuthResult(ok=False, status=403, code="AccessDenied", message="Access Denied.", anonymous=True)
    if not authorization.startswith(ALGORITHM):
        if authorization.startswith("AWS "):
            # Real servers accept Signature V2; the simulator does not implement it (see DIFFERENCES.md).
            return _fail(501, "NotImplemented", "Signature V2 is not supported by the simulator.")
        if authorization.startswith("Bearer "):
            return _fail(403, "AccessDenied", "Access Denied.")
        # An authorization scheme MinIO does not know: the one case its
        # minio_s3_requests_rejected_auth_total counts.
        return _fail(
            400,
            "InvalidRequest",
            "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.",
            rejected="auth",
        )
    fields = _parse_authorization(authorization)
    if fields is None:
        return _fail(400, "AuthorizationHeaderMalformed", "The authorization header is malformed.")
    # As MinIO parses it, an access key may itself contain "/": the scope is the last four parts.
    parts = fields["Credential"].split("/")
    if len(parts) < 5 or parts[-1] != "aws4_request":
        return _fail(400, "AuthorizationHeaderMalformed", "The authorization header is malformed.")
    key_id = "/".join(parts[:-4])
    scope = [key_id, *parts[-4:]]
    _, scope_date, scope_region, service, _ = scope
    if lookup is not None and key_id != access_key:
        found, disabled = lookup(key_id)
        if disabled:
            return _fail(403, "InvalidAccessKeyId", "Your account is disabled; please contact your administrator.")
        if found is not None:
            access_key, secret_key = key_id, found
    if key_id != access_key:
        return _fail(403, "InvalidAccessKeyId", "The Access Key Id you provided does not exist in our records.")
    if region is not None and not _same_region(scope_region, region):
        return _fail(
            400,
            "AuthorizationHeaderMalformed",
            f"The authorization header is malformed; the region '{scope_region}' is wrong; expecting '{region}'.",
        )
    if service != "s3":
        return _fail(400, "AuthorizationHeaderMalformed", f"Unsupported service '{service}'.")

    amz_date = str(headers.get("x-amz-date") or "")
    try:
        when = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return _fail(
            403, "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header", rejected="timestamp"
        )
    current = now or datetime.now(UTC)
    if abs((current - when).total_seconds()) > MAX_CLOCK_SKEW_SECONDS:
        return _fail(
            403,
            "RequestTimeTooSkewed",
            "The difference between the request time and the server's time is too large.",
            rejected="timestamp",
        )

    content_sha = str(headers.get("x-amz-content-sha256") or EMPTY_SHA256)
    if content_sha.startswith("STREAMING-"):
        return _fail(501, "NotImplemented", "Streaming (chunked) signatures are not supported by the simulator.")
    if content_sha != UNSIGNED_PAYLOAD and "x-amz-content-sha256" in headers:
        if not hmac.compare_digest(content_sha, hashlib.sha256(body).hexdigest()):
            return _fail(
                400,
                "XAmzContentSHA256Mismatch",
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
            )

    signed = fields["SignedHeaders"].split(";")
    canonical_headers = "".join(f"{name}:{_header_value(headers, name)}\n" for name in signed)
    canonical_request = "\n".join(
        [method, raw_path or "/", canonical_query(raw_query), canonical_headers, fields["SignedHeaders"], content_sha]
    )
    string_to_sign = "\n".join(
        [ALGORITHM, amz_date, "/".join(scope[1:]), hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    key = signing_key(secret_key, scope_date, scope_region, service)
    expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    if scope_date != amz_date[:8] or not hmac.compare_digest(expected, fields["Signature"]):
        return _fail(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.",
        )
    return AuthResult(ok=True, access_key=key_id)
