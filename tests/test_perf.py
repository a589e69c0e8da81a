"""`/minio perf`: MinIO's object speed test as an approved action, from the user's side.

Given the demo tenant on the simulator (4 nodes x 2 drives), a speed test requested by one person runs
only after another approves it, once; its progress and its result (PUT and GET per node, latencies,
a chart) arrive in the card's thread. Bad settings and unknown tenants get a short answer and nothing
is requested; two tests approved at the same moment run once; a failing node is named; MinIO's own
refusal (not enough free space) is said in the card. The performance diagnostic offers the test as a
button that requests it the same way.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.commands import UsageError
from bot.interactions import Click, ClickResult
from bot.report import Action, Report
from handlers import incidents, perf
from handlers.perf import plan as perf_plan
from handlers.perf.evaluate import OtherRequest, first_of
from sandbox.minio_sim import SimCluster
from tests.fixtures.minio import ClusterFactory
from tests.reading import plain, report_text
from tests.test_approvals import ALICE, BOB, CAROL, OPS, World, world_from
from tests.test_data import site_config

FAST = 0.05  # the simulator's speed-test clock: a 10 s test (10 s PUT + 10 s GET) streams for 1 s


def make_site(cluster: SimCluster, tmp_path: Path, *capabilities: Any) -> World:
    raw = site_config(cluster, tmp_path, f"sqlite:///{tmp_path / 'state.db'}")
    raw["tenants"][0]["approvals"]["perf"] = {"approvers": [ALICE, BOB]}
    cluster.speedtest_clear(time_scale=FAST)
    return world_from(raw, capabilities=(perf.capability, *capabilities))


@pytest.fixture(autouse=True)
def every_progress_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(perf_plan, "PROGRESS_EVERY_S", 0.0)


@pytest.fixture
def site(minio_cluster: SimCluster, tmp_path: Path) -> Iterator[World]:
    world = make_site(minio_cluster, tmp_path)
    yield world
    world.runtime.close()


def run(world: World, text: str, user: str = ALICE) -> Report:
    command = world.dispatcher.parse(text)
    assert not isinstance(command, UsageError), plain(command.text)
    return world.dispatcher.run(user, OPS, command, outbox=world.outbox)


def thread_texts(world: World, card_ts: str) -> list[str]:
    """Everything said in the card's thread: posts, and the progress message as it was edited."""
    texts = [report_text(r) for r in world.outbox.thread(card_ts)]
    progress_ts = {ts for _c, ts, r, t in world.outbox.posts if t == card_ts and r.title.startswith("Progress")}
    texts += [report_text(r) for _c, ts, r in world.outbox.updates if ts in progress_ts]
    return texts


def result_report(world: World, card_ts: str) -> Report:
    [report] = [r for r in world.outbox.thread(card_ts) if r.title.startswith("Speed test of demo:")]
    return report


def test_a_speed_test_runs_once_after_a_second_person_approves_and_posts_per_node_figures_and_a_chart(
    site: World, minio_cluster: SimCluster
) -> None:
    requested = run(site, "/minio perf demo --duration 10s --size 4MiB --concurrency 8")
    assert not requested.failed, report_text(requested)
    [(channel, card_ts, card, _)] = site.outbox.posts
    text = report_text(card)
    assert channel == OPS and "Speed test of demo (10 s PUT + 10 s GET)" in text
    assert "8 streams of 4.00 MiB objects: 10 s of PUT, then 10 s of GET" in text
    assert "held by MinIO while the test runs (about 20 s)" in text
    assert "All 4 nodes and 8 drives are online" in text and "No drive is healing" in text
    assert "No other speed test is running on this tenant" in text
    assert minio_cluster.speedtests_started() == 0, "nothing runs before the approval"

    approval = site.runtime.store.approvals.recent(1)[0]
    site.press(ALICE, approval.id)  # the requester cannot approve
    assert minio_cluster.speedtests_started() == 0
    site.press(BOB, approval.id)
    assert site.status(approval.id) == "succeeded", report_text(site.outbox.card(card_ts))
    assert minio_cluster.speedtests_started() == 1 and site.actions(approval.id).count("execute") == 1

    said = "\n".join(thread_texts(site, card_ts))
    assert "Speed test started: 8 streams of 4.00 MiB objects per node" in said
    assert "Measuring:" in said and "Result received after" in said
    report = result_report(site, card_ts)
    body = report_text(report)
    for node in (1, 2, 3, 4):
        assert f"`node {node}`: PUT " in body, body
    assert "GET " in body and "obj/s" in body and "PUT response: avg" in body and "GET first byte: avg" in body
    assert "4 nodes, 8 drives" in body
    [chart] = report.charts
    assert chart.png.startswith(b"\x89PNG") and chart.filename == "speedtest-demo.png"
    assert "Speed test of demo: PUT" in report_text(site.outbox.card(card_ts))


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        ("--duration 1s", "The duration must be within 2-60 s"),
        ("--duration 5m", "The duration must be within 2-60 s"),
        ("--duration soon", "is not a duration"),
        ("--size 128MiB", "The size must be within 4 KiB-64 MiB"),
        ("--size 1KiB", "The size must be within 4 KiB-64 MiB"),
        ("--size 12", "has no unit"),
        ("--concurrency 0", "The concurrency must be within 1-32 streams per node"),
        ("--concurrency 64", "The concurrency must be within 1-32 streams per node"),
        ("--concurrency many", "is not a number of streams"),
    ],
)
def test_settings_out_of_range_get_a_short_answer_and_nothing_is_requested(
    site: World, minio_cluster: SimCluster, arguments: str, says: str
) -> None:
    report = run(site, f"/minio perf demo {arguments}")
    assert report.failed and report.ephemeral and says in report_text(report)
    assert site.outbox.posts == [] and site.runtime.store.approvals.recent(1) == []
    assert minio_cluster.speedtests_started() == 0


