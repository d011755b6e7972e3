"""Check an exported JSON Lines file, the way a supervisor would, with no database.

Each line is one record (see :mod:`dora.audit.canonical` for the encoding and hash). An
export covering ``--since/--until`` starts mid-chain: its first ``prev_hash`` is reported so
it can be matched with the last ``hash`` of the previous export (``anchor``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

from dora.audit.verify import AuditRecord, ChainBounds, VerifyReport, verify_chain
from dora.errors import DefinitionError


def read_export(path: Path) -> list[AuditRecord]:
    """Parse every line; a bad line is a clear error naming the file, line and field."""
    records: list[AuditRecord] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                if not isinstance(raw, dict):
                    raise ValueError("a line must be a JSON object")
                records.append(AuditRecord.from_dict(raw))
            except (ValueError, TypeError) as exc:
                raise DefinitionError(f"{path}:{number}: not an audit record: {exc}") from None
    return sorted(records, key=lambda r: r.seq)


def verify_export(
    path: Path, *, anchor: tuple[int, str] | None = None, from_genesis: bool = False
) -> VerifyReport:
    """Verify an export file (``from_genesis``: it must start at the chain's first record)."""
    return asyncio.run(averify_export(path, anchor=anchor, from_genesis=from_genesis))


async def averify_export(
    path: Path, *, anchor: tuple[int, str] | None = None, from_genesis: bool = False
) -> VerifyReport:
    """:func:`verify_export` for callers already in an event loop."""
    records = read_export(path)
    by_hash = {r.hash: r for r in records}
    by_seq = {r.seq: r for r in records}

    async def walk() -> VerifyReport:
        async def items() -> AsyncIterator[AuditRecord]:
            for record in records:
                yield record

        async def find_hash(digest: str) -> AuditRecord | None:
            return by_hash.get(digest)

        async def find_seq(seq: int) -> AuditRecord | None:
            return by_seq.get(seq)

        bounds = ChainBounds()
        if records and not from_genesis:
            bounds = ChainBounds(base_seq=records[0].seq - 1, base_hash=records[0].prev_hash)
        return await verify_chain(items(), bounds, find_hash, find_seq, anchor=anchor)

    report = await walk()
    if records and not from_genesis:
        report.notes.append(
            f"export starts at seq {records[0].seq} after prev_hash {records[0].prev_hash}: "
            "compare with the last hash of the previous export"
        )
    return report
