"""Proof files: c2sp.org/tlog-proof@v1 (inclusion) and the tlog-witness ``old N`` body
(consistency): round-trips and strictness."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trustledger.ledger.proof import (
    ConsistencyProof,
    InclusionProof,
    ProofFailed,
    format_consistency_proof,
    format_inclusion_proof,
    parse_consistency_proof,
    parse_inclusion_proof,
)

hashes = st.lists(st.binary(min_size=32, max_size=32), max_size=64).map(tuple)
checkpoints = st.binary(min_size=1, max_size=200)


@given(st.integers(0, 2**63 - 1), hashes, checkpoints, st.none() | st.binary(max_size=300))
def test_inclusion_round_trip(
    index: int, proof: tuple[bytes, ...], checkpoint: bytes, extra: bytes | None
) -> None:
    value = InclusionProof(index, proof, checkpoint, extra)
    assert parse_inclusion_proof(format_inclusion_proof(value)) == value


@given(st.integers(0, 2**63 - 1), hashes, checkpoints)
def test_consistency_round_trip(old: int, proof: tuple[bytes, ...], checkpoint: bytes) -> None:
    value = ConsistencyProof(old, proof, checkpoint)
    assert parse_consistency_proof(format_consistency_proof(value)) == value


H = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="


@pytest.mark.parametrize(
    "text",
    [
        f"c2sp.org/tlog-proof@v2\nindex 1\n{H}\n\ncp",
        f"c2sp.org/tlog-proof@v1\nindex 01\n{H}\n\ncp",
        f"c2sp.org/tlog-proof@v1\n{H}\n\ncp",
        f"c2sp.org/tlog-proof@v1\nindex 1\n{H[:-2]}=\n\ncp",
        f"c2sp.org/tlog-proof@v1\nindex 1\n{H}",
        "c2sp.org/tlog-proof@v1\nextra !!\nindex 1\n\ncp",
    ],
)
def test_strict_inclusion_proof(text: str) -> None:
    with pytest.raises(ProofFailed):
        parse_inclusion_proof(text.encode())


@pytest.mark.parametrize(
    "text", [f"old -1\n{H}\n\ncp", f"new 1\n{H}\n\ncp", "old 1\nxyz\n\ncp", "old 1\n"]
)
def test_strict_consistency_proof(text: str) -> None:
    with pytest.raises(ProofFailed):
        parse_consistency_proof(text.encode())
