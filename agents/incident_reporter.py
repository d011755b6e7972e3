"""Incident reporter: classify an ICT-related incident, prepare its reports, track deadlines.

Why one agent for every step of ``definitions/major-incident-reporting.yaml``: each step
needs the same deterministic assessment of the same incident (classification per CDR
2024/1772, deadlines per CDR 2025/301 Art. 5), and recomputing it is cheaper and safer
than passing a large structure between tasks that could drift apart. The agent returns
only the outputs the task declares, so one task may ask for the classification and
another for the initial notification draft.

Outputs it can produce (declare the ones a task needs):

* ``classification`` - the ``dora incident classify --json`` object; ``major`` (bool);
  ``criteria_met`` (list of criterion codes); ``deadlines`` (report -> ISO 8601 or null)
* ``initial_notification`` / ``intermediate_report`` / ``final_report`` - CIR 2025/302
  Annex I drafts (exported field list) filled from the incident, its classification and
  ``incident.extra.report``; ``initial_validation`` the mandatory-field check of the initial
  notification; ``ready_for_submission`` whether it is complete (the approval rule reads it)
* ``reminders`` - when to remind whom before each open deadline; ``reminder_automations`` -
  Prefect proactive automation specs for those reminders (see *Engine support* below);
  ``deadline_table`` - the deadlines as a markdown table (also a Prefect markdown artifact)
* ``report_status`` - per report: due, submitted, on time, overdue, what to do next

Inputs: ``incident`` (the incident object; a flow parameter filled from the
``incident.detected`` event) or ``incident_file`` (path to its JSON), optional ``history``
(earlier incidents with ``apparent_root_cause``, Art. 8(2)) with ``root_cause``, and
``as_of`` (ISO time the reminders are computed against; default now).

Reminders in Prefect: ``reminder_automations`` holds one proactive automation per reminder
(after ``dora.incident.classified`` for this incident, expect
``dora.incident.<report>.submitted`` within N seconds, else notify the incident manager's
``dora-notify-*`` webhook block). Inside a Prefect run the agent installs them through
``flows.automations.install_runtime_automations`` (names ``dora-runtime:incident:...``,
replaced on a re-run, never pruned by ``dora deploy``) and then emits
``dora.incident.classified``.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agents.base import ArtifactRef, SimpleAgent, TaskExecution, TaskResult
from agents.incident.assess import IncidentAssessment, assess
from agents.incident.deadlines import REPORTS, Reminder, reminders
from agents.incident.inputs import IncidentInputError, load, parse
from agents.incident.models import HistoricalIncident, Incident
from agents.incident.reports import ReportType, draft_report, export, validate
from dora.errors import DataValidationError

NOTIFY_TARGET = "incident_manager"
SUBMITTED_EVENT = "dora.incident.{report}.submitted"
log = logging.getLogger(__name__)

CLASSIFIED_EVENT = "dora.incident.classified"


def _load_incident(task: TaskExecution) -> Incident:
    raw = task.inputs.get("incident")
    path = task.inputs.get("incident_file")
    try:
        if raw:
            if isinstance(raw, str):
                raw = json.loads(raw)
            return parse(Incident, raw, f"task {task.task_id!r} input 'incident'")
        if path:
            return load(Incident, Path(str(path)))
    except IncidentInputError as exc:
        raise DataValidationError(str(exc)) from None
    except json.JSONDecodeError as exc:
        raise DataValidationError(f"task {task.task_id!r} input 'incident': {exc}") from None
    raise DataValidationError(
        f"task {task.task_id!r}: give the incident as input 'incident' (object) or "
        "'incident_file' (path to its JSON)"
    )


def _history(task: TaskExecution) -> list[HistoricalIncident] | None:
    raw = task.inputs.get("history")
    if not raw:
        return None
    if not isinstance(raw, list):
        raise DataValidationError(f"task {task.task_id!r} input 'history' must be a list")
    out = []
    for i, item in enumerate(raw):
        try:
            out.append(parse(HistoricalIncident, item, f"input 'history'[{i}]"))
        except IncidentInputError as exc:
            raise DataValidationError(str(exc)) from None
    return out


def _as_of(task: TaskExecution) -> datetime:
    raw = task.inputs.get("as_of")
    if not raw:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(str(raw))
    except ValueError:
        raise DataValidationError(f"input 'as_of': {raw!r} is not an ISO 8601 time") from None
    if value.tzinfo is None:
        raise DataValidationError(f"input 'as_of': {raw!r} needs a UTC offset")
    return value


def deadline_table(result: IncidentAssessment) -> str:
    """Markdown table of the three deadlines, for people and the Prefect UI."""
    s = result.schedule
    lines = [
        f"### Reporting deadlines for {s.incident_id} ({s.member_state}, {s.time_zone})",
        "",
        "| Report | Due (local) | Rule | Weekend relief | Submitted | On time |",
        "|---|---|---|---|---|---|",
    ]
    for d in s.deadlines():
        relief = (
            "applied"
            if d.weekend_relief_applied
            else "available"
            if d.weekend_relief_available
            else "not available"
        )
        lines.append(
            f"| {d.report.replace('_', ' ')} | {d.due.isoformat() if d.due else 'not yet determined'} "
            f"| {d.rule} | {relief} | {d.submitted_at.isoformat() if d.submitted_at else '-'} "
            f"| {'-' if d.on_time is None else 'yes' if d.on_time else 'NO'} |"
        )
    c = result.classification
    lines += ["", f"Classification: {'major' if c.major else 'not major'} ({c.decided_by})."]
    lines += [f"- {n}" for n in s.notes]
    return "\n".join(lines) + "\n"


def reminder_automation_specs(
    incident_id: str, items: list[Reminder], emitted_at: datetime
) -> list[dict[str, Any]]:
    """Prefect automation documents (AutomationCore fields) for the scheduled reminders."""
    specs = []
    for r in items:
        if r.state != "scheduled":
            continue
        within = max(10.0, (r.remind_at - emitted_at).total_seconds())
        specs.append(
            {
                "name": f"dora-runtime:incident:{incident_id}:{r.report}:remind-{r.lead.replace(' ', '')}",
                "description": (
                    f"Remind {NOTIFY_TARGET}: {r.report.replace('_', ' ')} of {incident_id} is "
                    f"due {r.due.isoformat()} ({r.lead} left) unless submitted"
                ),
                "enabled": True,
                "tags": ["dora", "incident"],
                "trigger": {
                    "type": "event",
                    "after": [CLASSIFIED_EVENT],
                    "expect": [SUBMITTED_EVENT.format(report=r.report)],
                    "match": {"prefect.resource.id": f"dora.incident.{incident_id}"},
                    "posture": "Proactive",
                    "threshold": 1,
                    "within": within,
                },
                "actions": [],  # a send-notification to the target's block, added on creation
                "notify": NOTIFY_TARGET,
                "remind_at": r.remind_at.isoformat(),
            }
        )
    return specs


def report_status(result: IncidentAssessment, as_of: datetime) -> dict[str, Any]:
    """Where each report stands: submitted (on time?), due, overdue or not yet started."""
    out: dict[str, Any] = {}
    for d in result.schedule.deadlines():
        if d.submitted_at is not None:
            state = "submitted_on_time" if d.on_time else "submitted_late"
        elif d.due is None:
            state = "not_due_yet" if result.classification.major else "not_required"
        elif as_of > d.due:
            state = "overdue"
        else:
            state = "open"
        hint = {
            "overdue": "submit now and explain the delay to the competent authority (CDR 2025/301 Art. 5(3))",
            "open": f"submit by {d.due.isoformat() if d.due else '-'}",
            "not_due_yet": "starts when the previous report is submitted",
            "not_required": "not a major incident",
            "submitted_on_time": "done",
            "submitted_late": "submitted after the deadline; keep the explanation on record",
        }[state]
        out[d.report] = {
            "state": state,
            "due": d.due.isoformat() if d.due else None,
            "submitted_at": d.submitted_at.isoformat() if d.submitted_at else None,
            "next": hint,
        }
    return out


class IncidentReporterAgent(SimpleAgent):
    TYPE = "incident_reporter"
    CAPABILITIES = (
        "incident_classification",
        "incident_deadlines",
        "incident_reports",
        "incident_reminders",
    )
    version = "1.0.0"

    async def run(self, task: TaskExecution) -> TaskResult:
        incident = _load_incident(task)
        root_cause = task.inputs.get("root_cause") or None
        result = assess(incident, root_cause=root_cause, history=_history(task))
        as_of = _as_of(task)
        wanted = set(task.declared_outputs)
        c, s = result.classification, result.schedule
        outputs: dict[str, Any] = {}
        contract = result.contract()
        outputs["classification"] = contract
        outputs["major"] = c.major
        outputs["criteria_met"] = list(c.criteria_met)
        outputs["deadlines"] = contract["deadlines"] | {"details": contract["deadline_details"]}
        artifacts: list[ArtifactRef] = []
        tables: dict[str, list[dict[str, Any]]] = {}

        stages: dict[str, ReportType] = {
            "initial_notification": "initial",
            "intermediate_report": "intermediate",
            "final_report": "final",
        }
        for name, stage in stages.items():
            if name in wanted or (
                name == "initial_notification"
                and wanted & {"initial_validation", "ready_for_submission"}
            ):
                draft = draft_report(incident, c, stage)
                check = validate(draft, stage)
                outputs[name] = export(draft, stage) | {"validation": check.model_dump(mode="json")}
                if stage == "initial":
                    submitted = incident.initial_submitted_at is not None
                    outputs["initial_validation"] = check.model_dump(mode="json") | {
                        "already_submitted": submitted
                    }
                    # approval is asked once, for a complete notification not yet sent
                    outputs["ready_for_submission"] = c.major and check.complete and not submitted
        if "initial_notification" in outputs:
            out = self._write(
                task,
                f"{incident.incident_id}-initial-notification.json",
                outputs["initial_notification"],
            )
            artifacts.append(
                ArtifactRef(
                    path=str(out),
                    kind="json",
                    description="Initial notification draft (CIR 2025/302 Annex I)",
                )
            )

        items = reminders(s, as_of)
        outputs["reminders"] = [r.model_dump(mode="json") for r in items]
        outputs["reminder_automations"] = reminder_automation_specs(
            incident.incident_id, items, as_of
        )
        table = deadline_table(result)
        outputs["deadline_table"] = table
        outputs["report_status"] = report_status(result, as_of)
        if not wanted or "deadline_table" in wanted:
            tables["deadlines"] = [
                {
                    "report": d.report,
                    "due": d.due.isoformat() if d.due else "not yet determined",
                    "rule": d.rule,
                    "weekend_relief": d.weekend_relief_applied,
                }
                for d in s.deadlines()
            ]
            path = self._write(task, f"{incident.incident_id}-deadlines.md", table)
            artifacts.append(
                ArtifactRef(path=str(path), kind="markdown", description="Reporting deadlines")
            )
            _publish(task, incident.incident_id, table, result, as_of)

        selected = {k: v for k, v in outputs.items() if k in wanted} if wanted else outputs
        due = ", ".join(
            f"{r.replace('_', ' ')} {v or 'n/a'}" for r, v in contract["deadlines"].items()
        )
        summary = f"{c.explanation} Deadlines: {due}."
        if "ready_for_submission" in selected:
            missing = outputs["initial_validation"]["missing"]
            summary += (
                " Initial notification already submitted."
                if incident.initial_submitted_at is not None
                else " Initial notification complete, awaiting approval."
                if selected["ready_for_submission"]
                else f" Initial notification draft: {len(missing)} mandatory field(s) missing "
                + ", ".join(p["field"] for p in missing)
                + "."
            )
        return TaskResult(outputs=selected, summary=summary, artifacts=artifacts, tables=tables)

    @staticmethod
    def _write(task: TaskExecution, name: str, data: Any) -> Path:
        out_dir = Path(task.context.output_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / name
        text = (
            data if isinstance(data, str) else json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        )
        path.write_text(text, encoding="utf-8")
        return path


def _publish(
    task: TaskExecution, incident_id: str, table: str, result: IncidentAssessment, as_of: datetime
) -> None:
    """Inside a Prefect task run: the deadline table as a markdown artifact, and the
    ``dora.incident.classified`` event reminder automations can start from."""
    try:
        from prefect.context import TaskRunContext
    except ImportError:  # pragma: no cover - prefect is a dependency
        return
    if TaskRunContext.get() is None:
        return
    from prefect.artifacts import create_markdown_artifact
    from prefect.events import emit_event

    from tasks.agent_task import artifact_key

    create_markdown_artifact(
        markdown=table,
        key=artifact_key(task.context.workflow_id, task.task_id, "deadlines"),
        description=f"CDR 2025/301 Art. 5 deadlines of {incident_id}",
    )
    if result.classification.major:
        # the reminders exist before the event their proactive triggers start from
        from flows.automations import install_runtime_automations

        try:
            install_runtime_automations(
                reminder_automation_specs(incident_id, reminders(result.schedule, as_of), as_of)
            )
        except Exception as exc:  # reminders are a convenience; the deadlines are in outputs
            log.warning("reminder automations for %s not installed: %s", incident_id, exc)
        emit_event(
            event=CLASSIFIED_EVENT,
            resource={
                "prefect.resource.id": f"dora.incident.{incident_id}",
                "prefect.resource.name": f"incident {incident_id}",
                "dora.workflow": task.context.workflow_id,
            },
            payload={
                "deadlines": result.schedule.contract(),
                "criteria_met": list(result.classification.criteria_met),
                "as_of": as_of.isoformat(),
            },
        )


__all__ = [
    "REPORTS",
    "IncidentReporterAgent",
    "deadline_table",
    "reminder_automation_specs",
    "report_status",
]
