"""``checkpoint --witness URL`` against witnesses served over real sockets: cosignatures
stored, a witness's own size learnt from its 409, the quorum, then a bundle that verifies
with the witnesses' keys."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.cli.conftest import PASSPHRASE, Story, generate
from tests.cli.test_verifiable import LOG, ROOT, add_decisions, log, run
from tests.server.live import serving
from trustledger.app.keyfiles import load_signing_key, load_verifier_key
from trustledger.app.witness import Witness, load_state
from trustledger.ledger.checkpoint import parse_checkpoint
from trustledger.ledger.note import parse_note
from trustledger_server.witness import create_witness_app

__all__ = ["log"]  # the fixture, imported for pytest


class Witnesses:
    def __init__(self, story: Story, stack: ExitStack) -> None:
        self.story, self.stack = story, stack

    def start(self, name: str) -> str:
        generate(self.story.cli, name)
        key = load_signing_key(Path(f"keys/{name}.key"), PASSPHRASE.encode)
        witness = Witness(key, Path(name), {"log": [load_verifier_key(LOG)]})
        return self.stack.enter_context(serving(create_witness_app(witness)))


@pytest.fixture
def witnesses(log: Story) -> Iterator[Witnesses]:
    with ExitStack() as stack:
        yield Witnesses(log, stack)


def cosigned_size(state: str) -> int:
    return load_state(Path(state))["log"].checkpoint.size


def test_two_witnesses_cosign_and_the_bundle_verifies_with_quorum_2(
    log: Story, witnesses: Witnesses
) -> None:
    w1, w2 = witnesses.start("w1"), witnesses.start("w2")
    ask = ["checkpoint", "--key", "keys/log.key", "--witness", w1, "--witness", w2]
    result = log.cli(*ask, "--quorum", "2")
    assert result.exit_code == 0, result.stderr
    note = parse_note(result.stdout.encode())
    assert [s.name for s in note.signatures] == ["log", "w1", "w2"]
    assert f"witness {w1}: 1 cosignature" in result.stderr
    add_decisions(log, 3)
    result = log.cli(*ask, "--quorum", "2")  # from size 5, the size they cosigned
    assert result.exit_code == 0, result.stderr
    assert parse_checkpoint(parse_note(result.stdout.encode()).text).size == 8
    assert cosigned_size("w1") == cosigned_size("w2") == 8
    run(log.cli, "export", "--out", "audit.bundle")
    Path("trustledger.db").rename("elsewhere.db")
    keys = ["--trusted-key", ROOT, "--trusted-key", LOG]
    witness_keys = ["--witness-key", "keys/w1.pub", "--witness-key", "keys/w2.pub"]
    out = run(log.cli, "verify", "--bundle", "audit.bundle", *keys, *witness_keys, "--quorum", "2")
    assert out.startswith("OK: 8 entries verified")


def test_a_witness_size_other_than_the_log_thought_is_learnt_from_its_409(
    log: Story, witnesses: Witnesses
) -> None:
    w1 = witnesses.start("w1")
    run(log.cli, "checkpoint", "--key", "keys/log.key", "--witness", w1)
    add_decisions(log, 2)
    run(log.cli, "checkpoint", "--key", "keys/log.key", "--witness", w1)
    # Asked again with no new entry: the log believes size 5, the witness says 7.
    result = log.cli("checkpoint", "--key", "keys/log.key", "--witness", w1)
    assert result.exit_code == 0, result.stderr
    assert f"witness {w1}: 1 cosignature (consistency from size 7)" in result.stderr
    # A witness joining late has cosigned nothing: it says 0, and gets the log from 0.
    add_decisions(log, 1, prefix="shop-late")
    late = witnesses.start("w3")
    result = log.cli("checkpoint", "--key", "keys/log.key", "--witness", w1, "--witness", late)
    assert result.exit_code == 0, result.stderr
    assert f"witness {w1}: 1 cosignature (consistency from size 7)" in result.stderr
    assert f"witness {late}: 1 cosignature (consistency from size 0)" in result.stderr
    assert cosigned_size("w1") == cosigned_size("w3") == 8


def test_fewer_cosignatures_than_the_quorum_is_exit_5_and_keeps_those_received(
    log: Story, witnesses: Witnesses
) -> None:
    w1 = witnesses.start("w1")
    down = "http://127.0.0.1:9"  # discard port: nothing listens
    result = log.cli("checkpoint", "--key", "keys/log.key", "--witness", w1, "--witness", down)
    assert result.exit_code == 5 and result.stdout == ""
    error = result.stderr.splitlines()[-1]
    assert error.startswith(
        "trustledger: error: 1 of 2 witnesses cosigned the checkpoint, quorum is 2: "
        f"witness {down} unreachable: ConnectError"
    )
    # The checkpoint and w1's cosignature were kept: asking again adds nothing new.
    out = run(log.cli, "checkpoint", "--key", "keys/log.key", "--witness", w1, "--quorum", "1")
    assert [s.name for s in parse_note(out.encode()).signatures][:2] == ["log", "w1"]


def test_with_witness_keys_only_their_cosignatures_count(log: Story, witnesses: Witnesses) -> None:
    w1 = witnesses.start("w1")
    generate(log.cli, "w2")
    ask = ["checkpoint", "--key", "keys/log.key", "--witness", w1]
    assert run(log.cli, *ask, "--witness-key", "keys/w2.pub", code=5) == (
        "trustledger: error: 0 of 1 witnesses cosigned the checkpoint, quorum is 1: "
        f"witness {w1}: none of its cosignatures is by a --witness-key"
    )
    out = run(log.cli, *ask, "--witness-key", "keys/w1.pub")
    assert [s.name for s in parse_note(out.encode()).signatures] == ["log", "w1"]


def test_a_witness_that_refuses_is_named_with_its_status(log: Story, witnesses: Witnesses) -> None:
    w1 = witnesses.start("w1")
    Path("w1").mkdir(exist_ok=True)
    Path("w1/witness-state.json").write_text('{"origins": {"log": null}}')
    line = run(log.cli, "checkpoint", "--key", "keys/log.key", "--witness", w1, code=5)
    assert line.startswith(
        "trustledger: error: 0 of 1 witnesses cosigned the checkpoint, quorum is 1: "
        f"witness {w1} answered 503 Service Unavailable: "
    )


def test_witness_options_without_a_witness_are_a_usage_error(log: Story) -> None:
    assert run(log.cli, "checkpoint", "--key", "keys/log.key", "--quorum", "1", code=2) == (
        "trustledger: error: --quorum and --witness-key go with --witness URL"
    )
    line = run(log.cli, "checkpoint", "--key", "keys/log.key", "--witness", "http://x",
               "--quorum", "2", code=2)  # fmt: skip
    assert line == "trustledger: error: --quorum 2 needs at least 2 --witness URL"
