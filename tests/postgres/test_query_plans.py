"""The append path's reads stay index lookups on a large PostgreSQL store the planner has no
statistics for (autovacuum off, or behind a bulk load): replaying one shop's history used to
be planned as a hash join over a sequential scan of the whole chain table, so every append
slowed in proportion to the log (docs/BENCHMARKS.md, "Growth")."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.sql import SQL

from tests.conftest import LedgerEnv
from trustledger.domain.identity import shop_aggregate_id
from trustledger.storage.postgres import PostgresStore, split_schema

ROWS = 100_000


def test_replaying_a_shop_reads_its_chain_rows_by_key_on_an_unanalysed_store(
    pg_ledger: LedgerEnv,
) -> None:
    pg_ledger.append_history("shop-1")
    dsn, schema = split_schema(pg_ledger.url)
    with psycopg.connect(dsn, autocommit=True, options=f"-c search_path={schema}") as conn:
        for table in ("stored_events", "trustledger_chain"):
            conn.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
        # Events of other aggregates, of a realistic size (the append-only triggers refuse
        # changes, not inserts): the estimates come from the tables' pages.
        conn.execute(
            "INSERT INTO stored_events (originator_id, originator_version, topic, state) "
            "SELECT gen_random_uuid(), 1, 'bench', convert_to(repeat('x', 1500), 'UTF8') "
            "FROM generate_series(1, %s)",
            (ROWS,),
        )
        conn.execute(
            "INSERT INTO trustledger_chain SELECT notification_id, 100 + notification_id, "
            "'\\x00'::bytea, '\\x00'::bytea FROM stored_events WHERE topic = 'bench'"
        )
        store = PostgresStore(pg_ledger.url)
        try:
            # The statement events_of runs (the shop's id and "after version 0" bound).
            query = store._entry_select() + SQL(
                "WHERE e.originator_id = %s AND e.originator_version > %s "
                "ORDER BY e.originator_version"
            )
            plan: list[Any] = conn.execute(
                SQL("EXPLAIN ") + query, (shop_aggregate_id("shop-1"), 0)
            ).fetchall()
            entries = store.events_of(shop_aggregate_id("shop-1"))
        finally:
            store.close()
    text = "\n".join(str(row[0]) for row in plan)
    assert "Seq Scan on trustledger_chain" not in text, text
    assert "trustledger_chain_pkey" in text, text
    assert [entry.originator_version for entry in entries] == list(range(1, 9))
    assert all(entry.position is not None for entry in entries)
