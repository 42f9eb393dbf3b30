"""Fixtures of the CLI suite: a CliRunner in a fresh working directory, and a ready ledger.

``cli(*args, input=None, env=None)`` runs ``trustledger ARGS`` in-process with the passphrase
set and ``TRUSTLEDGER_DB`` unset (so the default ``./trustledger.db`` of the temporary working
directory is used). ``story`` goes through the first steps of the user story with the CLI itself:
keys ``root`` and ``bot-1`` generated into ``keys/``, ``init``, ``keys register`` of bot-1, and a
registered shop.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import click
import pytest
from click.testing import CliRunner, Result

from tests.domain.builders import doc
from trustledger.domain.timefmt import format_timestamp
from trustledger_cli.main import main

PASSPHRASE = "correct horse battery staple"
SHOP = "shop-10086"
DB_URL = "sqlite:///trustledger.db"


class Cli(Protocol):
    def __call__(
        self, *args: str, input: str | None = None, env: Mapping[str, str | None] | None = None
    ) -> Result: ...


def past(hours: float) -> str:
    """A timestamp ``hours`` before now: the CLI records at the wall clock, and docs/DECISIONS.md
    refuses decisions more than 5 minutes in the future."""
    return format_timestamp(datetime.now(UTC) - timedelta(hours=hours))


def decision(type_: str, /, **overrides: Any) -> dict[str, Any]:
    """``doc(...)`` about ``SHOP`` with an ``occurred_at`` a day ago unless given."""
    overrides.setdefault("shop_id", SHOP)
    overrides.setdefault("occurred_at", past(24))
    return doc(type_, **overrides)


def jsonl(documents: Iterable[object]) -> str:
    return "".join(json.dumps(document, ensure_ascii=False) + "\n" for document in documents)


def error_line(result: Result) -> str:
    """The last line on stderr: the ``trustledger: error: ...`` line of a failed command."""
    lines = result.stderr.splitlines()
    return lines[-1] if lines else ""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def cli(workdir: Path) -> Cli:
    runner = CliRunner(env={"TRUSTLEDGER_KEY_PASSPHRASE": PASSPHRASE, "TRUSTLEDGER_DB": None})

    def run(
        *args: str, input: str | None = None, env: Mapping[str, str | None] | None = None
    ) -> Result:
        return runner.invoke(
            main, list(args), input=input, env=env, prog_name="trustledger", catch_exceptions=False
        )

    return run


@dataclass
class Story:
    """A ledger in the working directory, set up through the CLI."""

    cli: Cli
    root_id: str
    bot_id: str

    def append(self, documents: Iterable[object], key: str = "keys/bot-1.key") -> Result:
        return self.cli("append", "--key", key, "-", input=jsonl(documents))

    def log(self, *args: str) -> list[dict[str, Any]]:
        result = self.cli("log", "--json", *args)
        assert result.exit_code == 0, result.stderr
        # JSON Lines: one object an entry.
        return [json.loads(line) for line in result.stdout.splitlines()]


def generate(cli: Cli, name: str) -> str:
    """``keys generate NAME --out keys/ --json``; returns the key id."""
    result = cli("keys", "generate", name, "--out", "keys/", "--json")
    assert result.exit_code == 0, result.stderr
    key_id: str = json.loads(result.stdout)["key_id"]
    return key_id


@pytest.fixture
def story(cli: Cli) -> Story:
    root_id, bot_id = generate(cli, "root"), generate(cli, "bot-1")
    for args in (
        ("init", "--root-key", "keys/root.key"),
        ("keys", "register", "keys/bot-1.pub", "--by", "keys/root.key"),
    ):
        result = cli(*args)
        assert result.exit_code == 0, result.stderr
    setup = Story(cli, root_id, bot_id)
    result = setup.append([decision("shop.registered")])
    assert result.exit_code == 0, result.stderr
    return setup


def command_paths(group: click.Group = main, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path below ``group``, groups included: ("keys",), ("keys", "generate"), ..."""
    paths: list[tuple[str, ...]] = []
    # Through list_commands/get_command: the root group loads its commands on first use.
    ctx = click.Context(group)
    for name in sorted(group.list_commands(ctx)):
        command = group.get_command(ctx, name)
        assert command is not None
        paths.append((*prefix, name))
        if isinstance(command, click.Group):
            paths.extend(command_paths(command, (*prefix, name)))
    return paths


def command_at(path: tuple[str, ...]) -> click.Command:
    """The command at ``path`` below ``main``: ``command_at(("keys", "generate"))``."""
    command: click.Command | None = main
    for name in path:
        assert isinstance(command, click.Group)
        command = command.get_command(click.Context(command), name)
    assert command is not None
    return command
