"""The S3 subset: buckets, objects (single-part, multipart, byte ranges), listing, and bucket
configuration reads (policy, versioning, object lock, replication)."""

from __future__ import annotations

import base64
import json
import re
import xml.etree.ElementTree as ET
from email.utils import formatdate
from urllib.parse import quote_plus, unquote
from xml.sax.saxutils import escape

from sandbox.minio_sim import checksums, versions
from sandbox.minio_sim.bucket_config import handle_lifecycle, handle_replication_metrics
from sandbox.minio_sim.context import NodeContext
from sandbox.minio_sim.entities import Bucket, QuorumError, ReplicationRule, StorageFullError, StoredObject
from sandbox.minio_sim.errors import (
    SLOW_DOWN_READ,
    SLOW_DOWN_WRITE,
    STORAGE_FULL,
    iso8601,
    request_id,
    s3_error,
    xml_response,
)
from sandbox.minio_sim.multipart import handle_multipart, ranged
from sandbox.minio_sim.server import Request, Response
from sandbox.minio_sim.sigv4 import verify_request

NS = "http://s3.amazonaws.com/doc/2006-03-01/"
OWNER_ID = "02d6176db174dc93cb1b899f7c6078f08654445fe8cf1b6ce98d8855f66bdbf4"
MAX_KEYS = 1000
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# After a common prefix, skip every key below it on the next page.
_PREFIX_END = "\U0010ffff"

# Bucket sub-resources MinIO answers with "not configured" when nothing is set.
_NOT_CONFIGURED = {
    "lifecycle": ("NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist"),
    "tagging": ("NoSuchTagSet", "The TagSet does not exist"),
    "encryption": (
        "ServerSideEncryptionConfigurationNotFoundError",
        "The server side encryption configuration was not found",
    ),
    "replication": ("ReplicationConfigurationNotFoundError", "The replication configuration was not found"),
    "cors": ("NoSuchCORSConfiguration", "The CORS configuration does not exist"),
}
_UNSUPPORTED_OBJECT_QUERIES = ("tagging", "retention", "legal-hold", "acl", "select")


def _parse_xml(body: bytes) -> ET.Element:
    # Bodies come from local test clients over loopback, and expat does not fetch external
    # entities, so the stdlib parser is acceptable here (defusedxml is not a dependency).
    return ET.fromstring(body)  # noqa: S314


def handle_s3(ctx: NodeContext, request: Request) -> Response:
    """Authenticate and route an S3 request (path-style addressing)."""
    model = ctx.model
    bucket_raw, _, key_raw = request.raw_path.lstrip("/").partition("/")
    bucket, key = unquote(bucket_raw), unquote(key_raw)
    query = request.query
    head = request.method == "HEAD"
    if _matches_no_route(request.method, bucket, key, query):
        # MinIO's router answers before any auth check when no route matches.
        return _unsupported_call(ctx, request)
    # MinIO accepts any region for GetBucketLocation/ListBuckets: that is how clients discover it.
    any_region = not bucket or (request.method == "GET" and not key and "location" in query)
    auth = verify_request(
        method=request.method,
        raw_path=request.raw_path,
        raw_query=request.raw_query,
        headers=request.headers,
        body=request.body,
        access_key=model.access_key,
        secret_key=model.secret_key,
        lookup=model.signer,
        region=None if any_region or not model.region else model.region,
    )
    if not auth.ok and not (auth.anonymous and _anonymous_allowed(ctx, request, bucket, key)):
        if auth.rejected:
            model.count_rejection(ctx.node, auth.rejected)
        return s3_error(auth.status, auth.code, auth.message, resource=request.path, bucket=bucket, key=key, head=head)
    if model.starting_status(ctx.node) is not None:
        return s3_error(
            503,
            "XMinioServerNotInitialized",
            "Server not initialized yet, please try again.",
            resource=request.path,
            bucket=bucket,
            key=key,
            head=head,
        )
    try:
        if not bucket:
            if request.method != "GET":
                return _unsupported_call(ctx, request)
            return _list_buckets(ctx)
        if not key:
            return _bucket_op(ctx, request, bucket)
        return _object_op(ctx, request, bucket, key)
    except QuorumError as exc:
        code, message = SLOW_DOWN_READ if exc.kind == "read" else SLOW_DOWN_WRITE
        return s3_error(503, code, message, resource=request.path, bucket=bucket, key=key, head=head)
    except StorageFullError:
        return s3_error(507, *STORAGE_FULL, resource=request.path, bucket=bucket, key=key, head=head)


