"""``trustledger witness serve`` as a process: killed and restarted between two checkpoints,
killed while recording a cosignature. After a restart the witness holds the old state or
the new one, never anything else, and never cosigns a fork or a rollback of what it gave out."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest

from tests.server.witnessing import FORK, ORIGIN, body, post
from trustledger.app.keyfiles import generate_key_files
from trustledger.app.witness import STATE_FILE, load_state
from trustledger.ledger.keys import SigningKey

PASSPHRASE = "correct horse battery staple"
TRUSTLEDGER = Path(sys.executable).with_name("trustledger")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class WitnessProcess:
    """Starts ``witness serve`` (or the crashing variant) on a fresh port of 127.0.0.1."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.state = tmp / "w1"
        keys = tmp / "keys"
        generate_key_files("w1.example", keys, PASSPHRASE.encode())
        # The log key's name is not its origin here: the witness pins origin and key apart.
        _, pub, self.log = generate_key_files("log", keys, PASSPHRASE.encode())
        self.args = ["witness", "serve", "--key", str(keys / "w1.example.key"),
                     "--state", str(self.state), "--log", f"{ORIGIN}={pub}"]  # fmt: skip
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, crash: str | None = None) -> str:
        port = free_port()
        args = [*self.args, "--listen", f"127.0.0.1:{port}"]
        command: Sequence[str] = (
            [str(TRUSTLEDGER), *args] if crash is None
            else [sys.executable, "-m", "tests.server.witness_crash", crash, *args]
        )  # fmt: skip
        env = {**os.environ, "TRUSTLEDGER_KEY_PASSPHRASE": PASSPHRASE}
        stderr = self.tmp / "stderr.txt"
        with stderr.open("wb") as sink:
            self.process = subprocess.Popen(command, env=env, cwd=Path(__file__).parents[2],
                                            stderr=sink)  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(stderr.read_text())
            try:
                httpx.get(base + "/", timeout=1)
                return base
            except httpx.TransportError:
                time.sleep(0.05)
        raise AssertionError("witness serve did not start")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def killed_itself(self) -> None:
        assert self.process is not None
        assert self.process.wait(timeout=10) == -signal.SIGKILL

    def size(self) -> int:
        return load_state(self.state)[ORIGIN].checkpoint.size


@pytest.fixture
def witness(tmp_path: Path) -> Iterator[WitnessProcess]:
    process = WitnessProcess(tmp_path)
    yield process
    if process.process is not None and process.process.poll() is None:
        process.kill()


def cosigned(base: str, data: bytes) -> str:
    response = post(base, data)
    assert response.status_code == 200, response.text
    return response.text


def test_a_witness_restarted_between_two_checkpoints_remembers(witness: WitnessProcess) -> None:
    log: SigningKey = witness.log
    base = witness.start()
    cosigned(base, body(0, 5, log))
    witness.kill()  # no shutdown: what it cosigned was on disk before it answered
    base = witness.start()
    assert (post(base, body(0, 9, log)).status_code, post(base, body(0, 9, log)).text) == (
        409, "5\n",
    )  # fmt: skip
    assert post(base, body(5, 5, log, leaves=FORK[:4] + FORK[5:])).status_code == 409  # fork
    cosigned(base, body(5, 9, log))
    witness.kill()
    base = witness.start()
    assert post(base, body(9, 5, log)).status_code == 400  # rollback
    assert post(base, body(9, 9, log, leaves=FORK)).status_code == 409  # fork
    cosigned(base, body(9, 12, log))
    assert witness.size() == 12


def test_killed_after_recording_before_answering(witness: WitnessProcess) -> None:
    log = witness.log
    cosigned(witness.start(), body(0, 5, log))
    witness.kill()
    base = witness.start(crash="after-write")
    with pytest.raises(httpx.TransportError):
        post(base, body(5, 9, log))  # recorded, then killed: no cosignature came back
    witness.killed_itself()
    assert witness.size() == 9  # the new state
    base = witness.start()
    # The cosignature it never gave out is only ever given for the same checkpoint.
    assert (post(base, body(5, 9, log)).status_code, post(base, body(5, 9, log)).text) == (
        409, "9\n",
    )  # fmt: skip
    assert post(base, body(5, 9, log, leaves=FORK)).status_code == 409  # stale: not a fork
    assert post(base, body(9, 9, log, leaves=FORK)).status_code == 409  # fork
    cosigned(base, body(9, 9, log))


def test_killed_before_the_state_is_renamed(witness: WitnessProcess) -> None:
    log = witness.log
    cosigned(witness.start(), body(0, 5, log))
    witness.kill()
    base = witness.start(crash="before-rename")
    with pytest.raises(httpx.TransportError):
        post(base, body(5, 9, log))
    witness.killed_itself()
    assert (witness.state / (STATE_FILE + ".tmp")).exists()
    assert witness.size() == 5  # the old state: nothing was given out for size 9
    base = witness.start()
    # It never cosigned 9, so either view of 9 may be its first; then only that one.
    cosigned(base, body(5, 9, log, leaves=FORK))
    assert post(base, body(9, 9, log)).status_code == 409
    assert witness.size() == 9
