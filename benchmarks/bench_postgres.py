"""PostgreSQL against plain eventsourcing and against SQLite, on the same server, in one run.

Sections (``--sections``, default all of them), each against a database of its own that the
run creates and drops (``trustledger_bench_<random>``), except the copied 1M ledger which is
kept in database ``trustledger_bench_verify`` for later runs (``--fresh-copy`` rebuilds it):

``append``
    Per repetition, each in a fresh schema, interleaved so that noise on a shared machine hits
    every variant alike: ``baseline``, a plain eventsourcing Application
    (``eventsourcing.postgres``, its defaults) saving events with the very payload,
    signature and key id strings of ours, --batch per ``save()``; ``unsigned``,
    ``Ledger.append`` in batches of --batch with a signer whose ``sign()`` returns a
    precomputed value (bench_append.PrecomputedSigner: signing excluded); ``signed``, the
    same with a real Ed25519 key. Also, at the recorder level, the same stored events
    inserted by eventsourcing's PostgresApplicationRecorder, by ColumnarEventsRecorder
    (eventsourcing's, with the events sent as binary columns, as ours sends them) and by
    LedgerPostgresRecorder (the chain, Merkle and index rows are the only difference from
    the second: the ledger's own cost).
``concurrent``
    --processes appender processes (spawned), each appending --per-process decisions of its
    own shops in batches of --batch through ``Ledger.append`` with real signing; they start
    together at a set time; total decisions/s = all decisions / (last end - start). Then
    the whole ledger is verified (workers=2) and must be intact with every entry there.
``verify``
    The signed SQLite ledger --verify-db (built by bench_verify.py, root key in
    ``<db>.json``) is copied row for row, exact bytes and ids, into a PostgreSQL ledger
    (COPY of ``stored_events`` and every side table, then VACUUM ANALYZE): appending 1M
    decisions through the API would take hours here and gives the same rows. Then, per
    repetition, ``Ledger.verify(workers=W)`` of each in a fresh child process, interleaved.
``growth``
    Rows and bytes per table (``pg_total_relation_size``: heap, TOAST and indexes) of a
    ledger of --growth-entries decisions appended through the API (unsigned signer: the
    stored sizes are the same) and of the copied --verify-db ledger, per million decisions;
    and the SQLite file's pages per table and index (``dbstat``).

Run:
    python benchmarks/bench_postgres.py --url postgresql://postgres@127.0.0.1:5432/test \\
        --entries 5000 --repeat 5 --json postgres.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import secrets
import sqlite3
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

import psycopg
from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg.conninfo import conninfo_to_dict

from bench_append import (
    PrecomputedSigner,
    decision_fields,
    new_ledger,
    run_ledger,
    time_plain_saves,
)
from bench_verify import run_child
from trustledger.app.ledger import Ledger
from trustledger.app.policy import TrustPolicy
from trustledger.app.verifier import verify_store
from trustledger.ledger.keys import SigningKey, generate_signing_key
from trustledger.storage.postgres import (
    ColumnarEventsRecorder,
    LedgerPostgresRecorder,
    PostgresStore,
    split_schema,
)
from workload import batches, machine, median, write_json

SIDE_TABLES = (
    # (table, columns read from SQLite, columns written in PostgreSQL)
    ("trustledger_chain", "notification_id, position, leaf_hash, chain_hash", None),
    ("trustledger_decisions", "decision_id, notification_id, digest", None),
    ("trustledger_merkle", "level, idx, hash", None),
    ("trustledger_subject_keys", "subject_id, subject_key, created_at, erased_at", None),
    ("trustledger_checkpoints", "id, size, root_hash, note, created_at", None),
    ("trustledger_cosignatures", "checkpoint_id, line", None),
)
LEDGER_TABLES = ("stored_events", *(t for t, _, _ in SIDE_TABLES))
COPY_DATABASE = "trustledger_bench_verify"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}", query=""))


@contextmanager
def scratch_database(url: str) -> Iterator[str]:
    name = f"trustledger_bench_{secrets.token_hex(4)}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(url, name)
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def create_schema(database_url: str, schema: str) -> str:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    return f"{database_url}?schema={schema}"


def pg_env(database_url: str, schema: str) -> dict[str, str]:
    p = conninfo_to_dict(database_url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(p["dbname"]),
        "POSTGRES_HOST": str(p.get("host") or "localhost"),
        "POSTGRES_PORT": str(p.get("port") or 5432),
        "POSTGRES_USER": str(p.get("user") or "postgres"),
        "POSTGRES_PASSWORD": str(p.get("password") or ""),
        "POSTGRES_SCHEMA": schema,
    }


def datastore(database_url: str, schema: str) -> PostgresDatastore:
    env = pg_env(database_url, schema)
    return PostgresDatastore(
        dbname=env["POSTGRES_DBNAME"],
        host=env["POSTGRES_HOST"],
        port=env["POSTGRES_PORT"],
        user=env["POSTGRES_USER"],
        password=env["POSTGRES_PASSWORD"],
        schema=schema,
    )


# -- append ---------------------------------------------------------------------------------


def decisions_of(url: str) -> list[StoredEvent]:
    """The stored decision events (not genesis, not key events) of a PostgreSQL ledger."""
    dsn, schema = split_schema(url)
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            f'SELECT originator_id, originator_version, topic, state FROM "{schema}".stored_events'
            " WHERE topic NOT LIKE 'trustledger:key%' "
            "AND topic != 'trustledger:ledger.initialised' ORDER BY notification_id"
        ).fetchall()
    return [StoredEvent(r[0], r[1], r[2], bytes(r[3])) for r in rows]


def run_recorder(
    database_url: str, schema: str, cls: type[PostgresApplicationRecorder], events: list[Any]
) -> float:
    """Seconds for ``cls`` to insert ``events`` (lists of one batch each) in a fresh schema."""
    store = datastore(database_url, schema)
    try:
        with store.transaction(commit=True) as curs:
            curs.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        recorder = cls(store)
        recorder.create_table()
        start = time.perf_counter()
        for part in events:
            recorder.insert_events(part)
        return time.perf_counter() - start
    finally:
        store.close()


def bench_append(database_url: str, entries: int, batch: int, repeat: int) -> dict[str, Any]:
    work = batches(entries, batch)
    key = generate_signing_key("bench-decider")
    fake = PrecomputedSigner(key)
    # Warm-up (imports, prepared statements, caches) and the stored fields to save again.
    warm = create_schema(database_url, "warm")
    run_ledger(warm, work, key)
    stored = decisions_of(warm)
    assert len(stored) == entries, (len(stored), entries)
    fields = decision_fields(event.state for event in stored)
    stored_batches = [stored[i : i + batch] for i in range(0, len(stored), batch)]

    runs: dict[str, list[float]] = {
        "baseline": [], "unsigned": [], "signed": [],
        "recorder_es": [], "recorder_columnar": [], "recorder_tl": [],
    }  # fmt: skip
    for rep in range(repeat):
        schema = f"es_{rep}"
        create_schema(database_url, schema)
        app: Application[Any] = Application(env=pg_env(database_url, schema))
        runs["baseline"].append(entries / time_plain_saves(app, fields, batch))
        runs["unsigned"].append(
            entries / run_ledger(create_schema(database_url, f"un_{rep}"), work, fake)
        )
        runs["signed"].append(
            entries / run_ledger(create_schema(database_url, f"si_{rep}"), work, key)
        )
        runs["recorder_es"].append(
            entries
            / run_recorder(database_url, f"re_{rep}", PostgresApplicationRecorder, stored_batches)
        )
        runs["recorder_columnar"].append(
            entries
            / run_recorder(database_url, f"rc_{rep}", ColumnarEventsRecorder, stored_batches)
        )
        runs["recorder_tl"].append(
            entries
            / run_recorder(database_url, f"rt_{rep}", LedgerPostgresRecorder, stored_batches)
        )
        log(
            f"  rep {rep + 1}/{repeat}: "
            + ", ".join(f"{name} {values[-1]:,.0f}/s" for name, values in runs.items())
        )
    medians = {name: median(values) for name, values in runs.items()}
    paired = median([u / b for u, b in zip(runs["unsigned"], runs["baseline"], strict=True)])
    ratio = medians["unsigned"] / medians["baseline"]
    return {
        "entries": entries,
        "batch": batch,
        "repeat": repeat,
        "decisions_per_second": runs,
        "medians": medians,
        "ratio_unsigned_to_baseline": ratio,
        "paired_ratio_unsigned": paired,
        "ratio_signed_to_baseline": medians["signed"] / medians["baseline"],
        "ratio_recorder": medians["recorder_tl"] / medians["recorder_es"],
        # The ledger's own cost at the recorder: both send the events the same way.
        "ratio_recorder_same_encoding": medians["recorder_tl"] / medians["recorder_columnar"],
        "target_unsigned_ratio": 0.70,
        "target_met": ratio >= 0.70,
    }


# -- concurrent appenders ---------------------------------------------------------------------


def _appender(
    url: str, pem: bytes, worker: int, count: int, batch: int, start_at: float
) -> tuple[float, float, int]:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    signer = SigningKey("bench-decider", load_pem_private_key(pem, None))  # type: ignore[arg-type]
    work = batches(count, batch, seed=worker, prefix=f"w{worker}-shop")
    with Ledger.open(url) as ledger:
        time.sleep(max(0.0, start_at - time.time()))
        start = time.time()
        appended = 0
        for part in work:
            appended += sum(o.status == "appended" for o in ledger.append(part, signer=signer))
        return start, time.time(), appended


def bench_concurrent(
    database_url: str, processes: int, per_process: int, batch: int, workers: int
) -> dict[str, Any]:
    from cryptography.hazmat.primitives import serialization

    url = create_schema(database_url, "concurrent")
    key = generate_signing_key("bench-decider")
    ledger, root = new_ledger(url, key)
    ledger.close()
    pem = key.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    context = multiprocessing.get_context("spawn")
    start_at = time.time() + 5 + processes  # spawning and importing takes a while
    with context.Pool(processes) as pool:
        spans = pool.starmap(
            _appender, [(url, pem, w, per_process, batch, start_at) for w in range(processes)]
        )
    appended = sum(s[2] for s in spans)
    elapsed = max(s[1] for s in spans) - min(s[0] for s in spans)
    log(f"  {appended:,} decisions in {elapsed:.1f} s; verifying ...")
    started = time.perf_counter()
    report = verify_store(url, policy=TrustPolicy.of(root_keys=[root.verifier]), workers=workers)
    verify_seconds = time.perf_counter() - started
    return {
        "processes": processes,
        "per_process": per_process,
        "batch": batch,
        "decisions": appended,
        "seconds": elapsed,
        "decisions_per_second": appended / elapsed,
        "per_process_decisions_per_second": [per_process / (s[1] - s[0]) for s in spans],
        "verified_intact": report.intact,
        "verified_entries": report.entries,
        "expected_entries": appended + 2,
        "verify_seconds": verify_seconds,
        "failure": report.failure.describe() if report.failure else None,
    }


# -- verify: SQLite vs the same rows in PostgreSQL -------------------------------------------------


def sqlite_counts(path: str) -> dict[str, int]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as src:
        return {t: src.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in LEDGER_TABLES}


def pg_counts(url: str) -> dict[str, int] | None:
    dsn, schema = split_schema(url)
    try:
        with psycopg.connect(dsn) as conn:
            counts = {}
            for table in LEDGER_TABLES:
                row = conn.execute(f'SELECT count(*) FROM "{schema}".{table}').fetchone()
                counts[table] = int(row[0]) if row else 0
            return counts
    except psycopg.Error:
        return None


def copy_to_postgres(path: str, url: str) -> float:
    """Copy the SQLite ledger's rows (ids and bytes exactly) into a fresh PostgreSQL ledger
    at ``url``; returns the seconds taken."""
    start = time.perf_counter()
    store = PostgresStore(url)
    store.create()
    dsn, schema = store.dsn, store.schema
    store.close()
    src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        with psycopg.connect(dsn, options=f"-c search_path={schema}") as dst:
            with dst.cursor().copy(
                "COPY stored_events "
                "(notification_id, originator_id, originator_version, topic, state) FROM STDIN"
            ) as copy:
                rows = src.execute(
                    "SELECT rowid, originator_id, originator_version, topic, state "
                    "FROM stored_events ORDER BY rowid"
                )
                for row in rows:
                    copy.write_row((row[0], UUID(row[1]), row[2], row[3], row[4]))
            for table, columns, _ in SIDE_TABLES:
                with dst.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in src.execute(f"SELECT {columns} FROM {table}"):
                        copy.write_row(row)
            dst.execute(
                "SELECT setval(pg_get_serial_sequence('stored_events', 'notification_id'), "
                "(SELECT max(notification_id) FROM stored_events))"
            )
            dst.commit()
            dst.autocommit = True
            dst.execute("VACUUM ANALYZE")
    finally:
        src.close()
    return time.perf_counter() - start


def copied_ledger(admin_url: str, path: str, fresh: bool) -> tuple[str, float | None]:
    """The PostgreSQL copy of ``path`` (made now, or kept from an earlier run)."""
    entries = sqlite_counts(path)
    schema = "v" + os.path.basename(path).split(".")[0].replace("-", "_")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        exists = admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (COPY_DATABASE,)
        ).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{COPY_DATABASE}"')
    database_url = with_database(admin_url, COPY_DATABASE)
    url = f"{database_url}?schema={schema}"
    if not fresh and pg_counts(url) == entries:
        log(f"  reusing the copy in {url}")
        return url, None
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    log(f"  copying {path} into {url} ...")
    seconds = copy_to_postgres(path, url)
    if pg_counts(url) != entries:
        raise SystemExit(f"the copy in {url} does not have the rows of {path}")
    return url, seconds


def bench_verify(
    admin_url: str, path: str, repeat: int, workers: int, fresh: bool
) -> dict[str, Any]:
    with open(path + ".json", encoding="utf-8") as meta:
        root = str(json.load(meta)["root"])
    url, copy_seconds = copied_ledger(admin_url, path, fresh)
    runs: dict[str, list[dict[str, Any]]] = {"sqlite": [], "postgres": []}
    for rep in range(repeat):
        for name, target in (("sqlite", f"sqlite:///{path}"), ("postgres", url)):
            runs[name].append(run_child(target, root, workers))
        log(
            f"  rep {rep + 1}/{repeat}: SQLite {runs['sqlite'][-1]['seconds']:.1f} s, "
            f"PostgreSQL {runs['postgres'][-1]['seconds']:.1f} s"
        )
    sqlite_s = median([r["seconds"] for r in runs["sqlite"]])
    pg_s = median([r["seconds"] for r in runs["postgres"]])
    paired = median(
        [s["seconds"] / p["seconds"] for s, p in zip(runs["sqlite"], runs["postgres"], strict=True)]
    )
    entries = runs["postgres"][0]["entries"]
    return {
        "entries": entries,
        "workers": runs["postgres"][0]["workers"],
        "copy_seconds": copy_seconds,
        "postgres_url": url,
        "runs": runs,
        "sqlite_seconds": sqlite_s,
        "postgres_seconds": pg_s,
        "sqlite_rate": entries / sqlite_s,
        "postgres_rate": entries / pg_s,
        "ratio_postgres_to_sqlite_rate": sqlite_s / pg_s,
        "paired_ratio": paired,
        "target_ratio": 0.80,
        "target_met": sqlite_s / pg_s >= 0.80,
    }


# -- growth ---------------------------------------------------------------------------------------


def pg_growth(url: str) -> dict[str, Any]:
    dsn, schema = split_schema(url)
    tables: dict[str, Any] = {}
    with psycopg.connect(dsn) as conn:
        for table in (*LEDGER_TABLES, "trustledger_tracking", "trustledger_standing_facts"):
            name = f'"{schema}".{table}'
            row = conn.execute(
                "SELECT to_regclass(%s) IS NOT NULL", (f'"{schema}".{table}',)
            ).fetchone()
            if not row or not row[0]:
                continue
            sizes = conn.execute(
                f"SELECT (SELECT count(*) FROM {name}), pg_total_relation_size(%s), "
                "pg_relation_size(%s), pg_indexes_size(%s)",
                (name, name, name),
            ).fetchone()
            assert sizes is not None
            tables[table] = {
                "rows": sizes[0],
                "total_bytes": sizes[1],
                "heap_bytes": sizes[2],
                "index_bytes": sizes[3],
            }
    return {"decisions": tables["trustledger_decisions"]["rows"], "tables": tables}


def sqlite_growth(path: str) -> dict[str, Any]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as src:
        owner = dict(src.execute("SELECT name, tbl_name FROM sqlite_master").fetchall())
        tables: dict[str, Any] = {}
        for name, pages_bytes in src.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"):
            table = owner.get(name, name)
            entry = tables.setdefault(table, {"rows": None, "total_bytes": 0})
            entry["total_bytes"] += pages_bytes
        for table in LEDGER_TABLES:
            tables[table]["rows"] = src.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        (decisions,) = src.execute("SELECT count(*) FROM trustledger_decisions").fetchone()
    return {"decisions": decisions, "file_bytes": os.path.getsize(path), "tables": tables}


def bench_growth(
    database_url: str, entries: int, copy_url: str | None, path: str
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if entries:
        url = create_schema(database_url, "growth")
        signer = PrecomputedSigner(generate_signing_key("bench-decider"))
        ledger, _ = new_ledger(url, signer)
        ledger._shop_states.maxsize = entries  # every shop's rule state stays warm
        try:
            for part in batches(entries, 1000):
                ledger.append(part, signer=signer)
        finally:
            ledger.close()
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute('VACUUM ANALYZE "growth".stored_events')
        out["postgres_appended"] = pg_growth(url)
    if copy_url:
        out["postgres_copied"] = pg_growth(copy_url)
    if os.path.exists(path):
        out["sqlite"] = sqlite_growth(path)
    return out


# -- report ---------------------------------------------------------------------------------------


def print_summary(results: dict[str, Any]) -> None:
    print(f"\nmachine: {results['machine']}")
    print(f"server: {results['server']}")
    if "append" in results:
        a = results["append"]
        m = a["medians"]
        print(f"\nbatched appends: {a['entries']} decisions, {a['batch']} per call, "
              f"{a['repeat']} repetitions (medians)")  # fmt: skip
        print(f"{'variant':<44}{'decisions/s':>14}{'vs baseline':>14}")
        for label, key in (
            ("plain eventsourcing Application (baseline)", "baseline"),
            ("trustledger, signing excluded", "unsigned"),
            ("trustledger, signing included", "signed"),
        ):
            print(f"{label:<44}{m[key]:>14,.0f}{m[key] / m['baseline']:>13.2f}x")
        print(f"{'recorder only: eventsourcing':<44}{m['recorder_es']:>14,.0f}")
        print(f"{'recorder only: eventsourcing, columnar':<44}{m['recorder_columnar']:>14,.0f}")
        print(f"{'recorder only: LedgerPostgresRecorder':<44}{m['recorder_tl']:>14,.0f}"
              f"{a['ratio_recorder']:>13.2f}x of eventsourcing's, "
              f"{a['ratio_recorder_same_encoding']:.2f}x of columnar")  # fmt: skip
        verdict = "MET" if a["target_met"] else "MISSED"
        ratio, paired = a["ratio_unsigned_to_baseline"], a["paired_ratio_unsigned"]
        print(f"target (signing excluded >= 0.70x baseline): {verdict} "
              f"({ratio:.2f}x; paired {paired:.2f}x)")  # fmt: skip
    if "concurrent" in results:
        c = results["concurrent"]
        print(f"\nconcurrent appenders: {c['processes']} processes x {c['per_process']} "
              f"decisions, {c['batch']} per call, signed")  # fmt: skip
        print(f"total {c['decisions_per_second']:,.0f} decisions/s ({c['decisions']:,} in "
              f"{c['seconds']:.1f} s); verified afterwards: "
              f"{'intact' if c['verified_intact'] else 'NOT INTACT'}, "
              f"{c['verified_entries']:,} entries (expected {c['expected_entries']:,}) "
              f"in {c['verify_seconds']:.1f} s")  # fmt: skip
    if "verify" in results:
        v = results["verify"]
        verdict = "MET" if v["target_met"] else "MISSED"
        print(f"\nverify of {v['entries']:,} entries, workers={v['workers']} (medians)")
        print(f"SQLite {v['sqlite_seconds']:.1f} s ({v['sqlite_rate']:,.0f}/s), PostgreSQL "
              f"{v['postgres_seconds']:.1f} s ({v['postgres_rate']:,.0f}/s): PostgreSQL rate "
              f"{v['ratio_postgres_to_sqlite_rate']:.2f}x SQLite's (paired "
              f"{v['paired_ratio']:.2f}x); target >= 0.80: {verdict}")  # fmt: skip
    if "growth" in results:
        for label, g in results["growth"].items():
            per = 1_000_000 / g["decisions"]
            print(f"\ngrowth, {label}: {g['decisions']:,} decisions, per million decisions")
            print(f"{'table':<28}{'rows':>12}{'MiB':>10}")
            total = 0.0
            for table, t in g["tables"].items():
                mib = t["total_bytes"] * per / 2**20
                total += mib
                rows = f"{t['rows'] * per:,.0f}" if t["rows"] is not None else "-"
                print(f"{table:<28}{rows:>12}{mib:>10.1f}")
            print(f"{'total':<28}{'':>12}{total:>10.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--url",
        default=os.environ.get(
            "TRUSTLEDGER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
        help="a database on the server in which the run may create its own",
    )
    parser.add_argument(
        "--sections", default="append,concurrent,verify,growth", help="comma-separated"
    )
    parser.add_argument("--entries", type=int, default=5000, help="decisions per batched run")
    parser.add_argument("--batch", type=int, default=100, help="decisions per append call")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--per-process", type=int, default=2000)
    parser.add_argument("--verify-db", default="/tmp/trustledger-bench/verify-1000000.db")
    parser.add_argument("--verify-repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--fresh-copy", action="store_true", help="copy --verify-db again")
    parser.add_argument("--growth-entries", type=int, default=100_000)
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    sections = set(args.sections.split(","))

    with psycopg.connect(args.url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    results: dict[str, Any] = {
        "machine": machine(),
        "server": f"PostgreSQL {row[0] if row else '?'} at {urlsplit(args.url).netloc}",
        "args": vars(args),
    }
    copy_url = None
    with scratch_database(args.url) as database_url:
        if "append" in sections:
            log("append: baseline, unsigned, signed, recorders ...")
            results["append"] = bench_append(database_url, args.entries, args.batch, args.repeat)
        if "concurrent" in sections:
            log(f"concurrent: {args.processes} processes ...")
            results["concurrent"] = bench_concurrent(
                database_url, args.processes, args.per_process, args.batch, args.workers
            )
        if "verify" in sections:
            log(f"verify: {args.verify_db} and its PostgreSQL copy ...")
            results["verify"] = bench_verify(
                args.url, args.verify_db, args.verify_repeat, args.workers, args.fresh_copy
            )
            copy_url = results["verify"]["postgres_url"]
        if "growth" in sections:
            log(f"growth: {args.growth_entries:,} decisions appended ...")
            if copy_url is None and os.path.exists(args.verify_db):
                copy_url, _ = copied_ledger(args.url, args.verify_db, args.fresh_copy)
            results["growth"] = bench_growth(
                database_url, args.growth_entries, copy_url, args.verify_db
            )
    print_summary(results)
    write_json(args.json, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
