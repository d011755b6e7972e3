"""CEL conditions evaluated on task outputs: numbers compare by value, whatever their type.

Task outputs reach CEL as doubles, so the spec's heterogeneous numeric equality matters:
``gaps == 0`` must be true for a count of zero, not an evaluation error.
"""

from __future__ import annotations

from typing import Any

import pytest

from dora.definition.conditions import ConditionEvalError, parse_condition


@pytest.mark.parametrize(
    ("source", "activation", "expected"),
    [
        ("errors == 0", {"errors": 0}, True),
        ("errors == 0", {"errors": 3}, False),
        ("errors != 0", {"errors": 3}, True),
        ("errors != 0", {"errors": 0}, False),
        ("score == 1", {"score": 1.0}, True),
        ("score == 0.5", {"score": 0.5}, True),
        ("score == 0.5", {"score": 0.25}, False),
        ("size(items) == 2", {"items": ["a", "b"]}, True),
        ("size(items) == 2.0", {"items": ["a", "b"]}, True),
        ("size(items) != 3", {"items": ["a", "b"]}, True),
        ("name == 'x'", {"name": "x"}, True),
        ("flag == true", {"flag": True}, True),
        ("values == [1, 2]", {"values": [1, 2]}, True),
        ("errors >= 0 && errors < 1", {"errors": 0}, True),
    ],
)
def test_equality_and_ordering(source: str, activation: dict[str, Any], expected: bool) -> None:
    assert parse_condition(source).evaluate(activation) is expected


def test_comparing_a_number_with_a_string_is_still_an_error() -> None:
    with pytest.raises(ConditionEvalError):
        parse_condition("errors == 'none'").evaluate({"errors": 0})
