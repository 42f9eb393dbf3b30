"""Database administration commands: ``db grant-auditor``, ``db repair``.

Registered on ``main`` when ``trustledger_cli.root`` loads one of them.
"""

from __future__ import annotations

import os

import click

from trustledger.app import Ledger, load_verifier_key
from trustledger.errors import UsageError
from trustledger.storage import open_store, parse_store_url
from trustledger_cli.common import Group, db_option, emit_json, json_option, note, progress_bar
from trustledger_cli.root import main


@main.group(cls=Group)
def db() -> None:
    """Administer the database behind a ledger: auditor roles (PostgreSQL), repair of
    the derived side tables (both stores).

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


@db.command("repair")
@click.option("--trusted-key", "trusted", multiple=True, required=True, metavar="VKEY|FILE.pub",
              help="The ledger's root key (repeatable): entries must verify under it.")  # fmt: skip
@db_option
@json_option
def repair(trusted: tuple[str, ...], db: str, as_json: bool) -> None:
    """Rebuild the leaf hashes, Merkle nodes and idempotency index from verified entries.

    First verifies the entries themselves (chain, signatures, key history) under the root
    key, as verify does; refuses with exit 1, changing nothing, if they do not verify or
    if a stored checkpoint contradicts them (a log truncated or rewritten after it was
    signed). Then rewrites the derived rows that differ, in one transaction holding the
    write lock, and says what it changed; and rebuilds the shop owners table. Stored
    checkpoints and cosignatures are signed statements and are never changed. Run verify
    afterwards (docs/OPERATIONS.md).

    \b
    Example:
      trustledger db repair --trusted-key keys/root.pub --db sqlite:///ledger.db
    """
    from trustledger.app.repair import repair_store  # only when run: start-up stays quick

    keys = [load_verifier_key(text) for text in trusted]
    with Ledger.open(db, read_only=True) as ledger:
        size = ledger.size()
    with progress_bar(size, as_json, label="verifying, then repairing") as bar:
        report = repair_store(db, trusted_keys=keys, progress=bar.update)
    changes = report.changes
    if as_json:
        emit_json(
            {
                "db": report.url,
                "entries": report.entries,
                "root_hash": report.root_hash,
                "changed": changes.total,
                "leaf_hashes": changes.leaf_hashes,
                "merkle_removed": changes.merkle_removed,
                "merkle_added": changes.merkle_added,
                "index_removed": changes.index_removed,
                "index_added": changes.index_added,
                "shop_owners": report.shop_owners,
                "shop_snapshots_cleared": report.shop_snapshots_cleared,
            }
        )
        return
    click.echo(f"entries verified: {report.entries}, root {report.root_hash}")
    if not changes.total:
        click.echo("derived rows: all right, nothing changed")
    else:
        click.echo(f"leaf hashes rewritten: {changes.leaf_hashes}")
        click.echo(f"Merkle nodes removed: {changes.merkle_removed}, added: {changes.merkle_added}")
        click.echo(f"index rows removed: {changes.index_removed}, added: {changes.index_added}")
    click.echo(f"shop owners rebuilt: {report.shop_owners} rows")
    click.echo(
        f"shop state snapshots cleared: {report.shop_snapshots_cleared} "
        "(appends write them again as they write each shop)"
    )
