"""Error bodies in the two shapes MinIO uses: S3 XML and admin-API JSON."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from sandbox.minio_sim.server import Response

XML = "application/xml"
JSON = "application/json"


def request_id() -> str:
    """A MinIO-looking request id (16 upper-case hex digits)."""
    return secrets.token_hex(8).upper()


def s3_error(
    status: int,
    code: str,
    message: str,
    *,
    resource: str = "/",
    bucket: str = "",
    key: str = "",
    head: bool = False,
) -> Response:
    """An S3 error: `<Error><Code>...` XML (no body for HEAD, as S3 does)."""
    rid = request_id()
    parts = [f"<Code>{escape(code)}</Code>", f"<Message>{escape(message)}</Message>"]
    if key:
        parts.append(f"<Key>{escape(key)}</Key>")
    if bucket:
        parts.append(f"<BucketName>{escape(bucket)}</BucketName>")
    parts += [f"<Resource>{escape(resource)}</Resource>", f"<RequestId>{rid}</RequestId>", "<HostId></HostId>"]
    body = b'<?xml version="1.0" encoding="UTF-8"?>\n<Error>' + "".join(parts).encode() + b"</Error>"
    return Response(status, b"" if head else body, XML, [("x-amz-request-id", rid)], content_length=0 if head else None)


def admin_error(status: int, code: str, message: str, *, resource: str = "") -> Response:
    """An admin-API error: MinIO's JSON error document."""
    rid = request_id()
    doc = {"Code": code, "Message": message, "Resource": resource, "RequestId": rid, "HostId": ""}
    return Response(status, json.dumps(doc).encode(), JSON, [("x-amz-request-id", rid)])


def json_response(doc: object, status: int = 200) -> Response:
    """A JSON 200 (or `status`) response."""
    return Response(status, json.dumps(doc).encode(), JSON)


def xml_response(body: str, status: int = 200) -> Response:
    """An S3 XML answer: the declaration, the body, and a request id."""
    return Response(status, ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode(), XML,
                    [("x-amz-request-id", request_id())])


def iso8601(ts: float) -> str:
    """S3's XML timestamp format (millisecond precision, Z)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(ts * 1000) % 1000:03d}Z"


# S3 codes the simulator raises, with MinIO's messages.
SLOW_DOWN_WRITE = ("SlowDownWrite", "Resource requested is unwritable, please reduce your request rate")
SLOW_DOWN_READ = ("SlowDownRead", "Resource requested is unreadable, please reduce your request rate")
STORAGE_FULL = (
    "XMinioStorageFull",
    "Storage backend has reached its minimum free drive threshold. Please delete a few objects to proceed.",
)
