"""Personal data sealed under a per-subject key, bound to its decision and subject."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trustledger.errors import InputRejected
from trustledger.ledger.sealing import (
    ALGORITHM,
    is_sealed,
    new_subject_key,
    open_personal,
    seal_personal,
)

DECISION = "00000000-0000-4000-8000-0000000000aa"
OTHER_DECISION = "00000000-0000-4000-8000-0000000000bb"
PERSONAL = {"subject_id": "buyer-77", "name": "张三", "phone": "13800138000"}


def test_round_trip() -> None:
    key = new_subject_key()
    sealed = seal_personal(PERSONAL, key=key, decision_id=DECISION)
    assert open_personal(sealed, key=key, decision_id=DECISION) == PERSONAL


_TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=20)


@given(
    fields=st.dictionaries(
        _TEXT.filter(lambda k: k != "subject_id"),
        _TEXT | st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1),
        max_size=5,
    )
)
def test_round_trip_of_any_fields(fields: dict[str, Any]) -> None:
    key = new_subject_key()
    personal = {"subject_id": "s-1", **fields}
    sealed = seal_personal(personal, key=key, decision_id=DECISION)
    assert open_personal(sealed, key=key, decision_id=DECISION) == personal


def test_sealed_form_holds_no_plaintext() -> None:
    sealed = seal_personal(PERSONAL, key=new_subject_key(), decision_id=DECISION)
    assert sealed.keys() == {"subject_id", "alg", "nonce", "ciphertext"}
    assert sealed["subject_id"] == "buyer-77"
    assert sealed["alg"] == ALGORITHM
    assert len(base64.b64decode(sealed["nonce"])) == 12
    assert is_sealed(sealed)
    text = repr(sealed).encode()
    for secret in ("张三", "13800138000"):
        assert secret.encode() not in text
        assert secret.encode() not in base64.b64decode(sealed["ciphertext"])


def test_plaintext_personal_is_not_sealed() -> None:
    assert not is_sealed(PERSONAL)
    fake = {"subject_id": "s", "alg": "AES-GCM", "nonce": "", "ciphertext": ""}
    assert not is_sealed(fake)


def test_each_seal_uses_a_fresh_nonce() -> None:
    key = new_subject_key()
    first = seal_personal(PERSONAL, key=key, decision_id=DECISION)
    second = seal_personal(PERSONAL, key=key, decision_id=DECISION)
    assert first["nonce"] != second["nonce"]
    assert first["ciphertext"] != second["ciphertext"]


def test_ciphertext_is_bound_to_its_decision() -> None:
    key = new_subject_key()
    sealed = seal_personal(PERSONAL, key=key, decision_id=DECISION)
    with pytest.raises(InputRejected, match=f"decision {OTHER_DECISION}"):
        open_personal(sealed, key=key, decision_id=OTHER_DECISION)


def test_ciphertext_is_bound_to_its_subject() -> None:
    key = new_subject_key()
    sealed = seal_personal(PERSONAL, key=key, decision_id=DECISION)
    moved = {**sealed, "subject_id": "buyer-78"}
    with pytest.raises(InputRejected, match="subject buyer-78"):
        open_personal(moved, key=key, decision_id=DECISION)


def test_wrong_key_fails() -> None:
    sealed = seal_personal(PERSONAL, key=new_subject_key(), decision_id=DECISION)
    with pytest.raises(InputRejected, match="does not decrypt"):
        open_personal(sealed, key=new_subject_key(), decision_id=DECISION)


def test_modified_ciphertext_fails() -> None:
    key = new_subject_key()
    sealed = seal_personal(PERSONAL, key=key, decision_id=DECISION)
    raw = bytearray(base64.b64decode(sealed["ciphertext"]))
    raw[0] ^= 0x01
    tampered = {**sealed, "ciphertext": base64.b64encode(bytes(raw)).decode()}
    with pytest.raises(InputRejected, match="does not decrypt"):
        open_personal(tampered, key=key, decision_id=DECISION)
