"""The approval engine, as the people around a change meet it: requesters, approvers, bystanders and attackers.

These run the engine against the real store (SQLite and PostgreSQL) with a
test change kind, so every rule is checked without Slack or Kubernetes; the
Slack end-to-end, Kubernetes and MinIO scenarios are in test_approvals_slack.py
and test_maintenance.py.
"""

from __future__ import annotations

import itertools
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from bot import approval_engine as engine
from bot.application import Application, Capability
from bot.changes import Change, ChangeKind, ChangePlan, DryRun, Finding, Outcome, Target, seal
from bot.clients.errors import ClientError
from bot.config import parse_config
from bot.dispatch import Dispatcher
from bot.interactions import Click, ClickResult
from bot.invocation import Invocation
from bot.outbox import OutboxError, Prompt
from bot.render.inline import to_mrkdwn
from bot.report import Report
from bot.runtime import Runtime
from bot.store import ApprovalStatus
from handlers import approvals as approval_verbs
from tests.reading import plain, report_text

OPS, OTHER, HIDDEN = "C0OPS", "C0OTHER", "C0HIDDEN"
ALICE, BOB, CAROL, DAVE, ADMIN = "U0ALICE", "U0BOB", "U0CAROL", "U0DAVE", "U0ADMIN"
NOW = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)


# ----------------------------------------------------------------------------- test doubles


_MESSAGE_NUMBERS = itertools.count(1)


@dataclass
class RecordingOutbox:
    """An Outbox that remembers everything (thread-safe), like the Slack one would have sent it."""

    posts: list[tuple[str, str, Report, str | None]] = field(default_factory=list)
    updates: list[tuple[str, str, Report]] = field(default_factory=list)
    modals: list[tuple[str, Prompt]] = field(default_factory=list)
    fail_posts_to: set[str] = field(default_factory=set)
    # One workspace: message timestamps never repeat, even across the outboxes of two bot processes.
    _ids: Iterator[int] = field(default_factory=lambda: _MESSAGE_NUMBERS)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def post(self, channel: str, report: Report, thread_ts: str | None = None) -> str:
        if channel in self.fail_posts_to:
            raise OutboxError("Slack refused the message: not_in_channel", "not_in_channel")
        with self._lock:
            ts = f"{next(self._ids):06d}.000100"
            self.posts.append((channel, ts, report, thread_ts))
        return ts

    def update(self, channel: str, ts: str, report: Report) -> None:
        with self._lock:
            self.updates.append((channel, ts, report))

    def notify(self, channel: str, report: Report) -> None:
        self.post(channel, report)

    def create_channel(self, name: str, private: bool) -> str:
        return "C0NEW"

    def invite(self, channel: str, users: list[str]) -> dict[str, str]:
        return {}

    def pin(self, channel: str, ts: str) -> None:
        return None

    def permalink(self, channel: str, ts: str) -> str | None:
        return f"https://slack.test/{channel}/{ts}"

    def open_modal(self, trigger_id: str, prompt: Prompt) -> None:
        with self._lock:
            self.modals.append((trigger_id, prompt))

    def card(self, ts: str) -> Report:
        """The card as it looks now (its last update, else as posted)."""
        with self._lock:
            for _channel, uts, report in reversed(self.updates):
                if uts == ts:
                    return report
            return next(r for _c, pts, r, _t in self.posts if pts == ts)

    def thread(self, ts: str) -> list[Report]:
        with self._lock:
            return [r for _c, _ts, r, t in self.posts if t == ts]


def text_of(report: Report) -> str:
    return report_text(report)


@dataclass
class TouchState:
    """What the test change kind does; reset for every test."""

    executions: list[str] = field(default_factory=list)
    recheck: list[Finding] = field(default_factory=list)
    fail_with: Exception | None = None
    delay_s: float = 0.0
    steps: int = 1
    gate: threading.Event | None = None  # execute() waits for it: a change that is still running
    resumes: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


STATE = TouchState()


