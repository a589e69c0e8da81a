"""An outcome may carry a full report (figures, a chart): the engine posts it in the card's thread, once.

Given a change whose outcome holds a report with a PNG, after a second person approves, the card says
the summary, and the card's thread holds the report with its chart; the stored request keeps only the
summary and lines (a chart is never written into the store).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from bot.application import Capability
from bot.changes import Change, ChangeKind, ChangePlan, Finding, Outcome, Target, seal
from bot.report import Chart, Report, Section
from bot.runtime import Runtime
from tests.test_approvals import ALICE, BOB, World, make_config, text_of, world_from

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


class Measure(ChangeKind):
    name = "test-measure"
    action_kind = "scale"

    def __init__(self) -> None:
        self.runs = 0

    def recheck(self, runtime: Runtime, plan: ChangePlan) -> list[Finding]:
        return [Finding(check="target unchanged", ok=True, detail="as previewed")]

    def execute(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        self.runs += 1
        progress("measuring")
        report = Report(title="Figures of demo", sections=[Section(title="Per node", lines=["node 1: 400 MiB/s"])],
                        charts=[Chart(filename="figures.png", title="figures", png=PNG)])
        return Outcome(ok=True, summary="Measured demo.", lines=["node 1: 400 MiB/s"], report=report)


def measure_plan() -> ChangePlan:
    return seal(ChangePlan(
        kind="test-measure", action_kind="scale", tenant="demo", title="Measure demo", params={},
        targets=[Target(kind="Tenant", name="demo")], changes=[Change(what="load", before="idle", after="measured")],
        planned_at=datetime(2026, 1, 1, tzinfo=UTC),
    ))


@pytest.fixture
def site(store_url: str) -> Iterator[tuple[World, Measure]]:
    kind = Measure()
    capability = Capability("test-measure")
    capability.change_kind(kind)
    world = world_from(make_config(store_url), capabilities=(capability,))
    yield world, kind
    world.runtime.close()


def test_the_outcome_report_and_its_chart_are_posted_in_the_cards_thread(site: tuple[World, Measure]) -> None:
    world, kind = site
    approval_id, card_ts = world.request(measure_plan(), user=ALICE)
    world.press(BOB, approval_id)
    assert world.status(approval_id) == "succeeded" and kind.runs == 1
    assert "Measured demo." in text_of(world.outbox.card(card_ts))
    [figures] = [r for r in world.outbox.thread(card_ts) if r.title == "Figures of demo"]
    assert figures.charts[0].png == PNG and "node 1: 400 MiB/s" in text_of(figures)
    stored = world.runtime.store.approvals.get(approval_id)
    assert stored is not None and stored.result is not None
    assert "Measured demo." in stored.result and "figures.png" not in stored.result


def test_a_report_that_cannot_be_posted_does_not_fail_the_change(site: tuple[World, Measure]) -> None:
    world, _kind = site
    approval_id, card_ts = world.request(measure_plan(), user=ALICE)
    original = world.outbox.post

    def refuse_reports(channel: str, report: Report, thread_ts: str | None = None) -> str:
        if report.title == "Figures of demo":
            raise RuntimeError("Slack said no")
        return original(channel, report, thread_ts)

    world.outbox.post = refuse_reports  # type: ignore[method-assign]
    world.press(BOB, approval_id)
    assert world.status(approval_id) == "succeeded"
    assert not [r for r in world.outbox.thread(card_ts) if r.title == "Figures of demo"]
