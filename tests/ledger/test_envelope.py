"""The signed payload and the stored state envelope that carries it."""

from __future__ import annotations

import base64
import json

import pytest

from trustledger.ledger.envelope import (
    SIGNING_PREFIX,
    MalformedState,
    canonical_payload,
    parse_state,
    sign_payload,
    signing_message,
)
from trustledger.ledger.keys import generate_signing_key

KEY = generate_signing_key("bot")
DOCUMENT = {"type": "shop.closed", "decision_id": "d-1", "data": {"reason": "关店"}}


def _state(**members: object) -> bytes:
    return json.dumps(members).encode()


def test_payload_is_canonical_json() -> None:
    payload = canonical_payload(DOCUMENT)
    assert payload == '{"data":{"reason":"关店"},"decision_id":"d-1","type":"shop.closed"}'


def test_signature_covers_prefix_and_payload() -> None:
    signed = sign_payload(canonical_payload(DOCUMENT), KEY)
    payload = signed.payload.encode()
    assert (
        signing_message(payload)
        == b"trustledger/decision/v1\n" + payload
        == SIGNING_PREFIX + payload
    )
    assert KEY.verifier.is_valid_signature(signed.signature, SIGNING_PREFIX + payload)
    # Without the domain-separation prefix the signature does not verify.
    assert not KEY.verifier.is_valid_signature(signed.signature, payload)
    assert signed.key_id == KEY.key_id
    assert base64.b64decode(signed.signature_b64) == signed.signature


def test_state_round_trip() -> None:
    signed = sign_payload(canonical_payload(DOCUMENT), KEY)
    state = _state(
        payload=signed.payload,
        signature=signed.signature_b64,
        key_id=str(signed.key_id),
        timestamp={"_type_": "datetime_iso", "_data_": "2026-11-02T08:30:00+00:00"},
    )
    envelope = parse_state(state)
    assert envelope.payload == signed.payload.encode("utf-8")
    assert envelope.signature == signed.signature
    assert envelope.key_id == KEY.key_id


_SIG = base64.b64encode(b"s" * 64).decode()


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (b"not json", "not I-JSON"),
        (b"\xff\xfe", "not I-JSON"),
        (b"[1, 2]", "not a JSON object"),
        (_state(signature=_SIG, key_id="c74f20a3"), "no 'payload' string"),
        (_state(payload={"a": 1}, signature=_SIG, key_id="c74f20a3"), "no 'payload' string"),
        (_state(payload="{}", key_id="c74f20a3"), "no 'signature' string"),
        (_state(payload="{}", signature=_SIG), "no 'key_id'"),
        (_state(payload="{}", signature=_SIG, key_id="c74f20a"), "no 'key_id'"),
        (_state(payload="{}", signature=_SIG, key_id=12345678), "no 'key_id'"),
        (_state(payload="{}", signature=_SIG, key_id="zzzzzzzz"), "8 lowercase hex"),
        (_state(payload="{}", signature=_SIG, key_id="C74F20A3"), "8 lowercase hex"),
        (_state(payload="{}", signature="not base64!", key_id="c74f20a3"), "not base64"),
        (
            _state(payload="{}", signature=_SIG[:-3] + "x==", key_id="c74f20a3"),
            "not canonical base64",
        ),
        (
            b'{"payload":"{}","payload":"{}","signature":"'
            + _SIG.encode()
            + b'","key_id":"c74f20a3"}',
            "'payload' is named twice",
        ),
        (_state(payload="\ud800", signature=_SIG, key_id="c74f20a3"), "lone surrogate"),
        (_state(payload="{}", signature=_SIG, key_id="c74f20a3", extra=1.5), "fraction"),
        (
            _state(payload="{}", signature=base64.b64encode(b"s" * 63).decode(), key_id="c74f20a3"),
            "not 64 bytes",
        ),
    ],
    ids=[
        "not-json",
        "not-utf8",
        "array",
        "no-payload",
        "payload-not-string",
        "no-signature",
        "no-key-id",
        "short-key-id",
        "key-id-not-string",
        "key-id-not-hex",
        "key-id-upper-case",
        "signature-not-base64",
        "signature-pad-bits-set",
        "payload-named-twice",
        "payload-lone-surrogate",
        "a-float-member",
        "signature-63-bytes",
    ],
)
def test_malformed_state_is_rejected(state: bytes, message: str) -> None:
    with pytest.raises(MalformedState, match=message):
        parse_state(state)
