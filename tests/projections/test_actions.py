"""The work queue (`report actions`): every kind of item, in the documented order, with the
decisions each comes from; CSV and JSON views of one document; the view and the log agree."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import LedgerEnv
from tests.domain.builders import at, doc, measure, ts
from trustledger.domain.decision import parse_decision
from trustledger.storage import open_store
from trustledger.storage.views import FactRow, RuleSetRow
from trustledger_projections.actions import build_actions, format_actions_csv
from trustledger_projections.facts import fact_of_document
from trustledger_projections.projection import rebuild
from trustledger_projections.queries import report_actions
from trustledger_projections.report import format_json, report_digest

AS_OF = ts(days=30)


def ids(*documents: dict[str, Any]) -> list[str]:
    return [document["decision_id"] for document in documents]


class DocumentSource:
    """A ``Source`` over decision documents (what the view would hold after a rebuild), so
    that the queue's order is judged without a store."""

    def __init__(self, documents: list[dict[str, Any]]) -> None:
        self.rows = []
        for number, document in enumerate(documents, start=1):
            row = fact_of_document(parse_decision(document).to_document(), number)
            assert row is not None
            self.rows.append(row)
        self.rows.sort(key=lambda row: (row.shop_id, row.notification_id))

    def shop_rows(self, shop_id: str) -> list[FactRow]:
        return [row for row in self.rows if row.shop_id == shop_id]

    def iter_rows(self) -> Iterator[FactRow]:
        return iter(self.rows)

    def rule_rows(self) -> list[RuleSetRow]:
        return []

    def ledger_size(self) -> int:
        return len(self.rows)


class Queue:
    """One shop per kind of situation, and the decisions that matter."""

    def __init__(self) -> None:
        registered = {
            shop: doc("shop.registered", shop_id=shop) for shop in ("a", "b", "c", "d", "e")
        }
        # a: a complaint nobody answered or resolved.
        self.a_filed = doc("complaint.filed", shop_id="a", occurred_at=ts(days=1))
        # b: 12 points (tier 12: restrict_traffic required), and an appeal left undecided.
        self.b_penalty = doc(
            "penalty.imposed", shop_id="b", occurred_at=ts(days=2), points=12,
            measures=[measure("warning")],
        )  # fmt: skip
        self.b_appeal = doc("appeal.filed", shop_id="b", occurred_at=ts(days=3))
        # c: a substantiated complaint, one remedy past its due date and one not yet due.
        c_complaint = [
            doc("complaint.filed", shop_id="c", occurred_at=ts(days=1)),
            doc("complaint.responded", shop_id="c", occurred_at=ts(days=1, hours=12)),
            doc("complaint.substantiated", shop_id="c", occurred_at=ts(days=2)),
        ]
        self.c_overdue = doc(
            "remedy.ordered", shop_id="c", occurred_at=ts(days=3), remedy_id="r-1",
            amount=12_900, due_by=ts(days=10),
        )  # fmt: skip
        self.c_owed = doc(
            "remedy.ordered", shop_id="c", occurred_at=ts(days=4), remedy_id="r-2",
            kind="compensation", amount=5_000, due_by=ts(days=40),
        )  # fmt: skip
        # d: 24 points at once (tiers 12 and 24 reached together, neither measure imposed).
        self.d_penalty = doc(
            "penalty.imposed", shop_id="d", occurred_at=ts(days=5), points=24,
            severity="critical", measures=[measure("warning")],
        )  # fmt: skip
        # e: nothing due.
        e_verified = [
            doc("verification.submitted", shop_id="e", occurred_at=ts(hours=1)),
            doc("verification.approved", shop_id="e", occurred_at=ts(hours=2)),
        ]
        self.documents = [
            *registered.values(),
            self.a_filed,
            self.b_penalty,
            self.b_appeal,
            *c_complaint,
            self.c_overdue,
            self.c_owed,
            self.d_penalty,
            *e_verified,
        ]

    def expected_items(self) -> list[dict[str, Any]]:
        rows = [
            ("a", "complaint_unanswered", ts(days=4), {"complaint_id": "c-1"}, ids(self.a_filed)),
            ("c", "remedy_overdue", ts(days=10),
             {"remedy_id": "r-1", "complaint_id": "c-1", "amount": 12_900}, ids(self.c_overdue)),
            ("a", "complaint_unresolved", ts(days=16), {"complaint_id": "c-1"}, ids(self.a_filed)),
            ("b", "appeal_undecided", ts(days=18), {"appeal_id": "a-1", "penalty_id": "p-1"},
             ids(self.b_appeal)),
            ("d", "required_action", ts(days=5),
             {"tier": 24, "measure": "suspend", "suspend_days": 7}, ids(self.d_penalty)),
            ("b", "required_action", ts(days=2),
             {"tier": 12, "measure": "restrict_traffic", "suspend_days": None},
             ids(self.b_penalty)),
            ("d", "required_action", ts(days=5),
             {"tier": 12, "measure": "restrict_traffic", "suspend_days": None},
             ids(self.d_penalty)),
            ("c", "remedy_owed", ts(days=40),
             {"remedy_id": "r-2", "complaint_id": "c-1", "amount": 5_000}, ids(self.c_owed)),
        ]  # fmt: skip
        return [
            {
                "rank": rank,
                "shop_id": shop,
                "kind": kind,
                "due_at": due,
                "detail": detail,
                "decision_ids": decision_ids,
            }
            for rank, (shop, kind, due, detail, decision_ids) in enumerate(rows, start=1)
        ]


