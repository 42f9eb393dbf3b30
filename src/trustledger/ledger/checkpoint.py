"""C2SP transparency-log checkpoints (c2sp.org/tlog-checkpoint) inside signed notes.

    origin ‖ "\\n" ‖ decimal tree size ‖ "\\n" ‖ base64(root hash) ‖ "\\n" ‖ (extension ‖ "\\n")*

The size has no leading zeros (``0`` for the empty tree), the root is the 32-byte RFC 9162
root (SHA-256) in canonical base64, extension lines are non-empty. The origin is any
non-empty line: it is *not* required to equal the signing key's name (the spec only
recommends it), so checkpoints from other logs open with their verifier key.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from trustledger.errors import VerificationFailed
from trustledger.ledger.keys import SigningKey
from trustledger.ledger.merkle import HASH_SIZE
from trustledger.ledger.note import (
    MalformedNote,
    Note,
    NoteSignature,
    NoteVerifier,
    OpenedNote,
    check_note_text,
    decode_b64,
    encode_b64,
    format_note,
    open_note,
    sign_note_text,
)

_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")
MAX_SIZE = 2**63 - 1


@dataclass(frozen=True)
class Checkpoint:
    """A signed tree head: which log, how many leaves, and their RFC 9162 root."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint opened from a note, with the note (all signature lines kept)."""

    checkpoint: Checkpoint
    note: Note
    verified_by: tuple[NoteVerifier, ...]


def format_checkpoint(checkpoint: Checkpoint) -> str:
    """The checkpoint's note text (the signed body)."""
    lines = [
        checkpoint.origin,
        str(checkpoint.size),
        encode_b64(checkpoint.root_hash),
        *checkpoint.extensions,
    ]
    text = "".join(line + "\n" for line in lines)
    parse_checkpoint(text)  # never write what we would not read back
    return text


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a checkpoint body strictly. Raises MalformedNote."""
    check_note_text(text)
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise MalformedNote("a checkpoint has at least three lines: origin, size, root hash")
    origin, size_text, root_text, *extensions = lines
    if not origin:
        raise MalformedNote("a checkpoint's origin line must not be empty")
    if not _SIZE.fullmatch(size_text) or int(size_text) > MAX_SIZE:
        raise MalformedNote(f"checkpoint tree size {size_text[:30]!r} is not a canonical decimal")
    root = decode_b64(root_text, "the checkpoint's root hash")
    if len(root) != HASH_SIZE:
        raise MalformedNote(f"the checkpoint's root hash is {len(root)} bytes, not {HASH_SIZE}")
    if any(not line for line in extensions):
        raise MalformedNote("a checkpoint's extension lines must not be empty")
    return Checkpoint(origin, int(size_text), root, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, key: SigningKey) -> bytes:
    """The signed note of ``checkpoint``, signed by the log key (Ed25519, type 0x01)."""
    text = format_checkpoint(checkpoint)
    return format_note(Note(text, (sign_note_text(text, key),)))


def add_signatures(note: Note, signatures: Sequence[NoteSignature]) -> Note:
    """The note with these signature lines added (those already there are not repeated)."""
    kept = list(note.signatures)
    for signature in signatures:
        if signature not in kept:
            kept.append(signature)
    return Note(note.text, tuple(kept))


class CheckpointMismatch(VerificationFailed):
    """A checkpoint that is well signed but not of the log it was expected from."""


def open_checkpoint(
    data: bytes, *, log_keys: Sequence[NoteVerifier], origin: str | None = None
) -> SignedCheckpoint:
    """Open a checkpoint signed by one of ``log_keys`` (other signatures are ignored).

    With ``origin``, the checkpoint must name that origin. Raises MalformedNote,
    NoteNotVerified, CheckpointMismatch.
    """
    opened: OpenedNote = open_note(data, verifiers=log_keys)
    checkpoint = parse_checkpoint(opened.note.text)
    if origin is not None and checkpoint.origin != origin:
        raise CheckpointMismatch(f"checkpoint of origin {checkpoint.origin!r}, expected {origin!r}")
    return SignedCheckpoint(checkpoint, opened.note, opened.verified_by)


@dataclass(frozen=True)
class VerifiedNote:
    """A signed note that verified, and its checkpoint when its text is one."""

    opened: OpenedNote
    checkpoint: Checkpoint | None


def open_any_note(data: bytes, *, verifiers: Sequence[NoteVerifier]) -> VerifiedNote:
    """Open any C2SP signed note (``open_note``); a text that is not a checkpoint is no
    failure, the result says so. Raises MalformedNote, NoteNotVerified, UsageError."""
    opened = open_note(data, verifiers=verifiers)
    try:
        checkpoint: Checkpoint | None = parse_checkpoint(opened.note.text)
    except MalformedNote:
        checkpoint = None
    return VerifiedNote(opened, checkpoint)
