"""The verifiable log through the CLI: checkpoint, prove, witness, export, verify --bundle /
--checkpoint / --proof, and the attacks they catch (T5 truncated tail, T6 rewritten and
re-signed history, T7 split view), each with its exact exit code."""

from __future__ import annotations

import base64
import json
import os
import pty
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import PASSPHRASE, Cli, Story, decision, error_line, generate
from tests.ledger.test_note import ENOCH_SIG, PETER_SIG, PETER_VKEY, SUMDB_CHECKPOINT, SUMDB_VKEY
from tests.ledger.test_note import TEXT as GO_TEXT
from trustledger.app.keyfiles import load_signing_key
from trustledger.ledger.checkpoint import (
    Checkpoint,
    add_signatures,
    parse_checkpoint,
    sign_checkpoint,
)
from trustledger.ledger.cosignature import CosignerKey, format_cosigner_key, parse_cosigner_key
from trustledger.ledger.cosignature import cosign as cosign_line
from trustledger.ledger.keys import SigningKey
from trustledger.ledger.note import Note, NoteSignature, format_note, parse_note

ROOT, LOG, WITNESS = "keys/root.pub", "keys/log.pub", "keys/witness.pub"


@pytest.fixture
def log(story: Story) -> Story:
    """The story's ledger with 3 more decisions, a log key and a witness key."""
    generate(story.cli, "log")
    generate(story.cli, "witness")
    add_decisions(story, 2, prefix="shop-y")
    return story


def run(cli: Cli, *args: str, code: int = 0) -> str:
    result = cli(*args)
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result.stdout if code == 0 else error_line(result) or result.stdout


def checkpoint(cli: Cli, name: str) -> Path:
    out = run(cli, "checkpoint", "--key", "keys/log.key")
    Path(name).write_text(out)
    return Path(name)


def cosign(cli: Cli, checkpoint_file: str, *proof: str, code: int = 0) -> str:
    return run(
        cli,
        "witness",
        "cosign",
        checkpoint_file,
        *proof,
        "--key",
        "keys/witness.key",
        "--state",
        "witness/",
        "--log-key",
        LOG,
        "--out",
        "cosigned.checkpoint",
        code=code,
    )


def add_decisions(story: Story, n: int, prefix: str = "shop-x") -> None:
    docs = [decision("shop.registered", shop_id=f"{prefix}{i}") for i in range(n)]
    result = story.append(docs)
    assert result.exit_code == 0, result.stderr


def test_checkpoint_is_a_signed_note_that_verifies(log: Story) -> None:
    path = checkpoint(log.cli, "c1.checkpoint")
    cp = parse_checkpoint(parse_note(path.read_bytes()).text)
    assert cp.origin == "log" and cp.size == 5
    out = run(log.cli, "checkpoint", "verify", "--key", LOG, str(path))
    assert out.startswith("OK: c1.checkpoint: log size 5 root ")
    # (the root's .pub is tried as a signer, 0x01 key id, and as a cosigner, 0x04 key id)
    assert run(log.cli, "checkpoint", "verify", "--key", ROOT, str(path), code=1).startswith(
        f"FAILED: c1.checkpoint: note has no verifiable signatures (trusted keys: "
        f"root+{log.root_id}, root+"
    )
    # Several files: each gets its verdict, the broken one named.
    Path("cut.checkpoint").write_bytes(path.read_bytes()[:20])
    out = run(log.cli, "checkpoint", "verify", "--key", LOG, str(path), "cut.checkpoint", code=1)
    assert out.splitlines()[0].startswith("OK: c1.checkpoint: log size 5 root ")
    assert out.splitlines()[1].startswith("FAILED: cut.checkpoint: ")
    listed = json.loads(
        log.cli("checkpoint", "verify", "--key", LOG, str(path), "cut.checkpoint", "--json").stdout
    )
    assert [item["verified"] for item in listed] == [True, False]
    assert listed[0]["checkpoint"] is True and listed[0]["size"] == 5
    assert run(log.cli, "prove", "consistency", "--from", "cut.checkpoint", code=1).startswith(
        "trustledger: error: cut.checkpoint: "
    )
    assert run(log.cli, "checkpoint", code=2) == (
        "trustledger: error: checkpoint: --key LOG.key is required (or a subcommand)"
    )


