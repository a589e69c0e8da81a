"""End to end through real parts: the MinIO simulator, Debian's Prometheus with the SHIPPED rules, Debian's
Alertmanager routing to the bot, and the Slack simulator.

Only the rules' ``for:`` durations are shortened (to :data:`FOR_S`) and the
intervals set to a second; everything else is ``deploy/prometheus/minio-rules.yaml``
as shipped. Stopping node 2 must reach the channel as one message naming node 2
and the remaining tolerance within ``for:`` plus a few seconds; starting it
again must turn that same message into "Resolved".
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from sandbox.alerting import minio_job, write_rules
from sandbox.minio_sim import SimCluster
from sandbox.slack_sim import SlackSim
from tests.alerting import TOKEN, alert_config, buttons, shown, top_level
from tests.fixtures.alertmanager import AlertmanagerFactory, free_port
from tests.fixtures.bot import OPS, BotFactory
from tests.fixtures.minio import s3_client
from tests.fixtures.prometheus import PrometheusFactory

FOR_S = 3
# Scrape and evaluation (1 s each), Alertmanager's group_wait (1 s), the diagnostics and Slack: a few seconds.
FEW_SECONDS = 12


def test_a_stopped_node_reaches_the_channel_once_and_its_restart_resolves_that_message(
    bot_factory: BotFactory, slack_sim: SlackSim, minio_cluster: SimCluster, tmp_path: Path,
    alertmanager_factory: AlertmanagerFactory, prometheus_factory: PrometheusFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALERTMANAGER_WEBHOOK_TOKEN", TOKEN)
    monkeypatch.setenv("DEMO_ACCESS_KEY", minio_cluster.access_key)
    monkeypatch.setenv("DEMO_SECRET_KEY", minio_cluster.secret_key)
    s3_client(minio_cluster).make_bucket("minio-chatops-probe")
    am_port = free_port()
    running = bot_factory(alert_config(slack_sim, minio_cluster, tmp_path, f"http://127.0.0.1:{am_port}"))
    alertmanager = alertmanager_factory(f"{running.url}/alertmanager", TOKEN, port=am_port)
    prometheus = prometheus_factory(
        [minio_job(minio_cluster, "demo")],
        rules=[write_rules(tmp_path / "rules.yaml", for_s=FOR_S)],
        alertmanager=alertmanager.url,
    )
    slack_sim.wait_for(lambda: len(prometheus.query('up{job="minio"} == 1')) == 4, timeout=20)
    assert prometheus.alerts() == [], "a healthy simulator fires nothing"

    stopped = time.monotonic()
    minio_cluster.stop_node(2)
    [message] = slack_sim.wait_for(lambda: top_level(slack_sim, OPS), timeout=FOR_S + FEW_SECONDS)
    print(f"fired_to_channel_s={time.monotonic() - stopped:.1f}")
    node2 = minio_cluster.node_url(2).removeprefix("http://")
    assert message.text.startswith("MinioNodeOffline on demo")
    assert f"node 2 ({node2}) offline" in shown(message)
    assert "cannot lose any node and keep writing, 1 and keep reading" in shown(message)
    assert "Declare incident" in buttons(message)

    started = time.monotonic()
    minio_cluster.start_node(2)
    resolved = slack_sim.wait_for(
        lambda: next((m for m in top_level(slack_sim, OPS) if m.text.startswith("Resolved:")), None),
        timeout=FEW_SECONDS + 10,
    )
    print(f"restart_to_resolved_s={time.monotonic() - started:.1f}")
    assert resolved.ts == message.ts, "the same message, updated"
    assert resolved.text.startswith("Resolved: MinioNodeOffline on demo")
    assert len(top_level(slack_sim, OPS)) == 1, "one message for the whole episode (drives included)"
