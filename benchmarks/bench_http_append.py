"""Appends over HTTP (the append API) against the Python API on the same store type, in the
same run (issue 17: at least 0.70x).

Both sides append the same workload (benchmarks/workload.py, personal data included) in
batches of --batch decisions, pre-signed before the clock starts (client-side signing is
excluded on both sides): each side prepares its records against its own fresh store (the
sealed personal data is bound to that store's subject keys), signs them with the decider's
key, then only the appending is timed:

* ``api``:  ``Ledger.append_signed(batch)`` per batch, in this process;
* ``http``: ``LedgerClient.commit(batch)`` per batch, one ``POST /v1/decisions`` each, to a
  server in a subprocess (uvicorn serving the append routes, as `trustledger serve` does)
  on 127.0.0.1.

Repetitions alternate the two, each on a fresh store (SQLite files under --dir, or fresh
schemas of --postgres URL). The ratio is the median http rate over the median api rate.

Run: python benchmarks/bench_http_append.py --entries 5000 --repeat 3 [--postgres URL]
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from trustledger.app.client import LedgerClient, SignedRecord
from trustledger.app.ledger import Ledger
from trustledger.ledger.envelope import sign_payload
from trustledger.ledger.keys import SigningKey, generate_signing_key
from workload import batches, machine, median, remove_db, write_json

try:
    from bench_postgres import scratch_database
except ImportError:  # pragma: no cover
    scratch_database = None  # type: ignore[assignment]

TOKEN = secrets.token_urlsafe(16)

_RUNNER = """
import sys, uvicorn
from trustledger_server import writes
from trustledger_server.app import Service, create_app
url, token, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
service = Service(url, append_tokens=frozenset({token}))
uvicorn.run(create_app(service, [writes.routes]), host="127.0.0.1", port=port,
            log_level="warning", access_log=False)
"""


def fresh_store(args: argparse.Namespace, name: str) -> str:
    if args.postgres:
        sep = "&" if "?" in args.postgres else "?"
        return f"{args.postgres}{sep}schema=bench_{name}_{secrets.token_hex(3)}"
    path = os.path.join(args.dir, f"{name}.db")
    remove_db(path)
    return f"sqlite:///{path}"


def new_ledger(url: str, bot: SigningKey) -> Ledger:
    root = generate_signing_key("bench-root")
    ledger, _ = Ledger.init(url, root)
    ledger.register_key(bot.verifier, by=root)
    return ledger


def run_api(url: str, work: list[list[dict[str, Any]]], bot: SigningKey) -> float:
    """Seconds for ``Ledger.append_signed`` of the pre-signed batches."""
    with new_ledger(url, bot) as ledger:
        signed = []
        for batch in work:  # prepared and signed before the clock starts
            records = []
            for item in ledger.prepare(batch):
                s = sign_payload(item.payload, bot)
                records.append(
                    {"payload": s.payload, "signature": s.signature_b64, "key_id": str(s.key_id)}
                )
            signed.append(records)
        start = time.perf_counter()
        for records in signed:
            ledger.append_signed(records)
        return time.perf_counter() - start


@contextmanager
def server(url: str) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-c", _RUNNER, url, TOKEN, str(port)])
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(base + "/", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.05)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def run_http(url: str, work: list[list[dict[str, Any]]], bot: SigningKey) -> float:
    """Seconds for one ``POST /v1/decisions`` per pre-signed batch."""
    new_ledger(url, bot).close()
    with server(url) as base, LedgerClient(base, TOKEN, signer=bot) as client:
        signed: list[list[SignedRecord]] = [client.sign(batch) for batch in work]
        start = time.perf_counter()
        for records in signed:
            client.commit(records)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", default=".")
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL database to use")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args()

    if args.postgres:
        assert scratch_database is not None
        with scratch_database(args.postgres) as database:  # made and dropped here
            args.postgres = database
            run(args)
    else:
        run(args)


def run(args: argparse.Namespace) -> None:
    bot = generate_signing_key("bench-bot")
    work = batches(args.entries, args.batch)
    rates: dict[str, list[float]] = {"api": [], "http": []}
    for rep in range(args.repeat):
        for name, side in (("api", run_api), ("http", run_http)):
            seconds = side(fresh_store(args, f"{name}{rep}"), work, bot)
            rates[name].append(args.entries / seconds)
            print(f"{name:<5} rep {rep + 1}: {args.entries / seconds:,.0f} decisions/s",
                  file=sys.stderr)  # fmt: skip
    api, http = median(rates["api"]), median(rates["http"])
    ratio = http / api
    print(f"api  {api:,.0f} decisions/s (median)")
    print(f"http {http:,.0f} decisions/s (median), {args.batch} a request")
    print(f"ratio http/api {ratio:.2f} (target >= 0.70)")
    write_json(
        args.json,
        {
            "machine": machine(),
            "store": "postgresql" if args.postgres else "sqlite",
            "entries": args.entries,
            "batch": args.batch,
            "rates": rates,
            "api_median": api,
            "http_median": http,
            "ratio": ratio,
        },
    )


if __name__ == "__main__":
    main()
