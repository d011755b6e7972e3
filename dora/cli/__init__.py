"""The ``dora`` command line (typer). Thin: every command calls library functions.

Exit codes: 0 ok; 1 invalid input, failed check or failed run; 2 usage error.
"""

from dora.cli.main import app

__all__ = ["app"]
