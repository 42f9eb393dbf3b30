"""PostgreSQL against plain eventsourcing on the same server, in one run.

1. Batched appends, signing excluded: the same pre-built stored events (taken from a signed
   ledger) inserted in batches by eventsourcing's PostgresApplicationRecorder and by
   trustledger's LedgerPostgresRecorder (chain, Merkle and index rows in the transaction).
2. 8 concurrent appender processes through ``Ledger.append`` (signing included): total
   decisions/s, then the chain is verified.
3. ``verify`` of the same ledger on SQLite and on PostgreSQL (rows copied with their ids).
4. Growth: rows and bytes per million decisions on PostgreSQL.

    python benchmarks/bench_postgres.py --url postgresql://postgres@127.0.0.1:5432/test \\
        --verify-entries 1000000

Each run creates a database ``trustledger_bench_<random>`` and drops it at the end.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import secrets
import sqlite3
import sys
import tempfile
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

import psycopg

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

from trustledger import Ledger
from trustledger.app.verification import verify_store
from trustledger.ledger.keys import SigningKey, generate_signing_key
from trustledger.storage.postgres import LedgerPostgresRecorder
from workload import batches, machine, median

TABLES = (
    "stored_events",
    "trustledger_chain",
    "trustledger_decisions",
    "trustledger_merkle",
    "trustledger_subject_keys",
)


def _db(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}", query=""))


def _datastore(url: str, schema: str) -> PostgresDatastore:
    p = psycopg.conninfo.conninfo_to_dict(url)
    return PostgresDatastore(
        dbname=str(p["dbname"]),
        host=str(p.get("host") or "localhost"),
        port=str(p.get("port") or 5432),
        user=str(p.get("user") or "postgres"),
        password=str(p.get("password") or ""),
        schema=schema,
    )


def signed_sqlite(directory: str, entries: int) -> tuple[str, SigningKey, SigningKey]:
    """A SQLite ledger of ``entries`` decisions (signing happens here, once)."""
    path = os.path.join(directory, "source.db")
    root, bot = generate_signing_key("root"), generate_signing_key("bot")
    ledger, _ = Ledger.init(f"sqlite:///{path}", root)
    ledger.register_key(bot.verifier, by=root)
    for part in batches(entries, 1000):
        ledger.append(part, signer=bot)
    ledger.close()
    return path, root, bot


def stored_events(path: str) -> list[StoredEvent]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT originator_id, originator_version, topic, state FROM stored_events "
            "ORDER BY rowid"
        ).fetchall()
    return [StoredEvent(UUID(r[0]), r[1], r[2], bytes(r[3])) for r in rows]


def bench_batched(url: str, events: list[StoredEvent], batch: int, rounds: int) -> dict[str, Any]:
    rates: dict[str, list[float]] = {"eventsourcing": [], "trustledger": []}
    for round_ in range(rounds):
        for name, cls in (
            ("eventsourcing", PostgresApplicationRecorder),
            ("trustledger", LedgerPostgresRecorder),
        ):
            schema = f"b_{name[:2]}_{round_}"
            datastore = _datastore(url, schema)
            with datastore.transaction(commit=True) as curs:
                curs.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            recorder = cls(datastore)
            recorder.create_table()
            start = time.perf_counter()
            for i in range(0, len(events), batch):
                recorder.insert_events(events[i : i + batch])
            rates[name].append(len(events) / (time.perf_counter() - start))
            datastore.close()
    es, tl = median(rates["eventsourcing"]), median(rates["trustledger"])
    return {
        "events": len(events),
        "batch": batch,
        "rounds": rounds,
        "eventsourcing_per_s": round(es),
        "trustledger_per_s": round(tl),
        "ratio": round(tl / es, 3),
    }


def _appender(url: str, pem: bytes, worker: int, n: int, batch: int) -> float:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    signer = SigningKey("bot", load_pem_private_key(pem, None))  # type: ignore[arg-type]
    work = batches(n, batch, seed=worker, prefix=f"w{worker}-")
    start = time.perf_counter()
    with Ledger.open(url) as ledger:
        for part in work:
            ledger.append(part, signer=signer)
    return time.perf_counter() - start


def bench_concurrent(url: str, processes: int, per_process: int, batch: int) -> dict[str, Any]:
    from cryptography.hazmat.primitives import serialization

    root, bot = generate_signing_key("root"), generate_signing_key("bot")
    ledger, _ = Ledger.init(url, root)
    ledger.register_key(bot.verifier, by=root)
    ledger.close()
    pem = bot.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    context = multiprocessing.get_context("spawn")
    start = time.perf_counter()
    with context.Pool(processes) as pool:
        pool.starmap(_appender, [(url, pem, w, per_process, batch) for w in range(processes)])
    elapsed = time.perf_counter() - start
    report = verify_store(url, trusted_keys=[root.verifier])
    return {
        "processes": processes,
        "decisions": processes * per_process,
        "batch": batch,
        "decisions_per_s": round(processes * per_process / elapsed),
        "verified_intact": report.intact,
        "verified_entries": report.entries,
    }


def copy_to_postgres(path: str, url: str) -> None:
    """The SQLite ledger's rows, ids included, into a fresh PostgreSQL ledger at ``url``."""
    from trustledger.storage.postgres import PostgresStore

    store = PostgresStore(url)
    store.create()
    dsn, schema = store.dsn, store.schema
    store.close()
    src = sqlite3.connect(path)
    with psycopg.connect(dsn, options=f"-c search_path={schema}") as dst:
        columns = {
            "stored_events": "rowid, originator_id, originator_version, topic, state",
            "trustledger_chain": "notification_id, position, leaf_hash, chain_hash",
            "trustledger_decisions": "decision_id, notification_id, digest",
            "trustledger_merkle": "level, idx, hash",
            "trustledger_subject_keys": "subject_id, subject_key",
        }
        targets = {
            "stored_events": "notification_id, originator_id, originator_version, topic, state",
        }
        for table in TABLES:
            try:
                rows = src.execute(f"SELECT {columns[table]} FROM {table}")
            except sqlite3.OperationalError:
                continue  # a table this SQLite ledger does not have
            with dst.cursor().copy(
                f"COPY {table} ({targets.get(table, columns[table])}) FROM STDIN"
            ) as copy:
                for row in rows:
                    fixed = (row[0], UUID(row[1]), *row[2:]) if table == "stored_events" else row
                    copy.write_row(fixed)
        dst.execute(
            "SELECT setval(pg_get_serial_sequence('stored_events', 'notification_id'), "
            "(SELECT max(notification_id) FROM stored_events))"
        )
        dst.commit()
        dst.autocommit = True
        dst.execute("VACUUM ANALYZE")
    src.close()


