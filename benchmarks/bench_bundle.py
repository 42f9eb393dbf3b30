"""Offline bundle verification: full and hash-only, against this machine's raw Ed25519 rate.

The bundle is made once from the --entries ledger of bench_verify.py (DIR/verify-N.db, built
if absent) and reused: the ledger is *copied* (with its -wal) into --work, a fresh log key
signs a checkpoint into the copy, and the copy is exported to WORK/bundle-N.bundle; the
source ledger is never written. Then, per repetition and in the same run:

* ``raw``: ``cryptography``'s Ed25519 verify, single core, over --sample signatures and
  messages of that ledger (as bench_verify.py), measured before and after the runs, the
  rate the target is set against; ``libsodium``: the same through the check verify makes
  (``trustledger.ledger.ed25519``), to show what the bundle check adds on top of it;
* ``full``: ``verify_bundle(policy, workers=W)`` in a fresh child process (signatures, chain, key
  history, Merkle root against the checkpoint);
* ``hash``: ``verify_bundle(policy, hash_only=True, workers=W)`` in a fresh child process (chain
  and Merkle root against the signed checkpoint; no entry signature).

Each child reports its wall time and the CPU seconds of itself and of its workers apart
(``getrusage`` of the process, and of its waited-for children: the workers' own CPU time),
so that a run slowed down by other load on the machine shows as wall time well above
CPU time / W, and CPU µs per entry can be judged apart from that noise.

Targets (issue 5): full rate >= 0.8 x raw x W; hash-only >= 300,000 entries/s.

Run: python benchmarks/bench_bundle.py --entries 1000000 --repeat 3 --workers 2
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench_verify import build, raw_rate, sample, sodium_rate
from trustledger.app.bundle import export_bundle
from trustledger.app.ledger import Ledger
from trustledger.app.policy import TrustPolicy
from trustledger.app.transparency import create_checkpoint
from trustledger.app.verifier import verify_bundle
from trustledger.ledger.bundle import BUNDLE_MAGIC
from trustledger.ledger.keys import format_verifier_key, generate_signing_key, parse_verifier_key
from workload import machine, median, remove_db, write_json


def make_bundle(source: str, root: str, work: str) -> tuple[str, str, str]:
    """(bundle path, root key text, log key text) for ``source``, made once in ``work``."""
    name = os.path.basename(source).removesuffix(".db")
    bundle = os.path.join(work, f"{name}.bundle")
    meta_path = bundle + ".json"
    if os.path.exists(bundle) and os.path.exists(meta_path):
        with open(meta_path, encoding="utf-8") as meta:
            info = json.load(meta)
        with open(bundle, "rb") as made:
            current = made.readline() == (BUNDLE_MAGIC + "\n").encode()  # else re-export
        if current and info.get("source_size") == os.path.getsize(source):
            return bundle, str(info["root"]), str(info["log"])
    copy = os.path.join(work, f"{name}-checkpointed.db")
    remove_db(copy)
    start = time.perf_counter()
    shutil.copyfile(source, copy)
    if os.path.exists(source + "-wal"):
        shutil.copyfile(source + "-wal", copy + "-wal")
    log = generate_signing_key("bench-log")
    with Ledger.open(f"sqlite:///{copy}") as ledger:
        create_checkpoint(ledger.store, log)
    entries, _ = export_bundle(f"sqlite:///{copy}", Path(bundle))
    remove_db(copy)
    log_text = format_verifier_key(log.verifier)
    print(f"  bundle of {entries:,} entries made in {time.perf_counter() - start:.0f} s "
          f"({os.path.getsize(bundle) / 1e6:,.0f} MB)", file=sys.stderr)  # fmt: skip
    with open(meta_path, "w", encoding="utf-8") as meta:
        json.dump({"source_size": os.path.getsize(source), "root": root, "log": log_text}, meta)
    return bundle, root, log_text


def parallel_raw_rate(samples: list[tuple[bytes, bytes, bytes]], workers: int) -> float:
    """The summed Ed25519 rate of ``workers`` processes running ``raw_rate`` at once: what
    this machine's cores really give together (less than raw x workers when the cores are
    SMT siblings or busy with other work)."""
    context = multiprocessing.get_context("fork")
    start = context.Barrier(workers)
    rates = context.Queue()

    def loop() -> None:
        start.wait()  # all processes verify at the same time
        rates.put(raw_rate(samples))

    processes = [context.Process(target=loop) for _ in range(workers)]
    for process in processes:
        process.start()
    total: float = sum(float(rates.get()) for _ in processes)
    for process in processes:
        process.join()
    return total


def child(bundle: str, root: str, log: str, mode: str, workers: int) -> None:
    """Verify the bundle in this (fresh) process; print timing and CPU as JSON."""
    policy = TrustPolicy.of(
        root_keys=[parse_verifier_key(root)], log_keys=[parse_verifier_key(log)]
    )
    start = time.perf_counter()
    report = verify_bundle(Path(bundle), policy=policy, hash_only=mode == "hash", workers=workers)
    seconds = time.perf_counter() - start
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({
        "mode": mode,
        "seconds": seconds,
        "entries": report.entries,
        "intact": report.intact,
        "failure": report.failure.describe() if report.failure else None,
        "signatures_checked": report.signatures_checked,
        "workers": report.workers,
        "cpu_seconds": own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime,
        "cpu_main_seconds": own.ru_utime + own.ru_stime,
        "cpu_workers_seconds": kids.ru_utime + kids.ru_stime,
    }))  # fmt: skip


def run_child(bundle: str, root: str, log: str, mode: str, workers: int) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--child", bundle, root, log, mode,
         str(workers)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    if not result["intact"]:
        raise SystemExit(f"{bundle} did not verify ({mode}): {result['failure']}")
    result["rate"] = result["entries"] / result["seconds"]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sample", type=int, default=5_000, help="signatures for the raw rate")
    parser.add_argument("--build-batch", type=int, default=1000)
    parser.add_argument("--dir", default="/tmp/trustledger-bench", help="where verify-N.db is")
    parser.add_argument("--work", default="/tmp/trustledger-bench/bundle", help="bundle dir")
    parser.add_argument("--skip-full", action="store_true", help="hash-only runs only")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        bundle, root, log, mode, workers = args.child
        child(bundle, root, log, mode, int(workers))
        return 0
    os.makedirs(args.work, exist_ok=True)
    source, root = build(args.dir, args.entries, args.build_batch)
    bundle, root, log = make_bundle(source, root, args.work)
    samples = sample(source, args.sample)
    raws: list[float] = []
    sodiums: list[float] = []
    parallel_raws: list[float] = []
    runs: dict[str, list[dict[str, Any]]] = {"full": [], "hash": []}
    modes = ["hash"] if args.skip_full else ["full", "hash"]
    for repetition in range(args.repeat):
        raws.append(raw_rate(samples))
        for mode in modes:
            run = run_child(bundle, root, log, mode, args.workers)
            runs[mode].append(run)
            print(f"  rep {repetition + 1}/{args.repeat} {mode}: {run['rate']:,.0f} entries/s "
                  f"({run['seconds']:.1f} s wall, {run['cpu_seconds']:.1f} s CPU = "
                  f"{run['cpu_main_seconds']:.1f} main + {run['cpu_workers_seconds']:.1f} workers, "
                  f"{run['workers']} workers)", file=sys.stderr)  # fmt: skip
        raws.append(raw_rate(samples))
        sodiums.append(sodium_rate(samples))
        parallel_raws.append(parallel_raw_rate(samples, args.workers))
        print(f"  raw Ed25519 {raws[-2]:,.0f}/s, {raws[-1]:,.0f}/s; {args.workers} processes "
              f"at once {parallel_raws[-1]:,.0f}/s; libsodium {sodiums[-1]:,.0f}/s",
              file=sys.stderr)  # fmt: skip

    raw = median(raws)
    sodium = median(sodiums)
    parallel_raw = median(parallel_raws)
    results: dict[str, Any] = {
        "machine": machine(),
        "args": vars(args),
        "bundle_bytes": os.path.getsize(bundle),
        "raw_rates": raws,
        "raw_rate_median": raw,
        "sodium_rates": sodiums,
        "sodium_rate_median": sodium,
        "parallel_raw_rates": parallel_raws,
        "parallel_raw_rate_median": parallel_raw,
        "runs": runs,
    }
    print(f"\nmachine: {results['machine']}")
    print(f"bundle: {bundle} ({results['bundle_bytes'] / 1e6:,.0f} MB); raw Ed25519 "
          f"(1 core, median of {len(raws)}): {raw:,.0f}/s; {args.workers} processes at once: "
          f"{parallel_raw:,.0f}/s = {parallel_raw / raw:.2f} x raw")  # fmt: skip
    print(f"{'mode':>10}{'entries':>10}{'workers':>8}{'entries/s':>11}{'CPU µs/entry':>14}"
          f"{'main':>7}{'workers':>9}{'ratio':>8}{'target':>8}")  # fmt: skip
    for mode in modes:
        done = runs[mode]
        used = done[0]["workers"]
        rate = median([run["rate"] for run in done])
        cpu = median([run["cpu_seconds"] / run["entries"] * 1e6 for run in done])
        cpu_main = median([run["cpu_main_seconds"] / run["entries"] * 1e6 for run in done])
        cpu_workers = median([run["cpu_workers_seconds"] / run["entries"] * 1e6 for run in done])
        if mode == "full":
            ratio = rate / (raw * used)
            met = ratio >= 0.8
            shown = f"{ratio:>8.2f}"
        else:
            met = rate >= 300_000
            shown = f"{'':>8}"
        results[mode] = {"rate_median": rate, "cpu_us_per_entry_median": cpu,
                         "cpu_main_us_per_entry_median": cpu_main,
                         "cpu_workers_us_per_entry_median": cpu_workers, "workers": used,
                         "target_met": met}  # fmt: skip
        if mode == "full":
            results[mode]["ratio_to_raw_times_workers"] = ratio
            results[mode]["ratio_to_parallel_raw"] = rate / parallel_raw
            results[mode]["ratio_to_sodium_times_workers"] = rate / (sodium * used)
        print(f"{mode:>10}{done[0]['entries']:>10,}{used:>8}{rate:>11,.0f}{cpu:>14.1f}"
              f"{cpu_main:>7.1f}{cpu_workers:>9.1f}{shown}"
              f"{'met' if met else 'MISSED':>8}")  # fmt: skip
    if "full" in results:
        print(f"full vs {args.workers} raw processes at once: "
              f"{results['full']['ratio_to_parallel_raw']:.2f}; vs libsodium "
              f"({sodium:,.0f}/s) x {args.workers}: "
              f"{results['full']['ratio_to_sodium_times_workers']:.2f}")  # fmt: skip
    print(
        "full: ratio = rate / (raw single-core rate x workers), target >= 0.80; "
        "hash: target >= 300,000 entries/s"
    )
    write_json(args.json, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
