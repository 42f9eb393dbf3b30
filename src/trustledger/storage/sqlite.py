"""SQLite: the embedded default store.

The ledger is eventsourcing's SQLite application recorder plus a chain table written in the
same transaction as the events. SQLite serialises writers (one write lock per database), so
reading the previous chain hash inside the insert transaction can never fork the chain.
"""

from __future__ import annotations

import functools
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.persistence import InterfaceError, PersistenceError, StoredEvent
from eventsourcing.sqlite import (
    SQLiteApplicationRecorder,
    SQLiteConnection,
    SQLiteConnectionPool,
    SQLiteCursor,
    SQLiteDatastore,
    SQLiteFactory,
)

from trustledger.domain.identity import KEYRING_ID, topic_of
from trustledger.errors import Conflict, NotFound, StorageUnavailable
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
    AppendWrite,
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

_TRIGGER_VERBS = ("UPDATE", "DELETE")


def _append_only_trigger(table: str, verb: str) -> str:
    return (
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, 'trustledger: {table} is append-only ({verb} refused)'); END"
    )


LEDGER_DDL = [
    f"CREATE TABLE IF NOT EXISTS {CHAIN_TABLE} ("
    "notification_id INTEGER PRIMARY KEY, "
    "position INTEGER NOT NULL UNIQUE, "
    "leaf_hash BLOB NOT NULL, "
    "chain_hash BLOB NOT NULL)",
    # Rows are stored in notification order (appended at the end of the table); only the
    # unique index on decision_id, whose entries are about half a row, takes the random
    # inserts of random decision ids. A table keyed by decision_id would rewrite up to
    # twice as many pages per append. (Ledgers created before keep their table: same
    # columns, same queries.)
    f"CREATE TABLE IF NOT EXISTS {DECISIONS_TABLE} ("
    "decision_id TEXT NOT NULL UNIQUE, "
    "notification_id INTEGER PRIMARY KEY, "
    "digest BLOB NOT NULL)",
    # Likewise: rows appended in creation order, the subject ids in a compact unique index.
    f"CREATE TABLE IF NOT EXISTS {SUBJECT_KEYS_TABLE} ("
    "subject_id TEXT NOT NULL UNIQUE, "
    "subject_key BLOB, "
    "created_at TEXT NOT NULL, "
    "erased_at TEXT)",
    # Merkle nodes are keyed by the leaf count that completes them, (idx + 1) << level, then
    # level: nodes are completed in that order, so both the rows and the index grow at
    # their ends instead of taking one insert per tree level in the middle of a
    # (level, idx) index.
    f"CREATE TABLE IF NOT EXISTS {MERKLE_TABLE} ("
    "level INTEGER NOT NULL, "
    "idx INTEGER NOT NULL, "
    "hash BLOB NOT NULL)",
    f"CREATE UNIQUE INDEX IF NOT EXISTS {MERKLE_TABLE}_node "
    f"ON {MERKLE_TABLE} (((idx + 1) << level), level)",
    f"CREATE TABLE IF NOT EXISTS {CHECKPOINTS_TABLE} ("
    "id INTEGER PRIMARY KEY, "
    "size INTEGER NOT NULL, "
    "root_hash BLOB NOT NULL, "
    "note BLOB NOT NULL, "
    "created_at TEXT NOT NULL)",
    f"CREATE TABLE IF NOT EXISTS {COSIGNATURES_TABLE} ("
    "checkpoint_id INTEGER NOT NULL, "
    "line TEXT NOT NULL, "
    "PRIMARY KEY (checkpoint_id, line))",
] + [
    # Append-only, enforced by the database (docs/DESIGN.md): no UPDATE or DELETE on ledger
    # tables. SQLite has no TRUNCATE; an unqualified DELETE still fires these triggers.
    # A migration that must touch rows (or `db repair`) drops and recreates them explicitly.
    _append_only_trigger(table, verb)
    for table in APPEND_ONLY_TABLES
    for verb in _TRIGGER_VERBS
]

# The shop owners table (storage.base.SHOP_OWNERS_TABLE): derived from the events, so not
# append-only (a repair rebuilds it). Made by ``SQLiteStore.ensure_shop_owners``, which also
# fills it on a ledger created before it, in the transaction that creates it.
SHOP_OWNERS_DDL = [
    f"CREATE TABLE {SHOP_OWNERS_TABLE} ("
    "notification_id INTEGER PRIMARY KEY, "
    "owner_subject_id TEXT NOT NULL, "
    "shop_id TEXT NOT NULL)",
    f"CREATE INDEX {SHOP_OWNERS_TABLE}_owner ON {SHOP_OWNERS_TABLE} (owner_subject_id)",
]
# Every recorded registration's owner and shop, from the signed payload in its stored state
# (docs/FORMAT.md §5): one scan of the events, in the database.
_FILL_SHOP_OWNERS = (
    f"INSERT INTO {SHOP_OWNERS_TABLE} (notification_id, owner_subject_id, shop_id) "
    "SELECT n, json_extract(p, '$.data.owner_subject_id'), json_extract(p, '$.shop_id') "
    f"FROM (SELECT rowid AS n, json_extract(CAST(state AS TEXT), '$.payload') AS p "
    f"FROM {EVENTS_TABLE} WHERE topic = ?)"
)
_REGISTERED_TOPIC = topic_of("shop.registered")
_PENALTY_TOPIC = topic_of("penalty.imposed")


def _by_hex(originator_ids: Sequence[Any]) -> dict[str, UUID]:
    """Each id by its text as the events table stores it (32 hex digits), so that rows map
    back to the ids asked for without parsing their text."""
    return {i.hex: i for i in map(as_uuid, originator_ids)}


