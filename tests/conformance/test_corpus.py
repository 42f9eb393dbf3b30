"""The Format v1 conformance corpus (conformance/): every case through `trustledger verify`
(or `checkpoint verify` for notes) gives the manifest's verdict, check and position, and the
generator reproduces every committed file byte for byte."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from trustledger_cli.main import main

CORPUS = Path(__file__).resolve().parents[2] / "conformance"
MANIFEST: dict[str, Any] = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))
CASES: list[dict[str, Any]] = MANIFEST["cases"]
EXIT = {"intact": 0, "not-intact": 1, "usage": 2}


def run(case: dict[str, Any]) -> tuple[int, str | None, int | None]:
    """The exit code, failure check and failure position the reference CLI reports."""
    argv = list(case["argv"])
    argv += ["--json"] if case["kind"] == "note" else ["--json", "--workers", "1"]
    result = CliRunner().invoke(main, argv, catch_exceptions=False)
    if result.exit_code not in (0, 1) or case["kind"] == "note":
        return result.exit_code, None, None
    report = json.loads(result.stdout)
    failure = report.get("failure")
    if not isinstance(failure, dict):  # a verdict without a structured failure
        return result.exit_code, None, None
    return result.exit_code, failure.get("check"), failure.get("position")


def test_manifest_is_sound() -> None:
    assert len(CASES) >= 150
    names = [case["name"] for case in CASES]
    assert len(set(names)) == len(names)
    for case in CASES:
        assert (CORPUS / case["file"]).is_file()
        assert case["verdict"] in EXIT
        assert (case["check"] is None) == (
            case["verdict"] != "not-intact" or case["kind"] == "note"
        )
    valid = [c for c in CASES if c["verdict"] == "intact"]
    assert len(valid) >= 10


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_case(case: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CORPUS)
    code, check, position = run(case)
    if case["verdict"] == "not-intact" and case["kind"] != "note":
        got: tuple[object, ...] = (code, check, position)
        expected: tuple[object, ...] = (1, case["check"], case["position"])
    else:  # a verdict only: intact, usage, or a note's
        got, expected = (code,), (EXIT[case["verdict"]],)
    assert got == expected, f"{case['name']}: {case['rule']}"


def test_generator_reproduces_the_corpus(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(CORPUS / "generate.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    committed = sorted(
        p.relative_to(CORPUS)
        for sub in ("cases", "keys")
        for p in (CORPUS / sub).rglob("*")
        if p.is_file()
    )
    generated = sorted(
        p.relative_to(tmp_path)
        for sub in ("cases", "keys")
        for p in (tmp_path / sub).rglob("*")
        if p.is_file()
    )
    assert generated == committed
    for relative in [*committed, Path("manifest.json")]:
        assert (tmp_path / relative).read_bytes() == (CORPUS / relative).read_bytes(), relative
