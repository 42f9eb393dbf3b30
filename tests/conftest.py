"""Shared fixtures: a fresh SQLite ledger with a pinned root key and one registered decider key.

``ledger`` gives a ``LedgerEnv`` with ``.url``, ``.path``, ``.root`` and ``.bot`` (signing keys),
``.open()`` for a ``Ledger`` to use in a ``with`` block, ``.append(documents)`` signed by the bot,
``.verify()`` with the root as the only trusted key, and ``.append_history(shop_id)`` for a small
realistic history of one shop (see ``shop_history``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.domain.builders import RECORDED_AT, doc, measure, ts
from tests.postgres import server as pg_server
from trustledger.app.append import AppendOutcome
from trustledger.app.ledger import Ledger
from trustledger.app.policy import TrustPolicy
from trustledger.app.verification import VerifyReport
from trustledger.ledger.keys import SigningKey, VerifierKey, generate_signing_key

#: Personal data used by ``shop_history``: tests look for these bytes in the database files.
BUYER_NAME = "张三丰"
BUYER_PHONE = "13800138000"


def shop_history(shop_id: str, *, buyer: str = "buyer-77") -> list[dict[str, Any]]:
    """Eight valid decisions about one shop, in order: registration, verification, a complaint
    carrying a buyer's personal data, a penalty, an appeal and its upholding."""
    return [
        doc("shop.registered", shop_id=shop_id),
        doc("verification.submitted", shop_id=shop_id, occurred_at=ts(hours=1)),
        doc("verification.approved", shop_id=shop_id, occurred_at=ts(hours=2)),
        doc(
            "complaint.filed",
            shop_id=shop_id,
            occurred_at=ts(days=1),
            personal={"subject_id": buyer, "name": BUYER_NAME, "phone": BUYER_PHONE},
        ),
        doc("complaint.substantiated", shop_id=shop_id, occurred_at=ts(days=2)),
        doc(
            "penalty.imposed",
            shop_id=shop_id,
            occurred_at=ts(days=3),
            complaint_ids=["c-1"],
            measures=[measure("suspend", until=ts(days=10))],
        ),
        doc("appeal.filed", shop_id=shop_id, occurred_at=ts(days=4)),
        doc("appeal.upheld", shop_id=shop_id, occurred_at=ts(days=5)),
    ]


@dataclass
class LedgerEnv:
    """A ledger with its root key and one registered decider key (``bot``): a SQLite file at
    ``path``, or the PostgreSQL ledger at ``store_url`` when given."""

    path: Path
    root: SigningKey
    bot: SigningKey
    store_url: str | None = None

    @property
    def url(self) -> str:
        return self.store_url or f"sqlite:///{self.path}"

    @property
    def backend(self) -> str:
        return "postgres" if self.url.startswith("postgresql://") else "sqlite"

    def open(self) -> Ledger:
        return Ledger.open(self.url)

    def append(
        self, documents: Iterable[object], *, signer: SigningKey | None = None
    ) -> list[AppendOutcome]:
        with self.open() as ledger:
            return ledger.append(documents, signer=signer or self.bot, now=RECORDED_AT)

    def append_history(self, shop_id: str = "shop-1", **kwargs: Any) -> list[AppendOutcome]:
        return self.append(shop_history(shop_id, **kwargs))

    def verify(self, *, trusted: Sequence[SigningKey] | None = None) -> VerifyReport:
        with self.open() as ledger:
            keys = [key.verifier for key in (trusted or [self.root])]
            return ledger.verify(trusted_keys=keys, workers=1)

    def entry_count(self) -> int:
        with self.open() as ledger:
            return sum(1 for _ in ledger.store.iter_entries())


def _lettered_key(name: str) -> SigningKey:
    """A new key whose key id holds a hex letter: tests that upper-case the bot's key id to
    break it would otherwise pass vacuously for the one key in 43 whose id is all digits."""
    while True:
        key = generate_signing_key(name)
        if str(key.key_id) != str(key.key_id).upper():
            return key


def make_ledger(directory: Path, name: str = "ledger.db", *, url: str | None = None) -> LedgerEnv:
    """Initialise a ledger in ``directory`` (or at ``url``) and register one decider key ``bot``."""
    env = LedgerEnv(directory / name, generate_signing_key("root"), _lettered_key("bot"), url)
    ledger, _ = Ledger.init(env.url, env.root)
    with ledger:
        ledger.register_key(env.bot.verifier, by=env.root)
    return env


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """This run's PostgreSQL database (see tests/postgres/server.py); skips without one."""
    yield from pg_server.run_database()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a fresh, empty store: a SQLite file, or a schema of the run's PostgreSQL
    database. Tests marked ``sqlite_only`` run on SQLite alone."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    database: str = request.getfixturevalue("postgres_database")
    return pg_server.fresh_schema_url(database)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # SQLite-only tests (file bytes, -wal, sqlite3 connections) are not run on PostgreSQL.
    dropped = [
        item
        for item in items
        if item.get_closest_marker("sqlite_only")
        and getattr(item, "callspec", None) is not None
        and item.callspec.params.get("store_url") == "postgres"  # type: ignore[attr-defined]
    ]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]


@pytest.fixture
def ledger(tmp_path: Path, store_url: str) -> LedgerEnv:
    """A fresh ledger: genesis at position 0, the bot's registration at position 1."""
    if store_url.startswith("sqlite:"):
        return make_ledger(tmp_path)
    return make_ledger(tmp_path, url=store_url)


def trusting(keys: Sequence[VerifierKey], **kwargs: Any) -> TrustPolicy:
    """A policy pinning ``keys`` as root and log keys alike (what ``--trusted-key`` alone
    means), with the witness options of ``TrustPolicy.of``."""
    return TrustPolicy.of(root_keys=keys, log_keys=keys, **kwargs)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    # Said once at the end even under -q, which prints skip reasons only with -rs.
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if pg_server.ENV_VAR in str(getattr(report, "longrepr", ""))
    ]
    if skipped:
        terminalreporter.write_line(f"{len(skipped)} tests skipped: {pg_server.SKIP_REASON}")
