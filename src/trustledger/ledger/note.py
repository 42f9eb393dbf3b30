"""C2SP signed notes (c2sp.org/signed-note), read exactly as Go's golang.org/x/mod/sumdb/note
``Open`` reads them.

    note      = text ‖ "\\n" ‖ signature line+          (text non-empty, ending in "\\n")
    signature = "— " ‖ key name ‖ " " ‖ base64(key id (4 bytes) ‖ signature bytes) ‖ "\\n"

A note is valid UTF-8 and holds no code point below U+0020 other than newline (U+007F, C1
controls and an encoded U+FFFD are allowed, as in Go); the text ends at the *last* blank
line. A key name is non-empty, without "+" and without a White_Space character. The base64
is RFC 4648 §4 with its padding, read as Go's ``base64.StdEncoding`` reads it (pad bits are
ignored); it decodes to at least 5 bytes. At most 100 signature lines. Opening follows the
spec's rules for trust, as Go does: a signature line whose name and key id are not both a
known key's is ignored, the *first* line of each known key must verify (or the whole note is
refused) and its repeats are ignored, and at least one known key must have signed.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from trustledger.errors import UsageError, VerificationFailed
from trustledger.ledger.keys import KeyId, SigningKey

MAX_SIGNATURES = 100  # as Go's sumdb/note; the spec asks to accept at least 16
_DASH = "— "  # U+2014 EM DASH, U+0020 SPACE (C2SP signed-note, "Format")
# Go's unicode.IsSpace: the Unicode White_Space property (Python's str.isspace adds
# U+001C-U+001F, which a note cannot hold anyway).
_WHITE_SPACE = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
# What Go's base64.StdEncoding.DecodeString accepts on one line: whole quanta, the last
# one padded with "=" (RFC 4648 §4); the pad bits are not checked (Go's is not .Strict()).
_PADDED_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


class MalformedNote(VerificationFailed):
    """Bytes that are not a well-formed signed note (or checkpoint, or cosignature)."""


class NoteNotVerified(VerificationFailed):
    """A note no trusted key signed, or whose signature by a trusted key is invalid."""


class NoteVerifier(Protocol):
    """A key that checks note signatures: a name, a 4-byte id and a check."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> KeyId: ...

    def is_valid_signature(self, signature: bytes, message: bytes) -> bool: ...


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: the key's name and id, and the signature bytes after the id."""

    name: str
    key_id: KeyId
    signature: bytes


@dataclass(frozen=True)
class Note:
    """A note's text (ending in a newline) and its signature lines, in order."""

    text: str
    signatures: tuple[NoteSignature, ...]


@dataclass(frozen=True)
class OpenedNote:
    """A note with at least one verified signature, and the keys that verified."""

    note: Note
    verified_by: tuple[NoteVerifier, ...]


def is_valid_key_name(name: str) -> bool:
    """C2SP signed-note (Go's isValidName): non-empty, no White_Space, no plus sign."""
    return bool(name) and "+" not in name and _WHITE_SPACE.isdisjoint(name)


def encode_b64(raw: bytes) -> str:
    """RFC 4648 §4 base64 with padding."""
    return base64.b64encode(raw).decode("ascii")


def decode_b64(text: str, what: str) -> bytes:
    """Canonical RFC 4648 §4 base64 only: re-encoding must give back the same text."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise MalformedNote(f"{what} is not base64") from exc
    if encode_b64(raw) != text:
        raise MalformedNote(f"{what} is not canonical base64")
    return raw


def decode_signature_b64(text: str, what: str) -> bytes:
    """Base64 as Go's note.Open decodes a signature: padded, pad bits not checked."""
    if not _PADDED_BASE64.fullmatch(text):
        raise MalformedNote(f"{what} is not base64")
    return base64.b64decode(text)


def check_note_text(text: str) -> None:
    """A note text: non-empty, ends in a newline, no control characters but newline."""
    if not text.endswith("\n"):
        raise MalformedNote("a note's text must be non-empty and end with a newline")
    # Go's Open: a rune below U+0020 other than "\n" (U+007F is allowed).
    if any(ch < " " and ch != "\n" for ch in text):
        raise MalformedNote("a note must not contain control characters other than newline")


def format_signature_line(signature: NoteSignature) -> str:
    """``— <name> base64(key id ‖ signature)`` and a newline."""
    if not is_valid_key_name(signature.name):
        raise UsageError(f"invalid key name {signature.name!r}")
    return f"{_DASH}{signature.name} {encode_b64(signature.key_id.value + signature.signature)}\n"


