"""Decision documents: the strict, table-driven parser and the ``Decision`` value object.

A decision document is the JSON object of docs/DECISIONS.md ("The decision document", "The
25 types"), which this parser is the reference implementation of; ``decision.schema.json``
says the same in JSON Schema (``trustledger.domain.schema``). ``parse_decision`` validates its
shape and returns a ``Decision`` whose ``data`` is normalised (timestamps in the canonical form
of ``timefmt``); ``Decision.to_document`` gives the document back, so that
``parse_decision(d.to_document()) == d``. Rules that need the history of the shop
(docs/DECISIONS.md, "Rules checked on append") live in ``shop``; this module checks only what
one document shows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, Final

from trustledger.domain.timefmt import format_timestamp, parse_timestamp
from trustledger.errors import InvalidDecision

__all__ = [
    "MEASURE_TYPES",
    "REMEDY_KINDS",
    "REVOCATION_CAUSES",
    "SEVERITIES",
    "SHOP_DECISION_TYPES",
    "VERIFICATION_KINDS",
    "VIOLATION_CODES",
    "Decision",
    "parse_decision",
]

VIOLATION_CODES: Final = frozenset(
    {
        "counterfeit",
        "prohibited_goods",
        "false_advertising",
        "ip_infringement",
        "fake_transactions",
        "fake_reviews",
        "misdescription",
        "late_shipping",
        "after_sales_failure",
        "qualification_missing",
        "qualification_forged",
        "privacy_leak",
        "other",
    }
)
MEASURE_TYPES: Final = frozenset(
    {
        "warning",
        "delist_product",
        "restrict_traffic",
        "restrict_listing",
        "freeze_funds",
        "deduct_deposit",
        "suspend",
        "permanent_ban",
    }
)
SEVERITIES: Final = frozenset({"minor", "serious", "critical"})
REVOCATION_CAUSES: Final = frozenset({"appeal_upheld", "platform_error", "regulator_order"})
VERIFICATION_KINDS: Final = frozenset({"real_name", "qualification", "brand", "product_listing"})
REMEDY_KINDS: Final = frozenset({"refund", "return_and_refund", "compensation"})

MAX_ID_LENGTH: Final = 128
MAX_TEXT_LENGTH: Final = 4096
MAX_JSON_INTEGER: Final = 2**53 - 1  # the largest integer every JSON reader holds exactly
_MAX_PERSONAL_DEPTH: Final = 32

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_SHOP_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_SUBJECT_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")

# A validator takes the raw value and its path (for messages) and returns the normalised value.
Validator = Callable[[Any, str], Any]


# --------------------------------------------------------------------------- value validators


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return f"number {value!r}"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return f"non-JSON value of type {type(value).__name__}"


def _string(value: Any, path: str) -> str:
    if type(value) is not str:
        raise InvalidDecision(f"{path}: must be a string, got {_json_type(value)}")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            # json.loads lets lone surrogates through; they cannot be signed as UTF-8 bytes.
            raise InvalidDecision(f"{path}: is not valid Unicode text ({exc.reason})") from exc
    return value


def _id(value: Any, path: str) -> str:
    # Fast path for the common case: a non-empty ASCII string of allowed length without
    # surrounding whitespace passes every check below (and is valid Unicode).
    if (
        type(value) is str
        and 0 < len(value) <= MAX_ID_LENGTH
        and value.isascii()
        and value.strip() == value
    ):
        return value
    text = _string(value, path)
    if not text or text.isspace():
        raise InvalidDecision(f"{path}: must be a non-empty string")
    if len(text) > MAX_ID_LENGTH:
        raise InvalidDecision(f"{path}: is {len(text)} characters long; at most {MAX_ID_LENGTH}")
    if text != text.strip():
        raise InvalidDecision(f"{path}: {text!r} must not start or end with whitespace")
    return text


def _text(value: Any, path: str) -> str:
    text = _string(value, path)
    if not text or text.isspace():
        raise InvalidDecision(f"{path}: must be a non-empty string")
    if len(text) > MAX_TEXT_LENGTH:
        raise InvalidDecision(f"{path}: is {len(text)} characters long; at most {MAX_TEXT_LENGTH}")
    return text


def _integer(minimum: int) -> Validator:
    def validate(value: Any, path: str) -> int:
        # type() rather than isinstance(): bool is an int subclass, and JSON's true is no number.
        if type(value) is not int:
            raise InvalidDecision(f"{path}: must be an integer, got {_json_type(value)}")
        if not minimum <= value <= MAX_JSON_INTEGER:
            raise InvalidDecision(
                f"{path}: {value} is out of range; must be {minimum}..{MAX_JSON_INTEGER}"
            )
        return value

    return validate


def _boolean(value: Any, path: str) -> bool:
    if type(value) is not bool:
        raise InvalidDecision(f"{path}: must be true or false, got {_json_type(value)}")
    return value


def _sha256(value: Any, path: str) -> str:
    text = _string(value, path)
    if _SHA256_HEX.fullmatch(text) is None:
        raise InvalidDecision(f"{path}: {text!r} is not a SHA-256 digest (64 lowercase hex digits)")
    return text


# Timestamps already in format_timestamp's canonical form (no fraction, or six digits that are
# not all zero), checked by datetime itself for an existing date and time.
_CANONICAL_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{6})?Z", re.ASCII)


def _canonical_datetime(value: Any) -> datetime | None:
    """The instant of a timestamp given in canonical form, else None (take the slow path,
    which accepts the other RFC 3339 forms and words the errors)."""
    if (
        type(value) is str
        and _CANONICAL_TIMESTAMP.fullmatch(value) is not None
        and not value.endswith(".000000Z")
    ):
        try:
            moment = datetime.fromisoformat(value)  # "Z" gives timezone.utc (= UTC)
        except ValueError:
            return None
        return moment if moment.tzinfo is UTC else moment.replace(tzinfo=UTC)
    return None


# Canonical timestamps seen valid before (validity dates recur from document to document).
_VALID_TIMESTAMPS: dict[str, None] = {}


def _timestamp(value: Any, path: str) -> str:
    if type(value) is str and value in _VALID_TIMESTAMPS:
        return value
    if _canonical_datetime(value) is not None:
        if len(_VALID_TIMESTAMPS) >= 4096:
            _VALID_TIMESTAMPS.clear()
        _VALID_TIMESTAMPS[value] = None
        return str(value)
    return format_timestamp(parse_timestamp(value, field=path))


def _enum(allowed: frozenset[str], what: str) -> Validator:
    expected = ", ".join(sorted(allowed))

    def validate(value: Any, path: str) -> str:
        text = _string(value, path)
        if text not in allowed:
            raise InvalidDecision(f"{path}: unknown {what} {text!r} (expected one of: {expected})")
        return text

    return validate


def _list_of(item: Validator, *, unique: bool = False) -> Validator:
    def validate(value: Any, path: str) -> list[Any]:
        if type(value) is not list:
            raise InvalidDecision(f"{path}: must be an array, got {_json_type(value)}")
        out = [item(element, f"{path}[{index}]") for index, element in enumerate(value)]
        if unique and len(set(out)) != len(out):
            seen: set[Any] = set()
            for index, element in enumerate(out):
                if element in seen:
                    raise InvalidDecision(f"{path}[{index}]: duplicate {element!r}")
                seen.add(element)
        return out

    return validate


# --------------------------------------------------------------------------- the tables

# A field is (required, validator); a spec maps field names to fields, in document order.
_Field = tuple[bool, Validator]
_Spec = dict[str, _Field]


def _req(validator: Validator) -> _Field:
    return (True, validator)


def _opt(validator: Validator) -> _Field:
    return (False, validator)


_violation = _enum(VIOLATION_CODES, "violation code")
_evidence = _list_of(_sha256)

_MEASURE_FIELDS: Final[dict[str, _Spec]] = {
    "warning": {},
    "delist_product": {"product_id": _req(_id)},
    "restrict_traffic": {"until": _opt(_timestamp)},
    "restrict_listing": {"until": _opt(_timestamp)},
    "freeze_funds": {"until": _opt(_timestamp)},
    "deduct_deposit": {"amount": _req(_integer(1))},
    "suspend": {"until": _req(_timestamp)},
    # docs/DECISIONS.md rule 4: a permanent ban has no until (rejected as a field not allowed here).
    "permanent_ban": {},
}
_measure_type = _enum(MEASURE_TYPES, "measure type")


def _measure(value: Any, path: str) -> dict[str, Any]:
    if type(value) is not dict:
        raise InvalidDecision(f"{path}: must be an object, got {_json_type(value)}")
    if "type" not in value:
        raise InvalidDecision(f"{path}.type: required for a measure")
    kind = _measure_type(value["type"], f"{path}.type")
    out: dict[str, Any] = {"type": kind}
    _check_fields(value, path, _MEASURE_FIELDS[kind], f"a {kind!r} measure", out, skip="type")
    return out


def _measures(value: Any, path: str) -> list[dict[str, Any]]:
    if type(value) is not list:
        raise InvalidDecision(f"{path}: must be an array, got {_json_type(value)}")
    if not value:
        raise InvalidDecision(f"{path}: must name at least one measure")
    return [_measure(element, f"{path}[{index}]") for index, element in enumerate(value)]


_DATA_FIELDS: Final[dict[str, _Spec]] = {
    "shop.registered": {
        "owner_subject_id": _req(_id),
        "deposit": _opt(_integer(0)),
        "categories": _opt(_list_of(_id)),
    },
    "shop.closed": {"reason": _opt(_text)},
    "verification.submitted": {
        "verification_id": _req(_id),
        "kind": _req(_enum(VERIFICATION_KINDS, "verification kind")),
        "document_sha256": _opt(_sha256),
        "valid_until": _opt(_timestamp),
        "product_id": _opt(_id),
        "brand": _opt(_id),
    },
    "verification.approved": {"verification_id": _req(_id), "valid_until": _opt(_timestamp)},
    "verification.rejected": {"verification_id": _req(_id), "reason": _req(_text)},
    "verification.expired": {"verification_id": _req(_id), "reason": _opt(_text)},
    "verification.revoked": {"verification_id": _req(_id), "reason": _opt(_text)},
    "complaint.filed": {
        "complaint_id": _req(_id),
        "category": _req(_violation),
        "product_id": _opt(_id),
        "order_id": _opt(_id),
        "evidence": _opt(_evidence),
    },
    "complaint.responded": {"complaint_id": _req(_id), "evidence": _opt(_evidence)},
    "complaint.substantiated": {
        "complaint_id": _req(_id),
        "violation": _req(_violation),
        "findings": _opt(_text),
    },
    "complaint.dismissed": {"complaint_id": _req(_id), "reason": _opt(_text)},
    "complaint.withdrawn": {"complaint_id": _req(_id), "reason": _opt(_text)},
    "penalty.imposed": {
        "penalty_id": _req(_id),
        "violation": _req(_violation),
        "severity": _req(_enum(SEVERITIES, "severity")),
        "points": _opt(_integer(0)),
        "measures": _req(_measures),
        "complaint_ids": _opt(_list_of(_id, unique=True)),
        "rule_set": _opt(_id),
    },
    "penalty.revoked": {
        "penalty_id": _req(_id),
        "cause": _req(_enum(REVOCATION_CAUSES, "revocation cause")),
        "appeal_id": _opt(_id),
    },
    "appeal.filed": {
        "appeal_id": _req(_id),
        "penalty_id": _req(_id),
        "grounds": _opt(_text),
        "evidence": _opt(_evidence),
    },
    "appeal.upheld": {"appeal_id": _req(_id)},
    "appeal.rejected": {"appeal_id": _req(_id), "reason": _req(_text)},
    "appeal.withdrawn": {"appeal_id": _req(_id)},
    # v2: the consequences that follow from decisions (docs/DECISIONS.md).
    "deposit.paid": {"amount": _req(_integer(1)), "reference": _opt(_id)},
    "deposit.refunded": {"amount": _req(_integer(1)), "reason": _opt(_text)},
    "remedy.ordered": {
        "remedy_id": _req(_id),
        "complaint_id": _req(_id),
        "kind": _req(_enum(REMEDY_KINDS, "remedy kind")),
        "amount": _req(_integer(0)),
        "due_by": _req(_timestamp),
        "order_id": _opt(_id),
        "from_deposit": _opt(_boolean),
    },
    "remedy.completed": {"remedy_id": _req(_id), "amount_paid": _opt(_integer(0))},
    "remedy.cancelled": {"remedy_id": _req(_id), "reason": _req(_text)},
    "programme.enrolled": {},
    "programme.exited": {"reason": _req(_text), "forced": _opt(_boolean)},
}

SHOP_DECISION_TYPES: Final = frozenset(_DATA_FIELDS)
_EXPECTED_TYPES: Final = ", ".join(sorted(SHOP_DECISION_TYPES))

_TOP_LEVEL_KEYS: Final = (
    "decision_id",
    "type",
    "shop_id",
    "occurred_at",
    "actor",
    "data",
    "personal",
)


_TOP_LEVEL_KEY_SET: Final = frozenset(_TOP_LEVEL_KEYS)
# In the order their absence is reported.
_REQUIRED_KEYS: Final = ("decision_id", "type", "shop_id", "occurred_at", "data")
_REQUIRED_KEY_SET: Final = frozenset(_REQUIRED_KEYS)


def _check_fields(
    obj: dict[Any, Any],
    path: str,
    spec: _Spec,
    what: str,
    out: dict[str, Any],
    *,
    skip: str | None = None,
) -> None:
    """Validate ``obj`` against ``spec`` into ``out``: unknown keys, then missing, then values."""
    prefix = f"{path}." if path else ""
    unknown = [key for key in obj if key not in spec and key != skip]
    if unknown:
        if len(unknown) == 1:
            raise InvalidDecision(f"{prefix}{unknown[0]}: not allowed for {what}{_allowed(spec)}")
        names = ", ".join(repr(key) for key in unknown)
        raise InvalidDecision(f"{path or 'decision'}: unknown fields {names} for {what}")
    for name, (required, validate) in spec.items():
        if name in obj:
            out[name] = validate(obj[name], prefix + name)
        elif required:
            raise InvalidDecision(f"{prefix}{name}: required for {what}")


# Per decision type: how _check_fields names it, and its data fields with their paths, so
# that checking a valid document builds no strings.
_DATA_WHAT: Final = {kind: f"a {kind!r} decision" for kind in _DATA_FIELDS}
_DATA_PLAN: Final = {
    kind: tuple(
        (name, required, validate, f"data.{name}") for name, (required, validate) in spec.items()
    )
    for kind, spec in _DATA_FIELDS.items()
}


def _check_data(raw_data: dict[Any, Any], kind: str) -> dict[str, Any]:
    """``_check_fields(raw_data, "data", _DATA_FIELDS[kind], ...)`` with precomputed paths."""
    spec = _DATA_FIELDS[kind]
    for key in raw_data:
        if key not in spec:
            _check_fields(raw_data, "data", spec, _DATA_WHAT[kind], {})  # raises, worded
    data: dict[str, Any] = {}
    for name, required, validate, path in _DATA_PLAN[kind]:
        if name in raw_data:
            data[name] = validate(raw_data[name], path)
        elif required:
            raise InvalidDecision(f"{path}: required for {_DATA_WHAT[kind]}")
    return data


def _allowed(spec: _Spec) -> str:
    if not spec:
        return " (it takes no fields)"
    return f" (allowed: {', '.join(spec)})"


# --------------------------------------------------------------------------- personal data


def _json_value(value: Any, path: str, depth: int) -> Any:
    """A fresh copy of ``value`` if it is JSON (no floats), else ``InvalidDecision``."""
    kind = type(value)
    if kind is str:
        return _string(value, path)
    if kind is bool or value is None:
        return value
    if kind is int:
        if -MAX_JSON_INTEGER <= value <= MAX_JSON_INTEGER:
            return value
        raise InvalidDecision(f"{path}: integer {value} is out of the exact JSON range")
    if depth >= _MAX_PERSONAL_DEPTH:
        raise InvalidDecision(f"{path}: nested more than {_MAX_PERSONAL_DEPTH} levels deep")
    if kind is list:
        return [_json_value(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value)]
    if kind is dict:
        out: dict[str, Any] = {}
        for key, item in value.items():
            if type(key) is not str:
                raise InvalidDecision(f"{path}: object key {key!r} is not a string")
            out[_string(key, f"{path} key")] = _json_value(item, f"{path}.{key}", depth + 1)
        return out
    if kind is float:
        raise InvalidDecision(f"{path}: must not be a float ({value!r}); use an integer or string")
    raise InvalidDecision(f"{path}: {_json_type(value)} is not a JSON value")


def _personal(value: Any) -> dict[str, Any]:
    if type(value) is not dict:
        raise InvalidDecision(f"personal: must be an object, got {_json_type(value)}")
    if "subject_id" not in value:
        raise InvalidDecision("personal.subject_id: required when personal data is present")
    subject_id = value["subject_id"]
    if type(subject_id) is not str or _SUBJECT_ID.fullmatch(subject_id) is None:
        raise InvalidDecision(
            f"personal.subject_id: must be a string matching [A-Za-z0-9_.:-]{{1,128}}, "
            f"got {subject_id!r}"
        )
    copied: dict[str, Any] = _json_value(value, "personal", 0)
    return copied


# --------------------------------------------------------------------------- the value object


@dataclass(frozen=True)
class Decision:
    """One validated decision about one shop.

    Build it with ``parse_decision``; the constructor does not validate. ``data`` holds JSON
    values only, with ``valid_until`` / ``until`` in ``format_timestamp`` form. ``personal`` is
    opaque here (plaintext fields or a sealed envelope) apart from its ``subject_id``.
    """

    decision_id: str
    type: str
    shop_id: str
    occurred_at: datetime
    actor: str | None
    data: Mapping[str, Any]
    personal: Mapping[str, Any] | None

    def __hash__(self) -> int:
        # data/personal are dicts (unhashable); equal decisions share their id, so this agrees
        # with the generated __eq__.
        return hash((self.decision_id, self.type, self.shop_id))

    @cached_property
    def occurred_at_text(self) -> str:
        """``occurred_at`` in ``format_timestamp``'s canonical form (as documents carry it)."""
        return format_timestamp(self.occurred_at)

    @property
    def subject_id(self) -> str | None:
        """The data subject of ``personal``, or None when there is no personal data."""
        if self.personal is None:
            return None
        subject: str = self.personal["subject_id"]
        return subject

    def to_document(self) -> dict[str, Any]:
        """The JSON-ready document (a fresh copy); ``actor``/``personal`` only when not None."""
        document = self.document_view()
        document["data"] = _copy_json(self.data)
        if self.personal is not None:
            document["personal"] = _copy_json(self.personal)
        return document

    def document_view(self) -> dict[str, Any]:
        """The document like ``to_document``, sharing ``data``/``personal`` with this
        decision instead of copying them: for readers (canonicalisation) on hot paths, who
        must not mutate it."""
        document: dict[str, Any] = {
            "decision_id": self.decision_id,
            "type": self.type,
            "shop_id": self.shop_id,
            "occurred_at": self.occurred_at_text,
        }
        if self.actor is not None:
            document["actor"] = self.actor
        document["data"] = self.data
        if self.personal is not None:
            document["personal"] = self.personal
        return document

    def with_personal(self, personal: Mapping[str, Any] | None) -> Decision:
        """This decision with ``personal`` replaced (e.g. by its sealed envelope).

        Raises ``InvalidDecision`` when ``personal`` is not a JSON object with a valid
        ``subject_id``.
        """
        checked = None if personal is None else _personal(dict(personal))
        return Decision(
            decision_id=self.decision_id,
            type=self.type,
            shop_id=self.shop_id,
            occurred_at=self.occurred_at,
            actor=self.actor,
            data=self.data,
            personal=checked,
        )


