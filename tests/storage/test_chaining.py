"""storage.chaining: the tuple rows the SQLite recorder writes equal chain_rows', with or
without a frontier kept from the previous append."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

from eventsourcing.persistence import StoredEvent

from trustledger import Ledger
from trustledger.ledger.chain import GENESIS_CHAIN_HASH
from trustledger.ledger.keys import generate_signing_key
from trustledger.storage import open_store
from trustledger.storage.chaining import Frontier, append_rows, chain_rows


def _events(count: int, start: int) -> list[StoredEvent]:
    return [
        StoredEvent(
            originator_id=uuid.UUID(int=i % 7),
            originator_version=i + 1,
            topic="trustledger:complaint.filed",
            state=f'{{"payload":"{i}"}}'.encode(),
        )
        for i in range(start, start + count)
    ]


class _Nodes:
    """An in-memory node store that records how often it is read."""

    def __init__(self) -> None:
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.reads = 0

    def read(self, ids: object) -> list[bytes]:
        self.reads += 1
        return [self.nodes[node] for node in ids]  # type: ignore[attr-defined]


def test_append_rows_equals_chain_rows_across_batches() -> None:
    store = _Nodes()
    position, chain = -1, GENESIS_CHAIN_HASH
    frontier: Frontier | None = None
    for size in (1, 2, 5, 8, 13, 1, 64, 3):
        events = _events(size, position + 1)
        ids = list(range(position + 2, position + 2 + size))
        expected_rows, expected_nodes = chain_rows(position, chain, events, ids, store.read)
        reads = store.reads
        rows, nodes, frontier = append_rows(position, chain, events, ids, store.read, frontier)
        assert store.reads == reads  # the frontier kept from the last batch was used
        assert rows == [
            (r.notification_id, r.position, r.leaf_hash, r.chain_hash) for r in expected_rows
        ]
        assert nodes == [(n.level, n.index, n.hash) for n in expected_nodes]
        for row in rows:
            store.nodes[(0, row[1])] = row[2]
        for level, index, digest in nodes:
            store.nodes[(level, index)] = digest
        position, chain = rows[-1][1], rows[-1][3]


def test_a_stale_frontier_is_not_used() -> None:
    store = _Nodes()
    events = _events(5, 0)
    rows, nodes, frontier = append_rows(-1, GENESIS_CHAIN_HASH, events, range(1, 6), store.read)
    for row in rows:
        store.nodes[(0, row[1])] = row[2]
    for level, index, digest in nodes:
        store.nodes[(level, index)] = digest
    # Same size, other chain head (another appender's entries): the store is read.
    other = Frontier(frontier.size, bytes(32), frontier.nodes)
    more = _events(3, 5)
    reads = store.reads
    expected = chain_rows(rows[-1][1], rows[-1][3], more, range(6, 9), store.read)
    got = append_rows(rows[-1][1], rows[-1][3], more, range(6, 9), store.read, other)
    assert store.reads == reads + 2
    assert got[1] == [(n.level, n.index, n.hash) for n in expected[1]]


def test_merkle_nodes_of_a_ledger_created_with_the_level_index_key(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    root, bot = generate_signing_key("root"), generate_signing_key("bot")
    ledger, _ = Ledger.init(f"sqlite:///{path}", root)
    ledger.register_key(bot.verifier, by=root)
    ledger.append([_registration(f"shop-{i}") for i in range(9)], signer=bot)
    ledger.close()
    ids = [(1, 0), (2, 1), (3, 0), (0, 10)]
    store = open_store(f"sqlite:///{path}")
    before = store.merkle_nodes(ids)
    store.close()
    # The table as ledgers created before the completion-ordered key have it.
    with sqlite3.connect(path) as conn:
        conn.executescript(
            "DROP TRIGGER trustledger_merkle_no_delete; DROP TRIGGER trustledger_merkle_no_update;"
            "ALTER TABLE trustledger_merkle RENAME TO merkle_new;"
            "CREATE TABLE trustledger_merkle (level INTEGER NOT NULL, idx INTEGER NOT NULL, "
            "hash BLOB NOT NULL, PRIMARY KEY (level, idx)) WITHOUT ROWID;"
            "INSERT INTO trustledger_merkle SELECT * FROM merkle_new; DROP TABLE merkle_new;"
        )
    store = open_store(f"sqlite:///{path}")
    assert store.merkle_nodes(ids) == before
    store.close()
    ledger = Ledger.open(f"sqlite:///{path}")
    ledger.append([_registration("shop-late")], signer=bot)
    assert ledger.verify(trusted_keys=[root.verifier], workers=1).intact
    ledger.close()


def _registration(shop_id: str) -> dict[str, object]:
    return {
        "decision_id": str(uuid.uuid4()),
        "type": "shop.registered",
        "shop_id": shop_id,
        "occurred_at": "2026-11-01T00:00:00Z",
        "data": {"owner_subject_id": "seller-1"},
    }
