"""Validation of the register of information: every rule found at its template, row, column."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from openpyxl import Workbook

from agents.roi.identifiers import make_lei
from agents.roi.loader import load_register
from agents.roi.models import Issue
from agents.roi.templates import TEMPLATES
from agents.roi.validate import validate_directory
from tests.fixtures.roi.roi_helpers import FIXTURES, SAMPLE, copy_sample, read, set_cell, write


def _errors(directory: Path) -> list[Issue]:
    _reg, report = validate_directory(directory)
    return [i for i in report.issues if i.severity == "error"]


def _one(directory: Path) -> Issue:
    errors = _errors(directory)
    assert len(errors) == 1, [e.line() for e in errors]
    return errors[0]


def test_the_sample_register_is_valid_without_warnings() -> None:
    register, report = validate_directory(SAMPLE)
    assert report.valid and report.error_count == 0 and report.warning_count == 0
    assert report.entity_name == "Nordhafen Bank AG"
    assert report.reporting_date == "2025-12-31"
    assert {t.template for t in report.templates} == set(TEMPLATES)
    # values are normalised for later steps: EBA members, ISO codes, numbers
    row = register.rows("B_02.02")[0]
    assert (
        row.clean["0060"] == "S17"
        and row.clean["0100"] == 180
        and row.clean["0140"] == "eba_BT:x28"
    )


def test_every_planted_error_is_found_where_it_was_planted() -> None:
    planted = FIXTURES / "planted"
    expected = json.loads((planted / "expected.json").read_text())
    errors = _errors(planted)
    found = {(e.template, e.row, e.column, e.rule) for e in errors}
    wanted = {(x["template"], x["row"], x["column"], x["rule"]) for x in expected}
    assert found == wanted
    assert len(errors) == len(expected) == 21
    for e in errors:
        assert e.file == f"{e.template}.csv" and e.reference and e.message


@pytest.mark.parametrize(
    ("template", "row", "column", "value", "rule"),
    [
        ("B_01.01", 2, "0010", "529900NHB7Q2K4X8M397", "lei.checksum"),
        ("B_01.01", 2, "0010", "529900OTHRBNK4Q7Z260", "ref.missing"),  # not in B_01.02
        ("B_01.01", 2, "0040", "bank", "codelist.value"),
        ("B_01.01", 2, "0060", "31.12.2025", "format.date"),
        ("B_01.02", 2, "0100", "DM", "codelist.currency"),
        ("B_01.02", 3, "0090", "", "date.open_end"),
        ("B_01.02", 4, "0090", "2024-01-01", "date.order"),
        ("B_02.01", 2, "0050", "1.200.000", "format.amount"),
        ("B_02.01", 2, "0050", "-5", "format.amount"),
        ("B_02.01", 2, "0020", "eba_CO:x7", "codelist.value"),
        ("B_02.02", 2, "0040", "DUNS", "identifier.type"),
        ("B_02.02", 2, "0100", "6 months", "format.integer"),
        ("B_02.02", 2, "0170", "", "mandatory.conditional"),
        ("B_02.02", 4, "0070", "2027-07-01", "date.order"),
        ("B_02.02", 2, "0080", "", "date.open_end"),
        ("B_04.01", 8, "0040", "", "mandatory.conditional"),
        ("B_04.01", 2, "0040", "", "key.empty"),
        ("B_05.02", 3, "0060", "", "mandatory.conditional"),
        ("B_05.02", 2, "0060", "", "key.empty"),
        ("B_05.02", 2, "0050", "0", "format.rank"),
        ("B_06.01", 2, "0060", "maybe", "codelist.value"),
        ("B_06.01", 2, "0070", "", "mandatory.conditional"),
        ("B_07.01", 2, "0060", "", "mandatory.conditional"),
        ("B_07.01", 2, "0120", "", "mandatory.conditional"),
        ("B_07.01", 2, "0070", "2026-02-01", "date.future"),
        ("B_07.01", 2, "0080", "perhaps", "codelist.value"),
        ("B_03.01", 2, "0010", "", "key.empty"),
        ("B_03.02", 2, "0010", "NHB-ICT-1999-999", "ref.missing"),
        ("B_05.01", 3, "0110", "5493009NOTLISTED0023", "lei.checksum"),
    ],
)
def test_each_rule_is_located(
    tmp_path: Path, template: str, row: int, column: str, value: str, rule: str
) -> None:
    directory = copy_sample(tmp_path)
    set_cell(directory, template, row, column, value)
    issue = _one(directory)
    assert (issue.template, issue.row, issue.column, issue.rule) == (
        template,
        row,
        f"{template}.{column}",
        rule,
    )
    assert issue.file == f"{template}.csv"


def test_subcontractor_of_a_critical_service_needs_lei_or_euid(tmp_path: Path) -> None:
    """CIR 2024/2956 Art. 3(6): a rank-2 provider identified by VAT is rejected."""
    directory = copy_sample(tmp_path)
    table = read(directory, "B_05.01")
    table.append(
        [
            "DE811111111",
            "DE_VAT",
            "",
            "",
            "Kleinrechenzentrum Hamm",
            "",
            "eba_CT:x213",
            "DE",
            "EUR",
            "0",
            "",
            "",
        ]
    )
    write(directory, "B_05.01", table)
    set_cell(directory, "B_05.02", 3, "0030", "DE811111111")
    set_cell(directory, "B_05.02", 3, "0040", "DE_VAT")
    issue = _one(directory)
    assert (issue.template, issue.row, issue.column, issue.rule) == (
        "B_05.02",
        3,
        "B_05.02.0040",
        "identifier.subcontractor",
    )
    assert "Art. 3(6)" in issue.reference


def test_a_provider_code_with_another_type_than_in_b_05_01(tmp_path: Path) -> None:
    directory = copy_sample(tmp_path)
    set_cell(directory, "B_03.02", 2, "0030", "DE_CRN")
    issue = _one(directory)
    assert (issue.template, issue.row, issue.rule) == ("B_03.02", 2, "identifier.type_mismatch")


def test_non_eu_legal_person_with_euid_only(tmp_path: Path) -> None:
    directory = copy_sample(tmp_path)  # Data-Feed Analytics Ltd, GB, row 9
    set_cell(directory, "B_05.01", 9, "0030", "NLNHR.12345678")
    set_cell(directory, "B_05.01", 9, "0040", "EUID")
    issue = _one(directory)
    assert (issue.row, issue.column, issue.rule) == (9, "B_05.01.0040", "identifier.third_country")


def test_referential_integrity_between_templates(tmp_path: Path) -> None:
    directory = copy_sample(tmp_path)
    set_cell(directory, "B_07.01", 2, "0020", "529900NHB7Q2K4X8M379")  # the bank, not a provider
    set_cell(directory, "B_02.02", 17, "0010", "NHB-GHOST-001")  # ended arrangement, non-critical
    set_cell(directory, "B_02.02", 17, "0030", make_lei("529900GHOSTPRV0001"))
    set_cell(directory, "B_06.01", 7, "0040", make_lei("529900GHOSTENT0001"))
    errors = _errors(directory)
    got = {(e.template, e.row, e.column, e.rule) for e in errors}
    assert ("B_02.02", 17, "B_02.02.0010", "ref.missing") in got
    assert ("B_02.02", 17, "B_02.02.0030", "ref.missing") in got
    assert ("B_06.01", 7, "B_06.01.0040", "ref.missing") in got
    assert ("B_07.01", 2, "B_07.01.0020", "ref.missing") in got
    # the service it should have assessed is now without assessment (a true consequence)
    assert ("B_02.02", 2, "B_02.02.0060", "assessment.missing") in got
    for e in errors:
        assert e.blocking is (e.rule == "ref.missing")


def test_assessment_must_match_a_recorded_service(tmp_path: Path) -> None:
    directory = copy_sample(tmp_path)
    set_cell(directory, "B_07.01", 9, "0040", "S19")  # payment processor: S14 in B_02.02
    errors = _errors(directory)
    rules = {(e.template, e.row, e.rule) for e in errors}
    assert ("B_07.01", 9, "ref.service") in rules
    assert ("B_02.02", 14, "assessment.missing") in rules


def test_missing_file_and_column_are_reported(tmp_path: Path) -> None:
    directory = copy_sample(tmp_path)
    (directory / "B_05.01.csv").unlink()
    table = read(directory, "B_06.01")
    write(directory, "B_06.01", [r[:9] for r in table])  # drop 0110
    _reg, report = validate_directory(directory)
    rules = {(i.rule, i.template, i.column) for i in report.issues}
    assert ("file.missing", "B_05.01", None) in rules
    assert ("column.missing", "B_06.01", "B_06.01.0110") in rules
    assert not report.valid


def test_unknown_columns_and_files_are_warnings(tmp_path: Path) -> None:
    directory = copy_sample(tmp_path)
    table = read(directory, "B_01.01")
    write(directory, "B_01.01", [[*table[0], "9999 remarks"], *[[*r, "x"] for r in table[1:]]])
    (directory / "notes.csv").write_text("a,b\n1,2\n")
    _reg, report = validate_directory(directory)
    assert report.valid
    warnings = {(i.rule, i.file) for i in report.issues}
    assert ("file.unknown", "notes.csv") in warnings
    assert ("column.unknown", "B_01.01.csv") in warnings


def test_taxonomy_headers_and_semicolons_are_read(tmp_path: Path) -> None:
    """B_06.01 with the taxonomy's c0050..c0100 means OJ 0060..0110; ';' as separator."""
    directory = copy_sample(tmp_path)
    table = read(directory, "B_06.01")
    header = [
        "c0010",
        "c0020",
        "c0030",
        "c0040",
        "c0050",
        "c0060",
        "c0070",
        "c0080",
        "c0090",
        "c0100",
    ]
    (directory / "B_06.01.csv").write_text(
        "\n".join(";".join(r) for r in [header, *table[1:]]) + "\n", encoding="utf-8"
    )
    register, report = validate_directory(directory)
    assert report.valid, [i.line() for i in report.issues]
    assert register.rows("B_06.01")[0].clean["0060"] == "eba_BT:x28"  # criticality from c0050
    assert register.rows("B_06.01")[0].clean["0110"] == "eba_ZZ:x793"  # impact from c0100


