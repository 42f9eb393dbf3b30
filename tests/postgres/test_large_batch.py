"""Large batches on PostgreSQL: a single append of 50,000 decisions completes every time
(psycopg's pipeline mode used to hang on such a statement, holding the table lock:
tests/postgres/psycopg_pipeline_repro.py), and Ctrl-C while an append holds the lock
interrupts it, leaves nothing written and frees the lock."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from tests.conftest import LedgerEnv
from trustledger.storage.postgres import split_schema

BATCH = 50_000


def _registrations(count: int, prefix: str) -> list[dict[str, object]]:
    return [
        {
            "decision_id": str(uuid.uuid4()),
            "type": "shop.registered",
            "shop_id": f"{prefix}-{i}",
            "occurred_at": "2026-11-01T00:00:00Z",
            "data": {"owner_subject_id": f"seller-{prefix}-{i}", "deposit": 100_000},
        }
        for i in range(count)
    ]


def _admin(env: LedgerEnv) -> psycopg.Connection[tuple[object, ...]]:
    dsn, schema = split_schema(env.url)
    return psycopg.connect(dsn, autocommit=True, options=f"-c search_path={schema}")


def _counts(env: LedgerEnv) -> tuple[object, ...]:
    with _admin(env) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM stored_events), (SELECT count(*) FROM trustledger_chain),"
            " (SELECT count(*) FROM trustledger_decisions)"
        ).fetchone()
    assert row is not None
    return tuple(row)


@pytest.mark.timeout(900)  # a hang fails the test instead of blocking the run
def test_batches_of_50000_decisions_complete_every_time(pg_ledger: LedgerEnv) -> None:
    before = pg_ledger.entry_count()
    for attempt in range(3):
        outcomes = pg_ledger.append(_registrations(BATCH, f"big{attempt}"))
        assert len(outcomes) == BATCH
        assert outcomes[-1].position == before + (attempt + 1) * BATCH - 1
    assert _counts(pg_ledger) == (before + 3 * BATCH, before + 3 * BATCH, 3 * BATCH)


# Appends one batch read from a JSON file, signing with the raw key in $BOT_KEY.
_APPENDER = """
import json, os, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from trustledger.app.ledger import Ledger
from trustledger.ledger.keys import SigningKey

key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(os.environ["BOT_KEY"]))
with open(sys.argv[2], encoding="utf-8") as source:
    documents = json.load(source)
with Ledger.open(sys.argv[1]) as ledger:
    ledger.append(documents, signer=SigningKey("bot", key))
"""


def _lock_holder(env: LedgerEnv) -> int | None:
    """The backend holding the append's EXCLUSIVE lock on this ledger's stored_events."""
    _, schema = split_schema(env.url)
    with _admin(env) as conn:
        row = conn.execute(
            "SELECT l.pid FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = 'stored_events' "
            "AND l.mode = 'ExclusiveLock' AND l.granted",
            (schema,),
        ).fetchone()
    return int(str(row[0])) if row else None


@pytest.mark.timeout(600)
def test_ctrl_c_interrupts_an_append_holding_the_lock(pg_ledger: LedgerEnv, tmp_path: Path) -> None:
    before = _counts(pg_ledger)
    batch = tmp_path / "batch.json"
    batch.write_text(json.dumps(_registrations(BATCH, "interrupted")), encoding="utf-8")
    raw = pg_ledger.bot.private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    child = subprocess.Popen(
        [sys.executable, "-c", _APPENDER, pg_ledger.url, str(batch)],
        env={**os.environ, "BOT_KEY": raw.hex()},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 400
        while _lock_holder(pg_ledger) is None:
            assert child.poll() is None, child.stderr.read() if child.stderr else ""
            assert time.monotonic() < deadline, "the append never took the table lock"
            time.sleep(0.05)
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=60)  # interrupted, not hung
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode != 0
    assert "KeyboardInterrupt" in stderr
    # Nothing of the batch was written, and the lock is free: the next append goes through.
    assert _counts(pg_ledger) == before
    assert _lock_holder(pg_ledger) is None
    assert len(pg_ledger.append(_registrations(2, "after"))) == 2
