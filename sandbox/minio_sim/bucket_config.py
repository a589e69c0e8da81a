"""Bucket lifecycle (PUT/GET/DELETE ``?lifecycle``), replication metrics (``?replication-metrics``), remote targets.

Lifecycle: the S3 XML (``LifecycleConfiguration`` of ``Rule``s with ``ID``, ``Status``, ``Filter``/``Prefix``
and at least one action), kept as the server would give it back. PUT needs ``Content-MD5`` (MinIO answers
400 MissingContentMD5 without it), an unreadable body or a rule without an action is 400 MalformedXML, a
bucket without one answers 404 NoSuchLifecycleConfiguration. Replication metrics: MinIO's JSON, v1
(``BucketReplicationStats``) or v2 (``?replication-metrics=2``: ``{"uptime", "currStats", "queueStats"}``),
404 ReplicationConfigurationNotFoundError when the bucket replicates nowhere. The figures are whatever the
control port set (``SimCluster.set_replication_backlog``); nothing replicates for real.
"""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from sandbox.minio_sim.context import NodeContext
from sandbox.minio_sim.entities import Bucket
from sandbox.minio_sim.errors import JSON, admin_error, request_id, s3_error, xml_response
from sandbox.minio_sim.server import Request, Response

NS = "http://s3.amazonaws.com/doc/2006-03-01/"
_ACTIONS = ("Expiration", "NoncurrentVersionExpiration", "Transition", "NoncurrentVersionTransition",
            "AbortIncompleteMultipartUpload", "DelMarkerExpiration")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in element if _local(c.tag) == name), None)


def _text(element: ET.Element | None, name: str) -> str | None:
    found = _child(element, name) if element is not None else None
    return (found.text or "").strip() if found is not None else None


def _rule_xml(rule: ET.Element) -> str:
    """One rule written back in the order S3 documents (ID, Status, Filter, actions)."""
    parts = [f"<ID>{escape(_text(rule, 'ID') or '')}</ID>", f"<Status>{escape(_text(rule, 'Status') or '')}</Status>"]
    flt = _child(rule, "Filter")
    prefix = _text(flt, "Prefix") if flt is not None else _text(rule, "Prefix")
    parts.append(f"<Filter><Prefix>{escape(prefix or '')}</Prefix></Filter>")
    expiration = _child(rule, "Expiration")
    if expiration is not None:
        inner = "".join(f"<{n}>{escape(v)}</{n}>" for n in ("Days", "Date", "ExpiredObjectDeleteMarker")
                        if (v := _text(expiration, n)) is not None)
        parts.append(f"<Expiration>{inner}</Expiration>")
    noncurrent = _child(rule, "NoncurrentVersionExpiration")
    if noncurrent is not None:
        inner = "".join(f"<{n}>{escape(v)}</{n}>" for n in ("NoncurrentDays", "NewerNoncurrentVersions")
                        if (v := _text(noncurrent, n)) is not None)
        parts.append(f"<NoncurrentVersionExpiration>{inner}</NoncurrentVersionExpiration>")
    return "<Rule>" + "".join(parts) + "</Rule>"


def parse_lifecycle(body: bytes) -> str:
    """The configuration as the server stores and returns it; ValueError when MinIO would refuse it."""
    try:
        root = ET.fromstring(body)  # noqa: S314 - loopback test clients; expat fetches no external entities
    except ET.ParseError as exc:
        raise ValueError("not XML") from exc
    if _local(root.tag) != "LifecycleConfiguration":
        raise ValueError("not a LifecycleConfiguration")
    rules = [c for c in root if _local(c.tag) == "Rule"]
    if not rules:
        raise ValueError("no rule")
    for rule in rules:
        if _text(rule, "Status") not in ("Enabled", "Disabled"):
            raise ValueError("a rule's Status must be Enabled or Disabled")
        if not any(_child(rule, action) is not None for action in _ACTIONS):
            raise ValueError("a rule without an action")
        for holder, field in (("Expiration", "Days"), ("NoncurrentVersionExpiration", "NoncurrentDays")):
            value = _text(_child(rule, holder), field) if _child(rule, holder) is not None else None
            if value is not None and (not value.isdigit() or int(value) <= 0):
                raise ValueError(f"{holder}/{field} must be a positive number of days")
    return f'<LifecycleConfiguration xmlns="{NS}">' + "".join(_rule_xml(r) for r in rules) + "</LifecycleConfiguration>"


