"""The state store's foundations: migrations, timestamps, errors, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import Connection, create_engine, inspect, text

from bot.store import Store, StoreError, StoreUnavailable
from bot.store.db import Database
from bot.store.incidents import Incidents
from bot.store.migrations import MIGRATIONS, Migration, applied_versions, migrate
from bot.store.schema import table_names
from tests.fixtures.postgres import PostgresServer

T = TypeVar("T")


def race(url: str, n: int, action: Callable[[Store], T]) -> list[T]:
    """Run `action` in `n` threads at once, each with its own Store (own engine, own connection).

    Every Store connects before the barrier so the race is between statements, not connection set-ups.
    """
    stores = [Store(url) for _ in range(n)]
    try:
        for s in stores:
            s.ping()
        barrier = threading.Barrier(n)

        def run(s: Store) -> T:
            barrier.wait(timeout=60)
            return action(s)

        with ThreadPoolExecutor(max_workers=n) as pool:
            return list(pool.map(run, stores))
    finally:
        for s in stores:
            s.close()


# --- migrations ------------------------------------------------------------------------------


def test_migrate_creates_every_table_and_a_second_run_does_nothing(store_url: str) -> None:
    with Store(store_url) as store:
        assert store.migrate() == [m.version for m in MIGRATIONS]
        assert store.migrate() == []
        store.audit.append(actor="U1", action="command")
    with Store(store_url) as again:
        assert again.migrate() == []
        assert len(again.audit.recent()) == 1, "migrating again must not touch data"
    engine = create_engine(store_url)
    try:
        present = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert set(table_names()) | {"schema_migrations"} <= present


def test_two_replicas_migrating_at_once_apply_each_version_once(store_url: str) -> None:
    applied = race(store_url, 4, lambda s: s.migrate())
    assert sorted(v for versions in applied for v in versions) == [m.version for m in MIGRATIONS]
    db = Database(store_url)
    try:
        assert applied_versions(db) == [m.version for m in MIGRATIONS]
    finally:
        db.dispose()


def _add_notes_table(conn: Connection) -> None:
    conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))


def test_an_existing_database_gets_only_the_new_migration(store_url: str) -> None:
    baseline = MIGRATIONS[:1]
    second = Migration(2, "notes table", _add_notes_table)
    db = Database(store_url)
    try:
        assert migrate(db, baseline) == [1]
        assert migrate(db, [*baseline, second]) == [2]
        assert migrate(db, [*baseline, second]) == []
        with db.read() as conn:
            assert conn.dialect.has_table(conn, "notes")
        assert applied_versions(db) == [1, 2]
    finally:
        db.dispose()


def test_a_database_from_before_incident_members_gets_them_and_its_old_incidents_stay_public(store_url: str) -> None:
    mine = next(m for m in MIGRATIONS if m.description.startswith("incident_members"))
    db = Database(store_url)
    try:
        migrate(db, MIGRATIONS[: mine.version - 1])
        with db.write() as conn:  # the shape the version before had
            conn.execute(text("DROP TABLE incident_members"))
            conn.execute(text("ALTER TABLE incidents DROP COLUMN is_private"))
            conn.execute(text("INSERT INTO incidents (severity, title, declared_by, declared_at) "
                              "VALUES ('P1', 'old', 'U0ALICE', '2025-01-01 00:00:00')"))
        assert migrate(db)[0] == mine.version
        incidents = Incidents(db)
        [old] = incidents.open()
        assert old.is_private is False, "channels of incidents declared before version 3 were public"
        assert incidents.let_in(old.id, ["U0BOB"], by="U0ALICE") == ["U0BOB"]
    finally:
        db.dispose()


def test_an_empty_database_gets_the_baseline_and_later_versions_are_stamped(tmp_path: Path) -> None:
    # The baseline already builds today's schema, so later steps must not run on a fresh database.
    second = Migration(2, "notes table", _add_notes_table)
    db = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        assert migrate(db, [*MIGRATIONS[:1], second]) == [1, 2]
        with db.read() as conn:
            assert not conn.dialect.has_table(conn, "notes")
    finally:
        db.dispose()


def test_a_failing_migration_leaves_the_previous_version(tmp_path: Path) -> None:
    def broken(conn: Connection) -> None:
        conn.execute(text("CREATE TABLE half_done (id INTEGER)"))
        conn.execute(text("THIS IS NOT SQL"))

    db = Database(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        migrate(db, MIGRATIONS[:1])
        with pytest.raises(StoreError):
            migrate(db, [*MIGRATIONS[:1], Migration(2, "broken", broken)])
        assert applied_versions(db) == [1]
        with db.read() as conn:
            assert not conn.dialect.has_table(conn, "half_done"), "DDL must roll back with the migration"
    finally:
        db.dispose()


def test_migrations_must_be_numbered_without_gaps(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        with pytest.raises(ValueError, match="without gaps"):
            migrate(db, [*MIGRATIONS[:1], Migration(3, "skips 2", _add_notes_table)])
    finally:
        db.dispose()


# --- timestamps ------------------------------------------------------------------------------


def test_timestamps_come_back_as_aware_utc(store: Store) -> None:
    berlin_summer = timezone(timedelta(hours=2))
    created = datetime(2025, 6, 1, 14, 30, 15, 123456, tzinfo=berlin_summer)
    approval = store.approvals.create(
        tenant="demo",
        kind="scale",
        plan={},
        plan_hash="h",
        requester="U1",
        created_at=created,
        expires_at=created + timedelta(minutes=30),
    )
    loaded = store.approvals.get(approval.id)
    assert loaded is not None
    for value in (approval.created_at, loaded.created_at, loaded.expires_at):
        assert value.tzinfo is not None and value.utcoffset() == timedelta(0)
    assert loaded.created_at == created, "same instant, microseconds kept"
    assert loaded.created_at.hour == 12
    assert store.scheduler.claim_run("daily", created)
    last = store.scheduler.last_claimed("daily")
    assert last == created and last.tzinfo is not None and last.utcoffset() == timedelta(0)


def test_a_naive_datetime_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        store.alerts.put("health:demo", "ok", since=datetime(2025, 1, 1))


# --- errors ----------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends: nothing listens there


def test_unreachable_postgres_is_store_unavailable_without_the_password() -> None:
    password = "Sup3r-Secret-Pw"
    store = Store(f"postgresql://chatops:{password}@127.0.0.1:{_closed_port()}/chatops")
    assert password not in repr(store)
    with pytest.raises(StoreUnavailable) as caught:
        store.migrate()
    store.close()
    error = caught.value
    assert "127.0.0.1" in error.message
    chain: BaseException | None = error
    while chain is not None:  # nothing in the exception chain (logged with tracebacks) may carry it either
        assert password not in str(chain) and password not in repr(chain)
        chain = chain.__cause__ or chain.__context__


def test_a_sqlite_file_that_cannot_be_opened_is_store_unavailable(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'missing-dir' / 'store.db'}") as store, pytest.raises(StoreUnavailable):
        store.ping()


def test_bad_urls_are_refused_without_echoing_them() -> None:
    with pytest.raises(StoreError, match="unsupported store backend") as caught:
        Store("mysql://root:hunter22@db/chatops")
    assert "hunter22" not in str(caught.value)
    with pytest.raises(StoreError) as caught:
        Store("not a url with password hunter22")
    assert "hunter22" not in str(caught.value)


def test_plain_postgresql_urls_use_psycopg_3() -> None:
    store = Store("postgresql://u:p@127.0.0.1:1/db")
    try:
        assert store.backend == "postgresql"
        assert store._db.engine.dialect.driver == "psycopg"
    finally:
        store.close()


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        with db.read() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() >= 1000
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        db.dispose()


@pytest.mark.postgres
def test_a_store_rides_out_a_postgres_restart(postgres_server: PostgresServer, fresh_pg_url: str) -> None:
    with Store(fresh_pg_url) as store:
        store.migrate()
        store.alerts.put("health:demo", "ok", since=datetime.now(UTC))
        postgres_server.stop()
        try:
            with pytest.raises(StoreUnavailable, match="cannot reach the store"):
                store.alerts.get("health:demo")
        finally:
            postgres_server.start()
        # Pooled connections died with the server; pre-ping replaces them transparently.
        state = store.alerts.get("health:demo")
        assert state is not None and state.state == "ok"
        postgres_server.restart()
        assert store.alerts.get("health:demo") == state


_MIGRATE_IN_A_PROCESS = """
import sys, time
from bot.store import Store
store = Store(sys.argv[1])
store.ping()  # connected before the start line, so the race is between the migrations themselves
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
print(",".join(str(v) for v in store.migrate()))
"""


@pytest.mark.postgres
def test_two_processes_migrating_one_postgres_database_at_once(fresh_pg_url: str) -> None:
    start_line = time.time() + 2  # both interpreters have imported everything by then
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _MIGRATE_IN_A_PROCESS, fresh_pg_url, str(start_line)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outputs]
    applied = sorted(int(v) for out, _ in outputs for v in out.strip().split(",") if v)
    assert applied == [m.version for m in MIGRATIONS]
