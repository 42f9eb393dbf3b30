"""The append API: enforcement tooling appends decisions it signed itself (docs/API.md,
"HTTP API"; docs/DESIGN.md, "The append API: prepare, then commit").

    POST /v1/decisions:prepare   decision documents → the exact payload to sign for each
    POST /v1/decisions           signed records {payload, signature, key_id} → positions

Both take one JSON object, a JSON array or JSON Lines (as ``trustledger append``), need
``Authorization: Bearer TOKEN`` with one of ``Service.append_tokens`` (401 otherwise; TLS
client certificates are checked by the reverse proxy in front, docs/OPERATIONS.md), and
refuse a body over ``Service.max_request_bytes`` or more than ``Service.max_batch``
records with 413. A commit is all-or-nothing and idempotent by decision id, as the CLI's
append; refusals are RFC 9457 problem details whose ``errors`` member lists every invalid
record as ``{line, decision_id, detail}``:

    400  the body is not UTF-8 JSON / JSON Lines (the line is named), or holds no record
    401  no valid bearer token
    409  BatchRejected (exit 4): a record breaks a rule, a key is unknown or revoked, a
         decision id is recorded with other content; nothing was written
    413  body or batch too large
    422  SignatureRejected (exit 1): a signature does not verify; nothing was written
    503  the store is unavailable (exit 5); nothing was written, retry
"""

from __future__ import annotations

import asyncio
import hmac
import queue
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import asdict
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from trustledger.app.ledger import Ledger
from trustledger.app.records import Record, read_records
from trustledger.errors import BatchRejected, SignatureRejected, StorageUnavailable
from trustledger_server.app import Service
from trustledger_server.problems import problem, status_of

T = TypeVar("T")

#: Ledgers (store connections with their warm shop states) kept open per service.
POOL_SIZE = 4


class _Worker:
    """One open ledger and the one thread that uses it (a SQLite connection belongs to the
    thread that opened it), fed through a SimpleQueue: putting on one is safe from a
    weakref callback (the pool's finalizer), where a lock already held could deadlock."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.ledger: Ledger | None = None
        self.jobs: queue.SimpleQueue[tuple[Callable[[Ledger], Any], Future[Any]] | None] = (
            queue.SimpleQueue()
        )
        threading.Thread(target=self._serve, name="trustledger-append", daemon=True).start()

    def submit(self, work: Callable[[Ledger], T]) -> Future[T]:
        future: Future[T] = Future()
        self.jobs.put((work, future))
        return future

    def _serve(self) -> None:
        while (job := self.jobs.get()) is not None:
            work, future = job
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(self._call(work))
                except BaseException as exc:
                    future.set_exception(exc)
        if self.ledger is not None:
            self.ledger.close()

    def _call(self, work: Callable[[Ledger], T]) -> T:
        if self.ledger is None:
            self.ledger = Ledger.open(self.url)
        try:
            return work(self.ledger)
        except StorageUnavailable:
            # A ledger whose store failed is reopened for the next request, not reused.
            ledger, self.ledger = self.ledger, None
            ledger.close()
            raise


class LedgerPool:
    """Open ledgers lent to one request at a time, each used by its own thread, off the
    event loop: the shop states an append warms stay warm for the next request. The stores
    serialise the writes themselves (app.append)."""

    def __init__(self, url: str, size: int = POOL_SIZE) -> None:
        workers = [_Worker(url) for _ in range(size)]
        # Last in, first out: one client posting in turn keeps using the warmest ledger.
        self._idle: asyncio.LifoQueue[_Worker] = asyncio.LifoQueue()
        for worker in workers:
            self._idle.put_nowait(worker)
        jobs = [worker.jobs for worker in workers]
        self.close = weakref.finalize(self, _stop, jobs)

    async def run(self, work: Callable[[Ledger], T]) -> T:
        """``work(ledger)`` in a free worker's thread."""
        worker = await self._idle.get()
        try:
            return await asyncio.wrap_future(worker.submit(work))
        finally:
            self._idle.put_nowait(worker)