def test_prove_inclusion_and_verify_offline(log: Story) -> None:
    checkpoint(log.cli, "c1.checkpoint")
    decision_id = log.log()[-1]["decision_id"]
    run(log.cli, "prove", "inclusion", decision_id, "--out", "p.proof")
    assert Path("p.proof").read_bytes().startswith(b"c2sp.org/tlog-proof@v1\nextra ")
    Path("trustledger.db").rename("elsewhere.db")  # no database needed
    out = run(log.cli, "verify", "--proof", "p.proof", "--trusted-key", LOG)
    assert out.startswith("OK: entry 4 is in log at size 5 (root ")
    tampered = Path("p.proof").read_bytes().replace(b"index 4", b"index 3")
    Path("bad.proof").write_bytes(tampered)
    out = run(log.cli, "verify", "--proof", "bad.proof", "--trusted-key", LOG, code=1)
    assert out == "FAILED: bad.proof: wrong proof size 1 for leaf 3 of 5, want 3\n"
    as_json = json.loads(
        log.cli("verify", "--proof", "p.proof", "--trusted-key", LOG, "--json").stdout
    )
    assert as_json["intact"] is True and as_json["index"] == 4 and as_json["size"] == 5
    failed = log.cli("verify", "--proof", "bad.proof", "--trusted-key", LOG, "--json")
    assert failed.exit_code == 1
    assert json.loads(failed.stdout) == {
        "intact": False, "proof": "bad.proof",
        "failure": {"check": "proof", "message": "wrong proof size 1 for leaf 3 of 5, want 3",
                    "position": None, "notification_id": None, "decision_id": None},
    }  # fmt: skip


def test_prove_unknown_decision_is_not_found(log: Story) -> None:
    checkpoint(log.cli, "c1.checkpoint")
    assert run(log.cli, "prove", "inclusion", "nope", code=2) == (
        "trustledger: error: 'nope' is neither a decision id (a UUID) nor a position (0, 1, "
        "...), as `trustledger log` shows them"
    )
    unknown = "5b0d1e48-8d4c-4f7e-9a51-3f2a1c0b9e77"
    assert run(log.cli, "prove", "inclusion", unknown.upper(), code=3) == (
        f"trustledger: error: no decision {unknown} in this ledger"
    )
    known = log.log()[-1]["decision_id"]
    assert run(log.cli, "prove", "inclusion", known.upper()).startswith("c2sp.org/tlog-proof@v1")


def test_prove_inclusion_by_position_covers_the_key_events(log: Story) -> None:
    checkpoint(log.cli, "c1.checkpoint")
    run(log.cli, "prove", "inclusion", "0", "--out", "genesis.proof")
    out = run(log.cli, "verify", "--proof", "genesis.proof", "--trusted-key", LOG)
    assert out.startswith("OK: entry 0 is in log at size 5 (root ")
    by_id = run(log.cli, "prove", "inclusion", log.log()[4]["decision_id"])
    assert run(log.cli, "prove", "inclusion", "4") == by_id
    assert run(log.cli, "prove", "inclusion", "5", code=3) == (
        "trustledger: error: entry 5 is not in the latest checkpoint (size 5, positions 0 to 4)"
    )
    add_decisions(log, 1)
    assert run(log.cli, "prove", "inclusion", "5", code=3) == (
        "trustledger: error: entry 5 is not in the latest checkpoint (size 5, positions 0 to "
        "4): run `trustledger checkpoint` first"
    )


