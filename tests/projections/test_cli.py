"""The standings commands end to end through the CLI (exit codes, outputs, error lines)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.cli.conftest import Story, decision, error_line, past

AS_OF = "2030-01-01T00:00:00Z"


def history(story: Story) -> None:
    result = story.append(
        [
            decision("verification.submitted", occurred_at=past(23)),
            decision("verification.approved", occurred_at=past(22)),
            decision("penalty.imposed", occurred_at=past(20), points=12),
        ]
    )
    assert result.exit_code == 0, result.stderr


def test_rebuild_then_standing(story: Story) -> None:
    history(story)
    result = story.cli("projections", "rebuild", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"applied": 6, "position": 6, "head": 6}
    result = story.cli("standing", "shop-10086", "--json")
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout)
    assert (body["status"], body["points"], body["points_tier"]) == ("active", 12, 12)
    assert body["trust_purchase_eligible"] is False
    text = story.cli("standing", "shop-10086").stdout
    assert text.startswith("shop-10086: active as of ")


def test_standing_without_a_view_exits_3(story: Story) -> None:
    result = story.cli("standing", "shop-10086")
    assert result.exit_code == 3
    assert "is not built: run `trustledger projections rebuild`" in error_line(result)


def test_standing_of_an_unknown_shop_exits_3(story: Story) -> None:
    story.cli("projections", "catch-up")
    result = story.cli("standing", "shop-nope", "--as-of", AS_OF)
    assert result.exit_code == 3
    assert error_line(result) == (
        f"trustledger: error: shop shop-nope was not registered by {AS_OF}"
    )


def test_a_malformed_as_of_exits_2(story: Story) -> None:
    result = story.cli("standing", "shop-10086", "--as-of", "yesterday")
    assert result.exit_code == 2
    assert "--as-of: 'yesterday' is not an RFC 3339 timestamp" in error_line(result)


def test_standing_catches_the_view_up_first(story: Story) -> None:
    story.cli("projections", "catch-up")
    history(story)
    now = past(0)
    result = story.cli("standing", "shop-10086", "--json", "--as-of", now)
    assert result.exit_code == 0 and "behind" not in result.stderr
    story.cli("projections", "catch-up")
    caught_up = story.cli("standing", "shop-10086", "--json", "--as-of", now)
    assert json.loads(result.stdout) == json.loads(caught_up.stdout)
    assert json.loads(result.stdout)["penalties"]["active"] == 1


def test_a_view_that_cannot_be_caught_up_is_noted(
    story: Story, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trustledger.errors import StorageUnavailable
    from trustledger_projections import projection

    story.cli("projections", "catch-up")
    history(story)

    def read_only(*_: object, **__: object) -> None:  # an auditor's read-only role
        raise StorageUnavailable("attempt to write a readonly database")

    monkeypatch.setattr(projection, "catch_up", read_only)
    result = story.cli("standing", "shop-10086", "--json")
    assert "the standings view is 3 notification(s) behind the ledger" in result.stderr


def test_report_formats_and_digest_agree_with_the_log(story: Story) -> None:
    history(story)
    story.cli("projections", "catch-up", "--batch-size", "2")
    as_json = story.cli("report", "standings", "--as-of", AS_OF)
    assert as_json.exit_code == 0, as_json.stderr
    document = json.loads(as_json.stdout)
    assert [s["shop_id"] for s in document["shops"]] == ["shop-10086"]
    assert document["ledger_size"] == 6
    from_log = story.cli("report", "standings", "--as-of", AS_OF, "--at-position", "5")
    assert from_log.stdout == as_json.stdout
    digest = story.cli("report", "standings", "--as-of", AS_OF, "--digest").stdout.strip()
    import hashlib

    assert digest == hashlib.sha256(as_json.stdout_bytes.rstrip(b"\n")).hexdigest()
    story.cli("projections", "rebuild")
    assert story.cli("report", "standings", "--as-of", AS_OF, "--digest").stdout.strip() == digest
    rows = list(
        csv.DictReader(io.StringIO(story.cli("report", "standings", "--format", "csv").stdout))
    )
    assert rows[0]["shop_id"] == "shop-10086"
    assert rows[0]["points_tier"] == "12"
    result = story.cli("report", "standings", "--format", "html", "--out", "s.html")
    assert result.exit_code == 0, result.stderr
    assert "wrote s.html (1 shops)" in result.stderr
    result = story.cli("report", "standings", "--out", "missing-dir/s.json")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "trustledger: error: cannot write missing-dir/s.json: No such file or directory"
    )


def test_rules_show_prints_the_defaults(story: Story) -> None:
    result = story.cli("rules", "show")
    assert result.exit_code == 0
    assert result.stdout.startswith('version = "default-v2"\n')
    assert json.loads(story.cli("rules", "show", "--json").stdout)["version"] == "default-v2"


def test_rules_publish_then_show(story: Story) -> None:
    text = (
        story.cli("rules", "show")
        .stdout.replace("default-v2", "2031-v2")
        .replace("1970-01-01T00:00:00Z", "2031-01-01T00:00:00Z")
        .replace("appeal_window_days = 7", "appeal_window_days = 3")
    )
    with open("rules.toml", "w", encoding="utf-8") as handle:
        handle.write(text)
    result = story.cli("rules", "publish", "rules.toml", "--by", "keys/root.key", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["version"] == "2031-v2"
    assert story.cli("rules", "show", "--as-of", "2031-01-01T00:00:00Z").stdout == text
    assert "default-v2" in story.cli("rules", "show").stdout
    again = story.cli("rules", "publish", "rules.toml", "--by", "keys/root.key")
    assert again.exit_code == 4
    assert error_line(again) == (
        "trustledger: error: rule set 2031-v2 is already published; publish a new version"
    )
    assert story.cli("verify", "--trusted-key", "keys/root.pub").exit_code == 0
