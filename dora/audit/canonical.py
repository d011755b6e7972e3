"""The canonical encoding and hashes of the audit chain (what a supervisor re-computes).

Canonical JSON: ``json.dumps(value, sort_keys=True, separators=(",", ":"),
ensure_ascii=False, allow_nan=False)`` encoded as UTF-8: keys sorted by code point, no
whitespace, strings as UTF-8 (not ``\\u`` escapes), integers in decimal, floats as
Python's shortest round-trip ``repr`` (avoid floats in audit data when another language
must verify; digests and decimal strings are safer), no NaN/Infinity.

A record's hash is ``sha256(canonical(record without "hash"))`` in lower-case hex, where the
record is ``{"seq", "prev_hash", "kind", "recorded_at", "workflow_id", "run_id",
"event_id", "data"}``. ``prev_hash`` of the first record ever written is
:data:`GENESIS_HASH` (64 zeros).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import math
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from typing import Any
from uuid import UUID

from pydantic import BaseModel

#: ``prev_hash`` of the first record of a chain
GENESIS_HASH = "0" * 64

#: the fields a record's hash covers (everything but ``hash``)
HASHED_FIELDS = (
    "seq",
    "prev_hash",
    "kind",
    "recorded_at",
    "workflow_id",
    "run_id",
    "event_id",
    "data",
)


def to_jsonable(value: Any) -> Any:
    """Plain JSON types for any value an engine hook may hand us (stored = hashed)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return value
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [to_jsonable(v) for v in value]
        return sorted(items, key=canonical_json) if isinstance(value, set | frozenset) else items
    if isinstance(value, BaseModel):
        return to_jsonable(value.model_dump(mode="json"))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return to_jsonable(value.value)
    if isinstance(value, Decimal | UUID | PurePath):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return repr(value)


def canonical_json(value: Any) -> str:
    """The canonical JSON text of ``value`` (see the module docstring)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def canonical_bytes(value: Any) -> bytes:
    return canonical_json(value).encode("utf-8")


def digest(value: Any) -> str:
    """``sha256:<hex>`` of the canonical encoding of any value (inputs/outputs lineage)."""
    return "sha256:" + hashlib.sha256(canonical_bytes(to_jsonable(value))).hexdigest()


def record_hash(record: dict[str, Any]) -> str:
    """The hash a record must carry: sha256 hex over its hashed fields, canonically encoded."""
    content = {name: record.get(name) for name in HASHED_FIELDS}
    return hashlib.sha256(canonical_bytes(content)).hexdigest()
