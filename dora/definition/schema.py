"""JSON Schema for definition files, generated from the pydantic models.

Committed at ``schemas/workflow-definition.schema.json`` and referenced from each YAML
file (``# yaml-language-server: $schema=...``) so editors validate while people type;
a test fails when the committed file no longer matches the models.
"""

from __future__ import annotations

import json

from dora.definition.models import WorkflowFile

SCHEMA_ID = "https://dora-workflows.example/schemas/workflow-definition.schema.json"


def schema_text() -> str:
    schema = WorkflowFile.model_json_schema(mode="validation")
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "DORA workflow definition",
        **schema,
    }
    return json.dumps(schema, indent=2, sort_keys=False) + "\n"