class Touch(ChangeKind):
    """A harmless change kind: execute() only counts (and can be told to fail, dawdle or wait for a gate)."""

    name = "test-touch"
    action_kind = "scale"

    def recheck(self, runtime: Runtime, plan: ChangePlan) -> list[Finding]:
        return [Finding(check="target unchanged", ok=True, detail="as previewed"), *STATE.recheck]

    def execute(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        with STATE.lock:
            STATE.executions.append(str(plan.params["n"]))
        for step in range(STATE.steps):
            progress(f"step {step + 1}")
        time.sleep(STATE.delay_s)
        if STATE.gate is not None:
            STATE.gate.wait(120)
        if STATE.fail_with is not None:
            raise STATE.fail_with
        return Outcome(ok=True, summary=f"touched {plan.params['n']}")

    def resume(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        """Follows the touch to its end without touching again (the resume of a real kind re-reads its target)."""
        with STATE.lock:
            STATE.resumes.append(str(plan.params["n"]))
        progress("the touch is there")
        return Outcome(ok=True, summary=f"touch {plan.params['n']} followed to its end")


_plans = itertools.count(1)


def touch_plan(tenant: str = "demo", *, preflight: list[Finding] | None = None, dry_ok: bool = True) -> ChangePlan:
    n = next(_plans)
    return seal(ChangePlan(
        kind="test-touch", action_kind="scale", tenant=tenant, title=f"Touch {tenant} #{n}", params={"n": n},
        targets=[Target(kind="Tenant", namespace="ns", name=tenant, resource_version="100")],
        changes=[Change(what="touched", before="no", after="yes")],
        dry_run=DryRun(ok=dry_ok, detail="dry run " + ("accepted" if dry_ok else "denied: cannot patch")),
        preflight=preflight or [Finding(check="write quorum", ok=True, detail="fine")],
        risk="low", planned_at=NOW,
    ))


@pytest.fixture(autouse=True)
def fresh_state() -> Iterator[None]:
    global STATE
    STATE = TouchState()
    yield


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def make_config(store_url: str, approvers: list[str] | None = None, **tenant: Any) -> dict[str, Any]:
    return {
        "admins": [ADMIN],
        "store_url": store_url,
        "channels": [{"id": OPS}, {"id": OTHER}, {"id": HIDDEN}],
        "tenants": [
            {
                "name": "demo",
                "endpoints": ["http://127.0.0.1:9"],
                "credentials": {"access_key_env": "AK", "secret_key_env": "SK"},
                "channels": [OPS, OTHER],
                "operators": [ALICE],
                "approvals": {"scale": {"approvers": approvers or [BOB, CAROL]}},
                **tenant,
            },
            {
                "name": "secret",
                "endpoints": ["http://127.0.0.1:9"],
                "credentials": {"access_key_env": "AK", "secret_key_env": "SK"},
                "channels": [HIDDEN],
                "operators": [ALICE],
                "approvals": {"scale": {"approvers": [BOB]}},
            },
        ],
    }


@dataclass
class World:
    """One bot process: a runtime on the test store, an outbox, and the buttons."""

    runtime: Runtime
    outbox: RecordingOutbox
    clock: Clock
    dispatcher: Dispatcher

    def inv(self, user: str, channel: str = OPS) -> Invocation:
        return Invocation(user=user, channel=channel, runtime=self.runtime, app=self.dispatcher.app,
                          outbox=self.outbox)

    def request(self, plan: ChangePlan | None = None, user: str = ALICE, channel: str = OPS) -> tuple[str, str]:
        """Request a change as `user`; (approval id, card ts)."""
        report = engine.request_change(self.inv(user, channel), plan or touch_plan())
        assert not report.failed, text_of(report)
        approval = self.runtime.store.approvals.recent(1)[0]
        assert approval.message_ts is not None
        return approval.id, approval.message_ts

    def press(self, user: str, approval_id: str, button: str = engine.APPROVE, *, channel: str = OPS,
              ts: str | None = None, value: str | None = None, trigger: str | None = "trig",
              settle: bool = True) -> ClickResult:
        approval = self.runtime.store.approvals.get(approval_id)
        assert approval is not None
        click = Click(
            user=user,
            channel=channel,
            message_ts=ts or approval.message_ts or "",
            action_id=f"{button}:{approval_id}",
            value=value if value is not None else f"{approval_id}:{approval.plan_hash}",
            trigger_id=trigger,
        )
        result = self.dispatcher.click(click, outbox=self.outbox)
        if settle:
            self.settle()
        return result

    def settle(self, timeout: float = 60) -> None:
        """Wait until the changes this bot started (on its change executor) have ended."""
        assert self.runtime.executor.wait_idle(timeout), "an execution is still running"

    def status(self, approval_id: str) -> str:
        approval = self.runtime.store.approvals.get(approval_id)
        assert approval is not None
        return approval.status

    def actions(self, approval_id: str) -> list[str]:
        return [e.action for e in self.runtime.store.audit.for_approval(approval_id)]


def world_from(raw: dict[str, Any], *, clock: Clock | None = None, capabilities: tuple[Capability, ...] = ()) -> World:
    """A World for a YAML-shaped config: the approval engine, the test change kind, plus `capabilities`."""
    clock = clock or Clock()
    runtime = Runtime(parse_config(yaml.safe_dump(raw)), clock=clock, environ={})
    app = Application()
    app.include(engine.capability)
    touch = Capability("test-touch")
    touch.change_kind(Touch())
    app.include(touch)
    for capability in capabilities:
        app.include(capability)
    return World(runtime, RecordingOutbox(), clock, Dispatcher(runtime, app))


def make_world(store_url: str, **config_overrides: Any) -> World:
    approvers = config_overrides.pop("approvers", None)
    tenant = config_overrides.pop("tenant", {})
    raw = make_config(store_url, approvers, **tenant)
    raw.update(config_overrides)
    return world_from(raw)


@pytest.fixture
def world(store_url: str) -> Iterator[World]:
    w = make_world(store_url)
    yield w
    w.runtime.close()


def ephemeral(result: ClickResult) -> str:
    assert result.ephemeral is not None, "expected an ephemeral answer"
    return text_of(result.ephemeral)


# ----------------------------------------------------------------------------- requesting


def test_a_request_posts_a_card_with_the_preview_and_buttons_and_is_audited(world: World) -> None:
    plan = touch_plan()
    report = engine.request_change(world.inv(ALICE), plan)
    assert report.ephemeral and "Request `" in plain(report.summary)
    [(channel, ts, card, thread)] = world.outbox.posts
    assert (channel, thread) == (OPS, None)
    assert [a.label for a in card.actions] == ["Approve", "Reject", "Cancel request"]
    approval = world.runtime.store.approvals.recent(1)[0]
    assert all(a.value == f"{approval.id}:{plan.plan_hash}" for a in card.actions)
    assert all(a.confirm for a in card.actions), "every button that changes state asks for confirmation"
    text = text_of(card)
    assert "touched: no → yes" in text and "dry run accepted" in text and plan.plan_hash[:12] in text
    assert "@U0ALICE asks to" in text and "2025-03-04 09:30 UTC" in text
    [event] = world.runtime.store.audit.for_approval(approval.id)
    assert (event.action, event.actor, event.plan_hash, event.tenant) == ("request", ALICE, plan.plan_hash, "demo")
    assert approval.channel == OPS and approval.message_ts == ts and approval.resource_version == "100"


def test_the_card_goes_to_the_tenants_approval_channel(store_url: str) -> None:
    w = make_world(store_url, tenant={"approval_channel": OTHER})
    report = engine.request_change(w.inv(ALICE), touch_plan())
    assert w.outbox.posts[0][0] == OTHER and f"in #{OTHER}" in plain(report.summary)
    approval_id = w.runtime.store.approvals.recent(1)[0].id
    assert "only be decided on its card" in ephemeral(w.press(BOB, approval_id, channel=OPS))
    assert w.press(BOB, approval_id, channel=OTHER).ephemeral is None
    assert w.status(approval_id) == "succeeded"
    w.runtime.close()


def test_a_plan_whose_preview_failed_is_not_requested_and_the_refusal_is_audited(world: World) -> None:
    blocked = touch_plan(preflight=[Finding(check="write quorum", ok=False, detail="set 0 lost write quorum")])
    report = engine.request_change(world.inv(ALICE), blocked)
    assert report.failed and "set 0 lost write quorum" in plain(report.summary)
    denied = engine.request_change(world.inv(ALICE), touch_plan(dry_ok=False))
    assert denied.failed and "cannot patch" in plain(denied.summary)
    assert not world.outbox.posts and not world.runtime.store.approvals.recent(5)
    refusals = [e for e in world.runtime.store.audit.recent(5) if e.action == "refuse"]
    assert len(refusals) == 2 and refusals[0].detail["stage"] == "request"


def test_a_card_that_cannot_be_posted_cancels_the_request(world: World) -> None:
    world.outbox.fail_posts_to.add(OPS)
    report = engine.request_change(world.inv(ALICE), touch_plan())
    assert report.failed and "not_in_channel" in plain(report.summary)
    approval = world.runtime.store.approvals.recent(1)[0]
    assert approval.status == "cancelled"
    assert world.actions(approval.id) == ["request", "cancel"]


# ----------------------------------------------------------------------------- who may approve


def test_the_requester_cannot_approve_their_own_request(world: World) -> None:
    approval_id, _ = world.request(user=BOB)  # bob is an approver, but this is his own request
    text = ephemeral(world.press(BOB, approval_id))
    assert "You requested this change; someone else must approve it." in text
    assert world.status(approval_id) == "pending" and not STATE.executions
    refusal = world.runtime.store.audit.for_approval(approval_id)[-1]
    assert (refusal.action, refusal.actor, refusal.detail["reason"]) == ("refuse", BOB, "the requester may not decide")


def test_someone_outside_the_approver_group_cannot_approve(world: World) -> None:
    approval_id, _ = world.request()
    text = ephemeral(world.press(DAVE, approval_id))
    assert "Only `scale` approvers of `demo`" in text
    assert world.status(approval_id) == "pending" and world.actions(approval_id) == ["request", "refuse"]
    assert not world.runtime.store.approvals.votes(approval_id)


def test_an_admin_may_approve(world: World) -> None:
    approval_id, _ = world.request()
    assert world.press(ADMIN, approval_id).ephemeral is None
    assert world.status(approval_id) == "succeeded"


def test_approval_from_another_channel_or_message_is_refused(world: World) -> None:
    approval_id, _ts = world.request()
    assert "only be decided on its card" in ephemeral(world.press(BOB, approval_id, channel=OTHER))
    assert "only be decided on its card" in ephemeral(world.press(BOB, approval_id, ts="999.000"))
    assert world.status(approval_id) == "pending" and not STATE.executions
    assert world.actions(approval_id).count("refuse") == 2


def test_approval_after_expiry_is_refused_and_the_card_says_expired(world: World) -> None:
    approval_id, ts = world.request()
    world.clock.now = NOW + timedelta(minutes=31)
    text = ephemeral(world.press(BOB, approval_id))
    assert "expired at 2025-03-04 09:30 UTC" in text
    assert world.status(approval_id) == "expired" and not STATE.executions
    card = world.outbox.card(ts)
    assert card.title.startswith("Expired") and not card.actions
    assert world.actions(approval_id) == ["request", "expire"]


def test_the_scheduler_expires_overdue_requests_and_updates_their_cards(world: World) -> None:
    old, old_ts = world.request()
    world.clock.now = NOW + timedelta(minutes=20)
    young, _ = world.request()
    assert engine.expire_due(world.runtime, world.outbox, NOW + timedelta(minutes=31)) == [old]
    assert world.status(old) == "expired" and world.status(young) == "pending"
    assert "Expired" in world.outbox.card(old_ts).title
    assert engine.expire_due(world.runtime, world.outbox, NOW + timedelta(minutes=31)) == [], "expiry happens once"


# ----------------------------------------------------------------------------- exactly once


def test_a_double_click_counts_once_and_executes_once(world: World) -> None:
    approval_id, _ = world.request()
    first = world.press(BOB, approval_id)
    second = world.press(BOB, approval_id)
    assert first.ephemeral is None
    assert "already approved" in ephemeral(second)
    assert len(STATE.executions) == 1 and world.status(approval_id) == "succeeded"
    assert world.actions(approval_id) == ["request", "approve", "approved", "execute", "result"]


def test_the_winning_click_removes_the_buttons_before_executing(world: World) -> None:
    approval_id, ts = world.request()
    world.press(BOB, approval_id)
    states = [r.title.split(":")[0] for _c, uts, r in world.outbox.updates if uts == ts]
    assert states == ["Approved", "Done"], "buttons go with the winning click; the next update is the outcome"
    assert all(not r.actions for _c, uts, r in world.outbox.updates if uts == ts)
    final = text_of(world.outbox.card(ts))
    assert "touched" in final and "Approved by @U0BOB" in final


def test_two_required_approvals_execute_on_the_second_distinct_approver(store_url: str) -> None:
    w = make_world(store_url, tenant={"approvals": {"scale": {"approvers": [BOB, CAROL], "required": 2}}})
    approval_id, ts = w.request()
    assert "1 more approval needed" in ephemeral(w.press(BOB, approval_id))
    assert w.status(approval_id) == "pending" and not STATE.executions
    assert "Approved so far by @U0BOB (1 of 2)" in text_of(w.outbox.card(ts))
    assert "already approved" in ephemeral(w.press(BOB, approval_id)), "the same person cannot count twice"
    assert w.press(CAROL, approval_id).ephemeral is None
    assert w.status(approval_id) == "succeeded" and len(STATE.executions) == 1
    w.runtime.close()


def test_fifty_concurrent_approvers_cause_exactly_one_execution(store_url: str) -> None:
    approvers = [f"U0APPR{i:03d}" for i in range(50)]
    w = make_world(store_url, approvers=approvers)
    STATE.delay_s = 0.2  # keep the execution open while the others arrive
    approval_id, _ = w.request()
    barrier = threading.Barrier(50)
    results: list[ClickResult] = []

    def click(user: str) -> None:
        barrier.wait()
        results.append(w.press(user, approval_id))

    threads = [threading.Thread(target=click, args=(u,)) for u in approvers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(results) == 50
    assert len(STATE.executions) == 1
    actions = w.actions(approval_id)
    assert actions.count("execute") == 1 and actions.count("result") == 1 and actions.count("approved") == 1
    assert w.status(approval_id) == "succeeded"
    assert sum(1 for r in results if r.ephemeral is None) == 1, "one winner; everyone else is told"
    w.runtime.close()


# ----------------------------------------------------------------------------- tampering


@pytest.mark.parametrize(
    "make_value",
    [
        lambda a: f"{a.id}:{'0' * 64}",  # wrong hash
        lambda a: f"{a.id}:",  # hash dropped
        lambda a: f"AAAAAAAAAAAA:{a.plan_hash}",  # another id in the value
        lambda a: "garbage",
    ],
    ids=["wrong-hash", "no-hash", "other-id", "garbage"],
)
def test_a_tampered_button_value_is_refused_and_audited(world: World, make_value: Callable[[Any], str]) -> None:
    approval_id, _ = world.request()
    approval = world.runtime.store.approvals.get(approval_id)
    text = ephemeral(world.press(BOB, approval_id, value=make_value(approval)))
    assert "does not match any approval request" in text
    assert world.status(approval_id) == "pending" and not STATE.executions
    refusal = world.runtime.store.audit.recent(1)[0]
    assert refusal.action == "refuse" and refusal.actor == BOB
    assert refusal.detail["reason"] == "button value does not match the stored request"


def test_a_button_for_an_unknown_request_is_refused_and_audited(world: World) -> None:
    click = Click(user=BOB, channel=OPS, message_ts="1.2", action_id="approve:NoSuchThing1", value="NoSuchThing1:ab")
    result = world.dispatcher.click(click, outbox=world.outbox)
    assert "does not match any approval request" in ephemeral(result)
    event = world.runtime.store.audit.recent(1)[0]
    assert event.action == "refuse" and event.approval_id is None and event.detail["value"] == "NoSuchThing1:ab"


# ----------------------------------------------------------------------------- re-check and execution


def test_a_failed_recheck_refuses_the_change_and_the_card_says_why(world: World) -> None:
    approval_id, ts = world.request()
    STATE.recheck = [Finding(check="write quorum", ok=False, detail="MinIO reports lost write quorum (HTTP 503).")]
    assert world.press(BOB, approval_id).ephemeral is None
    assert world.status(approval_id) == "refused" and not STATE.executions
    card = text_of(world.outbox.card(ts))
    assert "Refused" in card and "lost write quorum (HTTP 503)" in card and "Re-check after approval" in card
    assert world.actions(approval_id) == ["request", "approve", "approved", "refuse"]
    assert "approved but refused" in ephemeral(world.press(CAROL, approval_id))


def test_a_non_blocking_warning_does_not_stop_the_change(world: World) -> None:
    approval_id, ts = world.request()
    STATE.recheck = [Finding(check="healing", ok=False, blocking=False, detail="2 drives heal")]
    world.press(BOB, approval_id)
    assert world.status(approval_id) == "succeeded" and "2 drives heal" in text_of(world.outbox.card(ts))


def test_a_failed_execution_is_recorded_audited_and_shown(world: World) -> None:
    approval_id, ts = world.request()
    STATE.fail_with = ClientError("forbidden", "Kubernetes API", "cannot patch tenant ns/demo: RBAC says no")
    world.press(BOB, approval_id)
    assert world.status(approval_id) == "failed"
    card = text_of(world.outbox.card(ts))
    assert card.startswith("Failed") and "RBAC says no" in card
    result = world.runtime.store.audit.for_approval(approval_id)[-1]
    assert result.action == "result" and result.detail["ok"] is False and "RBAC says no" in result.detail["summary"]


def test_an_unexpected_crash_in_execute_still_ends_the_request(world: World) -> None:
    approval_id, _ = world.request()
    STATE.fail_with = RuntimeError("boom with password=hunter2")
    world.press(BOB, approval_id)
    approval = world.runtime.store.approvals.get(approval_id)
    assert approval is not None and approval.status == "failed"
    assert "RuntimeError" in (approval.result or "") and "hunter2" not in (approval.result or "")


def test_progress_goes_to_one_thread_message_under_the_card(world: World) -> None:
    STATE.steps = 5
    approval_id, ts = world.request()
    world.press(BOB, approval_id)
    [progress] = world.outbox.thread(ts)
    assert "step 1" in text_of(progress)
    last = [r for _c, _ts, r in world.outbox.updates if r.title.startswith("Progress")][-1]
    text = text_of(last)
    assert "step 5" in text and "Done: touched" in text


def test_progress_edits_are_throttled() -> None:
    outbox = RecordingOutbox()
    ticks = iter([0.0, 1.0, 2.0, 11.0, 12.0, 13.0, 30.0])
    progress = engine.ProgressThread(outbox, OPS, "1.1", "x", stamp=lambda: NOW, clock=lambda: next(ticks))
    for n in range(6):
        progress(f"line {n}")
    progress.close("end")
    assert progress.posts == 1
    assert progress.edits == 2, "one edit after 10 s, one final flush; never one per line"
    assert "end" in text_of(outbox.updates[-1][2])


# ----------------------------------------------------------------------------- reject and cancel


def test_reject_asks_for_a_reason_and_the_reason_reaches_the_card(world: World) -> None:
    approval_id, ts = world.request()
    assert world.press(BOB, approval_id, engine.REJECT).ephemeral is None
    [(trigger, prompt)] = world.outbox.modals
    assert trigger == "trig" and prompt.callback_id.startswith(f"reject-reason:{approval_id}:")
    assert (prompt.channel, prompt.message_ts, prompt.min_length) == (OPS, ts, 3)
    submitted = Click(user=BOB, channel=prompt.channel, message_ts=prompt.message_ts, action_id=prompt.callback_id,
                      value="not during the <!channel> backup window")
    result = world.dispatcher.click(submitted, outbox=world.outbox)
    assert "Rejected request" in ephemeral(result)
    assert world.status(approval_id) == "rejected"
    card = world.outbox.card(ts)
    assert not card.actions and "Rejected by @U0BOB: not during the <!channel> backup window" in plain(card.summary)
    assert "<!channel>" not in to_mrkdwn(card.summary), "the reason cannot ping the channel"
    event = world.runtime.store.audit.for_approval(approval_id)[-1]
    assert (event.action, event.detail["reason"]) == ("reject", "not during the <!channel> backup window")
    assert "already rejected" in ephemeral(world.press(CAROL, approval_id))
    assert not STATE.executions


def test_a_tampered_rejection_form_is_refused(world: World) -> None:
    approval_id, ts = world.request()
    forged = Click(user=BOB, channel=OPS, message_ts=ts, action_id=f"reject-reason:{approval_id}:{'f' * 64}",
                   value="because")
    assert "does not match" in ephemeral(world.dispatcher.click(forged, outbox=world.outbox))
    assert world.status(approval_id) == "pending"


def test_reject_without_a_form_points_at_the_command_and_the_command_needs_a_reason(world: World) -> None:
    approval_id, _ = world.request()
    assert f"/minio reject {approval_id}" in ephemeral(world.press(BOB, approval_id, engine.REJECT, trigger=None))
    short = approval_verbs.reject_command(world.inv(BOB), approval_verbs.RejectArgs(id=approval_id, reason=" x "))
    assert short.failed and "at least 3 characters" in plain(short.summary)
    nope = approval_verbs.reject_command(world.inv(DAVE), approval_verbs.RejectArgs(id=approval_id, reason="nah!"))
    assert nope.failed and "approvers" in plain(nope.summary)
    hidden = approval_verbs.reject_command(world.inv(BOB, HIDDEN), approval_verbs.RejectArgs(id=approval_id,
                                                                                            reason="wrong place"))
    assert hidden.failed and "cannot be decided from this channel" in plain(hidden.summary)
    done = approval_verbs.reject_command(world.inv(BOB), approval_verbs.RejectArgs(id=approval_id,
                                                                                  reason="use the other pool"))
    assert not done.failed and world.status(approval_id) == "rejected"


def test_the_requester_cannot_reject_but_can_cancel(world: World) -> None:
    approval_id, ts = world.request()
    assert "use Cancel request" in ephemeral(world.press(ALICE, approval_id, engine.REJECT))
    assert "Only @U0ALICE" in ephemeral(world.press(BOB, approval_id, engine.CANCEL))
    assert "Cancelled request" in ephemeral(world.press(ALICE, approval_id, engine.CANCEL))
    assert world.status(approval_id) == "cancelled" and not world.outbox.card(ts).actions
    assert world.actions(approval_id) == ["request", "refuse", "refuse", "cancel"]
    assert "cancelled" in ephemeral(world.press(BOB, approval_id))


# ----------------------------------------------------------------------------- restarts


def test_a_restarted_bot_serves_the_old_card(store_url: str) -> None:
    first = make_world(store_url)
    approval_id, _ = first.request()
    first.runtime.close()
    second = make_world(store_url)  # a new process: new runtime, new connections, same store
    assert second.press(BOB, approval_id).ephemeral is None
    assert second.status(approval_id) == "succeeded" and len(STATE.executions) == 1
    second.runtime.close()


def interrupted(world: World, owner: str = "bot-pod:1:deadbeef", *, lease: timedelta = timedelta(seconds=30),
                kind_known: bool = True) -> tuple[str, str]:
    """A request left ``executing`` by another bot process (``owner``), whose lease runs until NOW + ``lease``."""
    plan = touch_plan() if kind_known else seal(touch_plan().model_copy(update={"kind": "retired-kind"}))
    approval_id, ts = world.request(plan) if kind_known else _stored_request(world, plan)
    store = world.runtime.store
    assert store.approvals.add_vote(approval_id, BOB, at=NOW)
    assert store.approvals.transition(approval_id, {"pending"}, "approved", decided_at=NOW,
                                      lease_owner=owner, lease_expires_at=NOW + lease)
    assert store.approvals.transition(approval_id, {"approved"}, "executing", executed_at=NOW, held_by=owner)
    store.audit.append(actor="bot", action="execute", approval_id=approval_id, detail={"runner": owner}, at=NOW)
    return approval_id, ts


def _stored_request(world: World, plan: ChangePlan) -> tuple[str, str]:
    approval = world.runtime.store.approvals.create(
        tenant="demo", kind=plan.kind, plan=plan.model_dump(mode="json"), plan_hash=plan.plan_hash,
        requester=ALICE, expires_at=NOW + timedelta(minutes=30), channel=OPS, message_ts="0.000100", created_at=NOW)
    return approval.id, "0.000100"


def test_an_execution_cut_short_by_a_crash_is_resumed_by_the_leader_and_never_rerun(store_url: str) -> None:
    first = make_world(store_url)
    approval_id, ts = interrupted(first)
    first.runtime.close()
    leader = make_world(store_url)  # a new process: new runtime, new connections, same store
    leader.clock.now = NOW + timedelta(seconds=29)
    assert engine.recover(leader.runtime, leader.outbox, kinds=leader.dispatcher.app.change_kind) == []
    leader.clock.now = NOW + timedelta(seconds=31)
    assert engine.recover(leader.runtime, leader.outbox, kinds=leader.dispatcher.app.change_kind) == [approval_id]
    leader.settle()
    assert leader.status(approval_id) == "succeeded"
    assert not STATE.executions and len(STATE.resumes) == 1, "followed again, never executed again"
    assert leader.actions(approval_id)[-3:] == ["execute", "resume", "result"]
    thread = "\n".join(text_of(leader.outbox.card(r_ts)) for _c, r_ts, _r, t in leader.outbox.posts if t == ts)
    assert "another one took it over" in thread and "Done: touch" in thread
    assert "followed to its end" in text_of(leader.outbox.card(ts))
    approval = leader.runtime.store.approvals.get(approval_id)
    assert approval is not None and approval.lease_owner == leader.runtime.executor.owner
    leader.runtime.close()


def test_an_interrupted_execution_of_an_unknown_kind_ends_as_outcome_unknown(world: World) -> None:
    approval_id, _ts = interrupted(world, kind_known=False)
    world.clock.now = NOW + timedelta(minutes=1)
    assert engine.recover(world.runtime, world.outbox, kinds=world.dispatcher.app.change_kind) == [approval_id]
    world.settle()
    approval = world.runtime.store.approvals.get(approval_id)
    assert approval is not None and approval.status == ApprovalStatus.FAILED
    assert "Outcome unknown" in (approval.result or "") and not STATE.executions and not STATE.resumes


def test_a_live_execution_of_another_process_on_the_same_host_is_never_recovered(world: World) -> None:
    # Same host name as this process: today's shell exec'd into the bot's pod. Only the lease counts.
    owner = f"{socket.gethostname()}:1:cafe"
    approval_id, _ = interrupted(world, owner, lease=timedelta(seconds=30))
    kinds = world.dispatcher.app.change_kind
    for hours in (0, 2, 30):  # its holder keeps renewing the lease while the rollout takes its time
        world.clock.now = NOW + timedelta(hours=hours, seconds=10)
        assert world.runtime.store.approvals.renew_leases(owner, [approval_id], world.clock.now + timedelta(seconds=30))
        assert engine.recover(world.runtime, world.outbox, kinds=kinds) == []
        assert engine.expire_due(world.runtime, world.outbox) == []
    assert world.status(approval_id) == "executing" and not STATE.resumes


def test_an_approval_that_never_started_is_refused_once_its_lease_expires(world: World) -> None:
    approval_id, _ = world.request()
    world.runtime.store.approvals.transition(approval_id, {"pending"}, "approved", decided_at=NOW,
                                             lease_owner="bot-pod:1:dead", lease_expires_at=NOW + timedelta(seconds=30))
    assert engine.recover(world.runtime, world.outbox, NOW + timedelta(seconds=29)) == []
    assert engine.recover(world.runtime, world.outbox, NOW + timedelta(seconds=31)) == [approval_id]
    assert world.status(approval_id) == "refused" and not STATE.executions


# ----------------------------------------------------------------------------- configured without approval


def test_a_kind_configured_without_approval_runs_at_once_through_the_same_trail(world: World) -> None:
    report = engine.request_change(world.inv(ALICE), touch_plan(), approval_required=False)
    assert not report.ephemeral and report.title.startswith("Done") and not report.actions
    assert len(STATE.executions) == 1 and not world.outbox.posts
    approval = world.runtime.store.approvals.recent(1)[0]
    assert world.actions(approval.id) == ["request", "approved", "execute", "result"]


# ----------------------------------------------------------------------------- listing and audit verbs


def test_approvals_lists_pending_requests_for_visible_tenants_with_cancel_for_your_own(world: World) -> None:
    mine, _ = world.request(user=ALICE)
    theirs, _ = world.request(user=BOB)
    engine.request_change(world.inv(ALICE, HIDDEN), touch_plan("secret"))
    report = approval_verbs.approvals_command(world.inv(ALICE), approval_verbs.NoArgs())
    text = text_of(report)
    assert mine in text and theirs in text and "secret" not in text
    cancels = [a.action_id for s in report.sections for a in s.actions]
    assert cancels == [f"cancel-request:{mine}"]


def test_audit_shows_every_step_with_users_and_hashes_for_visible_tenants_only(world: World) -> None:
    approval_id, _ = world.request()
    world.press(ALICE, approval_id)  # refused: own request
    world.press(BOB, approval_id)
    engine.request_change(world.inv(ALICE, HIDDEN), touch_plan("secret"))
    report = approval_verbs.audit_command(world.inv(CAROL), approval_verbs.AuditArgs(n=20))
    lines = [plain(r.text) for r in report.sections[0].rows]
    actions = [re.search(r"` (\w+) by ", line).group(1) for line in lines]  # type: ignore[union-attr]
    assert actions == ["result", "execute", "approved", "approve", "refuse", "request"]
    assert all("`demo`" in line for line in lines)
    assert "@U0BOB" in lines[3] and "@U0ALICE" in lines[4]
    approval = world.runtime.store.approvals.get(approval_id)
    assert approval is not None and approval.plan_hash[:12] in lines[0]
    assert len(approval_verbs.audit_command(world.inv(CAROL), approval_verbs.AuditArgs(n=2)).sections[0].rows) == 2


def test_audit_events_are_copied_to_the_audit_channel(store_url: str) -> None:
    w = make_world(store_url, audit_channel="C0AUDIT")
    approval_id, _ = w.request()
    w.press(BOB, approval_id)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len([p for p in w.outbox.posts if p[0] == "C0AUDIT"]) < 5:
        time.sleep(0.05)
    lines = [plain(p[2].summary) for p in w.outbox.posts if p[0] == "C0AUDIT"]
    assert len(lines) == 5 and "request by @U0ALICE" in lines[0] and "result by bot" in lines[-1]
    w.runtime.close()
