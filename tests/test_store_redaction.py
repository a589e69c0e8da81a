"""Snapshots, plans and audit rows never hold a literal secret (issue 14, item 7), on SQLite and PostgreSQL.

The repositories redact structured data before they write it; these tests read
the raw rows back with plain SQL, as anyone with database access would.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, select

from bot.redact import MASK
from bot.store import Store
from bot.store.schema import metadata

PASSWORD = "root-Pa55-word-77"
TOKEN = "tok-9f8e7d6c5b4a"
SPEC = {
    "image": "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z",
    "env": [
        {"name": "MINIO_ROOT_PASSWORD", "value": PASSWORD},
        {"name": "MINIO_BROWSER", "value": "on"},
        {"name": "MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_PRIMARY", "value": TOKEN},
    ],
    "pools": [{"name": "pool-0", "servers": 4, "volumesPerServer": 2}],
}


def everything_stored(url: str) -> str:
    """Every row of every table, as text."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = [str(tuple(row)) for table in metadata.sorted_tables for row in conn.execute(select(table))]
    finally:
        engine.dispose()
    return "\n".join(rows)


def test_a_spec_with_minio_root_password_in_env_is_snapshotted_without_it(store: Store, store_url: str) -> None:
    snap = store.specs.add("demo", SPEC, reason="before update to RELEASE.2025-10-15T17-29-55Z", taken_by="U0ALICE")
    env = {e["name"]: e.get("value") for e in snap.spec["env"]}
    assert env == {"MINIO_ROOT_PASSWORD": MASK, "MINIO_BROWSER": "on", "MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_PRIMARY": MASK}
    assert snap.spec["pools"] == SPEC["pools"] and snap.spec["image"] == SPEC["image"]
    stored = store.specs.get(snap.id)
    assert stored is not None and stored.spec == snap.spec
    dump = everything_stored(store_url)
    assert PASSWORD not in dump and TOKEN not in dump


def test_plans_results_and_audit_rows_are_stored_without_secrets(store: Store, store_url: str) -> None:
    now = datetime.now(UTC)
    env_text = json.dumps(SPEC["env"], sort_keys=True, separators=(",", ":"))
    plan = {
        "kind": "update-rollback",
        "tenant": "demo",
        "params": {"ops": [{"op": "add", "path": "/spec/env", "value": SPEC["env"]}]},
        "changes": [{"what": "spec.env", "before": f"`{env_text[:90]}`", "after": "`[]`"}],
    }
    approval = store.approvals.create(tenant="demo", kind="update-rollback", plan=plan, plan_hash="h" * 64,
                                      requester="U0ALICE", expires_at=now + timedelta(minutes=30))
    assert PASSWORD not in json.dumps(approval.plan)
    assert store.approvals.transition(approval.id, {"pending"}, "failed",
                                      result=f"patch failed: MINIO_ROOT_PASSWORD={PASSWORD}")
    store.audit.append(actor="U0ALICE", action="request", tenant="demo", approval_id=approval.id,
                       detail={"spec": SPEC, "note": f"env MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_PRIMARY={TOKEN}"})
    [event] = store.audit.for_approval(approval.id)
    assert event.detail["spec"]["env"][1] == {"name": "MINIO_BROWSER", "value": "on"}
    dump = everything_stored(store_url)
    assert PASSWORD not in dump and TOKEN not in dump
    assert "MINIO_BROWSER" in dump and "update-rollback" in dump
