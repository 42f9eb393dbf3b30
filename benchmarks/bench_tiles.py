"""The read API: ``tiles publish`` after 1,000 new entries against a publish from scratch,
and ``serve`` under 32 concurrent clients (requests/s, p50/p99 latency, errors).

1. A SQLite ledger of ``--entries`` decisions (bench_verify's workload, built once into
   ``--dir`` with fixed keys, then copied) gets a checkpoint; ``publish_tiles`` into an
   empty directory is timed (from scratch); ``--new`` decisions are appended, a checkpoint
   signed, and ``publish_tiles`` into the same directory timed again (incremental).
2. ``trustledger serve`` on 127.0.0.1 (a subprocess) serves that ledger; an asyncio load
   generator (raw HTTP/1.1 keep-alive connections) runs ``--clients`` concurrent clients
   for ``--seconds`` per phase: one phase fetching ``/checkpoint``, one fetching random
   tiles (full level-0 hash tiles and entry bundles, level-1 and partial tiles). Client and
   server share the machine's cores.

    python benchmarks/bench_tiles.py --entries 100000 --seconds 10 --json tiles.json
    python benchmarks/bench_tiles.py --entries 1000000 --seconds 60   # the issue's figure
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from trustledger.app.ledger import Ledger
from trustledger.app.tiles import publish_tiles
from trustledger.app.transparency import create_checkpoint
from trustledger.ledger.keys import SigningKey
from trustledger.ledger.tiles import ENTRIES, Tile, tile_width
from workload import Workload, machine, remove_db, write_json


def fixed_key(name: str) -> SigningKey:
    """A key derived from its name: the cached ledger can be appended to in later runs."""
    seed = hashlib.sha256(f"bench_tiles/{name}".encode()).digest()
    return SigningKey(name, Ed25519PrivateKey.from_private_bytes(seed))


ROOT, DECIDER, LOG = fixed_key("bench-root"), fixed_key("bench-decider"), fixed_key("bench-log")


def build(directory: str, entries: int) -> str:
    """The path of a ledger of ``entries`` decisions (and 2 key events), built if absent."""
    path = os.path.join(directory, f"tiles-{entries}.db")
    if os.path.exists(path):
        return path
    os.makedirs(directory, exist_ok=True)
    partial = path + ".partial"
    remove_db(partial)
    ledger, _ = Ledger.init(f"sqlite:///{partial}", ROOT)
    ledger.register_key(DECIDER.verifier, by=ROOT)
    ledger._shop_states.maxsize = entries
    stream = Workload().decisions(entries)
    start, done = time.perf_counter(), 0
    while done < entries:
        part = [next(stream) for _ in range(min(1000, entries - done))]
        ledger.append(part, signer=DECIDER)
        done += len(part)
        if done % 100_000 == 0 or done == entries:
            rate = done / (time.perf_counter() - start)
            print(f"  built {done:,}/{entries:,} ({rate:,.0f}/s)", file=sys.stderr)
    ledger.close()
    connection = sqlite3.connect(partial)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    os.replace(partial, path)
    return path


def copy(source: str, target: str) -> str:
    remove_db(target)
    src, dst = sqlite3.connect(f"file:{source}?mode=ro", uri=True), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    return target


def bench_publish(url: str, site: Path, new: int) -> dict[str, Any]:
    """Publish from scratch, append ``new`` decisions, publish again: times and sizes."""
    with Ledger.open(url) as ledger:
        create_checkpoint(ledger.store, LOG, origin="bench.example/tiles")
        start = time.perf_counter()
        scratch = publish_tiles(ledger.store, site)
        scratch_s = time.perf_counter() - start
        ledger.append(list(Workload(seed=7, prefix="new").decisions(new)), signer=DECIDER)
        create_checkpoint(ledger.store, LOG)
        start = time.perf_counter()
        incremental = publish_tiles(ledger.store, site)
        incremental_s = time.perf_counter() - start
    return {
        "scratch_seconds": scratch_s,
        "scratch_files": scratch.files,
        "scratch_bytes": scratch.bytes,
        "incremental_seconds": incremental_s,
        "incremental_files": incremental.files,
        "incremental_bytes": incremental.bytes,
        "ratio": incremental_s / scratch_s,
        "size": incremental.size,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def tile_paths(size: int, rng: random.Random, count: int) -> list[str]:
    """Random tiles of the tree of ``size``: full level-0 tiles and bundles mostly, some
    level-1 and partial ones."""
    full = size // 256
    paths = []
    for _ in range(count):
        pick = rng.random()
        if pick < 0.45 and full:
            paths.append(Tile(0, rng.randrange(full)).path)
        elif pick < 0.9 and full:
            paths.append(Tile(ENTRIES, rng.randrange(full)).path)
        else:
            level = rng.choice([0, 1, ENTRIES])
            index = max(0, (size >> (8 * max(level, 0))) // 256 - (rng.random() < 0.5))
            width = tile_width(level, index, size)
            paths.append(Tile(level, index, width).path if width else "checkpoint")
    return paths


async def _client(
    host: str,
    port: int,
    paths: list[str],
    first: int,
    step: int,
    stop: float,
    latencies: list[float],
) -> int:
    """One client on one keep-alive HTTP/1.1 connection, fetching paths[first::step] in
    turn until ``stop``; returns its errors (a status other than 200, a broken reply)."""
    reader, writer = await asyncio.open_connection(host, port)
    errors, at = 0, first
    try:
        while time.monotonic() < stop:
            path = paths[at % len(paths)]
            at += step
            began = time.perf_counter()
            writer.write(f"GET /{path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:"))  # fmt: skip
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - began)
            errors += status != 200
    except (OSError, ValueError, StopIteration, asyncio.IncompleteReadError):
        errors += 1
    finally:
        writer.close()
    return errors


async def load(port: int, paths: list[str], clients: int, seconds: float) -> dict[str, Any]:
    """``clients`` concurrent clients, each on its own connection (a raw asyncio HTTP/1.1
    client: an HTTP library's own overhead would be measured instead of the server's),
    fetching ``paths`` round-robin for ``seconds``."""
    latencies: list[float] = []
    stop = time.monotonic() + seconds
    began = time.monotonic()
    errors = await asyncio.gather(
        *(_client("127.0.0.1", port, paths, i, clients, stop, latencies) for i in range(clients))
    )
    elapsed = time.monotonic() - began
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": sum(errors),
        "requests_per_second": len(latencies) / elapsed,
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
    }


def bench_reads(url: str, size: int, clients: int, seconds: float) -> dict[str, Any]:
    port = free_port()
    trustledger = Path(sys.executable).with_name("trustledger")
    server = subprocess.Popen(
        [str(trustledger), "serve", "--db", url, "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(base + "/checkpoint").raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("serve did not start") from None
                time.sleep(0.1)
        rng = random.Random(1)
        results = {}
        for phase, paths in (("checkpoint", ["checkpoint"]),
                             ("tiles", tile_paths(size, rng, 20_000))):  # fmt: skip
            results[phase] = asyncio.run(load(port, paths, clients, seconds))
            print(f"  {phase}: {json.dumps(results[phase])}", file=sys.stderr)
        return results
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=20_000, help="decisions in the log")
    parser.add_argument(
        "--new", type=int, default=1_000, help="decisions added before republishing"
    )
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5.0, help="per read phase")
    parser.add_argument("--dir", default="/tmp/trustledger-bench")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)

    source = build(args.dir, args.entries)
    work = tempfile.mkdtemp(prefix="bench-tiles-", dir=args.dir)
    try:
        url = f"sqlite:///{copy(source, os.path.join(work, 'ledger.db'))}"
        publish = bench_publish(url, Path(work) / "site", args.new)
        print(f"  publish: {json.dumps(publish)}", file=sys.stderr)
        reads = bench_reads(url, publish["size"], args.clients, args.seconds)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    p = publish
    print(f"\ntiles publish: {args.entries:,} decisions (+2 key events), then {args.new:,} more")
    print(f"  from scratch: {p['scratch_seconds']:.3f} s, {p['scratch_files']:,} files, "
          f"{p['scratch_bytes']:,} bytes")  # fmt: skip
    print(f"  incremental:  {p['incremental_seconds']:.3f} s, {p['incremental_files']:,} files, "
          f"{p['incremental_bytes']:,} bytes ({p['ratio']:.4f}x from scratch)")  # fmt: skip
    print(f"\nserve, {args.clients} concurrent clients, {args.seconds:g} s per phase")
    for phase, r in reads.items():
        print(f"  {phase:10s} {r['requests_per_second']:8,.0f} req/s  "
              f"p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms  "
              f"{r['requests']:,} requests, {r['errors']} errors")  # fmt: skip
    write_json(args.json, {"machine": machine(), "args": vars(args), "publish": publish,
                           "reads": reads})  # fmt: skip
    errors = sum(result["errors"] for result in reads.values())
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
