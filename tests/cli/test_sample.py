"""`trustledger sample DIR`: the README's first command, run through the library alone."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.cli.conftest import Cli, error_line
from trustledger.domain.decision import SHOP_DECISION_TYPES
from trustledger_cli.sample.decisions import sample_decisions
from trustledger_cli.sample.job import OUTPUTS


def test_the_sample_decisions_cover_every_type_and_are_reproducible() -> None:
    decisions = sample_decisions()
    assert len(decisions) == 570
    assert len({d["shop_id"] for d in decisions}) == 40
    types = Counter(d["type"] for d in decisions)
    assert set(types) <= SHOP_DECISION_TYPES and len(types) == 18
    assert sample_decisions() == decisions
    assert sample_decisions(seed=7) != decisions


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The sample job run once into a fresh directory: (DIR, its stdout)."""
    from click.testing import CliRunner

    from trustledger_cli.root import main

    directory = tmp_path_factory.mktemp("sample") / "out"
    result = CliRunner(env={"TRUSTLEDGER_KEY_PASSPHRASE": None}).invoke(
        main, ["sample", str(directory)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "sample-passphrase-change-me" in result.stderr
    return directory, result.stdout


def test_every_step_runs_and_says_so(ran: tuple[Path, str]) -> None:
    _, out = ran
    steps = [line for line in out.splitlines() if line.startswith("== ")]
    assert [s.split(".")[0] for s in steps] == [f"== {n}" for n in range(1, 12)]
    assert "part-1.jsonl: 300 appended, signed by enforcement-bot" in out
    assert "part-2.jsonl: 270 appended, signed by reviewer-17" in out
    assert "rejected as expected (exit 4)" in out
    assert (
        "bad.jsonl, line 2 (decision 11111111-2222-4333-8444-555555555555): "
        "data.measures[0].until: required for a 'suspend' measure"
    ) in out
    assert "bad.jsonl, line 3 (decision not-a-uuid): decision_id: 'not-a-uuid' is not a UUID" in out
    assert "OK: 574 entries verified" in out
    assert "erased: buyer-7" in out
    assert "standings digest: " in out
    assert "OK: audit.bundle, 574 entries verified offline" in out


def test_it_writes_every_output(ran: tuple[Path, str]) -> None:
    directory, _ = ran
    for name in OUTPUTS:
        if not name.startswith("ledger.db-"):  # SQLite's -wal and -shm come and go
            assert (directory / name).exists(), name
    assert sorted(p.name for p in (directory / "keys").iterdir()) == sorted(
        f"{name}.{ext}"
        for name in ("root", "enforcement-bot", "reviewer-17", "log", "witness-1")
        for ext in ("key", "pub")
    )
    assert (directory / "standings.csv").read_text().startswith("shop_id,")


def test_its_files_are_what_the_commands_read(cli: Cli, ran: tuple[Path, str]) -> None:
    directory, _ = ran
    db = f"sqlite:///{directory / 'ledger.db'}"
    root = str(directory / "keys" / "root.pub")
    result = cli("--db", db, "verify", "--trusted-key", root)
    assert result.exit_code == 0 and result.stdout.startswith("OK: 574 entries verified")
    keys = [str(directory / "keys" / f"{n}.pub") for n in ("log", "witness-1")]
    result = cli(
        "verify", "--bundle", str(directory / "audit.bundle"), "--trusted-key", root,
        "--log-key", keys[0], "--witness-key", keys[1], "--quorum", "1", "--origin", "log",
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def test_a_non_empty_directory_is_refused_without_force(cli: Cli, workdir: Path) -> None:
    (workdir / "mine").mkdir()
    (workdir / "mine" / "notes.txt").write_text("keep me")
    result = cli("sample", "mine")
    assert result.exit_code == 2
    assert error_line(result) == (
        "trustledger: error: mine is not empty: give a new or empty directory, or --force "
        "to replace the sample's files in it"
    )
    assert sorted(p.name for p in (workdir / "mine").iterdir()) == ["notes.txt"]


def test_force_replaces_only_the_sample_s_files(
    cli: Cli, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trustledger_cli.sample import job

    (workdir / "mine" / "keys").mkdir(parents=True)
    (workdir / "mine" / "keys" / "root.key").write_text("an old sample key")
    (workdir / "mine" / "notes.txt").write_text("keep me")
    ran: list[Path] = []
    monkeypatch.setattr(job, "make_keys", lambda sample, _: ran.append(sample.directory))
    monkeypatch.setattr(job, "create_ledger", lambda sample: None)
    for step in ("append_decisions", "resend_batch", "reject_bad_batch", "revoke_key",
                 "show_shop", "erase_subject", "verify_as_auditor", "report_standings_files",
                 "publish_verifiable_log"):  # fmt: skip
        monkeypatch.setattr(job, step, lambda sample: None)
    result = cli("sample", "mine", "--force")
    assert result.exit_code == 0, result.output
    assert ran == [Path("mine")]
    assert sorted(p.name for p in (workdir / "mine").iterdir()) == ["notes.txt"]


def test_quiet_prints_nothing(cli: Cli, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from trustledger_cli.sample import job

    monkeypatch.setattr(job, "run_sample", lambda *a, **k: None)
    result = cli("-q", "sample", "new")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