def _stop(jobs: list[queue.SimpleQueue[Any]]) -> None:
    # Each worker closes its ledger in its own thread, and ends.
    for queue_ in jobs:
        queue_.put(None)


class _Refused(Exception):
    """A request refused before the library sees it; carries its problem response."""

    def __init__(self, response: Response) -> None:
        self.response = response


def routes(service: Service) -> list[BaseRoute]:
    """The append API's routes for ``service``."""
    pool = LedgerPool(service.url)

    def batch(
        work: Callable[[Ledger, list[Record]], list[Any]], member: str
    ) -> Callable[[Request], Any]:
        # Both routes: read the records (or refuse the request), run ``work`` on a pooled
        # ledger, answer the items it returns under ``member`` or the batch's problem.
        async def endpoint(request: Request) -> Response:
            try:
                records = await _records(request, service)
            except _Refused as refused:
                return refused.response
            try:
                done = await pool.run(lambda ledger: work(ledger, records))
            except (BatchRejected, SignatureRejected) as exc:
                return _batch_problem(exc)
            return JSONResponse({member: [asdict(item) for item in done]})

        return endpoint

    prepare = batch(lambda ledger, records: ledger.prepare(records), "prepared")
    commit = batch(lambda ledger, records: ledger.append_signed(records), "outcomes")

    return [
        Route("/v1/decisions:prepare", prepare, methods=["POST"]),
        Route("/v1/decisions", commit, methods=["POST"]),
    ]


def authorised(header: str | None, tokens: frozenset[str]) -> bool:
    """True when ``header`` is ``Bearer TOKEN`` with one of ``tokens``, compared in constant
    time (each token is compared, whichever matches)."""
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return False
    given = token.strip().encode()
    found = False
    for expected in tokens:
        found |= hmac.compare_digest(given, expected.encode())
    return found


async def _records(request: Request, service: Service) -> list[Record]:
    """The request's records, after the credential and the limits; raises _Refused."""
    if not authorised(request.headers.get("authorization"), service.append_tokens):
        response = problem(
            401, "Unauthorized", "posting needs `Authorization: Bearer TOKEN` with a token "
            "the operator configured"
        )  # fmt: skip
        response.headers["WWW-Authenticate"] = 'Bearer realm="trustledger"'
        raise _Refused(response)
    body = await _body(request, service.max_request_bytes)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        raise _Refused(
            problem(
                400,
                "Bad Request",
                f"line {line}: not UTF-8 (byte 0x{body[exc.start]:02x})",
                errors=[{"line": line, "decision_id": None, "detail": "not UTF-8"}],
            )
        ) from exc
    records = []
    for record in read_records(text):
        records.append(record)
        if len(records) > service.max_batch:
            raise _Refused(
                problem(
                    413,
                    "Content Too Large",
                    f"more than {service.max_batch} records in one request: split the batch",
                )
            )
    malformed = [r for r in records if r.error is not None]
    if malformed:
        raise _Refused(
            problem(
                400,
                "Bad Request",
                f"line {malformed[0].line}: {malformed[0].error}",
                errors=[
                    {"line": r.line, "decision_id": None, "detail": r.error} for r in malformed
                ],
            )
        )
    if not records:
        raise _Refused(problem(400, "Bad Request", "no records in the request body"))
    return records


async def _body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed ``limit`` bytes: by its
    Content-Length, or by the bytes received (chunked, or a Content-Length that lies)."""
    too_large = problem(
        413, "Content Too Large", f"the request body exceeds {limit} bytes: split the batch"
    )
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise _Refused(problem(400, "Bad Request", "Content-Length is not a number"))
        if int(declared) > limit:
            raise _Refused(too_large)
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise _Refused(too_large)
        chunks.append(chunk)
    return b"".join(chunks)


def _batch_problem(exc: BatchRejected | SignatureRejected) -> Response:
    errors: list[dict[str, Any]] = [
        {"line": line, "decision_id": decision_id, "detail": detail}
        for line, decision_id, detail in exc.problems
    ]
    return problem(status_of(exc), type(exc).__name__, str(exc), errors=errors)
