"""Standings of one shop or of every shop as of T, from the view or from the log itself.

A *source* gives facts and published rule sets: ``ViewSource`` reads the standings view
(fast; as far as the view has caught up), ``LogSource`` replays the ledger's entries up to a
position (no view needed: what an auditor runs to recompute a published report). Both feed
the same pure ``standing`` code, so they agree byte for byte.

The JSON report is RFC 8785 canonical JSON of ``{"as_of", "ledger_size", "shops": [...]}``
(shops ordered by ``shop_id``); its digest is SHA-256 over exactly those bytes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Protocol

from trustledger.domain.identity import shop_aggregate_id
from trustledger.domain.rules import DEFAULT_RULES, RuleBook, RuleSet
from trustledger.domain.standing import Fact, History, fold, judge
from trustledger.domain.timefmt import format_timestamp, micros, timestamp_of_micros
from trustledger.errors import NotFound, UsageError
from trustledger.ledger.canonical import canonicalize
from trustledger.ledger.chain import StoredEntry
from trustledger.ledger.envelope import parse_state
from trustledger.storage import Store
from trustledger.storage.views import FactRow, RuleSetRow, StandingsView
from trustledger_projections.facts import (
    decode_facts,
    fact_of_document,
    group_by_shop,
    rule_book_of,
    rule_set_of_document,
)

__all__ = [
    "LogSource",
    "Source",
    "StandingsReport",
    "ViewSource",
    "build_report",
    "format_csv",
    "format_json",
    "report_digest",
    "shop_standing",
]


class Source(Protocol):
    def shop_rows(self, shop_id: str) -> list[FactRow]: ...
    def iter_rows(self) -> Iterator[FactRow]: ...  # ordered by (shop_id, notification_id)
    def rule_rows(self) -> list[RuleSetRow]: ...
    def ledger_size(self) -> int: ...  # how many ledger entries the source covers


class ViewSource:
    """The standings view, as far as it has caught up."""

    def __init__(self, view: StandingsView, application_name: str = "trustledger") -> None:
        self.view = view
        self.application_name = application_name

    def shop_rows(self, shop_id: str) -> list[FactRow]:
        return self.view.shop_facts(shop_id)

    def iter_rows(self) -> Iterator[FactRow]:
        return self.view.iter_facts()

    def rule_rows(self) -> list[RuleSetRow]:
        return self.view.rule_sets()

    def tracking_id(self) -> int:
        return self.view.max_tracking_id(self.application_name) or 0

    def ledger_size(self) -> int:
        tracked = self.tracking_id()
        position = self.view.position_of(tracked) if tracked else None
        return position + 1 if position is not None else 0


class LogSource:
    """The ledger's own entries at positions 0..``position`` (all when None), replayed."""

    def __init__(self, store: Store, position: int | None = None) -> None:
        if position is not None and position < 0:
            raise UsageError(f"--at-position must be 0 or more, got {position}")
        self.store = store
        self.position = position

    def _covers(self, entry: StoredEntry) -> bool:
        return entry.position is not None and (
            self.position is None or entry.position <= self.position
        )

    @staticmethod
    def _document(entry: StoredEntry) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(parse_state(entry.state).payload)
        return document

    def shop_rows(self, shop_id: str) -> list[FactRow]:
        rows = []
        for entry in self.store.events_of(shop_aggregate_id(shop_id)):
            if self._covers(entry):
                fact = fact_of_document(self._document(entry), entry.notification_id)
                if fact is not None:
                    rows.append(fact)
        return rows

    def iter_rows(self) -> Iterator[FactRow]:
        rows: list[FactRow] = []
        for entry in self.store.iter_entries():
            if not self._covers(entry):
                if entry.position is not None and self.position is not None:
                    break
                continue
            fact = fact_of_document(self._document(entry), entry.notification_id)
            if fact is not None:
                rows.append(fact)
        rows.sort(key=lambda row: (row.shop_id, row.notification_id))
        return iter(rows)

    def rule_rows(self) -> list[RuleSetRow]:
        rows = []
        for entry in self.store.key_entries():
            if self._covers(entry):
                row = rule_set_of_document(self._document(entry), entry.notification_id)
                if row is not None:
                    rows.append(row)
        return rows

    def ledger_size(self) -> int:
        head = self.store.chain_head()
        size = head.size if head is not None else 0
        return size if self.position is None else min(size, self.position + 1)


def _rule_book(source: Source, default: RuleSet) -> RuleBook:
    return rule_book_of(source.rule_rows(), default)


def shop_standing(
    source: Source, shop_id: str, *, at: datetime, default_rules: RuleSet = DEFAULT_RULES
) -> dict[str, Any]:
    """One shop's standing at ``at``; raises NotFound when it was not registered by then."""
    book = _rule_book(source, default_rules)
    at_us = micros(at)
    history = fold(shop_id, decode_facts(source.shop_rows(shop_id)), at=at_us, rules=book)
    if history.registered_at is None:
        raise NotFound(f"shop {shop_id} was not registered by {format_timestamp(at)}")
    return judge(history, at=at_us, rules=book.in_force(at))


#: The decision types counted per month by the trends (the series of the HTML chart).
TREND_SERIES: Final = {
    "complaint.filed": "complaints",
    "penalty.imposed": "penalties",
    "appeal.upheld": "appeals_overturned",
    "remedy.completed": "remedies_paid",
}


