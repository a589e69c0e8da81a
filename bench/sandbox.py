"""Sandbox and client figures: sandbox start time, admin call latency at 10,000 buckets, client fan-out.

- ready_s: time for `Sandbox().start()` (MinIO simulator, and the Kubernetes
  control plane with its demo Tenant world when the binaries are cached) until
  the bot's config is written. Target < 30 s.
- info_p99_ms / datausage_p99_ms: the bot's MinioClient calling `info` and
  `datausageinfo` on a simulator holding 10,000 buckets. Target p99 < 300 ms.
- fanout_ms: 20 parallel admin `info` calls through `fan_out` with 50 ms
  injected latency. Target < 200 ms.

    python bench/sandbox.py [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pydantic import SecretStr  # noqa: E402

from bot.clients.fanout import fan_out  # noqa: E402
from bot.clients.minio import MinioClient  # noqa: E402
from sandbox.launcher import Sandbox, kube_binaries_available  # noqa: E402
from sandbox.minio_sim import SimCluster  # noqa: E402


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def timed(call: object, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()  # type: ignore[operator]
        out.append((time.perf_counter() - started) * 1000)
    return out


def measure() -> dict[str, float | bool]:
    started = time.perf_counter()
    sandbox = Sandbox().start()
    ready_s = time.perf_counter() - started
    with_kube = sandbox.kube is not None
    sandbox.stop()

    cluster = SimCluster(pools=[(4, 2)], access_key="bench-admin", secret_key="bench-secret-key-1234").start()
    try:
        cluster.set_usage({f"bucket-{i:05d}": (1_000_000 + i * 7919, 100 + i) for i in range(10_000)})
        cluster.run_scanner()
        client = MinioClient(cluster.endpoints, cluster.access_key, SecretStr(cluster.secret_key))
        client.server_info()
        info = timed(client.server_info, 100)
        usage = timed(client.data_usage, 100)
        cluster.set_latency(50)
        fanouts = []
        for _ in range(5):
            begin = time.perf_counter()
            results = fan_out(
                {str(i): (lambda n=i % 4 + 1: client.server_info(node=n)) for i in range(20)}, deadline_s=5
            )
            fanouts.append((time.perf_counter() - begin) * 1000)
            assert all(not isinstance(r, Exception) for r in results.values())
    finally:
        cluster.stop()
    return {
        "ready_s": round(ready_s, 2),
        "ready_with_kube": with_kube,
        "info_p99_ms": round(p99(info), 1),
        "datausage_p99_ms": round(p99(usage), 1),
        "fanout_ms": round(sorted(fanouts)[len(fanouts) // 2], 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures = measure()
    if args.json:
        print(json.dumps(figures))
        return 0
    kube = "with" if figures["ready_with_kube"] else "WITHOUT (binaries not built)"
    print(f"sandbox ready in {figures['ready_s']} s {kube} the Kubernetes control plane (target < 30 s)")
    print(f"info p99 {figures['info_p99_ms']} ms, datausageinfo p99 {figures['datausage_p99_ms']} ms "
          f"with 10,000 buckets (target < 300 ms)")
    print(f"20 parallel admin calls at 50 ms latency: {figures['fanout_ms']} ms (median of 5; target < 200 ms)")
    if not kube_binaries_available():
        print("note: run sandbox/kube/build-testbin.sh for the full sandbox")
    return 0


if __name__ == "__main__":
    sys.exit(main())
