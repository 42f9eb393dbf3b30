"""The standings view in PostgreSQL: eventsourcing's PostgreSQL tracking recorder plus the
view tables, in the ledger's own schema.

The view's tables are not append-only (a rebuild empties them); the ledger's tables are
never touched here except to read a chain position. Views can live on the primary or be
kept by a projection process next to a replica-fed copy (docs/OPERATIONS.md).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
from eventsourcing.persistence import IntegrityError, PersistenceError, Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from psycopg.sql import SQL, Composed, Identifier

from trustledger.errors import NotFound, StorageUnavailable
from trustledger.storage.base import CHAIN_TABLE
from trustledger.storage.views import (
    FACTS_TABLE,
    RULE_SETS_TABLE,
    TRACKING_TABLE,
    FactRow,
    RuleSetRow,
    StandingsView,
)


class PostgresStandingsView(PostgresTrackingRecorder, StandingsView):
    """eventsourcing's ``PostgresTrackingRecorder`` whose transactions also write the view."""

    def __init__(self, datastore: PostgresDatastore) -> None:
        super().__init__(datastore, tracking_table_name=TRACKING_TABLE)
        s = Identifier(datastore.schema)
        self._facts = SQL("{0}.{1}").format(s, Identifier(FACTS_TABLE))
        self._rule_sets = SQL("{0}.{1}").format(s, Identifier(RULE_SETS_TABLE))
        self._tracking = SQL("{0}.{1}").format(s, Identifier(TRACKING_TABLE))
        self._chain = SQL("{0}.{1}").format(s, Identifier(CHAIN_TABLE))
        self.sql_create_statements.extend(
            [
                SQL(
                    "CREATE TABLE IF NOT EXISTS {0} ("
                    # Binary order, as SQLite's: iter_facts gives the same bytes on both.
                    'shop_id text COLLATE "C" NOT NULL, notification_id bigint NOT NULL, '
                    "occurred_at bigint NOT NULL, type text NOT NULL, data text NOT NULL, "
                    "PRIMARY KEY (shop_id, notification_id))"
                ).format(self._facts),
                SQL(
                    "CREATE TABLE IF NOT EXISTS {0} ("
                    "notification_id bigint PRIMARY KEY, toml text NOT NULL)"
                ).format(self._rule_sets),
            ]
        )

    def create_table(self) -> None:
        try:
            super().create_table()
        except (PersistenceError, psycopg.Error) as exc:
            raise StorageUnavailable(f"cannot create the standings view: {exc}") from exc

    def exists(self) -> bool:
        rows = self._read(
            "SELECT count(*) FROM pg_tables WHERE schemaname = %s AND tablename = ANY(%s)",
            (self.datastore.schema, [FACTS_TABLE, RULE_SETS_TABLE, TRACKING_TABLE]),
            check=False,
        )
        return bool(rows[0][0] == 3)

    def record(
        self, facts: Sequence[FactRow], rule_sets: Sequence[RuleSetRow], tracking: Tracking
    ) -> None:
        try:
            with self.datastore.transaction(commit=True) as curs:
                # Tracking first: a batch applied already is refused before any row is written.
                self._insert_tracking(curs, tracking)
                if facts:
                    curs.execute(
                        SQL(
                            "INSERT INTO {0} SELECT * FROM unnest(%s::text[], %s::bigint[], "
                            "%s::bigint[], %s::text[], %s::text[])"
                        ).format(self._facts),
                        [list(column) for column in zip(*facts, strict=True)],
                    )
                if rule_sets:
                    curs.execute(
                        SQL(
                            "INSERT INTO {0} SELECT * FROM unnest(%s::bigint[], %s::text[])"
                        ).format(self._rule_sets),
                        [list(column) for column in zip(*rule_sets, strict=True)],
                    )
        except IntegrityError:
            raise
        except psycopg.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc

    def reset(self) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(SQL("DELETE FROM {0}").format(self._facts))
            curs.execute(SQL("DELETE FROM {0}").format(self._rule_sets))
            curs.execute(
                SQL("DELETE FROM {0} WHERE application_name <> %s").format(self._tracking),
                ("__migration__",),
            )

    def _read(
        self, sql: str | Composed, params: Sequence[Any] = (), *, check: bool = True
    ) -> list[Any]:
        try:
            with self.datastore.get_connection() as conn, conn.cursor() as curs:
                curs.execute(sql, params)
                return [tuple(row.values()) for row in curs.fetchall()]
        except (PersistenceError, psycopg.Error) as exc:
            if check and "does not exist" in str(exc):
                raise NotFound(
                    "the standings view is not built: run `trustledger projections rebuild`"
                ) from exc
            raise StorageUnavailable(f"standings view: {exc}") from exc

    def shop_facts(self, shop_id: str) -> list[FactRow]:
        rows = self._read(
            SQL(
                "SELECT shop_id, notification_id, occurred_at, type, data FROM {0} "
                "WHERE shop_id = %s ORDER BY notification_id"
            ).format(self._facts),
            (shop_id,),
        )
        return [FactRow(*row) for row in rows]

    def iter_facts(self) -> Iterator[FactRow]:
        page = 10_000
        last: tuple[str, int] = ("", -1)
        while True:
            rows = self._read(
                SQL(
                    "SELECT shop_id, notification_id, occurred_at, type, data FROM {0} "
                    "WHERE (shop_id, notification_id) > (%s, %s) "
                    "ORDER BY shop_id, notification_id LIMIT {1}"
                ).format(self._facts, SQL(str(page))),
                last,
            )
            for row in rows:
                yield FactRow(*row)
            if len(rows) < page:
                return
            last = (rows[-1][0], rows[-1][1])

    def rule_sets(self) -> list[RuleSetRow]:
        rows = self._read(
            SQL("SELECT notification_id, toml FROM {0} ORDER BY 1").format(self._rule_sets)
        )
        return [RuleSetRow(*row) for row in rows]

    def position_of(self, notification_id: int) -> int | None:
        rows = self._read(
            SQL("SELECT position FROM {0} WHERE notification_id = %s").format(self._chain),
            (notification_id,),
        )
        return int(rows[0][0]) if rows else None

    def close(self) -> None:
        self.datastore.close()


__all__ = ["IntegrityError", "PostgresStandingsView"]
