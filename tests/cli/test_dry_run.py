"""``trustledger append --dry-run``: an append's answers and exit codes, nothing written."""

from __future__ import annotations

import json

from tests.cli.conftest import Story, decision, error_line, jsonl


def test_dry_run_lists_new_and_recorded_decisions_and_writes_nothing(story: Story) -> None:
    recorded = decision("complaint.filed", complaint_id="c-1")
    assert story.append([recorded]).exit_code == 0
    fresh = decision("complaint.filed", complaint_id="c-2")
    before = story.log()

    result = story.cli(
        "append", "--key", "keys/bot-1.key", "--dry-run", "-", input=jsonl([recorded, fresh])
    )

    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"duplicate {recorded['decision_id']} position 3",
        f"new       {fresh['decision_id']}",
    ]
    assert result.stderr == ("1 would be appended (dry run: nothing written), 1 already recorded\n")
    assert story.log() == before


def test_dry_run_json(story: Story) -> None:
    fresh = decision("complaint.filed", complaint_id="c-2")
    result = story.cli(
        "append", "--key", "keys/bot-1.key", "--dry-run", "--json", "-", input=jsonl([fresh])
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == [
        {"line": 1, "decision_id": fresh["decision_id"], "position": None, "status": "new"}
    ]


def test_dry_run_refuses_a_broken_rule_as_an_append_does(story: Story) -> None:
    documents = [decision("complaint.filed", shop_id="shop-nowhere")]
    before = story.log()
    result = story.cli(
        "append", "--key", "keys/bot-1.key", "--dry-run", "-", input=jsonl(documents)
    )
    assert result.exit_code == 4
    assert error_line(result) == error_line(story.append(documents))
    assert story.log() == before
