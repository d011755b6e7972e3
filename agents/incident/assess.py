"""One incident in, one explained result out: classification plus deadlines.

Why one function for the CLI and the agent: ``dora incident classify --json`` and the
``classify`` task of the major-incident workflow must never disagree, so both call
:func:`assess` and print :meth:`IncidentAssessment.contract`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from agents.incident.classification import Classification, classify_with_history
from agents.incident.deadlines import DeadlineSchedule, schedule
from agents.incident.models import HistoricalIncident, Incident


class IncidentAssessment(BaseModel):
    incident: Incident
    classification: Classification
    schedule: DeadlineSchedule

    def contract(self) -> dict[str, Any]:
        """The ``--json`` output: the issue's required fields first, then the explanation."""
        c, s = self.classification, self.schedule
        return {
            "incident_id": c.incident_id,
            "major": c.major,
            "criteria_met": list(c.criteria_met),
            "deadlines": s.contract(),
            "decided_by": c.decided_by,
            "explanation": c.explanation,
            "gate": c.gate.model_dump(mode="json"),
            "malicious_access_path": c.malicious_access_path,
            "other_thresholds_met": c.other_thresholds_met,
            "criteria": [x.model_dump(mode="json") for x in c.criteria],
            "recurring": c.recurring.model_dump(mode="json") if c.recurring else None,
            "member_state": s.member_state,
            "time_zone": s.time_zone,
            "deadline_details": {d.report: d.model_dump(mode="json") for d in s.deadlines()},
            "notes": list(s.notes),
            "legal_basis": [
                "CDR (EU) 2024/1772 Art. 6, 8, 9 (classification)",
                "CDR (EU) 2025/301 Art. 5 (time limits)",
                "DORA (Reg. (EU) 2022/2554) Art. 18 and 19",
            ],
        }


def assess(
    incident: Incident,
    *,
    root_cause: str | None = None,
    history: list[HistoricalIncident] | None = None,
) -> IncidentAssessment:
    c = classify_with_history(incident, root_cause, history)
    return IncidentAssessment(
        incident=incident, classification=c, schedule=schedule(incident, c.major)
    )
