"""Format v1's rules on a store (docs/FORMAT.md §3, §5, §8), one test per way an outside
verifier written from the spec and ours used to disagree.

Each test writes behind the ledger's back (tests/app/attacker.py) so that only the rule it
is about is broken: payloads are re-signed by the right key and the chain is recomputed.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.app.attacker import (
    Row,
    attacker,
    copied_to_tail,
    read_rows,
    resigned,
    rewrite,
    state_of,
)
from tests.conftest import LedgerEnv
from trustledger.domain.identity import KEYRING_ID, topic_of
from trustledger.errors import Conflict
from trustledger.ledger.envelope import canonical_payload, sign_payload
from trustledger.ledger.keys import SigningKey, VerifierKey, format_verifier_key
from trustledger.ledger.verify import Failure


@pytest.fixture
def history(ledger: LedgerEnv) -> LedgerEnv:
    """Genesis (0), the bot's registration (1), shop-1 at positions 2–9."""
    ledger.append_history("shop-1")
    assert ledger.verify().intact
    return ledger


def failure_of(env: LedgerEnv) -> Failure:
    report = env.verify()
    assert report.failure is not None, "verify passed"
    return report.failure


def key_event(template: Row, version: int, document: dict[str, Any], root: SigningKey) -> Row:
    """A root-signed key event at ``version`` of the keyring, shaped like ``template``."""
    row = Row(KEYRING_ID.hex, version, topic_of(document["type"]), template.state)
    return resigned(row, canonical_payload(document), root)


def test_a_state_naming_payload_and_signature_twice_is_refused(history: LedgerEnv) -> None:
    # Two histories under one chain hash: a last-wins parser reads one signed decision, a
    # first-wins parser another, both validly signed.
    with attacker(history) as conn:
        rows = read_rows(conn)
        original = json.loads(rows[5].state)
        other = sign_payload(
            canonical_payload({**rows[5].document(), "actor": "someone-else"}), history.bot
        )
        state = rows[5].state[:-1] + (
            b',"payload":%s,"signature":"%s"}'
            % (json.dumps(other.payload).encode(), other.signature_b64.encode())
        )
        assert json.loads(state)["payload"] != original["payload"]
        rows[5] = rows[5].with_state(state)
        rewrite(conn, rows)
    failure = failure_of(history)
    assert (failure.check, failure.position) == ("envelope", 5)
    assert "'payload' is named twice" in failure.message


def test_a_decision_without_a_decision_id_is_refused_so_its_copy_cannot_hide(
    history: LedgerEnv,
) -> None:
    with attacker(history) as conn:
        rows = read_rows(conn)
        document = rows[5].document()
        del document["decision_id"]
        rows[5] = resigned(rows[5], canonical_payload(document), history.bot)
        rewrite(conn, copied_to_tail(rows, 5))
    failure = failure_of(history)
    assert (failure.check, failure.position) == ("payload", 5)
    assert failure.message == "payload has no decision_id string"


def test_a_key_event_without_a_decision_id_is_refused(history: LedgerEnv) -> None:
    with attacker(history) as conn:
        rows = read_rows(conn)
        document = rows[1].document()
        document["decision_id"] = 7
        rows[1] = resigned(rows[1], canonical_payload(document), history.root)
        rewrite(conn, rows)
    failure = failure_of(history)
    assert (failure.check, failure.position) == ("payload", 1)


@pytest.mark.parametrize("number", ["1.5", "1e+21"])
def test_a_payload_holding_a_fraction_or_an_exponent_is_refused(
    history: LedgerEnv, number: str
) -> None:
    # Canonical as RFC 8785 writes floats, yet documents hold integers only (§3.1).
    with attacker(history) as conn:
        rows = read_rows(conn)
        payload = json.loads(rows[5].state)["payload"]
        payload = payload.replace('"data":{', '"data":{"amount":' + number + ",", 1)
        rows[5] = resigned(rows[5], payload, history.bot)
        rewrite(conn, rows)
    failure = failure_of(history)
    assert (failure.check, failure.position) == ("payload", 5)
    assert f"the number {number} has a fraction or an exponent" in failure.message


def test_an_integer_beyond_2_to_the_53_is_refused(history: LedgerEnv) -> None:
    with attacker(history) as conn:
        rows = read_rows(conn)
        payload = json.loads(rows[5].state)["payload"]
        payload = payload.replace('"data":{', '"data":{"amount":9007199254740992,', 1)
        rows[5] = resigned(rows[5], payload, history.bot)
        rewrite(conn, rows)
    failure = failure_of(history)
    assert (failure.check, failure.position) == ("payload", 5)
    assert "not I-JSON" in failure.message


