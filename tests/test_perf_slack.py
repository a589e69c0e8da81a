"""`/minio perf demo` typed in Slack: a card, another person approves, the result and its chart land in the thread."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sandbox.minio_sim import SimCluster
from sandbox.slack_sim import SlackSim
from tests.fixtures.bot import ALICE, BOB, OPS, BotFactory, base_config
from tests.test_approvals_slack import button, driver, wait_card, wait_state


def test_a_speed_test_requested_in_slack_posts_its_figures_and_chart_in_the_cards_thread(
    bot_factory: BotFactory, slack_sim: SlackSim, minio_cluster: SimCluster, tmp_path: Path
) -> None:
    minio_cluster.speedtest_clear(time_scale=0.05)  # the 10 s test streams for 1 s
    (tmp_path / "ak").write_text(minio_cluster.access_key)
    (tmp_path / "sk").write_text(minio_cluster.secret_key)
    tenant: dict[str, Any] = {
        "name": "demo",
        "endpoints": minio_cluster.endpoints,
        "credentials": {"access_key_file": str(tmp_path / "ak"), "secret_key_file": str(tmp_path / "sk")},
        "channels": [OPS],
        "operators": [ALICE, BOB],
        "approvals": {"perf": {"approvers": [ALICE, BOB]}},
    }
    running = bot_factory(base_config(slack_sim, tenants=[tenant], store_url=f"sqlite:///{tmp_path / 'store.db'}"))
    assert running.slash(ALICE, OPS, "perf demo").ok
    card = wait_card(slack_sim)
    assert "Speed test of demo (10 s PUT + 10 s GET)" in card.text + json.dumps(card.blocks)
    approve, _value = button(card, "approve:")
    assert driver(running).click(ALICE, OPS, card.ts, approve).ok  # the requester's click counts for nothing
    assert minio_cluster.speedtests_started() == 0
    assert driver(running).click(BOB, OPS, card.ts, approve).ok
    done = wait_state(slack_sim, card.ts, "Done")
    assert "Speed test of demo: PUT" in json.dumps(done.blocks)
    thread = " ".join(m.text + json.dumps(m.blocks) for m in slack_sim.thread(OPS, card.ts) if m.ts != card.ts)
    for needle in ("node 1", "node 4", "obj/s", "PUT response: avg", "Speed test started"):
        assert needle in thread, needle
    files = slack_sim.wait_for(lambda: [f for f in slack_sim.files(OPS) if f.completed], timeout=10)
    assert files, "the chart was not shared into the card's thread"
    assert files[0].is_png and files[0].name == "speedtest-demo.png"
    assert minio_cluster.speedtests_started() == 1
