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
    check_quorum_reachable,
    cosign,
    cosignature_message,
    format_cosigner_key,
    parse_cosigner_key,
    verify_cosignature_quorum,
)
from trustledger.ledger.keys import (
    SigningKey,
    format_verifier_key,
    generate_signing_key,
    parse_verifier_key,
)
from trustledger.ledger.note import (
    MalformedNote,
    Note,
    NoteNotVerified,
    NoteSignature,
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
        TEXT + "\r\n" + PETER_SIG,
        TEXT + "\n" + PETER_SIG.replace("AM=", "AM"),  # Go's StdEncoding wants the padding
        TEXT + "\n" + PETER_SIG.replace("AM=", "AM=AAAA"),  # data after the padding
        TEXT + "\n" + PETER_SIG.replace("AM=", "AMA=====")[:-1],  # a quantum of padding
        TEXT + "\n" + PETER_SIG.replace("AM=", "A M="),  # a space inside the base64
        TEXT + "\n" + PETER_SIG.replace(" x08", "  x08"),  # two spaces after the name
        TEXT + "\n" + "— PeterNeumann \n",  # an empty signature
        TEXT + "\n" + "— PeterNeumann\n",  # no space, no signature
        TEXT + "\n" + "— PeterNeumann x08go/==\n",  # 4 bytes: a key id and no signature
        TEXT + "\n" + "— Peter+Neumann x08go/ZJ\n",  # a plus sign in the name
        TEXT + "\n" + "—PeterNeumann x08go/ZJ\n",  # no space after the dash
        TEXT + "\n" + PETER_SIG.replace("—", "-"),  # a hyphen, not U+2014
    ],
    ids=[
        "no-sigs",
        "blank-only",
        "no-final-newline",
        "control",
        "bad-name",
        "trailing-line",
        "too-many",
        "crlf",
        "b64-unpadded",
        "b64-data-after-padding",
        "b64-padding-quantum",
        "b64-space",
        "two-spaces",
        "empty-signature",
        "no-signature",
        "key-id-only",
        "plus-in-name",
        "no-space-after-dash",
        "hyphen",
    ],
)
def test_go_malformed_notes(message: str) -> None:
    with pytest.raises(MalformedNote):
        open_note(message.encode(), verifiers=[parse_verifier_key(PETER_VKEY)])


@pytest.mark.parametrize(
    "prefix",
    [
        b"\xff",  # not UTF-8 at all
        b"\xc3",  # a truncated sequence
        b"\xc0\xaf",  # an overlong "/"
        b"\xed\xa0\x80",  # an encoded surrogate (U+D800)
        b"\xf4\x90\x80\x80",  # beyond U+10FFFF
        b"\x80",  # a lone continuation byte
    ],
)
def test_go_malformed_utf8(prefix: bytes) -> None:
    # Go's Open: utf8.DecodeRune gives (RuneError, 1) for every one of these.
    with pytest.raises(MalformedNote, match="valid UTF-8"):
        parse_note(prefix + (TEXT + "\n" + PETER_SIG).encode())


@pytest.mark.parametrize("code", [c for c in range(0x20) if c != 0x0A])
def test_every_control_character_but_newline_is_refused(code: int) -> None:
    in_text = chr(code) + TEXT + "\n" + PETER_SIG
    in_signature = TEXT + "\n" + PETER_SIG[:-1] + chr(code) + "\n"
    for message in (in_text, in_signature):
        with pytest.raises(MalformedNote, match="control characters"):
            parse_note(message.encode())


@pytest.mark.parametrize("allowed", ["\x7f", "\ufffd", "\x85", "\u2028", "\ufeff", "\U0010ffff"])
def test_what_go_allows_in_a_note_opens(allowed: str) -> None:
    # Go's Open refuses only invalid UTF-8 (RuneError of size 1) and code points below
    # U+0020 other than newline: DEL, an *encoded* U+FFFD, C1 controls and the rest open.
    signer = peter_signer()
    text = f"a line with {allowed} in it\n"
    data = format_note(Note(text, (sign_note_text(text, signer),)))
    assert allowed.encode() in data
    opened = open_note(data, verifiers=[parse_verifier_key(PETER_VKEY)])
    assert opened.note.text == text


def test_non_canonical_base64_pad_bits_are_read_as_go_reads_them() -> None:
    # Go decodes signatures with base64.StdEncoding, which ignores the pad bits (it is not
    # .Strict()): "AN=" is read as "AM=", and the signature still verifies.
    note = (TEXT + "\n" + PETER_SIG.replace("AM=", "AN=")).encode()
    opened = open_note(note, verifiers=[parse_verifier_key(PETER_VKEY)])
    assert opened.note == parse_note((TEXT + "\n" + PETER_SIG).encode())


