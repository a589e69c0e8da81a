"""SimCluster: N simulated MinIO nodes on loopback ports sharing one model, plus a control port."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from types import TracebackType

from sandbox.minio_sim.context import NodeContext
from sandbox.minio_sim.control import control_handler
from sandbox.minio_sim.decommission import FAILURE_POINT
from sandbox.minio_sim.demo import load_demo_data
from sandbox.minio_sim.entities import NODE_HUNG, NODE_ONLINE, NODE_STOPPED, ReplicationRule, UnknownTargetError
from sandbox.minio_sim.jwt_hs512 import make_prometheus_token
from sandbox.minio_sim.model import (
    DEFAULT_ACCESS_KEY,
    DEFAULT_PEER_TIMEOUT_S,
    DEFAULT_SECRET_KEY,
    DEFAULT_VERSION,
    ClusterModel,
)
from sandbox.minio_sim.routes import node_handler
from sandbox.minio_sim.s3 import anonymous_read_policy
from sandbox.minio_sim.scanner import Scanner
from sandbox.minio_sim.server import HttpListener

UsageValue = tuple[int, int] | Mapping[str, int]


class SimCluster:
    """A multi-node MinIO deployment simulated at the HTTP level.

    Nodes are numbered from 1 across all pools (pool 0 first). Fault methods
    change the shared model immediately; every node's answers reflect them.
    """

    def __init__(
        self,
        pools: list[tuple[int, int]] | None = None,
        *,
        access_key: str = DEFAULT_ACCESS_KEY,
        secret_key: str = DEFAULT_SECRET_KEY,
        region: str = "",
        version: str = DEFAULT_VERSION,
        drive_size: int = 1 << 40,
        scanner_interval: float = 10.0,
        prometheus_auth: str = "jwt",
        storage_class_parity: int | None = None,
        base_port: int | None = None,
        control_port: int | None = None,
        host: str = "127.0.0.1",
        decommission_seconds: float = 10.0,
        peer_timeout_s: float = DEFAULT_PEER_TIMEOUT_S,
        startup_seconds: float = 0.0,
    ) -> None:
        """``region=""`` is a server with no region configured (MinIO's default): it accepts
        requests signed for any region, the empty one included. A configured region refuses
        the others. ``peer_timeout_s`` is how long `admin info` waits for a hung peer (10 s,
        as the real server); ``startup_seconds`` is each (re)started node's start-up phase."""
        self.model = ClusterModel(
            pools or [(4, 2)],
            access_key=access_key,
            secret_key=secret_key,
            region=region,
            version=version,
            drive_size=drive_size,
            storage_class_parity=storage_class_parity,
            prometheus_auth=prometheus_auth,
            host=host,
            decommission_seconds=decommission_seconds,
            peer_timeout_s=peer_timeout_s,
            startup_seconds=startup_seconds,
        )
        self.scanner = Scanner(self.model, scanner_interval)
        self.host = host
        self._listeners: dict[int, HttpListener] = {}
        for number in sorted(self.model.nodes):
            ctx = NodeContext(self.model, self.scanner, number, self._restart_async, self._stop_async)
            port = base_port + number - 1 if base_port else 0
            self._listeners[number] = HttpListener(node_handler(ctx), host, port)
        self._control = HttpListener(control_handler(self), host, control_port or 0)
        self._demo_loaded = False
        self._started = False

    # ------------------------------------------------------------- lifecycle
    def start(self) -> SimCluster:
        """Bind every node port and the control port, start the scanner; returns self."""
        for number, listener in self._listeners.items():
            self.model.nodes[number].port = listener.start()
            if self.model.startup_seconds > 0:
                self.model.begin_startup(number)
        self._control.start()
        self.scanner.start()
        self._started = True
        return self

    def stop(self) -> None:
        """Stop everything (ports closed, parked requests released)."""
        self._started = False
        self.scanner.stop()
        with self.model.lock:
            for node in self.model.nodes.values():
                node.state = NODE_STOPPED
            self.model.touch()
        for listener in self._listeners.values():
            listener.stop()
        self._control.stop()

    def __enter__(self) -> SimCluster:
        return self.start() if not self._started else self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -------------------------------------------------------------- addresses
    @property
    def endpoints(self) -> list[str]:
        """Base URLs of the nodes; index 0 is node 1."""
        return [self.node_url(n) for n in sorted(self.model.nodes)]

    def node_url(self, n: int) -> str:
        """Base URL of node `n`."""
        return f"http://{self.host}:{self.model.node(n).port}"

    @property
    def control_url(self) -> str:
        """Base URL of the fault-injection port."""
        return f"http://{self.host}:{self._control.port}"

    @property
    def access_key(self) -> str:
        return self.model.access_key

    @property
    def secret_key(self) -> str:
        return self.model.secret_key

    @property
    def region(self) -> str:
        return self.model.region

    # ---------------------------------------------------------------- faults
    def stop_node(self, n: int) -> None:
        """Kill node `n`: its port refuses connections; peers report it offline."""
        self.model.set_node_state(n, NODE_STOPPED)
        self._listeners[n].stop()

    def start_node(self, n: int) -> None:
        """(Re)start node `n` on the same port, or resume it if hung."""
        node = self.model.node(n)
        if node.state == NODE_STOPPED:
            node.port = self._listeners[n].start()
        self.model.set_node_state(n, NODE_ONLINE)

    def hang_node(self, n: int) -> None:
        """Freeze node `n` (like SIGSTOP): connections are accepted, requests never answered."""
        if self.model.node(n).state == NODE_STOPPED:
            self.model.nodes[n].port = self._listeners[n].start()
        self.model.set_node_state(n, NODE_HUNG)

    def set_starting(self, n: int, seconds: float, status: str = "offline") -> None:
        """Put node `n` into its start-up phase for `seconds`: /minio/health/cluster answers 503
        with `X-Minio-Server-Status: <status>` (offline, bucket-metadata-offline, iam-offline),
        S3 and admin calls 503 XMinioServerNotInitialized, peers list it as "initializing"."""
        self.model.begin_startup(n, seconds, status)

    def drive_offline(self, n: int, d: int) -> None:
        """Pull drive `d` (1-based) of node `n`."""
        with self.model.lock:
            self.model.drive(n, d).removed = True
            self.model.touch()

    def drive_online(self, n: int, d: int) -> None:
        """Plug the same drive back in (no healing needed)."""
        with self.model.lock:
            drive = self.model.drive(n, d)
            drive.removed = False
            self.model.touch()

    def drive_replace(self, n: int, d: int, heal_seconds: float = 30.0, format_seconds: float = 0.5) -> None:
        """Swap in an empty drive: "unformatted" for `format_seconds`, then healing for `heal_seconds`."""
        self.model.replace_drive(n, d, heal_seconds=heal_seconds, format_seconds=format_seconds)

    def set_latency(self, ms: float) -> None:
        """Add `ms` milliseconds to every request on every node."""
        with self.model.lock:
            self.model.latency_ms = max(0.0, float(ms))

    def disk_full(self, n: int, full: bool = True) -> None:
        """Make every drive of node `n` report availspace 0 (or undo it)."""
        with self.model.lock:
            self.model.node(n).disk_full = full
            self.model.touch()

    def set_version(self, n: int, v: str) -> None:
        """Give node `n` its own release tag (version skew during an upgrade)."""
        with self.model.lock:
            self.model.node(n).version = v
            self.model.touch()

    def set_usage(self, usage: Mapping[str, UsageValue], *, replace: bool = False) -> None:
        """Synthetic usage per bucket: {"bucket": (size_bytes, objects)} (or {"size":..,"objects":..}).

        Buckets are created as needed; nothing is materialised, so 10,000
        buckets or petabytes cost only a dict entry each.
        """
        normalised = {
            name: (int(v["size"]), int(v.get("objects", 0))) if isinstance(v, Mapping) else (int(v[0]), int(v[1]))
            for name, v in usage.items()
        }
        self.model.set_synthetic_usage(normalised, replace=replace)

    def set_bucket_public(self, bucket: str, public: bool = True) -> None:
        """Attach (or remove) an anonymous-read bucket policy, as `mc anonymous set download` would."""
        with self.model.lock:
            if bucket not in self.model.buckets:
                raise UnknownTargetError(f"no bucket {bucket!r}")
            self.model.buckets[bucket].policy = anonymous_read_policy(bucket) if public else None
            self.model.touch()

    def set_bucket_replication(self, bucket: str, rules: list[ReplicationRule]) -> None:
        """Replace a bucket's replication rules (an empty list removes replication), as `mc replicate add/rm` would."""
        with self.model.lock:
            if bucket not in self.model.buckets:
                raise UnknownTargetError(f"no bucket {bucket!r}")
            self.model.buckets[bucket].replication = list(rules)
            self.model.touch()

    def set_replication_backlog(self, bucket: str, **figures: float) -> None:
        """What the bucket's replication metrics report: ``queued_count``/``queued_bytes`` (waiting now),
        ``queued_avg_count`` (the queue's running average), ``failed_hour_count``/``failed_hour_bytes`` and
        ``failed_count``/``failed_bytes`` (since start); and what the admin remote-target listing says of its
        targets: ``target_offline`` (1: offline for ``offline_seconds``), ``latency_curr/avg/max_ms``.
        Unnamed figures are 0."""
        known = {"queued_count", "queued_bytes", "queued_avg_count", "queued_avg_bytes", "queued_peak_count",
                 "queued_peak_bytes", "failed_hour_count", "failed_hour_bytes", "failed_count", "failed_bytes",
                 "target_offline", "offline_seconds", "latency_curr_ms", "latency_avg_ms", "latency_max_ms"}
        unknown = set(figures) - known
        if unknown:
            raise ValueError(f"unknown replication figures: {sorted(unknown)}")
        with self.model.lock:
            if bucket not in self.model.buckets:
                raise UnknownTargetError(f"no bucket {bucket!r}")
            self.model.buckets[bucket].replication_stats = {k: float(v) for k, v in figures.items()}
            self.model.touch()

    def fail_decommission(self, pool: int | str) -> None:
        """Make the pool's decommission fail half-way (now, or when the next one starts)."""
        with self.model.lock:
            target = self.model.find_pool(str(pool))
            if target is None:
                raise UnknownTargetError(f"no pool {pool!r}")
            dec = self.model.decommissions.get(target.index)
            now = time.monotonic()
            if dec is not None and dec.status(now) == "running":
                dec.inject_failure(now)
            else:
                self.model.pending_decommission_failures.add(target.index)
            self.model.touch()

    def add_lock(self, resource: str, age_seconds: float = 60.0, lock_type: str = "WRITE") -> None:
        """Register a namespace lock held for `age_seconds` (shows in top/locks)."""
        self.model.add_lock(resource, age_seconds, lock_type)

    def speedtest_fail(self, n: int, error: str = "drive write failed") -> None:
        """Make node `n` hit a write error in every speed test (it uploads half, downloads nothing)."""
        self.model.node(n)
        with self.model.lock:
            self.model.speedtest.failing[n] = error

    def speedtest_slow(self, n: int, factor: float) -> None:
        """Make node `n` reach only `factor` (0..1] of its normal speed-test throughput."""
        self.model.node(n)
        if not 0 < factor <= 1:
            raise ValueError("factor must be in (0, 1]")
        with self.model.lock:
            self.model.speedtest.slow[n] = factor

    def speedtest_clear(self, time_scale: float | None = None) -> None:
        """Clear speed-test faults; optionally run its clock faster (``time_scale`` real s per simulated s)."""
        with self.model.lock:
            self.model.speedtest.failing.clear()
            self.model.speedtest.slow.clear()
            if time_scale is not None:
                if not 0 < time_scale <= 1:
                    raise ValueError("time_scale must be in (0, 1]")
                self.model.speedtest.time_scale = time_scale

    def speedtests_running(self) -> int:
        """How many speed tests are streaming their answer now."""
        with self.model.lock:
            return self.model.speedtest.running

    def speedtests_started(self) -> int:
        """How many speed tests began since the cluster started (or was reset)."""
        with self.model.lock:
            return self.model.speedtest.started

    def set_root_credentials(self, access_key: str, secret_key: str) -> None:
        """Rotate the root credentials, as a restart with a new MINIO_ROOT_USER/PASSWORD does: old keys are refused."""
        with self.model.lock:
            self.model.access_key, self.model.secret_key = access_key, secret_key
            self.model.iam.root_access_key = access_key

    def set_account_policy(self, policy: dict[str, object] | None) -> None:
        """Make accountinfo report ``policy`` as the signing account's effective policy (None: root's).

        The simulator signs only the root user, so this stands in for "the bot runs as its own
        user with this policy"; the policy is reported, not enforced (DIFFERENCES.md).
        """
        with self.model.lock:
            self.model.account_policy = policy

    def prometheus_token(self, expiry_seconds: float = 3600.0) -> str:
        """A bearer token for the metrics endpoints (`mc admin prometheus generate`)."""
        return make_prometheus_token(self.model.access_key, self.model.secret_key, expiry_seconds=expiry_seconds)

    def run_scanner(self) -> dict[str, object]:
        """Force a scanner cycle now; returns its summary."""
        with self.model.lock:
            self.model.settle_decommissions()
        snap = self.scanner.run_cycle()
        return {
            "last_update": snap.last_update,
            "cycle": snap.cycle,
            "buckets": len(snap.buckets),
            "objects": snap.objects,
            "size": snap.size,
        }

    def load_demo_data(self) -> None:
        """Load a handful of realistic buckets (see sandbox.minio_sim.demo)."""
        load_demo_data(self)
        self._demo_loaded = True

    def reset(self) -> None:
        """Back to the freshly started state: all faults cleared, data cleared (demo data reloaded)."""
        for number, node in self.model.nodes.items():
            if node.state != NODE_ONLINE:
                self.start_node(number)
        self.model.reset_state()
        self.scanner.reset()
        if self._demo_loaded:
            self.load_demo_data()

    # ------------------------------------------------------- service actions
    def _restart_async(self, numbers: list[int]) -> None:
        def bounce() -> None:
            time.sleep(0.05)  # let the admin response reach the caller first
            for n in numbers:
                # Skip if the whole cluster was stopped meanwhile: never re-open its ports.
                if self._started and self.model.node(n).state == NODE_ONLINE:
                    self.stop_node(n)
                    self.start_node(n)

        threading.Thread(target=bounce, daemon=True, name="minio-sim-restart").start()

    def _stop_async(self, numbers: list[int]) -> None:
        def halt() -> None:
            time.sleep(0.05)
            for n in numbers:
                if self._started:
                    self.stop_node(n)

        threading.Thread(target=halt, daemon=True, name="minio-sim-stop").start()

    # ------------------------------------------------------------------ state
    def state(self) -> dict[str, object]:
        """A JSON-able summary of nodes, drives, faults, health and scanner."""
        model = self.model
        now = time.monotonic()
        with model.lock:
            views = {(v.drive.node, v.drive.slot): v for v in model.drive_views()}
            nodes = [
                {
                    "node": n.number,
                    "pool": n.pool_index,
                    "url": self.node_url(n.number),
                    "state": n.state,
                    "version": n.version,
                    "started_at": n.started_at,
                    "disk_full": n.disk_full,
                    "starting": model.starting_status(n.number),
                    "rejections": dict(model.rejections.get(n.number, {})),
                    "drives": [
                        {
                            "drive": d.slot,
                            "state": views[(d.node, d.slot)].state,
                            "healing": views[(d.node, d.slot)].healing,
                            "uuid": d.uuid,
                            "set_index": d.set_index,
                            "disk_index": d.disk_index,
                        }
                        for d in sorted(model.drives, key=lambda d: d.slot)
                        if d.node == n.number
                    ],
                }
                for n in sorted(model.nodes.values(), key=lambda n: n.number)
            ]
            write = model.cluster_health(for_read=False)
            read = model.cluster_health(for_read=True)
            decommissions = {
                str(i): {"status": dec.status(now), "progress": round(dec.progress(now), 4)}
                for i, dec in model.decommissions.items()
            }
            pools = [
                {
                    "index": p.index,
                    "nodes": p.nodes,
                    "set_size": p.set_size,
                    "sets": len(p.sets),
                    "parity": p.parity,
                    "cmdline": model.pool_cmdline(p),
                }
                for p in model.pools
            ]
            buckets = len(model.buckets)
            latency = model.latency_ms
        snap = self.scanner.snapshot
        return {
            "endpoints": self.endpoints,
            "control_url": self.control_url,
            "deployment_id": model.deployment_id,
            "pools": pools,
            "nodes": nodes,
            "latency_ms": latency,
            "health": {
                "cluster": write.healthy,
                "cluster_read": read.healthy,
                "write_quorum": write.write_quorum,
                "read_quorum": write.read_quorum,
                "healing_drives": write.healing_drives,
            },
            "buckets": buckets,
            "scanner": {"last_update": snap.last_update, "cycle": snap.cycle},
            "decommissions": decommissions,
            "decommission_failure_point": FAILURE_POINT,
        }
