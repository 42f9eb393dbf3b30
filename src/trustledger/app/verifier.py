"""Verification: one numbered pipeline over a trust policy, for every source.

    policy = TrustPolicy.of(root_keys=[root], log_keys=[log], witness_keys=[w], quorum=1)
    report = verify_store("sqlite:///ledger.db", policy=policy)
    report = verify_bundle(Path("audit.bundle"), policy=policy)
    proven = verify_proof(data, policy=policy)

Each returns what it established and raises ``LedgerNotIntact`` carrying the report
(``exc.report``, ``exc.failure``) when a rule of docs/FORMAT.md is broken; UsageError when
the input is not what was asked for (a bundle that is not one, a missing key), NotFound
when there is no ledger. Every source goes through the same steps, in this order; the
check name of a failure is the step's (docs/FORMAT.md §14 lists the rules of each):

1. ``source``     the source is one: a store that exists, a bundle's first line and the
                  grammar of every line (check ``bundle``), a proof file's (``proof``);
2. ``checkpoint`` every checkpoint the source carries and every one the auditor holds opens
                  under the policy: a pinned log key signed it, no pinned log or witness
                  key's signature fails, ``quorum`` distinct witness public keys cosigned it,
                  it names the pinned origin; no two of one size differ (split view);
3. ``genesis``, ``root``, ``keyring``  the key history: position 0 is the genesis naming a
                  pinned root; key windows in position order; each public key registered
                  once; rule sets valid;
4. per entry, in position order (parallel ranges, stitched): ``sequence``, ``chain``,
   ``leaf`` (store), ``envelope``, ``payload``, ``signer``, ``signature``;
5. ``replay``     no decision id twice, key events included;
6. the tree: the chain ends at the head the source claims (``chain``), the Merkle root of
   the entries equals each checkpoint's (``checkpoint``); on a store the derived rows are
   checked against the verified entries: ``merkle``, ``stored-checkpoint``,
   ``cosignature``, ``index``;
7. held checkpoints are extended by the log (``checkpoint``: truncated tail, rewritten
   history).

A proof runs steps 1, 2 and the inclusion of its entry under the checkpoint's root
(``proof``, RFC 9162 §2.1.3.2). ``--hash-only`` bundles skip steps 3–5 and say so
(``signatures_checked: false``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn, TypeVar

from trustledger.app.bundle import BundleReport, check_bundle
from trustledger.app.paths import StrPath
from trustledger.app.policy import TrustPolicy
from trustledger.app.transparency import open_held_checkpoints
from trustledger.app.verification import Progress, VerifyReport, check_store
from trustledger.errors import UsageError, VerificationFailed
from trustledger.ledger.chain import leaf_hash
from trustledger.ledger.proof import (
    TLOG_PROOF_HEADER,
    ProofFailed,
    parse_inclusion_proof,
    verify_inclusion,
)
from trustledger.ledger.verify import Failure, LedgerNotIntact

__all__ = [
    "BundleReport",
    "LedgerNotIntact",
    "ProofReport",
    "TrustPolicy",
    "VerifyReport",
    "verify_bundle",
    "verify_proof",
    "verify_store",
]


R = TypeVar("R", bound=VerifyReport)


def _raise_unless_intact(report: R) -> R:
    if report.failure is not None:
        raise LedgerNotIntact(report.failure, report)
    return report


def verify_store(
    url: str,
    *,
    policy: TrustPolicy,
    checkpoints: Sequence[tuple[str, bytes]] = (),
    workers: int | None = None,
    progress: Progress | None = None,
) -> VerifyReport:
    """Steps 1–7 over the ledger at ``url`` (opened read-only), with the ``checkpoints``
    (name, signed note) the auditor holds. Returns the report of an intact ledger."""
    if checkpoints:
        policy.require_log_keys("a held checkpoint")
    report = check_store(
        url, policy=policy, checkpoints=checkpoints, workers=workers, progress=progress
    )
    return _raise_unless_intact(report)


def verify_bundle(
    path: StrPath,
    *,
    policy: TrustPolicy,
    checkpoints: Sequence[tuple[str, bytes]] = (),
    hash_only: bool = False,
    workers: int | None = None,
    progress: Progress | None = None,
) -> BundleReport:
    """Steps 1–7 over an exported bundle, offline (``hash_only``: steps 1, 2, 6, 7)."""
    policy.require_log_keys("a bundle's checkpoint")
    if not hash_only:
        policy.require_roots()
    report = check_bundle(
        Path(path),
        policy=policy,
        checkpoints=checkpoints,
        hash_only=hash_only,
        workers=workers,
        progress=progress,
    )
    return _raise_unless_intact(report)


@dataclass(frozen=True)
class ProofReport:
    """What an inclusion proof established: entry ``index`` of the checkpoint of
    ``origin`` at ``size`` (with root ``root_hash``), whose bytes are ``entry``."""

    proof: str
    index: int | None
    origin: str | None
    size: int | None
    root_hash: str | None
    failure: Failure | None
    entry: bytes = b""

    @property
    def intact(self) -> bool:
        return self.failure is None


def verify_proof(data: bytes, *, policy: TrustPolicy, source: str = "proof") -> ProofReport:
    """Steps 1, 2 and the inclusion of one entry (a ``prove inclusion`` file), offline.

    Raises UsageError when ``data`` is not a c2sp.org/tlog-proof@v1 file at all, and
    LedgerNotIntact (check ``proof`` or ``checkpoint``) when it does not prove its entry.
    """
    log_keys = policy.require_log_keys("a proof's checkpoint")
    if not data.startswith(TLOG_PROOF_HEADER.encode() + b"\n"):
        raise UsageError(
            f"{source} is not an inclusion proof (its first line is not {TLOG_PROOF_HEADER}): "
            "give the file `trustledger prove inclusion` wrote"
        )

    def failed(check: str, message: str, index: int | None = None) -> NoReturn:
        failure = Failure(check, message)
        raise LedgerNotIntact(failure, ProofReport(source, index, None, None, None, failure))

    try:
        proof = parse_inclusion_proof(data)
    except VerificationFailed as exc:  # 1. the proof file's grammar
        failed("proof", str(exc))
    if proof.extra is None:
        failed("proof", "the proof carries no entry (no extra line)", proof.index)
    try:  # 2. its checkpoint under the policy
        [held] = open_held_checkpoints(
            [(f"in {source}", proof.checkpoint)],
            log_keys=log_keys,
            witnesses=policy.witness_keys,
            quorum=policy.quorum,
            origin=policy.origin,
        )
    except VerificationFailed as exc:
        failed("checkpoint", str(exc), proof.index)
    cp = held.signed.checkpoint
    try:  # 3. RFC 9162 §2.1.3.2 from SHA-256(0x00 ‖ extra) to the checkpoint's root
        verify_inclusion(
            index=proof.index,
            size=cp.size,
            leaf_hash=leaf_hash(proof.extra),
            proof=proof.hashes,
            root=cp.root_hash,
        )
    except ProofFailed as exc:
        failed("proof", str(exc), proof.index)
    return ProofReport(
        source, proof.index, cp.origin, cp.size, cp.root_hash.hex(), None, proof.extra
    )