def test_witness_cosigns_consistent_checkpoints_and_quorum_verifies(log: Story) -> None:
    checkpoint(log.cli, "c1.checkpoint")
    line = cosign(log.cli, "c1.checkpoint")
    assert line.startswith("— witness ")
    add_decisions(log, 3)
    checkpoint(log.cli, "c2.checkpoint")
    run(log.cli, "prove", "consistency", "--from", "witness/witness-state.json", "--out", "c.proof")
    cosign(log.cli, "c2.checkpoint", "c.proof")
    run(log.cli, "checkpoint", "add-cosignatures", "cosigned.checkpoint")
    out = run(
        log.cli,
        "verify",
        "--trusted-key",
        ROOT,
        "--trusted-key",
        LOG,
        "--checkpoint",
        "cosigned.checkpoint",
        "--witness-key",
        WITNESS,
        "--quorum",
        "1",
    )
    assert "; extends 1 held checkpoint" in out
    run(log.cli, "export", "--out", "audit.bundle")
    Path("trustledger.db").rename("elsewhere.db")
    out = run(
        log.cli,
        "verify",
        "--bundle",
        "audit.bundle",
        "--trusted-key",
        ROOT,
        "--trusted-key",
        LOG,
        "--witness-key",
        WITNESS,
        "--quorum",
        "1",
    )
    assert out.startswith("OK: 8 entries verified")
    out = run(
        log.cli,
        "verify",
        "--bundle",
        "audit.bundle",
        "--trusted-key",
        ROOT,
        "--trusted-key",
        LOG,
        "--checkpoint",
        "c1.checkpoint",
    )
    assert "; extends 1 held checkpoint" in out
    other = "keys/other.pub"
    generate(log.cli, "other")
    assert run(
        log.cli,
        "verify",
        "--bundle",
        "audit.bundle",
        "--trusted-key",
        ROOT,
        "--trusted-key",
        LOG,
        "--witness-key",
        other,
        "--quorum",
        "1",
        code=1,
    ).startswith(
        "FAILED: checkpoint failed at the ledger: checkpoint in the "
        "bundle: checkpoint cosigned by 0 of the trusted witnesses"
    )


def test_bundle_with_a_modified_entry_fails(log: Story) -> None:
    checkpoint(log.cli, "c1.checkpoint")
    run(log.cli, "export", "--out", "audit.bundle")
    lines = Path("audit.bundle").read_bytes().split(b"\n")
    fields = lines[4].split(b"\t", 5)
    fields[3] = b"trustledger:verification.approved"
    lines[4] = b"\t".join(fields)
    Path("bad.bundle").write_bytes(b"\n".join(lines))
    out = run(
        log.cli,
        "verify",
        "--bundle",
        "bad.bundle",
        "--trusted-key",
        ROOT,
        "--trusted-key",
        LOG,
        code=1,
    )
    assert out.startswith("FAILED: chain failed at position 2")


def test_bundle_hash_only_says_signatures_were_not_checked(log: Story) -> None:
    checkpoint(log.cli, "c1.checkpoint")
    run(log.cli, "export", "--out", "audit.bundle")
    Path("trustledger.db").rename("elsewhere.db")
    args = ("verify", "--bundle", "audit.bundle", "--hash-only", "--trusted-key", LOG)
    out = run(log.cli, *args)
    assert out.startswith(
        "OK (hash-only, signatures NOT checked): 5 entries chained and hashed to the signed "
        "checkpoint's root "
    )
    body = json.loads(run(log.cli, *args, "--json"))
    assert body["intact"] is True and body["signatures_checked"] is False
    assert body["entries"] == 5 and body["root_key"] is None
    full = json.loads(run(log.cli, "verify", "--bundle", "audit.bundle", "--trusted-key", ROOT,
                          "--trusted-key", LOG, "--json"))  # fmt: skip
    assert full["signatures_checked"] is True and full["root_hash"] == body["root_hash"]


def test_bundle_hash_only_with_a_modified_entry_byte_fails(log: Story) -> None:
    checkpoint(log.cli, "c1.checkpoint")
    run(log.cli, "export", "--out", "audit.bundle")
    lines = Path("audit.bundle").read_bytes().split(b"\n")
    fields = lines[4].split(b"\t", 5)
    fields[3] = b"trustledger:verification.approved"
    lines[4] = b"\t".join(fields)
    Path("bad.bundle").write_bytes(b"\n".join(lines))
    result = log.cli("verify", "--bundle", "bad.bundle", "--hash-only", "--trusted-key", LOG)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0].startswith(
        "FAILED: chain failed at position 2, notification 3: chain hash mismatch: stored "
    )
    assert result.stdout.splitlines()[1] == "(2 entries verified before it)"


def test_hash_only_without_a_bundle_is_a_usage_error(log: Story) -> None:
    assert run(log.cli, "verify", "--hash-only", "--trusted-key", ROOT, code=2) == (
        "trustledger: error: --hash-only applies to --bundle only"
    )


