"""What the SQLite recorder stores, column by column: BLOBs are BLOBs.

The recorder hands sqlite3 its BLOB values as bytearray (cheaper to bind than bytes); they
must land exactly as bytes would, with storage class BLOB, and read back as the same bytes.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.conftest import make_ledger, shop_history
from trustledger.app.application import LedgerApplication
from trustledger.storage import open_store
from trustledger.storage.sqlite import LedgerSQLiteConnectionPool, LedgerSQLiteRecorder

BLOB_COLUMNS = {
    "stored_events": ["state"],
    "trustledger_chain": ["leaf_hash", "chain_hash"],
    "trustledger_merkle": ["hash"],
    "trustledger_decisions": ["digest"],
    "trustledger_subject_keys": ["subject_key"],
    "trustledger_shop_states": ["state"],
}


def test_every_blob_column_holds_blobs_only(tmp_path: Path) -> None:
    ledger = make_ledger(tmp_path)
    ledger.append(shop_history("shop-1") + shop_history("shop-2", buyer="buyer-8"))
    with sqlite3.connect(ledger.path) as conn:
        for table, columns in BLOB_COLUMNS.items():
            for column in columns:
                kinds = conn.execute(f"SELECT DISTINCT typeof({column}) FROM {table}").fetchall()
                assert kinds == [("blob",)], (table, column, kinds)


def test_the_ledger_application_uses_the_ledger_infrastructure(tmp_path: Path) -> None:
    app = LedgerApplication(open_store(make_ledger(tmp_path).url))
    try:
        assert isinstance(app.recorder, LedgerSQLiteRecorder)
        # Connections that keep the append's prepared statements (STATEMENT_CACHE_SIZE).
        assert isinstance(app.recorder.datastore.pool, LedgerSQLiteConnectionPool)
    finally:
        app.close()
