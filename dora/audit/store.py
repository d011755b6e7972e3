"""The append-only, hash-chained audit store, with its transactional outbox.

Every append is one short transaction that (1) locks the chain row, (2) writes the next
record(s) with ``prev_hash`` = the head's hash, (3) writes the outbox rows the relay will
publish, and (4) moves the head. Either all of it commits or none does, so an event is
never published without its audit record, nor recorded without being queued.

Nothing updates or deletes a record except :meth:`AuditStore.purge`, which only removes a
*prefix* of the chain (records older than the retention period and under no legal hold),
and appends a ``checkpoint`` record naming the last purged ``seq`` and hash, so the rest
still verifies from that point on.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any, Literal, TypeVar

from sqlalchemy import and_, delete, func, insert, or_, select, text, update
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from dora.audit import schema
from dora.audit.canonical import canonical_json, record_hash, to_jsonable
from dora.audit.db import MIGRATION_LOCK_KEY, create_engine, create_sync_engine, resolve_url
from dora.audit.verify import AuditRecord, ChainBounds, VerifyReport, verify_chain
from dora.errors import ConfigurationError
from dora.events.models import WorkflowEvent
from dora.events.settings import EventSettings, get_event_settings

#: outbox streams: the relay maps each to a topic (settings or the Kafka block)
Stream = Literal["events", "audit"]
STREAMS: tuple[Stream, ...] = ("events", "audit")

HoldScope = Literal["all", "workflow", "run"]

#: Kafka key of every audit-record message (see ``_append_locked``)
AUDIT_CHAIN_KEY = "dora-audit-chain"
T = TypeVar("T")


def stamp(moment: datetime | None = None) -> str:
    """Fixed-width UTC text (``2026-01-31T12:00:00.000000Z``): sorts as it orders in time."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: str) -> datetime:
    """An ISO date or datetime from the command line (naive means UTC)."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigurationError(
            f"not an ISO date or datetime: {value!r} (e.g. 2026-01-31 or 2026-01-31T12:00:00Z)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Entry:
    """What to append: one audit record, and the outbox streams that carry it."""

    kind: str
    data: dict[str, Any]
    workflow_id: str | None = None
    run_id: str | None = None
    event: WorkflowEvent | None = None
    streams: tuple[Stream, ...] = ()

    @classmethod
    def for_event(
        cls, event: WorkflowEvent, *, kind: str | None = None, streams: tuple[Stream, ...] = ()
    ) -> Entry:
        return cls(
            kind=kind or event.type.value,
            data=to_jsonable(event.to_dict()),
            workflow_id=event.workflow_id,
            run_id=event.correlation_id,
            event=event,
            streams=streams,
        )


@dataclass(frozen=True)
class OutboxRow:
    id: int
    stream: Stream
    event_id: str
    key: str
    payload: str
    attempts: int


@dataclass
class PurgeResult:
    purged: int = 0
    through_seq: int | None = None
    reason: str = ""
    outbox_deleted: int = 0


@dataclass
class Hold:
    id: int
    scope: HoldScope
    value: str | None
    reason: str
    placed_by: str
    placed_at: str
    released_by: str | None = None
    released_at: str | None = None

    @property
    def active(self) -> bool:
        return self.released_at is None


def _record(row: Any) -> AuditRecord:
    return AuditRecord(
        seq=int(row.seq),
        prev_hash=row.prev_hash,
        kind=row.kind,
        recorded_at=row.recorded_at,
        workflow_id=row.workflow_id,
        run_id=row.run_id,
        event_id=row.event_id,
        data=json.loads(row.data),
        hash=row.hash,
    )


@dataclass
class AuditStore:
    """Async audit store over one engine (use it from one event loop)."""

    engine: AsyncEngine
    #: SQLite only: a sync (pysqlite) engine on the same file for writes. A write
    #: transaction then costs one thread hop instead of one per DBAPI call (aiosqlite),
    #: which is most of an append's time on a busy machine.
    sync_engine: Engine | None = None
    #: the engine with deferred transactions (SQLite readers must not take the write lock)
    reader: AsyncEngine = field(init=False)

    def __post_init__(self) -> None:
        self.reader = self.engine.execution_options(dora_read=True)

    @classmethod
    async def open(
        cls, url: str | URL | None = None, settings: EventSettings | None = None
    ) -> AuditStore:
        """Connect (URL, else settings: URL, block or SQLite in DORA_HOME) and migrate."""
        settings = settings or get_event_settings()
        target = url or await resolve_url(settings)
        sync = settings.audit_sqlite_synchronous
        engine = create_engine(target, sqlite_synchronous=sync)
        store = cls(
            engine,
            None if engine.dialect.name == "postgresql" else create_sync_engine(target, sync),
        )
        await store.migrate()
        return store

    async def close(self) -> None:
        await self.engine.dispose()
        if self.sync_engine is not None:
            self.sync_engine.dispose()

    async def _write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` in one write transaction (the chain's write lock held)."""
        if self.sync_engine is None:
            async with self.engine.begin() as conn:
                return await conn.run_sync(fn, *args)
        engine = self.sync_engine

        def in_thread() -> T:
            with engine.begin() as conn:
                return fn(conn, *args)

        return await asyncio.to_thread(in_thread)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    async def migrate(self) -> list[int]:
        async with self.engine.begin() as conn:
            if self.is_postgres:
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_KEY}
                )
            return await conn.run_sync(schema.apply_migrations)

    # -- appending ----------------------------------------------------------------------

    @staticmethod
    def _lock_head(conn: Connection) -> Any:
        return conn.execute(
            select(schema.chain).where(schema.chain.c.id == 1).with_for_update()
        ).one()

    @staticmethod
    def _append_locked(conn: Connection, entries: Sequence[Entry], head: Any) -> list[AuditRecord]:
        seq, prev = int(head.head_seq), head.head_hash
        now = stamp()
        made: list[AuditRecord] = []
        rows: list[dict[str, Any]] = []
        outbox_rows: list[dict[str, Any]] = []
        for entry in entries:
            seq += 1
            content: dict[str, Any] = {
                "seq": seq,
                "prev_hash": prev,
                "kind": entry.kind,
                "recorded_at": now,
                "workflow_id": entry.workflow_id,
                "run_id": entry.run_id,
                "event_id": entry.event.id if entry.event else None,
                "data": to_jsonable(entry.data),
            }
            digest = record_hash(content)
            record = AuditRecord(**content, hash=digest)
            made.append(record)
            rows.append({**content, "data": canonical_json(content["data"]), "hash": digest})
            key = entry.workflow_id or "dora"
            for stream in entry.streams:
                if stream == "events" and entry.event is not None:
                    body = entry.event.to_dict()
                    body["metadata"] = {**body["metadata"], "audit_seq": seq, "audit_hash": digest}
                    payload, stream_key = canonical_json(to_jsonable(body)), key
                else:
                    # one key for the whole chain: one partition, so a consumer reads the
                    # records in chain order and can verify them as they arrive
                    payload, stream_key = canonical_json(record.to_dict()), AUDIT_CHAIN_KEY
                outbox_rows.append(
                    {
                        "stream": stream,
                        "event_id": record.event_id or f"audit-{seq}",
                        "key": stream_key,
                        "payload": payload,
                        "created_at": now,
                        "attempts": 0,
                        "dead_letter": False,
                    }
                )
            prev = digest
        conn.execute(insert(schema.records), rows)
        if outbox_rows:
            conn.execute(insert(schema.outbox), outbox_rows)
        conn.execute(
            update(schema.chain).where(schema.chain.c.id == 1).values(head_seq=seq, head_hash=prev)
        )
        return made

    @classmethod
    def _append_tx(cls, conn: Connection, entries: Sequence[Entry]) -> list[AuditRecord]:
        return cls._append_locked(conn, entries, cls._lock_head(conn))

    async def append(self, entries: Sequence[Entry]) -> list[AuditRecord]:
        """Append entries in order, atomically, with their outbox rows; return the records."""
        if not entries:
            return []
        return await self._write(self._append_tx, list(entries))

    async def append_event(
        self, event: WorkflowEvent, *, kind: str | None = None, streams: Iterable[Stream] = ()
    ) -> AuditRecord:
        (record,) = await self.append([Entry.for_event(event, kind=kind, streams=tuple(streams))])
        return record

    # -- reading and verifying ------------------------------------------------------------

    async def bounds(self) -> ChainBounds:
        async with self.reader.connect() as conn:
            row = (await conn.execute(select(schema.chain).where(schema.chain.c.id == 1))).one()
        return ChainBounds(
            base_seq=int(row.base_seq),
            base_hash=row.base_hash,
            head_seq=int(row.head_seq),
            head_hash=row.head_hash,
        )

    async def iter_records(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        run_id: str | None = None,
        page: int = 5000,
    ) -> AsyncIterator[AuditRecord]:
        """Records in ``seq`` order, paged (each page its own short read)."""
        after = -1
        while True:
            query = select(schema.records).where(schema.records.c.seq > after)
            if since is not None:
                query = query.where(schema.records.c.recorded_at >= stamp(since))
            if until is not None:
                query = query.where(schema.records.c.recorded_at < stamp(until))
            if run_id is not None:
                query = query.where(schema.records.c.run_id == run_id)
            async with self.reader.connect() as conn:
                rows = (await conn.execute(query.order_by(schema.records.c.seq).limit(page))).all()
            for row in rows:
                yield _record(row)
            if len(rows) < page:
                return
            after = int(rows[-1].seq)

    async def by_hash(self, digest: str) -> AuditRecord | None:
        async with self.reader.connect() as conn:
            row = (
                await conn.execute(
                    select(schema.records).where(schema.records.c.hash == digest).limit(1)
                )
            ).first()
        return _record(row) if row else None

    async def by_seq(self, seq: int) -> AuditRecord | None:
        async with self.reader.connect() as conn:
            row = (
                await conn.execute(select(schema.records).where(schema.records.c.seq == seq))
            ).first()
        return _record(row) if row else None

    async def verify(self, *, anchor: tuple[int, str] | None = None) -> VerifyReport:
        """Walk the whole chain; the first edited/deleted/inserted/reordered record, if any."""
        return await verify_chain(
            self.iter_records(), await self.bounds(), self.by_hash, self.by_seq, anchor=anchor
        )

    async def export(
        self, out: IO[str], *, since: datetime | None = None, until: datetime | None = None
    ) -> int:
        """Write records recorded in ``[since, until)`` as JSON Lines; return the count."""
        count = 0
        async for record in self.iter_records(since=since, until=until):
            out.write(canonical_json(record.to_dict()) + "\n")
            count += 1
        return count

    # -- legal holds and retention --------------------------------------------------------

    async def place_hold(
        self, scope: HoldScope, value: str | None, *, reason: str, placed_by: str
    ) -> Hold:
        if (scope == "all") != (value is None):
            raise ConfigurationError(
                "legal hold: scope 'all' takes no value; 'workflow'/'run' need one"
            )
        now = stamp()

        def tx(conn: Connection) -> int:
            head = self._lock_head(conn)
            result = conn.execute(
                insert(schema.holds).values(
                    scope=scope, value=value, reason=reason, placed_by=placed_by, placed_at=now
                )
            )
            hold_id = int(result.inserted_primary_key[0])  # type: ignore[index]
            data = {"hold_id": hold_id, "scope": scope, "value": value, "reason": reason}
            self._append_locked(
                conn,
                [Entry(kind="legal_hold.placed", data={**data, "placed_by": placed_by})],
                head,
            )
            return hold_id

        hold_id = await self._write(tx)
        return Hold(hold_id, scope, value, reason, placed_by, now)

    async def release_hold(self, hold_id: int, *, released_by: str) -> None:
        now = stamp()

        def tx(conn: Connection) -> None:
            head = self._lock_head(conn)
            result = conn.execute(
                update(schema.holds)
                .where(schema.holds.c.id == hold_id, schema.holds.c.released_at.is_(None))
                .values(released_by=released_by, released_at=now)
            )
            if result.rowcount != 1:
                raise ConfigurationError(f"legal hold {hold_id}: no such active hold")
            self._append_locked(
                conn,
                [
                    Entry(
                        kind="legal_hold.released",
                        data={"hold_id": hold_id, "released_by": released_by},
                    )
                ],
                head,
            )

        await self._write(tx)

    async def holds(self, *, active_only: bool = True) -> list[Hold]:
        query = select(schema.holds).order_by(schema.holds.c.id)
        if active_only:
            query = query.where(schema.holds.c.released_at.is_(None))
        async with self.reader.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            Hold(
                int(r.id),
                r.scope,
                r.value,
                r.reason,
                r.placed_by,
                r.placed_at,
                r.released_by,
                r.released_at,
            )
            for r in rows
        ]

    async def purge(self, *, older_than: datetime) -> PurgeResult:
        """Remove the oldest records recorded before ``older_than`` that no hold protects.

        Only a prefix of the chain can go (the rest must still link), so purging stops at
        the first record that is too young or under a hold; while a hold of scope ``all``
        is active nothing is purged at all.
        """
        cutoff = stamp(older_than)

        def tx(conn: Connection) -> PurgeResult:
            head = self._lock_head(conn)
            active = (
                conn.execute(select(schema.holds).where(schema.holds.c.released_at.is_(None)))
            ).all()
            if any(h.scope == "all" for h in active):
                return PurgeResult(reason="a legal hold on all records is active")
            runs = [h.value for h in active if h.scope == "run"]
            workflows = [h.value for h in active if h.scope == "workflow"]
            r = schema.records.c
            conditions = [r.recorded_at >= cutoff]
            if runs:
                conditions.append(r.run_id.in_(runs))
            if workflows:
                conditions.append(r.workflow_id.in_(workflows))
            stop = or_(*conditions)
            first_kept = (conn.execute(select(func.min(r.seq)).where(stop))).scalar()
            through = int(head.head_seq) if first_kept is None else int(first_kept) - 1
            if through <= int(head.base_seq):
                return PurgeResult(reason="nothing old enough outside legal holds")
            last = (conn.execute(select(r.hash).where(r.seq == through))).scalar_one()
            purged = (conn.execute(delete(schema.records).where(r.seq <= through))).rowcount
            conn.execute(
                update(schema.chain)
                .where(schema.chain.c.id == 1)
                .values(base_seq=through, base_hash=last)
            )
            self._append_locked(
                conn,
                [
                    Entry(
                        kind="checkpoint",
                        data={
                            "purged_through_seq": through,
                            "last_purged_hash": last,
                            "purged_count": purged,
                            "cutoff": cutoff,
                        },
                    )
                ],
                head,
            )
            o = schema.outbox.c
            outbox_deleted = (
                conn.execute(
                    delete(schema.outbox).where(and_(o.sent_at.is_not(None), o.created_at < cutoff))
                )
            ).rowcount
            return PurgeResult(purged, through, "retention", outbox_deleted)

        return await self._write(tx)

    # -- outbox -------------------------------------------------------------------------

    async def pending(self, limit: int, *, after_id: int = 0) -> list[OutboxRow]:
        """The oldest unsent outbox rows (``id > after_id``), in the order committed."""
        o = schema.outbox.c
        async with self.reader.connect() as conn:
            rows = (
                await conn.execute(
                    select(schema.outbox)
                    .where(o.sent_at.is_(None), o.id > after_id)
                    .order_by(o.id)
                    .limit(limit)
                )
            ).all()
        return [
            OutboxRow(int(x.id), x.stream, x.event_id, x.key, x.payload, int(x.attempts))
            for x in rows
        ]

    async def mark_sent(self, ids: Sequence[int], dead: dict[int, str] | None = None) -> None:
        """Mark rows delivered (``dead``: delivered to the dead-letter topic, with why)."""
        if not ids:
            return
        dead = dead or {}
        now = stamp()
        o = schema.outbox.c

        def tx(conn: Connection) -> None:
            plain = [i for i in ids if i not in dead]
            for start in range(0, len(plain), 500):
                conn.execute(
                    update(schema.outbox)
                    .where(o.id.in_(plain[start : start + 500]))
                    .values(sent_at=now, attempts=o.attempts + 1)
                )
            for row_id, error in dead.items():
                conn.execute(
                    update(schema.outbox)
                    .where(o.id == row_id)
                    .values(
                        sent_at=now, attempts=o.attempts + 1, dead_letter=True, last_error=error
                    )
                )

        await self._write(tx)

    async def note_failure(self, ids: Sequence[int], error: str) -> None:
        """Count a failed delivery attempt (the rows stay pending)."""
        if not ids:
            return
        o = schema.outbox.c

        def tx(conn: Connection) -> None:
            conn.execute(
                update(schema.outbox)
                .where(o.id.in_(list(ids)))
                .values(attempts=o.attempts + 1, last_error=error[:2000])
            )

        await self._write(tx)

    async def oldest_pending_age(self) -> float:
        """Seconds since the oldest unsent outbox row was committed (0 when none is)."""
        o = schema.outbox.c
        async with self.reader.connect() as conn:
            oldest = (
                await conn.execute(select(func.min(o.created_at)).where(o.sent_at.is_(None)))
            ).scalar()
        if oldest is None:
            return 0.0
        return max(0.0, (datetime.now(UTC) - parse_time(oldest)).total_seconds())

    async def outbox_counts(self) -> dict[str, int]:
        o = schema.outbox.c
        async with self.reader.connect() as conn:
            rows = (
                await conn.execute(
                    select(
                        func.count().filter(o.sent_at.is_(None)),
                        func.count().filter(o.sent_at.is_not(None)),
                        func.count().filter(o.dead_letter.is_(True)),
                    )
                )
            ).one()
        return {"pending": int(rows[0]), "sent": int(rows[1]), "dead_letter": int(rows[2])}
