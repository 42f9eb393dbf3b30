"""docs/DECISIONS.md's examples are valid documents, one per type, for the parser and the schema."""

from __future__ import annotations

import json
import re
from pathlib import Path

from jsonschema import Draft202012Validator

from trustledger.domain.decision import SHOP_DECISION_TYPES, parse_decision
from trustledger.domain.schema import decision_schema

DECISIONS_MD = Path(__file__).resolve().parents[2] / "docs" / "DECISIONS.md"
TEXT = DECISIONS_MD.read_text(encoding="utf-8")
EXAMPLES = [json.loads(block) for block in re.findall(r"```json\n(.*?)\n```", TEXT, re.S)]


def test_every_example_is_accepted_by_the_parser_and_the_schema() -> None:
    validator = Draft202012Validator(decision_schema())
    assert len(EXAMPLES) == 26  # the document's example and one per type
    for example in EXAMPLES:
        decision = parse_decision(example)
        assert decision.to_document()["type"] == example["type"]
        assert list(validator.iter_errors(example)) == [], example["type"]


def test_every_type_has_its_section_and_its_example_under_it() -> None:
    sections = re.split(r"^#### `([a-z.]+)`$", TEXT, flags=re.M)
    by_type = dict(zip(sections[1::2], sections[2::2], strict=True))
    assert set(by_type) == SHOP_DECISION_TYPES
    for kind, body in by_type.items():
        (block,) = re.findall(r"```json\n(.*?)\n```", body, re.S)
        assert json.loads(block)["type"] == kind


def test_every_types_table_lists_the_members_the_schema_and_parser_allow() -> None:
    schema = decision_schema()
    sections = re.split(r"^#### `([a-z.]+)`$", TEXT, flags=re.M)
    for kind, body in zip(sections[1::2], sections[2::2], strict=True):
        rows = re.findall(r"^\| `([a-z_0-9]+)` \| (yes|no) \|", body, flags=re.M)
        data = schema["$defs"][f"data:{kind}"]
        assert [name for name, _ in rows] == list(data["properties"]), kind
        assert [name for name, required in rows if required == "yes"] == data.get("required", []), (
            kind
        )


def test_decision_ids_of_the_examples_are_distinct() -> None:
    ids = [example["decision_id"] for example in EXAMPLES]
    assert len(set(ids)) == len(ids)
