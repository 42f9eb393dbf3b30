"""Where an append's time goes on a grown ledger against an empty one: cProfile of batches
appended alternately to the SQLite ledger ``bench_growth.py`` built in --dir and to a fresh
empty ledger beside it, per function, in µs a decision, sorted by the difference.

The grown ledger's shop-state cache is warmed first (--warm-up decisions, untimed). The
figures include cProfile's own overhead (Python-level calls cost more under it); read the
differences, not the totals.

Run (after ``bench_growth.py --dir /tmp/growth ...``; it appends to that ledger):
    python benchmarks/profile_growth.py --dir /tmp/growth --batches 10
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from typing import Any

from bench_growth import append_timed, ledger_url, new_ledger, open_existing, stream_of
from workload import write_json


def _name(function: tuple[str, int, str]) -> str:
    path, line, name = function
    return f"{path.rsplit('/', 1)[-1]}:{line}({name})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", default="/tmp/trustledger-growth", help="bench_growth's --dir")
    parser.add_argument("--batches", type=int, default=10, help="batches timed on each")
    parser.add_argument("--batch", type=int, default=1_000, help="decisions a batch")
    parser.add_argument("--warm-up", type=int, default=5_000)
    parser.add_argument("--top", type=int, default=25, help="functions listed")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    args.store, args.pg_database, args.url = "sqlite", "", None
    _, grown, signer, size = open_existing(args)
    stream = stream_of(size, args.decision_ids)
    empty, empty_signer, _ = new_ledger(ledger_url(args, empty=True, fresh=True))
    empty_stream = stream_of(0, args.decision_ids)
    append_timed(grown, stream, args.warm_up, args.batch, signer)
    sides = {
        "empty": (empty, empty_stream, empty_signer),
        "grown": (grown, stream, signer),
    }
    profiles = {name: cProfile.Profile() for name in sides}
    cpu = dict.fromkeys(sides, 0.0)
    for _ in range(args.batches):
        for name, (ledger, documents, key) in sides.items():
            batch = [next(documents) for _ in range(args.batch)]
            start = time.process_time()
            profiles[name].enable()
            ledger.append(batch, signer=key)
            profiles[name].disable()
            cpu[name] += time.process_time() - start
    empty.close()
    grown.close()
    decisions = args.batches * args.batch
    per_decision: dict[str, dict[str, float]] = {}
    for name, profile in profiles.items():
        stats: Any = pstats.Stats(profile)
        for function, (_, _, own, _, _) in stats.stats.items():
            row = per_decision.setdefault(_name(function), dict.fromkeys(sides, 0.0))
            row[name] = own / decisions * 1e6
    print(
        f"at {size:,} decisions; CPU µs a decision (profiled): "
        + ", ".join(f"{name} {cpu[name] / decisions * 1e6:.1f}" for name in sides)
    )
    print(f"{'grown - empty':>14} {'empty':>8} {'grown':>8}  function (own time, µs a decision)")
    ranked = sorted(per_decision.items(), key=lambda item: item[1]["empty"] - item[1]["grown"])
    for function, row in ranked[: args.top]:
        difference = row["grown"] - row["empty"]
        print(f"{difference:14.2f} {row['empty']:8.2f} {row['grown']:8.2f}  {function}")
    write_json(args.json, {"size": size, "cpu": cpu, "functions": per_decision})
    return 0


if __name__ == "__main__":
    sys.exit(main())