# The shop states table (storage.base.SHOP_STATES_TABLE): a cache, so not append-only and
# not filled on a ledger made before it. WITHOUT ROWID: the rows live in the primary key's
# B-tree, one lookup and no second tree to keep.
SHOP_STATES_DDL = (
    f"CREATE TABLE IF NOT EXISTS {SHOP_STATES_TABLE} ("
    "shop_id TEXT PRIMARY KEY, "
    "version INTEGER NOT NULL, "
    "state BLOB NOT NULL) WITHOUT ROWID"
)
_UPSERT_SHOP_STATE = f"INSERT OR REPLACE INTO {SHOP_STATES_TABLE} VALUES (?,?,?)"


# Prepared statements a connection keeps. eventsourcing opens its connections with a cache
# of one, which suits its single INSERT; an append here runs ten statements a transaction
# (events, their ids, the chain head, chain, Merkle and index rows, ...) and re-parsing each
# of them on every batch cost ~3 % of an append.
STATEMENT_CACHE_SIZE = 64


class LedgerSQLiteConnectionPool(SQLiteConnectionPool):
    """eventsourcing's connection pool, whose connections keep their prepared statements."""

    def _create_connection(self) -> SQLiteConnection:
        # As eventsourcing's own, but for the statement cache; journal_mode=WAL is not set
        # here because it is a property of the file, set when the ledger was created.
        try:
            connection = sqlite3.connect(
                database=self.db_name,
                uri=True,
                check_same_thread=False,
                isolation_level=None,
                cached_statements=STATEMENT_CACHE_SIZE,
                timeout=self.lock_timeout or lock_timeout(),
            )
        except (sqlite3.Error, TypeError) as exc:
            raise InterfaceError(exc) from exc
        connection.row_factory = sqlite3.Row
        return SQLiteConnection(sqlite_conn=connection, max_age=self.max_age)


class LedgerSQLiteFactory(SQLiteFactory):
    """eventsourcing's SQLite infrastructure with LedgerSQLiteConnectionPool's connections
    (named by ``PERSISTENCE_MODULE`` in ``SQLiteStore.application_env``)."""

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        unused = self.datastore.pool  # has opened no connection yet
        self.datastore.pool = LedgerSQLiteConnectionPool(
            db_name=unused.db_name, lock_timeout=unused.lock_timeout
        )
        unused.close()


class LedgerSQLiteRecorder(SQLiteApplicationRecorder):
    """eventsourcing's SQLite recorder that also chains every event it inserts.

    Its BLOB parameters are given as bytearray: Python's sqlite3 binds int, float, str and
    bytearray as they are, but looks every other type up in its adapter registry first,
    bytes included, a failed lookup of ~4,500 instructions a value (callgrind), ~5 % of an
    append with five BLOBs a decision.
    """

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *LEDGER_DDL]

    # The tree's frontier after this recorder's last insert (storage.chaining.Frontier): used
    # by the next insert only if the chain head it reads is still that one.
    _frontier: Frontier | None = None

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        notification_ids = _insert_event_rows(c, stored_events)
        write = write_of(kwargs)
        if write is not None and write.keyring_version is not None:
            # After the first insert, this transaction holds the write lock: no key event
            # can be recorded between this read and the commit (AppendWrite.keyring_version).
            c.execute(_KEYRING_VERSION, (KEYRING_ID.hex,))
            write.check_keyring(c.fetchone()[0])
        if write is not None and write.sealed_subjects:
            # Erasure's UPDATE needs the write lock too: it cannot come between this
            # read and the commit (AppendWrite.sealed_subjects).
            write.check_subjects(_erased_among(c, write.sealed_subjects))
        if write is not None and write.owners_read:
            # Under the write lock, as the keyring's version (AppendWrite.owners_read).
            _check_owners(c, write)
        c.execute(f"SELECT position, chain_hash FROM {CHAIN_TABLE} ORDER BY position DESC LIMIT 1")
        row = c.fetchone()
        position, chain = (row[0], bytes(row[1])) if row else (-1, GENESIS_CHAIN_HASH)
        # The chain rows and the Merkle nodes they complete (storage.chaining), one transaction.
        chain_rows, nodes, frontier = append_rows(
            position,
            chain,
            stored_events,
            notification_ids,
            lambda ids: _read_nodes(c, ids),
            self._frontier,
            blob=bytearray,
        )
        c.executemany(f"INSERT INTO {CHAIN_TABLE} VALUES (?,?,?,?)", chain_rows)
        c.executemany(
            f"INSERT INTO {MERKLE_TABLE} VALUES (?,?,?)",
            [(level, idx, bytearray(node)) for level, idx, node in nodes],
        )
        if write is not None:
            c.executemany(
                f"INSERT INTO {DECISIONS_TABLE} VALUES (?,?,?)",
                write.index_rows(stored_events, notification_ids, position + 1, blob=bytearray),
            )
            if write.shop_owners:
                # OR REPLACE: SQLite gives a new event the rowid of a deleted last one, so a
                # row at that id can only be left over from events removed behind the
                # store's back; this transaction writes the event it describes now.
                c.executemany(
                    f"INSERT OR REPLACE INTO {SHOP_OWNERS_TABLE} VALUES (?,?,?)",
                    write.owner_rows(notification_ids),
                )
            if write.shop_states:
                c.executemany(
                    _UPSERT_SHOP_STATE,
                    [
                        (shop, version, bytearray(state))
                        for shop, version, state in write.shop_states
                    ],
                )
            if write.subject_keys:
                # A plain INSERT: a subject keyed concurrently by another appender makes this
                # transaction fail whole, and the batch is judged again with that key.
                created = _now()
                c.executemany(
                    f"INSERT INTO {SUBJECT_KEYS_TABLE} VALUES (?, ?, ?, NULL)",
                    [(subject, key, created) for subject, key in write.subject_keys],
                )
        # Kept for the next insert; harmless if this transaction is rolled back, since then
        # no chain head will match it.
        self._frontier = frontier
        return notification_ids


