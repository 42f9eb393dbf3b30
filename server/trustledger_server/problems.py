"""Errors as RFC 9457 problem details (``application/problem+json``).

Every library error carries its exit code (``trustledger.errors``); over HTTP the same
classes map to status codes, so a client tells "your input breaks a rule" (409/422) from
"the store is down" (503) exactly as a script tells exit 4 from exit 5.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from trustledger.errors import TrustledgerError

PROBLEM_JSON = "application/problem+json"

# Exit code (CONTRIBUTING.md) → HTTP status.
_STATUS_OF_EXIT = {1: 422, 2: 400, 3: 404, 4: 409, 5: 503, 70: 500}


def problem(status: int, title: str, detail: str | None = None, **members: Any) -> JSONResponse:
    """An RFC 9457 problem details response: ``type`` (about:blank), ``title``, ``status``,
    ``detail`` and any extension ``members`` (``errors`` for per-line refusals, say)."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail is not None:
        body["detail"] = detail
    body.update(members)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def status_of(error: TrustledgerError) -> int:
    """The HTTP status of a library error, from its exit code."""
    return _STATUS_OF_EXIT.get(error.exit_code, 500)


async def trustledger_error(request: Request, exc: Exception) -> JSONResponse:
    """Exception handler: a library error as problem details (its message is the detail)."""
    assert isinstance(exc, TrustledgerError)
    status = status_of(exc)
    return problem(status, type(exc).__name__, str(exc))
