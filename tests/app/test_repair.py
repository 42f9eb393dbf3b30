"""`trustledger db repair`: derived rows (leaf hashes, Merkle nodes, index rows) changed
behind the ledger's back are rebuilt from the verified entries, after which verify passes
and checkpoints can be signed again; a ledger whose entries do not verify, or whose stored
checkpoints its entries contradict (truncated after signing), is refused and left exactly
as it was. SQLite and PostgreSQL alike (the ``ledger`` fixture)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.app.attacker import attacker, read_rows, rewrite, state_of
from tests.app.test_tamper_sidetables import Logged, make_logged
from tests.cli.conftest import PASSPHRASE
from tests.conftest import LedgerEnv
from trustledger.app.repair import repair_store
from trustledger.app.transparency import create_checkpoint
from trustledger.errors import NotFound
from trustledger.ledger.envelope import canonical_payload
from trustledger.ledger.keys import format_verifier_key
from trustledger_cli.main import main

DERIVED = "trustledger_chain", "trustledger_merkle", "trustledger_decisions"


@pytest.fixture
def logged(ledger: LedgerEnv) -> Logged:
    """As tests/app/test_tamper_sidetables.py's: 18 entries, checkpoints at sizes 10 and
    18, the second cosigned."""
    return make_logged(ledger)


def _repair(logged: Logged, *extra: str) -> tuple[int, str]:
    args = ["db", "repair", "--db", logged.env.url, "--trusted-key"]
    args.append(format_verifier_key(logged.env.root.verifier))
    runner = CliRunner(env={"TRUSTLEDGER_KEY_PASSPHRASE": PASSPHRASE, "TRUSTLEDGER_DB": None})
    result = runner.invoke(main, [*args, *extra], catch_exceptions=False)
    return result.exit_code, result.stdout + result.stderr


def _dump(logged: Logged) -> dict[str, list[Any]]:
    """Every row of every ledger table, for "nothing was changed"."""
    tables = (*DERIVED, "stored_events", "trustledger_checkpoints", "trustledger_cosignatures")
    with attacker(logged.env) as conn:
        return {
            table: sorted(
                tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                for row in conn.execute(f"SELECT * FROM {table}").fetchall()
            )
            for table in tables
        }


def _checkpoint_after(logged: Logged) -> None:
    with logged.env.open() as opened:
        create_checkpoint(opened.store, logged.log)


@pytest.mark.parametrize(
    ("statements", "changed"),
    [
        (
            ["UPDATE trustledger_chain SET leaf_hash = zeroblob(32) WHERE position = 7"],
            {"leaf_hashes": 1},
        ),
        (
            ["UPDATE trustledger_merkle SET hash = zeroblob(32) WHERE level = 2 AND idx = 1"],
            {"merkle_removed": 1, "merkle_added": 1},
        ),
        (
            [
                "DELETE FROM trustledger_merkle WHERE level = 1 AND idx = 8",
                "INSERT INTO trustledger_merkle VALUES (1, 9, zeroblob(32))",
                "INSERT INTO trustledger_merkle VALUES (0, 3, zeroblob(32))",
            ],
            {"merkle_removed": 2, "merkle_added": 1},
        ),
        (
            [
                "DELETE FROM trustledger_decisions WHERE notification_id = "
                "(SELECT notification_id FROM trustledger_chain WHERE position = 5)",
                "UPDATE trustledger_decisions SET decision_id = 'not-a-decision' "
                "WHERE notification_id = "
                "(SELECT notification_id FROM trustledger_chain WHERE position = 6)",
            ],
            {"index_removed": 1, "index_added": 2},
        ),
        (
            ["DELETE FROM trustledger_merkle", "DELETE FROM trustledger_decisions"],
            {"merkle_added": 16, "index_added": 16},
        ),
    ],
    ids=["leaf-hash", "merkle-node", "merkle-rows", "index-rows", "all-derived-rows-gone"],
)
def test_repair_rebuilds_derived_rows(
    logged: Logged, statements: list[str], changed: dict[str, int]
) -> None:
    with attacker(logged.env) as conn:
        for statement in statements:
            conn.execute(statement)
    assert logged.verify()[0] == 1

    code, output = _repair(logged, "--json")
    assert code == 0, output
    document = json.loads(output)
    counts = ("leaf_hashes", "merkle_removed", "merkle_added", "index_removed", "index_added")
    assert {name: document[name] for name in counts} == {
        name: changed.get(name, 0) for name in counts
    }
    assert document["changed"] == sum(changed.values())
    assert document["entries"] == 18

    code, verified = logged.verify()
    assert (code, verified["intact"]) == (0, True), verified
    assert verified["root_hash"] == document["root_hash"]
    _checkpoint_after(logged)  # signs again
    # Rebuilt index rows carry the right digests (personal data included): every decision
    # appended again, as recorded, is a duplicate.
    with logged.env.open() as opened:
        recorded = [e.document for e in opened.log(reveal_personal=True) if e.shop_id]
    assert len(recorded) == 16 and any("personal" in document for document in recorded)
    outcomes = logged.env.append(recorded)
    assert {outcome.status for outcome in outcomes} == {"duplicate"}
    # The append-only triggers are back.
    with pytest.raises(Exception, match="append-only"):
        _update_leaf_as_writer(logged)


def _update_leaf_as_writer(logged: Logged) -> None:
    # As the ledger's writer, without lifting the triggers (attacker() would).
    if logged.env.backend == "sqlite":
        import sqlite3

        with sqlite3.connect(logged.env.path) as conn:
            conn.execute("UPDATE trustledger_chain SET leaf_hash = leaf_hash WHERE position = 1")
    else:
        import psycopg

        from trustledger.storage.postgres import split_schema

        dsn, schema = split_schema(logged.env.url)
        with psycopg.connect(dsn, options=f"-c search_path={schema}") as conn:
            conn.execute("UPDATE trustledger_chain SET leaf_hash = leaf_hash WHERE position = 1")


def test_repair_rebuilds_the_shop_owners_table(logged: Logged) -> None:
    with attacker(logged.env) as conn:
        before = sorted(conn.execute("SELECT * FROM trustledger_shop_owners").fetchall())
        conn.execute("DELETE FROM trustledger_shop_owners")
    code, output = _repair(logged, "--json")
    assert code == 0, output
    assert json.loads(output)["shop_owners"] == len(before) == 2
    # The shop state snapshots, a cache, are emptied: one per shop written.
    assert json.loads(output)["shop_snapshots_cleared"] == 2
    with attacker(logged.env) as conn:
        assert sorted(conn.execute("SELECT * FROM trustledger_shop_owners").fetchall()) == before


def test_repair_of_an_intact_ledger_changes_nothing(logged: Logged) -> None:
    before = _dump(logged)
    code, output = _repair(logged)
    assert code == 0, output
    assert "derived rows: all right, nothing changed" in output
    assert "shop state snapshots cleared: 2" in output
    assert _dump(logged) == before


def test_repair_tells_its_progress_over_every_entry(logged: Logged) -> None:
    told: list[int] = []
    report = repair_store(
        logged.env.url, trusted_keys=[logged.env.root.verifier], progress=told.append
    )
    assert report.entries == 18
    assert sum(told) == 18 and all(n > 0 for n in told)


def test_repair_refuses_entries_that_do_not_verify(logged: Logged) -> None:
    # An entry's content changed and the whole chain recomputed: only its signature fails.
    with attacker(logged.env) as conn:
        rows = read_rows(conn)
        document = rows[5].document()
        document["data"] = {**document.get("data", {}), "points": 0}
        rows[5] = rows[5].with_state(state_of(rows[5].state, payload=canonical_payload(document)))
        rewrite(conn, rows)
        conn.execute("DELETE FROM trustledger_merkle WHERE level = 1 AND idx = 8")
    before = _dump(logged)
    code, output = _repair(logged)
    assert code == 1, output
    assert "the entries do not verify (check signature" in output
    assert "position 5" in output
    assert "nothing was changed" in output
    assert _dump(logged) == before


def test_repair_refuses_a_log_truncated_after_its_checkpoints(logged: Logged) -> None:
    # A superuser removes the last entries with every derived row of them, keeping the
    # checkpoint rows: the rest is consistent, but checkpoint 2 signed 18 entries.
    with attacker(logged.env) as conn:
        conn.execute(
            "DELETE FROM stored_events WHERE rowid IN "
            "(SELECT notification_id FROM trustledger_chain WHERE position >= 12)"
        )
        conn.execute(
            "DELETE FROM trustledger_decisions WHERE notification_id IN "
            "(SELECT notification_id FROM trustledger_chain WHERE position >= 12)"
        )
        conn.execute("DELETE FROM trustledger_chain WHERE position >= 12")
        conn.execute("DELETE FROM trustledger_merkle WHERE ((idx + 1) << level) > 12")
    before = _dump(logged)
    code, output = _repair(logged)
    assert code == 1, output
    assert "stored checkpoint 2 (note) signs 18 entries but the log has only 12" in output
    assert "nothing was changed" in output
    assert _dump(logged) == before


def test_repair_refuses_events_removed_from_the_end_with_their_chain_rows_kept(
    logged: Logged,
) -> None:
    with attacker(logged.env) as conn:
        conn.execute(
            "DELETE FROM stored_events WHERE rowid = "
            "(SELECT notification_id FROM trustledger_chain WHERE position = 17)"
        )
    before = _dump(logged)
    code, output = _repair(logged)
    assert code == 1, output
    assert "nothing was changed" in output
    assert _dump(logged) == before


def test_repair_of_no_ledger(logged: Logged, tmp_path: Path) -> None:
    runner = CliRunner(env={"TRUSTLEDGER_DB": None})
    missing = tmp_path / "none.db"
    key = format_verifier_key(logged.env.root.verifier)
    result = runner.invoke(
        main, ["db", "repair", "--db", f"sqlite:///{missing}", "--trusted-key", key]
    )
    assert result.exit_code == NotFound.exit_code == 3
    assert f"no ledger at sqlite:///{missing}" in result.stderr
