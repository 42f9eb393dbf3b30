"""The append path's reads stay index lookups on a large PostgreSQL store the planner has no
statistics for (autovacuum off, or behind a bulk load): replaying one shop's history used to
be planned as a hash join over a sequential scan of the whole chain table, so every append
slowed in proportion to the log (docs/BENCHMARKS.md, "Growth")."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.sql import SQL

from tests.conftest import LedgerEnv
from trustledger.domain.identity import shop_aggregate_id, topic_of
from trustledger.storage.postgres import (
    PostgresStore,
    current_versions_query,
    ever_banned_query,
    split_schema,
)

ROWS = 100_000


def test_replaying_a_shop_reads_its_chain_rows_by_key_on_an_unanalysed_store(
    pg_ledger: LedgerEnv,
) -> None:
    pg_ledger.append_history("shop-1")
    dsn, schema = split_schema(pg_ledger.url)
    with psycopg.connect(dsn, autocommit=True, options=f"-c search_path={schema}") as conn:
        _unanalysed_events(conn)
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


def _unanalysed_events(conn: psycopg.Connection[Any]) -> None:
    """ROWS events of other aggregates, of a realistic size, with chain rows, in tables
    autovacuum never analyses (the append-only triggers refuse changes, not inserts): the
    planner's estimates come from the tables' pages alone."""
    for table in ("stored_events", "trustledger_chain"):
        conn.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
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


def test_a_batchs_shops_are_probed_by_key_on_an_unanalysed_store(pg_ledger: LedgerEnv) -> None:
    # current_versions and ever_banned run for every batch with up to thousands of shops;
    # `originator_id = ANY(...)` became a parallel bitmap heap scan of every event of those
    # shops (JIT-compiled) on such a store, each batch.
    pg_ledger.append_history("shop-1")
    dsn, schema = split_schema(pg_ledger.url)
    shop = shop_aggregate_id("shop-1")
    ids = [shop, *(shop_aggregate_id(f"shop-{n}") for n in range(2, 1001))]
    with psycopg.connect(dsn, autocommit=True, options=f"-c search_path={schema}") as conn:
        _unanalysed_events(conn)
        events = SQL("stored_events")
        banned = (ids, topic_of("penalty.imposed"), b"permanent_ban")
        plans = {
            "current_versions": conn.execute(
                SQL("EXPLAIN ") + current_versions_query(events), (ids,)
            ).fetchall(),
            "ever_banned": conn.execute(
                SQL("EXPLAIN ") + ever_banned_query(events), banned
            ).fetchall(),
        }
        store = PostgresStore(pg_ledger.url)
        try:
            versions = store.current_versions(ids)
            ever = store.ever_banned(ids)
        finally:
            store.close()
    for name, plan in plans.items():
        text = "\n".join(str(row[0]) for row in plan)
        # Probed id by id through the primary key (a bitmap of one id's entries is such a
        # probe), never a scan, a sort or a parallel plan over the events.
        for bad in ("Seq Scan on stored_events", "Gather", "Merge Join", "Hash Join", "Sort"):
            assert bad not in text, (name, text)
        assert "Nested Loop" in text or "SubPlan" in text, (name, text)
        assert "Index Cond: (originator_id = i.id)" in text, (name, text)
    assert versions == {shop: 8}
    assert ever == set()
