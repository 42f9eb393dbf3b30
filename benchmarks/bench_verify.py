"""Verification throughput and peak memory, against this machine's raw Ed25519 rate.

For each --entries size a ledger is built once (real Ed25519 signatures, --build-batch
decisions per append call) under --dir and reused by later runs: the file is written
under a temporary name and renamed when complete, next to a small JSON file with the
root verifier key. Then, per repetition and in the same run:

* ``raw``: ``cryptography``'s (OpenSSL's) Ed25519 verify, single core, in a loop over the
  signatures and messages (signing prefix + payload) of --sample entries read from that
  ledger, so the message sizes are those of the ledger: the rate the target is set against;
* ``raw libsodium``: the same loop through ``trustledger.ledger.ed25519`` (libsodium), the
  check verify itself makes. verify / (this x workers) shows what the ledger adds per entry
  on top of its own signature checks;
* ``verify``: ``Ledger.verify(trusted_keys=[root], workers=W)`` in a fresh child process,
  which reports its wall time and peak RSS (its own and its largest worker's, from
  ``getrusage``), so memory does not include building or sampling.

Target: verify rate >= 0.8 x raw (cryptography) rate x workers used; peak RSS flat in the
log length.

Run: python benchmarks/bench_verify.py --entries 100000 1000000 --repeat 3 --workers 2
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import time
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from trustledger.app.ledger import Ledger
from trustledger.ledger import ed25519
from trustledger.ledger.envelope import parse_state, signing_message
from trustledger.ledger.keys import format_verifier_key, generate_signing_key, parse_verifier_key
from workload import Workload, machine, median, remove_db, write_json


def build(directory: str, entries: int, batch: int) -> tuple[str, str]:
    """(path, root verifier key text) of a ledger of ``entries`` decisions, built if absent."""
    path = os.path.join(directory, f"verify-{entries}.db")
    meta_path = path + ".json"
    if os.path.exists(path) and os.path.exists(meta_path):
        with open(meta_path, encoding="utf-8") as meta:
            info = json.load(meta)
        if info.get("entries") == entries:
            return path, str(info["root"])
    partial = path + ".partial"
    remove_db(partial)
    root = generate_signing_key("bench-root")
    decider = generate_signing_key("bench-decider")
    ledger, _ = Ledger.init(f"sqlite:///{partial}", root)
    ledger.register_key(decider.verifier, by=root)
    # Keep every shop's rule state warm: the workload has a shop per ten decisions, and a
    # shop evicted from the default-size cache would be replayed from the store.
    ledger._shop_states.maxsize = entries
    stream = Workload().decisions(entries)
    start = time.perf_counter()
    done = 0
    while done < entries:
        part = [next(stream) for _ in range(min(batch, entries - done))]
        ledger.append(part, signer=decider)
        done += len(part)
        if done % 100_000 == 0 or done == entries:
            rate = done / (time.perf_counter() - start)
            print(f"  built {done:,}/{entries:,} ({rate:,.0f}/s)", file=sys.stderr)
    ledger.close()
    connection = sqlite3.connect(partial)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    remove_db(path)
    os.replace(partial, path)
    remove_db(partial)
    root_text = format_verifier_key(root.verifier)
    with open(meta_path, "w", encoding="utf-8") as meta:
        json.dump({"entries": entries, "root": root_text}, meta)
    return path, root_text


def sample(path: str, count: int) -> list[tuple[bytes, bytes, bytes]]:
    """(public key, signature, message) of ``count`` decisions spread over the ledger."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        (high,) = connection.execute("SELECT max(rowid) FROM stored_events").fetchone()
        step = max(1, high // count)
        rows = connection.execute(
            "SELECT state FROM stored_events WHERE rowid % ? = 0 AND topic NOT LIKE "
            "'trustledger:key%' AND topic != 'trustledger:ledger.initialised' LIMIT ?",
            (step, count),
        ).fetchall()
        registered = connection.execute(
            "SELECT state FROM stored_events WHERE topic = 'trustledger:key.registered' "
            "ORDER BY rowid LIMIT 1"
        ).fetchone()
    finally:
        connection.close()
    key_document = json.loads(parse_state(bytes(registered[0])).payload)
    public = parse_verifier_key(key_document["data"]["key"]).public_key
    samples = []
    for (state,) in rows:
        envelope = parse_state(bytes(state))
        samples.append((public, envelope.signature, signing_message(envelope.payload)))
    return samples


def raw_rate(samples: list[tuple[bytes, bytes, bytes]]) -> float:
    """cryptography's Ed25519 verifications per second on one core (key object made once)."""
    key = Ed25519PublicKey.from_public_bytes(samples[0][0])
    start = time.perf_counter()
    for _, signature, message in samples:
        key.verify(signature, message)
    return len(samples) / (time.perf_counter() - start)


def sodium_rate(samples: list[tuple[bytes, bytes, bytes]]) -> float:
    """The same loop through the check verify makes (libsodium), on one core."""
    start = time.perf_counter()
    for public, signature, message in samples:
        if not ed25519.is_valid_signature(public, signature, message):
            raise SystemExit("a sampled signature did not verify")
    return len(samples) / (time.perf_counter() - start)


def child(url: str, root: str, workers: int) -> None:
    """Verify the ledger at ``url`` in this (fresh) process; print timing and peak RSS as
    JSON."""
    ledger = Ledger.open(url, read_only=True)
    start = time.perf_counter()
    report = ledger.verify(trusted_keys=[parse_verifier_key(root)], workers=workers)
    seconds = time.perf_counter() - start
    ledger.close()
    hwm_kib = 0
    with open("/proc/self/status", encoding="utf-8") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                hwm_kib = int(line.split()[1])
    print(json.dumps({
        "seconds": seconds,
        "entries": report.entries,
        "intact": report.intact,
        "failure": report.failure.describe() if report.failure else None,
        "workers": report.workers,
        "self_maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "self_vmhwm_kib": hwm_kib,
        "children_maxrss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    }))  # fmt: skip


def run_child(url: str, root: str, workers: int) -> dict[str, Any]:
    """``child`` in a fresh process (also for bench_postgres.py); exits unless intact."""
    completed = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--child", url, root, str(workers)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    if not result["intact"]:
        raise SystemExit(f"{url} did not verify: {result['failure']}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sample", type=int, default=20_000, help="signatures for the raw rate")
    parser.add_argument("--build-batch", type=int, default=1000)
    parser.add_argument("--dir", default="/tmp/trustledger-bench")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument(
        "--child", nargs=3, metavar=("URL", "ROOT", "WORKERS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]))
        return 0
    os.makedirs(args.dir, exist_ok=True)

    results: dict[str, Any] = {"machine": machine(), "args": vars(args), "sizes": {}}
    for entries in args.entries:
        print(f"ledger of {entries:,} decisions", file=sys.stderr)
        path, root = build(args.dir, entries, args.build_batch)
        samples = sample(path, args.sample)
        raws, sodiums, runs = [], [], []
        for repetition in range(args.repeat):
            raws.append(raw_rate(samples))
            sodiums.append(sodium_rate(samples))
            run = run_child(f"sqlite:///{path}", root, args.workers)
            run["rate"] = run["entries"] / run["seconds"]
            runs.append(run)
            raws.append(raw_rate(samples))
            sodiums.append(sodium_rate(samples))
            print(f"  rep {repetition + 1}/{args.repeat}: verify {run['rate']:,.0f}/s "
                  f"({run['seconds']:.1f} s, {run['workers']} workers), raw Ed25519 "
                  f"{raws[-1]:,.0f}/s (libsodium {sodiums[-1]:,.0f}/s)",
                  file=sys.stderr)  # fmt: skip
        used = runs[0]["workers"]
        rate = median([run["rate"] for run in runs])
        raw = median(raws)
        sodium = median(sodiums)
        results["sizes"][str(entries)] = {
            "entries": runs[0]["entries"],
            "workers": used,
            "verify_rates": [run["rate"] for run in runs],
            "raw_rates": raws,
            "verify_rate_median": rate,
            "raw_rate_median": raw,
            "ratio_to_raw_times_workers": rate / (raw * used),
            "target_met": rate >= 0.8 * raw * used,
            "sodium_rates": sodiums,
            "sodium_rate_median": sodium,
            "ratio_to_sodium_times_workers": rate / (sodium * used),
            # VmHWM, not ru_maxrss: a child forked from this (large) benchmark process
            # inherits its ru_maxrss across exec, which would charge our memory to verify.
            "peak_rss_main_kib": max(run["self_vmhwm_kib"] for run in runs),
            "peak_rss_worker_kib": max(run["children_maxrss_kib"] for run in runs),
            "runs": runs,
        }

    print(f"\nmachine: {results['machine']}")
    print(f"{'entries':>10}{'workers':>8}{'verify/s':>11}{'raw Ed25519/s':>15}"
          f"{'ratio':>8}{'target':>8}{'libsodium/s':>13}{'ratio':>7}"
          f"{'RSS main':>10}{'RSS worker':>12}")  # fmt: skip
    for size in results["sizes"].values():
        print(f"{size['entries']:>10,}{size['workers']:>8}{size['verify_rate_median']:>11,.0f}"
              f"{size['raw_rate_median']:>15,.0f}{size['ratio_to_raw_times_workers']:>8.2f}"
              f"{'met' if size['target_met'] else 'MISSED':>8}"
              f"{size['sodium_rate_median']:>13,.0f}{size['ratio_to_sodium_times_workers']:>7.2f}"
              f"{size['peak_rss_main_kib'] / 1024:>8.1f}MB"
              f"{size['peak_rss_worker_kib'] / 1024:>10.1f}MB")  # fmt: skip
    print("ratio = verify rate / (raw single-core rate x workers); target >= 0.80 against")
    print("cryptography's raw rate. The second ratio is against libsodium's, which verify uses.")
    write_json(args.json, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
