"""docs/DECISIONS.md "Standing of a shop", rule by rule, on the pure standing function.

Each scenario names the rule(s) it checks with ``@rule(...)``; ``RULES`` quotes each rule
from docs/DECISIONS.md, and two tests keep the catalogue honest: every quote is in
docs/DECISIONS.md and every rule has at least one scenario.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.domain.builders import doc, measure, ts
from tests.projections.helpers import facts_of, standing_at
from trustledger.domain.rules import DEFAULT_RULES, RuleSet
from trustledger.domain.standing import standing
from trustledger.domain.timefmt import micros

DECISIONS_MD = Path(__file__).resolve().parents[2] / "docs" / "DECISIONS.md"

#: docs/DECISIONS.md "Standing of a shop", one rule per entry, quoted (whitespace aside) from it.
RULES: dict[str, str] = {
    "no-wall-clock": "Computed from the events alone, as of any time T (default: now) — no wall "
    "clock inside the logic.",
    "happened-by-T": "a decision with `occurred_at` ≤ T has happened by T",
    "in-force-while-T-before-until": "a measure or a verification with `until` / "
    "`valid_until` is in force while T < that time",
    "N-days-before-T": '"in the N days before T" means `occurred_at` in (T − N days, T]',
    "status-precedence": "`status`, by precedence:",
    "status-closed": "`closed` >",
    "status-banned": "`banned` (an active permanent ban)",
    "status-suspended": "`suspended` (an active suspension)",
    "status-restricted": "`restricted` (an active `restrict_traffic`, `restrict_listing` or "
    "`freeze_funds`)",
    "status-pending-verification": "`pending_verification` (no approved real-name "
    "verification that is unexpired and unrevoked)",
    "status-active": "> `active`.",
    "measure-active-from-penalty-until-until": "A measure is active from the penalty's "
    "`occurred_at` until its `until` (or for ever when it has none), unless the penalty was "
    "revoked by T.",
    "one-off-measures": "`warning` and `deduct_deposit` are one-off",
    "delisted-products": "a `delist_product` lists the product among the shop's delisted "
    "products while active",
    "points": "`points`: the sum of points of unrevoked penalties imposed in the 365 days "
    "*(rule)* before T",
    "points-tier": "`points_tier`: the highest of 12 / 24 / 36 / 48 *(rule)* reached, else 0",
    "counts-complaints": "Counts of complaints (open, substantiated, dismissed)",
    "counts-penalties": "penalties (active, revoked)",
    "counts-appeals": "appeals (open, upheld, rejected)",
    "verifications": "the verifications and their validity",
    "eligible-status-active": "`trust_purchase_eligible` (信任购): status `active`",
    "eligible-qualifications-valid": "every approved qualification still valid at T (not past "
    "its `valid_until`, not expired or revoked)",
    "eligible-no-recent-serious-penalty": "no `serious` or `critical` penalty in the 30 days "
    "*(rule)* before T that is not revoked",
    "eligible-points-below-12": "and points below 12 *(rule)*",
    "rule-set-numbers": "Numbers marked *(rule)* are defaults of a versioned rule set, never "
    "constants in code.",
    "upheld-appeal-revokes": "`appeal.upheld` (which revokes the appealed penalty at its own "
    "`occurred_at`, cause `appeal_upheld`)",
}
COVERED: dict[str, list[str]] = {name: [] for name in RULES}
F = TypeVar("F", bound=Callable[..., Any])


def rule(*names: str) -> Callable[[F], F]:
    """Mark a scenario as checking these docs/DECISIONS.md rules (keys of ``RULES``)."""

    def mark(test: F) -> F:
        for name in names:
            COVERED[name].append(test.__name__)  # KeyError: not a rule of RULES
        return test

    return mark


def _words(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_every_rule_is_quoted_from_decisions_md() -> None:
    decisions = _words(DECISIONS_MD.read_text(encoding="utf-8"))
    missing = [name for name, quote in RULES.items() if _words(quote) not in decisions]
    assert missing == [], f"rules not quoted verbatim from docs/DECISIONS.md: {missing}"


def test_every_rule_has_a_scenario() -> None:
    assert [name for name, tests in COVERED.items() if not tests] == []


def test_no_wall_clock_is_read_by_the_projections() -> None:
    """The only clocks are the defaults of ``at`` where a caller leaves it out: the CLI's
    --as-of and the query API (``queries``: ``standing_of(url, shop)`` is "now"); the rest of
    the projections package and the domain's standing read none."""
    import trustledger_projections
    from trustledger.domain import standing as domain_standing

    package = Path(trustledger_projections.__file__).parent
    clock = re.compile(r"\b(datetime\.now|datetime\.utcnow|date\.today|time\.time|"
                       r"time\.monotonic|perf_counter)\b")  # fmt: skip
    readers = [
        f"{path.name}:{number}"
        for path in [*sorted(package.rglob("*.py")), Path(domain_standing.__file__)]
        if path.name != "queries.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if clock.search(line)
    ]
    assert readers == []


