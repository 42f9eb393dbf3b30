"""Every benchmark script still runs end to end, at toy sizes (no numbers are judged here:
targets are measured by the scripts themselves, docs/BENCHMARKS.md)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.postgres import server as pg_server

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"

# Script and its toy-size arguments; each also gets --dir (where it builds) and --json.
RUNS = {
    "bench_append": ["--entries", "200", "--repeat", "1", "--single", "5"],
    "bench_append_instructions": ["--entries", "300"],
    "bench_append_memory": ["--sizes", "200,400"],
    "bench_verify": ["--entries", "300", "--repeat", "1", "--workers", "2", "--sample", "200"],
    "bench_bundle": ["--entries", "300", "--repeat", "1", "--workers", "2", "--sample", "200"],
    "bench_checkpoint": ["--entries", "2000", "--repeat", "1"],
    "bench_growth": [
        "--to",
        "400",
        "--every",
        "200",
        "--window",
        "50",
        "--windows",
        "2",
        "--batch",
        "25",
        "--build-batch",
        "100",
    ],
    "bench_http_append": ["--entries", "200", "--repeat", "1"],
    "bench_proofs": ["--entries", "300", "--runs", "5"],
    "bench_projections": ["--entries", "300", "--repeat", "1", "--queries", "5"],
    "bench_monitor": ["--entries", "300", "--repeat", "1", "--workers", "2"],
    "bench_log": ["--entries", "300"],
    "bench_startup": ["--runs", "2"],
    "bench_sign": ["--messages", "50", "--repeat", "1"],
}
NO_DIR = {"bench_sign"}  # builds nothing


def _run(script: str, args: list[str], tmp_path: Path) -> dict[str, object]:
    out = tmp_path / f"{script}.json"
    completed = subprocess.run(
        [sys.executable, str(BENCHMARKS / f"{script}.py"), *args, "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    result: dict[str, object] = json.loads(out.read_text())
    assert result["machine"], result
    return result


@pytest.mark.parametrize("script", sorted(RUNS))
def test_benchmark_runs(script: str, tmp_path: Path) -> None:
    if script == "bench_append_instructions" and shutil.which("valgrind") is None:
        pytest.skip(
            "valgrind is not installed (apt-get install valgrind): it counts the instructions"
        )
    args = [*RUNS[script]] + ([] if script in NO_DIR else ["--dir", str(tmp_path)])
    if script in ("bench_bundle", "bench_monitor"):
        args += ["--work", str(tmp_path / "work")]
    _run(script, args, tmp_path)


def test_growth_resumes_the_ledger_it_built(tmp_path: Path) -> None:
    args = [*RUNS["bench_growth"], "--dir", str(tmp_path)]
    _run("bench_growth", args, tmp_path)
    resumed = _run(
        "bench_growth",
        [*args[:1], "800", *args[2:], "--resume", "--warm-up", "50", "--no-disk"],
        tmp_path,
    )
    points = resumed["points"]
    assert isinstance(points, list)
    # Built to 400 and measured to 500, then 50 untimed: points at 550 and (built) 800.
    assert [point["size"] for point in points] == [550, 800]
    assert "disk" not in resumed


def test_growth_with_time_ordered_ids_keeps_them_when_resumed(tmp_path: Path) -> None:
    args = [*RUNS["bench_growth"], "--dir", str(tmp_path)]
    _run("bench_growth", [*args, "--decision-ids", "time-ordered"], tmp_path)
    _run("bench_growth", [*args[:1], "600", *args[2:], "--resume", "--no-disk"], tmp_path)
    with sqlite3.connect(tmp_path / "growth.db") as db:
        ids = [row[0] for row in db.execute(
            "SELECT decision_id FROM trustledger_decisions ORDER BY notification_id"
        )]  # fmt: skip
    assert len(ids) == 600  # built to 500 with the windows, then measured to 600
    assert {uuid.UUID(i).version for i in ids} == {7}
    assert ids == sorted(ids)  # in the order of their decisions' times, built and resumed


def test_growth_anatomy_scripts_run_on_a_grown_ledger(tmp_path: Path) -> None:
    _run("bench_growth", [*RUNS["bench_growth"], "--dir", str(tmp_path)], tmp_path)
    for script, args in (
        ("profile_growth", ["--batches", "2", "--batch", "20", "--warm-up", "20"]),
        ("wal_pages", ["--batch", "20"]),
    ):
        out = tmp_path / f"{script}.json"
        command = [sys.executable, str(BENCHMARKS / f"{script}.py"), *args]
        completed = subprocess.run(
            [*command, "--dir", str(tmp_path), "--json", str(out)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert completed.returncode == 0, completed.stderr[-2000:]
        assert json.loads(out.read_text())["size"] > 0


@pytest.mark.postgres
def test_postgres_benchmark_runs(postgres_database: str, tmp_path: Path) -> None:
    # postgres_database: the server is there (skips without TRUSTLEDGER_TEST_POSTGRES_URL);
    # the script makes and drops a database of its own on it.
    del postgres_database
    args = "--sections append,concurrent --entries 200 --repeat 1 --processes 2 --per-process 50"
    result = _run("bench_postgres", ["--url", pg_server.admin_url(), *args.split()], tmp_path)
    concurrent = result["concurrent"]
    assert isinstance(concurrent, dict) and concurrent["verified_intact"] is True
