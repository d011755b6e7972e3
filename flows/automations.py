"""Routing rules become Prefect automations, reconciled idempotently by name.

Every automation this module owns is named ``dora:...``:

* ``dora:<workflow>:rule-<n>:escalate`` - an event trigger on ``dora.routing.escalate``
  whose *labels* say the rule fired (``dora.fired=true``) sends a notification to the
  target's block ``dora-notify-<target>``.
* ``dora:<workflow>:rule-<n>:alert`` - on ``workflow.duration > N`` a *proactive* trigger:
  after ``prefect.flow-run.Running`` of the workflow's flow, expect a terminal state within
  N seconds, else notify the recipients. Alerts on task outputs are event triggers like
  escalations.
* ``require_approval`` has no automation: the run suspends itself ("handled in-flow").
* ``dora:crashed-run-detection`` marks a flow run CRASHED when its heartbeat stops, and
  ``dora:crashed-run-notify`` notifies ops when a run enters Crashed.

``reconcile`` reads the existing ``dora:`` automations, creates missing ones, updates the
ones whose spec changed (a spec hash is kept in the description) and deletes the ones whose
rule is gone, so running it twice changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from dora.definition.conditions import parse_condition
from dora.definition.loader import LoadedDefinition
from dora.definition.models import AlertRule, EscalateRule, RequireApprovalRule, Workflow

PREFIX = "dora:"
CRASH_DETECTION = "dora:crashed-run-detection"
CRASH_NOTIFY = "dora:crashed-run-notify"
OPS_TARGET = "ops"
ZOMBIE_WITHIN_S = 90
MIN_PROACTIVE_S = 10  # the Prefect client rejects a shorter proactive window
DEFAULT_NOTIFY_URL = "http://127.0.0.1:8787/notify/{target}"
TERMINAL = [
    "prefect.flow-run.Completed",
    "prefect.flow-run.Failed",
    "prefect.flow-run.Crashed",
    "prefect.flow-run.Cancelled",
]
_HASH_RE = re.compile(r"\[spec ([0-9a-f]{16})\]\s*$")
_DURATION_RE = re.compile(r"^\s*workflow\.duration\s*(>=|>)\s*(\d+(?:\.\d+)?)\s*$")

ESCALATE_BODY = (
    "DORA {{ event.resource['dora.action'] }}: workflow {{ event.resource['dora.workflow'] }}, "
    "routing rule {{ event.payload.rule }} fired for {{ event.resource['dora.who'] }}.\n"
    "Condition: {{ event.payload.condition }}\n"
    "Values read: {{ event.payload['values'] | tojson }}\n"
    "Flow run {{ flow_run.id }}: {{ flow_run | ui_url or '(no UI URL configured)' }}"
)
DURATION_BODY = (
    "DORA alert: workflow {workflow} (routing rule {index}, `{condition}`): flow run "
    "{{{{ flow_run.name }}}} has been running for more than {seconds} s without finishing.\n"
    "Flow run {{{{ flow_run.id }}}}: {{{{ flow_run | ui_url or '(no UI URL configured)' }}}}"
)
CRASH_BODY = (
    "Flow run {{ flow_run.name }} of {{ flow.name }} entered {{ event.event }}.\n"
    "Flow run {{ flow_run.id }}: {{ flow_run | ui_url or '(no UI URL configured)' }}"
)


def block_name(target: str) -> str:
    """Notification block for a target: ``compliance_officer`` -> ``dora-notify-compliance-officer``."""
    slug = re.sub(r"[^a-z0-9]+", "-", target.lower()).strip("-")
    return f"dora-notify-{slug}"


def notify_url(target: str) -> str:
    """``DORA_NOTIFY_<TARGET>_URL``, else ``DORA_NOTIFY_DEFAULT_URL``, else a local default."""
    key = "DORA_NOTIFY_" + re.sub(r"[^A-Z0-9]+", "_", target.upper()).strip("_") + "_URL"
    default = os.environ.get("DORA_NOTIFY_DEFAULT_URL", DEFAULT_NOTIFY_URL)
    return os.environ.get(key) or default.format(target=target)


def duration_threshold(condition: str) -> float | None:
    """``workflow.duration > 7200`` -> 7200.0; None for anything else."""
    m = _DURATION_RE.match(condition)
    return float(m.group(2)) if m else None


@dataclass
class Spec:
    """One desired automation, before notification blocks are resolved to ids."""

    name: str
    description: str
    trigger: dict[str, Any]
    targets: list[str] = field(default_factory=list)  # notified through their blocks
    subject: str = ""
    body: str = ""
    extra_actions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def digest(self) -> str:
        raw = json.dumps(
            {
                "t": self.trigger,
                "n": self.targets,
                "s": self.subject,
                "b": self.body,
                "x": self.extra_actions,
                "u": {t: notify_url(t) for t in self.targets},
            },
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(raw.encode()).hexdigest()[:16]


@dataclass
class RuleAutomation:
    """What a routing rule becomes (for ``dora plan``-style listings)."""

    workflow_id: str
    index: int
    action: str
    automation: str | None  # None: handled in-flow


def _event_rule_trigger(workflow_id: str, index: int, action: str) -> dict[str, Any]:
    return {
        "type": "event",
        "expect": [f"dora.routing.{action}"],
        "match": {
            "prefect.resource.id": f"dora.workflow.{workflow_id}.rule.{index}",
            "dora.fired": "true",
        },
        "posture": "Reactive",
        "threshold": 1,
        "within": 0,
    }


def rule_specs(workflow: Workflow) -> tuple[list[Spec], list[RuleAutomation]]:
    specs: list[Spec] = []
    listing: list[RuleAutomation] = []
    for i, rule in enumerate(workflow.routing):
        name = f"{PREFIX}{workflow.id}:rule-{i}:{rule.action}"
        if isinstance(rule, RequireApprovalRule):
            listing.append(RuleAutomation(workflow.id, i, rule.action, None))
            continue
        subject = f"DORA {rule.action}: {workflow.id} rule {i}"
        desc = f"{workflow.name}: routing rule {i} `{rule.condition}` ({rule.action})"
        if isinstance(rule, EscalateRule):
            spec = Spec(
                name,
                desc,
                _event_rule_trigger(workflow.id, i, "escalate"),
                [rule.target],
                subject,
                ESCALATE_BODY,
            )
        else:
            assert isinstance(rule, AlertRule)
            seconds = duration_threshold(rule.condition)
            cond = parse_condition(rule.condition)
            if seconds is not None and cond.reads_duration and not cond.task_ids:
                within = max(float(MIN_PROACTIVE_S), seconds)
                trigger = {
                    "type": "event",
                    "after": ["prefect.flow-run.Running"],
                    "expect": list(TERMINAL),
                    "match": {"prefect.resource.id": "prefect.flow-run.*"},
                    "match_related": {
                        "prefect.resource.role": "flow",
                        "prefect.resource.name": workflow.id,
                    },
                    "for_each": ["prefect.resource.id"],
                    "posture": "Proactive",
                    "threshold": 1,
                    "within": within,
                }
                body = DURATION_BODY.format(
                    workflow=workflow.id, index=i, condition=rule.condition, seconds=int(within)
                )
                spec = Spec(name, desc, trigger, list(rule.recipients), subject, body)
            else:
                spec = Spec(
                    name,
                    desc,
                    _event_rule_trigger(workflow.id, i, "alert"),
                    list(rule.recipients),
                    subject,
                    ESCALATE_BODY,
                )
        specs.append(spec)
        listing.append(RuleAutomation(workflow.id, i, rule.action, name))
    return specs, listing


def zombie_window_s() -> int:
    """90 s with 30 s heartbeats (what `dora up` configures); 3 heartbeats when they are slower.

    A window shorter than the heartbeat interval would mark every healthy long run CRASHED.
    """
    from prefect.settings import get_current_settings

    freq = get_current_settings().flows.heartbeat_frequency or 0
    return max(ZOMBIE_WITHIN_S, 3 * int(freq))


def workspace_specs() -> list[Spec]:
    """Zombie detection: heartbeat stops -> CRASHED; a run entering Crashed -> notify ops."""
    window = zombie_window_s()
    return [
        Spec(
            CRASH_DETECTION,
            "Mark a flow run CRASHED when no flow-run event follows its heartbeat "
            f"within {window} s (heartbeat every PREFECT_FLOWS_HEARTBEAT_FREQUENCY s; "
            "`dora up` runs the worker with 30)",
            {
                "type": "event",
                "after": ["prefect.flow-run.heartbeat"],
                "expect": ["prefect.flow-run.*"],
                "match": {"prefect.resource.id": "prefect.flow-run.*"},
                "for_each": ["prefect.resource.id"],
                "posture": "Proactive",
                "threshold": 1,
                "within": window,
            },
            extra_actions=[
                {
                    "type": "change-flow-run-state",
                    "state": "CRASHED",
                    "message": f"No heartbeat for {window} s ({CRASH_DETECTION})",
                }
            ],
        ),
        Spec(
            CRASH_NOTIFY,
            "Notify ops when a flow run enters Crashed",
            {
                "type": "event",
                "expect": ["prefect.flow-run.Crashed"],
                "match": {"prefect.resource.id": "prefect.flow-run.*"},
                "posture": "Reactive",
                "threshold": 1,
                "within": 0,
            },
            [OPS_TARGET],
            "DORA: flow run crashed",
            CRASH_BODY,
        ),
    ]


def desired_specs(definitions: Iterable[LoadedDefinition | Workflow]) -> list[Spec]:
    out: list[Spec] = []
    for d in definitions:
        wf = d.workflow if isinstance(d, LoadedDefinition) else d
        out.extend(rule_specs(wf)[0])
    out.extend(workspace_specs())
    return out


def ensure_notify_block(target: str) -> UUID:
    """Create or update the ``dora-notify-<target>`` webhook block; returns its id."""
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    name = block_name(target)
    url = notify_url(target)
    try:
        existing: Any = CustomWebhookNotificationBlock.load(name)
        if existing.url == url and existing._block_document_id:
            return existing._block_document_id
    except ValueError:
        pass
    block = CustomWebhookNotificationBlock(
        name=name,
        url=url,
        method="POST",
        json_data={"target": target, "subject": "{{subject}}", "body": "{{body}}"},
    )
    doc_id: Any = block.save(name, overwrite=True)
    return UUID(str(doc_id))


def _to_core(spec: Spec, block_ids: dict[str, UUID]) -> Any:
    from prefect.events.actions import SendNotification
    from prefect.events.schemas.automations import AutomationCore

    actions: list[Any] = [
        SendNotification(block_document_id=block_ids[t], subject=spec.subject, body=spec.body)
        for t in spec.targets
    ]
    actions.extend(spec.extra_actions)
    return AutomationCore.model_validate(
        {
            "name": spec.name,
            "description": f"{spec.description} [spec {spec.digest}]",
            "enabled": True,
            "tags": ["dora"],
            "trigger": spec.trigger,
            "actions": actions,
        }
    )


@dataclass
class ReconcileResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.deleted)


def read_dora_automations() -> dict[str, list[Any]]:
    """Existing automations named ``dora:...``, by name (duplicates kept, to clean them up)."""
    from prefect import get_client

    with get_client(sync_client=True) as client:
        found: dict[str, list[Any]] = {}
        for a in client.read_automations():
            if a.name.startswith(PREFIX):
                found.setdefault(a.name, []).append(a)
        return found


def reconcile(
    definitions: Iterable[LoadedDefinition | Workflow], *, prune: bool = True
) -> ReconcileResult:
    """Make the server's ``dora:`` automations match the definitions' routing rules."""
    from prefect import get_client

    specs = desired_specs(definitions)
    targets = sorted({t for s in specs for t in s.targets})
    block_ids = {t: ensure_notify_block(t) for t in targets}
    existing = read_dora_automations()
    result = ReconcileResult()
    with get_client(sync_client=True) as client:
        wanted = set()
        for spec in specs:
            wanted.add(spec.name)
            have = existing.get(spec.name, [])
            core = _to_core(spec, block_ids)
            for dup in have[1:]:
                client.delete_automation(dup.id)
            if not have:
                client.create_automation(core)
                result.created.append(spec.name)
                continue
            current = have[0]
            m = _HASH_RE.search(current.description or "")
            actions_ok = [str(getattr(a, "block_document_id", "")) for a in current.actions] == [
                str(getattr(a, "block_document_id", "")) for a in core.actions
            ]
            if m and m.group(1) == spec.digest and actions_ok and current.enabled:
                result.unchanged.append(spec.name)
            else:
                client.update_automation(current.id, core)
                result.updated.append(spec.name)
        if prune:
            for name, autos in existing.items():
                if name not in wanted:
                    for a in autos:
                        client.delete_automation(a.id)
                    result.deleted.append(name)
    return result


def listing(definitions: Iterable[LoadedDefinition | Workflow]) -> list[RuleAutomation]:
    out: list[RuleAutomation] = []
    for d in definitions:
        wf = d.workflow if isinstance(d, LoadedDefinition) else d
        out.extend(rule_specs(wf)[1])
    return out


def describe(definitions: Iterable[LoadedDefinition | Workflow]) -> list[str]:
    """Human lines: which automation each routing rule became."""
    lines = []
    for r in listing(definitions):
        what = r.automation or "handled in-flow (the run suspends itself for approval)"
        lines.append(f"{r.workflow_id} rule {r.index} ({r.action}): {what}")
    lines.append(f"workspace: {CRASH_DETECTION}, {CRASH_NOTIFY}")
    return lines


__all__ = [
    "CRASH_DETECTION",
    "CRASH_NOTIFY",
    "PREFIX",
    "ReconcileResult",
    "block_name",
    "describe",
    "desired_specs",
    "duration_threshold",
    "ensure_notify_block",
    "listing",
    "notify_url",
    "read_dora_automations",
    "reconcile",
]


#: Automations an agent schedules at run time (e.g. incident deadline reminders). Their
#: names start with this prefix, not ``dora:``, so reconciling the definitions' routing
#: automations on ``dora deploy`` never prunes them.
RUNTIME_PREFIX = "dora-runtime:"


def install_runtime_automations(specs: Iterable[dict[str, Any]]) -> list[str]:
    """Create (or replace) automations an agent asked for; returns their names.

    Each spec holds AutomationCore fields plus ``notify`` (the target whose
    ``dora-notify-<target>`` webhook block receives the notification). Replacing by name
    keeps a re-run of the same task from piling up duplicate reminders.
    """
    from prefect import get_client
    from prefect.events.actions import SendNotification
    from prefect.events.schemas.automations import AutomationCore

    wanted = list(specs)
    if not wanted:
        return []
    names = []
    with get_client(sync_client=True) as client:
        existing: dict[str, list[Any]] = {}
        for a in client.read_automations():
            if a.name.startswith(RUNTIME_PREFIX):
                existing.setdefault(a.name, []).append(a)
        for spec in wanted:
            name = str(spec["name"])
            if not name.startswith(RUNTIME_PREFIX):
                name = RUNTIME_PREFIX + name
            block_id = ensure_notify_block(str(spec["notify"]))
            core = AutomationCore.model_validate(
                {
                    "name": name,
                    "description": spec.get("description", ""),
                    "enabled": spec.get("enabled", True),
                    "tags": spec.get("tags", ["dora"]),
                    "trigger": spec["trigger"],
                    "actions": [
                        SendNotification(
                            block_document_id=block_id,
                            subject=f"DORA reminder: {name.removeprefix(RUNTIME_PREFIX)}",
                            body=spec.get("description", ""),
                        )
                    ],
                }
            )
            for old in existing.get(name, []):
                client.delete_automation(old.id)
            client.create_automation(core)
            names.append(name)
    return names
