"""``Ledger.log`` (filters, tail) and ``Ledger.entry`` on both stores, and ``Store.entry_at``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import LedgerEnv, make_ledger
from tests.domain.builders import ts
from trustledger.domain.timefmt import parse_timestamp
from trustledger.errors import NotFound


@pytest.fixture
def histories(tmp_path: Path, store_url: str) -> LedgerEnv:
    """Positions 0-1 key events, 2-9 shop-1's history, 10-17 shop-2's."""
    env = make_ledger(tmp_path, url=store_url)
    env.append_history("shop-1")
    env.append_history("shop-2", buyer="buyer-78")
    return env


def when(text: str) -> datetime:
    return parse_timestamp(text, field="test")


def test_entry_at_reads_the_chain_position(histories: LedgerEnv) -> None:
    with histories.open() as ledger:
        everything = list(ledger.store.iter_entries())
        for position in (0, 1, 9, 17):
            found = ledger.store.entry_at(position)
            assert found == everything[position]
        assert ledger.store.entry_at(18) is None


def test_log_filters_and_tail_on_either_store(histories: LedgerEnv) -> None:
    with histories.open() as ledger:

        def positions(**filters: object) -> list[int | None]:
            return [entry.position for entry in ledger.log(**filters)]  # type: ignore[arg-type]

        assert positions(types=["penalty.imposed"]) == [7, 15]
        assert positions(types=["appeal."], shop_id="shop-2") == [16, 17]
        assert positions(types=["key.", "ledger."]) == [0, 1]
        window = {"occurred_from": when(ts(days=2)), "occurred_before": when(ts(days=4))}
        assert positions(**window) == [6, 7, 14, 15]
        assert positions(**window, types=["shop."]) == []
        assert positions(tail=3) == [15, 16, 17]
        assert positions(tail=100) == list(range(18))
        assert positions(tail=1, shop_id="shop-1") == [9]
        assert positions(tail=2, types=["shop.registered"]) == [2, 10]
        assert positions(limit=1, types=["complaint."]) == [5]
        assert positions(occurred_from=datetime(2100, 1, 1, tzinfo=UTC)) == []


def test_entry_by_position_or_decision_id(histories: LedgerEnv) -> None:
    with histories.open() as ledger:
        listed = list(ledger.log())
        assert ledger.entry(0) == listed[0]
        assert ledger.entry("12") == listed[12]
        assert ledger.entry(str(listed[5].decision_id)) == listed[5]
        assert ledger.entry(str(listed[1].decision_id)).type == "key.registered"
        revealed = ledger.entry(5, reveal_personal=True).document["personal"]
        assert revealed["subject_id"] == "buyer-77" and "name" in revealed
        with pytest.raises(
            NotFound, match=r"no entry at position 18 in .*: positions run from 0 to 17"
        ):
            ledger.entry(18)
        with pytest.raises(NotFound, match="no decision 00000000-0000-4000-8000-0000000fffff"):
            ledger.entry("00000000-0000-4000-8000-0000000fffff")