def _workbook_rows(directory: Path, template: str) -> list[list[object]]:
    rows: list[list[object]] = []
    for i, r in enumerate(read(directory, template)):
        out: list[object] = []
        for v in r:
            if i and len(v) == 10 and v[4] == "-" and v[7] == "-" and v[0].isdigit():
                out.append(dt.datetime.fromisoformat(v))  # real Excel dates
            elif i and v.isdigit() and len(v) < 12:
                out.append(int(v))
            else:
                out.append(v or None)
        rows.append(out)
    return rows


def test_xlsx_files_one_per_template(tmp_path: Path) -> None:
    directory = copy_sample(tmp_path)
    for code in TEMPLATES:
        wb = Workbook()
        ws = wb.active
        assert ws is not None
        for r in _workbook_rows(directory, code):
            ws.append(r)
        wb.save(directory / f"{code}.xlsx")
        (directory / f"{code}.csv").unlink()
    register, report = validate_directory(directory)
    assert report.valid, [i.line() for i in report.issues]
    assert report.templates[0].file == "B_01.01.xlsx"
    assert register.rows("B_02.02")[0].clean["0070"] == "2019-04-01"


def test_xlsx_workbook_with_a_sheet_per_template_and_located_errors(tmp_path: Path) -> None:
    directory = copy_sample(tmp_path)
    wb = Workbook()
    assert wb.active is not None
    wb.remove(wb.active)
    for code in TEMPLATES:
        ws = wb.create_sheet(code)
        for r in _workbook_rows(directory, code):
            ws.append(r)
    ws = wb["B_02.02"]
    ws.cell(row=5, column=6).value = "S42"  # B_02.02.0060, row 5
    target = tmp_path / "xlsx"
    target.mkdir()
    wb.save(target / "register.xlsx")
    shutil.copy(directory / "contract_provisions.csv", target)
    issue = _one(target)
    assert (issue.file, issue.row, issue.column, issue.rule) == (
        "register.xlsx[B_02.02]",
        5,
        "B_02.02.0060",
        "codelist.service_type",
    )