def _truncate(keep: int) -> None:
    """The operator cuts the ledger back to ``keep`` entries, triggers dropped."""
    with sqlite3.connect("trustledger.db") as conn:
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='trigger'"
        ).fetchall():
            conn.execute(f"DROP TRIGGER {name}")
        rowids = [
            r[0]
            for r in conn.execute(
                "SELECT notification_id FROM trustledger_chain WHERE position >= ?", (keep,)
            )
        ]
        conn.executemany("DELETE FROM stored_events WHERE rowid = ?", [(r,) for r in rowids])
        conn.executemany(
            "DELETE FROM trustledger_decisions WHERE notification_id = ?", [(r,) for r in rowids]
        )
        conn.execute("DELETE FROM trustledger_chain WHERE position >= ?", (keep,))
        conn.execute("DELETE FROM trustledger_merkle WHERE ((idx + 1) << level) > ?", (keep,))


def _drop_checkpoints() -> None:
    """The operator then removes the checkpoints it recorded, which the store's own check
    (``stored-checkpoint``) would otherwise hold against the cut or rewritten log."""
    with sqlite3.connect("trustledger.db") as conn:
        conn.execute("DELETE FROM trustledger_cosignatures")
        conn.execute("DELETE FROM trustledger_checkpoints")


def test_t5_truncated_tail_is_caught_by_a_held_checkpoint(log: Story) -> None:
    checkpoint(log.cli, "c1.checkpoint")
    _truncate(3)
    assert run(log.cli, "checkpoint", "--key", "keys/log.key", code=1).startswith(
        "trustledger: error: the log has 3 entries but its last checkpoint was signed at size 5"
    )
    assert run(log.cli, "verify", "--trusted-key", ROOT, code=1).startswith(
        "FAILED: stored-checkpoint failed at the ledger: stored checkpoint 1 signs 5 entries "
        "but the log has only 3"
    )
    _drop_checkpoints()
    run(log.cli, "verify", "--trusted-key", ROOT)  # without a checkpoint it looks intact
    out = run(
        log.cli,
        "verify",
        "--trusted-key",
        ROOT,
        "--trusted-key",
        LOG,
        "--checkpoint",
        "c1.checkpoint",
        code=1,
    )
    assert out.startswith(
        "FAILED: checkpoint failed at the ledger: checkpoint c1.checkpoint signs 5 entries but "
        "the log has only 3: the tail was truncated"
    )


def test_t6_rewritten_and_resigned_history_is_caught_by_the_witness(log: Story) -> None:
    checkpoint(log.cli, "c1.checkpoint")
    cosign(log.cli, "c1.checkpoint")
    Path("cosigned.checkpoint").rename("witnessed.checkpoint")
    _truncate(4)  # the operator replaces the last decision by another one
    add_decisions(log, 1)
    assert run(log.cli, "checkpoint", "--key", "keys/log.key", code=1).startswith(
        "trustledger: error: the log is not consistent with its last checkpoint (size 5)"
    )
    # ... so it signs one itself with the log key it holds.
    with sqlite3.connect("trustledger.db") as conn:
        root = conn.execute("SELECT hash FROM trustledger_merkle ORDER BY level DESC").fetchone()
    key = load_signing_key(Path("keys/log.key"), PASSPHRASE.encode)
    forged = parse_checkpoint(parse_note(Path("c1.checkpoint").read_bytes()).text)
    new_root = _root_of_store()
    assert new_root != forged.root_hash and root is not None
    Path("forged.checkpoint").write_bytes(sign_checkpoint(Checkpoint("log", 5, new_root), key))
    assert cosign(log.cli, "forged.checkpoint", code=1).startswith(
        "trustledger: error: refusing to cosign a fork: size 5 was cosigned with root"
    )
    assert run(log.cli, "verify", "--trusted-key", ROOT, code=1).startswith(
        "FAILED: stored-checkpoint failed at the ledger: stored checkpoint 1 signs root "
    )
    _drop_checkpoints()
    run(log.cli, "verify", "--trusted-key", ROOT)  # the entries alone look intact
    out = run(
        log.cli,
        "verify",
        "--trusted-key",
        ROOT,
        "--trusted-key",
        LOG,
        "--checkpoint",
        "witnessed.checkpoint",
        "--witness-key",
        WITNESS,
        "--quorum",
        "1",
        code=1,
    )
    assert out.startswith(
        "FAILED: checkpoint failed at the ledger: the log does not extend checkpoint "
        "witnessed.checkpoint (size 5): history was rewritten"
    )