def test_go_open_ignores_repeated_signatures_by_one_key() -> None:
    # Go's Open checks the first signature of each known (name, key id) and drops the
    # repeats unchecked; repeated unknown lines are dropped too.
    bad_peter = PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    bad_enoch = ENOCH_SIG[:60] + "ABCD" + ENOCH_SIG[60:]
    peter = parse_verifier_key(PETER_VKEY)
    note = TEXT + "\n" + PETER_SIG + PETER_SIG + bad_peter + ENOCH_SIG + ENOCH_SIG + bad_enoch
    opened = open_note(note.encode(), verifiers=[peter])
    assert opened.verified_by == (peter,)
    with pytest.raises(NoteNotVerified, match="invalid signature for key PeterNeumann"):
        open_note((TEXT + "\n" + bad_peter + PETER_SIG).encode(), verifiers=[peter])


def test_unknown_keys_are_ignored_even_sharing_a_name_or_an_id() -> None:
    # C2SP signed-note: "ignore signatures from unknown keys, even if they share a name or
    # ID (but not both) with a known key"; their signatures are not checked.
    peter = parse_verifier_key(PETER_VKEY)
    other_id = "— PeterNeumann AAAAAAAAAAAAAA==\n"
    other_name = PETER_SIG.replace("PeterNeumann", "PaulNeumann")
    opened = open_note(
        (TEXT + "\n" + other_id + other_name + PETER_SIG).encode(), verifiers=[peter]
    )
    assert opened.verified_by == (peter,)
    with pytest.raises(NoteNotVerified, match="no verifiable signatures"):
        open_note((TEXT + "\n" + other_id + other_name).encode(), verifiers=[peter])


def test_at_most_100_signature_lines() -> None:
    peter = parse_verifier_key(PETER_VKEY)
    assert open_note((TEXT + "\n" + PETER_SIG * 100).encode(), verifiers=[peter])
    with pytest.raises(MalformedNote, match="more than 100 signatures"):
        open_note((TEXT + "\n" + ENOCH_SIG * 100 + PETER_SIG).encode(), verifiers=[peter])


class _Impostor:
    """A verifier with Peter's name and key id but another public key (a 32-bit collision)."""

    name = "PeterNeumann"
    key_id = parse_verifier_key(PETER_VKEY).key_id

    def is_valid_signature(self, signature: bytes, message: bytes) -> bool:
        return False


def test_ambiguous_keys_refuse_only_a_note_they_would_check() -> None:
    # Go: VerifierList reports an ambiguous key only when a signature line names it. One
    # key given twice is the same key, not an ambiguity.
    peter, enoch = parse_verifier_key(PETER_VKEY), parse_verifier_key(ENOCH_VKEY)
    opened = open_note(
        (TEXT + "\n" + PETER_SIG).encode(), verifiers=[peter, parse_verifier_key(PETER_VKEY)]
    )
    assert opened.verified_by == (peter,)
    opened = open_note((TEXT + "\n" + ENOCH_SIG).encode(), verifiers=[peter, _Impostor(), enoch])
    assert opened.verified_by == (enoch,)
    with pytest.raises(UsageError, match="ambiguous key PeterNeumann\\+c74f20a3"):
        open_note((TEXT + "\n" + PETER_SIG).encode(), verifiers=[peter, _Impostor(), enoch])


@pytest.mark.parametrize(
    "space",
    [
        "\u00a0",
        "\u1680",
        "\u2000",
        "\u200a",
        "\u2028",
        "\u2029",
        "\u202f",
        "\u205f",
        "\u3000",
        "\x85",
    ],
)
def test_a_key_name_with_a_unicode_space_is_malformed(space: str) -> None:
    # Go's isValidName: no unicode.IsSpace (the White_Space property), no "+".
    with pytest.raises(MalformedNote, match="malformed signature line"):
        parse_note((TEXT + "\n" + PETER_SIG.replace("Peter", "Peter" + space)).encode())


@pytest.mark.parametrize("not_space", ["\u180e", "\u200b", "\u2060", "\ufeff"])
def test_a_key_name_with_a_format_character_is_a_name(not_space: str) -> None:
    sig = PETER_SIG.replace("Peter", "Peter" + not_space)
    assert parse_note((TEXT + "\n" + sig).encode()).signatures[0].name == f"Peter{not_space}Neumann"


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
    log_signed = parse_note(sign_checkpoint(parse_checkpoint(body), log))
    with pytest.raises(VerificationFailed, match="invalid cosignature"):
        verify_cosignature_quorum(
            add_signatures(log_signed, [wrong_time, line]), witnesses=[cosigner], quorum=1
        )


# -- round trips ------------------------------------------------------------------------------
names = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zs", "Zl", "Zp")),
    min_size=1,
    max_size=20,
).filter(lambda s: "+" not in s and not any(c.isspace() for c in s))
lines = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), min_size=1, max_size=40
).filter(lambda s: not any(c < " " for c in s))
KEY = generate_signing_key("roundtrip")


