"""Which tables and indexes one append's commit rewrites, on the SQLite ledger
``bench_growth.py`` built in --dir: the pages of the WAL frames of one batch, by the object
``dbstat`` says owns them.

Automatic checkpoints are turned off for the appender's connections and the WAL is
checkpointed just before the batch, so the WAL then holds exactly that batch's commit.

Run (after ``bench_growth.py --dir /tmp/growth ...``; it appends to that ledger):
    python benchmarks/wal_pages.py --dir /tmp/growth
"""

from __future__ import annotations

import argparse
import sqlite3
import struct
import sys
from collections import Counter
from typing import Any

WAL_HEADER = 32
FRAME_HEADER = 24


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", default="/tmp/trustledger-growth", help="bench_growth's --dir")
    parser.add_argument("--batch", type=int, default=1_000, help="decisions in the batch")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    connect = sqlite3.connect

    def without_checkpoints(*positional: Any, **named: Any) -> Any:
        connection = connect(*positional, **named)
        connection.execute("PRAGMA wal_autocheckpoint = 0")
        return connection

    sqlite3.connect = without_checkpoints  # the ledger's own connections
    from bench_growth import append_timed, open_existing, stream_of
    from workload import write_json

    args.store, args.pg_database, args.url = "sqlite", "", None
    url, ledger, signer, size = open_existing(args)
    path = url.removeprefix("sqlite:///")
    stream = stream_of(size, args.decision_ids)
    append_timed(ledger, stream, args.batch, args.batch, signer)  # caches warm
    with connect(path) as admin:
        admin.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = admin.execute("PRAGMA page_size").fetchone()[0]
    append_timed(ledger, stream, args.batch, args.batch, signer)
    ledger.close()
    with open(path + "-wal", "rb") as wal:
        data = wal.read()
    pages: set[int] = set()
    frames = 0
    for offset in range(WAL_HEADER, len(data) - FRAME_HEADER + 1, FRAME_HEADER + page_size):
        pages.add(struct.unpack(">I", data[offset : offset + 4])[0])
        frames += 1
    with connect(f"file:{path}?mode=ro", uri=True) as reader:
        owner = dict(reader.execute("SELECT pageno, name FROM dbstat").fetchall())
    by_object = Counter(owner.get(page, "?") for page in pages)
    print(
        f"at {size + args.batch:,} decisions, one batch of {args.batch:,}: {frames:,} WAL "
        f"frames, {len(pages):,} pages ({len(pages) / args.batch:.2f} a decision, "
        f"{len(pages) * page_size / 1e6:.1f} MB)"
    )
    for name, count in by_object.most_common():
        print(f"{count:8,}  {name}")
    write_json(args.json, {"size": size, "frames": frames, "pages": dict(by_object)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