_KEYRING_VERSION = f"SELECT max(originator_version) FROM {EVENTS_TABLE} WHERE originator_id = ?"
_NODE_BY_COMPLETION = (
    f"SELECT hash FROM {MERKLE_TABLE} WHERE ((idx + 1) << level) = ? AND level = ?"
)


def _insert_event_rows(c: SQLiteCursor, stored_events: Sequence[StoredEvent]) -> list[int]:
    """Insert the events (as eventsourcing does) and return their notification ids (rowids).

    eventsourcing inserts one row per statement to read each ``lastrowid``; one
    ``executemany`` is cheaper. SQLite gives each new row ``max(rowid) + 1`` (the table
    has no AUTOINCREMENT and rows are never deleted; only when that would overflow does it
    pick unused rowids at random) and this transaction holds the write lock from the first
    insert on, so the rows are the ``len(stored_events)`` rowids up to
    ``last_insert_rowid()``. Checked before they are used: the rows from the first of
    those rowids on must be exactly that many and end at the last. (A row there that is not
    ours would mean one of ours below it, possible only by the random choice, which SQLite
    makes only once a row holds the largest rowid, and then that row would be the maximum.)
    The check counts instead of reading the rows back, which cost ~2 % of an append's
    instructions (a hundred new rows a batch, and the garbage collections they set off).
    """
    if not stored_events:
        return []
    rows = [
        (
            s.originator_id.hex if isinstance(s.originator_id, UUID) else s.originator_id,
            s.originator_version,
            s.topic,
            bytearray(s.state),  # LedgerSQLiteRecorder: BLOBs as bytearray
        )
        for s in stored_events
    ]
    c.executemany(f"INSERT INTO {EVENTS_TABLE} VALUES (?,?,?,?)", rows)
    c.execute("SELECT last_insert_rowid()")
    last = c.fetchone()[0]
    first = last - len(rows) + 1
    c.execute(
        f"SELECT count(*), min(rowid), max(rowid) FROM {EVENTS_TABLE} WHERE rowid >= ?", (first,)
    )
    if tuple(c.fetchone()) != (len(rows), first, last):
        raise PersistenceError(f"stored events did not get consecutive notification ids {first}…")
    return list(range(first, last + 1))


def _check_owners(c: SQLiteCursor, write: AppendWrite) -> None:
    owners = list(write.owners_read)
    c.execute(
        f"SELECT owner_subject_id, shop_id FROM {SHOP_OWNERS_TABLE} "
        f"WHERE owner_subject_id IN ({','.join('?' * len(owners))})",
        owners,
    )
    shops_now: dict[str, set[str]] = {}
    for owner, shop_id in c.fetchall():
        shops_now.setdefault(owner, set()).add(shop_id)
    by_hex = _by_hex([a for shops in write.owners_read.values() for a, _, _ in shops])
    versions_now: dict[Any, int] = {}
    if by_hex:
        c.execute(
            f"SELECT originator_id, max(originator_version) FROM {EVENTS_TABLE} "
            f"WHERE originator_id IN ({','.join('?' * len(by_hex))}) GROUP BY originator_id",
            list(by_hex),
        )
        versions_now = {by_hex[row[0]]: row[1] for row in c.fetchall()}
    write.check_owners(shops_now, versions_now)


def _erased_among(c: SQLiteCursor, subject_ids: Sequence[str]) -> list[str]:
    erased: list[str] = []
    for start in range(0, len(subject_ids), 500):  # within SQLite's parameter limit
        chunk = subject_ids[start : start + 500]
        c.execute(
            f"SELECT subject_id FROM {SUBJECT_KEYS_TABLE} "
            f"WHERE subject_key IS NULL AND subject_id IN ({','.join('?' * len(chunk))})",
            chunk,
        )
        erased.extend(row[0] for row in c.fetchall())
    return erased


def _read_nodes(cursor: Any, ids: Sequence[tuple[int, int]]) -> list[bytes]:
    # Stored Merkle nodes (storage.base.Store.merkle_nodes): level 0 from the chain table.
    found = []
    for level, index in ids:
        if level == 0:
            cursor.execute(f"SELECT leaf_hash FROM {CHAIN_TABLE} WHERE position = ?", (index,))
        else:
            cursor.execute(_NODE_BY_COMPLETION, ((index + 1) << level, level))
        row = cursor.fetchone()
        if row is None:
            raise NotFound(
                f"Merkle node ({level}, {index}) is not stored: the tree is smaller, or the "
                "ledger was created before Merkle storage"
            )
        found.append(bytes(row[0]))
    return found


# Range reads of the tiles (Store.iter_node_hashes, Store.iter_entry_bytes), a page a query.
_PAGE = 4096
_LEAVES_IN_RANGE = (
    f"SELECT position, leaf_hash FROM {CHAIN_TABLE} "
    "WHERE position >= ? AND position < ? ORDER BY position"
)
_NODES_IN_RANGE = (
    "WITH RECURSIVE wanted(completion) AS (SELECT ?1 UNION ALL "
    "SELECT completion + ?3 FROM wanted WHERE completion + ?3 <= ?2) "
    f"SELECT m.idx, m.hash FROM wanted JOIN {MERKLE_TABLE} m "
    "ON ((m.idx + 1) << m.level) = wanted.completion AND m.level = ?4 ORDER BY m.idx"
)
_ENTRIES_IN_RANGE = (
    "SELECT c.position, e.originator_id, e.originator_version, e.topic, e.state "
    f"FROM {CHAIN_TABLE} c LEFT JOIN {EVENTS_TABLE} e ON e.rowid = c.notification_id "
    "WHERE c.position >= ? AND c.position < ? ORDER BY c.position"
)


