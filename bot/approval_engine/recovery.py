"""Closing what a dead process left half-way: such requests end as failed or refused, and never run again.

A process that dies while executing leaves its request in ``executing``; one
that dies between the approval and the execution leaves it ``approved``. The
first engine use of a new process, and every expiry sweep, closes them.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import weakref
from datetime import datetime
from typing import TYPE_CHECKING

from bot.changes import Outcome
from bot.outbox import Outbox
from bot.redact import redact
from bot.store import Approval

from .card import BOT_ACTOR
from .ledger import advance, record, refresh_card
from .machine import APPROVED, EXECUTING, FAILED, REFUSED, Resolution, abandoned, resolution_of

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger("minio_chatops.approvals")

HOST = socket.gethostname()
# Who runs executions in this process. A later process on the same host (a restarted
# container keeps its pod name) recognises executions left behind by an earlier one.
RUNNER = f"{HOST}:{os.getpid()}:{secrets.token_hex(4)}"

UNKNOWN_OUTCOME = "Outcome unknown: the bot stopped while this was executing."
CHECK_BY_HAND = (
    "It was not run again. Check the target by hand (/minio health) and request the change again if it is still needed."
)


def runner_of(runtime: Runtime, approval_id: str) -> str | None:
    """The process that started executing a request (from its ``execute`` audit event)."""
    for event in runtime.store.audit.for_approval(approval_id):
        if event.action == "execute":
            runner = event.detail.get("runner")
            return str(runner) if runner else None
    return None


def recover(runtime: Runtime, outbox: Outbox, now: datetime | None = None, *, scan: int = 500) -> list[str]:
    """Close requests a dead process left half-way; they are never executed again. Returns the ids closed.

    ``executing`` rows started by an earlier process on this host, or older
    than STALE_EXECUTION_AFTER, become ``failed`` with "outcome unknown".
    ``approved`` rows that never started within STALE_APPROVED_AFTER become
    ``refused`` (nothing ran).
    """
    now = now or runtime.clock()
    closed: list[str] = []
    for approval in runtime.store.approvals.recent(scan):
        if approval.status not in (EXECUTING, APPROVED):
            continue
        runner = runner_of(runtime, approval.id) if approval.status == EXECUTING else None
        verdict = abandoned(approval, runner, now, this_runner=RUNNER, host=HOST)
        if verdict == FAILED and _close_unknown(runtime, outbox, approval, runner):
            closed.append(approval.id)
        elif verdict == REFUSED and _close_never_started(runtime, outbox, approval):
            closed.append(approval.id)
    return closed


def _close_unknown(runtime: Runtime, outbox: Outbox, approval: Approval, runner: str | None) -> bool:
    previous = resolution_of(approval)
    outcome = Outcome(ok=False, summary=UNKNOWN_OUTCOME, lines=[CHECK_BY_HAND])
    resolution = Resolution(headline=UNKNOWN_OUTCOME, findings=previous.findings if previous else [], outcome=outcome)
    if not advance(runtime, approval.id, FAILED, resolution):
        return False
    record(runtime, outbox, "result", BOT_ACTOR, approval=approval, ok=None, outcome="unknown",
           summary=UNKNOWN_OUTCOME, runner=runner)
    refresh_card(runtime, outbox, approval.id)
    return True


def _close_never_started(runtime: Runtime, outbox: Outbox, approval: Approval) -> bool:
    resolution = Resolution(headline="The bot stopped after the approval and before executing; "
                            "nothing was changed. Request it again.")
    if not advance(runtime, approval.id, REFUSED, resolution):
        return False
    record(runtime, outbox, "refuse", BOT_ACTOR, approval=approval, stage="recovery",
           reason="approved but never started")
    refresh_card(runtime, outbox, approval.id)
    return True


_RECOVERED: weakref.WeakSet[Runtime] = weakref.WeakSet()
_RECOVER_LOCK = threading.Lock()


def ensure_recovered(runtime: Runtime, outbox: Outbox) -> None:
    """Run :func:`recover` once per runtime (the first engine use after a start)."""
    with _RECOVER_LOCK:
        if runtime in _RECOVERED:
            return
        _RECOVERED.add(runtime)
    try:
        recover(runtime, outbox)
    except Exception as exc:  # noqa: BLE001 - recovery must not block new requests; the scheduler retries it
        log.error("recovery failed", extra={"error_type": type(exc).__name__, "error": redact(str(exc))[:300]})
