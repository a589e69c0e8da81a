"""The engine's writes: move a request along one arrow, append to the audit trail, redraw the card.

Races are settled by the store (one conditional UPDATE per move, one guarded
INSERT per vote); the audit trail is append-only and is also written as a
structured log line and, when configured, copied to the audit channel through
the outbox like every other message.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.outbox import Outbox
from bot.report import Report
from bot.store import Approval, ApprovalStatus, AuditEvent

from .card import approval_card, audit_line
from .machine import MAX_ID_CHARS, Resolution, source_of

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger("minio_chatops.approvals")
audit_log = logging.getLogger("minio_chatops.audit")


def find(runtime: Runtime, approval_id: str) -> Approval | None:
    """The request called ``approval_id`` (None for no such request, or for text that cannot be an id)."""
    if not 0 < len(approval_id) <= MAX_ID_CHARS:
        return None
    return runtime.store.approvals.get(approval_id)


def advance(
    runtime: Runtime,
    approval_id: str,
    to: ApprovalStatus,
    resolution: Resolution | None = None,
    *,
    decided_at: datetime | None = None,
    executed_at: datetime | None = None,
    lease_owner: str | None = None,
    lease_expires_at: datetime | None = None,
    held_by: str | None = None,
    lease_expired_by: datetime | None = None,
) -> bool:
    """Move a request to ``to`` from the one status the machine allows; True for the one caller that did.

    ``lease_owner``/``lease_expires_at`` make a process the request's holder; ``held_by`` moves it only
    while that process still holds it; ``lease_expired_by`` only once its holder's lease has expired.
    """
    return runtime.store.approvals.transition(
        approval_id, {source_of(to)}, to, decided_at=decided_at, executed_at=executed_at,
        result=resolution.dump() if resolution is not None else None,
        lease_owner=lease_owner, lease_expires_at=lease_expires_at, held_by=held_by,
        lease_expired_by=lease_expired_by,
    )


def record(
    runtime: Runtime,
    outbox: Outbox | None,
    action: str,
    actor: str,
    *,
    approval: Approval | None = None,
    tenant: str | None = None,
    plan_hash: str | None = None,
    **detail: Any,
) -> AuditEvent:
    """Append one audit event, log it as a structured line, and copy it to the audit channel if configured."""
    if approval is not None:
        detail.setdefault("kind", approval.kind)
    event = runtime.store.audit.append(
        actor=actor,
        action=action,
        tenant=tenant or (approval.tenant if approval else None),
        approval_id=approval.id if approval else None,
        plan_hash=plan_hash or (approval.plan_hash if approval else None),
        detail=json.loads(json.dumps(detail, default=str)),
        at=runtime.clock(),
    )
    audit_log.info(
        "audit",
        extra={
            "audit_action": event.action,
            "actor": event.actor,
            "tenant": event.tenant,
            "approval_id": event.approval_id,
            "plan_hash": event.plan_hash,
            "detail": json.dumps(event.detail, sort_keys=True),
        },
    )
    channel = runtime.config.audit_channel
    if channel and outbox is not None:
        outbox.notify(channel, Report(title="", summary=audit_line(event)))
    return event


def refresh_card(runtime: Runtime, outbox: Outbox, approval_id: str) -> Approval | None:
    """Redraw a request's card from the store and return the request (a failed redraw is logged, never raised)."""
    approval = runtime.store.approvals.get(approval_id)
    if approval is None or not approval.channel or not approval.message_ts:
        return approval
    try:
        outbox.update(approval.channel, approval.message_ts, approval_card(approval))
    except Exception as exc:  # noqa: BLE001 - e.g. the card was deleted; the store and audit stay right
        log.warning("card update failed", extra={"approval_id": approval_id, "error_type": type(exc).__name__})
    return approval
