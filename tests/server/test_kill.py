"""A server killed (SIGKILL) while it handles a large batch: nothing partial is stored, and
the client's retry against the restarted server is idempotent (both stores).

The server runs in a subprocess (uvicorn serving create_app over the append and standing
routes, as `trustledger serve` does) so that it can be killed outright.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.conftest import LedgerEnv
from tests.domain.builders import doc
from trustledger import LedgerClient

TOKEN = "kill-test-token"
BATCH = 3000

_RUNNER = """
import sys, uvicorn
from trustledger_server import standings, writes
from trustledger_server.app import Service, create_app
url, token, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
service = Service(url, append_tokens=frozenset({token}), max_request_bytes=64 << 20,
                  max_batch=10_000)
uvicorn.run(create_app(service, [writes.routes, standings.routes]), host="127.0.0.1",
            port=port, log_level="warning")
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def server_process(url: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A server subprocess on a free port of 127.0.0.1; yields its base URL and process."""
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-c", _RUNNER, url, TOKEN, str(port)])
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(base + "/v1/shops/none/standing", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.05)
        yield base, process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def test_a_server_killed_during_a_batch_stores_nothing_partial(ledger: LedgerEnv) -> None:
    before = ledger.entry_count()
    for round_, delay in enumerate((0.05, 0.3, 0.8)):
        documents = [doc("shop.registered", shop_id=f"r{round_}-{i}") for i in range(BATCH)]
        with LedgerClient("http://unused", TOKEN, signer=ledger.bot) as signer:
            records = signer.sign(documents)
        body = json.dumps([record.to_json() for record in records])

        with server_process(ledger.url) as (base, process):
            outcome: list[object] = []

            def post(base: str = base, body: str = body, outcome: list[object] = outcome) -> None:
                try:
                    outcome.append(
                        httpx.post(
                            base + "/v1/decisions",
                            content=body,
                            headers={"Authorization": f"Bearer {TOKEN}"},
                            timeout=120,
                        )
                    )
                except httpx.TransportError as exc:
                    outcome.append(exc)

            poster = threading.Thread(target=post)
            poster.start()
            time.sleep(delay)
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
            poster.join(timeout=120)

        stored = ledger.entry_count()
        assert stored in (before, before + BATCH), "a partial batch was stored"

        # The client retries against the restarted server: the batch is recorded once.
        with (
            server_process(ledger.url) as (base, _),
            LedgerClient(base, TOKEN, signer=ledger.bot) as client,
        ):
            outcomes = client.commit(records)
        assert len(outcomes) == BATCH
        expected = "duplicate" if stored == before + BATCH else "appended"
        assert {o.status for o in outcomes} == {expected}
        assert sorted(o.position for o in outcomes) == list(range(before, before + BATCH))
        before += BATCH
        assert ledger.entry_count() == before
    assert ledger.verify().intact
