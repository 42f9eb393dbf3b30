"""Append rate as the ledger grows: the rate of fixed-size append windows at 0, --every, ...,
--to decisions, on SQLite or PostgreSQL, in one run.

The ledger is built with the product's own append path (``Ledger.append``, real Ed25519
signatures, --build-batch decisions a call), so it holds exactly what an append writes.
At each size, --windows windows of --window decisions are appended in calls of --batch
decisions, each timed alone and each right after a window on a fresh empty ledger (SQLite:
``empty.db`` in --dir; PostgreSQL: --pg-database with ``_empty``), so that both see the same
load on a shared machine; ``ratio`` is the median window rate over the empty ledger's.
After the last size the bytes on disk per table and index are measured (SQLite ``dbstat``,
PostgreSQL ``pg_relation_size`` / ``pg_indexes_size``).

Results are written to --json after every size: a long run that is stopped keeps what it
measured. The keys are kept beside the ledger (--dir; PostgreSQL: the database named by
--pg-database), so ``--resume`` continues a ledger an earlier run built, with the code as it
is now: it regenerates the workload's stream up to the ledger's size (the stream is
deterministic), then measures and builds on as usual.

Run (long: hours at 10M on a shared machine; run it with nice; ``--resume`` after a stop):
    nice python benchmarks/bench_growth.py --store sqlite --dir /tmp/growth \\
        --to 10000000 --every 1000000 --json growth-sqlite.json
    nice python benchmarks/bench_growth.py --store postgres \\
        --url postgresql://postgres@127.0.0.1:5432/postgres --to 10000000 --every 1000000 \\
        --json growth-postgres.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from trustledger.app.ledger import Ledger
from trustledger.ledger.keys import (
    SigningKey,
    format_private_key,
    generate_signing_key,
    parse_private_key,
)
from workload import DECISION_IDS, Workload, machine, median, remove_db, write_json

# 20M decisions, one a second, still end before today: the rules refuse future decisions.
GROWTH_BASE_TIME = datetime(2026, 1, 1, tzinfo=UTC)
PG_DATABASE = "trustledger_growth"
PASSPHRASE = b"growth-benchmark"  # a benchmark's throwaway key


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def append_timed(
    ledger: Ledger, stream: Iterator[dict[str, Any]], count: int, batch: int, signer: SigningKey
) -> tuple[float, float]:
    """Seconds (wall clock, and this process's CPU time) to append the next ``count``
    documents of ``stream`` in calls of ``batch``."""
    elapsed = cpu = 0.0
    left = count
    while left:
        documents = [next(stream) for _ in range(min(batch, left))]
        start, start_cpu = time.perf_counter(), time.process_time()
        ledger.append(documents, signer=signer)
        elapsed += time.perf_counter() - start
        cpu += time.process_time() - start_cpu
        left -= len(documents)
    return elapsed, cpu


def sqlite_url(args: argparse.Namespace, name: str, *, fresh: bool) -> str:
    path = os.path.abspath(Path(args.dir) / f"{name}.db")
    if fresh:
        remove_db(path)
    return f"sqlite:///{path}"


def postgres_url(args: argparse.Namespace, database: str, *, fresh: bool) -> str:
    """The URL of ``database`` on the server; with ``fresh``, made anew (one left by an
    earlier run is dropped)."""
    if fresh:
        import psycopg
        from psycopg.sql import SQL, Identifier

        name = Identifier(database)
        with psycopg.connect(args.url, autocommit=True) as admin:
            admin.execute(SQL("DROP DATABASE IF EXISTS {0} WITH (FORCE)").format(name))
            admin.execute(SQL("CREATE DATABASE {0}").format(name))
    url: str = args.url
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}", query=""))


def ledger_url(args: argparse.Namespace, *, empty: bool = False, fresh: bool) -> str:
    if args.store == "postgres":
        return postgres_url(args, args.pg_database + ("_empty" if empty else ""), fresh=fresh)
    return sqlite_url(args, "empty" if empty else "growth", fresh=fresh)


def keys_file(args: argparse.Namespace) -> Path:
    """Where the ledger's decider key is kept for ``--resume``."""
    return Path(args.dir) / f"growth-{args.store}.key"


def new_ledger(url: str) -> tuple[Ledger, SigningKey, int]:
    """A new ledger at ``url`` with a registered decider key; its size before any decision
    (the key entries)."""
    signer = generate_signing_key("growth-decider")
    root = generate_signing_key("growth-root")
    ledger, _ = Ledger.init(url, root)
    ledger.register_key(signer.verifier, by=root)
    return ledger, signer, ledger.size()


def window(
    ledger: Ledger, stream: Iterator[dict[str, Any]], signer: SigningKey, args: argparse.Namespace
) -> tuple[float, float]:
    """One window of --window decisions: its rate (decisions a second) and its rate per
    second of this process's CPU."""
    seconds, cpu = append_timed(ledger, stream, args.window, args.batch, signer)
    return args.window / seconds, args.window / cpu


def summary(rates: list[tuple[float, float]]) -> dict[str, Any]:
    return {
        "rates": [wall for wall, _ in rates],
        "median": median([wall for wall, _ in rates]),
        # Per second of this process's CPU (SQLite works in this process; PostgreSQL's
        # server is not counted).
        "cpu_rates": [cpu for _, cpu in rates],
        "cpu_median": median([cpu for _, cpu in rates]),
    }


def measure_point(
    ledger: Ledger, stream: Iterator[dict[str, Any]], signer: SigningKey, args: argparse.Namespace
) -> dict[str, Any]:
    """--windows windows on the ledger, each right after a window on a fresh empty ledger
    of its own: on a shared machine the load changes by the minute, and a window and its
    empty twin see the same load. The ratios are of the medians."""
    empty, empty_signer, _ = new_ledger(ledger_url(args, empty=True, fresh=True))
    empty_stream = stream_of(0, args.decision_ids)
    grown: list[tuple[float, float]] = []
    baseline: list[tuple[float, float]] = []
    try:
        for _ in range(args.windows):
            baseline.append(window(empty, empty_stream, empty_signer, args))
            grown.append(window(ledger, stream, signer, args))
    finally:
        empty.close()
    point = summary(grown)
    point["empty"] = summary(baseline)
    point["ratio"] = point["median"] / point["empty"]["median"]
    point["cpu_ratio"] = point["cpu_median"] / point["empty"]["cpu_median"]
    point["load_average"] = os.getloadavg()[0]
    return point


def stream_of(size: int, decision_ids: str) -> Iterator[dict[str, Any]]:
    """The workload's stream after its first ``size`` documents (those a ledger of
    ``size`` decisions holds)."""
    stream = Workload(base_time=GROWTH_BASE_TIME, decision_ids=decision_ids).decisions(10**12)
    for _ in range(size):
        next(stream)
    return stream


def open_existing(args: argparse.Namespace) -> tuple[str, Ledger, SigningKey, int]:
    """``--resume``: the ledger an earlier run built, its decider key and its decisions."""
    saved = json.loads(keys_file(args).read_text(encoding="utf-8"))
    # The stream the ledger was built with (a key file from before the option: random ids).
    args.decision_ids = saved.get("decision_ids", "random")
    url = ledger_url(args, fresh=False)
    signer = parse_private_key(saved["key"].encode(), PASSPHRASE)
    ledger = Ledger.open(url)
    return url, ledger, signer, ledger.size() - saved["base_size"]


def start_new(args: argparse.Namespace) -> tuple[str, Ledger, SigningKey, int]:
    url = ledger_url(args, fresh=True)
    ledger, signer, base_size = new_ledger(url)
    key = format_private_key(signer, PASSPHRASE).decode()
    saved = {"key": key, "base_size": base_size, "decision_ids": args.decision_ids}
    keys_file(args).write_text(json.dumps(saved), encoding="utf-8")
    return url, ledger, signer, 0


def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {
        "machine": machine(),
        "store": args.store,
        "args": vars(args),
        "points": [],
    }
    if args.resume:
        url, ledger, signer, size = open_existing(args)
        log(f"resuming at {size:,} decisions; regenerating the stream")
    else:
        url, ledger, signer, size = start_new(args)
    if args.shop_cache is not None:
        # Diagnosis only: the shops whose rule state the appending process keeps between
        # appends (app.shopstates; a miss reads the shop's snapshot).
        ledger._shop_states.maxsize = args.shop_cache
    stream = stream_of(size, args.decision_ids)
    try:
        if args.warm_up:
            # A resumed appender starts cold (its shop-state cache, the store's caches):
            # what a long-running one has warm is measured after this many, untimed.
            append_timed(ledger, stream, args.warm_up, args.batch, signer)
            size += args.warm_up
        while True:
            point: dict[str, Any] = {"size": size, **measure_point(ledger, stream, signer, args)}
            size += args.windows * args.window
            results["points"].append(point)
            write_json(args.json, results)
            report(args.store, point)
            target = (size // args.every + 1) * args.every  # the next size past this point
            if target > args.to:
                break
            build = target - size
            start = time.perf_counter()
            append_timed(ledger, stream, build, args.build_batch, signer)
            size = target
            results.setdefault("build", []).append(
                {"to": target, "decisions": build, "seconds": time.perf_counter() - start}
            )
            log(f"built to {target:,} ({build / (time.perf_counter() - start):,.0f}/s)")
    finally:
        ledger.close()
    if not args.no_disk:
        results["disk"] = disk(args.store, url)
    results["decisions"] = size
    write_json(args.json, results)
    return results


def disk(store: str, url: str) -> dict[str, Any]:
    """Bytes per table and index of the ledger at ``url``."""
    if store == "sqlite":
        import sqlite3

        path = url.removeprefix("sqlite:///")
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            rows = db.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall()
            return {"file_bytes": os.path.getsize(path), "objects": dict(rows)}
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT c.relname, c.relkind, pg_relation_size(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i', 't') ORDER BY 1"
        ).fetchall()
        toast = conn.execute(
            "SELECT sum(pg_total_relation_size(reltoastrelid)) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = 'r' AND reltoastrelid <> 0"
        ).fetchone()
        total = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return {
        "database_bytes": total[0] if total else None,
        "toast_bytes": int(toast[0] or 0) if toast else 0,
        "objects": {name: size for name, _, size in rows},
    }


def report(store: str, point: dict[str, Any]) -> None:
    empty = point["empty"]
    log(
        f"{store} at {point['size']:,}: {point['median']:,.0f} decisions/s, empty "
        f"{empty['median']:,.0f} (x{point['ratio']:.2f}; windows "
        f"{', '.join(f'{r:,.0f}' for r in point['rates'])} / "
        f"{', '.join(f'{r:,.0f}' for r in empty['rates'])}); per CPU second "
        f"{point['cpu_median']:,.0f}, empty {empty['cpu_median']:,.0f} "
        f"(x{point['cpu_ratio']:.2f}); load {point['load_average']:.1f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--dir", default="/tmp/trustledger-growth", help="SQLite: where")
    parser.add_argument("--url", help="PostgreSQL: a server URL (a database is made on it)")
    parser.add_argument(
        "--pg-database",
        default=PG_DATABASE,
        help="PostgreSQL: the database made (dropped first if it exists)",
    )
    parser.add_argument("--to", type=int, default=10_000_000, help="last size measured")
    parser.add_argument("--every", type=int, default=1_000_000, help="sizes measured")
    parser.add_argument("--window", type=int, default=5_000, help="decisions a window")
    parser.add_argument("--windows", type=int, default=5, help="windows a size")
    parser.add_argument("--batch", type=int, default=1_000, help="decisions an append call")
    parser.add_argument("--build-batch", type=int, default=10_000)
    parser.add_argument("--shop-cache", type=int, help="shop states cached (default: the app's)")
    parser.add_argument(
        "--decision-ids",
        choices=DECISION_IDS,
        default="random",
        help="the workload's decision ids: random (UUIDv4) or time-ordered (UUIDv7); "
        "--resume keeps the ledger's",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue the ledger an earlier run built (its keys are kept in --dir)",
    )
    parser.add_argument(
        "--warm-up", type=int, default=0, help="decisions appended untimed before measuring"
    )
    parser.add_argument(
        "--no-disk", action="store_true", help="skip the bytes per table (minutes at 10M)"
    )
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    if args.store == "postgres" and not args.url:
        parser.error("--store postgres needs --url")
    Path(args.dir).mkdir(parents=True, exist_ok=True)
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