@given(
    st.lists(
        st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30).filter(
            lambda s: not any(c < " " for c in s)
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


# -- witness quorum: distinct public keys, failing pinned cosignatures -----------------------
def _renamed(key: SigningKey, name: str) -> SigningKey:
    return SigningKey(name, key.private_key)


def _cosigned_by(log: SigningKey, *witnesses: SigningKey) -> Note:
    body = format_checkpoint(Checkpoint("log.example/l", 7, bytes(32)))
    note = parse_note(sign_checkpoint(parse_checkpoint(body), log))
    return add_signatures(note, [cosign(body, w, timestamp=1700000000) for w in witnesses])


def test_one_witness_key_under_two_names_counts_once() -> None:
    log, witness = generate_signing_key("log"), generate_signing_key("w1")
    alias = _renamed(witness, "w2")
    note = _cosigned_by(log, witness, alias)
    both = [CosignerKey.from_verifier(witness.verifier), CosignerKey.from_verifier(alias.verifier)]
    assert both[0].key_id != both[1].key_id  # two signature-line identities ...
    [(counted, _)] = verify_cosignature_quorum(note, witnesses=both, quorum=1)  # ... one witness
    assert counted == both[0]
    with pytest.raises(QuorumNotMet, match="cosigned by 1 of the trusted witnesses, quorum is 2"):
        verify_cosignature_quorum(note, witnesses=both, quorum=2)
    with pytest.raises(UsageError, match="--quorum 2 needs 2 distinct witness public keys; the "
                       "2 --witness-key given hold 1"):  # fmt: skip
        check_quorum_reachable(both, 2)
    other = generate_signing_key("w3")
    three = [*both, CosignerKey.from_verifier(other.verifier)]
    check_quorum_reachable(three, 2)
    assert len(verify_cosignature_quorum(_cosigned_by(log, witness, alias, other),
                                         witnesses=three, quorum=2)) == 2  # fmt: skip


def test_a_witness_as_vkey_and_as_pub_is_one_witness() -> None:
    log, witness = generate_signing_key("log"), generate_signing_key("w")
    as_pub = parse_cosigner_key(format_verifier_key(witness.verifier))
    as_vkey = parse_cosigner_key(format_cosigner_key(as_pub))
    note = _cosigned_by(log, witness)
    assert len(verify_cosignature_quorum(note, witnesses=[as_pub, as_vkey], quorum=1)) == 1
    with pytest.raises(QuorumNotMet):
        verify_cosignature_quorum(note, witnesses=[as_pub, as_vkey], quorum=2)
    with pytest.raises(UsageError, match="--quorum 2 needs 2 distinct witness public keys"):
        check_quorum_reachable([as_pub, as_vkey], 2)


def test_a_failing_cosignature_by_a_pinned_witness_refuses_at_quorum_0() -> None:
    log, witness = generate_signing_key("log"), generate_signing_key("w1")
    note = _cosigned_by(log, witness)
    [line] = [s for s in note.signatures if s.name == "w1"]
    # A bit of the signature flipped (setting its last byte to 0 left it valid one time in
    # sixteen: that byte of Ed25519's S is below 0x10).
    forged = NoteSignature(
        line.name, line.key_id, line.signature[:-1] + bytes([line.signature[-1] ^ 1])
    )
    bad = Note(note.text, (note.signatures[0], forged))
    pinned = CosignerKey.from_verifier(witness.verifier)
    for quorum in (0, 1):
        with pytest.raises(VerificationFailed, match=r"invalid cosignature by witness w1\+"):
            verify_cosignature_quorum(bad, witnesses=[pinned], quorum=quorum)
    # ... and, as in Go's note.Open, a repeat after a valid line is not checked.
    repeated = Note(note.text, (*note.signatures, forged))
    assert len(verify_cosignature_quorum(repeated, witnesses=[pinned], quorum=1)) == 1


def test_a_failing_signature_by_a_pinned_log_key_refuses_the_note() -> None:
    # Even when another pinned key's signature verifies (C2SP: "clients SHOULD reject").
    log, other = generate_signing_key("log"), generate_signing_key("other")
    note = parse_note(sign_checkpoint(Checkpoint("o", 1, bytes(32)), log))
    good = sign_note_text(note.text, other)
    [line] = note.signatures
    broken = NoteSignature(line.name, line.key_id, bytes(64))
    data = format_note(Note(note.text, (good, broken)))
    with pytest.raises(NoteNotVerified, match=r"invalid signature for key log\+"):
        open_checkpoint(data, log_keys=[other.verifier, log.verifier])
    assert open_checkpoint(data, log_keys=[other.verifier]).verified_by == (other.verifier,)