def test_an_unknown_tenant_is_refused(site: World) -> None:
    report = run(site, "/minio perf nosuch")
    assert report.failed and "Unknown tenant `nosuch`" in report_text(report).replace("'", "`")
    assert site.outbox.posts == []


def test_someone_who_may_not_request_changes_cannot_start_one(site: World) -> None:
    assert run(site, "/minio perf demo", user=CAROL).failed
    assert site.outbox.posts == []


def _request_two(site: World) -> tuple[str, str]:
    for _ in range(2):
        assert not run(site, "/minio perf demo").failed
    first, second = sorted(site.runtime.store.approvals.recent(2), key=lambda a: a.created_at)
    return first.id, second.id


def test_two_speed_tests_approved_at_the_same_moment_run_once(site: World, minio_cluster: SimCluster) -> None:
    ids = _request_two(site)
    barrier = threading.Barrier(2)

    def approve(approval_id: str) -> None:
        barrier.wait()
        site.press(BOB, approval_id, settle=False)

    pressers = [threading.Thread(target=approve, args=(i,)) for i in ids]
    for presser in pressers:
        presser.start()
    for presser in pressers:
        presser.join(30)
    site.settle()
    statuses = sorted(site.status(i) for i in ids)
    assert minio_cluster.speedtests_started() == 1
    assert statuses.count("succeeded") == 1, statuses
    [other] = [i for i in ids if site.status(i) != "succeeded"]
    card = site.runtime.store.approvals.get(other)
    assert card is not None and card.message_ts is not None
    assert "Another speed test" in report_text(site.outbox.card(card.message_ts)) or \
        "started at the same moment and runs" in report_text(site.outbox.card(card.message_ts))


def test_a_second_speed_test_approved_while_one_runs_is_refused_with_the_reason(
    site: World, minio_cluster: SimCluster
) -> None:
    first, second = _request_two(site)
    site.press(BOB, first, settle=False)
    site.press(BOB, second)  # the first is approved or running now
    site.settle()
    assert site.status(first) == "succeeded" and site.status(second) == "refused"
    approval = site.runtime.store.approvals.get(second)
    assert approval is not None and approval.message_ts is not None
    card = report_text(site.outbox.card(approval.message_ts))
    assert f"Another speed test is running on this tenant (request {first})" in card or \
        f"Another speed test was approved first and runs on this tenant (request {first})" in card
    assert minio_cluster.speedtests_started() == 1


def test_a_request_while_another_is_running_is_not_even_requested(site: World, minio_cluster: SimCluster) -> None:
    assert not run(site, "/minio perf demo").failed
    first = site.runtime.store.approvals.recent(1)[0]
    site.press(BOB, first.id, settle=False)
    refused = run(site, "/minio perf demo")
    site.settle()
    assert refused.failed and "Another speed test" in report_text(refused)
    assert len(site.runtime.store.approvals.recent(5)) == 1 and minio_cluster.speedtests_started() == 1


def test_a_node_that_fails_during_the_test_is_named_in_the_card_and_the_report(
    site: World, minio_cluster: SimCluster
) -> None:
    minio_cluster.speedtest_fail(3)
    run(site, "/minio perf demo")
    approval = site.runtime.store.approvals.recent(1)[0]
    site.press(BOB, approval.id)
    assert approval.message_ts is not None
    assert site.status(approval.id) == "failed"
    card = report_text(site.outbox.card(approval.message_ts))
    assert "1 node(s) failed: node 3" in card
    report = result_report(site, approval.message_ts)
    assert report.status is not None and report.status.value == "UNHEALTHY"
    failed = [plain(r.text) for r in report.sections[0].rows if "failed" in plain(r.text)]
    assert len(failed) == 1 and failed[0].startswith("`node 3`")
    assert "no results for downloads upon first attempt, concurrency 8 and duration 10s" in failed[0]
    assert any("Failed: " in plain(reason) and "node 3" in plain(reason) for reason in report.reasons)
    assert report.charts, "the chart still shows the nodes that measured"


