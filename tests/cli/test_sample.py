"""`trustledger sample DIR`: the README's first command, run through the library alone."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from tests.cli.conftest import Cli, error_line
from trustledger.domain.decision import SHOP_DECISION_TYPES
from trustledger_cli.sample.decisions import AS_OF, sample_decisions
from trustledger_cli.sample.job import OUTPUTS


def test_the_sample_decisions_cover_every_type_and_are_reproducible() -> None:
    decisions = sample_decisions()
    assert len(decisions) == 713
    assert len({d["shop_id"] for d in decisions}) == 40
    types = Counter(d["type"] for d in decisions)
    assert set(types) == SHOP_DECISION_TYPES and len(types) == 25
    assert sample_decisions() == decisions
    assert sample_decisions(seed=7) != decisions
    assert max(d["occurred_at"] for d in decisions) < AS_OF.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_the_sample_has_remedies_of_every_kind_and_outcome() -> None:
    decisions = sample_decisions()
    ordered = [d["data"] for d in decisions if d["type"] == "remedy.ordered"]
    assert {r["kind"] for r in ordered} == {"refund", "return_and_refund", "compensation"}
    assert any(r.get("from_deposit") for r in ordered)
    exits = [d["data"] for d in decisions if d["type"] == "programme.exited"]
    assert any(e.get("forced") for e in exits) and not all(e.get("forced") for e in exits)


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
    assert [s.split(".")[0] for s in steps] == [f"== {n}" for n in range(1, 13)]
    assert "wrote decisions.jsonl: 713 decisions, 25 types, 40 shops" in out
    assert "part-1.jsonl: 300 appended, signed by enforcement-bot" in out
    assert "part-2.jsonl: 413 appended, signed by reviewer-17" in out
    assert "rejected as expected (exit 4)" in out
    assert (
        "bad.jsonl, line 2 (decision 11111111-2222-4333-8444-555555555555): "
        "data.measures[0].until: required for a 'suspend' measure"
    ) in out
    assert "bad.jsonl, line 3 (decision not-a-uuid): decision_id: 'not-a-uuid' is not a UUID" in out
    assert (
        "ban-evasion.jsonl, line 1: shop shop-10040 cannot be registered at "
        "2026-05-29T00:00:00Z: its owner seller-23 owns shop shop-10023, permanently banned "
        "then by penalty p-6 (rule 12, ban evasion)"
    ) in out
    assert "OK: 717 entries verified" in out
    assert "erased: buyer-7" in out
    assert "standings as of 2026-06-01T00:00:00Z, digest: " in out
    assert "work queue: 11 items for 6 shops, most urgent first" in out
    assert "OK: audit.bundle, 717 entries verified offline" in out


def test_the_reports_show_the_v2_consequences(ran: tuple[Path, str]) -> None:
    directory, _ = ran
    with (directory / "actions.csv").open(newline="") as file:
        items = list(csv.DictReader(file))
    assert Counter(item["kind"] for item in items) == {
        "remedy_overdue": 4,
        "complaint_unanswered": 2,
        "complaint_unresolved": 2,
        "appeal_undecided": 1,
        "required_action": 1,
        "remedy_owed": 1,
    }
    assert ("shop-10027", "required_action", "measure restrict_traffic; tier 12") in {
        (item["shop_id"], item["kind"], item["detail"]) for item in items
    }
    with (directory / "standings.csv").open(newline="") as file:
        shops = {row["shop_id"]: row for row in csv.DictReader(file)}
    # The upheld appeal restored its deduction and overturned its complaint.
    upheld = shops["shop-10012"]
    assert (upheld["deposit_deducted"], upheld["deposit_restored"]) == ("20000", "20000")
    assert int(upheld["complaints_overturned"]) >= 1
    assert shops["shop-10038"]["ineligible_reasons"] == "verification_missing"
    assert shops["shop-10023"]["status"] == "banned"
    assert "shop-10040" not in shops
    badges = [shop for shop, row in shops.items() if row["programme_badge"] == "true"]
    assert badges == ["shop-10013", "shop-10037"]
    assert (shops["shop-10035"]["status"], shops["shop-10011"]["status"]) == (
        "suspended",
        "restricted",
    )
    assert any(int(row["deposit_refunded"]) > 0 for row in shops.values())
    assert any(int(row["deposit_paid_out"]) > 0 for row in shops.values())


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
    assert result.exit_code == 0 and result.stdout.startswith("OK: 717 entries verified")
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
    for step in ("append_decisions", "resend_batch", "reject_bad_batch", "refuse_ban_evasion",
                 "revoke_key",
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
