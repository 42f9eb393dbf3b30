"""Verification against an attacker who edits the SQLite file (docs/DESIGN.md, T1–T4, T8).

Each test tampers in one way and asserts that the report is not intact and that its first
failure names the right check, position and decision.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import pytest

from tests.app.attacker import (
    Row,
    attacker,
    copied_to_tail,
    forge_state,
    read_rows,
    resigned,
    rewrite,
    state_of,
)
from tests.conftest import LedgerEnv, make_ledger, shop_history, trusting
from tests.domain.builders import doc, ts
from trustledger.app.verification import VerifyReport, check_store
from trustledger.domain.identity import shop_aggregate_id
from trustledger.ledger.envelope import canonical_payload
from trustledger.ledger.keys import format_verifier_key, generate_signing_key
from trustledger.ledger.verify import Failure


@pytest.fixture
def history(ledger: LedgerEnv) -> LedgerEnv:
    """Genesis (0), the bot's registration (1), shop-1 at positions 2–9, shop-2 at 10–17."""
    ledger.append_history("shop-1")
    ledger.append_history("shop-2", buyer="buyer-78")
    assert ledger.verify().intact
    return ledger


def decision_ids(env: LedgerEnv) -> dict[int, str | None]:
    """Position → decision id, read before tampering."""
    with env.open() as opened:
        return {e.position: e.decision_id for e in opened.log() if e.position is not None}


def failure_of(report: VerifyReport) -> Failure:
    assert not report.intact
    assert report.failure is not None
    return report.failure


# -- T1: bytes modified ---------------------------------------------------------------------


def test_modified_state_byte_breaks_the_chain(history: LedgerEnv) -> None:
    ids = decision_ids(history)
    with attacker(history) as conn:
        (state,) = conn.execute("SELECT state FROM stored_events WHERE rowid = 6").fetchone()
        assert b"reviewer-17" in state
        conn.execute(
            "UPDATE stored_events SET state = ? WHERE rowid = 6",
            (bytes(state).replace(b"reviewer-17", b"reviewer-18"),),
        )
    failure = failure_of(history.verify())
    assert (failure.check, failure.position, failure.decision_id) == ("chain", 5, ids[5])
    assert failure.notification_id == 6
    assert "chain hash mismatch" in failure.message


def test_modified_chain_hash_is_detected(history: LedgerEnv) -> None:
    ids = decision_ids(history)
    with attacker(history) as conn:
        conn.execute("UPDATE trustledger_chain SET chain_hash = zeroblob(32) WHERE position = 9")
    failure = failure_of(history.verify())
    assert (failure.check, failure.position, failure.decision_id) == ("chain", 9, ids[9])


# -- T2: deleted from the middle --------------------------------------------------------------


def test_event_deleted_from_the_middle(history: LedgerEnv) -> None:
    ids = decision_ids(history)
    with attacker(history) as conn:
        conn.execute("DELETE FROM stored_events WHERE rowid = 8")  # position 7; chain row kept
    failure = failure_of(history.verify())
    # The next event's chain row is at position 8 where 7 was expected.
    assert (failure.check, failure.position, failure.decision_id) == ("sequence", 8, ids[8])
    assert "expected position 7, found 8" in failure.message


def test_event_deleted_from_the_middle_with_its_chain_row(history: LedgerEnv) -> None:
    ids = decision_ids(history)
    with attacker(history) as conn:
        conn.execute("DELETE FROM stored_events WHERE rowid = 8")
        conn.execute("DELETE FROM trustledger_chain WHERE notification_id = 8")
    failure = failure_of(history.verify())
    assert (failure.check, failure.position, failure.decision_id) == ("sequence", 8, ids[8])


def test_event_deleted_with_chain_rows_renumbered(history: LedgerEnv) -> None:
    # A cleverer attacker closes the gap in positions too; the chain hashes give it away.
    ids = decision_ids(history)
    with attacker(history) as conn:
        conn.execute("DELETE FROM stored_events WHERE rowid = 8")
        conn.execute("DELETE FROM trustledger_chain WHERE notification_id = 8")
        conn.execute("UPDATE trustledger_chain SET position = -position WHERE position > 7")
        conn.execute("UPDATE trustledger_chain SET position = -position - 1 WHERE position < 0")
    failure = failure_of(history.verify())
    assert (failure.check, failure.position, failure.decision_id) == ("chain", 7, ids[8])