def test_a_slow_node_is_called_slow(site: World, minio_cluster: SimCluster) -> None:
    minio_cluster.speedtest_slow(2, 0.2)
    run(site, "/minio perf demo")
    approval = site.runtime.store.approvals.recent(1)[0]
    site.press(BOB, approval.id)
    assert approval.message_ts is not None and site.status(approval.id) == "succeeded"
    report = result_report(site, approval.message_ts)
    slow = [plain(r.text) for r in report.sections[0].rows if "slow" in plain(r.text)]
    assert len(slow) == 1 and slow[0].startswith("`node 2`")


def test_a_node_down_is_refused_before_anything_runs(site: World, minio_cluster: SimCluster) -> None:
    minio_cluster.stop_node(4)
    report = run(site, "/minio perf demo")
    assert report.failed and "1 of 4 node(s) are not online" in report_text(report)
    assert minio_cluster.speedtests_started() == 0


def test_minio_refusing_the_test_is_said_on_the_card(minio_cluster_factory: ClusterFactory, tmp_path: Path) -> None:
    cluster = minio_cluster_factory([(4, 2)], drive_size=256 << 20)  # under 1 GiB usable: less than 32 x 64 MiB
    world = make_site(cluster, tmp_path)
    try:
        assert not run(world, "/minio perf demo --size 64MiB --concurrency 32").failed
        approval = world.runtime.store.approvals.recent(1)[0]
        world.press(BOB, approval.id)
        assert world.status(approval.id) == "failed" and approval.message_ts is not None
        card = report_text(world.outbox.card(approval.message_ts))
        assert "MinIO did not run the speed test on demo" in card, card
        assert "not enough usable space available to perform speedtest - expected 2.0 GiB, got " in card, card
        assert cluster.speedtests_started() == 0
    finally:
        world.runtime.close()


# ----------------------------------------------------------------------------- the diagnostic's button


def press(world: World, user: str, action: Action) -> ClickResult:
    click = Click(user=user, channel=OPS, message_ts="1700000000.000100", action_id=action.action_id,
                  value=action.value)
    return world.dispatcher.click(click, outbox=world.outbox)


def test_the_performance_diagnostic_offers_a_speed_test_that_runs_after_approval(
    minio_cluster: SimCluster, tmp_path: Path
) -> None:
    world = make_site(minio_cluster, tmp_path, incidents.capability)
    try:
        diagnosis = run(world, "/minio incident performance demo")
        [button] = [a for s in diagnosis.sections for a in s.actions if a.label == "Run a speed test"]
        assert button.confirm and "Someone else must approve" in button.confirm
        refused = press(world, CAROL, button)  # may look, may not request
        assert refused.ephemeral is not None and refused.ephemeral.failed and world.outbox.posts == []

        requested = press(world, ALICE, button)
        assert requested.ephemeral is not None and not requested.ephemeral.failed
        [(_channel, card_ts, card, _)] = world.outbox.posts
        assert "Speed test of demo (10 s PUT + 10 s GET)" in report_text(card)
        approval = world.runtime.store.approvals.recent(1)[0]
        assert approval.requester == ALICE and minio_cluster.speedtests_started() == 0
        world.press(BOB, approval.id)
        assert world.status(approval.id) == "succeeded"
        assert "`node 4`: PUT" in report_text(result_report(world, card_ts))
        assert result_report(world, card_ts).charts
    finally:
        world.runtime.close()


def test_a_forged_button_naming_another_tenant_changes_nothing(site: World) -> None:
    result = press(site, ALICE, perf.speedtest_action("nosuch"))
    assert result.ephemeral is not None and result.ephemeral.failed and site.outbox.posts == []


# ----------------------------------------------------------------------------- who goes first (pure)


def _req(ident: str, status: str, second: int) -> OtherRequest:
    return OtherRequest(id=ident, status=status, created_at=datetime(2026, 1, 1, 9, 0, second, tzinfo=UTC),
                        requester=ALICE)


def test_of_two_requests_approved_together_the_earlier_goes_first_and_only_it() -> None:
    early, late = _req("a", "approved", 1), _req("b", "approved", 2)
    assert first_of(early, [late]) is None and first_of(late, [early]) == early
    # Both already moved to executing (the instant between re-check and execution): still only the earlier.
    early_x, late_x = _req("a", "executing", 1), _req("b", "executing", 2)
    assert first_of(early_x, [late_x]) is None and first_of(late_x, [early_x]) == early_x
    # A running test blocks everyone, whenever they asked; at preview time (no request yet) any active one does.
    assert first_of(_req("c", "approved", 0), [late_x]) == late_x
    assert first_of(None, [late]) == late and first_of(None, []) is None


def test_a_bot_stopped_mid_test_does_not_run_it_again(site: World) -> None:
    run(site, "/minio perf demo --duration 30s")
    approval = site.runtime.store.approvals.recent(1)[0]
    plan = perf_plan.ChangePlan.model_validate(approval.plan)
    lines: list[str] = []
    outcome = perf_plan.SpeedTest().resume(site.runtime, plan, lines.append)
    assert not outcome.ok and "It was not run again." in outcome.summary and "at most 2 min of load" in outcome.summary
    assert "MinIO stops a speed test when its caller disconnects" in lines[0]
