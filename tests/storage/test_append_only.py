"""The database itself refuses UPDATE and DELETE on every ledger table (docs/DESIGN.md)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing

import pytest

from tests.conftest import LedgerEnv

# sqlite3 connections; PostgreSQL's triggers: tests/postgres/test_append_only.py
pytestmark = pytest.mark.sqlite_only

TABLES = ("stored_events", "trustledger_chain", "trustledger_decisions")
# Each statement touches at least one row, so only a trigger can refuse it.
STATEMENTS = {
    "stored_events": {
        "UPDATE": "UPDATE stored_events SET state = x'00' WHERE rowid = 3",
        "DELETE": "DELETE FROM stored_events WHERE rowid = 3",
    },
    "trustledger_chain": {
        "UPDATE": "UPDATE trustledger_chain SET chain_hash = zeroblob(32) WHERE position = 3",
        "DELETE": "DELETE FROM trustledger_chain WHERE position = 3",
    },
    "trustledger_decisions": {
        "UPDATE": "UPDATE trustledger_decisions SET digest = zeroblob(32)",
        "DELETE": "DELETE FROM trustledger_decisions WHERE notification_id = 3",
    },
}


@pytest.fixture
def conn(ledger: LedgerEnv) -> Iterator[sqlite3.Connection]:
    ledger.append_history()
    with closing(sqlite3.connect(ledger.path, isolation_level=None)) as connection:
        yield connection


def _counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def _snapshot(conn: sqlite3.Connection, table: str) -> list[tuple[object, ...]]:
    return conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()


@pytest.mark.parametrize("verb", ["UPDATE", "DELETE"])
@pytest.mark.parametrize("table", TABLES)
def test_row_change_is_refused(conn: sqlite3.Connection, table: str, verb: str) -> None:
    before = _snapshot(conn, table)
    with pytest.raises(
        sqlite3.IntegrityError, match=rf"^trustledger: {table} is append-only \({verb} refused\)$"
    ):
        conn.execute(STATEMENTS[table][verb])
    assert _snapshot(conn, table) == before


@pytest.mark.parametrize("table", TABLES)
def test_unqualified_delete_is_refused(conn: sqlite3.Connection, table: str) -> None:
    counts = _counts(conn)
    assert counts[table] > 0
    with pytest.raises(sqlite3.IntegrityError, match=rf"{table} is append-only \(DELETE refused\)"):
        conn.execute(f"DELETE FROM {table}")
    assert _counts(conn) == counts


def test_refusal_inside_a_transaction_rolls_back_the_statement(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE stored_events SET topic = 'x'")
    conn.execute("COMMIT")
    topics = {row[0] for row in conn.execute("SELECT topic FROM stored_events")}
    assert "x" not in topics


def test_inserts_are_still_allowed(ledger: LedgerEnv) -> None:
    # Appending is what the ledger does: the triggers only refuse changes to existing rows.
    before = ledger.entry_count()
    ledger.append_history("shop-2")
    assert ledger.entry_count() == before + 8
    assert ledger.verify().intact