# -- T3: reordered -----------------------------------------------------------------------------


def test_two_events_swapped(history: LedgerEnv) -> None:
    ids = decision_ids(history)
    with attacker(history) as conn:
        rows = read_rows(conn)
        first, second = rows[5], rows[12]  # positions 5 (shop-1) and 12 (shop-2)
        conn.execute("UPDATE stored_events SET originator_version = -1 WHERE rowid = 6")
        for rowid, row in ((13, first), (6, second)):
            conn.execute(
                "UPDATE stored_events SET originator_id = ?, originator_version = ?, topic = ?, "
                "state = ? WHERE rowid = ?",
                (row.originator_id, row.originator_version, row.topic, row.state, rowid),
            )
    failure = failure_of(history.verify())
    # Position 5 now holds position 12's event.
    assert (failure.check, failure.position, failure.decision_id) == ("chain", 5, ids[12])


# -- T4: forged event inserted ----------------------------------------------------------------


def test_forged_event_by_an_unregistered_key(history: LedgerEnv) -> None:
    mallory = generate_signing_key("mallory")
    forged = doc(
        "penalty.imposed",
        shop_id="shop-2",
        penalty_id="p-forged",
        occurred_at=ts(days=3),
        measures=[{"type": "permanent_ban"}],
    )
    with attacker(history) as conn:
        rows = read_rows(conn)
        template = rows[13]  # a shop-2 event
        row = Row(
            shop_aggregate_id("shop-2").hex,
            100,
            "trustledger:penalty.imposed",
            forge_state(template.state, forged, mallory),
        )
        rewrite(conn, [*rows[:14], row, *rows[14:]])  # inserted at position 14
    failure = failure_of(history.verify())
    assert (failure.check, failure.position, failure.decision_id) == (
        "signer",
        14,
        forged["decision_id"],
    )
    assert failure.message == f"signed by key {mallory.key_id}, which is not registered"


def test_forged_event_claiming_a_registered_key_id(history: LedgerEnv) -> None:
    # The key id says "bot", the signature is mallory's: the signature check catches it.
    mallory = generate_signing_key("mallory")
    forged = doc("shop.closed", shop_id="shop-2", occurred_at=ts(days=6))
    with attacker(history) as conn:
        rows = read_rows(conn)
        state = forge_state(rows[13].state, forged, mallory)
        row = Row(
            shop_aggregate_id("shop-2").hex,
            100,
            "trustledger:shop.closed",
            state_of(state, key_id=str(history.bot.key_id)),
        )
        rewrite(conn, [*rows, row])
    failure = failure_of(history.verify())
    assert (failure.check, failure.position, failure.decision_id) == (
        "signature",
        18,
        forged["decision_id"],
    )


def test_signature_replaced_by_a_valid_signature_of_another_payload(history: LedgerEnv) -> None:
    ids = decision_ids(history)
    with attacker(history) as conn:
        rows = read_rows(conn)
        # A genuine signature by the bot, over position 7's payload, pasted onto position 6.
        stolen = json.loads(rows[7].state)["signature"]
        rows[6] = rows[6].with_state(state_of(rows[6].state, signature=stolen))
        rewrite(conn, rows)
    failure = failure_of(history.verify())
    assert (failure.check, failure.position, failure.decision_id) == ("signature", 6, ids[6])
    assert failure.message == f"Ed25519 signature by key {history.bot.key_id} does not verify"


def test_event_moved_to_another_shop(history: LedgerEnv) -> None:
    ids = decision_ids(history)
    with attacker(history) as conn:
        rows = read_rows(conn)
        rows[5] = replace(
            rows[5], originator_id=shop_aggregate_id("shop-2").hex, originator_version=99
        )
        rewrite(conn, rows)
    failure = failure_of(history.verify())
    assert (failure.check, failure.position, failure.decision_id) == ("payload", 5, ids[5])