def _complete_range(
    what: str, first: int, last: int, rows: Sequence[Sequence[Any]]
) -> Iterator[bytes]:
    """The hashes of ``(index, hash)`` rows that must be exactly indices first…last-1."""
    if len(rows) != last - first or (rows and (rows[0][0], rows[-1][0]) != (first, last - 1)):
        raise NotFound(
            f"{what} {first}…{last - 1} are not all stored: the tree is smaller, or the "
            "ledger was created before Merkle storage"
        )
    for row in rows:
        yield _blob(row[1])


_ENTRY_COLUMNS = (
    "e.rowid, e.originator_id, e.originator_version, e.topic, e.state, c.position, c.chain_hash, "
    "c.leaf_hash"
)


# Entries of one aggregate recur along the log: parse each stored id once.
_uuid = functools.lru_cache(maxsize=16_384)(UUID)


def _entry(row: tuple[Any, ...]) -> StoredEntry:
    try:
        if not isinstance(row[2], int) or row[2] < 0 or not isinstance(row[3], str):
            raise TypeError("originator_version or topic of the wrong type or range")
        return StoredEntry(
            notification_id=row[0],
            originator_id=_uuid(row[1]),
            originator_version=row[2],
            topic=row[3],
            state=bytes(row[4]),
            position=row[5],
            chain_hash=bytes(row[6]) if row[6] is not None else None,
            leaf_hash=bytes(row[7]) if row[7] is not None else None,
        )
    except (ValueError, TypeError) as exc:
        # A row an attacker (or corruption) left malformed: verification must report it,
        # never crash on it.
        raise MalformedEntry(row[0], f"stored row is not a ledger entry: {exc}") from exc


def _blob(value: Any) -> bytes:
    # A BLOB column holds what it is given: a value stored as TEXT (by someone writing
    # behind the ledger) is read as its UTF-8 bytes, for verification to judge.
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _replace_derived(
    conn: sqlite3.Connection, rows: DerivedRows, head: ChainHead, url: str
) -> DerivedChanges:
    """Store.replace_derived inside the caller's write transaction; see there."""
    found = conn.execute(
        f"SELECT position, chain_hash, notification_id FROM {CHAIN_TABLE} "
        "ORDER BY position DESC LIMIT 1"
    ).fetchone()
    if found is None or ChainHead(found[0] + 1, bytes(found[1]), found[2]) != head:
        raise Conflict(
            f"{url} changed while it was being verified (an append?): nothing was changed; "
            "stop the appenders and run `db repair` again"
        )
    # The rows to hold, in temporary tables: the differences are then found and fixed by
    # joins, one statement each (rowcount: what changed).
    conn.execute("CREATE TEMP TABLE repair_leaves (position INTEGER PRIMARY KEY, hash BLOB)")
    conn.execute(
        "CREATE TEMP TABLE repair_nodes (level INTEGER, idx INTEGER, hash BLOB, "
        "PRIMARY KEY (level, idx))"
    )
    conn.execute(
        "CREATE TEMP TABLE repair_index (decision_id TEXT PRIMARY KEY, "
        "notification_id INTEGER, digest BLOB)"
    )
    try:
        conn.executemany("INSERT INTO repair_leaves VALUES (?, ?)", rows.leaf_hashes)
        conn.executemany("INSERT INTO repair_nodes VALUES (?, ?, ?)", rows.merkle_nodes)
        conn.executemany("INSERT INTO repair_index VALUES (?, ?, ?)", rows.index_rows)
        for table in DERIVED_TABLES:
            for verb in _TRIGGER_VERBS:
                conn.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb.lower()}")
        leaves = conn.execute(
            f"UPDATE {CHAIN_TABLE} SET leaf_hash = r.hash FROM repair_leaves r "
            f"WHERE {CHAIN_TABLE}.position = r.position AND {CHAIN_TABLE}.leaf_hash IS NOT r.hash"
        ).rowcount
        merkle_removed = conn.execute(
            f"DELETE FROM {MERKLE_TABLE} WHERE NOT EXISTS (SELECT 1 FROM repair_nodes r "
            f"WHERE r.level = {MERKLE_TABLE}.level AND r.idx = {MERKLE_TABLE}.idx "
            f"AND r.hash = {MERKLE_TABLE}.hash)"
        ).rowcount
        # What is left is a subset of the nodes: look each one up by the table's index.
        merkle_added = conn.execute(
            f"INSERT INTO {MERKLE_TABLE} (level, idx, hash) SELECT level, idx, hash "
            f"FROM repair_nodes r WHERE NOT EXISTS (SELECT 1 FROM {MERKLE_TABLE} m "
            "WHERE ((m.idx + 1) << m.level) = ((r.idx + 1) << r.level) AND m.level = r.level)"
        ).rowcount
        index_removed = conn.execute(
            f"DELETE FROM {DECISIONS_TABLE} WHERE NOT EXISTS (SELECT 1 FROM repair_index r "
            f"WHERE r.decision_id = {DECISIONS_TABLE}.decision_id "
            f"AND r.notification_id = {DECISIONS_TABLE}.notification_id)"
        ).rowcount
        index_added = conn.execute(
            f"INSERT INTO {DECISIONS_TABLE} (decision_id, notification_id, digest) "
            "SELECT decision_id, notification_id, digest FROM repair_index r WHERE NOT EXISTS "
            f"(SELECT 1 FROM {DECISIONS_TABLE} d WHERE d.decision_id = r.decision_id) "
            "ORDER BY notification_id"
        ).rowcount
        for table in DERIVED_TABLES:
            for verb in _TRIGGER_VERBS:
                conn.execute(_append_only_trigger(table, verb))
    finally:
        for temp in ("repair_leaves", "repair_nodes", "repair_index"):
            conn.execute(f"DROP TABLE IF EXISTS temp.{temp}")
    return DerivedChanges(leaves, merkle_removed, merkle_added, index_removed, index_added)


