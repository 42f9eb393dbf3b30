"""LedgerApplication.record stores events exactly as eventsourcing's Application.save."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from tests.conftest import make_ledger
from tests.domain.builders import doc
from trustledger.app.application import LedgerApplication
from trustledger.domain.aggregates import Shop
from trustledger.domain.decision import parse_decision
from trustledger.ledger.canonical import canonicalize
from trustledger.storage import open_store

ROWS = "SELECT rowid, originator_id, originator_version, topic, state FROM stored_events"
CHAIN = "SELECT notification_id, position, leaf_hash, chain_hash FROM trustledger_chain"


REGISTERED = doc("shop.registered", shop_id="shop-1")
CLOSED = doc("shop.closed", shop_id="shop-1", occurred_at="2026-11-03T00:00:00Z")


def _shop_with_two_events() -> Shop:
    registered, closed = parse_decision(REGISTERED), parse_decision(CLOSED)
    payloads = [
        canonicalize(d.document_view(), json_safe=True).decode() for d in (registered, closed)
    ]
    shop = Shop.register(registered, payloads[0], "c2ln", "bot+00")
    shop.record(closed, payloads[1], "c2ln", "bot+00")
    # One timestamp for both ledgers' events, so that their stored states can be compared.
    for event in shop.pending_events:
        object.__setattr__(event, "timestamp", datetime(2026, 11, 23, tzinfo=UTC))
    return shop


def test_record_stores_the_rows_save_stores(tmp_path: Path) -> None:
    saved, recorded = make_ledger(tmp_path, "saved.db"), make_ledger(tmp_path, "recorded.db")
    app = LedgerApplication(open_store(saved.url))
    app.save(_shop_with_two_events())
    app.close()
    app = LedgerApplication(open_store(recorded.url))
    app.record(_shop_with_two_events().collect_events())
    app.close()

    def rows(path: Path, query: str) -> list[tuple[object, ...]]:
        with sqlite3.connect(path) as conn:
            return conn.execute(query).fetchall()

    # The two ledgers differ from the start (their root keys), so compare the shop's rows.
    new_events = rows(saved.path, ROWS)[-2:]
    assert [row[3] for row in new_events] == [
        "trustledger:shop.registered",
        "trustledger:shop.closed",
    ]
    assert rows(recorded.path, ROWS)[-2:] == new_events
    assert [row[:2] for row in rows(recorded.path, CHAIN)] == [
        row[:2] for row in rows(saved.path, CHAIN)
    ]
