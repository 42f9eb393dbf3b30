"""eventsourcing's own application recorder contract, run against LedgerPostgresRecorder
(as tests/storage/test_recorder_contract.py runs it against the SQLite one) and against
ColumnarEventsRecorder, the eventsourcing recorder it extends, on its own.

The chaining recorder must stay a drop-in eventsourcing recorder on PostgreSQL too, and after
every contract test each stored event must have its chain row, at contiguous positions, with
hashes that recompute.
"""

from __future__ import annotations

import secrets
from typing import Any

import psycopg
import pytest
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.tests.persistence import ApplicationRecorderTestCase
from psycopg.conninfo import conninfo_to_dict

from trustledger.ledger.chain import GENESIS_CHAIN_HASH, encode_entry, leaf_hash, next_chain_hash
from trustledger.storage.postgres import ColumnarEventsRecorder, LedgerPostgresRecorder


def assert_chain_recomputes(database_url: str, schema: str) -> int:
    """Every event has a chain row at positions 0..n-1 whose hashes recompute; returns n."""
    with psycopg.connect(database_url, options=f"-c search_path={schema}") as conn:
        rows = conn.execute(
            "SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, "
            "e.state, c.position, c.leaf_hash, c.chain_hash FROM stored_events e "
            "LEFT JOIN trustledger_chain c USING (notification_id) ORDER BY 1"
        ).fetchall()
        (chained,) = conn.execute("SELECT count(*) FROM trustledger_chain").fetchone()  # type: ignore[misc]
    assert chained == len(rows)
    chain = GENESIS_CHAIN_HASH
    for expected_position, row in enumerate(rows):
        notification_id, originator_id, version, topic, state, position, leaf, stored = row
        assert position == expected_position, f"notification {notification_id}"
        calculated = leaf_hash(encode_entry(originator_id, version, topic, bytes(state)))
        assert calculated == bytes(leaf), f"leaf of notification {notification_id}"
        chain = next_chain_hash(chain, calculated)
        assert chain == bytes(stored), f"chain hash of notification {notification_id}"
    return len(rows)


class _OnPostgres:
    """A fresh schema per test in the test database, and datastores closed after it."""

    database_url: str

    @pytest.fixture(autouse=True)
    def _database(self, postgres_database: str) -> None:
        self.database_url = postgres_database

    def setUp(self) -> None:
        self.schema = f"contract_{secrets.token_hex(4)}"
        self._datastores: list[PostgresDatastore] = []

    def tearDown(self) -> None:
        for datastore in self._datastores:
            datastore.close()

    def new_datastore(self) -> PostgresDatastore:
        p: dict[str, Any] = conninfo_to_dict(self.database_url)
        # A pool large enough for the concurrent tests' writers and readers.
        datastore = PostgresDatastore(
            dbname=str(p["dbname"]),
            host=str(p.get("host") or "localhost"),
            port=str(p.get("port") or 5432),
            user=str(p.get("user") or "postgres"),
            password=str(p.get("password") or ""),
            schema=self.schema,
            pool_size=12,
            max_overflow=4,
        )
        self._datastores.append(datastore)
        return datastore


class TestColumnarEventsRecorder(_OnPostgres, ApplicationRecorderTestCase[ColumnarEventsRecorder]):
    def create_recorder(self) -> ColumnarEventsRecorder:
        datastore = self.new_datastore()
        with datastore.transaction(commit=True) as curs:  # eventsourcing creates no schema
            curs.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
        recorder = ColumnarEventsRecorder(datastore)
        recorder.create_table()
        return recorder


class TestLedgerPostgresRecorder(_OnPostgres, ApplicationRecorderTestCase[LedgerPostgresRecorder]):
    def create_recorder(self) -> LedgerPostgresRecorder:
        recorder = LedgerPostgresRecorder(self.new_datastore())
        recorder.create_table()
        return recorder

    def test_insert_select(self) -> None:
        super().test_insert_select()
        assert assert_chain_recomputes(self.database_url, self.schema) == 3

    def test_performance(self) -> None:
        super().test_performance()
        assert assert_chain_recomputes(self.database_url, self.schema) == 110

    def test_concurrent_no_conflicts(self, initial_position: int = 0) -> None:
        super().test_concurrent_no_conflicts(initial_position)
        assert assert_chain_recomputes(self.database_url, self.schema) == 100 * 100

    def test_concurrent_throughput(self) -> None:
        super().test_concurrent_throughput()
        assert assert_chain_recomputes(self.database_url, self.schema) == (4 + 10) * 50
