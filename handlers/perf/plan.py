"""The speed test as a change plan: preview what runs and for how long, then run it once after approval.

Kind ``speedtest`` (approval rule ``perf``). It writes no data of the tenant, but it loads every node
and MinIO holds the cluster's S3 traffic while it runs, so it is previewed and approved like a change.
Preflight and re-check: every node and drive online, nothing healing, and no other speed test of the
tenant approved or running. MinIO itself does not refuse a second speed test (it takes no lock), so the
store decides: of two requests approved at the same moment the earlier one runs and the other is
refused; a last look after the move to "executing" covers the instant in between.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta

from bot import humanize
from bot.changes import Change, ChangeKind, ChangePlan, Finding, Outcome, Target, seal
from bot.changes.plan import NOT_RUN_AGAIN
from bot.changes.preflight import healing_finding
from bot.clients.errors import ClientError
from bot.clients.minio import MinioClient
from bot.clients.minio_models import SpeedTestResult
from bot.clients.timeouts import speedtest_deadline_s
from bot.config import TenantConfig
from bot.runtime import Runtime
from handlers.perf.evaluate import (
    SpeedTestSettings,
    first_of,
    nodes_finding,
    one_at_a_time_finding,
)
from handlers.perf.facts import KIND, cluster_facts, speedtest_requests
from handlers.perf.present import node_lines, rate, speedtest_report

ACTION_KIND = "perf"
PROGRESS_EVERY_S = 5.0  # at most one "still measuring" line this often (the thread is edited at its own pace)


def settings_of(plan: ChangePlan) -> SpeedTestSettings:
    """The settings a plan was approved with."""
    params = plan.params
    return SpeedTestSettings(duration_s=int(params["duration_s"]), size=int(params["size"]),
                             concurrency=int(params["concurrency"]))


def _preflight(runtime: Runtime, tenant: TenantConfig, plan_hash: str) -> list[Finding]:
    facts = cluster_facts(runtime, tenant)
    mine, others = speedtest_requests(runtime, tenant.name, plan_hash)
    return [nodes_finding(facts.info), healing_finding(facts.heal, facts.info),
            one_at_a_time_finding(first_of(mine, others))]


def plan_speedtest(runtime: Runtime, tenant: TenantConfig, settings: SpeedTestSettings, requester: str) -> ChangePlan:
    """The previewed speed test, with its preflight (nodes online, not healing, no other test)."""
    took = humanize.duration(settings.measuring_s)
    deadline = humanize.duration(speedtest_deadline_s(settings.duration_s))
    each = humanize.duration(settings.duration_s)
    plan = seal(ChangePlan(
        kind=KIND,
        action_kind=ACTION_KIND,
        tenant=tenant.name,
        title=f"Speed test of {tenant.name} ({each} PUT + {each} GET)",
        # request_id: two requests with the same settings are two plans (the one-at-a-time check tells them apart).
        params={"duration_s": settings.duration_s, "size": settings.size, "concurrency": settings.concurrency,
                "request_id": uuid.uuid4().hex, "requested_by": requester},
        targets=[Target(kind="MinioCluster", name=tenant.name)],
        changes=[
            Change(what="Load on every node", before="normal traffic",
                   after=f"{settings.concurrency} streams of {humanize.size(settings.size)} objects: {each} of PUT, "
                         f"then {each} of GET"),
            Change(what="S3 traffic of the tenant", before="served",
                   after=f"held by MinIO while the test runs (about {took})"),
        ],
        notes=[f"Runs once; it ends within {deadline} (the measuring plus MinIO's set-up and clean-up).",
               "MinIO writes its test objects under its own speedtest/ prefix and deletes them afterwards.",
               "Progress and the result (per node, with a chart) follow in this thread."],
        risk="medium",
        planned_at=runtime.clock(),
    ))
    return plan.model_copy(update={"preflight": _preflight(runtime, tenant, plan.plan_hash)})


def _label(client: MinioClient) -> Callable[[str], str]:
    """endpoint host:port -> "node N (pod P)" when it is one of the client's endpoints, else the host."""
    known = {e.split("://", 1)[-1].rstrip("/"): n for n, e in zip(client.nodes, client.endpoints, strict=True)}

    def label(host: str) -> str:
        number = known.get(host)
        if number is None:
            return host
        name = client.node_name(number)
        return f"node {number}" + (f" ({name})" if name else "")

    return label