def _root_of_store() -> bytes:
    from trustledger.app.transparency import tree_head
    from trustledger.storage import open_store

    store = open_store("sqlite:///trustledger.db", read_only=True)
    try:
        return tree_head(store)[1]
    finally:
        store.close()


def test_t7_split_view_two_roots_for_one_size(log: Story) -> None:
    checkpoint(log.cli, "c1.checkpoint")
    key = load_signing_key(Path("keys/log.key"), PASSPHRASE.encode)
    Path("other.checkpoint").write_bytes(sign_checkpoint(Checkpoint("log", 5, bytes(32)), key))
    out = run(
        log.cli,
        "verify",
        "--trusted-key",
        ROOT,
        "--trusted-key",
        LOG,
        "--checkpoint",
        "c1.checkpoint",
        "--checkpoint",
        "other.checkpoint",
        code=1,
    )
    assert out.startswith(
        "FAILED: checkpoint failed at the ledger: split view: checkpoints c1.checkpoint and "
        "other.checkpoint both sign size 5 of 'log' with different roots"
    )


def test_witness_refuses_a_rollback(log: Story) -> None:
    checkpoint(log.cli, "c1.checkpoint")
    add_decisions(log, 2)
    checkpoint(log.cli, "c2.checkpoint")
    cosign(log.cli, "c2.checkpoint")
    assert cosign(log.cli, "c1.checkpoint", code=1) == (
        "trustledger: error: refusing to cosign a rollback: size 5 after size 7"
    )


def test_quorum_larger_than_witnesses_is_a_usage_error(log: Story) -> None:
    checkpoint(log.cli, "c1.checkpoint")
    assert run(
        log.cli,
        "verify",
        "--trusted-key",
        ROOT,
        "--trusted-key",
        LOG,
        "--checkpoint",
        "c1.checkpoint",
        "--quorum",
        "1",
        code=2,
    ) == ("trustledger: error: --quorum 1 needs at least 1 --witness-key")


def test_a_pinned_origin_is_required_of_every_checkpoint(log: Story) -> None:
    # The log key could sign for another log too: an auditor who pins the origin the
    # operator published refuses checkpoints of any other (FORMAT.md §11).
    checkpoint(log.cli, "c1.checkpoint")
    decision_id = log.log()[-1]["decision_id"]
    run(log.cli, "prove", "inclusion", decision_id, "--out", "p.proof")
    run(log.cli, "export", "--out", "audit.bundle")
    keys = ["--trusted-key", ROOT, "--trusted-key", LOG]
    mismatch = "checkpoint of origin 'log', expected 'example.com/other'"

    assert run(log.cli, "verify", "--bundle", "audit.bundle", *keys, "--origin", "log").startswith(
        "OK: 5 entries verified"
    )
    out = run(
        log.cli, "verify", "--bundle", "audit.bundle", *keys, "--origin", "example.com/other",
        code=1,
    )  # fmt: skip
    assert out.startswith("FAILED: ") and mismatch in out
    out = run(log.cli, "verify", *keys, "--checkpoint", "c1.checkpoint", "--origin", "log")
    assert "; extends 1 held checkpoint" in out
    out = run(
        log.cli, "verify", *keys, "--checkpoint", "c1.checkpoint", "--origin",
        "example.com/other", code=1,
    )  # fmt: skip
    assert out.startswith("FAILED: ") and mismatch in out
    line = run(
        log.cli, "verify", "--proof", "p.proof", "--trusted-key", LOG, "--origin",
        "example.com/other", code=1,
    )  # fmt: skip
    assert line == f"FAILED: p.proof: checkpoint in p.proof: {mismatch}\n"
    assert run(log.cli, "verify", *keys, "--origin", "log", code=2) == (
        "trustledger: error: --origin checks checkpoints: give --checkpoint, --bundle or --proof"
    )


@pytest.mark.parametrize("out", ["missing-dir/audit.bundle", "keys"])
def test_export_to_a_path_it_cannot_write_is_a_usage_error(log: Story, out: str) -> None:
    checkpoint(log.cli, "c1.checkpoint")
    line = run(log.cli, "export", "--out", out, code=2)
    reason = "No such file or directory" if "/" in out else "Is a directory"
    assert line == f"trustledger: error: cannot write {out}: {reason}"
    assert not list(Path(".").glob("**/*.partial"))


