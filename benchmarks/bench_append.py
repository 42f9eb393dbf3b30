"""Append throughput of trustledger against plain eventsourcing, measured in the same run.

Per repetition, each on a fresh SQLite file under --dir (interleaved, so that noise on a
shared machine hits every variant alike):

* ``baseline``: a plain eventsourcing Application (eventsourcing.sqlite) saving the same
  number of events, --batch per ``save()`` call: one Aggregate per shop, one event per
  decision, each event carrying the very ``payload``/``signature``/``key_id`` strings our
  stored events carry (so the stored states are the same JSON, escapes included, but for
  the aggregate's topic and the timestamp);
* ``signed``: ``Ledger.append`` of the workload in batches, signed by a real Ed25519 key;
* ``unsigned``: the same with a signer whose ``sign()`` returns a precomputed 64-byte value
  (signing excluded; such a ledger does not verify, which is irrelevant here);
* ``single``: ``Ledger.append`` of one decision per call (real signing), and the baseline
  saving one event per ``save()``.

Run: python benchmarks/bench_append.py --entries 5000 --repeat 5 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import time
from collections.abc import Iterable
from typing import Any

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from trustledger.app.ledger import Ledger
from trustledger.ledger.keys import SigningKey, generate_signing_key
from workload import batches, machine, median, remove_db, write_json


class PrecomputedSigner(SigningKey):
    """``key`` as a SigningKey whose ``sign`` costs nothing (always the same 64 bytes):
    appending with it measures everything but the Ed25519 signing."""

    _signature: bytes

    def __init__(self, key: SigningKey) -> None:
        super().__init__(key.name, key.private_key)
        object.__setattr__(self, "_signature", key.sign(b"benchmark"))  # a frozen dataclass

    def sign(self, message: bytes) -> bytes:
        return self._signature


class BenchShop(Aggregate):
    """The baseline's aggregate: one per shop, one event per decision."""

    @event("Registered")
    def __init__(self, payload: str, signature: str, key_id: str) -> None:
        pass

    @event("Decided")
    def decide(self, payload: str, signature: str, key_id: str) -> None:
        pass


def new_ledger(url: str, signer: Any) -> tuple[Ledger, SigningKey]:
    """A new ledger at ``url`` with ``signer``'s key registered by a fresh root key."""
    root = generate_signing_key("bench-root")
    ledger, _ = Ledger.init(url, root)
    ledger.register_key(signer.verifier, by=root)
    return ledger, root


def run_ledger(url: str, work: list[list[dict[str, Any]]], signer: Any) -> float:
    """Seconds to append every batch of ``work`` to a fresh ledger at ``url``."""
    ledger, _ = new_ledger(url, signer)
    try:
        start = time.perf_counter()
        for batch in work:
            ledger.append(batch, signer=signer)
        return time.perf_counter() - start
    finally:
        ledger.close()


def _fresh_sqlite(path: str) -> str:
    remove_db(path)
    return f"sqlite:///{path}"


def decision_fields(states: Iterable[bytes]) -> list[tuple[str, str, str, str]]:
    """(shop_id, payload, signature, key_id) of each stored decision state, in order."""
    fields = []
    for state in states:
        obj = json.loads(state)
        shop_id = json.loads(obj["payload"])["shop_id"]
        fields.append((shop_id, obj["payload"], obj["signature"], obj["key_id"]))
    return fields


def stored_fields(path: str) -> list[tuple[str, str, str, str]]:
    """``decision_fields`` of every decision stored in the SQLite ledger at ``path``."""
    connection = sqlite3.connect(path)
    try:
        rows = connection.execute(
            "SELECT state FROM stored_events WHERE topic NOT LIKE 'trustledger:key%' "
            "AND topic != 'trustledger:ledger.initialised' ORDER BY rowid"
        ).fetchall()
    finally:
        connection.close()
    return decision_fields(state for (state,) in rows)


