"""LEI check digits (ISO 17442, ISO 7064 MOD 97-10), EUID structure and types of code."""

from __future__ import annotations

import pytest

from agents.roi.identifiers import (
    euid_problem,
    lei_check_digits,
    lei_problem,
    make_lei,
    parse_code_type,
)

# LEIs published by GLEIF for well-known legal entities
REAL_LEIS = [
    "529900T8BM49AURSDO55",  # Deutsche Boerse AG
    "7LTWFZYICNSX8D621K86",  # Deutsche Bank AG
    "HWUPKR0MPOU8FGXBT394",  # Apple Inc.
]


@pytest.mark.parametrize("lei", REAL_LEIS)
def test_real_leis_pass_and_their_check_digits_are_recomputed(lei: str) -> None:
    assert lei_problem(lei) is None
    assert lei_check_digits(lei[:18]) == lei[18:]


def test_check_digits_by_hand() -> None:
    # 529900T8BM49AURSDO + "00": letters A=10 ... Z=35 give the number N; 98 - N mod 97 = 55
    base = "529900T8BM49AURSDO"
    digits = "".join(str(int(c, 36)) for c in base + "00")
    assert 98 - int(digits) % 97 == 55
    assert make_lei(base) == "529900T8BM49AURSDO55"


@pytest.mark.parametrize(
    ("lei", "fragment"),
    [
        ("529900T8BM49AURSDO56", "check digits 56 are wrong"),
        ("529900T8BM49AURSDO5", "20 characters"),
        ("529900T8BM49AURSDO555", "20 characters"),
        ("529900t8bm49aursdo55", "upper-case"),
        ("529900T8BM49AURSDOAB", "2 check digits"),
        ("529900T8BM-9AURSDO55", "upper-case"),
    ],
)
def test_bad_leis_are_explained(lei: str, fragment: str) -> None:
    problem = lei_problem(lei)
    assert problem is not None and fragment in problem


def test_a_swapped_pair_of_characters_is_caught() -> None:
    lei = "7LTWFZYICNSX8D621K86"
    swapped = lei[:5] + lei[6] + lei[5] + lei[7:]
    assert lei_problem(swapped) is not None


def test_every_lei_in_the_sample_register_has_correct_check_digits() -> None:
    import csv
    import re

    from tests.fixtures.roi.roi_helpers import SAMPLE

    found = set()
    for path in SAMPLE.glob("B_*.csv"):
        for row in csv.reader(path.open(encoding="utf-8")):
            found |= {c for c in row if re.fullmatch(r"[A-Z0-9]{18}[0-9]{2}", c)}
    assert len(found) >= 15
    for lei in found:
        assert lei_problem(lei) is None, lei


@pytest.mark.parametrize(
    "euid", ["DEK1101R.HRB116737", "NLNHR.81234567", "ELGEMI.123456789000", "ATFBN.123456a"]
)
def test_valid_euids(euid: str) -> None:
    assert euid_problem(euid) is None


@pytest.mark.parametrize(
    ("euid", "fragment"),
    [
        ("DEK1101R-HRB116737", "<country><register id>.<registration number>"),
        ("GRGEMI.123456", "Greece uses EL"),
        ("USDE.12345", "not an EU/EEA business register"),
        ("DE.12345", "<country><register id>"),
        ("DEK1101R.", "<country><register id>"),
        ("dek1101r.HRB1", "<country><register id>"),
    ],
)
def test_invalid_euids(euid: str, fragment: str) -> None:
    problem = euid_problem(euid)
    assert problem is not None and fragment in problem


@pytest.mark.parametrize(
    ("raw", "canonical", "legal"),
    [
        ("LEI", "LEI", True),
        ("euid", "EUID", True),
        ("DE_VAT", "DE_VAT", False),
        ("fr_crn", "FR_CRN", False),
        ("IT_NIN", "IT_NIN", False),
        ("ES_PNR", "ES_PNR", False),
        ("eba_qCO:qx2000", "LEI", True),
    ],
)
def test_types_of_code(raw: str, canonical: str, legal: bool) -> None:
    parsed = parse_code_type(raw)
    assert parsed is not None
    assert parsed.canonical == canonical and parsed.legal_person_code is legal


@pytest.mark.parametrize("raw", ["DUNS", "VAT", "DE_TAX", "DEU_VAT", ""])
def test_unknown_types_of_code(raw: str) -> None:
    assert parse_code_type(raw) is None