COVERED["no-wall-clock"].append(test_no_wall_clock_is_read_by_the_projections.__name__)


def verified(*extra: dict[str, Any]) -> list[dict[str, Any]]:
    """A registered shop with an approved real-name verification (valid for a year)."""
    return [
        doc("shop.registered"),
        doc("verification.submitted", occurred_at=ts(hours=1)),
        doc("verification.approved", occurred_at=ts(hours=2)),
        *extra,
    ]


def qualified(*extra: dict[str, Any]) -> list[dict[str, Any]]:
    """``verified`` with an approved qualification too: every kind the default rule set
    requires for trust purchase (docs/DECISIONS.md, v2)."""
    return verified(
        doc("verification.submitted", verification_id="q-0", kind="qualification",
            occurred_at=ts(hours=3)),
        doc("verification.approved", verification_id="q-0", occurred_at=ts(hours=4)),
        *extra,
    )  # fmt: skip


def penalty(days: float, *measures: dict[str, Any], **data: Any) -> dict[str, Any]:
    data.setdefault("points", 0)
    data.setdefault("severity", "minor")
    return doc(
        "penalty.imposed",
        occurred_at=ts(days=days),
        measures=list(measures) or [measure("warning")],
        **data,
    )


@rule("happened-by-T")
# -- boundaries ------------------------------------------------------------------------------
def test_a_shop_has_no_standing_before_it_was_registered() -> None:
    facts = facts_of([doc("shop.registered", occurred_at=ts(days=1))])
    assert standing("shop-10086", facts, at=micros_of(ts()), rules=DEFAULT_RULES) is None


def micros_of(text: str) -> int:
    from tests.domain.builders import at

    return micros(at(text))


@rule("happened-by-T", "status-closed")
def test_a_decision_at_exactly_t_has_happened_by_t() -> None:
    history = verified(doc("shop.closed", occurred_at=ts(days=3)))
    assert standing_at(history, ts(days=3))["status"] == "closed"
    assert standing_at(history, ts(days=3, seconds=-1))["status"] == "active"


@rule("status-pending-verification", "status-active")
# -- status by precedence --------------------------------------------------------------------
def test_pending_verification_without_an_approved_real_name_verification() -> None:
    history = [doc("shop.registered"), doc("verification.submitted", occurred_at=ts(hours=1))]
    assert standing_at(history, ts(days=1))["status"] == "pending_verification"
    assert standing_at(verified(), ts(days=1))["status"] == "active"


@rule("status-pending-verification", "in-force-while-T-before-until")
def test_pending_verification_again_when_the_real_name_verification_expires() -> None:
    history = verified()  # valid_until 2027-11-02T08:30:00Z
    assert standing_at(history, "2027-11-02T08:29:59Z")["status"] == "active"
    assert standing_at(history, "2027-11-02T08:30:00Z")["status"] == "pending_verification"


@rule("status-pending-verification")
def test_pending_verification_when_the_real_name_verification_is_revoked() -> None:
    history = verified(doc("verification.revoked", occurred_at=ts(days=5)))
    assert standing_at(history, ts(days=5))["status"] == "pending_verification"


@rule("status-restricted", "in-force-while-T-before-until")
def test_restricted_while_a_restriction_is_in_force() -> None:
    history = verified(penalty(1, measure("restrict_traffic", until=ts(days=8))))
    assert standing_at(history, ts(days=7))["status"] == "restricted"
    assert standing_at(history, ts(days=8))["status"] == "active"


