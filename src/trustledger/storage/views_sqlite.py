"""The standings view in SQLite: eventsourcing's SQLite tracking recorder plus the view tables.

The view lives in the ledger's own database file. Its tables are not append-only (a rebuild
empties them); the ledger's tables are never touched here except to read a chain position.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from eventsourcing.persistence import IntegrityError, PersistenceError, Tracking
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder

from trustledger.errors import NotFound, StorageUnavailable
from trustledger.storage.base import CHAIN_TABLE
from trustledger.storage.url import lock_timeout
from trustledger.storage.views import (
    FACTS_TABLE,
    RULE_SETS_TABLE,
    TRACKING_TABLE,
    FactRow,
    RuleSetRow,
    StandingsView,
)

# A larger page cache for writing batches and sorting the shop index (negative = KiB).
_CACHE_SIZE_KIB = 256 * 1024
_SHOP_INDEX = f"{FACTS_TABLE}_by_shop"
_CREATE_SHOP_INDEX = (
    f"CREATE INDEX IF NOT EXISTS {_SHOP_INDEX} ON {FACTS_TABLE} (shop_id, notification_id)"
)


class SQLiteStandingsView(SQLiteTrackingRecorder, StandingsView):
    """eventsourcing's ``SQLiteTrackingRecorder`` whose transactions also write the view rows."""

    def __init__(self, datastore: SQLiteDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        # Our own tracking table, so that other projections' tracking never mixes with ours.
        self.insert_tracking_statement = self.insert_tracking_statement.replace(
            "INTO tracking", f"INTO {TRACKING_TABLE}"
        ).replace("WHERE tracking.", f"WHERE {TRACKING_TABLE}.")
        self.select_max_tracking_id_statement = self.select_max_tracking_id_statement.replace(
            "FROM tracking", f"FROM {TRACKING_TABLE}"
        )

    @classmethod
    def for_path(cls, path: str) -> SQLiteStandingsView:
        return cls(SQLiteDatastore(db_name=path, lock_timeout=lock_timeout()))

    def construct_create_table_statements(self) -> list[str]:
        statements = [
            s.replace(
                "CREATE TABLE IF NOT EXISTS tracking",
                f"CREATE TABLE IF NOT EXISTS {TRACKING_TABLE}",
            )
            for s in super().construct_create_table_statements()
        ]
        return [
            *statements,
            # Facts are stored in ledger order (the rowid is the notification id, so a batch
            # appends to the end of the table) and found by shop through an index, which a
            # rebuild drops and builds again in one sort at the end (reset, build_indexes):
            # inserted row by row, a batch of a 100k-shop ledger would dirty thousands of
            # index pages per commit (docs/PROJECTIONS.md "The view").
            f"CREATE TABLE IF NOT EXISTS {FACTS_TABLE} ("
            "notification_id INTEGER PRIMARY KEY, shop_id TEXT NOT NULL, "
            "occurred_at INTEGER NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL)",
            _CREATE_SHOP_INDEX,
            f"CREATE TABLE IF NOT EXISTS {RULE_SETS_TABLE} ("
            "notification_id INTEGER PRIMARY KEY, toml TEXT NOT NULL)",
        ]

    def create_table(self) -> None:
        try:
            super().create_table()
        except (PersistenceError, sqlite3.Error) as exc:
            raise StorageUnavailable(f"cannot create the standings view: {exc}") from exc

    def exists(self) -> bool:
        rows = self._read(
            "SELECT count(*) FROM sqlite_master WHERE type='table' AND name IN (?, ?, ?)",
            (FACTS_TABLE, RULE_SETS_TABLE, TRACKING_TABLE),
            check=False,
        )
        return bool(rows[0][0] == 3)

    def record(
        self, facts: Sequence[FactRow], rule_sets: Sequence[RuleSetRow], tracking: Tracking
    ) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute(f"PRAGMA cache_size = -{_CACHE_SIZE_KIB}")
            # Tracking first: a batch applied already is refused before any row is written.
            self._insert_tracking(c, tracking)
            if facts:
                c.executemany(
                    f"INSERT INTO {FACTS_TABLE} "
                    "(shop_id, notification_id, occurred_at, type, data) VALUES (?,?,?,?,?)",
                    facts,
                )
            if rule_sets:
                c.executemany(f"INSERT INTO {RULE_SETS_TABLE} VALUES (?,?)", rule_sets)

    def reset(self) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute(f"DROP INDEX IF EXISTS {_SHOP_INDEX}")  # until build_indexes()
            c.execute(f"DELETE FROM {FACTS_TABLE}")
            c.execute(f"DELETE FROM {RULE_SETS_TABLE}")
            c.execute(
                f"DELETE FROM {TRACKING_TABLE} WHERE application_name <> ?", ("__migration__",)
            )

    def build_indexes(self) -> None:
        try:
            with self.datastore.transaction(commit=True) as c:
                c.execute(f"PRAGMA cache_size = -{_CACHE_SIZE_KIB}")
                c.execute(_CREATE_SHOP_INDEX)
        except (PersistenceError, sqlite3.Error) as exc:
            raise StorageUnavailable(f"cannot index the standings view: {exc}") from exc

    def _read(self, sql: str, params: Sequence[Any] = (), *, check: bool = True) -> list[Any]:
        try:
            with self.datastore.transaction(commit=False) as c:
                c.execute(sql, params)
                return list(c.fetchall())
        except (PersistenceError, sqlite3.Error) as exc:
            if check and "no such table" in str(exc):
                raise NotFound(
                    "the standings view is not built: run `trustledger projections rebuild`"
                ) from exc
            raise StorageUnavailable(f"standings view: {exc}") from exc

    def shop_facts(self, shop_id: str) -> list[FactRow]:
        rows = self._read(
            f"SELECT shop_id, notification_id, occurred_at, type, data FROM {FACTS_TABLE} "
            "WHERE shop_id = ? ORDER BY notification_id",
            (shop_id,),
        )
        return [FactRow(*row) for row in rows]

    def iter_facts(self) -> Iterator[FactRow]:
        page = 10_000
        last: tuple[str, int] = ("", -1)
        while True:
            rows = self._read(
                f"SELECT shop_id, notification_id, occurred_at, type, data FROM {FACTS_TABLE} "
                "WHERE (shop_id, notification_id) > (?, ?) "
                f"ORDER BY shop_id, notification_id LIMIT {page}",
                last,
            )
            for row in rows:
                yield FactRow(*row)
            if len(rows) < page:
                return
            last = (rows[-1][0], rows[-1][1])

    def rule_sets(self) -> list[RuleSetRow]:
        rows = self._read(f"SELECT notification_id, toml FROM {RULE_SETS_TABLE} ORDER BY 1")
        return [RuleSetRow(*row) for row in rows]

    def position_of(self, notification_id: int) -> int | None:
        rows = self._read(
            f"SELECT position FROM {CHAIN_TABLE} WHERE notification_id = ?", (notification_id,)
        )
        return int(rows[0][0]) if rows else None

    def close(self) -> None:
        self.datastore.close()


__all__ = ["IntegrityError", "SQLiteStandingsView"]