def _copy_json(value: Any) -> Any:
    # Exact type checks: isinstance against the Mapping ABC costs more than the copy itself.
    kind = type(value)
    if kind is dict:
        return {key: _copy_json(item) for key, item in value.items()}
    if kind is list:
        return [_copy_json(item) for item in value]
    if isinstance(value, Mapping):
        return {key: _copy_json(item) for key, item in value.items()}
    return value


def parse_decision(obj: object) -> Decision:
    """Validate a decision document (parsed JSON) and return its ``Decision``.

    Raises ``InvalidDecision`` with a one-line message naming the field path of the first
    problem found, e.g. ``data.measures[0].until: required for a 'suspend' measure``.
    """
    if type(obj) is not dict:
        raise InvalidDecision(f"decision: must be a JSON object, got {_json_type(obj)}")
    if not _TOP_LEVEL_KEY_SET.issuperset(obj):
        unknown = [key for key in obj if key not in _TOP_LEVEL_KEY_SET]
        names = ", ".join(repr(key) for key in unknown)
        plural = "s" if len(unknown) > 1 else ""
        raise InvalidDecision(
            f"decision: unknown field{plural} {names} (allowed: {', '.join(_TOP_LEVEL_KEYS)})"
        )
    if not obj.keys() >= _REQUIRED_KEY_SET:
        for name in _REQUIRED_KEYS:
            if name not in obj:
                raise InvalidDecision(f"{name}: required")

    # The patterns and the table of types admit ASCII text only: a str they accept needs
    # none of _string's further checks, and anything else takes _string's worded path.
    raw_id = obj["decision_id"]
    if type(raw_id) is not str or _UUID.fullmatch(raw_id) is None:
        raw_id = _string(raw_id, "decision_id")
        raise InvalidDecision(
            f"decision_id: {raw_id!r} is not a UUID "
            "(expected 8-4-4-4-12 hex digits, e.g. 0b9f6c1e-1a7d-4c53-9a57-3e0c7f0f4a11)"
        )

    kind = obj["type"]
    spec = _DATA_FIELDS.get(kind) if type(kind) is str else None
    if spec is None:
        kind = _string(kind, "type")
        raise InvalidDecision(
            f"type: unknown decision type {kind!r} (expected one of: {_EXPECTED_TYPES})"
        )

    shop_id = obj["shop_id"]
    if type(shop_id) is not str or _SHOP_ID.fullmatch(shop_id) is None:
        shop_id = _string(shop_id, "shop_id")
        raise InvalidDecision(f"shop_id: {shop_id!r} does not match [A-Za-z0-9_.:-]{{1,64}}")

    raw_occurred_at = obj["occurred_at"]
    occurred_at = _canonical_datetime(raw_occurred_at)
    occurred_at_text = raw_occurred_at if occurred_at is not None else None
    if occurred_at is None:
        occurred_at = parse_timestamp(raw_occurred_at, field="occurred_at")

    actor = obj.get("actor")
    if actor is not None:
        actor = _id(actor, "actor")

    raw_data = obj["data"]
    if type(raw_data) is not dict:
        raise InvalidDecision(f"data: must be an object, got {_json_type(raw_data)}")
    data = _check_data(raw_data, kind)

    raw_personal = obj.get("personal")
    personal = None if raw_personal is None else _personal(raw_personal)

    # What Decision(...) does, without its frozen __setattr__ per field (a dataclass's
    # fields live in the instance __dict__); occurred_at_text primed when the input was
    # already canonical, so that document_view does not format it again.
    decision: Decision = object.__new__(Decision)
    fields = vars(decision)
    fields["decision_id"] = raw_id.lower()
    fields["type"] = kind
    fields["shop_id"] = shop_id
    fields["occurred_at"] = occurred_at
    fields["actor"] = actor
    fields["data"] = data
    fields["personal"] = personal
    if occurred_at_text is not None:
        fields["occurred_at_text"] = occurred_at_text
    return decision
