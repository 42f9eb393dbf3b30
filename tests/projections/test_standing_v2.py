"""docs/DECISIONS.md's v2 standing on the pure function: every member, scenario by scenario,
and the action items the work queue lists (the standing's counts come from the same items)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.domain.builders import DROP, at, doc, measure, ts
from tests.projections.helpers import items_at, standing_at
from trustledger.domain.rules import DEFAULT_RULES, PublishedRules, RuleBook, RuleSet


def shop(*extra: dict[str, Any], deposit: int = 100_000) -> list[dict[str, Any]]:
    """A registered shop with approved real-name and qualification verifications (eligible)."""
    return [
        doc("shop.registered", deposit=deposit),
        doc("verification.submitted", occurred_at=ts(hours=1)),
        doc("verification.approved", occurred_at=ts(hours=2)),
        doc("verification.submitted", verification_id="q-1", kind="qualification",
            occurred_at=ts(hours=3)),
        doc("verification.approved", verification_id="q-1", occurred_at=ts(hours=4)),
        *extra,
    ]  # fmt: skip


def penalty(days: float, *measures: dict[str, Any], **data: Any) -> dict[str, Any]:
    data.setdefault("severity", "minor")
    return doc(
        "penalty.imposed",
        occurred_at=ts(days=days),
        measures=list(measures) or [measure("warning")],
        **data,
    )


def complaint(cid: str, days: float, *, substantiated: float | None = None) -> list[dict[str, Any]]:
    docs = [doc("complaint.filed", complaint_id=cid, occurred_at=ts(days=days))]
    if substantiated is not None:
        docs.append(
            doc("complaint.substantiated", complaint_id=cid, violation="counterfeit",
                occurred_at=ts(days=substantiated))
        )  # fmt: skip
    return docs


# -- deposit --------------------------------------------------------------------------------------
def test_the_deposit_counts_registration_payments_refunds_and_deductions() -> None:
    history = shop(
        doc("deposit.paid", amount=50_000, occurred_at=ts(days=1)),
        doc("deposit.refunded", amount=20_000, occurred_at=ts(days=2)),
        penalty(3, measure("deduct_deposit", amount=30_000)),
        deposit=100_000,
    )
    assert standing_at(history, ts(days=3))["deposit"] == {
        "balance": 100_000,
        "paid": 150_000,
        "deducted": 30_000,
        "restored": 0,
        "refunded": 20_000,
        "paid_out": 0,
    }
    assert standing_at(history, ts(days=2))["deposit"]["balance"] == 130_000


def test_a_revocation_restores_its_deductions_whatever_the_cause() -> None:
    for cause in ("appeal_upheld", "platform_error", "regulator_order"):
        history = shop(
            penalty(1, measure("deduct_deposit", amount=40_000)),
            doc("penalty.revoked", cause=cause, occurred_at=ts(days=5)),
        )
        before, after = (
            standing_at(history, ts(days=5, seconds=-1)),
            standing_at(history, ts(days=5)),
        )
        assert before["deposit"]["balance"] == 60_000
        assert after["deposit"] == {
            "balance": 100_000,
            "paid": 100_000,
            "deducted": 40_000,
            "restored": 40_000,
            "refunded": 0,
            "paid_out": 0,
        }


def test_remedies_from_the_deposit_count_when_ordered_whatever_becomes_of_them() -> None:
    history = shop(
        *complaint("c-1", 1, substantiated=2),
        doc("remedy.ordered", remedy_id="r-1", complaint_id="c-1", amount=10_000,
            from_deposit=True, due_by=ts(days=9), occurred_at=ts(days=3)),
        doc("remedy.ordered", remedy_id="r-2", complaint_id="c-1", amount=5_000,
            from_deposit=True, due_by=ts(days=9), occurred_at=ts(days=3)),
        doc("remedy.ordered", remedy_id="r-3", complaint_id="c-1", amount=7_000,
            from_deposit=False, due_by=ts(days=9), occurred_at=ts(days=3)),
        doc("remedy.completed", remedy_id="r-1", amount_paid=8_000, occurred_at=ts(days=4)),
        doc("remedy.cancelled", remedy_id="r-2", occurred_at=ts(days=5)),
    )  # fmt: skip
    assert standing_at(history, ts(days=3, seconds=-1))["deposit"]["paid_out"] == 0
    assert standing_at(history, ts(days=3))["deposit"]["paid_out"] == 15_000
    at_five = standing_at(history, ts(days=5))
    assert at_five["deposit"]["paid_out"] == 15_000  # rule 10: counted when ordered
    assert at_five["deposit"]["balance"] == 85_000
    assert at_five["remedies"] == {
        "open": 1,
        "overdue": 0,
        "completed": 1,
        "cancelled": 1,
        "owed": 7_000,
    }


# -- warnings -------------------------------------------------------------------------------------
def test_warnings_count_unrevoked_warning_measures_in_the_points_window() -> None:
    history = shop(
        penalty(1, measure("warning"), points=0, penalty_id="p-1"),
        penalty(2, measure("warning"), measure("warning"), points=0, penalty_id="p-2"),
        penalty(3, measure("warning"), points=0, penalty_id="p-3"),
        doc("penalty.revoked", penalty_id="p-3", cause="platform_error", occurred_at=ts(days=4)),
    )
    assert standing_at(history, ts(days=3))["warnings"] == 4
    assert standing_at(history, ts(days=4))["warnings"] == 3
    assert standing_at(history, ts(days=366))["warnings"] == 2  # p-1 left the window
    assert standing_at(history, ts(days=367))["warnings"] == 0


# -- complaints overturned ------------------------------------------------------------------------
def test_an_upheld_appeal_overturns_the_complaints_its_penalty_cites() -> None:
    history = shop(
        *complaint("c-1", 1, substantiated=2),
        *complaint("c-2", 1, substantiated=2),
        penalty(3, complaint_ids=["c-1"], violation="counterfeit", points=6),
        doc("appeal.filed", occurred_at=ts(days=4), grounds="the invoice covers the batch"),
        doc("appeal.upheld", occurred_at=ts(days=6)),
    )
    before = standing_at(history, ts(days=6, seconds=-1))["complaints"]
    after = standing_at(history, ts(days=6))["complaints"]
    assert (before["substantiated"], before["overturned"]) == (2, 0)
    assert (after["substantiated"], after["overturned"]) == (1, 1)


def test_a_regulator_order_leaves_the_findings_and_a_platform_error_overturns_them() -> None:
    def revoked(cause: str) -> dict[str, Any]:
        history = shop(
            *complaint("c-1", 1, substantiated=2),
            penalty(3, complaint_ids=["c-1"], violation="counterfeit", points=6),
            doc("penalty.revoked", cause=cause, occurred_at=ts(days=4)),
        )
        result: dict[str, Any] = standing_at(history, ts(days=4))["complaints"]
        return result

    assert (
        revoked("regulator_order")["substantiated"],
        revoked("regulator_order")["overturned"],
    ) == (1, 0)
    assert (
        revoked("platform_error")["substantiated"],
        revoked("platform_error")["overturned"],
    ) == (0, 1)


# -- remedies and what is overdue -----------------------------------------------------------------
def test_a_remedy_is_overdue_from_its_due_by_on() -> None:
    history = shop(
        *complaint("c-1", 1, substantiated=2),
        doc("remedy.ordered", remedy_id="r-1", complaint_id="c-1", amount=12_900,
            due_by=ts(days=9), occurred_at=ts(days=2)),
    )  # fmt: skip
    before = standing_at(history, ts(days=9, seconds=-1))
    on_time = standing_at(history, ts(days=9))
    assert before["remedies"] == {
        "open": 1, "overdue": 0, "completed": 0, "cancelled": 0, "owed": 12_900,
    }  # fmt: skip
    assert on_time["remedies"]["overdue"] == 1 and on_time["overdue"]["remedies"] == 1
    assert on_time["remedies"]["owed"] == 12_900
    assert before["trust_purchase_eligible"] is True
    assert on_time["ineligible_reasons"] == ["remedy_overdue"]
    [item] = items_at(history, ts(days=9))
    assert (item.kind, item.due_at_text, dict(item.detail)) == (
        "remedy_overdue",
        ts(days=9),
        {"remedy_id": "r-1", "complaint_id": "c-1", "amount": 12_900},
    )
    assert items_at(history, ts(days=9, seconds=-1))[0].kind == "remedy_owed"


def test_complaint_deadlines_are_overdue_exactly_at_their_instant() -> None:
    history = shop(*complaint("c-1", 1))
    assert standing_at(history, ts(days=4, seconds=-1))["overdue"]["complaints_unanswered"] == 0
    at_three = standing_at(history, ts(days=4))["overdue"]
    assert (at_three["complaints_unanswered"], at_three["complaints_unresolved"]) == (1, 0)
    at_fifteen = standing_at(history, ts(days=16))["overdue"]
    assert (at_fifteen["complaints_unanswered"], at_fifteen["complaints_unresolved"]) == (1, 1)
    kinds = [(i.kind, i.due_at_text) for i in items_at(history, ts(days=16))]
    assert kinds == [("complaint_unanswered", ts(days=4)), ("complaint_unresolved", ts(days=16))]


def test_a_response_ends_unanswered_and_a_resolution_ends_both() -> None:
    responded = shop(
        *complaint("c-1", 1),
        doc("complaint.responded", complaint_id="c-1", occurred_at=ts(days=5)),
    )
    overdue = standing_at(responded, ts(days=20))["overdue"]
    assert (overdue["complaints_unanswered"], overdue["complaints_unresolved"]) == (0, 1)
    dismissed = shop(
        *complaint("c-1", 1),
        doc("complaint.dismissed", complaint_id="c-1", occurred_at=ts(days=17)),
    )
    overdue = standing_at(dismissed, ts(days=20))["overdue"]
    assert (overdue["complaints_unanswered"], overdue["complaints_unresolved"]) == (0, 0)


def test_an_appeal_is_undecided_15_days_after_filing_even_after_the_shop_closed() -> None:
    history = shop(
        penalty(1, points=2),
        doc("appeal.filed", occurred_at=ts(days=2), grounds="wrong product"),
        *complaint("c-1", 3),
        doc("shop.closed", occurred_at=ts(days=4)),
    )
    result = standing_at(history, ts(days=17))
    assert result["overdue"] == {
        "complaints_unanswered": 0,  # closed: nothing but appeals can follow (rule 1)
        "complaints_unresolved": 0,
        "appeals_undecided": 1,
        "remedies": 0,
    }
    [item] = items_at(history, ts(days=17))
    assert (item.kind, dict(item.detail), item.due_at_text) == (
        "appeal_undecided",
        {"appeal_id": "a-1", "penalty_id": "p-1"},
        ts(days=17),
    )
    assert standing_at(history, ts(days=17, seconds=-1))["overdue"]["appeals_undecided"] == 0


def test_the_deadlines_come_from_the_rule_set_in_force_at_t() -> None:
    quick = RuleSet(version="quick", complaint_response_deadline=timedelta(days=1))
    history = shop(*complaint("c-1", 1))
    assert standing_at(history, ts(days=2), rules=quick)["overdue"]["complaints_unanswered"] == 1
    assert standing_at(history, ts(days=2))["overdue"]["complaints_unanswered"] == 0


# -- required actions -----------------------------------------------------------------------------
def test_a_tier_reached_without_its_measure_requires_it_and_status_stays_active() -> None:
    history = shop(
        penalty(1, points=10, penalty_id="p-1"),
        penalty(2, points=40, penalty_id="p-2"),
    )
    result = standing_at(history, ts(days=3))
    assert result["status"] == "active"  # v2 adds required actions, no automatic status
    assert result["points"] == 50
    assert result["required_actions"] == [
        {"tier": 12, "reached_at": ts(days=2), "measure": "restrict_traffic", "suspend_days": None},
        {"tier": 24, "reached_at": ts(days=2), "measure": "suspend", "suspend_days": 7},
        {"tier": 36, "reached_at": ts(days=2), "measure": "suspend", "suspend_days": 30},
        {"tier": 48, "reached_at": ts(days=2), "measure": "permanent_ban", "suspend_days": None},
    ]
    items = items_at(history, ts(days=3))
    assert [i.kind for i in items] == ["required_action"] * 4
    ids = {doc_["data"]["penalty_id"]: doc_["decision_id"] for doc_ in history[5:]}
    assert items[0].decision_ids == (ids["p-1"], ids["p-2"])


def test_reached_at_is_the_penalty_that_first_brings_the_running_total_to_the_tier() -> None:
    history = shop(penalty(1, points=6), penalty(5, points=6, penalty_id="p-2"))
    [action] = standing_at(history, ts(days=6))["required_actions"]
    assert (action["tier"], action["reached_at"]) == (12, ts(days=5))
    # A year after p-1, the window holds only p-2: the tier is no longer reached.
    assert standing_at(history, ts(days=366))["required_actions"] == []


def test_a_penalty_at_or_after_reached_at_carrying_the_measure_or_a_stronger_one_satisfies_it() -> (
    None
):
    reached = [penalty(1, points=12, penalty_id="p-1")]
    for given, satisfied in (
        (measure("restrict_traffic", until=ts(days=20)), True),
        (measure("suspend", until=ts(days=3)), True),
        (measure("permanent_ban"), True),
        (measure("restrict_listing", until=ts(days=20)), False),
    ):
        history = shop(*reached, penalty(2, given, points=0, penalty_id="p-2"))
        assert (standing_at(history, ts(days=3))["required_actions"] == []) is satisfied, given
    # The measure may come with the penalty that reached the tier.
    same = shop(penalty(1, measure("restrict_traffic"), points=12))
    assert standing_at(same, ts(days=2))["required_actions"] == []
    # A measure imposed before the tier was reached does not count.
    before = shop(
        penalty(1, measure("restrict_traffic", until=ts(days=2)), points=0),
        penalty(3, points=12, penalty_id="p-2"),
    )
    assert [a["tier"] for a in standing_at(before, ts(days=4))["required_actions"]] == [12]


def test_a_longer_suspension_counts_for_a_shorter_one_not_the_reverse() -> None:
    reached = penalty(1, points=36, penalty_id="p-1")
    seven = shop(
        reached, penalty(2, measure("suspend", until=ts(days=9)), points=0, penalty_id="p-2")
    )
    # 7 days carries tiers 12 and 24, not 36 (30 days).
    assert [a["tier"] for a in standing_at(seven, ts(days=3))["required_actions"]] == [36]
    thirty = shop(
        reached, penalty(2, measure("suspend", until=ts(days=32)), points=0, penalty_id="p-2")
    )
    assert standing_at(thirty, ts(days=3))["required_actions"] == []


def test_a_revoked_penalty_neither_reaches_a_tier_nor_carries_its_measure() -> None:
    history = shop(
        penalty(1, points=12, penalty_id="p-1"),
        penalty(2, measure("restrict_traffic"), points=0, penalty_id="p-2"),
        doc("penalty.revoked", penalty_id="p-2", cause="platform_error", occurred_at=ts(days=3)),
    )
    assert standing_at(history, ts(days=2))["required_actions"] == []
    assert [a["tier"] for a in standing_at(history, ts(days=3))["required_actions"]] == [12]


def test_points_absent_count_the_rule_set_in_force_at_the_penalty() -> None:
    lenient = RuleSet(
        version="lenient", severity_points=(("minor", 1), ("serious", 3), ("critical", 5))
    )
    published = PublishedRules(lenient, at(ts(days=10)), "")
    book = RuleBook((published,), DEFAULT_RULES)
    history = shop(
        penalty(1, severity="serious", penalty_id="p-1", points=DROP),
        penalty(11, severity="serious", penalty_id="p-2", points=DROP),
        penalty(12, severity="serious", violation="counterfeit", penalty_id="p-3", points=0),
    )
    result = standing_at(history, ts(days=12), rules=book)
    assert (result["points"], result["rule_set"]) == (6 + 3 + 0, "lenient")
    assert standing_at(history, ts(days=2), rules=book)["points"] == 6


def test_violation_overrides_of_the_points() -> None:
    rules = RuleSet(version="o", violation_points=(("counterfeit", "serious", 8),))
    history = shop(penalty(1, severity="serious", violation="counterfeit", points=DROP))
    assert standing_at(history, ts(days=2), rules=rules)["points"] == 8


# -- programme and eligibility --------------------------------------------------------------------
def test_the_badge_needs_enrolment_and_eligibility() -> None:
    history = shop(
        doc("programme.enrolled", occurred_at=ts(days=1)),
        penalty(5, severity="serious", points=6),
    )
    assert standing_at(history, ts(hours=12))["programme"] == {"enrolled": False, "badge": False}
    assert standing_at(history, ts(days=1))["programme"] == {"enrolled": True, "badge": True}
    later = standing_at(history, ts(days=5))
    assert later["programme"] == {"enrolled": True, "badge": False}
    assert later["ineligible_reasons"] == ["recent_penalty"]
    exited = [
        *history,
        doc("programme.exited", forced=True, reason="fraud", occurred_at=ts(days=6)),
    ]
    assert standing_at(exited, ts(days=6))["programme"] == {"enrolled": False, "badge": False}


def test_ineligible_reasons_in_domain_md_order() -> None:
    rules = RuleSet(version="min", deposit_minimum=200_000)
    history = [
        doc("shop.registered", deposit=100_000),
        *complaint("c-1", 1, substantiated=2),
        doc("remedy.ordered", remedy_id="r-1", complaint_id="c-1", amount=100,
            due_by=ts(days=4), occurred_at=ts(days=3)),
        penalty(3, measure("restrict_traffic", until=ts(days=30)), severity="serious", points=12),
    ]  # fmt: skip
    result = standing_at(history, ts(days=5), rules=rules)
    assert result["ineligible_reasons"] == [
        "status",
        "verification_missing",
        "recent_penalty",
        "points",
        "remedy_overdue",
        "deposit_below_minimum",
    ]
    assert result["trust_purchase_eligible"] is False


def test_a_shop_without_a_qualification_or_with_a_rejected_one_is_not_eligible() -> None:
    real_name_only = [
        doc("shop.registered"),
        doc("verification.submitted", occurred_at=ts(hours=1)),
        doc("verification.approved", occurred_at=ts(hours=2)),
    ]
    rejected = [
        *real_name_only,
        doc("verification.submitted", verification_id="q-1", kind="qualification",
            occurred_at=ts(hours=3)),
        doc("verification.rejected", verification_id="q-1", occurred_at=ts(hours=4)),
    ]  # fmt: skip
    for history in (real_name_only, rejected):
        result = standing_at(history, ts(days=1))
        assert (result["status"], result["ineligible_reasons"]) == (
            "active",
            ["verification_missing"],
        )
    only_real_name = RuleSet(version="r", required_verification_kinds=("real_name",))
    assert standing_at(real_name_only, ts(days=1), rules=only_real_name)["trust_purchase_eligible"]


def test_a_closed_shop_is_asked_for_nothing_but_appeal_decisions() -> None:
    history = shop(
        *complaint("c-1", 1, substantiated=2),
        doc("remedy.ordered", remedy_id="r-1", complaint_id="c-1", amount=100,
            due_by=ts(days=4), occurred_at=ts(days=3)),
        penalty(3, points=30),
        doc("shop.closed", occurred_at=ts(days=3)),
    )  # fmt: skip
    result = standing_at(history, ts(days=40))
    assert result["required_actions"] == [] and items_at(history, ts(days=40)) == []
    assert result["remedies"] == {
        "open": 1,
        "overdue": 0,
        "completed": 0,
        "cancelled": 0,
        "owed": 0,
    }


def test_the_counts_are_the_items() -> None:
    history = shop(
        *complaint("c-1", 1, substantiated=2),
        *complaint("c-2", 1),
        doc("remedy.ordered", remedy_id="r-1", complaint_id="c-1", amount=300,
            due_by=ts(days=4), occurred_at=ts(days=3)),
        doc("remedy.ordered", remedy_id="r-2", complaint_id="c-1", amount=200,
            due_by=ts(days=40), occurred_at=ts(days=3)),
        penalty(3, points=13),
        doc("appeal.filed", occurred_at=ts(days=4), grounds="g"),
    )  # fmt: skip
    result, items = standing_at(history, ts(days=20)), items_at(history, ts(days=20))
    kinds = [item.kind for item in items]
    assert (
        result["overdue"]
        == {
            "complaints_unanswered": kinds.count("complaint_unanswered"),
            "complaints_unresolved": kinds.count("complaint_unresolved"),
            "appeals_undecided": kinds.count("appeal_undecided"),
            "remedies": kinds.count("remedy_overdue"),
        }
        == {
            "complaints_unanswered": 1,
            "complaints_unresolved": 1,
            "appeals_undecided": 1,
            "remedies": 1,
        }
    )
    assert (
        result["remedies"]["owed"]
        == sum(item.detail["amount"] for item in items if item.kind.startswith("remedy_"))
        == 500
    )
    assert len(result["required_actions"]) == kinds.count("required_action") == 1
    assert [item.due_at for item in items] == sorted(item.due_at for item in items)
    assert all(item.decision_ids for item in items)
