"""Conformance: transparency-dev/merkle's RFC 9162 proof vectors, read from ../shared/vectors.

Every happy path verifies and every ``wantErr: true`` case is rejected. The vectors are not
copied into this repository; without them these tests skip and say where they looked.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from trustledger.ledger.proof import ProofFailed, verify_consistency, verify_inclusion

VECTORS = Path(__file__).resolve().parents[2] / ".." / "shared" / "vectors" / "rfc9162"


def cases(kind: str) -> list[Any]:
    folder = VECTORS / kind
    if not folder.is_dir():
        return [
            pytest.param(
                None,
                marks=pytest.mark.skip(
                    reason=f"RFC 9162 {kind} vectors absent: expected them in {folder.resolve()}"
                ),
                id="vectors-absent",
            )
        ]
    files = sorted(folder.rglob("*.json"))
    return [pytest.param(path, id=str(path.relative_to(folder))) for path in files]


def b64(value: str | None) -> bytes:
    return base64.b64decode(value or "")


def test_the_vectors_are_there_or_the_skip_says_where() -> None:
    if not VECTORS.is_dir():
        pytest.skip(f"RFC 9162 vectors absent: expected them in {VECTORS.resolve()}")
    assert len(list(VECTORS.rglob("*.json"))) > 100


@pytest.mark.parametrize("path", cases("inclusion"))
def test_inclusion_vector(path: Path) -> None:
    case = json.loads(path.read_text())
    args = {
        "index": case["leafIdx"],
        "size": case["treeSize"],
        "leaf_hash": b64(case["leafHash"]),
        "proof": [b64(p) for p in case["proof"] or []],
        "root": b64(case["root"]),
    }
    if case["wantErr"]:
        with pytest.raises(ProofFailed):
            verify_inclusion(**args)
    else:
        verify_inclusion(**args)


@pytest.mark.parametrize("path", cases("consistency"))
def test_consistency_vector(path: Path) -> None:
    case = json.loads(path.read_text())
    args = {
        "size1": case["size1"],
        "size2": case["size2"],
        "proof": [b64(p) for p in case["proof"] or []],
        "root1": b64(case["root1"]),
        "root2": b64(case["root2"]),
    }
    if case["wantErr"]:
        with pytest.raises(ProofFailed):
            verify_consistency(**args)
    else:
        verify_consistency(**args)
