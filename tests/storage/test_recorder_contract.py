"""eventsourcing's own application recorder contract, run against LedgerSQLiteRecorder.

The chaining recorder must stay a drop-in eventsourcing recorder (notification ids, conflicts,
selection by topic and range, concurrent writers), and after every contract test each stored
event must have its chain row, at contiguous positions, with hashes that recompute.
"""

from __future__ import annotations

import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path
from uuid import UUID

from eventsourcing.sqlite import SQLiteDatastore
from eventsourcing.tests.persistence import ApplicationRecorderTestCase

from trustledger.ledger.chain import (
    GENESIS_CHAIN_HASH,
    encode_entry,
    leaf_hash,
    next_chain_hash,
)
from trustledger.storage.sqlite import LedgerSQLiteRecorder


def assert_chain_recomputes(path: Path) -> int:
    """Every event has a chain row at positions 0..n-1 whose hashes recompute; returns n."""
    with closing(sqlite3.connect(path)) as conn:
        rows = conn.execute(
            "SELECT e.rowid, e.originator_id, e.originator_version, e.topic, e.state, "
            "c.position, c.leaf_hash, c.chain_hash FROM stored_events e "
            "LEFT JOIN trustledger_chain c ON c.notification_id = e.rowid ORDER BY e.rowid"
        ).fetchall()
        (chain_rows,) = conn.execute("SELECT count(*) FROM trustledger_chain").fetchone()
    assert chain_rows == len(rows)
    chain = GENESIS_CHAIN_HASH
    for expected_position, row in enumerate(rows):
        notification_id, originator_id, version, topic, state, position, leaf, stored = row
        assert position == expected_position, f"notification {notification_id}"
        calculated_leaf = leaf_hash(encode_entry(UUID(originator_id), version, topic, state))
        assert calculated_leaf == leaf, f"leaf of notification {notification_id}"
        chain = next_chain_hash(chain, calculated_leaf)
        assert chain == stored, f"chain hash of notification {notification_id}"
    return len(rows)


class TestLedgerSQLiteRecorder(ApplicationRecorderTestCase[LedgerSQLiteRecorder]):
    def setUp(self) -> None:
        self._tmp = tempfile.TemporaryDirectory()
        self.db_path = Path(self._tmp.name) / "contract.db"
        self._datastores: list[SQLiteDatastore] = []

    def tearDown(self) -> None:
        for datastore in self._datastores:
            datastore.close()
        self._tmp.cleanup()

    def create_recorder(self) -> LedgerSQLiteRecorder:
        # A file database, as the ledger uses, with a pool large enough for the concurrent
        # tests' writers and readers (as eventsourcing's own SQLite tests do).
        datastore = SQLiteDatastore(db_name=str(self.db_path), pool_size=20)
        self._datastores.append(datastore)
        recorder = LedgerSQLiteRecorder(datastore)
        recorder.create_table()
        return recorder

    def test_insert_select(self) -> None:
        super().test_insert_select()
        assert assert_chain_recomputes(self.db_path) == 3

    def test_performance(self) -> None:
        super().test_performance()
        assert assert_chain_recomputes(self.db_path) == 110

    def test_concurrent_no_conflicts(self, initial_position: int = 0) -> None:
        super().test_concurrent_no_conflicts(initial_position)
        assert assert_chain_recomputes(self.db_path) == 100 * 100

    def test_concurrent_throughput(self) -> None:
        super().test_concurrent_throughput()
        assert assert_chain_recomputes(self.db_path) == (4 + 10) * 50
