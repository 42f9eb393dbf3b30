"""Facts: a decision reduced to what a standing needs, as stored in the standings view.

A fact is one ``FactRow`` (``trustledger.storage.views``): the shop, the notification id
(ledger order), ``occurred_at`` in microseconds since the epoch, the decision type and a
compact JSON object with only the fields docs/DECISIONS.md's standing reads (ids, kinds, severities,
points, measures, ``until`` / ``valid_until``). Evidence, reasons, findings and personal data
never reach the view. ``fact_of_document`` is used both by the view writer and by the replay
of the log up to a position, so the two can only agree.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Final

from trustledger.domain.rules import PublishedRules, RuleBook, RuleSet, parse_rules
from trustledger.storage.views import FactRow, RuleSetRow

__all__ = [
    "EPOCH",
    "Fact",
    "decode_fact",
    "fact_of_document",
    "micros",
    "rule_book_of",
    "rule_set_of_document",
    "timestamp_of_micros",
]

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

# The data fields each type keeps (docs/DECISIONS.md "Standing of a shop" reads nothing else).
_KEEP: Final[dict[str, tuple[str, ...]]] = {
    "shop.registered": (),
    "shop.closed": (),
    "verification.submitted": ("verification_id", "kind", "valid_until"),
    "verification.approved": ("verification_id", "valid_until"),
    "verification.rejected": ("verification_id",),
    "verification.expired": ("verification_id",),
    "verification.revoked": ("verification_id",),
    "complaint.filed": ("complaint_id", "category"),
    "complaint.responded": ("complaint_id",),
    "complaint.substantiated": ("complaint_id", "violation"),
    "complaint.dismissed": ("complaint_id",),
    "complaint.withdrawn": ("complaint_id",),
    "penalty.imposed": ("penalty_id", "violation", "severity", "points", "measures"),
    "penalty.revoked": ("penalty_id", "cause"),
    "appeal.filed": ("appeal_id", "penalty_id"),
    "appeal.upheld": ("appeal_id",),
    "appeal.rejected": ("appeal_id",),
    "appeal.withdrawn": ("appeal_id",),
}


# One encoder for every fact: ``json.dumps`` with options builds a new encoder per call.
_ENCODE: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode


def micros(moment: datetime) -> int:
    """Microseconds since 1970-01-01T00:00:00Z of an aware datetime (exact integer arithmetic)."""
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def micros_of_occurrence(text: str) -> int:
    """Microseconds of a canonical timestamp (as normalised on append); not cached, as each
    decision's ``occurred_at`` is seen once by the view writer."""
    return micros(datetime.fromisoformat(text))


@lru_cache(maxsize=65_536)
def micros_of_text(text: str) -> int:
    """Microseconds of a canonical timestamp, cached: ``until`` / ``valid_until`` values are
    compared again and again while judging."""
    return micros(datetime.fromisoformat(text))


def timestamp_of_micros(value: int) -> str:
    """The canonical timestamp text (``trustledger.domain.timefmt``) of microseconds."""
    moment = EPOCH + timedelta(microseconds=value)
    base = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{moment.microsecond:06d}Z" if moment.microsecond else f"{base}Z"


def fact_of_document(document: dict[str, Any], notification_id: int) -> FactRow | None:
    """The fact of a decision document; None for a document that is no shop decision."""
    kind = document.get("type")
    keep = _KEEP.get(kind) if isinstance(kind, str) else None
    if keep is None:
        return None
    data = document["data"]
    compact = {name: data[name] for name in keep if name in data}
    return FactRow(
        document["shop_id"],
        notification_id,
        micros_of_occurrence(document["occurred_at"]),
        kind,  # type: ignore[arg-type]
        _ENCODE(compact) if compact else "{}",
    )


def rule_set_of_document(document: dict[str, Any], notification_id: int) -> RuleSetRow | None:
    """The rule-set row of a ``rules.published`` document, else None."""
    if document.get("type") != "rules.published":
        return None
    return RuleSetRow(notification_id, str(document["data"]["toml"]))


@dataclass(frozen=True, slots=True)
class Fact:
    """A decoded fact: ledger order, when it occurred (µs), type, compact data."""

    notification_id: int
    occurred_at: int
    type: str
    data: dict[str, Any]


def decode_fact(row: FactRow) -> Fact:
    return Fact(row.notification_id, row.occurred_at, row.type, json.loads(row.data))


def decode_facts(rows: Iterable[FactRow]) -> list[Fact]:
    return [decode_fact(row) for row in rows]


def rule_book_of(rows: Iterable[RuleSetRow], default: RuleSet) -> RuleBook:
    """The rule book of the published rule sets, in ledger order."""
    published: list[PublishedRules] = [parse_rules(row.toml) for row in rows]
    return RuleBook(tuple(published), default)


def group_by_shop(rows: Iterable[FactRow]) -> Iterator[tuple[str, list[FactRow]]]:
    """Consecutive rows of one shop, from rows ordered by (shop_id, notification_id)."""
    current: str | None = None
    batch: list[FactRow] = []
    for row in rows:
        if row.shop_id != current:
            if current is not None:
                yield current, batch
            current, batch = row.shop_id, []
        batch.append(row)
    if current is not None:
        yield current, batch
