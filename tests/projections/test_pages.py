"""The pieces of the HTML reports without a browser: provenance, decision summaries,
escaping, reasons in words (tests/projections/test_html_browser.py runs the pages)."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.conftest import LedgerEnv
from trustledger.storage import open_store
from trustledger_projections.decisions import summarize
from trustledger_projections.html import format_actions_html
from trustledger_projections.html.panels import reasons_in_words
from trustledger_projections.projection import rebuild
from trustledger_projections.provenance import Provenance, chain_hash_at, read_provenance
from trustledger_projections.queries import standings_page

AS_OF = datetime(2026, 12, 1, tzinfo=UTC)


def test_the_head_of_a_prefix_is_its_last_entry(sqlite_ledger: LedgerEnv) -> None:
    sqlite_ledger.append_history("shop-1")
    store = open_store(sqlite_ledger.url)
    try:
        entries = list(store.iter_entries())
        head = store.chain_head()
        assert head is not None and head.size == len(entries)
        for size in (1, 3, len(entries)):
            entry = entries[size - 1]
            assert chain_hash_at(store, size) == entry.chain_hash
            hinted = chain_hash_at(store, size, notification_id=entry.notification_id)
            assert hinted == entry.chain_hash
        assert chain_hash_at(store, 0) is None
        provenance = read_provenance(store, ledger_size=3, digest="d" * 64)
        assert provenance == Provenance(3, entries[2].chain_hash.hex(), None, "d" * 64)  # type: ignore[union-attr]
    finally:
        store.close()


def test_a_page_replayed_at_a_position_names_that_head(sqlite_ledger: LedgerEnv) -> None:
    sqlite_ledger.append_history("shop-1")
    store = open_store(sqlite_ledger.url)
    try:
        fourth = list(store.iter_entries())[4]
    finally:
        store.close()
    text = standings_page(sqlite_ledger.url, at=AS_OF, at_position=4).value.text
    assert "<dt>Ledger entries</dt><dd>5</dd>" in text
    assert f"<code>{fourth.chain_hash.hex()}</code>" in text  # type: ignore[union-attr]


def test_a_decision_in_a_line() -> None:
    ids, summary = summarize(
        {
            "penalty_id": "p-1",
            "violation": "counterfeit",
            "severity": "serious",
            "points": 12,
            "measures": [{"type": "suspend", "until": "2026-11-09T08:30:00Z"}, {"type": "warning"}],
            "complaint_ids": ["c-1", "c-2"],
            "evidence": ["a" * 64, "b" * 64],
            "owner_subject_id": "owner-1",
        }
    )
    assert ids == "penalty p-1, complaints c-1, c-2"
    assert summary == (
        "measures suspend until 2026-11-09T08:30:00Z; warning, points 12, severity serious, "
        "violation counterfeit, evidence 2 digest(s)"
    )
    _, long = summarize({"reason": "x" * 500})
    assert long == "reason " + "x" * 59 + "…"


def test_reasons_in_words_follow_the_codes() -> None:
    standing = {
        "status": "suspended",
        "points": 14,
        "ineligible_reasons": ["status", "points", "remedy_overdue"],
    }
    assert reasons_in_words(standing) == [
        "its status is suspended, not active",
        "14 points: at or above the eligibility limit",
        "a remedy ordered for a buyer is overdue",
    ]


def test_every_value_is_escaped() -> None:
    hostile = '<script>alert("x")</script>'
    document = {
        "as_of": hostile,
        "rule_set": hostile,
        "ledger_size": 1,
        "items": [
            {
                "rank": 1,
                "shop_id": hostile,
                "kind": hostile,
                "due_at": hostile,
                "detail": {"complaint_id": hostile, "amount": 5},
                "decision_ids": [hostile],
            }
        ],
    }
    text = format_actions_html(
        document,
        provenance=Provenance(1, hostile, None, hostile),
        standings={},
    )
    assert "<script>alert" not in text
    assert text.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;") >= 6
    assert text.count("<script>") == 1  # the page's own script


def test_panels_are_bounded(sqlite_ledger: LedgerEnv) -> None:
    for shop_id in ("shop-1", "shop-2", "shop-3"):
        sqlite_ledger.append_history(shop_id)  # no qualification: none is eligible
    store = open_store(sqlite_ledger.url)
    try:
        rebuild(store)
    finally:
        store.close()
    text = standings_page(sqlite_ledger.url, at=AS_OF, max_panels=2).value.text
    assert text.count('<details class="shop"') == 2
    assert "Decisions of 2 of the 3 shop(s) needing attention" in text
    # The shops come in shop_id order when none is in the work queue; only they are linked.
    assert text.index('id="shop-shop-1"') < text.index('id="shop-shop-2"')
    assert 'href="#shop-shop-3"' not in text
    none = standings_page(sqlite_ledger.url, at=AS_OF, max_panels=0).value.text
    assert '<details class="shop"' not in none
    assert "Decisions of 0 of the 3 shop(s) needing attention" in none