@rule("status-restricted", "measure-active-from-penalty-until-until")
def test_freeze_funds_without_until_restricts_for_ever() -> None:
    history = verified(penalty(1, measure("freeze_funds")))
    assert standing_at(history, ts(days=900))["status"] == "restricted"


@rule("status-suspended", "in-force-while-T-before-until")
def test_suspension_ends_at_until() -> None:
    history = verified(penalty(1, measure("suspend", until=ts(days=10))))
    assert standing_at(history, ts(days=1))["status"] == "suspended"
    assert standing_at(history, ts(days=10, seconds=-1))["status"] == "suspended"
    assert standing_at(history, ts(days=10))["status"] == "active"


@rule("status-precedence", "status-suspended", "status-restricted")
def test_suspended_outranks_restricted() -> None:
    history = verified(
        penalty(
            1, measure("restrict_listing", until=ts(days=20)), measure("suspend", until=ts(days=5))
        )
    )
    assert standing_at(history, ts(days=2))["status"] == "suspended"
    assert standing_at(history, ts(days=6))["status"] == "restricted"


@rule("status-precedence", "status-banned", "measure-active-from-penalty-until-until")
def test_banned_outranks_suspended_and_lasts_for_ever() -> None:
    history = verified(
        penalty(1, measure("suspend", until=ts(days=5))),
        doc("penalty.imposed", penalty_id="p-2", occurred_at=ts(days=2),
            measures=[measure("permanent_ban")]),
    )  # fmt: skip
    assert standing_at(history, ts(days=3))["status"] == "banned"
    assert standing_at(history, ts(days=3000))["status"] == "banned"


@rule("status-banned", "upheld-appeal-revokes", "counts-appeals")
def test_ban_lifted_only_by_an_upheld_appeal() -> None:
    ban = doc("penalty.imposed", occurred_at=ts(days=1), measures=[measure("permanent_ban")])
    rejected = verified(
        ban,
        doc("appeal.filed", occurred_at=ts(days=2)),
        doc("appeal.rejected", occurred_at=ts(days=3)),
    )
    assert standing_at(rejected, ts(days=4))["status"] == "banned"
    upheld = verified(
        ban,
        doc("appeal.filed", occurred_at=ts(days=2)),
        doc("appeal.upheld", occurred_at=ts(days=3)),
    )
    assert standing_at(upheld, ts(days=3, seconds=-1))["status"] == "banned"
    after = standing_at(upheld, ts(days=3))
    assert after["status"] == "active"
    assert after["penalties"] == {"active": 0, "expired": 0, "revoked": 1}
    assert after["appeals"]["upheld"] == 1


@rule("status-banned", "measure-active-from-penalty-until-until")
def test_ban_lifted_by_a_regulators_order() -> None:
    history = verified(
        doc("penalty.imposed", occurred_at=ts(days=1), measures=[measure("permanent_ban")]),
        doc("penalty.revoked", occurred_at=ts(days=9), cause="regulator_order"),
    )
    assert standing_at(history, ts(days=9))["status"] == "active"


@rule("status-precedence", "status-closed")
def test_closed_outranks_everything() -> None:
    history = verified(
        doc("penalty.imposed", occurred_at=ts(days=1), measures=[measure("permanent_ban")]),
        doc("shop.closed", occurred_at=ts(days=2)),
    )
    result = standing_at(history, ts(days=2))
    assert result["status"] == "closed"
    assert result["closed_at"] == ts(days=2)


@rule("one-off-measures")
# -- measures ------------------------------------------------------------------------------------
def test_one_off_measures_are_never_active() -> None:
    history = verified(penalty(1, measure("warning"), measure("deduct_deposit", amount=5000)))
    result = standing_at(history, ts(days=1))
    assert result["active_measures"] == []
    assert result["status"] == "active"


@rule("delisted-products")
def test_a_delisted_product_is_listed_while_its_measure_is_active() -> None:
    history = verified(penalty(1, measure("delist_product", product_id="sku-9")))
    result = standing_at(history, ts(days=2))
    assert result["delisted_products"] == ["sku-9"]
    assert result["active_measures"] == [
        {"penalty_id": "p-1", "type": "delist_product", "product_id": "sku-9"}
    ]


