"""Appending decisions: all-or-nothing batches, idempotency, keys, rules and personal data."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.sql import SQL, Identifier

from tests.conftest import BUYER_NAME, BUYER_PHONE, LedgerEnv, shop_history
from tests.domain.builders import DROP, RECORDED_AT, doc, ts
from trustledger.app.records import read_records
from trustledger.errors import (
    BatchRejected,
    InputRejected,
    KeyRejected,
    NotFound,
)
from trustledger.ledger.keys import generate_signing_key
from trustledger.storage.base import SUBJECT_KEYS_TABLE
from trustledger.storage.postgres import split_schema


def _recorded(ledger: LedgerEnv, decision_ids: list[str]) -> dict[str, int]:
    with ledger.open() as opened:
        found = opened.store.find_decisions(decision_ids)
    return {decision_id: found[decision_id].position for decision_id in found}


def _db_bytes(path: Path) -> dict[str, bytes]:
    # The database and whatever SQLite keeps beside it (-wal, -shm, -journal).
    return {p.name: p.read_bytes() for p in path.parent.glob(path.name + "*")}


# -- all-or-nothing -------------------------------------------------------------------------


def test_batch_with_three_bad_lines_is_rejected_whole_listing_exactly_them(
    ledger: LedgerEnv,
) -> None:
    good = shop_history("shop-1")
    lines = [json.dumps(d) for d in good[:3]]
    lines.insert(1, '{"decision_id": "not json')  # line 2: malformed JSON
    lines.append(json.dumps(doc("complaint.filed", shop_id="shop-1", complaint_id=DROP)))  # 5
    lines.append(json.dumps(good[3]))  # line 6
    bad_rule = doc("penalty.revoked", shop_id="shop-1", penalty_id="p-404")
    lines.append(json.dumps(bad_rule))  # line 7: no such penalty
    lines.append(json.dumps(good[4]))  # line 8
    before = ledger.entry_count()

    with ledger.open() as opened, pytest.raises(BatchRejected) as caught:
        opened.append(read_records("\n".join(lines)), signer=ledger.bot, now=RECORDED_AT)

    problems = caught.value.problems
    assert [line for line, _, _ in problems] == [2, 5, 7]
    assert "malformed JSON" in problems[0][2]
    assert "complaint_id" in problems[1][2]
    assert problems[2][1] == bad_rule["decision_id"]
    assert "p-404" in problems[2][2]
    assert str(caught.value).startswith("batch rejected: 3 invalid records, first at line 2")
    assert ledger.entry_count() == before
    assert _recorded(ledger, [d["decision_id"] for d in good]) == {}
    assert ledger.verify().intact


def test_rule_checked_against_earlier_lines_of_the_same_batch(ledger: LedgerEnv) -> None:
    # A complaint on a shop registered two lines earlier in the same batch is fine; a second
    # registration of that shop in the same batch is not.
    batch = [*shop_history("shop-1")[:2], doc("shop.registered", shop_id="shop-1")]
    with pytest.raises(BatchRejected) as caught:
        ledger.append(batch)
    assert [(line, reason) for line, _, reason in caught.value.problems] == [
        (3, "shop shop-1 is already registered")
    ]
    assert ledger.entry_count() == 2


def test_a_rejected_batch_leaves_no_trace_in_the_warm_shop_states(ledger: LedgerEnv) -> None:
    # The appender judges a batch on the shop states it keeps warm (not on copies): the
    # verification accepted on line 1 of a rejected batch must not count afterwards.
    history = shop_history("shop-1")
    bad_rule = doc("penalty.revoked", shop_id="shop-1", penalty_id="p-404")
    with ledger.open() as opened:
        opened.append([history[0]], signer=ledger.bot, now=RECORDED_AT)
        with pytest.raises(BatchRejected) as caught:
            opened.append([history[1], bad_rule], signer=ledger.bot, now=RECORDED_AT)
        assert [line for line, _, _ in caught.value.problems] == [2]
        outcomes = opened.append([history[1], history[2]], signer=ledger.bot, now=RECORDED_AT)
    assert [outcome.status for outcome in outcomes] == ["appended", "appended"]


def test_empty_input_is_rejected(ledger: LedgerEnv) -> None:
    with pytest.raises(InputRejected, match="no decisions"):
        ledger.append([])


# -- idempotency ------------------------------------------------------------------------------


def test_idempotent_resend_returns_the_original_positions(ledger: LedgerEnv) -> None:
    history = shop_history("shop-1")
    first = ledger.append(history)
    assert [o.status for o in first] == ["appended"] * 8
    assert [o.position for o in first] == list(range(2, 10))

    again = ledger.append(history)

    assert [(o.decision_id, o.position, o.status) for o in again] == [
        (o.decision_id, o.position, "duplicate") for o in first
    ]
    assert ledger.entry_count() == 10
    assert ledger.verify().intact


def test_resend_mixed_with_new_decisions_appends_only_the_new(ledger: LedgerEnv) -> None:
    history = shop_history("shop-1")
    first = ledger.append(history[:5])
    outcomes = ledger.append(history)
    assert [o.status for o in outcomes] == ["duplicate"] * 5 + ["appended"] * 3
    assert [o.position for o in outcomes[:5]] == [o.position for o in first]
    assert [o.position for o in outcomes[5:]] == [7, 8, 9]


def test_same_decision_twice_in_one_batch_is_written_once(ledger: LedgerEnv) -> None:
    registered = doc("shop.registered", shop_id="shop-1")
    outcomes = ledger.append([registered, dict(registered)])
    assert [(o.line, o.position, o.status) for o in outcomes] == [
        (1, 2, "appended"),
        (2, 2, "duplicate"),
    ]
    assert ledger.entry_count() == 3


def test_same_decision_id_with_other_content_is_a_conflict(ledger: LedgerEnv) -> None:
    original = doc("shop.registered", shop_id="shop-1")
    ledger.append([original])
    changed = {**original, "actor": "reviewer-99"}

    with pytest.raises(InputRejected) as caught:
        ledger.append([changed])

    assert isinstance(caught.value, BatchRejected)
    [(line, decision_id, reason)] = caught.value.problems
    assert (line, decision_id) == (1, original["decision_id"])
    assert reason.startswith(f"conflict: decision {original['decision_id']} is already recorded")
    assert "position 2" in reason
    assert ledger.entry_count() == 3
    assert caught.value.exit_code == 4


def test_same_decision_id_with_other_personal_data_is_a_conflict(ledger: LedgerEnv) -> None:
    history = shop_history("shop-1")
    ledger.append(history)
    complaint = history[3]
    changed = {**complaint, "personal": {**complaint["personal"], "phone": "13900000000"}}
    with pytest.raises(BatchRejected, match="conflict"):
        ledger.append([changed])
    assert ledger.entry_count() == 10


# -- keys ---------------------------------------------------------------------------------------


def test_unknown_key_is_rejected(ledger: LedgerEnv) -> None:
    stranger = generate_signing_key("stranger")
    with pytest.raises(KeyRejected, match=f"signing key {stranger.key_id} is not registered"):
        ledger.append(shop_history("shop-1"), signer=stranger)
    assert ledger.entry_count() == 2


def test_root_key_cannot_sign_decisions(ledger: LedgerEnv) -> None:
    # The advice must be one that works: the root cannot be registered as a decider.
    with pytest.raises(KeyRejected) as caught:
        ledger.append(shop_history("shop-1"), signer=ledger.root)
    assert str(caught.value) == (
        f"signing key {ledger.root.key_id} is the ledger's root key, which signs key events "
        "only: append with a registered decider key (`trustledger keys list`)"
    )


def test_root_key_cannot_be_revoked(ledger: LedgerEnv) -> None:
    with ledger.open() as opened, pytest.raises(KeyRejected) as caught:
        opened.revoke_key(ledger.root.key_id, by=ledger.root)
    assert str(caught.value) == (
        f"key {ledger.root.key_id} is the ledger's root key, which cannot be revoked: auditors "
        "pin it (a compromised root needs a new ledger)"
    )
    assert ledger.entry_count() == 2


def test_revoked_key_is_rejected(ledger: LedgerEnv) -> None:
    ledger.append(shop_history("shop-1")[:2])
    with ledger.open() as opened:
        record = opened.revoke_key(ledger.bot.key_id, by=ledger.root, reason="laptop stolen")
    assert record.state == "revoked"

    with pytest.raises(KeyRejected, match=f"signing key {ledger.bot.key_id} \\(bot\\) was revoked"):
        ledger.append(shop_history("shop-1")[2:])
    assert ledger.entry_count() == 5
    assert ledger.verify().intact


def test_key_events_need_the_root_key(ledger: LedgerEnv) -> None:
    other = generate_signing_key("other")
    with ledger.open() as opened, pytest.raises(KeyRejected, match="not this ledger's root key"):
        opened.register_key(other.verifier, by=ledger.bot)
    assert ledger.entry_count() == 2


def test_newly_registered_key_can_sign(ledger: LedgerEnv) -> None:
    second = generate_signing_key("bot-2")
    with ledger.open() as opened:
        opened.register_key(second.verifier, by=ledger.root)
        assert {key.name: key.role for key in opened.keys()} == {  # noqa: SIM118
            "root": "root",
            "bot": "decider",
            "bot-2": "decider",
        }
    outcomes = ledger.append(shop_history("shop-1")[:1], signer=second)
    assert outcomes[0].position == 3
    assert ledger.verify().intact


# -- rules ------------------------------------------------------------------------------------


def test_upheld_appeal_revokes_the_penalty(ledger: LedgerEnv) -> None:
    ledger.append(shop_history("shop-1"))  # ends with appeal.upheld of a-1 against p-1
    revocation = doc(
        "penalty.revoked", shop_id="shop-1", occurred_at=ts(days=6), cause="platform_error"
    )
    with pytest.raises(BatchRejected) as caught:
        ledger.append([revocation])
    [(line, decision_id, reason)] = caught.value.problems
    assert (line, decision_id) == (1, revocation["decision_id"])
    assert "penalty p-1 was already revoked" in reason
    assert ledger.entry_count() == 10


def test_penalty_without_upheld_appeal_can_be_revoked(ledger: LedgerEnv) -> None:
    # The counterpart of the test above: the same revocation is accepted when the appeal
    # was not upheld, so the rejection above is due to appeal.upheld.
    ledger.append(shop_history("shop-1")[:7])
    revocation = doc(
        "penalty.revoked", shop_id="shop-1", occurred_at=ts(days=6), cause="platform_error"
    )
    [outcome] = ledger.append([revocation])
    assert outcome.status == "appended"


def test_decision_on_an_unregistered_shop_is_rejected(ledger: LedgerEnv) -> None:
    with pytest.raises(BatchRejected, match="shop shop-9 is not registered"):
        ledger.append([doc("shop.closed", shop_id="shop-9")])


# -- personal data ------------------------------------------------------------------------------


@pytest.mark.sqlite_only  # PostgreSQL: tests/postgres/test_postgres_store.py reads every row
def test_no_plaintext_personal_data_in_the_database_files(ledger: LedgerEnv) -> None:
    secrets = {
        BUYER_NAME.encode("utf-8"),
        BUYER_NAME.encode("utf-16-le"),
        json.dumps(BUYER_NAME).encode()[1:-1],  # \uXXXX escapes
        json.dumps(json.dumps(BUYER_NAME)).encode()[3:-3],  # escapes inside the payload string
        BUYER_PHONE.encode(),
        BUYER_PHONE.encode("utf-16-le"),
    }
    with ledger.open() as opened:
        opened.append(shop_history("shop-1"), signer=ledger.bot, now=RECORDED_AT)
        files = _db_bytes(ledger.path)  # while the ledger is open: the WAL is still there
        assert any(name.endswith("-wal") for name in files)
        revealed = [
            e.document["personal"]
            for e in opened.log(reveal_personal=True)
            if "personal" in e.document
        ]
    files |= {f"closed:{name}": data for name, data in _db_bytes(ledger.path).items()}
    for name, data in files.items():
        for secret in secrets:
            assert secret not in data, f"{secret!r} found in {name}"
    # The data is there, sealed: the subject's key opens it.
    assert {"subject_id": "buyer-77", "name": BUYER_NAME, "phone": BUYER_PHONE} in revealed


def test_log_keeps_personal_data_sealed_unless_asked(ledger: LedgerEnv) -> None:
    ledger.append(shop_history("shop-1"))
    with ledger.open() as opened:
        [entry] = [e for e in opened.log() if "personal" in e.document]
    personal = entry.document["personal"]
    assert personal.keys() == {"subject_id", "alg", "nonce", "ciphertext"}
    assert BUYER_PHONE not in json.dumps(entry.document)


def test_erase_keeps_the_ledger_intact_and_counts_redacted_entries(ledger: LedgerEnv) -> None:
    ledger.append_history("shop-1", buyer="buyer-77")
    ledger.append_history("shop-2", buyer="buyer-77")
    ledger.append_history("shop-3", buyer="buyer-88")
    head_before = ledger.verify().head_chain_hash
    with ledger.open() as opened:
        subject_key = opened.store.subject_keys(["buyer-77"])["buyer-77"]
        assert subject_key is not None
        assert opened.erase("buyer-77") is True
        assert opened.erase("buyer-77") is False  # already erased
        revealed = {
            e.shop_id: e.document["personal"]
            for e in opened.log(reveal_personal=True)
            if "personal" in e.document
        }

    report = ledger.verify()
    assert report.intact
    assert report.redacted == 2
    assert report.entries == 26
    assert report.head_chain_hash == head_before
    assert revealed["shop-1"] == {"subject_id": "buyer-77", "erased": True}
    assert revealed["shop-2"] == {"subject_id": "buyer-77", "erased": True}
    assert revealed["shop-3"]["phone"] == BUYER_PHONE
    for name, data in _db_bytes(ledger.path).items():
        assert subject_key not in data, f"the erased subject's key survives in {name}"


def test_erasing_an_unknown_subject_is_not_found(ledger: LedgerEnv) -> None:
    with ledger.open() as opened, pytest.raises(NotFound, match="nobody"):
        opened.erase("nobody")


def _second_complaint_by_buyer_77() -> dict[str, object]:
    """A complaint about shop-1 after its ``shop_history``, by the same buyer."""
    return doc(
        "complaint.filed",
        shop_id="shop-1",
        complaint_id="c-2",
        occurred_at=ts(days=6),
        personal={"subject_id": "buyer-77", "name": BUYER_NAME},
    )


def test_personal_data_of_an_erased_subject_cannot_be_recorded_again(ledger: LedgerEnv) -> None:
    ledger.append_history("shop-1", buyer="buyer-77")
    with ledger.open() as opened:
        opened.erase("buyer-77")
    complaint = _second_complaint_by_buyer_77()
    with pytest.raises(BatchRejected) as caught:
        ledger.append([complaint])
    [(line, decision_id, reason)] = caught.value.problems
    assert (line, decision_id) == (1, complaint["decision_id"])
    assert reason.startswith("subject buyer-77 was erased")
    assert ledger.entry_count() == 10
    # Without personal data, the same complaint is fine.
    [outcome] = ledger.append([_without(complaint)])
    assert outcome.status == "appended"


def test_a_subject_erased_while_a_batch_about_it_is_judged_gets_no_new_personal_data(
    ledger: LedgerEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another process erases the subject after this append has read the subject's key and
    # before it writes: the batch must be refused as it would have been a moment later,
    # not recorded with personal data sealed under a key that no longer exists.
    import trustledger.app.append as append_module

    ledger.append_history("shop-1", buyer="buyer-77")
    complaint = _second_complaint_by_buyer_77()
    judge = append_module._judge
    erasures: list[bool] = []

    def erase_then_judge(*args: Any, **kwargs: Any) -> Any:
        if not erasures:
            with ledger.open() as other:
                erasures.append(other.erase("buyer-77"))
        return judge(*args, **kwargs)

    monkeypatch.setattr(append_module, "_judge", erase_then_judge)
    with pytest.raises(BatchRejected) as caught:
        ledger.append([complaint])
    assert erasures == [True]
    _assert_refused_as_erased(ledger, complaint, caught.value)


def _assert_refused_as_erased(
    ledger: LedgerEnv, complaint: dict[str, object], refusal: BatchRejected
) -> None:
    """The complaint by buyer-77 was refused because buyer-77 was erased, nothing was
    written after the shop's history, and the ledger verifies."""
    [(_, decision_id, reason)] = refusal.problems
    assert decision_id == complaint["decision_id"]
    assert reason.startswith("subject buyer-77 was erased")
    assert ledger.entry_count() == 10
    assert ledger.verify().intact


