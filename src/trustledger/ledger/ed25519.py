"""Ed25519 signatures and their checks, through libsodium (PyNaCl).

Key generation and key files stay with ``cryptography`` (OpenSSL). Signatures are made
and checked by libsodium because that is where appends and audits spend their time: on
the machines we measured, libsodium checks a signature in about half the time OpenSSL
takes and makes one in three quarters of it (docs/BENCHMARKS.md); ``verify`` of a large
ledger is almost all signature checks, and signing is the largest single cost of an
append. Ed25519 signatures are deterministic (RFC 8032): both libraries make the same
bytes from the same key and message (tests/ledger/test_known_answers.py).

libsodium is stricter than plain RFC 8032 §5.1.7 in one way that matters for
interoperability: besides requiring S < L and the cofactorless equation, it refuses a
public key or an R that is not canonically encoded or is of small order. Every honestly
made key (A = aB) and signature (R = rB) passes, so for them OpenSSL, Go's crypto/ed25519
and libsodium agree. To keep it that way for the keys a ledger accepts,
``check_public_key`` refuses any key that is not a point of the prime-order subgroup,
where libsodium and OpenSSL give the same verdict on every signature.
"""

from __future__ import annotations

from nacl.bindings import (
    crypto_core_ed25519_is_valid_point,
    crypto_sign,
    crypto_sign_open,
    crypto_sign_seed_keypair,
)
from nacl.exceptions import BadSignatureError

PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64


def secret_key(seed: bytes) -> bytes:
    """libsodium's 64-byte secret key (seed ‖ public key) for the RFC 8032 private key
    ``seed`` (32 bytes), what ``sign`` takes."""
    return crypto_sign_seed_keypair(seed)[1]


def sign(secret: bytes, message: bytes) -> bytes:
    """The Ed25519 signature (RFC 8032) of ``message`` under ``secret`` (``secret_key``)."""
    # The combined form (signature ‖ message), as in is_valid_signature.
    return crypto_sign(message, secret)[:SIGNATURE_SIZE]


def is_valid_public_key(public_key: bytes) -> bool:
    """True for a canonical encoding of a point in the prime-order subgroup, not the identity."""
    return len(public_key) == PUBLIC_KEY_SIZE and bool(
        crypto_core_ed25519_is_valid_point(public_key)
    )


def is_valid_signature(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """True when ``signature`` is ``public_key``'s Ed25519 signature (RFC 8032) of ``message``."""
    if len(signature) != SIGNATURE_SIZE:
        return False
    try:
        # libsodium's combined form (signature ‖ message) is the one PyNaCl binds without
        # an extra Python layer; the copy costs well under a microsecond for our messages.
        crypto_sign_open(signature + message, public_key)
    except BadSignatureError:
        return False
    return True
