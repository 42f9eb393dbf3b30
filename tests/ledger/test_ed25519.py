"""Signature checks through libsodium agree with OpenSSL (which signs) on every key we accept."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.bindings import crypto_core_ed25519_add

from trustledger.errors import UsageError
from trustledger.ledger import ed25519
from trustledger.ledger.cosignature import CosignerKey
from trustledger.ledger.keys import VerifierKey

# RFC 8032 §7.1, TEST 1: the empty message.
RFC8032_SECRET = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC8032_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
RFC8032_SIGNATURE = bytes.fromhex(
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
)
# A point of order 8 on edwards25519 (the torsion subgroup).
ORDER_8_POINT = bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")
IDENTITY_POINT = bytes([1]) + bytes(31)
# The group order L (RFC 8032 §5.1).
GROUP_ORDER = 2**252 + 27742317777372353535851937790883648493


def _raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def test_rfc8032_test_1() -> None:
    assert ed25519.is_valid_signature(RFC8032_PUBLIC, RFC8032_SIGNATURE, b"")
    assert not ed25519.is_valid_signature(RFC8032_PUBLIC, RFC8032_SIGNATURE, b"\x00")
    signer = Ed25519PrivateKey.from_private_bytes(RFC8032_SECRET)
    assert _raw_public(signer) == RFC8032_PUBLIC
    assert signer.sign(b"") == RFC8032_SIGNATURE


@settings(max_examples=60, deadline=None)
@given(message=st.binary(max_size=600), flip=st.integers(min_value=0, max_value=64 * 8 - 1))
def test_agrees_with_openssl_on_honest_and_altered_signatures(message: bytes, flip: int) -> None:
    signer = Ed25519PrivateKey.generate()
    public = _raw_public(signer)
    signature = signer.sign(message)
    assert ed25519.is_valid_public_key(public)
    assert ed25519.is_valid_signature(public, signature, message)
    altered = bytearray(signature)
    altered[flip // 8] ^= 1 << (flip % 8)
    assert not ed25519.is_valid_signature(public, bytes(altered), message)
    assert not ed25519.is_valid_signature(public, signature, message + b"x")


def test_non_canonical_s_is_rejected() -> None:
    # S + L verifies the same equation; RFC 8032 (and OpenSSL, and libsodium) require S < L.
    s = int.from_bytes(RFC8032_SIGNATURE[32:], "little")
    malleated = RFC8032_SIGNATURE[:32] + (s + GROUP_ORDER).to_bytes(32, "little")
    assert not ed25519.is_valid_signature(RFC8032_PUBLIC, malleated, b"")


@pytest.mark.parametrize("length", [0, 63, 65])
def test_signature_of_wrong_length_is_rejected(length: int) -> None:
    assert not ed25519.is_valid_signature(RFC8032_PUBLIC, bytes(length), b"")


def test_keys_outside_the_prime_order_subgroup_are_refused() -> None:
    # OpenSSL would load each of these; libsodium's verdict on their signatures could then
    # differ from another verifier's, so a ledger never accepts them as keys.
    mixed_order = crypto_core_ed25519_add(RFC8032_PUBLIC, ORDER_8_POINT)
    for point in (ORDER_8_POINT, IDENTITY_POINT, mixed_order):
        assert not ed25519.is_valid_public_key(point)
        with pytest.raises(UsageError, match="prime-order subgroup"):
            VerifierKey("bad-key", point)
        with pytest.raises(UsageError, match="prime-order subgroup"):
            CosignerKey("bad-witness", point)
    not_on_curve = bytes([2]) + bytes(31)
    assert not ed25519.is_valid_public_key(not_on_curve)
