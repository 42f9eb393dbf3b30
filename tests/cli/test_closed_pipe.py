"""Every command exits quietly when the reader of its stdout has gone (`log | head -1`).

Run in subprocesses over a real pipe: the read end is closed before the command writes, so
its first write meets EPIPE (Python ignores SIGPIPE and raises BrokenPipeError instead).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import PASSPHRASE, SHOP, Story
from trustledger_cli.common import CLOSED_PIPE_EXIT

TRUSTLEDGER = Path(sys.executable).with_name("trustledger")


@pytest.fixture
def projected(story: Story) -> Story:
    result = story.cli("projections", "rebuild")
    assert result.exit_code == 0, result.stderr
    assert story.cli("keys", "generate", "log", "--out", "keys/").exit_code == 0
    return story


@pytest.mark.parametrize(
    "args",
    [
        ("log",),
        ("log", "--json"),
        ("get", "0"),
        ("standing", SHOP),
        ("report", "standings", "--format", "csv"),
        ("keys", "list"),
        ("verify", "--trusted-key", "keys/root.pub", "--json"),
        ("checkpoint", "--key", "keys/log.key"),
    ],
    ids=" ".join,
)
def test_a_closed_pipe_ends_the_command_quietly(projected: Story, args: tuple[str, ...]) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first write, as `| head -0` would be
    env = {**os.environ, "TRUSTLEDGER_KEY_PASSPHRASE": PASSPHRASE}
    env.pop("TRUSTLEDGER_DB", None)
    try:
        finished = subprocess.run(
            [str(TRUSTLEDGER), *args], stdout=write_end, stderr=subprocess.PIPE,
            env=env, timeout=120, check=False,
        )  # fmt: skip
    finally:
        os.close(write_end)
    assert finished.stderr.decode() == ""
    assert finished.returncode == CLOSED_PIPE_EXIT
