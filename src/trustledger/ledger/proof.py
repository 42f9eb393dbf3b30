"""Verifying RFC 9162 inclusion and consistency proofs, on plain bytes.

The algorithms are those of RFC 9162 §2.1.3.2 and §2.1.4.2 in the decomposed form of
transparency-dev/merkle's ``proof`` package: a proof is split into an *inner* part (below
the point where the leaf's path leaves the tree's right border) and a *border* part. Each
``root_from_*`` function computes a root and nothing else; each ``verify_*`` function
compares it and raises ``ProofFailed`` carrying the expected and the calculated value.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass

from trustledger.errors import VerificationFailed
from trustledger.ledger.merkle import HASH_SIZE, hash_children


class ProofFailed(VerificationFailed):
    """A proof that does not prove what it claims (malformed, or the roots differ)."""

    def __init__(
        self, message: str, *, expected: bytes | None = None, calculated: bytes | None = None
    ) -> None:
        self.expected = expected
        self.calculated = calculated
        if expected is not None and calculated is not None:
            message += f": expected {expected.hex()}, calculated {calculated.hex()}"
        super().__init__(message)


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise ProofFailed(f"{what} is {len(value)} bytes, not a {HASH_SIZE}-byte SHA-256 hash")


def _inner_proof_size(index: int, size: int) -> int:
    # The levels below the point where the paths to `index` and to the last leaf meet.
    return (index ^ (size - 1)).bit_length()


def _decompose(index: int, size: int) -> tuple[int, int]:
    inner = _inner_proof_size(index, size)
    border = bin(index >> inner).count("1")
    return inner, border


def _chain_inner(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    for level, sibling in enumerate(proof):
        if (index >> level) & 1 == 0:
            seed = hash_children(seed, sibling)  # RFC 9162 §2.1.3.2 step 3 (right sibling)
        else:
            seed = hash_children(sibling, seed)  # RFC 9162 §2.1.3.2 step 3 (left sibling)
    return seed


def _chain_inner_right(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    # Only the left siblings: the old tree of a consistency proof ends at this path.
    for level, sibling in enumerate(proof):
        if (index >> level) & 1 == 1:
            seed = hash_children(sibling, seed)  # RFC 9162 §2.1.4.2 step 6
    return seed


def _chain_border_right(seed: bytes, proof: Sequence[bytes]) -> bytes:
    for sibling in proof:
        seed = hash_children(sibling, seed)  # RFC 9162 §2.1.3.2: on the right border
    return seed


def root_from_inclusion_proof(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes]
) -> bytes:
    """The root that ``proof`` yields for leaf ``index`` of a tree of ``size`` leaves
    (RFC 9162 §2.1.3.2). Raises ProofFailed for an index out of range or a proof of the
    wrong length or shape."""
    if not 0 <= index < size:
        raise ProofFailed(f"leaf index {index} is not in a tree of size {size}")
    _check_hash(leaf_hash, "the leaf hash")
    for element in proof:
        _check_hash(element, "a proof hash")
    inner, border = _decompose(index, size)
    if len(proof) != inner + border:
        raise ProofFailed(
            f"wrong proof size {len(proof)} for leaf {index} of {size}, want {inner + border}"
        )
    result = _chain_inner(leaf_hash, proof[:inner], index)
    return _chain_border_right(result, proof[inner:])


def verify_inclusion(
    *, index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` leaves whose
    root is ``root``. Raises ProofFailed (with expected and calculated roots)."""
    _check_hash(root, "the root")
    calculated = root_from_inclusion_proof(index, size, leaf_hash, proof)
    if calculated != root:
        raise ProofFailed(
            f"inclusion proof of leaf {index} in tree of size {size} does not match the root",
            expected=root,
            calculated=calculated,
        )


def roots_from_consistency_proof(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes
) -> tuple[bytes, bytes]:
    """(old root, new root) that ``proof`` yields from ``size1`` to ``size2`` given the
    old root it starts from (RFC 9162 §2.1.4.2). Only for 0 < size1 < size2; raises
    ProofFailed for a proof of the wrong length."""
    if not 0 < size1 < size2:
        raise ProofFailed(f"no consistency proof computes roots from {size1} to {size2}")
    if not proof:
        raise ProofFailed("empty consistency proof")
    for element in proof:
        _check_hash(element, "a proof hash")
    inner, border = _decompose(size1 - 1, size2)
    shift = (size1 & -size1).bit_length() - 1  # trailing zeros of size1
    inner -= shift
    # RFC 9162 §2.1.4.2 step 2: when size1 is a power of two the old root is the seed,
    # otherwise the proof starts with the hash of the subtree of 2^shift leaves.
    if size1 == 1 << shift:
        seed, rest = root1, list(proof)
    else:
        seed, rest = proof[0], list(proof[1:])
    if len(rest) != inner + border:
        want = inner + border + (0 if size1 == 1 << shift else 1)
        raise ProofFailed(f"wrong consistency proof size {len(proof)}, want {want}")
    mask = (size1 - 1) >> shift
    old = _chain_border_right(_chain_inner_right(seed, rest[:inner], mask), rest[inner:])
    new = _chain_border_right(_chain_inner(seed, rest[:inner], mask), rest[inner:])
    return old, new


