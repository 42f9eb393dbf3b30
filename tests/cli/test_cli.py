"""The ``trustledger`` command as users and scripts see it: exit code, stdout, the error line.

The happy path is the whole user story in one test; every failure has its own test and
asserts the exact ``trustledger: error: ...`` line (the last line on stderr).
"""

from __future__ import annotations

import base64
import json
import re
import sqlite3
import stat
from contextlib import closing
from pathlib import Path

import pytest

from tests.cli.conftest import (
    DB_URL,
    PASSPHRASE,
    SHOP,
    Cli,
    Story,
    command_paths,
    decision,
    error_line,
    generate,
    jsonl,
)
from tests.domain.builders import DROP
from trustledger.errors import UsageError
from trustledger.ledger.keys import compute_key_id, parse_private_key

BUYER = {"subject_id": "buyer-77", "name": "张三", "phone": "13800138000"}


def verifier_key(name: str) -> str:
    """The C2SP verifier key: the last line of ``keys/NAME.pub``."""
    return Path(f"keys/{name}.pub").read_text().splitlines()[-1]


# -- the user story ------------------------------------------------------------------------------
def test_user_story(cli: Cli) -> None:
    # keys generate: the verifier key on stdout, the note on stderr, the private key 0600.
    result = cli("keys", "generate", "root", "--out", "keys/")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == verifier_key("root") + "\n"
    assert result.stderr == "wrote keys/root.key (encrypted) and keys/root.pub\n"
    assert stat.S_IMODE(Path("keys/root.key").stat().st_mode) == 0o600
    assert "-----BEGIN OPENSSH PRIVATE KEY-----" in Path("keys/root.key").read_text()
    with pytest.raises(UsageError, match="wrong passphrase"):
        parse_private_key(Path("keys/root.key").read_bytes(), b"not the passphrase")

    result = cli("keys", "generate", "bot-1", "--out", "keys/", "--json")
    assert result.exit_code == 0, result.stderr
    generated = json.loads(result.stdout)
    bot_id = generated["key_id"]
    assert generated == {
        "name": "bot-1",
        "key_id": bot_id,
        "verifier_key": verifier_key("bot-1"),
        "private_key_file": "keys/bot-1.key",
        "public_key_file": "keys/bot-1.pub",
    }
    assert verifier_key("bot-1").startswith(f"bot-1+{bot_id}+")

    result = cli("init", "--root-key", "keys/root.key")
    assert (result.exit_code, result.stdout) == (0, verifier_key("root") + "\n")
    assert result.stderr == f"initialised {DB_URL}\n"
    assert Path("trustledger.db").is_file()

    result = cli("keys", "register", "keys/bot-1.pub", "--by", "keys/root.key")
    assert (result.exit_code, result.stdout) == (0, f"registered bot-1 ({bot_id})\n")

    # append a JSON Lines file, then one object from stdin.
    shop = decision("shop.registered")
    submitted = decision("verification.submitted", personal=BUYER)
    Path("decisions.jsonl").write_text(jsonl([shop, submitted]), encoding="utf-8")
    result = cli("append", "--key", "keys/bot-1.key", "decisions.jsonl")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert re.fullmatch(
        r"appended 2, already present 0, positions 2–3, refused 0, \d+\.\d s\n", result.stderr
    )

    complaint = decision("complaint.filed")
    result = cli("append", "--key", "keys/bot-1.key", "-", "-q", input=json.dumps(complaint))
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")

    # Re-sending is a no-op answering with the original positions.
    result = cli("append", "--key", "keys/bot-1.key", "decisions.jsonl", "--json")
    assert result.exit_code == 0, result.stderr
    *lines, summary = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines == [
        {"line": 1, "decision_id": shop["decision_id"], "position": 2, "status": "duplicate"},
        {"line": 2, "decision_id": submitted["decision_id"], "position": 3, "status": "duplicate"},
    ]
    assert summary["summary"] | {"elapsed_seconds": 0} == {
        "appended": 0,
        "duplicates": 2,
        "refused": 0,
        "first_position": None,
        "last_position": None,
        "written_through_line": 2,
        "complete": True,
        "elapsed_seconds": 0,
    }
    assert result.stderr == ""

    result = cli("verify", "--trusted-key", "keys/root.pub")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(
        "OK: 5 entries verified (chain, signatures, key history, order); 2 key events, "
        "1 decider key; 0 entries with erased personal data; head "
    )

    result = cli("log", "--shop", SHOP, "--json")
    assert result.exit_code == 0, result.stderr
    entries = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(e["position"], e["type"], e["shop_id"], e["key_id"]) for e in entries] == [
        (2, "shop.registered", SHOP, bot_id),
        (3, "verification.submitted", SHOP, bot_id),
        (4, "complaint.filed", SHOP, bot_id),
    ]
    assert [e["decision_id"] for e in entries] == [
        shop["decision_id"],
        submitted["decision_id"],
        complaint["decision_id"],
    ]
    assert entries[1]["document"]["personal"]["subject_id"] == "buyer-77"
    assert "张三" not in result.stdout  # sealed unless --reveal-personal

    result = cli("keys", "list", "--json")
    assert result.exit_code == 0, result.stderr
    listed = json.loads(result.stdout)
    assert [(k["name"], k["role"], k["state"]) for k in listed] == [
        ("root", "root", "active"),
        ("bot-1", "decider", "active"),
    ]
    assert listed[1]["key_id"] == bot_id
    assert listed[1]["verifier_key"] == verifier_key("bot-1")

    result = cli("keys", "revoke", bot_id, "--by", "keys/root.key", "--reason", "laptop lost")
    assert (result.exit_code, result.stdout) == (0, f"revoked bot-1 ({bot_id})\n")
    revoked_at = json.loads(cli("keys", "list", "--json").stdout)[1]["revoked_at"]
    assert revoked_at is not None

    result = cli(
        "append", "--key", "keys/bot-1.key", "-", input=json.dumps(decision("shop.closed"))
    )
    assert result.exit_code == 4
    assert result.stdout == ""
    assert error_line(result) == (
        f"trustledger: error: signing key {bot_id} (bot-1) was revoked at {revoked_at}"
    )

    result = cli("erase", "buyer-77")
    assert (result.exit_code, result.stdout) == (0, "erased: buyer-77\n")

    result = cli("verify", "--trusted-key", verifier_key("root"))
    assert result.exit_code == 0, result.stderr
    assert "; 1 entry with erased personal data; " in result.stdout

    result = cli("verify", "--trusted-key", "keys/root.pub", "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["intact"] is True
    assert report["failure"] is None
    assert (report["entries"], report["key_events"], report["redacted"]) == (6, 3, 1)
    assert report["root_key"] == verifier_key("root")

    result = cli("log", "--shop", SHOP, "--reveal-personal", "--json")
    assert result.exit_code == 0, result.stderr
    personal = json.loads(result.stdout.splitlines()[1])["document"]["personal"]
    assert personal == {"subject_id": "buyer-77", "erased": True}


def test_log_reveals_personal_data_only_when_asked(story: Story) -> None:
    assert story.append([decision("complaint.filed", personal=BUYER)]).exit_code == 0
    assert story.log()[-1]["document"]["personal"]["subject_id"] == "buyer-77"
    assert "name" not in story.log()[-1]["document"]["personal"]
    assert story.log("--reveal-personal")[-1]["document"]["personal"] == BUYER


def test_log_text_shows_one_line_per_entry(story: Story) -> None:
    result = story.cli("log")
    assert result.exit_code == 0, result.stderr
    # position, occurred_at, type, shop_id ("-" for key events), decision id
    rows = [line.split() for line in result.stdout.splitlines()]
    assert [(row[0], row[2], row[3]) for row in rows] == [
        ("0", "ledger.initialised", "-"),
        ("1", "key.registered", "-"),
        ("2", "shop.registered", SHOP),
    ]
    assert rows[2][4] == story.log()[2]["decision_id"]
    result = story.cli("log", "--limit", "1")
    assert (result.exit_code, len(result.stdout.splitlines())) == (0, 1)


def test_erase_twice_says_already_erased(story: Story) -> None:
    assert story.append([decision("complaint.filed", personal=BUYER)]).exit_code == 0
    assert story.cli("erase", "buyer-77").exit_code == 0
    result = story.cli("erase", "buyer-77", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {
        "subject_id": "buyer-77",
        "erased": True,
        "already_erased": True,
    }


def test_init_twice_with_the_same_root_is_a_no_op(story: Story) -> None:
    result = story.cli("init", "--root-key", "keys/root.key")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == verifier_key("root") + "\n"
    assert result.stderr == f"already initialised: {DB_URL}\n"
    result = story.cli("init", "--root-key", "keys/root.key", "--json")
    assert json.loads(result.stdout) == {
        "db": DB_URL,
        "created": False,
        "root_key": verifier_key("root"),
    }


# -- append: rejected input --------------------------------------------------------------------
def test_append_malformed_json_line(story: Story) -> None:
    text = jsonl([decision("complaint.filed")]) + "{not json\n"
    result = story.cli("append", "--key", "keys/bot-1.key", "-", input=text)
    assert result.exit_code == 4
    assert result.stdout == ""
    assert error_line(result) == (
        "trustledger: error: batch rejected: 1 invalid record, first at line 2: malformed JSON: "
        "Expecting property name enclosed in double quotes: line 1 column 2 (char 1); "
        "nothing was written"
    )


def test_append_unknown_type(story: Story) -> None:
    result = story.append([decision("complaint.filed", type="complaint.eaten")])
    assert result.exit_code == 4
    assert error_line(result).startswith(
        "trustledger: error: batch rejected: 1 invalid record, first at line 1: "
        "type: unknown decision type 'complaint.eaten' (expected one of: appeal.filed, "
    )
    assert error_line(result).endswith("verification.submitted); nothing was written")


def test_append_missing_field(story: Story) -> None:
    document = decision("complaint.filed", complaint_id=DROP)
    result = story.append([document])
    assert result.exit_code == 4
    assert result.stderr.splitlines()[0] == (
        f"trustledger: line 1 (decision {document['decision_id']}): "
        "data.complaint_id: required for a 'complaint.filed' decision"
    )
    assert error_line(result) == (
        "trustledger: error: batch rejected: 1 invalid record, first at line 1: "
        "data.complaint_id: required for a 'complaint.filed' decision; nothing was written"
    )


def test_append_rule_broken(story: Story) -> None:
    result = story.append([decision("complaint.filed", shop_id="shop-nowhere")])
    assert result.exit_code == 4
    assert error_line(result) == (
        "trustledger: error: batch rejected: 1 invalid record, first at line 1: "
        "shop shop-nowhere is not registered; complaint.filed needs a prior shop.registered; "
        "nothing was written"
    )


def test_append_batch_reports_every_bad_line_and_writes_nothing(story: Story) -> None:
    before = len(story.log())
    missing = decision("complaint.filed", complaint_id=DROP)
    text = (
        jsonl([decision("complaint.filed", complaint_id="c-1"), missing])
        + jsonl([decision("complaint.filed", complaint_id="c-2")])
        + "{oops\n"
    )
    result = story.cli("append", "--key", "keys/bot-1.key", "-", input=text)
    assert result.exit_code == 4
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"trustledger: line 2 (decision {missing['decision_id']}): "
        "data.complaint_id: required for a 'complaint.filed' decision",
        "trustledger: line 4: malformed JSON: Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1)",
        "trustledger: error: batch rejected: 2 invalid records, first at line 2: "
        "data.complaint_id: required for a 'complaint.filed' decision; nothing was written",
    ]
    assert len(story.log()) == before


def test_append_same_decision_id_with_other_content_is_a_conflict(story: Story) -> None:
    first = decision("complaint.filed")
    assert story.append([first]).exit_code == 0
    result = story.append([{**first, "actor": "someone-else"}])
    assert result.exit_code == 4
    assert error_line(result) == (
        "trustledger: error: batch rejected: 1 invalid record, first at line 1: conflict: "
        f"decision {first['decision_id']} is already recorded at position 3 with different "
        "content; nothing was written"
    )


def test_append_empty_input(story: Story) -> None:
    result = story.cli("append", "--key", "keys/bot-1.key", "-", input="\n")
    assert result.exit_code == 4
    assert error_line(result) == "trustledger: error: no decisions in the input"


# -- keys and passphrases ----------------------------------------------------------------------
def test_append_with_unregistered_key(story: Story) -> None:
    stranger = generate(story.cli, "stranger")
    result = story.append([decision("complaint.filed")], key="keys/stranger.key")
    assert result.exit_code == 4
    assert error_line(result) == (
        f"trustledger: error: signing key {stranger} is not registered in this ledger "
        "(register it with `trustledger keys register KEY.pub --by ROOT.key`)"
    )


def test_append_with_wrong_passphrase(story: Story) -> None:
    before = len(story.log())
    result = story.cli(
        "append", "--key", "keys/bot-1.key", "-",
        input=jsonl([decision("complaint.filed")]),
        env={"TRUSTLEDGER_KEY_PASSPHRASE": "not the passphrase"},
    )  # fmt: skip
    assert result.exit_code == 2
    assert error_line(result) == (
        "trustledger: error: keys/bot-1.key: cannot decrypt the private key "
        "(wrong passphrase? set TRUSTLEDGER_KEY_PASSPHRASE)"
    )
    assert len(story.log()) == before


def test_missing_passphrase_without_a_terminal(story: Story) -> None:
    # CliRunner's stdin is not a terminal, so there is nowhere to prompt.
    result = story.cli(
        "append", "--key", "keys/bot-1.key", "-",
        input=jsonl([decision("complaint.filed")]),
        env={"TRUSTLEDGER_KEY_PASSPHRASE": None},
    )  # fmt: skip
    assert result.exit_code == 2
    assert error_line(result) == (
        "trustledger: error: a passphrase is needed: set TRUSTLEDGER_KEY_PASSPHRASE "
        "(no terminal to prompt on)"
    )


def test_keys_generate_refuses_to_overwrite(cli: Cli) -> None:
    generate(cli, "root")
    before = Path("keys/root.key").read_bytes()
    result = cli("keys", "generate", "root", "--out", "keys/")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert error_line(result) == (
        "trustledger: error: keys/root.key already exists; refusing to overwrite a key"
    )
    assert Path("keys/root.key").read_bytes() == before


def test_keys_generate_refuses_a_name_that_is_a_path(cli: Cli, workdir: Path) -> None:
    result = cli("keys", "generate", "../evil", "--out", "keys/")
    assert result.exit_code == 2
    assert error_line(result) == (
        "trustledger: error: invalid key name '../evil': it names the key files, so no '/' or '..'"
    )
    assert not list(workdir.parent.glob("evil.*"))


def test_keys_register_signed_by_a_key_that_is_not_root(story: Story) -> None:
    generate(story.cli, "bot-2")
    result = story.cli("keys", "register", "keys/bot-2.pub", "--by", "keys/bot-1.key")
    assert result.exit_code == 4
    assert error_line(result) == (
        f"trustledger: error: key {story.bot_id} (bot-1) is not this ledger's root key; key "
        "events must be signed with the root key given to `init`"
    )


def test_keys_register_refuses_a_key_outside_the_prime_order_subgroup(story: Story) -> None:
    # A point of order 8: no key generator makes one, and RFC 8032 verifiers disagree on its
    # signatures (FORMAT.md §1), so it is refused before anything is signed or written.
    point = bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")
    encoded = base64.b64encode(b"\x01" + point).decode()
    Path("keys/weak.pub").write_text(f"weak+{compute_key_id('weak', point)}+{encoded}\n")
    before = story.cli("keys", "list", "--json").stdout
    result = story.cli("keys", "register", "keys/weak.pub", "--by", "keys/root.key")
    assert result.exit_code == 2
    assert error_line(result) == (
        "trustledger: error: keys/weak.pub: verifier key 'weak': not a usable Ed25519 public "
        "key: not a point of the curve's prime-order subgroup, as every generated key is "
        "(make one with `trustledger keys generate`)"
    )
    assert story.cli("keys", "list", "--json").stdout == before


def test_keys_revoke_unknown_key_id(story: Story) -> None:
    result = story.cli("keys", "revoke", "12345678", "--by", "keys/root.key")
    assert result.exit_code == 4
    assert error_line(result) == (
        "trustledger: error: key 12345678 is not registered in this ledger"
    )


def test_keys_revoke_malformed_key_id(story: Story) -> None:
    result = story.cli("keys", "revoke", "bot-1", "--by", "keys/root.key")
    assert result.exit_code == 2
    assert error_line(result) == (
        "trustledger: error: not a key id: 'bot-1' "
        "(expected 8 lowercase hex digits, see `keys list`)"
    )


# -- init --------------------------------------------------------------------------------------
def test_init_with_a_different_root(story: Story) -> None:
    generate(story.cli, "other-root")
    result = story.cli("init", "--root-key", "keys/other-root.key")
    assert result.exit_code == 4
    assert result.stdout == ""
    assert error_line(result) == (
        f"trustledger: error: {DB_URL} is already initialised with another root key "
        f"({verifier_key('root')})"
    )


# -- stores ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ("log",),
        ("keys", "list"),
        ("erase", "buyer-77"),
        ("verify", "--trusted-key", "root+d3fcf705+Ac1ADdZ5iFX8faeUI8SEvNaSsfM2f+7Dbin+eD0tC/tk"),
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_no_ledger_in_a_fresh_directory(cli: Cli, workdir: Path, args: tuple[str, ...]) -> None:
    result = cli(*args)
    assert result.exit_code == 3
    assert result.stdout == ""
    assert error_line(result) == (
        f"trustledger: error: no ledger at {DB_URL}: run `trustledger init --root-key ROOT.key` "
        "first"
    )
    assert not (workdir / "trustledger.db").exists()  # reading never creates a store


def test_bad_db_url(cli: Cli) -> None:
    result = cli("log", "--db", "mysql://localhost/ledger")
    assert result.exit_code == 2
    assert error_line(result) == (
        "trustledger: error: unsupported store URL 'mysql://localhost/ledger': use "
        "sqlite:///relative/path.db, sqlite:////absolute/path.db or postgresql://user@host/db"
    )


def test_db_url_from_the_environment(story: Story) -> None:
    result = story.cli("keys", "list", env={"TRUSTLEDGER_DB": "sqlite:///elsewhere.db"})
    assert result.exit_code == 3
    assert error_line(result).startswith("trustledger: error: no ledger at sqlite:///elsewhere.db")


def test_db_that_is_not_a_database(cli: Cli) -> None:
    Path("notes.txt").write_text("not a database, but long enough to have a header\n" * 4)
    result = cli("log", "--db", "sqlite:///notes.txt")
    assert result.exit_code == 5
    assert error_line(result) == "trustledger: error: sqlite:///notes.txt: file is not a database"


def test_append_missing_input_file(story: Story) -> None:
    result = story.cli("append", "--key", "keys/bot-1.key", "nope.jsonl")
    assert result.exit_code == 2
    assert error_line(result) == (
        "trustledger: error: cannot read nope.jsonl: No such file or directory"
    )


def test_append_input_that_is_not_utf8_names_the_line(story: Story) -> None:
    Path("gbk.jsonl").write_bytes(b'{"a": 1}\n{"actor": "' + "张三".encode("gbk") + b'"}\n')
    result = story.cli("append", "--key", "keys/bot-1.key", "gbk.jsonl")
    assert result.exit_code == 2
    assert error_line(result) == (
        "trustledger: error: gbk.jsonl, line 2: not UTF-8 (byte 0xd5); save the decisions as "
        "UTF-8 (JSON text is UTF-8, RFC 8259 §8.1)"
    )


def test_append_refuses_a_member_given_twice(story: Story) -> None:
    before = len(story.log())
    line = json.dumps(decision("shop.registered", shop_id="shop-77"))
    twice = line.replace('"shop_id": "shop-77"', '"shop_id": "shop-77", "shop_id": "shop-78"')
    result = story.cli("append", "--key", "keys/bot-1.key", "-", input=twice)
    assert result.exit_code == 4
    assert "line 1: malformed JSON: member 'shop_id' is given twice" in result.stderr
    assert len(story.log()) == before


def test_missing_key_file(story: Story) -> None:
    result = story.cli("append", "--key", "keys/nope.key", "-", input="{}")
    assert result.exit_code == 2
    assert error_line(result) == (
        "trustledger: error: cannot read key file keys/nope.key: No such file or directory"
    )


# -- verify ------------------------------------------------------------------------------------
def test_verify_with_a_wrong_trusted_key(story: Story) -> None:
    generate(story.cli, "other-root")
    result = story.cli("verify", "--trusted-key", "keys/other-root.pub")
    assert result.exit_code == 1
    first, second = result.stdout.splitlines()
    assert first.startswith("FAILED: root failed at position 0, ")
    assert first.endswith(
        f": the ledger's root key root+{story.root_id} is not a trusted key "
        f"(trusted: other-root+{verifier_key('other-root').split('+')[1]})"
    )
    assert second == "(0 entries verified before it)"


def test_verify_detects_a_tampered_byte(story: Story) -> None:
    assert (
        story.append([decision("complaint.filed"), decision("complaint.responded")]).exit_code == 0
    )
    tampered_position = 3
    with closing(sqlite3.connect("trustledger.db")) as db:
        db.execute("DROP TRIGGER stored_events_no_update")
        ((rowid, state),) = db.execute(
            "SELECT e.rowid, e.state FROM stored_events e "
            "JOIN trustledger_chain c ON c.notification_id = e.rowid WHERE c.position = ?",
            (tampered_position,),
        ).fetchall()
        mutated = bytearray(state)
        mutated[len(mutated) // 2] ^= 0x01
        db.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (bytes(mutated), rowid))
        db.commit()

    result = story.cli("verify", "--trusted-key", "keys/root.pub")
    assert result.exit_code == 1
    first, second = result.stdout.splitlines()
    assert first.startswith(f"FAILED: chain failed at position {tampered_position}, ")
    assert "chain hash mismatch: stored " in first
    assert second == f"({tampered_position} entries verified before it)"

    result = story.cli("verify", "--trusted-key", "keys/root.pub", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["intact"] is False
    assert report["failure"]["check"] == "chain"
    assert report["failure"]["position"] == tampered_position
    assert report["head_chain_hash"] is None


def test_verify_with_a_malformed_trusted_key(story: Story) -> None:
    result = story.cli("verify", "--trusted-key", "root+nothex+AAAA")
    assert result.exit_code == 2
    assert error_line(result) == (
        "trustledger: error: verifier key 'root': not an Ed25519 key (type byte 0x01, 32 bytes)"
    )


# -- help --------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", [(), *command_paths()], ids=lambda p: " ".join(p) or "main")
def test_help_of_every_command_has_an_example(cli: Cli, path: tuple[str, ...]) -> None:
    result = cli(*path, "--help")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"Usage: {' '.join(('trustledger', *path))} ")
    assert "Example" in result.stdout


def test_verify_failure_in_the_key_history_says_where_it_was_found(story: Story) -> None:
    from dataclasses import dataclass

    from tests.app.attacker import attacker, read_rows, rewrite, state_of
    from trustledger.app.keyfiles import load_signing_key
    from trustledger.ledger.envelope import canonical_payload, sign_payload

    @dataclass
    class Here:
        url: str = DB_URL
        path: Path = Path("trustledger.db")

    root = load_signing_key(Path("keys/root.key"), PASSPHRASE.encode)
    with attacker(Here()) as conn:
        rows = read_rows(conn)
        signed = sign_payload(canonical_payload({**rows[1].document(), "shop_id": SHOP}), root)
        rows[1] = rows[1].with_state(
            state_of(rows[1].state, payload=signed.payload, signature=signed.signature_b64)
        )
        rewrite(conn, rows)
    result = story.cli("verify", "--trusted-key", "keys/root.pub")
    assert result.exit_code == 1
    first, second = result.stdout.splitlines()
    assert first.startswith("FAILED: payload failed at position 1, ")
    assert second == "(found in the key history, which is checked before the entries)"