def test_loader_reports_duplicate_template_files(tmp_path: Path) -> None:
    directory = copy_sample(tmp_path)
    shutil.copy(directory / "B_01.01.csv", directory / "b_01.01 copy.csv")
    register = load_register(directory)
    assert any(i.rule == "file.duplicate" for i in register.issues)


def test_rt_names_windows_1252_and_damaged_workbooks(tmp_path: Path) -> None:
    directory = copy_sample(tmp_path)
    # a file named with the draft numbering and headers "RT.01.03.0010 ..."
    table = read(directory, "B_01.03")
    (directory / "B_01.03.csv").unlink()
    header = [f"RT.01.03.{h}" for h in table[0]]
    write(directory, "RT.01.03", [header, *table[1:]])
    # Excel's Windows-1252 export of B_01.01 with an umlaut in the name
    b0101 = read(directory, "B_01.01")
    b0101[1][1] = "Nordhafen Bank AG Zweigstelle Lübeck"
    (directory / "B_01.01.csv").write_bytes("\n".join(",".join(r) for r in b0101).encode("cp1252"))
    (directory / "B_99.01.xlsx").write_bytes(b"not a zip file")
    (directory / "B_99.01.csv").unlink()
    register, report = validate_directory(directory)
    assert register.rows("B_01.01")[0].values["0020"].endswith("Lübeck")
    assert register.templates["B_01.03"].file == "RT.01.03.csv"
    rules = {(i.rule, i.file, i.severity) for i in report.issues}
    assert ("file.encoding", "B_01.01.csv", "warning") in rules
    assert ("file.unreadable", "B_99.01.xlsx", "error") in rules
    assert report.error_count == 1


def test_spreadsheet_style_whole_numbers_are_accepted(tmp_path: Path) -> None:
    directory = copy_sample(tmp_path)
    set_cell(directory, "B_02.02", 2, "0100", "180.0")
    register, report = validate_directory(directory)
    assert report.valid and register.rows("B_02.02")[0].clean["0100"] == 180
    set_cell(directory, "B_02.02", 2, "0100", "180.5")
    assert _one(directory).rule == "format.integer"
