"""Major ICT-related incident classification, deadlines and reports (DORA Chapter III).

* :mod:`agents.incident.models` - the input contract (incidents, cyber threats, history)
* :mod:`agents.incident.classification` - CDR 2024/1772 Art. 6, 8, 9 and 10
* :mod:`agents.incident.deadlines` - CDR 2025/301 Art. 5 in the Member State's local time
* :mod:`agents.incident.reports` - CIR 2025/302 Annex I-IV templates and their validation
* :mod:`agents.incident.assess` - the combined result the CLI and the agent print

The agent that runs this in a workflow is ``agents/incident_reporter.py``.
"""
