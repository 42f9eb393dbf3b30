"""Decisions signed elsewhere (app.signed): prepare gives the payload ``append`` would sign,
commit checks it all again and stores exactly what ``append`` stores (both stores)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.conftest import BUYER_NAME, LedgerEnv, shop_history
from tests.domain.builders import RECORDED_AT, doc, ts
from trustledger.app.signed import Prepared
from trustledger.errors import BatchRejected, SignatureRejected
from trustledger.ledger.envelope import parse_state, sign_payload
from trustledger.ledger.keys import SigningKey, generate_signing_key


def signed(prepared: list[Prepared], key: SigningKey) -> list[dict[str, Any]]:
    out = []
    for item in prepared:
        s = sign_payload(item.payload, key)
        out.append({"payload": s.payload, "signature": s.signature_b64, "key_id": str(s.key_id)})
    return out


def commit(ledger: LedgerEnv, records: list[dict[str, Any]]) -> list[Any]:
    with ledger.open() as opened:
        return opened.append_signed(records, now=RECORDED_AT)


def prepare(ledger: LedgerEnv, documents: list[dict[str, Any]]) -> list[Prepared]:
    with ledger.open() as opened:
        return opened.prepare(documents)


def envelopes(ledger: LedgerEnv) -> list[tuple[bytes, bytes, str]]:
    with ledger.open() as opened:
        states = [parse_state(e.state) for e in opened.store.iter_entries()]
    return [(s.payload, s.signature, str(s.key_id)) for s in states]


def test_prepared_signed_and_committed_is_what_append_stores(
    ledger: LedgerEnv, tmp_path: Any
) -> None:
    documents = [doc("shop.registered", shop_id="s-1"), doc("shop.registered", shop_id="s-2")]
    outcomes = commit(ledger, signed(prepare(ledger, documents), ledger.bot))
    assert [(o.line, o.position, o.status) for o in outcomes] == [
        (1, 2, "appended"),
        (2, 3, "appended"),
    ]
    # The same decisions appended by the CLI's path in a twin ledger with the same keys.
    from trustledger.app.ledger import Ledger

    twin = LedgerEnv(tmp_path / "twin.db", ledger.root, ledger.bot)
    Ledger.init(twin.url, twin.root)[0].close()
    with twin.open() as opened:
        opened.register_key(twin.bot.verifier, by=twin.root)
    twin.append(documents)
    assert envelopes(ledger)[2:] == envelopes(twin)[2:]
    assert ledger.verify().intact


def test_personal_data_is_sealed_by_the_ledger_and_committed(ledger: LedgerEnv) -> None:
    history = shop_history("s-1")
    prepared = prepare(ledger, history)
    complaint = json.loads(prepared[3].payload)
    assert set(complaint["personal"]) == {"subject_id", "alg", "nonce", "ciphertext"}
    assert BUYER_NAME not in prepared[3].payload
    outcomes = commit(ledger, signed(prepared, ledger.bot))
    assert [o.status for o in outcomes] == ["appended"] * 8
    with ledger.open() as opened:
        entry = [e for e in opened.log(reveal_personal=True)][5]
    assert entry.document["personal"]["name"] == BUYER_NAME
    assert ledger.verify().intact
    # Prepared again (another nonce) and committed again: the same decisions, recorded.
    again = commit(ledger, signed(prepare(ledger, history), ledger.bot))
    assert [(o.position, o.status) for o in again] == [(o.position, "duplicate") for o in outcomes]


def test_a_retry_is_idempotent_and_doubles_nothing(ledger: LedgerEnv) -> None:
    records = signed(prepare(ledger, [doc("shop.registered", shop_id="s-1")]), ledger.bot)
    first = commit(ledger, records)
    second = commit(ledger, records)
    assert [(o.position, o.status) for o in second] == [(first[0].position, "duplicate")]
    assert ledger.entry_count() == 3


def test_a_bad_signature_rejects_the_batch_with_its_line(ledger: LedgerEnv) -> None:
    records = signed(
        prepare(ledger, [doc("shop.registered", shop_id="s-1"), doc("shop.registered")]),
        ledger.bot,
    )
    records[1]["signature"] = base64.b64encode(bytes(64)).decode()
    with pytest.raises(SignatureRejected) as caught:
        commit(ledger, records)
    assert caught.value.exit_code == 1
    assert [line for line, _, _ in caught.value.problems] == [2]
    assert "does not verify" in caught.value.problems[0][2]
    assert ledger.entry_count() == 2


def test_an_unregistered_or_revoked_key_is_refused_per_line(ledger: LedgerEnv) -> None:
    stranger = generate_signing_key("stranger")
    prepared = prepare(ledger, [doc("shop.registered", shop_id="s-1")])
    with pytest.raises(BatchRejected, match="not registered"):
        commit(ledger, signed(prepared, stranger))
    with ledger.open() as opened:
        opened.revoke_key(ledger.bot.verifier.key_id, by=ledger.root)
    with pytest.raises(BatchRejected, match="revoked"):
        commit(ledger, signed(prepared, ledger.bot))
    assert ledger.entry_count() == 3  # genesis, registration, revocation


@pytest.mark.parametrize(
    "tamper",
    [
        lambda p: p.replace("{", "{ ", 1),  # not canonical
        lambda p: json.dumps({**json.loads(p), "personal": {"subject_id": "x", "name": "y"}}),
    ],
    ids=["not-canonical", "personal-in-clear"],
)
def test_a_payload_not_as_prepared_is_refused(ledger: LedgerEnv, tamper: Any) -> None:
    prepared = prepare(ledger, [doc("shop.registered", shop_id="s-1")])
    forged = [Prepared(p.line, p.decision_id, tamper(p.payload)) for p in prepared]
    with pytest.raises(BatchRejected) as caught:
        commit(ledger, signed(forged, ledger.bot))
    assert len(caught.value.problems) == 1
    assert ledger.entry_count() == 2


def test_a_payload_changed_after_signing_is_a_bad_signature(ledger: LedgerEnv) -> None:
    records = signed(prepare(ledger, [doc("shop.registered", shop_id="s-1")]), ledger.bot)
    records[0]["payload"] = records[0]["payload"].replace('"s-1"', '"s-9"')
    with pytest.raises(SignatureRejected, match="does not verify"):
        commit(ledger, records)
    assert ledger.entry_count() == 2


def test_a_rule_violation_is_a_line_and_nothing_is_written(ledger: LedgerEnv) -> None:
    documents = [
        doc("shop.registered", shop_id="s-1"),
        doc("complaint.substantiated", shop_id="s-1", occurred_at=ts(days=1)),
    ]
    with pytest.raises(BatchRejected) as caught:
        commit(ledger, signed(prepare(ledger, documents), ledger.bot))
    assert [line for line, _, _ in caught.value.problems] == [2]
    assert ledger.entry_count() == 2


def test_sealed_data_of_another_decision_does_not_open(ledger: LedgerEnv) -> None:
    history = shop_history("s-1")
    prepared = prepare(ledger, history)
    other = doc(
        "complaint.filed",
        shop_id="s-1",
        occurred_at=ts(days=1),
        complaint_id="c-2",
        personal={"subject_id": "buyer-77", "name": "x"},
    )
    moved = json.loads(prepare(ledger, [other])[0].payload)
    moved["personal"] = json.loads(prepared[3].payload)["personal"]  # bound to another id
    from trustledger.ledger.canonical import canonicalize

    forged = [*prepared[:3], Prepared(4, other["decision_id"], canonicalize(moved).decode())]
    with pytest.raises(BatchRejected, match="does not decrypt"):
        commit(ledger, signed(forged, ledger.bot))