# POST routes MinIO has on an object (multipart, restore, select); any other POST matches none.
_OBJECT_POST_QUERIES = ("uploads", "uploadId", "restore", "select")


def _matches_no_route(method: str, bucket: str, key: str, query: dict[str, str]) -> bool:
    """Requests no S3 route of the real server matches (a subset the simulator can tell before auth)."""
    if not bucket:
        return method not in ("GET", "HEAD")
    return bool(key) and method == "POST" and not any(q in query for q in _OBJECT_POST_QUERIES)


def _unsupported_call(ctx: NodeContext, request: Request) -> Response:
    """A request no S3 route matches: MinIO answers 400 BadRequest and counts it in
    minio_s3_requests_rejected_invalid_total (not a credentials problem)."""
    ctx.model.count_rejection(ctx.node, "invalid")
    return s3_error(
        400,
        "BadRequest",
        f"An unsupported API call for method: {request.method} at '{request.path}'",
        resource=request.path,
        head=request.method == "HEAD",
    )


def _policy_allows_anonymous(policy: str | None, action: str) -> bool:
    if not policy:
        return False
    try:
        doc = json.loads(policy)
    except ValueError:
        return False
    for stmt in doc.get("Statement", []) if isinstance(doc, dict) else []:
        principal = stmt.get("Principal")
        everyone = principal == "*" or (isinstance(principal, dict) and "*" in _as_list(principal.get("AWS")))
        actions = _as_list(stmt.get("Action"))
        if stmt.get("Effect") == "Allow" and everyone and (action in actions or "s3:*" in actions):
            return True
    return False


def _as_list(value: object) -> list[object]:
    if isinstance(value, list):
        return value
    return [] if value is None else [value]


def _anonymous_allowed(ctx: NodeContext, request: Request, bucket: str, key: str) -> bool:
    b = ctx.model.buckets.get(bucket)
    if b is None or request.method not in ("GET", "HEAD"):
        return False
    if key:
        return _policy_allows_anonymous(b.policy, "s3:GetObject")
    return not request.query.keys() - {
        "list-type",
        "prefix",
        "delimiter",
        "max-keys",
        "continuation-token",
        "start-after",
        "encoding-type",
        "marker",
        "fetch-owner",
    } and _policy_allows_anonymous(b.policy, "s3:ListBucket")


# ---------------------------------------------------------------- buckets
def _list_buckets(ctx: NodeContext) -> Response:
    with ctx.model.lock:
        rows = [(b.name, b.created) for b in ctx.model.buckets.values()]
    items = "".join(
        f"<Bucket><Name>{escape(name)}</Name><CreationDate>{iso8601(created)}</CreationDate></Bucket>"
        for name, created in sorted(rows)
    )
    return xml_response(
        f'<ListAllMyBucketsResult xmlns="{NS}"><Owner><ID>{OWNER_ID}</ID><DisplayName>minio</DisplayName></Owner>'
        f"<Buckets>{items}</Buckets></ListAllMyBucketsResult>"
    )


def _no_such_bucket(request: Request, bucket: str) -> Response:
    return s3_error(
        404,
        "NoSuchBucket",
        "The specified bucket does not exist",
        resource=request.path,
        bucket=bucket,
        head=request.method == "HEAD",
    )


