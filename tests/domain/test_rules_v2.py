"""The rule set's v2 tables ([points], [[consequences]], [deadlines], [eligibility]): parsed,
validated, formatted back, and absent from a v1 text (which takes the v2 defaults of
docs/DECISIONS.md)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from tests.domain.builders import at, ts
from trustledger.domain.rules import DEFAULT_RULES, RuleSet, format_rules, parse_rules
from trustledger.errors import InvalidDecision

V1_TEXT = """\
version = "2026-v1"
effective_from = "2026-11-12T08:30:00Z"

[append]
max_future_skew_minutes = 5
appeal_window_days = 7
max_appeals_per_penalty = 2

[standing]
points_window_days = 365
points_tiers = [12, 24, 36, 48]
eligibility_penalty_window_days = 30
eligibility_max_points = 12
"""

V2_TABLES = """
[points]
minor = 1
serious = 5
critical = 10

[points.violations.counterfeit]
serious = 8
critical = 20

[points.violations.late_shipping]
minor = 0

[[consequences]]
tier = 12
measure = "restrict_traffic"

[[consequences]]
tier = 24
measure = "suspend"
suspend_days = 14

[deadlines]
complaint_response_days = 2
complaint_resolution_days = 10
appeal_decision_days = 20

[eligibility]
required_verification_kinds = ["real_name"]
deposit_minimum_fen = 50000
reenrolment_days = 30
"""


def test_a_v1_text_without_the_v2_tables_takes_the_v2_defaults() -> None:
    rules = parse_rules(V1_TEXT).rules
    assert rules.version == "2026-v1"
    assert (
        rules.severity_points
        == DEFAULT_RULES.severity_points
        == (
            ("minor", 2),
            ("serious", 6),
            ("critical", 12),
        )
    )
    assert rules.violation_points == ()
    assert rules.tier_consequences == DEFAULT_RULES.tier_consequences
    assert rules.consequence_of(24) == ("suspend", 7)
    assert rules.consequence_of(36) == ("suspend", 30)
    assert rules.consequence_of(48) == ("permanent_ban", None)
    assert rules.complaint_response_deadline == timedelta(days=3)
    assert rules.complaint_resolution_deadline == timedelta(days=15)
    assert rules.appeal_decision_deadline == timedelta(days=15)
    assert rules.required_verification_kinds == ("real_name", "qualification")
    assert rules.deposit_minimum == 0
    assert rules.reenrolment_wait == timedelta(days=90)


def test_a_v1_text_with_other_tiers_keeps_only_the_default_consequences_it_has() -> None:
    rules = parse_rules(V1_TEXT.replace("[12, 24, 36, 48]", "[12, 30]")).rules
    assert rules.tier_consequences == ((12, "restrict_traffic", None),)
    assert rules.consequence_of(30) is None


def test_the_v2_tables_are_read() -> None:
    rules = parse_rules(V1_TEXT + V2_TABLES).rules
    assert rules.severity_points == (("minor", 1), ("serious", 5), ("critical", 10))
    assert rules.tier_consequences == ((12, "restrict_traffic", None), (24, "suspend", 14))
    assert rules.consequence_of(48) is None
    assert rules.complaint_response_deadline == timedelta(days=2)
    assert rules.complaint_resolution_deadline == timedelta(days=10)
    assert rules.appeal_decision_deadline == timedelta(days=20)
    assert rules.required_verification_kinds == ("real_name",)
    assert rules.deposit_minimum == 50_000
    assert rules.reenrolment_wait == timedelta(days=30)


def test_points_are_overridden_per_violation_and_severity() -> None:
    rules = parse_rules(V1_TEXT + V2_TABLES).rules
    assert rules.points_for("counterfeit", "serious") == 8
    assert rules.points_for("counterfeit", "critical") == 20
    assert rules.points_for("counterfeit", "minor") == 1  # no override: the severity's
    assert rules.points_for("late_shipping", "minor") == 0
    assert rules.points_for("fake_reviews", "serious") == 5
    assert DEFAULT_RULES.points_for("counterfeit", "critical") == 12


@pytest.mark.parametrize(
    "rules",
    [
        DEFAULT_RULES,
        parse_rules(V1_TEXT + V2_TABLES).rules,
        replace(DEFAULT_RULES, version="no-consequences", tier_consequences=()),
        replace(
            DEFAULT_RULES,
            version="many",
            violation_points=(("privacy_leak", "minor", 4), ("privacy_leak", "critical", 30)),
            required_verification_kinds=(),
            reenrolment_wait=timedelta(0),
        ),
    ],
    ids=["defaults", "v2-tables", "no-consequences", "overrides"],
)
def test_format_then_parse_gives_the_same_numbers(rules: RuleSet) -> None:
    published = parse_rules(format_rules(rules, effective_from=at(ts())))
    assert published.rules == rules
    assert published.effective_from == at(ts())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("critical = 10\n", ""), r"\[points\] has unknown keys \[\], missing \['critical'\]"),
        (("minor = 1\n", "minor = 1\nfatal = 3\n"), r"\[points\] has unknown keys \['fatal'\]"),
        (("minor = 1\n", "minor = -1\n"), "points.minor must be a non-negative integer"),
        (("[points.violations.late_shipping]", "[points.violations.jaywalking]"),
         "unknown violation code 'jaywalking'"),
        (("late_shipping]\nminor = 0", "late_shipping]\nx = 0"),
         r"\[points.violations.late_shipping\] must give points"),
        (("suspend_days = 14\n", ""),
         r"consequences\[1\]\] has unknown keys \[\], missing \['suspend_days'\]"),
        (('measure = "restrict_traffic"\n', 'measure = "restrict_traffic"\nsuspend_days = 3\n'),
         r"consequences\[0\]\] has unknown keys \['suspend_days'\]"),
        (('measure = "restrict_traffic"', 'measure = "warning"'),
         r"consequences\[0\].measure must be one of"),
        (("tier = 24", "tier = 25"), r"consequences\[1\].tier 25 is not one of standing"),
        (("tier = 24", "tier = 12"), r"consequences\[1\].tier 12 is given twice"),
        (("appeal_decision_days = 20\n", ""), r"\[deadlines\] has unknown keys \[\], missing"),
        (("appeal_decision_days = 20\n", "appeal_decision_days = 20\nremedy_days = 3\n"),
         r"\[deadlines\] has unknown keys \['remedy_days'\]"),
        (("complaint_response_days = 2", "complaint_response_days = 0"),
         "complaint_response_days must be a positive integer"),
        (("reenrolment_days = 30\n", ""), r"\[eligibility\] has unknown keys \[\], missing"),
        (('["real_name"]', '["real_name", "passport"]'), "required_verification_kinds"),
        (('["real_name"]', '["real_name", "real_name"]'), "required_verification_kinds"),
        (("deposit_minimum_fen = 50000", "deposit_minimum_fen = -1"),
         "deposit_minimum_fen must be a non-negative integer"),
    ],
)  # fmt: skip
def test_a_v2_table_with_a_missing_unknown_or_bad_key_is_refused(
    change: tuple[str, str], message: str
) -> None:
    text = V1_TEXT + V2_TABLES
    assert change[0] in text
    with pytest.raises(InvalidDecision, match=message):
        parse_rules(text.replace(*change, 1))


def test_an_unknown_table_is_refused() -> None:
    with pytest.raises(InvalidDecision, match=r"unknown keys \['remedies'\]"):
        parse_rules(V1_TEXT + "\n[remedies]\ndays = 3\n")


def test_consequence_tiers_are_checked_against_the_texts_own_tiers() -> None:
    # The tiers come from [standing] of the same text, not the defaults.
    text = V1_TEXT.replace("[12, 24, 36, 48]", "[10, 20]") + (
        '\n[[consequences]]\ntier = 20\nmeasure = "permanent_ban"\n'
    )
    assert parse_rules(text).rules.tier_consequences == ((20, "permanent_ban", None),)
    with pytest.raises(InvalidDecision, match="tier 12 is not one of"):
        parse_rules(text.replace("tier = 20", "tier = 12"))


def test_an_empty_consequences_array_means_no_tier_calls_for_anything() -> None:
    start = 'effective_from = "2026-11-12T08:30:00Z"\n'
    text = V1_TEXT.replace(start, start + "consequences = []\n")
    rules = parse_rules(text).rules
    assert rules.tier_consequences == ()
    assert rules.consequence_of(12) is None
