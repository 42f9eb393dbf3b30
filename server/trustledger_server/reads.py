"""The read API, C2SP tlog-tiles (c2sp.org/tlog-tiles): ``GET /checkpoint`` and
``GET /tile/<L>/<N>[.p/<W>]``, ``GET /tile/entries/<N>[.p/<W>]``. No credential.

One ``Reads`` per process serves every request: a few read-only stores, each lent to one
worker thread at a time (a SQLite connection is not shared by two threads at once, a
PostgreSQL one not held by a waiting request), and the served checkpoint kept for
``CHECKPOINT_TTL`` seconds. A tile beyond the kept checkpoint is looked up again against
the latest before a 404, so a client that has just fetched a new checkpoint finds its
tiles. The bytes are ``trustledger.app.tiles``'s; ``tiles publish`` writes the same.
"""

from __future__ import annotations

import queue
import threading
import time
import weakref
from collections.abc import Callable
from typing import TypeVar

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from trustledger.app.tiles import ServedCheckpoint, check_servable, served_checkpoint, tile_bytes
from trustledger.errors import NotFound
from trustledger.ledger.tiles import MalformedTile, Tile, parse_tile_path
from trustledger.storage import Store, open_store
from trustledger_server.app import Service
from trustledger_server.problems import problem

T = TypeVar("T")

# c2sp.org/tlog-tiles: the checkpoint "SHOULD prevent caching beyond a few seconds"; full
# tiles never change. Partial tiles are kept as briefly as the checkpoint that names them.
CHECKPOINT_CACHE = "public, max-age=5"
PARTIAL_TILE_CACHE = "public, max-age=5"
FULL_TILE_CACHE = "public, max-age=31536000, immutable"
CHECKPOINT_TYPE = "text/plain; charset=utf-8"
TILE_TYPE = "application/octet-stream"
# Seconds the served checkpoint is kept in memory (it is at most this stale, well within
# the lifetime a cache gives it by CHECKPOINT_CACHE).
CHECKPOINT_TTL = 1.0
# Stores (connections) reading at once; more requests wait for one.
READ_CONNECTIONS = 4


class Reads:
    """The read side of one process: lends read-only stores to worker threads and keeps
    the served checkpoint briefly."""

    def __init__(self, url: str, *, connections: int = READ_CONNECTIONS) -> None:
        self.url = url
        self._idle: queue.SimpleQueue[Store] = queue.SimpleQueue()
        self._limiter = anyio.CapacityLimiter(connections)
        self._lock = threading.Lock()
        self._served: tuple[float, ServedCheckpoint] | None = None
        # The stores are closed when this object goes (with its application) or at exit:
        # the routes of an application have no shutdown of their own.
        self.close = weakref.finalize(self, _close_all, self._idle)

    async def run(self, work: Callable[[Store], T]) -> T:
        """Run ``work`` on a store in a worker thread (at most ``connections`` at once)."""
        return await anyio.to_thread.run_sync(self._lend, work, limiter=self._limiter)

    def _lend(self, work: Callable[[Store], T]) -> T:
        try:
            store = self._idle.get_nowait()
        except queue.Empty:
            store = open_store(self.url, read_only=True)
        try:
            return work(store)
        finally:
            self._idle.put(store)

    def checkpoint(self, store: Store, *, fresh: bool = False) -> ServedCheckpoint:
        """The served checkpoint, read again when older than CHECKPOINT_TTL or ``fresh``."""
        with self._lock:
            kept = self._served
        if kept is not None and not fresh and time.monotonic() - kept[0] < CHECKPOINT_TTL:
            return kept[1]
        served = served_checkpoint(store)
        with self._lock:
            self._served = (time.monotonic(), served)
        return served

    def tile(self, store: Store, tile: Tile) -> bytes:
        """The bytes of ``tile`` in the tree of the served checkpoint (NotFound beyond)."""
        size = self.checkpoint(store).size
        try:
            check_servable(tile, size)
        except NotFound:
            size = self.checkpoint(store, fresh=True).size  # a checkpoint newer than kept?
        return tile_bytes(store, tile, size=size)


def _close_all(idle: queue.SimpleQueue[Store]) -> None:
    while True:
        try:
            idle.get_nowait().close()
        except queue.Empty:
            return


def routes(service: Service) -> list[BaseRoute]:
    """``GET /checkpoint`` and ``GET /tile/{path}`` over ``service.url``."""
    reads = Reads(service.url)

    async def checkpoint(request: Request) -> Response:
        try:
            served = await reads.run(reads.checkpoint)
        except NotFound as exc:
            return _not_found(str(exc))
        return Response(
            served.note, media_type=CHECKPOINT_TYPE, headers={"Cache-Control": CHECKPOINT_CACHE}
        )

    async def tile(request: Request) -> Response:
        try:
            wanted = parse_tile_path("tile/" + request.path_params["path"])
        except MalformedTile as exc:
            return _not_found(str(exc))
        try:
            data = await reads.run(lambda store: reads.tile(store, wanted))
        except NotFound as exc:
            return _not_found(str(exc))
        cache = FULL_TILE_CACHE if wanted.full else PARTIAL_TILE_CACHE
        return Response(data, media_type=TILE_TYPE, headers={"Cache-Control": cache})

    return [
        Route("/checkpoint", checkpoint, methods=["GET"], name="checkpoint"),
        Route("/tile/{path:path}", tile, methods=["GET"], name="tile"),
    ]


def _not_found(detail: str) -> Response:
    # Not cached: the tile or checkpoint may exist a moment later.
    response = problem(404, "Not Found", detail)
    response.headers["Cache-Control"] = "no-store"
    return response
