"""``dora roi validate|analyse|export``: exit codes and output, through the mounted CLI."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from typer.testing import CliRunner

from dora.cli.main import app
from tests.fixtures.roi.roi_helpers import FIXTURES, SAMPLE

runner = CliRunner()


def test_validate_valid_register_exits_0() -> None:
    res = runner.invoke(app, ["roi", "validate", str(SAMPLE)])
    assert res.exit_code == 0, res.output
    assert "VALID: 0 error(s), 0 warning(s) in 15 template(s)" in res.output


def test_validate_planted_errors_exits_1_with_locations() -> None:
    res = runner.invoke(app, ["roi", "validate", str(FIXTURES / "planted")])
    assert res.exit_code == 1
    assert "INVALID: 21 error(s)" in res.output
    assert (
        "B_02.02.csv, row 16, B_02.02.0060: error [codelist.service_type]: 'S20' is not an ICT "
        "service type S01-S19 of Annex III"
    ) in res.output
    assert "B_01.02.csv, row 3, B_01.02.0060: error [lei.checksum]" in res.output


def test_validate_json() -> None:
    res = runner.invoke(app, ["roi", "validate", str(FIXTURES / "planted"), "--json"])
    assert res.exit_code == 1
    data = json.loads(res.output)
    assert data["valid"] is False and data["error_count"] == 21
    issue = next(i for i in data["issues"] if i["rule"] == "euid.format")
    assert (issue["template"], issue["row"], issue["column"]) == ("B_05.01", 2, "B_05.01.0030")
    ok = json.loads(runner.invoke(app, ["roi", "validate", str(SAMPLE), "--json"]).output)
    assert ok["valid"] is True and ok["entity_name"] == "Nordhafen Bank AG"


def test_validate_missing_directory_exits_1(tmp_path: Path) -> None:
    res = runner.invoke(app, ["roi", "validate", str(tmp_path / "nope")])
    assert res.exit_code == 1 and "is not a directory" in res.output


def test_analyse_json() -> None:
    res = runner.invoke(app, ["roi", "analyse", str(SAMPLE), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["critical_without_exit_plan"] == 2
    assert data["concentration"]["hhi"] == 2168.5
    bad = runner.invoke(app, ["roi", "analyse", str(FIXTURES / "planted")])
    assert bad.exit_code == 1


def test_export_writes_the_package(tmp_path: Path) -> None:
    out = tmp_path / "roi.zip"
    res = runner.invoke(app, ["roi", "export", str(SAMPLE), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "approximate:" in res.output
    with zipfile.ZipFile(out) as zf:
        assert any(n.endswith("/META-INF/reportPackage.json") for n in zf.namelist())


def test_export_refuses_an_invalid_register_unless_forced(tmp_path: Path) -> None:
    out = tmp_path / "roi.zip"
    res = runner.invoke(app, ["roi", "export", str(FIXTURES / "planted"), "--out", str(out)])
    assert res.exit_code == 1 and not out.exists()
    forced = runner.invoke(
        app, ["roi", "export", str(FIXTURES / "planted"), "--out", str(out), "--force"]
    )
    assert forced.exit_code == 0 and out.is_file()


def test_export_usage_errors_exit_2(tmp_path: Path) -> None:
    out = str(tmp_path / "x.zip")
    assert (
        runner.invoke(app, ["roi", "export", str(SAMPLE), "--out", out, "--level", "X"]).exit_code
        == 2
    )
    res = runner.invoke(
        app, ["roi", "export", str(SAMPLE), "--out", out, "--reference-date", "31.12.2025"]
    )
    assert res.exit_code == 2
