"""Instructions a batched append costs, trustledger against plain eventsourcing, counted by
valgrind's callgrind: the same count on every run, whatever else the shared machine does.

Each side runs twice under callgrind, once with the set-up alone (imports, workload, a new
ledger or application and its first batch) and once with the set-up and then the whole
workload; the difference divided by the decisions appended is the cost of one. Signing
is excluded as in bench_append.py (PrecomputedSigner). Instructions are not seconds: they
miss cache misses, the kernel's share (pwrite, fsync) and the disk, and SHA-256 runs
without the CPU's SHA extensions under valgrind, so read them beside bench_append.py.

Run: python benchmarks/bench_append_instructions.py --entries 3000   (~2 minutes, 2 cores)
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench_append import (
    PrecomputedSigner,
    _baseline_app,
    _fresh_sqlite,
    new_ledger,
    stored_fields,
    time_plain_saves,
)
from trustledger.ledger.keys import generate_signing_key
from workload import batches, machine, write_json

BATCH = 100


def _child(side: str, mode: str, entries: int, directory: str) -> None:
    """What runs under callgrind: the set-up, and with mode "full" the appends."""
    work = batches(entries, BATCH)
    signer = PrecomputedSigner(generate_signing_key("bench-decider"))
    db = os.path.join(directory, f"{side}-{mode}.db")
    if side == "ours":
        ledger, _ = new_ledger(_fresh_sqlite(db), signer)
        todo = work if mode == "full" else work[:1]
        for batch in todo:
            ledger.append(batch, signer=signer)
        ledger.close()
        return
    # The baseline saves the very fields our ledger stores (made beforehand, not counted
    # apart from the set-up's share, which the subtraction removes).
    reference = os.path.join(directory, f"reference-{mode}.db")
    ledger, _ = new_ledger(_fresh_sqlite(reference), signer)
    for batch in work:
        ledger.append(batch, signer=signer)
    ledger.close()
    fields = stored_fields(reference)
    time_plain_saves(_baseline_app(db), fields if mode == "full" else fields[:BATCH], BATCH)


def _instructions(side: str, mode: str, entries: int, directory: str) -> int:
    out = os.path.join(directory, f"callgrind-{side}-{mode}.out")
    command = [
        "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
        sys.executable, __file__, "--child", side, mode, "--entries", str(entries),
        "--dir", directory,
    ]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, check=True)
    found = re.search(r"Collected : (\d+)", run.stderr)
    if found is None:
        raise SystemExit(f"callgrind printed no count:\n{run.stderr[-2000:]}")
    return int(found.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=3000, help="decisions appended")
    parser.add_argument("--dir", default=None, help="scratch directory (default: a new temp one)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--child", nargs=2, metavar=("SIDE", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child[0], args.child[1], args.entries, args.dir)
        return 0
    with tempfile.TemporaryDirectory(dir=args.dir) as directory:
        counted = args.entries - BATCH  # the set-up appends (or saves) the first batch
        runs = [(side, mode) for side in ("baseline", "ours") for mode in ("setup", "full")]
        with ThreadPoolExecutor(max_workers=2) as pool:  # one valgrind per core
            counts = dict(
                zip(
                    runs,
                    pool.map(
                        lambda run: _instructions(run[0], run[1], args.entries, directory), runs
                    ),
                    strict=True,
                )
            )
        per: dict[str, Any] = {
            side: (counts[(side, "full")] - counts[(side, "setup")]) / counted
            for side in ("baseline", "ours")
        }
    print(f"plain eventsourcing       {per['baseline']:>10,.0f} instructions a decision")
    print(f"trustledger (unsigned)    {per['ours']:>10,.0f} instructions a decision")
    print(f"ratio (eventsourcing / trustledger): {per['baseline'] / per['ours']:.3f}")
    write_json(
        args.json,
        {
            "machine": machine(),
            "args": vars(args),
            "instructions_per_decision": per,
            "ratio": per["baseline"] / per["ours"],
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
