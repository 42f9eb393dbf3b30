"""Witness cosignatures (c2sp.org/tlog-cosignature, Ed25519 "cosignature/v1").

A cosignature is a signature line on a checkpoint's note:

    — <witness name> base64(key id (4) ‖ uint64be(timestamp) ‖ Ed25519 signature (64))

    key id  = SHA-256(name ‖ 0x0A ‖ 0x04 ‖ 32-byte public key)[:4]
    message = "cosignature/v1\\n" ‖ "time " ‖ decimal(timestamp) ‖ "\\n" ‖ checkpoint body

The witness key's verifier text is a C2SP vkey with type byte 0x04:
``name+<key id>+base64(0x04 ‖ public key)``. The same Ed25519 key pair as a trustledger key
file serves: ``CosignerKey.from_verifier`` turns an ordinary (0x01) verifier key into the
witness's cosignature key (same name and public key, the 0x04 key id).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from trustledger.errors import UsageError, VerificationFailed
from trustledger.ledger import ed25519
from trustledger.ledger.keys import (
    KeyId,
    SigningKey,
    VerifierKey,
    check_public_key,
    parse_verifier_key,
)
from trustledger.ledger.note import (
    Note,
    NoteSignature,
    check_note_text,
    check_signatures,
    is_valid_key_name,
)

COSIGNATURE_ALGORITHM = 0x04  # C2SP signed-note "Signature types": timestamped Ed25519
MAX_TIMESTAMP = 2**63 - 1  # C2SP tlog-cosignature: MUST NOT exceed 2^63 - 1


def cosignature_message(text: str, timestamp: int) -> bytes:
    """C2SP tlog-cosignature "Ed25519 signed message" for a checkpoint body."""
    check_note_text(text)
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


@dataclass(frozen=True)
class CosignerKey:
    """A witness's Ed25519 public key, as a note verifier of cosignature/v1 lines."""

    name: str
    public_key: bytes
    key_id: KeyId = field(init=False)

    def __post_init__(self) -> None:
        if not is_valid_key_name(self.name):
            raise UsageError(f"invalid witness key name {self.name!r}")
        check_public_key(self.public_key)
        digest = hashlib.sha256(
            self.name.encode() + b"\n" + bytes([COSIGNATURE_ALGORITHM]) + self.public_key
        ).digest()
        object.__setattr__(self, "key_id", KeyId(digest[:4]))

    @classmethod
    def from_verifier(cls, key: VerifierKey) -> CosignerKey:
        return cls(key.name, key.public_key)

    def timestamp_of(self, signature: bytes) -> int:
        """The cosignature's time (seconds since the epoch). Raises VerificationFailed."""
        if len(signature) != 8 + 64:
            raise VerificationFailed(f"cosignature by {self.name} is not 72 bytes")
        (timestamp,) = struct.unpack(">Q", signature[:8])
        if timestamp > MAX_TIMESTAMP:
            raise VerificationFailed(f"cosignature by {self.name} has an invalid timestamp")
        return int(timestamp)

    def is_valid_signature(self, signature: bytes, message: bytes) -> bool:
        """True for a valid cosignature/v1 ``signature`` over the checkpoint body."""
        if len(signature) != 8 + 64:
            return False
        (timestamp,) = struct.unpack(">Q", signature[:8])
        if timestamp > MAX_TIMESTAMP:
            return False
        try:
            signed = cosignature_message(message.decode("utf-8"), timestamp)
        except (UnicodeDecodeError, VerificationFailed):
            return False
        return ed25519.is_valid_signature(self.public_key, signature[8:], signed)


def format_cosigner_key(key: CosignerKey) -> str:
    """The witness's vkey: ``name+hex(key id)+base64(0x04 ‖ public key)``."""
    encoded = base64.b64encode(bytes([COSIGNATURE_ALGORITHM]) + key.public_key).decode()
    return f"{key.name}+{key.key_id}+{encoded}"


def parse_cosigner_key(text: str) -> CosignerKey:
    """A witness key: a 0x04 vkey, or an ordinary 0x01 verifier key of the same key pair.

    Raises UsageError naming what is wrong.
    """
    text = text.strip()
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise UsageError(f"not a witness key: {text[:80]!r} (expected NAME+KEYID+BASE64)")
    name, key_id_text, encoded = parts
    try:
        raw = base64.b64decode(encoded, validate=True)
    except binascii.Error as exc:
        raise UsageError(f"witness key {name!r}: key material is not base64") from exc
    if len(raw) == 33 and raw[0] == COSIGNATURE_ALGORITHM:
        key = CosignerKey(name, raw[1:])
        if str(key.key_id) != key_id_text:
            raise UsageError(
                f"witness key {name!r}: key id {key_id_text} does not match the key "
                f"(calculated {key.key_id})"
            )
        return key
    return CosignerKey.from_verifier(parse_verifier_key(text))


def cosign(text: str, key: SigningKey, *, timestamp: int) -> NoteSignature:
    """The witness's cosignature/v1 line over a checkpoint body at ``timestamp``."""
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise UsageError(f"invalid cosignature timestamp {timestamp}")
    cosigner = CosignerKey.from_verifier(key.verifier)
    signature = key.sign(cosignature_message(text, timestamp))
    return NoteSignature(key.name, cosigner.key_id, struct.pack(">Q", timestamp) + signature)


class QuorumNotMet(VerificationFailed):
    """Fewer distinct trusted witnesses cosigned a checkpoint than the quorum asks."""


def distinct_witness_count(witnesses: Sequence[CosignerKey]) -> int:
    """How many witnesses these keys are: one public key is one witness, whatever its names."""
    return len({w.public_key for w in witnesses})


def check_quorum_reachable(witnesses: Sequence[CosignerKey], quorum: int) -> None:
    """Refuse a quorum the given witness keys could never meet. Raises UsageError."""
    if quorum > len(witnesses):
        raise UsageError(f"--quorum {quorum} needs at least {quorum} --witness-key")
    distinct = distinct_witness_count(witnesses)
    if quorum > distinct:
        raise UsageError(
            f"--quorum {quorum} needs {quorum} distinct witness public keys; the "
            f"{len(witnesses)} --witness-key given hold {distinct}"
        )


def verify_cosignature_quorum(
    note: Note, *, witnesses: Sequence[CosignerKey], quorum: int
) -> list[tuple[CosignerKey, int]]:
    """Check the note's cosignatures by the trusted ``witnesses`` and that at least
    ``quorum`` distinct witness public keys validly cosigned it.

    Lines by unknown keys are ignored; the first line of a trusted witness (name and key id)
    that does not verify fails the check at any quorum, 0 included (repeats are ignored, as
    in Go's note.Open). One public key counts once, under however many names it is given
    or has cosigned. Returns each counting witness with its cosignature time. Raises
    QuorumNotMet, VerificationFailed, UsageError (an ambiguous witness key).
    """
    lines = check_signatures(note, verifiers=witnesses, kind="cosignature by witness")
    counted: dict[bytes, tuple[CosignerKey, int]] = {}
    for witness, line in lines:
        counted.setdefault(witness.public_key, (witness, witness.timestamp_of(line.signature)))
    if len(counted) < quorum:
        raise QuorumNotMet(
            f"checkpoint cosigned by {len(counted)} of the trusted witnesses, quorum is {quorum}"
        )
    return list(counted.values())