def verify_consistency(
    *, size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that the tree of ``size2`` leaves with ``root2`` extends the tree of ``size1``
    leaves with ``root1`` (RFC 9162 §2.1.4.2). Raises ProofFailed.

    A proof from the empty tree is refused: it proves nothing (every tree extends it), and
    a ledger is never empty (its genesis is leaf 0), so asking for one is a mistake.
    """
    if size2 < size1:
        raise ProofFailed(f"the new tree ({size2}) is smaller than the old one ({size1})")
    if size1 == size2:
        if size1 == 0:
            raise ProofFailed("a consistency proof between empty trees proves nothing")
        if proof:
            raise ProofFailed("trees of the same size need an empty consistency proof")
        if root1 != root2:
            raise ProofFailed(
                f"two different roots for the same tree size {size1}",
                expected=root1,
                calculated=root2,
            )
        return
    if size1 == 0:
        raise ProofFailed("a consistency proof from the empty tree proves nothing")
    _check_hash(root1, "the old root")
    _check_hash(root2, "the new root")
    old, new = roots_from_consistency_proof(size1, size2, proof, root1)
    if old != root1:
        raise ProofFailed(
            f"consistency proof {size1}→{size2} does not match the old root",
            expected=root1,
            calculated=old,
        )
    if new != root2:
        raise ProofFailed(
            f"consistency proof {size1}→{size2} does not match the new root",
            expected=root2,
            calculated=new,
        )


# -- proof files --------------------------------------------------------------------------
TLOG_PROOF_HEADER = "c2sp.org/tlog-proof@v1"
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")


@dataclass(frozen=True)
class InclusionProof:
    """A c2sp.org/tlog-proof@v1: a leaf's index, its inclusion proof and the checkpoint
    (a signed note, verbatim) it proves inclusion in. ``extra`` is unauthenticated data:
    here, the entry bytes (docs/FORMAT.md), so that the proof is self-contained."""

    index: int
    hashes: tuple[bytes, ...]
    checkpoint: bytes
    extra: bytes | None = None


@dataclass(frozen=True)
class ConsistencyProof:
    """A consistency proof from ``old_size`` to the checkpoint it carries, in the body
    format of c2sp.org/tlog-witness ``add-checkpoint``: ``old N``, the proof hashes, a
    blank line, the checkpoint's signed note."""

    old_size: int
    hashes: tuple[bytes, ...]
    checkpoint: bytes


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _hash_line(line: str, number: int) -> bytes:
    try:
        raw = base64.b64decode(line.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ProofFailed(f"proof line {number} is not base64") from exc
    if _b64(raw) != line or len(raw) != HASH_SIZE:
        raise ProofFailed(f"proof line {number} is not a canonical base64 SHA-256 hash")
    return raw


def _decimal(text: str, what: str) -> int:
    if not _DECIMAL.fullmatch(text) or int(text) > 2**63 - 1:
        raise ProofFailed(f"{what} {text[:30]!r} is not a canonical decimal")
    return int(text)


def _split_header(data: bytes, kind: str) -> tuple[list[str], bytes]:
    head, blank, checkpoint = data.partition(b"\n\n")
    if not blank or not checkpoint:
        raise ProofFailed(f"{kind}: no blank line before the checkpoint")
    try:
        lines = head.decode("ascii").split("\n")
    except UnicodeDecodeError as exc:
        raise ProofFailed(f"{kind}: the header is not ASCII") from exc
    return lines, checkpoint


def format_inclusion_proof(proof: InclusionProof) -> bytes:
    """The c2sp.org/tlog-proof@v1 text of ``proof``."""
    lines = [TLOG_PROOF_HEADER]
    if proof.extra is not None:
        lines.append(f"extra {_b64(proof.extra)}")
    lines.append(f"index {proof.index}")
    lines += [_b64(h) for h in proof.hashes]
    return ("\n".join(lines) + "\n\n").encode("ascii") + proof.checkpoint


def parse_inclusion_proof(data: bytes) -> InclusionProof:
    """Parse a c2sp.org/tlog-proof@v1 strictly. Raises ProofFailed."""
    lines, checkpoint = _split_header(data, "tlog-proof")
    if lines[0] != TLOG_PROOF_HEADER:
        raise ProofFailed(f"not a tlog-proof: the first line must be {TLOG_PROOF_HEADER}")
    rest = lines[1:]
    extra = None
    if rest and rest[0].startswith("extra "):
        extra_text = rest.pop(0).removeprefix("extra ")
        try:
            extra = base64.b64decode(extra_text.encode("ascii"), validate=True)
        except binascii.Error as exc:
            raise ProofFailed("tlog-proof: the extra data is not base64") from exc
        if _b64(extra) != extra_text:
            raise ProofFailed("tlog-proof: the extra data is not canonical base64")
    if not rest or not rest[0].startswith("index "):
        raise ProofFailed("tlog-proof: missing the index line")
    index = _decimal(rest[0].removeprefix("index "), "tlog-proof index")
    hashes = tuple(_hash_line(line, n) for n, line in enumerate(rest[1:], start=1))
    return InclusionProof(index, hashes, checkpoint, extra)


def format_consistency_proof(proof: ConsistencyProof) -> bytes:
    """The ``old N`` / hashes / blank line / checkpoint text of ``proof``."""
    lines = [f"old {proof.old_size}", *(_b64(h) for h in proof.hashes)]
    return ("\n".join(lines) + "\n\n").encode("ascii") + proof.checkpoint


def parse_consistency_proof(data: bytes) -> ConsistencyProof:
    """Parse a consistency proof file strictly. Raises ProofFailed."""
    lines, checkpoint = _split_header(data, "consistency proof")
    if not lines[0].startswith("old "):
        raise ProofFailed("consistency proof: the first line must be 'old <size>'")
    old_size = _decimal(lines[0].removeprefix("old "), "consistency proof old size")
    hashes = tuple(_hash_line(line, n) for n, line in enumerate(lines[1:], start=1))
    return ConsistencyProof(old_size, hashes, checkpoint)