# -- signed bytes that parsers could read apart (a key holder's forgery) ------------------------


@pytest.mark.parametrize(
    "rewrite_payload",
    [
        # a member given twice: Python's json (and Go's, and JavaScript's) keep the last,
        # other parsers the first; the signature covers both readings
        lambda text: '{"shop_id":"shop-2",' + text[1:],
        lambda text: text.replace(",", ", "),  # whitespace
        lambda text: text.replace('"type"', '"t\\u0079pe"'),  # an escaped letter in a key
    ],
    ids=["duplicate-member", "whitespace", "escaped-key"],
)
def test_signed_payload_that_is_not_canonical(
    history: LedgerEnv, rewrite_payload: Callable[[str], str]
) -> None:
    ids = decision_ids(history)
    with attacker(history) as conn:
        rows = read_rows(conn)
        payload = rewrite_payload(json.loads(rows[5].state)["payload"])
        assert json.loads(payload)["shop_id"] == "shop-1"  # what this reader sees
        rows[5] = resigned(rows[5], payload, history.bot)
        rewrite(conn, rows)
    failure = failure_of(history.verify())
    assert (failure.check, failure.position, failure.decision_id) == ("payload", 5, ids[5])
    assert failure.message in (
        "payload is not in RFC 8785 canonical form (docs/FORMAT.md §3)",
        "payload is not I-JSON (the member 'shop_id' is named twice in one object)",
    )


def test_decision_of_an_unknown_type(history: LedgerEnv) -> None:
    ids = decision_ids(history)
    with attacker(history) as conn:
        rows = read_rows(conn)
        document = {**rows[5].document(), "type": "shop.sold"}
        rows[5] = replace(
            resigned(rows[5], canonical_payload(document), history.bot),
            topic="trustledger:shop.sold",
        )
        rewrite(conn, rows)
    failure = failure_of(history.verify())
    assert (failure.check, failure.position, failure.decision_id) == ("payload", 5, ids[5])
    assert failure.message == "payload type 'shop.sold' is not a decision type"


def test_key_event_naming_a_shop(history: LedgerEnv) -> None:
    ids = decision_ids(history)
    with attacker(history) as conn:
        rows = read_rows(conn)
        document = {**rows[1].document(), "shop_id": "shop-1"}
        rows[1] = resigned(rows[1], canonical_payload(document), history.root)
        rewrite(conn, rows)
    failure = failure_of(history.verify())
    assert (failure.check, failure.position, failure.decision_id) == ("payload", 1, ids[1])
    assert failure.message == "key event payload has a shop_id"


# -- T9: a signed decision copied (replayed) behind the ledger's back --------------------------


def test_decision_copied_to_the_tail(history: LedgerEnv) -> None:
    # Position 5's entry, signature and all, again at the tail of its shop (next version):
    # it chains, its signature verifies, its shop matches; only its decision id repeats.
    ids = decision_ids(history)
    with attacker(history) as conn:
        rewrite(conn, copied_to_tail(read_rows(conn), 5))
    failure = failure_of(history.verify())
    assert (failure.check, failure.position, failure.decision_id) == ("replay", 18, ids[5])
    assert failure.message == (
        f"decision {ids[5]} is recorded again: first at position 5 (a signed decision copied, "
        "not appended)"
    )


# -- T8: revoked key ---------------------------------------------------------------------------


def test_event_signed_after_the_keys_revocation(ledger: LedgerEnv) -> None:
    ledger.append_history("shop-1")
    with ledger.open() as opened:
        opened.revoke_key(ledger.bot.key_id, by=ledger.root, reason="laptop stolen")
    assert ledger.verify().intact  # positions 0–9, the revocation at 10
    # The thief still holds the bot's private key and appends behind the ledger's back.
    forged = doc("shop.closed", shop_id="shop-1", occurred_at=ts(days=6))
    with attacker(ledger) as conn:
        rows = read_rows(conn)
        row = Row(
            shop_aggregate_id("shop-1").hex,
            9,
            "trustledger:shop.closed",
            forge_state(rows[9].state, forged, ledger.bot),
        )
        rewrite(conn, [*rows, row])
    failure = failure_of(ledger.verify())
    assert (failure.check, failure.position, failure.decision_id) == (
        "signer",
        11,
        forged["decision_id"],
    )
    assert failure.message == f"signed by key {ledger.bot.key_id}, revoked at position 10"


