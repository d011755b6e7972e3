"""prefect.yaml generated from the definitions, so the two can never disagree.

One deployment per definition on the local process work pool, with the definition's
cron schedules (explicit time zone) and its event triggers (e.g. ``policy.updated``)
whose run parameters are filled from the event payload. ``dora deployments --check``
fails when the committed prefect.yaml is stale. Production deployments on the
kubernetes work pool (job variables from task resources) are added by the platform work.
"""

from __future__ import annotations

from typing import Any

import yaml

from dora.definition.loader import LoadedDefinition
from dora.definition.models import EventTrigger, ScheduledTrigger
from flows.factory import var_name
from flows.graph import parameters

LOCAL_POOL = "dora-local"
HEADER = (
    "# Generated from definitions/*.yaml by `dora deployments`; do not edit by hand.\n"
    "# `dora deployments --check` (run by the tests) fails when this file is stale.\n"
    "# No pull section: `prefect deploy` records the project directory as the working\n"
    "# directory, which is what a local process worker needs.\n"
)


def _event_parameters(defn: LoadedDefinition, trigger: EventTrigger) -> dict[str, Any]:
    """Run parameters from the event: explicit templates, else same-named payload fields."""
    if trigger.parameters:
        return {
            k: {"__prefect_kind": "jinja", "template": v} for k, v in trigger.parameters.items()
        }
    out: dict[str, Any] = {}
    for spec in parameters(defn.workflow):
        if spec.required:
            out[spec.name] = {
                "__prefect_kind": "json",
                "value": {
                    "__prefect_kind": "jinja",
                    "template": f"{{{{ event.payload.{spec.name} | tojson }}}}",
                },
            }
    return out


def deployment(defn: LoadedDefinition) -> dict[str, Any]:
    wf = defn.workflow
    dep: dict[str, Any] = {
        "name": f"{wf.id}-local",
        "version": defn.version_label,
        "description": wf.description or wf.name,
        "entrypoint": f"flows/catalog.py:{var_name(wf.id)}",
        "tags": ["dora", "local"],
        "work_pool": {"name": LOCAL_POOL, "work_queue_name": "default"},
        "schedules": [
            {"cron": t.schedule, "timezone": t.timezone, "active": True}
            for t in wf.triggers
            if isinstance(t, ScheduledTrigger)
        ],
        "triggers": [
            {
                "type": "event",
                "name": f"{wf.id}-{t.name}",
                "enabled": True,
                "expect": [t.event_type],
                "match": {"prefect.resource.id": "*"},
                "parameters": _event_parameters(defn, t),
            }
            for t in wf.triggers
            if isinstance(t, EventTrigger)
        ],
    }
    return dep


def render(definitions: list[LoadedDefinition]) -> str:
    doc = {
        "name": "dora-workflows",
        "prefect-version": "3.9.1",
        "deployments": [deployment(d) for d in sorted(definitions, key=lambda d: d.workflow.id)],
    }
    return HEADER + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
