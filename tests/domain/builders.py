"""Builders of valid decision documents, for this suite and every suite that needs decisions.

``doc(type, **overrides)`` returns a realistic, valid document of that type (a fresh dict each
call). Keyword arguments named like top-level fields (``decision_id``, ``shop_id``,
``occurred_at``, ``actor``, ``personal``, ``data``) replace those; any other keyword replaces
or adds a field of ``data``. Pass ``DROP`` to remove a field::

    doc("penalty.imposed", shop_id="shop-1", penalty_id="p-1",
        occurred_at="2026-11-02T08:30:00Z", measures=[measure("suspend", until=ts(days=7))])
    doc("shop.registered", deposit=DROP, actor=DROP)

Every document gets a fresh, deterministic decision id unless one is given. ``decision(...)``
is ``parse_decision(doc(...))``; ``ts(...)`` is a timestamp relative to ``BASE_TIME``.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import uuid
from datetime import datetime, timedelta
from typing import Any, Final

from trustledger.domain.decision import Decision, parse_decision
from trustledger.domain.timefmt import format_timestamp, parse_timestamp

__all__ = [
    "ALL_TYPES",
    "BASE_TIME",
    "DROP",
    "RECORDED_AT",
    "SHOP_ID",
    "at",
    "decision",
    "digest",
    "doc",
    "measure",
    "new_decision_id",
    "ts",
]


class _Drop:
    def __repr__(self) -> str:
        return "DROP"


#: Pass as a keyword value to remove that field from the document (top-level or data).
DROP: Final = _Drop()

SHOP_ID: Final = "shop-10086"
#: The default ``occurred_at`` of every built document.
BASE_TIME: Final = "2026-11-02T08:30:00Z"
#: A recording time a year after BASE_TIME, so backdated test histories pass the skew rule.
RECORDED_AT: Final = parse_timestamp(BASE_TIME, field="BASE_TIME") + timedelta(days=365)

_TOP_LEVEL: Final = ("decision_id", "type", "shop_id", "occurred_at", "actor", "data", "personal")
_counter = itertools.count(1)


def new_decision_id() -> str:
    """A fresh decision id: deterministic within a test run, a valid version-4 UUID."""
    return str(uuid.UUID(int=next(_counter), version=4))


def digest(label: str) -> str:
    """A SHA-256 hex digest standing in for a document or a piece of evidence."""
    return hashlib.sha256(label.encode()).hexdigest()


def ts(*, days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0) -> str:
    """BASE_TIME shifted by the given amount, in canonical timestamp form."""
    base = parse_timestamp(BASE_TIME, field="BASE_TIME")
    delta = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    return format_timestamp(base + delta)


def at(value: str) -> datetime:
    """A timestamp string as an aware UTC datetime (e.g. for ``recorded_at``)."""
    return parse_timestamp(value, field="at")


def measure(kind: str, **fields: Any) -> dict[str, Any]:
    """A measure object; ``measure("suspend", until=ts(days=7))``."""
    return {"type": kind, **fields}


_DEFAULT_DATA: Final[dict[str, dict[str, Any]]] = {
    "shop.registered": {
        "owner_subject_id": "owner-501",
        "deposit": 500_000,
        "categories": ["apparel", "shoes"],
    },
    "shop.closed": {"reason": "closed at the owner's request"},
    "verification.submitted": {
        "verification_id": "v-1",
        "kind": "real_name",
        "document_sha256": digest("id-card-scan"),
        "valid_until": "2027-11-02T08:30:00Z",
    },
    "verification.approved": {"verification_id": "v-1", "valid_until": "2027-11-02T08:30:00Z"},
    "verification.rejected": {"verification_id": "v-1", "reason": "the scan is illegible"},
    "verification.expired": {"verification_id": "v-1", "reason": "valid_until passed"},
    "verification.revoked": {"verification_id": "v-1", "reason": "document found forged"},
    "complaint.filed": {
        "complaint_id": "c-1",
        "category": "counterfeit",
        "product_id": "sku-9",
        "order_id": "o-20261101-77",
        "evidence": [digest("photo-of-label")],
    },
    "complaint.responded": {"complaint_id": "c-1", "evidence": [digest("purchase-invoice")]},
    "complaint.substantiated": {
        "complaint_id": "c-1",
        "violation": "counterfeit",
        "findings": "the label and stitching do not match the brand's authentic product",
    },
    "complaint.dismissed": {"complaint_id": "c-1", "reason": "invoice from the brand owner"},
    "complaint.withdrawn": {"complaint_id": "c-1", "reason": "buyer withdrew the complaint"},
    "penalty.imposed": {
        "penalty_id": "p-1",
        "violation": "counterfeit",
        "severity": "serious",
        "points": 12,
        "measures": [{"type": "delist_product", "product_id": "sku-9"}],
        "rule_set": "default-v1",
    },
    "penalty.revoked": {"penalty_id": "p-1", "cause": "platform_error"},
    "appeal.filed": {
        "appeal_id": "a-1",
        "penalty_id": "p-1",
        "grounds": "the product is genuine; invoice attached",
        "evidence": [digest("brand-authorisation")],
    },
    "appeal.upheld": {"appeal_id": "a-1"},
    "appeal.rejected": {"appeal_id": "a-1", "reason": "the invoice does not cover this batch"},
    "appeal.withdrawn": {"appeal_id": "a-1"},
    "deposit.paid": {"amount": 50_000, "reference": "pay-2026-0001"},
    "deposit.refunded": {"amount": 20_000, "reason": "deposit reduced by agreement"},
    "remedy.ordered": {
        "remedy_id": "r-1",
        "complaint_id": "c-1",
        "kind": "refund",
        "amount": 12_900,
        "due_by": "2026-11-09T08:30:00Z",
        "order_id": "order-555",
        "from_deposit": False,
    },
    "remedy.completed": {"remedy_id": "r-1", "amount_paid": 12_900},
    "remedy.cancelled": {"remedy_id": "r-1", "reason": "buyer withdrew the request"},
    "programme.enrolled": {},
    "programme.exited": {"reason": "left at the shop's request", "forced": False},
}

#: Every decision type, in docs/DECISIONS.md's order.
ALL_TYPES: Final = tuple(_DEFAULT_DATA)


def doc(type_: str, /, **overrides: Any) -> dict[str, Any]:
    """A valid decision document of ``type_`` with ``overrides`` applied (see module doc)."""
    document: dict[str, Any] = {
        "decision_id": new_decision_id(),
        "type": type_,
        "shop_id": SHOP_ID,
        "occurred_at": BASE_TIME,
        "actor": "reviewer-17",
        "data": copy.deepcopy(_DEFAULT_DATA[type_]),
    }
    data_overrides = {k: v for k, v in overrides.items() if k not in _TOP_LEVEL}
    for key in _TOP_LEVEL:
        if key in overrides:
            value = overrides[key]
            if value is DROP:
                document.pop(key, None)
            else:
                document[key] = value
    data = document.get("data")
    for key, value in data_overrides.items():
        if not isinstance(data, dict):
            raise TypeError("data overrides need data to be a dict")
        if value is DROP:
            data.pop(key, None)
        else:
            data[key] = value
    return document


def decision(type_: str, /, **overrides: Any) -> Decision:
    """``parse_decision(doc(type_, **overrides))``."""
    return parse_decision(doc(type_, **overrides))