def handle_lifecycle(ctx: NodeContext, request: Request, bucket: Bucket) -> Response:
    """GET, PUT or DELETE ``/<bucket>?lifecycle``."""
    def refuse(status: int, code: str, message: str) -> Response:
        return s3_error(status, code, message, resource=request.path, bucket=bucket.name)

    if request.method == "GET":
        if bucket.lifecycle is None:
            return refuse(404, "NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist")
        return xml_response(bucket.lifecycle)
    if request.method == "PUT":
        if not request.headers.get("Content-MD5"):
            return refuse(400, "MissingContentMD5", "Missing required header for this request: Content-Md5.")
        try:
            stored = parse_lifecycle(request.body)
        except ValueError:
            return refuse(400, "MalformedXML", "The XML you provided was not well-formed or did not validate "
                          "against our published schema.")
        with ctx.model.lock:
            bucket.lifecycle = stored
            ctx.model.touch()
        return Response(200, headers=[("x-amz-request-id", request_id())])
    if request.method == "DELETE":
        with ctx.model.lock:
            bucket.lifecycle = None
            ctx.model.touch()
        return Response(204)
    return refuse(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")


def _rstat(count: float, size: float) -> dict[str, int]:
    # Go writes a float64 count without a fraction as an integer; bytes are int64.
    return {"count": int(count), "bytes": int(size)}


def _current_stats(bucket: Bucket) -> dict[str, object]:
    """MinIO's ``BucketReplicationStats`` for the bucket, one ``Stats`` entry per enabled rule's target."""
    figures = bucket.replication_stats
    queued = {"curr": _rstat(figures.get("queued_count", 0), figures.get("queued_bytes", 0)),
              "avg": _rstat(figures.get("queued_avg_count", 0), figures.get("queued_avg_bytes", 0)),
              "peak": _rstat(figures.get("queued_peak_count", 0), figures.get("queued_peak_bytes", 0))}
    failed = {"lastMinute": _rstat(0, 0),
              "lastHour": _rstat(figures.get("failed_hour_count", 0), figures.get("failed_hour_bytes", 0)),
              "totals": _rstat(figures.get("failed_count", 0), figures.get("failed_bytes", 0))}
    targets = [r for r in bucket.replication if r.enabled]
    share = max(1, len(targets))
    per_target = {
        r.target_arn: {
            "completedReplicationSize": 0, "replicaSize": 0,
            "failed": {k: _rstat(v["count"] // share, v["bytes"] // share) for k, v in failed.items()},
            "replicationCount": 0, "replicationLatency": {"UploadHistogram": None},
            "limitInBits": 0, "currentBandwidth": 0,
            "pendingReplicationSize": 0, "failedReplicationSize": 0,
            "pendingReplicationCount": 0, "failedReplicationCount": 0,
        }
        for r in targets
    }
    return {
        **({"Stats": per_target} if per_target else {}),
        "completedReplicationSize": 0, "replicaSize": 0, "failed": failed,
        "replicationCount": 0, "replicaCount": 0, "queued": queued,
        "pendingReplicationSize": 0, "failedReplicationSize": 0,
        "pendingReplicationCount": 0, "failedReplicationCount": 0,
    }


def handle_replication_metrics(ctx: NodeContext, request: Request, bucket: Bucket) -> Response:
    """GET ``/<bucket>?replication-metrics`` (v1) or ``?replication-metrics=2`` (v2)."""
    if request.method != "GET":
        return s3_error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.",
                        resource=request.path, bucket=bucket.name)
    if not bucket.replication:
        return s3_error(404, "ReplicationConfigurationNotFoundError", "The replication configuration was not found",
                        resource=request.path, bucket=bucket.name)
    with ctx.model.lock:
        current = _current_stats(bucket)
    if request.query.get("replication-metrics") != "2":
        doc: object = current
    else:
        node = ctx.model.nodes.get(ctx.node)
        uptime = int(time.time() - node.started_at) if node is not None else 0
        doc = {"uptime": uptime, "currStats": current, "queueStats": {"nodes": [], "uptime": uptime},
               "proxyStats": {}}
    return Response(200, json.dumps(doc).encode(), "application/json", [("x-amz-request-id", request_id())])


def list_remote_targets(ctx: NodeContext, request: Request) -> Response:
    """Admin ``GET list-remote-targets?bucket=<b>&type=replication``: madmin's ``BucketTarget`` list, one per
    enabled replication rule (never a secret key). ``isOnline``/``latency`` come from the control port
    (``target_offline``, ``latency_*_ms``); durations are Go ``time.Duration`` nanoseconds."""
    name = request.query.get("bucket", "")
    with ctx.model.lock:
        bucket = ctx.model.buckets.get(name)
        if bucket is None:
            return admin_error(404, "NoSuchBucket", "The specified bucket does not exist", resource=request.path)
        if not bucket.replication:
            return admin_error(404, "XMinioAdminRemoteTargetNotFoundError", "The remote target does not exist",
                               resource=request.path)
        figures = dict(bucket.replication_stats)
        rules = [r for r in bucket.replication if r.enabled]
    offline = bool(figures.get("target_offline"))
    now = time.time()
    last_online = now - figures.get("offline_seconds", 0) if offline else now

    def ns(ms_key: str) -> int:
        return int(figures.get(ms_key, 0) * 1_000_000)

    doc = [
        {
            "sourcebucket": name, "endpoint": "dr-minio.example.net:9000",
            "credentials": {"accessKey": "replicator"},
            "targetbucket": r.target_arn.rsplit(":", 1)[-1], "secure": True, "arn": r.target_arn,
            "type": "replication", "replicationSync": False, "healthCheckDuration": 5_000_000_000,
            "disableProxy": False, "totalDowntime": int(figures.get("offline_seconds", 0) * 1e9),
            "lastOnline": rfc3339_of(last_online), "isOnline": not offline,
            "latency": {"curr": ns("latency_curr_ms"), "avg": ns("latency_avg_ms"), "max": ns("latency_max_ms")},
            "deploymentID": "5a2e6c1f-0b7d-4c3e-9f8a-1d2e3f4a5b6c",
        }
        for r in rules
    ]
    return Response(200, json.dumps(doc).encode(), JSON)


def rfc3339_of(ts: float) -> str:
    """Go's time.Time JSON (RFC 3339, UTC)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
