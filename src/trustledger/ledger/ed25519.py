"""Ed25519 signature checks, through libsodium (PyNaCl).

Signing and key files stay with ``cryptography`` (OpenSSL). Verification goes through
libsodium because it is where an audit spends its time: on the machines we measured,
libsodium checks a signature in about half the time OpenSSL takes (docs/BENCHMARKS.md),
and ``verify`` of a large ledger is almost all signature checks.

libsodium is stricter than plain RFC 8032 §5.1.7 in one way that matters for
interoperability: besides requiring S < L and the cofactorless equation, it refuses a
public key or an R that is not canonically encoded or is of small order. Every honestly
made key (A = aB) and signature (R = rB) passes, so for them OpenSSL, Go's crypto/ed25519
and libsodium agree. To keep it that way for the keys a ledger accepts,
``check_public_key`` refuses any key that is not a point of the prime-order subgroup,
where libsodium and OpenSSL give the same verdict on every signature.
"""

from __future__ import annotations

from nacl.bindings import crypto_core_ed25519_is_valid_point, crypto_sign_open
from nacl.exceptions import BadSignatureError

PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64


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