def _baseline_app(path: str) -> Application[Any]:
    remove_db(path)
    return Application(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": path})


def run_baseline(path: str, events: list[tuple[str, str, str, str]], batch: int) -> float:
    """Seconds for plain eventsourcing on SQLite to save events with the same fields."""
    return time_plain_saves(_baseline_app(path), events, batch)


def time_plain_saves(
    app: Application[Any], events: list[tuple[str, str, str, str]], batch: int
) -> float:
    """Seconds for ``app`` (plain eventsourcing, any store; closed afterwards) to save one
    event per ``(shop_id, payload, signature, key_id)`` of ours, one aggregate per shop,
    ``batch`` events per save. (Our payloads are an output of the timed work; the
    baseline's are given, made before timing.)"""
    aggregates: dict[str, BenchShop] = {}
    try:
        start = time.perf_counter()
        for offset in range(0, len(events), batch):
            touched: dict[str, BenchShop] = {}
            for shop_id, payload, signature, key_id in events[offset : offset + batch]:
                aggregate = aggregates.get(shop_id)
                if aggregate is None:
                    aggregate = aggregates[shop_id] = BenchShop(payload, signature, key_id)
                else:
                    aggregate.decide(payload, signature, key_id)
                touched[shop_id] = aggregate
            app.save(*touched.values())
        return time.perf_counter() - start
    finally:
        app.close()


def run_single(path: str, work: list[dict[str, Any]], signer: SigningKey) -> float:
    ledger, _ = new_ledger(_fresh_sqlite(path), signer)
    try:
        start = time.perf_counter()
        for document in work:
            ledger.append([document], signer=signer)
        return time.perf_counter() - start
    finally:
        ledger.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=5000, help="decisions per batched run")
    parser.add_argument("--batch", type=int, default=100, help="decisions per append call")
    parser.add_argument("--single", type=int, default=500, help="decisions, one per call")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dir", default="/tmp/trustledger-bench")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    os.makedirs(args.dir, exist_ok=True)
    db = os.path.join(args.dir, f"append-{os.getpid()}.db")

    work = batches(args.entries, args.batch)
    singles = [doc for part in batches(args.single, 1, prefix="single") for doc in part]
    key = generate_signing_key("bench-decider")
    fake = PrecomputedSigner(key)

    # Warm-up (imports, caches) and the stored fields the baseline saves again.
    run_ledger(_fresh_sqlite(db), work, key)
    fields = stored_fields(db)
    assert len(fields) == args.entries, (len(fields), args.entries)

    runs: dict[str, list[float]] = {
        "baseline": [], "signed": [], "unsigned": [], "single": [], "baseline_single": []
    }  # fmt: skip
    for repetition in range(args.repeat):
        runs["baseline"].append(args.entries / run_baseline(db, fields, args.batch))
        runs["signed"].append(args.entries / run_ledger(_fresh_sqlite(db), work, key))
        runs["unsigned"].append(args.entries / run_ledger(_fresh_sqlite(db), work, fake))
        if args.single:
            runs["single"].append(args.single / run_single(db, singles, key))
            runs["baseline_single"].append(args.single / run_baseline(db, fields[: args.single], 1))
        print(
            f"rep {repetition + 1}/{args.repeat}: "
            + ", ".join(f"{name} {values[-1]:,.0f}/s" for name, values in runs.items() if values),
            file=sys.stderr,
        )
    remove_db(db)

    medians = {name: median(values) for name, values in runs.items() if values}
    pairs = list(zip(runs["baseline"], runs["signed"], runs["unsigned"], strict=True))
    paired_unsigned = median([unsigned / base for base, _, unsigned in pairs])
    paired_signed = median([signed / base for base, signed, _ in pairs])
    result = {
        "machine": machine(),
        "args": vars(args),
        "decisions_per_second": runs,
        "medians": medians,
        "ratio_unsigned_to_baseline": medians["unsigned"] / medians["baseline"],
        "ratio_signed_to_baseline": medians["signed"] / medians["baseline"],
        "paired_ratio_unsigned": paired_unsigned,
        "paired_ratio_signed": paired_signed,
        "signing_share_of_signed_time": 1 - medians["signed"] / medians["unsigned"],
        "target_unsigned_ratio": 0.70,
        "target_met": medians["unsigned"] / medians["baseline"] >= 0.70,
    }

    print(f"\nmachine: {result['machine']}")
    print(f"{args.entries} decisions, {args.batch} per call, {args.repeat} repetitions (medians)")
    print(f"{'variant':<34}{'decisions/s':>14}{'vs baseline':>14}")
    rows = [
        ("plain eventsourcing (baseline)", medians["baseline"]),
        ("trustledger, signing excluded", medians["unsigned"]),
        ("trustledger, signing included", medians["signed"]),
    ]
    for name, value in rows:
        print(f"{name:<34}{value:>14,.0f}{value / medians['baseline']:>13.2f}x")
    if args.single:
        print(f"\nsingle-decision appends ({args.single} per run)")
        print(f"{'trustledger, one per call':<34}{medians['single']:>14,.0f}"
              f"{medians['single'] / medians['baseline_single']:>13.2f}x")  # fmt: skip
        print(f"{'eventsourcing, one per save':<34}{medians['baseline_single']:>14,.0f}")
    verdict = "MET" if result["target_met"] else "MISSED"
    ratio = result["ratio_unsigned_to_baseline"]
    print(f"\ntarget (signing excluded >= 0.70x baseline): {verdict} "
          f"({ratio:.2f}x; paired {paired_unsigned:.2f}x)")  # fmt: skip
    write_json(args.json, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
