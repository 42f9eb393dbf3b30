"""One ``trustledger serve`` process: the application with every route module, served by
uvicorn on one address."""

from __future__ import annotations

import re
from pathlib import Path

import uvicorn
from starlette.applications import Starlette

from trustledger.errors import NotFound, UsageError
from trustledger.storage import open_store
from trustledger_server import reads, standings, writes
from trustledger_server.app import RouteSource, Service, create_app

# Every route module, in the order their routes are matched.
ROUTE_SOURCES: list[RouteSource] = [reads.routes, writes.routes, standings.routes]

_LISTEN = re.compile(r"(?P<host>\[[0-9a-fA-F:.]+\]|[^:\[\]]+):(?P<port>[0-9]{1,5})")


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (an IPv6 host in brackets) as (host, port). Raises UsageError."""
    match = _LISTEN.fullmatch(text)
    if match is None or not 0 < int(match["port"]) < 65536:
        raise UsageError(f"--listen {text!r}: expected HOST:PORT, e.g. 127.0.0.1:8080")
    return match["host"].strip("[]"), int(match["port"])


def read_tokens(path: Path) -> frozenset[str]:
    """The bearer tokens of a token file: one a line; blank lines and ``#`` comments
    skipped. Raises UsageError for a missing or unreadable file, or one with no token."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the token file {path}: {exc}") from exc
    tokens = frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )
    if not tokens:
        raise UsageError(f"the token file {path} holds no token")
    return tokens


def build_app(service: Service) -> Starlette:
    """The application of ``serve``: every route module over ``service``. Raises NotFound
    when there is no ledger at ``service.url`` (checked once, before serving)."""
    store = open_store(service.url, read_only=True)
    try:
        if not store.exists():
            raise NotFound(
                f"no ledger at {store.url}: run `trustledger init --root-key ROOT.key` first"
            )
    finally:
        store.close()
    return create_app(service, ROUTE_SOURCES)


def run(service: Service, host: str, port: int) -> None:
    """Serve ``service`` on ``host:port`` until interrupted (SIGINT/SIGTERM: uvicorn stops
    accepting, finishes the requests in flight, then returns)."""
    app = build_app(service)
    config = uvicorn.Config(
        app, host=host, port=port, lifespan="off", server_header=False, log_level="info"
    )
    uvicorn.Server(config).run()
