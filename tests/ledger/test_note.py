"""C2SP signed notes, checkpoints and cosignatures: interoperability vectors from Go's
sumdb/note and the Go checksum database, strictness, and Hypothesis round-trips."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from trustledger.errors import UsageError, VerificationFailed
from trustledger.ledger.checkpoint import (
    Checkpoint,
    CheckpointMismatch,
    add_signatures,
    format_checkpoint,
    open_checkpoint,
    parse_checkpoint,
    sign_checkpoint,
)
from trustledger.ledger.cosignature import (
    CosignerKey,
    QuorumNotMet,
    cosign,
    cosignature_message,
    format_cosigner_key,
    parse_cosigner_key,
    verify_cosignature_quorum,
)
from trustledger.ledger.keys import SigningKey, generate_signing_key, parse_verifier_key
from trustledger.ledger.note import (
    MalformedNote,
    Note,
    NoteNotVerified,
    format_note,
    open_note,
    parse_note,
    sign_note_text,
)

# golang.org/x/mod/sumdb/note/note_test.go (BSD-3-Clause): TestNewSigner, TestSign, TestOpen.
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXg"
    "KvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOT"
    "GwnWLox33WWd1RvMc+QQ=\n"
)

# A checkpoint of the Go checksum database (its origin is not its key name), from
# transparency-dev's tests, and one with a cosignature line by a key we do not know.
SUMDB_VKEY = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
SUMDB_CHECKPOINT = (
    "go.sum database tree\n6476701\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n\n"
    "— sum.golang.org Az3grsLX85Gz+s1SiTbgkuqxgItqFq7gsMUEyVnrsa9LM7Us9S+1xbFIGu95949rj4nPRYf"
    "vimWEPWL+o3GeoWwOoAw=\n"
)
SUMDB_WITNESSED = (
    "go.sum database tree\n15067302\ngJyioq6dwR9n+NjEWORfYmH+ubeYm3kH42BBQ0bTpYI=\n\n"
    "— sum.golang.org Az3grp1rvWOs5NKlr/xR4GLN/CDyzzakmt1o61uSxYKpK1SerqOP2ClbX/peKUZjYnyomH5X"
    "z7GZG3TpB7OeKn4E2ww=\n"
    "— test.example.com qTGhC/xIPQ0AXKHK6Y+9ypRfuvMZWPjRXM8NiOg5M1WREn07VQXyuIXM3NRNav3ieVFLUq"
    "DRK77PWDmL6w8w84UqeAw=\n"
)


def peter_signer() -> SigningKey:
    _, _, name, _, encoded = PETER_SKEY.split("+", 4)
    seed = base64.b64decode(encoded)[1:]
    return SigningKey(name, Ed25519PrivateKey.from_private_bytes(seed))


def test_go_signer_key_gives_go_verifier_key_and_signature() -> None:
    signer = peter_signer()
    assert str(signer.key_id) == "c74f20a3"
    assert signer.verifier == parse_verifier_key(PETER_VKEY)
    note = format_note(Note(TEXT, (sign_note_text(TEXT, signer),)))
    assert note.decode() == TEXT + "\n" + PETER_SIG  # byte-identical to Go's note.Sign


def test_go_open_one_verified_one_ignored() -> None:
    opened = open_note(
        (TEXT + "\n" + PETER_SIG + ENOCH_SIG).encode(), verifiers=[parse_verifier_key(PETER_VKEY)]
    )
    assert opened.note.text == TEXT
    assert [v.name for v in opened.verified_by] == ["PeterNeumann"]
    both = open_note(
        (TEXT + "\n" + PETER_SIG + ENOCH_SIG).encode(),
        verifiers=[parse_verifier_key(PETER_VKEY), parse_verifier_key(ENOCH_VKEY)],
    )
    assert len(both.verified_by) == 2


def test_go_open_no_known_key() -> None:
    with pytest.raises(NoteNotVerified, match="no verifiable signatures"):
        open_note((TEXT + "\n" + PETER_SIG).encode(), verifiers=[parse_verifier_key(ENOCH_VKEY)])


def test_go_open_invalid_signature_of_known_key() -> None:
    bad = TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(NoteNotVerified, match="invalid signature for key PeterNeumann"):
        open_note(bad.encode(), verifiers=[parse_verifier_key(PETER_VKEY)])


@pytest.mark.parametrize(
    "message",
    [
        TEXT,
        TEXT + "\n",
        TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + TEXT + "\n" + PETER_SIG,
        TEXT + "\n" + "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXg"
        "KvqfqdngotpRZb6KE6RyyBwJnAM=",
        TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        TEXT + "\n" + PETER_SIG * 101,
        TEXT + "\n" + PETER_SIG.replace("AM=", "AN="),  # non-canonical base64 padding bits
        TEXT + "\r\n" + PETER_SIG,
    ],
    ids=[
        "no-sigs",
        "blank-only",
        "no-final-newline",
        "control",
        "bad-name",
        "trailing-line",
        "too-many",
        "non-canonical-b64",
        "crlf",
    ],
)
def test_go_malformed_notes(message: str) -> None:
    with pytest.raises(MalformedNote):
        open_note(message.encode(), verifiers=[parse_verifier_key(PETER_VKEY)])


def test_go_malformed_utf8() -> None:
    with pytest.raises(MalformedNote):
        parse_note(b"\xff" + (TEXT + "\n" + PETER_SIG).encode())


def test_sumdb_checkpoint_opens_with_its_key_though_origin_is_not_the_key_name() -> None:
    key = parse_verifier_key(SUMDB_VKEY)
    signed = open_checkpoint(SUMDB_CHECKPOINT.encode(), log_keys=[key])
    assert signed.checkpoint.origin == "go.sum database tree"
    assert signed.checkpoint.size == 6476701
    with pytest.raises(CheckpointMismatch):
        open_checkpoint(SUMDB_CHECKPOINT.encode(), log_keys=[key], origin="sum.golang.org")


def test_witnessed_sumdb_checkpoint_ignores_the_unknown_cosigner() -> None:
    signed = open_checkpoint(SUMDB_WITNESSED.encode(), log_keys=[parse_verifier_key(SUMDB_VKEY)])
    assert signed.checkpoint.size == 15067302
    assert len(signed.note.signatures) == 2


@pytest.mark.parametrize(
    "body",
    [
        "origin\n",
        "origin\n12\n",
        "\n12\n" + base64.b64encode(bytes(32)).decode() + "\n",
        "origin\n012\n" + base64.b64encode(bytes(32)).decode() + "\n",
        "origin\n+12\n" + base64.b64encode(bytes(32)).decode() + "\n",
        "origin\n12\n" + base64.b64encode(bytes(31)).decode() + "\n",
        "origin\n12\n" + base64.b64encode(bytes(32)).decode() + "\n\n",
        "origin\n12\n" + base64.b64encode(bytes(32)).decode().rstrip("=") + "\n",
        "origin\n99999999999999999999\n" + base64.b64encode(bytes(32)).decode() + "\n",
    ],
)
def test_strict_checkpoint_body(body: str) -> None:
    with pytest.raises(MalformedNote):
        parse_checkpoint(body)


def test_cosignature_key_id_uses_type_byte_0x04() -> None:
    signer = peter_signer()
    cosigner = CosignerKey.from_verifier(signer.verifier)
    assert cosigner.key_id != signer.key_id
    text = format_cosigner_key(cosigner)
    assert base64.b64decode(text.split("+", 2)[2])[0] == 0x04
    assert parse_cosigner_key(text) == cosigner
    assert parse_cosigner_key(PETER_VKEY) == cosigner  # the 0x01 key of the same pair
    with pytest.raises(UsageError):
        parse_cosigner_key(text.replace(str(cosigner.key_id), "00000000"))


def test_cosignature_signs_the_spec_message() -> None:
    log, witness = generate_signing_key("log.example/l"), generate_signing_key("w.example/w1")
    body = format_checkpoint(Checkpoint("log.example/l", 20852163, bytes(range(32))))
    line = cosign(body, witness, timestamp=1679315147)
    assert line.signature[:8] == (1679315147).to_bytes(8, "big")
    message = cosignature_message(body, 1679315147)
    assert message.startswith(b"cosignature/v1\ntime 1679315147\nlog.example/l\n20852163\n")
    witness.verifier.is_valid_signature(line.signature[8:], message)
    note = add_signatures(parse_note(sign_checkpoint(parse_checkpoint(body), log)), [line])
    data = format_note(note)
    opened = open_checkpoint(data, log_keys=[log.verifier])  # the cosignature is ignored
    cosigner = CosignerKey.from_verifier(witness.verifier)
    [(who, when)] = verify_cosignature_quorum(opened.note, witnesses=[cosigner], quorum=1)
    assert (who, when) == (cosigner, 1679315147)
    with pytest.raises(QuorumNotMet):
        verify_cosignature_quorum(opened.note, witnesses=[cosigner], quorum=2)
    other = CosignerKey.from_verifier(generate_signing_key("w.example/w2").verifier)
    with pytest.raises(QuorumNotMet):
        verify_cosignature_quorum(opened.note, witnesses=[other], quorum=1)
    forged = add_signatures(note, [])
    tampered = format_note(forged).replace(b"20852163", b"20852164")
    with pytest.raises(VerificationFailed):
        open_checkpoint(tampered, log_keys=[log.verifier])
    wrong_time = line.__class__(line.name, line.key_id, (1).to_bytes(8, "big") + line.signature[8:])
    with pytest.raises(VerificationFailed, match="invalid cosignature"):
        verify_cosignature_quorum(
            add_signatures(parse_note(data), [wrong_time]), witnesses=[cosigner], quorum=1
        )


# -- round trips ------------------------------------------------------------------------------
names = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zs", "Zl", "Zp")),
    min_size=1,
    max_size=20,
).filter(lambda s: "+" not in s and not any(c.isspace() for c in s) and "\ufffd" not in s)
lines = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), min_size=1, max_size=40
).filter(lambda s: "\ufffd" not in s and not any(c < " " for c in s))
KEY = generate_signing_key("roundtrip")


@given(
    st.lists(
        st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), max_size=30).filter(
            lambda s: "\ufffd" not in s
        ),
        min_size=1,
        max_size=5,
    ),
    st.lists(
        st.tuples(names, st.binary(min_size=4, max_size=4), st.binary(min_size=1, max_size=80)),
        min_size=1,
        max_size=5,
    ),
)
def test_note_round_trip(text_lines: list[str], sigs: list[tuple[str, bytes, bytes]]) -> None:
    from trustledger.ledger.keys import KeyId
    from trustledger.ledger.note import NoteSignature

    text = "".join(line + "\n" for line in text_lines)
    note = Note(text, tuple(NoteSignature(n, KeyId(k), s) for n, k, s in sigs))
    assert parse_note(format_note(note)) == note


@given(
    lines,
    st.integers(0, 2**63 - 1),
    st.binary(min_size=32, max_size=32),
    st.lists(lines, max_size=3),
)
def test_checkpoint_round_trip(origin: str, size: int, root: bytes, ext: list[str]) -> None:
    checkpoint = Checkpoint(origin, size, root, tuple(ext))
    assert parse_checkpoint(format_checkpoint(checkpoint)) == checkpoint
    signed = open_checkpoint(sign_checkpoint(checkpoint, KEY), log_keys=[KEY.verifier])
    assert signed.checkpoint == checkpoint


@given(st.integers(0, 2**63 - 1), st.binary(min_size=32, max_size=32))
def test_cosignature_round_trip(timestamp: int, root: bytes) -> None:
    body = format_checkpoint(Checkpoint("o", 5, root))
    line = cosign(body, KEY, timestamp=timestamp)
    note = parse_note(format_note(Note(body, (line,))))
    cosigner = CosignerKey.from_verifier(KEY.verifier)
    assert verify_cosignature_quorum(note, witnesses=[cosigner], quorum=1) == [
        (cosigner, timestamp)
    ]