def test_event_signed_before_the_keys_registration(ledger: LedgerEnv) -> None:
    ledger.append_history("shop-1")
    ids = decision_ids(ledger)
    with attacker(ledger) as conn:
        rows = read_rows(conn)
        # genesis, shop.registered (signed by the bot), then the bot's registration
        rewrite(conn, [rows[0], rows[2], rows[1], *rows[3:]])
    failure = failure_of(ledger.verify())
    assert (failure.check, failure.position, failure.decision_id) == ("signer", 1, ids[2])
    assert failure.message == (
        f"signed by key {ledger.bot.key_id} before its registration at position 2"
    )


# -- T5 (without a checkpoint): the tail ---------------------------------------------------------


def test_chain_rows_truncated_at_the_tail(history: LedgerEnv) -> None:
    ids = decision_ids(history)
    with attacker(history) as conn:
        conn.execute("DELETE FROM trustledger_chain WHERE position >= 16")
    failure = failure_of(history.verify())
    assert (failure.check, failure.decision_id, failure.notification_id) == ("chain", ids[16], 17)
    assert failure.position is None  # the event has no chain row, hence no position
    assert "no chain row" in failure.message


def test_events_truncated_at_the_tail(history: LedgerEnv) -> None:
    with attacker(history) as conn:
        conn.execute("DELETE FROM stored_events WHERE rowid >= 17")  # positions 16 and 17
    report = history.verify()
    failure = failure_of(report)
    assert failure.check == "sequence"
    assert failure.position == 17  # the last chain row's position
    assert failure.notification_id == 18
    assert failure.decision_id is None  # the event is gone
    assert "the chain has 18 rows but only 16 chained events" in failure.message
    assert report.entries == 16


# -- rows of the wrong type or shape --------------------------------------------------------------


@pytest.mark.parametrize(
    ("assignment", "notification_id"),
    [
        ("originator_id = 'not-a-uuid'", 7),
        ("originator_version = -1", 7),
        ("topic = CAST(topic AS BLOB)", 7),
        ("state = CAST(state AS TEXT)", 7),
        ("state = NULL", 7),
        ("originator_version = -5", 2),  # a keyring row, read before anything else
    ],
    ids=[
        "id-not-uuid",
        "negative-version",
        "topic-blob",
        "state-text",
        "state-null",
        "keyring-row",
    ],
)
def test_malformed_row_is_reported_not_crashed_on(
    history: LedgerEnv, assignment: str, notification_id: int
) -> None:
    if history.backend == "postgres" and ("'" in assignment or "CAST" in assignment):
        pytest.skip("PostgreSQL's column types refuse this value: it cannot be stored")
    with attacker(history) as conn:
        conn.execute(f"UPDATE stored_events SET {assignment} WHERE rowid = ?", (notification_id,))
    failure = failure_of(history.verify())
    assert (failure.check, failure.notification_id) == ("chain", notification_id)
    assert failure.message.startswith("stored row is not a ledger entry")


# -- the pinned root -----------------------------------------------------------------------------


def test_wrong_trusted_root_key(history: LedgerEnv) -> None:
    ids = decision_ids(history)
    impostor = generate_signing_key("root")
    failure = failure_of(history.verify(trusted=[impostor]))
    assert (failure.check, failure.position, failure.decision_id) == ("root", 0, ids[0])
    assert f"root+{history.root.key_id}" in failure.message
    assert f"root+{impostor.key_id}" in failure.message


def test_decider_key_is_not_a_root(history: LedgerEnv) -> None:
    failure = failure_of(history.verify(trusted=[history.bot]))
    assert (failure.check, failure.position) == ("root", 0)


def test_any_trusted_root_among_several_will_do(history: LedgerEnv) -> None:
    report = history.verify(trusted=[generate_signing_key("old-root"), history.root])
    assert report.intact
    assert report.entries == 18


