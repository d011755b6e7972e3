"""Structured (JSON lines) logging with run and correlation ids.

Why: in Kubernetes the logs of the worker, the webhook receiver and every flow-run pod go
to one log store; an auditor following one policy update needs to find every line of it.
Each JSON line therefore carries

* ``run_id``: the Prefect flow run id (from Prefect's log record extras, or the active run
  context), and ``task_run_id`` when inside a task;
* ``correlation_id``: the id that ties a chain together across processes (the webhook's
  delivery id, the ``WorkflowEvent.correlation_id``), set with :func:`correlation` or
  passed as ``extra={"correlation_id": ...}``.

``DORA_LOG_FORMAT=json`` selects it (:func:`configure_logging`); anything else keeps the
human format. :func:`prefect_logging_config` writes a copy of Prefect's own logging
configuration whose console formatters are this one, so Prefect's worker and flow-run
loggers emit the same JSON when ``PREFECT_LOGGING_SETTINGS_PATH`` points at it.

Messages are logged as the code formats them; secrets must never be put in a log call in
the first place (the formatter cannot know what is secret).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import sys
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FORMAT_ENV = "DORA_LOG_FORMAT"

_correlation: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "dora_correlation_id", default=None
)

# attributes every LogRecord has; anything else was passed as ``extra=`` and is kept
_RESERVED = set(vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


def current_correlation_id() -> str | None:
    return _correlation.get()


@contextlib.contextmanager
def correlation(correlation_id: str | None) -> Iterator[None]:
    """Tag every record logged inside the block (this thread/task) with ``correlation_id``."""
    token = _correlation.set(correlation_id)
    try:
        yield
    finally:
        _correlation.reset(token)


def _prefect_run_ids() -> tuple[str | None, str | None]:
    """(flow_run_id, task_run_id) of the active Prefect context, if Prefect is loaded."""
    if "prefect.context" not in sys.modules:
        return None, None
    try:
        from prefect.context import FlowRunContext, TaskRunContext

        task_ctx = TaskRunContext.get()
        flow_ctx = FlowRunContext.get()
        task_run = getattr(task_ctx, "task_run", None)
        flow_run = getattr(flow_ctx, "flow_run", None)
        flow_run_id = getattr(flow_run, "id", None) or getattr(task_run, "flow_run_id", None)
        return (
            str(flow_run_id) if flow_run_id else None,
            str(task_run.id) if task_run is not None else None,
        )
    except Exception:  # a formatter must never raise
        return None, None


def _jsonable(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, run ids, correlation id,
    exception, and any ``extra=`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        flow_run_id = getattr(record, "flow_run_id", None)
        task_run_id = getattr(record, "task_run_id", None)
        if flow_run_id is None:
            flow_run_id, ctx_task = _prefect_run_ids()
            task_run_id = task_run_id or ctx_task
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "run_id": str(flow_run_id) if flow_run_id else None,
            "correlation_id": getattr(record, "correlation_id", None) or _correlation.get(),
        }
        if task_run_id:
            out["task_run_id"] = str(task_run_id)
        for key, value in record.__dict__.items():
            if key not in _RESERVED and key not in out and not key.startswith("_"):
                out[key] = _jsonable(value)
        if record.exc_info:
            out["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        elif record.exc_text:
            out["exception"] = record.exc_text
        return json.dumps(out, ensure_ascii=False, default=str)


def json_enabled() -> bool:
    return os.environ.get(FORMAT_ENV, "").strip().lower() == "json"


def configure_logging(level: int | str = logging.INFO, *, json_format: bool | None = None) -> None:
    """Root logging to stderr, JSON when ``DORA_LOG_FORMAT=json`` (or ``json_format``)."""
    use_json = json_enabled() if json_format is None else json_format
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter()
        if use_json
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def prefect_logging_config(path: Path) -> Path:
    """Write Prefect's default logging.yml with its stderr handlers using JsonFormatter.

    Set ``PREFECT_LOGGING_SETTINGS_PATH`` to the result for a Prefect process (worker or
    flow run) to log JSON lines; handlers, levels and the API log shipping stay Prefect's.
    """
    import prefect.logging
    import yaml

    default = Path(prefect.logging.__file__).parent / "logging.yml"
    config = yaml.safe_load(default.read_text(encoding="utf-8"))
    config["formatters"]["dora_json"] = {"()": "dora.logs.JsonFormatter"}
    # Prefect's console handler renders through rich (colours, wrapping): a plain stream
    # handler keeps one JSON object per line
    for name in ("console", "debug"):
        config["handlers"][name] = {
            "level": 0,
            "class": "logging.StreamHandler",
            "formatter": "dora_json",
            "stream": "ext://sys.stderr",
        }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path
