"""A ledger, bundle and proof written before format v1 was made normative verify as v1
unchanged (docs/FORMAT.md §16): every stricter rule describes what trustledger wrote."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.domain.builders import doc
from trustledger.app.append import Problem, append_parsed
from trustledger.app.ledger import Ledger
from trustledger.app.shopstates import ShopStates
from trustledger.domain.decision import parse_decision
from trustledger.domain.rules import DEFAULT_RULES
from trustledger.domain.timefmt import parse_timestamp
from trustledger.errors import BatchRejected
from trustledger.ledger.canonical import canonicalize
from trustledger_cli.main import main

HERE = Path(__file__).parent / "pre_v1"


def key(name: str) -> str:
    return (HERE / f"{name}.pub").read_text(encoding="utf-8").splitlines()[-1]


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def policy() -> list[str]:
    return ["--trusted-key", key("root"), "--log-key", key("log"),
            "--witness-key", key("witness-1"), "--quorum", "1"]  # fmt: skip


def test_the_store_verifies_with_its_side_tables(tmp_path: Path) -> None:
    shutil.copy(HERE / "ledger.db", tmp_path / "ledger.db")
    held = tmp_path / "held.checkpoint"
    shutil.copy(HERE / "cosigned.checkpoint", held)
    code, out = run("verify", "--db", f"sqlite:///{tmp_path / 'ledger.db'}", *policy(),
                    "--checkpoint", str(held), "--workers", "1")  # fmt: skip
    assert code == 0, out
    assert out.startswith("OK: 574 entries verified")
    assert "extends 1 held checkpoint" in out


def test_the_bundle_verifies() -> None:
    code, out = run("verify", "--bundle", str(HERE / "audit.bundle"), *policy(),
                    "--origin", "log", "--workers", "1")  # fmt: skip
    assert code == 0, out
    assert out.startswith("OK: 574 entries verified")


def test_the_proof_verifies() -> None:
    code, out = run("verify", "--proof", str(HERE / "one-decision.proof"), "--log-key",
                    key("log"), "--witness-key", key("witness-1"), "--quorum", "1")  # fmt: skip
    assert code == 0, out
    assert out.startswith("OK: entry 12 is in log at size 574")


class _Unsigned:
    """Admits every record and signs none: the pre-v1 ledger's decider keys are not kept
    here, so its batches are judged (rules 1-15) without being written."""

    def admit(self, keyring: object, lines: object) -> list[Problem]:
        return []

    def sign(self, *args: object) -> tuple[str, str, str]:
        raise AssertionError("a refused batch is never signed")


def test_the_store_takes_the_shop_owners_table_and_keeps_verifying(tmp_path: Path) -> None:
    # A ledger written before rule 12 has no shop owners table: the first append that needs
    # it adds it, filled from the 40 recorded registrations; the ban of shop-10023 (appeal
    # rejected) then refuses a new shop of its owner, and the store still verifies as before.
    shutil.copy(HERE / "ledger.db", tmp_path / "ledger.db")
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    registration = doc(
        "shop.registered",
        shop_id="shop-20023",
        owner_subject_id="seller-23",
        occurred_at="2026-05-01T00:00:00Z",
    )
    decision = parse_decision(registration)
    canonical = canonicalize(decision.document_view(), json_safe=True)
    with Ledger.open(url) as ledger:
        with pytest.raises(BatchRejected) as caught:
            append_parsed(
                ledger.app,
                ledger.store,
                ShopStates(ledger.store),
                [(1, decision, canonical)],
                [],
                _Unsigned(),
                rules=DEFAULT_RULES,
                now=parse_timestamp("2026-05-01T00:00:00Z", field="now"),
            )
        owners = ledger.store.shops_of_owners([f"seller-{i}" for i in range(60)])
    assert caught.value.problems[0][2] == (
        "shop shop-20023 cannot be registered at 2026-05-01T00:00:00Z: its owner seller-23 owns "
        "shop shop-10023, permanently banned then by penalty p-6 (rule 12, ban evasion)"
    )
    assert sum(len(shops) for shops in owners.values()) == 40
    assert owners["seller-7"] == ["shop-10007"]
    held = tmp_path / "held.checkpoint"
    shutil.copy(HERE / "cosigned.checkpoint", held)
    code, out = run("verify", "--db", url, *policy(), "--checkpoint", str(held), "--workers", "1")
    assert code == 0, out
    assert out.startswith("OK: 574 entries verified")
