"""Peak memory and rate of `trustledger append FILE` against the input's length.

For each size in --sizes: a JSON Lines file of that many valid decisions (benchmarks/
workload.py) is appended by the `trustledger` command, in a subprocess, to a fresh SQLite
ledger under --dir; the child's peak RSS (getrusage through os.wait4) and its wall time
are recorded. Streaming keeps the peak set by --batch-size, whatever the file's length.

Run: python benchmarks/bench_append_memory.py --sizes 10000,100000,500000 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from trustledger.app import generate_key_files
from trustledger.app.ledger import Ledger
from workload import Workload, machine, median, write_json

PASSPHRASE = b"benchmark passphrase"


def _ledger(work: Path) -> tuple[str, Path]:
    """A fresh SQLite ledger in ``work`` with a registered decider: (url, decider key file)."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    _, _, root = generate_key_files("root", work / "keys", PASSPHRASE)
    key_file, _, bot = generate_key_files("bot", work / "keys", PASSPHRASE)
    url = f"sqlite:///{work / 'ledger.db'}"
    ledger, _ = Ledger.init(url, root)
    with ledger:
        ledger.register_key(bot.verifier, by=root)
    return url, key_file


def _input(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        for document in Workload().decisions(n):
            out.write(json.dumps(document, ensure_ascii=False) + "\n")


def _append(url: str, key_file: Path, source: Path, batch_size: int) -> tuple[float, int]:
    """(seconds, peak RSS in KiB) of one `trustledger append` child."""
    env = {**os.environ, "TRUSTLEDGER_KEY_PASSPHRASE": PASSPHRASE.decode()}
    command = [
        sys.executable, "-m", "trustledger_cli.main", "append", str(source),
        "--key", str(key_file), "--db", url, "--batch-size", str(batch_size), "--quiet",
    ]  # fmt: skip
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    stderr = child.stderr.read().decode() if child.stderr else ""
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"append of {source} exited {child.returncode}: {stderr[-2000:]}")
    return elapsed, usage.ru_maxrss  # KiB on Linux


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="decisions per file, commas")
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--dir", default="/tmp/trustledger-bench")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    root = Path(args.dir) / "append-memory"
    results: dict[str, Any] = {"machine": machine(), "batch_size": args.batch_size, "runs": {}}
    print(f"batch size {args.batch_size}; {machine()['cpu']}, {machine()['nproc']} cores")
    print(f"{'decisions':>10} {'file MB':>8} {'peak RSS MB':>12} {'seconds':>8} {'per s':>7}")
    for n in sizes:
        source = root / f"input-{n}.jsonl"
        source.parent.mkdir(parents=True, exist_ok=True)
        _input(source, n)
        runs = []
        for _ in range(args.repeat):
            url, key_file = _ledger(root / "work")
            runs.append(_append(url, key_file, source, args.batch_size))
        seconds = median([s for s, _ in runs])
        peak = median([float(rss) for _, rss in runs]) / 1024
        size_mb = source.stat().st_size / 1e6
        results["runs"][str(n)] = {
            "file_mb": round(size_mb, 1),
            "seconds": [round(s, 3) for s, _ in runs],
            "peak_rss_kib": [rss for _, rss in runs],
        }
        print(f"{n:>10,} {size_mb:>8.1f} {peak:>12.0f} {seconds:>8.1f} {n / seconds:>7,.0f}")
        source.unlink()
    shutil.rmtree(root, ignore_errors=True)
    write_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
