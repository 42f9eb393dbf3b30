"""The HTTP service: one Starlette application over one store.

Routes are contributed by one module per concern (``reads``: C2SP tlog-tiles and the
checkpoint; ``writes``: the append API; ``standings``: standings as of a time); each module
exposes ``routes(service) -> list[BaseRoute]``. Reads need no credential; writes need one of
the bearer tokens the operator configured (docs/OPERATIONS.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from trustledger.errors import TrustledgerError
from trustledger.ledger.keys import SigningKey
from trustledger_server.problems import trustledger_error


@dataclass(frozen=True)
class Service:
    """What the service serves and how: the store, the log key that signs checkpoints (if
    this process signs them), the credentials and limits of the append API."""

    url: str
    log_key: SigningKey | None = None
    append_tokens: frozenset[str] = frozenset()
    max_request_bytes: int = 8 << 20
    max_batch: int = 1_000
    extra: dict[str, object] = field(default_factory=dict)


RouteSource = Callable[[Service], Sequence[BaseRoute]]


def create_app(service: Service, sources: Sequence[RouteSource]) -> Starlette:
    """The ASGI application serving ``service`` with the routes of ``sources``."""
    routes = [route for source in sources for route in source(service)]
    return Starlette(routes=routes, exception_handlers={TrustledgerError: trustledger_error})
