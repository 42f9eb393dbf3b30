"""`log` (filters, JSON Lines, --tail) and `get` (one entry by decision id or position)."""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import SHOP, Story, decision, error_line, past

BUYER = {"subject_id": "buyer-77", "name": "Zhang San", "phone": "13800138000"}


@pytest.fixture
def shops(story: Story) -> Story:
    """Positions 0-1 key events, 2 shop-10086 registered (a day ago); then 3 shop-2
    registered (30 h ago), 4 a complaint about shop-10086 (10 h ago), 5 a complaint about
    shop-2 (2 h ago)."""
    result = story.append(
        [
            decision("shop.registered", shop_id="shop-2", occurred_at=past(30)),
            decision("complaint.filed", occurred_at=past(10), personal=BUYER),
            decision("complaint.filed", shop_id="shop-2", occurred_at=past(2)),
        ]
    )
    assert result.exit_code == 0, result.stderr
    return story


def positions(story: Story, *args: str) -> list[int]:
    return [entry["position"] for entry in story.log(*args)]


def test_log_json_is_one_object_a_line(shops: Story) -> None:
    result = shops.cli("log", "--json")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 6
    assert [json.loads(line)["position"] for line in lines] == [0, 1, 2, 3, 4, 5]
    assert json.loads(lines[0])["type"] == "ledger.initialised"


def test_log_filters_by_type_exact_or_prefix(shops: Story) -> None:
    assert positions(shops, "--type", "complaint.filed") == [4, 5]
    assert positions(shops, "--type", "key.") == [1]
    assert positions(shops, "--type", "shop.", "--type", "ledger.initialised") == [0, 2, 3]


def test_log_refuses_a_type_no_entry_can_have(shops: Story) -> None:
    result = shops.cli("log", "--type", "complaint.fild")
    assert result.exit_code == 2
    assert error_line(result).startswith(
        "trustledger: error: no entry has type 'complaint.fild': give one of "
    )


def test_log_filters_on_occurred_at_from_after_to_before(shops: Story) -> None:
    # The key events occurred when recorded (now); the decisions 30, 24, 10 and 2 hours ago.
    assert positions(shops, "--after", past(12), "--before", past(1)) == [4, 5]
    assert positions(shops, "--before", past(20)) == [2, 3]
    assert positions(shops, "--shop", SHOP, "--after", past(12)) == [4]
    entry = shops.log("--type", "complaint.filed", "--shop", SHOP)[0]
    # --after is inclusive, --before exclusive: windows side by side take each entry once.
    at = entry["occurred_at"]
    assert positions(shops, "--after", at, "--type", "complaint.") == [4, 5]
    assert positions(shops, "--before", at, "--type", "complaint.") == []


def test_log_refuses_a_malformed_time(shops: Story) -> None:
    result = shops.cli("log", "--after", "yesterday")
    assert result.exit_code == 2
    assert error_line(result).startswith("trustledger: error: --after: ")
    assert error_line(result).endswith("(for example 2026-11-02T00:00:00Z)")


def test_log_tail_gives_the_last_entries(shops: Story) -> None:
    assert positions(shops, "--tail", "2") == [4, 5]
    assert positions(shops, "--tail", "100") == [0, 1, 2, 3, 4, 5]
    assert positions(shops, "--tail", "1", "--type", "shop.registered") == [3]
    assert positions(shops, "--tail", "1", "--shop", SHOP) == [4]
    assert positions(shops, "--limit", "2", "--type", "shop.") == [2, 3]
    result = shops.cli("log", "--tail", "1", "--limit", "1")
    assert result.exit_code == 2
    assert error_line(result) == (
        "trustledger: error: give --limit (the first N entries) or --tail (the last N), not both"
    )


def test_get_by_position_and_by_decision_id(shops: Story) -> None:
    listed = shops.log()
    for position in (0, 1, 4):
        result = shops.cli("get", str(position), "--json")
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout) == listed[position]
    result = shops.cli("get", listed[4]["decision_id"], "--json")
    assert json.loads(result.stdout) == listed[4]
    # A key event's id finds it too.
    result = shops.cli("get", listed[1]["decision_id"], "--json")
    assert json.loads(result.stdout)["type"] == "key.registered"


def test_get_text_is_the_log_line_then_the_document(shops: Story) -> None:
    result = shops.cli("get", "4")
    assert result.exit_code == 0, result.stderr
    line, document = result.stdout.split("\n", 1)
    assert line == shops.cli("log").stdout.splitlines()[4]
    assert json.loads(document)["personal"]["subject_id"] == "buyer-77"
    assert "name" not in json.loads(document)["personal"]
    revealed = shops.cli("get", "4", "--reveal-personal", "--json")
    assert json.loads(revealed.stdout)["document"]["personal"] == BUYER


def test_get_an_absent_entry_is_not_found(shops: Story) -> None:
    result = shops.cli("get", "6")
    assert (result.exit_code, result.stdout) == (3, "")
    assert error_line(result) == (
        "trustledger: error: no entry at position 6 in sqlite:///trustledger.db: "
        "positions run from 0 to 5"
    )
    missing = "00000000-0000-4000-8000-00000000ffff"
    result = shops.cli("get", missing)
    assert result.exit_code == 3
    assert error_line(result) == (
        f"trustledger: error: no decision {missing} in sqlite:///trustledger.db: give a "
        "recorded decision id or a position (`trustledger log` lists both)"
    )
