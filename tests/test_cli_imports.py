"""The CLI must not import Prefect at start-up.

Prefect reads its settings once, at import; ``dora run`` points PREFECT_HOME and the
embedded server's start-up timeout at ``.dora/`` before importing it. A sub-command module
that imports Prefect at load time (as ``blocks`` does) silently sends every ``dora run``
to the user's ``~/.prefect`` with the default timeout.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_loading_the_cli_with_every_subcommand_imports_no_prefect() -> None:
    code = (
        "import sys\n"
        "from dora.cli.main import app\n"
        "import typer.main\n"
        "typer.main.get_command(app)\n"  # builds every mounted sub-app
        "loaded = sorted(m for m in sys.modules if m == 'prefect' or m.startswith('prefect.'))\n"
        "print(','.join(loaded[:5]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"prefect imported at CLI start-up: {out.stdout.strip()}"
