"""T10: an append interrupted inside its write transaction leaves nothing behind."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import pytest

import trustledger.storage.chaining as sqlite_store  # the chain rows are computed there
from tests.conftest import LedgerEnv, shop_history
from trustledger import Ledger
from trustledger.errors import StorageUnavailable
from trustledger.ledger.chain import next_chain_hash
from trustledger.ledger.keys import generate_signing_key


def _registration(shop_id: str) -> dict[str, object]:
    return {
        "decision_id": str(uuid.uuid4()),
        "type": "shop.registered",
        "shop_id": shop_id,
        "occurred_at": "2026-11-01T00:00:00Z",
        "data": {"owner_subject_id": "seller-1"},
    }


def _counts(path: Path) -> tuple[int, int, int]:
    with sqlite3.connect(path) as conn:
        events, chain, decisions = (
            int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
            for table in ("stored_events", "trustledger_chain", "trustledger_decisions")
        )
    return events, chain, decisions


def test_crash_between_events_and_chain_rows_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ledger.db"
    root, bot = generate_signing_key("root"), generate_signing_key("bot")
    ledger, _ = Ledger.init(f"sqlite:///{path}", root)
    ledger.register_key(bot.verifier, by=root)
    before = _counts(path)

    calls = {"n": 0}
    real = next_chain_hash

    def crash_on_third(previous: bytes, leaf: bytes) -> bytes:
        # The events of the batch are already inserted when the chain is computed.
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("simulated crash inside the write transaction")
        return real(previous, leaf)

    monkeypatch.setattr(sqlite_store, "next_chain_hash", crash_on_third)
    batch = [_registration(f"shop-{i}") for i in range(5)]
    with pytest.raises(StorageUnavailable, match="nothing written"):
        ledger.append(batch, signer=bot)
    assert _counts(path) == before

    monkeypatch.setattr(sqlite_store, "next_chain_hash", real)
    outcomes = ledger.append(batch, signer=bot)  # the retry of the same batch succeeds
    assert [o.status for o in outcomes] == ["appended"] * 5
    assert _counts(path) == (before[0] + 5, before[1] + 5, before[2] + 5)
    assert ledger.verify(trusted_keys=[root.verifier], workers=1).intact
    ledger.close()


def test_an_exception_after_the_events_are_inserted_leaves_nothing_on_every_store(
    ledger: LedgerEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Not only a driver error: any exception while the chain rows are computed must roll
    # the events back. (eventsourcing's PostgreSQL recorder committed them without chain
    # rows, since its transaction block ended normally around the kept exception.)
    ledger.append(shop_history("shop-1")[:2])
    before = _entries(ledger)

    def fail(previous: bytes, leaf: bytes) -> bytes:
        raise RuntimeError("simulated failure inside the write transaction")

    monkeypatch.setattr(sqlite_store, "next_chain_hash", fail)
    with pytest.raises(StorageUnavailable, match="nothing written"):
        ledger.append(shop_history("shop-1")[2:])
    assert _entries(ledger) == before
    monkeypatch.undo()
    assert [o.status for o in ledger.append(shop_history("shop-1")[2:])] == ["appended"] * 6
    assert len(_entries(ledger)) == len(before) + 6
    assert ledger.verify().intact


def _entries(ledger: LedgerEnv) -> list[tuple[int | None, str]]:
    # Every stored event with its chain position (None for an event without a chain row).
    with ledger.open() as opened:
        return [(entry.position, entry.topic) for entry in opened.store.iter_entries()]


def test_events_that_do_not_get_consecutive_notification_ids_are_not_written(
    tmp_path: Path,
) -> None:
    # The SQLite recorder takes the events' rowids to be the ones up to last_insert_rowid().
    # Once a row holds the largest rowid SQLite picks new ones at random: the recorder must
    # notice and write nothing rather than chain the events under the wrong ids.
    path = tmp_path / "ledger.db"
    root, bot = generate_signing_key("root"), generate_signing_key("bot")
    ledger, _ = Ledger.init(f"sqlite:///{path}", root)
    ledger.register_key(bot.verifier, by=root)
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO stored_events (rowid, originator_id, originator_version, topic, state) "
            "VALUES (?, 'planted', 1, 'planted', x'7b7d')",
            (2**63 - 1,),
        )
    before = _counts(path)
    with pytest.raises(StorageUnavailable, match=r"nothing written.*consecutive"):
        ledger.append([_registration(f"shop-{i}") for i in range(5)], signer=bot)
    assert _counts(path) == before
    ledger.close()
