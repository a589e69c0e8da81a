"""Data recovery benchmarks: versions of one key among many objects, data protection status of 1,000 buckets.

Figures (targets in brackets):
- versions_one_key_s: median wall time of `/minio data <t> versions <bucket>/<key>` (the client's one
  page plus the report) for one key with 5 versions in a bucket holding ``--objects`` other objects
  [< 1 s];
- versions_growth_ratio: that time with ``--objects`` objects over the time with a tenth of them
  (fastest of 30+ runs compared; a page takes milliseconds) [0.67 .. 1.5: the listing is bounded to
  the key's prefix; a listing of the bucket would make it about 10];
- prefix_restore_preview_s: median wall time of previewing `restore <bucket>/<prefix> --prefix` over 10,000
  deleted objects (20,000 versions and delete markers, read a page of 1,000 at a time) [< 5 s];
- status_1000_buckets_s: median wall time of `/minio data <t>` for a tenant with 1,000 buckets, with
  50 ms injected on every MinIO request [< 3 s]; the report inspects the largest buckets one by one
  (versioning, object lock, replication, quota, lifecycle, and replication metrics and remote targets
  where a bucket replicates: every one of them has lifecycle rules here and half of them replicate);
- status_requests / status_lifecycle_reads / status_replication_metric_reads / status_remote_target_reads:
  the MinIO requests one status report made, and how many of them were the per-bucket lifecycle,
  replication-metrics and remote-target reads;
- max_in_flight: the most requests any one MinIO node served at once during that run [<= 8].

One million objects by default, as the issue asks: the simulator keeps every object in memory, so the
run peaks at about 0.8 GB and takes about a minute on 2 cores; ``--objects`` takes fewer.

    python bench/remedies.py [--runs 5] [--objects 1000000] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.capacity import InFlight, tenant_config  # noqa: E402
from bot.render.inline import to_plain as plain  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from handlers.data.facts import status_facts, version_facts  # noqa: E402
from handlers.data.present import status_report, versions_report  # noqa: E402
from sandbox.minio_sim import SimCluster  # noqa: E402

KEYS = ("versions_one_key_s", "versions_growth_ratio", "prefix_restore_preview_s", "status_1000_buckets_s",
        "status_requests", "status_lifecycle_reads", "status_replication_metric_reads", "status_remote_target_reads",
        "max_in_flight")
TARGETS = {
    "versions_one_key_s": "< 1",
    "versions_growth_ratio": "0.67 .. 1.5",
    "prefix_restore_preview_s": "< 5",
    "status_1000_buckets_s": "< 3",
    "status_requests": "-",
    "status_lifecycle_reads": "> 0",
    "status_replication_metric_reads": "> 0",
    "status_remote_target_reads": "> 0",
    "max_in_flight": "<= 8",
}
BUCKET = "archive"
KEY = "projects/p-042/report.pdf"
LATENCY_MS = 50


def _fill(cluster: SimCluster, objects: int) -> None:
    """``objects`` small objects around the key (same prefix family, sorted before and after it)."""
    model = cluster.model
    with model.lock:
        model.buckets[BUCKET].versioning = "Enabled"
    for i in range(objects):
        model.put_object(BUCKET, f"projects/p-{i % 100:03d}/file-{i:07d}.bin", b"x", "application/octet-stream", {})


def _versions_once(runtime: Runtime) -> float:
    tenant = runtime.config.tenants[0]
    began = time.perf_counter()
    facts = version_facts(runtime, tenant, BUCKET, KEY, "", "", 25)
    report = versions_report(tenant.name, BUCKET, KEY, facts)
    elapsed = time.perf_counter() - began
    assert len(facts.page.versions) == 5 and KEY in plain(report.summary), plain(report.summary)
    return elapsed


def versions(runs: int, objects: int) -> dict[str, float]:
    """Time the listing of one key with ``objects // 10`` and with ``objects`` other objects in the bucket."""
    fastest: dict[int, float] = {}
    medians: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-remedies-") as tmp:
        for count in (objects // 10, objects):
            cluster = SimCluster(pools=[(4, 2)], scanner_interval=3600).start()
            try:
                cluster.model.create_bucket(BUCKET)
                _fill(cluster, count)
                for i in range(5):
                    cluster.model.put_object(BUCKET, KEY, f"v{i}".encode(), "application/pdf", {})
                config = tenant_config("t", cluster.endpoints, f"sqlite:///{tmp}/store-{count}.db")
                runtime = Runtime(config, environ={"BENCH_AK": cluster.access_key, "BENCH_SK": cluster.secret_key})
                _versions_once(runtime)  # warm the connection pool and the simulator's key index
                # A page takes milliseconds: many samples, so the fastest is not one lucky run.
                samples = [_versions_once(runtime) for _ in range(max(30, runs * 6))]
                runtime.close()
            finally:
                cluster.stop()
            fastest[count], medians[count] = min(samples), statistics.median(samples)
    return {"versions_one_key_s": medians[objects],
            "versions_growth_ratio": fastest[objects] / fastest[objects // 10]}


def prefix_preview(runs: int, objects: int = 10_000) -> dict[str, float]:
    """Preview a prefix restore of ``objects`` deleted objects (the tenant's limit raised to fit)."""
    from handlers.data.prefix_restore import plan_prefix_restore

    with tempfile.TemporaryDirectory(prefix="bench-remedies-prefix-") as tmp:
        cluster = SimCluster(pools=[(4, 2)], scanner_interval=3600).start()
        try:
            model = cluster.model
            model.create_bucket(BUCKET)
            with model.lock:
                model.buckets[BUCKET].versioning = "Enabled"
            for i in range(objects):
                model.put_object(BUCKET, f"lost/{i:06d}.bin", b"data", "application/octet-stream", {})
                model.delete_object(BUCKET, f"lost/{i:06d}.bin")
            config = tenant_config("t", cluster.endpoints, f"sqlite:///{tmp}/store.db")
            tenant = config.tenants[0].model_copy(update={"restore_prefix_limit": objects})
            runtime = Runtime(config, environ={"BENCH_AK": cluster.access_key, "BENCH_SK": cluster.secret_key})
            times = []
            for _ in range(runs):
                began = time.perf_counter()
                plan = plan_prefix_restore(runtime, tenant, BUCKET, "lost/", None, "U0BENCH")
                times.append(time.perf_counter() - began)
                assert len(plan.params["steps"]) == objects
            runtime.close()
        finally:
            cluster.stop()
    return {"prefix_restore_preview_s": statistics.median(times)}


class Requests:
    """Counts the requests the simulated nodes serve, and those that ask a given bucket sub-resource."""

    def __init__(self, cluster: SimCluster, *subresources: str) -> None:
        self._lock = threading.Lock()
        self.total = 0
        self.by: dict[str, int] = dict.fromkeys(subresources, 0)
        for listener in cluster._listeners.values():
            listener.handler = self._wrap(listener.handler)

    def _wrap(self, inner: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def handle(request: Any) -> Any:
            with self._lock:
                self.total += 1
                for name in self.by:
                    self.by[name] += name in request.query or request.path.endswith("/" + name)
            return inner(request)

        return handle

    def reset(self) -> None:
        with self._lock:
            self.total = 0
            self.by = dict.fromkeys(self.by, 0)


def _protect(cluster: SimCluster, names: list[str]) -> None:
    """Lifecycle rules on every named bucket; replication (with a small backlog) on every other one."""
    from sandbox.minio_sim.bucket_config import parse_lifecycle
    from sandbox.minio_sim.entities import ReplicationRule

    rules = parse_lifecycle(b"<LifecycleConfiguration><Rule><ID>tmp</ID><Status>Enabled</Status><Filter><Prefix>tmp/"
                            b"</Prefix></Filter><Expiration><Days>30</Days></Expiration></Rule></LifecycleConfiguration>")
    with cluster.model.lock:
        for name in names:
            cluster.model.buckets[name].lifecycle = rules
    for name in names[::2]:
        cluster.set_bucket_replication(name, [ReplicationRule("dr", f"dr-{name}")])
        cluster.set_replication_backlog(name, queued_count=3, queued_avg_count=5)


def status(runs: int) -> dict[str, float]:
    """`/minio data` for 1,000 buckets at 50 ms per MinIO request."""
    from handlers.data.facts import TOP_BUCKETS

    with tempfile.TemporaryDirectory(prefix="bench-remedies-status-") as tmp:
        cluster = SimCluster(pools=[(4, 2)], scanner_interval=3600).start()
        try:
            counter = InFlight(cluster)
            requests = Requests(cluster, "lifecycle", "replication-metrics", "list-remote-targets")
            cluster.set_usage({f"bucket-{i:04d}": ((i + 1) << 20, i + 1) for i in range(1000)})
            cluster.run_scanner()
            _protect(cluster, [f"bucket-{i:04d}" for i in range(999, 999 - TOP_BUCKETS, -1)])
            config = tenant_config("t", cluster.endpoints, f"sqlite:///{tmp}/store.db")
            runtime = Runtime(config, environ={"BENCH_AK": cluster.access_key, "BENCH_SK": cluster.secret_key})
            tenant = config.tenants[0]
            cluster.set_latency(LATENCY_MS)
            times = []
            for _ in range(runs):
                counter.reset()
                requests.reset()
                began = time.perf_counter()
                report = status_report(tenant.name, status_facts(runtime, tenant, None))
                times.append(time.perf_counter() - began)
                text = " ".join(plain(r.text) for r in report.sections[0].rows)
                assert "could not read" not in text, text[:300]
                assert text.count("lifecycle 1 rule(s) on") == TOP_BUCKETS and "waiting" in text, text[:300]
            peak = counter.max
            runtime.close()
        finally:
            cluster.stop()
    return {"status_1000_buckets_s": statistics.median(times), "max_in_flight": peak,
            "status_requests": requests.total, "status_lifecycle_reads": requests.by["lifecycle"],
            "status_replication_metric_reads": requests.by["replication-metrics"],
            "status_remote_target_reads": requests.by["list-remote-targets"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--objects", type=int, default=1_000_000)
    parser.add_argument("--json", action="store_true", help="print only the figures as one JSON object")
    parser.add_argument("--only-status", action="store_true", help="run only the data-status case")
    args = parser.parse_args()
    figures: dict[str, float] = {}
    if not args.only_status:
        figures.update(versions(args.runs, args.objects))
        figures.update(prefix_preview(args.runs))
    figures.update(status(args.runs))
    shown = [key for key in KEYS if key in figures]
    if args.json:
        print(json.dumps({"objects": args.objects, **{key: round(figures[key], 3) for key in shown}}))
        return
    if not args.only_status:
        print(f"{'objects in the bucket':>32}: {args.objects:10,d}")
    for key in shown:
        print(f"{key:>32}: {figures[key]:10.3f}   (target {TARGETS[key]})")


if __name__ == "__main__":
    main()