def bench_verify(path: str, url: str, root: SigningKey, rounds: int) -> dict[str, Any]:
    times: dict[str, list[float]] = {"sqlite": [], "postgres": []}
    entries = 0
    for _ in range(rounds):
        for name, target in (("sqlite", f"sqlite:///{path}"), ("postgres", url)):
            start = time.perf_counter()
            report = verify_store(target, trusted_keys=[root.verifier])
            times[name].append(time.perf_counter() - start)
            assert report.intact, report.failure
            entries = report.entries
    sq, pg = median(times["sqlite"]), median(times["postgres"])
    return {
        "entries": entries,
        "rounds": rounds,
        "sqlite_s": round(sq, 2),
        "postgres_s": round(pg, 2),
        "postgres_rate_vs_sqlite": round(sq / pg, 3),
    }


def growth(url: str) -> dict[str, Any]:
    from trustledger.storage.postgres import split_schema

    dsn, schema = split_schema(url)
    with psycopg.connect(dsn) as conn:
        (decisions,) = conn.execute(f"SELECT count(*) FROM {schema}.stored_events").fetchone()  # type: ignore[misc]
        out: dict[str, Any] = {"decisions": decisions, "per_million": {}}
        for table in TABLES:
            row = conn.execute(
                "SELECT (SELECT count(*) FROM " + f"{schema}.{table}" + "), "
                "pg_total_relation_size(%s)",
                (f"{schema}.{table}",),
            ).fetchone()
            assert row is not None
            out["per_million"][table] = {
                "rows": round(row[0] * 1_000_000 / decisions),
                "MB": round(row[1] * 1_000_000 / decisions / 2**20, 1),
            }
        out["total_MB_per_million"] = round(sum(t["MB"] for t in out["per_million"].values()), 1)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url",
        default=os.environ.get(
            "TRUSTLEDGER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--append-events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--per-process", type=int, default=2_000)
    parser.add_argument("--verify-entries", type=int, default=1_000_000)
    args = parser.parse_args(argv)

    name = f"trustledger_bench_{secrets.token_hex(4)}"
    with psycopg.connect(args.url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = _db(args.url, name)
    results: dict[str, Any] = {"machine": machine()}
    try:
        with tempfile.TemporaryDirectory() as directory:
            print("signing the workload once ...", file=sys.stderr)
            entries = max(args.append_events, args.verify_entries)
            path, root, _ = signed_sqlite(directory, entries)
            events = stored_events(path)[: args.append_events]
            print("1. batched appends ...", file=sys.stderr)
            results["batched_appends"] = bench_batched(url, events, args.batch, args.rounds)
            print("2. concurrent appenders ...", file=sys.stderr)
            results["concurrent_appends"] = bench_concurrent(
                f"{url}?schema=conc", args.processes, args.per_process, args.batch
            )
            print("3. verify, SQLite vs PostgreSQL ...", file=sys.stderr)
            copy_to_postgres(path, f"{url}?schema=verify")
            results["verify"] = bench_verify(path, f"{url}?schema=verify", root, args.rounds)
            results["growth"] = growth(f"{url}?schema=verify")
    finally:
        with psycopg.connect(args.url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
