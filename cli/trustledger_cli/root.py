"""The ``trustledger`` group: its global options, and its commands loaded on first use.

Each command lives in a module of this package that registers it on ``main`` when
imported (``@main.command()``). ``main`` imports a module only when one of its commands
runs, so `trustledger --version` pays for click alone, completing a command name loads only
the matching commands, and SQLite users never load the PostgreSQL driver (docs/CLI.md,
"Start-up").
"""

from __future__ import annotations

import importlib

import click

from trustledger import __version__
from trustledger.storage.url import ENV_VAR
from trustledger_cli.common import Group

# Where each command is defined. A command missing here still runs (every module is
# imported before "no such command") but is not listed in --help or completion;
# tests/cli/test_root.py keeps the table complete.
COMMANDS = {
    "keys": "trustledger_cli.main",
    "init": "trustledger_cli.main",
    "append": "trustledger_cli.main",
    "verify": "trustledger_cli.main",
    "log": "trustledger_cli.main",
    "get": "trustledger_cli.main",
    "erase": "trustledger_cli.main",
    "schema": "trustledger_cli.main",
    "projections": "trustledger_cli.projections",
    "standing": "trustledger_cli.projections",
    "report": "trustledger_cli.projections",
    "rules": "trustledger_cli.projections",
    "checkpoint": "trustledger_cli.verifiable",
    "prove": "trustledger_cli.verifiable",
    "witness": "trustledger_cli.verifiable",
    "export": "trustledger_cli.verifiable",
    "monitor": "trustledger_cli.verifiable",
    "serve": "trustledger_cli.serving",
    "tiles": "trustledger_cli.serving",
    "db": "trustledger_cli.db",
    "sample": "trustledger_cli.sample",
}


class LazyGroup(Group):
    """A group whose subcommands are registered by importing their module on first use."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            module = COMMANDS.get(cmd_name)
            if module is not None:
                importlib.import_module(module)
            else:
                self._load_all()
        return self.commands.get(cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        # Names only: completion loads just the commands matching what was typed.
        return sorted(set(self.commands) | set(COMMANDS))

    @staticmethod
    def _load_all() -> None:
        for module in dict.fromkeys(COMMANDS.values()):
            importlib.import_module(module)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    "db",
    metavar="URL",
    help=f"Store URL for every command that opens one; a command's own --db wins, and "
    f"this wins over {ENV_VAR}.",
)
@click.option("-q", "--quiet", is_flag=True, help="Print errors only (no notes, no progress).")
@click.option(
    "-v", "--verbose", count=True, help="More detail on stderr (what was opened, timings)."
)
@click.option("--debug", is_flag=True, help="Show tracebacks of errors.")
# The version from the package, not importlib.metadata: looking a distribution up scans
# every installed one, which cost --version a third of its time.
@click.version_option(version=__version__, prog_name="trustledger")
def main(db: str | None, quiet: bool, verbose: int, debug: bool) -> None:
    """trustledger: a signed, hash-chained ledger of enforcement decisions about shops.

    Enforcement tooling appends decisions; auditors verify them with public keys only.
    The store is a SQLite file by default (./trustledger.db); pick another with --db
    (here or after the command) or TRUSTLEDGER_DB. Private keys are encrypted; the
    passphrase comes from TRUSTLEDGER_KEY_PASSPHRASE or a prompt.

    \b
    Example:
      trustledger sample sample/
      trustledger keys generate root --out keys/
      trustledger init --root-key keys/root.key
      trustledger --db sqlite:///ledger.db verify --trusted-key keys/root.pub
    """
    if quiet and verbose:
        raise click.UsageError("-q and -v contradict each other: give one")