class SQLiteStore(Store):
    """A ledger in one SQLite file."""

    def __init__(self, url: str, path: str, *, read_only: bool = False) -> None:
        self.url = url
        self.path = path
        self.read_only = read_only
        self._conn: sqlite3.Connection | None = None
        self._owners_ready = False
        self._states_ready: bool | None = None  # ensure_shop_states's answer, once asked

    # -- connection ---------------------------------------------------------------------
    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            if not Path(self.path).exists():
                raise NotFound(
                    f"no ledger at {self.url} (file {self.path} does not exist): "
                    "run `trustledger init --root-key ROOT.key` or pass --db"
                )
            try:
                if self.read_only:
                    uri = Path(self.path).resolve().as_uri() + "?mode=ro"
                    # A read-only store may be lent to one thread after another (the HTTP
                    # service's pool of stores); never to two at once.
                    self._conn = sqlite3.connect(
                        uri, uri=True, isolation_level=None, check_same_thread=False
                    )
                else:
                    self._conn = sqlite3.connect(
                        self.path, isolation_level=None, timeout=lock_timeout()
                    )
                    # Erased subject keys must not linger in free pages (PIPL / GDPR).
                    self._conn.execute("PRAGMA secure_delete = ON")
                self._conn.execute(f"PRAGMA busy_timeout = {lock_timeout() * 1000}")
            except sqlite3.Error as exc:
                raise StorageUnavailable(f"cannot open {self.url}: {exc}") from exc
        return self._conn

    def _query_in(self, sql: str, values: Sequence[Any], *after: Any) -> Iterator[tuple[Any, ...]]:
        """The rows of ``sql`` for ``values``, whose ``{marks}`` stands for the placeholders
        of an IN list: run on chunks of 500 values (within SQLite's parameter limit), each
        followed by the parameters ``after``."""
        for start in range(0, len(values), 500):
            chunk = values[start : start + 500]
            yield from self._query(sql.format(marks=",".join("?" * len(chunk))), [*chunk, *after])

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            with closing(self._connection().execute(sql, params)) as cursor:
                return cursor.fetchall()
        except sqlite3.DatabaseError as exc:  # also "file is not a database", not only Operational
            if "no such table" in str(exc):
                raise NotFound(
                    f"{self.url} is not a trustledger ledger (no ledger tables): "
                    "run `trustledger init`"
                ) from exc
            raise StorageUnavailable(f"{self.url}: {describe_failure(exc)}") from exc

    def application_env(self) -> dict[str, str]:
        return {
            "PERSISTENCE_MODULE": "trustledger.storage.sqlite:LedgerSQLiteFactory",
            "SQLITE_DBNAME": self.path,
            "SQLITE_LOCK_TIMEOUT": str(lock_timeout()),
            "APPLICATION_RECORDER_TOPIC": "trustledger.storage.sqlite:LedgerSQLiteRecorder",
            "CREATE_TABLE": "n",
        }

    def exists(self) -> bool:
        if not Path(self.path).exists():
            return False
        rows = self._query(
            "SELECT count(*) FROM sqlite_master WHERE type='table' AND name IN (?, ?)",
            (EVENTS_TABLE, CHAIN_TABLE),
        )
        return bool(rows[0][0] == 2)

    def create(self) -> None:
        directory = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(directory):
            raise StorageUnavailable(f"cannot create {self.url}: {directory} does not exist")
        datastore = SQLiteDatastore(db_name=self.path, lock_timeout=lock_timeout())
        try:
            LedgerSQLiteRecorder(datastore).create_table()
        except (PersistenceError, sqlite3.Error) as exc:  # eventsourcing lets DatabaseError through
            raise StorageUnavailable(f"cannot create the ledger in {self.url}: {exc}") from exc
        finally:
            datastore.close()
        self.ensure_shop_owners()
        self.ensure_shop_states()

    # -- the shop owners table (docs/DECISIONS.md rule 12) -----------------------------------
    def _has_shop_owners(self) -> bool:
        rows = self._query(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
            (SHOP_OWNERS_TABLE,),
        )
        return bool(rows[0][0])

    def ensure_shop_owners(self) -> bool:
        if self._owners_ready or self._has_shop_owners():
            self._owners_ready = True
            return False
        created = self._write_shop_owners(rebuild=False)
        self._owners_ready = True
        return created

    def rebuild_shop_owners(self) -> int:
        self._write_shop_owners(rebuild=True)
        self._owners_ready = True
        return int(self._query(f"SELECT count(*) FROM {SHOP_OWNERS_TABLE}")[0][0])

    def _write_shop_owners(self, *, rebuild: bool) -> bool:
        """Create (when missing) or empty the table and fill it from the events, under the
        write lock (BEGIN IMMEDIATE), so no registration is appended in between."""
        conn = self._connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                exists = self._has_shop_owners()
                if exists and not rebuild:
                    conn.execute("COMMIT")
                    return False
                if exists:
                    conn.execute(f"DELETE FROM {SHOP_OWNERS_TABLE}")
                else:
                    for statement in SHOP_OWNERS_DDL:
                        conn.execute(statement)
                conn.execute(_FILL_SHOP_OWNERS, (_REGISTERED_TOPIC,))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise StorageUnavailable(
                f"cannot write {SHOP_OWNERS_TABLE} in {self.url}, nothing changed: {exc}"
            ) from exc
        return not exists

    # -- the shop states table (a cache of ShopState snapshots) ----------------------------
    def _has_shop_states(self) -> bool:
        rows = self._query(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
            (SHOP_STATES_TABLE,),
        )
        return bool(rows[0][0])

    def ensure_shop_states(self) -> bool:
        if self._states_ready is None:
            if self.read_only or self._has_shop_states():
                self._states_ready = not self.read_only
            else:
                try:
                    self._connection().execute(SHOP_STATES_DDL)
                except sqlite3.Error as exc:
                    raise StorageUnavailable(
                        f"cannot add {SHOP_STATES_TABLE} to {self.url}: {exc}"
                    ) from exc
                self._states_ready = True
        return self._states_ready

    def shop_snapshots(self, shop_ids: Sequence[str]) -> dict[str, tuple[int, bytes]]:
        # Once a query found the table, it stays (only a newer init or append adds it).
        if not self._states_ready and not self._has_shop_states():
            return {}
        found: dict[str, tuple[int, bytes]] = {}
        ids = list(dict.fromkeys(shop_ids))
        for shop_id, version, state in self._query_in(
            f"SELECT shop_id, version, state FROM {SHOP_STATES_TABLE} WHERE shop_id IN ({{marks}})",
            ids,
        ):
            found[shop_id] = (version, state)
        return found

    def clear_shop_snapshots(self) -> int:
        if not self._has_shop_states():
            return 0
        try:
            with closing(self._connection().execute(f"DELETE FROM {SHOP_STATES_TABLE}")) as cur:
                return int(cur.rowcount)
        except sqlite3.Error as exc:
            raise StorageUnavailable(
                f"cannot empty {SHOP_STATES_TABLE} in {self.url}: {describe_failure(exc)}"
            ) from exc

    def shops_of_owners(self, owner_subject_ids: Sequence[str]) -> dict[str, list[str]]:
        if not self.read_only:
            self.ensure_shop_owners()
        owners = list(dict.fromkeys(owner_subject_ids))
        found: dict[str, list[str]] = {}
        for owner, shop_id in self._query_in(
            f"SELECT owner_subject_id, shop_id FROM {SHOP_OWNERS_TABLE} "
            "WHERE owner_subject_id IN ({marks}) ORDER BY notification_id",
            owners,
        ):
            found.setdefault(owner, []).append(shop_id)
        return found

    # -- reads ----------------------------------------------------------------------------
    def iter_entries(self, *, after: int = 0, up_to: int | None = None) -> Iterator[StoredEntry]:
        page = 2000
        cursor_at = after
        while True:
            params: list[Any] = [cursor_at]
            where = "e.rowid > ?"
            if up_to is not None:
                where += " AND e.rowid <= ?"
                params.append(up_to)
            rows = self._query(
                f"SELECT {_ENTRY_COLUMNS} FROM {EVENTS_TABLE} e "
                f"LEFT JOIN {CHAIN_TABLE} c ON c.notification_id = e.rowid "
                f"WHERE {where} ORDER BY e.rowid LIMIT {page}",
                params,
            )
            for row in rows:
                yield _entry(row)
            if len(rows) < page:
                return
            cursor_at = rows[-1][0]

    def entry_at(self, position: int) -> StoredEntry | None:
        rows = self._query(
            f"SELECT {_ENTRY_COLUMNS} FROM {CHAIN_TABLE} c "
            f"LEFT JOIN {EVENTS_TABLE} e ON c.notification_id = e.rowid WHERE c.position = ?",
            (position,),
        )
        if not rows or rows[0][0] is None:
            return None
        return _entry(rows[0])

    def entry_before(self, notification_id: int) -> StoredEntry | None:
        rows = self._query(
            f"SELECT {_ENTRY_COLUMNS} FROM {CHAIN_TABLE} c "
            f"LEFT JOIN {EVENTS_TABLE} e ON c.notification_id = e.rowid "
            "WHERE c.notification_id < ? ORDER BY c.notification_id DESC LIMIT 1",
            (notification_id,),
        )
        if not rows or rows[0][0] is None:
            return None
        return _entry(rows[0])

    def events_of(self, originator_id: Any, *, after_version: int = 0) -> list[StoredEntry]:
        rows = self._query(
            f"SELECT {_ENTRY_COLUMNS} FROM {EVENTS_TABLE} e "
            f"LEFT JOIN {CHAIN_TABLE} c ON c.notification_id = e.rowid "
            "WHERE e.originator_id = ? AND e.originator_version > ? ORDER BY e.originator_version",
            (UUID(str(originator_id)).hex, after_version),
        )
        return [_entry(row) for row in rows]

    def current_versions(self, originator_ids: Sequence[Any]) -> dict[Any, int]:
        by_hex = _by_hex(originator_ids)
        return dict(
            (by_hex[originator_id], version)
            for originator_id, version in self._query_in(
                f"SELECT originator_id, max(originator_version) FROM {EVENTS_TABLE} "
                "WHERE originator_id IN ({marks}) GROUP BY originator_id",
                list(by_hex),
            )
        )

    def ever_banned(self, originator_ids: Sequence[Any]) -> set[Any]:
        by_hex = _by_hex(originator_ids)
        rows = self._query_in(
            f"SELECT DISTINCT originator_id FROM {EVENTS_TABLE} "
            "WHERE originator_id IN ({marks}) AND topic = ? "
            "AND instr(CAST(state AS TEXT), 'permanent_ban') > 0",
            list(by_hex),
            _PENALTY_TOPIC,
        )
        return {by_hex[originator_id] for (originator_id,) in rows}

    def key_entries(self) -> list[StoredEntry]:
        return self.events_of(KEYRING_ID)

    def notification_bounds(self) -> tuple[int, int]:
        # Two subqueries: SQLite answers min() or max() of the rowid alone from the b-tree's
        # ends, but scans the whole table for both in one select.
        row = self._query(
            f"SELECT (SELECT min(rowid) FROM {EVENTS_TABLE}), "
            f"(SELECT max(rowid) FROM {EVENTS_TABLE})"
        )[0]
        return (row[0] or 0, row[1] or 0)

    def chain_head(self) -> ChainHead | None:
        rows = self._query(
            f"SELECT position, chain_hash, notification_id FROM {CHAIN_TABLE} "
            "ORDER BY position DESC LIMIT 1"
        )
        if not rows:
            return None
        return ChainHead(rows[0][0] + 1, bytes(rows[0][1]), rows[0][2])

    def find_decisions(self, decision_ids: Sequence[str]) -> dict[str, RecordedDecision]:
        found: dict[str, RecordedDecision] = {}
        ids = list(dict.fromkeys(decision_ids))
        for decision_id, notification_id, position, digest in self._query_in(
            f"SELECT d.decision_id, d.notification_id, c.position, d.digest "
            f"FROM {DECISIONS_TABLE} d JOIN {CHAIN_TABLE} c USING (notification_id) "
            "WHERE d.decision_id IN ({marks})",
            ids,
        ):
            found[decision_id] = RecordedDecision(
                decision_id, notification_id, position, bytes(digest)
            )
        return found

    # -- subject keys ------------------------------------------------------------------------
    def subject_keys(self, subject_ids: Sequence[str]) -> dict[str, bytes | None]:
        result: dict[str, bytes | None] = {}
        ids = list(dict.fromkeys(subject_ids))
        for subject_id, key in self._query_in(
            f"SELECT subject_id, subject_key FROM {SUBJECT_KEYS_TABLE} "
            "WHERE subject_id IN ({marks})",
            ids,
        ):
            result[subject_id] = bytes(key) if key is not None else None
        return result

    def ensure_subject_keys(self, keys: Sequence[tuple[str, bytes]]) -> dict[str, bytes | None]:
        if keys:
            conn = self._connection()
            created = _now()
            try:
                # One statement's rows commit together (the connection autocommits); OR
                # IGNORE keeps a key stored first, erased or not.
                conn.executemany(
                    f"INSERT OR IGNORE INTO {SUBJECT_KEYS_TABLE} VALUES (?, ?, ?, NULL)",
                    [(subject, key, created) for subject, key in keys],
                )
            except sqlite3.DatabaseError as exc:
                raise StorageUnavailable(f"{self.url}: {exc}") from exc
        return self.subject_keys([subject for subject, _ in keys])

    def erase_subject(self, subject_id: str) -> bool:
        known = self.subject_keys([subject_id])
        if subject_id not in known:
            raise NotFound(f"no personal data recorded for subject {subject_id!r}")
        if known[subject_id] is None:
            return False
        self._query(
            f"UPDATE {SUBJECT_KEYS_TABLE} SET subject_key = NULL, erased_at = ? "
            "WHERE subject_id = ?",
            (_now(), subject_id),
        )
        # With secure_delete the old key bytes are zeroed in the page; checkpointing the WAL
        # makes sure no copy of the old page survives in the write-ahead log either.
        self._query("PRAGMA wal_checkpoint(TRUNCATE)")
        return True

    def replace_derived(self, rows: DerivedRows, *, head: ChainHead) -> DerivedChanges:
        conn = self._connection()
        try:
            # IMMEDIATE: the write lock from the start, so that no append comes between the
            # head read here and the commit.
            conn.execute("BEGIN IMMEDIATE")
            try:
                changes = _replace_derived(conn, rows, head, self.url)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as exc:
            raise StorageUnavailable(f"{self.url}: {exc}; nothing was changed") from exc
        return changes

    def erased_subjects(self) -> frozenset[str]:
        rows = self._query(f"SELECT subject_id FROM {SUBJECT_KEYS_TABLE} WHERE subject_key IS NULL")
        return frozenset(row[0] for row in rows)

    # -- verifiable log ------------------------------------------------------------------------
    def merkle_nodes(self, ids: Sequence[tuple[int, int]]) -> list[bytes]:
        try:
            with closing(self._connection().cursor()) as cursor:
                return _read_nodes(cursor, ids)
        except sqlite3.DatabaseError as exc:
            raise StorageUnavailable(f"{self.url}: {exc}") from exc

    def iter_node_hashes(self, level: int, start: int, end: int) -> Iterator[bytes]:
        for first in range(start, end, _PAGE):
            last = min(end, first + _PAGE)
            if level == 0:
                rows = self._query(_LEAVES_IN_RANGE, (first, last))
            else:
                # One probe of the (completion, level) index per node: a range of that
                # index would also pass over every lower level's nodes in between.
                rows = self._query(_NODES_IN_RANGE, ((first + 1) << level, last << level,
                                                     1 << level, level))  # fmt: skip
            yield from _complete_range(f"Merkle nodes of level {level}", first, last, rows)

    def iter_entry_bytes(self, start: int, end: int) -> Iterator[bytes]:
        for first in range(start, end, _PAGE):
            last = min(end, first + _PAGE)
            rows = self._query(_ENTRIES_IN_RANGE, (first, last))
            for position, originator_id, version, topic, state in rows:
                if originator_id is None:
                    raise NotFound(f"the entry at position {position} has no stored event")
                yield encode_entry(_uuid(originator_id), version, topic, _blob(state))
            if len(rows) != last - first:
                raise NotFound(
                    f"entries {first}…{last - 1}: {last - first - len(rows)} positions have "
                    "no chain row (beyond the log)"
                )

    def checkpoints(self) -> list[StoredCheckpoint]:
        rows = self._query(
            f"SELECT id, size, root_hash, note, created_at FROM {CHECKPOINTS_TABLE} ORDER BY id"
        )
        return [StoredCheckpoint(r[0], r[1], _blob(r[2]), _blob(r[3]), r[4]) for r in rows]

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        rows = self._query(
            f"SELECT id, size, root_hash, note, created_at FROM {CHECKPOINTS_TABLE} "
            "ORDER BY id DESC LIMIT 1"
        )
        if not rows:
            return None
        return StoredCheckpoint(rows[0][0], rows[0][1], _blob(rows[0][2]), _blob(rows[0][3]),
                                rows[0][4])  # fmt: skip

    def add_checkpoint(
        self, size: int, root_hash: bytes, note: bytes, *, after: int | None
    ) -> StoredCheckpoint:
        conn = self._connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
            latest = conn.execute(f"SELECT max(id) FROM {CHECKPOINTS_TABLE}").fetchone()[0]
            if latest != after:
                conn.execute("ROLLBACK")
                raise Conflict(
                    "another checkpoint was signed meanwhile; run `trustledger checkpoint` again"
                )
            created = _now()
            cursor = conn.execute(
                f"INSERT INTO {CHECKPOINTS_TABLE} (size, root_hash, note, created_at) "
                "VALUES (?, ?, ?, ?)",
                (size, root_hash, note, created),
            )
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StorageUnavailable(f"{self.url}: cannot store the checkpoint: {exc}") from exc
        assert cursor.lastrowid is not None
        return StoredCheckpoint(cursor.lastrowid, size, root_hash, note, created)

    def add_cosignatures(self, checkpoint_id: int, lines: Sequence[str]) -> int:
        conn = self._connection()
        try:
            before = conn.total_changes
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                f"INSERT OR IGNORE INTO {COSIGNATURES_TABLE} VALUES (?, ?)",
                [(checkpoint_id, line) for line in lines],
            )
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StorageUnavailable(f"{self.url}: cannot store cosignatures: {exc}") from exc
        return conn.total_changes - before

    def cosignatures(self, checkpoint_id: int) -> list[str]:
        rows = self._query(
            f"SELECT line FROM {COSIGNATURES_TABLE} WHERE checkpoint_id = ? ORDER BY rowid",
            (checkpoint_id,),
        )
        return [row[0] for row in rows]

    # -- the side tables, as verification reads them -------------------------------------
    def merkle_nodes_completed(self, start: int, end: int) -> list[tuple[int, int, bytes]]:
        # A range of the (completion, level) index: the rows are read in its order.
        rows = self._query(
            f"SELECT level, idx, hash FROM {MERKLE_TABLE} "
            "WHERE ((idx + 1) << level) > ? AND ((idx + 1) << level) <= ? AND level >= 1 "
            "ORDER BY ((idx + 1) << level), level",
            (start, end),
        )
        # A value of another type (a TEXT hash, say) is returned as no hash: it matches none.
        return [(r[0], r[1], bytes(r[2]) if isinstance(r[2], bytes) else b"") for r in rows]

    def merkle_node_counts(self, size: int) -> tuple[int, int]:
        # Levels are bounded before shifting: SQLite shifts by 64 or more to 0, and a
        # negative shift the other way.
        row = self._query(
            f"SELECT (SELECT count(*) FROM {MERKLE_TABLE} WHERE level BETWEEN 1 AND 62 "
            "AND idx >= 0 AND ((idx + 1) << level) <= ?), "
            f"(SELECT count(*) FROM {MERKLE_TABLE} WHERE NOT (level BETWEEN 1 AND 62) "
            "OR idx < 0 OR ((idx + 1) << level) > "
            f"(SELECT coalesce(max(position), -1) + 1 FROM {CHAIN_TABLE}))",
            (size,),
        )[0]
        return int(row[0]), int(row[1])

    def decision_rows(self, decision_ids: Sequence[str]) -> list[tuple[str, int]]:
        found: list[tuple[str, int]] = []
        ids = list(dict.fromkeys(decision_ids))
        rows = self._query_in(
            f"SELECT decision_id, notification_id FROM {DECISIONS_TABLE} "
            "WHERE decision_id IN ({marks})",
            ids,
        )
        found.extend((row[0], row[1]) for row in rows)
        return found

    def decision_rows_between(self, after: int, up_to: int) -> list[tuple[str, int]] | None:
        # notification_id is the table's INTEGER PRIMARY KEY (its rowid): a range scan.
        rows = self._query(
            f"SELECT decision_id, notification_id FROM {DECISIONS_TABLE} "
            "WHERE notification_id > ? AND notification_id <= ?",
            (after, up_to),
        )
        return [(row[0], row[1]) for row in rows]

    def decision_row_counts(self, up_to: int) -> tuple[int, int]:
        row = self._query(
            f"SELECT (SELECT count(*) FROM {DECISIONS_TABLE} WHERE notification_id <= ?), "
            f"(SELECT count(*) FROM {DECISIONS_TABLE} WHERE notification_id > "
            f"(SELECT coalesce(max(rowid), 0) FROM {EVENTS_TABLE}))",
            (up_to,),
        )[0]
        return int(row[0]), int(row[1])

    def all_cosignatures(self) -> list[tuple[int, str]]:
        rows = self._query(
            f"SELECT checkpoint_id, line FROM {COSIGNATURES_TABLE} ORDER BY checkpoint_id, rowid"
        )
        return [(row[0], row[1]) for row in rows]

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
