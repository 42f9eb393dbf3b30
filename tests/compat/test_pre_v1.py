"""A ledger, bundle and proof written before format v1 was made normative verify as v1
unchanged (docs/FORMAT.md §16): every stricter rule describes what trustledger wrote."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

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
