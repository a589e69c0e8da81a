"""Typed client for one MinIO deployment: admin API, health probes, metrics, a few S3 calls.

Every method returns a pydantic model (see ``minio_models``) or raises
:class:`MinioError` naming the node and the reason. Nothing here knows about
Slack or reports.

Node numbers are 1-based: ``endpoints[0]`` is node 1. Read-only calls made
with ``node=None`` try the nodes in order and take the first good answer;
nodes that failed on the way are remembered (``last_failed_nodes`` and, for
``server_info``, ``ServerInfo.failed_nodes``). Calls that change state are
sent to another node only when the first certainly did not act on them.
"""

from __future__ import annotations

import hashlib
import heapq
import io
import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO, TypeVar, cast
from urllib.parse import SplitResult, quote, urlsplit, urlunsplit
from xml.etree import ElementTree

import urllib3
from minio import Minio
from minio.commonconfig import ENABLED, CopySource
from minio.credentials import Credentials, Provider
from minio.crypto import decrypt, encrypt
from minio.error import InvalidResponseError, MinioException, S3Error, ServerError
from minio.versioningconfig import VersioningConfig
from pydantic import BaseModel, SecretStr, TypeAdapter, ValidationError

from bot.clients.errors import ErrorKind, MinioError, NotSupported, PerNodeUnavailable, classify_transport_error
from bot.clients.minio_auth import canonical_query, prometheus_jwt, signed_headers
from bot.clients.minio_credentials import CredentialSource, Keys, StaticCredentials
from bot.clients.minio_models import (
    AccountInfo,
    BackupFreshness,
    BucketInfo,
    BucketQuota,
    CanaryResult,
    ClusterHealth,
    CopyResult,
    DataUsage,
    HealStatus,
    LifecycleInfo,
    ListedObject,
    LockEntry,
    NewestObjects,
    ObjectLockInfo,
    ObjectVersion,
    PoolStatus,
    Probe,
    ReadBack,
    RemoteTarget,
    ReplicationInfo,
    ReplicationMetrics,
    ReplicationRuleInfo,
    RequestRejections,
    ServerInfo,
    ServiceAccountDetail,
    ServiceAccountInfo,
    ServiceActionResult,
    SpeedTestResult,
    TopLocks,
    UserInfo,
    VersioningInfo,
    VersionPage,
)
from bot.clients.timeouts import (
    MAX_IN_FLIGHT_PER_ENDPOINT,
    EndpointBusyError,
    Timeouts,
    endpoint_slot,
    make_pool_manager,
    speedtest_deadline_s,
    stream_deadline,
)

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
_REMOTE_TARGETS: TypeAdapter[list[RemoteTarget] | None] = TypeAdapter(list[RemoteTarget] | None)

ADMIN_PREFIX = "/minio/admin/v3/"
CANARY_PREFIX = ".minio-chatops/canary/"
"""Where :meth:`MinioClient.canary` writes its objects (the bot's MinIO policy allows writes only there)."""

# What each public method needs in the MinIO policy of the bot's own user (IAM actions, as MinIO's admin
# and S3 handlers check them). deploy/minio/bot-policy.json is exactly their union and
# tests/test_minio_policy.py keeps the methods, this table and the policy equal. Probes are unauthenticated;
# `accountinfo` needs valid credentials and no action.
POLICY_ACTIONS: dict[str, tuple[str, ...]] = {
    "close": (),
    "node_name": (),
    "server_info": ("admin:ServerInfo",),
    "data_usage": ("admin:DataUsageInfo",),
    "liveness": (),
    "readiness": (),
    "cluster_health": (),
    "heal_status": ("admin:Heal",),
    "pools_list": ("admin:ServerInfo",),
    "pools_status": ("admin:ServerInfo",),
    "decommission_start": ("admin:Decommission", "admin:ServerInfo"),
    "decommission_cancel": ("admin:Decommission", "admin:ServerInfo"),
    "service_restart": ("admin:ServiceRestart",),
    "top_locks": ("admin:TopLocksInfo",),
    "account_info": (),
    "list_users": ("admin:ListUsers",),
    "metrics_cluster": ("admin:Prometheus",),
    "request_rejections": ("admin:Prometheus",),
    "list_buckets": ("s3:ListAllMyBuckets",),
    "bucket_policy_public": ("s3:GetBucketPolicy",),
    "bucket_versioning": ("s3:GetBucketVersioning",),
    "object_lock": ("s3:GetBucketObjectLockConfiguration",),
    "bucket_replication": ("s3:GetReplicationConfiguration",),
    "bucket_replication_metrics": ("s3:GetReplicationConfiguration",),
    "bucket_lifecycle": ("s3:GetLifecycleConfiguration",),
    "bucket_remote_targets": ("admin:GetBucketTarget",),
    "canary": ("s3:PutObject", "s3:GetObject", "s3:DeleteObject"),
    "backup_freshness": ("s3:ListBucket",),
    "newest_object_age": ("s3:ListBucket",),
    "bucket_quota": ("admin:GetBucketQuota",),
    "list_object_versions": ("s3:ListBucketVersions",),
    "copy_object_version": ("s3:GetObject", "s3:PutObject"),
    "delete_object_version": ("s3:DeleteObject",),
    "list_service_accounts": ("admin:ListServiceAccounts",),
    "service_account_info": ("admin:ListServiceAccounts",),
    "set_user_status": ("admin:EnableUser",),
    "set_service_account_status": ("admin:UpdateServiceAccount",),
    "signing_user": (),
    "enable_bucket_versioning": ("s3:PutBucketVersioning",),
    "set_bucket_quota": ("admin:SetBucketQuota",),
    "newest_objects": ("s3:ListBucket",),
    "read_back": ("s3:GetObject",),
    "stat_object": ("s3:GetObject",),
    "copy_object": ("s3:GetObject", "s3:PutObject"),
    "stream_to": ("s3:GetObject",),  # the PUT goes through the destination's client (put_stream)
    "put_stream": ("s3:PutObject",),
    "speedtest": ("admin:OBDInfo",),
}

# Methods that change a tenant's data or identities (restores, user enable/disable). Their actions are
# granted by deploy/minio/bot-policy-remedies.json, which an administrator attaches only where the bot
# should carry out approved remedies; the base policy stays read-mostly.
REMEDY_METHODS = frozenset({
    "copy_object_version", "delete_object_version", "set_user_status", "enable_bucket_versioning", "set_bucket_quota",
    "copy_object", "put_stream",  # restores from the backup location
    # Not changes, but they read objects outside the canary prefix (backup verification and restore): same policy.
    "read_back", "stat_object", "stream_to",
    # Not a change either, but it loads the whole cluster and freezes its S3 traffic while it runs.
    "speedtest",
    "set_service_account_status",
})

# S3/admin error codes that mean "these credentials are wrong", as opposed to
# "these credentials may not do that" (AccessDenied -> forbidden).
_AUTH_CODES = frozenset(
    {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidToken",
        "ExpiredToken",
        "AuthorizationHeaderMalformed",
        "AuthorizationQueryParametersError",
        "MissingSecurityHeader",
        "XMinioAdminInvalidAccessKey",
        "XMinioAdminInvalidSecretKey",
        "XMinioInvalidToken",
    }
)
_NOT_FOUND_CODES = frozenset({"NoSuchBucket", "NoSuchKey", "NoSuchBucketPolicy", "XMinioAdminNoSuchUser"})
# A Prometheus token made from stale keys is refused with 403 (forbidden), not 401.
_TOKEN_REJECTED = frozenset({"auth", "forbidden"})
# Failures after which another node may well answer.
_FAILOVER_KINDS = frozenset({"unreachable", "timeout", "unavailable"})

_pool_list = TypeAdapter(list[PoolStatus])
_lock_list = TypeAdapter(list[LockEntry])
_user_map = TypeAdapter(dict[str, dict[str, Any]])
_account_list = TypeAdapter(dict[str, list[ServiceAccountInfo] | None])


@dataclass(frozen=True)
class _Node:
    number: int
    base: SplitResult
    name: str | None = None  # the pod behind this endpoint, when known

    @property
    def netloc(self) -> str:
        return self.base.netloc

    @property
    def label(self) -> str:
        return f"MinIO node {self.number}" + (f" (pod {self.name})" if self.name else "")


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: Mapping[str, str]
    data: bytes
    latency_ms: float


class _SdkKeys(Provider):
    """The SDK's credentials provider, backed by the client's source (read on every request)."""

    def __init__(self, source: CredentialSource) -> None:
        self._source = source

    def retrieve(self) -> Credentials:
        """The source's current keys."""
        return Credentials(*self._source.keys())


