"""The shipped JSON Schema and ``parse_decision`` accept exactly the same documents.

Hypothesis generates valid documents of every type and mutations of them (members missing or
added, wrong JSON types, values at and past every boundary, bad patterns and enums, nested
measures and personal data); each is given to both, which must agree. The schema's two
documented blind spots (docs/DECISIONS.md "The JSON Schema") are generated apart, and the
difference is asserted as it is documented. Derandomized: the same corpus in every run.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from trustledger.domain.decision import (
    MAX_ID_LENGTH,
    MAX_JSON_INTEGER,
    MAX_TEXT_LENGTH,
    MEASURE_TYPES,
    REMEDY_KINDS,
    REVOCATION_CAUSES,
    SEVERITIES,
    SHOP_DECISION_TYPES,
    VERIFICATION_KINDS,
    VIOLATION_CODES,
    parse_decision,
)
from trustledger.domain.schema import SCHEMA_FILE, decision_schema, decision_schema_text
from trustledger.errors import InvalidDecision

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = decision_schema()
VALIDATOR = Draft202012Validator(SCHEMA)

# Fixed seed (derandomize), no example database: the corpus is the same in CI and here.
CORPUS = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def parser_accepts(document: object) -> bool:
    try:
        parse_decision(document)
    except InvalidDecision:
        return False
    return True


def schema_accepts(document: object) -> bool:
    return bool(VALIDATOR.is_valid(document))


def assert_agree(document: object) -> None:
    by_schema, by_parser = schema_accepts(document), parser_accepts(document)
    if by_schema != by_parser:
        errors = [e.message for e in VALIDATOR.iter_errors(document)][:3]
        try:
            parse_decision(document)
            parser_says = "accepted"
        except InvalidDecision as exc:
            parser_says = str(exc)
        pytest.fail(
            f"schema {'accepts' if by_schema else 'refuses'} ({errors}), parser "
            f"{parser_says}: {json.dumps(document, ensure_ascii=True)[:600]}"
        )


# --------------------------------------------------------------------------- valid values

WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000"
)
# Text without lone surrogates (those are the schema's documented blind spot, tested apart).
chars = st.characters(exclude_categories=["Cs"])
ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-"
pattern_ids = st.text(ID_CHARS, min_size=1, max_size=24)
ids = st.one_of(
    pattern_ids,
    st.text(chars, min_size=1, max_size=20).map(lambda s: s.strip() or "x"),
    st.sampled_from(["sku-9", "张三的店", "x" * MAX_ID_LENGTH, "é" * MAX_ID_LENGTH, "a b"]),
)
texts = st.one_of(
    st.text(chars, min_size=1, max_size=20).map(lambda s: s + "." if s.isspace() else s),
    st.sampled_from([" reason ", "\u3000理由", "y" * MAX_TEXT_LENGTH, "\n."]),
)
digests = st.text("0123456789abcdef", min_size=64, max_size=64)
amounts = st.one_of(st.integers(1, MAX_JSON_INTEGER), st.sampled_from([1, MAX_JSON_INTEGER]))
counts = st.one_of(st.integers(0, 10**6), st.sampled_from([0, MAX_JSON_INTEGER]))


@st.composite
def timestamps(draw: st.DrawFn, *, valid: bool = True) -> str:
    """RFC 3339 text; when not ``valid``, any of the near misses too."""
    if valid:
        year = draw(st.integers(1, 9999) | st.sampled_from([1, 4, 400, 1900, 2000, 2024, 9999]))
        month = draw(st.integers(1, 12))
        day = draw(st.integers(1, 28))
        hour, minute, second = (
            draw(st.integers(0, 23)),
            draw(st.integers(0, 59)),
            draw(st.integers(0, 59)),
        )
        fraction = draw(st.sampled_from(["", ".1", ".000000", ".123456", ".5"]))
        return (
            f"{year:04d}-{month:02d}-{day:02d}{draw(st.sampled_from('Tt'))}"
            f"{hour:02d}:{minute:02d}:{second:02d}{fraction}"
            f"{draw(st.sampled_from(['Z', 'z', '+00:00']))}"
        )
    year = draw(
        st.sampled_from([0, 1, 4, 100, 200, 400, 1900, 2000, 2023, 2024, 2100, 2400, 9999])
        | st.integers(0, 9999)
    )
    month, day = draw(st.integers(0, 13)), draw(st.integers(0, 32))
    hour, minute, second = (
        draw(st.integers(0, 25)),
        draw(st.integers(0, 61)),
        draw(st.integers(0, 61)),
    )
    digits = draw(st.integers(0, 8))
    fraction = "." + "1" * digits if digits else draw(st.sampled_from(["", "."]))
    offset = draw(st.sampled_from(["Z", "z", "+00:00", "-00:00", "+01:00", "", "+0000", " Z"]))
    text = (
        f"{year:04d}-{month:02d}-{day:02d}{draw(st.sampled_from(['T', 't', ' ', '']))}"
        f"{hour:02d}:{minute:02d}:{second:02d}{fraction}{offset}"
    )
    return text + draw(st.sampled_from(["", "", "", "\n", " "]))


@st.composite
def measures(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(sorted(MEASURE_TYPES)))
    measure: dict[str, Any] = {"type": kind}
    if kind == "delist_product":
        measure["product_id"] = draw(ids)
    elif kind == "deduct_deposit":
        measure["amount"] = draw(amounts)
    elif kind == "suspend" or (
        kind in ("restrict_traffic", "restrict_listing", "freeze_funds") and draw(st.booleans())
    ):
        measure["until"] = draw(timestamps())
    return measure


def enum(values: frozenset[str]) -> st.SearchStrategy[str]:
    return st.sampled_from(sorted(values))


# The members of each type's data: (name, required, strategy of valid values). Written from
# docs/DECISIONS.md, not from the parser's table, so that either can be caught wrong.
REQ, OPT = True, False
DATA: dict[str, list[tuple[str, bool, st.SearchStrategy[Any]]]] = {
    "shop.registered": [
        ("owner_subject_id", REQ, ids),
        ("deposit", OPT, counts),
        ("categories", OPT, st.lists(ids, max_size=3)),
    ],
    "shop.closed": [("reason", OPT, texts)],
    "verification.submitted": [
        ("verification_id", REQ, ids),
        ("kind", REQ, enum(VERIFICATION_KINDS)),
        ("document_sha256", OPT, digests),
        ("valid_until", OPT, timestamps()),
        ("product_id", OPT, ids),
        ("brand", OPT, ids),
    ],
    "verification.approved": [("verification_id", REQ, ids), ("valid_until", OPT, timestamps())],
    "verification.rejected": [("verification_id", REQ, ids), ("reason", REQ, texts)],
    "verification.expired": [("verification_id", REQ, ids), ("reason", OPT, texts)],
    "verification.revoked": [("verification_id", REQ, ids), ("reason", OPT, texts)],
    "complaint.filed": [
        ("complaint_id", REQ, ids),
        ("category", REQ, enum(VIOLATION_CODES)),
        ("product_id", OPT, ids),
        ("order_id", OPT, ids),
        ("evidence", OPT, st.lists(digests, max_size=3)),
    ],
    "complaint.responded": [
        ("complaint_id", REQ, ids),
        ("evidence", OPT, st.lists(digests, max_size=3)),
    ],
    "complaint.substantiated": [
        ("complaint_id", REQ, ids),
        ("violation", REQ, enum(VIOLATION_CODES)),
        ("findings", OPT, texts),
    ],
    "complaint.dismissed": [("complaint_id", REQ, ids), ("reason", OPT, texts)],
    "complaint.withdrawn": [("complaint_id", REQ, ids), ("reason", OPT, texts)],
    "penalty.imposed": [
        ("penalty_id", REQ, ids),
        ("violation", REQ, enum(VIOLATION_CODES)),
        ("severity", REQ, enum(SEVERITIES)),
        ("points", OPT, counts),
        ("measures", REQ, st.lists(measures(), min_size=1, max_size=3)),
        ("complaint_ids", OPT, st.lists(ids, max_size=3, unique=True)),
        ("rule_set", OPT, ids),
    ],
    "penalty.revoked": [
        ("penalty_id", REQ, ids),
        ("cause", REQ, enum(REVOCATION_CAUSES)),
        ("appeal_id", OPT, ids),
    ],
    "appeal.filed": [
        ("appeal_id", REQ, ids),
        ("penalty_id", REQ, ids),
        ("grounds", OPT, texts),
        ("evidence", OPT, st.lists(digests, max_size=3)),
    ],
    "appeal.upheld": [("appeal_id", REQ, ids)],
    "appeal.rejected": [("appeal_id", REQ, ids), ("reason", REQ, texts)],
    "appeal.withdrawn": [("appeal_id", REQ, ids)],
    "deposit.paid": [("amount", REQ, amounts), ("reference", OPT, ids)],
    "deposit.refunded": [("amount", REQ, amounts), ("reason", OPT, texts)],
    "remedy.ordered": [
        ("remedy_id", REQ, ids),
        ("complaint_id", REQ, ids),
        ("kind", REQ, enum(REMEDY_KINDS)),
        ("amount", REQ, counts),
        ("due_by", REQ, timestamps()),
        ("order_id", OPT, ids),
        ("from_deposit", OPT, st.booleans()),
    ],
    "remedy.completed": [("remedy_id", REQ, ids), ("amount_paid", OPT, counts)],
    "remedy.cancelled": [("remedy_id", REQ, ids), ("reason", REQ, texts)],
    "programme.enrolled": [],
    "programme.exited": [("reason", REQ, texts), ("forced", OPT, st.booleans())],
}

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-MAX_JSON_INTEGER, MAX_JSON_INTEGER),
    st.text(chars, max_size=20),
)
personal_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(chars, max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def valid_documents(draw: st.DrawFn, kind: str | None = None) -> dict[str, Any]:
    kind = kind or draw(st.sampled_from(sorted(DATA)))
    data = {
        name: draw(values)
        for name, required, values in DATA[kind]
        if required or draw(st.booleans())
    }
    document: dict[str, Any] = {
        "decision_id": str(draw(st.uuids())),
        "type": kind,
        "shop_id": draw(st.text(ID_CHARS, min_size=1, max_size=64)),
        "occurred_at": draw(timestamps()),
        "data": data,
    }
    if draw(st.booleans()):
        document["decision_id"] = document["decision_id"].upper()
    if draw(st.booleans()):
        document["actor"] = draw(ids | st.none())
    if draw(st.booleans()):
        personal = draw(st.dictionaries(st.text(chars, max_size=8), personal_values, max_size=3))
        personal["subject_id"] = draw(st.text(ID_CHARS, min_size=1, max_size=128))
        document["personal"] = personal if draw(st.integers(0, 4)) else None
    return document


# --------------------------------------------------------------------------- mutations

# Values a mutation puts in place of another: every JSON type, and the values at and just
# past each boundary the format has.
EDGE_STRINGS = [
    "",
    " ",
    "\u3000",
    "a ",
    " a",
    "a\n",
    "x" * MAX_ID_LENGTH,
    "x" * (MAX_ID_LENGTH + 1),
    "é" * (MAX_ID_LENGTH + 1),
    "y" * MAX_TEXT_LENGTH,
    "y" * (MAX_TEXT_LENGTH + 1),
    " " * MAX_TEXT_LENGTH,
    "s" * 64,
    "s" * 65,
    "s" * 128,
    "s" * 129,
    "shop 1",
    "shop/1",
    "0b9f6c1e-1a7d-4c53-9a57-3e0c7f0f4a11",
    "0B9F6C1E-1A7D-4C53-9A57-3E0C7F0F4A11",
    "0b9f6c1e1a7d4c539a573e0c7f0f4a11",
    "0b9f6c1e-1a7d-4c53-9a57-3e0c7f0f4a1",
    "0b9f6c1e-1a7d-4c53-9a57-3e0c7f0f4a11\n",
    "0b9f6c1e-1a7d-4c53-9a57-3e0c7f0f4a1g",
    "a" * 64,
    "A" * 64,
    "a" * 63,
    "a" * 64 + "\n",
    *sorted(VIOLATION_CODES | MEASURE_TYPES | SEVERITIES | REVOCATION_CAUSES),
    *sorted(VERIFICATION_KINDS | REMEDY_KINDS | SHOP_DECISION_TYPES),
    "Counterfeit",
    "penalty.Imposed",
    *WHITESPACE,
]
EDGE_INTEGERS = [0, 1, -1, 2, MAX_JSON_INTEGER, MAX_JSON_INTEGER + 1, -MAX_JSON_INTEGER, -(2**53)]
any_value = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(EDGE_INTEGERS),
    st.integers(-(2**60), 2**60),
    st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not f.is_integer()),
    st.sampled_from(EDGE_STRINGS),
    st.text(chars, max_size=12),
    timestamps(valid=False),
    st.lists(st.sampled_from(["a" * 64, "sku-1", "", 1, None]), max_size=3),
    st.just([]),
    st.just({}),
    measures(),
    st.lists(measures(), max_size=2),
    st.dictionaries(st.sampled_from(["type", "until", "amount", "product_id", "x"]), json_scalars),
)


def slots(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a member or array element inside ``value``."""
    found: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found.append((*path, key))
            found.extend(slots(item, (*path, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.append((*path, index))
            found.extend(slots(item, (*path, index)))
    return found


def containers(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to an object inside ``value`` (the document itself included)."""
    found: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        found.append(path)
        for key, item in value.items():
            found.extend(containers(item, (*path, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(containers(item, (*path, index)))
    return found


def at(document: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        document = document[step]
    return document


MEMBER_NAMES = sorted(
    {"decision_id", "type", "shop_id", "occurred_at", "actor", "data", "personal", "until"}
    | {name for fields in DATA.values() for name, _, _ in fields}
    | {"amount", "product_id", "Type", "extra"}
)


def near(draw: st.DrawFn, value: Any) -> Any:
    """A value close to ``value``: just past a boundary, or of another JSON type."""
    if type(value) is int:
        return draw(st.sampled_from([*EDGE_INTEGERS, value - 1, value + 1, -value, str(value)]))
    if type(value) is str:
        return draw(
            st.sampled_from(
                [value + " ", " " + value, value + "\n", value[:-1], value.upper(), value + "x"]
            )
            | st.sampled_from(EDGE_STRINGS)
            | st.sampled_from([value * 2, value * 65, [value], None])
        )
    if type(value) is list:
        extra = value[:1] or [draw(any_value)]
        return draw(st.sampled_from([[], value + extra, value[1:], extra[0], [None], [value]]))
    if type(value) is dict:
        return draw(st.sampled_from([{}, [value], "{}"]))
    return draw(any_value)


def mutate(draw: st.DrawFn, document: Any) -> Any:
    """A copy of ``document`` with one change (sometimes two): a member deleted, added or
    given a value near its own or of any kind, or the type swapped."""
    document = copy.deepcopy(document)
    for _ in range(draw(st.sampled_from([1, 1, 1, 2]))):
        operation = draw(
            st.sampled_from(["delete", "near", "near", "near", "any", "add", "retype"])
        )
        paths = slots(document) if isinstance(document, dict | list) else []
        if operation == "retype" and isinstance(document, dict):
            document["type"] = draw(st.sampled_from(sorted(SHOP_DECISION_TYPES)))
        elif operation == "add" and isinstance(document, dict | list):
            target = at(document, draw(st.sampled_from(containers(document) or [()])))
            if isinstance(target, dict):
                target[draw(st.sampled_from(MEMBER_NAMES))] = draw(any_value)
        elif paths:
            path = draw(st.sampled_from(paths))
            parent = at(document, path[:-1])
            if operation == "delete":
                del parent[path[-1]]
            elif operation == "near":
                parent[path[-1]] = near(draw, parent[path[-1]])
            else:
                parent[path[-1]] = draw(any_value)
        else:
            document = draw(any_value)
    return document


@st.composite
def mutated_documents(draw: st.DrawFn) -> list[Any]:
    """Four mutants of one valid document (generating the document costs the most)."""
    document = draw(valid_documents())
    return [mutate(draw, document) for _ in range(4)]


# --------------------------------------------------------------------------- the tests


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["properties"]["type"]["enum"] == sorted(SHOP_DECISION_TYPES, key=list(DATA).index)


def test_every_type_has_its_data_in_the_schema() -> None:
    assert set(DATA) == SHOP_DECISION_TYPES
    for kind, fields in DATA.items():
        data = SCHEMA["$defs"][f"data:{kind}"]
        assert list(data["properties"]) == [name for name, _, _ in fields], kind
        assert data.get("required", []) == [name for name, required, _ in fields if required]
        assert data["additionalProperties"] is False


@settings(CORPUS, max_examples=200)
@given(valid_documents())
def test_valid_documents_of_every_type_pass_both(document: dict[str, Any]) -> None:
    assert_agree(document)
    assert parser_accepts(document), document


@settings(CORPUS, max_examples=300)
@given(mutated_documents())
def test_schema_and_parser_agree_on_mutated_documents(documents: list[Any]) -> None:
    for document in documents:
        assert_agree(document)


@settings(CORPUS, max_examples=300)
@given(st.sampled_from(["occurred_at", "until", "due_by", "valid_until"]), timestamps(valid=False))
def test_schema_and_parser_agree_on_timestamps(member: str, text: str) -> None:
    """Calendar dates (Feb 29 in leap years only, no day 31 in 30-day months, no year 0),
    hours, seconds, fractions and offsets: the schema's pattern says what the parser does."""
    if member == "occurred_at":
        document = _base("shop.closed", {})
        document["occurred_at"] = text
    elif member == "until":
        document = _base("penalty.imposed", _penalty([{"type": "suspend", "until": text}]))
    elif member == "due_by":
        document = _base(
            "remedy.ordered",
            {
                "remedy_id": "r-1",
                "complaint_id": "c-1",
                "kind": "refund",
                "amount": 0,
                "due_by": text,
            },
        )
    else:
        document = _base("verification.approved", {"verification_id": "v-1", "valid_until": text})
    assert_agree(document)


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("2024-02-29T00:00:00Z", True),
        ("2000-02-29T00:00:00Z", True),
        ("2023-02-29T00:00:00Z", False),
        ("1900-02-29T00:00:00Z", False),
        ("2026-02-30T00:00:00Z", False),
        ("2026-04-31T00:00:00Z", False),
        ("2026-12-31T23:59:59.999999Z", True),
        ("2026-12-31T23:59:60Z", False),
        ("0000-01-01T00:00:00Z", False),
        ("0001-01-01t00:00:00z", True),
        ("2026-11-02T08:30:00+00:00", True),
        ("2026-11-02T08:30:00-00:00", False),
        ("2026-11-02T08:30:00.1234567Z", False),
        ("2026-11-02T08:30:00Z\n", False),
    ],
)
def test_timestamp_edges(text: str, valid: bool) -> None:
    document = _base("shop.closed", {})
    document["occurred_at"] = text
    assert (schema_accepts(document), parser_accepts(document)) == (valid, valid)


@settings(CORPUS, max_examples=100)
@given(valid_documents(), st.data())
def test_integers_written_with_a_fraction_are_the_schemas_known_difference(
    document: dict[str, Any], data: st.DataObject
) -> None:
    """JSON Schema counts 5.0 as the integer 5; the parser takes integers written as such."""
    integers = [path for path in slots(document) if type(at(document, path)) is int]
    if not integers:
        document["data"] = {"amount": 5}
        document["type"] = "deposit.paid"
        integers = [("data", "amount")]
    path = data.draw(st.sampled_from(integers))
    at(document, path[:-1])[path[-1]] = float(at(document, path))
    assert schema_accepts(document)
    assert not parser_accepts(document)


@settings(CORPUS, max_examples=100)
@given(valid_documents(), st.data())
def test_lone_surrogates_are_the_schemas_known_difference(
    document: dict[str, Any], data: st.DataObject
) -> None:
    """A lone surrogate is no Unicode text: the parser refuses it wherever it is; the schema
    judges it as any other character (here: as U+FFFD would be)."""
    strings = [path for path in slots(document) if type(at(document, path)) is str]
    path = data.draw(st.sampled_from(strings))
    value = at(document, path)
    position = data.draw(st.integers(0, len(value)))
    surrogate = data.draw(st.sampled_from(["\ud800", "\udfff", "\udc00"]))
    replaced = copy.deepcopy(document)
    at(document, path[:-1])[path[-1]] = value[:position] + surrogate + value[position:]
    at(replaced, path[:-1])[path[-1]] = value[:position] + "\ufffd" + value[position:]
    assert not parser_accepts(document)
    assert schema_accepts(document) == schema_accepts(replaced)


# A valid value of every member name, to build documents with every member present.
SAMPLE: dict[str, Any] = {
    "deposit": 0,
    "categories": ["toys"],
    "kind": "qualification",
    "document_sha256": "a" * 64,
    "valid_until": "2027-11-02T08:30:00Z",
    "category": "counterfeit",
    "evidence": ["b" * 64],
    "violation": "counterfeit",
    "severity": "serious",
    "points": 6,
    "measures": [
        {"type": "suspend", "until": "2026-12-02T08:30:00Z"},
        {"type": "deduct_deposit", "amount": 1},
        {"type": "delist_product", "product_id": "sku-9"},
    ],
    "complaint_ids": ["c-1", "c-2"],
    "cause": "appeal_upheld",
    "amount": 1,
    "due_by": "2026-11-09T08:30:00Z",
    "from_deposit": False,
    "amount_paid": 0,
    "forced": True,
}
# Values put in every member's place: every JSON type, and each boundary just inside and
# just outside.
SWEEP: list[Any] = [
    None,
    True,
    [],
    {},
    1.5,
    "sku-9",
    "2026-02-29T00:00:00Z",
    *EDGE_INTEGERS,
    *[text for text in EDGE_STRINGS[:30] if len(text) <= MAX_TEXT_LENGTH + 1],
    "counterfeit",
    "suspend",
    "critical",
    "regulator_order",
    "brand",
    "compensation",
    "appeal.upheld",
    "\u3000",
    "\x1c",
    [None],
    ["a" * 64, "a" * 64],
    ["x" * (MAX_ID_LENGTH + 1)],
    [{"type": "suspend"}],
    [{"type": "permanent_ban", "until": "2027-01-01T00:00:00Z"}],
    [{"type": "deduct_deposit", "amount": 0}],
    [{"type": "warning", "x": 1}],
    {"subject_id": "s" * 129},
    {"subject_id": "buyer 1"},
    {"subject_id": "buyer-1", "age": 1.5},
    {"subject_id": "buyer-1", "id": 2**53},
]


def full_document(kind: str) -> dict[str, Any]:
    """A valid document of ``kind`` with every member, optional ones included."""
    data = {
        name: SAMPLE.get(
            name,
            "id-1"
            if name.endswith("_id") or name in ("brand", "rule_set", "reference")
            else "a reason",
        )
        for name, _, _ in DATA[kind]
    }
    if kind == "remedy.ordered":
        data["kind"] = "return_and_refund"
    document = _base(kind, data)
    document["actor"] = "reviewer-17"
    document["personal"] = {
        "subject_id": "buyer-77",
        "name": "张三",
        "tags": [1, None, {"a": True}],
    }
    return document


@pytest.mark.parametrize("kind", sorted(DATA))
def test_schema_and_parser_agree_on_every_member_at_its_boundaries(kind: str) -> None:
    """Each member of a full document of each type, deleted or given each SWEEP value (the
    members outside ``data`` for one type: they do not depend on it)."""
    document = full_document(kind)
    assert schema_accepts(document) and parser_accepts(document), kind
    for path in slots(document):
        if (path[0] != "data" and kind != "shop.closed") or len(path) > 4:
            continue
        changed = copy.deepcopy(document)
        del at(changed, path[:-1])[path[-1]]
        assert_agree(changed)
        changed = copy.deepcopy(document)
        for value in SWEEP:
            at(changed, path[:-1])[path[-1]] = value
            assert_agree(changed)


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


@pytest.mark.parametrize("depth", [30, 31, 32, 33])
def test_personal_data_nesting_limit(depth: int) -> None:
    document = _base("shop.closed", {})
    document["personal"] = {"subject_id": "buyer-77", "deep": _nested(depth)}
    # The personal object is level 0; containers may sit at levels up to 31.
    expected = depth <= 31
    assert (schema_accepts(document), parser_accepts(document)) == (expected, expected)


def _base(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "decision_id": "0b9f6c1e-1a7d-4c53-9a57-3e0c7f0f4a11",
        "type": kind,
        "shop_id": "shop-10086",
        "occurred_at": "2026-11-02T08:30:00Z",
        "data": data,
    }


def _penalty(measures: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "penalty_id": "p-1",
        "violation": "counterfeit",
        "severity": "serious",
        "measures": measures,
    }


# --------------------------------------------------------------------------- shipping


def test_schema_command_prints_the_shipped_schema(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from trustledger_cli.main import main

    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0, result.output
    assert result.stdout == decision_schema_text()
    out = tmp_path / "decision.schema.json"
    result = CliRunner().invoke(main, ["schema", "--out", str(out)])
    assert result.exit_code == 0
    assert json.loads(out.read_text("utf-8")) == SCHEMA
    result = CliRunner().invoke(main, ["schema", "--out", str(tmp_path / "no" / "such.json")])
    assert result.exit_code == 2
    assert "cannot write" in result.stderr


@pytest.mark.slow
def test_the_wheel_ships_the_schema(tmp_path: Path) -> None:
    """The schema is package data: a built wheel holds it next to the parser."""
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(tmp_path), str(ROOT)],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    (wheel,) = tmp_path.glob("trustledger-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        shipped = archive.read(f"trustledger/domain/{SCHEMA_FILE}").decode("utf-8")
    assert shipped == decision_schema_text()