def parse_signature_line(line: str) -> NoteSignature:
    """One signature line without its newline. Raises MalformedNote."""
    if not line.startswith(_DASH):
        raise MalformedNote(f"not a signature line: {line[:60]!r}")
    name, space, encoded = line[len(_DASH) :].partition(" ")
    if not space or not is_valid_key_name(name) or " " in encoded:
        raise MalformedNote(f"malformed signature line: {line[:60]!r}")
    raw = decode_signature_b64(encoded, f"the signature of {name}")
    if len(raw) < 5:
        raise MalformedNote(f"the signature of {name} is too short")
    return NoteSignature(name, KeyId(raw[:4]), raw[4:])


def format_note(note: Note) -> bytes:
    """The note's bytes: text, a blank line, the signature lines."""
    check_note_text(note.text)
    if not note.signatures:
        raise UsageError("a signed note needs at least one signature")
    lines = "".join(format_signature_line(sig) for sig in note.signatures)
    return (note.text + "\n" + lines).encode("utf-8")


def parse_note(data: bytes) -> Note:
    """Parse a signed note as Go's Open does (see the module docstring). Raises MalformedNote."""
    try:
        # Python's strict decoder refuses what Go's utf8.DecodeRune reads as (RuneError, 1):
        # invalid bytes, truncated and overlong sequences, surrogates, beyond U+10FFFF. An
        # encoded U+FFFD is a character like any other.
        message = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedNote("a signed note must be valid UTF-8") from exc
    check_note_text(message)
    split = message.rfind("\n\n")
    if split < 0:
        raise MalformedNote("no blank line between the note's text and its signatures")
    text, signature_block = message[: split + 1], message[split + 2 :]
    check_note_text(text)
    if not signature_block:
        raise MalformedNote("a signed note needs at least one signature line")
    lines = signature_block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedNote(f"more than {MAX_SIGNATURES} signatures")
    return Note(text, tuple(parse_signature_line(line) for line in lines))


def sign_note_text(text: str, key: SigningKey) -> NoteSignature:
    """An Ed25519 note signature (C2SP signed-note, type 0x01) over ``text``."""
    check_note_text(text)
    return NoteSignature(key.name, key.key_id, key.sign(text.encode("utf-8")))


V = TypeVar("V", bound=NoteVerifier)


def check_signatures(
    note: Note, *, verifiers: Sequence[V], kind: str = "signature for key"
) -> list[tuple[V, NoteSignature]]:
    """Check the note's signature lines by the trusted ``verifiers``, as Go's note.Open does.

    Lines by other keys (name and id not both a trusted key's) are ignored; the first line
    of each trusted key must verify, its repeats are ignored; a key given twice is one key.
    Returns each trusted key that signed with its line, in order. Raises NoteNotVerified
    ("invalid ``kind`` name+id") and UsageError when a line names two different trusted
    keys (same name and id: Go's "ambiguous key").
    """
    known: dict[tuple[str, KeyId], list[V]] = {}
    for verifier in verifiers:
        slot = known.setdefault((verifier.name, verifier.key_id), [])
        if verifier not in slot:
            slot.append(verifier)
    message = note.text.encode("utf-8")
    verified: dict[tuple[str, KeyId], tuple[V, NoteSignature]] = {}
    for signature in note.signatures:
        slot_key = (signature.name, signature.key_id)
        candidates = known.get(slot_key)
        if candidates is None:
            continue  # C2SP signed-note: verifiers MUST ignore signatures from unknown keys
        if len(candidates) > 1:
            raise UsageError(f"ambiguous key {signature.name}+{signature.key_id}")
        if slot_key in verified:
            continue  # Go's Open: "Drop repeated signatures by a single verifier."
        [signer] = candidates
        if not signer.is_valid_signature(signature.signature, message):
            raise NoteNotVerified(f"invalid {kind} {signature.name}+{signature.key_id}")
        verified[slot_key] = (signer, signature)
    return list(verified.values())


def open_note(data: bytes, *, verifiers: Sequence[NoteVerifier]) -> OpenedNote:
    """Parse a note and check its signatures against the trusted ``verifiers``, as Go's
    note.Open does (see ``check_signatures``): at least one trusted key must have signed.

    Raises MalformedNote, NoteNotVerified (a trusted key's signature is invalid, or no
    trusted key signed), and UsageError (an ambiguous key).
    """
    note = parse_note(data)
    verified = check_signatures(note, verifiers=verifiers)
    if not verified:
        names = ", ".join(dict.fromkeys(f"{v.name}+{v.key_id}" for v in verifiers)) or "none given"
        raise NoteNotVerified(f"note has no verifiable signatures (trusted keys: {names})")
    return OpenedNote(note, tuple(signer for signer, _ in verified))
