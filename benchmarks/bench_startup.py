"""Start-up of the command line: `trustledger --version` and `--help`, medians of wall and
CPU time (user + system of the child), against a bare interpreter and `import click` in the
same run.

The commands are those of the environment running this script (the `trustledger` script
beside ``sys.executable``). The wall time moves with the machine's load; the CPU time much
less, so both are reported. Target: `--version` under 0.2 s.

    python benchmarks/bench_startup.py --runs 31 --json startup.json
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from workload import machine, median, write_json


def measure(argv: list[str], runs: int) -> dict[str, Any]:
    """Median wall and CPU seconds of ``argv`` over ``runs`` runs (one warm-up first)."""
    subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
        wall.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return {"wall_s": median(wall), "cpu_s": median(cpu), "wall_runs": wall, "cpu_runs": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=31, help="runs of each command")
    parser.add_argument("--dir", help="unused (every benchmark takes it)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args()
    script = str(Path(sys.executable).parent / "trustledger")
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import click'": [sys.executable, "-c", "import click"],
        "trustledger --version": [script, "--version"],
        "trustledger --help": [script, "--help"],
    }
    results = {name: measure(argv, args.runs) for name, argv in commands.items()}
    for name, result in results.items():
        print(
            f"{name:<28} wall {result['wall_s'] * 1000:7.1f} ms   "
            f"cpu {result['cpu_s'] * 1000:7.1f} ms   (median of {args.runs})"
        )
    version = results["trustledger --version"]["wall_s"]
    print(f"--version under 0.2 s: {'met' if version < 0.2 else 'NOT met'}", file=sys.stderr)
    write_json(args.json, {"machine": machine(), "runs": args.runs, "results": results})


if __name__ == "__main__":
    main()