def _bucket_op(ctx: NodeContext, request: Request, name: str) -> Response:
    model = ctx.model
    query = request.query
    method = request.method
    if method == "PUT" and not query:
        return _create_bucket(ctx, request, name)
    bucket = model.buckets.get(name)
    if bucket is None:
        return _no_such_bucket(request, name)
    if method == "HEAD":
        return Response(200, headers=[("x-amz-request-id", request_id())])
    if method == "DELETE" and not query:
        if bucket.object_count or bucket.versions:  # delete markers and old versions count too
            return s3_error(
                409, "BucketNotEmpty", "The bucket you tried to delete is not empty", resource=request.path, bucket=name
            )
        model.delete_bucket(name)
        return Response(204)
    if method == "POST" and "delete" in query:
        return _delete_many(ctx, request, bucket)
    if "location" in query and method == "GET":
        region = "" if model.region in ("", "us-east-1") else escape(model.region)
        return xml_response(f'<LocationConstraint xmlns="{NS}">{region}</LocationConstraint>')
    if "policy" in query:
        return _bucket_policy(ctx, request, bucket)
    if "versioning" in query:
        return _bucket_versioning(ctx, request, bucket)
    if "versions" in query and method == "GET":
        return _list_versions(ctx, request, bucket)
    if "object-lock" in query and method == "GET":
        if not bucket.object_lock:
            return s3_error(
                404,
                "ObjectLockConfigurationNotFoundError",
                "Object Lock configuration does not exist for this bucket",
                resource=request.path,
                bucket=name,
            )
        return xml_response(
            f'<ObjectLockConfiguration xmlns="{NS}"><ObjectLockEnabled>Enabled</ObjectLockEnabled>'
            "</ObjectLockConfiguration>"
        )
    if "lifecycle" in query:
        return handle_lifecycle(ctx, request, bucket)
    if "replication-metrics" in query:
        return handle_replication_metrics(ctx, request, bucket)
    if "replication" in query and method == "GET" and bucket.replication:
        return xml_response(replication_xml(bucket.replication))
    for sub, (code, message) in _NOT_CONFIGURED.items():
        if sub in query and method == "GET":
            return s3_error(404, code, message, resource=request.path, bucket=name)
    if method == "GET" and (
        not query.keys()
        - {
            "list-type",
            "prefix",
            "delimiter",
            "max-keys",
            "continuation-token",
            "start-after",
            "encoding-type",
            "marker",
            "fetch-owner",
            "metadata",
        }
    ):
        with model.lock:  # a consistent page even while other clients write
            return _list_objects(request, bucket)
    return s3_error(
        501,
        "NotImplemented",
        "A header you provided implies functionality that is not implemented",
        resource=request.path,
        bucket=name,
    )


def _create_bucket(ctx: NodeContext, request: Request, name: str) -> Response:
    if not _BUCKET_NAME.match(name) or ".." in name:
        return s3_error(
            400, "InvalidBucketName", "The specified bucket is not valid.", resource=request.path, bucket=name
        )
    if request.body:
        try:
            root = _parse_xml(request.body)
        except ET.ParseError:
            return s3_error(400, "MalformedXML", "The XML you provided was not well-formed", resource=request.path)
        location = next((el.text or "" for el in root.iter() if el.tag.endswith("LocationConstraint")), "")
        if location and ctx.model.region and location != ctx.model.region:
            return s3_error(
                400,
                "InvalidLocationConstraint",
                "The specified location-constraint is not valid",
                resource=request.path,
                bucket=name,
            )
    lock = str(request.headers.get("x-amz-bucket-object-lock-enabled") or "").lower() == "true"
    if not ctx.model.create_bucket(name, object_lock=lock):
        return s3_error(
            409,
            "BucketAlreadyOwnedByYou",
            "Your previous request to create the named bucket succeeded and you already own it.",
            resource=request.path,
            bucket=name,
        )
    return Response(200, headers=[("Location", f"/{name}"), ("x-amz-request-id", request_id())])


