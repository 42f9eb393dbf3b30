"""What every trustledger command shares: options, output, passphrases, error mapping."""

from __future__ import annotations

import io
import json
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn

import click
from click.core import ParameterSource

from trustledger.errors import BatchRejected, TrustledgerError, UsageError
from trustledger.storage.url import DEFAULT_URL, ENV_VAR

# Modules that need the cryptography stack import it inside the functions that use it:
# `trustledger --version`, `--help` and completion start without it (docs/CLI.md).
if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

    from trustledger.ledger.keys import SigningKey


def _db_value(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """A command's own --db wins; else the global ``trustledger --db URL``; else
    TRUSTLEDGER_DB; else the default (docs/CLI.md, "Global options")."""
    if ctx.get_parameter_source(param.name or "db") is ParameterSource.COMMANDLINE:
        return value
    global_db: str | None = ctx.find_root().params.get("db")
    return global_db or value


db_option = click.option(
    "--db",
    "db",
    envvar=ENV_VAR,
    default=DEFAULT_URL,
    show_default=True,
    metavar="URL",
    callback=_db_value,
    help=f"Store URL: sqlite:///relative.db, sqlite:////absolute.db, "
    f"postgresql://user@host/db[?schema=NAME] (env {ENV_VAR}; or trustledger --db URL).",
)
json_option = click.option(
    "--json", "as_json", is_flag=True, help="Machine-readable JSON on stdout."
)


def verbosity() -> int:
    """The global -q/-v: -1 quiet (errors only), 0 normal, 1 and more verbose."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return 0
    params = ctx.find_root().params
    return -1 if params.get("quiet") else int(params.get("verbose") or 0)


def note(message: str) -> None:
    """Something for people: always stderr, so stdout stays a clean document; not with -q."""
    if verbosity() >= 0:
        click.echo(message, err=True)


def detail(message: str) -> None:
    """More detail for people, on stderr, with -v only."""
    if verbosity() > 0:
        click.echo(message, err=True)


def show_progress(as_json: bool = False) -> bool:
    """A progress bar only for a person watching: stderr a terminal, no --json, no -q."""
    return not as_json and verbosity() >= 0 and sys.stderr.isatty()


def progress_bar(entries: int, as_json: bool, label: str = "verifying") -> ProgressBar[int]:
    """A bar over ``entries`` on stderr for a person watching; scripts and --json get clean
    streams."""
    show = show_progress(as_json)
    return click.progressbar(
        length=max(entries, 1), label=label, file=sys.stderr if show else io.StringIO()
    )


def count(n: int, singular: str, plural: str | None = None) -> str:
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"


def emit_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, sort_keys=False))


# What a shell reports for a process ended by SIGPIPE (128 + 13), as `git log | head` gives.
# Not 1: that is "verification failed" here.
CLOSED_PIPE_EXIT = 141


def exit_on_closed_pipe() -> NoReturn:
    """Exit quietly because the reader of stdout has gone (``log | head``).

    As Python's documentation advises (signal module, "Note on SIGPIPE"): stdout is pointed
    at /dev/null, so that the interpreter's last flush of the unwritten rest does not fail
    again and print a traceback on the way out.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass  # stdout is not a file descriptor (an in-process test runner): nothing to flush
    sys.exit(CLOSED_PIPE_EXIT)


@contextmanager
def reported_errors(debug: bool) -> Iterator[None]:
    try:
        yield
    except TrustledgerError as exc:
        if isinstance(exc, BatchRejected):
            _report_problems(exc)
        click.echo(f"trustledger: error: {exc}", err=True)
        if debug:
            traceback.print_exc()
        sys.exit(exc.exit_code)
    except MemoryError:
        # Not a bug: the process hit its memory limit (ulimit -v, a container's limit).
        if debug:
            traceback.print_exc()
        click.echo(
            "trustledger: error: out of memory: give the process more memory (ulimit -v, "
            "the container's limit) or, for append, a smaller --batch-size",
            err=True,
        )
        sys.exit(5)
    except KeyboardInterrupt:
        click.echo("trustledger: interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        exit_on_closed_pipe()


# ctx.meta key: how many of a refused batch's problems to print (all when unset).
MAX_ERRORS = "trustledger.max_errors"


def _report_problems(exc: BatchRejected) -> None:
    ctx = click.get_current_context(silent=True)
    limit = ctx.meta.get(MAX_ERRORS) if ctx is not None else None
    shown = exc.problems if limit is None else exc.problems[:limit]
    for line, decision_id, reason in shown:
        where = f"line {line}" + (f" (decision {decision_id})" if decision_id else "")
        click.echo(f"trustledger: {where}: {reason}", err=True)
    if len(shown) < len(exc.problems):
        more = len(exc.problems) - len(shown)
        click.echo(
            f"trustledger: … and {more:,} more bad line{'s' if more != 1 else ''} "
            "(--max-errors shows more)",
            err=True,
        )


def passphrase_prompt(confirm: bool = False) -> Callable[[], bytes]:
    def source() -> bytes:
        from trustledger.app.keyfiles import PASSPHRASE_ENV, passphrase_from_env

        from_env = passphrase_from_env()
        if from_env is not None:
            return from_env
        if not sys.stdin.isatty():
            raise UsageError(
                f"a passphrase is needed: set {PASSPHRASE_ENV} (no terminal to prompt on)"
            )
        value: str = click.prompt(
            "Key passphrase", hide_input=True, confirmation_prompt=confirm, err=True
        )
        return value.encode()

    return source


def signing_key(path: str) -> SigningKey:
    from trustledger.app import load_signing_key

    return load_signing_key(path, passphrase_prompt())


class Command(click.Command):
    """Runs the callback inside the error reporter, so every command maps errors alike."""

    def invoke(self, ctx: click.Context) -> Any:
        debug = bool(ctx.find_root().params.get("debug"))
        with reported_errors(debug):
            try:
                result = super().invoke(ctx)
                # What is still buffered goes now, so a closed pipe is met here too.
                sys.stdout.flush()
                return result
            except (
                BrokenPipeError,  # the reader of stdout has gone: reported_errors exits quietly
                TrustledgerError,
                MemoryError,
                KeyboardInterrupt,
                click.exceptions.Exit,
                click.ClickException,
                click.exceptions.Abort,
            ):
                raise
            except Exception as exc:  # a bug: say so, exit 70, traceback only with --debug
                if debug:
                    traceback.print_exc()
                click.echo(
                    f"trustledger: internal error (a bug, please report it): "
                    f"{type(exc).__name__}: {exc}; rerun with --debug for the traceback",
                    err=True,
                )
                sys.exit(70)


class Group(click.Group):
    command_class = Command
