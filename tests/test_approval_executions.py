"""Where approved changes run and what happens when their process stops (issue 14, items 6 and 9).

An approved change runs on the change executor, apart from the command
workers, and holds a lease in the store that its process renews while it runs.
Only an expired lease counts as left behind: the shell exec'd into the bot's
pod never touches a running upgrade, and a bot killed half-way through an
upgrade has it followed again by the leader within one lease period, never
executed again.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

import tests.test_approvals as base
from bot import approval_engine as engine
from bot.application import Application, Capability
from bot.approval_engine import ChangeExecutor
from bot.invocation import Invocation
from bot.scheduler import Background
from bot.shell import Shell
from handlers import approvals as approval_verbs
from sandbox.slack_sim import SlackSim
from tests.fixtures.bot import BotFactory
from tests.test_approvals import ALICE, BOB, NOW, OPS, World, text_of, touch_plan, world_from
from tests.test_maintenance import LiveClock
from tests.test_slack_app import wait_ephemeral

ROOT = Path(__file__).resolve().parent.parent
WAIT_S = 30.0


@pytest.fixture(autouse=True)
def fresh_state() -> Iterator[None]:
    base.STATE = base.TouchState()
    yield
    if base.STATE.gate is not None:
        base.STATE.gate.set()  # never leave an execution thread waiting behind a failed test


def wait_until(condition: Any, timeout: float = WAIT_S, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what or condition}"
        time.sleep(0.05)


def live_world(store_url: str, **overrides: Any) -> tuple[World, dict[str, Any]]:
    raw = base.make_config(store_url)
    raw.update(overrides)
    return world_from(raw, clock=LiveClock()), raw


def start_running_change(world: World) -> tuple[str, str]:
    """Request a change as alice and let bob approve it; it is executing (waiting on the gate) on return."""
    base.STATE.gate = threading.Event()
    approval_id, ts = world.request()
    world.press(BOB, approval_id, settle=False)
    wait_until(lambda: world.status(approval_id) == "executing" and base.STATE.executions, what="the execution")
    return approval_id, ts


# ----------------------------------------------------------------------------- item 6: the shell


def test_the_shell_on_the_bots_host_leaves_a_running_upgrade_running(tmp_path: Path) -> None:
    """`minio-chatops shell -c "/minio approvals"` exec'd into the bot's pod: same host, another process."""
    store_url = f"sqlite:///{tmp_path / 'state.db'}"
    world, raw = live_world(store_url)
    approval_id, _ts = start_running_change(world)
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(raw))
    shell = subprocess.run(
        [str(Path(sys.executable).parent / "minio-chatops"), "shell", "--config", str(config), "--as", ALICE,
         "--channel", OPS, "-c", "/minio approvals"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env={**os.environ, "LOG_LEVEL": "ERROR"},
    )
    assert shell.returncode == 0, shell.stdout + shell.stderr
    assert "Pending approvals" in shell.stdout
    assert world.status(approval_id) == "executing", "the shell closed the bot's running change"
    assert "result" not in world.actions(approval_id)

    assert base.STATE.gate is not None
    base.STATE.gate.set()
    world.settle()
    assert world.status(approval_id) == "succeeded", "the change's own outcome is recorded"
    assert world.actions(approval_id)[-2:] == ["execute", "result"]
    world.runtime.close()


def test_a_shell_never_recovers_even_an_expired_lease(store_url: str) -> None:
    world = base.make_world(store_url)
    approval_id, _ = base.interrupted(world)
    Shell(world.runtime, ALICE, OPS, out=io.StringIO(), application=world.dispatcher.app)
    world.clock.now = NOW + timedelta(hours=2)
    assert engine.recover(world.runtime, world.outbox, kinds=world.dispatcher.app.change_kind) == []
    assert world.status(approval_id) == "executing"
    world.runtime.close()


# ----------------------------------------------------------------------------- item 9: the executor


def test_running_changes_do_not_hold_the_command_workers_so_commands_still_answer(
    bot_factory: BotFactory, slack_sim: SlackSim, tmp_path: Path
) -> None:
    raw = base.make_config(f"sqlite:///{tmp_path / 'state.db'}")
    raw["slack"] = {"api_url": slack_sim.api_url, "mode": "http", "workers": 2}
    raw["executions"] = {"workers": 4}
    app = Application()
    app.include(engine.capability)
    touch = Capability("test-touch")
    touch.change_kind(base.Touch())
    app.include(touch)
    app.include(approval_verbs.capability)
    running = bot_factory(raw, application=app)
    runtime = running.bot.runtime
    base.STATE.gate = threading.Event()
    ids = []
    for _ in range(2):  # as many hour-long changes as the bot has command workers
        inv = Invocation(user=ALICE, channel=OPS, runtime=runtime, app=app, outbox=running.bot.outbox)
        engine.request_change(inv, touch_plan())
        approval = runtime.store.approvals.recent(1)[0]
        assert approval.message_ts is not None
        ids.append(approval.id)
        clicked = slack_sim.driver(events_url=running.events_url).click(BOB, OPS, approval.message_ts,
                                                                       f"approve:{approval.id}")
        assert clicked.ok
    wait_until(lambda: len(base.STATE.executions) == 2, what="both changes running")

    assert running.slash(ALICE, OPS, "approvals").ok
    wait_ephemeral(slack_sim, OPS, ALICE, "No change is waiting for approval here.")
    assert [runtime.store.approvals.get(i).status for i in ids] == ["executing", "executing"]  # type: ignore[union-attr]

    base.STATE.gate.set()
    wait_until(lambda: all(runtime.store.approvals.get(i).status == "succeeded" for i in ids),  # type: ignore[union-attr]
               what="both changes done")


def test_the_change_executor_runs_at_most_its_workers_at_once_and_queues_the_rest(store_url: str) -> None:
    world = base.make_world(store_url)
    executor = ChangeExecutor(lambda: world.runtime.store, world.clock, workers=2, lease_s=30)
    gate = threading.Event()
    started: list[str] = []
    lock = threading.Lock()

    def job(name: str) -> None:
        with lock:
            started.append(name)
        gate.wait(30)

    for name in ("a", "b", "c"):
        assert executor.submit(name, lambda name=name: job(name))
    wait_until(lambda: len(started) == 2, what="two jobs")
    assert executor.held() == {"a", "b", "c"}, "a queued change keeps its lease too"
    assert not executor.wait_idle(0.2) and len(started) == 2
    gate.set()
    assert executor.wait_idle(30) and sorted(started) == ["a", "b", "c"]
    assert executor.held() == set()
    executor.shutdown()
    assert not executor.submit("d", lambda: None), "a stopped executor takes nothing"
    world.runtime.close()


def test_a_running_change_keeps_its_lease_and_a_holder_that_lost_it_does_not_write_the_outcome(
    store_url: str,
) -> None:
    world = base.make_world(store_url)
    base.STATE.gate = threading.Event()
    approval_id, ts = world.request()
    world.press(BOB, approval_id, settle=False)
    wait_until(lambda: world.status(approval_id) == "executing" and base.STATE.executions, what="the execution")
    holder = world.runtime.executor
    world.clock.now = NOW + timedelta(seconds=25)
    holder.renew()  # the heartbeat, while the change runs
    running = world.runtime.store.approvals.get(approval_id)
    assert running is not None and running.lease_owner == holder.owner
    assert running.lease_expires_at == NOW + timedelta(seconds=55)

    # The holder stalls past its lease (say, cut off from the database); another bot's leader takes over.
    leader = base.make_world(store_url)
    leader.clock.now = NOW + timedelta(seconds=56)
    assert engine.recover(leader.runtime, leader.outbox, kinds=leader.dispatcher.app.change_kind) == [approval_id]
    leader.settle()
    assert leader.status(approval_id) == "succeeded" and base.STATE.resumes
    assert holder.renew() == {approval_id} and holder.lost(approval_id)

    base.STATE.gate.set()  # the old holder's execute returns at last: its outcome is not recorded
    world.settle()
    actions = world.actions(approval_id)
    assert actions.count("execute") == 1 and actions.count("result") == 1 and actions[-2:] == ["resume", "result"]
    assert "followed to its end" in text_of(leader.outbox.card(ts))
    leader.runtime.close()
    world.runtime.close()


# ----------------------------------------------------------------------------- item 9: resuming after a restart

CHILD = """
import sys, threading, time, yaml
import tests.test_approvals as base
from tests.test_maintenance import LiveClock