def test_a_quorum_with_nothing_to_count_is_a_usage_error(log: Story) -> None:
    keys = ["--trusted-key", ROOT, "--trusted-key", LOG]
    assert run(log.cli, "verify", *keys, "--quorum", "1", code=2) == (
        "trustledger: error: --quorum 1 needs at least 1 --witness-key"
    )
    assert run(log.cli, "verify", *keys, "--witness-key", WITNESS, "--quorum", "1", code=2) == (
        "trustledger: error: --quorum checks checkpoints: give --checkpoint, --bundle or --proof"
    )


def test_witness_checks_its_out_path_before_its_state_moves_on(log: Story) -> None:
    checkpoint(log.cli, "c1.checkpoint")
    args = ["witness", "cosign", "c1.checkpoint", "--key", "keys/witness.key"]
    line = run(
        log.cli, *args, "--state", "witness/", "--log-key", LOG, "--out", "missing-dir/c",
        code=2,
    )  # fmt: skip
    assert (
        line == "trustledger: error: cannot write missing-dir/c: no such directory, or a directory"
    )
    assert not Path("witness").exists()  # nothing cosigned, nothing recorded
    assert cosign(log.cli, "c1.checkpoint").startswith("— witness ")
    # The witness checks what it cosigned with its own ordinary .pub.
    out = run(log.cli, "checkpoint", "verify", "--key", WITNESS, "cosigned.checkpoint")
    assert out.startswith("OK: cosigned.checkpoint: log size 5 root ")
    assert " signed by witness+" in out


def test_the_log_key_and_the_ledgers_keys_stay_apart(log: Story) -> None:
    # CLI.md: the log key signs checkpoints only; it is not registered in the ledger.
    checkpoint(log.cli, "c1.checkpoint")
    line = run(log.cli, "keys", "register", LOG, "--by", "keys/root.key", code=4)
    assert line.startswith("trustledger: error: key log+")
    assert line.endswith(
        "signs this ledger's checkpoints (the log key); a decider needs a key of its own "
        "(`trustledger keys generate NAME`)"
    )
    for key in ("keys/root.key", "keys/bot-1.key"):
        line = run(log.cli, "checkpoint", "--key", key, code=4)
        assert line.endswith(
            "is this ledger's root or a decider key; checkpoints are signed by a log key of "
            "their own (`trustledger keys generate log`)"
        )


def test_the_wrong_file_given_is_a_usage_error_not_a_verdict(log: Story) -> None:
    # Exit 1 is a verdict about the log (AUDITOR.md §1); a database given as the bundle, or a
    # held checkpoint that is not one, is the auditor's mistake: exit 2.
    keys = ["--trusted-key", ROOT, "--trusted-key", LOG]
    assert run(log.cli, "verify", "--bundle", "trustledger.db", *keys, code=2) == (
        "trustledger: error: trustledger.db is not a trustledger bundle (its first line is not "
        "exactly trustledger-bundle/v2 and a newline): give the file `trustledger export` wrote"
    )
    Path("empty.checkpoint").write_bytes(b"")
    line = run(log.cli, "verify", *keys, "--checkpoint", "empty.checkpoint", code=2)
    assert line.startswith(
        "trustledger: error: --checkpoint empty.checkpoint is not a signed checkpoint: "
    )


def _witness_alias_vkey_and_line(checkpoint_file: str) -> tuple[str, bytes]:
    """The witness's key pair under another name: its 0x04 vkey, and the checkpoint with
    a second cosignature line made by that name."""
    key = load_signing_key(Path("keys/witness.key"), PASSPHRASE.encode)
    alias = SigningKey("witness-alias", key.private_key)
    note = parse_note(Path(checkpoint_file).read_bytes())
    line = cosign_line(note.text, alias, timestamp=1700000000)
    vkey = format_cosigner_key(CosignerKey.from_verifier(alias.verifier))
    return vkey, format_note(add_signatures(note, [line]))


