"""Any single-byte mutation of a stored entry is detected (CONTRIBUTING.md, Tests)."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from contextlib import closing
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.app.attacker import attacker
from tests.conftest import LedgerEnv, make_ledger

COLUMNS = {
    # column: (table, key column)
    "state": ("stored_events", "rowid"),
    "topic": ("stored_events", "rowid"),
    "originator_version": ("stored_events", "rowid"),
    "originator_id": ("stored_events", "rowid"),
    "chain_hash": ("trustledger_chain", "notification_id"),
}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[LedgerEnv, int]:
    """A ledger of 26 entries (key events, three shops, personal data), checkpointed into
    one file so that copying the file copies the ledger. Returns it and its entry count."""
    env = make_ledger(tmp_path_factory.mktemp("prepared"))
    for number in range(3):
        env.append_history(f"shop-{number}", buyer=f"buyer-{number}")
    with closing(sqlite3.connect(env.path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    report = env.verify()
    assert report.intact
    return env, report.entries


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    assert isinstance(value, int)
    return value.to_bytes(8, "big", signed=True)


def _from_bytes(column: str, data: bytes) -> Any:
    if column == "originator_version":
        return int.from_bytes(data, "big", signed=True)
    if column in ("topic", "originator_id"):
        return data.decode("utf-8")
    return data


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    column=st.sampled_from(sorted(COLUMNS)),
    row=st.integers(min_value=0),
    offset=st.integers(min_value=0),
    xor=st.integers(min_value=1, max_value=255),
)
def test_single_byte_mutation_is_detected(
    prepared: tuple[LedgerEnv, int], column: str, row: int, offset: int, xor: int
) -> None:
    env, entries = prepared
    notification_id = row % entries + 1
    with tempfile.TemporaryDirectory() as directory:
        copy = replace(env, path=Path(directory) / "ledger.db")
        shutil.copy(env.path, copy.path)
        table, key = COLUMNS[column]
        with attacker(copy.path) as conn:
            (value,) = conn.execute(
                f"SELECT {column} FROM {table} WHERE {key} = ?", (notification_id,)
            ).fetchone()
            data = bytearray(_as_bytes(value))
            data[offset % len(data)] ^= xor
            try:
                mutated = _from_bytes(column, bytes(data))
            except UnicodeDecodeError:
                mutated = None
            # A text column keeps text (eventsourcing's own reads would fail otherwise); the
            # version must stay a distinct key of its aggregate.
            assume(mutated is not None)
            try:
                conn.execute(
                    f"UPDATE {table} SET {column} = ? WHERE {key} = ?", (mutated, notification_id)
                )
            except sqlite3.IntegrityError:
                assume(False)
        report = copy.verify()
    assert not report.intact, (column, notification_id, offset, xor)
