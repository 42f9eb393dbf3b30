"""psycopg's pipeline mode hangs on a large statement; no trustledger code involved.

Why trustledger writes without pipeline mode (storage.postgres.LedgerPostgresRecorder):
psycopg 3.3.9 (the latest release; also its C implementation, psycopg-binary) sends the
queued commands of a pipeline in ``generators._pipeline_communicate``, which calls
``pgconn.flush()`` once per write-ready wake-up and ignores its result: 1 means "data is
still in libpq's output buffer". When the commands run out before the buffer is empty the
loop stops asking for write-readiness and waits for results, while the server waits for
the rest of the statement (``pg_stat_activity.wait_event = 'ClientRead'``): both wait for
good, the server holding whatever locks the transaction took. A statement of tens of MB
(a batch of 50,000 decisions) overflows the socket buffers most of the time; a few MB
rarely does. Same report upstream: https://github.com/psycopg/psycopg/issues/685.

Not run by pytest (the name does not start with ``test_``): run it by hand,

    python tests/postgres/psycopg_pipeline_repro.py postgresql://postgres@127.0.0.1:5432/test

It tries a few times with pipeline mode and without; a try that does not finish in
--timeout seconds counts as hung (its connection is then terminated from another one).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time

import psycopg

ROWS = 50_000  # about a batch of 50,000 decisions: 1 kB a row, one statement
STATE = b"x" * 1_000


def insert(url: str, *, pipeline: bool) -> None:
    """One INSERT of ROWS rows sent as binary arrays, as trustledger's recorder sends them."""
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TEMPORARY TABLE t (id bigint, state bytea)")
        params = (list(range(ROWS)), [STATE] * ROWS)
        sql = "INSERT INTO t SELECT * FROM unnest(%b::bigint[], %b::bytea[])"
        if pipeline:
            with conn.pipeline() as p, conn.transaction():
                conn.execute(sql, params)
                p.sync()
        else:
            with conn.transaction():
                conn.execute(sql, params)


def attempt(url: str, *, pipeline: bool, timeout: float) -> bool:
    """Whether one insert finished within ``timeout`` seconds (else it is terminated)."""
    done = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            insert(url, pipeline=pipeline)
        except BaseException as exc:  # reported below; a terminated hang ends here
            failure.append(exc)
        finally:
            done.set()

    threading.Thread(target=run, daemon=True).start()
    if done.wait(timeout):
        if failure:
            raise failure[0]
        return True
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE wait_event = 'ClientRead' AND query LIKE 'INSERT INTO t %%' "
            "AND pid <> pg_backend_pid()"
        )
    done.wait(10)
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--tries", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=20.0)
    args = parser.parse_args()
    print(f"psycopg {psycopg.__version__}, implementation {psycopg.pq.__impl__}")
    for pipeline in (True, False):
        hung = 0
        for _ in range(args.tries):
            start = time.perf_counter()
            finished = attempt(args.url, pipeline=pipeline, timeout=args.timeout)
            hung += not finished
            print(
                f"pipeline={pipeline}: {'ok' if finished else 'HUNG'} "
                f"({time.perf_counter() - start:.1f} s)",
                flush=True,
            )
        print(f"pipeline={pipeline}: {hung} of {args.tries} hung")
    return 0


if __name__ == "__main__":
    sys.exit(main())
