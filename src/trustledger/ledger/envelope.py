"""The signed payload of an entry and the stored state that carries it.

Every entry's state (the stored event bytes) is a UTF-8 JSON object written by
``trustledger.app.stored_events`` (the one definition of those bytes, docs/FORMAT.md §5);
``parse_state`` reads the members verification needs and ignores any others:

    payload    string: the RFC 8785 canonical JSON of the signed document, verbatim
    signature  string: base64 of the 64-byte Ed25519 signature
    key_id     string: the signer's C2SP key id (8 hex digits)

The signature covers ``SIGNING_PREFIX ‖ UTF-8(payload)``. Keeping the canonical bytes
verbatim means an auditor verifies exactly what was signed, without re-canonicalising.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from trustledger.ledger.canonical import canonicalize
from trustledger.ledger.keys import KeyId, SigningKey

# Domain separation: a trustledger signature can never be mistaken for (or replayed as)
# a signature in another protocol that uses the same key, such as a C2SP note.
SIGNING_PREFIX = b"trustledger/decision/v1\n"


@dataclass(frozen=True)
class SignedPayload:
    """A canonical payload with the signature made over it."""

    payload: str
    signature: bytes
    key_id: KeyId

    @property
    def signature_b64(self) -> str:
        return base64.b64encode(self.signature).decode()


def signing_message(payload: bytes) -> bytes:
    """The exact bytes an Ed25519 signature of an entry covers."""
    return SIGNING_PREFIX + payload


def canonical_payload(document: dict[str, Any]) -> str:
    """The RFC 8785 canonical text of a document, as it will be signed and stored."""
    return canonicalize(document).decode("utf-8")


def sign_payload(payload: str, key: SigningKey) -> SignedPayload:
    """Sign canonical payload text with a decider's (or the root's) key."""
    return SignedPayload(payload, key.sign(signing_message(payload.encode("utf-8"))), key.key_id)


# The decoder's scanner is public in CPython's json module but not in its type stubs.
_scan_json: Any = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def decode_json(text: str) -> Any:
    """``json.loads(text)``, minus its per-call overhead in the common case.

    Stored states and payloads are compact JSON, which the decoder's C scanner reads in
    one call; anything else (leading whitespace, trailing bytes, invalid JSON) takes the
    standard path, which decodes or raises exactly as ``json.loads`` does.
    """
    try:
        value, end = _scan_json(text, 0)
    except StopIteration:
        end = -1
    if end == len(text):
        return value
    return json.loads(text)


class MalformedState(ValueError):
    """The stored state is not a trustledger envelope."""


@dataclass(frozen=True)
class Envelope:
    """The parts of a stored state that verification reads."""

    payload: bytes
    signature: bytes
    key_id: KeyId
    payload_text: str = ""  # the same payload as text, so a verifier decodes it only once


def parse_state(state: bytes) -> Envelope:
    """Extract payload, signature and key id from stored state bytes.

    Raises MalformedState naming the member that is missing or malformed.
    """
    try:
        # Stored state is UTF-8 (docs/FORMAT.md §State); decoding it ourselves spares
        # json.loads its encoding detection on every entry of a verification.
        obj = decode_json(state.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedState(f"state is not JSON ({exc})") from exc
    if not isinstance(obj, dict):
        raise MalformedState("state is not a JSON object")
    payload, signature, key_id = obj.get("payload"), obj.get("signature"), obj.get("key_id")
    if not isinstance(payload, str):
        raise MalformedState("state has no 'payload' string")
    if not isinstance(signature, str):
        raise MalformedState("state has no 'signature' string")
    if not isinstance(key_id, str) or len(key_id) != 8:
        raise MalformedState("state has no 'key_id' of 8 hex digits")
    try:
        raw_signature = binascii.a2b_base64(signature, strict_mode=True)  # RFC 4648 §4
        raw_key_id = bytes.fromhex(key_id)
    except (binascii.Error, ValueError) as exc:
        raise MalformedState(f"signature or key id not encoded as specified ({exc})") from exc
    if len(raw_signature) != 64:
        raise MalformedState("signature is not 64 bytes")
    return Envelope(payload.encode("utf-8"), raw_signature, KeyId(raw_key_id), payload)
