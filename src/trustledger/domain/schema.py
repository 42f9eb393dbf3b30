"""The JSON Schema (draft 2020-12) of the decision document, shipped in the package.

``decision.schema.json`` says in JSON Schema what ``parse_decision`` checks on one document
(docs/DECISIONS.md, "The JSON Schema"): integrators validate with it before they send, and
``tests/domain/test_schema.py`` keeps the two in agreement on generated documents.
"""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

__all__ = ["SCHEMA_FILE", "decision_schema", "decision_schema_text"]

#: The schema's file name inside the ``trustledger.domain`` package.
SCHEMA_FILE = "decision.schema.json"


def decision_schema_text() -> str:
    """The schema's exact text (JSON, UTF-8), as ``trustledger schema`` prints it."""
    return files("trustledger.domain").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")


def decision_schema() -> dict[str, Any]:
    """The schema as a JSON object."""
    schema: dict[str, Any] = json.loads(decision_schema_text())
    return schema
