"""Alert-driven incidents: from an Alertmanager notification to the message in the channel.

Figures:
- notification_to_post_p99_ms: 100 alert groups arrive at the bot's
  ``/alertmanager`` within 10 s (each delivered twice, as Alertmanager's retries
  do), tenant ``demo`` is the MinIO simulator with 50 ms injected on every
  request; per group, from sending the notification to Slack (the simulator)
  receiving its message, health diagnostics included. Target < 3,000 ms with
  0 lost and 0 duplicates (a group posted more than once).
- fired_to_channel_s: end to end through real parts: node 2 of the simulator is
  stopped, Debian's Prometheus evaluates the shipped rules (``for:`` set to
  ``--for-s``, scrape and evaluation every second), Debian's Alertmanager routes
  the group to the bot (group_wait 1 s), the bot posts. Reported with the
  ``for:`` it includes, and the overhead beyond it.

    python bench/alerts.py [--groups 100] [--seconds 10] [--latency-ms 50] [--for-s 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import Secrets, parse_config  # noqa: E402
from bot.http import HttpServer  # noqa: E402
from bot.slack.app import Bot  # noqa: E402
from sandbox.alerting import SandboxAlerting  # noqa: E402
from sandbox.minio_sim import SimCluster  # noqa: E402
from sandbox.slack_sim import SlackSim  # noqa: E402
from tests.fixtures.minio import s3_client  # noqa: E402

TARGET_P99_MS = 3000.0
TOKEN = "bench-alertmanager-token"
OPS = "C0OPS"


def start_bot(slack: SlackSim, cluster: SimCluster, root: Path, am_url: str | None) -> tuple[Bot, HttpServer]:
    os.environ["ALERTMANAGER_WEBHOOK_TOKEN"] = TOKEN
    os.environ["BENCH_AK"], os.environ["BENCH_SK"] = cluster.access_key, cluster.secret_key
    config = parse_config(yaml.safe_dump({
        "admins": ["U0ALICE"],
        "slack": {"api_url": slack.api_url, "mode": "http", "workers": 16},
        "channels": [{"id": OPS, "name": "ops"}],
        "store_url": f"sqlite:///{root / 'bot.db'}",
        "scheduler": {"enabled": False},
        "alertmanager": {"url": am_url},
        "tenants": [{
            "name": "demo", "endpoints": cluster.endpoints, "channels": [OPS],
            "credentials": {"access_key_env": "BENCH_AK", "secret_key_env": "BENCH_SK"},
        }],
    }))
    bot = Bot(config, Secrets(slack_bot_token=slack.bot_token, slack_signing_secret=slack.signing_secret))
    return bot, HttpServer(bot, "127.0.0.1", 0).start()


def notification(index: int) -> bytes:
    labels = {"alertname": "MinioNodeOffline", "tenant": "demo", "severity": "critical",
              "category": "availability", "shard": f"{index:03d}"}
    alert = {"status": "firing", "labels": labels, "annotations": {"summary": f"bench group {index:03d}"},
             "startsAt": "2026-03-02T09:00:00Z", "endsAt": "0001-01-01T00:00:00Z", "fingerprint": f"fp{index:03d}"}
    return json.dumps({
        "version": "4", "groupKey": f'{{}}:{{alertname="MinioNodeOffline", shard="{index:03d}"}}',
        "status": "firing", "receiver": "minio-chatops", "groupLabels": {"alertname": "MinioNodeOffline",
                                                                         "shard": f"{index:03d}"},
        "commonLabels": labels, "commonAnnotations": {}, "externalURL": "", "alerts": [alert],
    }).encode()


def send(url: str, body: bytes) -> int:
    request = urllib.request.Request(f"{url}/alertmanager", data=body, method="POST", headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def notification_to_post(groups: int, seconds: float, latency_ms: float) -> dict[str, Any]:
    slack = SlackSim().start()
    slack.seed_demo()
    cluster = SimCluster(pools=[(4, 2)], scanner_interval=0.5).start()
    root = Path(tempfile.mkdtemp(prefix="bench-alerts-"))
    bot, server = start_bot(slack, cluster, root, None)
    url = f"http://127.0.0.1:{server.port}"
    try:
        s3_client(cluster).make_bucket("minio-chatops-probe")  # the full health check, canary included
        cluster.stop_node(2)
        cluster.set_latency(latency_ms)
        sent: dict[int, float] = {}
        statuses: list[int] = []
        lock = threading.Lock()

        def deliver(index: int) -> None:
            body = notification(index)
            with lock:
                sent[index] = time.time()
            answers = [send(url, body), send(url, body)]  # the second copy: Alertmanager retrying
            with lock:
                statuses.extend(answers)

        threads = []
        for index in range(groups):
            thread = threading.Thread(target=deliver, args=(index,))
            thread.start()
            threads.append(thread)
            time.sleep(seconds / groups)
        for thread in threads:
            thread.join()
        deadline = time.monotonic() + 60
        posts: dict[int, list[float]] = {}
        while time.monotonic() < deadline:
            posts = {}
            for call in slack.calls("chat.postMessage"):
                text = json.dumps(call.params)
                for index in range(groups):
                    if f"bench group {index:03d}" in text:
                        posts.setdefault(index, []).append(call.time + call.duration_s)
            if len(posts) >= groups:
                break
            time.sleep(0.2)
        sample = next((c for c in slack.calls("chat.postMessage") if "bench group 000" in json.dumps(c.params)), None)
        latencies = sorted((min(times) - sent[i]) * 1000 for i, times in posts.items())
        p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] if latencies else float("inf")
        return {
            "notification_to_post_p50_ms": round(latencies[len(latencies) // 2], 1) if latencies else None,
            "notification_to_post_p99_ms": round(p99, 1),
            "groups": groups, "seconds": seconds, "latency_ms": latency_ms,
            "lost": groups - len(posts),
            "duplicates": sum(len(times) - 1 for times in posts.values()),
            "answers": {str(s): statuses.count(s) for s in sorted(set(statuses))},
            "sample_message": str(sample.params.get("text", ""))[:200] if sample else None,
        }
    finally:
        server.stop()
        bot.close()
        cluster.stop()
        slack.stop()


def fired_to_channel(for_s: float, latency_ms: float) -> dict[str, Any]:
    slack = SlackSim().start()
    slack.seed_demo()
    cluster = SimCluster(pools=[(4, 2)], scanner_interval=0.5).start()
    root = Path(tempfile.mkdtemp(prefix="bench-alerts-e2e-"))
    alerting = SandboxAlerting(for_s=for_s, token=TOKEN)
    bot, server = start_bot(slack, cluster, root, alerting.url)
    try:
        alerting.start(f"http://127.0.0.1:{server.port}/alertmanager", cluster, "demo", root)
        assert alerting.prometheus is not None
        prometheus = alerting.prometheus
        deadline = time.monotonic() + 30
        while len(prometheus.query('up{job="minio"} == 1')) < 4 and time.monotonic() < deadline:
            time.sleep(0.2)
        cluster.set_latency(latency_ms)
        stopped = time.monotonic()
        cluster.stop_node(2)
        fired_s = None
        while time.monotonic() - stopped < for_s + 60:
            if [m for m in slack.messages(OPS) if m.text.startswith("MinioNodeOffline on demo")]:
                fired_s = time.monotonic() - stopped
                break
            time.sleep(0.05)
        return {
            "fired_to_channel_s": round(fired_s, 2) if fired_s is not None else None,
            "for_s": for_s,
            "overhead_beyond_for_s": round(fired_s - for_s, 2) if fired_s is not None else None,
        }
    finally:
        alerting.stop()
        server.stop()
        bot.close()
        cluster.stop()
        slack.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=100, help="alert groups sent")
    parser.add_argument("--seconds", type=float, default=10.0, help="spread over this many seconds")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="latency on every MinIO request")
    parser.add_argument("--for-s", type=float, default=5.0, help="the rules' for: in the end-to-end run")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    figures = notification_to_post(args.groups, args.seconds, args.latency_ms)
    figures.update(fired_to_channel(args.for_s, args.latency_ms))
    figures["passed"] = bool(
        figures["notification_to_post_p99_ms"] < TARGET_P99_MS and figures["lost"] == 0
        and figures["duplicates"] == 0 and figures["fired_to_channel_s"] is not None
    )
    if args.json:
        print(json.dumps(figures))
    else:
        print(f"{args.groups} groups in {args.seconds:g} s, each sent twice, "
              f"{args.latency_ms:g} ms on every MinIO call")
        print(f"notification -> post: p50 {figures['notification_to_post_p50_ms']} ms, "
              f"p99 {figures['notification_to_post_p99_ms']} ms (target < {TARGET_P99_MS:g} ms)")
        print(f"lost {figures['lost']}, duplicates {figures['duplicates']} (target 0, 0); answers {figures['answers']}")
        print(f"fired -> channel:     {figures['fired_to_channel_s']} s end to end (for: {args.for_s:g} s, "
              f"overhead {figures['overhead_beyond_for_s']} s)")
        print("PASS" if figures["passed"] else "FAIL")
    return 0 if figures["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
