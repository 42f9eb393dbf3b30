"""An attacker with write access to a ledger's SQLite file: drops the append-only triggers and
edits rows with sqlite3, optionally recomputing the whole hash chain so that only signatures
(and the key history) stand in the way.

On PostgreSQL the attacker is the table owner: it disables the triggers (``ALTER TABLE ...
DISABLE TRIGGER USER``) and runs the same statements, written in SQLite's dialect and
translated by ``PgAttacker`` (``?`` parameters, ``rowid``, ``zeroblob(32)``).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

import psycopg

from trustledger.ledger.chain import GENESIS_CHAIN_HASH, encode_entry, leaf_hash, next_chain_hash
from trustledger.ledger.envelope import canonical_payload, sign_payload
from trustledger.ledger.keys import SigningKey
from trustledger.storage.base import APPEND_ONLY_TABLES

__all__ = ["Row", "attacker", "forge_state", "read_rows", "rewrite", "state_of"]


@dataclass(frozen=True)
class Row:
    """One stored event, as eventsourcing's SQLite recorder keeps it."""

    originator_id: str  # UUID hex
    originator_version: int
    topic: str
    state: bytes

    def document(self) -> dict[str, Any]:
        payload: dict[str, Any] = json.loads(json.loads(self.state)["payload"])
        return payload

    def with_state(self, state: bytes) -> Row:
        return replace(self, state=state)


class Ledgerish(Protocol):
    @property
    def url(self) -> str: ...

    @property
    def path(self) -> Path: ...


class PgAttacker:
    """A psycopg connection that takes the SQLite-dialect statements of the tamper tests."""

    def __init__(self, conn: psycopg.Connection[tuple[Any, ...]]) -> None:
        self.conn = conn

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> psycopg.Cursor[Any]:
        sql = re.sub(r"\browid\b", "notification_id", sql)
        sql = sql.replace("zeroblob(32)", "decode(repeat('00', 32), 'hex')").replace("?", "%s")
        return self.conn.execute(sql, params)


@contextmanager
def attacker(target: Path | Ledgerish) -> Iterator[Any]:
    """A connection to the ledger with every append-only trigger dropped or disabled."""
    if not isinstance(target, Path) and target.url.startswith("postgresql://"):
        from trustledger.storage.postgres import split_schema

        dsn, schema = split_schema(target.url)
        with psycopg.connect(dsn, autocommit=True, options=f"-c search_path={schema}") as pg_conn:
            for table in APPEND_ONLY_TABLES:
                pg_conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            yield PgAttacker(pg_conn)
        return
    path = target if isinstance(target, Path) else target.path
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        for table in APPEND_ONLY_TABLES:
            for verb in ("update", "delete"):
                conn.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")
        yield conn


def read_rows(conn: Any) -> list[Row]:
    rows = conn.execute(
        "SELECT originator_id, originator_version, topic, state FROM stored_events ORDER BY rowid"
    ).fetchall()
    return [
        Row(r[0].hex if isinstance(r[0], UUID) else r[0], r[1], r[2], bytes(r[3])) for r in rows
    ]


def rewrite(conn: Any, rows: list[Row]) -> None:
    """Replace the whole log by ``rows``: notification ids 1..n and a freshly computed chain."""
    conn.execute("BEGIN")
    conn.execute("DELETE FROM trustledger_chain")
    conn.execute("DELETE FROM stored_events")
    chain = GENESIS_CHAIN_HASH
    for position, row in enumerate(rows):
        conn.execute(
            "INSERT INTO stored_events (rowid, originator_id, originator_version, topic, state) "
            "VALUES (?, ?, ?, ?, ?)",
            (position + 1, row.originator_id, row.originator_version, row.topic, row.state),
        )
        leaf = leaf_hash(
            encode_entry(UUID(row.originator_id), row.originator_version, row.topic, row.state)
        )
        chain = next_chain_hash(chain, leaf)
        conn.execute(
            "INSERT INTO trustledger_chain VALUES (?, ?, ?, ?)",
            (position + 1, position, leaf, chain),
        )
    conn.execute("COMMIT")


def state_of(template: bytes, **members: str) -> bytes:
    """A stored state like ``template`` with some members replaced."""
    state = json.loads(template)
    state.update(members)
    return json.dumps(state, separators=(",", ":"), ensure_ascii=False).encode()


def forge_state(template: bytes, document: dict[str, Any], key: SigningKey) -> bytes:
    """A stored state carrying ``document`` correctly signed by ``key``."""
    signed = sign_payload(canonical_payload(document), key)
    return state_of(
        template,
        payload=signed.payload,
        signature=signed.signature_b64,
        key_id=str(signed.key_id),
    )


def resigned(row: Row, payload: str, key: SigningKey) -> Row:
    """``row`` carrying ``payload`` verbatim, validly signed by ``key``."""
    signed = sign_payload(payload, key)
    return row.with_state(
        state_of(row.state, payload=signed.payload, signature=signed.signature_b64,
                 key_id=str(signed.key_id))
    )  # fmt: skip


def copied_to_tail(rows: list[Row], index: int) -> list[Row]:
    """``rows`` and then row ``index`` again, at the next version of its aggregate: a
    signed decision replayed behind the ledger's back (T9)."""
    aggregate = rows[index].originator_id
    last = max(r.originator_version for r in rows if r.originator_id == aggregate)
    return [*rows, replace(rows[index], originator_version=last + 1)]
