"""Database administration commands: ``db grant-auditor``.

Registered on ``main`` when ``trustledger_cli.root`` loads one of them.
"""

from __future__ import annotations

import os

import click

from trustledger.errors import UsageError
from trustledger.storage import open_store, parse_store_url
from trustledger_cli.common import Group, db_option, emit_json, json_option, note
from trustledger_cli.root import main


@main.group(cls=Group)
def db() -> None:
    """Administer the database behind a ledger (PostgreSQL).

    \b
    Example:
      trustledger db grant-auditor auditor_ro --db postgresql://ledger@db.example/ledger
    """


@db.command("grant-auditor")
@click.argument("role")
@click.option(
    "--password-env",
    "password_env",
    metavar="VAR",
    help="Set the new role's password from this environment variable (never an argument).",
)
@db_option
@json_option
def grant_auditor(role: str, password_env: str | None, db: str, as_json: bool) -> None:
    """Create ROLE (if missing) able to run verify and the read commands, and nothing else.

    ROLE may log in and SELECT the ledger tables; of the subject keys it sees only which
    subjects were erased, never a key. Its sessions start read-only, it owns nothing, and
    every write (append, init, keys, erase) is refused by the database. Run it as the
    ledger's owner or a role allowed to create roles; it is idempotent.

    \b
    Example:
      AUDITOR_PW=... trustledger db grant-auditor auditor_ro --password-env AUDITOR_PW \\
          --db postgresql://ledger@db.example/ledger
    """
    password = None
    if password_env:
        password = os.environ.get(password_env)
        if not password:
            raise UsageError(f"--password-env {password_env}: the variable is not set")
    if parse_store_url(db).scheme != "postgresql":
        raise UsageError(
            f"grant-auditor needs a PostgreSQL store, not {db}: give auditors a "
            "copy of a SQLite file (they open it read-only)"
        )
    from trustledger.storage.postgres import PostgresStore

    store = open_store(db)
    assert isinstance(store, PostgresStore)
    try:
        created = store.grant_auditor(role, password=password)
    finally:
        store.close()
    if as_json:
        emit_json({"role": role, "created": created, "db": store.url})
    else:
        note(("created role " if created else "role exists, privileges granted: ") + role)
        click.echo(role)
