"""Inclusion and consistency proofs in a 1M-entry ledger: produce and verify, medians.

What users run, on a real ledger: ``prove_inclusion`` / ``prove_consistency`` (what
``trustledger prove`` calls: look the decision up, read its entry and O(log n) stored
Merkle nodes, write the C2SP proof file) against a copy of bench_verify's ledger with a
signed checkpoint; and the offline checks of those files (``verify_proof``, what
``trustledger verify --proof`` calls; for consistency what ``witness cosign`` does: parse,
open both checkpoints with the log key, verify the proof). So verifying an inclusion proof
includes one Ed25519 signature check and a consistency proof two. Baselines in the same
run: one SHA-256 of 65 bytes, and one raw Ed25519 verification.

    python benchmarks/bench_proofs.py --entries 1000000 --runs 300 --json proofs.json
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
import random
import sqlite3
import sys
import time
from collections.abc import Callable
from typing import Any

from bench_projections import working_copy
from bench_verify import build
from trustledger.app.ledger import Ledger
from trustledger.app.policy import TrustPolicy
from trustledger.app.transparency import (
    create_checkpoint,
    prove_consistency,
    prove_inclusion,
)
from trustledger.app.verifier import verify_proof
from trustledger.ledger.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from trustledger.ledger.keys import generate_signing_key
from trustledger.ledger.merkle import root_hash
from trustledger.ledger.proof import parse_consistency_proof, verify_consistency
from trustledger.storage.base import DECISIONS_TABLE
from workload import machine, median, write_json


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = call()
    return result, time.perf_counter() - start


def sample_decision_ids(path: str, count: int, rng: random.Random) -> list[str]:
    """``count`` decision ids at random positions of the ledger at ``path``."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        (low, high) = db.execute(
            f"SELECT min(notification_id), max(notification_id) FROM {DECISIONS_TABLE}"
        ).fetchone()
        ids: list[str] = []
        while len(ids) < count:
            row = db.execute(
                f"SELECT decision_id FROM {DECISIONS_TABLE} WHERE notification_id >= ? LIMIT 1",
                (rng.randint(low, high),),
            ).fetchone()
            ids.append(row[0])
        return ids
    finally:
        db.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=300, help="proofs of each kind")
    parser.add_argument("--dir", default="/tmp/trustledger-bench")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)

    source, _root = build(args.dir, args.entries, 1000)
    # A checkpoint is written into the ledger: work on a copy, never on the shared source.
    path = working_copy(source, os.path.join(args.dir, f"proofs-verify-{args.entries}.db"))
    log = generate_signing_key("bench-log")
    rng = random.Random(1)
    with Ledger.open(f"sqlite:///{path}") as ledger:
        store = ledger.store
        latest = create_checkpoint(store, log)
        size = open_checkpoint(latest, log_keys=[log.verifier]).checkpoint.size
        print(f"  ledger of {size:,} entries, checkpoint signed", file=sys.stderr)
        decision_ids = sample_decision_ids(path, args.runs, rng)
        # Older checkpoints at random sizes, signed by the same log key (as the log would
        # have signed them then): the starting points of consistency proofs.
        olds = []
        for _ in range(args.runs):
            old_size = rng.randrange(1, size)
            old_root = root_hash(old_size, store.merkle_nodes)
            olds.append(sign_checkpoint(Checkpoint(log.name, old_size, old_root), log))

        produce_inc, verify_inc, produce_con, verify_con = [], [], [], []
        sha_base, ed_base = [], []
        signature = log.sign(b"bench")
        for decision_id, old in zip(decision_ids, olds, strict=True):
            inclusion, seconds = timed(functools.partial(prove_inclusion, store, decision_id))
            produce_inc.append(seconds)
            _, seconds = timed(
                functools.partial(
                    verify_proof, inclusion, policy=TrustPolicy.of(log_keys=[log.verifier])
                )
            )
            verify_inc.append(seconds)

            consistency, seconds = timed(functools.partial(prove_consistency, store, old))
            produce_con.append(seconds)

            def check(proof: bytes = consistency, old: bytes = old) -> None:
                # What a witness does with it (app/witness.py): parse, open, verify.
                parsed = parse_consistency_proof(proof)
                new = open_checkpoint(parsed.checkpoint, log_keys=[log.verifier]).checkpoint
                before = open_checkpoint(old, log_keys=[log.verifier]).checkpoint
                verify_consistency(size1=before.size, size2=new.size, proof=parsed.hashes,
                                   root1=before.root_hash, root2=new.root_hash)  # fmt: skip

            _, seconds = timed(check)
            verify_con.append(seconds)
            sha_base.append(timed(lambda: hashlib.sha256(bytes(65)).digest())[1])
            ed_base.append(timed(lambda: log.verifier.is_valid_signature(signature, b"bench"))[1])

    def us(samples: list[float]) -> float:
        return round(median(samples) * 1e6, 1)

    results = {
        "machine": machine(),
        "entries": size,
        "runs": args.runs,
        "baseline_sha256_65_bytes_us": us(sha_base),
        "baseline_ed25519_verify_us": us(ed_base),
        "inclusion": {"produce_us": us(produce_inc), "verify_us": us(verify_inc)},
        "consistency": {"produce_us": us(produce_con), "verify_us": us(verify_con)},
    }
    print(f"{size:,} entries, {args.runs} proofs of each kind, medians:")
    print(f"  baseline: SHA-256(65 bytes) {results['baseline_sha256_65_bytes_us']} µs, "
          f"Ed25519 verify {results['baseline_ed25519_verify_us']} µs")  # fmt: skip
    for kind in ("inclusion", "consistency"):
        row = results[kind]
        print(f"  {kind:<11} produce {row['produce_us']:8.1f} µs (target < 5000)   "
              f"verify {row['verify_us']:7.1f} µs (target < 1000)")  # fmt: skip
    write_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