def _bucket_policy(ctx: NodeContext, request: Request, bucket: Bucket) -> Response:
    if request.method == "GET":
        if bucket.policy is None:
            return s3_error(
                404, "NoSuchBucketPolicy", "The bucket policy does not exist", resource=request.path, bucket=bucket.name
            )
        return Response(200, bucket.policy.encode(), "application/json")
    if request.method == "PUT":
        try:
            json.loads(request.body)
        except ValueError:
            return s3_error(
                400, "MalformedPolicy", "Policy has invalid resource.", resource=request.path, bucket=bucket.name
            )
        set_bucket_policy(ctx, bucket.name, request.body.decode())
        return Response(204)
    if request.method == "DELETE":
        set_bucket_policy(ctx, bucket.name, None)
        return Response(204)
    return _unsupported_call(ctx, request)


def set_bucket_policy(ctx: NodeContext, bucket: str, policy: str | None) -> None:
    """Attach (or with None remove) a bucket policy document."""
    with ctx.model.lock:
        ctx.model.buckets[bucket].policy = policy
        ctx.model.touch()


def anonymous_read_policy(bucket: str) -> str:
    """The policy `mc anonymous set download` attaches: anyone may list and read."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": ["*"]},
                    "Action": ["s3:GetBucketLocation", "s3:ListBucket"],
                    "Resource": [f"arn:aws:s3:::{bucket}"],
                },
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": ["*"]},
                    "Action": ["s3:GetObject"],
                    "Resource": [f"arn:aws:s3:::{bucket}/*"],
                },
            ],
        }
    )


def replication_xml(rules: list[ReplicationRule]) -> str:
    """The GetBucketReplication body for a bucket's rules (the Role is empty, as MinIO leaves it)."""
    body = "".join(
        f"<Rule><ID>{escape(r.rule_id)}</ID><Status>{'Enabled' if r.enabled else 'Disabled'}</Status>"
        f"<Priority>{r.priority}</Priority>"
        "<DeleteMarkerReplication><Status>Disabled</Status></DeleteMarkerReplication>"
        "<Filter><Prefix></Prefix></Filter>"
        f"<Destination><Bucket>{escape(r.target_arn)}</Bucket></Destination></Rule>"
        for r in rules
    )
    return f'<ReplicationConfiguration xmlns="{NS}"><Role></Role>{body}</ReplicationConfiguration>'


def _bucket_versioning(ctx: NodeContext, request: Request, bucket: Bucket) -> Response:
    if request.method == "GET":
        status = f"<Status>{bucket.versioning}</Status>" if bucket.versioning else ""
        return xml_response(f'<VersioningConfiguration xmlns="{NS}">{status}</VersioningConfiguration>')
    if request.method == "PUT":
        try:
            root = _parse_xml(request.body)
        except ET.ParseError:
            return s3_error(400, "MalformedXML", "The XML you provided was not well-formed", resource=request.path)
        status = next((el.text or "" for el in root.iter() if el.tag.endswith("Status")), "")
        if status not in ("Enabled", "Suspended"):
            return s3_error(
                400,
                "IllegalVersioningConfigurationException",
                "The versioning configuration specified in the request is invalid.",
                resource=request.path,
            )
        if bucket.object_lock and status == "Suspended":
            return s3_error(
                409,
                "InvalidBucketState",
                "An Object Lock configuration is present on this bucket, versioning cannot be suspended.",
                resource=request.path,
                bucket=bucket.name,
            )
        with ctx.model.lock:
            bucket.versioning = status
            ctx.model.touch()
        return Response(200)
    return _unsupported_call(ctx, request)