def test_a_signature_with_its_pad_bits_set_is_refused(history: LedgerEnv) -> None:
    with attacker(history) as conn:
        rows = read_rows(conn)
        text = json.loads(rows[5].state)["signature"]
        raw = base64.b64decode(text)
        assert text.endswith("==")
        # The last character before "==" carries 4 pad bits; set one: same 64 bytes.
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        malleable = text[:-3] + alphabet[alphabet.index(text[-3]) | 1] + "=="
        assert base64.b64decode(malleable) == raw and malleable != text
        rows[5] = rows[5].with_state(state_of(rows[5].state, signature=malleable))
        rewrite(conn, rows)
    failure = failure_of(history)
    assert (failure.check, failure.position) == ("envelope", 5)
    assert "not canonical base64" in failure.message


def test_an_upper_case_key_id_in_a_state_is_refused(history: LedgerEnv) -> None:
    with attacker(history) as conn:
        rows = read_rows(conn)
        key_id = json.loads(rows[5].state)["key_id"]
        rows[5] = rows[5].with_state(state_of(rows[5].state, key_id=key_id.upper()))
        rewrite(conn, rows)
    failure = failure_of(history)
    assert (failure.check, failure.position) == ("envelope", 5)


def test_an_upper_case_key_id_in_a_revocation_is_refused(history: LedgerEnv) -> None:
    with attacker(history) as conn:
        rows = read_rows(conn)
        genesis = rows[0].document()
        revocation = {
            "decision_id": "9b0e7a44-3f5c-4c86-a3f1-0d8c1f8c1a01",
            "type": "key.revoked",
            "occurred_at": genesis["occurred_at"],
            "data": {"key_id": str(history.bot.key_id).upper()},
        }
        rows.append(key_event(rows[1], 3, revocation, history.root))
        rewrite(conn, rows)
    failure = failure_of(history)
    assert (failure.check, failure.position) == ("keyring", len(rows) - 1)
    assert "8 lowercase hex" in failure.message


def test_a_revoked_public_key_registered_again_under_a_new_name_is_refused(
    history: LedgerEnv,
) -> None:
    again = VerifierKey("bot-again", history.bot.verifier.public_key)
    assert again.key_id != history.bot.key_id  # a new name gives a new key id
    with attacker(history) as conn:
        rows = read_rows(conn)
        occurred_at = rows[0].document()["occurred_at"]
        rows.append(
            key_event(
                rows[1],
                3,
                {"decision_id": "9b0e7a44-3f5c-4c86-a3f1-0d8c1f8c1a02", "type": "key.revoked",
                 "occurred_at": occurred_at, "data": {"key_id": str(history.bot.key_id)}},
                history.root,
            )
        )  # fmt: skip
        rows.append(
            key_event(
                rows[1],
                4,
                {"decision_id": "9b0e7a44-3f5c-4c86-a3f1-0d8c1f8c1a03", "type": "key.registered",
                 "occurred_at": occurred_at, "data": {"key": format_verifier_key(again)}},
                history.root,
            )
        )  # fmt: skip
        rewrite(conn, rows)
    failure = failure_of(history)
    assert (failure.check, failure.position) == ("keyring", len(rows) - 1)
    assert "public key is already registered" in failure.message


def test_the_root_public_key_under_another_name_is_refused(history: LedgerEnv) -> None:
    disguised = VerifierKey("not-the-root", history.root.verifier.public_key)
    with attacker(history) as conn:
        rows = read_rows(conn)
        rows.append(
            key_event(
                rows[1],
                3,
                {"decision_id": "9b0e7a44-3f5c-4c86-a3f1-0d8c1f8c1a04", "type": "key.registered",
                 "occurred_at": rows[0].document()["occurred_at"],
                 "data": {"key": format_verifier_key(disguised)}},
                history.root,
            )
        )  # fmt: skip
        rewrite(conn, rows)
    failure = failure_of(history)
    assert (failure.check, failure.position) == ("keyring", len(rows) - 1)


def test_append_refuses_a_public_key_registered_again_under_another_name(
    history: LedgerEnv,
) -> None:
    with history.open() as ledger:
        with pytest.raises(Conflict, match="this public key is already registered as bot"):
            ledger.register_key(
                VerifierKey("bot-again", history.bot.verifier.public_key), by=history.root
            )
        with pytest.raises(Conflict, match="root key cannot be registered"):
            ledger.register_key(
                VerifierKey("not-the-root", history.root.verifier.public_key), by=history.root
            )
