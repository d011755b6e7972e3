"""A synchronous face for the async audit store, for Prefect state hooks and the CLI.

Why a private event loop thread: the engine's flows and tasks are sync and run in worker
threads, and asyncpg/aiosqlite connections belong to the loop that opened them. One
daemon thread per store owns the loop and the engine; callers from any thread submit a
coroutine and wait for it (a thread hop costs tens of microseconds, the commit dominates).
"""

from __future__ import annotations

import asyncio
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


class BlockingAuditStore:
    """Owns an :class:`AuditStore` on its own loop thread; every method blocks until done."""

    def __init__(self, url: str | URL | None = None, settings: EventSettings | None = None) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="dora-audit-store", daemon=True
        )
        self._thread.start()
        try:
            self.store: AuditStore = self.call(AuditStore.open(url, settings))
        except BaseException:
            self._stop_loop()
            raise

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("BlockingAuditStore called from its own loop thread")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    async def acall(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await from another event loop (async hooks) without blocking it."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._loop))

    def append(self, entries: Sequence[Entry]) -> list[AuditRecord]:
        return self.call(self.store.append(entries))

    def append_event(
        self, event: WorkflowEvent, *, kind: str | None = None, streams: tuple[Stream, ...] = ()
    ) -> AuditRecord:
        return self.call(self.store.append_event(event, kind=kind, streams=streams))

    def verify(self, *, anchor: tuple[int, str] | None = None) -> VerifyReport:
        return self.call(self.store.verify(anchor=anchor))

    def records(
        self, *, since: datetime | None = None, run_id: str | None = None
    ) -> list[AuditRecord]:
        async def collect() -> list[AuditRecord]:
            return [r async for r in self.store.iter_records(since=since, run_id=run_id)]

        return self.call(collect())

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def close(self) -> None:
        if self._loop.is_closed():
            return
        try:
            self.call(self.store.close())
        finally:
            self._stop_loop()
