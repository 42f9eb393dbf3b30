"""``serve``, ``tiles publish``, and append's refusal of an entry too large for the tiles."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.cli.conftest import PASSPHRASE, Cli, Story, decision, error_line
from tests.domain.builders import digest


def _checkpoint(story: Story) -> bytes:
    result = story.cli("keys", "generate", "log", "--out", "keys/")
    assert result.exit_code == 0, result.stderr
    result = story.cli("checkpoint", "--key", "keys/log.key", "--origin", "example.test/log")
    assert result.exit_code == 0, result.stderr
    return result.stdout_bytes


def test_append_refuses_a_decision_whose_entry_exceeds_65535_bytes(story: Story) -> None:
    # ~64.5 KB canonical, under the decision limit; escaped into the entry it exceeds 65,535.
    evidence = [digest(f"e-{i}") for i in range(960)]
    big = decision("complaint.filed", evidence=evidence)
    before = len(story.log())
    result = story.append([decision("complaint.filed", complaint_id="c-2"), big])
    assert result.exit_code == 4
    assert result.stdout == ""
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"trustledger: line 2 (decision {big['decision_id']}): decision ")
    assert re.search(r"would be an entry of 66,[0-9]{3} bytes; ", first)
    assert first.endswith(
        "bytes; the log serves entries of at most 65,535 bytes (docs/FORMAT.md §17): "
        "make the decision smaller"
    )
    assert error_line(result).startswith(
        "trustledger: error: batch rejected: 1 invalid record, first at line 2: "
    )
    assert error_line(result).endswith("; nothing was written")
    assert len(story.log()) == before  # not even line 1


def test_tiles_publish(story: Story) -> None:
    _checkpoint(story)
    result = story.cli("tiles", "publish", "--out", "site/")
    assert result.exit_code == 0, result.stderr
    size = 3  # the genesis, the key's registration, the shop's
    written = sum(p.stat().st_size for p in Path("site").rglob("*") if p.is_file()
                  if p.name[0] != ".")  # fmt: skip
    assert result.stdout == (
        f"published size {size} (was 0) to site: 2 tiles and the checkpoint, 3 files, "
        f"{written:,} bytes\n"
    )
    assert sorted(str(p) for p in Path("site").rglob("*") if p.is_file()) == [
        "site/.trustledger-tiles.json", "site/checkpoint", f"site/tile/0/000.p/{size}",
        f"site/tile/entries/000.p/{size}",
    ]  # fmt: skip
    result = story.cli("tiles", "publish", "--out", "site/", "--json")
    assert json.loads(result.stdout) == {
        "out_dir": "site", "previous_size": size, "size": size, "tiles": 0, "files": 0,
        "bytes": 0, "checkpoint_written": False,
    }  # fmt: skip


def test_tiles_publish_without_a_checkpoint(story: Story) -> None:
    result = story.cli("tiles", "publish", "--out", "site/")
    assert result.exit_code == 3
    assert error_line(result) == (
        "trustledger: error: the log has no checkpoint yet: run `trustledger checkpoint "
        "--key LOG.key`"
    )


def test_serve_refuses_a_malformed_listen_address(story: Story) -> None:
    result = story.cli("serve", "--listen", "localhost")
    assert result.exit_code == 2
    assert error_line(result) == (
        "trustledger: error: --listen 'localhost': expected HOST:PORT, e.g. 127.0.0.1:8080"
    )


def test_serve_without_a_ledger(cli: Cli) -> None:
    result = cli("serve", "--listen", "127.0.0.1:1")
    assert result.exit_code == 3
    assert error_line(result).startswith("trustledger: error: no ledger at sqlite:///")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_serve_serves_the_checkpoint_and_tiles_until_sigterm(story: Story, workdir: Path) -> None:
    checkpoint = _checkpoint(story)
    Path("tokens").write_text("# appenders\ntoken-1\n")
    port = _free_port()
    trustledger = Path(sys.executable).with_name("trustledger")
    server = subprocess.Popen(
        [str(trustledger), "serve", "--db", f"sqlite:///{workdir / 'trustledger.db'}",
         "--log-key", "keys/log.key", "--append-token-file", "tokens",
         "--listen", f"127.0.0.1:{port}"],
        env={**os.environ, "TRUSTLEDGER_KEY_PASSPHRASE": PASSPHRASE},
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.get(base + "/checkpoint")
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "serve did not start"
                time.sleep(0.1)
        assert response.content == checkpoint
        assert httpx.get(base + "/tile/0/000.p/3").status_code == 200
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=20)
    # uvicorn finishes the requests in flight, then ends by the signal it caught.
    assert server.returncode == -signal.SIGTERM, stderr
    assert f"serving sqlite:///{workdir / 'trustledger.db'} on http://127.0.0.1:{port}/" in (
        stderr.decode()
    )
