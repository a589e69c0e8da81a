"""Approval clicks: click-to-execution latency, and exactly-once execution under a click storm, on PostgreSQL.

The bot runs in its own process (this script with ``--serve``), serving signed
Slack requests over HTTP on loopback against the Slack simulator, with its
store on a throw-away PostgreSQL server started from Debian's binaries (or
``MINIO_CHATOPS_TEST_PG_URL``). Requests come in as `/minio bench-request`
slash commands; each posts an approval card for a no-op change kind whose
``execute`` only appends the request number to a file, so the figures measure
the approval path itself: ack, work queue, access checks, vote, the atomic
transitions, card update and re-check.

1. Latency (``click_to_exec_p99_ms``): 100 cards worked through by 10
   approvers clicking at the same time; from sending the signed click to the
   start of execution (the audit "execute" record, written just before
   ``execute`` is called). Target p99 < 1,000 ms.
2. Storm (``executions``, ``duplicates``): 20 pending requests, 10 approvers
   each pressing Approve on all 20 at once (200 simultaneous clicks). Target:
   exactly 20 executions and 0 duplicates, counted from the change kind's own
   file and cross-checked in the audit trail. Its latencies are printed too.
3. Restart (``resume_after_restart_s``): a bot process with its scheduler (the
   leader) executes an hour-long change; it is killed (SIGKILL, no hand-over) and
   a new bot process is started on the same store. The figure is the time from
   the kill to the new leader taking the execution over (its audit "resume"
   record); the new process's start-up is included. Target: < lease + 5 s
   (``--lease-seconds``, default 10).

Everything runs on loopback and stops by itself.

    python bench/approvals.py [--latency-requests 100] [--latency-concurrency 10] [--storm-requests 20]
                              [--approvers 10] [--lease-seconds 10] [--json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import queue
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REQUESTER = "U0ALICE"
CHANNEL = "C0OPS"
DEADLINE_S = 120.0
EXEC_LOG_ENV = "BENCH_APPROVALS_EXEC_LOG"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


# ----------------------------------------------------------------------------- the bot process


def serve(config_path: str, leader: bool = False) -> int:
    """Child process: the real bot plus no-op change kinds and their `bench-request` verbs (with ``leader``, also
    its scheduler, which resumes what a killed bot left)."""
    from pydantic import BaseModel, ConfigDict

    from bot.application import Capability
    from bot.approval_engine import request_change
    from bot.changes import Change, ChangeKind, ChangePlan, Finding, Outcome, Target, seal
    from bot.commands import Verb
    from bot.composition import load_application
    from bot.config import Secrets, load_config
    from bot.http import HttpServer
    from bot.invocation import Invocation
    from bot.report import Report
    from bot.runtime import Runtime
    from bot.scheduler import start_background
    from bot.slack.app import Bot

    log_path = Path(os.environ[EXEC_LOG_ENV])
    log_lock = threading.Lock()

    class BenchNoop:
        """Changes nothing; appends the request number to the execution log (one line per execute call)."""

        name = "bench-noop"
        action_kind = "scale"

        def recheck(self, runtime: Runtime, plan: ChangePlan) -> list[Finding]:
            return [Finding(check="target unchanged", ok=True, detail="bench target")]

        def execute(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
            with log_lock, log_path.open("a") as log:
                log.write(f"{plan.params['n']}\n")
            return Outcome(ok=True, summary="nothing changed (benchmark)")

    class BenchRollout(ChangeKind):
        """Changes nothing; "follows a rollout" for an hour, and when resumed after a restart, finds it done."""

        name = "bench-rollout"
        action_kind = "scale"

        def recheck(self, runtime: Runtime, plan: ChangePlan) -> list[Finding]:
            return [Finding(check="target unchanged", ok=True, detail="bench target")]

        def execute(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
            progress("following the rollout (benchmark: an hour)")
            time.sleep(3600)
            return Outcome(ok=True, summary="rolled out (benchmark)")

        def resume(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
            return Outcome(ok=True, summary="followed to its end after a restart (benchmark)")

    numbers = itertools.count(1)

    class NoArgs(BaseModel):
        model_config = ConfigDict(extra="forbid")

    def requester(kind: str) -> Callable[[Invocation, NoArgs], Report]:
        def bench_request(inv: Invocation, _args: NoArgs) -> Report:
            n = next(numbers)
            plan = seal(ChangePlan(
                kind=kind, action_kind="scale", tenant="bench", title=f"Bench change #{n}", params={"n": n},
                targets=[Target(kind="Tenant", namespace="bench", name="bench", resource_version=str(n))],
                changes=[Change(what="nothing", before="-", after="-")], risk="low", planned_at=inv.runtime.clock(),
            ))
            return request_change(inv, plan)

        return bench_request

    bench = Capability("bench", "No-op change kinds and the verbs that request them.")
    bench.change_kind(BenchNoop())
    bench.change_kind(BenchRollout())
    bench.add_verb(Verb(name="bench-request", summary="Benchmark: request a no-op change.", model=NoArgs,
                        handler=requester("bench-noop")))
    bench.add_verb(Verb(name="bench-rollout", summary="Benchmark: request an hour-long no-op change.",
                        model=NoArgs, handler=requester("bench-rollout")))
    application = load_application()
    application.include(bench)
    config = load_config(config_path)
    bot = Bot(config, Secrets(), application=application)
    server = HttpServer(bot, "127.0.0.1", config.slack.http_port).start()
    background = start_background(bot) if leader else None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    finally:
        if background is not None:
            background.stop()
        server.stop()
        bot.close()
    return 0


# ----------------------------------------------------------------------------- the driver


class Bench:
    """Slack simulator, PostgreSQL and the bot process; the clicks come from here."""

    def __init__(self, approvers: int) -> None:
        from bot.store import Store
        from sandbox.slack_sim import SlackSim

        self.workdir = Path(tempfile.mkdtemp(prefix="bench-approvals-"))
        self.exec_log = self.workdir / "executions.log"
        self.exec_log.touch()
        self.approvers = [f"U0BENCH{i:03d}" for i in range(approvers)]
        self.pg_url, self._stop_pg = self._postgres()
        self.slack = SlackSim().start()
        self.slack.seed_demo()
        for user in self.approvers:
            self.slack.add_user(user, user.lower())
        self.config_path, self.url = self._config("config.yaml")
        self.bot = self._spawn(self.config_path)
        self._wait_ready(self.bot, self.url)
        self.store = Store(self.pg_url)  # read-only here: approvals and the audit trail
        self.driver = self.slack.driver(events_url=f"{self.url}/slack/events")

    def _config(self, name: str, **extra: Any) -> tuple[Path, str]:
        """A bot config on a free port (plus ``extra`` top-level settings); (its path, the bot's URL)."""
        port = free_port()
        config = {
            "admins": [],
            "slack": {"api_url": self.slack.api_url, "mode": "http", "http_host": "127.0.0.1", "http_port": port,
                      "workers": 16},
            "store_url": self.pg_url,
            "channels": [{"id": CHANNEL}],
            "tenants": [{
                "name": "bench",
                "endpoints": ["http://127.0.0.1:9"],  # never called: the change kind touches nothing
                "credentials": {"access_key_env": "BENCH_UNUSED_AK", "secret_key_env": "BENCH_UNUSED_SK"},
                "channels": [CHANNEL],
                "operators": [REQUESTER],
                "approvals": {"scale": {"approvers": self.approvers}},
            }],
            **extra,
        }
        path = self.workdir / name
        path.write_text(yaml.safe_dump(config))
        return path, f"http://127.0.0.1:{port}"

    def _spawn(self, config: Path, *, leader: bool = False) -> subprocess.Popen[bytes]:
        env = {**os.environ, "SLACK_BOT_TOKEN": self.slack.bot_token,
               "SLACK_SIGNING_SECRET": self.slack.signing_secret, EXEC_LOG_ENV: str(self.exec_log)}
        return subprocess.Popen(
            [sys.executable, __file__, "--serve", str(config), *(["--leader"] if leader else [])],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
        )

    @staticmethod
    def _postgres() -> tuple[str, Callable[[], None]]:
        external = os.environ.get("MINIO_CHATOPS_TEST_PG_URL")
        if external:
            return external, lambda: None
        from tests.fixtures.postgres import PostgresServer

        server = PostgresServer.create()
        return server.url(), server.destroy

    @staticmethod
    def _wait_ready(process: subprocess.Popen[bytes], url: str) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=1):
                    return
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the bot process did not start") from None
                time.sleep(0.1)

    @staticmethod
    def _stop(process: subprocess.Popen[bytes]) -> None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)

    def close(self) -> None:
        self._stop(self.bot)
        if hasattr(self, "store"):
            self.store.close()
        self.slack.stop()
        self._stop_pg()

    # ------------------------------------------------------------------ helpers

    def request(self, verb: str = "bench-request", driver: Any = None) -> tuple[str, str, str, str]:
        """One `/minio <verb>`; (approval id, card ts, Approve value, request number) once its card is up."""
        known = {m.ts for m in self.slack.messages(CHANNEL, include_replies=False)}
        result = (driver or self.driver).slash(REQUESTER, CHANNEL, f"/minio {verb}")
        if not result.ok:
            raise RuntimeError(f"slash command failed: {result.status} {result.user_error}")

        def new_card() -> Any:
            return next((m for m in self.slack.messages(CHANNEL, include_replies=False)
                         if m.ts not in known and "Approval needed" in m.text), None)

        card = self.slack.wait_for(new_card, timeout=DEADLINE_S)
        for block in card.blocks:
            for element in block.get("elements", []) if block.get("type") == "actions" else []:
                if str(element.get("action_id", "")).startswith("approve:"):
                    approval_id = str(element["action_id"]).split(":", 1)[1]
                    number = re.search(r"Bench change #(\d+)", card.text)
                    return approval_id, card.ts, str(element["value"]), number.group(1) if number else ""
        raise RuntimeError("the card has no Approve button")

    def prepare_click(self, user: str, approval_id: str, ts: str, value: str) -> bytes:
        """The form body Slack posts when `user` presses Approve on the card (with a live response_url).

        Built ahead of time so that, in the storm, the clock starts when the request is sent rather
        than while 200 client threads build payloads.
        """
        from sandbox.slack_sim.response_url import issue_response_url

        ws = self.slack.ws
        record = issue_response_url(ws, channel=CHANNEL, user=user, kind="block_actions", origin_ts=ts)
        payload = {
            "type": "block_actions",
            "user": {"id": user, "username": user.lower(), "team_id": ws.team_id},
            "api_app_id": ws.app_id,
            "container": {"type": "message", "message_ts": ts, "channel_id": CHANNEL, "is_ephemeral": False},
            "trigger_id": f"{int(time.time() * 1000)}.bench.{user}.{approval_id}",
            "team": {"id": ws.team_id, "domain": ws.team_domain},
            "channel": {"id": CHANNEL, "name": "ops"},
            "response_url": f"{self.slack.base_url}response/{record.id}",
            "actions": [{"action_id": f"approve:{approval_id}", "block_id": "actions", "type": "button",
                         "value": value, "action_ts": f"{time.time():.6f}"}],
        }
        return urlencode({"payload": json.dumps(payload)}).encode()

    def send(self, body: bytes, url: str | None = None) -> int:
        """POST a click signed as Slack signs it; the HTTP status of the ack."""
        from sandbox.slack_sim.driver import sign

        stamp = int(time.time())
        request = urllib.request.Request(
            f"{url or self.url}/slack/events",
            data=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": str(stamp),
                "X-Slack-Signature": sign(self.slack.signing_secret, stamp, body),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)

    def execution_started(self, approval_id: str) -> datetime | None:
        return self.audited(approval_id, "execute")

    def audited(self, approval_id: str, action: str) -> datetime | None:
        """When the audit trail first records ``action`` for the request (None: not yet)."""
        return next((e.at for e in self.store.audit.for_approval(approval_id) if e.action == action), None)

    def wait_terminal(self, ids: list[str]) -> None:
        done = {"succeeded", "failed", "refused", "rejected", "expired", "cancelled"}
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            states = [self.store.approvals.get(i) for i in ids]
            if all(a is not None and a.status in done for a in states):
                return
            time.sleep(0.02)

    # ------------------------------------------------------------------ phases

    def executed(self) -> set[str]:
        """Request numbers the change kind has run (from its own log)."""
        return set(self.exec_log.read_text().split())

    def latency(self, requests: int, concurrency: int) -> list[float]:
        """`concurrency` approvers work through `requests` cards: click, wait for the execution, next card."""
        cards: queue.Queue[tuple[str, str, str, str]] = queue.Queue()
        for _ in range(requests):
            cards.put(self.request())
        sent: dict[str, float] = {}
        lock = threading.Lock()

        def approver(user: str) -> None:
            while True:
                try:
                    approval_id, ts, value, number = cards.get_nowait()
                except queue.Empty:
                    return
                body = self.prepare_click(user, approval_id, ts, value)
                started = time.time()
                self.send(body)
                with lock:
                    sent[approval_id] = started
                deadline = time.monotonic() + DEADLINE_S
                while number not in self.executed() and time.monotonic() < deadline:
                    time.sleep(0.005)

        threads = [threading.Thread(target=approver, args=(u,)) for u in self.approvers[:concurrency]]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(DEADLINE_S * 2)
        self.wait_terminal(list(sent))
        latencies = []
        for approval_id, at in sent.items():
            began = self.execution_started(approval_id)
            if began is not None:
                latencies.append((began.timestamp() - at) * 1000)
        return latencies

    def storm(self, requests: int) -> dict[str, Any]:
        cards = [self.request() for _ in range(requests)]
        before = Counter(self.exec_log.read_text().split())
        first_sent: dict[str, float] = {}
        sent_by: dict[tuple[str, str], float] = {}
        lock = threading.Lock()
        barrier = threading.Barrier(len(cards) * len(self.approvers))
        statuses: list[int] = []

        def press(user: str, approval_id: str, body: bytes) -> None:
            barrier.wait()
            sent = time.time()
            status = self.send(body)
            with lock:
                first_sent[approval_id] = min(first_sent.get(approval_id, sent), sent)
                sent_by[(approval_id, user)] = sent
                statuses.append(status)

        clicks = [(u, c[0], self.prepare_click(u, *c[:3])) for c in cards for u in self.approvers]
        threads = [threading.Thread(target=press, args=click) for click in clicks]
        began = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(DEADLINE_S)
        ids = [c[0] for c in cards]
        self.wait_terminal(ids)
        seconds = time.monotonic() - began
        ran = Counter(self.exec_log.read_text().split()) - before
        audited = sum(1 for i in ids for e in self.store.audit.for_approval(i) if e.action == "execute")
        latencies, from_first = [], []
        for i in ids:
            events = self.store.audit.for_approval(i)
            started = next((e.at for e in events if e.action == "execute"), None)
            winner = next((e.actor for e in events if e.action == "approved"), None)
            if started is None or winner is None:
                continue
            # The click that executes is the one whose vote completed the approval.
            latencies.append((started.timestamp() - sent_by[(i, winner)]) * 1000)
            from_first.append((started.timestamp() - first_sent[i]) * 1000)
        return {
            "clicks": len(statuses),
            "acked": sum(1 for s in statuses if s == 200),
            "executions": sum(ran.values()),
            "duplicates": sum(count - 1 for count in ran.values() if count > 1),
            "audited": audited,
            "latencies": latencies,
            "from_first": from_first,
            "seconds": seconds,
        }


    def resume_after_restart(self, lease_s: float) -> dict[str, Any]:
        """A leader executing an hour-long change is killed; a new one starts: seconds from the kill to its resume."""
        config, url = self._config("leader.yaml", executions={"lease_seconds": lease_s},
                                   scheduler={"snapshot_minutes": 1440, "alert_check_minutes": 1440})
        first = self._spawn(config, leader=True)
        second: subprocess.Popen[bytes] | None = None
        try:
            self._wait_ready(first, url)
            driver = self.slack.driver(events_url=f"{url}/slack/events")
            approval_id, ts, value, _n = self.request("bench-rollout", driver)
            self.send(self.prepare_click(self.approvers[0], approval_id, ts, value), url)
            deadline = time.monotonic() + DEADLINE_S
            while self.audited(approval_id, "execute") is None and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(lease_s / 2)  # well into the lease: at least one renewal happened
            first.send_signal(signal.SIGKILL)  # a pod killed: no hand-over, its lease just stops being renewed
            killed = time.time()
            first.wait(timeout=15)
            second = self._spawn(config, leader=True)
            resumed = None
            while resumed is None and time.monotonic() < deadline + 2 * lease_s:
                resumed = self.audited(approval_id, "resume")
                time.sleep(0.02)
            self.wait_terminal([approval_id])
            approval = self.store.approvals.get(approval_id)
            return {
                "seconds": resumed.timestamp() - killed if resumed else float("nan"),
                "status": approval.status if approval else "gone",
                "executions": sum(1 for e in self.store.audit.for_approval(approval_id) if e.action == "execute"),
            }
        finally:
            for process in (first, second):
                if process is not None and process.poll() is None:
                    self._stop(process)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--latency-requests", type=int, default=100)
    parser.add_argument("--latency-concurrency", type=int, default=10, help="approvers clicking at the same time")
    parser.add_argument("--storm-requests", type=int, default=20)
    parser.add_argument("--approvers", type=int, default=10)
    parser.add_argument("--lease-seconds", type=float, default=10.0, help="the executions' lease (restart phase)")
    parser.add_argument("--json", action="store_true", help="print only the JSON figures")
    parser.add_argument("--serve", metavar="CONFIG", help=argparse.SUPPRESS)  # the bot process
    parser.add_argument("--leader", action="store_true", help=argparse.SUPPRESS)  # ... with its scheduler
    args = parser.parse_args()
    if args.serve:
        return serve(args.serve, leader=args.leader)
    bench = Bench(args.approvers)
    try:
        latencies = bench.latency(args.latency_requests, args.latency_concurrency)
        storm = bench.storm(args.storm_requests)
        restart = bench.resume_after_restart(args.lease_seconds)
    finally:
        bench.close()
    figures = {
        "click_to_exec_p99_ms": round(percentile(latencies, 99), 1) if latencies else float("nan"),
        "executions": storm["executions"],
        "duplicates": storm["duplicates"],
        "resume_after_restart_s": round(restart["seconds"], 2),
    }
    if args.json:
        print(json.dumps(figures))
        return 0
    print(f"bot process on PostgreSQL, signed clicks over HTTP, Slack simulator; {os.cpu_count()} CPU(s) shared "
          "by the bot, PostgreSQL, the simulator and the clicking clients")
    if latencies:
        print(f"latency: {len(latencies)} cards, {args.latency_concurrency} approvers clicking at once: "
              f"click -> execution start p50 {statistics.median(latencies):.1f} ms, "
              f"p99 {percentile(latencies, 99):.1f} ms, max {max(latencies):.1f} ms")
    print(f"storm: {storm['clicks']} simultaneous clicks on {args.storm_requests} cards, all settled in "
          f"{storm['seconds']:.1f} s; acked {storm['acked']}; executions {storm['executions']} "
          f"(audited {storm['audited']}); duplicates {storm['duplicates']}")
    if storm["latencies"]:
        print(f"storm: deciding click -> execution start p50 {statistics.median(storm['latencies']):.1f} ms, "
              f"p99 {percentile(storm['latencies'], 99):.1f} ms (every click of the burst queues behind the "
              "others' acks on these cores)")
    print(f"restart: a leader executing an hour-long change killed (lease {args.lease_seconds:g} s); a new bot "
          f"process took it over {restart['seconds']:.2f} s after the kill (its start-up included); the change ended "
          f"{restart['status']}, executed {restart['executions']} time(s)")
    print(f"click_to_exec_p99_ms {figures['click_to_exec_p99_ms']} (target < 1000), executions "
          f"{figures['executions']} (target {args.storm_requests}), duplicates {figures['duplicates']} (target 0), "
          f"resume_after_restart_s {figures['resume_after_restart_s']} (target < {args.lease_seconds + 5:g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