def _delete_many(ctx: NodeContext, request: Request, bucket: Bucket) -> Response:
    try:
        root = _parse_xml(request.body)
    except ET.ParseError:
        return s3_error(400, "MalformedXML", "The XML you provided was not well-formed", resource=request.path)
    quiet = any((el.text or "").lower() == "true" for el in root.iter() if el.tag.endswith("Quiet"))
    results = []
    for item in (el for el in root.iter() if el.tag.endswith("Object")):
        key = next((c.text or "" for c in item if c.tag.endswith("Key")), "")
        version = next((c.text or "" for c in item if c.tag.endswith("VersionId")), None)
        if version is not None and not versions.valid_version_id(version):
            results.append(f"<Error><Key>{escape(key)}</Key><VersionId>{escape(version)}</VersionId>"
                           "<Code>InvalidArgument</Code><Message>Invalid version id specified</Message></Error>")
            continue
        gone = ctx.model.delete_object(bucket.name, key, version)
        if quiet:
            continue
        row = f"<Key>{escape(key)}</Key>" + (f"<VersionId>{escape(version)}</VersionId>" if version else "")
        if gone is not None and gone.delete_marker:
            row += "<DeleteMarker>true</DeleteMarker>"
            if version is None:
                row += f"<DeleteMarkerVersionId>{gone.version_id}</DeleteMarkerVersionId>"
        results.append(f"<Deleted>{row}</Deleted>")
    return xml_response(f'<DeleteResult xmlns="{NS}">{"".join(results)}</DeleteResult>')


def _list_versions(ctx: NodeContext, request: Request, bucket: Bucket) -> Response:
    """ListObjectVersions: every version and delete marker under a prefix, key order, newest first per key."""
    query = request.query
    prefix, delimiter = query.get("prefix", ""), query.get("delimiter", "")
    key_marker, version_marker = query.get("key-marker", ""), query.get("version-id-marker", "")
    url_encode = query.get("encoding-type") == "url"
    try:
        max_keys = int(query.get("max-keys") or MAX_KEYS)
    except ValueError:
        max_keys = -1
    if max_keys < 0:
        return s3_error(400, "InvalidArgument", "Argument maxKeys must be an integer between 0 and 2147483647",
                        resource=request.path, bucket=bucket.name)
    max_keys = min(max_keys, MAX_KEYS)
    page = ctx.model.list_versions(bucket.name, prefix, key_marker, version_marker, delimiter, max_keys)

    def enc(text: str) -> str:
        return escape(quote_plus(text, safe="/") if url_encode else text)

    owner = f"<Owner><ID>{OWNER_ID}</ID><DisplayName>minio</DisplayName></Owner>"
    body = [f"<Name>{escape(bucket.name)}</Name>", f"<Prefix>{enc(prefix)}</Prefix>",
            f"<KeyMarker>{enc(key_marker)}</KeyMarker>", f"<VersionIdMarker>{escape(version_marker)}</VersionIdMarker>"]
    if page.truncated:
        body += [f"<NextKeyMarker>{enc(page.next_key_marker)}</NextKeyMarker>",
                 f"<NextVersionIdMarker>{escape(page.next_version_marker)}</NextVersionIdMarker>"]
    body.append(f"<MaxKeys>{max_keys}</MaxKeys>")
    if delimiter:
        body.append(f"<Delimiter>{enc(delimiter)}</Delimiter>")
    if url_encode:
        body.append("<EncodingType>url</EncodingType>")
    body.append(f"<IsTruncated>{'true' if page.truncated else 'false'}</IsTruncated>")
    for version, latest in page.entries:
        common = (f"<Key>{enc(version.key)}</Key><VersionId>{version.version_id}</VersionId>"
                  f"<IsLatest>{'true' if latest else 'false'}</IsLatest>"
                  f"<LastModified>{iso8601(version.last_modified)}</LastModified>")
        if version.delete_marker:
            body.append(f"<DeleteMarker>{common}{owner}</DeleteMarker>")
        else:
            body.append(f"<Version>{common}<ETag>&quot;{version.etag}&quot;</ETag><Size>{len(version.data)}</Size>"
                        f"{owner}<StorageClass>STANDARD</StorageClass></Version>")
    body += [f"<CommonPrefixes><Prefix>{enc(p)}</Prefix></CommonPrefixes>" for p in page.prefixes]
    return xml_response(f'<ListVersionsResult xmlns="{NS}">' + "".join(body) + "</ListVersionsResult>")


