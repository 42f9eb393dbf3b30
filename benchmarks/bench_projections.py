"""Standings projection: rebuild rate against reading the log, and one shop's standing.

The ledger is ``bench_verify.build()``'s (benchmarks/workload.py: about one shop per ten
decisions, so 1M decisions = 100k shops), or any ledger given with --source. It is copied
once (SQLite backup API; the source is opened read-only and never written) to
``DIR/projections-N.db``, because a rebuild writes the view into the ledger's own file.
Then, per repetition and in the same run, in alternating order:

* ``read``: the baseline. Page through eventsourcing's notification log
  (``select_notifications``, the same page size as the rebuild's batch), decode each
  notification to its domain event with the application's mapper and its signed payload
  with ``json.loads``: what any consumer of the log must do, without writing anything.
* ``rebuild``: ``trustledger_projections.projection.rebuild``, what `trustledger projections
  rebuild` runs (empty the view, apply the whole log, one transaction per batch with its
  tracking record).

Target: rebuild rate >= 0.5 x read rate (median of the per-repetition ratios).

* ``actions``: ``report_actions`` then its canonical JSON, what `trustledger report actions`
  runs (opens the ledger and the view, reads every shop's facts, folds each shop, lists and
  orders the work queue), on the view the repetition's rebuild just wrote.

Target: ``actions`` seconds < ``rebuild`` seconds (median of the per-repetition ratios < 1).

Then ``standing``: --queries random shops of the view, each answered two ways:
``standing_of`` (the function `trustledger standing SHOP` calls: opens the ledger and the
view, reads the rule sets, the head and the shop's facts, folds and judges) and
``shop_standing`` on a view kept open (the query and the pure fold alone).
Target: median of ``standing_of`` < 10 ms at 100k shops.

Run: python benchmarks/bench_projections.py --entries 1000000 --repeat 3 --json proj.json
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

import bench_verify
from trustledger.app.application import LedgerApplication
from trustledger.storage import open_store
from trustledger.storage.views import FACTS_TABLE, open_standings_view
from trustledger_projections.projection import rebuild
from trustledger_projections.queries import report_actions, standing_of
from trustledger_projections.report import ViewSource, format_json, shop_standing
from workload import machine, median, remove_db, write_json

AS_OF = datetime(2026, 12, 1, tzinfo=UTC)


def working_copy(source: str, path: str) -> str:
    """Copy the ledger at ``source`` to ``path`` (once), leaving ``source`` untouched."""
    if os.path.exists(path):
        return path
    partial = path + ".partial"
    remove_db(partial)
    start = time.perf_counter()
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(partial)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    os.replace(partial, path)
    seconds = time.perf_counter() - start
    print(f"  copied {source} to {path} ({seconds:.0f} s)", file=sys.stderr)
    return path


def run_read(path: str, batch: int) -> dict[str, float]:
    """Wall and CPU seconds to read and decode the whole notification log; events read."""
    store = open_store(f"sqlite:///{path}")
    app = LedgerApplication(store)
    recorder: Any = app.recorder
    start, cpu = time.perf_counter(), time.process_time()
    position, count = 0, 0
    while True:
        notifications = recorder.select_notifications(
            start=position, limit=batch, inclusive_of_start=False
        )
        if not notifications:
            break
        for notification in notifications:
            event = app.mapper.to_domain_event(notification)
            json.loads(getattr(event, "payload"))  # noqa: B009  # every ledger event has one
            Tracking(app.name, notification.id)
        count += len(notifications)
        position = notifications[-1].id
    result = {
        "seconds": time.perf_counter() - start,
        "cpu_seconds": time.process_time() - cpu,
        "events": count,
    }
    app.close()
    store.close()
    return result


def run_rebuild(path: str, batch: int) -> dict[str, float]:
    store = open_store(f"sqlite:///{path}")
    start, cpu = time.perf_counter(), time.process_time()
    outcome = rebuild(store, batch_size=batch)
    result = {
        "seconds": time.perf_counter() - start,
        "cpu_seconds": time.process_time() - cpu,
        "events": outcome.applied,
    }
    store.close()
    return result


def run_actions(path: str) -> dict[str, float]:
    """Wall and CPU seconds of the work queue over every shop; items listed."""
    start, cpu = time.perf_counter(), time.process_time()
    answer = report_actions(f"sqlite:///{path}", at=AS_OF)
    format_json(answer.value.document)
    return {
        "seconds": time.perf_counter() - start,
        "cpu_seconds": time.process_time() - cpu,
        "items": len(answer.value.document["items"]),
        "shops_with_items": len(answer.value.shop_ids),
    }


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run_standing(path: str, queries: int, seed: int = 7) -> dict[str, Any]:
    """Latencies (ms) of one shop's standing for ``queries`` random shops, both ways."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        shops = [
            row[0] for row in connection.execute(f"SELECT DISTINCT shop_id FROM {FACTS_TABLE}")
        ]
    finally:
        connection.close()
    sample = random.Random(seed).sample(shops, min(queries, len(shops)))
    url = f"sqlite:///{path}"

    cli: list[float] = []
    standing_of(url, sample[0], at=AS_OF)  # warm the page cache once
    for shop_id in sample:
        start = time.perf_counter()
        standing_of(url, shop_id, at=AS_OF)
        cli.append((time.perf_counter() - start) * 1000)

    store = open_store(url)
    view = open_standings_view(store)
    source = ViewSource(view)
    core: list[float] = []
    try:
        for shop_id in sample:
            start = time.perf_counter()
            shop_standing(source, shop_id, at=AS_OF)
            core.append((time.perf_counter() - start) * 1000)
    finally:
        view.close()
        store.close()
    return {
        "shops": len(shops),
        "queries": len(sample),
        "as_of": AS_OF.isoformat(),
        "standing_of_ms_median": statistics.median(cli),
        "standing_of_ms_p95": percentile(cli, 0.95),
        "standing_of_ms_max": max(cli),
        "open_view_ms_median": statistics.median(core),
        "open_view_ms_p95": percentile(core, 0.95),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument(
        "--source",
        metavar="DB",
        help="an existing SQLite ledger to copy (default: bench_verify's DIR/verify-N.db, "
        "built if absent)",
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch", type=int, default=5000, help="events per rebuild batch")
    parser.add_argument("--build-batch", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--dir", default="/tmp/trustledger-bench")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    os.makedirs(args.dir, exist_ok=True)
    source = args.source or bench_verify.build(args.dir, args.entries, args.build_batch)[0]
    name = os.path.basename(source).removesuffix(".db")
    path = working_copy(source, os.path.join(args.dir, f"projections-{name}.db"))

    rows: list[dict[str, Any]] = []
    for repetition in range(args.repeat):
        # Alternate the order, so that neither side always runs on a warmer cache.
        if repetition % 2 == 0:
            read = run_read(path, args.batch)
            built = run_rebuild(path, args.batch)
        else:
            built = run_rebuild(path, args.batch)
            read = run_read(path, args.batch)
        actions = run_actions(path)
        row = {
            "actions": actions,
            "actions_to_rebuild": actions["seconds"] / built["seconds"],
            "read_per_s": read["events"] / read["seconds"],
            "rebuild_per_s": built["events"] / built["seconds"],
            "ratio": read["seconds"] / built["seconds"] * built["events"] / read["events"],
            "cpu_ratio": read["cpu_seconds"] / built["cpu_seconds"],
            "read": read,
            "rebuild": built,
        }
        rows.append(row)
        print(
            f"  rep {repetition + 1}/{args.repeat}: read {row['read_per_s']:,.0f}/s, rebuild "
            f"{row['rebuild_per_s']:,.0f}/s, ratio {row['ratio']:.2f}; report actions "
            f"{actions['seconds']:.1f} s = {row['actions_to_rebuild']:.2f} x the rebuild",
            file=sys.stderr,
        )
    standing = run_standing(path, args.queries)
    ratio = median([r["ratio"] for r in rows])
    actions_ratio = median([r["actions_to_rebuild"] for r in rows])
    results = {
        "machine": machine(),
        "args": vars(args),
        "ledger": path,
        "events": rows[0]["rebuild"]["events"],
        "repetitions": rows,
        "median_read_per_s": median([r["read_per_s"] for r in rows]),
        "median_rebuild_per_s": median([r["rebuild_per_s"] for r in rows]),
        "median_ratio": ratio,
        "median_cpu_ratio": median([r["cpu_ratio"] for r in rows]),
        "rebuild_target_met": ratio >= 0.5,
        "median_actions_seconds": median([r["actions"]["seconds"] for r in rows]),
        "median_rebuild_seconds": median([r["rebuild"]["seconds"] for r in rows]),
        "median_actions_to_rebuild": actions_ratio,
        "actions_target_met": actions_ratio < 1,
        "standing": standing,
        "standing_target_met": standing["standing_of_ms_median"] < 10,
    }
    print(f"\nmachine: {results['machine']}")
    print(f"events {results['events']:,}, batch {args.batch}, {args.repeat} repetitions")
    print(f"  read+decode   {results['median_read_per_s']:>10,.0f} events/s (median)")
    print(f"  rebuild       {results['median_rebuild_per_s']:>10,.0f} events/s (median)")
    print(f"  ratio         {ratio:>10.2f} (target >= 0.50: "
          f"{'met' if results['rebuild_target_met'] else 'MISSED'})")  # fmt: skip
    print(f"report actions  {results['median_actions_seconds']:>8.1f} s against rebuild "
          f"{results['median_rebuild_seconds']:.1f} s: {actions_ratio:.2f} x (target < 1: "
          f"{'met' if results['actions_target_met'] else 'MISSED'}); "
          f"{rows[0]['actions']['items']:,} items, {rows[0]['actions']['shops_with_items']:,} "
          "shops")  # fmt: skip
    print(f"standing of one shop, {standing['queries']} random of {standing['shops']:,} shops")
    print(f"  standing_of   median {standing['standing_of_ms_median']:.2f} ms, p95 "
          f"{standing['standing_of_ms_p95']:.2f} ms (target median < 10 ms: "
          f"{'met' if results['standing_target_met'] else 'MISSED'})")  # fmt: skip
    print(f"  open view     median {standing['open_view_ms_median']:.2f} ms, p95 "
          f"{standing['open_view_ms_p95']:.2f} ms")  # fmt: skip
    write_json(args.json, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
