"""Personal data sealed under a per-subject key (docs/DECISIONS.md, "The decision document").

The plaintext is the RFC 8785 canonical JSON of the personal fields (without
``subject_id``), encrypted with ChaCha20-Poly1305 (RFC 8439) under a random 256-bit key
held for that subject apart from the events. The associated data binds the ciphertext to
its decision and subject, so it cannot be moved to another decision:

    aad = "trustledger/personal/v1\\n" ‖ decision_id ‖ "\\n" ‖ subject_id

The sealed form, which is what gets signed, hashed and stored, is
``{"subject_id": ..., "alg": "C20P1305", "nonce": b64(12 bytes), "ciphertext": b64}``.
Destroying the subject's key makes the plaintext unrecoverable while every signature, hash
and checkpoint over the sealed form still verifies.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from trustledger.errors import InputRejected
from trustledger.ledger.canonical import canonicalize

ALGORITHM = "C20P1305"
SUBJECT_KEY_BYTES = 32


def new_subject_key() -> bytes:
    """A fresh random 256-bit subject key."""
    return ChaCha20Poly1305.generate_key()


def _aad(decision_id: str, subject_id: str) -> bytes:
    return f"trustledger/personal/v1\n{decision_id}\n{subject_id}".encode()


def seal_personal(personal: Mapping[str, Any], *, key: bytes, decision_id: str) -> dict[str, str]:
    """Encrypt a ``personal`` object; returns its sealed form."""
    subject_id = str(personal["subject_id"])
    fields = {name: value for name, value in personal.items() if name != "subject_id"}
    nonce = os.urandom(12)
    ciphertext = ChaCha20Poly1305(key).encrypt(
        nonce, canonicalize(fields), _aad(decision_id, subject_id)
    )
    return {
        "subject_id": subject_id,
        "alg": ALGORITHM,
        "nonce": base64.b64encode(nonce).decode(),
        "ciphertext": base64.b64encode(ciphertext).decode(),
    }


def is_sealed(personal: Mapping[str, Any]) -> bool:
    """True when ``personal`` is in sealed form."""
    return personal.keys() == {"subject_id", "alg", "nonce", "ciphertext"} and (
        personal.get("alg") == ALGORITHM
    )


def open_personal(sealed: Mapping[str, Any], *, key: bytes, decision_id: str) -> dict[str, Any]:
    """Decrypt a sealed ``personal`` object back to its fields (subject_id included).

    Raises InputRejected when the ciphertext does not authenticate under this key.
    """
    subject_id = str(sealed["subject_id"])
    try:
        plaintext = ChaCha20Poly1305(key).decrypt(
            base64.b64decode(sealed["nonce"]),
            base64.b64decode(sealed["ciphertext"]),
            _aad(decision_id, subject_id),
        )
    except (InvalidTag, ValueError) as exc:
        raise InputRejected(
            f"personal data of decision {decision_id} does not decrypt under the key of "
            f"subject {subject_id}"
        ) from exc
    fields: dict[str, Any] = json.loads(plaintext)
    return {"subject_id": subject_id, **fields}
