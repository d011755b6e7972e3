"""Tables of the audit store and the ordered migrations that create them.

Why hand-rolled migrations instead of alembic: the schema is small and owned by this
module; a ``dora_audit_migrations`` table records which numbered step ran, each step is
plain SQLAlchemy DDL (so it renders for SQLite and PostgreSQL alike), and steps run under
the same write lock the chain uses, so two processes starting at once apply each once.
Add a step by appending to :data:`MIGRATIONS`; never edit a released one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
)

from dora.audit.canonical import GENESIS_HASH

metadata = MetaData()

#: BIGINT on PostgreSQL, INTEGER on SQLite (so ``id`` is SQLite's auto-incrementing rowid)
_BigId = BigInteger().with_variant(Integer(), "sqlite")

migrations_table = Table(
    "dora_audit_migrations",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("name", String(200), nullable=False),
    Column("applied_at", String(40), nullable=False),
)

#: the chain itself: append-only, ``seq`` dense from ``chain.base_seq + 1``
records = Table(
    "dora_audit_records",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("recorded_at", String(40), nullable=False),
    Column("workflow_id", String(200)),
    Column("run_id", String(100)),
    Column("event_id", String(64)),
    Column("data", Text, nullable=False),
    Index("ix_dora_audit_records_hash", "hash"),
    Index("ix_dora_audit_records_recorded_at", "recorded_at"),
    Index("ix_dora_audit_records_run", "run_id"),
)

#: one row (id=1): the chain's ends. Appends lock it (FOR UPDATE), so the chain never forks
chain = Table(
    "dora_audit_chain",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("head_seq", BigInteger, nullable=False),
    Column("head_hash", String(64), nullable=False),
    Column("base_seq", BigInteger, nullable=False),
    Column("base_hash", String(64), nullable=False),
)

#: transactional outbox: written in the same transaction as the record, drained by the relay
outbox = Table(
    "dora_event_outbox",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("stream", String(16), nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("key", String(200), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("sent_at", String(40)),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("dead_letter", Boolean, nullable=False, default=False),
    Index("ix_dora_event_outbox_pending", "sent_at", "id"),
)

#: legal holds: while one applies, matching records (or all, scope "all") are never purged
holds = Table(
    "dora_audit_holds",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("scope", String(16), nullable=False),
    Column("value", String(200)),
    Column("reason", Text, nullable=False),
    Column("placed_by", String(200), nullable=False),
    Column("placed_at", String(40), nullable=False),
    Column("released_by", String(200)),
    Column("released_at", String(40)),
)


def _step1(conn: Connection) -> None:
    for table in (records, chain, outbox, holds):
        table.create(conn, checkfirst=True)
    conn.execute(
        insert(chain).values(
            id=1, head_seq=0, head_hash=GENESIS_HASH, base_seq=0, base_hash=GENESIS_HASH
        )
    )


MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "records, chain head, outbox, legal holds", _step1),
]


def apply_migrations(conn: Connection) -> list[int]:
    """Apply pending steps inside the caller's (write-locked) transaction; return them."""
    migrations_table.create(conn, checkfirst=True)
    done = set(conn.execute(select(migrations_table.c.version)).scalars())
    applied = []
    for version, name, step in MIGRATIONS:
        if version in done:
            continue
        step(conn)
        conn.execute(
            insert(migrations_table).values(
                version=version, name=name, applied_at=datetime.now(UTC).isoformat()
            )
        )
        applied.append(version)
    return applied
