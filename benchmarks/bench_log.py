"""`trustledger log` over a large ledger: seconds and peak RSS of each way of reading it.

Runs the installed ``trustledger`` command (what users run) in a subprocess, its stdout
to /dev/null, on bench_verify's ledger of ``--entries`` decisions (built if absent): the
whole log as text and as JSON Lines, one type prefix, a time window, and the last 20
entries. Peak RSS is the child's ``ru_maxrss``; each case is run ``--repeat`` times and
the median time kept (the RSS of the last run).

    python benchmarks/bench_log.py --entries 120000 --json log.json
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from workload import machine, median, write_json

CASES = {
    "text": [],
    "json": ["--json"],
    "type penalty. --json": ["--type", "penalty.", "--json"],
    "after/before": ["--after", "2000-01-01T00:00:00Z", "--before", "2000-01-02T00:00:00Z"],
    "tail 20": ["--tail", "20"],
}
TRUSTLEDGER = Path(sys.executable).with_name("trustledger")


def run_once(url: str, args: list[str]) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one ``trustledger log ARGS`` process."""
    start = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        process = subprocess.Popen([str(TRUSTLEDGER), "log", "--db", url, *args], stdout=sink)
        # wait4 gives this child's own resource usage (RUSAGE_CHILDREN would be the largest
        # of every child so far).
        _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"trustledger log {' '.join(args)} exited {process.returncode}")
    return time.perf_counter() - start, usage.ru_maxrss / 1024  # Linux: KiB


def measure_case(url: str, args: list[str], repeat: int) -> dict[str, float]:
    runs = [run_once(url, args) for _ in range(repeat)]
    return {"seconds": median([s for s, _ in runs]), "peak_rss_mb": max(m for _, m in runs)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=120_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--dir", default="/tmp/trustledger-bench")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)

    os.makedirs(args.dir, exist_ok=True)
    # Built in a process of its own: a child's peak RSS counts the parent's pages it was
    # forked with, so the measuring process stays small (the builder grows to ~100 MB).
    path = subprocess.run(
        [sys.executable, "-c", "import sys; from bench_verify import build; "
         "print(build(sys.argv[1], int(sys.argv[2]), 1000)[0])", args.dir, str(args.entries)],
        cwd=Path(__file__).resolve().parent, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    url = f"sqlite:///{path}"
    results: dict[str, object] = {"machine": machine(), "entries": args.entries, "cases": {}}
    cases: dict[str, dict[str, float]] = {}
    for name, case_args in CASES.items():
        cases[name] = measure_case(url, case_args, args.repeat)
        print(
            f"  log {name:<22} {cases[name]['seconds']:7.2f} s  "
            f"{cases[name]['peak_rss_mb']:6.0f} MB peak RSS",
            file=sys.stderr,
        )
    results["cases"] = cases
    write_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
