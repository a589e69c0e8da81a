"""Multipart uploads and byte ranges, as the real server answers them.

Multipart: CreateMultipartUpload (``POST ?uploads``), UploadPart (``PUT ?partNumber=N&uploadId=U``),
ListParts (``GET ?uploadId=U``), CompleteMultipartUpload (``POST ?uploadId=U``) and
AbortMultipartUpload (``DELETE ?uploadId=U``). The completed object's ETag is the MD5 of the parts'
binary MD5s followed by ``-<number of parts>``, the form clients (and the bot's backup check) read as
"not an MD5 of the data". Error codes, messages and statuses are MinIO's (cmd/api-errors.go):
NoSuchUpload 404, InvalidPart 400, InvalidPartOrder 400, EntityTooSmall 400 (a part other than the
last under 5 MiB), MalformedXML 400, InvalidArgument 400 for a part number outside 1..10000.

Ranges: ``Range: bytes=a-b`` / ``a-`` / ``-n`` answer 206 with ``Content-Range``; a range that starts
past the end is 416 InvalidRange; a Range header that does not parse is ignored (the whole object),
as MinIO does after Amazon S3.
"""

from __future__ import annotations

import hashlib
import re
import time
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

from sandbox.minio_sim import checksums
from sandbox.minio_sim.context import NodeContext
from sandbox.minio_sim.entities import StoredObject
from sandbox.minio_sim.errors import iso8601, request_id, s3_error, xml_response
from sandbox.minio_sim.server import Request, Response
from sandbox.minio_sim.uploads import Part, Upload, multipart_etag

NS = "http://s3.amazonaws.com/doc/2006-03-01/"
MIN_PART_SIZE = 5 * 1024 * 1024
MAX_PART_NUMBER = 10_000
MAX_PARTS_LISTED = 1000
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _error(request: Request, bucket: str, key: str, status: int, code: str, message: str) -> Response:
    return s3_error(status, code, message, resource=request.path, bucket=bucket, key=key)


def _no_such_upload(request: Request, bucket: str, key: str) -> Response:
    return _error(request, bucket, key, 404, "NoSuchUpload", "The specified multipart upload does not exist. The "
                  "upload ID may be invalid, or the upload may have been aborted or completed.")


def handle_multipart(ctx: NodeContext, request: Request, bucket: str, key: str,
                     metadata: dict[str, str]) -> Response | None:
    """Answer a multipart call on an object, or None when the request is not one."""
    query = request.query
    method = request.method
    if method == "POST" and "uploads" in query:
        return _create(ctx, request, bucket, key, metadata)
    if "uploadId" not in query:
        return None
    upload = ctx.model.uploads.find(query["uploadId"], bucket, key)
    if upload is None:
        return _no_such_upload(request, bucket, key)
    if method == "PUT":
        return _upload_part(ctx, request, upload, bucket, key)
    if method == "GET":
        return _list_parts(request, upload, query["uploadId"])
    if method == "POST":
        return _complete(ctx, request, upload, query["uploadId"])
    if method == "DELETE":
        ctx.model.uploads.finish(query["uploadId"])
        return Response(204, headers=[("x-amz-request-id", request_id())])
    return None


def _create(ctx: NodeContext, request: Request, bucket: str, key: str, metadata: dict[str, str]) -> Response:
    content_type = str(request.headers.get("Content-Type") or "application/octet-stream")
    ctx.model.check_writable(key)
    upload_id = ctx.model.uploads.start(Upload(bucket, key, content_type, metadata, time.time()))
    return xml_response(f'<InitiateMultipartUploadResult xmlns="{NS}"><Bucket>{escape(bucket)}</Bucket>'
                f"<Key>{escape(key)}</Key><UploadId>{upload_id}</UploadId></InitiateMultipartUploadResult>")


def _upload_part(ctx: NodeContext, request: Request, upload: Upload, bucket: str, key: str) -> Response:
    if "x-amz-copy-source" in request.headers:
        return _error(request, bucket, key, 501, "NotImplemented",
                      "A header you provided implies functionality that is not implemented")
    raw = request.query.get("partNumber", "")
    number = int(raw) if raw.isdigit() else 0
    if not 1 <= number <= MAX_PART_NUMBER:
        return _error(request, bucket, key, 400, "InvalidArgument",
                      "Part number must be an integer between 1 and 10000, inclusive")
    sent = checksums.sent_checksum(request.headers)
    if sent is not None and not checksums.matches(sent, request.body):
        return _error(request, bucket, key, 400, *checksums.MISMATCH)
    ctx.model.check_writable(key)
    etag = hashlib.md5(request.body, usedforsecurity=False).hexdigest()
    upload.parts[number] = Part(number, request.body, etag, time.time())
    headers = [("ETag", f'"{etag}"'), ("x-amz-request-id", request_id())]
    return Response(200, headers=headers if sent is None else [*headers, checksums.header(sent)])


