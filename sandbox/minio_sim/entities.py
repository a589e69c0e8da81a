"""Plain data records of the simulated deployment: drives, nodes, sets, pools, buckets, objects, views.

Little behaviour here (derived properties, a drive's time-driven state); `model.ClusterModel` owns the rules.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sandbox.minio_sim import erasure

NODE_ONLINE = "online"
NODE_STOPPED = "stopped"
NODE_HUNG = "hung"


class QuorumError(Exception):
    """An erasure set lacks the drives needed for the operation."""

    def __init__(self, kind: str, pool_index: int, set_index: int) -> None:
        super().__init__(f"{kind} quorum lost on pool {pool_index} set {set_index}")
        self.kind = kind
        self.pool_index = pool_index
        self.set_index = set_index


class UnknownTargetError(LookupError):
    """A fault was aimed at a node, drive or pool that does not exist."""


class StorageFullError(Exception):
    """Too many drives of the target set are full to accept a write."""


@dataclass
class Drive:
    """One drive; its health evolves with time after a replacement (unformatted -> healing -> ok)."""

    node: int
    slot: int
    pool_index: int
    set_index: int
    disk_index: int
    total: int
    uuid: str
    removed: bool = False
    replaced_at: float | None = None
    format_seconds: float = 0.0
    heal_seconds: float = 0.0

    def local_state(self, now: float) -> tuple[str, bool, float]:
        """(state, healing, heal progress 0..1) as the drive itself reports it."""
        if self.removed:
            return "offline", False, 0.0
        if self.replaced_at is None:
            return "ok", False, 1.0
        elapsed = now - self.replaced_at
        if elapsed < self.format_seconds:
            return "unformatted", False, 0.0
        healed = elapsed - self.format_seconds
        if healed < self.heal_seconds:
            return "ok", True, healed / self.heal_seconds
        return "ok", False, 1.0


@dataclass
class Node:
    """One MinIO server process."""

    number: int
    pool_index: int
    drives_per_node: int
    version: str
    port: int = 0
    state: str = NODE_ONLINE
    started_at: float = field(default_factory=time.time)
    disk_full: bool = False
    # Start-up phase: until this monotonic time the node answers as a starting MinIO does
    # (health 503 + X-Minio-Server-Status, S3/admin 503 XMinioServerNotInitialized).
    starting_until: float = 0.0
    starting_status: str = "offline"


@dataclass
class ErasureSet:
    """An erasure set: its drives ordered by disk_index and its parity."""

    pool_index: int
    set_index: int
    drives: list[Drive]
    parity: int

    @property
    def size(self) -> int:
        return len(self.drives)

    @property
    def data(self) -> int:
        return erasure.data_drives(self.size, self.parity)

    @property
    def write_quorum(self) -> int:
        return erasure.write_quorum(self.size, self.parity)

    @property
    def read_quorum(self) -> int:
        return erasure.read_quorum(self.size, self.parity)


@dataclass
class Pool:
    """A server pool: nodes x drives per node, cut into erasure sets."""

    index: int
    nodes: list[int]
    drives_per_node: int
    set_size: int
    parity: int
    sets: list[ErasureSet] = field(default_factory=list)


@dataclass(slots=True)
class StoredObject:
    """One version of an object kept in memory, with the set it was written to.

    A delete marker is a version too (``delete_marker=True``, no data), as on the real server.
    """

    key: str
    data: bytes
    etag: str
    last_modified: float
    content_type: str
    metadata: dict[str, str]
    pool_index: int
    set_index: int
    version_id: str = "null"
    delete_marker: bool = False
    checksum: tuple[str, str] | None = None  # (algorithm, base64) sent with a single-part PUT


@dataclass(frozen=True)
class ReplicationRule:
    """One bucket replication rule: where objects go, and whether the rule is switched on."""

    rule_id: str
    target_bucket: str
    enabled: bool = True
    priority: int = 1

    @property
    def target_arn(self) -> str:
        """The destination as S3 names it (``arn:aws:s3:::<bucket>``)."""
        return self.target_bucket if self.target_bucket.startswith("arn:") else f"arn:aws:s3:::{self.target_bucket}"


@dataclass
class Bucket:
    """A bucket: real objects plus synthetic usage (size/objects) that is never materialised."""

    name: str
    created: float
    # The current version of each key that has one (a key whose newest version is a delete marker
    # is absent): what ListObjects shows and GET without a versionId reads.
    objects: dict[str, StoredObject] = field(default_factory=dict)
    # Every version of every key, newest first, delete markers included (ListObjectVersions).
    versions: dict[str, list[StoredObject]] = field(default_factory=dict)
    # The keys of `versions`, sorted, rebuilt lazily after a key appears or disappears (None: stale).
    version_keys: list[str] | None = None
    quota: int = 0  # hard quota in bytes (admin set-bucket-quota); 0: none
    policy: str | None = None
    versioning: str | None = None
    object_lock: bool = False
    replication: list[ReplicationRule] = field(default_factory=list)  # empty: no replication configured
    # Replication figures the control port set (queued_count/bytes, queued_avg_count, failed_hour_count/bytes,
    # failed_count/bytes): served by ?replication-metrics; nothing replicates for real.
    replication_stats: dict[str, float] = field(default_factory=dict)
    lifecycle: str | None = None  # the stored LifecycleConfiguration XML; None: none configured
    real_bytes: int = 0
    synthetic_size: int = 0
    synthetic_objects: int = 0

    @property
    def size(self) -> int:
        return self.real_bytes + self.synthetic_size

    @property
    def object_count(self) -> int:
        return len(self.objects) + self.synthetic_objects

    @property
    def version_count(self) -> int:
        """Versions stored (delete markers excluded), real plus synthetic (one per synthetic object)."""
        return sum(1 for stack in self.versions.values() for v in stack if not v.delete_marker) + (
            self.synthetic_objects
        )

    @property
    def delete_marker_count(self) -> int:
        return sum(1 for stack in self.versions.values() for v in stack if v.delete_marker)


@dataclass(frozen=True)
class DriveView:
    """A drive as peers see it right now (node state folded in)."""

    drive: Drive
    endpoint: str
    state: str
    healing: bool
    heal_progress: float
    total: int
    used: int
    avail: int


@dataclass(frozen=True)
class SetHealth:
    """Online drive count and quorums of one erasure set."""

    pool_index: int
    set_index: int
    size: int
    online: int
    healing: int
    write_quorum: int
    read_quorum: int

    @property
    def writable(self) -> bool:
        return self.online >= self.write_quorum

    @property
    def readable(self) -> bool:
        return self.online >= self.read_quorum


@dataclass(frozen=True)
class HealthResult:
    """Answer of the cluster health check."""

    healthy: bool
    write_quorum: int
    read_quorum: int
    healing_drives: int
    using_defaults: bool
    sets: tuple[SetHealth, ...]


@dataclass
class LockEntry:
    """A namespace lock, as reported by top/locks."""

    resource: str
    lock_type: str
    since: float
    owner: str
    uid: str


@dataclass
class SpeedtestFaults:
    """Faults the object speed test meets (control port `/speedtest/...`), and how fast its clock runs.

    ``failing``: node -> a write error that node hits while uploading; ``slow``: node -> the share of the
    normal throughput it reaches; ``time_scale``: simulated seconds per real second is 1/time_scale (tests
    run a 2 s test in 2 x 2 x time_scale s); ``running``: speed tests in progress; ``started``: how many began.
    """

    failing: dict[int, str] = field(default_factory=dict)
    slow: dict[int, float] = field(default_factory=dict)
    time_scale: float = 1.0
    running: int = 0
    started: int = 0
