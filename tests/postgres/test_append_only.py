"""PostgreSQL refuses UPDATE, DELETE and TRUNCATE on the ledger tables for every role, the
owner's and a superuser's included, even with ``session_replication_role = replica``."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from tests.conftest import LedgerEnv
from trustledger.storage.postgres import split_schema

TABLES = ("stored_events", "trustledger_chain", "trustledger_decisions")
STATEMENTS = {
    "UPDATE": "UPDATE {t} SET notification_id = notification_id",
    "DELETE": "DELETE FROM {t} WHERE notification_id = 3",
    "TRUNCATE": "TRUNCATE {t} CASCADE",
}


@pytest.fixture
def conn(pg_ledger: LedgerEnv) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    pg_ledger.append_history()
    dsn, schema = split_schema(pg_ledger.url)
    with psycopg.connect(dsn, autocommit=True, options=f"-c search_path={schema}") as c:
        # The tests connect as a superuser: the triggers refuse even that role.
        assert c.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
        yield c


def _snapshot(conn: psycopg.Connection[tuple[object, ...]], table: str) -> list[object]:
    return conn.execute(f"SELECT * FROM {table} ORDER BY notification_id").fetchall()


@pytest.mark.parametrize("replica", [False, True], ids=["origin", "replica-role"])
@pytest.mark.parametrize("verb", ["UPDATE", "DELETE", "TRUNCATE"])
@pytest.mark.parametrize("table", TABLES)
def test_change_is_refused_even_for_the_owner(
    conn: psycopg.Connection[tuple[object, ...]], table: str, verb: str, replica: bool
) -> None:
    before = _snapshot(conn, table)
    assert before
    if replica:
        # A superuser's usual way around triggers; ENABLE ALWAYS triggers still fire.
        conn.execute("SET session_replication_role = replica")
    with pytest.raises(
        psycopg.errors.RaiseException,
        match=rf"^trustledger: {table} is append-only \({verb} refused\)",
    ):
        conn.execute(STATEMENTS[verb].format(t=table))
    conn.execute("RESET session_replication_role")
    assert _snapshot(conn, table) == before


def test_refusal_rolls_back_the_whole_transaction(
    conn: psycopg.Connection[tuple[object, ...]],
) -> None:
    before = _snapshot(conn, "stored_events")
    with pytest.raises(psycopg.errors.RaiseException), conn.transaction():
        conn.execute("DELETE FROM stored_events")
    assert _snapshot(conn, "stored_events") == before


def test_migration_must_disable_the_triggers_explicitly(
    conn: psycopg.Connection[tuple[object, ...]], pg_ledger: LedgerEnv
) -> None:
    # What a migration does, visibly: disable, change, enable again, in one transaction.
    with conn.transaction():
        conn.execute("ALTER TABLE trustledger_decisions DISABLE TRIGGER USER")
        conn.execute("UPDATE trustledger_decisions SET digest = digest")
        for verb in ("update", "delete", "truncate"):
            conn.execute(
                f"ALTER TABLE trustledger_decisions "
                f"ENABLE ALWAYS TRIGGER trustledger_decisions_no_{verb}"
            )
    with pytest.raises(psycopg.errors.RaiseException):
        conn.execute("UPDATE trustledger_decisions SET digest = digest")
    assert pg_ledger.verify().intact


def test_inserts_are_still_allowed(pg_ledger: LedgerEnv) -> None:
    before = pg_ledger.entry_count()
    pg_ledger.append_history("shop-2")
    assert pg_ledger.entry_count() == before + 8
    assert pg_ledger.verify().intact
