"""PostgreSQL refuses UPDATE, DELETE and TRUNCATE on the ledger tables for every role, the
owner's and a superuser's included, even with ``session_replication_role = replica``."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import psycopg
import pytest

from tests.conftest import LedgerEnv
from trustledger.app.transparency import create_checkpoint
from trustledger.ledger.cosignature import cosign
from trustledger.ledger.keys import generate_signing_key
from trustledger.ledger.note import format_signature_line, parse_note
from trustledger.storage.base import APPEND_ONLY_TABLES
from trustledger.storage.postgres import PostgresStore, split_schema

TABLES = APPEND_ONLY_TABLES  # events, chain, decisions, Merkle, checkpoints, cosignatures
STATEMENTS = {
    "UPDATE": "UPDATE {t} SET {c} = {c}",
    "DELETE": "DELETE FROM {t} WHERE true",
    "TRUNCATE": "TRUNCATE {t} CASCADE",
}


@pytest.fixture
def conn(pg_ledger: LedgerEnv) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    pg_ledger.append_history()
    store = PostgresStore(pg_ledger.url)
    try:  # a row in every table: a checkpoint and a cosignature line too (both valid)
        note = create_checkpoint(store, generate_signing_key("log"))
        line = cosign(parse_note(note).text, generate_signing_key("witness"), timestamp=1)
        latest = store.latest_checkpoint()
        assert latest is not None
        store.add_cosignatures(latest.id, [format_signature_line(line)[:-1]])
    finally:
        store.close()
    dsn, schema = split_schema(pg_ledger.url)
    with psycopg.connect(dsn, autocommit=True, options=f"-c search_path={schema}") as c:
        # The tests connect as a superuser that owns the tables: the triggers refuse even it.
        assert c.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
        yield c


def _first_column(conn: psycopg.Connection[tuple[object, ...]], table: str) -> str:
    row = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = "
        "current_schema() AND table_name = %s ORDER BY ordinal_position LIMIT 1",
        (table,),
    ).fetchone()
    assert row is not None
    return str(row[0])


def _snapshot(conn: psycopg.Connection[tuple[object, ...]], table: str) -> list[tuple[object, ...]]:
    return conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()


def _try_change(conn: psycopg.Connection[tuple[object, ...]], table: str, verb: str) -> None:
    before = _snapshot(conn, table)
    assert before
    with pytest.raises(
        psycopg.errors.RaiseException,
        match=rf"^trustledger: {table} is append-only \({verb} refused\)",
    ):
        conn.execute(STATEMENTS[verb].format(t=table, c=_first_column(conn, table)))
    assert _snapshot(conn, table) == before


@pytest.mark.parametrize("replica", [False, True], ids=["origin", "replica-role"])
@pytest.mark.parametrize("verb", ["UPDATE", "DELETE", "TRUNCATE"])
@pytest.mark.parametrize("table", TABLES)
def test_change_is_refused_even_for_the_owner(
    conn: psycopg.Connection[tuple[object, ...]], table: str, verb: str, replica: bool
) -> None:
    if replica:
        # A superuser's usual way around triggers; ENABLE ALWAYS triggers still fire.
        conn.execute("SET session_replication_role = replica")
    try:
        _try_change(conn, table, verb)
    finally:
        conn.execute("RESET session_replication_role")


@pytest.fixture
def writer(pg_ledger: LedgerEnv) -> Iterator[str]:
    """A login role, not a superuser, with every privilege on the ledger tables and the
    ownership of one of them."""
    name = f"tl_writer_{secrets.token_hex(4)}"
    dsn, schema = split_schema(pg_ledger.url)
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{name}" LOGIN NOSUPERUSER')
        admin.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO "{name}"')
        admin.execute(f'GRANT ALL ON ALL TABLES IN SCHEMA "{schema}" TO "{name}"')
        admin.execute(f'ALTER TABLE "{schema}".trustledger_decisions OWNER TO "{name}"')
    yield name
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(f'REASSIGN OWNED BY "{name}" TO CURRENT_USER')
        admin.execute(f'DROP OWNED BY "{name}"')
        admin.execute(f'DROP ROLE "{name}"')


@pytest.mark.parametrize("verb", ["UPDATE", "DELETE", "TRUNCATE"])
def test_change_is_refused_for_a_role_with_every_privilege(
    conn: psycopg.Connection[tuple[object, ...]], writer: str, verb: str
) -> None:
    conn.execute(f'SET ROLE "{writer}"')
    try:
        assert conn.execute(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone() == (False,)
        for table in TABLES:  # trustledger_decisions is this role's own table
            _try_change(conn, table, verb)
    finally:
        conn.execute("RESET ROLE")


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
