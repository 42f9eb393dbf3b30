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
import re
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
    standard path, which decodes or raises exactly as ``json.loads`` does. For data that
    is already trusted (read back after verification); a verifier uses ``decode_i_json``.
    """
    try:
        value, end = _scan_json(text, 0)
    except StopIteration:
        end = -1
    if end == len(text):
        return value
    return json.loads(text)


class NotIJson(ValueError):
    """JSON that format v1 refuses (docs/FORMAT.md §3.1): a member named twice, a number
    with a fraction or an exponent, or a non-JSON constant."""


def _refuse_fraction(text: str) -> Any:
    raise NotIJson(f"the number {text} has a fraction or an exponent (integers only)")


_MAX_INTEGER = 2**53 - 1  # docs/FORMAT.md §3.1, I-JSON's interoperable range


def _bounded_integer(text: str) -> int:
    value = int(text)
    if not -_MAX_INTEGER <= value <= _MAX_INTEGER:
        raise NotIJson(f"the integer {text} is beyond ±(2^53 − 1)")
    return value


def _refuse_constant(text: str) -> Any:
    raise NotIJson(f"{text} is not JSON")


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        names = [name for name, _ in pairs]
        twice = next(name for index, name in enumerate(names) if name in names[:index])
        raise NotIJson(f"the member {twice!r} is named twice in one object")
    return obj


# docs/FORMAT.md §3.1: two JSON parsers must never read two values from one text. A member
# named twice is read last-wins by most parsers, first-wins by some; and a fraction or
# exponent is read as a binary float whose text other parsers spell differently. The C
# scanner calls these hooks only for objects and such numbers, so compact integer-only
# JSON pays one call per object.
_JSON_SPACE = re.compile(r"[ \t\n\r]*")  # RFC 8259 §2: insignificant whitespace
_scan_strict: Any = json.JSONDecoder(  # type: ignore[attr-defined]
    object_pairs_hook=_unique_members,
    parse_float=_refuse_fraction,
    parse_int=_bounded_integer,
    parse_constant=_refuse_constant,
).scan_once
_scan_payload: Any = json.JSONDecoder(  # type: ignore[attr-defined]
    parse_float=_refuse_fraction, parse_int=_bounded_integer, parse_constant=_refuse_constant
).scan_once


def _skip_space(text: str, at: int) -> int:
    match = _JSON_SPACE.match(text, at)
    return match.end() if match else at


def decode_i_json(text: str, *, canonical_after: bool = False) -> Any:
    """Decode JSON as format v1 reads it: I-JSON (RFC 7493) members, integer numbers.

    Raises NotIJson for a member named twice at any level, a number with a fraction or
    exponent or beyond ±(2^53 − 1), NaN or Infinity, a string holding a lone surrogate;
    ValueError for text that is not one JSON value.

    ``canonical_after=True`` is the caller's promise to compare the text with the RFC 8785
    form of what it decodes to (a signed payload, docs/FORMAT.md §3): that comparison
    already refuses a member named twice (the re-encoding has it once) and a lone surrogate
    (it cannot be canonicalised), so only numbers and constants are checked here. What is
    returned then holds only JSON types and integers within ±(2^53 − 1): the caller may
    canonicalise it with ``json_safe=True``.
    """
    scan = _scan_payload if canonical_after else _scan_strict
    try:
        try:
            value, end = scan(text, 0)  # compact JSON, the common case: no regex
        except StopIteration:
            value, end = scan(text, _skip_space(text, 0))
    except StopIteration as exc:
        raise ValueError(f"not JSON at character {exc.value}") from None
    if end != len(text):
        end = _skip_space(text, end)
        if end != len(text):
            raise ValueError(f"not one JSON value (extra data at character {end})")
    if not canonical_after and "\\u" in text and _SURROGATE_ESCAPE.search(text) is not None:
        _check_unicode(value)  # rare: only text with an escaped surrogate is walked
    return value


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _check_unicode(value: Any) -> None:
    # RFC 7493 §2.1: strings (member names included) are Unicode: a surrogate escape must
    # be half of a pair. Only such text is walked; what it decoded to must encode.
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise NotIJson("a string holds a lone surrogate (not Unicode text)") from None


class MalformedState(ValueError):
    """The stored state is not a trustledger envelope."""


@dataclass(frozen=True)
class Envelope:
    """The parts of a stored state that verification reads."""

    payload: bytes
    signature: bytes
    key_id: KeyId
    payload_text: str = ""  # the same payload as text, so a verifier decodes it only once


_KEY_ID = re.compile(r"[0-9a-f]{8}")


def parse_state(state: bytes) -> Envelope:
    """Extract payload, signature and key id from stored state bytes (docs/FORMAT.md §5).

    The state is a UTF-8 I-JSON object (``decode_i_json``: a second ``payload`` or
    ``signature`` member would give two parsers two decisions under one chain hash) with
    a ``payload`` string of valid Unicode, a ``signature`` in canonical padded base64 of
    64 bytes and a ``key_id`` of exactly 8 lowercase hex digits. Raises MalformedState
    naming the member that is missing or malformed.
    """
    try:
        # Stored state is UTF-8 (docs/FORMAT.md §5); decoding it ourselves spares
        # json.loads its encoding detection on every entry of a verification.
        obj = decode_i_json(state.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedState(f"state is not I-JSON ({exc})") from exc
    if not isinstance(obj, dict):
        raise MalformedState("state is not a JSON object")
    if "format" in obj:
        # docs/FORMAT.md §16: v1 states have no "format" member; a later format names itself
        # there, and an entry of a format this reader does not know is never read as v1.
        raise MalformedState(
            f"state declares format {obj['format']!r}: this verifier reads format v1 only; "
            "verify with a trustledger that implements that format"
        )
    payload, signature, key_id = obj.get("payload"), obj.get("signature"), obj.get("key_id")
    if not isinstance(payload, str):
        raise MalformedState("state has no 'payload' string")
    if not isinstance(signature, str):
        raise MalformedState("state has no 'signature' string")
    if not isinstance(key_id, str) or _KEY_ID.fullmatch(key_id) is None:
        raise MalformedState("state has no 'key_id' of 8 lowercase hex digits")
    try:
        raw_signature = binascii.a2b_base64(signature, strict_mode=True)  # RFC 4648 §4
    except binascii.Error as exc:
        raise MalformedState(f"signature is not base64 ({exc})") from exc
    if len(raw_signature) != 64:
        raise MalformedState("signature is not 64 bytes")
    if binascii.b2a_base64(raw_signature, newline=False) != signature.encode("ascii"):
        # Pad bits set: another text for the same bytes (docs/FORMAT.md §3.1, canonical).
        raise MalformedState("signature is not canonical base64 (its pad bits are not zero)")
    try:
        payload_bytes = payload.encode("utf-8")
    except UnicodeEncodeError as exc:  # an escaped lone surrogate: not Unicode text
        raise MalformedState("payload is not valid Unicode (a lone surrogate)") from exc
    return Envelope(payload_bytes, raw_signature, KeyId(bytes.fromhex(key_id)), payload)
