"""Standings projection: rebuild rate against reading the log, and one shop's standing.

A ledger of --entries decisions (benchmarks/workload.py: about one shop per ten decisions,
so 1M decisions = 100k shops) is built once under --dir (decisions signed with a
precomputed signature: the projection never checks signatures, so building skips Ed25519)
and reused. Then, per repetition and in the same run:

* ``read``: the baseline. Page through eventsourcing's notification log
  (``select_notifications``, the same page size as the rebuild's batch), decode each
  notification to its domain event with the application's mapper and its signed payload
  with ``json.loads``: what any consumer of the log must do, without writing anything.
* ``rebuild``: ``trustledger_projections.projection.rebuild`` (empty the view, apply the
  whole log, one transaction per batch with its tracking record).

Target: rebuild rate >= 0.5 x read rate. Then ``standing``: --queries random shops, each
``shop_standing`` from the view (a query of that shop's facts + the pure fold), median and
p95 latency. Target: median < 10 ms at 100k shops.

Run: python benchmarks/bench_projections.py --entries 1000000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import sys
import time
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import Tracking

from bench_append import PrecomputedSigner
from trustledger.app.application import LedgerApplication
from trustledger.app.ledger import Ledger
from trustledger.ledger.keys import generate_signing_key
from trustledger.storage import open_store
from trustledger.storage.views import open_standings_view
from trustledger_projections.projection import rebuild
from trustledger_projections.report import ViewSource, shop_standing
from workload import Workload, machine, median, remove_db


def build(directory: str, entries: int, batch: int = 1000) -> str:
    path = os.path.join(directory, f"projections-{entries}.db")
    if os.path.exists(path) and os.path.exists(path + ".json"):
        return path
    partial = path + ".partial"
    remove_db(partial)
    root = generate_signing_key("bench-root")
    signer: Any = PrecomputedSigner(generate_signing_key("bench-decider"))
    ledger, _ = Ledger.init(f"sqlite:///{partial}", root)
    ledger.register_key(signer.verifier, by=root)
    stream = Workload().decisions(entries)
    start = time.perf_counter()
    done = 0
    while done < entries:
        part = [next(stream) for _ in range(min(batch, entries - done))]
        ledger.append(part, signer=signer)
        done += len(part)
        if done % 100_000 == 0 or done == entries:
            rate = done / (time.perf_counter() - start)
            print(f"  built {done:,}/{entries:,} ({rate:,.0f}/s)", file=sys.stderr)
    ledger.close()
    connection = sqlite3.connect(partial)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    remove_db(path)
    os.replace(partial, path)
    with open(path + ".json", "w", encoding="utf-8") as meta:
        json.dump({"entries": entries}, meta)
    return path


def run_read(path: str, batch: int) -> tuple[float, int]:
    """Seconds to read and decode the whole notification log; events read."""
    store = open_store(f"sqlite:///{path}")
    app = LedgerApplication(store)
    recorder: Any = app.recorder
    start = time.perf_counter()
    position, count = 0, 0
    while True:
        notifications = recorder.select_notifications(
            start=position, limit=batch, inclusive_of_start=False
        )
        if not notifications:
            break
        for notification in notifications:
            event = app.mapper.to_domain_event(notification)
            json.loads(event.payload)
            Tracking(app.name, notification.id)
        count += len(notifications)
        position = notifications[-1].id
    elapsed = time.perf_counter() - start
    app.close()
    store.close()
    return elapsed, count


def run_rebuild(path: str, batch: int) -> tuple[float, int]:
    store = open_store(f"sqlite:///{path}")
    start = time.perf_counter()
    result = rebuild(store, batch_size=batch)
    elapsed = time.perf_counter() - start
    store.close()
    return elapsed, result.applied


def run_standing(path: str, queries: int, seed: int = 7) -> tuple[list[float], int]:
    """Latencies (ms) of ``shop_standing`` for random shops; the number of shops."""
    store = open_store(f"sqlite:///{path}")
    view = open_standings_view(store)
    source = ViewSource(view)
    shops = [
        row[0]
        for row in sqlite3.connect(path).execute(
            "SELECT DISTINCT shop_id FROM trustledger_standing_facts"
        )
    ]
    rng = random.Random(seed)
    at = datetime(2026, 12, 1, tzinfo=UTC)
    shop_standing(source, shops[0], at=at)  # warm the connection
    latencies = []
    for shop_id in rng.sample(shops, min(queries, len(shops))):
        start = time.perf_counter()
        shop_standing(source, shop_id, at=at)
        latencies.append((time.perf_counter() - start) * 1000)
    view.close()
    store.close()
    return latencies, len(shops)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--dir", default="/tmp/trustledger-bench")
    args = parser.parse_args(argv)
    os.makedirs(args.dir, exist_ok=True)
    path = build(args.dir, args.entries)
    rows = []
    for repetition in range(args.repeat):
        read_s, read_n = run_read(path, args.batch)
        rebuild_s, rebuild_n = run_rebuild(path, args.batch)
        row = {
            "read_per_s": read_n / read_s,
            "rebuild_per_s": rebuild_n / rebuild_s,
            "ratio": (rebuild_n / rebuild_s) / (read_n / read_s),
            "events": rebuild_n,
        }
        rows.append(row)
        print(f"  rep {repetition + 1}: {json.dumps(row)}", file=sys.stderr)
    latencies, shops = run_standing(path, args.queries)
    result = {
        "machine": machine(),
        "entries": args.entries,
        "batch": args.batch,
        "repetitions": rows,
        "median_read_per_s": median([r["read_per_s"] for r in rows]),
        "median_rebuild_per_s": median([r["rebuild_per_s"] for r in rows]),
        "median_ratio": median([r["ratio"] for r in rows]),
        "shops": shops,
        "standing_ms_median": statistics.median(latencies),
        "standing_ms_p95": statistics.quantiles(latencies, n=20)[-1],
        "standing_queries": len(latencies),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