@rule("measure-active-from-penalty-until-until")
def test_revoked_penalty_ends_its_measures_from_the_revocation_on() -> None:
    history = verified(
        penalty(1, measure("suspend", until=ts(days=30))),
        doc("penalty.revoked", occurred_at=ts(days=4), cause="platform_error"),
    )
    assert standing_at(history, ts(days=3))["status"] == "suspended"
    assert standing_at(history, ts(days=4))["status"] == "active"


@rule("points", "points-tier")
# -- points ------------------------------------------------------------------------------------
def test_points_sum_unrevoked_penalties_and_reach_tiers() -> None:
    history = verified(
        penalty(1, points=6),
        doc("penalty.imposed", penalty_id="p-2", occurred_at=ts(days=2), points=7,
            severity="minor", measures=[measure("warning")]),
    )  # fmt: skip
    result = standing_at(history, ts(days=2))
    assert (result["points"], result["points_tier"]) == (13, 12)
    assert standing_at(history, ts(days=1))["points_tier"] == 0


@rule("points")
def test_revoked_penalties_add_no_points() -> None:
    history = verified(
        penalty(1, points=24),
        doc("penalty.revoked", occurred_at=ts(days=2), cause="platform_error"),
    )
    assert standing_at(history, ts(days=1))["points"] == 24
    result = standing_at(history, ts(days=2))
    assert (result["points"], result["points_tier"]) == (0, 0)


@rule("points", "N-days-before-T")
def test_points_expire_after_365_days() -> None:
    history = verified(penalty(1, points=12))
    assert standing_at(history, ts(days=1))["points"] == 12  # imposed at T: (T - 365 d, T]
    # "In the 365 days before T" is (T - 365 days, T]: 365 days after it was imposed, the
    # penalty lies on the open end of the window and no longer counts.
    assert standing_at(history, "2027-11-03T08:29:59Z")["points"] == 12
    assert standing_at(history, ts(days=366))["points"] == 0
    assert ts(days=366) == "2027-11-03T08:30:00Z"


@rule("points-tier")
@pytest.mark.parametrize(
    ("points", "tier"), [(11, 0), (12, 12), (23, 12), (24, 24), (36, 36), (48, 48), (100, 48)]
)
def test_points_tier_is_the_highest_reached(points: int, tier: int) -> None:
    history = verified(penalty(1, points=points))
    assert standing_at(history, ts(days=2))["points_tier"] == tier


@rule("counts-penalties")
def test_penalty_counts_active_expired_revoked() -> None:
    history = verified(
        penalty(1, points=1),
        doc("penalty.imposed", penalty_id="p-2", occurred_at=ts(days=2), points=1,
            severity="minor", measures=[measure("warning")]),
        doc("penalty.revoked", penalty_id="p-2", occurred_at=ts(days=3), cause="platform_error"),
    )  # fmt: skip
    assert standing_at(history, ts(days=3))["penalties"] == {
        "active": 1,
        "expired": 0,
        "revoked": 1,
    }
    assert standing_at(history, ts(days=400))["penalties"]["expired"] == 1


@rule("counts-complaints")
# -- counts --------------------------------------------------------------------------------------
def test_complaint_counts_follow_their_life_cycle() -> None:
    history = verified(
        doc("complaint.filed", complaint_id="c-1", occurred_at=ts(days=1)),
        doc("complaint.filed", complaint_id="c-2", occurred_at=ts(days=1)),
        doc("complaint.filed", complaint_id="c-3", occurred_at=ts(days=1)),
        doc("complaint.responded", complaint_id="c-1", occurred_at=ts(days=2)),
        doc("complaint.substantiated", complaint_id="c-2", occurred_at=ts(days=2)),
        doc("complaint.dismissed", complaint_id="c-3", occurred_at=ts(days=3)),
    )
    assert standing_at(history, ts(days=2))["complaints"] == {
        "open": 2,
        "substantiated": 1,
        "dismissed": 0,
        "withdrawn": 0,
        "overturned": 0,
    }
    assert standing_at(history, ts(days=3))["complaints"]["dismissed"] == 1