def test_an_erasure_in_flight_when_a_batch_about_its_subject_is_written_is_waited_for(
    ledger: LedgerEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another process has destroyed the subject's key but not yet committed when this append
    # writes. The write must wait for that erasure and then refuse the personal data, not
    # read the key as still live (PostgreSQL: the subjects' rows are read FOR SHARE; SQLite:
    # the erasure holds the write lock) and record data sealed under a key being destroyed.
    import trustledger.app.append as append_module

    ledger.append_history("shop-1", buyer="buyer-77")
    complaint = _second_complaint_by_buyer_77()
    judge = append_module._judge
    erasure: list[_UncommittedErasure] = []

    def judge_then_begin_erasure(*args: Any, **kwargs: Any) -> Any:
        judged = judge(*args, **kwargs)
        if not erasure:  # the subject's key was read as live; now it is being destroyed
            erasure.append(_UncommittedErasure(ledger.url, "buyer-77"))
            erasure[0].commit_after(0.5)
        return judged

    monkeypatch.setattr(append_module, "_judge", judge_then_begin_erasure)
    try:
        with pytest.raises(BatchRejected) as caught:
            ledger.append([complaint])
    finally:
        for pending in erasure:
            pending.close()
    assert erasure[0].committed_at is not None
    _assert_refused_as_erased(ledger, complaint, caught.value)


class _UncommittedErasure:
    """What ``erase`` writes, in a transaction of its own that stays open (holding its row
    or write lock) until ``commit_after``'s delay has passed."""

    def __init__(self, url: str, subject_id: str) -> None:
        self.committed_at: float | None = None
        self._timer: threading.Timer | None = None
        self._conn: Any
        if url.startswith("sqlite:"):
            self._conn = sqlite3.connect(
                url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False
            )
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute(
                f"UPDATE {SUBJECT_KEYS_TABLE} SET subject_key = NULL, erased_at = 'now' "
                "WHERE subject_id = ?",
                (subject_id,),
            )
        else:
            dsn, schema = split_schema(url)
            self._conn = psycopg.connect(dsn)
            self._conn.execute(
                SQL(
                    "UPDATE {} SET subject_key = NULL, erased_at = now() WHERE subject_id = %s"
                ).format(Identifier(schema, SUBJECT_KEYS_TABLE)),
                (subject_id,),
            )

    def commit_after(self, seconds: float) -> None:
        def commit() -> None:
            if isinstance(self._conn, sqlite3.Connection):
                self._conn.execute("COMMIT")
            else:
                self._conn.commit()
            self.committed_at = time.monotonic()

        self._timer = threading.Timer(seconds, commit)
        self._timer.start()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.join()
        self._conn.close()


def test_resending_a_decision_of_an_erased_subject_is_rejected(ledger: LedgerEnv) -> None:
    history = shop_history("shop-1", buyer="buyer-77")
    ledger.append(history)
    with ledger.open() as opened:
        opened.erase("buyer-77")
    with pytest.raises(BatchRejected) as caught:
        ledger.append([history[3]])
    [(_, decision_id, reason)] = caught.value.problems
    assert decision_id == history[3]["decision_id"]
    assert "is already recorded at position 5" in reason
    assert "erased" in reason
    assert ledger.entry_count() == 10


def _without(document: dict[str, object], field: str = "personal") -> dict[str, object]:
    copy = dict(document)
    copy.pop(field)
    copy["decision_id"] = doc("shop.closed")["decision_id"]
    return copy


def test_a_key_revoked_while_its_batch_is_judged_signs_nothing_after_the_revocation(
    ledger: LedgerEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another process revokes the signer's key after this append has looked the key up and
    # before it writes: the write must not land after the revocation (verify would then
    # find a revoked signer), but fail as the append would have failed a moment later.
    import trustledger.app.append as append_module

    ledger.append(shop_history("shop-1")[:2])
    judge = append_module._judge
    revocations: list[str] = []

    def revoke_then_judge(*args: Any, **kwargs: Any) -> Any:
        if not revocations:
            with ledger.open() as other:
                other.revoke_key(ledger.bot.key_id, by=ledger.root, reason="revoked meanwhile")
            revocations.append("done")
        return judge(*args, **kwargs)

    monkeypatch.setattr(append_module, "_judge", revoke_then_judge)
    with pytest.raises(KeyRejected, match=f"signing key {ledger.bot.key_id} \\(bot\\) was revoked"):
        ledger.append(shop_history("shop-1")[2:])
    assert revocations == ["done"]
    assert ledger.entry_count() == 5  # init, the bot's registration, 2 decisions, the revocation
    assert ledger.verify().intact


def test_an_appender_holding_an_older_keyring_accepts_a_key_registered_by_another(
    ledger: LedgerEnv,
) -> None:
    # This ledger judged a batch under the keyring as it was; another process then registers
    # a new decider. A batch signed by that decider is judged again under the keyring as
    # now recorded, not refused under the one this process read first.
    newcomer = generate_signing_key("bot-2")
    history = shop_history("shop-1")
    with ledger.open() as mine:
        mine.append(history[:2], signer=ledger.bot, now=RECORDED_AT)
        with ledger.open() as other:
            other.register_key(newcomer.verifier, by=ledger.root)
        outcomes = mine.append(history[2:], signer=newcomer, now=RECORDED_AT)
    assert [outcome.status for outcome in outcomes] == ["appended"] * len(history[2:])
    assert ledger.verify().intact


def test_an_appender_holding_an_older_keyring_signs_nothing_with_a_key_revoked_since(
    ledger: LedgerEnv,
) -> None:
    history = shop_history("shop-1")
    with ledger.open() as mine:
        mine.append(history[:2], signer=ledger.bot, now=RECORDED_AT)
        with ledger.open() as other:
            other.revoke_key(ledger.bot.key_id, by=ledger.root, reason="compromised")
        with pytest.raises(KeyRejected, match="was revoked"):
            mine.append(history[2:], signer=ledger.bot, now=RECORDED_AT)
    assert ledger.entry_count() == 5  # init, the bot's registration, 2 decisions, revocation
    assert ledger.verify().intact
