"""``db grant-auditor``: a role that can verify and read, and whose every write is refused
by the database with a clear error and nothing written."""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from click.testing import CliRunner, Result

from tests.cli.conftest import PASSPHRASE, jsonl
from tests.conftest import LedgerEnv, shop_history
from tests.postgres import server
from trustledger import Ledger
from trustledger.errors import StorageUnavailable
from trustledger.storage.postgres import split_schema
from trustledger_cli.main import main


def _as_role(url: str, role: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.split("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{role}@{host}"))


@pytest.fixture
def role(pg_ledger: LedgerEnv) -> Iterator[str]:
    name = f"tl_auditor_{secrets.token_hex(4)}"
    yield name
    dsn, _ = split_schema(pg_ledger.url)
    with psycopg.connect(dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
        if exists:
            conn.execute(f'DROP OWNED BY "{name}"')
            conn.execute(f'DROP ROLE "{name}"')


def _cli(*args: str, env: dict[str, str | None] | None = None) -> Result:
    runner = CliRunner(env={"TRUSTLEDGER_KEY_PASSPHRASE": PASSPHRASE, "TRUSTLEDGER_DB": None})
    return runner.invoke(main, list(args), env=env, catch_exceptions=False)


def _counts(env: LedgerEnv) -> tuple[object, ...]:
    dsn, schema = split_schema(env.url)
    with psycopg.connect(dsn, options=f"-c search_path={schema}") as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM stored_events), (SELECT count(*) FROM "
            "trustledger_chain), (SELECT count(*) FROM trustledger_subject_keys)"
        ).fetchone()
    assert row is not None
    return tuple(row)


def test_auditor_can_verify_and_read_but_never_write(pg_ledger: LedgerEnv, role: str) -> None:
    pg_ledger.append_history("shop-1")
    with pg_ledger.open() as ledger:
        ledger.erase("buyer-77")
    result = _cli("db", "grant-auditor", role, "--db", pg_ledger.url)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{role}\n"
    again = _cli("db", "grant-auditor", role, "--db", pg_ledger.url, "--json")
    assert '"created": false' in again.stdout

    auditor = _as_role(pg_ledger.url, role)
    before = _counts(pg_ledger)
    report = LedgerEnv(pg_ledger.path, pg_ledger.root, pg_ledger.bot, auditor).verify()
    assert report.intact
    assert (report.entries, report.redacted) == (10, 1)
    with Ledger.open(auditor, read_only=True) as ledger:
        assert len(list(ledger.log())) == 10
        assert {k.role for k in ledger.keys()} == {"root", "decider"}  # noqa: SIM118
        with pytest.raises(StorageUnavailable, match="permission denied"):
            list(ledger.log(reveal_personal=True))  # never a subject key

    with Ledger.open(auditor) as ledger:
        # Personal data: refused when reading subject keys, before anything is signed.
        with pytest.raises(StorageUnavailable, match=r"permission denied.*nothing was written"):
            ledger.append(shop_history("shop-2", buyer="buyer-9"), signer=pg_ledger.bot)
        with pytest.raises(StorageUnavailable, match=r"nothing written: .*may not write"):
            ledger.append(shop_history("shop-3")[:1], signer=pg_ledger.bot)
        with pytest.raises(StorageUnavailable):
            ledger.erase("buyer-77")
    assert _counts(pg_ledger) == before

    cli_append = _cli(
        "append",
        "--key",
        "unused.key",
        "-",
        "--db",
        auditor,
    )
    assert cli_append.exit_code != 0
    verify = _cli("verify", "--db", auditor, "--trusted-key", "missing.pub")
    assert verify.exit_code == 2  # a usage error about the key file, not a storage one


def test_auditor_cli_append_is_refused_with_exit_5(
    pg_ledger: LedgerEnv, role: str, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.cli.conftest import generate

    monkeypatch.chdir(str(tmp_path))
    runner = CliRunner(env={"TRUSTLEDGER_KEY_PASSPHRASE": PASSPHRASE, "TRUSTLEDGER_DB": None})

    def cli(
        *args: str, input: str | None = None, env: Mapping[str, str | None] | None = None
    ) -> Result:
        return runner.invoke(main, list(args), input=input, env=env, catch_exceptions=False)

    generate(cli, "root")
    generate(cli, "bot-1")
    url = server.fresh_schema_url(split_schema(pg_ledger.url)[0])
    for args in (
        ("init", "--root-key", "keys/root.key", "--db", url),
        ("keys", "register", "keys/bot-1.pub", "--by", "keys/root.key", "--db", url),
        ("db", "grant-auditor", role, "--db", url),
    ):
        result = cli(*args)
        assert result.exit_code == 0, result.stderr
    auditor = _as_role(url, role)
    document = shop_history("shop-1")[:1]
    result = cli("append", "--key", "keys/bot-1.key", "-", "--db", auditor, input=jsonl(document))
    assert result.exit_code == 5, result.stderr
    last = result.stderr.splitlines()[-1]
    assert last.startswith(f"trustledger: error: append to {auditor} failed, nothing written: ")
    assert f"role {role} may not write to this ledger" in last
    verify = cli("verify", "--db", auditor, "--trusted-key", "keys/root.pub")
    assert verify.exit_code == 0, verify.stderr
    init = cli("init", "--root-key", "keys/root.key", "--db", auditor)
    assert init.exit_code == 0  # already initialised: nothing to create, nothing written


def test_grant_auditor_needs_postgresql(tmp_path: object) -> None:
    result = _cli("db", "grant-auditor", "x", "--db", f"sqlite:///{tmp_path}/l.db")
    assert result.exit_code == 2
    assert "needs a PostgreSQL store" in result.stderr


def test_an_auditor_s_standing_says_how_far_behind_the_view_is(
    pg_ledger: LedgerEnv, role: str
) -> None:
    # The auditor may not write the view, so standing cannot catch it up: it must say how
    # far behind it is, never fail as a bug and never answer silently stale.
    history = shop_history("shop-1")
    pg_ledger.append(history[:1])
    assert _cli("projections", "rebuild", "--db", pg_ledger.url).exit_code == 0
    pg_ledger.append(history[1:3])
    assert _cli("db", "grant-auditor", role, "--db", pg_ledger.url).exit_code == 0
    # grant-auditor lets the role read the view built above (no grant by hand).
    result = _cli("standing", "shop-1", "--db", _as_role(pg_ledger.url, role), "--json")
    assert result.exit_code == 0, result.stderr
    assert "the standings view is 2 notification(s) behind the ledger" in result.stderr


def test_grant_auditor_without_createrole_says_what_it_needs(
    pg_ledger: LedgerEnv, role: str
) -> None:
    # The role that runs grant-auditor (`role`) may read the ledger but not create roles,
    # as a database owner made without CREATEROLE.
    dsn, schema = split_schema(pg_ledger.url)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{role}" LOGIN NOCREATEROLE')
        conn.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"')
        conn.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{schema}" TO "{role}"')
    result = _cli("db", "grant-auditor", "tl_never_created", "--db", _as_role(pg_ledger.url, role))
    assert (result.exit_code, result.stdout) == (5, "")
    assert result.stderr.splitlines()[-1] == (
        f"trustledger: error: role {role} may not create role tl_never_created: grant-auditor "
        f"needs a role with CREATEROLE (as a superuser: ALTER ROLE {role} CREATEROLE) or a "
        "superuser; nothing was changed"
    )
