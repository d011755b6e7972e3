"""Per-task overhead of a compiled definition vs a hand-written Prefect flow (same process).

The same DAG — a 100-task chain and a 100-task fan-out of agents that do nothing — runs
as (a) a flow compiled from YAML by ``flows.factory`` and (b) a Prefect flow written by
hand with the same task options (persisted results, a cache key per flow run and task,
thread pool runner, one event loop per worker thread), calling the same no-op agent.
Cached task runs are refused: they would skip the work being measured. One difference is
the engine's own and deliberate: the hand-written flow passes upstream *futures*, as
Prefect's documentation does, and each task run resolves them through Prefect's sync
bridge (``state.result()`` hops to its event-loop thread, ~0.7 ms per upstream here); the
compiled flow passes the upstream outcome objects themselves, which Prefect still records
as edges. Before that change the compiled flow measured 1.01-1.11 on this bench. The definitions
set ``audit_enabled: false``: this measures the engine core; the audit trail's own cost
(one short SQLite transaction per event, about 1-5 ms with synchronous=FULL) is measured
by bench/events.py and tests/test_events_recorder.py. Both run against the same local
Prefect API in this process, rounds interleaved so machine noise hits both alike.

Per-task overhead is read from what the Prefect server recorded: the span from the first
task run's start to the last task run's end, divided by the number of tasks. That leaves
out the per-run constants both flows share (creating the flow run on the server, 1-2 s of
noise on SQLite here) and the compiled flow's once-per-run summary artifacts, and keeps
everything that happens per task: submission, input resolution, agent selection, the
agent call, output checks, result persistence and the scheduler between tasks. The whole
run's wall time is printed too. The last line is the ratio compiled / hand-written of the
per-task overhead over both shapes (goal ≤ 1.05), as the median of the per-round ratios:
each round pairs the two flows run back to back (alternating which goes first), so a
slow stretch of the machine moves both sides of a ratio instead of one side of the
medians. Single rounds still swing by ±15 % on this 2-core machine, so the default is 15
rounds (about 5 minutes); each run starts from a collected, frozen heap so a full garbage
collection of the process cannot land in one side's run.

    python bench/overhead.py [--tasks 100] [--rounds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="dora-bench-"))
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("DORA_REPORTS_DIR", tempfile.mkdtemp(prefix="dora-bench-reports-"))

from prefect import flow, task  # noqa: E402
from prefect.task_runners import ThreadPoolTaskRunner  # noqa: E402

from agents import registry  # noqa: E402
from agents.base import RunContext, SimpleAgent, TaskExecution, TaskResult  # noqa: E402
from dora.definition.loader import parse_definition  # noqa: E402
from flows.factory import compile_workflow  # noqa: E402


class NoOp(SimpleAgent):
    TYPE = "bench_noop"

    async def run(self, task: TaskExecution) -> TaskResult:
        return TaskResult(outputs={"value": 1})


#: pause after each measured run, so the server's trailing work is not in the next one
SETTLE_S = 0.5

#: the definition's run timeout, given to the hand-written flow too: a flow timeout arms a
#: SIGALRM scope that Prefect's sync bridges then check on every task run (cancel_sync_after)
FLOW_TIMEOUT_S = 3600


def definition(shape: str, n: int) -> str:
    lines = [
        "workflow:",
        f"  id: bench-{shape}",
        f"  name: bench {shape}",
        '  version: "1.0.0"',
        f"  config: {{audit_enabled: false, timeout: {FLOW_TIMEOUT_S}}}",
        "  tasks:",
    ]
    for i in range(n):
        lines += [
            f"    - id: t{i}",
            f"      name: t{i}",
            "      agent: bench_noop",
            "      outputs: [{name: value, type: integer}]",
        ]
        if shape == "chain" and i:
            lines.append(f"      depends_on: [t{i - 1}]")
        if shape == "fanout" and i:
            lines.append("      depends_on: [t0]")
    return "\n".join(lines) + "\n"


_AGENT = NoOp()
_CTX = RunContext(workflow_id="hand")


_LOOPS = threading.local()


def _loop() -> asyncio.Runner:
    """One event loop per worker thread, as an experienced hand would write it."""
    if getattr(_LOOPS, "runner", None) is None:
        _LOOPS.runner = asyncio.Runner()
    runner: asyncio.Runner = _LOOPS.runner
    return runner


def _hand_key(ctx: Any, parameters: dict[str, Any]) -> str:
    # The same cheap key the compiled flow uses (flow run + task), instead of Prefect's
    # default policy, which hashes the inputs and the task's source code on every call.
    return f"hand-{ctx.task_run.flow_run_id}-{parameters['index']}"


@task(persist_result=True, cache_key_fn=_hand_key)
def hand_step(index: int, prev: Any = None) -> dict[str, Any]:
    # ``index`` makes every call's inputs distinct, as real tasks' are: with identical
    # inputs Prefect's cache would turn all but the first call of a run into a cache hit
    # that neither calls the agent nor persists a result, which is not the same work.
    result = _loop().run(
        _AGENT.execute_task(
            TaskExecution(task_id="x", task_name="x", agent="bench_noop", context=_CTX)
        )
    )
    return {"outputs": result.outputs}


def hand_flow(shape: str, n: int) -> Any:
    # the flow options the compiled flow has: a run timeout and prints sent to the run's logs
    @flow(
        name=f"hand-{shape}",
        task_runner=ThreadPoolTaskRunner(),
        persist_result=True,
        timeout_seconds=FLOW_TIMEOUT_S,
        log_prints=True,
    )
    def run() -> None:
        if shape == "chain":
            prev = None
            for i in range(n):
                prev = hand_step.submit(i, prev)
                prev.wait()
        else:
            first = hand_step.submit(0)
            first.wait()
            futs = [hand_step.submit(i, first) for i in range(1, n)]
            for f in futs:
                f.wait()

    return run


def timed(fn: Any) -> float:
    t0 = time.perf_counter()
    state = fn(return_state=True)
    assert state.is_completed(), state
    return time.perf_counter() - t0


def task_span(fn: Any, expected: int) -> tuple[float, float, float]:
    """(server-recorded span of the task runs, wall time, CPU time of this process).

    The CPU time covers every thread of this process (the Prefect server runs in its
    own process), so it is the engine's own cost and moves much less than wall time
    when other work shares the machine.
    """
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    # A full (generation 2) collection walks every object of the process, the Prefect
    # client's included, and takes ~0.2 s here: landing in one flow's run and not the
    # other's, it moved single rounds by 20-40 %. Both flows start from a collected,
    # frozen heap, so only the garbage their own run makes is collected during it.
    gc.collect()
    gc.freeze()
    t0, c0 = time.perf_counter(), time.process_time()
    state = fn(return_state=True)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert state.is_completed(), state

    async def read() -> list[Any]:
        async with get_client() as client:
            return await client.read_task_runs(
                flow_run_filter=FlowRunFilter(
                    id=FlowRunFilterId(any_=[state.state_details.flow_run_id])
                ),
                limit=200,
            )

    runs = asyncio.run(read())
    deadline = time.monotonic() + 60
    while (
        len(runs) < expected or any(r.end_time is None or r.start_time is None for r in runs)
    ) and time.monotonic() < deadline:
        time.sleep(0.2)  # task-run states reach the server through events, shortly after the flow
        runs = asyncio.run(read())
    cached = [r.name for r in runs if r.state_name == "Cached"]
    assert not cached, f"cache hits are not the same work: {cached[:3]}"
    span = (max(r.end_time for r in runs) - min(r.start_time for r in runs)).total_seconds()
    return span, wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    registry.register("bench_noop", NoOp, replace=True)
    flows: dict[str, tuple[Any, Any]] = {}
    for shape in ("chain", "fanout"):
        compiled = compile_workflow(
            parse_definition(definition(shape, args.tasks), f"bench-{shape}.yaml"), module=__name__
        )
        flows[shape] = (compiled, hand_flow(shape, args.tasks))
    for compiled, hand in flows.values():  # warm-up: server start, imports, caches
        timed(compiled)
        timed(hand)
    spans: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
    for r in range(args.rounds):  # interleaved, so noise hits both alike
        for shape, (compiled, hand) in flows.items():
            # alternate which flow goes first (ABBA), so whatever the first run of a pair
            # leaves behind (the server still digesting its events) burdens both alike
            order = [("compiled", compiled), ("hand", hand)]
            for kind, fn in order if r % 2 == 0 else order[::-1]:
                spans.setdefault((shape, kind), []).append(task_span(fn, args.tasks))
                time.sleep(SETTLE_S)
    total = {"compiled": 0.0, "hand": 0.0}
    cpu_total = {"compiled": 0.0, "hand": 0.0}

    def med(shape: str, kind: str, i: int) -> float:
        return statistics.median(m[i] for m in spans[(shape, kind)])

    for shape in flows:
        per = {k: med(shape, k, 0) / args.tasks for k in ("compiled", "hand")}
        wall = {k: med(shape, k, 1) for k in ("compiled", "hand")}
        cpu = {k: med(shape, k, 2) / args.tasks for k in ("compiled", "hand")}
        for k in ("compiled", "hand"):
            total[k] += per[k]
            cpu_total[k] += cpu[k]
        print(
            f"{shape:7s} {args.tasks} tasks, per-task overhead: compiled {1000 * per['compiled']:6.1f} ms, "
            f"hand-written {1000 * per['hand']:6.1f} ms, ratio {per['compiled'] / per['hand']:.3f}; "
            f"CPU per task: compiled {1000 * cpu['compiled']:5.1f} ms, hand-written "
            f"{1000 * cpu['hand']:5.1f} ms, ratio {cpu['compiled'] / cpu['hand']:.3f} "
            f"(whole run wall: compiled {wall['compiled']:.2f} s, hand-written {wall['hand']:.2f} s)"
        )
    print(
        f"CPU ratio compiled/hand-written per task, whole runs included (chain+fanout, median of "
        f"{args.rounds}): {cpu_total['compiled'] / cpu_total['hand']:.3f}"
    )
    print(
        f"ratio of the medians, compiled/hand-written per-task overhead (chain+fanout): "
        f"{total['compiled'] / total['hand']:.3f}"
    )
    paired = [
        sum(spans[(shape, "compiled")][r][0] for shape in flows)
        / sum(spans[(shape, "hand")][r][0] for shape in flows)
        for r in range(args.rounds)
    ]
    print(
        f"ratio compiled/hand-written per-task overhead (chain+fanout, median of {args.rounds} "
        f"paired rounds, range {min(paired):.3f}-{max(paired):.3f}): {statistics.median(paired):.3f}"
    )


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    main()
