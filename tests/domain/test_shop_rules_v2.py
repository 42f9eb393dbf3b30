"""docs/DECISIONS.md rules 9-14 and what a revocation undoes, one test per rule and
edge (rule 15, no clock, holds because ShopState has none: every test passes a fixed
``recorded_at`` a year after the decisions)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest

from tests.domain.builders import BASE_TIME, DROP, RECORDED_AT, SHOP_ID, decision, measure, ts
from tests.domain.builders import at as parse
from trustledger.domain.decision import Decision
from trustledger.domain.rules import DEFAULT_RULES, RuleSet
from trustledger.domain.shop import ShopState, check_owner_not_banned
from trustledger.errors import InternalError, RuleViolation

ELIGIBLE: tuple[str, ...] = ()


def accept(
    state: ShopState,
    *decisions: Decision,
    rules: RuleSet = DEFAULT_RULES,
    reasons: Sequence[str] = ELIGIBLE,
) -> None:
    for d in decisions:
        state.check(d, rules=rules, recorded_at=RECORDED_AT, eligibility=lambda _: reasons)
        state.apply(d)


def violation(
    state: ShopState,
    d: Decision,
    *,
    rules: RuleSet = DEFAULT_RULES,
    reasons: Sequence[str] = ELIGIBLE,
) -> str:
    before = state.copy()
    with pytest.raises(RuleViolation) as info:
        state.check(d, rules=rules, recorded_at=RECORDED_AT, eligibility=lambda _: reasons)
    assert state == before, "check must not change the state"
    message = str(info.value)
    assert "\n" not in message
    return message


def registered(deposit: int | Any = 100_000, **fields: Any) -> ShopState:
    state = ShopState(SHOP_ID)
    accept(state, decision("shop.registered", deposit=deposit, **fields))
    return state


def substantiated(
    state: ShopState, complaint_id: str = "c-1", *, violation: str = "counterfeit", hours: int = 1
) -> None:
    accept(
        state,
        decision("complaint.filed", complaint_id=complaint_id, occurred_at=ts(hours=hours)),
        decision(
            "complaint.substantiated",
            complaint_id=complaint_id,
            violation=violation,
            occurred_at=ts(hours=hours + 1),
        ),
    )


def penalty(penalty_id: str = "p-1", *, hours: float = 3, **fields: Any) -> Decision:
    return decision("penalty.imposed", penalty_id=penalty_id, occurred_at=ts(hours=hours), **fields)


def deduct(amount: int) -> dict[str, Any]:
    return measure("deduct_deposit", amount=amount)


# --------------------------------------------------------------------------- rule 9


def test_rule9_a_penalty_citing_its_substantiated_finding_is_accepted() -> None:
    state = registered()
    substantiated(state)
    accept(state, penalty(complaint_ids=["c-1"]))


@pytest.mark.parametrize("outcome", ["complaint.dismissed", "complaint.withdrawn"])
def test_rule9_a_dismissed_or_withdrawn_complaint_is_refused(outcome: str) -> None:
    # v1 accepted these; v2 refuses them on append (rule 9).
    state = registered()
    accept(state, decision("complaint.filed"), decision(outcome, occurred_at=ts(hours=1)))
    status = outcome.removeprefix("complaint.")
    assert violation(state, penalty(complaint_ids=["c-1"])) == (
        f"penalty p-1 cites complaint c-1, which is {status}, not substantiated (rule 9)"
    )


def test_rule9_an_open_complaint_is_refused() -> None:
    state = registered()
    accept(state, decision("complaint.filed"), decision("complaint.responded"))
    assert violation(state, penalty(complaint_ids=["c-1"])) == (
        "penalty p-1 cites complaint c-1, which is responded, not substantiated (rule 9)"
    )


def test_rule9_the_finding_must_be_the_penaltys_violation() -> None:
    state = registered()
    substantiated(state, violation="late_shipping")
    assert violation(state, penalty(complaint_ids=["c-1"], violation="counterfeit")) == (
        "penalty p-1 is for counterfeit but cites complaint c-1, substantiated as late_shipping "
        "(rule 9)"
    )


def test_rule9_substantiated_exactly_at_the_penalty_counts_a_second_later_does_not() -> None:
    state = registered()
    substantiated(state)  # substantiated at ts(hours=2)
    assert violation(state, penalty(complaint_ids=["c-1"], hours=2 - 1 / 3600)) == (
        f"penalty p-1 at {ts(hours=2, seconds=-1)} cites complaint c-1, which was "
        f"substantiated only at {ts(hours=2)} (rule 9)"
    )
    accept(state, penalty(complaint_ids=["c-1"], hours=2))


def test_rule9_a_complaint_of_another_shop_does_not_exist_here() -> None:
    state = registered()
    assert violation(state, penalty(complaint_ids=["c-77"])) == (
        f"penalty p-1 cites complaint c-77, which does not exist in shop {SHOP_ID}"
    )


@pytest.mark.parametrize("cause", ["platform_error", "appeal_upheld"])
def test_rule9_a_finding_overturned_by_a_revocation_cannot_be_cited_again(cause: str) -> None:
    state = registered()
    substantiated(state)
    accept(state, penalty(complaint_ids=["c-1"]))
    if cause == "appeal_upheld":
        accept(
            state,
            decision("appeal.filed", occurred_at=ts(hours=4)),
            decision("appeal.upheld", occurred_at=ts(hours=5)),
        )
    else:
        accept(state, decision("penalty.revoked", cause=cause, occurred_at=ts(hours=5)))
    # Re-cited from the revocation on: refused; a penalty dated before it still may.
    assert violation(state, penalty("p-2", complaint_ids=["c-1"], hours=5)) == (
        f"penalty p-2 at {ts(hours=5)} cites complaint c-1, overturned at {ts(hours=5)} by the "
        "revocation of penalty p-1 (rule 9)"
    )
    accept(state, penalty("p-2", complaint_ids=["c-1"], hours=5 - 1 / 3600))


def test_rule9_a_regulator_order_leaves_the_finding() -> None:
    state = registered()
    substantiated(state)
    accept(
        state,
        penalty(complaint_ids=["c-1"]),
        decision("penalty.revoked", cause="regulator_order", occurred_at=ts(hours=5)),
        penalty("p-2", complaint_ids=["c-1"], hours=6),
    )


def test_rule9_a_penalty_without_complaints_or_points_is_accepted() -> None:
    # points absent: the rule set's points count for the standing; append just accepts it.
    state = registered()
    accept(state, penalty(points=DROP))


# --------------------------------------------------------------------------- rule 10


def test_rule10_a_deduction_up_to_the_balance_is_accepted_one_fen_more_is_not() -> None:
    state = registered(deposit=100_000)
    assert violation(state, penalty(measures=[deduct(100_001)])) == (
        f"penalty p-1 deducts 100001 fen from shop {SHOP_ID}'s deposit at {ts(hours=3)}, whose "
        "balance is 100000 fen then: the balance may not go below 0 (rule 10)"
    )
    accept(state, penalty(measures=[deduct(100_000)]))
    assert state.deposit_balance(at=RECORDED_AT) == 0


def test_rule10_the_issue_example_150000_from_100000_is_refused() -> None:
    state = registered(deposit=100_000)
    assert "balance is 100000 fen" in violation(state, penalty(measures=[deduct(150_000)]))


def test_rule10_a_registration_without_deposit_has_a_zero_balance() -> None:
    state = registered(deposit=DROP)
    assert "balance is 0 fen" in violation(state, penalty(measures=[deduct(1)]))


def test_rule10_the_balance_formula() -> None:
    # registration + paid - refunded - deducted - paid out + deductions revoked by then.
    state = registered(deposit=100_000)
    substantiated(state)
    accept(
        state,
        decision("deposit.paid", amount=50_000, occurred_at=ts(hours=3)),
        decision("deposit.refunded", amount=20_000, occurred_at=ts(hours=4)),
        penalty(measures=[deduct(30_000), deduct(5_000)], hours=5),
        decision(
            "remedy.ordered", amount=12_000, from_deposit=True, occurred_at=ts(hours=6),
            due_by=ts(days=7),
        ),
        decision("remedy.ordered", remedy_id="r-2", amount=9_999, occurred_at=ts(hours=6),
                 due_by=ts(days=7)),  # not from the deposit
        decision("penalty.revoked", cause="regulator_order", occurred_at=ts(hours=7)),
    )  # fmt: skip
    at = parse(ts(hours=6))
    assert state.deposit_balance(at) == 100_000 + 50_000 - 20_000 - 35_000 - 12_000
    assert state.deposit_balance(parse(ts(hours=7))) == 100_000 + 50_000 - 20_000 - 12_000


def test_rule10_a_refund_larger_than_the_balance_is_refused() -> None:
    state = registered(deposit=10_000)
    assert violation(state, decision("deposit.refunded", amount=10_001)) == (
        f"deposit.refunded of 10001 fen from shop {SHOP_ID}'s deposit at {BASE_TIME}, whose "
        "balance is 10000 fen then: the balance may not go below 0 (rule 10)"
    )
    accept(state, decision("deposit.refunded", amount=10_000))


def test_rule10_a_remedy_from_the_deposit_exhausting_it_then_one_more_fen_refused() -> None:
    state = registered(deposit=12_900)
    substantiated(state)
    accept(
        state,
        decision("remedy.ordered", amount=12_900, from_deposit=True, occurred_at=ts(hours=3)),
    )
    assert violation(
        state,
        decision(
            "remedy.ordered", remedy_id="r-2", amount=1, from_deposit=True, occurred_at=ts(hours=4)
        ),
    ) == (
        f"remedy r-2 pays 1 fen from shop {SHOP_ID}'s deposit at {ts(hours=4)}, whose balance "
        "is 0 fen then: the balance may not go below 0 (rule 10)"
    )
    # Counted when ordered: completing it changes nothing, a payment in makes room again.
    accept(
        state,
        decision("remedy.completed", occurred_at=ts(hours=4)),
        decision("deposit.paid", amount=1, occurred_at=ts(hours=4)),
        decision(
            "remedy.ordered", remedy_id="r-2", amount=1, from_deposit=True, occurred_at=ts(hours=4)
        ),
    )


def test_rule10_a_revoked_penalty_returns_its_deduction_from_the_revocation_on() -> None:
    state = registered(deposit=100_000)
    accept(
        state,
        penalty(measures=[deduct(100_000)], hours=1),
        decision("penalty.revoked", cause="platform_error", occurred_at=ts(hours=2)),
    )
    # Before the revocation the balance was 0; from it on, 100,000 again.
    assert "balance is 0 fen" in violation(
        state, decision("deposit.refunded", amount=1, occurred_at=ts(hours=2, seconds=-1))
    )
    accept(state, decision("deposit.refunded", amount=100_000, occurred_at=ts(hours=2)))


def test_rule10_an_upheld_appeal_returns_the_deduction() -> None:
    state = registered(deposit=50_000)
    accept(
        state,
        penalty(measures=[deduct(50_000)], hours=1),
        decision("appeal.filed", occurred_at=ts(hours=2)),
        decision("appeal.upheld", occurred_at=ts(hours=3)),
    )
    assert state.deposit_balance(parse(ts(hours=3))) == 50_000
    assert state.deposit_balance(parse(ts(hours=3, seconds=-1))) == 0


def test_rule10_a_backdated_debit_may_not_break_a_later_balance() -> None:
    # The refund at hour 5 used the whole balance; a deduction dated hour 2 would make the
    # balance negative from hour 5 on, though it fits at hour 2.
    state = registered(deposit=100_000)
    accept(state, decision("deposit.refunded", amount=100_000, occurred_at=ts(hours=5)))
    assert violation(state, penalty(measures=[deduct(1)], hours=2)) == (
        f"penalty p-1 deducts 1 fen from shop {SHOP_ID}'s deposit at {ts(hours=2)}: the "
        f"balance would be -1 fen at {ts(hours=5)}, after a later decision; it may not go "
        "below 0 (rule 10)"
    )


def test_rule10_a_payment_is_counted_from_its_time_exactly() -> None:
    state = registered(deposit=0)
    accept(state, decision("deposit.paid", amount=500, occurred_at=ts(hours=1)))
    assert "balance is 0 fen" in violation(
        state, decision("deposit.refunded", amount=500, occurred_at=ts(hours=1, seconds=-1))
    )
    accept(state, decision("deposit.refunded", amount=500, occurred_at=ts(hours=1)))


# --------------------------------------------------------------------------- rule 11


def remedy(remedy_id: str = "r-1", *, hours: float = 3, **fields: Any) -> Decision:
    fields.setdefault("due_by", ts(days=7))
    return decision("remedy.ordered", remedy_id=remedy_id, occurred_at=ts(hours=hours), **fields)


def test_rule11_a_remedy_on_a_substantiated_complaint_is_accepted() -> None:
    state = registered()
    substantiated(state)
    accept(state, remedy())


@pytest.mark.parametrize(
    ("history", "status"),
    [(["complaint.filed"], "filed"), (["complaint.filed", "complaint.dismissed"], "dismissed")],
)
def test_rule11_a_remedy_needs_a_substantiated_complaint(history: list[str], status: str) -> None:
    state = registered()
    accept(state, *(decision(t, occurred_at=ts(hours=1)) for t in history))
    assert violation(state, remedy()) == (
        f"remedy r-1 cites complaint c-1, which is {status}, not substantiated (rule 11)"
    )


def test_rule11_a_remedy_on_a_missing_complaint_is_refused() -> None:
    assert violation(registered(), remedy(complaint_id="c-9")) == (
        f"remedy r-1 cites complaint c-9, which does not exist in shop {SHOP_ID}"
    )


def test_rule11_an_overturned_complaint_takes_no_remedy_from_the_revocation_on() -> None:
    state = registered()
    substantiated(state)
    accept(
        state,
        penalty(complaint_ids=["c-1"]),
        decision("penalty.revoked", cause="platform_error", occurred_at=ts(hours=4)),
    )
    assert violation(state, remedy(hours=4)) == (
        f"remedy r-1 at {ts(hours=4)} cites complaint c-1, overturned at {ts(hours=4)} by the "
        "revocation of penalty p-1 (rule 11)"
    )
    accept(state, remedy(hours=4 - 1 / 3600))


def test_rule11_due_by_must_lie_after_occurred_at() -> None:
    state = registered()
    substantiated(state)
    assert violation(state, remedy(due_by=ts(hours=3))) == (
        f"remedy r-1: data.due_by {ts(hours=3)} must lie after occurred_at {ts(hours=3)} (rule 11)"
    )
    accept(state, remedy(due_by=ts(hours=3, seconds=1)))


def test_rule11_remedy_ids_are_unique_in_the_shop() -> None:
    state = registered()
    substantiated(state)
    accept(state, remedy())
    assert violation(state, remedy()) == f"remedy r-1 already exists in shop {SHOP_ID}"


@pytest.mark.parametrize("first", ["remedy.completed", "remedy.cancelled"])
@pytest.mark.parametrize("second", ["remedy.completed", "remedy.cancelled"])
def test_rule11_a_remedy_is_completed_or_cancelled_once(first: str, second: str) -> None:
    state = registered()
    substantiated(state)
    accept(state, remedy(), decision(first, occurred_at=ts(hours=4)))
    status = first.removeprefix("remedy.")
    action = second.removeprefix("remedy.")
    assert violation(state, decision(second, occurred_at=ts(hours=5))) == (
        f"remedy r-1 is already {status}; it can be {action} only while ordered (a remedy is "
        "completed or cancelled once, rule 11)"
    )


def test_rule11_completing_a_missing_remedy_is_refused() -> None:
    assert violation(registered(), decision("remedy.completed", remedy_id="r-9")) == (
        f"remedy r-9 does not exist in shop {SHOP_ID}"
    )


def test_rule11_amount_paid_defaults_to_the_order_and_may_not_exceed_it() -> None:
    state = registered()
    substantiated(state)
    accept(state, remedy(amount=12_900))
    assert violation(
        state, decision("remedy.completed", amount_paid=12_901, occurred_at=ts(hours=4))
    ) == (
        "remedy r-1: amount_paid 12901 fen is more than the 12900 fen ordered; order the "
        "difference as another remedy"
    )
    accept(state, decision("remedy.completed", amount_paid=DROP, occurred_at=ts(hours=4)))


def test_rule11_a_remedy_is_not_closed_before_it_was_ordered() -> None:
    state = registered()
    substantiated(state)
    accept(state, remedy(hours=3))
    assert "a decision cannot precede what it acts on" in violation(
        state, decision("remedy.cancelled", occurred_at=ts(hours=3, seconds=-1))
    )


# --------------------------------------------------------------------------- rule 12


def banned_shop(shop_id: str = "shop-1", owner: str = "owner-501") -> ShopState:
    state = ShopState(shop_id)
    for d in (
        decision("shop.registered", shop_id=shop_id, owner_subject_id=owner),
        decision(
            "penalty.imposed",
            shop_id=shop_id,
            occurred_at=ts(hours=1),
            measures=[measure("permanent_ban")],
        ),
    ):
        state.check(d, rules=DEFAULT_RULES, recorded_at=RECORDED_AT)
        state.apply(d)
    return state


def test_rule12_a_banned_owners_new_shop_is_refused_from_the_ban_on() -> None:
    banned = banned_shop()
    late = decision("shop.registered", shop_id="shop-2", occurred_at=ts(hours=1))
    with pytest.raises(RuleViolation) as info:
        check_owner_not_banned(late, [banned])
    assert str(info.value) == (
        f"shop shop-2 cannot be registered at {ts(hours=1)}: its owner owner-501 owns shop "
        "shop-1, permanently banned then by penalty p-1 (rule 12, ban evasion)"
    )
    early = decision("shop.registered", shop_id="shop-2", occurred_at=ts(hours=1, seconds=-1))
    check_owner_not_banned(early, [banned])


def test_rule12_another_owner_or_a_revoked_ban_does_not_count() -> None:
    banned = banned_shop()
    other_owner = decision(
        "shop.registered", shop_id="shop-2", owner_subject_id="owner-9", occurred_at=ts(hours=2)
    )
    check_owner_not_banned(other_owner, [banned])
    revocation = decision(
        "penalty.revoked", shop_id="shop-1", cause="regulator_order", occurred_at=ts(hours=3)
    )
    banned.check(revocation, rules=DEFAULT_RULES, recorded_at=RECORDED_AT)
    banned.apply(revocation)
    with pytest.raises(RuleViolation):
        check_owner_not_banned(
            decision("shop.registered", shop_id="shop-2", occurred_at=ts(hours=3, seconds=-1)),
            [banned],
        )
    check_owner_not_banned(
        decision("shop.registered", shop_id="shop-2", occurred_at=ts(hours=3)), [banned]
    )


def test_rule12_a_ban_of_a_closed_shop_still_counts() -> None:
    banned = banned_shop()
    closing = decision("shop.closed", shop_id="shop-1", occurred_at=ts(hours=2))
    banned.check(closing, rules=DEFAULT_RULES, recorded_at=RECORDED_AT)
    banned.apply(closing)
    with pytest.raises(RuleViolation):
        check_owner_not_banned(
            decision("shop.registered", shop_id="shop-2", occurred_at=ts(days=30)), [banned]
        )


def test_rule12_a_suspension_is_no_ban() -> None:
    state = registered()
    accept(state, penalty(measures=[measure("suspend", until=ts(days=30))]))
    check_owner_not_banned(
        decision("shop.registered", shop_id="shop-2", occurred_at=ts(days=1)), [state]
    )


# --------------------------------------------------------------------------- rule 13


def test_rule13_an_appeal_needs_grounds_or_evidence() -> None:
    state = registered()
    accept(state, penalty(hours=0))
    bare = decision("appeal.filed", grounds=DROP, evidence=DROP)
    message = (
        "appeal a-1 gives neither grounds nor evidence; an appeal needs non-empty "
        "data.grounds or at least one data.evidence digest (rule 13)"
    )
    assert violation(state, bare) == message
    assert violation(state, decision("appeal.filed", grounds=DROP, evidence=[])) == message
    accept(state, decision("appeal.filed", evidence=DROP))  # grounds alone


def test_rule13_evidence_alone_suffices() -> None:
    state = registered()
    accept(state, penalty(hours=0), decision("appeal.filed", grounds=DROP))


# --------------------------------------------------------------------------- rule 14


def test_rule14_enrolment_needs_eligibility_and_names_the_reasons() -> None:
    state = registered()
    assert violation(
        state, decision("programme.enrolled"), reasons=("verification_missing", "points")
    ) == (
        f"shop {SHOP_ID} is not eligible for the programme at {BASE_TIME} "
        "(verification_missing, points; rule set default-v2), so it cannot enrol (rule 14)"
    )
    accept(state, decision("programme.enrolled"))
    assert state.enrolled


def test_rule14_the_eligibility_is_asked_at_the_enrolment() -> None:
    state = registered()
    asked: list[Decision] = []
    enrolment = decision("programme.enrolled", occurred_at=ts(days=3))

    def eligibility(d: Decision) -> Sequence[str]:
        asked.append(d)
        return ()

    state.check(enrolment, rules=DEFAULT_RULES, recorded_at=RECORDED_AT, eligibility=eligibility)
    assert asked == [enrolment]
    # Without it, a caller bug, not a rule.
    with pytest.raises(InternalError):
        state.check(enrolment, rules=DEFAULT_RULES, recorded_at=RECORDED_AT)


def test_rule14_enrolled_twice_refused_exit_needs_enrolment() -> None:
    state = registered()
    assert violation(state, decision("programme.exited")) == (
        f"shop {SHOP_ID} is not enrolled in the programme, so it cannot exit (rule 14)"
    )
    accept(state, decision("programme.enrolled"))
    assert violation(state, decision("programme.enrolled")) == (
        f"shop {SHOP_ID} is already enrolled in the programme (rule 14)"
    )
    accept(state, decision("programme.exited"), decision("programme.enrolled"))


def test_rule14_after_a_forced_exit_the_wait_ends_exactly_at_its_length() -> None:
    state = registered()
    accept(
        state,
        decision("programme.enrolled"),
        decision("programme.exited", forced=True, occurred_at=ts(days=1)),
    )
    assert violation(
        state, decision("programme.enrolled", occurred_at=ts(days=91, seconds=-1))
    ) == (
        f"shop {SHOP_ID} was made to exit the programme at {ts(days=1)}; it may enrol again "
        f"from {ts(days=91)} (90 days, rule set default-v2), not at {ts(days=91, seconds=-1)} "
        "(rule 14)"
    )
    accept(state, decision("programme.enrolled", occurred_at=ts(days=91)))


def test_rule14_the_wait_is_the_rule_sets() -> None:
    rules = RuleSet(version="short-wait", reenrolment_wait=timedelta(days=10))
    state = registered()
    accept(
        state,
        decision("programme.enrolled"),
        decision("programme.exited", forced=True, occurred_at=ts(days=1)),
    )
    assert "(10 days, rule set short-wait)" in violation(
        state, decision("programme.enrolled", occurred_at=ts(days=2)), rules=rules
    )
    accept(state, decision("programme.enrolled", occurred_at=ts(days=11)), rules=rules)


def test_rule14_a_voluntary_exit_has_no_wait() -> None:
    state = registered()
    accept(
        state,
        decision("programme.enrolled"),
        decision("programme.exited", occurred_at=ts(days=1)),
        decision("programme.enrolled", occurred_at=ts(days=1)),
    )


def test_rule14_programme_decisions_keep_their_order_in_time() -> None:
    state = registered()
    accept(state, decision("programme.enrolled", occurred_at=ts(days=2)))
    assert "a decision cannot precede what it acts on" in violation(
        state, decision("programme.exited", occurred_at=ts(days=1))
    )


# ------------------------------------------------------------- rule 1 for the v2 types


@pytest.mark.parametrize(
    "type_",
    [
        "deposit.paid",
        "deposit.refunded",
        "remedy.ordered",
        "programme.enrolled",
        "programme.exited",
    ],
)
def test_nothing_of_v2_follows_closure(type_: str) -> None:
    state = registered()
    accept(state, decision("shop.closed"))
    assert violation(state, decision(type_)) == (
        f"shop {SHOP_ID} is closed; only appeals, their outcomes and penalty revocations may "
        f"follow, not {type_}"
    )
