"""`/minio capacity demo` typed in Slack: the report is posted and the chart PNG is uploaded next to it."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from sandbox.minio_sim import SimCluster
from sandbox.slack_sim import SlackSim
from tests.fixtures.bot import ALICE, OPS, BotFactory, RunningBot, base_config


def start_bot(bot_factory: BotFactory, slack_sim: SlackSim, cluster: SimCluster, tmp_path: Path) -> RunningBot:
    """A bot serving tenant `demo` (the simulator, with a week of seeded history) in #ops."""
    from sandbox.history import seed_sandbox_history

    (tmp_path / "ak").write_text(cluster.access_key)
    (tmp_path / "sk").write_text(cluster.secret_key)
    tenant: dict[str, Any] = {
        "name": "demo",
        "endpoints": cluster.endpoints,
        "credentials": {"access_key_file": str(tmp_path / "ak"), "secret_key_file": str(tmp_path / "sk")},
        "channels": [OPS],
    }
    config = base_config(slack_sim, tenants=[tenant], store_url=f"sqlite:///{tmp_path / 'store.db'}")
    running = bot_factory(config)
    assert seed_sandbox_history(running.bot.runtime.config, "demo") > 100
    return running


def wait_report(slack_sim: SlackSim) -> Any:
    def report() -> Any:
        return next((m for m in slack_sim.messages(OPS) if m.text.startswith("Capacity: demo")), None)

    message = slack_sim.wait_for(report, timeout=20)
    assert message is not None, [m.text for m in slack_sim.messages(OPS)]
    return message


@pytest.fixture
def demo_cluster(minio_cluster: SimCluster) -> SimCluster:
    minio_cluster.load_demo_data()
    minio_cluster.run_scanner()
    return minio_cluster


def test_capacity_in_slack_posts_the_report_and_uploads_the_chart(
    bot_factory: BotFactory, slack_sim: SlackSim, demo_cluster: SimCluster, tmp_path: Path
) -> None:
    running = start_bot(bot_factory, slack_sim, demo_cluster, tmp_path)
    ack = running.slash(ALICE, OPS, "capacity demo")
    assert ack.ok and ack.ack_s < 3.0
    message = wait_report(slack_sim)
    posted = message.text + json.dumps(message.blocks) + "".join(
        m.text + json.dumps(m.blocks) for m in slack_sim.messages(OPS)
    )
    for needle in ("% of usable capacity used", "Top 6 of 6 bucket", "backups", "7 d: +", "80 %: ~", "Theil-Sen"):
        assert needle in posted, needle
    files = slack_sim.wait_for(lambda: [f for f in slack_sim.files(OPS) if f.completed], timeout=10)
    assert files, "the chart was not shared into #ops"
    chart = files[0]
    assert chart.is_png and chart.name == "capacity-demo.png" and chart.title.startswith("demo: capacity")
    assert chart.length > 5_000


def test_a_failed_chart_upload_still_leaves_the_text_report(
    bot_factory: BotFactory, slack_sim: SlackSim, demo_cluster: SimCluster, tmp_path: Path
) -> None:
    running = start_bot(bot_factory, slack_sim, demo_cluster, tmp_path)
    slack_sim.inject("files.getUploadURLExternal", status=200, error="internal_error", times=None)
    assert running.slash(ALICE, OPS, "capacity demo").ok
    message = wait_report(slack_sim)
    assert "% of usable capacity used" in message.text
    time.sleep(0.5)  # give a (wrong) upload time to land
    assert not [f for f in slack_sim.files(OPS) if f.completed]
    assert slack_sim.calls("files.getUploadURLExternal"), "the upload was attempted"
