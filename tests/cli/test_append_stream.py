"""``trustledger append`` on long and hostile input: batches written one at a time, what it
prints, the size limits, and a kill or a memory limit in the middle of a file."""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from tests.cli.conftest import PASSPHRASE, Story, decision, error_line, jsonl
from tests.conftest import LedgerEnv
from tests.domain.builders import digest, doc
from trustledger.app.ledger import Ledger
from trustledger.ledger.keys import format_private_key

APPEND = ("append", "--key", "keys/bot-1.key")


def shops(n: int, start: int = 0) -> list[dict[str, object]]:
    return [decision("shop.registered", shop_id=f"s-{i}") for i in range(start, start + n)]


def positions(story: Story) -> list[tuple[int, str]]:
    return [(e["position"], e["decision_id"]) for e in story.log()]


# -- batches: the unit of all-or-nothing ---------------------------------------------------------
def test_a_refused_batch_leaves_the_earlier_ones_written_and_a_retry_completes(
    story: Story,
) -> None:
    documents = shops(5)
    bad = dict(documents[3], type="shop.eaten")
    text = jsonl([*documents[:3], bad, documents[4]])
    before = positions(story)
    result = story.cli(*APPEND, "-", "--batch-size", "2", input=text)
    assert result.exit_code == 4
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[1].startswith(f"trustledger: line 4 (decision {bad['decision_id']}): type: ")
    assert lines[0] == (
        "trustledger: written: lines 1–2 (appended 2, already present 0, positions 3–4); "
        "nothing from line 3 on was written: fix the input and append the whole of it again "
        "(what is written is a no-op the second time)"
    )
    assert error_line(result).endswith(
        "; nothing from line 3 on was written (lines up to 2 were, in earlier batches)"
    )
    assert positions(story) == [*before, (3, documents[0]["decision_id"]),
                                (4, documents[1]["decision_id"])]  # fmt: skip

    # The fixed file again, whole: the written batch is a no-op, the rest is appended.
    result = story.cli(*APPEND, "-", "--batch-size", "2", "--json", input=jsonl(documents))
    assert result.exit_code == 0, result.stderr
    *outcomes, summary = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(o["line"], o["status"], o["position"]) for o in outcomes] == [
        (1, "duplicate", 3),
        (2, "duplicate", 4),
        (3, "appended", 5),
        (4, "appended", 6),
        (5, "appended", 7),
    ]
    assert summary["summary"]["appended"] == 3 and summary["summary"]["duplicates"] == 2
    assert summary["summary"]["complete"] is True
    assert [d for _, d in positions(story)[-5:]] == [d["decision_id"] for d in documents]


def test_a_refusal_in_the_first_batch_writes_nothing_and_says_so(story: Story) -> None:
    documents = shops(3)
    text = jsonl([documents[0], dict(documents[1], type="shop.eaten"), documents[2]])
    before = positions(story)
    result = story.cli(*APPEND, "-", "--json", input=text)
    assert result.exit_code == 4
    summary = json.loads(result.stdout)["summary"]
    assert (summary["appended"], summary["refused"], summary["complete"]) == (0, 1, False)
    assert "written: lines" not in result.stderr
    assert error_line(result).endswith("; nothing was written")
    assert positions(story) == before


def test_at_most_max_errors_bad_lines_are_printed_then_their_count(story: Story) -> None:
    text = jsonl(shops(1)) + "{oops\n" * 30
    result = story.cli(*APPEND, "-", "--max-errors", "5", input=text)
    assert result.exit_code == 4
    lines = result.stderr.splitlines()
    assert [line.split(":")[1] for line in lines[:5]] == [
        " line 2", " line 3", " line 4", " line 5", " line 6"
    ]  # fmt: skip
    assert lines[5] == "trustledger: … and 25 more bad lines (--max-errors shows more)"
    assert error_line(result).startswith("trustledger: error: batch rejected: 30 invalid records")
    assert len(lines) == 7
    result = story.cli(*APPEND, "-", input=text)  # the default: 20
    assert "… and 10 more bad lines" in result.stderr


def test_output_is_one_summary_line_or_nothing_with_quiet(story: Story) -> None:
    result = story.cli(*APPEND, "-", input=jsonl(shops(3)))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert re.fullmatch(
        r"appended 3, already present 0, positions 3–5, refused 0, \d+\.\d s\n", result.stderr
    )
    again = jsonl(shops(3, start=3))
    result = story.cli(*APPEND, "-", "--quiet", input=again)
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    result = story.cli(*APPEND, "-", input=again)
    assert result.stderr.startswith("appended 0, already present 3, no new positions, refused 0")


def test_a_big_input_is_appended_batch_by_batch(story: Story) -> None:
    documents = shops(2_500)
    Path("many.jsonl").write_text(jsonl(documents), encoding="utf-8")
    result = story.cli(*APPEND, "many.jsonl", "--batch-size", "1000", "--json")
    assert result.exit_code == 0, result.stderr
    *outcomes, summary = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["position"] for o in outcomes] == list(range(3, 2_503))
    assert summary["summary"]["written_through_line"] == 2_500


# -- input findings ------------------------------------------------------------------------------
def test_a_document_nested_100000_deep_is_exit_4_naming_the_line(story: Story) -> None:
    deep = '{"data": ' + "[" * 100_000 + "]" * 100_000 + "}"
    result = story.cli(*APPEND, "-", input=jsonl(shops(1)) + deep + "\n")
    assert result.exit_code == 4
    assert result.stderr.splitlines()[0] == (
        "trustledger: line 2: malformed JSON: nested too deeply to be a decision"
    )


