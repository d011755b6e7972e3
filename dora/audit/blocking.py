"""A synchronous face for the async audit store, for Prefect state hooks and the CLI.

Why a private event loop thread: the engine's flows and tasks are sync and run in worker
threads, and asyncpg/aiosqlite connections belong to the loop that opened them. One
daemon thread per store owns the loop and the engine; callers from any thread submit a
coroutine and wait for it (a thread hop costs tens of microseconds, the commit dominates).

Appends go through one writer on that loop (group commit): whatever callers queued while
the previous transaction committed is appended in the next single transaction, in queue
order. A caller of :meth:`BlockingAuditStore.append` still waits until *its* records are
committed; :meth:`BlockingAuditStore.submit` returns at once with a future (callers that
accept a commit a few milliseconds later, e.g. an event immediately followed by a waited
one, which then share a transaction).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.engine import URL

from dora.audit.store import AuditStore, Entry, Stream
from dora.audit.verify import AuditRecord, VerifyReport
from dora.events.models import WorkflowEvent
from dora.events.settings import EventSettings

T = TypeVar("T")
_Item = tuple[list[Entry], "asyncio.Future[list[AuditRecord]]"]


class BlockingAuditStore:
    """Owns an :class:`AuditStore` on its own loop thread; every method blocks until done."""

    def __init__(self, url: str | URL | None = None, settings: EventSettings | None = None) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="dora-audit-store", daemon=True
        )
        self._thread.start()
        self._queue: asyncio.Queue[_Item | None]
        #: transactions the writer committed and records in them (group commit at work)
        self.commits = 0
        self.committed = 0
        try:
            self.store: AuditStore = self.call(AuditStore.open(url, settings))
            self.call(self._start_writer())
        except BaseException:
            self._stop_loop()
            raise

    async def _start_writer(self) -> None:
        self._queue = asyncio.Queue()
        self._writer = asyncio.get_running_loop().create_task(self._write_loop())

    async def _write_loop(self) -> None:
        closing = False
        while not closing:
            first = await self._queue.get()
            if first is None:
                return
            batch = [first]
            while not self._queue.empty() and len(batch) < 500:
                item = self._queue.get_nowait()
                if item is None:
                    closing = True
                    break
                batch.append(item)
            await self._commit(batch)

    async def _commit(self, batch: list[_Item]) -> None:
        entries = [e for group, _ in batch for e in group]
        try:
            records = await self.store.append(entries)
        except Exception as exc:
            if len(batch) > 1:  # isolate: one caller's bad entry must not fail the others
                for group, fut in batch:
                    await self._append_one(group, fut)
                return
            for _, fut in batch:
                if not fut.done():
                    fut.set_exception(exc)
            return
        self.commits += 1
        self.committed += len(records)
        start = 0
        for group, fut in batch:
            if not fut.done():
                fut.set_result(records[start : start + len(group)])
            start += len(group)

    async def _append_one(self, group: list[Entry], fut: asyncio.Future[list[AuditRecord]]) -> None:
        try:
            records = await self.store.append(group)
        except Exception as exc:
            if not fut.done():
                fut.set_exception(exc)
            return
        self.commits += 1
        self.committed += len(records)
        if not fut.done():
            fut.set_result(records)

    async def _enqueue(self, entries: list[Entry]) -> list[AuditRecord]:
        fut: asyncio.Future[list[AuditRecord]] = asyncio.get_running_loop().create_future()
        await self._queue.put((entries, fut))
        return await fut

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("BlockingAuditStore called from its own loop thread")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    async def acall(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await from another event loop (async hooks) without blocking it."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._loop))

    def append(self, entries: Sequence[Entry]) -> list[AuditRecord]:
        """Append in order, atomically; return once committed.

        SQLite: in the caller's thread, on the store's sync engine (no thread hop: under
        GIL contention from Prefect's own threads each hop can cost milliseconds).
        PostgreSQL: through the writer on the loop thread (asyncpg), group-committed.
        """
        if not entries:
            return []
        engine = self.store.sync_engine
        if engine is None or threading.current_thread() is self._thread:
            return self.call(self._enqueue(list(entries)))
        with engine.begin() as conn:
            records = AuditStore._append_tx(conn, list(entries))
        self.commits += 1
        self.committed += len(records)
        return records

    def submit(self, entries: Sequence[Entry]) -> concurrent.futures.Future[list[AuditRecord]]:
        """Queue entries for the next commit and return at once (queue order is kept)."""
        if threading.current_thread() is self._thread:
            raise RuntimeError("BlockingAuditStore called from its own loop thread")
        return asyncio.run_coroutine_threadsafe(self._enqueue(list(entries)), self._loop)

    def flush(self) -> None:
        """Return once everything queued before this call is committed."""
        self.call(self._enqueue([]))

    def append_event(
        self, event: WorkflowEvent, *, kind: str | None = None, streams: tuple[Stream, ...] = ()
    ) -> AuditRecord:
        (record,) = self.append([Entry.for_event(event, kind=kind, streams=streams)])
        return record

    def verify(self, *, anchor: tuple[int, str] | None = None) -> VerifyReport:
        return self.call(self.store.verify(anchor=anchor))

    def records(
        self, *, since: datetime | None = None, run_id: str | None = None
    ) -> list[AuditRecord]:
        async def collect() -> list[AuditRecord]:
            return [r async for r in self.store.iter_records(since=since, run_id=run_id)]

        return self.call(collect())

    async def _close_writer(self) -> None:
        """Let everything queued so far commit, then stop the writer."""
        await self._queue.put(None)
        await self._writer

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def close(self) -> None:
        if self._loop.is_closed():
            return
        try:
            self.call(self._close_writer())
            self.call(self.store.close())
        finally:
            self._stop_loop()