@rule("counts-appeals")
def test_appeal_counts() -> None:
    history = verified(
        penalty(1),
        doc("appeal.filed", occurred_at=ts(days=2)),
        doc("appeal.withdrawn", occurred_at=ts(days=3)),
        doc("appeal.filed", appeal_id="a-2", occurred_at=ts(days=4)),
    )
    assert standing_at(history, ts(days=4))["appeals"] == {
        "open": 1,
        "upheld": 0,
        "rejected": 0,
        "withdrawn": 1,
    }


@rule("verifications", "in-force-while-T-before-until")
def test_verifications_and_their_validity() -> None:
    history = verified(
        doc("verification.submitted", verification_id="v-2", kind="qualification",
            occurred_at=ts(days=1), valid_until=ts(days=50)),
        doc("verification.approved", verification_id="v-2", occurred_at=ts(days=2),
            valid_until=ts(days=40)),
    )  # fmt: skip
    result = standing_at(history, ts(days=39))
    assert [(v["verification_id"], v["kind"], v["valid"]) for v in result["verifications"]] == [
        ("v-1", "real_name", True),
        ("v-2", "qualification", True),
    ]
    assert result["verifications"][1]["valid_until"] == ts(days=40)
    assert standing_at(history, ts(days=40))["verifications"][1]["valid"] is False


@rule("eligible-status-active")
# -- trust purchase eligibility ---------------------------------------------------------------
def test_eligible_when_active_with_nothing_against_it() -> None:
    assert standing_at(qualified(), ts(days=1))["trust_purchase_eligible"] is True


@rule("eligible-status-active")
def test_not_eligible_unless_active() -> None:
    history = [doc("shop.registered")]
    assert standing_at(history, ts(days=1))["trust_purchase_eligible"] is False


@rule("eligible-no-recent-serious-penalty", "N-days-before-T")
def test_eligibility_lost_after_a_serious_penalty_and_regained_30_days_later() -> None:
    history = qualified(penalty(1, severity="serious", points=3))
    assert standing_at(history, ts(days=1))["trust_purchase_eligible"] is False
    assert standing_at(history, ts(days=31, seconds=-1))["trust_purchase_eligible"] is False
    assert standing_at(history, ts(days=31))["trust_purchase_eligible"] is True


@rule("eligible-no-recent-serious-penalty")
def test_a_critical_penalty_also_costs_eligibility_but_a_minor_one_does_not() -> None:
    critical = qualified(penalty(1, severity="critical"))
    assert standing_at(critical, ts(days=2))["trust_purchase_eligible"] is False
    minor = qualified(penalty(1, severity="minor", points=3))
    assert standing_at(minor, ts(days=2))["trust_purchase_eligible"] is True


@rule("eligible-no-recent-serious-penalty", "upheld-appeal-revokes")
def test_a_revoked_serious_penalty_does_not_cost_eligibility() -> None:
    history = qualified(
        penalty(1, severity="serious"),
        doc("appeal.filed", occurred_at=ts(days=2)),
        doc("appeal.upheld", occurred_at=ts(days=3)),
    )
    assert standing_at(history, ts(days=2))["trust_purchase_eligible"] is False
    assert standing_at(history, ts(days=3))["trust_purchase_eligible"] is True


@rule("eligible-points-below-12")
def test_eligibility_needs_points_below_12() -> None:
    assert standing_at(qualified(penalty(1, points=11)), ts(days=2))["trust_purchase_eligible"]
    assert not standing_at(qualified(penalty(1, points=12)), ts(days=2))["trust_purchase_eligible"]


@rule("eligible-qualifications-valid")
def test_eligibility_needs_every_approved_qualification_valid() -> None:
    history = verified(
        doc("verification.submitted", verification_id="q-1", kind="qualification",
            occurred_at=ts(days=1)),
        doc("verification.approved", verification_id="q-1", occurred_at=ts(days=2),
            valid_until=ts(days=60)),
        doc("verification.submitted", verification_id="q-2", kind="qualification",
            occurred_at=ts(days=3)),
    )  # fmt: skip
    assert standing_at(history, ts(days=59))["trust_purchase_eligible"] is True
    assert standing_at(history, ts(days=60))["trust_purchase_eligible"] is False
    revoked = verified(
        doc("verification.submitted", verification_id="q-1", kind="qualification",
            occurred_at=ts(days=1)),
        doc("verification.approved", verification_id="q-1", occurred_at=ts(days=2)),
        doc("verification.revoked", verification_id="q-1", occurred_at=ts(days=5)),
    )  # fmt: skip
    assert standing_at(revoked, ts(days=4))["trust_purchase_eligible"] is True
    assert standing_at(revoked, ts(days=5))["trust_purchase_eligible"] is False


