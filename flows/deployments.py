"""prefect.yaml generated from the definitions, so the two can never disagree.

One deployment per definition on the local process work pool, with the definition's
cron schedules (explicit time zone) and its event triggers (e.g. ``policy.updated``)
whose run parameters are filled from the event payload. ``dora deployments --check``
fails when the committed prefect.yaml is stale.

Production deployments ``<id>-k8s`` on the ``dora-k8s`` kubernetes work pool are rendered
into the same file, under ``definitions.production_deployments`` (job variables from
:func:`flows.k8s_pool.job_variables_for`: requests = the largest task
``config.resources``, limits = 2x, active deadline = workflow timeout + 300 s, a pinned
image that ``$DORA_IMAGE`` overrides at deploy time). They are *not* in ``deployments``:
``prefect deploy --all`` (``dora up``, the tests) must keep working on a server that only
has the ``dora-local`` pool and must not register the flows twice. They are deployed with
``python -m flows.k8s_pool deploy`` (:func:`flows.k8s_pool.deploy_production`).

Schedules and event triggers: exactly one deployment per flow carries them, so a server
never schedules a flow twice. In prefect.yaml that is the ``-local`` deployment;
``deploy_production`` moves them onto the ``-k8s`` deployment it registers (the
production server has no ``-local`` deployments).
"""

from __future__ import annotations

from typing import Any

import yaml

from dora.definition.loader import LoadedDefinition
from dora.definition.models import EventTrigger, ScheduledTrigger
from flows.factory import var_name
from flows.graph import parameters
from flows.k8s_pool import POOL as K8S_POOL
from flows.k8s_pool import job_variables_for

LOCAL_POOL = "dora-local"
HEADER = (
    "# Generated from definitions/*.yaml by `dora deployments`; do not edit by hand.\n"
    "# `dora deployments --check` (run by the tests) fails when this file is stale.\n"
    "# No pull section: `prefect deploy` records the project directory as the working\n"
    "# directory, which is what a local process worker needs.\n"
    "# definitions.production_deployments: the -k8s deployments on the dora-k8s pool, deployed\n"
    "# by `python -m flows.k8s_pool deploy` (not by `prefect deploy --all`); see\n"
    "# flows/deployments.py for why, and for where the schedules and triggers live.\n"
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


PRODUCTION_WORKDIR = "/opt/dora"  # the image's WORKDIR holding flows/ and definitions/


def production_deployment(defn: LoadedDefinition) -> dict[str, Any]:
    """``<id>-k8s`` on the kubernetes pool; no schedules/triggers here (see module doc)."""
    wf = defn.workflow
    return {
        "name": f"{wf.id}-k8s",
        "version": defn.version_label,
        "description": wf.description or wf.name,
        "entrypoint": f"flows/catalog.py:{var_name(wf.id)}",
        "tags": ["dora", "production", "k8s"],
        "pull": [
            {"prefect.deployments.steps.set_working_directory": {"directory": PRODUCTION_WORKDIR}}
        ],
        "work_pool": {
            "name": K8S_POOL,
            "work_queue_name": "default",
            "job_variables": job_variables_for(defn),
        },
    }


def render(definitions: list[LoadedDefinition]) -> str:
    ordered = sorted(definitions, key=lambda d: d.workflow.id)
    doc = {
        "name": "dora-workflows",
        "prefect-version": "3.9.1",
        "definitions": {"production_deployments": [production_deployment(d) for d in ordered]},
        "deployments": [deployment(d) for d in ordered],
    }
    return HEADER + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
