"""bench/overhead.py keeps working: a tiny run against the session's Prefect API.

The figures themselves are measured by running the bench on a quiet machine, never
asserted here; this checks the bench still compiles both flows, refuses cached runs,
reads the task runs back and prints its ratio as the last line.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_overhead_bench_runs_both_flows_and_prints_the_ratio(
    prefect_api: str, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "PREFECT_API_URL": prefect_api,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "DORA_REPORTS_DIR": str(tmp_path / "reports"),
    }
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "overhead.py"), "--tasks", "4", "--rounds", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    assert any(line.startswith("chain   4 tasks") for line in lines), proc.stdout
    assert any(line.startswith("fanout  4 tasks") for line in lines), proc.stdout
    last = re.fullmatch(
        r"ratio compiled/hand-written per-task overhead \(chain\+fanout, median of 1 paired "
        r"rounds, range [0-9.]+-[0-9.]+\): ([0-9.]+)",
        lines[-1],
    )
    assert last is not None, lines[-1]
    assert float(last.group(1)) > 0
