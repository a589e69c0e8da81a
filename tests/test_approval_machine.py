"""The approval state machine's rules on their own: no store, no Slack, no clock but the one given.

Each test states a rule as the people around a change meet it (requester,
approvers, bystanders, a restarted bot) and checks the pure decision; the
same rules end to end are in test_approvals.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.approval_engine.machine import (
    APPROVE,
    MAX_RESUMES,
    REJECT,
    Leftover,
    abandoned,
    blocking,
    canceller_refusal,
    channel_may_decide,
    claim_matches,
    claim_of,
    clean_reason,
    decider_refusal,
    integrity_findings,
    is_overdue,
    may_resume,
    pressed_on_card,
    source_of,
    votes_counted,
)
from bot.changes import ChangePlan, Finding, Target, seal
from bot.store import Approval, ApprovalStatus
from tests.reading import plain

NOW = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
ALICE, BOB, DAVE = "U0ALICE", "U0BOB", "U0DAVE"
HERE = "myhost:100:cafe"


def a_plan(**changes: Any) -> ChangePlan:
    plan = ChangePlan(kind="maintenance-enable", action_kind="maintenance", tenant="demo", title="Enable maintenance",
                      params={"hours": 2}, targets=[Target(kind="Tenant", namespace="ns", name="demo",
                                                           resource_version="7")], planned_at=NOW)
    return seal(plan).model_copy(update=changes)


def a_request(status: ApprovalStatus = ApprovalStatus.PENDING, **fields: Any) -> Approval:
    plan = a_plan()
    values: dict[str, Any] = {
        "id": "Ab3dE5fG7hJ9", "tenant": "demo", "kind": plan.kind, "plan": plan.model_dump(mode="json"),
        "plan_hash": plan.plan_hash, "resource_version": "7", "status": status, "requester": ALICE,
        "approvals_required": 1, "channel": "C0OPS", "message_ts": "1.100", "created_at": NOW,
        "expires_at": NOW + timedelta(minutes=30), "decided_at": None, "executed_at": None, "result": None,
    }
    return Approval(**{**values, **fields})


def never(_user: str) -> bool:
    raise AssertionError("must not be asked")


# ----------------------------------------------------------------------------- the arrows


def test_every_status_but_pending_is_reached_from_exactly_one_status() -> None:
    assert {s: source_of(s) for s in ApprovalStatus if s != ApprovalStatus.PENDING} == {
        ApprovalStatus.APPROVED: ApprovalStatus.PENDING,
        ApprovalStatus.REJECTED: ApprovalStatus.PENDING,
        ApprovalStatus.CANCELLED: ApprovalStatus.PENDING,
        ApprovalStatus.EXPIRED: ApprovalStatus.PENDING,
        ApprovalStatus.EXECUTING: ApprovalStatus.APPROVED,
        ApprovalStatus.REFUSED: ApprovalStatus.APPROVED,
        ApprovalStatus.SUCCEEDED: ApprovalStatus.EXECUTING,
        ApprovalStatus.FAILED: ApprovalStatus.EXECUTING,
    }


def test_nothing_goes_back_to_pending() -> None:
    with pytest.raises(ValueError, match="no arrow"):
        source_of(ApprovalStatus.PENDING)


def test_a_request_is_overdue_only_while_pending_and_past_its_deadline() -> None:
    request = a_request()
    assert not is_overdue(request, NOW + timedelta(minutes=29))
    assert is_overdue(request, NOW + timedelta(minutes=30))
    assert not is_overdue(a_request(ApprovalStatus.APPROVED), NOW + timedelta(hours=1))


# ----------------------------------------------------------------------------- who may decide


def test_the_requester_may_not_approve_and_is_not_even_looked_up_as_an_approver() -> None:
    refusal = decider_refusal(a_request(), ALICE, APPROVE, tenant_configured=True, approver=never)
    assert refusal is not None and refusal.reason == "the requester may not decide"
    assert plain(refusal.text) == "You requested this change; someone else must approve it."


def test_a_requester_who_tries_to_reject_is_pointed_at_cancel() -> None:
    refusal = decider_refusal(a_request(), ALICE, REJECT, tenant_configured=True, approver=never)
    assert refusal is not None and "use Cancel request (or `/minio cancel Ab3dE5fG7hJ9`)" in plain(refusal.text)


def test_only_approvers_of_the_plans_action_kind_may_decide() -> None:
    refusal = decider_refusal(a_request(), DAVE, APPROVE, tenant_configured=True, approver=lambda u: u == BOB)
    assert refusal is not None and refusal.reason == "not an approver"
    assert "Only `maintenance` approvers of `demo` may approve this request" in plain(refusal.text)
    assert decider_refusal(a_request(), BOB, REJECT, tenant_configured=True, approver=lambda u: u == BOB) is None


def test_a_request_for_a_tenant_no_longer_configured_cannot_be_decided() -> None:
    refusal = decider_refusal(a_request(), BOB, APPROVE, tenant_configured=False, approver=never)
    assert refusal is not None and refusal.reason == "unknown tenant"


def test_the_requester_or_an_admin_may_cancel_nobody_else() -> None:
    assert canceller_refusal(a_request(), ALICE, admin=never) is None
    assert canceller_refusal(a_request(), DAVE, admin=lambda u: u == DAVE) is None
    refusal = canceller_refusal(a_request(), BOB, admin=lambda _u: False)
    assert refusal is not None and plain(refusal.text) == "Only @U0ALICE, who requested it, can cancel this request."


def test_a_command_decides_from_the_cards_channel_or_one_that_sees_the_tenant() -> None:
    request = a_request()
    assert channel_may_decide(request, "C0OPS", sees_tenant=lambda: False)
    assert channel_may_decide(request, "C0OTHER", sees_tenant=lambda: True)
    assert not channel_may_decide(request, "C0HIDDEN", sees_tenant=lambda: False)


def test_the_requesters_own_vote_never_counts() -> None:
    assert votes_counted(a_request(), [BOB, ALICE, DAVE]) == [BOB, DAVE]


def test_a_reason_is_one_line_and_says_something() -> None:
    assert clean_reason("  not during\n the backup  window ") == "not during the backup window"
    assert clean_reason(" x ") is None


# ----------------------------------------------------------------------------- what a click claims


def test_a_button_claims_the_request_and_the_plan_it_was_drawn_for() -> None:
    request = a_request()
    claim = claim_of(f"approve:{request.id}", f"{request.id}:{request.plan_hash}")
    assert claim.names_an_id and claim_matches(claim, request)
    form = claim_of(f"reject-reason:{request.id}:{request.plan_hash}", "because the backup runs")
    assert claim_matches(form, request), "a form carries the hash in its id; its value is the typed reason"


@pytest.mark.parametrize(
    ("action_id", "value"),
    [
        ("approve:Ab3dE5fG7hJ9", "Ab3dE5fG7hJ9:" + "0" * 64),  # another plan
        ("approve:Ab3dE5fG7hJ9", "Ab3dE5fG7hJ9:"),  # no hash
        ("approve:Ab3dE5fG7hJ9", "ZZZZZZZZZZZZ:{hash}"),  # another request in the value
        ("approve:Ab3dE5fG7hJ9", "garbage"),
        ("reject-reason:Ab3dE5fG7hJ9:" + "f" * 64, "because"),  # a forged form
    ],
    ids=["wrong-hash", "no-hash", "other-id", "garbage", "forged-form"],
)
def test_an_altered_click_matches_no_request(action_id: str, value: str) -> None:
    request = a_request()
    assert not claim_matches(claim_of(action_id, value.format(hash=request.plan_hash)), request)


def test_an_overlong_or_empty_id_is_not_an_id() -> None:
    assert not claim_of("approve:" + "A" * 33, "x").names_an_id
    assert not claim_of("approve", "").names_an_id


def test_a_click_counts_only_on_the_requests_own_card() -> None:
    request = a_request()
    assert pressed_on_card(request, "C0OPS", "1.100")
    assert not pressed_on_card(request, "C0OTHER", "1.100")
    assert not pressed_on_card(request, "C0OPS", "9.999")


# ----------------------------------------------------------------------------- re-check and recovery


def test_a_plan_that_no_longer_matches_its_hash_is_never_run() -> None:
    request = a_request()
    tampered = a_plan(params={"hours": 200})
    [finding] = integrity_findings(request, tampered, kind_known=True)
    assert finding.check == "plan integrity" and blocking([finding]) == [finding]
    assert integrity_findings(request, None, kind_known=True)[0].check == "plan integrity"
    assert integrity_findings(request, a_plan(), kind_known=False)[0].check == "change kind"
    assert integrity_findings(request, a_plan(), kind_known=True) == []


def test_only_failed_blocking_findings_stop_a_change() -> None:
    warn = Finding(check="healing", ok=False, blocking=False, detail="2 drives heal")
    stop = Finding(check="quorum", ok=False, detail="lost")
    assert blocking([Finding(check="ok", ok=True, detail="fine"), warn, stop]) == [stop]


def test_only_an_expired_lease_leaves_an_execution_behind_whatever_host_holds_it() -> None:
    lease_end = NOW + timedelta(seconds=30)
    for owner in (HERE, "myhost:99:dead", "otherpod:7:beef"):  # this process, another on this host, another pod
        running = a_request(ApprovalStatus.EXECUTING, executed_at=NOW, lease_owner=owner, lease_expires_at=lease_end)
        assert abandoned(running, NOW + timedelta(seconds=29)) is None, owner
        assert abandoned(running, NOW + timedelta(seconds=31)) == Leftover.INTERRUPTED, owner
    renewed = a_request(ApprovalStatus.EXECUTING, executed_at=NOW, lease_owner=HERE,
                        lease_expires_at=NOW + timedelta(hours=3))
    assert abandoned(renewed, NOW + timedelta(hours=2)) is None, "a renewed lease keeps an hour-long rollout alive"


def test_an_approval_that_never_started_is_refused_once_its_lease_expires() -> None:
    approved = a_request(ApprovalStatus.APPROVED, decided_at=NOW, lease_owner=HERE,
                         lease_expires_at=NOW + timedelta(seconds=30))
    assert abandoned(approved, NOW + timedelta(seconds=29)) is None
    assert abandoned(approved, NOW + timedelta(seconds=31)) == Leftover.NEVER_STARTED
    assert abandoned(a_request(), NOW + timedelta(days=1)) is None, "pending requests expire; they are not left"


def test_a_request_from_before_leases_counts_as_left_behind_and_resumes_are_bounded() -> None:
    assert abandoned(a_request(ApprovalStatus.EXECUTING, executed_at=NOW), NOW) == Leftover.INTERRUPTED
    assert abandoned(a_request(ApprovalStatus.SUCCEEDED, executed_at=NOW), NOW + timedelta(days=1)) is None
    assert may_resume(0) and may_resume(MAX_RESUMES - 1) and not may_resume(MAX_RESUMES)
