"""The ``trustledger`` group: commands loaded on first use, global --db, -q/-v, completion,
``python -m trustledger``, and one exit code for "no ledger" across every command."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from tests.cli.conftest import Cli, error_line, jsonl
from trustledger_cli.root import COMMANDS
from trustledger_cli.root import main as root

# What `trustledger --help` and `--version` must not import: the database driver (an
# extra), the HTTP stack, eventsourcing and the cryptography of the append path.
HEAVY = ["psycopg", "psycopg_pool", "starlette", "uvicorn", "httpx", "eventsourcing"]


def _imported_by(code: str) -> dict[str, bool]:
    probe = f"{code}\nimport sys\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    found = set(out.split())
    return {module: module in found for module in HEAVY}


def test_import_trustledger_loads_neither_psycopg_nor_the_application() -> None:
    imported = _imported_by("import trustledger")
    assert not any(imported.values()), imported


@pytest.mark.parametrize("argv", [["--help"], ["--version"]])
def test_help_and_version_do_not_import_psycopg(argv: list[str]) -> None:
    code = (
        "import sys\nfrom trustledger_cli.root import main\n"
        f"try:\n    main({argv!r}, prog_name='trustledger')\nexcept SystemExit:\n    pass"
    )
    imported = _imported_by(code)
    assert not imported["psycopg"] and not imported["psycopg_pool"], imported
    if argv == ["--version"]:  # click alone
        assert not any(imported.values()), imported


def test_every_command_is_in_the_table_and_every_entry_is_a_command() -> None:
    for module in set(COMMANDS.values()):
        importlib.import_module(module)
    assert sorted(root.commands) == sorted(COMMANDS)
    for name, module in COMMANDS.items():
        assert root.commands[name].callback is not None
        assert root.commands[name].callback.__module__.startswith(module)


def test_help_lists_every_command(cli: Cli) -> None:
    result = cli("--help")
    assert result.exit_code == 0
    for name in COMMANDS:
        assert f"  {name} " in result.stdout


def test_version(cli: Cli) -> None:
    import trustledger

    result = cli("--version")
    expected = f"trustledger, version {trustledger.__version__}\n"
    assert (result.exit_code, result.stdout) == (0, expected)


def test_python_m_trustledger_runs_the_command(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "trustledger", "--db", f"sqlite:///{tmp_path / 'none.db'}", "log"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 3
    assert result.stderr.startswith("trustledger: error: no ledger at ")


def test_bash_completion_script_is_produced() -> None:
    env = {**os.environ, "_TRUSTLEDGER_COMPLETE": "bash_source"}
    result = subprocess.run(
        [sys.executable, "-m", "trustledger"], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert "_trustledger_completion()" in result.stdout
    assert "complete -o nosort -F _trustledger_completion trustledger" in result.stdout


def test_completion_offers_the_subcommands() -> None:
    env = {
        **os.environ,
        "_TRUSTLEDGER_COMPLETE": "bash_complete",
        "COMP_WORDS": "trustledger pro",
        "COMP_CWORD": "1",
    }
    result = subprocess.run(
        [sys.executable, "-m", "trustledger"], env=env, capture_output=True, text=True, check=False
    )
    assert result.stdout.split() == ["plain,projections", "plain,prove"]


@pytest.fixture(scope="module")
def key_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """keys/root.* and keys/bot-1.*, made once (each costs a slow KDF)."""
    from tests.cli.conftest import PASSPHRASE
    from trustledger.app import generate_key_files

    directory = tmp_path_factory.mktemp("keys")
    for name in ("root", "bot-1"):
        generate_key_files(name, directory, PASSPHRASE)
    return directory


# -- global --db ------------------------------------------------------------------------------
@pytest.fixture
def two_ledgers(cli: Cli, workdir: Path, key_files: Path) -> Cli:
    """Keys, and ledgers a.db (with the bot registered) and b.db (without)."""
    shutil.copytree(key_files, workdir / "keys")
    for db in ("a.db", "b.db"):
        assert cli("init", "--root-key", "keys/root.key", "--db", f"sqlite:///{db}").exit_code == 0
    result = cli(
        "keys", "register", "keys/bot-1.pub", "--by", "keys/root.key", "--db", "sqlite:///a.db"
    )
    assert result.exit_code == 0
    return cli


def _decider_count(cli: Cli, *args: str, env: dict[str, str | None] | None = None) -> int:
    result = cli(*args, env=env)
    assert result.exit_code == 0, result.output
    return sum(" decider " in line for line in result.stdout.splitlines())


def test_global_db_is_used_by_the_command(two_ledgers: Cli) -> None:
    assert _decider_count(two_ledgers, "--db", "sqlite:///a.db", "keys", "list") == 1
    assert _decider_count(two_ledgers, "--db", "sqlite:///b.db", "keys", "list") == 0


def test_the_command_s_own_db_wins_over_the_global_one(two_ledgers: Cli) -> None:
    args = ("--db", "sqlite:///b.db", "keys", "list", "--db", "sqlite:///a.db")
    assert _decider_count(two_ledgers, *args) == 1


def test_the_global_db_wins_over_the_environment(two_ledgers: Cli) -> None:
    env: dict[str, str | None] = {"TRUSTLEDGER_DB": "sqlite:///b.db"}
    assert _decider_count(two_ledgers, "keys", "list", env=env) == 0
    assert _decider_count(two_ledgers, "--db", "sqlite:///a.db", "keys", "list", env=env) == 1


def test_global_db_reaches_verify(two_ledgers: Cli) -> None:
    result = two_ledgers("--db", "sqlite:///a.db", "verify", "--trusted-key", "keys/root.pub")
    assert result.exit_code == 0
    assert result.stdout.startswith("OK: 2 entries verified")


# -- -q / -v ------------------------------------------------------------------------------------
def test_quiet_verify_prints_nothing_when_intact(two_ledgers: Cli) -> None:
    result = two_ledgers("-q", "--db", "sqlite:///a.db", "verify", "--trusted-key", "keys/root.pub")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")


def test_verbose_verify_says_what_it_checked(two_ledgers: Cli) -> None:
    result = two_ledgers("-v", "--db", "sqlite:///a.db", "verify", "--trusted-key", "keys/root.pub")
    assert result.exit_code == 0
    assert "verifying sqlite:///a.db with 1 root key" in result.stderr


def test_quiet_append_prints_only_errors(two_ledgers: Cli) -> None:
    from tests.cli.conftest import decision

    good = jsonl([decision("shop.registered", shop_id="shop-1")])
    args = ("--db", "sqlite:///a.db", "append", "--key", "keys/bot-1.key", "-")
    result = two_ledgers("-q", *args, input=good)
    assert (result.exit_code, result.stderr) == (0, "")
    bad = jsonl([decision("shop.closed", shop_id="shop-2")])
    result = two_ledgers("-q", *args, input=bad)
    assert result.exit_code == 4
    assert error_line(result).startswith("trustledger: error: batch rejected")


def test_verbose_append_names_the_signer_and_the_store(two_ledgers: Cli) -> None:
    from tests.cli.conftest import decision

    good = jsonl([decision("shop.registered", shop_id="shop-1")])
    args = ("-v", "--db", "sqlite:///a.db", "append", "--key", "keys/bot-1.key", "-")
    result = two_ledgers(*args, input=good)
    assert result.exit_code == 0
    assert "signing as bot-1 (" in result.stderr and "sqlite:///a.db" in result.stderr
    assert "batch of 1 written, through line 1" in result.stderr


def test_quiet_and_verbose_together_are_a_usage_error(cli: Cli) -> None:
    result = cli("-q", "-v", "log")
    assert result.exit_code == 2
    assert "-q and -v contradict each other" in result.stderr


def test_verbose_rebuild_reports_each_batch(two_ledgers: Cli) -> None:
    args = ("-v", "--db", "sqlite:///a.db", "projections", "rebuild", "--batch-size", "1")
    result = two_ledgers(*args)
    assert result.exit_code == 0
    assert "applied up to notification 1 of 2" in result.stderr
    assert "applied up to notification 2 of 2" in result.stderr
    quiet = two_ledgers("-q", "--db", "sqlite:///a.db", "projections", "rebuild")
    assert (quiet.exit_code, quiet.stderr) == (0, "")


def test_verbose_log_counts_the_entries(two_ledgers: Cli) -> None:
    result = two_ledgers("-v", "--db", "sqlite:///a.db", "log")
    assert result.exit_code == 0
    assert "2 entries from sqlite:///a.db" in result.stderr


# -- "no ledger" is exit 3 (CONTRIBUTING.md: not found) from every command that opens one --
NO_LEDGER_COMMANDS = [
    ["keys", "register", "keys/bot-1.pub", "--by", "keys/root.key"],
    ["keys", "revoke", "0a1b2c3d", "--by", "keys/root.key"],
    ["keys", "list"],
    ["append", "--key", "keys/bot-1.key", "batch.jsonl"],
    ["verify", "--trusted-key", "keys/root.pub"],
    ["log"],
    ["get", "0"],
    ["erase", "buyer-1"],
    ["projections", "rebuild"],
    ["projections", "catch-up"],
    ["projections", "follow"],
    ["standing", "shop-1"],
    ["report", "standings"],
    ["report", "actions"],
    ["rules", "show"],
    ["rules", "publish", "rules.toml", "--by", "keys/root.key"],
    ["checkpoint", "--key", "keys/root.key"],
    ["checkpoint", "add-cosignatures", "batch.jsonl"],
    ["prove", "inclusion", "0b9f6c1e-1a7d-4c53-9a57-3e0c7f0f4a11"],
    ["export", "--out", "x.bundle"],
    ["tiles", "publish", "--out", "site/"],
    ["db", "repair", "--trusted-key", "keys/root.pub"],
]


@pytest.mark.parametrize("argv", NO_LEDGER_COMMANDS, ids=" ".join)
def test_no_ledger_is_exit_3_from_every_command(
    cli: Cli, workdir: Path, key_files: Path, argv: list[str]
) -> None:
    shutil.copytree(key_files, workdir / "keys")
    (workdir / "batch.jsonl").write_text(jsonl([{"decision_id": "x"}]))
    (workdir / "rules.toml").write_text('version = "r2"\n')
    result = cli("--db", "sqlite:///missing.db", *argv)
    assert result.exit_code == 3, result.output
    assert error_line(result).startswith("trustledger: error: no ledger at sqlite:///missing.db")
    assert not (workdir / "missing.db").exists()


def test_the_table_of_no_ledger_commands_covers_every_command_with_db() -> None:
    for module in set(COMMANDS.values()):
        importlib.import_module(module)
    paths: list[str] = []

    def walk(command: click.Command, path: list[str]) -> None:
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                walk(sub, [*path, name])
        if any(param.name == "db" for param in command.params):
            paths.append(" ".join(path))

    walk(root, [])
    # Commands with --db that create a ledger (init) or need more than a store to start: a
    # server (serve), a PostgreSQL store (db grant-auditor), an older checkpoint (prove
    # consistency).
    exempt = {"init", "serve", "db grant-auditor", "prove consistency"}
    missing = [
        p for p in paths
        if p not in exempt and not any(" ".join(a).startswith(p) for a in NO_LEDGER_COMMANDS)
    ]  # fmt: skip
    assert not missing, f"add these to NO_LEDGER_COMMANDS: {missing}"


def test_a_postgresql_url_without_the_extra_says_what_to_install(tmp_path: Path) -> None:
    # psycopg made unimportable, as in an environment with `pip install trustledger` alone.
    code = (
        "import sys\nsys.modules['psycopg'] = None\n"
        "from trustledger_cli.root import main\n"
        "main(['--db', 'postgresql://ledger@db.example/ledger', 'log'], prog_name='trustledger')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 5
    assert result.stderr == (
        "trustledger: error: a postgresql:// store needs PostgreSQL support, which is not "
        "installed (psycopg is missing): pip install 'trustledger[postgres]'\n"
    )


def test_completing_a_command_name_loads_only_the_matching_commands() -> None:
    code = (
        "import os, sys\n"
        "os.environ.update(_TRUSTLEDGER_COMPLETE='bash_complete', COMP_WORDS='trustledger pro',"
        " COMP_CWORD='1')\n"
        "from trustledger_cli.root import main\n"
        "try:\n    main(prog_name='trustledger')\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('trustledger_cli.')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    loaded = result.stdout.splitlines()[-1]
    assert "trustledger_cli.projections" in loaded and "trustledger_cli.verifiable" in loaded
    for module in ("serving", "db", "sample", "main"):
        assert f"trustledger_cli.{module}'" not in loaded