def _list_parts(request: Request, upload: Upload, upload_id: str) -> Response:
    raw_marker = request.query.get("part-number-marker", "0")
    marker = int(raw_marker) if raw_marker.isdigit() else 0
    numbers = sorted(n for n in upload.parts if n > marker)
    page, truncated = numbers[:MAX_PARTS_LISTED], len(numbers) > MAX_PARTS_LISTED
    parts = "".join(
        f"<Part><PartNumber>{n}</PartNumber><LastModified>{iso8601(upload.parts[n].last_modified)}</LastModified>"
        f"<ETag>&quot;{upload.parts[n].etag}&quot;</ETag><Size>{len(upload.parts[n].data)}</Size></Part>"
        for n in page)
    next_marker = page[-1] if page else marker
    return xml_response(f'<ListPartsResult xmlns="{NS}"><Bucket>{escape(upload.bucket)}</Bucket>'
                f"<Key>{escape(upload.key)}</Key><UploadId>{upload_id}</UploadId>"
                f"<StorageClass>STANDARD</StorageClass><PartNumberMarker>{marker}</PartNumberMarker>"
                f"<NextPartNumberMarker>{next_marker}</NextPartNumberMarker><MaxParts>{MAX_PARTS_LISTED}</MaxParts>"
                f"<IsTruncated>{str(truncated).lower()}</IsTruncated>{parts}</ListPartsResult>")


def _requested_parts(body: bytes) -> list[tuple[int, str]] | None:
    """(part number, ETag) pairs of a CompleteMultipartUpload body; None when it is not well formed."""
    try:
        root = ET.fromstring(body)  # noqa: S314 - loopback test clients only; expat fetches no entities
    except ET.ParseError:
        return None
    found: list[tuple[int, str]] = []
    for part in root.iter():
        if not part.tag.endswith("Part") or part.tag.endswith("CompleteMultipartUpload"):
            continue
        fields = {child.tag.rsplit("}", 1)[-1]: (child.text or "") for child in part}
        number = fields.get("PartNumber", "")
        if not number.isdigit():
            return None
        found.append((int(number), fields.get("ETag", "").strip().strip('"').lower()))
    return found or None


def _complete(ctx: NodeContext, request: Request, upload: Upload, upload_id: str) -> Response:
    bucket, key = upload.bucket, upload.key
    requested = _requested_parts(request.body)
    if requested is None:
        return _error(request, bucket, key, 400, "MalformedXML", "The XML you provided was not well-formed or did "
                      "not validate against our published schema.")
    numbers = [n for n, _ in requested]
    if numbers != sorted(numbers) or len(set(numbers)) != len(numbers):
        return _error(request, bucket, key, 400, "InvalidPartOrder", "The list of parts was not in ascending order. "
                      "The parts list must be specified in order by part number.")
    parts: list[Part] = []
    for number, etag in requested:
        part = upload.parts.get(number)
        if part is None or part.etag != etag:
            return _error(request, bucket, key, 400, "InvalidPart", "One or more of the specified parts could not be "
                          "found.  The part may not have been uploaded, or the specified entity tag may not match "
                          "the part's entity tag.")
        parts.append(part)
    if any(len(p.data) < MIN_PART_SIZE for p in parts[:-1]):
        return _error(request, bucket, key, 400, "EntityTooSmall",
                      "Your proposed upload is smaller than the minimum allowed object size.")
    obj = ctx.model.put_object(bucket, key, b"".join(p.data for p in parts), upload.content_type, upload.metadata,
                               etag=multipart_etag([p.etag for p in parts]))
    ctx.model.uploads.finish(upload_id)
    response = xml_response(f'<CompleteMultipartUploadResult xmlns="{NS}"><Location>{escape(request.path)}</Location>'
                    f"<Bucket>{escape(bucket)}</Bucket><Key>{escape(key)}</Key>"
                    f"<ETag>&quot;{obj.etag}&quot;</ETag></CompleteMultipartUploadResult>")
    if obj.version_id != "null":
        response.headers.append(("x-amz-version-id", obj.version_id))
    return response


def byte_range(header: str | None, size: int) -> tuple[int, int] | str | None:
    """(first, last) inclusive for a satisfiable ``Range``; None to send the whole object (no header, or one
    that does not parse); ``"unsatisfiable"`` for a range starting past the end (416)."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first_raw, last_raw = match.groups()
    if first_raw == "":  # the last n bytes
        suffix = int(last_raw)
        if suffix == 0:
            return "unsatisfiable"
        return max(0, size - suffix), size - 1
    first = int(first_raw)
    last = size - 1 if last_raw == "" else min(int(last_raw), size - 1)
    if last_raw != "" and int(last_raw) < first:
        return None  # syntactically a range, but backwards: ignored like a bad header
    if first >= size:
        return "unsatisfiable"
    return first, last


def ranged(request: Request, obj: StoredObject, headers: list[tuple[str, str]]) -> Response:
    """GET/HEAD of ``obj`` honouring ``Range``."""
    head = request.method == "HEAD"
    size = len(obj.data)
    span = byte_range(request.headers.get("Range"), size)
    if span == "unsatisfiable":
        return s3_error(416, "InvalidRange", "The requested range is not satisfiable", resource=request.path,
                        key=obj.key, head=head)
    if span is None or isinstance(span, str):
        return Response(200, b"" if head else obj.data, obj.content_type, headers, content_length=size)
    first, last = span
    part = obj.data[first:last + 1]
    return Response(206, b"" if head else part, obj.content_type,
                    [*headers, ("Content-Range", f"bytes {first}-{last}/{size}")], content_length=len(part))
