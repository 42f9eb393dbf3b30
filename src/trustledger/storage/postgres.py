"""PostgreSQL: the production store (one primary for appends, replicas for auditors).

The ledger is eventsourcing's PostgreSQL application recorder plus the chain and idempotency
tables, written in the same transaction as the events. eventsourcing takes
``LOCK TABLE stored_events IN EXCLUSIVE MODE`` before every insert, so inserting
transactions are serialised and commit in notification-id order: the previous chain row read
after the lock is the last committed one, so concurrent appenders on many machines can never
fork the chain, and a reader tailing notification ids never passes over an event that commits
later. Notification ids come from a sequence and may have gaps (rolled-back inserts);
positions, assigned under the lock, never do (docs/FORMAT.md §6).

Append-only is enforced by statement triggers refusing UPDATE, DELETE and TRUNCATE on the
ledger tables, enabled ``ALWAYS`` so that not even ``session_replication_role = replica``
(a superuser's way around ordinary triggers) skips them. A migration that must touch rows
disables them explicitly (``ALTER TABLE ... DISABLE TRIGGER``), which needs the owner.

Store URLs are libpq URIs with one addition: ``?schema=NAME`` puts the ledger in that schema
(default ``public``), so several ledgers can share a database.
"""

from __future__ import annotations

import contextlib
import functools
import getpass
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from uuid import UUID

import psycopg
from eventsourcing.persistence import PersistenceError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composable, Composed, Identifier

from trustledger.domain.identity import KEYRING_ID, topic_of
from trustledger.errors import Conflict, NotFound, StorageUnavailable, UsageError
from trustledger.ledger.chain import (
    GENESIS_CHAIN_HASH,
    MalformedEntry,
    StoredEntry,
    encode_entry,
)
from trustledger.storage.base import (
    APPEND_ONLY_TABLES,
    CHAIN_TABLE,
    CHECKPOINTS_TABLE,
    COSIGNATURES_TABLE,
    DECISIONS_TABLE,
    DERIVED_TABLES,
    EVENTS_TABLE,
    MERKLE_TABLE,
    SHOP_OWNERS_TABLE,
    SHOP_STATES_TABLE,
    SUBJECT_KEYS_TABLE,
    ChainHead,
    DerivedChanges,
    DerivedRows,
    RecordedDecision,
    Store,
    StoredCheckpoint,
    as_uuid,
    describe_failure,
    write_of,
)
from trustledger.storage.chaining import Frontier, append_rows
from trustledger.storage.url import lock_timeout
from trustledger.storage.views import FACTS_TABLE, RULE_SETS_TABLE, TRACKING_TABLE

REFUSE_FUNCTION = "trustledger_refuse_change"
TRIGGER_VERBS = ("UPDATE", "DELETE", "TRUNCATE")


def trigger_name(table: str, verb: str) -> str:
    return f"{table}_no_{verb.lower()}"


def ledger_ddl(schema: str) -> list[Composed]:
    """The statements that add trustledger's tables and triggers to eventsourcing's."""
    s = Identifier(schema)
    statements = [
        SQL(
            "CREATE TABLE IF NOT EXISTS {s}.{t} ("
            "notification_id bigint PRIMARY KEY, "
            "position bigint NOT NULL UNIQUE, "
            "leaf_hash bytea NOT NULL, "
            "chain_hash bytea NOT NULL)"
        ).format(s=s, t=Identifier(CHAIN_TABLE)),
        SQL(
            "CREATE TABLE IF NOT EXISTS {s}.{t} ("
            "decision_id text PRIMARY KEY, "
            "notification_id bigint NOT NULL, "
            "digest bytea NOT NULL)"
        ).format(s=s, t=Identifier(DECISIONS_TABLE)),
        SQL(
            "CREATE TABLE IF NOT EXISTS {s}.{t} ("
            "subject_id text PRIMARY KEY, "
            "subject_key bytea, "
            "created_at timestamptz NOT NULL DEFAULT now(), "
            "erased_at timestamptz)"
        ).format(s=s, t=Identifier(SUBJECT_KEYS_TABLE)),
        SQL(
            "CREATE TABLE IF NOT EXISTS {s}.{t} ("
            "level integer NOT NULL, idx bigint NOT NULL, hash bytea NOT NULL, "
            "PRIMARY KEY (level, idx))"
        ).format(s=s, t=Identifier(MERKLE_TABLE)),
        SQL(
            "CREATE TABLE IF NOT EXISTS {s}.{t} ("
            "id bigint PRIMARY KEY, size bigint NOT NULL, root_hash bytea NOT NULL, "
            "note bytea NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
        ).format(s=s, t=Identifier(CHECKPOINTS_TABLE)),
        SQL(
            "CREATE TABLE IF NOT EXISTS {s}.{t} ("
            "seq bigserial PRIMARY KEY, checkpoint_id bigint NOT NULL, line text NOT NULL, "
            "UNIQUE (checkpoint_id, line))"
        ).format(s=s, t=Identifier(COSIGNATURES_TABLE)),
        # Append-only, enforced by the database for every role (docs/DESIGN.md). The SQLSTATE is
        # P0001 (raise_exception), not an integrity error: an appender must not mistake it
        # for an optimistic-concurrency conflict and retry.
        SQL(
            "CREATE OR REPLACE FUNCTION {s}.{f}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'trustledger: % is append-only (% refused)', "
            "TG_TABLE_NAME, TG_OP; END $$"
        ).format(s=s, f=Identifier(REFUSE_FUNCTION)),
    ]
    for table in APPEND_ONLY_TABLES:
        for verb in TRIGGER_VERBS:
            name = Identifier(trigger_name(table, verb))
            statements.append(
                SQL(
                    "CREATE OR REPLACE TRIGGER {n} BEFORE {v} ON {s}.{t} "
                    "FOR EACH STATEMENT EXECUTE FUNCTION {s}.{f}()"
                ).format(
                    n=name, v=SQL(verb), s=s, t=Identifier(table), f=Identifier(REFUSE_FUNCTION)
                )
            )
            # ALWAYS: fires even with session_replication_role = replica.
            statements.append(
                SQL("ALTER TABLE {s}.{t} ENABLE ALWAYS TRIGGER {n}").format(
                    s=s, t=Identifier(table), n=name
                )
            )
    return statements


def shop_owners_ddl(schema: str) -> list[Composed]:
    """The shop owners table (storage.base.SHOP_OWNERS_TABLE): derived from the events, so
    not append-only (a repair rebuilds it); made by ``PostgresStore.ensure_shop_owners``."""
    s, t = Identifier(schema), Identifier(SHOP_OWNERS_TABLE)
    return [
        SQL(
            "CREATE TABLE {s}.{t} (notification_id bigint PRIMARY KEY, "
            "owner_subject_id text NOT NULL, shop_id text NOT NULL)"
        ).format(s=s, t=t),
        SQL("CREATE INDEX {i} ON {s}.{t} (owner_subject_id)").format(
            i=Identifier(f"{SHOP_OWNERS_TABLE}_owner"), s=s, t=t
        ),
    ]


# The standings view's tables (storage.views), which `grant-auditor` lets auditors read.
VIEW_TABLES = (FACTS_TABLE, RULE_SETS_TABLE, TRACKING_TABLE)


def _fill_shop_owners(schema: str) -> Composed:
    # Every recorded registration's owner and shop, from the signed payload in its stored
    # state (docs/FORMAT.md §5): one scan of the events, in the database.
    return SQL(
        "INSERT INTO {s}.{t} (notification_id, owner_subject_id, shop_id) "
        "SELECT notification_id, p -> 'data' ->> 'owner_subject_id', p ->> 'shop_id' "
        "FROM (SELECT notification_id, "
        "(convert_from(state, 'UTF8')::jsonb ->> 'payload')::jsonb AS p "
        "FROM {s}.{e} WHERE topic = %s) AS registrations"
    ).format(s=Identifier(schema), t=Identifier(SHOP_OWNERS_TABLE), e=Identifier(EVENTS_TABLE))


_REGISTERED_TOPIC = topic_of("shop.registered")


