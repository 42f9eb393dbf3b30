"""A C2SP tlog-witness over HTTP: ``POST /add-checkpoint`` (``trustledger witness serve``).

Its own Starlette application (a witness runs apart from any log, with no store). Each
request is handed to ``trustledger.app.witness.Witness.add_checkpoint``, the definition
``witness cosign`` uses too, in a worker thread (it takes the state's file lock and
fsyncs). The spec's status codes, each from one of that module's errors:

    200  the cosignature line(s), text/plain
    400  malformed body, or an old size above the checkpoint's size (a rollback)
    403  no trusted log key verifies the checkpoint
    404  an origin this witness does not follow
    409  an old size that is not the size last cosigned: that size and a newline, with
         ``Content-Type: text/x.tlog.size``; or another root for the size last cosigned
    413  a body above ``MAX_BODY_BYTES``
    422  a consistency proof that does not verify
    503  the state cannot be read or written (nothing was cosigned)

Every refusal but 200 and the 409 size is an RFC 9457 problem (``problems.py``).
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from trustledger.app.witness import (
    ForkRefused,
    LogSignatureRejected,
    MalformedRequest,
    ProofRejected,
    RollbackRefused,
    StaleOldSize,
    UnknownLog,
    Witness,
)
from trustledger.errors import TrustledgerError
from trustledger_server.problems import problem, trustledger_error

# An add-checkpoint body is an old size line, at most 63 hashes and a checkpoint note with
# at most 100 signature lines: well under 64 KiB.
MAX_BODY_BYTES = 64 << 10
SIZE_CONTENT_TYPE = "text/x.tlog.size"  # C2SP tlog-witness, the 409 response
COSIGNATURE_CONTENT_TYPE = "text/plain; charset=utf-8"

# Checked in order: the first class the error is an instance of gives the status.
_STATUS = (
    (MalformedRequest, 400),
    (RollbackRefused, 400),
    (LogSignatureRejected, 403),
    (UnknownLog, 404),
    (ForkRefused, 409),
    (ProofRejected, 422),
)


class _TooLarge(Exception):
    pass


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def create_witness_app(witness: Witness) -> Starlette:
    """The ASGI application of ``witness``: ``POST /add-checkpoint``."""

    async def add_checkpoint(request: Request) -> Response:
        try:
            body = await _body(request)
        except _TooLarge:
            return problem(413, "Content Too Large", f"the body exceeds {MAX_BODY_BYTES} bytes")
        try:
            cosigned = await run_in_threadpool(witness.add_checkpoint, body)
        except StaleOldSize as exc:
            # Exactly the size and a newline, with this content type and no charset.
            return Response(f"{exc.size}\n", 409, headers={"content-type": SIZE_CONTENT_TYPE})
        except TrustledgerError as exc:
            for kind, status in _STATUS:
                if isinstance(exc, kind):
                    return problem(status, type(exc).__name__, str(exc))
            raise  # the exit code's status (problems.py): 503 for the state, 500 for a bug
        return Response(cosigned.line + "\n", 200, media_type=COSIGNATURE_CONTENT_TYPE)

    return Starlette(
        routes=[Route("/add-checkpoint", add_checkpoint, methods=["POST"])],
        exception_handlers={TrustledgerError: trustledger_error},
    )
