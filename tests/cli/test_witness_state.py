"""A witness never forgets what it cosigned: a state file it cannot trust stops it (exit 5,
naming the file and what is wrong) instead of crashing (exit 70) or starting afresh."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import Story
from tests.cli.test_verifiable import add_decisions, checkpoint, cosign, log, run

__all__ = ["log"]  # the fixture, imported for pytest

STATE = "witness/witness-state.json"
ADVICE = "restore it from a backup, never reset it"


@pytest.mark.parametrize(
    ("content", "what"),
    [
        ("[]", 'expected an object {"origins": {...}}, found list'),
        ('{"log": null}', """expected an object {"origins": {...}}, found ['log']"""),
        ('{"origins": []}', '"origins" is [], not an object'),
        ('{"origins": {"log": null}}', "origins['log'] is null, not an object"),
        ('{"origins": {"log": {}}}', "origins['log'] has members [], expected"),
        ("", "not JSON"),
    ],
)
def test_a_state_of_the_wrong_shape_is_refused(log: Story, content: str, what: str) -> None:
    checkpoint(log.cli, "c1.checkpoint")
    cosign(log.cli, "c1.checkpoint")
    Path(STATE).write_text(content)
    line = cosign(log.cli, "c1.checkpoint", code=5)
    assert line.startswith(f"trustledger: error: the witness state {STATE} is not valid: {what}")
    assert ADVICE in line
    assert Path(STATE).read_text() == content  # left as found, for the operator
    assert run(log.cli, "prove", "consistency", "--from", STATE, code=5) == line


def test_a_null_log_entry_never_resets_what_the_witness_cosigned(log: Story) -> None:
    # Before: {"origins": {"log": null}} read as "never saw this log", and the witness
    # cosigned whatever came next, a fork included.
    checkpoint(log.cli, "c1.checkpoint")
    cosign(log.cli, "c1.checkpoint")
    add_decisions(log, 2)
    checkpoint(log.cli, "c2.checkpoint")
    state = json.loads(Path(STATE).read_text())
    state["origins"]["log"] = None
    Path(STATE).write_text(json.dumps(state))
    assert cosign(log.cli, "c2.checkpoint", code=5).startswith(
        f"trustledger: error: the witness state {STATE} is not valid: origins['log'] is null"
    )


def test_a_state_naming_another_origin_is_refused(log: Story) -> None:
    checkpoint(log.cli, "c1.checkpoint")
    cosign(log.cli, "c1.checkpoint")
    state = json.loads(Path(STATE).read_text())
    state["origins"] = {"other": state["origins"]["log"]}
    Path(STATE).write_text(json.dumps(state))
    assert cosign(log.cli, "c1.checkpoint", code=5).startswith(
        f"trustledger: error: the witness state {STATE} is not valid: origins['other'] holds "
        "a checkpoint of origin 'log'"
    )


def serve(log: Story, *args: str, code: int) -> str:
    # Every case here is refused before anything listens.
    base = ["witness", "serve", "--key", "keys/witness.key", "--state", "witness/"]
    return run(log.cli, *base, *args, code=code)


def test_witness_serve_refuses_a_state_it_cannot_trust(log: Story) -> None:
    checkpoint(log.cli, "c1.checkpoint")
    cosign(log.cli, "c1.checkpoint")
    Path(STATE).write_text('{"origins": {"log": null}}')
    assert serve(log, "--log", "log=keys/log.pub", code=5).startswith(
        f"trustledger: error: the witness state {STATE} is not valid: origins['log'] is null"
    )


def test_witness_serve_refuses_a_log_key_other_than_the_one_pinned(log: Story) -> None:
    checkpoint(log.cli, "c1.checkpoint")
    cosign(log.cli, "c1.checkpoint")
    assert serve(log, "--log", "log=keys/root.pub", code=2).startswith(
        "trustledger: error: this witness pinned log key log+"
    )


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--log", "keys/log.pub"],
         "--log 'keys/log.pub': expected ORIGIN=VKEY or ORIGIN=FILE.pub"),
        (["--log", "log=keys/log.pub", "--listen", "8090"],
         "--listen '8090': expected HOST:PORT, such as 127.0.0.1:8090"),
    ],
)  # fmt: skip
def test_witness_serve_options_are_checked(log: Story, args: list[str], error: str) -> None:
    assert serve(log, *args, code=2) == f"trustledger: error: {error}"