def test_genesis_replaced_with_the_attackers_root(history: LedgerEnv) -> None:
    # Re-signing the genesis under a new root convinces only auditors who trust that root.
    ids = decision_ids(history)
    evil = generate_signing_key("root")
    with attacker(history) as conn:
        rows = read_rows(conn)
        genesis = rows[0].document()
        genesis["data"]["root_key"] = format_verifier_key(evil.verifier)
        rows[0] = rows[0].with_state(forge_state(rows[0].state, genesis, evil))
        rewrite(conn, rows)
    failure = failure_of(history.verify())
    assert (failure.check, failure.position, failure.decision_id) == ("root", 0, ids[0])
    assert f"root+{evil.key_id}" in failure.message


# -- workers -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_ledger(tmp_path_factory: pytest.TempPathFactory) -> LedgerEnv:
    """A ledger of 402 entries: 50 shops of 8 decisions after the two key events."""
    env = make_ledger(tmp_path_factory.mktemp("big"))
    env.append([d for i in range(50) for d in shop_history(f"shop-{i}", buyer=f"buyer-{i}")])
    return env


def _copy(env: LedgerEnv, directory: Path) -> LedgerEnv:
    target = directory / "copy.db"
    with closing(sqlite3.connect(env.path)) as source, closing(sqlite3.connect(target)) as copy:
        source.backup(copy)
    return replace(env, path=target)


def _verify_both(env: LedgerEnv) -> tuple[VerifyReport, VerifyReport]:
    keys = [env.root.verifier]
    sequential = check_store(env.url, policy=trusting(keys), workers=1, range_size=50)
    parallel = check_store(env.url, policy=trusting(keys), workers=2, range_size=50)
    assert (sequential.workers, parallel.workers) == (1, 2)
    return sequential, parallel


def test_parallel_verification_of_an_intact_ledger(big_ledger: LedgerEnv, tmp_path: Path) -> None:
    sequential, parallel = _verify_both(_copy(big_ledger, tmp_path))
    assert sequential.intact and parallel.intact
    assert sequential.entries == parallel.entries == 402
    assert sequential.head_chain_hash == parallel.head_chain_hash


def test_parallel_verification_finds_a_copy_in_another_range(
    big_ledger: LedgerEnv, tmp_path: Path
) -> None:
    env = _copy(big_ledger, tmp_path)
    ids = decision_ids(env)
    with attacker(env.path) as conn:
        # position 402, seven ranges of 50 after position 3
        rewrite(conn, copied_to_tail(read_rows(conn), 3))
    for report in _verify_both(env):
        failure = failure_of(report)
        assert (failure.check, failure.position, failure.decision_id) == ("replay", 402, ids[3])
        assert report.entries == 402


# `||` makes TEXT of a BLOB; the cast keeps the column's storage class.
_APPEND_SPACE = "state = CAST(state || ' ' AS BLOB)"


@pytest.mark.parametrize(
    ("statement", "check", "position"),
    [
        (f"UPDATE stored_events SET {_APPEND_SPACE} WHERE rowid = 276", "chain", 275),
        ("DELETE FROM stored_events WHERE rowid = 201", "sequence", 201),  # first of a range
        (
            "UPDATE trustledger_chain SET chain_hash = zeroblob(32) WHERE position = 149",
            "chain",
            149,
        ),
    ],
    ids=["modified-mid-range", "deleted-at-range-start", "chain-row-at-range-end"],
)
def test_parallel_verification_finds_the_same_first_failure(
    big_ledger: LedgerEnv, tmp_path: Path, statement: str, check: str, position: int
) -> None:
    env = _copy(big_ledger, tmp_path)
    ids = decision_ids(env)
    with attacker(env.path) as conn:
        conn.execute(statement)
        # A second, later problem that a careless parallel verifier might report instead.
        conn.execute(f"UPDATE stored_events SET {_APPEND_SPACE} WHERE rowid = 380")
    sequential, parallel = _verify_both(env)
    failure = failure_of(sequential)
    assert (failure.check, failure.position, failure.decision_id) == (
        check,
        position,
        ids[position],
    )
    assert parallel.failure == sequential.failure
