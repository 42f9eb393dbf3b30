"""Rule sets: TOML round trip, publication in the ledger, and append judged by the rule set
in force when the decision occurred."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import LedgerEnv
from tests.domain.builders import RECORDED_AT, at, doc, ts
from trustledger.domain.rules import DEFAULT_RULES, RuleBook, format_rules, parse_rules
from trustledger.errors import BatchRejected, Conflict, InvalidDecision, KeyRejected

ONE_DAY_APPEALS = """\
version = "2026-one-day-appeals"
effective_from = "2026-11-12T08:30:00Z"

[append]
max_future_skew_minutes = 5
appeal_window_days = 1
max_appeals_per_penalty = 2

[standing]
points_window_days = 365
points_tiers = [12, 24, 36, 48]
eligibility_penalty_window_days = 30
eligibility_max_points = 12
"""
PUBLISHED_AT = at(ts(days=-1))


def test_the_defaults_round_trip_through_toml() -> None:
    text = format_rules(DEFAULT_RULES, effective_from=at(ts()))
    published = parse_rules(text)
    assert published.rules == DEFAULT_RULES
    assert published.effective_from == at(ts())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("appeal_window_days = 1", "appeal_window_days = 0"), "appeal_window_days"),
        (("points_tiers = [12, 24, 36, 48]", "points_tiers = [24, 12]"), "points_tiers"),
        (('version = "2026-one-day-appeals"', 'version = "a b"'), "version"),
        (('effective_from = "2026-11-12T08:30:00Z"', "effective_from = 2026-11-12T08:30:00Z"),
         "quoted"),
        (("[standing]", "[standing]\nsurprise = 1"), "unknown keys"),
        (("max_appeals_per_penalty = 2\n", ""), "missing"),
    ],
)  # fmt: skip
def test_invalid_rule_sets_are_refused(change: tuple[str, str], message: str) -> None:
    with pytest.raises(InvalidDecision, match=message):
        parse_rules(ONE_DAY_APPEALS.replace(*change))


def test_rule_book_picks_the_latest_effective_at_t() -> None:
    published = parse_rules(ONE_DAY_APPEALS)
    book = RuleBook((published,))
    assert book.in_force(published.effective_from - timedelta(seconds=1)) == DEFAULT_RULES
    assert book.in_force(published.effective_from).version == "2026-one-day-appeals"


def test_publish_records_a_root_signed_event_with_the_content_hash(
    sqlite_ledger: LedgerEnv,
) -> None:
    with sqlite_ledger.open() as ledger:
        published = ledger.publish_rules(ONE_DAY_APPEALS, by=sqlite_ledger.root, now=PUBLISHED_AT)
        entry = next(e for e in ledger.log() if e.type == "rules.published")
        assert entry.document["data"]["sha256"] == published.sha256
        assert entry.document["data"]["toml"] == ONE_DAY_APPEALS
        assert ledger.rule_book().in_force(at(ts(days=20))).appeal_window == timedelta(days=1)
    assert sqlite_ledger.verify().intact


def test_publish_refuses_a_second_version_a_past_start_and_a_non_root_key(
    sqlite_ledger: LedgerEnv,
) -> None:
    with sqlite_ledger.open() as ledger:
        ledger.publish_rules(ONE_DAY_APPEALS, by=sqlite_ledger.root, now=PUBLISHED_AT)
        with pytest.raises(Conflict, match="already published"):
            ledger.publish_rules(ONE_DAY_APPEALS, by=sqlite_ledger.root, now=PUBLISHED_AT)
        later = ONE_DAY_APPEALS.replace("one-day-appeals", "v3")
        with pytest.raises(Conflict, match="retroactively"):
            ledger.publish_rules(later, by=sqlite_ledger.root, now=at(ts(days=30)))
        with pytest.raises(KeyRejected, match="not this ledger's root key"):
            ledger.publish_rules(later, by=sqlite_ledger.bot, now=PUBLISHED_AT)


def test_a_decision_is_judged_by_the_rule_set_in_force_when_it_occurred(
    sqlite_ledger: LedgerEnv,
) -> None:
    with sqlite_ledger.open() as ledger:
        ledger.publish_rules(ONE_DAY_APPEALS, by=sqlite_ledger.root, now=PUBLISHED_AT)
    sqlite_ledger.append(
        [
            doc("shop.registered"),
            # Before the new rule set: the default 7-day window applies.
            doc("penalty.imposed", penalty_id="p-old", occurred_at=ts(days=1)),
            doc("appeal.filed", appeal_id="a-old", penalty_id="p-old", occurred_at=ts(days=4)),
            doc("penalty.imposed", penalty_id="p-new", occurred_at=ts(days=11)),
        ]
    )
    # After it took effect: a one-day window.
    with pytest.raises(BatchRejected, match=r"appeal window.*rule set 2026-one-day-appeals"):
        sqlite_ledger.append(
            [doc("appeal.filed", appeal_id="a-new", penalty_id="p-new", occurred_at=ts(days=13))]
        )
    assert at(ts(days=13)) < RECORDED_AT


def test_standings_are_judged_by_the_rule_set_in_force_at_t(sqlite_ledger: LedgerEnv) -> None:
    """The view keeps the published rule sets; the standing at T names the one in force at T,
    whether read from the view or replayed from the log."""
    from trustledger.storage import open_store
    from trustledger_projections.projection import rebuild
    from trustledger_projections.queries import standing_of

    strict = ONE_DAY_APPEALS.replace("eligibility_max_points = 12", "eligibility_max_points = 3")
    with sqlite_ledger.open() as ledger:
        ledger.publish_rules(strict, by=sqlite_ledger.root, now=PUBLISHED_AT)
    sqlite_ledger.append_history("shop-1")
    sqlite_ledger.append([doc("penalty.imposed", shop_id="shop-1", penalty_id="p-2",
                              occurred_at=ts(days=6), points=3, severity="minor")])  # fmt: skip
    store = open_store(sqlite_ledger.url)
    try:
        rebuild(store, batch_size=3)
    finally:
        store.close()
    head = sqlite_ledger.entry_count() - 1
    for position in (None, head):
        before = standing_of(sqlite_ledger.url, "shop-1", at=at(ts(days=9)), at_position=position)
        after = standing_of(sqlite_ledger.url, "shop-1", at=at(ts(days=10)), at_position=position)
        # 3 points: below the defaults' 12, not below the strict set's 3.
        assert (before.value["rule_set"], "points" in before.value["ineligible_reasons"]) == (
            "default-v2",
            False,
        )
        assert (after.value["rule_set"], "points" in after.value["ineligible_reasons"]) == (
            "2026-one-day-appeals",
            True,
        )
