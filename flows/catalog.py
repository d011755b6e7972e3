"""One module-level Prefect flow per definition in ``definitions/`` (deployment entrypoints).

Workers and ``prefect deploy`` load flows with ``import_object("flows/catalog.py:<var>")``,
i.e. by importing this module and reading an attribute, so every definition must become
a real module attribute with a matching ``__qualname__`` (see prefect-notes §1). The
variable name is the definition id with non-alphanumerics replaced by ``_``:
``definitions/dora-compliance-assessment.yaml`` -> ``flows/catalog.py:dora_compliance_assessment``.

An invalid definition fails the import loudly with every problem listed; a worker must
not silently run an older or partial set of workflows.
"""

from __future__ import annotations

from typing import Any

from dora.definition.loader import iter_definition_files, load_definition
from dora.settings import get_settings
from flows.factory import compile_workflow, var_name

FLOWS: dict[str, Any] = {}


def _load_all() -> None:
    for path in iter_definition_files([get_settings().definitions_dir]):
        loaded = load_definition(path)
        name = var_name(loaded.workflow.id)
        if name in FLOWS:
            raise RuntimeError(
                f"two definitions compile to the same flow variable {name!r} ({path})"
            )
        FLOWS[name] = compile_workflow(loaded, module=__name__)
        globals()[name] = FLOWS[name]


_load_all()
