"""PostgreSQL restarted while approvals wait: none is lost, none runs twice, and the outage is said, not crashed on."""

from __future__ import annotations

from datetime import timedelta

import pytest

import tests.test_approvals as base
from bot import approval_engine as engine
from bot.interactions import Click
from tests.fixtures.postgres import PostgresServer
from tests.reading import plain

pytestmark = pytest.mark.postgres


def test_postgres_restarted_while_approvals_wait(postgres_server: PostgresServer, fresh_pg_url: str) -> None:
    base.STATE = base.TouchState()  # the test change kind counts its executions here
    world = base.make_world(fresh_pg_url)
    pending = []
    for _ in range(3):
        world.clock.now += timedelta(seconds=1)  # distinct request times: `request()` reads back the newest
        pending.append(world.request()[0])
    assert len(set(pending)) == 3
    cards = {a: world.runtime.store.approvals.get(a) for a in pending}

    postgres_server.stop()
    try:
        first = cards[pending[0]]
        assert first is not None
        click = Click(user=base.BOB, channel=base.OPS, message_ts=first.message_ts or "",
                      action_id=f"{engine.APPROVE}:{first.id}", value=f"{first.id}:{first.plan_hash}")
        during = world.dispatcher.click(click, outbox=world.outbox)
        # The approver is told it did not go through; nothing ran.
        assert during.ephemeral is not None and during.ephemeral.failed
        assert "state store" in plain(during.ephemeral.summary)
        assert "Traceback" not in base.text_of(during.ephemeral)
        assert not base.STATE.executions
    finally:
        postgres_server.start()

    # After the restart every request is still pending and runs exactly once, even when two approvers press.
    for approval_id in pending:
        assert world.status(approval_id) == "pending"
        world.press(base.BOB, approval_id)
        world.press(base.CAROL, approval_id)
    assert sorted(world.status(a) for a in pending) == ["succeeded"] * 3
    assert len(base.STATE.executions) == 3
    for approval_id in pending:
        assert world.actions(approval_id).count("execute") == 1
    world.runtime.close()
