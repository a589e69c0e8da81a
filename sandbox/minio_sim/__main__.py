"""CLI: `python -m sandbox.minio_sim --nodes 4 --drives-per-node 2 ...`.

Prints one JSON line {"endpoints": [...], "control_url": ..., "pid": ...} and
serves until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import threading
from types import FrameType

from sandbox.minio_sim.cluster import SimCluster
from sandbox.minio_sim.model import DEFAULT_VERSION, parse_pool_shape

_UNITS = {
    "": 1,
    "k": 10**3,
    "m": 10**6,
    "g": 10**9,
    "t": 10**12,
    "p": 10**15,
    "ki": 1 << 10,
    "mi": 1 << 20,
    "gi": 1 << 30,
    "ti": 1 << 40,
    "pi": 1 << 50,
}


def parse_size(text: str) -> int:
    """Parse "1Ti", "500Gi", "2T" or plain bytes."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgtp]i?)?b?\s*", text.lower())
    if match is None:
        raise argparse.ArgumentTypeError(f"not a size: {text!r}")
    return int(float(match[1]) * _UNITS[match[2] or ""])


def parse_parity(text: str) -> int:
    """Parse "EC:4" or "4"."""
    return int(text.upper().removeprefix("EC:"))


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    p = argparse.ArgumentParser(
        prog="python -m sandbox.minio_sim", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--nodes", type=int, default=4)
    p.add_argument("--drives-per-node", type=int, default=2)
    p.add_argument(
        "--pool",
        action="append",
        default=[],
        metavar="NxD",
        help="a pool of N nodes x D drives; repeat for several pools (overrides --nodes/--drives-per-node)",
    )
    p.add_argument("--base-port", type=int, default=0, help="node n listens on base+n-1 (0 = free ports)")
    p.add_argument("--control-port", type=int, default=0)
    p.add_argument("--access-key", default="simadmin")
    p.add_argument("--secret-key", default="simsecret-please-change")
    p.add_argument("--region", default="", help="configured region; empty (the default) accepts any signed region")
    p.add_argument("--scanner-interval", type=float, default=10.0)
    p.add_argument("--prometheus-auth", choices=["jwt", "public"], default="jwt")
    p.add_argument("--version", default=DEFAULT_VERSION, help="MinIO release tag reported by every node")
    p.add_argument("--drive-size", type=parse_size, default=1 << 40)
    p.add_argument("--storage-class-standard", type=parse_parity, default=None, metavar="EC:N")
    p.add_argument("--decommission-seconds", type=float, default=10.0)
    p.add_argument(
        "--peer-timeout", type=float, default=10.0, help="how long `admin info` waits for a hung peer (real: 10 s)"
    )
    p.add_argument("--startup-seconds", type=float, default=0.0, help="start-up phase of every (re)started node")
    p.add_argument("--demo-data", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the simulator until a signal arrives."""
    args = build_parser().parse_args(argv)
    pools = [parse_pool_shape(p) for p in args.pool] or [(args.nodes, args.drives_per_node)]
    cluster = SimCluster(
        pools,
        access_key=args.access_key,
        secret_key=args.secret_key,
        region=args.region,
        version=args.version,
        drive_size=args.drive_size,
        scanner_interval=args.scanner_interval,
        prometheus_auth=args.prometheus_auth,
        storage_class_parity=args.storage_class_standard,
        base_port=args.base_port or None,
        control_port=args.control_port or None,
        decommission_seconds=args.decommission_seconds,
        peer_timeout_s=args.peer_timeout,
        startup_seconds=args.startup_seconds,
    ).start()
    if args.demo_data:
        cluster.load_demo_data()
    done = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    sys.stdout.write(
        json.dumps({"endpoints": cluster.endpoints, "control_url": cluster.control_url, "pid": os.getpid()}) + "\n"
    )
    sys.stdout.flush()
    while not done.wait(3600):
        pass
    cluster.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
