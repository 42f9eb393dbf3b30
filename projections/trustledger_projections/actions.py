"""The work queue: every item a shop is asked to act on at T, most urgent first.

Items are the v2 consequences (docs/DECISIONS.md) as
``trustledger.domain.standing.action_items`` finds them in one shop's history: a measure
its points tier requires, a complaint unanswered or unresolved past its deadline, an
appeal undecided past its deadline, a remedy overdue or still owed. The queue orders them
(docs/PROJECTIONS.md, "The work queue"):

1. overdue items (``complaint_unanswered``, ``complaint_unresolved``, ``appeal_undecided``,
   ``remedy_overdue``), the longest overdue first (earliest deadline);
2. measures required by a points tier (``required_action``), the highest tier first, then
   the earliest reached;
3. remedies owed and not yet due (``remedy_owed``), the earliest due first;

ties by ``shop_id``, then the kind (in that order), then the decision ids. The JSON report
is RFC 8785 canonical JSON of ``{"as_of", "ledger_size", "rule_set", "items": [...]}`` and
its digest SHA-256 over those bytes, as for the standings report.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from trustledger.domain.rules import DEFAULT_RULES, RuleSet
from trustledger.domain.standing import ACTION_KINDS, ActionItem, action_items, fold
from trustledger.domain.timefmt import format_timestamp, micros
from trustledger_projections.facts import decode_facts, group_by_shop, rule_book_of
from trustledger_projections.report import Source

__all__ = [
    "ACTION_COLUMNS",
    "OVERDUE_KINDS",
    "ActionsReport",
    "build_actions",
    "detail_text",
    "format_actions_csv",
    "urgency",
]

OVERDUE_KINDS: Final = frozenset(
    {"complaint_unanswered", "complaint_unresolved", "appeal_undecided", "remedy_overdue"}
)


def urgency(item: ActionItem) -> tuple[Any, ...]:
    """The sort key of the queue (the module docstring's order)."""
    if item.kind in OVERDUE_KINDS:
        group, first = 0, item.due_at
    elif item.kind == "required_action":
        group, first = 1, -int(item.detail["tier"])
        return (group, first, item.due_at, item.shop_id, 0, item.decision_ids)
    else:
        group, first = 2, item.due_at
    return (group, first, 0, item.shop_id, ACTION_KINDS.index(item.kind), item.decision_ids)


@dataclass(frozen=True)
class ActionsReport:
    """The queue's JSON document, and the shops that have items (in queue order)."""

    document: dict[str, Any]
    shop_ids: list[str]


def _row(rank: int, item: ActionItem) -> dict[str, Any]:
    return {"rank": rank, **item.to_json()}


def build_actions(
    source: Source, *, at: datetime, default_rules: RuleSet = DEFAULT_RULES
) -> ActionsReport:
    """Every item of every shop registered by ``at``, most urgent first."""
    book = rule_book_of(source.rule_rows(), default_rules)
    rules = book.in_force(at)
    at_us = micros(at)
    items: list[ActionItem] = []
    for shop_id, rows in group_by_shop(source.iter_rows()):
        history = fold(shop_id, decode_facts(rows), at=at_us, rules=book)
        if history.registered_at is not None:
            items += action_items(history, at=at_us, rules=rules)
    items.sort(key=urgency)
    shop_ids = list(dict.fromkeys(item.shop_id for item in items))
    document = {
        "as_of": format_timestamp(at),
        "ledger_size": source.ledger_size(),
        "rule_set": rules.version,
        "items": [_row(rank, item) for rank, item in enumerate(items, start=1)],
    }
    return ActionsReport(document, shop_ids)


ACTION_COLUMNS: Final = (
    "rank",
    "shop_id",
    "kind",
    "due_at",
    "amount",
    "detail",
    "decision_ids",
)


def detail_text(detail: Mapping[str, Any]) -> str:
    """``complaint_id c-1; remedy_id r-1`` (the amount has a column of its own; members
    without a value, such as a ``suspend_days`` of another measure, are left out)."""
    return "; ".join(
        f"{key} {detail[key]}"
        for key in sorted(detail)
        if key != "amount" and detail[key] is not None
    )


def format_actions_csv(document: Mapping[str, Any]) -> str:
    """One row per item, in queue order (RFC 4180, CRLF line ends as the csv module writes)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(ACTION_COLUMNS)
    for item in document["items"]:
        amount = item["detail"].get("amount")
        writer.writerow(
            [
                item["rank"],
                item["shop_id"],
                item["kind"],
                item["due_at"],
                "" if amount is None else amount,
                detail_text(item["detail"]),
                ";".join(item["decision_ids"]),
            ]
        )
    return out.getvalue()
