"""Walk a hash chain and locate the first record that was edited, deleted, inserted or moved.

Used for the live store (``dora audit verify``) and for exported JSON Lines (a supervisor's
copy), so it only needs records in ``seq`` order plus two look-ups (by hash, by seq) that
are called only after something is already wrong.

How each tampering shows up (``seq`` is part of every record's hash):

* **edited** in place: the record's content no longer hashes to its ``hash``; if the editor
  also recomputed ``hash``, the *next* record's ``prev_hash`` no longer matches it.
* **deleted**: a gap in ``seq``; if later records were renumbered to close the gap, they
  hash correctly only under their old (higher) ``seq`` and their predecessor is gone; a
  truncated tail is caught by the chain head (last ``seq`` and hash) kept beside the chain.
* **inserted**: a record whose successor links past it (to the record before it), or
  beyond the chain head; with renumbering, the displaced original hashes under a lower
  ``seq`` and shares its predecessor with the forged record.
* **reordered**: a record hashes correctly only under another record's ``seq``, and that
  record in turn belongs at this one's place.

A forger who rewrites every later record *and* the head cannot be caught by a hash chain
alone: supervisors anchor it by keeping the last ``hash`` of each export they receive
(``--anchor SEQ:HASH`` checks it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from dora.audit.canonical import GENESIS_HASH, HASHED_FIELDS, record_hash

ProblemKind = Literal["edited", "deleted", "inserted", "reordered", "checkpoint", "anchor"]

#: how far a renumbered record is searched for its original ``seq``
_RENUMBER_WINDOW = 1000


@dataclass(frozen=True)
class AuditRecord:
    """One record of the chain, as stored and as exported (one JSON line)."""

    seq: int
    prev_hash: str
    kind: str
    recorded_at: str
    workflow_id: str | None
    run_id: str | None
    event_id: str | None
    data: dict[str, Any]
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in (*HASHED_FIELDS, "hash")}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> AuditRecord:
        missing = [n for n in (*HASHED_FIELDS, "hash") if n not in raw]
        if missing:
            raise ValueError(f"record is missing field(s) {', '.join(missing)}")
        extra = sorted(set(raw) - {*HASHED_FIELDS, "hash"})
        if extra:
            raise ValueError(f"record has unknown field(s) {', '.join(extra)}")
        if not isinstance(raw["seq"], int) or not isinstance(raw["data"], dict):
            raise ValueError("record field seq must be an integer and data an object")
        return cls(**raw)

    def hashes_as(self, seq: int) -> bool:
        """Would this record's content carry its hash if it had been written as ``seq``?"""
        return record_hash({**self.to_dict(), "seq": seq}) == self.hash

    @property
    def intact(self) -> bool:
        return self.hashes_as(self.seq)


@dataclass(frozen=True)
class Problem:
    kind: ProblemKind
    seq: int
    message: str

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.kind}: {self.message}"


@dataclass
class VerifyReport:
    """The outcome of one walk: ``ok`` or the first problem, with what was covered."""

    checked: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    last_hash: str | None = None
    problem: Problem | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.problem is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "last_hash": self.last_hash,
            "problem": None
            if self.problem is None
            else {
                "kind": self.problem.kind,
                "seq": self.problem.seq,
                "message": self.problem.message,
            },
            "notes": self.notes,
        }


ByHash = Callable[[str], Awaitable[AuditRecord | None]]
BySeq = Callable[[int], Awaitable[AuditRecord | None]]


@dataclass
class ChainBounds:
    """Where the chain starts (after purges) and ends (head), as the store records them.

    ``base_seq``/``base_hash``: the last purged record (0 and the genesis hash if nothing
    was purged). ``head_seq``/``head_hash``: the last record appended, or ``None`` when
    verifying an export (which has no head).
    """

    base_seq: int = 0
    base_hash: str = GENESIS_HASH
    head_seq: int | None = None
    head_hash: str | None = None


async def _original_seq(
    rec: AuditRecord, bounds: ChainBounds, by_hash: ByHash, depth: int = 3
) -> int | None:
    """The ``seq`` this record was written with, found from its hash (``None``: edited)."""
    if rec.intact:
        return rec.seq
    if depth > 0:
        if rec.prev_hash == bounds.base_hash and rec.hashes_as(bounds.base_seq + 1):
            return bounds.base_seq + 1
        owner = await by_hash(rec.prev_hash)
        if owner is not None:
            owner_seq = await _original_seq(owner, bounds, by_hash, depth - 1)
            if owner_seq is not None and rec.hashes_as(owner_seq + 1):
                return owner_seq + 1
    for delta in range(1, _RENUMBER_WINDOW + 1):
        for candidate in (rec.seq + delta, rec.seq - delta):
            if candidate > 0 and rec.hashes_as(candidate):
                return candidate
    return None


