"""Checkpoints an auditor holds (``open_held_checkpoints``): the log key's signature, the
witnesses' cosignatures, the quorum counted in distinct public keys. Pure: no store."""

from __future__ import annotations

import pytest

from trustledger.app.transparency import open_held_checkpoints
from trustledger.errors import UsageError, VerificationFailed
from trustledger.ledger.checkpoint import Checkpoint, add_signatures, sign_checkpoint
from trustledger.ledger.cosignature import CosignerKey, QuorumNotMet, cosign
from trustledger.ledger.keys import SigningKey, generate_signing_key
from trustledger.ledger.note import Note, NoteSignature, format_note, parse_note

LOG, WITNESS = generate_signing_key("log"), generate_signing_key("witness")
ALIAS = SigningKey("witness-alias", WITNESS.private_key)  # the same key pair, another name
PINNED = CosignerKey.from_verifier(WITNESS.verifier)
PINNED_ALIAS = CosignerKey.from_verifier(ALIAS.verifier)


def cosigned(*lines: NoteSignature) -> bytes:
    note = parse_note(sign_checkpoint(Checkpoint("log", 3, bytes(32)), LOG))
    return format_note(add_signatures(note, lines))


def line_by(key: SigningKey) -> NoteSignature:
    text = parse_note(cosigned()).text
    return cosign(text, key, timestamp=1700000000)


def forged(line: NoteSignature) -> NoteSignature:
    return NoteSignature(line.name, line.key_id, line.signature[:8] + bytes(64))


@pytest.mark.parametrize("quorum", [0, 1])
def test_a_failing_cosignature_by_a_pinned_witness_refuses_at_any_quorum(quorum: int) -> None:
    data = cosigned(forged(line_by(WITNESS)))
    with pytest.raises(VerificationFailed, match=r"^checkpoint held: invalid cosignature by "):
        open_held_checkpoints(
            [("held", data)], log_keys=[LOG.verifier], witnesses=[PINNED], quorum=quorum
        )


def test_a_failing_cosignature_by_an_unpinned_witness_is_ignored() -> None:
    data = cosigned(forged(line_by(WITNESS)))
    [held] = open_held_checkpoints([("held", data)], log_keys=[LOG.verifier], witnesses=[],
                                   quorum=0)  # fmt: skip
    assert held.signed.checkpoint.size == 3


def test_a_failing_signature_by_the_pinned_log_key_refuses() -> None:
    note = parse_note(cosigned(line_by(WITNESS)))
    log_line = NoteSignature(LOG.name, LOG.key_id, bytes(64))
    data = format_note(Note(note.text, (log_line, *note.signatures[1:])))
    with pytest.raises(
        VerificationFailed, match=r"^checkpoint held: invalid signature for key log\+"
    ):
        open_held_checkpoints(
            [("held", data)], log_keys=[LOG.verifier], witnesses=[PINNED], quorum=0
        )


def test_one_witness_under_two_names_counts_once_towards_the_quorum() -> None:
    data = cosigned(line_by(WITNESS), line_by(ALIAS))
    both = [PINNED, PINNED_ALIAS]
    [held] = open_held_checkpoints([("held", data)], log_keys=[LOG.verifier], witnesses=both,
                                   quorum=1)  # fmt: skip
    assert held.source == "held"
    with pytest.raises(UsageError, match="--quorum 2 needs 2 distinct witness public keys"):
        open_held_checkpoints([("held", data)], log_keys=[LOG.verifier], witnesses=both, quorum=2)
    other = CosignerKey.from_verifier(generate_signing_key("other").verifier)
    with pytest.raises(QuorumNotMet, match="cosigned by 1 of the trusted witnesses, quorum is 2"):
        open_held_checkpoints(
            [("held", data)], log_keys=[LOG.verifier], witnesses=[*both, other], quorum=2
        )
