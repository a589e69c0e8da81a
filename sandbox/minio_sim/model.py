"""In-memory model of a MinIO deployment: pools, nodes, drives, buckets and objects.

Every HTTP surface (S3, admin, health, metrics) reads this one model, so a fault
injected here shows up consistently everywhere. All mutation happens under
`ClusterModel.lock`; readers take it for the short time they build a view.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import threading
import time
import uuid
import zlib
from collections.abc import Iterable, Mapping

from sandbox.minio_sim import erasure, versions
from sandbox.minio_sim.decommission import Decommission
from sandbox.minio_sim.entities import (
    NODE_HUNG,
    NODE_ONLINE,
    Bucket,
    Drive,
    DriveView,
    ErasureSet,
    HealthResult,
    LockEntry,
    Node,
    Pool,
    QuorumError,
    SetHealth,
    SpeedtestFaults,
    StorageFullError,
    StoredObject,
    UnknownTargetError,
)
from sandbox.minio_sim.iam import Identities
from sandbox.minio_sim.uploads import Uploads

DEFAULT_VERSION = "RELEASE.2025-09-07T16-13-09Z"
# The real server waits this long for each unresponsive peer in `admin info` (in parallel).
DEFAULT_PEER_TIMEOUT_S = 10.0
# Values the real server puts in X-Minio-Server-Status while it starts, in the order its
# start-up clears them: object layer, bucket metadata, IAM.
STARTING_STATUSES = ("offline", "bucket-metadata-offline", "iam-offline")
# Rejected-request counters, as MinIO's minio_s3_requests_rejected_<kind>_total.
REJECTION_KINDS = ("auth", "invalid", "timestamp", "header")
DEFAULT_ACCESS_KEY = "simadmin"
DEFAULT_SECRET_KEY = "simsecret-please-change"
# A freshly formatted drive is never empty: format.json, .minio.sys, bucket metadata.
DRIVE_BASE_USED = 24 << 20


_RELEASE_TAG = re.compile(r"^RELEASE\.(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})Z$")


def reported_version(version: str) -> str:
    """The version as a real server reports it in `info` and metrics: RFC 3339
    (`2025-09-07T16:13:09Z`), while images and `--version` use the release tag."""
    match = _RELEASE_TAG.match(version)
    if match is None:
        return version
    day, hh, mm, ss = match.groups()
    return f"{day}T{hh}:{mm}:{ss}Z"


def parse_pool_shape(text: str) -> tuple[int, int]:
    """Parse "4x2" into (nodes, drives_per_node)."""
    nodes, _, drives = text.lower().partition("x")
    if not nodes.isdigit() or not drives.isdigit():
        raise ValueError(f"pool shape must look like 4x2, got {text!r}")
    return int(nodes), int(drives)


class ClusterModel:
    """The shared state of the simulated deployment."""

    def __init__(
        self,
        pools: list[tuple[int, int]],
        *,
        access_key: str,
        secret_key: str,
        region: str,
        version: str,
        drive_size: int,
        storage_class_parity: int | None,
        prometheus_auth: str,
        host: str = "127.0.0.1",
        decommission_seconds: float = 10.0,
        peer_timeout_s: float = DEFAULT_PEER_TIMEOUT_S,
        startup_seconds: float = 0.0,
    ) -> None:
        if not pools:
            raise ValueError("at least one pool is required")
        if prometheus_auth not in ("jwt", "public"):
            raise ValueError("prometheus_auth must be 'jwt' or 'public'")
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region
        self.default_version = version
        self.drive_size = drive_size
        self.storage_class_parity = storage_class_parity
        self.prometheus_auth = prometheus_auth
        self.host = host
        self.decommission_seconds = decommission_seconds
        self.peer_timeout_s = max(0.0, float(peer_timeout_s))
        self.startup_seconds = max(0.0, float(startup_seconds))
        self.deployment_id = str(uuid.uuid4())
        self.shapes = list(pools)
        self.pools: list[Pool] = []
        self.nodes: dict[int, Node] = {}
        self.drives: list[Drive] = []
        self._build_layout()
        # Mutable state below is what reset() restores.
        self.buckets: dict[str, Bucket] = {}
        self.uploads = Uploads()
        self.set_bytes: dict[tuple[int, int], int] = {}
        self.set_objects: dict[tuple[int, int], int] = {}
        self.synthetic_bytes = 0
        self.synthetic_objects = 0
        self.latency_ms = 0.0
        self.decommissions: dict[int, Decommission] = {}
        self.pending_decommission_failures: set[int] = set()
        self.locks: list[LockEntry] = []
        self.heal_errors = 0
        self.generation = 0
        self.iam = Identities(access_key)
        # The signing account's effective policy as accountinfo reports it (None: root's, consoleAdmin).
        self.account_policy: dict[str, object] | None = None
        self.speedtest = SpeedtestFaults()  # faults and clock of the object speed test (see speedtest.py)
        # Per node: requests refused before running, counted from the node's process start.
        self.rejections: dict[int, dict[str, int]] = {n: dict.fromkeys(REJECTION_KINDS, 0) for n in self.nodes}

    # ----------------------------------------------------------------- layout
    def _build_layout(self) -> None:
        node_number = 0
        for pool_index, (nodes, per_node) in enumerate(self.shapes):
            size = erasure.choose_set_size(nodes, per_node)
            parity = self.storage_class_parity
            if parity is None:
                parity = erasure.default_parity(size)
            erasure.validate_parity(size, parity)
            numbers = list(range(node_number + 1, node_number + nodes + 1))
            node_number += nodes
            pool = Pool(index=pool_index, nodes=numbers, drives_per_node=per_node, set_size=size, parity=parity)
            for number in numbers:
                self.nodes[number] = Node(number, pool_index, per_node, self.default_version)
            by_set: dict[int, list[Drive]] = {}
            for slot in erasure.layout_pool(nodes, per_node):
                number = numbers[slot.node_offset - 1]
                drive = Drive(
                    node=number,
                    slot=slot.drive,
                    pool_index=pool_index,
                    set_index=slot.set_index,
                    disk_index=slot.disk_index,
                    total=self.drive_size,
                    uuid=self._drive_uuid(number, slot.drive, 0),
                )
                self.drives.append(drive)
                by_set.setdefault(slot.set_index, []).append(drive)
            pool.sets = [
                ErasureSet(pool_index, set_index, sorted(members, key=lambda d: d.disk_index), parity)
                for set_index, members in sorted(by_set.items())
            ]
            self.pools.append(pool)

    def _drive_uuid(self, node: int, slot: int, generation: int) -> str:
        return str(uuid.uuid5(uuid.UUID(self.deployment_id), f"{node}/{slot}/{generation}"))

    def all_sets(self) -> list[ErasureSet]:
        """Every erasure set of every pool, pool-major."""
        return [s for pool in self.pools for s in pool.sets]

    def node(self, number: int) -> Node:
        """The node numbered `number` (1-based); KeyError if there is none."""
        if number not in self.nodes:
            raise UnknownTargetError(f"no node {number}; nodes are 1..{len(self.nodes)}")
        return self.nodes[number]

    def drive(self, node: int, slot: int) -> Drive:
        """Drive `slot` (1-based) of `node`."""
        self.node(node)
        for d in self.drives:
            if d.node == node and d.slot == slot:
                return d
        raise UnknownTargetError(f"node {node} has no drive {slot}")

    def node_endpoint(self, number: int) -> str:
        """host:port of a node, as MinIO's servers[].endpoint shows it."""
        return f"{self.host}:{self.nodes[number].port}"

    def drive_endpoint(self, drive: Drive) -> str:
        """URL-style drive endpoint, as MinIO's drives[].endpoint shows it."""
        return f"http://{self.node_endpoint(drive.node)}/data{drive.slot}"

    def pool_cmdline(self, pool: Pool) -> str:
        """The pool's command-line argument, used by pools/* admin calls to name a pool."""
        ports = [self.nodes[n].port for n in pool.nodes]
        drives = f"/data{{1...{pool.drives_per_node}}}" if pool.drives_per_node > 1 else "/data1"
        if len(ports) > 1 and ports == list(range(ports[0], ports[0] + len(ports))):
            return f"http://{self.host}:{{{ports[0]}...{ports[-1]}}}{drives}"
        return " ".join(f"http://{self.host}:{p}{drives}" for p in ports)

    def find_pool(self, arg: str) -> Pool | None:
        """Resolve a `pool=` argument: the pool's cmdline, or (leniently) its index."""
        arg = arg.strip()
        for pool in self.pools:
            if arg == self.pool_cmdline(pool):
                return pool
        if arg.isdigit() and int(arg) < len(self.pools):
            return self.pools[int(arg)]
        return None

    def touch(self) -> None:
        """Record a change (the scanner rebuilds its cached result only after one)."""
        self.generation += 1
        self.changed.notify_all()

    def signer(self, access_key: str) -> tuple[str | None, bool]:
        """(secret key or None, disabled) of the IAM user or service account ``access_key``."""
        with self.lock:
            found = self.iam.signer(access_key, self.secret_key)
        return found.secret_key, found.disabled

    # ------------------------------------------------------------ node state
    def set_node_state(self, number: int, state: str) -> None:
        """Move a node to online/stopped/hung and wake requests parked on a hung node."""
        with self.lock:
            node = self.node(number)
            if state == NODE_ONLINE and node.state != NODE_HUNG:
                node.started_at = time.time()
                # A new process: counters from zero, and the start-up phase again.
                self.rejections[number] = dict.fromkeys(REJECTION_KINDS, 0)
                if self.startup_seconds > 0:
                    node.starting_until = time.monotonic() + self.startup_seconds
                    node.starting_status = "offline"
            node.state = state
            self.touch()

    def await_serving(self, number: int) -> bool:
        """Block while the node is hung; True if it may answer, False if it must drop the request."""
        with self.lock:
            while self.nodes[number].state == NODE_HUNG:
                self.changed.wait(1.0)
            return self.nodes[number].state == NODE_ONLINE

    def node_online(self, number: int) -> bool:
        """True when peers can reach the node."""
        return self.nodes[number].state == NODE_ONLINE

    def node_hung(self, number: int) -> bool:
        """True while the node accepts connections but never answers (peers wait on it)."""
        return self.nodes[number].state == NODE_HUNG

    # -------------------------------------------------------- start-up phase
    def begin_startup(self, number: int, seconds: float | None = None, status: str = "offline") -> None:
        """Put a node into its start-up phase for `seconds` (default: the cluster's startup_seconds)."""
        if status not in STARTING_STATUSES:
            raise ValueError(f"status must be one of {', '.join(STARTING_STATUSES)}")
        with self.lock:
            node = self.node(number)
            span = self.startup_seconds if seconds is None else max(0.0, float(seconds))
            node.starting_until = time.monotonic() + span
            node.starting_status = status
            self.touch()

    def starting_status(self, number: int) -> str | None:
        """The X-Minio-Server-Status value while the node is starting; None once it serves."""
        node = self.nodes[number]
        if node.starting_until and time.monotonic() < node.starting_until:
            return node.starting_status
        return None

    # -------------------------------------------------------- rejected requests
    def count_rejection(self, number: int, kind: str) -> None:
        """Count one request the node refused before running it (auth scheme, invalid call, time, header)."""
        with self.lock:
            counters = self.rejections.setdefault(number, dict.fromkeys(REJECTION_KINDS, 0))
            counters[kind] = counters.get(kind, 0) + 1

    def reset_rejections(self, number: int) -> None:
        """A (re)started process counts from zero."""
        with self.lock:
            self.rejections[number] = dict.fromkeys(REJECTION_KINDS, 0)

    # ----------------------------------------------------------- drive views
    def drive_view(self, drive: Drive, now: float | None = None) -> DriveView:
        """The drive as a peer reports it, including space figures."""
        now = time.monotonic() if now is None else now
        endpoint = self.drive_endpoint(drive)
        if not self.node_online(drive.node):
            return DriveView(drive, endpoint, "offline", False, 0.0, 0, 0, 0)
        state, healing, progress = drive.local_state(now)
        if state == "offline":
            return DriveView(drive, endpoint, "offline", False, 0.0, 0, 0, 0)
        total = drive.total
        if state == "unformatted":
            used = 0
        else:
            eset = self.pools[drive.pool_index].sets[drive.set_index]
            share = self.set_logical_bytes(drive.pool_index, drive.set_index) // max(eset.data, 1)
            used = DRIVE_BASE_USED + int(share * progress)
        if self.nodes[drive.node].disk_full:
            used = total
        used = min(used, total)
        return DriveView(drive, endpoint, state, healing, progress, total, used, total - used)

    def drive_views(self) -> list[DriveView]:
        """Views of every drive, in node then slot order."""
        now = time.monotonic()
        return [self.drive_view(d, now) for d in sorted(self.drives, key=lambda d: (d.node, d.slot))]

    # ---------------------------------------------------------------- health
    def set_health(self, exclude_node: int | None = None) -> list[SetHealth]:
        """Online/healing drive counts per set; `exclude_node` pretends that node is down."""
        now = time.monotonic()
        result = []
        for eset in self.all_sets():
            online = healing = 0
            for d in eset.drives:
                if d.node == exclude_node or not self.node_online(d.node):
                    continue
                state, is_healing, _ = d.local_state(now)
                if state == "ok":
                    online += 1
                    healing += int(is_healing)
            result.append(
                SetHealth(
                    eset.pool_index, eset.set_index, eset.size, online, healing, eset.write_quorum, eset.read_quorum
                )
            )
        return result

    def cluster_health(self, *, for_read: bool, maintenance_node: int | None = None) -> HealthResult:
        """Evaluate /minio/health/cluster[/read] (optionally in maintenance mode for one node)."""
        with self.lock:
            sets = self.set_health(exclude_node=maintenance_node)
            healing = sum(s.healing for s in self.set_health())
        healthy = all(s.readable if for_read else s.writable for s in sets)
        if maintenance_node is not None and healing > 0:
            healthy = False
        return HealthResult(
            healthy=healthy,
            write_quorum=max(s.write_quorum for s in sets),
            read_quorum=max(s.read_quorum for s in sets),
            healing_drives=healing,
            using_defaults=self.storage_class_parity is None,
            sets=tuple(sets),
        )

    # -------------------------------------------------------------- capacity
    def pool_active_weights(self, now: float | None = None) -> list[float]:
        """Share of new data each pool receives; decommissioning pools drain towards 0."""
        now = time.monotonic() if now is None else now
        weights = []
        for pool in self.pools:
            weight = float(self.pool_raw_capacity(pool.index))
            dec = self.decommissions.get(pool.index)
            if dec is not None and dec.active_or_complete(now):
                weight *= 1.0 - dec.progress(now)
            weights.append(weight)
        if sum(weights) <= 0:
            weights = [1.0] + [0.0] * (len(self.pools) - 1)
        return weights

    def set_logical_bytes(self, pool_index: int, set_index: int) -> int:
        """Bytes stored in a set: its real objects plus its share of synthetic usage."""
        return self.set_bytes.get((pool_index, set_index), 0) + self._synthetic_share(self.synthetic_bytes, pool_index)

    def set_object_count(self, pool_index: int, set_index: int) -> int:
        """Objects stored in a set, real plus synthetic share."""
        return self.set_objects.get((pool_index, set_index), 0) + self._synthetic_share(
            self.synthetic_objects, pool_index
        )

    def _synthetic_share(self, amount: int, pool_index: int) -> int:
        weights = self.pool_active_weights()
        pool_share = amount * weights[pool_index] / sum(weights)
        return int(pool_share / len(self.pools[pool_index].sets))

    def pool_used_bytes(self, pool_index: int) -> int:
        """Logical bytes held by a pool."""
        return sum(self.set_logical_bytes(pool_index, s.set_index) for s in self.pools[pool_index].sets)

    def pool_raw_capacity(self, pool_index: int) -> int:
        """Raw bytes of all drives of a pool (online or not)."""
        pool = self.pools[pool_index]
        return sum(d.total for s in pool.sets for d in s.drives)

    def pool_usable_free(self, pool_index: int) -> int:
        """Usable (data-drive) bytes still free in a pool."""
        pool = self.pools[pool_index]
        usable = self.pool_raw_capacity(pool_index) * (pool.set_size - pool.parity) // pool.set_size
        return usable - self.pool_used_bytes(pool_index)

    def standard_parity(self) -> int:
        """The standard storage class parity MinIO reports (the first pool's)."""
        return self.pools[0].parity

    def rr_parity(self) -> int:
        """Reduced-redundancy parity."""
        return erasure.default_rr_parity(self.pools[0].set_size)

    # --------------------------------------------------------------- writes
    def _check_set(self, pool_index: int, set_index: int, *, for_read: bool) -> None:
        health = next(s for s in self.set_health() if s.pool_index == pool_index and s.set_index == set_index)
        if not (health.readable if for_read else health.writable):
            raise QuorumError("read" if for_read else "write", pool_index, set_index)
        if not for_read:
            eset = self.pools[pool_index].sets[set_index]
            writable = [
                d
                for d in eset.drives
                if self.node_online(d.node)
                and not self.nodes[d.node].disk_full
                and d.local_state(time.monotonic())[0] == "ok"
            ]
            if len(writable) < eset.write_quorum:
                raise StorageFullError(f"pool {pool_index} set {set_index} is full")

    def _place(self, key: str) -> tuple[int, int]:
        """Pick pool (most free space among active pools) and set (hash of the key)."""
        weights = self.pool_active_weights()
        candidates = [p for p in self.pools if weights[p.index] > 0 and self.pool_accepts_writes(p.index)]
        if not candidates:
            candidates = self.pools[:1]
        pool = max(candidates, key=lambda p: (self.pool_usable_free(p.index), -p.index))
        set_index = zlib.crc32(key.encode()) % len(pool.sets)
        return pool.index, set_index

    def pool_accepts_writes(self, pool_index: int) -> bool:
        """False while the pool is being (or has been) decommissioned."""
        dec = self.decommissions.get(pool_index)
        return dec is None or not dec.active_or_complete(time.monotonic())

    def create_bucket(self, name: str, *, object_lock: bool = False) -> bool:
        """Create a bucket; False if it exists. Needs write quorum on every set."""
        with self.lock:
            if name in self.buckets:
                return False
            for s in self.set_health():
                if not s.writable:
                    raise QuorumError("write", s.pool_index, s.set_index)
            self.buckets[name] = Bucket(
                name, time.time(), object_lock=object_lock, versioning="Enabled" if object_lock else None
            )
            self.touch()
            return True

    def delete_bucket(self, name: str) -> None:
        """Remove an empty bucket (caller checks existence and emptiness)."""
        with self.lock:
            self.buckets.pop(name, None)
            self.touch()

    def put_object(
        self, bucket: str, key: str, data: bytes, content_type: str, metadata: Mapping[str, str],
        etag: str | None = None, checksum: tuple[str, str] | None = None,
    ) -> StoredObject:
        """Store a new current version (``etag``: a multipart upload's; ``checksum``: the additional checksum
        the client sent); raises QuorumError/StorageFullError when its set cannot take it."""
        with self.lock:
            b = self.buckets[bucket]
            obj = self._new_version(b, key, data, content_type, metadata)
            if etag is not None or checksum is not None:
                obj = dataclasses.replace(obj, etag=etag or obj.etag, checksum=checksum)
            self._write_version(b, obj)
            return obj

    def check_writable(self, key: str) -> None:
        """Raise QuorumError/StorageFullError when the set ``key`` belongs to cannot take a write now."""
        with self.lock:
            pool_index, set_index = self._place(key)
            self._check_set(pool_index, set_index, for_read=False)

    def _new_version(
        self, b: Bucket, key: str, data: bytes, content_type: str, metadata: Mapping[str, str], *, marker: bool = False
    ) -> StoredObject:
        pool_index, set_index = self._place(key)
        self._check_set(pool_index, set_index, for_read=False)
        return StoredObject(
            key=key,
            data=data,
            etag=hashlib.md5(data, usedforsecurity=False).hexdigest(),
            last_modified=time.time(),
            content_type=content_type,
            metadata=dict(metadata),
            pool_index=pool_index,
            set_index=set_index,
            version_id=str(uuid.uuid4()) if b.versioning == "Enabled" else versions.NULL_VERSION,
            delete_marker=marker,
        )

    def _write_version(self, b: Bucket, obj: StoredObject) -> None:
        for gone in versions.write(b, obj).versions:
            self._account(b, gone, -1)
        self._account(b, obj, +1)
        self.touch()

    def get_object(self, bucket: str, key: str, version_id: str | None = None) -> StoredObject | None:
        """The current version (None: no key, or its newest version is a delete marker: see `latest`), or
        the version ``version_id`` (may be a delete marker). Raises QuorumError when its set lost read quorum."""
        with self.lock:
            b = self.buckets[bucket]
            obj = b.objects.get(key) if version_id is None else versions.find(b, key, version_id)
            if obj is not None and not obj.delete_marker:
                self._check_set(obj.pool_index, obj.set_index, for_read=True)
            return obj

    def latest(self, bucket: str, key: str) -> StoredObject | None:
        """The newest version of ``key`` whatever it is (object or delete marker)."""
        with self.lock:
            stack = self.buckets[bucket].versions.get(key)
            return stack[0] if stack else None

    def delete_object(self, bucket: str, key: str, version_id: str | None = None) -> StoredObject | None:
        """Delete a key (S3 deletes are idempotent): without a version id, remove it or add a delete marker
        (returned); with one, remove exactly that version (returned, None if there was none)."""
        with self.lock:
            b = self.buckets[bucket]
            self._check_delete_quorum(b, key)
            if version_id is not None:
                gone = versions.delete_version(b, key, version_id)
                if gone is not None:
                    self._account(b, gone, -1)
                    self.touch()
                return gone
            marker, removed = versions.delete_current(
                b, key, lambda: self._new_version(b, key, b"", "", {}, marker=True)
            )
            for old in removed.versions:
                self._account(b, old, -1)
            if marker is not None or removed.versions:
                self.touch()
            return marker

    def _check_delete_quorum(self, bucket: Bucket, key: str) -> None:
        """A delete (a marker or a version) is a write: MinIO refuses it without write quorum on the key's set
        (a full drive does not stop it)."""
        stack = bucket.versions.get(key)
        pool_index, set_index = (stack[0].pool_index, stack[0].set_index) if stack else self._place(key)
        health = next(s for s in self.set_health() if s.pool_index == pool_index and s.set_index == set_index)
        if not health.writable:
            raise QuorumError("write", pool_index, set_index)

    def copy_object(
        self, source: StoredObject, bucket: str, key: str, metadata: Mapping[str, str] | None = None
    ) -> StoredObject:
        """Server-side copy: ``source``'s data (and metadata unless replaced) as the new current version."""
        with self.lock:
            b = self.buckets[bucket]
            self._check_set(source.pool_index, source.set_index, for_read=True)
            keep = source.metadata if metadata is None else metadata
            obj = self._new_version(b, key, source.data, source.content_type, keep)
            self._write_version(b, obj)
            return obj

    def list_versions(
        self, bucket: str, prefix: str, key_marker: str, version_marker: str, delimiter: str, max_keys: int
    ) -> versions.VersionPage:
        """One page of ListObjectVersions (bounded by the prefix and the page size)."""
        with self.lock:
            return versions.list_page(self.buckets[bucket], prefix, key_marker, version_marker, delimiter, max_keys)

    def _account(self, bucket: Bucket, obj: StoredObject, sign: int) -> None:
        if obj.delete_marker:
            return
        where = (obj.pool_index, obj.set_index)
        bucket.real_bytes += sign * len(obj.data)
        self.set_bytes[where] = self.set_bytes.get(where, 0) + sign * len(obj.data)
        self.set_objects[where] = self.set_objects.get(where, 0) + sign

    def set_synthetic_usage(self, usage: Mapping[str, tuple[int, int]], *, replace: bool = False) -> None:
        """Give buckets synthetic (size, objects) usage; creates missing buckets. O(len(usage))."""
        with self.lock:
            if replace:
                for b in self.buckets.values():
                    b.synthetic_size = b.synthetic_objects = 0
                self.synthetic_bytes = self.synthetic_objects = 0
            now = time.time()
            for name, (size, objects) in usage.items():
                b = self.buckets.get(name) or Bucket(name, now)
                self.buckets[name] = b
                self.synthetic_bytes += int(size) - b.synthetic_size
                self.synthetic_objects += int(objects) - b.synthetic_objects
                b.synthetic_size, b.synthetic_objects = int(size), int(objects)
            self.touch()

    def settle_decommissions(self) -> None:
        """Once a decommission completes, move its real objects to the remaining pools (once)."""
        with self.lock:
            now = time.monotonic()
            for dec in self.decommissions.values():
                if not dec.settled and dec.status(now) == "complete":
                    dec.settled = True
                    self._move_objects_off(dec.pool_index)

    def _move_objects_off(self, pool_index: int) -> None:
        with self.lock:
            for b in self.buckets.values():
                for obj in (v for stack in b.versions.values() for v in stack):
                    if obj.pool_index != pool_index:
                        continue
                    self._account(b, obj, -1)
                    obj.pool_index, obj.set_index = self._place(obj.key)
                    self._account(b, obj, +1)
            self.touch()

    # ---------------------------------------------------------------- faults
    def replace_drive(self, node: int, slot: int, *, heal_seconds: float, format_seconds: float) -> None:
        """Swap in a fresh drive: new uuid, unformatted for `format_seconds`, then healing."""
        with self.lock:
            d = self.drive(node, slot)
            generation = int(time.monotonic() * 1000)
            d.uuid = self._drive_uuid(node, slot, generation)
            d.removed = False
            d.replaced_at = time.monotonic()
            d.format_seconds = max(format_seconds, 0.0)
            d.heal_seconds = max(heal_seconds, 0.0)
            self.touch()

    def reset_state(self) -> None:
        """Back to a freshly deployed cluster: every fault and all data cleared."""
        with self.lock:
            for node in self.nodes.values():
                node.version = self.default_version
                node.disk_full = False
                node.starting_until = 0.0
            self.rejections = {n: dict.fromkeys(REJECTION_KINDS, 0) for n in self.nodes}
            for d in self.drives:
                d.removed = False
                d.replaced_at = None
                d.uuid = self._drive_uuid(d.node, d.slot, 0)
            self.buckets.clear()
            self.set_bytes.clear()
            self.set_objects.clear()
            self.synthetic_bytes = self.synthetic_objects = 0
            self.latency_ms = 0.0
            self.decommissions.clear()
            self.pending_decommission_failures.clear()
            self.locks.clear()
            self.heal_errors = 0
            self.iam = Identities(self.access_key)
            self.speedtest = SpeedtestFaults()
            self.touch()

    def add_lock(self, resource: str, age_seconds: float, lock_type: str = "WRITE") -> None:
        """Register a long-held namespace lock for top/locks."""
        with self.lock:
            self.locks.append(
                LockEntry(
                    resource, lock_type, time.time() - age_seconds, f"http://{self.node_endpoint(1)}", str(uuid.uuid4())
                )
            )

    def version_counts(self) -> dict[str, tuple[int, int]]:
        """(versions, delete markers) of buckets that hold real versions; caller holds the lock. O(versions)."""
        return {b.name: (b.version_count, b.delete_marker_count) for b in self.buckets.values() if b.versions}

    def usage_rows(self) -> Iterable[tuple[str, int, int, float]]:
        """(bucket, size, objects, created) for the scanner; caller holds the lock."""
        for b in self.buckets.values():
            yield b.name, b.size, b.object_count, b.created
