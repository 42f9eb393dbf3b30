"""Facts: a decision reduced to what a standing needs, as stored in the standings view.

A fact is one ``FactRow`` (``trustledger.storage.views``): the shop, the notification id
(ledger order), ``occurred_at`` in microseconds since the epoch, the decision type and a
compact JSON object with only the fields docs/DECISIONS.md's standing reads
(``trustledger.domain.standing.STANDING_FIELDS``: ids, kinds, severities, points, measures,
cited complaints, amounts, ``until`` / ``valid_until`` / ``due_by``) and the decision's
``decision_id``. Evidence, reasons, findings and personal data never reach the view.
``fact_of_document`` is used both by the view writer and by the replay of the log up to a
position, so the two can only agree.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, Final

from trustledger.domain.rules import PublishedRules, RuleBook, RuleSet, parse_rules
from trustledger.domain.standing import STANDING_FIELDS, Fact
from trustledger.domain.timefmt import micros
from trustledger.storage.views import FactRow, RuleSetRow

__all__ = [
    "FACTS_FORMAT",
    "decode_fact",
    "decode_facts",
    "fact_of_document",
    "group_by_shop",
    "rule_book_of",
    "rule_set_of_document",
]

#: The version of what a fact row holds. A view written with another one is stale: catch-up
#: rebuilds it and reads refuse it (``projection.check_format``). 2: each fact's
#: ``decision_id`` and the fields of the v2 standing; 1 (or no marker): v1 facts.
FACTS_FORMAT: Final = 2

# The data fields each type keeps (what the domain's standing reads), with the decision id.
_KEEP: Final = STANDING_FIELDS

# One encoder for every fact: ``json.dumps`` with options builds a new encoder per call.
_ENCODE: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode


def micros_of_occurrence(text: str) -> int:
    """Microseconds of a canonical timestamp (as normalised on append); not cached, as each
    decision's ``occurred_at`` is seen once by the view writer."""
    return micros(datetime.fromisoformat(text))


def fact_of_document(document: dict[str, Any], notification_id: int) -> FactRow | None:
    """The fact of a decision document; None for a document that is no shop decision."""
    kind = document.get("type")
    keep = _KEEP.get(kind) if isinstance(kind, str) else None
    if keep is None:
        return None
    data = document["data"]
    compact = {name: data[name] for name in keep if name in data}
    compact["decision_id"] = document["decision_id"]
    return FactRow(
        document["shop_id"],
        notification_id,
        micros_of_occurrence(document["occurred_at"]),
        kind,  # type: ignore[arg-type]
        _ENCODE(compact),
    )


def rule_set_of_document(document: dict[str, Any], notification_id: int) -> RuleSetRow | None:
    """The rule-set row of a ``rules.published`` document, else None."""
    if document.get("type") != "rules.published":
        return None
    return RuleSetRow(notification_id, str(document["data"]["toml"]))


def decode_fact(row: FactRow) -> Fact:
    data = json.loads(row.data)
    return Fact(row.notification_id, row.occurred_at, row.type, data, data.pop("decision_id"))


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