def queue_at(when: str) -> dict[str, Any]:
    document: dict[str, Any] = build_actions(
        DocumentSource(Queue().documents), at=at(when)
    ).document
    return document


def test_every_kind_of_item_in_the_documented_order() -> None:
    queue = Queue()
    report = build_actions(DocumentSource(queue.documents), at=at(AS_OF))
    assert report.document == {
        "as_of": AS_OF,
        "ledger_size": len(queue.documents),
        "rule_set": "default-v2",
        "items": queue.expected_items(),
    }
    assert report.shop_ids == ["a", "c", "b", "d"]


def test_the_csv_has_one_row_per_item() -> None:
    queue = Queue()
    document = build_actions(DocumentSource(queue.documents), at=at(AS_OF)).document
    rows = list(csv.reader(io.StringIO(format_actions_csv(document))))
    assert rows == [
        ["rank", "shop_id", "kind", "due_at", "amount", "detail", "decision_ids"],
        ["1", "a", "complaint_unanswered", ts(days=4), "", "complaint_id c-1",
         queue.a_filed["decision_id"]],
        ["2", "c", "remedy_overdue", ts(days=10), "12900", "complaint_id c-1; remedy_id r-1",
         queue.c_overdue["decision_id"]],
        ["3", "a", "complaint_unresolved", ts(days=16), "", "complaint_id c-1",
         queue.a_filed["decision_id"]],
        ["4", "b", "appeal_undecided", ts(days=18), "", "appeal_id a-1; penalty_id p-1",
         queue.b_appeal["decision_id"]],
        ["5", "d", "required_action", ts(days=5), "", "measure suspend; suspend_days 7; tier 24",
         queue.d_penalty["decision_id"]],
        ["6", "b", "required_action", ts(days=2), "", "measure restrict_traffic; tier 12",
         queue.b_penalty["decision_id"]],
        ["7", "d", "required_action", ts(days=5), "", "measure restrict_traffic; tier 12",
         queue.d_penalty["decision_id"]],
        ["8", "c", "remedy_owed", ts(days=40), "5000", "complaint_id c-1; remedy_id r-2",
         queue.c_owed["decision_id"]],
    ]  # fmt: skip


def test_items_come_and_go_with_time() -> None:
    # Before the first deadline: b's tier, and c's first remedy owed (the second is
    # ordered on day 4, d's penalty imposed on day 5).
    early = queue_at(ts(days=3, hours=23))
    assert [(i["shop_id"], i["kind"], i["detail"].get("remedy_id")) for i in early["items"]] == [
        ("b", "required_action", None),
        ("c", "remedy_owed", "r-1"),
    ]
    # A deadline that falls exactly at T is overdue.
    assert queue_at(ts(days=4))["items"][0]["kind"] == "complaint_unanswered"
    # A year later the points have left the 365-day window; the rest is still due.
    kinds = [i["kind"] for i in queue_at(ts(days=400))["items"]]
    assert "required_action" not in kinds
    assert kinds[0] == "complaint_unanswered"


@pytest.fixture
def ledger_queue(sqlite_ledger: LedgerEnv) -> tuple[LedgerEnv, Queue]:
    """``Queue`` appended to a ledger (every decision passing the append rules, remedy
    orders included), and the view rebuilt."""
    queue = Queue()
    sqlite_ledger.append(queue.documents)
    store = open_store(sqlite_ledger.url)
    try:
        rebuild(store)
    finally:
        store.close()
    return sqlite_ledger, queue


def test_the_view_and_the_log_give_the_same_queue(ledger_queue: tuple[LedgerEnv, Queue]) -> None:
    ledger, queue = ledger_queue
    answer = report_actions(ledger.url, at=at(AS_OF))
    assert answer.behind == 0
    from_view = answer.value.document
    assert from_view["ledger_size"] == ledger.entry_count()
    assert from_view["items"] == queue.expected_items()
    assert [(i["shop_id"], i["kind"]) for i in from_view["items"]] == [
        ("a", "complaint_unanswered"),
        ("c", "remedy_overdue"),
        ("a", "complaint_unresolved"),
        ("b", "appeal_undecided"),
        ("d", "required_action"),
        ("b", "required_action"),
        ("d", "required_action"),
        ("c", "remedy_owed"),
    ]
    size = from_view["ledger_size"]
    from_log = report_actions(ledger.url, at=at(AS_OF), at_position=size - 1).value
    assert format_json(from_log.document) == format_json(from_view)
    assert report_digest(from_log.document) == report_digest(from_view)