def test_one_witness_key_counts_once_towards_the_quorum(log: Story) -> None:
    checkpoint(log.cli, "c1.checkpoint")
    cosign(log.cli, "c1.checkpoint")
    keys = ["--trusted-key", ROOT, "--trusted-key", LOG]
    vkey, twice = _witness_alias_vkey_and_line("cosigned.checkpoint")
    Path("twice.checkpoint").write_bytes(twice)
    held = ["--checkpoint", "twice.checkpoint"]
    out = run(log.cli, "verify", *keys, *held, "--witness-key", WITNESS, "--witness-key", vkey,
              "--quorum", "1")  # fmt: skip
    assert "; extends 1 held checkpoint" in out
    # Two names, two key ids, two valid lines: one public key, one witness.
    line = run(log.cli, "verify", *keys, *held, "--witness-key", WITNESS, "--witness-key", vkey,
               "--quorum", "2", code=2)  # fmt: skip
    assert line == (
        "trustledger: error: --quorum 2 needs 2 distinct witness public keys; the 2 "
        "--witness-key given hold 1"
    )
    # The same key as its 0x01 .pub and as its 0x04 vkey: one witness too.
    own_vkey = format_cosigner_key(parse_cosigner_key(Path(WITNESS).read_text().splitlines()[-1]))
    line = run(log.cli, "verify", *keys, *held, "--witness-key", WITNESS, "--witness-key",
               own_vkey, "--quorum", "2", code=2)  # fmt: skip
    assert line.startswith("trustledger: error: --quorum 2 needs 2 distinct witness public keys")


def test_a_failing_cosignature_by_a_pinned_witness_fails_without_a_quorum(log: Story) -> None:
    checkpoint(log.cli, "c1.checkpoint")
    cosign(log.cli, "c1.checkpoint")
    note = parse_note(Path("cosigned.checkpoint").read_bytes())
    log_line, witness_line = note.signatures
    forged = NoteSignature(witness_line.name, witness_line.key_id,
                           witness_line.signature[:8] + bytes(64))  # fmt: skip
    Path("forged.checkpoint").write_bytes(format_note(Note(note.text, (log_line, forged))))
    keys = ["--trusted-key", ROOT, "--trusted-key", LOG, "--checkpoint", "forged.checkpoint"]
    assert "; extends 1 held checkpoint" in run(log.cli, "verify", *keys)  # witness not pinned
    for quorum in ("0", "1"):
        out = run(log.cli, "verify", *keys, "--witness-key", WITNESS, "--quorum", quorum, code=1)
        assert out.startswith(
            "FAILED: checkpoint failed at the ledger: checkpoint forged.checkpoint: invalid "
            f"cosignature by witness witness+{witness_line.key_id}"
        ), out
    out = run(log.cli, "verify", *keys, "--witness-key", WITNESS, code=1)
    assert "invalid cosignature by witness" in out


def test_checkpoint_verify_verifies_any_signed_note(cli: Cli) -> None:
    # docs/CLI.md: any C2SP signed note, not only checkpoints. Go's documentation example.
    Path("go.note").write_text(GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG)
    out = run(cli, "checkpoint", "verify", "--key", PETER_VKEY, "go.note")
    assert out == "OK: go.note: signed note (not a checkpoint) signed by PeterNeumann+c74f20a3\n"
    [item] = json.loads(run(cli, "checkpoint", "verify", "--key", PETER_VKEY, "go.note", "--json"))
    assert item == {"file": "go.note", "verified": True, "checkpoint": False,
                    "verified_by": ["PeterNeumann+c74f20a3"]}  # fmt: skip
    # A forgery stays a forgery.
    Path("forged.note").write_text(GO_TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:])
    out = run(cli, "checkpoint", "verify", "--key", PETER_VKEY, "forged.note", code=1)
    assert out == "FAILED: forged.note: invalid signature for key PeterNeumann+c74f20a3\n"
    [item] = json.loads(
        cli("checkpoint", "verify", "--key", PETER_VKEY, "forged.note", "--json").stdout
    )
    assert item == {"file": "forged.note", "verified": False,
                    "error": "invalid signature for key PeterNeumann+c74f20a3"}  # fmt: skip
    # Another log's checkpoint is reported as one.
    Path("sumdb.checkpoint").write_text(SUMDB_CHECKPOINT)
    args = ("checkpoint", "verify", "--key", SUMDB_VKEY, "sumdb.checkpoint", "go.note", "--json")
    first, second = json.loads(cli(*args).stdout)
    root = base64.b64decode("mb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=").hex()
    assert first == {"file": "sumdb.checkpoint", "verified": True, "checkpoint": True,
                     "origin": "go.sum database tree", "size": 6476701, "root_hash": root,
                     "verified_by": ["sum.golang.org+033de0ae"]}  # fmt: skip
    assert second["verified"] is False and "no verifiable signatures" in second["error"]


