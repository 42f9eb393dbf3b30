"""The range reads the tiles need, on SQLite and PostgreSQL: node hashes of any level equal
to the stored Merkle nodes, entries equal to the stored events' entry bytes, read a page
at a time, and NotFound beyond the tree."""

from __future__ import annotations

import pytest

from tests.conftest import LedgerEnv
from tests.domain.builders import doc
from trustledger.errors import NotFound
from trustledger.ledger.chain import encode_entry, leaf_hash
from trustledger.storage import postgres, sqlite

SIZE = 2 + 70  # genesis, a key registration, 70 decisions


@pytest.fixture
def grown(ledger: LedgerEnv, monkeypatch: pytest.MonkeyPatch) -> LedgerEnv:
    ledger.append([doc("shop.registered", shop_id=f"s-{i}") for i in range(SIZE - 2)])
    # Pages of 5: every read below crosses pages.
    monkeypatch.setattr(sqlite, "_PAGE", 5)
    monkeypatch.setattr(postgres, "_PAGE", 5)
    return ledger


def test_node_hashes_of_every_level_are_the_stored_nodes(grown: LedgerEnv) -> None:
    with grown.open() as ledger:
        store = ledger.store
        for level in range(7):  # 72 leaves: nodes up to level 6
            count = SIZE >> level
            expected = store.merkle_nodes([(level, i) for i in range(count)])
            assert list(store.iter_node_hashes(level, 0, count)) == expected
            assert list(store.iter_node_hashes(level, 1, count)) == expected[1:]
            assert list(store.iter_node_hashes(level, 3, 3)) == []


def test_level_zero_is_the_leaf_hash_of_each_entry(grown: LedgerEnv) -> None:
    with grown.open() as ledger:
        store = ledger.store
        stored = [encode_entry(e.originator_id, e.originator_version, e.topic, e.state)
                  for e in store.iter_entries()]  # fmt: skip
        assert list(store.iter_entry_bytes(0, SIZE)) == stored
        assert list(store.iter_entry_bytes(17, 23)) == stored[17:23]
        assert list(store.iter_node_hashes(0, 0, SIZE)) == [leaf_hash(e) for e in stored]


@pytest.mark.parametrize(("level", "start", "end"), [(0, 70, 73), (3, 8, 10), (7, 0, 1)])
def test_a_node_beyond_the_tree_is_not_found(
    grown: LedgerEnv, level: int, start: int, end: int
) -> None:
    with grown.open() as ledger, pytest.raises(NotFound, match="are not all stored"):
        list(ledger.store.iter_node_hashes(level, start, end))


def test_an_entry_beyond_the_log_is_not_found(grown: LedgerEnv) -> None:
    with grown.open() as ledger, pytest.raises(NotFound, match="1 positions have no chain row"):
        list(ledger.store.iter_entry_bytes(68, 73))
