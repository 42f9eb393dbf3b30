"""The standings commands end to end through the CLI (exit codes, outputs, error lines)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.cli.conftest import DB_URL, Story, decision, error_line, past
from trustledger.domain.timefmt import format_timestamp

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


def test_a_view_of_an_older_facts_format_says_to_rebuild_and_catch_up_rebuilds_it(
    story: Story,
) -> None:
    from eventsourcing.persistence import Tracking

    from trustledger.storage import open_store
    from trustledger.storage.views import open_standings_view

    history(story)
    story.cli("projections", "rebuild")
    store = open_store(DB_URL)
    view = open_standings_view(store)
    try:  # as the previous version left it: facts, their tracking, no format record
        rows, tracked = list(view.iter_facts()), view.max_tracking_id("trustledger")
        assert tracked is not None
        view.reset()
        view.record(rows, [], Tracking("trustledger", tracked))
    finally:
        view.close()
        store.close()
    refused = story.cli("standing", "shop-10086")
    assert refused.exit_code == 3
    assert error_line(refused) == (
        "trustledger: error: the standings view of sqlite:///trustledger.db holds facts of "
        "format 1, this trustledger reads format 2: run `trustledger projections rebuild` "
        "(or `projections catch-up`, which rebuilds it)"
    )
    caught_up = story.cli("projections", "catch-up", "--json")
    assert caught_up.exit_code == 0, caught_up.stderr
    assert "held facts of format 1, written by an older trustledger: it was emptied and " \
        "rebuilt from the start" in caught_up.stderr  # fmt: skip
    assert json.loads(caught_up.stdout) == {"applied": 6, "position": 6, "head": 6}
    assert story.cli("standing", "shop-10086").exit_code == 0


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
    # The v2 members, flattened: 12 points with no restriction since call for one.
    assert (rows[0]["required_actions"], rows[0]["deposit_balance"], rows[0]["warnings"]) == (
        "12:restrict_traffic",
        "500000",
        "0",
    )
    assert rows[0]["ineligible_reasons"] == "verification_missing;recent_penalty;points"
    assert (rows[0]["overdue_remedies"], rows[0]["programme_badge"]) == ("0", "false")
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


def test_report_actions_formats_digest_and_errors(story: Story) -> None:
    filed = decision("complaint.filed", occurred_at=past(12))
    penalty = decision("penalty.imposed", occurred_at=past(6), points=12)
    # 20 days on: the complaint is past both deadlines, the 12 points still count.
    as_of = format_timestamp(datetime.now(UTC) + timedelta(days=20))
    assert story.append([filed, penalty]).exit_code == 0
    result = story.cli("report", "actions")
    assert result.exit_code == 3
    assert "is not built: run `trustledger projections rebuild`" in error_line(result)
    story.cli("projections", "catch-up")

    as_json = story.cli("report", "actions", "--as-of", as_of)
    assert as_json.exit_code == 0, as_json.stderr
    document = json.loads(as_json.stdout)
    assert (document["as_of"], document["ledger_size"]) == (as_of, 5)
    assert [(i["rank"], i["kind"], i["decision_ids"]) for i in document["items"]] == [
        (1, "complaint_unanswered", [filed["decision_id"]]),
        (2, "complaint_unresolved", [filed["decision_id"]]),
        (3, "required_action", [penalty["decision_id"]]),
    ]
    from_log = story.cli("report", "actions", "--as-of", as_of, "--at-position", "4")
    assert from_log.stdout == as_json.stdout
    digest = story.cli("report", "actions", "--as-of", as_of, "--digest").stdout.strip()
    import hashlib

    assert digest == hashlib.sha256(as_json.stdout_bytes.rstrip(b"\n")).hexdigest()
    rows = list(
        csv.DictReader(
            io.StringIO(story.cli("report", "actions", "--as-of", as_of, "--format", "csv").stdout)
        )
    )
    assert [(r["rank"], r["shop_id"], r["kind"]) for r in rows] == [
        ("1", "shop-10086", "complaint_unanswered"),
        ("2", "shop-10086", "complaint_unresolved"),
        ("3", "shop-10086", "required_action"),
    ]
    assert rows[2]["detail"] == "measure restrict_traffic; tier 12"
    result = story.cli("report", "actions", "--as-of", as_of, "--format", "html", "--out", "q.html")
    assert result.exit_code == 0, result.stderr
    assert "wrote q.html (3 items)" in result.stderr
    with open("q.html", encoding="utf-8") as handle:
        page = handle.read()
    assert page.count('<tr data-kind="') == 3
    assert f"<code>{digest}</code>" in page  # the provenance names the JSON's digest
    result = story.cli("report", "actions", "--out", "missing-dir/q.json")
    assert result.exit_code == 2
    assert error_line(result) == (
        "trustledger: error: cannot write missing-dir/q.json: No such file or directory"
    )
    result = story.cli("report", "actions", "--as-of", "soon")
    assert result.exit_code == 2
