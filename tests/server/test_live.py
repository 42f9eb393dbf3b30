"""The test server helper serves an app over a real socket, and problems are RFC 9457."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tests.server.live import serving
from trustledger.errors import NotFound
from trustledger_server.app import Service, create_app
from trustledger_server.problems import PROBLEM_JSON


def test_a_library_error_is_a_problem_with_the_status_of_its_exit_code() -> None:
    def missing(request: Request) -> PlainTextResponse:
        raise NotFound("no decision d-1 in this ledger")

    app = create_app(Service("sqlite:///unused.db"), [lambda s: [Route("/x", missing)]])
    with serving(app) as base:
        response = httpx.get(base + "/x")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json() == {
        "type": "about:blank", "title": "NotFound", "status": 404,
        "detail": "no decision d-1 in this ledger",
    }  # fmt: skip


def test_serving_stops_when_the_block_ends() -> None:
    app = Starlette(routes=[Route("/", lambda r: PlainTextResponse("ok"))])
    with serving(app) as base:
        assert httpx.get(base + "/").text == "ok"
    try:
        httpx.get(base + "/", timeout=1)
    except httpx.TransportError:
        return
    raise AssertionError("the server still answers")