class Ticker:
    """Turns the stream's values into progress lines: one when it starts, then at most one per interval."""

    def __init__(self, progress: Callable[[str], None], settings: SpeedTestSettings) -> None:
        self.progress = progress
        self.settings = settings
        self.started = time.monotonic()
        self.last = self.started
        self.values = 0
        self._lock = threading.Lock()

    def __call__(self, value: SpeedTestResult) -> None:
        with self._lock:
            self.values += 1
            now = time.monotonic()
            if value.is_result:
                self.progress(f"Result received after {humanize.duration(now - self.started)}: "
                              f"PUT {rate(value.put.throughput_per_s)}, GET {rate(value.get.throughput_per_s)}.")
            elif now - self.last >= PROGRESS_EVERY_S:
                self.last = now
                self.progress(f"Measuring: {humanize.duration(now - self.started)} of about "
                              f"{humanize.duration(self.settings.measuring_s)}.")


class SpeedTest(ChangeKind):
    """Change kind ``speedtest``."""

    name = KIND
    action_kind = ACTION_KIND

    def recheck(self, runtime: Runtime, plan: ChangePlan) -> list[Finding]:
        """The preflight again, on fresh facts and the store's other speed-test requests."""
        tenant = runtime.find_tenant(plan.tenant)
        if tenant is None:
            return [Finding(check="tenant", ok=False, detail="The tenant is no longer configured.")]
        return _preflight(runtime, tenant, plan.plan_hash)

    def execute(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        """One speed test, its values turned into progress lines, the result as a report with a chart."""
        tenant = runtime.find_tenant(plan.tenant)
        if tenant is None:
            return Outcome(ok=False, summary="The tenant is no longer configured; nothing was run.")
        mine, others = speedtest_requests(runtime, tenant.name, plan.plan_hash)
        first = first_of(mine, [o for o in others if o.status == "executing"])
        if first is not None:  # approved at the same instant as another: the earlier request runs
            return Outcome(ok=False, summary=f"Not run: speed test {first.id} on {tenant.name} started at the same "
                           "moment and runs; two at once would measure each other.")
        settings = settings_of(plan)
        client = runtime.minio(tenant)
        progress(f"Speed test started: {settings.concurrency} streams of {humanize.size(settings.size)} objects per "
                 f"node, {humanize.duration(settings.duration_s)} of PUT then of GET.")
        try:
            result = client.speedtest(size=settings.size, concurrent=settings.concurrency,
                                      duration_s=settings.duration_s, on_value=Ticker(progress, settings))
        except ClientError as exc:
            return Outcome(ok=False, summary=f"MinIO did not run the speed test on {tenant.name}: {exc}")
        label = _label(client)
        report = speedtest_report(tenant.name, settings, result, label)
        failed = result.failed_servers()
        summary = f"Speed test of {tenant.name}: PUT {rate(result.put.throughput_per_s)}, " \
                  f"GET {rate(result.get.throughput_per_s)} over {result.servers} nodes"
        if failed:
            names = ", ".join(label(e.split("://", 1)[-1]) for e in failed)
            return Outcome(ok=False, summary=f"{summary}; {len(failed)} node(s) failed: {names}.",
                           lines=node_lines(result, label), report=report)
        return Outcome(ok=True, summary=f"{summary}.", lines=node_lines(result, label), report=report)

    def resume(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        """The bot stopped mid-test: MinIO ends a speed test when its caller goes away, so it did not finish."""
        waited = timedelta(seconds=speedtest_deadline_s(settings_of(plan).duration_s))
        progress("The bot stopped while the speed test ran; MinIO stops a speed test when its caller disconnects.")
        return Outcome(ok=False, summary=f"Outcome unknown: the bot stopped during the speed test (at most "
                       f"{humanize.duration(waited)} of load). {NOT_RUN_AGAIN}",
                       lines=["Request it again for figures."])
