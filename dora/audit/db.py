"""Engines for the audit store: SQLite (default) or PostgreSQL, and their write lock.

Why async engines: the only PostgreSQL driver the project ships is asyncpg, and SQLite
goes through aiosqlite so both backends share one code path. Sync callers (Prefect
state hooks) use :class:`dora.audit.blocking.BlockingAuditStore`.

The chain must never fork: every append reads the head and writes the next ``seq`` under
a write lock. SQLite: each transaction starts with ``BEGIN IMMEDIATE`` (the database
write lock, also across processes; ``busy_timeout`` makes others wait instead of fail),
WAL journal so readers never block the writer. PostgreSQL: ``SELECT ... FOR UPDATE`` on
the single chain row, plus a transaction-level advisory lock for migrations.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from dora.errors import ConfigurationError
from dora.events.settings import EventSettings

#: pg_advisory_xact_lock key for migrations ("dora" in ASCII)
MIGRATION_LOCK_KEY = 0x646F7261


def default_sqlite_url() -> str:
    from dora.settings import get_settings

    home = Path(get_settings().home).resolve()
    return f"sqlite+aiosqlite:///{home / 'audit.db'}"


async def resolve_url(settings: EventSettings) -> str | URL:
    """URL from ``DORA_AUDIT_URL``, else the named prefect-sqlalchemy block, else SQLite."""
    if settings.audit_url:
        return settings.audit_url
    if settings.audit_database_block:
        from prefect_sqlalchemy import AsyncSqlAlchemyConnector, ConnectionComponents

        block = await AsyncSqlAlchemyConnector.aload(settings.audit_database_block)
        info = block.connection_info
        return info.create_url() if isinstance(info, ConnectionComponents) else make_url(info)
    return default_sqlite_url()


#: attempts (0.1 s apart) to switch a new database file to WAL while another process
#: opens it at the same moment
WAL_ATTEMPTS = 100


def _use_wal(cursor: Any) -> None:
    """Put the database in WAL mode (persistent in the file: only its first opener switches).

    Switching needs an exclusive lock, and SQLite may answer "database is locked" at once,
    without waiting out ``busy_timeout``, when two processes open a new file together (two
    workers starting on an empty audit store). That answer is retried, briefly.
    """
    cursor.execute("PRAGMA journal_mode")
    row = cursor.fetchone()
    if row and str(row[0]).lower() == "wal":
        return
    for attempt in range(WAL_ATTEMPTS):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except Exception as exc:  # the driver's OperationalError, possibly adapted
            if "locked" not in str(exc) or attempt == WAL_ATTEMPTS - 1:
                raise
            time.sleep(0.1)


def _sqlite_locking(sync_engine: Engine, sqlite_synchronous: str) -> None:
    """WAL, durability, busy wait; BEGIN IMMEDIATE for writers, BEGIN for readers."""

    @event.listens_for(sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=60000")
        _use_wal(cursor)
        cursor.execute(f"PRAGMA synchronous={sqlite_synchronous}")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _begin(conn: Any) -> None:
        # readers (execution option dora_read) take a snapshot, not the write lock
        read = conn.get_execution_options().get("dora_read")
        conn.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")


def create_sync_engine(url: str | URL, sqlite_synchronous: str = "FULL") -> Engine:
    """SQLite only: a pysqlite engine on the same file, used for write transactions."""
    parsed = make_url(url).set(drivername="sqlite")
    engine = sqlalchemy.create_engine(
        parsed, connect_args={"timeout": 60, "check_same_thread": False}
    )
    _sqlite_locking(engine, sqlite_synchronous)
    return engine


def create_engine(url: str | URL, *, sqlite_synchronous: str = "FULL") -> AsyncEngine:
    """An async engine with the locking the chain needs (see the module docstring)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.drivername != "sqlite+aiosqlite":
            parsed = parsed.set(drivername="sqlite+aiosqlite")
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(parsed, connect_args={"timeout": 60})
        _sqlite_locking(engine.sync_engine, sqlite_synchronous)
        return engine
    if backend == "postgresql":
        if parsed.drivername != "postgresql+asyncpg":
            parsed = parsed.set(drivername="postgresql+asyncpg")
        return create_async_engine(parsed, pool_pre_ping=True)
    raise ConfigurationError(
        f"audit store: unsupported database {backend!r} in DORA_AUDIT_URL or the database "
        "block (use sqlite+aiosqlite or postgresql+asyncpg)"
    )


def redacted(url: str | URL) -> str:
    """The URL with any password masked, for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)