def shop_states_ddl(schema: str) -> Composed:
    """The shop states table (storage.base.SHOP_STATES_TABLE): a cache, so not append-only
    and not filled on a ledger made before it. Rows are rewritten in place at every write of
    their shop: fillfactor 80 leaves room on each page for PostgreSQL to keep the new
    version there (a HOT update, no index entry), so the table does not bloat."""
    return SQL(
        "CREATE TABLE IF NOT EXISTS {s}.{t} (shop_id text PRIMARY KEY, "
        "version bigint NOT NULL, state bytea NOT NULL) WITH (fillfactor = 80)"
    ).format(s=Identifier(schema), t=Identifier(SHOP_STATES_TABLE))


def _advisory_key(schema: str) -> int:
    # One lock per schema, held while creating: concurrent `init`s run the DDL one at a time.
    return zlib.crc32(f"trustledger:{schema}".encode())


class ColumnarEventsRecorder(PostgresApplicationRecorder):
    """eventsourcing's PostgreSQL application recorder, sending each batch of events as four
    binary arrays, one per column.

    eventsourcing's own statement sends one array of its composite type through a ``%s``
    placeholder, for which psycopg picks its text format, every state's bytes hex-escaped
    in Python: measured, a third of a batched append's time (docs/BENCHMARKS.md §4). The
    rows, the table lock and the NOTIFY are eventsourcing's; only the encoding on the wire
    differs.
    """

    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = EVENTS_TABLE
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self._insert_event_columns = SQL(
            "INSERT INTO {s}.{t} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%b::{i}[], %b::bigint[], %b::text[], %b::bytea[]) "
            "RETURNING notification_id"
        ).format(
            s=Identifier(datastore.schema),
            t=Identifier(events_table_name),
            i=Identifier(datastore.originator_id_type),
        )
        self._ids_as_uuid = datastore.originator_id_type == "uuid"

    def _insert_stored_events(
        self, curs: psycopg.Cursor[DictRow], stored_events: Sequence[StoredEvent], **_: Any
    ) -> None:
        # What PostgresApplicationRecorder does (the table lock that keeps commit order equal
        # to notification order, then NOTIFY), with the events sent as columns. RETURNING
        # gives the notification ids in the order of the arrays, as eventsourcing's own
        # statement does for its array of composites.
        self._lock_table(curs)
        self._notify_channel(curs)
        as_uuid = self._ids_as_uuid
        curs.execute(
            self._insert_event_columns,
            (
                [
                    UUID(e.originator_id)
                    if as_uuid and not isinstance(e.originator_id, UUID)
                    else e.originator_id
                    for e in stored_events
                ],
                [e.originator_version for e in stored_events],
                [e.topic for e in stored_events],
                [e.state for e in stored_events],
            ),
            prepare=True,
        )


