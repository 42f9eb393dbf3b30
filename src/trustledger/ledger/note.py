"""C2SP signed notes (c2sp.org/signed-note), compatible with Go's golang.org/x/mod/sumdb/note.

    note      = text ‖ "\\n" ‖ signature line+          (text non-empty, ending in "\\n")
    signature = "— " ‖ key name ‖ " " ‖ base64(key id (4 bytes) ‖ signature bytes) ‖ "\\n"

A note is valid UTF-8 without ASCII control characters other than newline; the text ends
at the *last* blank line. The parser is strict (any other byte sequence is refused, base64
must be canonical), and opening a note follows the spec's rules for trust: signatures by
unknown keys (name and id not both matching) are ignored, a known key's signature must
verify or the whole note is refused, and at least one known key must have signed.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from trustledger.errors import UsageError, VerificationFailed
from trustledger.ledger.keys import KeyId, SigningKey

MAX_SIGNATURES = 100  # as Go's sumdb/note; the spec asks to accept at least 16
_DASH = "— "  # U+2014 EM DASH, U+0020 SPACE (C2SP signed-note, "Format")


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
    """C2SP signed-note: non-empty, no Unicode spaces, no plus sign."""
    return bool(name) and "+" not in name and not any(ch.isspace() for ch in name)


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


def check_note_text(text: str) -> None:
    """A note text: non-empty, ends in a newline, no control characters but newline."""
    if not text.endswith("\n"):
        raise MalformedNote("a note's text must be non-empty and end with a newline")
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
    raw = decode_b64(encoded, f"the signature of {name}")
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
    """Parse a signed note strictly (see the module docstring). Raises MalformedNote."""
    try:
        message = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedNote("a signed note must be valid UTF-8") from exc
    if "\ufffd" in message:
        raise MalformedNote("a signed note must not contain U+FFFD")
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


def open_note(data: bytes, *, verifiers: Sequence[NoteVerifier]) -> OpenedNote:
    """Parse a note and check its signatures against the trusted ``verifiers``.

    Signatures by keys not in ``verifiers`` are ignored. Raises MalformedNote,
    NoteNotVerified (a trusted key's signature is invalid, or no trusted key signed), and
    UsageError when two trusted keys share a name and an id.
    """
    known: dict[tuple[str, KeyId], NoteVerifier] = {}
    for verifier in verifiers:
        slot = (verifier.name, verifier.key_id)
        if slot in known and known[slot] is not verifier:
            raise UsageError(f"ambiguous key {verifier.name}+{verifier.key_id}")
        known[slot] = verifier
    note = parse_note(data)
    message = note.text.encode("utf-8")
    verified: dict[tuple[str, KeyId], NoteVerifier] = {}
    for signature in note.signatures:
        signer = known.get((signature.name, signature.key_id))
        if signer is None:
            continue  # C2SP signed-note: verifiers MUST ignore signatures from unknown keys
        if not signer.is_valid_signature(signature.signature, message):
            raise NoteNotVerified(f"invalid signature for key {signature.name}+{signature.key_id}")
        verified[(signature.name, signature.key_id)] = signer
    if not verified:
        names = ", ".join(f"{v.name}+{v.key_id}" for v in verifiers) or "none given"
        raise NoteNotVerified(f"note has no verifiable signatures (trusted keys: {names})")
    return OpenedNote(note, tuple(verified.values()))
