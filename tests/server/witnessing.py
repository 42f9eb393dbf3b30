"""A log for witness tests, without a store: checkpoints of the reference Merkle tree over
``LEAVES`` (or a fork of it) and the tlog-witness add-checkpoint bodies that go with them."""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from tests.ledger.test_merkle import LEAVES, mth, subproof
from trustledger.ledger.chain import leaf_hash
from trustledger.ledger.checkpoint import Checkpoint, sign_checkpoint
from trustledger.ledger.keys import SigningKey
from trustledger.ledger.proof import ConsistencyProof, format_consistency_proof

ORIGIN = "example.com/log"
# The same first 5 leaves, then others: consistent with LEAVES up to size 5, a fork after.
FORK = [*LEAVES[:5], *(leaf_hash(f"forked {i}".encode()) for i in range(5, len(LEAVES)))]


def checkpoint(
    size: int, key: SigningKey, *, leaves: Sequence[bytes] = LEAVES, origin: str = ORIGIN
) -> bytes:
    return sign_checkpoint(Checkpoint(origin, size, mth(leaves[:size])), key)


def consistency(old: int, size: int, leaves: Sequence[bytes] = LEAVES) -> list[bytes]:
    return subproof(old, leaves[:size], True) if 0 < old < size else []


def body(
    old: int,
    size: int,
    key: SigningKey,
    *,
    leaves: Sequence[bytes] = LEAVES,
    proof: Sequence[bytes] | None = None,
    origin: str = ORIGIN,
) -> bytes:
    hashes = consistency(old, size, leaves) if proof is None else proof
    note = checkpoint(size, key, leaves=leaves, origin=origin)
    return format_consistency_proof(ConsistencyProof(old, tuple(hashes), note))


def post(base: str, data: bytes) -> httpx.Response:
    return httpx.post(base + "/add-checkpoint", content=data, timeout=10)
