"""The one redaction function: known secret values and secret-shaped text never pass."""

from __future__ import annotations

import io
import json
import logging

import pytest

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


# ----------------------------------------------------------------------------- structured data (issue 14, item 7)

SPEC = {
    "image": "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z",
    "env": [
        {"name": "MINIO_ROOT_PASSWORD", "value": "root-Pa55-word-77"},
        {"name": "MINIO_BROWSER", "value": "on"},
        {"name": "MINIO_KMS_SECRET_KEY", "value": "kms-key:c2VjcmV0"},
        {"name": "MINIO_IDENTITY_OPENID_CLIENT_SECRET", "valueFrom": {"secretKeyRef": {"name": "oidc", "key": "s"}}},
        {"name": "MINIO_ROOT_PASSWORD_FILE", "value": "/run/secrets/pw"},
    ],
    "pools": [{"name": "pool-0", "servers": 4, "env": [{"name": "MINIO_API_TOKEN", "value": "tok-9f8e7d6c5b"}]}],
}


def test_structured_redaction_masks_secret_env_values_and_keeps_references() -> None:
    from bot.redact import redact_structured

    out = redact_structured(SPEC)
    text = json.dumps(out)
    for literal in ("root-Pa55-word-77", "kms-key:c2VjcmV0", "tok-9f8e7d6c5b"):
        assert literal not in text
    env = {e["name"]: e for e in out["env"]}
    assert env["MINIO_ROOT_PASSWORD"] == {"name": "MINIO_ROOT_PASSWORD", "value": MASK}
    assert env["MINIO_BROWSER"]["value"] == "on" and env["MINIO_ROOT_PASSWORD_FILE"]["value"] == "/run/secrets/pw"
    assert env["MINIO_IDENTITY_OPENID_CLIENT_SECRET"] == SPEC["env"][3], "valueFrom is a reference: kept"
    assert out["image"] == SPEC["image"] and out["pools"][0]["servers"] == 4
    assert SPEC["env"][0]["value"] == "root-Pa55-word-77", "the input is not modified"


def test_an_env_entry_shown_as_json_text_is_masked_even_when_cut_short() -> None:
    line = json.dumps(SPEC["env"], sort_keys=True, separators=(",", ":"))
    assert "root-Pa55-word-77" not in redact(line)
    assert "root-Pa55" not in redact(line[:52]), "a preview truncated inside the value"
    assert "MINIO_BROWSER" in redact(line) and '"value":"on"' in redact(line)


def test_restoring_a_redacted_snapshot_keeps_the_live_secret() -> None:
    from bot.redact import redact_structured, restore_redacted, restore_redacted_patch

    stored = redact_structured(SPEC)
    live = json.loads(json.dumps(SPEC))
    live["env"][0]["value"] = "rotated-Pa55-word-88"
    assert restore_redacted(stored, live)["env"][0]["value"] == "rotated-Pa55-word-88"
    ops = [{"op": "add", "path": "/spec/env", "value": stored["env"]}]
    [op] = restore_redacted_patch(ops, {"spec": live})
    assert op["value"][0]["value"] == "rotated-Pa55-word-88" and MASK not in json.dumps(op)
    live["env"] = [e for e in live["env"] if e["name"] != "MINIO_ROOT_PASSWORD"]
    with pytest.raises(ValueError, match="MINIO_ROOT_PASSWORD"):
        restore_redacted_patch(ops, {"spec": live})


def test_a_patch_carrying_the_placeholder_is_never_sent_to_kubernetes() -> None:
    from kubernetes import client

    from bot.clients.errors import KubeError
    from bot.clients.kube import KubeClient

    api = client.ApiClient(client.Configuration(host="http://127.0.0.1:9"))  # nothing listens: nothing may be sent
    kube = KubeClient(api)
    patch = [{"op": "add", "path": "/spec/env", "value": [{"name": "MINIO_ROOT_PASSWORD", "value": MASK}]}]
    with pytest.raises(KubeError) as refused:
        kube.patch_tenant("ns", "demo", patch, json_patch=True)
    assert refused.value.kind == "invalid" and "placeholder" in str(refused.value)
    with pytest.raises(KubeError):
        kube.patch_deployment("ns", "op", {"spec": {"template": {"metadata": {"annotations": {"x": MASK}}}}})