# ---------------------------------------------------------------- listing
def _list_objects(request: Request, bucket: Bucket) -> Response:
    query = request.query
    v2 = query.get("list-type") == "2"
    prefix = query.get("prefix", "")
    delimiter = query.get("delimiter", "")
    url_encode = query.get("encoding-type") == "url"
    try:
        max_keys = min(int(query.get("max-keys") or MAX_KEYS), MAX_KEYS)
    except ValueError:
        return s3_error(
            400,
            "InvalidArgument",
            "Argument maxKeys must be an integer between 0 and 2147483647",
            resource=request.path,
            bucket=bucket.name,
        )
    token = query.get("continuation-token", "")
    if v2 and token:
        try:
            marker = base64.urlsafe_b64decode(token.encode()).decode()
        except (ValueError, UnicodeDecodeError):
            return s3_error(
                400,
                "InvalidArgument",
                "The continuation token provided is incorrect",
                resource=request.path,
                bucket=bucket.name,
            )
    else:
        marker = query.get("start-after", "") if v2 else query.get("marker", "")

    keys = sorted(k for k in list(bucket.objects) if k.startswith(prefix) and k > marker)
    contents: list[StoredObject] = []
    prefixes: list[str] = []
    last_marker = marker
    truncated = False
    for k in keys:
        if k <= last_marker:
            continue  # already covered by a common prefix on this page
        if len(contents) + len(prefixes) >= max_keys:
            truncated = True
            break
        if delimiter:
            cut = k.find(delimiter, len(prefix))
            if cut >= 0:
                common = k[: cut + len(delimiter)]
                prefixes.append(common)
                last_marker = common + _PREFIX_END
                continue
        obj = bucket.objects.get(k)
        if obj is not None:
            contents.append(obj)
            last_marker = k

    def enc(text: str) -> str:
        return escape(quote_plus(text, safe="/") if url_encode else text)

    body = [f"<Name>{escape(bucket.name)}</Name>", f"<Prefix>{enc(prefix)}</Prefix>"]
    if v2:
        body.append(f"<KeyCount>{len(contents) + len(prefixes)}</KeyCount>")
        if token:
            body.append(f"<ContinuationToken>{escape(token)}</ContinuationToken>")
        if truncated:
            next_token = base64.urlsafe_b64encode(last_marker.encode()).decode()
            body.append(f"<NextContinuationToken>{next_token}</NextContinuationToken>")
        if query.get("start-after"):
            body.append(f"<StartAfter>{enc(query['start-after'])}</StartAfter>")
    else:
        body.append(f"<Marker>{enc(marker)}</Marker>")
        if truncated and delimiter:
            body.append(f"<NextMarker>{enc(last_marker)}</NextMarker>")
    body.append(f"<MaxKeys>{max_keys}</MaxKeys>")
    if delimiter:
        body.append(f"<Delimiter>{enc(delimiter)}</Delimiter>")
    if url_encode:
        body.append("<EncodingType>url</EncodingType>")
    body.append(f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>")
    for obj in contents:
        body.append(
            f"<Contents><Key>{enc(obj.key)}</Key><LastModified>{iso8601(obj.last_modified)}</LastModified>"
            f"<ETag>&quot;{obj.etag}&quot;</ETag><Size>{len(obj.data)}</Size>"
            f"<Owner><ID>{OWNER_ID}</ID><DisplayName>minio</DisplayName></Owner>"
            "<StorageClass>STANDARD</StorageClass></Contents>"
        )
    body += [f"<CommonPrefixes><Prefix>{enc(p)}</Prefix></CommonPrefixes>" for p in prefixes]
    root = "ListBucketResult"
    return xml_response(f'<{root} xmlns="{NS}">' + "".join(body) + f"</{root}>")


# ---------------------------------------------------------------- objects
def _object_headers(obj: StoredObject) -> list[tuple[str, str]]:
    headers = [
        ("ETag", f'"{obj.etag}"'),
        ("Last-Modified", formatdate(obj.last_modified, usegmt=True)),
        ("Accept-Ranges", "bytes"),
        ("x-amz-request-id", request_id()),
    ]
    if obj.version_id != "null":
        headers.append(("x-amz-version-id", obj.version_id))
    headers += [(f"x-amz-meta-{k}", v) for k, v in obj.metadata.items()]
    return headers


def _with_marker_headers(response: Response, marker: StoredObject | None) -> Response:
    """MinIO names the delete marker it ran into: x-amz-delete-marker and its x-amz-version-id."""
    if marker is not None and marker.delete_marker:
        response.headers += [("x-amz-delete-marker", "true"), ("x-amz-version-id", marker.version_id)]
    return response


def _object_op(ctx: NodeContext, request: Request, bucket_name: str, key: str) -> Response:
    model = ctx.model
    method = request.method
    head = method == "HEAD"
    if any(q in request.query for q in _UNSUPPORTED_OBJECT_QUERIES):
        return s3_error(
            501,
            "NotImplemented",
            "A header you provided implies functionality that is not implemented",
            resource=request.path,
            bucket=bucket_name,
            key=key,
            head=head,
        )
    if bucket_name not in model.buckets:
        return _no_such_bucket(request, bucket_name)
    version_id = request.query.get("versionId")
    if version_id is not None and not versions.valid_version_id(version_id):
        return s3_error(
            400, "InvalidArgument", "Invalid version id specified", resource=request.path, bucket=bucket_name,
            key=key, head=head,
        )
    multipart = handle_multipart(ctx, request, bucket_name, key, _user_metadata(request))
    if multipart is not None:
        return multipart
    if method == "PUT" and "x-amz-copy-source" in request.headers:
        return _copy_object(ctx, request, bucket_name, key)
    if method == "PUT":
        sent = checksums.sent_checksum(request.headers)
        if sent is not None and not checksums.matches(sent, request.body):
            return s3_error(400, *checksums.MISMATCH, resource=request.path, bucket=bucket_name, key=key)
        metadata = _user_metadata(request)
        content_type = str(request.headers.get("Content-Type") or "application/octet-stream")
        obj = model.put_object(bucket_name, key, request.body, content_type, metadata, checksum=sent)
        headers = [("ETag", f'"{obj.etag}"'), ("x-amz-request-id", request_id())]
        if sent is not None:
            headers.append(checksums.header(sent))
        if obj.version_id != "null":
            headers.append(("x-amz-version-id", obj.version_id))
        return Response(200, headers=headers)
    if method in ("GET", "HEAD"):
        return _get_object(ctx, request, bucket_name, key, version_id)
    if method == "DELETE":
        return _delete_object(ctx, bucket_name, key, version_id)
    return _unsupported_call(ctx, request)


def _user_metadata(request: Request) -> dict[str, str]:
    return {
        name[len("x-amz-meta-") :].lower(): str(value)
        for name, value in request.headers.items()
        if name.lower().startswith("x-amz-meta-")
    }


def _get_object(ctx: NodeContext, request: Request, bucket: str, key: str, version_id: str | None) -> Response:
    head = request.method == "HEAD"
    found = ctx.model.get_object(bucket, key, version_id)
    if found is None and version_id is not None:
        return s3_error(404, "NoSuchVersion", "The specified version does not exist.", resource=request.path,
                        bucket=bucket, key=key, head=head)
    if found is None:
        # No key, or its newest version is a delete marker (named in the headers).
        missing = s3_error(404, "NoSuchKey", "The specified key does not exist.", resource=request.path,
                           bucket=bucket, key=key, head=head)
        return _with_marker_headers(missing, ctx.model.latest(bucket, key))
    if found.delete_marker:  # asked for a delete marker by its version id
        refused = s3_error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.",
                           resource=request.path, bucket=bucket, key=key, head=head)
        return _with_marker_headers(refused, found)
    headers = _object_headers(found)
    wants = str(request.headers.get(checksums.CHECKSUM_MODE) or "").upper() == "ENABLED"
    if wants and found.checksum is not None and request.headers.get("Range") is None:
        headers.append(checksums.header(found.checksum))  # of the whole object: never with a range
    return ranged(request, found, headers)