def test_a_unicode_line_separator_inside_a_string_is_not_a_line_end(story: Story) -> None:
    documents = [
        decision("shop.registered", shop_id="s-a", actor="bot\u2028one"),
        decision("shop.registered", shop_id="s-b", actor="bot\u0085two\u2029three"),
    ]
    result = story.cli(*APPEND, "-", "--json", input=jsonl(documents))
    assert result.exit_code == 0, result.stderr
    assert [json.loads(line).get("status") for line in result.stdout.splitlines()] == [
        "appended", "appended", None
    ]  # fmt: skip


def test_a_10_mb_personal_field_is_refused_unread(story: Story) -> None:
    huge = decision("shop.registered", shop_id="s-1",
                    personal={"subject_id": "owner-1", "note": "x" * 10_000_000})  # fmt: skip
    result = story.cli(*APPEND, "-", input=jsonl([huge, *shops(1, start=2)]))
    assert result.exit_code == 4
    assert result.stderr.splitlines()[0] == (
        "trustledger: line 1: record longer than 262,144 bytes, not parsed: a decision is far "
        "smaller (docs/CLI.md, Limits); is a newline missing?"
    )


def test_personal_data_and_decisions_have_size_limits(story: Story) -> None:
    personal = decision("shop.registered", shop_id="s-1",
                        personal={"subject_id": "owner-1", "note": "x" * 20_000})  # fmt: skip
    big = decision("complaint.filed", evidence=[digest(f"e-{i}") for i in range(1_100)])
    result = story.cli(*APPEND, "-", input=jsonl([personal, big]))
    assert result.exit_code == 4
    first, second = result.stderr.splitlines()[:2]
    assert first == (
        f"trustledger: line 1 (decision {personal['decision_id']}): personal: 20,034 bytes "
        "encoded; at most 16,384 are accepted (docs/CLI.md, Limits): keep documents out of "
        "personal data, record a reference to them"
    )
    assert re.fullmatch(
        f"trustledger: line 2 \\(decision {big['decision_id']}\\): the decision is "
        "7[0-9],[0-9]{3} bytes encoded; at most 65,535 are accepted, the largest entry the log "
        "serves \\(docs/CLI.md, Limits\\): make the decision smaller",
        second,
    )


def test_a_memory_error_is_exit_5_with_a_message(
    story: Story, monkeypatch: pytest.MonkeyPatch
) -> None:
    def exhausted(*args: object, **kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr(Ledger, "append_batches", exhausted)
    result = story.cli(*APPEND, "-", input=jsonl(shops(1)))
    assert result.exit_code == 5
    assert error_line(result) == (
        "trustledger: error: out of memory: give the process more memory (ulimit -v, the "
        "container's limit) or, for append, a smaller --batch-size"
    )


# -- a kill or a memory limit in the middle of a file -------------------------------------------
def _trustledger(*args: str) -> list[str]:
    return [sys.executable, "-m", "trustledger_cli.main", *args]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TRUSTLEDGER_DB"}
    return {**env, "TRUSTLEDGER_KEY_PASSPHRASE": PASSPHRASE}


def _entries() -> int:
    with closing(sqlite3.connect("trustledger.db")) as db:
        (count,) = db.execute("SELECT count(*) FROM stored_events").fetchone()
    return int(count)


def _size(url: str) -> int:
    with Ledger.open(url) as opened:
        return opened.size()


def test_kill_9_mid_file_then_a_retry_appends_everything_once(
    ledger: LedgerEnv, tmp_path: Path
) -> None:
    documents = [doc("shop.registered", shop_id=f"s-{i}") for i in range(6_000)]
    source = tmp_path / "big.jsonl"
    source.write_text(jsonl(documents), encoding="utf-8")
    key = tmp_path / "bot.key"
    key.write_bytes(format_private_key(ledger.bot, PASSPHRASE.encode()))
    append = _trustledger("append", str(source), "--key", str(key), "--db", ledger.url)
    before = _size(ledger.url)
    child = subprocess.Popen([*append, "--batch-size", "500", "-q"], env=_env())
    deadline = time.monotonic() + 120
    while _size(ledger.url) < before + 1_000 and child.poll() is None:
        assert time.monotonic() < deadline, "no batch was written in 120 s"
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    written = _size(ledger.url) - before
    assert child.returncode == -signal.SIGKILL, "the append ended before it was killed"
    assert 1_000 <= written < 6_000 and written % 500 == 0  # whole batches only

    retry = subprocess.run([*append, "--json"], env=_env(), capture_output=True, text=True,
                           timeout=300, check=False)  # fmt: skip
    assert retry.returncode == 0, retry.stderr[-2000:]
    summary = json.loads(retry.stdout.splitlines()[-1])["summary"]
    assert (summary["appended"], summary["duplicates"]) == (6_000 - written, written)
    with Ledger.open(ledger.url) as opened:
        logged = [entry.decision_id for entry in opened.log() if entry.decision_id]
        assert opened.verify(trusted_keys=[ledger.root.verifier]).intact
    assert logged[-6_000:] == [d["decision_id"] for d in documents]
    assert len(logged) == len(set(logged))


def _limit_memory() -> None:  # in the child, before exec
    limit = 384 << 20  # bytes of address space (ulimit -v 393216)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def test_a_long_input_appends_under_a_memory_limit(story: Story) -> None:
    # Held whole, these 40,000 decisions took 563 MB of address space (VmPeak); streamed
    # in batches of 5,000, 173 MB.
    Path("long.jsonl").write_text(jsonl(shops(40_000)), encoding="utf-8")
    completed = subprocess.run(
        _trustledger(*APPEND, "long.jsonl"),
        env=_env(),
        capture_output=True,
        text=True,
        preexec_fn=_limit_memory,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert _entries() == 3 + 40_000
