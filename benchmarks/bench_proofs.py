"""Inclusion and consistency proofs in a 1M-entry ledger: produce (from SQLite's stored
nodes) and verify, medians. A baseline in the same run: one SHA-256 of 64 bytes.

    python benchmarks/bench_proofs.py [--entries 1000000]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from trustledger.ledger.merkle import (
    CompactRange,
    consistency_plan,
    inclusion_plan,
    materialise,
    root_hash,
)
from trustledger.ledger.proof import verify_consistency, verify_inclusion
from trustledger.storage.sqlite import LEDGER_DDL, _read_nodes


def build(path: Path, n: int) -> None:
    conn = sqlite3.connect(path)
    for statement in LEDGER_DDL:
        if "TRIGGER" not in statement:
            conn.execute(statement)
    tree = CompactRange()
    chain, nodes = [], []
    for i in range(n):
        leaf = hashlib.sha256(b"\x00" + i.to_bytes(8, "big")).digest()
        emitted: list[tuple[int, int, bytes]] = []
        tree.append_leaf(leaf, emitted)
        chain.append((i + 1, i, leaf, leaf))
        nodes.extend(emitted)
    conn.executemany("INSERT INTO trustledger_chain VALUES (?,?,?,?)", chain)
    conn.executemany("INSERT INTO trustledger_merkle VALUES (?,?,?)", nodes)
    conn.commit()
    conn.close()


def median_us(samples: list[float]) -> float:
    return statistics.median(samples) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    n = args.entries
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "proofs.db"
        started = time.perf_counter()
        build(path, n)
        print(f"built {n} leaves in {time.perf_counter() - started:.1f} s")
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        cursor = conn.cursor()

        def read(ids):  # type: ignore[no-untyped-def]
            return _read_nodes(cursor, ids)

        root = root_hash(n, read)
        rng = random.Random(1)
        produce_inc, verify_inc, produce_con, verify_con, base = [], [], [], [], []
        for _ in range(args.runs):
            index = rng.randrange(n)
            t0 = time.perf_counter()
            proof = materialise(inclusion_plan(index, n), read)
            t1 = time.perf_counter()
            leaf = read([(0, index)])[0]
            t2 = time.perf_counter()
            verify_inclusion(index=index, size=n, leaf_hash=leaf, proof=proof, root=root)
            t3 = time.perf_counter()
            produce_inc.append(t1 - t0)
            verify_inc.append(t3 - t2)
            old = rng.randrange(1, n)
            t0 = time.perf_counter()
            cproof = materialise(consistency_plan(old, n), read)
            old_root = root_hash(old, read)
            t1 = time.perf_counter()
            verify_consistency(size1=old, size2=n, proof=cproof, root1=old_root, root2=root)
            t2 = time.perf_counter()
            produce_con.append(t1 - t0)
            verify_con.append(t2 - t1)
            t0 = time.perf_counter()
            hashlib.sha256(bytes(65)).digest()
            base.append(time.perf_counter() - t0)
        print(f"baseline SHA-256(65 bytes): {median_us(base):.2f} µs")
        print(
            f"inclusion   produce median {median_us(produce_inc):8.1f} µs  "
            f"verify median {median_us(verify_inc):6.1f} µs"
        )
        print(
            f"consistency produce median {median_us(produce_con):8.1f} µs  "
            f"(incl. the old root) verify median {median_us(verify_con):6.1f} µs"
        )


if __name__ == "__main__":
    main()
