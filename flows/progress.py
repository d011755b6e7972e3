"""Progress and outcome reporting: console hooks, Prefect progress/markdown artifacts, run.json.

Progress artifact updates are throttled (``DORA_PROGRESS_ARTIFACT_INTERVAL_S``) so a
100-task fan-out does not spend its time talking to the API about itself.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dora.definition.models import Workflow

if TYPE_CHECKING:
    from flows.factory import WorkflowRunResult

log = logging.getLogger("dora.progress")

#: (task_id, state, detail) callbacks, e.g. the CLI's progress printer
HOOKS: list[Callable[[str, str, str], None]] = []


def _notify(task_id: str, state: str, detail: str) -> None:
    for hook in list(HOOKS):
        try:
            hook(task_id, state, detail)
        except Exception:  # a broken printer must never break a run
            log.debug("progress hook failed", exc_info=True)


class Tracker:
    """Progress of one run: printed by hooks, and a Prefect progress artifact in the UI.

    Artifact updates go through the flow run's own API client (no new client and TLS
    context per update: ~40 ms of CPU each that task threads wait for on the GIL, measured
    with bench/overhead.py). Intermediate updates are sent from a background thread at
    most every ``interval_s``, so an API call never stalls scheduling; the final 100 % is
    sent by the flow thread itself so it is never lost when the process exits.
    """

    def __init__(self, workflow: Workflow, run_id: str | None, interval_s: float) -> None:
        self.workflow = workflow
        self.total = len(workflow.tasks)
        self.done = 0
        self.interval = interval_s
        self.run_id = run_id
        self._artifact_id: Any = None
        self._client: Any = None
        self._last = 0.0
        self._lock = threading.Lock()
        self._pending: float | None = None
        self._worker: threading.Thread | None = None
        self._wake = threading.Condition()
        self._closing = False

    def started(self) -> None:
        # the first update waits a full interval: a short run sends only its final 100 %
        self._last = time.monotonic()
        _notify("*", "started", f"{self.workflow.id} {self.workflow.version}: {self.total} tasks")
        if self.run_id is None:
            return
        try:
            from prefect.artifacts import create_progress_artifact
            from prefect.context import FlowRunContext

            ctx = FlowRunContext.get()
            self._client = getattr(ctx, "client", None)
            self._artifact_id = create_progress_artifact(
                progress=0.0, description=f"{self.workflow.name}: tasks finished"
            )
        except Exception:
            log.debug("progress artifact not created", exc_info=True)

    def task_started(self, task_id: str) -> None:
        if HOOKS:  # the name lookup is not free, and without a printer nobody reads it
            _notify(task_id, "running", self.workflow.task(task_id).name)

    def task_done(self, task_id: str, state: str, detail: str) -> None:
        with self._lock:
            self.done += 1
            _notify(task_id, state, detail)
            now = time.monotonic()
            if (
                self._artifact_id is not None
                and self.done < self.total
                and now - self._last >= self.interval
            ):
                self._last = now
                self._update(100.0 * self.done / self.total)

    def _update(self, pct: float) -> None:
        """Hand the value to the push thread (started on first use)."""
        with self._wake:
            self._pending = pct
            self._wake.notify()
        if self._worker is None:
            self._worker = threading.Thread(target=self._push, name="dora-progress", daemon=True)
            self._worker.start()

    def _push(self) -> None:
        while True:
            with self._wake:
                while self._pending is None and not self._closing:
                    self._wake.wait()
                pct, self._pending = self._pending, None
            if pct is None:
                return
            self._send(pct)

    def _send(self, pct: float) -> None:
        try:
            from prefect.client.schemas.actions import ArtifactUpdate

            if self._client is not None:
                self._client.update_artifact(
                    artifact_id=self._artifact_id, artifact=ArtifactUpdate(data=pct)
                )
            else:  # not inside a flow run context (e.g. an embedding caller)
                from prefect.artifacts import update_progress_artifact

                update_progress_artifact(artifact_id=self._artifact_id, progress=pct)
        except Exception:
            log.debug("progress artifact not updated", exc_info=True)

    def close(self) -> None:
        """Stop the push thread; an update it is sending may still complete."""
        with self._wake:
            self._closing = True
            self._pending = None
            self._wake.notify()

    def finished(self, result: WorkflowRunResult) -> None:
        self.close()
        if self._artifact_id is not None:
            self._send(100.0)
        _notify("*", result.state, result.message)
        if self.run_id is None:
            return
        try:
            from prefect.artifacts import create_markdown_artifact

            from tasks.agent_task import artifact_key

            create_markdown_artifact(
                markdown=summary_markdown(result, self.workflow),
                key=artifact_key(self.workflow.id, "run-summary"),
                description=f"{self.workflow.name}: outcome, routing decisions and success criteria",
            )
        except Exception:
            log.warning("run summary artifact not created", exc_info=True)


def summary_markdown(result: WorkflowRunResult, workflow: Workflow) -> str:
    icon = {"completed": "✅", "failed": "❌", "skipped": "⏭️", "pending": "…", "running": "…"}
    lines = [
        f"# {workflow.name} — {result.state.upper()}",
        "",
        f"{result.message}",
        "",
        f"Definition `{workflow.id}` version {workflow.version} (sha256 `{result.definition_hash[:12]}`)",
        "",
        "## Tasks",
        "",
        "| Task | State | Agent | Attempts | Seconds | Summary |",
        "|---|---|---|---|---|---|",
    ]
    for tid, s in result.tasks.items():
        text = (s.summary or s.error or "").replace("|", "\\|").replace("\n", " ")[:200]
        secs = f"{s.duration_s:.1f}" if s.duration_s is not None else ""
        lines.append(
            f"| {tid} | {icon.get(s.state, '')} {s.state} | {s.agent_id or ''} | {s.attempts or ''} | {secs} | {text} |"
        )
    lines += ["", "## Routing decisions", ""]
    if not result.decisions:
        lines.append("No routing rule was evaluated.")
    for d in result.decisions:
        who = d.target or ", ".join(d.approvers or d.recipients)
        verdict = "**fired**" if d.fired else "not fired"
        err = f" — could not evaluate: {d.error}" if d.error else ""
        vals = ", ".join(f"`{k}` = {v!r}" for k, v in d.values.items())
        lines.append(f"- `{d.condition}` → {d.action} ({who}): {verdict}; read {vals}{err}")
    lines += ["", "## Success criteria", ""]
    for c in result.criteria:
        mark = "✅" if c.passed else ("❌" if c.required else "⚠️")
        kind = "required" if c.required else "optional"
        err = f" — {c.error}" if c.error else ""
        lines.append(f"- {mark} `{c.condition}` ({kind}){err}")
    for w in result.warnings:
        lines.append(f"- ⚠️ {w}")
    files = [a for s in result.tasks.values() for a in s.artifacts]
    if files:
        lines += ["", "## Files", ""]
        lines += [
            f"- [{Path(a['path']).name}]({Path(a['path']).resolve().as_uri()}) — {a.get('description', '')}"
            for a in files
        ]
    return "\n".join(lines) + "\n"


def write_summary(result: WorkflowRunResult, workflow: Workflow) -> Path:
    """``run.json`` and ``run-summary.md`` in the run's output folder (read by ``dora run``)."""
    out = Path(result.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "run.json.tmp"
    # pydantic's own serializer (Rust) is several times faster than json.dumps over
    # model_dump for a run with many tasks and large outputs
    tmp.write_bytes(result.model_dump_json(indent=2).encode("utf-8"))
    tmp.replace(out / "run.json")
    (out / "run-summary.md").write_text(summary_markdown(result, workflow), encoding="utf-8")
    return out / "run.json"