@dataclass
class Summary:
    """Aggregates over every shop, for people (the HTML page)."""

    shops_by_status: Counter[str] = field(default_factory=Counter)
    penalties_by_violation: dict[str, Counter[str]] = field(
        default_factory=lambda: defaultdict(Counter)
    )
    penalties_by_measure: Counter[str] = field(default_factory=Counter)
    appeals: Counter[str] = field(default_factory=Counter)
    timeline: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    def add(self, history: History, standing: dict[str, Any]) -> None:
        self.shops_by_status[standing["status"]] += 1
        for penalty in history.penalties.values():
            counts = self.penalties_by_violation[penalty.violation]
            counts["imposed"] += 1
            if penalty.revoked_at is not None:
                counts["revoked"] += 1
            for measure in penalty.measures:
                self.penalties_by_measure[measure["type"]] += 1
        for appeal in history.appeals.values():
            self.appeals[appeal.status] += 1

    def add_facts(self, facts: Iterable[Fact], *, at: int) -> None:
        """Count the shop's facts that occurred by ``at`` into the month they occurred in."""
        for fact in facts:
            series = TREND_SERIES.get(fact.type)
            if series is not None and fact.occurred_at <= at:
                self.timeline[timestamp_of_micros(fact.occurred_at)[:7]][series] += 1

    @property
    def overturn_rate(self) -> float | None:
        decided = self.appeals["upheld"] + self.appeals["rejected"]
        return self.appeals["upheld"] / decided if decided else None


@dataclass
class StandingsReport:
    document: dict[str, Any]
    summary: Summary


def build_report(
    source: Source, *, at: datetime, default_rules: RuleSet = DEFAULT_RULES
) -> StandingsReport:
    """Every shop registered by ``at``, with its standing, and the summary aggregates."""
    book = _rule_book(source, default_rules)
    rules = book.in_force(at)
    at_us = micros(at)
    shops = []
    summary = Summary()
    for shop_id, rows in group_by_shop(source.iter_rows()):
        facts = decode_facts(rows)
        history = fold(shop_id, facts, at=at_us, rules=book)
        if history.registered_at is None:
            continue
        standing = judge(history, at=at_us, rules=rules)
        shops.append(standing)
        summary.add(history, standing)
        summary.add_facts(facts, at=at_us)
    document = {
        "as_of": format_timestamp(at),
        "ledger_size": source.ledger_size(),
        "rule_set": rules.version,
        "shops": shops,
    }
    return StandingsReport(document, summary)


def format_json(document: dict[str, Any]) -> bytes:
    """RFC 8785 canonical JSON of the report: the bytes the digest covers."""
    return canonicalize(document)


def report_digest(document: dict[str, Any]) -> str:
    """SHA-256 (hex) over ``format_json(document)``."""
    return hashlib.sha256(format_json(document)).hexdigest()


# v2 members flattened into columns named ``<member>_<key>``, in the standing's key order.
_DEPOSIT = ("balance", "paid", "deducted", "restored", "refunded", "paid_out")
_REMEDIES = ("open", "overdue", "completed", "cancelled", "owed")
_OVERDUE = ("complaints_unanswered", "complaints_unresolved", "appeals_undecided", "remedies")

CSV_COLUMNS = (
    "shop_id",
    "status",
    "points",
    "points_tier",
    "trust_purchase_eligible",
    "active_measures",
    "delisted_products",
    "complaints_open",
    "complaints_substantiated",
    "complaints_dismissed",
    "complaints_withdrawn",
    "complaints_overturned",
    "penalties_active",
    "penalties_expired",
    "penalties_revoked",
    "appeals_open",
    "appeals_upheld",
    "appeals_rejected",
    "appeals_withdrawn",
    "verifications_valid",
    "ineligible_reasons",
    "warnings",
    "required_actions",
    *(f"deposit_{k}" for k in _DEPOSIT),
    *(f"remedies_{k}" for k in _REMEDIES),
    *(f"overdue_{k}" for k in _OVERDUE),
    "programme_enrolled",
    "programme_badge",
    "registered_at",
    "closed_at",
    "rule_set",
)


def format_csv(document: dict[str, Any]) -> str:
    """One row per shop (RFC 4180, CRLF line ends as the csv module writes them)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for shop in document["shops"]:
        writer.writerow(
            [
                shop["shop_id"],
                shop["status"],
                shop["points"],
                shop["points_tier"],
                "true" if shop["trust_purchase_eligible"] else "false",
                ";".join(sorted({m["type"] for m in shop["active_measures"]})),
                ";".join(shop["delisted_products"]),
                *(
                    shop["complaints"][k]
                    for k in ("open", "substantiated", "dismissed", "withdrawn", "overturned")
                ),
                *(shop["penalties"][k] for k in ("active", "expired", "revoked")),
                *(shop["appeals"][k] for k in ("open", "upheld", "rejected", "withdrawn")),
                sum(1 for v in shop["verifications"] if v["valid"]),
                ";".join(shop["ineligible_reasons"]),
                shop["warnings"],
                # tier:measure, e.g. "12:restrict_traffic;24:suspend"
                ";".join(f"{a['tier']}:{a['measure']}" for a in shop["required_actions"]),
                *(shop["deposit"][k] for k in _DEPOSIT),
                *(shop["remedies"][k] for k in _REMEDIES),
                *(shop["overdue"][k] for k in _OVERDUE),
                "true" if shop["programme"]["enrolled"] else "false",
                "true" if shop["programme"]["badge"] else "false",
                shop["registered_at"] or "",
                shop["closed_at"] or "",
                shop["rule_set"],
            ]
        )
    return out.getvalue()