class _BufferedBody(io.BytesIO):
    """An already-read body shaped like the urllib3 response ``minio.crypto.decrypt`` reads from."""

    def release_conn(self) -> None:
        """Nothing to release: the connection went back to the pool when the body was read."""


class MinioClient:
    """Talks to one MinIO deployment through its node endpoints.

    Keys come from ``access_key``/``secret_key`` (fixed) or from a
    ``credentials`` source that re-reads them (after a TTL, and at once when
    the server rejects them: the rejected request is then sent once more).
    Neither key appears in ``repr``/``str`` or in any error.

    ``per_node`` says whether each endpoint is one server (its own answers
    are that node's) or a load balancer in front of several; per-node
    questions (liveness, ``?maintenance=true``) on a load-balanced client
    raise :class:`PerNodeUnavailable` instead of guessing. ``node_names``
    (e.g. pod names) label the nodes in errors. ``resolve`` maps
    ``host[:port]`` to the address to connect to (see ``ResolvingPoolManager``).
    """

    def __init__(
        self,
        endpoints: list[str],
        access_key: str | None = None,
        secret_key: SecretStr | str | None = None,
        region: str = "us-east-1",
        timeouts: Timeouts | None = None,
        ca_file: str | None = None,
        insecure: bool = False,
        *,
        credentials: CredentialSource | None = None,
        per_node: bool = True,
        node_names: Sequence[str] | None = None,
        resolve: Mapping[str, str] | None = None,
    ) -> None:
        if not endpoints:
            raise ValueError("MinioClient needs at least one endpoint")
        if node_names is not None and len(node_names) != len(endpoints):
            raise ValueError("node_names needs one name per endpoint")
        nodes = []
        for number, endpoint in enumerate(endpoints, start=1):
            parts = urlsplit(endpoint)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f"endpoint {number} must look like http(s)://host:port, got {endpoint!r}")
            name = node_names[number - 1] if node_names else None
            nodes.append(_Node(number, SplitResult(parts.scheme, parts.netloc, "", "", ""), name))
        self._nodes = nodes
        if credentials is None:
            if access_key is None or secret_key is None:
                raise ValueError("MinioClient needs access_key and secret_key, or a credentials source")
            credentials = StaticCredentials(access_key, secret_key)
        self._credentials = credentials
        self.per_node = per_node
        self.region = region
        self.timeouts = timeouts or Timeouts()
        self._insecure = insecure
        self._pool = make_pool_manager(self.timeouts, ca_file=ca_file, insecure=insecure, resolve=resolve)
        self._s3_clients: dict[int, Minio] = {}
        self._s3_lock = threading.Lock()
        self.last_failed_nodes: dict[int, str] = {}

    def __repr__(self) -> str:
        return f"MinioClient(endpoints={self.endpoints!r}, region={self.region!r}, per_node={self.per_node})"

    __str__ = __repr__

    @property
    def endpoints(self) -> list[str]:
        """The node endpoints, node 1 first."""
        return [urlunsplit(n.base) for n in self._nodes]

    @property
    def nodes(self) -> list[int]:
        """Node numbers, 1-based."""
        return [n.number for n in self._nodes]

    def node_name(self, number: int) -> str | None:
        """The name (pod) of node ``number``, when the client was given names."""
        return self._node(number).name

    def close(self) -> None:
        """Drop pooled connections."""
        self._pool.clear()

    # ------------------------------------------------------------ plumbing

    def _keys(self) -> Keys:
        """(access key, secret key) now; raises CredentialsUnavailable when there are none."""
        return self._credentials.keys()

    def _secrets(self) -> tuple[str, ...]:
        try:
            access, secret = self._keys()
        except MinioError:
            return ()
        return (secret, access)

    def _with_fresh_keys(self, call: Callable[[], T], kinds: frozenset[str] = frozenset({"auth"})) -> T:
        """Run ``call``; when its keys were rejected and the source has newer ones, run it once more.

        A rejection means the server did nothing, so sending again is safe even for changes.
        """
        stale = self._keys()
        try:
            return call()
        except MinioError as exc:
            if exc.kind not in kinds or not self._credentials.refresh(stale):
                raise
        return call()

    def _per_node_only(self, question: str) -> None:
        if not self.per_node:
            raise PerNodeUnavailable.asked(question)

    def _node(self, number: int) -> _Node:
        if not 1 <= number <= len(self._nodes):
            raise MinioError("invalid", "MinIO cluster", f"there is no node {number}; nodes are 1..{len(self._nodes)}")
        return self._nodes[number - 1]

    def _error(
        self, kind: ErrorKind, node: _Node, detail: str, *, status: int | None = None, not_sent: bool = False
    ) -> MinioError:
        return MinioError(
            kind,
            node.label,
            detail,
            address=node.netloc,
            status=status,
            not_sent=not_sent,
            secrets=self._secrets(),
        )

    def _send(
        self,
        node: _Node,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: bytes | None = None,
        signed: bool = True,
        headers: Mapping[str, str] | None = None,
        timeouts: Timeouts | None = None,
    ) -> _Answer:
        """One HTTP exchange with one node; transport failures become MinioError, any status is returned."""
        policy = timeouts or self.timeouts
        url = node.base._replace(path=path, query=canonical_query(query))
        request_headers: dict[str, str] = {}
        if signed:
            access_key, secret_key = self._keys()
            request_headers = signed_headers(
                method=method,
                url=url,
                access_key=access_key,
                secret_key=secret_key,
                region=self.region,
                body=body,
            )
        request_headers.update(headers or {})
        start = time.monotonic()
        try:
            with endpoint_slot(node.netloc, wait_s=policy.total):
                response = self._pool.request(
                    method,
                    urlunsplit(url),
                    body=body,
                    headers=request_headers,
                    timeout=policy.urllib3(),
                    retries=False,
                    redirect=False,
                    preload_content=True,
                )
        except EndpointBusyError:
            raise self._error(
                "timeout",
                node,
                f"{MAX_IN_FLIGHT_PER_ENDPOINT} calls already in flight for {policy.total:g} s",
                not_sent=True,
            ) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            failure = classify_transport_error(exc, policy.connect, policy.read)
            raise self._error(failure.kind, node, failure.detail, not_sent=failure.not_sent) from None
        return _Answer(response.status, dict(response.headers), response.data, (time.monotonic() - start) * 1000)

    def _admin(
        self,
        node: _Node,
        method: str,
        command: str,
        *,
        query: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> _Answer:
        """A signed admin call; non-2xx answers become MinioError (rejected keys are re-read once).

        Admin calls may wait on the server's peers (``info`` waits up to 10 s for a hung
        one), so they use the admin read timeout (see ``timeouts.ADMIN_READ_S``).
        """

        def call() -> _Answer:
            answer = self._send(
                node, method, ADMIN_PREFIX + command, query=query, body=body, timeouts=self.timeouts.for_admin()
            )
            if not 200 <= answer.status < 300:
                raise self._http_error(node, answer, command)
            return answer

        return self._with_fresh_keys(call)

    def _http_error(self, node: _Node, answer: _Answer, what: str) -> MinioError:
        code, message = _error_fields(answer)
        status = answer.status
        text = f"{what}: HTTP {status}" + (f" {code}" if code else "") + (f": {message}" if message else "")
        if status == 426 or (status == 501 and code in (None, "NotImplemented")):
            # The API is not served at all (426 XMinioAdminVersionMismatch: not in this server's
            # mode; 501 NotImplemented): every node says the same, nothing to retry.
            return NotSupported(
                "unsupported",
                node.label,
                _unsupported_detail(what, status, code),
                address=node.netloc,
                status=status,
                secrets=self._secrets(),
            )
        kind: ErrorKind
        not_sent = False
        if status == 401 or (status in (400, 403) and code in _AUTH_CODES):
            kind = "auth"
        elif status == 403:
            kind = "forbidden"
        elif status == 404:
            kind = "not_found"
        elif status == 409:
            kind = "conflict"
        elif status in (400, 412, 413, 415):
            kind = "invalid"
        elif status in (405, 501):
            kind, text = "unavailable", f"{text} (not supported by this server)"
        elif status in (429, 503):
            # The server refused before doing anything: another node may act.
            kind, not_sent = "unavailable", True
            if code == "XMinioServerNotInitialized":
                text += " (the server is still starting)"
        elif status >= 500 and code:
            kind = "unavailable"
        else:
            kind = "bad_response"
        return self._error(kind, node, text, status=status, not_sent=not_sent)

    def _parse(self, node: _Node, answer: _Answer, model: type[M], what: str) -> M:
        try:
            return model.model_validate_json(answer.data)
        except ValidationError as exc:
            raise self._error(
                "bad_response", node, f"{what}: {_validation_summary(exc)}", status=answer.status
            ) from None

    def _on_nodes(
        self,
        call: Callable[[_Node], T],
        node: int | None,
        *,
        changes_state: bool = False,
        conclusive: Callable[[T], bool] | None = None,
    ) -> tuple[T, _Node]:
        """Run ``call`` on ``node``, or on the first node that answers when ``node`` is None.

        State-changing calls move on only when the failed node certainly did not act.
        ``conclusive`` (read-only calls) tells an answer about the cluster from one that only
        speaks for the node (a node still starting): the next node is asked, and the first
        inconclusive answer is returned only when no node gives a conclusive one.
        """
        if node is not None:
            target = self._node(node)
            return call(target), target
        failed: dict[int, str] = {}
        errors: list[MinioError] = []
        inconclusive: tuple[T, _Node] | None = None
        for target in self._nodes:
            try:
                result = call(target)
            except MinioError as exc:
                if exc.kind in _FAILOVER_KINDS and (exc.not_sent or not changes_state):
                    failed[target.number] = str(exc)
                    errors.append(exc)
                    continue
                self.last_failed_nodes = failed
                raise
            if conclusive is not None and not conclusive(result):
                inconclusive = inconclusive or (result, target)
                continue
            self.last_failed_nodes = failed
            return result, target
        self.last_failed_nodes = failed
        if inconclusive is not None:
            return inconclusive
        kinds = {e.kind for e in errors}
        kind: ErrorKind = errors[0].kind if len(kinds) == 1 else "unreachable"
        summary = "; ".join(f"node {n}: {e.detail}" for n, e in zip(failed, errors, strict=True))
        # No node acted when none of them took the request (a change is only moved on in that case).
        raise MinioError(kind, "MinIO cluster", f"no node answered ({summary})", secrets=self._secrets(),
                         not_sent=all(e.not_sent for e in errors))

    # ------------------------------------------------------------ admin: info and usage

    def server_info(self, node: int | None = None) -> ServerInfo:
        """Cluster topology, drives and versions (admin ``info``), first healthy node's view."""

        def call(target: _Node) -> ServerInfo:
            return self._parse(target, self._admin(target, "GET", "info"), ServerInfo, "info")

        info, target = self._on_nodes(call, node)
        info.answered_by = target.number
        info.failed_nodes = dict(self.last_failed_nodes) if node is None else {}
        return info

    def data_usage(self, node: int | None = None) -> DataUsage:
        """Scanner usage per bucket (admin ``datausageinfo``): O(buckets), never lists objects."""

        def call(target: _Node) -> DataUsage:
            return self._parse(target, self._admin(target, "GET", "datausageinfo"), DataUsage, "datausageinfo")

        return self._on_nodes(call, node)[0]

    # ------------------------------------------------------------ health probes

    def liveness(self, node: int) -> Probe:
        """``/minio/health/live`` of one node. A down node is an answer (``ok=False``), not an exception."""
        return self._probe(node, "/minio/health/live")

    def readiness(self, node: int) -> Probe:
        """``/minio/health/ready`` of one node (liveness plus KMS/etcd)."""
        return self._probe(node, "/minio/health/ready")

    def _probe(self, number: int, path: str) -> Probe:
        self._per_node_only(f"{path.rsplit('/', 1)[-1]} of node {number}")
        target = self._node(number)
        url = urlunsplit(target.base._replace(path=path))
        start = time.monotonic()
        try:
            answer = self._send(target, "GET", path, signed=False, timeouts=self.timeouts.for_probe())
        except MinioError as exc:
            return Probe(
                node=number,
                url=url,
                ok=False,
                latency_ms=_ms_since(start),
                error=str(exc),
                error_kind=exc.kind,
            )
        ok = answer.status == 200
        return Probe(
            node=number,
            url=url,
            ok=ok,
            status=answer.status,
            latency_ms=answer.latency_ms,
            error=None if ok else f"HTTP {answer.status}",
            server_status_header=_header(answer.headers, "X-Minio-Server-Status"),
        )

    def cluster_health(self, read: bool = False, maintenance: bool = False, node: int | None = None) -> ClusterHealth:
        """Erasure-set quorum check (``/minio/health/cluster[/read]``, optionally ``?maintenance=true``).

        200 means healthy; 503 and 412 are answers with ``ok=False``. A 503 carrying
        ``X-Minio-Server-Status`` is a server still starting (``starting=True``), not lost
        quorum; with ``node=None`` the next node is asked then, and a starting answer is
        returned only when every answering node is starting. Only the header of the probe
        asked is read: ``X-Minio-Write-Quorum`` on ``/cluster``, ``X-Minio-Read-Quorum`` on
        ``/cluster/read``. The server evaluates under a 10 s deadline, so the admin read
        timeout applies. Unreachable or hung nodes raise MinioError.
        """
        path = "/minio/health/cluster" + ("/read" if read else "")
        query = {"maintenance": "true"} if maintenance else None
        if maintenance:
            # Answered for the node that receives it: behind a load balancer, an unknown node.
            self._per_node_only("maintenance check" + (f" of node {node}" if node is not None else ""))

        def call(target: _Node) -> ClusterHealth:
            answer = self._send(target, "GET", path, query=query, signed=False, timeouts=self.timeouts.for_admin())
            if answer.status not in (200, 412, 503):
                raise self._http_error(target, answer, path)
            server_status = _header(answer.headers, "X-Minio-Server-Status")
            quorum = _int_header(answer.headers, "X-Minio-Read-Quorum" if read else "X-Minio-Write-Quorum")
            return ClusterHealth(
                ok=answer.status == 200,
                status=answer.status,
                write_quorum=None if read else quorum,
                read_quorum=quorum if read else None,
                healing_drives=_int_header(answer.headers, "X-Minio-Healing-Drives") or 0,
                storage_class_defaults=_bool_header(answer.headers, "X-Minio-Storage-Class-Defaults"),
                node=target.number,
                latency_ms=answer.latency_ms,
                read=read,
                maintenance=maintenance,
                starting=answer.status == 503 and server_status is not None,
                server_status=server_status,
            )

        # With node=None a starting node's 503 says nothing about quorum: ask the next node.
        return self._on_nodes(call, node, conclusive=lambda health: not health.starting)[0]

    # ------------------------------------------------------------ admin: heal, pools, service, locks

    def heal_status(self, node: int | None = None) -> HealStatus:
        """Background healing state (admin ``background-heal/status``)."""

        def call(target: _Node) -> HealStatus:
            answer = self._admin(target, "POST", "background-heal/status")
            return self._parse(target, answer, HealStatus, "background-heal/status")

        return self._on_nodes(call, node)[0]

    def pools_list(self, node: int | None = None) -> list[PoolStatus]:
        """All server pools with their decommission state (admin ``pools/list``)."""

        def call(target: _Node) -> list[PoolStatus]:
            answer = self._admin(target, "GET", "pools/list")
            return self._parse_adapter(target, answer, _pool_list, "pools/list")

        return self._on_nodes(call, node)[0]

    def pools_status(self, pool: str, node: int | None = None) -> PoolStatus:
        """One pool's decommission progress (admin ``pools/status``); ``pool`` is its command line."""

        def call(target: _Node) -> PoolStatus:
            answer = self._admin(target, "GET", "pools/status", query={"pool": pool})
            return self._parse(target, answer, PoolStatus, "pools/status")

        return self._on_nodes(call, node)[0]

    def decommission_start(self, pools: str, node: int | None = None) -> PoolStatus | None:
        """Start decommissioning ``pools`` (comma-separated command lines); returns the first pool's status.

        Returns None when the server accepted but the status could not be read back.
        """

        def call(target: _Node) -> _Node:
            self._admin(target, "POST", "pools/decommission", query={"pool": pools})
            return target

        target = self._on_nodes(call, node, changes_state=True)[0]
        return self._status_after(pools, target)

    def decommission_cancel(self, pools: str, node: int | None = None) -> PoolStatus | None:
        """Cancel a running decommission of ``pools``; returns the first pool's status or None."""

        def call(target: _Node) -> _Node:
            self._admin(target, "POST", "pools/cancel", query={"pool": pools})
            return target

        target = self._on_nodes(call, node, changes_state=True)[0]
        return self._status_after(pools, target)

    def _status_after(self, pools: str, target: _Node) -> PoolStatus | None:
        try:
            return self.pools_status(pools.split(",")[0], node=target.number)
        except MinioError:
            # The action itself succeeded; the caller polls pools_status for progress.
            return None

    def service_restart(self, dry_run: bool, node: int | None = None) -> ServiceActionResult:
        """Restart every server of the deployment (admin ``service`` v2), or only check that it could."""
        query = {"action": "restart", "type": "2", "dry-run": "true" if dry_run else "false"}

        def call(target: _Node) -> ServiceActionResult:
            answer = self._admin(target, "POST", "service", query=query)
            if not answer.data.strip():
                return ServiceActionResult(action="restart", dry_run=dry_run)
            return self._parse(target, answer, ServiceActionResult, "service restart")

        return self._on_nodes(call, node, changes_state=not dry_run)[0]

    def top_locks(self, node: int | None = None) -> TopLocks:
        """The oldest locks held, each with ``elapsed`` as a timedelta (the wire unit is nanoseconds).

        A single (non-distributed) server does not serve this API and answers 426
        ``XMinioAdminVersionMismatch``: that is returned as ``supported=False`` with a
        one-line ``reason``, not raised, since it is a fact about the deployment.
        """

        def call(target: _Node) -> TopLocks:
            try:
                answer = self._admin(target, "GET", "top/locks", query={"count": "10"})
            except NotSupported as exc:
                return TopLocks(supported=False, reason=exc.detail)
            data = answer.data.strip() or b"[]"
            locks = self._parse_adapter(
                target,
                _Answer(answer.status, answer.headers, data, answer.latency_ms),
                _lock_list,
                "top/locks",
            )
            return TopLocks(supported=True, locks=locks)

        return self._on_nodes(call, node)[0]

    # ------------------------------------------------------------ admin: object speed test

    def speedtest(
        self,
        *,
        size: int,
        concurrent: int,
        duration_s: float,
        on_value: Callable[[SpeedTestResult], None] | None = None,
        node: int | None = None,
    ) -> SpeedTestResult:
        """Run the server's object speed test (admin ``speedtest``) once, at fixed concurrency (no autotune).

        The answer is a stream of values: ``on_value`` gets each as it arrives (a keep-alive zero value
        every 500 ms while the nodes measure, then the result), and the last result is returned. The
        whole answer must arrive within ``timeouts.speedtest_deadline_s(duration_s)`` (2 x duration for
        the upload and download phases, plus the server's own set-up and clean-up); each read waits at
        most the admin read timeout. The test loads the whole cluster, so it goes to one node (node 1
        unless ``node``) and to the next only when the first certainly never received it. A refusal
        (507 not enough free space, 403, 503 starting) raises MinioError with the server's message.
        """
        query = {"size": str(size), "duration": f"{duration_s:g}s", "concurrent": str(concurrent)}

        def call(target: _Node) -> SpeedTestResult:
            return self._speedtest_on(target, query, speedtest_deadline_s(duration_s), on_value)

        return self._on_nodes(call, node, changes_state=True)[0]

    def _speedtest_on(
        self,
        node: _Node,
        query: Mapping[str, str],
        deadline_s: float,
        on_value: Callable[[SpeedTestResult], None] | None,
    ) -> SpeedTestResult:
        policy = self.timeouts.for_admin()
        try:
            with endpoint_slot(node.netloc, wait_s=policy.total):
                response = self._with_fresh_keys(lambda: self._open_stream(node, "speedtest", query, policy))
                try:
                    return self._read_speedtest(node, response, time.monotonic() + deadline_s, deadline_s, on_value)
                finally:
                    response.release_conn()
        except EndpointBusyError:
            raise self._error("timeout", node, f"{MAX_IN_FLIGHT_PER_ENDPOINT} calls already in flight for "
                              f"{policy.total:g} s", not_sent=True) from None

    def _open_stream(
        self, node: _Node, command: str, query: Mapping[str, str], policy: Timeouts
    ) -> urllib3.BaseHTTPResponse:
        """A signed admin POST whose body is read as it arrives; a non-2xx answer raises MinioError."""
        url = node.base._replace(path=ADMIN_PREFIX + command, query=canonical_query(query))
        access_key, secret_key = self._keys()
        headers = signed_headers(method="POST", url=url, access_key=access_key, secret_key=secret_key,
                                 region=self.region, body=None)
        start = time.monotonic()
        try:
            response = self._pool.request("POST", urlunsplit(url), headers=headers, timeout=policy.urllib3(),
                                          retries=False, redirect=False, preload_content=False)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            failure = classify_transport_error(exc, policy.connect, policy.read)
            raise self._error(failure.kind, node, failure.detail, not_sent=failure.not_sent) from None
        if not 200 <= response.status < 300:
            try:
                data = response.read()
            except (urllib3.exceptions.HTTPError, OSError):
                data = b""
            response.release_conn()
            raise self._http_error(node, _Answer(response.status, dict(response.headers), data, _ms_since(start)),
                                   command)
        return response

    def _read_speedtest(
        self,
        node: _Node,
        response: urllib3.BaseHTTPResponse,
        deadline: float,
        deadline_s: float,
        on_value: Callable[[SpeedTestResult], None] | None,
    ) -> SpeedTestResult:
        """Decode the stream value by value (Go's json.Encoder: whitespace between values) until it ends."""
        decoder = json.JSONDecoder()
        pending = ""
        last: SpeedTestResult | None = None
        while True:
            if time.monotonic() > deadline:
                raise self._error("timeout", node, f"speedtest: the answer did not end within {deadline_s:g} s")
            try:
                chunk = response.read1(65536)
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                failure = classify_transport_error(exc, None, self.timeouts.for_admin().read)
                raise self._error(failure.kind, node, f"speedtest stopped mid-answer: {failure.detail}") from None
            pending += chunk.decode("utf-8", "replace")
            while True:
                pending = pending.lstrip()
                if not pending:
                    break
                try:
                    doc, end = decoder.raw_decode(pending)
                except ValueError:
                    break  # an incomplete value: wait for the rest
                pending = pending[end:]
                try:
                    value = SpeedTestResult.model_validate(doc)
                except ValidationError as exc:
                    raise self._error("bad_response", node, f"speedtest: {_validation_summary(exc)}") from None
                if value.is_result:
                    last = value
                if on_value is not None:
                    on_value(value)
            if not chunk:
                break
        if pending.strip():
            raise self._error("bad_response", node, "speedtest: the answer ended in the middle of a value")
        if last is None:
            raise self._error("bad_response", node, "speedtest: the answer ended without a result")
        return last

    def _parse_adapter(self, node: _Node, answer: _Answer, adapter: TypeAdapter[T], what: str) -> T:
        try:
            return adapter.validate_json(answer.data)
        except ValidationError as exc:
            raise self._error(
                "bad_response", node, f"{what}: {_validation_summary(exc)}", status=answer.status
            ) from None

    # ------------------------------------------------------------ admin: account and users

    def account_info(self, node: int | None = None) -> AccountInfo:
        """Who the bot's credentials are and which buckets they see (admin ``accountinfo``)."""

        def call(target: _Node) -> AccountInfo:
            return self._parse(target, self._admin(target, "GET", "accountinfo"), AccountInfo, "accountinfo")

        return self._on_nodes(call, node)[0]

    def list_users(self, node: int | None = None) -> list[UserInfo]:
        """Internal IAM users (admin ``list-users``; the answer is encrypted with the secret key)."""

        def call(target: _Node) -> list[UserInfo]:
            answer = self._admin(target, "GET", "list-users")
            try:
                body = _BufferedBody(answer.data)
                plain = decrypt(cast(urllib3.BaseHTTPResponse, body), self._keys()[1])
            except Exception as exc:  # noqa: BLE001 - any decryption failure means "unreadable answer"
                raise self._error(
                    "bad_response", target, f"list-users: cannot decrypt the answer ({type(exc).__name__})"
                ) from None
            try:
                raw = _user_map.validate_json(plain)
                return [UserInfo.model_validate({**fields, "access_key": key}) for key, fields in sorted(raw.items())]
            except ValidationError as exc:
                raise self._error("bad_response", target, f"list-users: {_validation_summary(exc)}") from None

        return self._on_nodes(call, node)[0]

    def list_service_accounts(self, user: str, node: int | None = None) -> list[ServiceAccountInfo]:
        """The service accounts of ``user`` (admin ``list-service-accounts``, encrypted like ``list-users``)."""

        def call(target: _Node) -> list[ServiceAccountInfo]:
            answer = self._admin(target, "GET", "list-service-accounts", query={"user": user})
            plain = self._decrypted(target, answer, "list-service-accounts")
            try:
                doc = _account_list.validate_json(plain)
            except ValidationError as exc:
                detail = f"list-service-accounts: {_validation_summary(exc)}"
                raise self._error("bad_response", target, detail) from None
            return doc.get("accounts") or []

        return self._on_nodes(call, node)[0]

    def _decrypted(self, target: _Node, answer: _Answer, what: str) -> bytes:
        try:
            return decrypt(cast(urllib3.BaseHTTPResponse, _BufferedBody(answer.data)), self._keys()[1])
        except Exception as exc:  # noqa: BLE001 - any decryption failure means "unreadable answer"
            detail = f"{what}: cannot decrypt the answer ({type(exc).__name__})"
            raise self._error("bad_response", target, detail) from None

    def set_user_status(self, access_key: str, enabled: bool, node: int | None = None) -> None:
        """Enable or disable an IAM user (admin ``set-user-status``); a disabled user can no longer sign requests."""
        query = {"accessKey": access_key, "status": "enabled" if enabled else "disabled"}

        def call(target: _Node) -> None:
            self._admin(target, "PUT", "set-user-status", query=query)

        self._on_nodes(call, node, changes_state=True)

    def service_account_info(self, access_key: str, node: int | None = None) -> ServiceAccountDetail | None:
        """One access key (admin ``info-service-account``, encrypted like ``list-users``); None when MinIO has
        no service account by that name (404 ``XMinioInvalidIAMCredentials``: unknown keys, IAM users and the
        root user alike)."""

        def call(target: _Node) -> ServiceAccountDetail | None:
            try:
                answer = self._admin(target, "GET", "info-service-account", query={"accessKey": access_key})
            except MinioError as exc:
                if exc.kind == "not_found":
                    return None
                raise
            plain = self._decrypted(target, answer, "info-service-account")
            try:
                detail = ServiceAccountDetail.model_validate_json(plain)
            except ValidationError as exc:
                raise self._error("bad_response", target, f"info-service-account: {_validation_summary(exc)}") from None
            detail.access_key = access_key
            return detail

        return self._on_nodes(call, node)[0]

    def set_service_account_status(self, access_key: str, enabled: bool, node: int | None = None) -> None:
        """Turn a service account on or off (admin ``update-service-account``, body encrypted with the bot's
        secret, ``newStatus`` "on"/"off": the values every server release accepts). An off key is refused
        on every request; its secret and policy stay, so turning it on again restores it."""
        doc = json.dumps({"newStatus": "on" if enabled else "off"}).encode()

        def call(target: _Node) -> None:
            # Encrypted with the secret the request is signed with, as madmin does.
            body = encrypt(doc, self._keys()[1])
            self._admin(target, "POST", "update-service-account", query={"accessKey": access_key}, body=body)

        self._on_nodes(call, node, changes_state=True)

    def signing_user(self) -> str:
        """The access key (user name) this client signs with: the bot's own MinIO user."""
        return self._keys()[0]

    def bucket_quota(self, bucket: str, node: int | None = None) -> BucketQuota | None:
        """A bucket's quota (admin ``get-bucket-quota``); None when none is configured."""

        def call(target: _Node) -> BucketQuota | None:
            try:
                answer = self._admin(target, "GET", "get-bucket-quota", query={"bucket": bucket})
            except MinioError as exc:
                if exc.kind == "not_found" and "NoSuchQuotaConfiguration" in exc.detail:
                    return None
                raise
            if not answer.data.strip():
                return None
            quota = self._parse(target, answer, BucketQuota, "get-bucket-quota")
            return quota if quota.limit else None

        return self._on_nodes(call, node)[0]

    def set_bucket_quota(self, bucket: str, size: int, node: int | None = None) -> None:
        """Set a hard quota of ``size`` bytes on a bucket (admin ``set-bucket-quota``); 0 removes it."""
        body = json.dumps({"quota": size, "size": size, "quotatype": "hard"}).encode()

        def call(target: _Node) -> None:
            self._admin(target, "PUT", "set-bucket-quota", query={"bucket": bucket}, body=body)

        self._on_nodes(call, node, changes_state=True)

    # ------------------------------------------------------------ metrics

    def metrics_cluster(self, jwt: bool = True, node: int | None = None) -> dict[str, float]:
        """Prometheus v2 cluster metrics as ``{'name{labels}': value}`` (``name`` alone when unlabelled)."""
        path = "/minio/v2/metrics/cluster"

        def scrape(target: _Node) -> _Answer:
            headers = {}
            if jwt:
                token = prometheus_jwt(*self._keys())
                headers["Authorization"] = f"Bearer {token}"
            # The cluster group gathers every peer's metrics: it waits on peers like `info`.
            answer = self._send(target, "GET", path, signed=False, headers=headers, timeouts=self.timeouts.for_admin())
            if answer.status != 200:
                error = self._http_error(target, answer, "metrics")
                if error.kind == "forbidden":
                    # MinIO answers 403 both for a bad token and for a user without admin:Prometheus.
                    error = self._error(
                        "forbidden",
                        target,
                        f"{error.detail} (token rejected or no admin:Prometheus)",
                        status=error.status,
                    )
                raise error
            return answer

        def call(target: _Node) -> dict[str, float]:
            # A token signed with rotated-away keys is answered 403: re-read the keys once.
            answer = self._with_fresh_keys(lambda: scrape(target), _TOKEN_REJECTED) if jwt else scrape(target)
            try:
                return parse_prometheus_text(answer.data.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as exc:
                raise self._error("bad_response", target, f"metrics: unreadable exposition ({exc})") from None

        return self._on_nodes(call, node)[0]

    def request_rejections(self, jwt: bool = True, node: int | None = None) -> RequestRejections:
        """The server's rejected-request counters (auth scheme, invalid call, timestamp, header),
        summed over every server of the cluster metrics.

        Counters from process start: take two samples and use :meth:`RequestRejections.since`
        (or a Prometheus ``rate()``) to say anything about now.
        """
        return RequestRejections.from_samples(self.metrics_cluster(jwt=jwt, node=node))

    # ------------------------------------------------------------ S3 side (through the SDK)

    def _s3(self, target: _Node) -> Minio:
        with self._s3_lock:
            client = self._s3_clients.get(target.number)
            if client is None:
                # Our pool, not the SDK's default (5 retries, 5-minute timeouts).
                client = Minio(
                    target.netloc,
                    credentials=_SdkKeys(self._credentials),  # asked per request: rotated keys apply at once
                    secure=target.base.scheme == "https",
                    region=self.region,
                    http_client=self._pool,
                    cert_check=not self._insecure,
                )
                self._s3_clients[target.number] = client
            return client

    def _s3_call(self, target: _Node, what: str, fn: Callable[[Minio], T]) -> T:
        """Run one SDK call against ``target`` inside its in-flight slot, mapping SDK errors.

        Rejected keys are re-read and the call sent once more when they changed.
        """
        return self._with_fresh_keys(lambda: self._s3_call_once(target, what, fn))

    def _s3_call_once(self, target: _Node, what: str, fn: Callable[[Minio], T]) -> T:
        try:
            with endpoint_slot(target.netloc, wait_s=self.timeouts.total):
                return fn(self._s3(target))
        except EndpointBusyError:
            raise self._error(
                "timeout",
                target,
                f"{what}: {MAX_IN_FLIGHT_PER_ENDPOINT} calls already in flight",
                not_sent=True,
            ) from None
        except S3Error as exc:
            raise self._s3_error(target, what, exc) from None
        except ServerError as exc:
            status = exc.status_code
            kind: ErrorKind = "unavailable" if status in (429, 503) or status >= 500 else "bad_response"
            raise self._error(
                kind, target, f"{what}: HTTP {status}", status=status, not_sent=status in (429, 503)
            ) from None
        except InvalidResponseError:
            raise self._error("bad_response", target, f"{what}: the answer is not S3 XML") from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            failure = classify_transport_error(exc, self.timeouts.connect, self.timeouts.read)
            raise self._error(failure.kind, target, f"{what}: {failure.detail}", not_sent=failure.not_sent) from None
        except MinioException as exc:
            raise self._error("bad_response", target, f"{what}: {type(exc).__name__}") from None
        except ValueError as exc:
            # The SDK validates names and arguments before sending.
            raise self._error("invalid", target, f"{what}: {exc}", not_sent=True) from None

    def _s3_error(self, target: _Node, what: str, exc: S3Error) -> MinioError:
        code = exc.code or ""
        status = exc.response.status if exc.response is not None else None
        kind: ErrorKind
        if code in _AUTH_CODES:
            kind = "auth"
        elif code == "AccessDenied" or status == 403:
            kind = "forbidden"
        elif code in _NOT_FOUND_CODES or status == 404:
            kind = "not_found"
        elif status == 409:
            kind = "conflict"
        elif status in (429, 503) or code in ("SlowDown", "XMinioServerNotInitialized"):
            kind = "unavailable"
        elif status is not None and status >= 500:
            kind = "unavailable"
        else:
            kind = "invalid"
        detail = f"{what}: {code or 'error'}" + (f": {exc.message}" if exc.message else "")
        return self._error(kind, target, detail, status=status, not_sent=kind == "unavailable")

    def list_buckets(self, node: int | None = None) -> list[BucketInfo]:
        """All buckets (S3 ListBuckets)."""

        def call(target: _Node) -> list[BucketInfo]:
            buckets = self._s3_call(target, "list buckets", lambda c: c.list_buckets())
            return [BucketInfo(name=b.name, created=b.creation_date) for b in buckets]

        return self._on_nodes(call, node)[0]

    def bucket_policy_public(self, bucket: str, node: int | None = None) -> bool:
        """True when the bucket policy allows anonymous access (an Allow statement for principal ``*``)."""

        def call(target: _Node) -> bool:
            try:
                text = self._s3_call(target, f"policy of {bucket}", lambda c: c.get_bucket_policy(bucket))
            except MinioError as exc:
                if exc.kind == "not_found" and "NoSuchBucketPolicy" in exc.detail:
                    return False
                raise
            try:
                policy = json.loads(text)
            except ValueError:
                raise self._error("bad_response", target, f"policy of {bucket}: not JSON") from None
            return policy_is_public(policy)

        return self._on_nodes(call, node)[0]

    def bucket_versioning(self, bucket: str, node: int | None = None) -> VersioningInfo:
        """Versioning status of a bucket: Enabled, Suspended or Off."""

        def call(target: _Node) -> VersioningInfo:
            config = self._s3_call(target, f"versioning of {bucket}", lambda c: c.get_bucket_versioning(bucket))
            return VersioningInfo(bucket=bucket, status=config.status_string, mfa_delete=config.mfa_delete)

        return self._on_nodes(call, node)[0]

    def enable_bucket_versioning(self, bucket: str, node: int | None = None) -> None:
        """Turn versioning on for a bucket (never off: the bot offers no way to disable it)."""

        def call(target: _Node) -> None:
            config = VersioningConfig(ENABLED)
            self._s3_call(target, f"enable versioning of {bucket}", lambda c: c.set_bucket_versioning(bucket, config))

        self._on_nodes(call, node, changes_state=True)

    def object_lock(self, bucket: str, node: int | None = None) -> ObjectLockInfo:
        """Object-lock configuration of a bucket (``enabled=False`` when the bucket has none)."""

        def call(target: _Node) -> ObjectLockInfo:
            try:
                config = self._s3_call(target, f"object lock of {bucket}", lambda c: c.get_object_lock_config(bucket))
            except MinioError as exc:
                if "ObjectLockConfigurationNotFound" in exc.detail:
                    return ObjectLockInfo(bucket=bucket, enabled=False)
                raise
            return ObjectLockInfo(
                bucket=bucket,
                enabled=True,
                mode=config.mode,
                duration=config.duration,
                unit=config.duration_unit,
            )

        return self._on_nodes(call, node)[0]

    def bucket_replication(self, bucket: str, node: int | None = None) -> ReplicationInfo | None:
        """Replication rules of a bucket (S3 GetBucketReplication); None when the bucket replicates nowhere."""

        def call(target: _Node) -> ReplicationInfo | None:
            config = self._s3_call(target, f"replication of {bucket}", lambda c: c.get_bucket_replication(bucket))
            if config is None:  # the SDK maps ReplicationConfigurationNotFoundError to None
                return None
            return ReplicationInfo(
                bucket=bucket,
                role=config.role or "",
                rules=[
                    ReplicationRuleInfo(
                        rule_id=r.rule_id,
                        enabled=r.status == "Enabled",
                        priority=r.priority,
                        target=r.destination.bucket_arn if r.destination else "",
                    )
                    for r in config.rules
                ],
            )

        return self._on_nodes(call, node)[0]

    def bucket_replication_metrics(self, bucket: str, node: int | None = None) -> ReplicationMetrics | None:
        """Replication backlog and failures of a bucket (``GET /<bucket>?replication-metrics=2``; the v1
        shape is read too); None when the bucket has no replication configuration.

        The server gathers every peer's figures before it answers (as admin ``info`` does), so the
        call uses the admin read timeout; it needs ``s3:GetReplicationConfiguration``.
        """
        path = "/" + quote(bucket, safe="")

        def call(target: _Node) -> ReplicationMetrics | None:
            def once() -> _Answer:
                answer = self._send(target, "GET", path, query={"replication-metrics": "2"},
                                    timeouts=self.timeouts.for_admin())
                if answer.status != 200:
                    raise self._http_error(target, answer, f"replication metrics of {bucket}")
                return answer

            try:
                answer = self._with_fresh_keys(once)
            except MinioError as exc:
                if exc.kind == "not_found" and "ReplicationConfigurationNotFoundError" in exc.detail:
                    return None
                raise
            try:
                return ReplicationMetrics.from_answer(bucket, json.loads(answer.data))
            except (ValueError, ValidationError) as exc:
                raise self._error("bad_response", target, f"replication metrics of {bucket}: {exc}",
                                  status=answer.status) from None

        return self._on_nodes(call, node)[0]

    def bucket_remote_targets(self, bucket: str, node: int | None = None) -> list[RemoteTarget]:
        """The bucket's replication targets as the server sees them (admin ``list-remote-targets``): online or
        not, since when, and the link's latency; empty when the bucket has none."""

        def call(target: _Node) -> list[RemoteTarget]:
            try:
                answer = self._admin(target, "GET", "list-remote-targets",
                                     query={"bucket": bucket, "type": "replication"})
            except MinioError as exc:
                if exc.kind == "not_found" and "NoSuchBucket" not in exc.detail:
                    return []  # no remote target configured
                raise
            return self._parse_adapter(target, answer, _REMOTE_TARGETS, "list-remote-targets") or []

        return self._on_nodes(call, node)[0]

    def bucket_lifecycle(self, bucket: str, node: int | None = None) -> LifecycleInfo | None:
        """A bucket's lifecycle rules (S3 GetBucketLifecycleConfiguration, ``GET /<bucket>?lifecycle``):
        how many are enabled and the soonest expiry; None when it has none (NoSuchLifecycleConfiguration)."""

        def call(target: _Node) -> LifecycleInfo | None:
            config = self._s3_call(target, f"lifecycle of {bucket}", lambda c: c.get_bucket_lifecycle(bucket))
            if config is None:  # the SDK maps NoSuchLifecycleConfiguration to None
                return None
            enabled = [r for r in config.rules if r.status == "Enabled"]
            days = [r.expiration.days for r in enabled if r.expiration and r.expiration.days is not None]
            dates = [r.expiration.date for r in enabled if r.expiration and r.expiration.date is not None]
            noncurrent = [r.noncurrent_version_expiration.noncurrent_days for r in enabled
                          if r.noncurrent_version_expiration
                          and r.noncurrent_version_expiration.noncurrent_days is not None]
            return LifecycleInfo(
                bucket=bucket, rules=len(config.rules), enabled=len(enabled),
                expire_days=min(days) if days else None,
                expire_date=min(dates) if dates else None,
                noncurrent_days=min(noncurrent) if noncurrent else None,
            )

        return self._on_nodes(call, node)[0]

    def canary(self, bucket: str, size: int = 4096, node: int | None = None) -> CanaryResult:
        """PUT, GET and DELETE one small object and time each step.

        Failures are part of the result (``ok=False``, ``error``), since a
        failed canary is what the caller wants to report. With ``node=None``
        the first node that accepts a connection is used.
        """
        name = f"{CANARY_PREFIX}{uuid.uuid4().hex}"
        payload = uuid.uuid4().bytes * (size // 16 + 1)
        payload = payload[:size]
        nodes = [self._node(node)] if node is not None else list(self._nodes)
        result = CanaryResult(bucket=bucket, node=nodes[0].number, ok=False)
        for target in nodes:
            result, put_not_sent = self._canary_on(target, bucket, name, payload)
            # Move on only if this node certainly never received the PUT (no stray object left behind).
            if result.ok or not put_not_sent:
                break
        return result

    def _canary_on(self, target: _Node, bucket: str, name: str, payload: bytes) -> tuple[CanaryResult, bool]:
        """One canary round trip on one node; returns the result and whether the PUT never reached it."""
        result = CanaryResult(bucket=bucket, node=target.number, ok=False)

        def timed(step: str, fn: Callable[[Minio], Any]) -> Any:
            start = time.monotonic()
            value = self._s3_call(target, f"canary {step}", fn)
            setattr(result, f"{step}_ms", _ms_since(start))
            return value

        def get(c: Minio) -> bytes:
            response = c.get_object(bucket, name)
            try:
                return bytes(response.read())
            finally:
                response.close()
                response.release_conn()

        try:
            timed("put", lambda c: c.put_object(bucket, name, io.BytesIO(payload), len(payload)))
        except MinioError as exc:
            result.error, result.error_kind = str(exc), exc.kind
            return result, exc.not_sent
        failure: MinioError | None = None
        try:
            if timed("get", get) != payload:
                failure = self._error("bad_response", target, "canary get: object came back different")
        except MinioError as exc:
            failure = exc
        try:
            timed("delete", lambda c: c.remove_object(bucket, name))
        except MinioError as exc:
            failure = failure or exc
        if failure is not None:
            result.error, result.error_kind = str(failure), failure.kind
        else:
            result.ok = True
        return result, False

    def list_object_versions(
        self,
        bucket: str,
        prefix: str,
        *,
        key_marker: str = "",
        version_marker: str = "",
        max_keys: int = 100,
        node: int | None = None,
    ) -> VersionPage:
        """ONE page of versions and delete markers under ``prefix`` (S3 ListObjectVersions), never more:
        the caller pages on with the returned markers. Entries keep the server's order (key, newest first)."""
        query = {"versions": "", "prefix": prefix, "max-keys": str(max(1, min(max_keys, 1000)))}
        if key_marker:
            query["key-marker"] = key_marker
            if version_marker:
                query["version-id-marker"] = version_marker
        path = "/" + quote(bucket, safe="")

        def call(target: _Node) -> VersionPage:
            def once() -> _Answer:
                answer = self._send(target, "GET", path, query=query)
                if answer.status != 200:
                    raise self._http_error(target, answer, f"versions of {bucket}/{prefix}")
                return answer

            return _version_page(bucket, prefix, self._with_fresh_keys(once).data)

        try:
            return self._on_nodes(call, node)[0]
        except ValueError:
            raise MinioError("bad_response", "MinIO cluster", f"versions of {bucket}/{prefix}: not S3 XML",
                             secrets=self._secrets()) from None

    def copy_object_version(self, bucket: str, key: str, version_id: str, node: int | None = None,
                            to: str | None = None) -> CopyResult:
        """Server-side copy of one version of ``key`` onto ``key`` itself (or onto ``to`` in the same bucket):
        it becomes the destination's current version (nothing is deleted; older versions stay in the history)."""
        return self.copy_object(bucket, key, bucket, to or key, node=node, version_id=version_id)

    def delete_object_version(self, bucket: str, key: str, version_id: str, node: int | None = None) -> None:
        """Delete exactly one version (or delete marker) of ``key``; the version below becomes current."""

        def call(target: _Node) -> None:
            self._s3_call(target, f"delete {bucket}/{key} version", lambda c: c.remove_object(bucket, key,
                                                                                             version_id=version_id))

        self._on_nodes(call, node, changes_state=True)

    def backup_freshness(
        self, bucket: str, prefix: str, max_keys: int = 10_000, node: int | None = None
    ) -> BackupFreshness:
        """Newest object under a backup prefix, looking at no more than ``max_keys`` objects."""

        def call(target: _Node) -> BackupFreshness:
            def scan(c: Minio) -> tuple[datetime | None, int, bool]:
                newest: datetime | None = None
                seen = 0
                for obj in c.list_objects(bucket, prefix=prefix, recursive=True):
                    if seen >= max_keys:
                        return newest, seen, True
                    seen += 1
                    if obj.last_modified and (newest is None or obj.last_modified > newest):
                        newest = obj.last_modified
                return newest, seen, False

            newest, seen, truncated = self._s3_call(target, f"list {bucket}/{prefix}", scan)
            age = datetime.now(UTC) - newest if newest else None
            return BackupFreshness(
                bucket=bucket, prefix=prefix, newest=newest, age=age, objects_seen=seen, truncated=truncated
            )

        return self._on_nodes(call, node)[0]

    def newest_objects(
        self, bucket: str, prefix: str, count: int, max_keys: int = 10_000, node: int | None = None
    ) -> NewestObjects:
        """The ``count`` newest objects under ``prefix``, looking at no more than ``max_keys`` objects."""

        def call(target: _Node) -> NewestObjects:
            def scan(c: Minio) -> NewestObjects:
                found: list[tuple[float, str, ListedObject]] = []
                seen = 0
                for obj in c.list_objects(bucket, prefix=prefix, recursive=True):
                    if seen >= max_keys:
                        break
                    seen += 1
                    modified = obj.last_modified
                    item = ListedObject(key=obj.object_name or "", size=obj.size or 0,
                                        etag=(obj.etag or "").strip('"'), last_modified=modified)
                    entry = (modified.timestamp() if modified else 0.0, item.key, item)
                    if len(found) < count:
                        heapq.heappush(found, entry)
                    elif entry > found[0]:
                        heapq.heapreplace(found, entry)
                newest = [item for _, _, item in sorted(found, reverse=True)]
                return NewestObjects(bucket=bucket, prefix=prefix, objects=newest, seen=seen,
                                     truncated=seen >= max_keys)

            return self._s3_call(target, f"list {bucket}/{prefix}", scan)

        return self._on_nodes(call, node)[0]

    def read_back(self, bucket: str, key: str, node: int | None = None) -> ReadBack:
        """Read an object in full (streamed, 1 MiB at a time) and hash it: what a restore would get."""

        def call(target: _Node) -> ReadBack:
            def read(c: Minio) -> ReadBack:
                response = c.get_object(bucket, key)
                digest = hashlib.md5(usedforsecurity=False)
                size = 0
                try:
                    for chunk in response.stream(1 << 20):
                        digest.update(chunk)
                        size += len(chunk)
                finally:
                    response.close()
                    response.release_conn()
                return ReadBack(bucket=bucket, key=key, size=size, md5=digest.hexdigest())

            return self._s3_call(target, f"read {bucket}/{key}", read)

        return self._on_nodes(call, node)[0]

    def stat_object(self, bucket: str, key: str, node: int | None = None) -> ListedObject | None:
        """The current version of ``key`` as a HEAD shows it (size, ETag, last modified); None when there is
        no such key or its current version is a delete marker. A HEAD answer has no body, so a missing bucket
        reads as None too: ask the bucket (a listing, its versioning) when that matters."""

        def call(target: _Node) -> ListedObject | None:
            def head(c: Minio) -> ListedObject | None:
                try:
                    found = c.stat_object(bucket, key)
                except S3Error as exc:
                    # HEAD answers carry no body: the SDK names every 404 on an object NoSuchKey.
                    if exc.code in ("NoSuchKey", "ResourceNotFound", "NoSuchVersion"):
                        return None
                    raise
                return ListedObject(key=key, size=found.size or 0, etag=(found.etag or "").strip('"'),
                                    last_modified=found.last_modified)

            return self._s3_call(target, f"stat {bucket}/{key}", head)

        return self._on_nodes(call, node)[0]

    def copy_object(self, source_bucket: str, source_key: str, bucket: str, key: str,
                    node: int | None = None, version_id: str | None = None) -> CopyResult:
        """Server-side copy of ``source_bucket/source_key`` (its current version, or ``version_id``) onto
        ``bucket/key`` in one request; on a versioned destination it becomes a new version, nothing is deleted."""

        def call(target: _Node) -> CopyResult:
            source = CopySource(source_bucket, source_key, version_id=version_id)
            result = self._s3_call(target, f"copy {source_bucket}/{source_key} to {bucket}/{key}",
                                   lambda c: c.copy_object(bucket, key, source))
            return CopyResult(bucket=bucket, key=key, version_id=result.version_id, source_version_id=version_id)

        return self._on_nodes(call, node, changes_state=True)[0]

    def stream_to(self, bucket: str, key: str, size: int, destination: MinioClient, dest_bucket: str,
                  dest_key: str) -> CopyResult:
        """Copy one object to another endpoint through this process: GET here, PUT there, streamed.

        Memory stays bounded: the SDK reads the body in parts (one part in flight, at most a few MiB for
        objects under ~48 GiB). The whole transfer has a deadline (``timeouts.stream_deadline``); a body
        shorter than ``size`` fails the PUT, so a half-read object is never written as whole. A body read
        once cannot be sent again, so each destination node gets its own GET: the next node is tried only
        when the last one certainly wrote nothing (``not_sent``).
        """
        allowed = stream_deadline(size)
        deadline = time.monotonic() + allowed
        failed: list[MinioError] = []
        for number in destination.nodes:
            try:
                return self._stream_once(bucket, key, size, destination, number, dest_bucket, dest_key, deadline)
            except MinioError as exc:
                if not exc.not_sent:
                    raise
                failed.append(exc)
            except _StreamLate:
                # The SDK never completed the PUT (a multipart upload it aborts): nothing was written.
                raise MinioError("timeout", "MinIO cluster", f"streaming {bucket}/{key} ({size} bytes) took longer "
                                 f"than its {allowed:.0f} s deadline; nothing was written", not_sent=True,
                                 secrets=self._secrets()) from None
        summary = "; ".join(str(e) for e in failed)
        raise MinioError("unreachable", "MinIO cluster", f"no node of the destination answered ({summary})",
                         not_sent=True, secrets=self._secrets())

    def _stream_once(self, bucket: str, key: str, size: int, destination: MinioClient, node: int, dest_bucket: str,
                     dest_key: str, deadline: float) -> CopyResult:
        def call(target: _Node) -> CopyResult:
            def read(c: Minio) -> CopyResult:
                response = c.get_object(bucket, key)
                try:
                    body = cast(BinaryIO, _DeadlineReader(response, deadline, f"{bucket}/{key}"))
                    try:
                        return destination.put_stream(dest_bucket, dest_key, body, size, node=node)
                    except MinioError as exc:
                        raise _DestinationFailed(exc) from None
                finally:
                    response.close()
                    response.release_conn()

            return self._s3_call(target, f"read {bucket}/{key}", read)

        try:
            return self._on_nodes(call, None)[0]
        except _DestinationFailed as failed:
            # Never retried from another source node: the PUT may have landed.
            raise failed.error from None

    def put_stream(self, bucket: str, key: str, body: BinaryIO, size: int, node: int | None = None) -> CopyResult:
        """PUT ``size`` bytes read from ``body`` as ``bucket/key`` (one part in memory at a time). With no
        ``node``, another node is tried only when one certainly got nothing; the SDK then refuses a body
        already read in part ("not enough data"), so a short object is never written as whole."""

        def call(target: _Node) -> CopyResult:
            result = self._s3_call(target, f"write {bucket}/{key}",
                                   lambda c: c.put_object(bucket, key, body, size, num_parallel_uploads=1))
            return CopyResult(bucket=bucket, key=key, version_id=result.version_id)

        return self._on_nodes(call, node, changes_state=True)[0]

    def newest_object_age(self, bucket: str, prefix: str, max_keys: int = 10_000) -> timedelta | None:
        """Age of the newest object under ``prefix`` (backup freshness); None when there is none."""
        return self.backup_freshness(bucket, prefix, max_keys).age


class _DestinationFailed(Exception):
    """The PUT side of a streamed copy failed: carried past the GET side's node failover unchanged."""

    def __init__(self, error: MinioError) -> None:
        super().__init__(str(error))
        self.error = error


class _StreamLate(Exception):
    """A streamed copy passed its deadline (not an OSError, so no transport handler mistakes it for one)."""


class _DeadlineReader(io.RawIOBase):
    """A response body that refuses to go on past a deadline (a trickling transfer is stopped, not awaited)."""

    def __init__(self, response: Any, deadline: float, what: str) -> None:
        self._response = response
        self._deadline = deadline
        self._what = what

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if time.monotonic() > self._deadline:
            raise _StreamLate(self._what)
        data: bytes = self._response.read(None if size is None or size < 0 else size)
        return data


# ---------------------------------------------------------------- pure helpers


def parse_prometheus_text(text: str) -> dict[str, float]:
    """Parse Prometheus text exposition into ``{'name{labels}': value}``; comments and blanks skipped."""
    samples: dict[str, float] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if "{" in line:
            close = line.rindex("}")
            key = line[: close + 1]
            rest = line[close + 1 :].split()
        else:
            parts = line.split()
            key, rest = parts[0], parts[1:]
        if not rest:
            raise ValueError(f"sample without value: {key[:60]}")
        samples[key] = float(rest[0])
    return samples


def policy_is_public(policy: Mapping[str, Any]) -> bool:
    """True when a bucket policy has an Allow statement for the anonymous principal ``*``."""
    statements = policy.get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    for statement in statements:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        if principal == "*":
            return True
        if isinstance(principal, dict):
            aws = principal.get("AWS")
            if aws == "*" or (isinstance(aws, list) and "*" in aws):
                return True
    return False


_S3 = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def _version_page(bucket: str, prefix: str, data: bytes) -> VersionPage:
    """Parse a ListVersionsResult in document order (versions and delete markers interleaved, as sent).

    Raises ValueError when the body is not that document.
    """
    # The body comes from the tenant's own MinIO; expat resolves no external entities.
    root = ElementTree.fromstring(data)  # noqa: S314
    if not root.tag.endswith("ListVersionsResult"):
        raise ValueError("not a ListVersionsResult")
    ns = _S3 if root.tag.startswith(_S3) else ""
    versions = []
    for entry in root:
        kind = entry.tag.removeprefix(ns)
        if kind not in ("Version", "DeleteMarker"):
            continue
        modified = entry.findtext(f"{ns}LastModified")
        versions.append(ObjectVersion(
            key=entry.findtext(f"{ns}Key") or "",
            version_id=entry.findtext(f"{ns}VersionId") or "null",
            is_latest=(entry.findtext(f"{ns}IsLatest") or "").lower() == "true",
            delete_marker=kind == "DeleteMarker",
            last_modified=datetime.fromisoformat(modified.replace("Z", "+00:00")) if modified else None,
            size=int(entry.findtext(f"{ns}Size") or 0),
            etag=(entry.findtext(f"{ns}ETag") or "").strip('"'),
        ))
    return VersionPage(
        bucket=bucket,
        prefix=prefix,
        versions=versions,
        truncated=(root.findtext(f"{ns}IsTruncated") or "").lower() == "true",
        next_key_marker=root.findtext(f"{ns}NextKeyMarker") or "",
        next_version_marker=root.findtext(f"{ns}NextVersionIdMarker") or "",
    )


def _error_fields(answer: _Answer) -> tuple[str | None, str | None]:
    """(code, message) from a MinIO error body: admin JSON, S3 XML, or a short hint for anything else."""
    data = answer.data.strip()
    if not data:
        return None, None
    if data[:1] == b"{":
        try:
            doc = json.loads(data)
        except ValueError:
            return None, "error body is not valid JSON"
        if isinstance(doc, dict):
            code = doc.get("Code") or doc.get("code")
            message = doc.get("Message") or doc.get("message") or doc.get("error")
            return (str(code) if code else None), (str(message) if message else None)
    if data[:1] == b"<" and b"<Code>" in data:
        text = data.decode("utf-8", "replace")
        return _xml_text(text, "Code"), _xml_text(text, "Message")
    content_type = _header(answer.headers, "Content-Type") or "unknown type"
    return None, f"non-JSON body ({content_type.split(';')[0]}, {len(data)} bytes)"


# One-line explanations for admin APIs a server does not offer (426 / 501).
_UNSUPPORTED_APIS = {
    "top/locks": "this server does not offer the lock API (single server)",
    "pools/decommission": "this deployment cannot decommission a pool: it has a single pool "
    "(or uses legacy endpoint arguments)",
    "pools/cancel": "this deployment has no pool decommission to cancel (single pool)",
}


def _unsupported_detail(what: str, status: int, code: str | None) -> str:
    known = _UNSUPPORTED_APIS.get(what)
    wire = f"HTTP {status}" + (f" {code}" if code else "")
    if known:
        return f"{known} ({wire})"
    if status == 426:
        return f"this server does not offer the admin API {what} in its mode ({wire})"
    return f"this server does not implement {what} ({wire})"


def _xml_text(text: str, tag: str) -> str | None:
    start = text.find(f"<{tag}>")
    end = text.find(f"</{tag}>")
    if start < 0 or end < start:
        return None
    return text[start + len(tag) + 2 : end] or None


def _validation_summary(exc: ValidationError) -> str:
    # Never the input values: they may hold environment variables or keys.
    first = exc.errors(include_url=False, include_input=False, include_context=False)[0]
    if first["type"] == "json_invalid":
        return "the answer is not valid JSON"
    where = ".".join(str(p) for p in first["loc"]) or "top level"
    return f"unexpected answer shape at {where} ({first['type']}, {exc.error_count()} problem(s))"


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = _header(headers, name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _bool_header(headers: Mapping[str, str], name: str) -> bool | None:
    value = _header(headers, name)
    return None if value is None else value.strip().lower() == "true"


def _ms_since(start: float) -> float:
    return (time.monotonic() - start) * 1000
