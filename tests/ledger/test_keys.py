"""C2SP signed-note verifier keys, key ids, and encrypted private key files."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from trustledger.errors import UsageError
from trustledger.ledger.keys import (
    KDF_ROUNDS,
    KeyId,
    SigningKey,
    VerifierKey,
    format_private_key,
    format_public_key_file,
    format_verifier_key,
    generate_signing_key,
    parse_private_key,
    parse_public_key_file,
    parse_verifier_key,
)

# From the documentation of golang.org/x/mod/sumdb/note: a verifier key and a note it signed.
GO_NOTE_VERIFIER = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_NOTE_TEXT = (
    b"If you think cryptography is the answer to your problem,\n"
    b"then you don't know what your problem is.\n"
)
GO_NOTE_SIGNATURE = (
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
)

# C2SP signed-note key names: non-empty, no Unicode white space, no '+'.
key_names = st.text(
    alphabet=st.characters(
        exclude_categories=("Cs", "Zs", "Zl", "Zp", "Cc"), exclude_characters="+"
    ),
    min_size=1,
    max_size=40,
).filter(lambda name: not any(ch.isspace() for ch in name))


def _independent_key_id(name: str, public_key: bytes) -> str:
    # C2SP signed-note: key ID = SHA-256(key name || 0x0A || signature type 0x01 || public key)[:4]
    return hashlib.sha256(name.encode("utf-8") + b"\n" + b"\x01" + public_key).digest()[:4].hex()


def _key_from_seed(name: str, seed: int) -> SigningKey:
    return SigningKey(name, Ed25519PrivateKey.from_private_bytes(seed.to_bytes(32, "big")))


@given(name=key_names, seed=st.integers(min_value=1, max_value=2**256 - 1))
def test_verifier_key_round_trip(name: str, seed: int) -> None:
    key = _key_from_seed(name, seed).verifier
    text = format_verifier_key(key)
    parsed = parse_verifier_key(text)
    assert parsed == key
    assert format_verifier_key(parsed) == text
    assert parse_public_key_file(format_public_key_file(key)) == key


@given(name=key_names, seed=st.integers(min_value=1, max_value=2**256 - 1))
def test_key_id_is_the_c2sp_hash(name: str, seed: int) -> None:
    key = _key_from_seed(name, seed).verifier
    expected = _independent_key_id(name, key.public_key)
    assert str(key.key_id) == expected
    name_part, id_part, material = format_verifier_key(key).split("+", 2)
    assert (name_part, id_part) == (name, expected)
    assert base64.b64decode(material) == b"\x01" + key.public_key


def test_go_note_verifier_key_parses_and_verifies_its_note() -> None:
    key = parse_verifier_key(GO_NOTE_VERIFIER)
    assert key.name == "PeterNeumann"
    assert str(key.key_id) == "c74f20a3" == _independent_key_id(key.name, key.public_key)
    signature = base64.b64decode(GO_NOTE_SIGNATURE)
    assert signature[:4] == key.key_id.value  # a note signature starts with the key id
    assert key.is_valid_signature(signature[4:], GO_NOTE_TEXT)
    assert not key.is_valid_signature(signature[4:], GO_NOTE_TEXT + b"\n")


def test_key_material_containing_plus_parses() -> None:
    key = next(
        k.verifier
        for k in (_key_from_seed("plus", seed) for seed in range(1, 1000))
        if "+" in format_verifier_key(k.verifier).split("+", 2)[2]
    )
    text = format_verifier_key(key)
    assert text.count("+") > 2
    assert parse_verifier_key(text) == key


def test_surrounding_white_space_is_ignored() -> None:
    key = parse_verifier_key(f"  {GO_NOTE_VERIFIER}\n")
    assert format_verifier_key(key) == GO_NOTE_VERIFIER


def test_public_key_file_takes_the_last_key_line() -> None:
    key = generate_signing_key("bot").verifier
    text = format_public_key_file(key)
    assert text.splitlines()[-1] == format_verifier_key(key)
    assert parse_public_key_file(f"# comment\n{text}\n\n") == key


_NAME, _ID, _MATERIAL = GO_NOTE_VERIFIER.split("+")
_PUBLIC = base64.b64decode(_MATERIAL)[1:]
_NO_TYPE_BYTE = base64.b64encode(_PUBLIC).decode()
_WRONG_TYPE_BYTE = base64.b64encode(bytes([2]) + _PUBLIC).decode()
_TOO_LONG = base64.b64encode(bytes([1]) + _PUBLIC + b"x").decode()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("PeterNeumann+c74f20a3", "expected NAME\\+KEYID\\+BASE64"),
        ("PeterNeumann", "expected NAME\\+KEYID\\+BASE64"),
        ("", "expected NAME\\+KEYID\\+BASE64"),
        (f"{_NAME}+{_ID}+{_MATERIAL[:-1]}!", "not base64"),
        (f"{_NAME}+{_ID}+{_MATERIAL[:-4]}", "not base64|not an Ed25519 key"),
        (f"{_NAME}+{_ID}+{_NO_TYPE_BYTE}", "not an Ed25519 key"),
        (f"{_NAME}+{_ID}+{_WRONG_TYPE_BYTE}", "not an Ed25519 key"),
        (f"{_NAME}+{_ID}+{_TOO_LONG}", "not an Ed25519 key"),
        (f"{_NAME}+c74f20a4+{_MATERIAL}", "does not match the key"),
        (f"{_NAME}+C74F20A3+{_MATERIAL}", "does not match the key"),
        (f"Peter+Neumann+c74f20a3+{_MATERIAL}", "not base64"),
        (f"+{_ID}+{_MATERIAL}", "invalid key name"),
        (f"Peter Neumann+{_ID}+{_MATERIAL}", "invalid key name"),
    ],
    ids=[
        "two-parts",
        "one-part",
        "empty",
        "bad-base64-char",
        "truncated-material",
        "missing-type-byte",
        "wrong-type-byte",
        "too-long",
        "wrong-key-id",
        "uppercase-key-id",
        "plus-in-name",
        "empty-name",
        "space-in-name",
    ],
)
def test_malformed_verifier_key_is_rejected(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_verifier_key(text)


def test_public_key_file_without_a_key_is_rejected() -> None:
    with pytest.raises(UsageError, match="no verifier key found"):
        parse_public_key_file("# only comments\n\n", source="bot.pub")


@pytest.mark.parametrize("name", ["", "a b", "a+b", "tab\there", "nbsp\u00a0"])
def test_invalid_key_names_are_rejected(name: str) -> None:
    with pytest.raises(UsageError, match="invalid key name"):
        generate_signing_key(name)


def test_verifier_key_must_be_32_bytes() -> None:
    with pytest.raises(UsageError, match="32 bytes"):
        VerifierKey("short", b"\x01" * 31)


@pytest.mark.parametrize("text", ["c74f20a", "c74f20a30", "zzzzzzzz", ""])
def test_malformed_key_id_is_rejected(text: str) -> None:
    with pytest.raises(UsageError, match="not a key id"):
        KeyId.parse(text)


def test_key_id_parses() -> None:
    assert KeyId.parse("c74f20a3") == parse_verifier_key(GO_NOTE_VERIFIER).key_id


def test_private_key_round_trip_with_passphrase() -> None:
    key = generate_signing_key("decider-1")
    data = format_private_key(key, b"correct horse")
    assert b"PRIVATE KEY" in data
    assert key.private_key.private_bytes_raw() not in data
    loaded = parse_private_key(data, b"correct horse")
    assert loaded.name == "decider-1"
    assert loaded.verifier == key.verifier
    message = b"trustledger/decision/v1\n{}"
    assert key.verifier.is_valid_signature(loaded.sign(message), message)


def test_private_key_with_wrong_passphrase_is_rejected() -> None:
    data = format_private_key(generate_signing_key("decider-1"), b"correct horse")
    with pytest.raises(UsageError, match="wrong passphrase"):
        parse_private_key(data, b"battery staple", source="decider-1.key")


def test_private_key_without_passphrase_is_rejected() -> None:
    data = format_private_key(generate_signing_key("decider-1"), b"correct horse")
    with pytest.raises(UsageError, match="cannot decrypt"):
        parse_private_key(data, b"")


def test_private_key_is_never_written_without_a_passphrase() -> None:
    with pytest.raises(UsageError, match="empty passphrase"):
        format_private_key(generate_signing_key("decider-1"), b"")


def test_private_key_file_without_header_is_rejected() -> None:
    data = format_private_key(generate_signing_key("decider-1"), b"pw")
    pem = data[data.index(b"-----BEGIN") :]
    with pytest.raises(UsageError, match="not a trustledger key file"):
        parse_private_key(pem, b"pw")


def test_key_name_starting_with_hash_round_trips_through_a_pub_file() -> None:
    # A C2SP key name may start with '#'; the .pub file's comment lines must not hide it.
    key = generate_signing_key("#ops").verifier
    assert parse_public_key_file(format_public_key_file(key), source="ops.pub") == key


def _openssh_kdf(data: bytes) -> tuple[bytes, bytes, int]:
    """(cipher name, KDF name, rounds) from an OpenSSH private key block (PROTOCOL.key)."""
    block = data[data.index(b"-----BEGIN OPENSSH PRIVATE KEY-----") :].decode()
    body = base64.b64decode("".join(block.splitlines()[1:-1]))
    magic = b"openssh-key-v1\0"
    assert body.startswith(magic)
    offset = len(magic)

    def string() -> bytes:
        nonlocal offset
        length = int.from_bytes(body[offset : offset + 4], "big")
        offset += 4 + length
        return body[offset - length : offset]

    cipher, kdf, options = string(), string(), string()
    salt_length = int.from_bytes(options[:4], "big")
    rounds = int.from_bytes(options[4 + salt_length : 8 + salt_length], "big")
    return cipher, kdf, rounds


def test_private_key_file_uses_a_slow_kdf() -> None:
    # Not cryptography's encrypted PKCS#8, which is PBKDF2 at 2,048 iterations.
    data = format_private_key(generate_signing_key("decider-1"), b"correct horse")
    cipher, kdf, rounds = _openssh_kdf(data)
    assert (cipher, kdf) == (b"aes256-ctr", b"bcrypt")
    assert rounds >= KDF_ROUNDS >= 16


def test_private_key_from_an_earlier_build_still_loads() -> None:
    # Key files written before the OpenSSH format: encrypted PKCS#8 behind the same header.
    key = generate_signing_key("decider-1")
    pem = key.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"correct horse"),
    )
    header = b"# trustledger signing key\n# name: decider-1\n# verifier key: x\n"
    loaded = parse_private_key(header + pem, b"correct horse")
    assert loaded.verifier == key.verifier
    with pytest.raises(UsageError, match="wrong passphrase"):
        parse_private_key(header + pem, b"battery staple")


def test_private_key_file_without_a_key_block_is_rejected() -> None:
    with pytest.raises(UsageError, match="no encrypted private key"):
        parse_private_key(b"# name: decider-1\n", b"pw", source="decider-1.key")
