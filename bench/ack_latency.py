"""Ack latency under load: 500 signed slash commands, 50 in flight, while every handler takes ~2 s.

The bot runs as a real `minio-chatops run` process in HTTP mode against the
Slack simulator; its one tenant is the MinIO simulator with 2,000 ms of latency
injected on every request, so each `/minio tenants` keeps a worker busy for
about 2 s. Slack's limit for an ack is 3,000 ms; the target is p99 < 100 ms
and nothing lost. Also reports the bot's idle and loaded resident memory.

    python bench/ack_latency.py [--commands 500] [--concurrency 50] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sandbox.minio_sim import SimCluster  # noqa: E402
from sandbox.slack_sim import SlackSim  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def run(commands: int, concurrency: int, handler_ms: int) -> dict[str, float | int]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-ack-"))
    slack = SlackSim().start()
    channel = slack.seed_demo()["ops"]
    minio = SimCluster(pools=[(4, 2)], access_key="bench-admin", secret_key="bench-secret-key-1234").start()
    (workdir / "ak").write_text(minio.access_key)
    (workdir / "sk").write_text(minio.secret_key)
    port = free_port()
    config = {
        "admins": ["U0ALICE"],
        "slack": {"api_url": slack.api_url, "mode": "http", "http_host": "127.0.0.1", "http_port": port},
        "metrics_port": free_port(),
        "store_url": f"sqlite:///{workdir / 'state.db'}",
        "timeouts": {"connect": 5, "read": 10, "probe": 10, "report_deadline": 15},
        "scheduler": {"enabled": False},  # measure the command path alone
        "channels": [{"id": channel}],
        "tenants": [
            {
                "name": "bench",
                "endpoints": minio.endpoints,
                "credentials": {"access_key_file": str(workdir / "ak"), "secret_key_file": str(workdir / "sk")},
                "channels": [channel],
            }
        ],
    }
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": slack.signing_secret,
        "LOG_LEVEL": "ERROR",
    }
    bot = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--config", str(workdir / "config.yaml")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or bot.poll() is not None:
                    raise RuntimeError("the bot did not start") from None
                time.sleep(0.1)
        time.sleep(1.0)
        idle_rss = rss_mb(bot.pid)
        minio.set_latency(handler_ms)
        driver = slack.driver(events_url=f"http://127.0.0.1:{port}/slack/events")

        def one(_i: int) -> tuple[bool, float]:
            result = driver.slash("U0ALICE", channel, "/minio tenants", timeout=5.0)
            return result.ok, result.ack_s

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            results = list(pool.map(one, range(commands)))
        wall = time.monotonic() - started
        loaded_rss = rss_mb(bot.pid)
        acks = [seconds * 1000 for ok, seconds in results if ok]
        return {
            "commands": commands,
            "concurrency": concurrency,
            "handler_ms": handler_ms,
            "p50_ms": round(statistics.median(acks), 1) if acks else float("nan"),
            "p99_ms": round(percentile(acks, 99), 1) if acks else float("nan"),
            "max_ms": round(max(acks), 1) if acks else float("nan"),
            "lost": sum(1 for ok, _s in results if not ok),
            "idle_rss_mb": round(idle_rss, 1),
            "loaded_rss_mb": round(loaded_rss, 1),
            "send_wall_s": round(wall, 2),
        }
    finally:
        bot.terminate()
        try:
            bot.wait(timeout=10)
        except subprocess.TimeoutExpired:
            bot.kill()
        minio.stop()
        slack.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--handler-ms", type=int, default=2000)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    figures = run(args.commands, args.concurrency, args.handler_ms)
    if args.json:
        print(json.dumps(figures))
    else:
        print(f"{figures['commands']} slash commands, {figures['concurrency']} in flight, "
              f"handlers ~{figures['handler_ms']} ms each")
        print(f"  ack p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms, max {figures['max_ms']} ms "
              f"(target p99 < 100 ms; Slack's limit 3000 ms)")
        print(f"  lost: {figures['lost']} (target 0)")
        print(f"  bot RSS idle {figures['idle_rss_mb']} MB (target < 150), under load {figures['loaded_rss_mb']} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
