"""SigV4 and Prometheus-JWT verification of the simulator, against the SDK's own signer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import Message
from urllib.parse import urlsplit

from minio.credentials import Credentials
from minio.helpers import sha256_hash
from minio.signer import sign_v4_s3

from sandbox.minio_sim.jwt_hs512 import make_prometheus_token, verify_prometheus_token
from sandbox.minio_sim.sigv4 import AuthResult, verify_request

AK, SK = "simadmin", "simsecret-please-change"


def signed(
    url: str,
    body: bytes = b"",
    *,
    payload: str | None = None,
    region: str = "us-east-1",
    when: datetime | None = None,
    secret: str = SK,
) -> tuple[Message, str, str]:
    parts = urlsplit(url)
    date = when or datetime.now(UTC).replace(microsecond=0)
    content_sha = payload or sha256_hash(body)
    headers: dict[str, str | list[str] | tuple[str]] = {
        "Host": parts.netloc,
        "x-amz-date": date.strftime("%Y%m%dT%H%M%SZ"),
        "x-amz-content-sha256": content_sha,
    }
    sign_v4_s3(
        method="PUT",
        url=parts,
        region=region,
        headers=headers,
        credentials=Credentials(AK, secret),
        content_sha256=content_sha,
        date=date,
    )
    message = Message()
    for key, value in headers.items():
        message[key] = str(value)
    return message, parts.path, parts.query


def verify(
    message: Message,
    path: str,
    query: str,
    body: bytes = b"",
    region: str | None = "us-east-1",
    now: datetime | None = None,
) -> AuthResult:
    return verify_request(
        method="PUT",
        raw_path=path,
        raw_query=query,
        headers=message,
        body=body,
        access_key=AK,
        secret_key=SK,
        region=region,
        now=now,
    )


def test_sdk_signature_with_encoded_query_verifies() -> None:
    message, path, query = signed("http://127.0.0.1:9000/b/a%20b.txt?prefix=a%20b%2Fc&max-keys=2", b"data")
    assert verify(message, path, query, b"data").ok


def test_unsigned_payload_is_accepted() -> None:
    message, path, query = signed("http://127.0.0.1:9000/b/k", payload="UNSIGNED-PAYLOAD")
    assert verify(message, path, query, b"whatever the body is").ok


def test_tampered_body_is_a_content_sha_mismatch() -> None:
    message, path, query = signed("http://127.0.0.1:9000/b/k", b"original")
    result = verify(message, path, query, b"tampered")
    assert (result.status, result.code) == (400, "XAmzContentSHA256Mismatch")


def test_wrong_secret_region_and_skew() -> None:
    message, path, query = signed("http://127.0.0.1:9000/b/k", secret="other")
    assert verify(message, path, query).code == "SignatureDoesNotMatch"

    message, path, query = signed("http://127.0.0.1:9000/b/k", region="eu-west-1")
    assert verify(message, path, query).code == "AuthorizationHeaderMalformed"
    assert verify(message, path, query, region=None).ok  # GetBucketLocation/ListBuckets accept any region

    old = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
    message, path, query = signed("http://127.0.0.1:9000/b/k", when=old)
    assert verify(message, path, query).code == "RequestTimeTooSkewed"


def test_missing_authorization_is_anonymous() -> None:
    result = verify(Message(), "/b/k", "")
    assert result.anonymous and not result.ok


def test_prometheus_jwt_round_trip_and_tampering() -> None:
    token = make_prometheus_token(AK, SK)
    assert verify_prometheus_token(token, AK, SK)
    assert not verify_prometheus_token(token, "someone-else", SK)
    assert not verify_prometheus_token(token, AK, "other-secret")
    header, payload, signature = token.split(".")
    assert not verify_prometheus_token(f"{header}.{payload}x.{signature}", AK, SK)
    assert not verify_prometheus_token(make_prometheus_token(AK, SK, expiry_seconds=-1), AK, SK)