@rule("rule-set-numbers")
# -- rule sets ---------------------------------------------------------------------------------
def test_the_rule_set_given_decides_the_numbers() -> None:
    strict = RuleSet(version="strict", points_tiers=(5, 10), eligibility_max_points=5)
    history = verified(penalty(1, points=6))
    result = standing_at(history, ts(days=2), rules=strict)
    assert (result["points_tier"], result["trust_purchase_eligible"], result["rule_set"]) == (
        5,
        False,
        "strict",
    )


# -- more boundaries and precedence -----------------------------------------------------------
@rule("status-precedence", "status-restricted", "status-pending-verification")
def test_restricted_outranks_pending_verification() -> None:
    history = [
        doc("shop.registered"),
        penalty(1, measure("restrict_listing", until=ts(days=5))),
    ]
    assert standing_at(history, ts(days=2))["status"] == "restricted"
    assert standing_at(history, ts(days=5))["status"] == "pending_verification"


@rule("measure-active-from-penalty-until-until", "happened-by-T")
def test_a_measure_is_active_from_the_penaltys_occurred_at() -> None:
    history = verified(penalty(3, measure("suspend", until=ts(days=9))))
    before = standing_at(history, ts(days=3, seconds=-1))
    assert (before["status"], before["active_measures"], before["penalties"]["active"]) == (
        "active",
        [],
        0,
    )
    assert standing_at(history, ts(days=3))["status"] == "suspended"


@rule("delisted-products", "measure-active-from-penalty-until-until")
def test_a_delisted_product_returns_when_its_penalty_is_revoked() -> None:
    history = verified(
        penalty(1, measure("delist_product", product_id="sku-9")),
        doc("penalty.revoked", occurred_at=ts(days=4), cause="platform_error"),
    )
    assert standing_at(history, ts(days=4, seconds=-1))["delisted_products"] == ["sku-9"]
    assert standing_at(history, ts(days=4))["delisted_products"] == []


@rule("eligible-qualifications-valid")
def test_an_expired_qualification_costs_eligibility() -> None:
    history = verified(
        doc("verification.submitted", verification_id="q-1", kind="qualification",
            occurred_at=ts(days=1)),
        doc("verification.approved", verification_id="q-1", occurred_at=ts(days=2)),
        doc("verification.expired", verification_id="q-1", occurred_at=ts(days=6)),
    )  # fmt: skip
    assert standing_at(history, ts(days=6, seconds=-1))["trust_purchase_eligible"] is True
    result = standing_at(history, ts(days=6))
    assert result["trust_purchase_eligible"] is False
    assert result["status"] == "active"  # a qualification is no real-name verification
    assert [v["status"] for v in result["verifications"]] == ["expired", "approved"]


@rule("eligible-no-recent-serious-penalty", "N-days-before-T")
def test_the_30_day_window_is_open_at_its_start() -> None:
    history = qualified(penalty(1, severity="serious"))
    assert standing_at(history, "2026-12-03T08:29:59.999999Z")["trust_purchase_eligible"] is False
    assert standing_at(history, "2026-12-03T08:30:00Z")["trust_purchase_eligible"] is True
    assert ts(days=31) == "2026-12-03T08:30:00Z"


@rule("rule-set-numbers", "points", "eligible-no-recent-serious-penalty", "N-days-before-T")
def test_the_windows_come_from_the_rule_set() -> None:
    short = RuleSet(
        version="short",
        points_window=timedelta(days=10),
        eligibility_penalty_window=timedelta(days=2),
    )
    history = qualified(penalty(1, severity="serious", points=5))
    assert standing_at(history, ts(days=11, seconds=-1), rules=short)["points"] == 5
    assert standing_at(history, ts(days=11), rules=short)["points"] == 0
    assert standing_at(history, ts(days=3), rules=short)["trust_purchase_eligible"] is True
    assert standing_at(history, ts(days=3), rules=DEFAULT_RULES)["trust_purchase_eligible"] is False
