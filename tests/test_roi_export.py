"""The xBRL-CSV report package: folder layout, metadata files, taxonomy columns, round trip."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from pathlib import Path

import pytest

from agents.roi.export import DORA_MODULE, default_reference_date, export_package
from agents.roi.templates import TEMPLATES
from agents.roi.validate import validate_directory
from tests.fixtures.roi.roi_helpers import SAMPLE

LEI = "529900NHB7Q2K4X8M379"
CREATED = dt.datetime(2026, 1, 2, 7, 0, 0, 123000, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    register, report = validate_directory(SAMPLE)
    assert report.valid
    out = tmp_path_factory.mktemp("pkg")
    result = export_package(register, out, created=CREATED)
    return {"result": result, "zip": Path(str(result["path"]))}


def _csv(zf: zipfile.ZipFile, name: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(zf.read(name).decode("utf-8"))))


def test_package_name_and_folder_structure(package: dict[str, object]) -> None:
    stem = f"{LEI}.IND_DE_DORA010100_DORA_2025-12-31_20260102070000123"
    path = package["zip"]
    assert isinstance(path, Path) and path.name == f"{stem}.zip"
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
    expected = {
        f"{stem}/META-INF/reportPackage.json",
        f"{stem}/reports/report.json",
        f"{stem}/reports/parameters.csv",
        f"{stem}/reports/FilingIndicators.csv",
    } | {f"{stem}/reports/{t.code.lower()}.csv" for t in TEMPLATES.values()}
    assert names == expected
    assert len([n for n in names if n.endswith(".csv") and "/b_" in n]) == 15


def test_metadata_files(package: dict[str, object]) -> None:
    path = package["zip"]
    assert isinstance(path, Path)
    stem = path.stem
    with zipfile.ZipFile(path) as zf:
        rp = json.loads(zf.read(f"{stem}/META-INF/reportPackage.json"))
        report = json.loads(zf.read(f"{stem}/reports/report.json"))
        params = dict(_csv(zf, f"{stem}/reports/parameters.csv")[1:])
        indicators = _csv(zf, f"{stem}/reports/FilingIndicators.csv")
    assert rp["documentInfo"]["documentType"].startswith("https://xbrl.org/report-package")
    assert report["documentInfo"]["documentType"] == "https://xbrl.org/2021/xbrl-csv"
    assert report["documentInfo"]["extends"] == [DORA_MODULE]
    assert params["entityID"] == f"rs:{LEI}.IND" and params["refPeriod"] == "2025-12-31"
    assert params["baseCurrency"] == "iso4217:EUR"
    assert indicators[0] == ["templateID", "reported"]
    assert [r[0] for r in indicators[1:]] == list(TEMPLATES)
    assert all(r[1] == "true" for r in indicators[1:])


def test_tables_use_taxonomy_column_codes_and_members(package: dict[str, object]) -> None:
    path = package["zip"]
    assert isinstance(path, Path)
    stem = path.stem
    with zipfile.ZipFile(path) as zf:
        b0601 = _csv(zf, f"{stem}/reports/b_06.01.csv")
        b0202 = _csv(zf, f"{stem}/reports/b_02.02.csv")
        b0301 = _csv(zf, f"{stem}/reports/b_03.01.csv")
        b0303 = _csv(zf, f"{stem}/reports/b_03.03.csv")
        b0203 = _csv(zf, f"{stem}/reports/b_02.03.csv")
        b9901 = _csv(zf, f"{stem}/reports/b_99.01.csv")
    # B_06.01: OJ 0060..0110 are the taxonomy's c0050..c0100
    assert b0601[0] == [f"c{n:04d}" for n in range(10, 110, 10)]
    f01 = dict(zip(b0601[0], b0601[1], strict=True))
    assert f01["c0050"] == "eba_BT:x28" and f01["c0080"] == "4" and f01["c0100"] == "eba_ZZ:x793"
    assert b0202[0] == [f"c{n:04d}" for n in range(10, 190, 10)]
    first = dict(zip(b0202[0], b0202[1], strict=True))
    assert first["c0060"] == "eba_TA:S17" and first["c0120"] == "eba_GA:DE"
    assert first["c0080"] == "9999-12-31" and first["c0140"] == "eba_BT:x28"
    # link columns of the taxonomy
    assert b0301[0] == ["c0010", "c0020", "c0030"] and all(r[2] == "true" for r in b0301[1:])
    assert b0303[0] == ["c0010", "c0020", "c0031"]
    assert b0203[0] == ["c0010", "c0020", "c0030"]
    assert b9901[0] == [f"c{n:04d}" for n in range(10, 200, 10)] and len(b9901) == 2


def test_exported_tables_read_back_to_the_same_register(
    package: dict[str, object], tmp_path: Path
) -> None:
    path = package["zip"]
    assert isinstance(path, Path)
    with zipfile.ZipFile(path) as zf:
        zf.extractall(tmp_path)
    reports = tmp_path / path.stem / "reports"
    back, report = validate_directory(reports)
    assert report.error_count == 0, [i.line() for i in report.issues]
    original, _ = validate_directory(SAMPLE)
    for code in TEMPLATES:
        assert [r.clean for r in back.rows(code)] == [r.clean for r in original.rows(code)], code


@pytest.mark.parametrize(
    ("reporting", "reference"),
    [("2025-12-31", "2025-12-31"), ("2026-03-15", "2025-12-31"), ("2025-03-31", "2025-03-31")],
)
def test_reference_date(reporting: str, reference: str) -> None:
    assert default_reference_date(reporting) == reference


def test_consolidated_level_and_explicit_reference_date(tmp_path: Path) -> None:
    register, _ = validate_directory(SAMPLE)
    result = export_package(
        register, tmp_path / "x.zip", reference_date="2025-03-31", level="CON", created=CREATED
    )
    assert result["entity_id"] == f"rs:{LEI}.CON"
    with zipfile.ZipFile(result["path"]) as zf:
        stem = zf.namelist()[0].split("/")[0]
        assert stem.startswith(f"{LEI}.CON_DE_DORA010100_DORA_2025-03-31_")
    with pytest.raises(ValueError, match="IND or CON"):
        export_package(register, tmp_path, level="SUB")
