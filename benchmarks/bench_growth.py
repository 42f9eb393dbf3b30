"""Append rate as the ledger grows: the rate of fixed-size append windows at 0, --every, ...,
--to decisions, on SQLite or PostgreSQL, in one run.

The ledger is built with the product's own append path (``Ledger.append``, real Ed25519
signatures, --build-batch decisions a call), so it holds exactly what an append writes.
At each size, --windows windows of --window decisions are appended in calls of --batch
decisions, each timed alone; the figure per size is the median window rate, and
``ratio`` is that median over the one measured on the empty ledger in the same run.
After the last size the bytes on disk per table and index are measured (SQLite ``dbstat``,
PostgreSQL ``pg_relation_size`` / ``pg_indexes_size``).

Results are written to --json after every size: a long run that is stopped keeps what it
measured.

Run (long: hours at 10M on a shared machine; run it with nice):
    nice python benchmarks/bench_growth.py --store sqlite --dir /tmp/growth \\
        --to 10000000 --every 1000000 --json growth-sqlite.json
    nice python benchmarks/bench_growth.py --store postgres \\
        --url postgresql://postgres@127.0.0.1:5432/postgres --to 10000000 --every 1000000 \\
        --json growth-postgres.json
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from trustledger.app.ledger import Ledger
from trustledger.ledger.keys import SigningKey, generate_signing_key
from workload import Workload, machine, median, remove_db, write_json

# 20M decisions, one a second, still end before today: the rules refuse future decisions.
GROWTH_BASE_TIME = datetime(2026, 1, 1, tzinfo=UTC)
PG_DATABASE = "trustledger_growth"


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


def fresh_sqlite(args: argparse.Namespace) -> str:
    path = os.path.abspath(Path(args.dir) / "growth.db")
    remove_db(path)
    return f"sqlite:///{path}"


def fresh_postgres(args: argparse.Namespace) -> str:
    """A new database ``PG_DATABASE`` on the server (one left by an earlier run is dropped)."""
    import psycopg

    with psycopg.connect(args.url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {PG_DATABASE}")
    url: str = args.url
    return urlunsplit(urlsplit(url)._replace(path=f"/{PG_DATABASE}", query=""))


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


def run(args: argparse.Namespace) -> dict[str, Any]:
    url = fresh_postgres(args) if args.store == "postgres" else fresh_sqlite(args)
    signer = generate_signing_key("growth-decider")
    root = generate_signing_key("growth-root")
    ledger, _ = Ledger.init(url, root)
    ledger.register_key(signer.verifier, by=root)
    if args.shop_cache is not None:
        # Diagnosis only: the shops whose rule state the appending process keeps between
        # appends (app.shopstates; a miss replays the shop's history from the store).
        ledger._shop_states.maxsize = args.shop_cache
    points = args.to // args.every + 1
    stream = Workload(base_time=GROWTH_BASE_TIME).decisions(
        args.to + points * args.windows * args.window
    )
    results: dict[str, Any] = {
        "machine": machine(),
        "store": args.store,
        "args": vars(args),
        "points": [],
    }
    size = 0  # decisions appended so far
    try:
        target = 0
        while True:
            rates, cpu_rates = [], []
            for _ in range(args.windows):
                seconds, cpu = append_timed(ledger, stream, args.window, args.batch, signer)
                rates.append(args.window / seconds)
                cpu_rates.append(args.window / cpu)
            point: dict[str, Any] = {
                "size": size,
                "rates": rates,
                "median": median(rates),
                # Per second of this process's CPU: what a loaded machine's other work does not
                # change (SQLite works in this process; PostgreSQL's server is not counted).
                "cpu_rates": cpu_rates,
                "cpu_median": median(cpu_rates),
                "load_average": os.getloadavg()[0],
            }
            first = results["points"][0] if results["points"] else point
            point["ratio"] = point["median"] / first["median"]
            point["cpu_ratio"] = point["cpu_median"] / first["cpu_median"]
            size += args.windows * args.window
            results["points"].append(point)
            write_json(args.json, results)
            log(
                f"{args.store} at {point['size']:,}: {point['median']:,.0f} decisions/s "
                f"(x{point['ratio']:.2f} of empty; windows "
                f"{', '.join(f'{r:,.0f}' for r in rates)}), "
                f"{point['cpu_median']:,.0f} per CPU second (x{point['cpu_ratio']:.2f}), "
                f"load {point['load_average']:.1f}"
            )
            target += args.every
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
    results["disk"] = disk(args.store, url)
    results["decisions"] = size
    write_json(args.json, results)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--dir", default="/tmp/trustledger-growth", help="SQLite: where")
    parser.add_argument("--url", help="PostgreSQL: a server URL (a database is made on it)")
    parser.add_argument("--to", type=int, default=10_000_000, help="last size measured")
    parser.add_argument("--every", type=int, default=1_000_000, help="sizes measured")
    parser.add_argument("--window", type=int, default=5_000, help="decisions a window")
    parser.add_argument("--windows", type=int, default=5, help="windows a size")
    parser.add_argument("--batch", type=int, default=1_000, help="decisions an append call")
    parser.add_argument("--build-batch", type=int, default=10_000)
    parser.add_argument("--shop-cache", type=int, help="shop states cached (default: the app's)")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    if args.store == "postgres" and not args.url:
        parser.error("--store postgres needs --url")
    Path(args.dir).mkdir(parents=True, exist_ok=True)
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
