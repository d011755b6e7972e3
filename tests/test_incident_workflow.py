"""definitions/major-incident-reporting.yaml end to end on the real Prefect API.

A major incident is classified, its initial notification drafted and held for approval
(require_approval fires; ``record`` mode so the test does not wait for people), the
deadline table reaches Prefect as a markdown artifact, and reminders come out with their
automation specs. A non-major incident asks nobody for approval; a malformed incident halts
the run with the field named.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dora.definition.loader import load_definition
from flows.factory import compile_workflow
from tests.services import dora_env

ROOT = Path(__file__).resolve().parent.parent
DEFINITION = ROOT / "definitions" / "major-incident-reporting.yaml"
EXAMPLES = ROOT / "examples" / "incidents"
AS_OF = "2026-10-02T23:05:00+02:00"  # five minutes after the sample's classification

pytestmark = pytest.mark.usefixtures("prefect_api")


@pytest.fixture(scope="module")
def flow_obj(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    reports = tmp_path_factory.mktemp("incident-reports")
    # approvals have their own tests
    with dora_env(DORA_REPORTS_DIR=str(reports), DORA_APPROVAL_MODE="record"):
        yield compile_workflow(load_definition(DEFINITION))


def _run(flow_obj: Any, incident: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    state = flow_obj(incident=incident, as_of=AS_OF, return_state=True)
    data = state.result(raise_on_failure=False)
    assert isinstance(data, dict), data
    return state, data


@pytest.fixture(scope="module")
def major_run(flow_obj: Any) -> tuple[Any, dict[str, Any]]:
    incident = json.loads((EXAMPLES / "payment-outage-de-credit-institution.json").read_text())
    return _run(flow_obj, incident)


def test_major_incident_run(major_run: tuple[Any, dict[str, Any]]) -> None:
    state, data = major_run
    assert state.is_completed(), data["message"]
    assert {t: s["state"] for t, s in data["tasks"].items()} == dict.fromkeys(
        ["classify", "prepare_initial", "deadline_tracking", "report_tracking"], "completed"
    )
    out = data["outputs"]
    assert out["classify"]["major"] is True
    assert out["classify"]["criteria_met"] == [
        "clients_financial_counterparts_transactions",
        "reputational",
        "duration_downtime",
    ]
    # a credit institution and NIS2 entity: no relief although 3 October 2026 is a
    # Saturday and German Unity Day
    assert out["classify"]["deadlines"]["initial_notification"] == "2026-10-03T03:00:00+02:00"
    assert out["prepare_initial"]["ready_for_submission"] is True
    assert out["prepare_initial"]["initial_validation"]["complete"] is True
    status = out["report_tracking"]["report_status"]
    assert status["initial_notification"]["state"] == "open"
    assert status["intermediate_report"]["state"] == "not_due_yet"


def test_approval_is_required_before_submission(major_run: tuple[Any, dict[str, Any]]) -> None:
    _, data = major_run
    fired = {d["action"]: d for d in data["decisions"] if d["fired"]}
    assert set(fired) == {"escalate", "require_approval"}
    assert fired["require_approval"]["approvers"] == ["ciso", "head_of_compliance"]
    assert fired["escalate"]["target"] == "incident_manager"
    # report_tracking (after the approval point) ran after the decision was taken
    assert data["tasks"]["report_tracking"]["state"] == "completed"


def test_reminders_and_automation_specs(major_run: tuple[Any, dict[str, Any]]) -> None:
    from prefect.events.schemas.automations import AutomationCore

    _, data = major_run
    tracking = data["outputs"]["deadline_tracking"]
    reminders = tracking["reminders"]
    assert [(r["lead"], r["remind_at"]) for r in reminders] == [
        ("2 h", "2026-10-03T01:00:00+02:00"),
        ("1 h", "2026-10-03T02:00:00+02:00"),
        ("15 min", "2026-10-03T02:45:00+02:00"),
    ]
    specs = tracking["reminder_automations"]
    assert len(specs) == 3
    for spec in specs:
        core = AutomationCore.model_validate(
            {k: spec[k] for k in ("name", "description", "enabled", "tags", "trigger", "actions")}
        )
        assert core.trigger.posture == "Proactive"  # type: ignore[union-attr]
    assert specs[0]["trigger"]["within"] == pytest.approx(6900)  # 23:05 -> 01:00
    assert "| initial notification | 2026-10-03T03:00:00+02:00" in tracking["deadline_table"]


def test_reminders_are_installed_as_prefect_automations(
    major_run: tuple[Any, dict[str, Any]],
) -> None:
    """The run puts its reminders on the server, once, before it announces the incident."""
    from prefect import get_client

    from flows.automations import install_runtime_automations

    _, data = major_run
    specs = data["outputs"]["deadline_tracking"]["reminder_automations"]
    incident_id = json.loads((EXAMPLES / "payment-outage-de-credit-institution.json").read_text())[
        "incident_id"
    ]

    def installed() -> dict[str, Any]:
        with get_client(sync_client=True) as client:
            return {
                a.name: a
                for a in client.read_automations()
                if a.name.startswith(f"dora-runtime:incident:{incident_id}:")
            }

    autos = installed()
    assert sorted(autos) == sorted(s["name"] for s in specs)
    for auto in autos.values():
        assert auto.trigger.posture == "Proactive"  # type: ignore[union-attr]
        assert [a.type for a in auto.actions] == ["send-notification"]
    # a re-run of the task replaces its reminders instead of adding more
    install_runtime_automations(specs)
    with get_client(sync_client=True) as client:
        names = [
            a.name
            for a in client.read_automations()
            if a.name.startswith(f"dora-runtime:incident:{incident_id}:")
        ]
    assert sorted(names) == sorted(autos)  # no duplicates


def test_deadline_table_is_a_prefect_artifact(major_run: tuple[Any, dict[str, Any]]) -> None:
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    state, _ = major_run

    async def read() -> list[Any]:
        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    key=ArtifactFilterKey(
                        any_=["major-incident-reporting-deadline-tracking-deadlines"]
                    )
                )
            )

    artifacts = [a for a in asyncio.run(read()) if a.flow_run_id == state.state_details.flow_run_id]
    kinds = {a.type for a in artifacts}
    assert "markdown" in kinds
    md = next(a for a in artifacts if a.type == "markdown")
    assert "Reporting deadlines for INC-2026-0042" in str(md.data)


def test_non_major_incident_needs_no_approval(flow_obj: Any) -> None:
    incident = json.loads((EXAMPLES / "minor-batch-delay-nl-investment-firm.json").read_text())
    state, data = _run(flow_obj, incident)
    assert state.is_completed(), data["message"]
    assert data["outputs"]["classify"]["major"] is False
    assert data["outputs"]["prepare_initial"]["ready_for_submission"] is False
    assert not [d for d in data["decisions"] if d["fired"]]
    assert (
        data["outputs"]["report_tracking"]["report_status"]["initial_notification"]["state"]
        == "not_required"
    )


def test_invalid_incident_halts_naming_the_field(flow_obj: Any) -> None:
    incident = json.loads((EXAMPLES / "minor-batch-delay-nl-investment-firm.json").read_text())
    incident["entity"]["member_state"] = "CH"
    state, data = _run(flow_obj, incident)
    assert state.is_failed()
    assert data["tasks"]["classify"]["error_type"] == "data_validation_error"
    assert "entity.member_state" in data["tasks"]["classify"]["error"]
    assert data["message"].startswith("halted")


def test_already_submitted_initial_is_not_approved_again(flow_obj: Any) -> None:
    incident = json.loads((EXAMPLES / "ransomware-fr-payment-institution.json").read_text())
    state, data = _run(flow_obj, incident)
    assert state.is_completed(), data["message"]
    out = data["outputs"]
    assert out["classify"]["major"] is True  # Art. 6(c) + 9(5)(b): malicious access alone
    assert out["prepare_initial"]["ready_for_submission"] is False
    assert out["prepare_initial"]["initial_validation"]["already_submitted"] is True
    assert {d["action"] for d in data["decisions"] if d["fired"]} == {"escalate"}
    status = out["report_tracking"]["report_status"]
    assert status["initial_notification"]["state"] == "submitted_on_time"
    assert status["intermediate_report"]["due"] == "2026-07-16T14:40:00+02:00"


def test_incomplete_draft_alerts_instead_of_asking_for_approval(flow_obj: Any) -> None:
    incident = json.loads((EXAMPLES / "payment-outage-de-credit-institution.json").read_text())
    del incident["extra"]["report"]["description"]  # field 2.4
    state, data = _run(flow_obj, incident)
    assert state.is_completed(), data["message"]
    assert [
        p["field"] for p in data["outputs"]["prepare_initial"]["initial_validation"]["missing"]
    ] == ["2.4"]
    assert {d["action"] for d in data["decisions"] if d["fired"]} == {"escalate", "alert"}


def test_emit_sends_incident_detected_for_the_deployment_trigger(
    prefect_api: str, tmp_path: Path
) -> None:
    """``dora incident emit`` sends the event the deployment's trigger turns into a run."""
    import time
    import uuid

    import httpx
    import yaml
    from typer.testing import CliRunner

    from dora.cli.main import app

    incident = json.loads((EXAMPLES / "payment-outage-de-credit-institution.json").read_text())
    incident["incident_id"] = f"INC-{uuid.uuid4().hex[:8]}"
    path = tmp_path / "incident.json"
    path.write_text(json.dumps(incident))
    result = CliRunner().invoke(app, ["incident", "emit", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["major"] is True

    def events() -> list[dict[str, Any]]:
        res = httpx.post(
            f"{prefect_api}/events/filter",
            json={
                "filter": {
                    "event": {"name": ["incident.detected"]},
                    "resource": {"id": [f"dora.incident.{incident['incident_id']}"]},
                    "occurred": {"since": "2000-01-01T00:00:00Z"},
                },
                "limit": 5,
            },
            timeout=10,
        )
        res.raise_for_status()
        return list(res.json()["events"])

    deadline = time.monotonic() + 60
    while not (found := events()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert found, "incident.detected never reached the Prefect API"
    assert found[0]["payload"]["incident"] == incident
    assert found[0]["resource"]["dora.major"] == "true"

    # the deployment that reacts to it passes payload.incident as the flow's `incident`
    deployments = yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]
    local = next(d for d in deployments if d["name"] == "major-incident-reporting-local")
    trigger = local["triggers"][0]
    assert trigger["expect"] == ["incident.detected"]
    assert (
        trigger["parameters"]["incident"]["value"]["template"]
        == "{{ event.payload.incident | tojson }}"
    )

    bad = dict(incident, entity={"type": "credit_institution", "member_state": "XX"})
    path.write_text(json.dumps(bad))
    refused = CliRunner().invoke(app, ["incident", "emit", str(path)])
    assert refused.exit_code == 1 and "entity.member_state" in refused.stderr
