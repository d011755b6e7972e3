"""Routing rules become Prefect automations on a real Prefect API, reconciled idempotently."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from dora.definition.loader import load_definition
from dora.definition.models import Workflow
from flows import automations
from tests.conftest import SEED

pytestmark = pytest.mark.usefixtures("prefect_api")


def _seed() -> Workflow:
    return load_definition(SEED).workflow


def _variant(workflow_id: str, drop_alert: bool = False) -> Workflow:
    wf = _seed()
    routing = [r for r in wf.routing if not (drop_alert and r.action == "alert")]
    return wf.model_copy(update={"id": workflow_id, "routing": routing})


class _Receiver:
    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                try:
                    outer.received.append({"path": self.path, **json.loads(body)})
                except ValueError:
                    outer.received.append({"path": self.path, "raw": body.decode()})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    r = _Receiver()
    yield r
    r.server.shutdown()


def test_rule_names_and_in_flow_approval() -> None:
    lines = automations.describe([_seed()])
    assert any("rule-0:escalate" in x for x in lines)
    assert any("rule 1 (require_approval): handled in-flow" in x for x in lines)
    assert any("rule-2:alert" in x for x in lines)
    assert automations.duration_threshold("workflow.duration > 7200") == 7200.0
    assert automations.block_name("compliance_officer") == "dora-notify-compliance-officer"


def test_reconcile_creates_updates_and_prunes(monkeypatch: pytest.MonkeyPatch) -> None:
    seed = _seed()
    other = _variant("dora-recon-other")
    first = automations.reconcile([seed, other])
    names = {
        "dora:dora-compliance-assessment:rule-0:escalate",
        "dora:dora-compliance-assessment:rule-2:alert",
        "dora:dora-recon-other:rule-0:escalate",
        "dora:dora-recon-other:rule-2:alert",
        automations.CRASH_DETECTION,
        automations.CRASH_NOTIFY,
    }
    existing = automations.read_dora_automations()
    assert names <= set(existing)
    assert not any("require_approval" in n for n in existing)
    assert all(len(v) == 1 for v in existing.values())
    assert set(first.created) | set(first.updated) | set(first.unchanged) == names
    ids = {n: v[0].id for n, v in existing.items()}

    alert = existing["dora:dora-compliance-assessment:rule-2:alert"][0]
    assert alert.trigger.posture == "Proactive"
    assert alert.trigger.within.total_seconds() == 7200
    assert alert.trigger.after == {"prefect.flow-run.Running"}
    esc = existing["dora:dora-compliance-assessment:rule-0:escalate"][0]
    assert esc.trigger.match.root["dora.fired"] == "true"
    assert esc.actions[0].type == "send-notification"
    crash = existing[automations.CRASH_DETECTION][0]
    assert crash.actions[0].type == "change-flow-run-state"

    second = automations.reconcile([seed, other])
    assert not second.changed, second
    again = automations.read_dora_automations()
    assert {n: v[0].id for n, v in again.items()} == ids

    # a changed notification URL updates in place (same id)
    monkeypatch.setenv("DORA_NOTIFY_COMPLIANCE_OFFICER_URL", "http://127.0.0.1:9/changed")
    third = automations.reconcile([seed, other])
    assert "dora:dora-compliance-assessment:rule-0:escalate" in third.updated
    after = automations.read_dora_automations()
    assert (
        after["dora:dora-compliance-assessment:rule-0:escalate"][0].id
        == ids["dora:dora-compliance-assessment:rule-0:escalate"]
    )

    # the alert rule is removed from `other`, then `other` itself disappears
    fourth = automations.reconcile([seed, _variant("dora-recon-other", drop_alert=True)])
    assert fourth.deleted == ["dora:dora-recon-other:rule-2:alert"]
    assert not fourth.created
    fifth = automations.reconcile([seed])
    assert fifth.deleted == ["dora:dora-recon-other:rule-0:escalate"]
    left = automations.read_dora_automations()
    assert not any(n.startswith("dora:dora-recon-other:") for n in left)


def _emit(workflow_id: str, fired: bool, score: float) -> None:
    from prefect.events import emit_event

    emit_event(
        event="dora.routing.escalate",
        resource={
            "prefect.resource.id": f"dora.workflow.{workflow_id}.rule.0",
            "dora.workflow": workflow_id,
            "dora.action": "escalate",
            "dora.fired": "true" if fired else "false",
            "dora.who": "compliance_officer",
        },
        payload={
            "rule": 0,
            "action": "escalate",
            "condition": "task.document_analysis.outputs.compliance_score < 0.5",
            "values": {"task.document_analysis.outputs.compliance_score": score},
            "fired": fired,
        },
    )


def test_escalation_reaches_the_receiver(
    receiver: _Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    wf_id = "dora-escalation-e2e"
    monkeypatch.setenv("DORA_NOTIFY_COMPLIANCE_OFFICER_URL", receiver.url + "/notify")
    automations.reconcile([_seed(), _variant(wf_id)])

    # a decision that did not fire (score 0.77) must send nothing; it is emitted first, so
    # by the time the fired one (0.31) arrives it has been evaluated too
    deadline = time.monotonic() + 90
    next_emit = 0.0
    while time.monotonic() < deadline and not receiver.received:
        if time.monotonic() >= next_emit:  # re-emit: the server may load the automation late
            _emit(wf_id, fired=False, score=0.77)
            _emit(wf_id, fired=True, score=0.31)
            next_emit = time.monotonic() + 15
        time.sleep(0.5)
    assert receiver.received, "no notification arrived within 90 s"
    msg = receiver.received[0]
    assert msg["path"] == "/notify"
    assert msg["target"] == "compliance_officer"
    assert wf_id in msg["body"] and "rule 0" in msg["body"]
    assert "0.31" in msg["body"]
    assert not any("0.77" in m.get("body", "") for m in receiver.received)


def test_duration_alert_fires_when_a_run_stays_running(
    receiver: _Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`workflow.duration > 10`: a run of the workflow's flow still Running after 10 s alerts."""
    from prefect import flow, get_client
    from prefect.states import Cancelled, Running

    from dora.definition.models import AlertRule

    wf_id = "dora-duration-e2e"
    base = _seed()
    wf = base.model_copy(
        update={
            "id": wf_id,
            "routing": [
                AlertRule(
                    condition="workflow.duration > 10", action="alert", recipients=["ops_team"]
                )
            ],
        }
    )
    monkeypatch.setenv("DORA_NOTIFY_OPS_TEAM_URL", receiver.url + "/ops")
    automations.reconcile([base, wf])
    auto = automations.read_dora_automations()[f"dora:{wf_id}:rule-0:alert"][0]
    assert auto.trigger.within.total_seconds() == 10

    @flow(name=wf_id)
    def _stuck() -> None:  # never executed: only its flow run is created and set Running
        pass

    with get_client(sync_client=True) as client:
        run = client.create_flow_run(_stuck, name="stuck-run")
        client.set_flow_run_state(run.id, Running(), force=True)
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and not receiver.received:
                time.sleep(0.5)
        finally:
            client.set_flow_run_state(run.id, Cancelled(), force=True)
    assert receiver.received, "no duration alert within 90 s"
    msg = receiver.received[0]
    assert msg["path"] == "/ops" and msg["target"] == "ops_team"
    assert "stuck-run" in msg["body"] and "more than 10 s" in msg["body"]
    assert f"Flow run {run.id}: " in msg["body"]