def test_a_store_verify_says_which_checks_it_did_not_make(log: Story) -> None:
    out = run(log.cli, "verify", "--trusted-key", ROOT).splitlines()
    assert out[0].startswith("OK: 5 entries verified")
    assert out[1:] == [
        "not checked: no checkpoint held: a log cut short or rewritten since an earlier audit "
        "would pass (give --checkpoint FILE, a checkpoint you kept)",
        "not checked: the store holds no checkpoint: no log signature over its size and root "
        "was checked (the operator runs `trustledger checkpoint`)",
        "not checked: no witness quorum: no checkpoint was checked for witness cosignatures, "
        "so a split view would pass (give --witness-key W.pub --quorum N)",
    ]
    checkpoint(log.cli, "c1.checkpoint")
    out = run(log.cli, "verify", "--trusted-key", ROOT).splitlines()
    assert out[2] == (
        "not checked: no log key: the signatures of the store's checkpoints were not checked "
        "(give --log-key LOG.pub)"
    )
    given = ["--trusted-key", ROOT, "--log-key", LOG, "--checkpoint", "c1.checkpoint"]
    report = json.loads(run(log.cli, "verify", *given, "--json"))
    assert report["not_checked"] == [
        "no witness quorum: no checkpoint was checked for witness cosignatures, so a split "
        "view would pass (give --witness-key W.pub --quorum N)"
    ]


def test_a_bundle_or_proof_checked_with_the_root_key_alone_names_the_flag(log: Story) -> None:
    checkpoint(log.cli, "c1.checkpoint")
    run(log.cli, "export", "--out", "audit.bundle")
    run(log.cli, "prove", "inclusion", "2", "--out", "p.proof")
    flag = (
        "trustledger: error: checkpoints are signed by the log key, and only the root key was "
        "given: pass the log key with --log-key LOG.pub"
    )
    assert run(log.cli, "verify", "--bundle", "audit.bundle", "--trusted-key", ROOT, code=2) == (
        flag
    )
    assert run(log.cli, "verify", "--checkpoint", "c1.checkpoint", "--trusted-key", ROOT,
               code=2) == flag  # fmt: skip
    line = run(log.cli, "verify", "--proof", "p.proof", "--trusted-key", ROOT, code=2)
    assert line.startswith("trustledger: error: the checkpoint in p.proof is signed by log+")
    assert line.endswith(
        ", not by a --trusted-key given; checkpoints are signed by the log key: pass it with "
        "--log-key LOG.pub"
    )
    # Given as the log key, the wrong key is a verdict on the proof: exit 1.
    out = run(log.cli, "verify", "--proof", "p.proof", "--log-key", ROOT, code=1)
    assert out.startswith("FAILED: p.proof: checkpoint in p.proof: note has no verifiable ")


def _verify_bundle_stderr(*, terminal: bool) -> str:
    """`verify --bundle` in a subprocess, its stderr a terminal (a pty) or a pipe."""
    args = [str(Path(sys.executable).with_name("trustledger")), "verify", "--bundle",
            "audit.bundle", "--trusted-key", ROOT, "--log-key", LOG]  # fmt: skip
    if not terminal:
        done = subprocess.run(args, capture_output=True, timeout=120, check=True)
        return done.stderr.decode()
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=follower)
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the terminal's other end closed with the process
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert process.wait(timeout=120) == 0
    finally:
        os.close(leader)
    return b"".join(chunks).decode()


def test_verify_bundle_shows_progress_on_a_terminal_only(log: Story) -> None:
    checkpoint(log.cli, "c1.checkpoint")
    run(log.cli, "export", "--out", "audit.bundle")
    shown = _verify_bundle_stderr(terminal=True)
    assert "verifying" in shown
    assert "100%" in shown
    assert _verify_bundle_stderr(terminal=False) == ""
