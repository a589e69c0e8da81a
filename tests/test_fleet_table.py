"""Many tenants at a glance (issue 17, point 4): one line per tenant, one Slack message up to 50, continued beyond.

`/minio tenants` and the daily report's head are one compact row per tenant;
the renderer (the one place that knows Slack's limits) keeps up to 50 of them
in the first message and continues in its thread beyond, every tenant exactly
once. Names here are long on purpose: 50 long lines must still fit.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import yaml

from bot.config import parse_config
from bot.render.slack import SlackMessage, render_slack
from bot.report import Status
from handlers.daily_report.facts import ReportFacts
from handlers.daily_report.facts import TenantFacts as DailyFacts
from handlers.daily_report.present import build_report
from handlers.tenants.facts import NodesLive, TenantFacts, TenantResource
from handlers.tenants.present import tenants_report

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def names(n: int) -> list[str]:
    return [f"tenant-{i:03d}-analytics-eu-west" for i in range(n)]


def fleet(n: int) -> list[TenantFacts]:
    raw = {"clusters": [{"name": "default", "namespaces": [f"minio-{name}" for name in names(n)]}],
           "tenants": [{"name": name, "kubernetes": {"namespace": f"minio-{name}"}} for name in names(n)]}
    config = parse_config(yaml.safe_dump(raw))
    return [TenantFacts(tenant=t, minio=NodesLive(total=16, down={3: "connection refused"} if i % 7 == 0 else {}),
                        kube=TenantResource(health="green", ready=16, pods=16)) for i, t in enumerate(config.tenants)]


def mentioned(messages: list[SlackMessage]) -> list[str]:
    text = " ".join(str(m.blocks) for m in messages)
    return re.findall(r"\*(tenant-\d{3}-analytics-eu-west)\*", text)  # each line starts with the bold name


@pytest.mark.parametrize("n", [1, 20, 50])
def test_up_to_50_tenants_fit_in_one_message_one_line_each(n: int) -> None:
    post = render_slack(tenants_report(fleet(n), {}))
    assert post.thread == [], f"{n} tenants spilled into the thread"
    assert sorted(mentioned([post.head])) == names(n)


@pytest.mark.parametrize("n", [120, 200])
def test_beyond_50_the_table_continues_in_the_thread_with_every_tenant_once(n: int) -> None:
    post = render_slack(tenants_report(fleet(n), {}))
    assert post.thread, "continued in the thread"
    assert sorted(mentioned([post.head, *post.thread])) == names(n)
    assert len(mentioned([post.head])) > 40, "the first message is filled before the thread is used"


def daily(n: int) -> ReportFacts:
    tenants = [DailyFacts(tenant=name, capacity_error="no capacity snapshot yet (taken hourly)",
                          health_error=None if i % 5 else "MinIO node 3 (10.0.0.3:9000) unreachable")
               for i, name in enumerate(names(n))]
    return ReportFacts(tenants=tenants, overdue=[])


def test_the_daily_reports_head_lists_50_tenants_in_one_message() -> None:
    report = build_report(None, daily(50), now=NOW, scheduled_for=NOW)
    assert report.status == Status.UNKNOWN
    post = render_slack(report)
    assert sorted(mentioned([post.head])) == names(50), "every tenant's line is in the first message"