async def _classify_broken(
    rec: AuditRecord,
    prev: AuditRecord | None,
    bounds: ChainBounds,
    by_hash: ByHash,
    by_seq: BySeq,
) -> Problem:
    """``rec`` does not hash correctly at its place: edited, moved, or displaced."""
    orig = await _original_seq(rec, bounds, by_hash)
    if orig is None:
        return Problem(
            "edited", rec.seq, "content no longer matches the record's hash (field edited)"
        )
    if orig < rec.seq:
        forged = await by_seq(orig)
        if forged is not None and forged.intact and forged.prev_hash == rec.prev_hash:
            return Problem(
                "inserted",
                orig,
                f"record at seq {orig} is not part of the chain: the record now at seq "
                f"{rec.seq} was written as seq {orig} and links to the same predecessor",
            )
    other = await by_seq(orig)
    if other is not None:
        other_orig = await _original_seq(other, bounds, by_hash)
        if other_orig == rec.seq:
            return Problem(
                "reordered",
                min(rec.seq, orig),
                f"records at seq {rec.seq} and {orig} were swapped "
                f"(the record at seq {rec.seq} was written as seq {orig})",
            )
    if orig > rec.seq:
        return Problem(
            "deleted",
            rec.seq,
            f"{orig - rec.seq} record(s) deleted before this one and later records renumbered "
            f"(this record was written as seq {orig})",
        )
    return Problem(
        "reordered", rec.seq, f"record at seq {rec.seq} was written as seq {orig} (moved)"
    )


async def _classify_unlinked(
    rec: AuditRecord, prev: AuditRecord | None, bounds: ChainBounds, by_hash: ByHash
) -> Problem:
    """``rec`` hashes correctly but does not link to the record before it."""
    owner = await by_hash(rec.prev_hash)
    if owner is not None and owner.seq < rec.seq - 1:
        first = owner.seq + 1
        return Problem(
            "inserted",
            first,
            f"record(s) {first}..{rec.seq - 1} are not part of the chain: seq {rec.seq} "
            f"links to seq {owner.seq}",
        )
    if prev is None:
        return Problem(
            "deleted",
            rec.seq,
            "the first record does not link to the chain's start "
            f"(seq {bounds.base_seq}, hash {bounds.base_hash[:12]}…): records before it were "
            "deleted or the purge checkpoint was altered",
        )
    return Problem(
        "edited",
        prev.seq,
        f"record at seq {prev.seq} was changed after seq {rec.seq} was written "
        "(its hash was recomputed, but seq "
        f"{rec.seq} committed to the old one)",
    )


async def verify_chain(
    records: AsyncIterator[AuditRecord],
    bounds: ChainBounds,
    by_hash: ByHash,
    by_seq: BySeq,
    *,
    anchor: tuple[int, str] | None = None,
    linked_start: bool = True,
) -> VerifyReport:
    """Walk ``records`` (ascending ``seq``) and stop at the first problem.

    ``linked_start=False`` (an export that starts mid-chain) takes the first record's
    ``prev_hash`` as given and reports it as a note, for the supervisor to compare with
    the last hash of the previous export.
    """
    report = VerifyReport()
    expected_seq = bounds.base_seq + 1
    expected_prev = bounds.base_hash
    prev: AuditRecord | None = None
    last_checkpoint: AuditRecord | None = None
    async for rec in records:
        if prev is None and not linked_start:
            expected_seq, expected_prev = rec.seq, rec.prev_hash
            report.notes.append(
                f"export starts at seq {rec.seq}; it links to prev_hash {rec.prev_hash}"
            )
        if bounds.head_seq is not None and rec.seq > bounds.head_seq:
            report.problem = Problem(
                "inserted",
                rec.seq,
                f"record beyond the chain head (head is seq {bounds.head_seq})",
            )
            return report
        if rec.seq > expected_seq:
            report.problem = Problem(
                "deleted",
                expected_seq,
                f"record(s) {expected_seq}..{rec.seq - 1} are missing",
            )
            return report
        if not rec.intact:
            report.problem = await _classify_broken(rec, prev, bounds, by_hash, by_seq)
            return report
        if rec.prev_hash != expected_prev:
            report.problem = await _classify_unlinked(rec, prev, bounds, by_hash)
            return report
        if anchor is not None and rec.seq == anchor[0] and rec.hash != anchor[1]:
            report.problem = Problem(
                "anchor", rec.seq, "hash differs from the anchor the supervisor holds"
            )
            return report
        if rec.kind == "checkpoint":
            last_checkpoint = rec
        report.checked += 1
        report.first_seq = rec.seq if report.first_seq is None else report.first_seq
        report.last_seq, report.last_hash = rec.seq, rec.hash
        expected_seq, expected_prev, prev = rec.seq + 1, rec.hash, rec
    if bounds.head_seq is not None:
        last = report.last_seq if report.last_seq is not None else bounds.base_seq
        if last < bounds.head_seq:
            report.problem = Problem(
                "deleted",
                last + 1,
                f"record(s) {last + 1}..{bounds.head_seq} are missing (tail removed)",
            )
            return report
        if (
            bounds.head_hash is not None
            and (report.last_hash or bounds.base_hash) != bounds.head_hash
        ):
            report.problem = Problem(
                "edited", last, "the last record's hash differs from the chain head"
            )
            return report
    if bounds.base_seq > 0:
        data = last_checkpoint.data if last_checkpoint is not None else {}
        if (
            data.get("purged_through_seq") != bounds.base_seq
            or data.get("last_purged_hash") != bounds.base_hash
        ):
            report.problem = Problem(
                "checkpoint",
                bounds.base_seq + 1,
                "the chain starts after a purge, but no checkpoint record in the chain "
                f"vouches for seq {bounds.base_seq} / {bounds.base_hash[:12]}…",
            )
    if anchor is not None and (report.first_seq or 0) <= anchor[0] <= (report.last_seq or -1):
        report.notes.append(f"anchor seq {anchor[0]} matches")
    return report
