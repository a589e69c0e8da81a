"""Three real bot processes on one Lease: only the leader schedules, a killed leader is replaced within the
lease, the daily report is sent exactly once across the hand-over, and commands keep being served."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bench.ha import CommandLoad, Replicas
from sandbox.kube.controlplane import ControlPlane
from sandbox.slack_sim import SlackSim

OPS = "C0OPS"
LEASE_S = 4


def report_heads(slack: SlackSim) -> list[str]:
    """The footer line ("Scheduled for HH:MM UTC") of every daily report posted in #ops."""
    heads = []
    for message in slack.messages(OPS, include_replies=False):
        if message.text.startswith("Daily MinIO report"):
            footer = next(b for b in message.blocks if b.get("type") == "context")
            heads.append(footer["elements"][0]["text"])
    return heads


def sleep_until_second(target: float, after: datetime) -> datetime:
    """Sleep until the wall clock's second-of-minute is `target`, at least 0.5 s after `after`."""
    moment = after.replace(second=0, microsecond=0) + timedelta(seconds=target)
    while moment < after + timedelta(seconds=0.5):
        moment += timedelta(minutes=1)
    time.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))
    return moment


@pytest.mark.kube
@pytest.mark.postgres
def test_killing_the_leader_hands_over_within_the_lease_and_the_report_goes_out_once(
    kube: ControlPlane, slack_sim: SlackSim, fresh_pg_url: str, tmp_path: Path
) -> None:
    replicas = Replicas(tmp_path, slack_sim, kube, fresh_pg_url, lease_seconds=LEASE_S, report_cron="* * * * *")
    replicas.start()
    try:
        leader = replicas.wait_leader(timeout=LEASE_S * 3 + 10)
        time.sleep(1.0)
        assert replicas.leaders() == [leader], "one leader among three"
        assert replicas.lease_holder() == replicas.identity(leader)

        # The new leader sends the current minute's report at once (nobody has claimed it yet).
        slack_sim.wait_for(lambda: report_heads(slack_sim), timeout=15)
        # Kill it 2.5 s before the next minute: that slot falls inside the hand-over.
        survivors = [i for i in range(replicas.count) if i != leader]
        load = CommandLoad(replicas, survivors, interval_s=0.2).start()
        killed_wall = sleep_until_second(57.5, datetime.now(UTC))
        killed_at = time.monotonic()
        replicas.kill(leader)
        successor = replicas.wait_leader(timeout=LEASE_S * 3, among=survivors)
        handover = time.monotonic() - killed_at
        print(f"\nhand-over after SIGKILL: {handover:.2f} s (lease {LEASE_S} s)")
        assert handover < LEASE_S + 2

        missed_slot = (killed_wall + timedelta(minutes=1)).replace(second=0, microsecond=0)
        expected = f"Scheduled for {missed_slot:%H:%M} UTC"
        slack_sim.wait_for(lambda: expected in report_heads(slack_sim), timeout=20)
        time.sleep(2.0)  # anything doubled would have arrived by now
        load.stop()
        assert load.sent >= 20 and load.lost == 0, f"{load.lost} of {load.sent} commands lost during hand-over"

        heads = report_heads(slack_sim)
        assert len(heads) == len(set(heads)), f"a report was sent twice: {heads}"
        engine = create_engine(fresh_pg_url)
        with engine.connect() as conn:
            claims = conn.execute(text("SELECT scheduled_for, by FROM scheduler_runs WHERE job_id = :j"),
                                  {"j": f"report:{OPS}"}).all()
        engine.dispose()
        assert len(claims) == len(heads), "every claimed slot posted once, nothing posted unclaimed"
        by_slot = {when.astimezone(UTC).replace(tzinfo=UTC): by for when, by in claims}
        assert by_slot[missed_slot] == replicas.identity(successor), "the successor sent the slot it inherited"
        assert replicas.leaders() == [successor] and replicas.lease_holder() == replicas.identity(successor)
        # Every replica serves /metrics, and followers say they are not leading.
        for index in replicas.alive():
            assert ("minio_chatops_leader 1.0" in replicas.metrics(index)) == (index == successor)
    except BaseException:
        for index in range(replicas.count):
            print(f"--- bot-{index} log ---\n{replicas.log_tail(index)}")
        print(json.dumps(report_heads(slack_sim)))
        raise
    finally:
        replicas.stop()
