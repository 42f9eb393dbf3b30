"""Standings over HTTP, for report pipelines (docs/API.md, "HTTP API").

    GET /v1/shops/{shop_id}/standing?at=2026-12-01T00:00:00Z

A shop's standing (docs/DECISIONS.md, as ``trustledger standing --json`` gives it) as of ``at``
(RFC 3339; default: now), replayed from the shop's own entries among the ledger's first
``size`` entries, with that ``size`` and the latest checkpoint signed when they were read
(``null`` before the first): its ``size`` is at most the ledger's, and its ``note`` is the
signed checkpoint an auditor checks inclusion against. 404 for a shop not registered by
``at``; 400 for a time that is not RFC 3339. Reads need no credential.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from trustledger.domain.timefmt import format_timestamp, parse_timestamp
from trustledger.errors import InvalidDecision
from trustledger_projections.queries import SizedStanding, standing_at_head
from trustledger_server.app import Service
from trustledger_server.problems import problem


def routes(service: Service) -> list[BaseRoute]:
    """The standing route for ``service``."""

    async def standing(request: Request) -> Response:
        shop_id = request.path_params["shop_id"]
        raw = request.query_params.get("at")
        if raw is None:
            at = datetime.now(UTC)
        else:
            try:
                at = parse_timestamp(raw, field="at")
            except InvalidDecision as exc:
                return problem(400, "Bad Request", str(exc))
        answer = await run_in_threadpool(standing_at_head, service.url, shop_id, at=at)
        return JSONResponse(render(answer, at))

    return [Route("/v1/shops/{shop_id}/standing", standing, methods=["GET"])]


def render(answer: SizedStanding, at: datetime) -> dict[str, Any]:
    """The response document: ``as_of``, the standing's members, ``ledger_size`` and
    ``checkpoint`` ({size, root_hash (base64), note (the signed note's text)} or null)."""
    checkpoint = answer.checkpoint
    return {
        "as_of": format_timestamp(at),
        **answer.standing,
        "ledger_size": answer.size,
        "checkpoint": None
        if checkpoint is None
        else {
            "size": checkpoint.size,
            "root_hash": base64.b64encode(checkpoint.root_hash).decode(),
            "note": checkpoint.note.decode("utf-8"),
        },
    }
