"""Scale: 10,000 synthetic buckets stay cheap for info and datausageinfo (capacity reports poll them)."""

from __future__ import annotations

import json
import time

from sandbox.minio_sim import SimCluster
from tests.fixtures.minio import ClusterFactory, admin_client

BUCKETS = 10_000
SAMPLES = 40
P99_BUDGET_SECONDS = 0.3


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def test_ten_thousand_buckets_datausageinfo_and_info_stay_fast(minio_cluster: SimCluster) -> None:
    usage = {f"tenant-{i:05d}": (i * 1_000_003, i * 7) for i in range(BUCKETS)}
    minio_cluster.set_usage(usage)
    minio_cluster.run_scanner()
    admin = admin_client(minio_cluster)

    doc = json.loads(admin.get_data_usage_info())
    assert doc["bucketsCount"] == BUCKETS == len(doc["bucketsUsageInfo"])
    assert doc["objectsTotalSize"] == sum(size for size, _ in usage.values())
    assert doc["objectsCount"] == sum(objects for _, objects in usage.values())
    assert doc["bucketsUsageInfo"]["tenant-09999"]["size"] == 9999 * 1_000_003

    timings: dict[str, list[float]] = {"info": [], "datausageinfo": []}
    for _ in range(SAMPLES):
        for name, call in (("info", admin.info), ("datausageinfo", admin.get_data_usage_info)):
            started = time.perf_counter()
            call()
            timings[name].append(time.perf_counter() - started)
    worst = {name: p99(values) for name, values in timings.items()}
    print(f"p99 with {BUCKETS} buckets: " + ", ".join(f"{k}={v * 1000:.1f} ms" for k, v in worst.items()))
    assert all(value < P99_BUDGET_SECONDS for value in worst.values()), worst


def test_synthetic_usage_fills_drives_without_storing_objects(minio_cluster_factory: ClusterFactory) -> None:
    cluster = minio_cluster_factory(drive_size=1 << 40)
    cluster.set_usage({"archive": (2 << 40, 10**9)})  # 2 TiB logical over 4 data drives -> 512 GiB each
    info = json.loads(admin_client(cluster).info())
    used = [d["usedspace"] for s in info["servers"] for d in s["drives"]]
    assert all(512 << 30 <= u < (512 << 30) + (1 << 30) for u in used)
    assert info["pools"]["0"]["0"]["usage"] == 2 << 40
