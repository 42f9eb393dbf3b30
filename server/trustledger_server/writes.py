"""Routes: to be filled (see trustledger_server.app)."""

from __future__ import annotations

from starlette.routing import BaseRoute

from trustledger_server.app import Service


def routes(service: Service) -> list[BaseRoute]:
    """This module's routes for ``service``."""
    return []
