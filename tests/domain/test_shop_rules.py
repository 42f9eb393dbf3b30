"""docs/DECISIONS.md "Rules checked on append" 1-6 and the future-skew rule, one test per path."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.domain.builders import (
    ALL_TYPES,
    BASE_TIME,
    DROP,
    RECORDED_AT,
    SHOP_ID,
    at,
    decision,
    measure,
    ts,
)
from trustledger.domain.decision import Decision, parse_decision
from trustledger.domain.rules import DEFAULT_RULES, RuleSet
from trustledger.domain.shop import ShopState
from trustledger.errors import InternalError, RuleViolation


def accept(state: ShopState, *decisions: Decision, rules: RuleSet = DEFAULT_RULES) -> None:
    for d in decisions:
        state.check(d, rules=rules, recorded_at=RECORDED_AT)
        state.apply(d)


def violation(state: ShopState, d: Decision, *, rules: RuleSet = DEFAULT_RULES) -> str:
    before = state.copy()
    with pytest.raises(RuleViolation) as info:
        state.check(d, rules=rules, recorded_at=RECORDED_AT)
    assert state == before, "check must not change the state"
    message = str(info.value)
    assert "\n" not in message
    return message


def registered() -> ShopState:
    state = ShopState(SHOP_ID)
    accept(state, decision("shop.registered"))
    return state


def with_penalty(*measures: dict[str, Any], penalty_id: str = "p-1") -> ShopState:
    state = registered()
    fields: dict[str, Any] = {"penalty_id": penalty_id}
    if measures:
        fields["measures"] = list(measures)
    accept(state, decision("penalty.imposed", **fields))
    return state


# --------------------------------------------------------------------------- rule 1


def test_rule1_decision_before_registration_rejected() -> None:
    assert violation(ShopState(SHOP_ID), decision("penalty.imposed")) == (
        "shop shop-10086 is not registered; penalty.imposed needs a prior shop.registered"
    )


@pytest.mark.parametrize("type_", [t for t in ALL_TYPES if t != "shop.registered"])
def test_rule1_every_type_but_registration_needs_a_registered_shop(type_: str) -> None:
    assert "is not registered" in violation(ShopState(SHOP_ID), decision(type_))


def test_rule1_registration_may_come_first() -> None:
    state = ShopState(SHOP_ID)
    accept(state, decision("shop.registered"))
    assert state.registered


def test_rule1_registering_twice_rejected() -> None:
    assert violation(registered(), decision("shop.registered")) == (
        "shop shop-10086 is already registered"
    )


@pytest.mark.parametrize(
    "type_",
    ["shop.closed", "verification.submitted", "complaint.filed", "penalty.imposed"],
)
def test_rule1_nothing_follows_close_but_appeals(type_: str) -> None:
    state = registered()
    accept(state, decision("shop.closed"))
    assert violation(state, decision(type_)) == (
        "shop shop-10086 is closed; only appeals, their outcomes and penalty revocations may "
        f"follow, not {type_}"
    )


def test_rule1_registering_a_closed_shop_again_rejected() -> None:
    state = registered()
    accept(state, decision("shop.closed"))
    assert violation(state, decision("shop.registered")) == "shop shop-10086 is already registered"


def test_rule1_appeals_and_their_outcomes_follow_close() -> None:
    state = with_penalty()
    accept(state, decision("penalty.imposed", penalty_id="p-2"))
    accept(state, decision("shop.closed"))
    accept(
        state,
        decision("appeal.filed", appeal_id="a-1", penalty_id="p-1"),
        decision("appeal.upheld", appeal_id="a-1"),
        decision("appeal.filed", appeal_id="a-2", penalty_id="p-2"),
        decision("appeal.rejected", appeal_id="a-2"),
        decision("appeal.filed", appeal_id="a-3", penalty_id="p-2"),
        decision("appeal.withdrawn", appeal_id="a-3"),
        decision("penalty.revoked", penalty_id="p-2", cause="regulator_order"),
    )


# --------------------------------------------------------------------------- rule 2


@pytest.mark.parametrize(
    ("first", "again", "message"),
    [
        ("verification.submitted", "verification.submitted", "verification v-1 already exists"),
        ("complaint.filed", "complaint.filed", "complaint c-1 already exists"),
        ("penalty.imposed", "penalty.imposed", "penalty p-1 already exists"),
    ],
)
def test_rule2_duplicate_id_rejected(first: str, again: str, message: str) -> None:
    state = registered()
    accept(state, decision(first))
    assert violation(state, decision(again)) == f"{message} in shop shop-10086"


def test_rule2_duplicate_appeal_id_rejected() -> None:
    state = with_penalty()
    accept(state, decision("penalty.imposed", penalty_id="p-2"), decision("appeal.filed"))
    assert violation(state, decision("appeal.filed", penalty_id="p-2")) == (
        "appeal a-1 already exists in shop shop-10086"
    )


def test_rule2_duplicate_id_rejected_even_after_resolution() -> None:
    state = registered()
    accept(state, decision("complaint.filed"), decision("complaint.dismissed"))
    assert violation(state, decision("complaint.filed")) == (
        "complaint c-1 already exists in shop shop-10086"
    )


def test_rule2_ids_are_unique_per_kind() -> None:
    state = registered()
    accept(
        state,
        decision("verification.submitted", verification_id="x-1"),
        decision("complaint.filed", complaint_id="x-1"),
        decision("penalty.imposed", penalty_id="x-1"),
        decision("appeal.filed", appeal_id="x-1", penalty_id="x-1"),
    )


def test_rule2_ids_are_unique_within_their_shop_only() -> None:
    one, other = registered(), ShopState("shop-2")
    accept(other, decision("shop.registered", shop_id="shop-2"))
    accept(one, decision("penalty.imposed"))
    accept(other, decision("penalty.imposed", shop_id="shop-2"))


@pytest.mark.parametrize(
    ("type_", "fields", "message"),
    [
        ("verification.approved", {"verification_id": "v-9"}, "verification v-9 does not exist"),
        ("verification.rejected", {"verification_id": "v-9"}, "verification v-9 does not exist"),
        ("verification.expired", {"verification_id": "v-9"}, "verification v-9 does not exist"),
        ("verification.revoked", {"verification_id": "v-9"}, "verification v-9 does not exist"),
        ("complaint.responded", {"complaint_id": "c-9"}, "complaint c-9 does not exist"),
        ("complaint.substantiated", {"complaint_id": "c-9"}, "complaint c-9 does not exist"),
        ("complaint.dismissed", {"complaint_id": "c-9"}, "complaint c-9 does not exist"),
        ("complaint.withdrawn", {"complaint_id": "c-9"}, "complaint c-9 does not exist"),
        ("penalty.revoked", {"penalty_id": "p-9"}, "penalty p-9 does not exist"),
        ("appeal.upheld", {"appeal_id": "a-9"}, "appeal a-9 does not exist"),
        ("appeal.rejected", {"appeal_id": "a-9"}, "appeal a-9 does not exist"),
        ("appeal.withdrawn", {"appeal_id": "a-9"}, "appeal a-9 does not exist"),
        (
            "appeal.filed",
            {"penalty_id": "p-9"},
            "appeal a-1 targets penalty p-9, which does not exist",
        ),
        (
            "penalty.imposed",
            {"penalty_id": "p-2", "complaint_ids": ["c-1", "c-9"]},
            "penalty p-2 cites complaint c-9, which does not exist",
        ),
        (
            "penalty.revoked",
            {"appeal_id": "a-9", "cause": "regulator_order"},
            "appeal a-9 does not exist",
        ),
    ],
)
def test_rule2_reference_to_missing_thing_rejected(
    type_: str, fields: dict[str, Any], message: str
) -> None:
    state = with_penalty()
    accept(
        state,
        decision("complaint.filed", complaint_id="c-1"),
        decision("complaint.substantiated", complaint_id="c-1"),
    )
    assert violation(state, decision(type_, **fields)) == f"{message} in shop shop-10086"


def test_rule2_references_into_another_shop_rejected() -> None:
    state = registered()
    other = ShopState("shop-2")
    accept(other, decision("shop.registered", shop_id="shop-2"))
    accept(other, decision("penalty.imposed", shop_id="shop-2"))
    assert violation(state, decision("appeal.filed")) == (
        "appeal a-1 targets penalty p-1, which does not exist in shop shop-10086"
    )


def test_rule2_revocation_names_appeal_of_another_penalty_rejected() -> None:
    state = with_penalty()
    accept(state, decision("penalty.imposed", penalty_id="p-2"), decision("appeal.filed"))
    revocation = decision("penalty.revoked", penalty_id="p-2", appeal_id="a-1")
    assert violation(state, revocation) == "appeal a-1 targets penalty p-1, not p-2"


def test_rule2_penalty_citing_existing_complaints_accepted() -> None:
    state = registered()
    accept(
        state,
        decision("complaint.filed", complaint_id="c-1"),
        decision("complaint.filed", complaint_id="c-2"),
        decision("complaint.substantiated", complaint_id="c-1"),
        decision("complaint.substantiated", complaint_id="c-2"),
        decision("penalty.imposed", complaint_ids=["c-1", "c-2"]),
    )


# --------------------------------------------------------------------------- rule 3


@pytest.mark.parametrize("outcome", ["verification.approved", "verification.rejected"])
@pytest.mark.parametrize(
    ("earlier", "status"),
    [
        ("verification.approved", "approved"),
        ("verification.rejected", "rejected"),
    ],
)
def test_rule3_verification_decided_only_while_submitted(
    outcome: str, earlier: str, status: str
) -> None:
    state = registered()
    accept(state, decision("verification.submitted"), decision(earlier))
    action = outcome.removeprefix("verification.")
    assert violation(state, decision(outcome)) == (
        f"verification v-1 is {status}; it can be {action} only while submitted"
    )


@pytest.mark.parametrize("outcome", ["verification.expired", "verification.revoked"])
def test_rule3_verification_ends_only_while_approved(outcome: str) -> None:
    state = registered()
    accept(state, decision("verification.submitted"))
    action = outcome.removeprefix("verification.")
    assert violation(state, decision(outcome)) == (
        f"verification v-1 is submitted; it can be {action} only while approved"
    )


def test_rule3_expired_verification_cannot_be_revoked() -> None:
    state = registered()
    accept(
        state,
        decision("verification.submitted"),
        decision("verification.approved"),
        decision("verification.expired"),
    )
    assert violation(state, decision("verification.revoked")) == (
        "verification v-1 is expired; it can be revoked only while approved"
    )


def test_rule3_verification_life_cycle_accepted() -> None:
    state = registered()
    accept(
        state,
        decision("verification.submitted"),
        decision("verification.approved"),
        decision("verification.revoked"),
    )


@pytest.mark.parametrize(
    "resolution", ["complaint.substantiated", "complaint.dismissed", "complaint.withdrawn"]
)
@pytest.mark.parametrize(
    "later",
    [
        "complaint.responded",
        "complaint.substantiated",
        "complaint.dismissed",
        "complaint.withdrawn",
    ],
)
def test_rule3_complaint_resolved_once(resolution: str, later: str) -> None:
    state = registered()
    accept(state, decision("complaint.filed"), decision(resolution))
    status = resolution.removeprefix("complaint.")
    action = later.removeprefix("complaint.")
    assert violation(state, decision(later)) == (
        f"complaint c-1 is already {status}; it can be {action} only while open "
        "(a complaint is resolved once)"
    )


def test_rule3_complaint_may_be_responded_to_repeatedly_then_resolved() -> None:
    state = registered()
    accept(
        state,
        decision("complaint.filed"),
        decision("complaint.responded"),
        decision("complaint.responded"),
        decision("complaint.substantiated"),
    )


def test_rule3_penalty_revoked_once() -> None:
    state = with_penalty()
    accept(state, decision("penalty.revoked", cause="platform_error"))
    assert violation(state, decision("penalty.revoked", cause="regulator_order")) == (
        "penalty p-1 was already revoked (penalty.revoked, cause platform_error); "
        "a penalty is revoked once"
    )


# --------------------------------------------------------------------------- rule 4


@pytest.mark.parametrize("until", [BASE_TIME, ts(seconds=-1), "2026-11-02T08:30:00.000000Z"])
def test_rule4_measure_until_not_after_occurred_at_rejected(until: str) -> None:
    imposed = decision(
        "penalty.imposed", measures=[measure("warning"), measure("freeze_funds", until=until)]
    )
    assert violation(registered(), imposed) == (
        f"data.measures[1].until {imposed.data['measures'][1]['until']} must lie after "
        f"occurred_at {BASE_TIME}"
    )


def test_rule4_suspend_until_after_occurred_at_accepted() -> None:
    state = registered()
    accept(state, decision("penalty.imposed", measures=[measure("suspend", until=ts(seconds=1))]))


@pytest.mark.parametrize("type_", ["verification.submitted", "verification.approved"])
def test_rule4_valid_until_not_after_occurred_at_rejected(type_: str) -> None:
    state = registered()
    if type_ == "verification.approved":
        accept(state, decision("verification.submitted", valid_until=DROP))
    assert violation(state, decision(type_, valid_until=ts(days=-1))) == (
        f"data.valid_until {ts(days=-1)} must lie after occurred_at {BASE_TIME}"
    )


def test_rule4_suspend_needs_until_and_permanent_ban_has_none_at_parse_time() -> None:
    # The shape half of rule 4 is enforced by parse_decision (InvalidDecision), see
    # test_decision.test_suspend_needs_until and test_permanent_ban_has_no_until.
    state = registered()
    accept(state, decision("penalty.imposed", measures=[measure("permanent_ban")]))


# --------------------------------------------------------------------------- rule 5


def test_rule5_appeal_against_revoked_penalty_rejected() -> None:
    state = with_penalty()
    accept(state, decision("penalty.revoked", cause="platform_error"))
    assert violation(state, decision("appeal.filed")) == (
        "appeal a-1 targets penalty p-1, which is already revoked "
        "(penalty.revoked, cause platform_error)"
    )


@pytest.mark.parametrize("when", [ts(days=7, seconds=1), ts(days=30), ts(seconds=-1)])
def test_rule5_appeal_outside_window_rejected(when: str) -> None:
    state = with_penalty()
    assert violation(state, decision("appeal.filed", occurred_at=when)) == (
        f"appeal a-1 at {when} is outside the appeal window of penalty p-1 "
        f"({BASE_TIME} to {ts(days=7)}, 7 days, rule set default-v2)"
    )


@pytest.mark.parametrize("when", [BASE_TIME, ts(days=3), ts(days=7)])
def test_rule5_appeal_within_window_accepted(when: str) -> None:
    state = with_penalty()
    accept(state, decision("appeal.filed", occurred_at=when))


def test_rule5_appeal_window_comes_from_rule_set() -> None:
    rules = RuleSet(version="strict-v2", appeal_window=timedelta(days=3))
    state = with_penalty()
    assert violation(state, decision("appeal.filed", occurred_at=ts(days=4)), rules=rules) == (
        f"appeal a-1 at {ts(days=4)} is outside the appeal window of penalty p-1 "
        f"({BASE_TIME} to {ts(days=3)}, 3 days, rule set strict-v2)"
    )


def test_rule5_second_open_appeal_rejected() -> None:
    state = with_penalty()
    accept(state, decision("appeal.filed", appeal_id="a-1"))
    assert violation(state, decision("appeal.filed", appeal_id="a-2")) == (
        "appeal a-2 targets penalty p-1, which already has an open appeal (a-1)"
    )


def test_rule5_new_appeal_after_previous_closed_accepted() -> None:
    state = with_penalty()
    accept(
        state,
        decision("appeal.filed", appeal_id="a-1"),
        decision("appeal.withdrawn", appeal_id="a-1"),
        decision("appeal.filed", appeal_id="a-2"),
    )


def test_rule5_open_appeals_on_different_penalties_accepted() -> None:
    state = with_penalty()
    accept(
        state,
        decision("penalty.imposed", penalty_id="p-2"),
        decision("appeal.filed", appeal_id="a-1", penalty_id="p-1"),
        decision("appeal.filed", appeal_id="a-2", penalty_id="p-2"),
    )


def test_rule5_third_appeal_rejected() -> None:
    state = with_penalty()
    accept(
        state,
        decision("appeal.filed", appeal_id="a-1"),
        decision("appeal.rejected", appeal_id="a-1"),
        decision("appeal.filed", appeal_id="a-2"),
        decision("appeal.withdrawn", appeal_id="a-2"),
    )
    assert violation(state, decision("appeal.filed", appeal_id="a-3")) == (
        "appeal a-3 targets penalty p-1, which already had 2 appeals (a-1, a-2); "
        "at most 2 are allowed (rule set default-v2)"
    )


def test_rule5_max_appeals_comes_from_rule_set() -> None:
    rules = RuleSet(version="one-appeal", max_appeals_per_penalty=1)
    state = with_penalty()
    accept(state, decision("appeal.filed"), decision("appeal.rejected"), rules=rules)
    assert "at most 1 are allowed (rule set one-appeal)" in violation(
        state, decision("appeal.filed", appeal_id="a-2"), rules=rules
    )


@pytest.mark.parametrize("resolution", ["appeal.upheld", "appeal.rejected", "appeal.withdrawn"])
@pytest.mark.parametrize("later", ["appeal.upheld", "appeal.rejected", "appeal.withdrawn"])
def test_rule5_appeal_outcome_only_while_open(resolution: str, later: str) -> None:
    state = with_penalty()
    accept(state, decision("appeal.filed"), decision(resolution))
    status = resolution.removeprefix("appeal.")
    action = later.removeprefix("appeal.")
    assert violation(state, decision(later)) == (
        f"appeal a-1 is already {status}; it can be {action} only while open"
    )


def test_appeal_upheld_revokes_penalty() -> None:
    state = with_penalty()
    accept(state, decision("appeal.filed"), decision("appeal.upheld"))
    # The penalty is now revoked: it can neither be revoked again nor appealed again.
    assert violation(state, decision("penalty.revoked", cause="regulator_order")) == (
        "penalty p-1 was already revoked (appeal a-1 upheld); a penalty is revoked once"
    )
    assert violation(state, decision("appeal.filed", appeal_id="a-2")) == (
        "appeal a-2 targets penalty p-1, which is already revoked (appeal a-1 upheld)"
    )


def test_appeal_upheld_after_penalty_revoked_rejected() -> None:
    state = with_penalty()
    accept(
        state,
        decision("appeal.filed"),
        decision("penalty.revoked", cause="platform_error"),
    )
    assert violation(state, decision("appeal.upheld")) == (
        "appeal a-1 cannot be upheld: its penalty p-1 was already revoked "
        "(penalty.revoked, cause platform_error)"
    )


def test_appeal_on_revoked_penalty_may_still_be_withdrawn() -> None:
    state = with_penalty()
    accept(
        state,
        decision("appeal.filed"),
        decision("penalty.revoked", cause="platform_error"),
        decision("appeal.withdrawn"),
    )


def test_penalty_revoked_cause_appeal_upheld_after_upheld_appeal_is_already_revoked() -> None:
    state = with_penalty()
    accept(state, decision("appeal.filed"), decision("appeal.upheld"))
    revocation = decision("penalty.revoked", cause="appeal_upheld", appeal_id="a-1")
    assert violation(state, revocation) == (
        "penalty p-1 was already revoked (appeal a-1 upheld); a penalty is revoked once"
    )


def test_penalty_revoked_cause_appeal_upheld_without_appeal_id_rejected() -> None:
    assert violation(with_penalty(), decision("penalty.revoked", cause="appeal_upheld")) == (
        "penalty p-1: cause appeal_upheld needs data.appeal_id naming an upheld appeal; "
        "record appeal.upheld, which revokes the penalty"
    )


@pytest.mark.parametrize(("outcome", "status"), [(None, "open"), ("appeal.rejected", "rejected")])
def test_penalty_revoked_cause_appeal_upheld_naming_unupheld_appeal_rejected(
    outcome: str | None, status: str
) -> None:
    state = with_penalty()
    accept(state, decision("appeal.filed"))
    if outcome is not None:
        accept(state, decision(outcome))
    revocation = decision("penalty.revoked", cause="appeal_upheld", appeal_id="a-1")
    assert violation(state, revocation) == (
        f"penalty p-1: appeal a-1 is {status}, not upheld; "
        "record appeal.upheld, which revokes the penalty"
    )


# --------------------------------------------------------------------------- rule 6


def test_rule6_permanent_ban_not_revoked_by_platform_error() -> None:
    state = with_penalty(measure("delist_product", product_id="sku-9"), measure("permanent_ban"))
    assert violation(state, decision("penalty.revoked", cause="platform_error")) == (
        "penalty p-1 carries a permanent_ban, which ends only by an upheld appeal or a "
        "regulator_order, not platform_error"
    )


def test_rule6_permanent_ban_revoked_by_regulator_order() -> None:
    state = with_penalty(measure("permanent_ban"))
    accept(state, decision("penalty.revoked", cause="regulator_order"))


def test_rule6_permanent_ban_ends_by_upheld_appeal() -> None:
    state = with_penalty(measure("permanent_ban"))
    accept(state, decision("appeal.filed"), decision("appeal.upheld"))
    assert "already revoked (appeal a-1 upheld)" in violation(
        state, decision("penalty.revoked", cause="regulator_order")
    )


def test_rule6_other_penalties_revoked_by_platform_error() -> None:
    state = with_penalty(measure("suspend", until=ts(days=30)))
    accept(state, decision("penalty.revoked", cause="platform_error"))


# --------------------------------------------------------------------------- future skew


def test_future_occurred_at_beyond_skew_rejected() -> None:
    recorded = at(BASE_TIME)
    closing = decision("shop.closed", occurred_at=ts(minutes=5, seconds=1))
    with pytest.raises(RuleViolation) as info:
        registered().check(closing, rules=DEFAULT_RULES, recorded_at=recorded)
    assert str(info.value) == (
        f"occurred_at {ts(minutes=5, seconds=1)} is more than 5 minutes after the time of "
        f"recording {BASE_TIME} (rule set default-v2)"
    )


def test_future_occurred_at_within_skew_accepted() -> None:
    closing = decision("shop.closed", occurred_at=ts(minutes=5))
    registered().check(closing, rules=DEFAULT_RULES, recorded_at=at(BASE_TIME))


def test_future_skew_applies_to_registration_too() -> None:
    with pytest.raises(RuleViolation, match="is more than 1 hour 30 minutes after"):
        ShopState(SHOP_ID).check(
            decision("shop.registered", occurred_at=ts(hours=2)),
            rules=RuleSet(max_future_skew=timedelta(minutes=90)),
            recorded_at=at(BASE_TIME),
        )


def test_past_occurred_at_accepted() -> None:
    state = ShopState(SHOP_ID)
    accept(state, decision("shop.registered", occurred_at="2020-01-01T00:00:00Z"))


# --------------------------------------------------------------------------- state mechanics


def test_check_against_another_shop_is_an_internal_error() -> None:
    with pytest.raises(InternalError, match="is about shop shop-2, checked against shop"):
        registered().check(
            decision("shop.closed", shop_id="shop-2"), rules=DEFAULT_RULES, recorded_at=RECORDED_AT
        )


def test_copy_is_equal_and_independent() -> None:
    state = with_penalty()
    accept(state, decision("complaint.filed"), decision("verification.submitted"))
    snapshot = state.copy()
    assert snapshot == state
    accept(
        snapshot,
        decision("appeal.filed"),
        decision("appeal.upheld"),
        decision("complaint.dismissed"),
        decision("verification.approved"),
        decision("shop.closed"),
    )
    assert snapshot != state
    assert not state.closed
    accept(state, decision("appeal.filed"))  # the original still has p-1 unrevoked


def test_full_life_of_a_shop() -> None:
    state = ShopState(SHOP_ID)
    accept(
        state,
        decision("shop.registered"),
        decision("verification.submitted", verification_id="v-rn"),
        decision("verification.approved", verification_id="v-rn"),
        decision("complaint.filed", complaint_id="c-1"),
        decision("complaint.responded", complaint_id="c-1"),
        decision("complaint.substantiated", complaint_id="c-1"),
        decision(
            "penalty.imposed",
            penalty_id="p-1",
            complaint_ids=["c-1"],
            measures=[
                measure("delist_product", product_id="sku-9"),
                measure("deduct_deposit", amount=100_000),
                measure("suspend", until=ts(days=14)),
            ],
            occurred_at=ts(days=1),
        ),
        decision("appeal.filed", appeal_id="a-1", occurred_at=ts(days=2)),
        decision("appeal.rejected", appeal_id="a-1", occurred_at=ts(days=5)),
        decision("appeal.filed", appeal_id="a-2", occurred_at=ts(days=8)),
        decision("appeal.upheld", appeal_id="a-2", occurred_at=ts(days=9)),
        decision("shop.closed", occurred_at=ts(days=20)),
    )
    assert state.registered
    assert state.closed


# A random walk over a small id space: whatever check accepts, apply must fold without error.
_IDS = {
    "verification_id": st.sampled_from(["v-1", "v-2"]),
    "complaint_id": st.sampled_from(["c-1", "c-2"]),
    "penalty_id": st.sampled_from(["p-1", "p-2"]),
    "appeal_id": st.sampled_from(["a-1", "a-2", "a-3"]),
    "remedy_id": st.sampled_from(["r-1", "r-2"]),
    "amount": st.sampled_from([1, 200_000, 400_000]),
    "from_deposit": st.booleans(),
    "forced": st.booleans(),
    "cause": st.sampled_from(["appeal_upheld", "platform_error", "regulator_order"]),
}


@st.composite
def decisions(draw: st.DrawFn) -> Decision:
    type_ = draw(st.sampled_from(ALL_TYPES))
    document = decision(type_).to_document()
    data = document["data"]
    for key in list(data):
        if key in _IDS:
            data[key] = draw(_IDS[key])
    if type_ == "penalty.imposed":
        kind = draw(st.sampled_from(["warning", "permanent_ban", "suspend", "deduct_deposit"]))
        data["measures"] = (
            [measure(kind, until=ts(days=1))]
            if kind == "suspend"
            else [measure(kind, amount=draw(_IDS["amount"]))]
            if kind == "deduct_deposit"
            else [measure(kind)]
        )
        data["complaint_ids"] = draw(st.lists(_IDS["complaint_id"], max_size=2, unique=True))
    if type_ == "penalty.revoked" and draw(st.booleans()):
        data["appeal_id"] = draw(_IDS["appeal_id"])
    document["occurred_at"] = ts(days=draw(st.integers(min_value=0, max_value=10)))
    return parse_decision(document)


@settings(max_examples=200, deadline=None)
@given(st.lists(decisions(), max_size=40))
def test_apply_folds_whatever_check_accepts(sequence: list[Decision]) -> None:
    state = ShopState(SHOP_ID)
    accept(state, decision("shop.registered"))
    for d in sequence:
        try:
            state.check(
                d,
                rules=DEFAULT_RULES,
                recorded_at=RECORDED_AT + timedelta(days=30),
                eligibility=lambda _: (),
            )
        except RuleViolation:
            continue
        copy = state.copy()
        state.apply(d)
        copy.apply(d)
        assert copy == state


# ------------------------------------------------- nothing dated before what it acts on
# docs/DECISIONS.md is silent; an enforcement team would not expect an approval dated before its
# submission, and a standing "as of" that time would show a verification that did not exist.

PRECEDES = "a decision cannot precede what it acts on"


def test_a_decision_dated_before_the_shops_registration_rejected() -> None:
    state = registered()
    assert violation(state, decision("complaint.filed", occurred_at=ts(seconds=-1))) == (
        f"occurred_at {ts(seconds=-1)} is before shop {SHOP_ID}'s registration at "
        f"{BASE_TIME}: {PRECEDES}"
    )
    accept(state, decision("complaint.filed", occurred_at=BASE_TIME))  # the same instant is fine


@pytest.mark.parametrize(
    ("history", "late", "thing", "what"),
    [
        (["verification.submitted"], "verification.approved", "verification v-1",
         "was last decided"),
        (["verification.submitted", "verification.approved"], "verification.revoked",
         "verification v-1", "was last decided"),
        (["complaint.filed"], "complaint.substantiated", "complaint c-1", "was last decided"),
        (["complaint.filed", "complaint.responded"], "complaint.dismissed", "complaint c-1",
         "was last decided"),
        (["penalty.imposed"], "penalty.revoked", "penalty p-1", "was last decided"),
        (["penalty.imposed", "appeal.filed"], "appeal.upheld", "appeal a-1", "was last decided"),
        (["penalty.imposed", "appeal.filed"], "appeal.withdrawn", "appeal a-1",
         "was last decided"),
    ],
)  # fmt: skip
def test_a_decision_dated_before_what_it_acts_on_rejected(
    history: list[str], late: str, thing: str, what: str
) -> None:
    state = registered()
    for hours, type_ in enumerate(history, start=1):
        accept(state, decision(type_, occurred_at=ts(hours=hours)))
    last = ts(hours=len(history))
    extra: dict[str, object] = {"cause": "platform_error"} if late == "penalty.revoked" else {}
    early = ts(hours=len(history), seconds=-1)
    assert violation(state, decision(late, occurred_at=early, **extra)) == (
        f"occurred_at {early} is before {thing} {what} at {last}: {PRECEDES}"
    )
    accept(state, decision(late, occurred_at=last, **extra))  # the same instant is fine
