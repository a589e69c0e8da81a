"""Performance test: MinIO's own object speed test, run once after a second person approves it.

    /minio perf <tenant> [--duration 10s] [--size 4MiB] [--concurrency 8]

Every node uploads objects for the duration, then downloads them for the duration (MinIO's admin
``speedtest``, what ``mc support perf object`` runs), at a fixed number of streams per node (no
autotune). It loads the whole cluster and MinIO holds the tenant's S3 traffic while it runs, so it is a
change plan (kind ``speedtest``, approval rule ``perf``): the card says what runs and for how long, with
the preflight (every node and drive online, nothing healing, no other speed test of the tenant). After
approval it runs once; progress lines follow in the card's thread, then the result: PUT and GET
throughput per node (a failed or slow node named), latencies over all nodes, and a chart.

Limits: duration 2-60 s, object size 4 KiB-64 MiB, 1-32 streams per node (defaults 10 s, 4 MiB, 8).
The performance diagnostic (`/minio incident performance`) offers it as a button ("Run a speed test"),
which requests it with the defaults.

Layout: ``evaluate`` (bounds, fitness, who goes first, verdicts), ``facts`` (the cluster's nodes and
healing, the store's other requests), ``plan`` (the plan and its kind), ``present`` and ``chart``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from bot.application import Capability
from bot.approval_engine import request_change
from bot.commands import Arg, Permission
from bot.interactions import Click, ClickResult
from bot.invocation import Invocation
from bot.report import Action, Report, notice
from handlers.perf.evaluate import (
    DEFAULT_CONCURRENCY,
    DEFAULT_DURATION_S,
    LIMITS,
    SpeedTestSettings,
    settings_from,
)
from handlers.perf.plan import SpeedTest, plan_speedtest

__all__ = ["PERF_BUTTON", "PerfArgs", "capability", "perf_command", "speedtest_action"]

PERF_BUTTON = "perf-speedtest"

capability = Capability("perf", __doc__)
capability.change_kind(SpeedTest())


class PerfArgs(BaseModel):
    """Arguments of `/minio perf`."""

    model_config = ConfigDict(extra="forbid")
    tenant: str = Field(max_length=63)
    duration: str | None = Field(None, max_length=40)
    size: str | None = Field(None, max_length=40)
    concurrency: str | None = Field(None, max_length=40)


@capability.verb(
    "perf",
    summary="Run MinIO's object speed test on a tenant: PUT and GET throughput per node, with a chart "
    "(needs approval: it loads the cluster).",
    model=PerfArgs,
    args=(
        Arg("tenant", "the tenant", required=True),
        Arg("duration", f"seconds of PUT, then as many of GET (default {DEFAULT_DURATION_S}s)", kind="option",
            metavar="10s"),
        Arg("size", "object size (default 4MiB)", kind="option", metavar="4MiB"),
        Arg("concurrency", f"streams per node (default {DEFAULT_CONCURRENCY})", kind="option", metavar="N"),
    ),
    permission=Permission.REQUEST,
    details=f"Limits: {LIMITS}. MinIO holds the tenant's S3 traffic while the test runs (2 x duration, plus "
    "set-up). Refused while a node or drive is offline, while drives heal, or while another speed test of "
    "the tenant is approved or running.",
    examples=("/minio perf demo", "/minio perf demo --duration 30s --size 16MiB --concurrency 16"),
    slow=True,
)
def perf_command(inv: Invocation, args: PerfArgs) -> Report:
    """Check the settings, preview the test and request its approval."""
    settings = settings_from(args.duration, args.size, args.concurrency)
    tenant = inv.tenant(args.tenant)
    return request_change(inv, plan_speedtest(inv.runtime, tenant, settings, inv.user))


def speedtest_action(tenant: str) -> Action:
    """A button that requests (with approval) a speed test of ``tenant`` with the default settings."""
    defaults = SpeedTestSettings()
    return Action(
        label="Run a speed test",
        action_id=f"{PERF_BUTTON}:{tenant}"[:255],
        value=tenant,
        confirm=f"Request approval to run MinIO's speed test on {tenant} ({defaults.duration_s} s of PUT, then "
        f"{defaults.duration_s} s of GET on every node)? It loads the cluster and MinIO holds S3 traffic while it "
        "runs. Someone else must approve.",
    )


def clicked_tenant(_inv: Invocation, click: Click) -> str | None:
    """The tenant a speed-test button names (the framework checks the clicker may request on it)."""
    return click.value or None


@capability.button(PERF_BUTTON, permission=Permission.REQUEST, tenant=clicked_tenant)
def on_speedtest_button(inv: Invocation, click: Click) -> ClickResult:
    """Request a speed test with the defaults (the clicker is the requester)."""
    tenant = inv.runtime.find_tenant(click.value)
    if tenant is None:
        return ClickResult(ephemeral=notice("This button names a tenant that is not configured; run the "
                                            "diagnostics again."))
    tenant = inv.tenant(tenant.name)
    return ClickResult(ephemeral=request_change(inv, plan_speedtest(inv.runtime, tenant, SpeedTestSettings(),
                                                                    inv.user)))
