"""The engine and its transactions: SQLite tuned for threads, PostgreSQL for replicas, errors made safe.

Repositories never touch the engine directly: they ask :class:`Database` for a
read or a write transaction, and every SQLAlchemy error leaving one becomes a
:class:`StoreError` whose message names the backend and host, never the URL
(a PostgreSQL URL carries the password).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError, StatementError
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool
from sqlalchemy.sql.elements import ColumnElement

from bot.redact import redact, register_secret
from bot.store.errors import StoreError, StoreUnavailable

SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite writer waits for another to finish before giving up ("database is locked")."""

POSTGRES_CONNECT_TIMEOUT_S = 5
"""Fail fast when PostgreSQL is down instead of hanging a Slack command."""

_WRITE = "minio_chatops_write"  # execution option: this transaction will write


class Database:
    """One engine plus read/write transactions that translate errors into :class:`StoreError`."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        parsed = _parse(url)
        register_secret(parsed.password if isinstance(parsed.password, str) else None)
        self.backend = parsed.get_backend_name()
        self.where = _describe(parsed)
        self.safe_url = parsed.render_as_string(hide_password=True)
        try:
            self.engine = _create_engine(parsed, echo=echo)
        except (ArgumentError, NoSuchModuleError, ImportError) as exc:
            raise StoreError(f"cannot use store URL {self.safe_url}: {_first_line(exc)}") from None

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A transaction for reads (on SQLite it does not block writers)."""
        with self._transaction(write=False) as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction that writes; on SQLite it takes the write lock up front (BEGIN IMMEDIATE).

        Taking the lock at BEGIN rather than at the first write means a
        read-then-write transaction cannot fail half-way with SQLITE_BUSY: it
        waits its turn (busy timeout) instead.
        """
        with self._transaction(write=True) as conn:
            yield conn

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[Connection]:
        try:
            conn = self.engine.connect()
        except SQLAlchemyError as exc:
            raise StoreUnavailable(f"cannot reach the store ({self.where}): {_reason(exc)}") from exc
        try:
            with conn:
                if write:
                    conn.execution_options(**{_WRITE: True})
                with conn.begin():
                    yield conn
        except StatementError as exc:
            if not isinstance(exc, DBAPIError) and isinstance(exc.orig, (ValueError, TypeError)):
                # A bad argument (e.g. a naive datetime) is a bug in the caller, not a store failure.
                raise exc.orig from None
            raise self._translate(exc) from exc
        except SQLAlchemyError as exc:
            raise self._translate(exc) from exc

    def _translate(self, exc: SQLAlchemyError) -> StoreError:
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            return StoreUnavailable(f"lost the connection to the store ({self.where}): {_reason(exc)}")
        return StoreError(f"store error ({self.backend}): {_reason(exc)}")


def insert_ignoring_conflict(
    conn: Connection,
    table: Table,
    values: Mapping[str, Any],
    conflict_columns: Sequence[str],
    *,
    where: ColumnElement[bool] | None = None,
) -> Any | None:
    """INSERT unless a unique key clashes; the new row's primary key, or None when a row already existed.

    ``ON CONFLICT DO NOTHING`` makes the "am I first?" question atomic on both
    backends: concurrent callers wait on the unique index and all but one see
    no row inserted. ``where`` names a partial unique index's predicate.
    """
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = (
        dialect.insert(table)
        .values(dict(values))
        .on_conflict_do_nothing(index_elements=list(conflict_columns), index_where=where)
        .returning(*table.primary_key.columns)
    )
    row = conn.execute(stmt).first()
    return None if row is None else row[0]


def upsert(conn: Connection, table: Table, values: Mapping[str, Any], key_columns: Sequence[str]) -> None:
    """INSERT, or UPDATE every non-key column when the key exists (one statement, atomic)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table).values(dict(values))
    stmt = stmt.on_conflict_do_update(
        index_elements=list(key_columns),
        set_={name: stmt.excluded[name] for name in values if name not in key_columns},
    )
    conn.execute(stmt)


def _parse(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError:
        # make_url's message quotes the URL; ours must not (it may hold a password).
        raise StoreError("the store URL is not a valid database URL") from None
    backend = parsed.get_backend_name()
    if backend == "postgres":  # the Heroku-style spelling
        backend = "postgresql"
        parsed = parsed.set(drivername="postgresql")
    if backend == "postgresql" and "+" not in parsed.drivername:
        # SQLAlchemy would pick psycopg2 by default; we ship psycopg 3.
        parsed = parsed.set(drivername="postgresql+psycopg")
    if backend not in ("sqlite", "postgresql"):
        raise StoreError(f"unsupported store backend {backend!r}: use sqlite:///path or postgresql://...")
    return parsed


def _create_engine(url: URL, *, echo: bool) -> Engine:
    if url.get_backend_name() == "postgresql":
        return create_engine(
            url,
            echo=echo,
            pool_pre_ping=True,  # a replica outlives PostgreSQL restarts: test pooled connections before use
            # As many pooled connections as command workers, so a burst of clicks reuses connections
            # instead of authenticating new ones.
            pool_size=16,
            max_overflow=16,
            pool_timeout=10,
            connect_args={
                "connect_timeout": POSTGRES_CONNECT_TIMEOUT_S,
                "application_name": "minio-chatops",
                # Every statement has a deadline too: a stuck lock must not hold a worker forever.
                "options": "-c statement_timeout=15000 -c lock_timeout=10000",
            },
        )
    in_memory = url.database in (None, "", ":memory:")
    engine = create_engine(
        url,
        echo=echo,
        # An in-memory database exists only inside its one connection: share it (single-threaded tests).
        poolclass=StaticPool if in_memory else None,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
    )
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # The sqlite3 module's own transaction handling skips BEGIN for SELECT and DDL;
    # turn it off and emit BEGIN ourselves (SQLAlchemy's documented recipe).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        # WAL: readers never block the writer and vice versa, so bot threads can share one file.
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")  # durable across app crashes in WAL mode; cheaper fsyncs
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    mode = "IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "DEFERRED"
    conn.exec_driver_sql(f"BEGIN {mode}")


def _describe(url: URL) -> str:
    if url.get_backend_name() == "sqlite":
        return f"SQLite {url.database or ':memory:'}"
    return f"PostgreSQL at {url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    return _first_line(orig if isinstance(orig, BaseException) else exc)


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    return redact(text)[:300]