def _delete_object(ctx: NodeContext, bucket: str, key: str, version_id: str | None) -> Response:
    # Deleting what does not exist succeeds, as on S3 (a version id that is not there included).
    gone = ctx.model.delete_object(bucket, key, version_id)
    headers = [("x-amz-request-id", request_id())]
    if gone is not None and (gone.version_id != "null" or gone.delete_marker):
        headers.append(("x-amz-version-id", gone.version_id))
        if gone.delete_marker:
            headers.append(("x-amz-delete-marker", "true"))
    return Response(204, headers=headers)


def _copy_source(raw: str) -> tuple[str, str, str | None]:
    """(bucket, key, version id) from ``x-amz-copy-source`` (``/bucket/key?versionId=...``, URL-encoded)."""
    path, _, query = raw.partition("?")
    source_bucket, _, source_key = unquote(path).lstrip("/").partition("/")
    version = None
    for part in query.split("&"):
        name, _, value = part.partition("=")
        if name == "versionId":
            version = unquote(value)
    return source_bucket, source_key, version


def _copy_object(ctx: NodeContext, request: Request, bucket: str, key: str) -> Response:
    """CopyObject: the source version's data becomes the destination's new current version."""
    model = ctx.model
    src_bucket, src_key, src_version = _copy_source(str(request.headers.get("x-amz-copy-source") or ""))

    def refuse(status: int, code: str, message: str) -> Response:
        return s3_error(status, code, message, resource=request.path, bucket=bucket, key=key)

    if not src_bucket or not src_key:
        return refuse(400, "InvalidArgument", "Copy Source must mention the source bucket and key: "
                        "sourcebucket/sourcekey.")
    if src_version is not None and not versions.valid_version_id(src_version):
        return refuse(400, "InvalidArgument", "Invalid version id specified")
    if src_bucket not in model.buckets:
        return _no_such_bucket(request, src_bucket)
    replace = str(request.headers.get("x-amz-metadata-directive") or "").upper() == "REPLACE"
    if (src_bucket, src_key) == (bucket, key) and src_version is None and not replace:
        return refuse(400, "InvalidRequest", "This copy request is illegal because it is trying to copy an object "
                        "to itself without changing the object's metadata, storage class, website redirect location "
                        "or encryption attributes.")
    source = model.get_object(src_bucket, src_key, src_version)
    if source is None and src_version is not None:
        return refuse(404, "NoSuchVersion", "The specified version does not exist.")
    if source is None:
        return refuse(404, "NoSuchKey", "The specified key does not exist.")
    if source.delete_marker:
        return refuse(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")
    obj = model.copy_object(source, bucket, key, _user_metadata(request) if replace else None)
    headers = []
    if source.version_id != "null":
        headers.append(("x-amz-copy-source-version-id", source.version_id))
    if obj.version_id != "null":
        headers.append(("x-amz-version-id", obj.version_id))
    body = (f'<CopyObjectResult xmlns="{NS}"><LastModified>{iso8601(obj.last_modified)}</LastModified>'
            f"<ETag>&quot;{obj.etag}&quot;</ETag></CopyObjectResult>")
    response = xml_response(body)
    response.headers += headers
    return response