class LedgerPostgresRecorder(ColumnarEventsRecorder):
    """eventsourcing's PostgreSQL recorder that also chains every event it inserts."""

    # The tree's frontier after this recorder's last insert (storage.chaining.Frontier).
    _frontier: Frontier | None = None

    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = EVENTS_TABLE
    ) -> None:
        if datastore.enable_db_functions:
            # eventsourcing's stored-function insert path takes no table lock and has no hook
            # for the chain rows: a reader could skip an event committed late.
            raise UsageError("POSTGRES_ENABLE_DB_FUNCTIONS is not supported by trustledger")
        # The table is always `stored_events` (docs/FORMAT.md §7), whatever eventsourcing's
        # factory derives from the application's name.
        del events_table_name
        super().__init__(datastore, events_table_name=EVENTS_TABLE)
        kwargs = datastore.pool.kwargs
        self._user = kwargs.get("user") if isinstance(kwargs, dict) else None
        self.sql_create_statements.extend(ledger_ddl(datastore.schema))
        schema = Identifier(datastore.schema)
        self._select_head = SQL(
            "SELECT position, chain_hash FROM {s}.{t} ORDER BY position DESC LIMIT 1"
        ).format(s=schema, t=Identifier(CHAIN_TABLE))
        self._insert_chain = SQL(
            "INSERT INTO {s}.{t} (notification_id, position, leaf_hash, chain_hash) "
            "SELECT * FROM unnest(%b::bigint[], %b::bigint[], %b::bytea[], %b::bytea[])"
        ).format(s=schema, t=Identifier(CHAIN_TABLE))
        self._insert_merkle = SQL(
            "INSERT INTO {s}.{t} (level, idx, hash) "
            "SELECT * FROM unnest(%b::integer[], %b::bigint[], %b::bytea[])"
        ).format(s=schema, t=Identifier(MERKLE_TABLE))
        self._select_nodes = nodes_query(datastore.schema)
        self._select_keyring_version = SQL(
            "SELECT max(originator_version) AS version FROM {s}.{t} WHERE originator_id = %s"
        ).format(s=schema, t=Identifier(EVENTS_TABLE))
        # FOR SHARE: an erasure under way is waited for (and its result read), one not yet
        # begun waits for this transaction (AppendWrite.sealed_subjects).
        self._select_erased_subjects = SQL(
            "SELECT k.subject_id, k.subject_key IS NULL AS erased "
            "FROM unnest(%b::text[]) AS wanted(subject_id) JOIN {s}.{t} k USING (subject_id) "
            "FOR SHARE OF k"
        ).format(s=schema, t=Identifier(SUBJECT_KEYS_TABLE))
        self._insert_decisions = SQL(
            "INSERT INTO {s}.{t} (decision_id, notification_id, digest) "
            "SELECT * FROM unnest(%b::text[], %b::bigint[], %b::bytea[])"
        ).format(s=schema, t=Identifier(DECISIONS_TABLE))
        self._insert_subject_key = SQL(
            "INSERT INTO {s}.{t} (subject_id, subject_key) "
            "SELECT * FROM unnest(%b::text[], %b::bytea[])"
        ).format(s=schema, t=Identifier(SUBJECT_KEYS_TABLE))
        self._insert_owners = SQL(
            "INSERT INTO {s}.{t} (notification_id, owner_subject_id, shop_id) "
            "SELECT * FROM unnest(%b::bigint[], %b::text[], %b::text[])"
        ).format(s=schema, t=Identifier(SHOP_OWNERS_TABLE))
        self._select_owner_shops = SQL(
            "SELECT owner_subject_id, shop_id FROM {s}.{t} WHERE owner_subject_id = ANY(%b)"
        ).format(s=schema, t=Identifier(SHOP_OWNERS_TABLE))
        self._upsert_shop_states = SQL(
            "INSERT INTO {s}.{t} (shop_id, version, state) "
            "SELECT * FROM unnest(%b::text[], %b::bigint[], %b::bytea[]) "
            "ON CONFLICT (shop_id) DO UPDATE SET version = EXCLUDED.version, "
            "state = EXCLUDED.state"
        ).format(s=schema, t=Identifier(SHOP_STATES_TABLE))
        self._select_versions = SQL(
            "SELECT originator_id, max(originator_version) AS version FROM {s}.{t} "
            "WHERE originator_id = ANY(%b) GROUP BY originator_id"
        ).format(s=schema, t=Identifier(EVENTS_TABLE))

    def create_table(self) -> None:
        """Create types, tables, indexes and triggers in one transaction, under an advisory
        lock, so that several processes running ``init`` at once do not race."""
        schema = self.datastore.schema
        with self.datastore.transaction(commit=True) as curs:
            curs.execute("SELECT pg_advisory_xact_lock(%s)", (_advisory_key(schema),))
            curs.execute(SQL("CREATE SCHEMA IF NOT EXISTS {0}").format(Identifier(schema)))
            for statement in self.sql_create_statements:
                if "CREATE TYPE" in statement.as_string():
                    curs.execute(
                        "SELECT 1 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
                        "WHERE n.nspname = %s AND t.typname = %s",
                        (schema, self.stored_event_type_name),
                    )
                    if curs.fetchone() is not None:
                        continue
                curs.execute(statement, prepare=False)
        self.datastore.register_type_adapters()

    # No automatic retry (eventsourcing retries on a lost connection): a dropped connection
    # rolls the transaction back, and the caller gets a clear error and retries the batch,
    # which is idempotent by decision id.
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        try:
            return self._insert_events_atomically(stored_events, **kwargs)
        except PersistenceError as exc:
            cause = exc.__cause__
            refused = isinstance(
                cause, pg_errors.InsufficientPrivilege | pg_errors.ReadOnlySqlTransaction
            )
            # A refusal may surface as another error (a read-only session's, a trigger's): ask.
            if refused or not self._may_write():
                raise StorageUnavailable(
                    f"role {self._user} may not write to this ledger "
                    f"(no INSERT on {EVENTS_TABLE}, or read-only sessions): "
                    "append with the ledger's writer role"
                ) from exc
            raise

    def _insert_events_atomically(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """eventsourcing's ``PostgresApplicationRecorder.insert_events`` without its pipeline
        mode and its retry, rolling back on an exception raised after the events were
        inserted.

        Not in pipeline mode: psycopg 3.3.9's pipeline can stop sending a large statement
        half-way and wait for good, holding the table lock (a batch of tens of thousands of
        decisions hung most of the time; tests/postgres/psycopg_pipeline_repro.py). Each
        statement here is sent whole and its result read before the next: a few round
        trips a batch, and a constraint violation surfaces at the statement that made it.

        eventsourcing 9.5 keeps an exception from ``_fetch_ids_after_insert_events`` (where
        the chain rows are written and the keyring and erasures checked) until its
        transaction block has ended, and that block commits: the events would stay without
        their chain rows. Here any exception ends the block with a rollback (T10: no
        partial entry).
        """
        with (
            self.datastore.get_connection() as conn,
            conn.transaction(),
            conn.cursor() as curs,
        ):
            self._insert_events(curs, stored_events, **kwargs)
            if not stored_events:
                return None
            self._insert_stored_events(curs, stored_events, **kwargs)
            return self._fetch_ids_after_insert_events(curs, stored_events, **kwargs)

    def _may_write(self) -> bool:
        table = f"{self.datastore.schema}.{EVENTS_TABLE}"
        try:
            with self.datastore.get_connection() as conn:
                row = conn.execute(
                    "SELECT has_table_privilege(%s, 'INSERT') "
                    "AND current_setting('transaction_read_only') = 'off' AS ok",
                    (table,),
                ).fetchone()
        except (PersistenceError, psycopg.Error):
            return True  # cannot tell: report the original error
        return bool(row and row["ok"])

    def _fetch_ids_after_insert_events(
        self, curs: psycopg.Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        # Called inside eventsourcing's insert transaction, after the table lock was taken
        # and the events inserted: the chain rows go in the same transaction (T10).
        notification_ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        assert notification_ids is not None
        write = write_of(kwargs)
        if write is not None and write.keyring_version is not None:
            # Under the table lock, which every key event's insert takes too: no key event
            # can commit between this read and ours (AppendWrite.keyring_version).
            curs.execute(self._select_keyring_version, (KEYRING_ID,), prepare=True)
            row = curs.fetchone()
            write.check_keyring(row["version"] if row else None)
        if write is not None and write.sealed_subjects:
            curs.execute(self._select_erased_subjects, (write.sealed_subjects,), prepare=True)
            write.check_subjects([r["subject_id"] for r in curs.fetchall() if r["erased"]])
        if write is not None and write.owners_read:
            # Under the table lock, which every append takes (AppendWrite.owners_read).
            curs.execute(self._select_owner_shops, (list(write.owners_read),))
            shops_now: dict[str, set[str]] = {}
            for r in curs.fetchall():
                shops_now.setdefault(r["owner_subject_id"], set()).add(r["shop_id"])
            ids = [UUID(str(a)) for shops in write.owners_read.values() for a, _, _ in shops]
            curs.execute(self._select_versions, (ids,))
            write.check_owners(
                shops_now, {UUID(str(r["originator_id"])): r["version"] for r in curs.fetchall()}
            )
        curs.execute(self._select_head, prepare=True)
        row = curs.fetchone()
        position, chain = (
            (row["position"], bytes(row["chain_hash"])) if row else (-1, GENESIS_CHAIN_HASH)
        )

        def read_nodes(ids: Sequence[tuple[int, int]]) -> list[bytes]:
            curs.execute(self._select_nodes, ([i[0] for i in ids], [i[1] for i in ids]))
            return _found_nodes(ids, [(r["ord"], r["hash"]) for r in curs.fetchall()])

        # The same rows as every backend (storage.chaining), computed under the table lock;
        # the tree's frontier is read only if the last one kept is not this head's.
        chain_rows, nodes, frontier = append_rows(
            position, chain, stored_events, notification_ids, read_nodes, self._frontier
        )
        # chain_rows is not empty: eventsourcing calls this only after inserting events.
        chain_columns = _columns(chain_rows)
        positions = chain_columns[1]
        curs.execute(self._insert_chain, chain_columns, prepare=True)
        if nodes:
            curs.execute(self._insert_merkle, _columns(nodes), prepare=True)
        if write is not None:
            rows = write.index_rows(stored_events, notification_ids)
            if rows:
                curs.execute(self._insert_decisions, _columns(rows), prepare=True)
            if write.subject_keys:
                # A plain INSERT: a subject keyed concurrently by another appender makes this
                # transaction fail whole, and the batch is judged again with that key.
                curs.execute(self._insert_subject_key, _columns(write.subject_keys), prepare=True)
            if write.shop_owners:
                curs.execute(self._insert_owners, _columns(write.owner_rows(notification_ids)))
            if write.shop_states:
                curs.execute(self._upsert_shop_states, _columns(write.shop_states), prepare=True)
            if positions:
                write.note_positions(stored_events, positions[0])
        # Kept for the next insert; harmless if this transaction is rolled back, since then
        # no chain head will match it (storage.chaining.Frontier).
        self._frontier = frontier
        return notification_ids


def _columns(rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """Rows as one list per column: the arrays an ``unnest(...)`` insert takes."""
    return [list(column) for column in zip(*rows, strict=True)]


# The append path asks about a batch's shops by their ids as an unnest()ed array joined to
# the events' primary key, never ``originator_id = ANY(...)``: on tables the planner has no
# statistics for (autovacuum off, or a bulk load not yet analysed) ANY over a thousand ids
# was estimated at hundreds of thousands of rows and planned as a parallel bitmap heap scan
# of every event of every shop, JIT-compiled, in each batch (measured: the append rate of a
# 2.4M-decision ledger fell below 700 decisions/s). tests/postgres/test_query_plans.py.


def current_versions_query(events: Composable) -> Composed:
    """Each id's newest event version (NULL for none): one backward probe of the primary
    key per id, whatever the statistics."""
    return SQL(
        "SELECT i.id, (SELECT e.originator_version FROM {e} e WHERE e.originator_id = i.id "
        "ORDER BY e.originator_version DESC LIMIT 1) FROM unnest(%b::uuid[]) AS i(id)"
    ).format(e=events)


def ever_banned_query(events: Composable) -> Composed:
    """The ids, among those given, with a penalty.imposed event mentioning a permanent ban
    (parameters: ids, the topic, the marker bytes)."""
    # LATERAL ... LIMIT 1, not a join or EXISTS, which the planner may turn into a merge
    # join over a scan of every event: a subquery with a LIMIT is probed per id.
    return SQL(
        "SELECT i.id FROM unnest(%b::uuid[]) AS i(id) CROSS JOIN LATERAL (SELECT 1 FROM {e} e "
        "WHERE e.originator_id = i.id AND e.topic = %s AND position(%b IN e.state) > 0 "
        "LIMIT 1) AS banned"
    ).format(e=events)


def nodes_query(schema: str) -> Composed:
    """Hashes of Merkle nodes given as two arrays (levels, indexes), in the order given:
    level 0 is a chain row's leaf hash, levels >= 1 rows of the Merkle table. Two index
    lookups joined by ordinal (a single join on either table would scan it)."""
    s = Identifier(schema)
    return SQL(
        "WITH n AS (SELECT * FROM unnest(%b::integer[], %b::bigint[]) "
        "WITH ORDINALITY AS n(level, idx, ord)) "
        "SELECT n.ord, c.leaf_hash AS hash FROM n JOIN {s}.{c} c ON c.position = n.idx "
        "WHERE n.level = 0 "
        "UNION ALL "
        "SELECT n.ord, m.hash FROM n JOIN {s}.{m} m ON m.level = n.level AND m.idx = n.idx "
        "WHERE n.level > 0 "
        "ORDER BY 1"
    ).format(s=s, c=Identifier(CHAIN_TABLE), m=Identifier(MERKLE_TABLE))


def _found_nodes(ids: Sequence[tuple[int, int]], rows: Sequence[Any]) -> list[bytes]:
    """The hashes of ``(ordinal, hash)`` rows, in order; NotFound for a missing node."""
    found = {int(ordinal): bytes(digest) for ordinal, digest in rows}
    for ordinal, node in enumerate(ids, start=1):
        if ordinal not in found:
            raise NotFound(f"Merkle node (level {node[0]}, index {node[1]}) is not stored")
    return [found[ordinal] for ordinal in range(1, len(ids) + 1)]


# -- URLs ---------------------------------------------------------------------------------


def split_schema(url: str) -> tuple[str, str]:
    """(libpq URI without our ``schema`` parameter, schema name)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = "public"
    kept = []
    for key, value in query:
        if key == "schema":
            schema = value
        else:
            kept.append((key, value))
    if not schema or len(schema) > 63:
        raise UsageError(f"store URL {url!r}: schema must be 1 to 63 characters")
    return urlunsplit(parts._replace(query=urlencode(kept))), schema


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


_uuid = functools.lru_cache(maxsize=65_536)(UUID)


def _entry(row: tuple[Any, ...]) -> StoredEntry:
    try:
        if not isinstance(row[2], int) or row[2] < 0 or not isinstance(row[3], str):
            raise TypeError("originator_version or topic of the wrong type or range")
        if row[4] is None:
            raise TypeError("state is NULL")
        originator_id = row[1] if isinstance(row[1], UUID) else _uuid(str(row[1]))
        return StoredEntry(
            notification_id=row[0],
            originator_id=originator_id,
            originator_version=row[2],
            topic=row[3],
            state=bytes(row[4]),
            position=row[5],
            chain_hash=bytes(row[6]) if row[6] is not None else None,
            leaf_hash=bytes(row[7]) if row[7] is not None else None,
        )
    except (ValueError, TypeError) as exc:
        raise MalformedEntry(row[0], f"stored row is not a ledger entry: {exc}") from exc


T = TypeVar("T")

# Range reads of the tiles (Store.iter_node_hashes, Store.iter_entry_bytes), a page a query.
_PAGE = 4096


class PostgresStore(Store):
    """A ledger in a PostgreSQL database (one schema of it)."""

    def __init__(self, url: str, *, read_only: bool = False) -> None:
        self.url = _redact(url)
        self.read_only = read_only
        self.dsn, self.schema = split_schema(url)
        try:
            self._params = conninfo_to_dict(self.dsn)
        except psycopg.ProgrammingError as exc:
            raise UsageError(f"malformed PostgreSQL URL {self.url}: {exc}") from exc
        self._conn: psycopg.Connection[tuple[Any, ...]] | None = None
        self._listener: psycopg.Connection[tuple[Any, ...]] | None = None
        self._lock = threading.Lock()
        s = Identifier(self.schema)
        self._events = SQL("{0}.{1}").format(s, Identifier(EVENTS_TABLE))
        self._chain = SQL("{0}.{1}").format(s, Identifier(CHAIN_TABLE))
        self._decisions = SQL("{0}.{1}").format(s, Identifier(DECISIONS_TABLE))
        self._subjects = SQL("{0}.{1}").format(s, Identifier(SUBJECT_KEYS_TABLE))
        self._merkle = SQL("{0}.{1}").format(s, Identifier(MERKLE_TABLE))
        self._owners = SQL("{0}.{1}").format(s, Identifier(SHOP_OWNERS_TABLE))
        self._owners_ready = False
        self._states = SQL("{0}.{1}").format(s, Identifier(SHOP_STATES_TABLE))
        self._states_ready: bool | None = None  # ensure_shop_states's answer, once asked

    # -- connection ---------------------------------------------------------------------
    def _connect(self) -> psycopg.Connection[tuple[Any, ...]]:
        options = f"-c search_path={self.schema}"
        if self.read_only:
            # Replicas are read-only anyway; on a primary this keeps an auditor's session
            # from writing even with a role that could.
            options += " -c default_transaction_read_only=on"
        else:
            # A writer's queries are the append path's index probes, a few milliseconds
            # each; where the planner misjudges one as costly (tables not analysed yet) it
            # would JIT-compile it first, which costs more than running it.
            options += " -c jit=off"
        try:
            return psycopg.connect(self.dsn, autocommit=True, connect_timeout=10, options=options)
        except psycopg.Error as exc:
            raise StorageUnavailable(f"cannot connect to {self.url}: {_first_line(exc)}") from exc

    def _run(self, work: Callable[[psycopg.Connection[tuple[Any, ...]]], T]) -> T:
        """Run ``work`` on the store's connection, reconnecting once if the server dropped it
        (a restart, a failover), and map driver errors to ours."""
        with self._lock:
            for attempt in (1, 2):
                if self._conn is None or self._conn.closed:
                    self._conn = self._connect()
                try:
                    return work(self._conn)
                except psycopg.OperationalError as exc:
                    broken = self._conn.broken or self._conn.closed
                    self._conn.close()
                    self._conn = None
                    if attempt == 2 or not broken:
                        raise StorageUnavailable(f"{self.url}: {_first_line(exc)}") from exc
                except pg_errors.UndefinedTable as exc:
                    raise NotFound(
                        f"{self.url} is not a trustledger ledger (no ledger tables in schema "
                        f"{self.schema}): run `trustledger init`"
                    ) from exc
                except pg_errors.InsufficientPrivilege as exc:
                    raise StorageUnavailable(
                        f"{self.url}: permission denied for role "
                        f"{self._params.get('user') or getpass.getuser()}: {_first_line(exc)}"
                        "; nothing was written (a read-only auditor role can only read)"
                    ) from exc
                except pg_errors.ReadOnlySqlTransaction as exc:
                    raise StorageUnavailable(
                        f"{self.url} is read-only here (a replica or a read-only session): "
                        f"{_first_line(exc)}; nothing was written"
                    ) from exc
                except psycopg.Error as exc:
                    raise StorageUnavailable(f"{self.url}: {_first_line(exc)}") from exc
        raise AssertionError("unreachable")

    def _query(
        self, sql: Composed | SQL | str, params: Sequence[Any] = (), *, binary: bool = False
    ) -> list[tuple[Any, ...]]:
        """Rows of one statement; ``binary`` asks for results in binary format (bytea as
        raw bytes instead of hex text: half the bytes on the wire, no hex encoding on the
        server nor decoding here, which matters when verification reads every entry)."""

        def work(conn: psycopg.Connection[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
            with conn.cursor(binary=binary) as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall() if cursor.description else []

        return self._run(work)

    def application_env(self) -> dict[str, str]:
        p = {key: str(value) for key, value in self._params.items() if value is not None}
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": p.get("dbname") or p.get("user") or getpass.getuser(),
            "POSTGRES_HOST": p.get("host") or "localhost",
            "POSTGRES_PORT": str(p.get("port") or 5432),
            "POSTGRES_USER": p.get("user") or getpass.getuser(),
            "POSTGRES_PASSWORD": p.get("password") or "",
            "POSTGRES_SCHEMA": self.schema,
            "POSTGRES_CONNECT_TIMEOUT": "10",
            "POSTGRES_LOCK_TIMEOUT": str(lock_timeout()),
            # A pooled connection that died with a server restart is replaced, not used.
            "POSTGRES_PRE_PING": "y",
            # One pooled connection opened per Ledger (psycopg_pool opens min_size at once),
            # more on demand: with the store's own read connection, two per appender, so
            # 8 processes x 4 threads stay well under max_connections = 100.
            "POSTGRES_POOL_SIZE": "1",
            "POSTGRES_MAX_OVERFLOW": "8",
            "APPLICATION_RECORDER_TOPIC": "trustledger.storage.postgres:LedgerPostgresRecorder",
            "CREATE_TABLE": "n",
        }

    def new_datastore(self) -> PostgresDatastore:
        """An eventsourcing datastore on this ledger's database and schema (for views)."""
        return self._datastore()

    def _datastore(self) -> PostgresDatastore:
        env = self.application_env()
        return PostgresDatastore(
            dbname=env["POSTGRES_DBNAME"],
            host=env["POSTGRES_HOST"],
            port=env["POSTGRES_PORT"],
            user=env["POSTGRES_USER"],
            password=env["POSTGRES_PASSWORD"],
            schema=self.schema,
            connect_timeout=10,
            pool_open_timeout=10,
            pre_ping=True,  # a pooled connection that died with a restart is replaced
        )

    def exists(self) -> bool:
        rows = self._query(
            "SELECT count(*) FROM pg_tables WHERE schemaname = %s AND tablename IN (%s, %s)",
            (self.schema, EVENTS_TABLE, CHAIN_TABLE),
        )
        return bool(rows[0][0] == 2)

    def create(self) -> None:
        if not self._complete():
            datastore = self._datastore()
            try:
                LedgerPostgresRecorder(datastore).create_table()
            except (PersistenceError, psycopg.Error) as exc:
                raise StorageUnavailable(
                    f"cannot create the ledger in {self.url}: {_first_line(exc)}"
                ) from exc
            finally:
                datastore.close()
        # On a complete ledger this is one query: no DDL, no lock.
        self.ensure_shop_owners()
        self.ensure_shop_states()

    # -- the shop owners table (docs/DECISIONS.md rule 12) -----------------------------------
    def _has_shop_owners(self, conn: psycopg.Connection[tuple[Any, ...]]) -> bool:
        # pg_tables, read under the statement's snapshot: to_regclass would answer from the
        # session's catalog cache, which may still miss a table another `init` just created.
        row = conn.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = %s AND tablename = %s)",
            (self.schema, SHOP_OWNERS_TABLE),
        ).fetchone()
        return bool(row and row[0])

    def ensure_shop_owners(self) -> bool:
        if self._owners_ready:
            return False
        created = self._write_shop_owners(rebuild=False)
        self._owners_ready = True
        return created

    def rebuild_shop_owners(self) -> int:
        self._write_shop_owners(rebuild=True)
        self._owners_ready = True
        return int(self._query(SQL("SELECT count(*) FROM {0}").format(self._owners))[0][0])

    def _write_shop_owners(self, *, rebuild: bool) -> bool:
        """Create (when missing) or empty the table and fill it from the events, in one
        transaction holding a SHARE lock on the events (appends wait; one migration at a
        time under the schema's advisory lock, as ``init``)."""

        def work(conn: psycopg.Connection[tuple[Any, ...]]) -> bool:
            if not rebuild and self._has_shop_owners(conn):
                return False  # the common case: no transaction, no lock
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_advisory_key(self.schema),))
                exists = self._has_shop_owners(conn)
                if exists and not rebuild:
                    return False
                conn.execute(SQL("LOCK TABLE {0} IN SHARE MODE").format(self._events))
                if exists:
                    conn.execute(SQL("DELETE FROM {0}").format(self._owners))
                else:
                    for statement in shop_owners_ddl(self.schema):
                        conn.execute(statement)
                conn.execute(_fill_shop_owners(self.schema), (_REGISTERED_TOPIC,))
            return not exists

        try:
            return self._run(work)
        except StorageUnavailable as exc:
            remedy = (
                f"{SHOP_OWNERS_TABLE} (docs/DECISIONS.md rule 12) could not be rebuilt: "
                "rebuild it as the ledger's owner"
                if rebuild
                else f"this ledger has no {SHOP_OWNERS_TABLE} yet (docs/DECISIONS.md rule 12): run "
                "`trustledger init --root-key ROOT.key` once as the ledger's owner"
            )
            raise StorageUnavailable(f"{exc}; {remedy}") from exc

    # -- the shop states table (a cache of ShopState snapshots) ----------------------------
    def _has_shop_states(self, conn: psycopg.Connection[tuple[Any, ...]]) -> bool:
        row = conn.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = %s AND tablename = %s)",
            (self.schema, SHOP_STATES_TABLE),
        ).fetchone()
        return bool(row and row[0])

    def ensure_shop_states(self) -> bool:
        if self._states_ready is not None:
            return self._states_ready
        if self.read_only:
            self._states_ready = False
            return False

        def work(conn: psycopg.Connection[tuple[Any, ...]]) -> bool:
            if self._has_shop_states(conn):
                return True  # the common case: no transaction, no lock
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_advisory_key(self.schema),))
                conn.execute(shop_states_ddl(self.schema))
            return True

        try:
            self._states_ready = self._run(work)
        except StorageUnavailable:
            # A role that may not create tables appends without snapshots (cache misses
            # replay the shop); the ledger's owner adds the table with `trustledger init`.
            self._states_ready = False
        return self._states_ready

    def shop_snapshots(self, shop_ids: Sequence[str]) -> dict[str, tuple[int, bytes]]:
        ids = list(dict.fromkeys(shop_ids))
        if not ids:
            return {}
        # Once the table is known to be there, it stays (only init or an append adds it).
        if not self._states_ready and not self._run(self._has_shop_states):
            return {}
        rows = self._query(
            SQL("SELECT shop_id, version, state FROM {0} WHERE shop_id = ANY(%s)").format(
                self._states
            ),
            (ids,),
            binary=True,
        )
        return {shop_id: (version, bytes(state)) for shop_id, version, state in rows}

    def clear_shop_snapshots(self) -> int:
        def work(conn: psycopg.Connection[tuple[Any, ...]]) -> int:
            if not self._has_shop_states(conn):
                return 0
            return conn.execute(SQL("DELETE FROM {0}").format(self._states)).rowcount

        return self._run(work)

    def shops_of_owners(self, owner_subject_ids: Sequence[str]) -> dict[str, list[str]]:
        if not self.read_only:
            self.ensure_shop_owners()
        owners = list(dict.fromkeys(owner_subject_ids))
        if not owners:
            return {}
        rows = self._query(
            SQL(
                "SELECT owner_subject_id, shop_id FROM {0} WHERE owner_subject_id = ANY(%s) "
                "ORDER BY notification_id"
            ).format(self._owners),
            (owners,),
        )
        found: dict[str, list[str]] = {}
        for owner, shop_id in rows:
            found.setdefault(owner, []).append(shop_id)
        return found

    def _complete(self) -> bool:
        rows = self._query(
            "SELECT (SELECT count(*) FROM pg_tables WHERE schemaname = %s "
            "AND tablename = ANY(%s)), "
            "(SELECT count(*) FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND g.tgname = ANY(%s) AND g.tgenabled = 'A')",
            (
                self.schema,
                [*APPEND_ONLY_TABLES, SUBJECT_KEYS_TABLE],
                self.schema,
                [trigger_name(t, v) for t in APPEND_ONLY_TABLES for v in TRIGGER_VERBS],
            ),
        )
        return bool(
            rows[0][0] == len(APPEND_ONLY_TABLES) + 1
            and rows[0][1] == len(APPEND_ONLY_TABLES) * len(TRIGGER_VERBS)
        )

    # -- reads ----------------------------------------------------------------------------
    def _entry_select(self, from_chain: bool = False) -> Composed:
        columns = SQL(
            "SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, e.state, "
            "c.position, c.chain_hash, c.leaf_hash FROM "
        )
        if from_chain:
            return columns + SQL("{c} c LEFT JOIN {e} e USING (notification_id) ").format(
                c=self._chain, e=self._events
            )
        # Each event's chain row looked up by the chain's primary key, whatever the planner
        # estimates: as a plain join, a table not analysed yet (autovacuum off, or behind a
        # bulk load) was estimated at thousands of events per aggregate and joined by a
        # sequential scan of the whole chain table, on every shop replayed by an append
        # (213 ms instead of 0.5 ms at 266k entries: appends slowed in proportion to the
        # log). LIMIT 1 (the key is unique) keeps the subquery from being flattened into
        # such a join.
        return columns + SQL(
            "{e} e LEFT JOIN LATERAL (SELECT position, chain_hash, leaf_hash FROM {c} "
            "WHERE notification_id = e.notification_id LIMIT 1) c ON true "
        ).format(c=self._chain, e=self._events)

    def iter_entries(self, *, after: int = 0, up_to: int | None = None) -> Iterator[StoredEntry]:
        page = 5000
        cursor_at = after
        columns = SQL(
            "SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, e.state, "
            "c.position, c.chain_hash, c.leaf_hash FROM {e} e LEFT JOIN {c} c "
            "ON c.notification_id = e.notification_id "
        ).format(c=self._chain, e=self._events)
        while True:
            # The range is repeated on the chain side: without it the planner's merge join
            # scans the chain's primary key from its start on every page (quadratic).
            params: list[Any] = [cursor_at]
            range_ = "{0}.notification_id > %s"
            if up_to is not None:
                range_ += " AND {0}.notification_id <= %s"
                params.append(up_to)
            query = (
                columns
                + SQL("AND " + range_.format("c"))
                + SQL(" WHERE " + range_.format("e"))
                + SQL(f" ORDER BY e.notification_id LIMIT {page}")
            )
            rows = self._query(query, params + params, binary=True)
            for row in rows:
                yield _entry(row)
            if len(rows) < page:
                return
            cursor_at = rows[-1][0]

    def entry_at(self, position: int) -> StoredEntry | None:
        rows = self._query(
            self._entry_select(from_chain=True) + SQL("WHERE c.position = %s"), (position,)
        )
        if not rows or rows[0][0] is None:
            return None
        return _entry(rows[0])

    def entry_before(self, notification_id: int) -> StoredEntry | None:
        rows = self._query(
            self._entry_select(from_chain=True)
            + SQL("WHERE c.notification_id < %s ORDER BY c.notification_id DESC LIMIT 1"),
            (notification_id,),
        )
        if not rows or rows[0][0] is None:
            return None
        return _entry(rows[0])

    def events_of(self, originator_id: Any, *, after_version: int = 0) -> list[StoredEntry]:
        rows = self._query(
            self._entry_select()
            + SQL("WHERE e.originator_id = %s AND e.originator_version > %s ")
            + SQL("ORDER BY e.originator_version"),
            (UUID(str(originator_id)), after_version),
        )
        return [_entry(row) for row in rows]

    def current_versions(self, originator_ids: Sequence[Any]) -> dict[Any, int]:
        ids = [as_uuid(i) for i in dict.fromkeys(originator_ids)]
        if not ids:
            return {}
        rows = self._query(current_versions_query(self._events), (ids,))
        return {as_uuid(i): version for i, version in rows if version is not None}

    def ever_banned(self, originator_ids: Sequence[Any]) -> set[Any]:
        ids = [as_uuid(i) for i in dict.fromkeys(originator_ids)]
        if not ids:
            return set()
        rows = self._query(
            ever_banned_query(self._events), (ids, topic_of("penalty.imposed"), b"permanent_ban")
        )
        return {as_uuid(row[0]) for row in rows}

    def key_entries(self) -> list[StoredEntry]:
        return self.events_of(KEYRING_ID)

    def notification_bounds(self) -> tuple[int, int]:
        row = self._query(
            SQL("SELECT min(notification_id), max(notification_id) FROM {e}").format(e=self._events)
        )[0]
        return (row[0] or 0, row[1] or 0)

    def chain_head(self) -> ChainHead | None:
        rows = self._query(
            SQL(
                "SELECT position, chain_hash, notification_id FROM {c} "
                "ORDER BY position DESC LIMIT 1"
            ).format(c=self._chain)
        )
        if not rows:
            return None
        return ChainHead(rows[0][0] + 1, bytes(rows[0][1]), rows[0][2])

    def find_decisions(self, decision_ids: Sequence[str]) -> dict[str, RecordedDecision]:
        ids = list(dict.fromkeys(decision_ids))
        if not ids:
            return {}
        rows = self._query(
            SQL(
                # A join with the ids, not ``decision_id = ANY(...)``: while the table's
                # statistics still call it small, that filter is a sequential scan that
                # compares every row with every id under the column's collation (measured:
                # 15 ms for 100 ids at 3,500 rows, a quarter of a batched append's time).
                "SELECT d.decision_id, d.notification_id, c.position, d.digest "
                "FROM unnest(%b::text[]) AS wanted(decision_id) "
                "JOIN {d} d USING (decision_id) JOIN {c} c USING (notification_id)"
            ).format(d=self._decisions, c=self._chain),
            (ids,),
        )
        return {
            decision_id: RecordedDecision(decision_id, notification_id, position, bytes(digest))
            for decision_id, notification_id, position, digest in rows
        }

    # -- verifiable log ----------------------------------------------------------------------
    def merkle_nodes(self, ids: Sequence[tuple[int, int]]) -> list[bytes]:
        if not ids:
            return []
        rows = self._query(nodes_query(self.schema), ([i[0] for i in ids], [i[1] for i in ids]))
        return _found_nodes(ids, rows)

    def iter_node_hashes(self, level: int, start: int, end: int) -> Iterator[bytes]:
        if level == 0:
            query = SQL(
                "SELECT position, leaf_hash FROM {c} WHERE position >= %s AND position < %s "
                "ORDER BY position"
            ).format(c=self._chain)
        else:  # a range of the primary key (level, idx)
            query = SQL(
                "SELECT idx, hash FROM {m} WHERE level = %s AND idx >= %s AND idx < %s ORDER BY idx"
            ).format(m=self._merkle)
        for first in range(start, end, _PAGE):
            last = min(end, first + _PAGE)
            params = (first, last) if level == 0 else (level, first, last)
            rows = self._query(query, params, binary=True)
            if len(rows) != last - first or (
                rows and (rows[0][0], rows[-1][0]) != (first, last - 1)
            ):
                raise NotFound(
                    f"Merkle nodes of level {level} {first}…{last - 1} are not all stored: the "
                    "tree is smaller, or the ledger was created before Merkle storage"
                )
            for row in rows:
                yield bytes(row[1])

    def iter_entry_bytes(self, start: int, end: int) -> Iterator[bytes]:
        query = SQL(
            "SELECT c.position, e.originator_id, e.originator_version, e.topic, e.state "
            "FROM {c} c LEFT JOIN {e} e ON e.notification_id = c.notification_id "
            "WHERE c.position >= %s AND c.position < %s ORDER BY c.position"
        ).format(c=self._chain, e=self._events)
        for first in range(start, end, _PAGE):
            last = min(end, first + _PAGE)
            rows = self._query(query, (first, last), binary=True)
            for position, originator_id, version, topic, state in rows:
                if originator_id is None:
                    raise NotFound(f"the entry at position {position} has no stored event")
                uuid = (
                    originator_id if isinstance(originator_id, UUID) else _uuid(str(originator_id))
                )
                yield encode_entry(uuid, version, topic, bytes(state))
            if len(rows) != last - first:
                raise NotFound(
                    f"entries {first}…{last - 1}: {last - first - len(rows)} positions have "
                    "no chain row (beyond the log)"
                )

    def _checkpoint_select(self) -> Composed:
        return SQL("SELECT id, size, root_hash, note, created_at FROM {t} ").format(
            t=SQL("{0}.{1}").format(Identifier(self.schema), Identifier(CHECKPOINTS_TABLE))
        )

    def checkpoints(self) -> list[StoredCheckpoint]:
        rows = self._query(self._checkpoint_select() + SQL("ORDER BY id"))
        return [_checkpoint(row) for row in rows]

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        rows = self._query(self._checkpoint_select() + SQL("ORDER BY id DESC LIMIT 1"))
        return _checkpoint(rows[0]) if rows else None

    def add_checkpoint(
        self, size: int, root_hash: bytes, note: bytes, *, after: int | None
    ) -> StoredCheckpoint:
        table = SQL("{0}.{1}").format(Identifier(self.schema), Identifier(CHECKPOINTS_TABLE))

        def work(conn: psycopg.Connection[tuple[Any, ...]]) -> StoredCheckpoint:
            with conn.transaction(), conn.cursor() as cursor:
                # Signers queue here: the check and the insert are one step.
                cursor.execute(SQL("LOCK TABLE {0} IN SHARE ROW EXCLUSIVE MODE").format(table))
                cursor.execute(SQL("SELECT max(id) FROM {0}").format(table))
                row = cursor.fetchone()
                latest = row[0] if row else None
                if latest != after:
                    raise Conflict(
                        f"another checkpoint (id {latest}) was signed since checkpoint "
                        f"{after}: check it and sign again"
                    )
                cursor.execute(
                    SQL(
                        "INSERT INTO {0} (id, size, root_hash, note) VALUES (%s, %s, %s, %s) "
                        "RETURNING id, size, root_hash, note, created_at"
                    ).format(table),
                    ((latest or 0) + 1, size, root_hash, note),
                )
                inserted = cursor.fetchone()
                assert inserted is not None
                return _checkpoint(inserted)

        return self._run(work)

    def replace_derived(self, rows: DerivedRows, *, head: ChainHead) -> DerivedChanges:
        s = Identifier(self.schema)

        def triggers(action: str) -> Iterator[Composed]:
            for table in DERIVED_TABLES:
                for verb in TRIGGER_VERBS:
                    yield SQL("ALTER TABLE {s}.{t} {a} TRIGGER {n}").format(
                        s=s,
                        t=Identifier(table),
                        a=SQL(action),
                        n=Identifier(trigger_name(table, verb)),
                    )

        def work(conn: psycopg.Connection[tuple[Any, ...]]) -> DerivedChanges:
            with conn.transaction(), conn.cursor() as cursor:
                # The appenders' lock (eventsourcing's EXCLUSIVE on the events table): no
                # append comes between the head read here and the commit.
                cursor.execute(SQL("LOCK TABLE {0} IN EXCLUSIVE MODE").format(self._events))
                cursor.execute(
                    SQL(
                        "SELECT position, chain_hash, notification_id FROM {c} "
                        "ORDER BY position DESC LIMIT 1"
                    ).format(c=self._chain)
                )
                found = cursor.fetchone()
                if found is None or ChainHead(found[0] + 1, bytes(found[1]), found[2]) != head:
                    raise Conflict(
                        f"{self.url} changed while it was being verified (an append?): nothing "
                        "was changed; stop the appenders and run `db repair` again"
                    )
                # The rows to hold, in temporary tables (COPY): the differences are then
                # found and fixed by joins, one statement each (rowcount: what changed).
                cursor.execute(
                    "CREATE TEMPORARY TABLE repair_leaves (position bigint PRIMARY KEY, "
                    "hash bytea) ON COMMIT DROP"
                )
                cursor.execute(
                    "CREATE TEMPORARY TABLE repair_nodes (level integer, idx bigint, "
                    "hash bytea, PRIMARY KEY (level, idx)) ON COMMIT DROP"
                )
                cursor.execute(
                    "CREATE TEMPORARY TABLE repair_index (decision_id text PRIMARY KEY, "
                    "notification_id bigint, digest bytea) ON COMMIT DROP"
                )
                for temp, data in (
                    ("repair_leaves", rows.leaf_hashes),
                    ("repair_nodes", rows.merkle_nodes),
                    ("repair_index", rows.index_rows),
                ):
                    with cursor.copy(SQL("COPY {0} FROM STDIN").format(Identifier(temp))) as copy:
                        for row in data:
                            copy.write_row(row)
                for statement in triggers("DISABLE"):  # this transaction only
                    cursor.execute(statement)
                cursor.execute(
                    SQL(
                        "UPDATE {c} SET leaf_hash = r.hash FROM repair_leaves r "
                        "WHERE {c}.position = r.position AND {c}.leaf_hash IS DISTINCT FROM r.hash"
                    ).format(c=self._chain)
                )
                leaves = cursor.rowcount
                cursor.execute(
                    SQL(
                        "DELETE FROM {m} WHERE NOT EXISTS (SELECT 1 FROM repair_nodes r "
                        "WHERE r.level = {m}.level AND r.idx = {m}.idx AND r.hash = {m}.hash)"
                    ).format(m=self._merkle)
                )
                merkle_removed = cursor.rowcount
                cursor.execute(
                    SQL(
                        "INSERT INTO {m} (level, idx, hash) SELECT level, idx, hash "
                        "FROM repair_nodes r WHERE NOT EXISTS "
                        "(SELECT 1 FROM {m} m WHERE m.level = r.level AND m.idx = r.idx)"
                    ).format(m=self._merkle)
                )
                merkle_added = cursor.rowcount
                cursor.execute(
                    SQL(
                        "DELETE FROM {d} WHERE NOT EXISTS (SELECT 1 FROM repair_index r "
                        "WHERE r.decision_id = {d}.decision_id "
                        "AND r.notification_id = {d}.notification_id)"
                    ).format(d=self._decisions)
                )
                index_removed = cursor.rowcount
                cursor.execute(
                    SQL(
                        "INSERT INTO {d} (decision_id, notification_id, digest) "
                        "SELECT decision_id, notification_id, digest FROM repair_index r "
                        "WHERE NOT EXISTS (SELECT 1 FROM {d} d WHERE d.decision_id = r.decision_id)"
                    ).format(d=self._decisions)
                )
                index_added = cursor.rowcount
                # ALWAYS, as created (ledger_ddl): firing even for session_replication_role.
                for statement in triggers("ENABLE ALWAYS"):
                    cursor.execute(statement)
                return DerivedChanges(
                    leaves, merkle_removed, merkle_added, index_removed, index_added
                )

        return self._run(work)

    def add_cosignatures(self, checkpoint_id: int, lines: Sequence[str]) -> int:
        if not lines:
            return 0
        rows = self._query(
            SQL(
                "INSERT INTO {0}.{1} (checkpoint_id, line) "
                "SELECT %s, line FROM unnest(%s::text[]) WITH ORDINALITY AS u(line, ord) "
                "ORDER BY ord ON CONFLICT DO NOTHING RETURNING seq"
            ).format(Identifier(self.schema), Identifier(COSIGNATURES_TABLE)),
            (checkpoint_id, list(dict.fromkeys(lines))),
        )
        return len(rows)

    def cosignatures(self, checkpoint_id: int) -> list[str]:
        rows = self._query(
            SQL("SELECT line FROM {0}.{1} WHERE checkpoint_id = %s ORDER BY seq").format(
                Identifier(self.schema), Identifier(COSIGNATURES_TABLE)
            ),
            (checkpoint_id,),
        )
        return [row[0] for row in rows]

    # -- the side tables, as verification reads them -------------------------------------
    def merkle_nodes_completed(self, start: int, end: int) -> list[tuple[int, int, bytes]]:
        # One range of the primary key (level, idx) per level: idx in [start >> level,
        # end >> level) is exactly (idx + 1)·2^level in (start, end].
        rows = self._query(
            SQL(
                "SELECT m.level, m.idx, m.hash FROM generate_series(1, 62) AS l(level) "
                "JOIN {m} m ON m.level = l.level AND m.idx >= (%s::bigint >> l.level) "
                "AND m.idx < (%s::bigint >> l.level) "
                "ORDER BY (m.idx + 1) << m.level, m.level"
            ).format(m=self._merkle),
            (start, end),
            binary=True,
        )
        return [(row[0], row[1], bytes(row[2])) for row in rows]

    def merkle_node_counts(self, size: int) -> tuple[int, int]:
        # Levels are bounded before shifting (a bigint shifted by 64 or more is not 0).
        row = self._query(
            SQL(
                "SELECT count(*) FILTER (WHERE level BETWEEN 1 AND 62 AND idx >= 0 "
                "AND (idx + 1) << level <= %s), "
                "count(*) FILTER (WHERE NOT (level BETWEEN 1 AND 62) OR idx < 0 "
                "OR (idx + 1) << least(greatest(level, 1), 62) > "
                "(SELECT coalesce(max(position), -1) + 1 FROM {c})) FROM {m}"
            ).format(m=self._merkle, c=self._chain),
            (size,),
        )[0]
        return int(row[0]), int(row[1])

    def decision_rows(self, decision_ids: Sequence[str]) -> list[tuple[str, int]]:
        ids = list(dict.fromkeys(decision_ids))
        if not ids:
            return []
        rows = self._query(
            # A join with the ids, as in find_decisions: index lookups by decision id.
            SQL(
                "SELECT d.decision_id, d.notification_id "
                "FROM unnest(%b::text[]) AS wanted(decision_id) JOIN {d} d USING (decision_id)"
            ).format(d=self._decisions),
            (ids,),
        )
        return [(row[0], row[1]) for row in rows]

    def decision_row_counts(self, up_to: int) -> tuple[int, int]:
        row = self._query(
            SQL(
                "SELECT count(*) FILTER (WHERE notification_id <= %s), "
                "count(*) FILTER (WHERE notification_id > "
                "(SELECT coalesce(max(notification_id), 0) FROM {e})) FROM {d}"
            ).format(d=self._decisions, e=self._events),
            (up_to,),
        )[0]
        return int(row[0]), int(row[1])

    def all_cosignatures(self) -> list[tuple[int, str]]:
        rows = self._query(
            SQL("SELECT checkpoint_id, line FROM {0}.{1} ORDER BY checkpoint_id, seq").format(
                Identifier(self.schema), Identifier(COSIGNATURES_TABLE)
            )
        )
        return [(row[0], row[1]) for row in rows]

    # -- subject keys ------------------------------------------------------------------------
    def subject_keys(self, subject_ids: Sequence[str]) -> dict[str, bytes | None]:
        ids = list(dict.fromkeys(subject_ids))
        if not ids:
            return {}
        rows = self._query(
            # A join with the ids, as in find_decisions.
            SQL(
                "SELECT k.subject_id, k.subject_key FROM unnest(%b::text[]) AS wanted(subject_id) "
                "JOIN {k} k USING (subject_id)"
            ).format(k=self._subjects),
            (ids,),
        )
        return {s: bytes(key) if key is not None else None for s, key in rows}

    def ensure_subject_keys(self, keys: Sequence[tuple[str, bytes]]) -> dict[str, bytes | None]:
        if keys:
            # ON CONFLICT DO NOTHING keeps a key stored first (erased or not), also one a
            # concurrent caller stores meanwhile.
            self._query(
                SQL(
                    "INSERT INTO {k} (subject_id, subject_key) "
                    "SELECT * FROM unnest(%b::text[], %b::bytea[]) "
                    "ON CONFLICT (subject_id) DO NOTHING"
                ).format(k=self._subjects),
                ([subject for subject, _ in keys], [key for _, key in keys]),
            )
        return self.subject_keys([subject for subject, _ in keys])

    def erase_subject(self, subject_id: str) -> bool:
        known = self.subject_keys([subject_id])
        if subject_id not in known:
            raise NotFound(f"no personal data recorded for subject {subject_id!r}")
        rows = self._query(
            SQL(
                "UPDATE {k} SET subject_key = NULL, erased_at = now() "
                "WHERE subject_id = %s AND subject_key IS NOT NULL RETURNING subject_id"
            ).format(k=self._subjects),
            (subject_id,),
        )
        if not rows:
            return False
        # The old row version keeps the key bytes until vacuumed; vacuum now (best effort:
        # only the owner may, and WAL archives and backups keep it until they expire, see
        # docs/OPERATIONS.md).
        with contextlib.suppress(StorageUnavailable):
            self._query(SQL("VACUUM {k}").format(k=self._subjects))
        return True

    def erased_subjects(self) -> frozenset[str]:
        # erased_at rather than subject_key IS NULL: an auditor role may read erased_at but
        # never the keys themselves (docs/OPERATIONS.md, grant-auditor).
        rows = self._query(
            SQL("SELECT subject_id FROM {k} WHERE erased_at IS NOT NULL").format(k=self._subjects)
        )
        return frozenset(row[0] for row in rows)

    # -- administration ------------------------------------------------------------------
    def grant_auditor(self, role: str, *, password: str | None = None) -> bool:
        """Create (if missing) a login role that can read the ledger and write nothing.

        It may SELECT the ledger tables, and of the subject keys only which subjects were
        erased (never a key). Returns True when the role was created. Raises
        StorageUnavailable when this connection may not create roles or grant.
        """
        r = Identifier(role)
        s = Identifier(self.schema)

        self.ensure_shop_owners()

        def work(conn: psycopg.Connection[tuple[Any, ...]]) -> bool:
            with conn.transaction(), conn.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
                created = cursor.fetchone() is None
                if created:
                    statement = SQL("CREATE ROLE {r} LOGIN NOINHERIT").format(r=r)
                    if password:
                        statement += SQL(" PASSWORD {p}").format(p=psycopg.sql.Literal(password))
                    try:
                        cursor.execute(statement)
                    except pg_errors.InsufficientPrivilege as exc:
                        me = self._params.get("user") or getpass.getuser()
                        raise StorageUnavailable(
                            f"role {me} may not create role {role}: grant-auditor needs a "
                            f"role with CREATEROLE (as a superuser: ALTER ROLE {me} "
                            "CREATEROLE) or a superuser; nothing was changed"
                        ) from exc
                dbname = conn.info.dbname
                cursor.execute(
                    SQL("GRANT CONNECT ON DATABASE {d} TO {r}").format(d=Identifier(dbname), r=r)
                )
                cursor.execute(SQL("GRANT USAGE ON SCHEMA {s} TO {r}").format(s=s, r=r))
                # The shop owners table too: owner ids are in the signed payloads anyway.
                for table in (*APPEND_ONLY_TABLES, SHOP_OWNERS_TABLE):
                    cursor.execute(
                        SQL("GRANT SELECT ON {s}.{t} TO {r}").format(s=s, t=Identifier(table), r=r)
                    )
                # The standings view's tables, where built, so that an auditor's `standing`
                # and `report` read them (an auditor cannot build or catch them up).
                cursor.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename = ANY(%s)",
                    (self.schema, list(VIEW_TABLES)),
                )
                for (table,) in cursor.fetchall():
                    cursor.execute(
                        SQL("GRANT SELECT ON {s}.{t} TO {r}").format(s=s, t=Identifier(table), r=r)
                    )
                cursor.execute(
                    SQL("GRANT SELECT (subject_id, created_at, erased_at) ON {k} TO {r}").format(
                        k=self._subjects, r=r
                    )
                )
                # Whatever the role is given later, its sessions start read-only.
                cursor.execute(
                    SQL("ALTER ROLE {r} SET default_transaction_read_only = on").format(r=r)
                )
                return created

        if not self.exists():
            raise NotFound(f"no ledger at {self.url}: run `trustledger init` first")
        return self._run(work)

    def wait_for_append(self, timeout: float, stop: threading.Event) -> None:
        # eventsourcing's recorder sends NOTIFY on the channel of the events table in each
        # insert transaction; it is delivered when that transaction commits. The channel is
        # database-wide: ledgers in other schemas only cause spurious wake-ups.
        deadline = time.monotonic() + timeout
        reconnected = False
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                if self._listener is None or self._listener.closed:
                    self._listener = psycopg.connect(self.dsn, autocommit=True, connect_timeout=10)
                    self._listener.execute(SQL("LISTEN {0}").format(Identifier(EVENTS_TABLE)))
                    if reconnected:
                        return  # notifications sent while disconnected are lost: catch up
                remaining = deadline - time.monotonic()
                for _ in self._listener.notifies(timeout=min(0.2, remaining), stop_after=1):
                    return
            except psycopg.Error:
                # The server went away (a restart, a failover): listen again when it is back.
                if self._listener is not None:
                    self._listener.close()
                    self._listener = None
                reconnected = True
                stop.wait(min(0.5, max(0.0, deadline - time.monotonic())))

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            if self._listener is not None:
                self._listener.close()
                self._listener = None


def _checkpoint(row: Sequence[Any]) -> StoredCheckpoint:
    created = row[4]
    return StoredCheckpoint(
        row[0],
        row[1],
        bytes(row[2]),
        bytes(row[3]),
        created.isoformat() if hasattr(created, "isoformat") else str(created),
    )


def _first_line(exc: BaseException) -> str:
    return describe_failure(exc).splitlines()[0]
