"""The one redaction function: known secret values and secret-shaped text never pass."""

from __future__ import annotations

import io
import json
import logging

from bot.logs import JsonFormatter
from bot.redact import MASK, redact, register_secret


def test_registered_values_are_masked_anywhere() -> None:
    register_secret("s3cr3t-Value-42")
    assert redact("key=s3cr3t-Value-42;") == f"key={MASK};"
    assert "s3cr3t-Value-42" not in redact("the secret is s3cr3t-Value-42!")


def test_shapes_of_secrets() -> None:
    samples = [
        "token xoxb-123456789-abcdefghij",
        "xapp-1-A0B1C2-123-abcdef",
        "Authorization: AWS4-HMAC-SHA256 Credential=AKIA/2026/us-east-1/s3/aws4_request, Signature=abcd",
        "Bearer eyJhbGciOiJIUzUxMiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl",
        "https://x/?X-Amz-Signature=0123456789abcdef0123&X-Amz-Credential=AKIA",
        "MINIO_ROOT_PASSWORD=minio123secret",
        'export MINIO_ROOT_USER="admin-user"',
        "postgresql://bot:pa55word@db:5432/chatops",
        '{"secretKey": "abc123def456"}',
    ]
    for sample in samples:
        out = redact(sample)
        assert MASK in out, sample
    assert "pa55word" not in redact(samples[7]) and "minio123secret" not in redact(samples[5])
    assert "admin-user" not in redact(samples[6])


def test_ordinary_text_is_untouched() -> None:
    text = "4/4 nodes live · Tenant green · 8/8 pods ready"
    assert redact(text) == text


def test_log_lines_are_json_and_redacted() -> None:
    register_secret("loggedSecretValue99")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("test.redact")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("failed with loggedSecretValue99", extra={"request_id": "abc"})
        try:
            raise RuntimeError("boom loggedSecretValue99")
        except RuntimeError:
            logger.exception("with traceback")
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    first = json.loads(lines[0])
    assert first["request_id"] == "abc" and "loggedSecretValue99" not in lines[0]
    second = json.loads(lines[1])
    assert second["error_type"] == "RuntimeError" and "Traceback" not in lines[1]
