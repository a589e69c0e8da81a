"""Typed views of MinIO's admin, health and S3 answers.

Models parse MinIO's own JSON field names through aliases and expose snake
case. Anything the bot must never hold (``minio_env_vars``, ``mem_stats``) is
not a field, so pydantic drops it while parsing: it never reaches a model, a
report or a log.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import AliasChoices, AliasPath, BaseModel, ConfigDict, Field, field_validator, model_validator


class _Wire(BaseModel):
    """Base for models parsed from MinIO JSON: unknown fields dropped, names by alias or field name."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=False)


def _zero_time_to_none(value: Any) -> Any:
    # Go's zero time ("0001-01-01T00:00:00Z") means "never": the scanner has not finished a cycle.
    if value in (None, "") or (isinstance(value, str) and value.startswith("0001-01-01")):
        return None
    return value


def go_duration(value: Any) -> Any:
    """A Go ``time.Duration`` from admin JSON (integer nanoseconds) as a ``timedelta``.

    Never guessed from the magnitude: 5 ms is 5000000 and 3 h is 10800000000000,
    and both are nanoseconds. Anything but a non-negative number is refused.
    """
    if value is None or isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("a Go duration must be integer nanoseconds")
    if value < 0:
        raise ValueError("a duration cannot be negative")
    nanoseconds = int(value)
    return timedelta(seconds=nanoseconds // 10**9, microseconds=(nanoseconds % 10**9) // 1000)


_RELEASE_TAG = re.compile(r"^(?:RELEASE|DEVELOPMENT)\.(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})Z(?:[.-][\w.-]*)?$")


def release_time(version: str | None) -> datetime | None:
    """The build time a MinIO version names, from either form it takes.

    ``servers[].version`` in admin ``info`` is RFC 3339 (``2025-09-07T16:13:09Z``);
    image tags and older tooling use the release tag (``RELEASE.2025-09-07T16-13-09Z``).
    None for anything else (``DEVELOPMENT.GOGET``, empty).
    """
    text = (version or "").strip()
    if not text:
        return None
    match = _RELEASE_TAG.match(text)
    if match:
        day, hh, mm, ss = match.groups()
        text = f"{day}T{hh}:{mm}:{ss}Z"
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None or "T" not in text:
        return None
    return parsed.astimezone(UTC)


def release_tag(when: datetime) -> str:
    """``RELEASE.YYYY-MM-DDTHH-MM-SSZ`` for a build time (the form image tags use)."""
    return "RELEASE." + when.astimezone(UTC).strftime("%Y-%m-%dT%H-%M-%SZ")


# ---------------------------------------------------------------- info


class HealProgress(_Wire):
    """Progress of a drive being healed (``heal_info`` of a drive)."""

    started: datetime | None = None
    objects_total: int = Field(default=0, alias="objects_total_count")
    bytes_total: int = Field(default=0, alias="objects_total_size")
    items_healed: int = 0
    items_failed: int = 0
    bytes_done: int = 0
    bytes_failed: int = 0
    finished: bool = False

    @field_validator("started", mode="before")
    @classmethod
    def _zero_time(cls, value: Any) -> Any:
        return _zero_time_to_none(value)

    @property
    def fraction_done(self) -> float | None:
        """Share of bytes healed, 0..1, when the total is known."""
        return self.bytes_done / self.bytes_total if self.bytes_total else None


class Drive(_Wire):
    """One drive as a server reports it in ``info``."""

    endpoint: str = ""
    state: str = ""
    uuid: str = ""
    total: int = Field(default=0, alias="totalspace")
    used: int = Field(default=0, alias="usedspace")
    available: int = Field(default=0, alias="availspace")
    healing: bool = False
    pool_index: int = 0
    set_index: int = 0
    disk_index: int = 0
    heal_info: HealProgress | None = None
    # False for drives of a server its peers could not reach: the real server then lists
    # only each drive's endpoint and "offline", so pool/set/disk index read as 0 (Go's zero
    # value), which says nothing about where the drive sits. Filled by ServerStatus.
    placement_known: bool = True


class ServerStatus(_Wire):
    """One server (node) of the cluster as seen by the node that answered ``info``."""

    endpoint: str = ""
    state: str = ""
    uptime_s: int = Field(default=0, alias="uptime")
    version: str = ""
    commit_id: str = Field(default="", alias="commitID")
    pool_number: int | None = Field(default=None, alias="poolNumber", exclude=True, repr=False)
    pool_numbers: list[int] = Field(default_factory=list, alias="poolNumbers")
    network: dict[str, str] = Field(default_factory=dict)
    drives: list[Drive] = Field(default_factory=list)

    @field_validator("drives", "pool_numbers", mode="before")
    @classmethod
    def _null_list(cls, value: Any) -> Any:
        return [] if value is None else value

    @field_validator("network", mode="before")
    @classmethod
    def _null_dict(cls, value: Any) -> Any:
        return {} if value is None else value

    @model_validator(mode="after")
    def _merge_pool_number(self) -> ServerStatus:
        # Older servers send a single ``poolNumber``, newer ones ``poolNumbers``.
        if not self.pool_numbers and self.pool_number is not None:
            self.pool_numbers = [self.pool_number]
        if self.state == "offline":
            for drive in self.drives:
                drive.placement_known = False
        return self

    @property
    def release_time(self) -> datetime | None:
        """The build time ``version`` names (RFC 3339 on real servers; a release tag also parses)."""
        return release_time(self.version)

    @property
    def release_tag(self) -> str | None:
        """``version`` as a release tag (``RELEASE.2025-09-07T16-13-09Z``), comparable with image tags."""
        when = self.release_time
        return release_tag(when) if when is not None else None


class Backend(_Wire):
    """Erasure backend summary: drive counts, parity, set layout per pool."""

    backend_type: str = Field(default="", alias="backendType")
    online_disks: int = Field(default=0, alias="onlineDisks")
    offline_disks: int = Field(default=0, alias="offlineDisks")
    standard_sc_parity: int | None = Field(default=None, alias="standardSCParity")
    rr_sc_parity: int | None = Field(default=None, alias="rrSCParity")
    total_sets: list[int] = Field(default_factory=list, alias="totalSets")
    drives_per_set: list[int] = Field(default_factory=list, alias="totalDrivesPerSet")

    @field_validator("total_sets", "drives_per_set", mode="before")
    @classmethod
    def _null_list(cls, value: Any) -> Any:
        return [] if value is None else value


class ServerInfo(_Wire):
    """The cluster as one node sees it (admin ``info``), without environment or memory dumps."""

    mode: str = ""
    region: str = ""
    deployment_id: str = Field(default="", alias="deploymentID")
    buckets: int = Field(default=0, validation_alias=AliasChoices(AliasPath("buckets", "count"), "buckets"))
    objects: int = Field(default=0, validation_alias=AliasChoices(AliasPath("objects", "count"), "objects"))
    versions: int = Field(default=0, validation_alias=AliasChoices(AliasPath("versions", "count"), "versions"))
    usage_bytes: int = Field(default=0, validation_alias=AliasChoices(AliasPath("usage", "size"), "usage_bytes"))
    backend: Backend = Field(default_factory=Backend)
    servers: list[ServerStatus] = Field(default_factory=list)
    # Filled by the client, not parsed: which node answered, and which were tried first and failed.
    answered_by: int | None = None
    failed_nodes: dict[int, str] = Field(default_factory=dict)

    @field_validator("servers", mode="before")
    @classmethod
    def _null_servers(cls, value: Any) -> Any:
        return [] if value is None else value

    @field_validator("backend", mode="before")
    @classmethod
    def _null_backend(cls, value: Any) -> Any:
        return {} if value is None else value

    @property
    def drives(self) -> list[Drive]:
        """All drives of all servers."""
        return [d for s in self.servers for d in s.drives]


# ---------------------------------------------------------------- data usage


class BucketUsage(_Wire):
    """Scanner figures for one bucket."""

    size: int = 0
    objects: int = Field(default=0, alias="objectsCount")
    versions: int = Field(default=0, alias="versionsCount")


class DataUsage(_Wire):
    """The scanner's last stored data-usage result (admin ``datausageinfo``), cost O(buckets)."""

    last_update: datetime | None = Field(default=None, alias="lastUpdate")
    objects: int = Field(default=0, alias="objectsCount")
    total_size: int = Field(default=0, alias="objectsTotalSize")
    buckets_count: int = Field(default=0, alias="bucketsCount")
    buckets: dict[str, BucketUsage] = Field(default_factory=dict, alias="bucketsUsageInfo")

    @field_validator("last_update", mode="before")
    @classmethod
    def _zero_time(cls, value: Any) -> Any:
        return _zero_time_to_none(value)

    @field_validator("buckets", mode="before")
    @classmethod
    def _null_buckets(cls, value: Any) -> Any:
        return {} if value is None else value


# ---------------------------------------------------------------- probes


class Probe(_Wire):
    """One liveness or readiness probe of one node. A failed probe is an answer, not an error."""

    node: int
    url: str
    ok: bool
    status: int | None = None
    latency_ms: float
    error: str | None = None
    error_kind: str | None = None
    server_status_header: str | None = None

    @property
    def starting(self) -> bool:
        """True when the node answers but says its object layer is not ready yet
        (``X-Minio-Server-Status: offline`` on live/ready): a node still starting, not a dead one."""
        return self.server_status_header is not None


class ClusterHealth(_Wire):
    """Answer of ``/minio/health/cluster`` (or ``/cluster/read``, or ``?maintenance=true``).

    Real servers send only ``X-Minio-Write-Quorum`` on ``/cluster`` and only
    ``X-Minio-Read-Quorum`` on ``/cluster/read``; :attr:`quorum` is the one that applies.
    A 503 that carries ``X-Minio-Server-Status`` (``offline``, ``bucket-metadata-offline``,
    ``iam-offline``) comes from a server that is still starting: quorum was never
    evaluated, so ``starting`` is True and :attr:`quorum_lost` is False.
    """

    ok: bool
    status: int
    write_quorum: int | None = None
    read_quorum: int | None = None
    healing_drives: int = 0
    storage_class_defaults: bool | None = None
    node: int
    latency_ms: float
    read: bool = False
    maintenance: bool = False
    starting: bool = False
    server_status: str | None = None

    @property
    def quorum(self) -> int | None:
        """The quorum this probe checked: read quorum on ``/cluster/read``, write quorum otherwise."""
        return self.read_quorum if self.read else self.write_quorum

    @property
    def quorum_lost(self) -> bool:
        """True only when the server evaluated quorum and found it missing (503, not starting)."""
        return self.status == 503 and not self.starting

    @property
    def maintenance_refused(self) -> bool:
        """True when ``?maintenance=true`` answered 412: taking this node down would break quorum
        (or drives are healing, see ``healing_drives``)."""
        return self.maintenance and self.status == 412


# ---------------------------------------------------------------- heal, pools, service, locks


class HealSet(_Wire):
    """Healing state of one erasure set."""

    id: str = ""
    pool_index: int = 0
    set_index: int = 0
    heal_status: str = ""
    total_objects: int = 0
    disks: list[Drive] = Field(default_factory=list)

    @field_validator("disks", mode="before")
    @classmethod
    def _null_list(cls, value: Any) -> Any:
        return [] if value is None else value


class HealStatus(_Wire):
    """Background healing state (admin ``background-heal/status``, madmin BgHealState)."""

    offline_nodes: list[str] = Field(default_factory=list)
    scanned_items: int = Field(
        default=0, validation_alias=AliasChoices("ScannedItemsCount", "scanned_items_count", "scanned_items")
    )
    last_heal_activity: datetime | None = Field(
        default=None, validation_alias=AliasChoices("LastHealActivity", "last_heal_activity")
    )
    healing_drives: list[str] = Field(
        default_factory=list, validation_alias=AliasChoices("HealDisks", "healDisks", "healing_drives")
    )
    sets: list[HealSet] = Field(default_factory=list)
    sc_parity: dict[str, int] = Field(default_factory=dict)

    @field_validator("offline_nodes", "healing_drives", "sets", mode="before")
    @classmethod
    def _null_list(cls, value: Any) -> Any:
        return [] if value is None else value

    @field_validator("sc_parity", mode="before")
    @classmethod
    def _null_dict(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("last_heal_activity", mode="before")
    @classmethod
    def _zero_time(cls, value: Any) -> Any:
        return _zero_time_to_none(value)


class DecommissionInfo(_Wire):
    """Progress of one pool's decommission."""

    start_time: datetime | None = Field(default=None, alias="startTime")
    start_size: int = Field(default=0, alias="startSize")
    total_size: int = Field(default=0, alias="totalSize")
    current_size: int = Field(default=0, alias="currentSize")
    complete: bool = False
    failed: bool = False
    canceled: bool = False
    objects_decommissioned: int = Field(default=0, alias="objectsDecommissioned")
    objects_failed: int = Field(default=0, alias="objectsDecommissionedFailed")
    bytes_decommissioned: int = Field(default=0, alias="bytesDecommissioned")
    bytes_failed: int = Field(default=0, alias="bytesDecommissionedFailed")

    @field_validator("start_time", mode="before")
    @classmethod
    def _zero_time(cls, value: Any) -> Any:
        return _zero_time_to_none(value)


class PoolStatus(_Wire):
    """One server pool as ``pools/list`` / ``pools/status`` describe it."""

    id: int = 0
    cmdline: str = ""
    last_update: datetime | None = Field(default=None, alias="lastUpdate")
    decommission: DecommissionInfo | None = Field(default=None, alias="decommissionInfo")

    @field_validator("last_update", mode="before")
    @classmethod
    def _zero_time(cls, value: Any) -> Any:
        return _zero_time_to_none(value)


class ServiceHostResult(_Wire):
    """One host's answer to a service action."""

    host: str = ""
    error: str | None = Field(default=None, validation_alias=AliasChoices("err", "error"))

    @field_validator("error", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return value or None


class ServiceActionResult(_Wire):
    """Answer to ``service?action=restart&type=2`` (per-host results, dry-run flag)."""

    action: str = ""
    dry_run: bool = Field(default=False, validation_alias=AliasChoices("dryRun", "dry_run"))
    results: list[ServiceHostResult] = Field(default_factory=list)

    @field_validator("results", mode="before")
    @classmethod
    def _null_list(cls, value: Any) -> Any:
        return [] if value is None else value


class LockEntry(_Wire):
    """One of the oldest locks held in the cluster (madmin LockEntry).

    ``elapsed`` is how long the lock has been held. On the wire it is a Go
    ``time.Duration``: always integer NANOSECONDS (a lock held 5 ms is ``5000000``).
    """

    resource: str = ""
    type: str = ""
    source: str = ""
    owner: str = ""
    id: str = Field(default="", validation_alias=AliasChoices("id", "ID"))
    time: datetime | None = Field(default=None, validation_alias=AliasChoices("time", "timestamp"))
    elapsed: timedelta | None = None
    quorum: int | None = None
    servers: list[str] = Field(default_factory=list, validation_alias=AliasChoices("serverlist", "servers"))

    @field_validator("servers", mode="before")
    @classmethod
    def _null_list(cls, value: Any) -> Any:
        return [] if value is None else value

    @field_validator("time", mode="before")
    @classmethod
    def _zero_time(cls, value: Any) -> Any:
        return _zero_time_to_none(value)

    @field_validator("elapsed", mode="before")
    @classmethod
    def _go_duration(cls, value: Any) -> Any:
        return go_duration(value)

    @property
    def elapsed_s(self) -> float | None:
        """``elapsed`` in seconds (kept for callers written before ``elapsed`` became a timedelta)."""
        return None if self.elapsed is None else self.elapsed.total_seconds()


class TopLocks(_Wire):
    """Oldest locks. ``supported`` is False where the server has no lock API: a single
    (non-distributed) server answers ``top/locks`` with 426 ``XMinioAdminVersionMismatch``;
    ``reason`` then says so in one line."""

    supported: bool = True
    reason: str | None = None
    locks: list[LockEntry] = Field(default_factory=list)


# ---------------------------------------------------------------- account, users


class BucketAccess(_Wire):
    """Whether the account may read/write a bucket."""

    read: bool = False
    write: bool = False


class AccountBucket(_Wire):
    """A bucket visible to the account, with its usage."""

    name: str
    size: int = 0
    objects: int = 0
    created: datetime | None = None
    access: BucketAccess = Field(default_factory=BucketAccess)


class AccountInfo(_Wire):
    """Admin ``accountinfo``: who the bot is and which buckets it sees."""

    account_name: str = Field(default="", alias="AccountName")
    policy: dict[str, Any] | None = Field(default=None, alias="Policy")
    buckets: list[AccountBucket] = Field(default_factory=list, alias="Buckets")

    @field_validator("buckets", mode="before")
    @classmethod
    def _null_list(cls, value: Any) -> Any:
        return [] if value is None else value

    @field_validator("policy", mode="before")
    @classmethod
    def _policy_any(cls, value: Any) -> Any:
        return value if isinstance(value, dict) else None


class UserInfo(_Wire):
    """One internal (IAM) user; never carries the user's secret key."""

    access_key: str
    status: str = ""
    policy_name: str | None = Field(default=None, alias="policyName")
    member_of: list[str] = Field(default_factory=list, alias="memberOf")
    updated_at: datetime | None = Field(default=None, alias="updatedAt")

    @field_validator("member_of", mode="before")
    @classmethod
    def _null_list(cls, value: Any) -> Any:
        return [] if value is None else value


# ---------------------------------------------------------------- S3 side


class BucketInfo(_Wire):
    """A bucket from ListBuckets."""

    name: str
    created: datetime | None = None


class VersioningInfo(_Wire):
    """Bucket versioning: status is "Enabled", "Suspended" or "Off"."""

    bucket: str
    status: str
    mfa_delete: str | None = None

    @property
    def enabled(self) -> bool:
        """True while new writes create versions."""
        return self.status == "Enabled"


class ObjectLockInfo(_Wire):
    """Object-lock configuration of a bucket; ``enabled`` False when none is set."""

    bucket: str
    enabled: bool
    mode: str | None = None
    duration: int | None = None
    unit: str | None = None


class ReplicationRuleInfo(_Wire):
    """One bucket replication rule: its id, whether it is on, and the destination bucket ARN."""

    rule_id: str | None = None
    enabled: bool
    priority: int | None = None
    target: str

    @property
    def target_bucket(self) -> str:
        """The destination bucket name (the last ARN field; MinIO ARNs are ``arn:minio:replication::<id>:<bucket>``)."""
        return self.target.rsplit(":", 1)[-1] if self.target.startswith("arn:") else self.target


class ReplicationInfo(_Wire):
    """Bucket replication configuration (S3 GetBucketReplication); the client returns None when none is set."""

    bucket: str
    role: str = ""
    rules: list[ReplicationRuleInfo] = Field(default_factory=list)

    @property
    def disabled_rules(self) -> list[ReplicationRuleInfo]:
        """Rules that exist but are switched off: objects written now are not replicated by them."""
        return [r for r in self.rules if not r.enabled]


class CanaryResult(_Wire):
    """Timing of one PUT/GET/DELETE round trip of a small object."""

    bucket: str
    node: int
    ok: bool
    put_ms: float | None = None
    get_ms: float | None = None
    delete_ms: float | None = None
    error: str | None = None
    error_kind: str | None = None


class BackupFreshness(_Wire):
    """Newest object under a backup prefix."""

    bucket: str
    prefix: str
    newest: datetime | None
    age: timedelta | None
    objects_seen: int
    truncated: bool


# ---------------------------------------------------------------- metrics


REJECTION_METRICS = {
    "auth": "minio_s3_requests_rejected_auth_total",
    "invalid": "minio_s3_requests_rejected_invalid_total",
    "timestamp": "minio_s3_requests_rejected_timestamp_total",
    "header": "minio_s3_requests_rejected_header_total",
}


class RequestRejections(_Wire):
    """Requests MinIO refused before running them, summed over every server in the answer.

    These are COUNTERS FROM PROCESS START (each node's own, reset when it restarts):
    a large value says nothing about now. Compare two samples (or use Prometheus
    ``rate()``) to see what is happening.

    What each counts, from the server's sources:
    - ``auth``: requests whose Authorization is of a kind MinIO does not support
      (not SigV4, SigV2, a JWT or STS). A wrong key or a bad signature is NOT counted here:
      those are ordinary 403 answers, visible in ``minio_s3_requests_4xx_errors_total``.
    - ``invalid``: unsupported or malformed API calls (no matching route): clients using
      an API MinIO lacks, scanners, typos. Not credentials.
    - ``timestamp``: signed requests whose date is missing or too far from the server clock.
    - ``header``: requests with headers MinIO refuses.
    A field is None when the server did not expose that counter.
    """

    auth: float | None = None
    invalid: float | None = None
    timestamp: float | None = None
    header: float | None = None
    servers: int = 0

    @classmethod
    def from_samples(cls, samples: dict[str, float]) -> RequestRejections:
        """Sum each counter over its ``server`` labels in parsed Prometheus samples."""
        totals: dict[str, float] = {}
        servers: set[str] = set()
        for key, value in samples.items():
            name, _, labels = key.partition("{")
            for field, metric in REJECTION_METRICS.items():
                if name == metric:
                    totals[field] = totals.get(field, 0.0) + value
                    servers.add(labels)
        return cls(**totals, servers=len(servers))

    def since(self, earlier: RequestRejections) -> RequestRejections:
        """The increase from an earlier sample (None where either lacks the counter). A counter
        that went down means a node restarted: its increase is taken as the new value."""

        def delta(now: float | None, then: float | None) -> float | None:
            if now is None or then is None:
                return None
            return now - then if now >= then else now

        return RequestRejections(
            auth=delta(self.auth, earlier.auth),
            invalid=delta(self.invalid, earlier.invalid),
            timestamp=delta(self.timestamp, earlier.timestamp),
            header=delta(self.header, earlier.header),
            servers=self.servers,
        )


class ObjectVersion(_Wire):
    """One version of an object, or a delete marker (S3 ListObjectVersions)."""

    key: str
    version_id: str
    is_latest: bool = False
    delete_marker: bool = False
    last_modified: datetime | None = None
    size: int = 0
    etag: str = ""


class VersionPage(_Wire):
    """One page of versions under a prefix, in the server's order (key, then newest first).

    ``next_key_marker``/``next_version_marker`` continue the listing when ``truncated``.
    """

    bucket: str
    prefix: str
    versions: list[ObjectVersion] = Field(default_factory=list)
    truncated: bool = False
    next_key_marker: str = ""
    next_version_marker: str = ""


class BucketQuota(_Wire):
    """A bucket's quota (admin ``get-bucket-quota``): ``size`` bytes (older servers say ``quota``), ``hard``."""

    size: int = 0
    quota: int = 0
    quota_type: str = Field(default="hard", alias="quotatype")

    @property
    def limit(self) -> int:
        """The quota in bytes (0: none)."""
        return self.size or self.quota


def _no_expiry_to_none(value: Any) -> Any:
    # MinIO stores "never expires" as the Unix epoch (its timeSentinel) or Go's zero time; newer servers
    # send it in list-service-accounts as "1970-01-01T00:00:00Z", info-service-account omits it.
    if isinstance(value, str) and value.startswith("1970-01-01T00:00:00"):
        return None
    return _zero_time_to_none(value)


class _ServiceAccount(_Wire):
    """What both admin answers about a service account say; never its secret or a time of last use."""

    parent_user: str = Field(default="", alias="parentUser")
    status: str = Field(default="", alias="accountStatus")
    implied_policy: bool = Field(default=True, alias="impliedPolicy")
    name: str = ""
    description: str = ""
    expiration: datetime | None = None  # None: never expires

    _expiry = field_validator("expiration", mode="before")(_no_expiry_to_none)

    @property
    def enabled(self) -> bool:
        """madmin reports "on"/"off" (newer servers accept "enabled"/"disabled" as synonyms)."""
        return self.status in ("on", "enabled")


class ServiceAccountInfo(_ServiceAccount):
    """A service account of a user (admin ``list-service-accounts``)."""

    access_key: str = Field(alias="accessKey")


class ServiceAccountDetail(_ServiceAccount):
    """One access key as admin ``info-service-account`` describes it (madmin ``InfoServiceAccountResp``).

    ``policy`` is a policy document (JSON text): the key's own inline policy, or, when ``implied_policy``,
    the parent user's combined policy.
    """

    access_key: str = ""  # not in the answer: the key that was asked about
    parent_user_status: str = Field(default="", alias="parentUserStatus")  # newer servers only
    policy: str = ""

    def policy_statements(self) -> int | None:
        """How many statements the policy document holds; None when it cannot be read."""
        try:
            doc = json.loads(self.policy) if self.policy else {}
        except ValueError:
            return None
        statements = doc.get("Statement") if isinstance(doc, dict) else None
        return len(statements) if isinstance(statements, list) else 0


class CopyResult(_Wire):
    """What a server-side copy made: the destination's new version (``null`` without versioning)."""

    bucket: str
    key: str
    version_id: str | None = None
    source_version_id: str | None = None


class ListedObject(_Wire):
    """One object as a listing shows it (no data read)."""

    key: str
    size: int = 0
    etag: str = ""
    last_modified: datetime | None = None


class NewestObjects(_Wire):
    """The newest objects under a prefix, found by looking at no more than ``seen`` objects."""

    bucket: str
    prefix: str
    objects: list[ListedObject] = Field(default_factory=list)  # newest first
    seen: int = 0
    truncated: bool = False


class ReadBack(_Wire):
    """An object read back in full: how many bytes came, and their MD5."""

    bucket: str
    key: str
    size: int
    md5: str


class LifecycleInfo(_Wire):
    """A bucket's lifecycle rules (S3 GetBucketLifecycleConfiguration), reduced to what protection needs.

    Only enabled rules count. ``expire_days``/``expire_date``: the soonest expiry of current versions
    (``Expiration`` Days or Date); ``noncurrent_days``: the soonest expiry of noncurrent versions
    (``NoncurrentVersionExpiration`` NoncurrentDays). None where no enabled rule says so.
    """

    bucket: str
    rules: int = 0
    enabled: int = 0
    expire_days: int | None = None
    expire_date: datetime | None = None
    noncurrent_days: int | None = None


class ReplicationBacklog(_Wire):
    """Replication figures of one bucket, one target or the bucket's total (``?replication-metrics``).

    Counts are operations (object writes and metadata updates), sizes are bytes. ``queued_*``: what
    waits in the replication queue now (``queued.curr``), with its running average (``queued.avg``);
    older servers report only the deprecated ``pendingReplication*`` figures, used when no queue is
    reported. ``failed_hour_*``: failures in the last hour (``failed.lastHour``); ``failed_*``: since
    the server started (``failed.totals``, or the deprecated ``failedReplication*``).
    """

    queued_count: float = 0
    queued_bytes: float = 0
    queued_avg_count: float = 0
    failed_hour_count: float = 0
    failed_hour_bytes: float = 0
    failed_count: float = 0
    failed_bytes: float = 0
    replicated_count: float = 0
    replicated_bytes: float = 0

    @classmethod
    def from_stats(cls, doc: dict[str, Any]) -> ReplicationBacklog:
        """Read MinIO's ``BucketReplicationStats`` (bucket total) or ``BucketReplicationStat`` (one target)."""
        queued = doc.get("queued") if isinstance(doc.get("queued"), dict) else None
        failed = doc.get("failed") if isinstance(doc.get("failed"), dict) else {}

        def pair(section: Any, name: str) -> tuple[float, float]:
            part = section.get(name) if isinstance(section, dict) else None
            if not isinstance(part, dict):
                return 0.0, 0.0
            return float(part.get("count") or 0), float(part.get("bytes") or 0)

        if queued is not None:
            queued_count, queued_bytes = pair(queued, "curr")
            queued_avg = pair(queued, "avg")[0]
        else:
            queued_count = float(doc.get("pendingReplicationCount") or 0)
            queued_bytes = float(doc.get("pendingReplicationSize") or 0)
            queued_avg = queued_count
        hour_count, hour_bytes = pair(failed, "lastHour")
        total_count, total_bytes = pair(failed, "totals")
        return cls(
            queued_count=queued_count, queued_bytes=queued_bytes, queued_avg_count=queued_avg,
            failed_hour_count=hour_count, failed_hour_bytes=hour_bytes,
            failed_count=max(total_count, float(doc.get("failedReplicationCount") or 0)),
            failed_bytes=max(total_bytes, float(doc.get("failedReplicationSize") or 0)),
            replicated_count=float(doc.get("replicationCount") or 0),
            replicated_bytes=float(doc.get("completedReplicationSize") or 0),
        )


class ReplicationMetrics(_Wire):
    """Bucket replication metrics (``GET /<bucket>?replication-metrics=2``, or v1 without ``=2``).

    v2 wraps the v1 answer (``BucketReplicationStats``) in ``currStats`` beside ``uptime`` (seconds)
    and per-node ``queueStats``; v1 is that object alone. ``targets`` maps each target ARN (the
    ``Stats`` map) to its figures.
    """

    bucket: str
    total: ReplicationBacklog
    targets: dict[str, ReplicationBacklog] = Field(default_factory=dict)
    uptime_s: int | None = None

    @classmethod
    def from_answer(cls, bucket: str, doc: Any) -> ReplicationMetrics:
        """Either shape; ValueError when it is neither."""
        if not isinstance(doc, dict):
            raise ValueError("replication metrics: not a JSON object")
        current = doc.get("currStats") if "currStats" in doc else doc
        if not isinstance(current, dict):
            raise ValueError("replication metrics: currStats is not an object")
        stats = current.get("Stats") or {}
        if not isinstance(stats, dict):
            raise ValueError("replication metrics: Stats is not an object")
        uptime = doc.get("uptime")
        return cls(
            bucket=bucket,
            total=ReplicationBacklog.from_stats(current),
            targets={arn: ReplicationBacklog.from_stats(st) for arn, st in stats.items() if isinstance(st, dict)},
            uptime_s=int(uptime) if isinstance(uptime, int | float) and not isinstance(uptime, bool) else None,
        )


class TargetLatency(_Wire):
    """madmin ``LatencyStat`` of a replication link: Go ``time.Duration`` values (integer nanoseconds)."""

    curr: timedelta | None = None
    avg: timedelta | None = None
    max: timedelta | None = None

    _durations = field_validator("curr", "avg", "max", mode="before")(go_duration)


class RemoteTarget(_Wire):
    """One replication target of a bucket (admin ``list-remote-targets``, madmin ``BucketTarget``).

    The answer also carries the target's credentials; the model has no field for them, so they are dropped
    while parsing and never reach a report or a log.
    """

    arn: str = ""
    source_bucket: str = Field(default="", alias="sourcebucket")
    target_bucket: str = Field(default="", alias="targetbucket")
    endpoint: str = ""
    online: bool = Field(default=True, alias="isOnline")
    last_online: datetime | None = Field(default=None, alias="lastOnline")
    total_downtime: timedelta | None = Field(default=None, alias="totalDowntime")
    latency: TargetLatency = Field(default_factory=TargetLatency)

    _downtime = field_validator("total_downtime", mode="before")(go_duration)
    _last_online = field_validator("last_online", mode="before")(_zero_time_to_none)
# ----------------------------------------------------------------------------- object speed test


class SpeedTestTimings(_Wire):
    """Latencies of one kind of request over every node's samples (madmin ``Timings``), as timedeltas.

    On the wire each is a Go ``time.Duration``: integer nanoseconds. None when the server sent none.
    """

    avg: timedelta | None = None
    p50: timedelta | None = None
    p75: timedelta | None = None
    p95: timedelta | None = None
    p99: timedelta | None = None
    p999: timedelta | None = None
    max: timedelta | None = None
    min: timedelta | None = None

    @field_validator("avg", "p50", "p75", "p95", "p99", "p999", "max", "min", mode="before")
    @classmethod
    def _go_duration(cls, value: Any) -> Any:
        return go_duration(value)

    @property
    def measured(self) -> bool:
        """False for the all-zero value a server sends when it has no sample."""
        return bool(self.avg or self.max)


class SpeedTestServer(_Wire):
    """One server's figures in a speed test (madmin ``SpeedTestStatServer``)."""

    endpoint: str = ""  # scheme://host:port of the server
    throughput_per_s: int = Field(default=0, validation_alias=AliasChoices("throughputPerSec", "throughput_per_s"))
    objects_per_s: int = Field(default=0, validation_alias=AliasChoices("objectsPerSec", "objects_per_s"))
    error: str = Field(default="", validation_alias=AliasChoices("err", "error"))

    @property
    def host(self) -> str:
        """``host:port`` of the endpoint (the URL's scheme dropped)."""
        return self.endpoint.split("://", 1)[-1].rstrip("/")


class SpeedTestStats(_Wire):
    """PUT or GET figures of a speed test (madmin ``SpeedTestStats``): the cluster's and each server's."""

    throughput_per_s: int = Field(default=0, validation_alias=AliasChoices("throughputPerSec", "throughput_per_s"))
    objects_per_s: int = Field(default=0, validation_alias=AliasChoices("objectsPerSec", "objects_per_s"))
    response: SpeedTestTimings = Field(default_factory=SpeedTestTimings,
                                       validation_alias=AliasChoices("responseTime", "response"))
    ttfb: SpeedTestTimings = Field(default_factory=SpeedTestTimings)
    servers: list[SpeedTestServer] = Field(default_factory=list)

    @field_validator("servers", "response", "ttfb", mode="before")
    @classmethod
    def _null(cls, value: Any, info: Any) -> Any:
        if value is None:
            return [] if info.field_name == "servers" else {}
        return value


class SpeedTestResult(_Wire):
    """One value of the speed test's answer stream (madmin ``SpeedTestResult``).

    The server writes a zero value (empty ``version``) every 500 ms until it has a result: such a
    value is a keep-alive, not a result (:attr:`is_result`).
    """

    version: str = ""
    servers: int = 0  # how many servers took part
    disks: int = 0
    size: int = 0  # object size, bytes
    concurrent: int = 0
    put: SpeedTestStats = Field(default_factory=SpeedTestStats, validation_alias=AliasChoices("PUTStats", "put"))
    get: SpeedTestStats = Field(default_factory=SpeedTestStats, validation_alias=AliasChoices("GETStats", "get"))

    @property
    def is_result(self) -> bool:
        """True for a measured result; False for the keep-alive zero value."""
        return bool(self.version)

    def failed_servers(self) -> dict[str, str]:
        """Endpoint -> error, for every server that reported one (PUT or GET)."""
        failed: dict[str, str] = {}
        for server in [*self.put.servers, *self.get.servers]:
            if server.error and server.endpoint not in failed:
                failed[server.endpoint] = server.error
        return failed
