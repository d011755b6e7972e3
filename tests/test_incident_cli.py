"""``dora incident``: the JSON contract, the scenario tables through the CLI, exit 1 naming
the field on bad input, and report checks/drafts."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dora.cli.main import app
from tests.test_incident_cases import (
    BASE,
    DEADLINE_CASES,
    FIXTURES,
    MAJOR_CASES,
    THRESHOLD_CASES,
    deadline_case,
    incident,
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "incidents"
runner = CliRunner()


def _write(tmp_path: Path, data: Any, name: str = "incident.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def _classify(tmp_path: Path, data: Any, *extra: str) -> tuple[int, dict[str, Any], str]:
    result = runner.invoke(
        app, ["incident", "classify", str(_write(tmp_path, data)), "--json", *extra]
    )
    return result.exit_code, json.loads(result.stdout), result.stderr


def test_json_contract_on_the_issue_example(tmp_path: Path) -> None:
    code, out, _ = _classify(tmp_path, BASE)
    assert code == 0
    assert out["incident_id"] == "INC-1"
    assert out["major"] is False
    assert out["criteria_met"] == []
    assert out["deadlines"] == {
        "initial_notification": None,
        "intermediate_report": None,
        "final_report": None,
    }
    assert {c["code"] for c in out["criteria"]} == {
        "clients_financial_counterparts_transactions",
        "reputational",
        "duration_downtime",
        "geographical_spread",
        "data_losses",
        "economic_impact",
    }
    assert out["time_zone"] == "Europe/Berlin"


def test_major_incident_deadlines_are_iso_with_member_state_offset(tmp_path: Path) -> None:
    data = incident(
        downtime_hours=3,
        economic_impact_eur=150_000,
        initial_submitted_at="2026-03-06T16:00:00+01:00",
    )
    code, out, _ = _classify(tmp_path, data)
    assert code == 0 and out["major"] is True
    assert out["criteria_met"] == ["duration_downtime", "economic_impact"]
    assert out["deadlines"]["initial_notification"] == "2026-03-06T18:00:00+01:00"
    assert out["deadlines"]["intermediate_report"] == "2026-03-09T16:00:00+01:00"
    assert out["deadlines"]["final_report"] is None
    for value in (v for v in out["deadlines"].values() if v):
        assert datetime.fromisoformat(value).utcoffset() is not None


@pytest.mark.parametrize(
    ("overrides", "code", "met"),
    [pytest.param(o, c, m, id=i) for i, o, c, m in THRESHOLD_CASES],
)
def test_threshold_table_through_cli(
    tmp_path: Path, overrides: dict[str, Any], code: str, met: bool
) -> None:
    exit_code, out, _ = _classify(tmp_path, incident(**overrides))
    assert exit_code == 0
    assert (code in out["criteria_met"]) is met


@pytest.mark.parametrize(
    ("overrides", "major", "met"),
    [pytest.param(o, mj, m, id=i) for i, o, mj, m in MAJOR_CASES],
)
def test_major_table_through_cli(
    tmp_path: Path, overrides: dict[str, Any], major: bool, met: list[str]
) -> None:
    exit_code, out, _ = _classify(tmp_path, incident(**overrides))
    assert exit_code == 0
    assert out["major"] is major and out["criteria_met"] == met


def test_weekend_and_excluded_entity_through_cli(tmp_path: Path) -> None:
    times = {
        "detected_at": "2026-03-06T22:00:00+01:00",
        "classified_at": "2026-03-07T00:30:00+01:00",
    }
    pi = incident(downtime_hours=3, economic_impact_eur=150_000, **times)
    pi["entity"]["type"] = "payment_institution"
    assert (
        _classify(tmp_path, pi)[1]["deadlines"]["initial_notification"]
        == "2026-03-09T12:00:00+01:00"
    )
    ci = incident(downtime_hours=3, economic_impact_eur=150_000, **times)
    assert (
        _classify(tmp_path, ci)[1]["deadlines"]["initial_notification"]
        == "2026-03-07T04:30:00+01:00"
    )


def _bad(**changes: Any) -> dict[str, Any]:
    data = incident()
    for key, value in changes.items():
        node = data
        *parents, leaf = key.split("__")
        for p in parents:
            node = node[p]
        if value is _DELETE:
            del node[leaf]
        else:
            node[leaf] = value
    return data


_DELETE = object()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        pytest.param(_bad(severity="high"), "severity", id="unknown_top_level_field"),
        pytest.param(_bad(entity__lei="X"), "entity.lei", id="unknown_nested_field"),
        pytest.param(_bad(entity__type="bank_holding"), "entity.type", id="unknown_entity_type"),
        pytest.param(
            _bad(entity__member_state="CH"), "entity.member_state", id="not_a_member_state"
        ),
        pytest.param(_bad(detected_at="2026-03-06T10:00:00"), "detected_at", id="naive_datetime"),
        pytest.param(_bad(classified_at="yesterday"), "classified_at", id="not_a_datetime"),
        pytest.param(
            _bad(critical_services_affected="yes"), "critical_services_affected", id="string_bool"
        ),
        pytest.param(_bad(clients__affected=-1), "clients.affected", id="negative_count"),
        pytest.param(_bad(clients__affected=1.5), "clients.affected", id="fractional_count"),
        pytest.param(_bad(economic_impact_eur="100000"), "economic_impact_eur", id="string_amount"),
        pytest.param(_bad(duration_hours=True), "duration_hours", id="bool_as_number"),
        pytest.param(
            _bad(member_states_affected=["DE", "XX"]),
            "member_states_affected[1]",
            id="bad_state_in_list",
        ),
        pytest.param(_bad(incident_id=_DELETE), "incident_id", id="missing_id"),
        pytest.param(_bad(entity=_DELETE), "entity", id="missing_entity"),
        pytest.param(
            _bad(clients__affected=11, clients__total=10),
            "clients.affected",
            id="affected_over_total",
        ),
        pytest.param(
            _bad(classified_at="2026-03-06T09:00:00+01:00"),
            "classified_at",
            id="classified_before_detected",
        ),
        pytest.param(
            _bad(intermediate_submitted_at="2026-03-07T09:00:00+01:00"),
            "intermediate_submitted_at",
            id="intermediate_without_initial",
        ),
    ],
)
def test_invalid_input_exits_1_naming_the_field(
    tmp_path: Path, data: dict[str, Any], field: str
) -> None:
    path = _write(tmp_path, data)
    result = runner.invoke(app, ["incident", "classify", str(path), "--json"])
    assert result.exit_code == 1
    assert field in result.stderr and str(path) in result.stderr
    body = json.loads(result.stdout)
    assert any(field in (p["field"] + " " + p["message"]) for p in body["problems"])
    plain = runner.invoke(app, ["incident", "classify", str(path)])
    assert plain.exit_code == 1 and field in plain.stderr


def test_invalid_json_and_missing_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["incident", "classify", str(_write(tmp_path, '{"incident_id": '))])
    assert result.exit_code == 1 and "invalid JSON at line 1" in result.stderr
    result = runner.invoke(app, ["incident", "classify", str(tmp_path / "nope.json")])
    assert result.exit_code == 1 and "cannot read file" in result.stderr


def test_extra_fields_are_allowed_under_extra(tmp_path: Path) -> None:
    code, out, _ = _classify(
        tmp_path, incident(extra={"ticket": "JIRA-1", "anything": {"nested": [1]}})
    )
    assert code == 0 and out["incident_id"] == "INC-1"


def test_history_makes_recurring_incident_major(tmp_path: Path) -> None:
    code, out, _ = _classify(
        tmp_path,
        json.loads((EXAMPLES / "minor-batch-delay-nl-investment-firm.json").read_text()),
        "--history",
        str(EXAMPLES / "history-login-failures.json"),
        "--root-cause",
        "expired TLS certificate on the API gateway",
    )
    assert code == 0 and out["major"] is True
    assert out["recurring"]["incident_ids"] == ["IF-2026-101", "IF-2026-188", "IF-2026-311"]
    assert out["decided_by"].startswith("Art. 8(2)")


def test_threat_command(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["incident", "threat", str(EXAMPLES / "phishing-kit-threat-it-insurer.json"), "--json"]
    )
    assert result.exit_code == 0
    out = json.loads(result.stdout)
    assert out["significant"] is True and out["legal_basis"].startswith("Art. 10")


def test_human_output_names_articles(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["incident", "classify", str(EXAMPLES / "payment-outage-de-credit-institution.json")]
    )
    assert result.exit_code == 0
    assert "MAJOR incident" in result.stdout and "Art. 9(1)(a)" in result.stdout
    assert "initial_notification: 2026-10-03T03:00:00+02:00" in result.stdout


# ----------------------------------------------------------------- reports
def test_report_complete_initial_notification() -> None:
    result = runner.invoke(
        app,
        [
            "incident",
            "report",
            str(FIXTURES / "initial-complete.json"),
            "--type",
            "initial",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["complete"] is True and out["validation"]["missing"] == []
    fields = {f["number"]: f["value"] for f in out["fields"]}
    assert fields["2.2"] == "2026-10-02T18:00:00Z"  # Annex II: ISO 8601 UTC


def test_report_missing_field_exits_1_with_field_number(tmp_path: Path) -> None:
    data = json.loads((FIXTURES / "initial-complete.json").read_text())
    del data["description"]
    path = _write(tmp_path, data, "report.json")
    result = runner.invoke(app, ["incident", "report", str(path), "--type", "initial"])
    assert result.exit_code == 1
    assert "missing 2.4 Description of the ICT-related incident" in result.stdout
    # the same data is far from a complete intermediate report
    result = runner.invoke(
        app,
        [
            "incident",
            "report",
            str(FIXTURES / "initial-complete.json"),
            "--type",
            "intermediate",
            "--json",
        ],
    )
    assert result.exit_code == 1
    missing = {p["field"] for p in json.loads(result.stdout)["validation"]["missing"]}
    assert {"3.2", "3.4", "3.12", "3.15", "3.23", "3.33"} <= missing
    assert "4.1" not in missing


def test_report_bad_value_names_field(tmp_path: Path) -> None:
    data = json.loads((FIXTURES / "initial-complete.json").read_text())
    data["primary_contact_phone"] = "069 1234"
    result = runner.invoke(
        app, ["incident", "report", str(_write(tmp_path, data)), "--type", "initial"]
    )
    assert result.exit_code == 1 and "primary_contact_phone" in result.stderr


def test_report_unknown_type_is_usage_error() -> None:
    result = runner.invoke(
        app, ["incident", "report", str(FIXTURES / "initial-complete.json"), "--type", "weekly"]
    )
    assert result.exit_code == 2


def test_draft_roundtrip(tmp_path: Path) -> None:
    out = tmp_path / "draft.json"
    result = runner.invoke(
        app,
        [
            "incident",
            "draft",
            str(EXAMPLES / "payment-outage-de-credit-institution.json"),
            "--type",
            "initial",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0 and "complete" in result.stdout
    checked = runner.invoke(app, ["incident", "report", str(out), "--type", "initial"])
    assert checked.exit_code == 0, checked.output


def test_real_dora_executable() -> None:
    """The mounted command through the installed console script, as an outside user runs it
    (one process: bad input and exit codes are covered in-process above)."""
    exe = Path(sys.executable).parent / "dora"
    good = subprocess.run(
        [
            str(exe),
            "incident",
            "classify",
            str(EXAMPLES / "ransomware-fr-payment-institution.json"),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert good.returncode == 0, good.stderr
    out = json.loads(good.stdout)
    assert out["major"] is True and out["criteria_met"] == ["data_losses"]
    assert out["deadlines"]["initial_notification"] == "2026-07-13T15:00:00+02:00"


def test_recurring_command() -> None:
    result = runner.invoke(
        app,
        [
            "incident",
            "recurring",
            str(EXAMPLES / "history-login-failures.json"),
            "--as-of",
            "2026-03-31T00:00:00+02:00",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["major_groups"] == 1
    assert out["groups"][0]["incident_ids"] == ["IF-2026-101", "IF-2026-188"]
    assert (
        runner.invoke(
            app,
            [
                "incident",
                "recurring",
                str(EXAMPLES / "history-login-failures.json"),
                "--as-of",
                "soon",
            ],
        ).exit_code
        == 2
    )


@pytest.mark.parametrize(
    ("entity", "overrides", "expected"),
    [pytest.param(e, o, x, id=i) for i, e, o, x in DEADLINE_CASES],
)
def test_deadline_table_through_cli(
    tmp_path: Path,
    entity: dict[str, Any],
    overrides: dict[str, Any],
    expected: tuple[str | None, ...],
) -> None:
    code, out, _ = _classify(tmp_path, deadline_case(entity, overrides))
    assert code == 0 and out["major"] is True
    d = out["deadlines"]
    assert (d["initial_notification"], d["intermediate_report"], d["final_report"]) == expected


def test_emit_needs_a_prefect_server() -> None:
    """Without PREFECT_API_URL nothing is sent (Prefect would start a throwaway server)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        result = runner.invoke(
            app, ["incident", "emit", str(EXAMPLES / "ransomware-fr-payment-institution.json")]
        )
    assert result.exit_code == 1 and "PREFECT_API_URL" in result.stderr