world = base.world_from(yaml.safe_load(open(sys.argv[1])), clock=LiveClock())
base.STATE.gate = threading.Event()  # an upgrade that takes its time
approval_id, ts = world.request()
world.press(base.BOB, approval_id, settle=False)
print(approval_id, ts, flush=True)
time.sleep(3600)
"""


@pytest.mark.postgres
def test_a_bot_killed_during_an_upgrade_is_followed_again_by_the_leader_within_one_lease_period(
    fresh_pg_url: str, tmp_path: Path
) -> None:
    lease = 2.0
    raw = base.make_config(fresh_pg_url)
    raw["executions"] = {"lease_seconds": lease}
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(raw))
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(config)], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        approval_id, ts = child.stdout.readline().split()
        leader = world_from(raw, clock=LiveClock())
        store = leader.runtime.store
        wait_until(lambda: "execute" in leader.actions(approval_id), what="the execution in the bot process")
        os.kill(child.pid, signal.SIGKILL)  # the pod is killed: no hand-over, the lease just stops being renewed
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(30)
    background = Background(leader.runtime, leader.outbox, app=leader.dispatcher.app).start()
    try:
        # Within one lease period of the kill (plus the leader's few-second check and a loaded machine's slack).
        wait_until(lambda: leader.status(approval_id) == "succeeded", timeout=lease + 15, what="the resumed outcome")
    finally:
        background.stop()
    actions = leader.actions(approval_id)
    assert actions.count("execute") == 1 and actions.count("resume") == 1 and actions[-1] == "result"
    assert not base.STATE.executions and len(base.STATE.resumes) == 1, "followed again here, never run again"
    thread = "\n".join(text_of(leader.outbox.card(r_ts)) for _c, r_ts, _r, t in leader.outbox.posts if t == ts)
    assert "another one took it over" in thread and "Done: touch" in thread
    approval = store.approvals.get(approval_id)
    assert approval is not None and approval.lease_owner == leader.runtime.executor.owner
    leader.runtime.close()
