"""`trustledger monitor` catching up a log from a local `trustledger serve`, against
`trustledger verify --bundle` of the same entries, in the same run.

The ledger is bench_verify.py's (DIR/verify-N.db, built if absent), copied once into --work
with a checkpoint signed by a fresh log key, and exported as a bundle from that copy, so
the monitor and the bundle check see exactly the same entries and checkpoint. Then, per
repetition, each as a fresh command (as a user runs them):

* ``monitor``: `trustledger monitor URL --state NEW_DIR` against `trustledger serve` of the
  copy on 127.0.0.1 (a new state each time: a catch-up from nothing, every entry fetched
  over HTTP and verified);
* ``bundle``: `trustledger verify --bundle` of the export.

Target (the issue "Serve the log"): monitor rate >= 0.80 x the bundle check's rate.

Run: python benchmarks/bench_monitor.py --entries 1000000 --repeat 3 --workers 2
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench_verify import build
from trustledger.app.bundle import export_bundle
from trustledger.app.ledger import Ledger
from trustledger.app.transparency import create_checkpoint
from trustledger.ledger.keys import format_verifier_key, generate_signing_key
from workload import machine, median, remove_db, write_json

CLI = [sys.executable, "-c", "import sys; from trustledger_cli.main import main; sys.exit(main())"]


def prepare(source: str, root: str, work: str) -> tuple[str, str, str]:
    """(served copy, bundle, log key text), made once in ``work``."""
    name = os.path.basename(source).removesuffix(".db")
    copy = os.path.join(work, f"{name}-served.db")
    bundle = os.path.join(work, f"{name}-served.bundle")
    meta_path = copy + ".json"
    if os.path.exists(meta_path) and os.path.exists(bundle):
        with open(meta_path, encoding="utf-8") as meta:
            info = json.load(meta)
        if info.get("source_size") == os.path.getsize(source):
            return copy, bundle, str(info["log"])
    remove_db(copy)
    shutil.copyfile(source, copy)
    if os.path.exists(source + "-wal"):
        shutil.copyfile(source + "-wal", copy + "-wal")
    log = generate_signing_key("bench-log")
    with Ledger.open(f"sqlite:///{copy}") as ledger:
        create_checkpoint(ledger.store, log)
    export_bundle(f"sqlite:///{copy}", Path(bundle))
    log_text = format_verifier_key(log.verifier)
    with open(meta_path, "w", encoding="utf-8") as meta:
        json.dump({"source_size": os.path.getsize(source), "log": log_text, "root": root}, meta)
    return copy, bundle, log_text


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def timed(command: list[str]) -> tuple[float, dict[str, Any]]:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{command[3:6]} failed ({done.returncode}): {done.stdout}{done.stderr}")
    return seconds, json.loads(done.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--build-batch", type=int, default=1000)
    parser.add_argument("--dir", default="/tmp/trustledger-bench", help="where verify-N.db is")
    parser.add_argument("--work", default="/tmp/trustledger-bench/monitor")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    os.makedirs(args.work, exist_ok=True)
    source, root = build(args.dir, args.entries, args.build_batch)
    copy, bundle, log = prepare(source, root, args.work)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [*CLI, "serve", "--db", f"sqlite:///{copy}", "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/checkpoint", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("serve did not start") from None
                time.sleep(0.2)
        keys = ["--trusted-key", root, "--log-key", log, "--workers", str(args.workers), "--json"]
        runs: dict[str, list[float]] = {"monitor": [], "bundle": []}
        entries = 0
        for repetition in range(args.repeat):
            with tempfile.TemporaryDirectory(dir=args.work) as state:
                seconds, report = timed([*CLI, "monitor", url, "--state", state, *keys])
            entries = int(report["new_entries"])
            runs["monitor"].append(entries / seconds)
            seconds, report = timed([*CLI, "verify", "--bundle", bundle, *keys])
            runs["bundle"].append(int(report["entries"]) / seconds)
            print(f"  rep {repetition + 1}/{args.repeat}: monitor {runs['monitor'][-1]:,.0f}/s, "
                  f"verify --bundle {runs['bundle'][-1]:,.0f}/s", file=sys.stderr)  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=30)
    monitor, check = median(runs["monitor"]), median(runs["bundle"])
    ratio = monitor / check
    results = {"machine": machine(), "args": vars(args), "entries": entries, "runs": runs,
               "monitor_rate_median": monitor, "bundle_rate_median": check, "ratio": ratio,
               "target_met": ratio >= 0.80}  # fmt: skip
    print(f"\nmachine: {results['machine']}")
    print(f"{entries:,} entries, {args.workers} workers: monitor {monitor:,.0f}/s, verify "
          f"--bundle {check:,.0f}/s, ratio {ratio:.2f} (target >= 0.80: "
          f"{'met' if ratio >= 0.80 else 'MISSED'})")  # fmt: skip
    write_json(args.json, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
