"""The side tables are part of a store's validity: a changed leaf hash, Merkle node, stored
checkpoint, stored cosignature or idempotency-index row fails ``trustledger verify`` (exit
1) under its own check name, on SQLite and PostgreSQL alike, while the entries themselves
still verify. Each attacker writes behind the ledger's back (tests/app/attacker.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from click.testing import CliRunner

from tests.app.attacker import attacker
from tests.cli.conftest import PASSPHRASE
from tests.conftest import LedgerEnv, trusting
from trustledger.app.transparency import attach_cosignatures, create_checkpoint
from trustledger.app.verification import check_store
from trustledger.ledger.checkpoint import Checkpoint, add_signatures, sign_checkpoint
from trustledger.ledger.cosignature import cosign
from trustledger.ledger.keys import SigningKey, format_verifier_key, generate_signing_key
from trustledger.ledger.note import format_note, parse_note
from trustledger_cli.main import main

TIMESTAMP = 1_790_000_000


@dataclass
class Logged:
    """A ledger of 18 entries (genesis, the bot's registration, two shops' histories) with
    checkpoints at sizes 10 and 18, the second cosigned by ``witness``."""

    env: LedgerEnv
    log: SigningKey
    witness: SigningKey
    first: bytes  # the checkpoint at size 10, as signed

    def verify(self, *extra: str, pinned: bool = True) -> tuple[int, dict[str, Any]]:
        """``trustledger verify --json`` with the root (and, when ``pinned``, the log and
        witness keys) pinned: (exit code, document)."""
        keys = [self.env.root] + ([self.log] if pinned else [])
        args = ["verify", "--db", self.env.url, "--json"]
        for key in keys:
            args += ["--trusted-key", format_verifier_key(key.verifier)]
        if pinned:
            args += ["--witness-key", format_verifier_key(self.witness.verifier)]
        runner = CliRunner(env={"TRUSTLEDGER_KEY_PASSPHRASE": PASSPHRASE, "TRUSTLEDGER_DB": None})
        result = runner.invoke(main, [*args, *extra], catch_exceptions=False)
        return result.exit_code, json.loads(result.stdout)

    def failure(self, *extra: str, pinned: bool = True) -> dict[str, Any]:
        code, document = self.verify(*extra, pinned=pinned)
        assert (code, document["intact"]) == (1, False), document
        assert document["entries"] == 18  # every entry verified: the side table failed
        failure: dict[str, Any] = document["failure"]
        return failure


@pytest.fixture
def logged(ledger: LedgerEnv) -> Logged:
    return make_logged(ledger)


def make_logged(ledger: LedgerEnv) -> Logged:
    """``ledger`` with two shops' histories and checkpoints at sizes 10 and 18, the second
    cosigned (tests/app/test_repair.py uses it too)."""
    log, witness = generate_signing_key("log"), generate_signing_key("witness")
    ledger.append_history("shop-1")
    with ledger.open() as opened:
        first = create_checkpoint(opened.store, log)
    ledger.append_history("shop-2", buyer="buyer-78")
    with ledger.open() as opened:
        note = parse_note(create_checkpoint(opened.store, log))
        signature = cosign(note.text, witness, timestamp=TIMESTAMP)
        assert attach_cosignatures(opened.store, format_note(add_signatures(note, [signature])))
    return Logged(ledger, log, witness, first)


def _at(position: int) -> str:
    return f"(SELECT notification_id FROM trustledger_chain WHERE position = {position})"


def test_an_untouched_ledger_with_checkpoints_and_cosignatures_verifies(logged: Logged) -> None:
    for pinned in (True, False):
        code, document = logged.verify(pinned=pinned)
        assert (code, document["intact"], document["failure"]) == (0, True, None)
        assert document["entries"] == 18


# -- leaf -------------------------------------------------------------------------------------


def test_a_changed_leaf_hash(logged: Logged) -> None:
    with attacker(logged.env) as conn:
        conn.execute("UPDATE trustledger_chain SET leaf_hash = zeroblob(32) WHERE position = 7")
    code, document = logged.verify()
    assert code == 1 and document["entries"] == 7
    failure = document["failure"]
    assert (failure["check"], failure["position"]) == ("leaf", 7)
    assert failure["message"].startswith("leaf hash mismatch: stored 0000")


# -- merkle -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "position", "message"),
    [
        (
            "UPDATE trustledger_merkle SET hash = zeroblob(32) WHERE level = 2 AND idx = 1",
            4,
            "Merkle node (level 2, index 1) is 0000",
        ),
        (
            "DELETE FROM trustledger_merkle WHERE level = 1 AND idx = 8",
            16,
            "Merkle node (level 1, index 8) is not stored: the tree of 18 leaves has it",
        ),
        (
            "INSERT INTO trustledger_merkle VALUES (1, 9, zeroblob(32))",
            None,
            "the Merkle table has 17 rows; the tree of 18 leaves has 16 nodes above its leaves",
        ),
        (
            "INSERT INTO trustledger_merkle VALUES (0, 3, zeroblob(32))",
            None,
            "the Merkle table has 17 rows",
        ),
    ],
    ids=["node-changed", "node-deleted", "node-beyond-the-log", "leaf-row"],
)
def test_a_changed_merkle_table(
    logged: Logged, statement: str, position: int | None, message: str
) -> None:
    with attacker(logged.env) as conn:
        conn.execute(statement)
    failure = logged.failure()
    assert (failure["check"], failure["position"]) == ("merkle", position)
    assert failure["message"].startswith(message)


def test_a_bad_node_is_reported_before_what_a_held_checkpoint_makes_of_it(
    logged: Logged, tmp_path: Any
) -> None:
    held = tmp_path / "held.checkpoint"
    held.write_bytes(logged.first)
    assert logged.verify("--checkpoint", str(held))[0] == 0
    # Leaves 8–9: in the consistency proof from size 10 to 18, so that the held checkpoint
    # would see "history was rewritten" on a log whose entries are intact.
    with attacker(logged.env) as conn:
        conn.execute(
            "UPDATE trustledger_merkle SET hash = zeroblob(32) WHERE level = 1 AND idx = 4"
        )
    failure = logged.failure("--checkpoint", str(held))
    assert (failure["check"], failure["position"]) == ("merkle", 8)


def test_parallel_ranges_check_the_nodes_across_their_boundaries(logged: Logged) -> None:
    # Ranges of 3 notification ids: nodes (level 3, index 0) and (level 4, index 0) span
    # several ranges and are checked against their stored children.
    keys = [logged.env.root.verifier]
    assert check_store(logged.env.url, policy=trusting(keys), workers=2, range_size=3).intact
    with attacker(logged.env) as conn:
        conn.execute("UPDATE trustledger_merkle SET hash = zeroblob(32) WHERE level = 4")
    for workers in (1, 2):
        report = check_store(logged.env.url, policy=trusting(keys), workers=workers, range_size=3)
        assert report.failure is not None and report.entries == 18
        assert (report.failure.check, report.failure.position) == ("merkle", 0)
        assert "calculated" in report.failure.message


# -- stored-checkpoint ------------------------------------------------------------------------


def _forged(logged: Logged, size: int, root: bytes, key: SigningKey | None = None) -> bytes:
    return sign_checkpoint(Checkpoint("log", size, root), key or logged.log)


@pytest.mark.parametrize(
    "tamper",
    ["root-column", "size-column", "note-not-a-checkpoint", "wrong-root", "beyond-the-log"],
)
def test_a_changed_stored_checkpoint(logged: Logged, tamper: str) -> None:
    with attacker(logged.env) as conn:
        (root,) = conn.execute(
            "SELECT root_hash FROM trustledger_checkpoints WHERE id = 1"
        ).fetchone()
        if tamper == "root-column":
            conn.execute("UPDATE trustledger_checkpoints SET root_hash = zeroblob(32) WHERE id = 1")
        elif tamper == "size-column":
            conn.execute("UPDATE trustledger_checkpoints SET size = 9 WHERE id = 1")
        elif tamper == "note-not-a-checkpoint":
            note = format_note(add_signatures(parse_note(logged.first), []))
            conn.execute(
                "UPDATE trustledger_checkpoints SET note = ? WHERE id = 1",
                (note.replace(b"\n10\n", b"\nten\n"),),
            )
        else:
            size = 10 if tamper == "wrong-root" else 30
            fake = bytes(32) if tamper == "wrong-root" else bytes(root)
            conn.execute(
                "UPDATE trustledger_checkpoints SET size = ?, root_hash = ?, note = ? WHERE id = 1",
                (size, fake, _forged(logged, size, fake)),
            )
    failure = logged.failure()
    assert (failure["check"], failure["position"]) == ("stored-checkpoint", None)
    assert failure["message"].startswith("stored checkpoint 1")
    expected = {
        "root-column": "its size and root_hash columns",
        "size-column": "its size and root_hash columns",
        "note-not-a-checkpoint": "is not a checkpoint",
        "wrong-root": f"signs root {bytes(32).hex()} at size 10; the log's root there is",
        "beyond-the-log": "signs 30 entries but the log has only 18",
    }[tamper]
    assert expected in failure["message"]


def test_a_stored_checkpoint_signed_by_another_key(logged: Logged) -> None:
    impostor = generate_signing_key("log")  # same name, another key
    with attacker(logged.env) as conn:
        (root,) = conn.execute(
            "SELECT root_hash FROM trustledger_checkpoints WHERE id = 1"
        ).fetchone()
        conn.execute(
            "UPDATE trustledger_checkpoints SET note = ? WHERE id = 1",
            (_forged(logged, 10, bytes(root), impostor),),
        )
    assert logged.verify(pinned=False)[0] == 0  # no log key pinned: nothing to check it by
    failure = logged.failure()
    assert (failure["check"], failure["position"]) == ("stored-checkpoint", None)
    assert "note has no verifiable signatures" in failure["message"]


def test_a_stored_checkpoint_whose_pinned_signature_fails(logged: Logged) -> None:
    note = parse_note(logged.first)
    (signature,) = note.signatures
    broken = type(signature)(signature.name, signature.key_id, bytes(64))
    with attacker(logged.env) as conn:
        conn.execute(
            "UPDATE trustledger_checkpoints SET note = ? WHERE id = 1",
            (format_note(type(note)(note.text, (broken,))),),
        )
    assert logged.verify(pinned=False)[0] == 0
    failure = logged.failure()
    assert failure["check"] == "stored-checkpoint"
    assert f"invalid signature for key log+{logged.log.key_id}" in failure["message"]


# -- cosignature ------------------------------------------------------------------------------


def test_a_stored_cosignature_that_is_not_a_signature_line(logged: Logged) -> None:
    with attacker(logged.env) as conn:
        conn.execute("UPDATE trustledger_cosignatures SET line = 'witness signed it, trust me'")
    failure = logged.failure(pinned=False)
    assert (failure["check"], failure["position"]) == ("cosignature", None)
    assert failure["message"].startswith("cosignature of checkpoint 2: not a signature line")


def test_a_stored_cosignature_that_does_not_verify(logged: Logged) -> None:
    with attacker(logged.env) as conn:
        (line,) = conn.execute("SELECT line FROM trustledger_cosignatures").fetchone()
        flipped = line[:-6] + ("AAAAA=" if not line.endswith("AAAAA=") else "BBBBB=")
        conn.execute("UPDATE trustledger_cosignatures SET line = ?", (flipped,))
    assert logged.verify(pinned=False)[0] == 0  # no witness pinned: an unknown key's line
    failure = logged.failure()
    assert failure["check"] == "cosignature"
    assert failure["message"] == (
        f"the cosignature of checkpoint 2 by witness witness+"
        f"{_cosigner_id(logged.witness)} does not verify"
    )


def test_a_stored_cosignature_of_no_checkpoint(logged: Logged) -> None:
    with attacker(logged.env) as conn:
        (line,) = conn.execute("SELECT line FROM trustledger_cosignatures").fetchone()
        conn.execute(
            "INSERT INTO trustledger_cosignatures (checkpoint_id, line) VALUES (99, ?)", (line,)
        )
    failure = logged.failure(pinned=False)
    assert failure["check"] == "cosignature"
    assert failure["message"] == "a cosignature of checkpoint 99, which is not stored"


def _cosigner_id(key: SigningKey) -> str:
    from trustledger.ledger.cosignature import CosignerKey

    return str(CosignerKey.from_verifier(key.verifier).key_id)


# -- index ------------------------------------------------------------------------------------


def test_an_index_row_deleted(logged: Logged) -> None:
    with attacker(logged.env) as conn:
        conn.execute(f"DELETE FROM trustledger_decisions WHERE notification_id = {_at(5)}")
    failure = logged.failure()
    assert (failure["check"], failure["position"]) == ("index", 5)
    assert failure["message"] == "decision has no idempotency-index row"
    assert failure["decision_id"] is not None


def test_an_index_row_renamed(logged: Logged) -> None:
    with attacker(logged.env) as conn:
        conn.execute(
            "UPDATE trustledger_decisions SET decision_id = 'not-a-decision' "
            f"WHERE notification_id = {_at(12)}"
        )
    failure = logged.failure()
    assert (failure["check"], failure["position"]) == ("index", 12)


def test_an_index_row_pointing_elsewhere(logged: Logged) -> None:
    with attacker(logged.env) as conn:
        (notification_id,) = conn.execute(f"SELECT {_at(17)}").fetchone()
        conn.execute(
            "UPDATE trustledger_decisions SET notification_id = ? "
            f"WHERE notification_id = {_at(9)}",
            (notification_id + 1000,),
        )
    failure = logged.failure()
    assert (failure["check"], failure["position"]) == ("index", 9)
    assert failure["message"] == (
        f"the index row of the decision names notification {notification_id + 1000}"
    )


def test_an_index_row_for_a_key_event(logged: Logged) -> None:
    with logged.env.open() as opened:
        genesis_id = next(iter(opened.log())).decision_id
    with attacker(logged.env) as conn:
        conn.execute(
            f"INSERT INTO trustledger_decisions VALUES (?, {_at(0)}, zeroblob(32))", (genesis_id,)
        )
    failure = logged.failure()
    assert (failure["check"], failure["position"], failure["decision_id"]) == (
        "index",
        0,
        genesis_id,
    )
    assert failure["message"].startswith("key event has an index row")


def test_an_index_row_for_nothing(logged: Logged) -> None:
    with attacker(logged.env) as conn:
        conn.execute("INSERT INTO trustledger_decisions VALUES ('made-up', 100000, zeroblob(32))")
    failure = logged.failure()
    assert (failure["check"], failure["position"]) == ("index", None)
    assert failure["message"] == (
        "the idempotency index has 17 rows for the log's 16 decisions: rows for nothing"
    )
