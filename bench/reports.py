"""Scheduled reports through a Slack outage: Slack answers 500 for two minutes at report time.

The bot's own parts run in this process on the real clock: the scheduler
(APScheduler, its retries included), the daily-report capability as the
application loads it, the store (SQLite in a temporary directory) and the Slack
transport, talking over HTTP to the Slack simulator. One tenant is configured
at a closed port, so the report is real but short (its line says MinIO could
not be reached). The channel's report is due at the minute the bench starts;
the simulator answers every Web API call with 500 from then on for
``--outage`` seconds (default 120: "Slack answering 500 for two minutes").

Figures:

* ``report_delivered_after_outage``: reports in the channel carrying the
  slot's key once the slot is settled (target 1);
* ``duplicates``: report messages beyond the first (target 0);
* ``attempts``: attempts the store counted, and ``delivered_s_after_outage``:
  from the end of the outage to the post (bounded by the retry backoff).

    python bench/reports.py [--outage 120] [--retry-seconds 10] [--json]
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CHANNEL = "C0OPS"


def run(outage_s: float, retry_s: float, workdir: Path) -> dict[str, Any]:
    """One outage at report time; returns the figures."""
    from bot.composition import load_application
    from bot.config import parse_config
    from bot.runtime import Runtime
    from bot.scheduler import Scheduler, report_job_id
    from bot.slack.delivery import Delivery, SlackOutbox, make_web_client
    from bot.slot_delivery import idempotency_key
    from sandbox.slack_sim import SlackSim

    sim = SlackSim().start()
    sim.seed_demo()
    scheduler: Scheduler | None = None
    try:
        now = datetime.now(UTC)
        config = parse_config(yaml.safe_dump({
            "store_url": f"sqlite:///{workdir / 'state.db'}",
            "slack": {"api_url": sim.api_url},
            "channels": [{"id": CHANNEL, "report": {"cron": f"{now.minute} {now.hour} * * *", "timezone": "UTC"}}],
            "tenants": [{
                "name": "demo", "endpoints": ["http://127.0.0.1:9"], "channels": [CHANNEL],
                "credentials": {"access_key_env": "BENCH_AK", "secret_key_env": "BENCH_SK"},
            }],
            "scheduler": {"report_retry_seconds": retry_s, "report_retry_max_seconds": max(retry_s, 60),
                          "snapshot_minutes": 24 * 60, "alert_check_minutes": 24 * 60},
        }))
        runtime = Runtime(config, environ={"BENCH_AK": "bench", "BENCH_SK": "bench-secret"})
        runtime.store.ping()
        outbox = SlackOutbox(Delivery(make_web_client(sim.bot_token, sim.api_url, runtime.metrics), runtime.metrics))
        slot = now.replace(second=0, microsecond=0)
        sim.inject("*", status=500, for_seconds=outage_s)
        outage_end = time.time() + outage_s
        scheduler = Scheduler(runtime, outbox, app=load_application(), identity="bench")
        scheduler.start()  # the start-up run finds this minute's slot due at once
        job = report_job_id(CHANNEL)
        deadline = time.monotonic() + outage_s + 600
        while time.monotonic() < deadline:
            delivery = runtime.store.deliveries.get(job, slot)
            if delivery is not None and delivery.finished:
                break
            time.sleep(0.5)
        time.sleep(2)  # anything that would still post a duplicate has its chance
        delivery = runtime.store.deliveries.get(job, slot)
        key = idempotency_key(CHANNEL, slot)
        heads = [m for m in sim.messages(CHANNEL, include_replies=False) if "Daily MinIO report" in m.text]
        keyed = [m for m in heads if (m.metadata or {}).get("event_payload", {}).get("key") == key]
        refused = [c for c in sim.calls() if c.http_status == 500]
        return {
            "report_delivered_after_outage": len(keyed),
            "duplicates": max(0, len(heads) - 1),
            "attempts": delivery.attempts if delivery else 0,
            "status": str(delivery.status) if delivery else "unclaimed",
            "delivered_s_after_outage": round(float(keyed[0].ts) - outage_end, 1) if keyed else None,
            "refused_calls": len(refused),
            "outage_s": outage_s,
        }
    finally:
        if scheduler is not None:
            scheduler.stop()
        sim.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--outage", type=float, default=120.0, help="seconds Slack answers 500 (default 120)")
    parser.add_argument("--retry-seconds", type=float, default=10.0,
                        help="scheduler.report_retry_seconds for the run (first retry; doubles)")
    parser.add_argument("--json", action="store_true", help="print only the JSON figures")
    args = parser.parse_args()
    # The retries log a warning each; the figures are what this prints.
    logging.basicConfig(level=logging.ERROR, stream=io.StringIO())
    with tempfile.TemporaryDirectory(prefix="bench-reports-") as tmp:
        began = time.monotonic()
        figures = run(args.outage, args.retry_seconds, Path(tmp))
        took = time.monotonic() - began
    if args.json:
        print(json.dumps(figures))
        return 0
    print(f"daily report at its slot while Slack answers 500 to every call for {args.outage:g} s; scheduler, "
          f"report job, SQLite store and Slack transport in-process, Slack simulator over HTTP; "
          f"{os.cpu_count()} CPU(s); {took:.0f} s in all")
    print(f"{figures['refused_calls']} calls refused during the outage; slot {figures['status']} after "
          f"{figures['attempts']} attempt(s) (first retry after {args.retry_seconds:g} s, doubling), "
          f"posted {figures['delivered_s_after_outage']} s after Slack came back")
    print(f"report_delivered_after_outage {figures['report_delivered_after_outage']} (target 1), "
          f"duplicates {figures['duplicates']} (target 0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
