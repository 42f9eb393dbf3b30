from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.domain.builders import ALL_TYPES, DROP, digest, doc, measure
from trustledger.domain.decision import (
    MEASURE_TYPES,
    REMEDY_KINDS,
    REVOCATION_CAUSES,
    SEVERITIES,
    SHOP_DECISION_TYPES,
    VERIFICATION_KINDS,
    VIOLATION_CODES,
    Decision,
    parse_decision,
)
from trustledger.domain.timefmt import format_timestamp
from trustledger.errors import InvalidDecision


def rejected(document: object) -> str:
    with pytest.raises(InvalidDecision) as info:
        parse_decision(document)
    message = str(info.value)
    assert "\n" not in message
    return message


# --------------------------------------------------------------------------- vocabulary


def test_vocabulary_matches_domain_md() -> None:
    assert len(SHOP_DECISION_TYPES) == 25  # v1's 18 and v2's 7
    assert set(ALL_TYPES) == SHOP_DECISION_TYPES
    assert {"verification.expired", "verification.revoked"} <= SHOP_DECISION_TYPES
    assert {"complaint.dismissed", "complaint.withdrawn"} <= SHOP_DECISION_TYPES
    assert len(VIOLATION_CODES) == 13
    assert len(MEASURE_TYPES) == 8
    assert {"minor", "serious", "critical"} == SEVERITIES
    assert {"appeal_upheld", "platform_error", "regulator_order"} == REVOCATION_CAUSES
    assert {"real_name", "qualification", "brand", "product_listing"} == VERIFICATION_KINDS
    assert {"refund", "return_and_refund", "compensation"} == REMEDY_KINDS


# --------------------------------------------------------------------------- happy paths


@pytest.mark.parametrize("type_", ALL_TYPES)
def test_every_type_parses_from_a_realistic_document(type_: str) -> None:
    document = doc(type_, personal={"subject_id": "buyer-77", "name": "张三"})
    decision = parse_decision(document)
    assert decision.type == type_
    assert decision.shop_id == "shop-10086"
    assert decision.occurred_at == datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
    assert decision.actor == "reviewer-17"
    assert decision.data == document["data"]
    assert decision.subject_id == "buyer-77"


@pytest.mark.parametrize("type_", ALL_TYPES)
def test_every_type_round_trips_through_to_document(type_: str) -> None:
    decision = parse_decision(doc(type_, personal={"subject_id": "s-1", "phone": "13800138000"}))
    document = decision.to_document()
    assert parse_decision(document) == decision
    assert parse_decision(json.loads(json.dumps(document))) == decision


def test_domain_md_example_document_parses() -> None:
    document = {
        "decision_id": "0b9f6c1e-1a7d-4c53-9a57-3e0c7f0f4a11",
        "type": "penalty.imposed",
        "shop_id": "shop-10086",
        "occurred_at": "2026-11-02T08:30:00Z",
        "actor": "reviewer-17",
        "data": {
            "penalty_id": "p-1",
            "violation": "counterfeit",
            "severity": "serious",
            "points": 12,
            "measures": [{"type": "delist_product", "product_id": "sku-9"}],
        },
        "personal": {"subject_id": "buyer-77", "name": "张三", "phone": "13800138000"},
    }
    decision = parse_decision(document)
    assert decision.to_document() == document


def test_data_may_be_empty_where_nothing_is_required() -> None:
    assert parse_decision(doc("shop.closed", data={})).data == {}


def test_optional_fields_may_be_left_out() -> None:
    document = doc("shop.registered", deposit=DROP, categories=DROP)
    assert parse_decision(document).data == {"owner_subject_id": "owner-501"}


def test_every_measure_type_parses() -> None:
    measures = [
        measure("warning"),
        measure("delist_product", product_id="sku-9"),
        measure("restrict_traffic", until="2026-11-09T08:30:00Z"),
        measure("restrict_listing"),
        measure("freeze_funds", until="2026-11-09T08:30:00Z"),
        measure("deduct_deposit", amount=10_000),
        measure("suspend", until="2026-11-09T08:30:00Z"),
        measure("permanent_ban"),
    ]
    decision = parse_decision(doc("penalty.imposed", measures=measures))
    assert decision.data["measures"] == measures


def test_timestamps_in_data_are_normalised() -> None:
    decision = parse_decision(
        doc(
            "penalty.imposed",
            measures=[measure("suspend", until="2026-11-09t08:30:00.250+00:00")],
        )
    )
    assert decision.data["measures"][0]["until"] == "2026-11-09T08:30:00.250000Z"
    approved = parse_decision(doc("verification.approved", valid_until="2027-01-01T00:00:00+00:00"))
    assert approved.data["valid_until"] == "2027-01-01T00:00:00Z"


def test_decision_id_any_case_normalised_to_lowercase() -> None:
    decision = parse_decision(
        doc("shop.closed", decision_id="0B9F6C1E-1A7D-4C53-9A57-3E0C7F0F4A11")
    )
    assert decision.decision_id == "0b9f6c1e-1a7d-4c53-9a57-3e0c7f0f4a11"


def test_actor_is_optional_and_null_means_absent() -> None:
    assert parse_decision(doc("shop.closed", actor=DROP)).actor is None
    decision = parse_decision(doc("shop.closed", actor=None))
    assert decision.actor is None
    assert "actor" not in decision.to_document()


def test_personal_is_optional_and_omitted_when_none() -> None:
    decision = parse_decision(doc("shop.closed"))
    assert decision.personal is None
    assert decision.subject_id is None
    assert "personal" not in decision.to_document()


def test_personal_sealed_envelope_is_opaque() -> None:
    envelope = {
        "subject_id": "buyer-77",
        "sealed": {"alg": "A256GCM", "kid": "k-3", "nonce": "AAEC", "ct": "3q2+7w=="},
        "fields": ["name", "phone"],
        "version": 1,
        "flags": [True, None],
    }
    assert parse_decision(doc("complaint.filed", personal=envelope)).personal == envelope


def test_to_document_is_a_fresh_copy() -> None:
    decision = parse_decision(doc("penalty.imposed", personal={"subject_id": "s", "a": [1]}))
    document = decision.to_document()
    document["data"]["measures"][0]["product_id"] = "changed"
    document["personal"]["a"].append(2)
    assert decision.data["measures"][0]["product_id"] == "sku-9"
    assert decision.personal == {"subject_id": "s", "a": [1]}


def test_parse_does_not_alias_the_input() -> None:
    document = doc("penalty.imposed", personal={"subject_id": "s", "a": [1]})
    decision = parse_decision(document)
    document["data"]["measures"][0]["product_id"] = "changed"
    document["personal"]["a"].append(2)
    assert decision.data["measures"][0]["product_id"] == "sku-9"
    assert decision.personal == {"subject_id": "s", "a": [1]}


def test_with_personal_replaces_and_validates() -> None:
    decision = parse_decision(doc("complaint.filed", personal={"subject_id": "s-1", "name": "x"}))
    sealed = decision.with_personal({"subject_id": "s-1", "sealed": "b64"})
    assert sealed.personal == {"subject_id": "s-1", "sealed": "b64"}
    assert sealed.data == decision.data
    assert sealed.with_personal(None).personal is None
    with pytest.raises(InvalidDecision, match=r"^personal\.subject_id: required"):
        decision.with_personal({"sealed": "b64"})


def test_decisions_are_hashable_and_comparable() -> None:
    document = doc("shop.closed")
    assert parse_decision(document) == parse_decision(document)
    assert len({parse_decision(document), parse_decision(document)}) == 1
    assert parse_decision(document) != parse_decision(doc("shop.closed"))


# --------------------------------------------------------------------------- top level


def test_not_an_object_rejected() -> None:
    assert rejected([1]) == "decision: must be a JSON object, got array"


def test_unknown_top_level_key_rejected() -> None:
    document = doc("shop.closed")
    document["signature"] = "abc"
    message = rejected(document)
    assert message.startswith("decision: unknown field 'signature' (allowed: decision_id,")


def test_several_unknown_top_level_keys_named() -> None:
    document = doc("shop.closed")
    document["x"] = 1
    document["y"] = 2
    assert rejected(document).startswith("decision: unknown fields 'x', 'y'")


@pytest.mark.parametrize("field", ["decision_id", "type", "shop_id", "occurred_at", "data"])
def test_missing_top_level_field_rejected(field: str) -> None:
    assert rejected(doc("shop.closed", **{field: DROP})) == f"{field}: required"


@pytest.mark.parametrize(
    "value",
    [
        "not-a-uuid",
        "0b9f6c1e1a7d4c539a573e0c7f0f4a11",
        "{0b9f6c1e-1a7d-4c53-9a57-3e0c7f0f4a11}",
        "0b9f6c1e-1a7d-4c53-9a57-3e0c7f0f4a1",
        "0b9f6c1e-1a7d-4c53-9a57-3e0c7f0f4a1g",
        "",
    ],
)
def test_bad_uuid_rejected(value: str) -> None:
    assert rejected(doc("shop.closed", decision_id=value)).startswith(
        f"decision_id: {value!r} is not a UUID"
    )


def test_decision_id_not_a_string_rejected() -> None:
    assert rejected(doc("shop.closed", decision_id=7)) == (
        "decision_id: must be a string, got number 7"
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("decision_id", None, "decision_id: must be a string, got null"),
        ("decision_id", "\ud800", "decision_id: is not valid Unicode text"),
        ("type", ["shop.closed"], "type: must be a string, got array"),
        ("type", 3, "type: must be a string, got number 3"),
        ("type", "shop.\udc80", "type: is not valid Unicode text"),
        ("shop_id", {"id": 1}, "shop_id: must be a string, got object"),
        ("shop_id", True, "shop_id: must be a string, got boolean"),
        ("shop_id", "s\ud800", "shop_id: is not valid Unicode text"),
    ],
)
def test_top_level_identifiers_of_the_wrong_kind_are_named(
    field: str, value: object, message: str
) -> None:
    assert rejected(doc("shop.closed", **{field: value})).startswith(message)


def test_the_first_missing_required_field_is_named() -> None:
    document = doc("shop.closed")
    for name in ("data", "shop_id"):
        del document[name]
    assert rejected(document) == "shop_id: required"


def test_unknown_type_rejected() -> None:
    assert rejected(doc("shop.closed", type="shop.renamed")).startswith(
        "type: unknown decision type 'shop.renamed' (expected one of: appeal.filed,"
    )


@pytest.mark.parametrize("value", ["", "shop 1", "shop/1", "店铺", "s" * 65, "shop-1\n"])
def test_bad_shop_id_rejected(value: str) -> None:
    assert rejected(doc("shop.closed", shop_id=value)) == (
        f"shop_id: {value!r} does not match [A-Za-z0-9_.:-]{{1,64}}"
    )


def test_shop_id_of_64_allowed_characters_accepted() -> None:
    shop_id = ("Ab0_.:-" * 10)[:64]
    assert parse_decision(doc("shop.closed", shop_id=shop_id)).shop_id == shop_id


def test_occurred_at_not_utc_rejected() -> None:
    assert "occurred_at: '2026-11-02T16:30:00+08:00' has offset +08:00" in rejected(
        doc("shop.closed", occurred_at="2026-11-02T16:30:00+08:00")
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "actor: must be a non-empty string"),
        ("   ", "actor: must be a non-empty string"),
        ("r" * 129, "actor: is 129 characters long; at most 128"),
        (17, "actor: must be a string, got number 17"),
    ],
)
def test_bad_actor_rejected(value: object, message: str) -> None:
    assert rejected(doc("shop.closed", actor=value)) == message


@pytest.mark.parametrize(("value", "kind"), [([], "array"), ("x", "string"), (None, "null")])
def test_data_not_an_object_rejected(value: object, kind: str) -> None:
    assert rejected(doc("shop.closed", data=value)) == f"data: must be an object, got {kind}"


# --------------------------------------------------------------------------- data fields

REQUIRED_FIELDS = [
    ("shop.registered", "owner_subject_id"),
    ("verification.submitted", "verification_id"),
    ("verification.submitted", "kind"),
    ("verification.approved", "verification_id"),
    ("verification.rejected", "verification_id"),
    ("verification.rejected", "reason"),
    ("verification.expired", "verification_id"),
    ("verification.revoked", "verification_id"),
    ("complaint.filed", "complaint_id"),
    ("complaint.filed", "category"),
    ("complaint.responded", "complaint_id"),
    ("complaint.substantiated", "complaint_id"),
    ("complaint.substantiated", "violation"),
    ("complaint.dismissed", "complaint_id"),
    ("complaint.withdrawn", "complaint_id"),
    ("penalty.imposed", "penalty_id"),
    ("penalty.imposed", "violation"),
    ("penalty.imposed", "severity"),
    ("penalty.imposed", "measures"),
    ("penalty.revoked", "penalty_id"),
    ("penalty.revoked", "cause"),
    ("appeal.filed", "appeal_id"),
    ("appeal.filed", "penalty_id"),
    ("appeal.upheld", "appeal_id"),
    ("appeal.rejected", "appeal_id"),
    ("appeal.rejected", "reason"),
    ("appeal.withdrawn", "appeal_id"),
    ("deposit.paid", "amount"),
    ("deposit.refunded", "amount"),
    ("remedy.ordered", "remedy_id"),
    ("remedy.ordered", "complaint_id"),
    ("remedy.ordered", "kind"),
    ("remedy.ordered", "amount"),
    ("remedy.ordered", "due_by"),
    ("remedy.completed", "remedy_id"),
    ("remedy.cancelled", "remedy_id"),
    ("remedy.cancelled", "reason"),
    ("programme.exited", "reason"),
]


@pytest.mark.parametrize(("type_", "field"), REQUIRED_FIELDS)
def test_missing_required_data_field_rejected(type_: str, field: str) -> None:
    assert rejected(doc(type_, **{field: DROP})) == (
        f"data.{field}: required for a {type_!r} decision"
    )


def test_missing_required_fields_cover_every_type_that_has_some() -> None:
    # shop.closed and programme.enrolled take no required field.
    assert {t for t, _ in REQUIRED_FIELDS} == SHOP_DECISION_TYPES - {
        "shop.closed",
        "programme.enrolled",
    }


@pytest.mark.parametrize(
    ("type_", "field", "what"),
    [
        ("verification.submitted", "kind", "verification kind"),
        ("complaint.filed", "category", "violation code"),
        ("complaint.substantiated", "violation", "violation code"),
        ("penalty.imposed", "violation", "violation code"),
        ("penalty.imposed", "severity", "severity"),
        ("penalty.revoked", "cause", "revocation cause"),
    ],
)
def test_wrong_enum_value_rejected(type_: str, field: str, what: str) -> None:
    assert rejected(doc(type_, **{field: "bogus"})).startswith(
        f"data.{field}: unknown {what} 'bogus' (expected one of: "
    )


def test_enum_is_case_sensitive() -> None:
    assert rejected(doc("penalty.imposed", severity="Serious")).startswith(
        "data.severity: unknown severity 'Serious'"
    )


def test_unknown_data_key_rejected() -> None:
    assert rejected(doc("appeal.withdrawn", reason="changed my mind")) == (
        "data.reason: not allowed for a 'appeal.withdrawn' decision (allowed: appeal_id)"
    )


def test_several_unknown_data_keys_named() -> None:
    assert rejected(doc("appeal.upheld", x=1, y=2)) == (
        "data: unknown fields 'x', 'y' for a 'appeal.upheld' decision"
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("points", 12.0, "data.points: must be an integer, got number 12.0"),
        ("points", 1.5, "data.points: must be an integer, got number 1.5"),
        ("points", math.nan, "data.points: must be an integer, got number nan"),
        ("points", math.inf, "data.points: must be an integer, got number inf"),
        ("points", True, "data.points: must be an integer, got boolean"),
        ("points", "12", "data.points: must be an integer, got string"),
        ("points", -1, "data.points: -1 is out of range; must be 0..9007199254740991"),
        ("points", 2**53, "data.points: 9007199254740992 is out of range; must be 0.."),
    ],
)
def test_bad_points_rejected(field: str, value: object, message: str) -> None:
    assert rejected(doc("penalty.imposed", **{field: value})).startswith(message)


def test_points_zero_and_max_accepted() -> None:
    assert parse_decision(doc("penalty.imposed", points=0)).data["points"] == 0
    assert parse_decision(doc("penalty.imposed", points=2**53 - 1)).data["points"] == 2**53 - 1


def test_float_deposit_rejected() -> None:
    assert rejected(doc("shop.registered", deposit=5000.0)) == (
        "data.deposit: must be an integer, got number 5000.0"
    )


def test_float_amount_rejected() -> None:
    document = doc("penalty.imposed", measures=[measure("deduct_deposit", amount=100.0)])
    assert rejected(document) == ("data.measures[0].amount: must be an integer, got number 100.0")


def test_zero_amount_rejected() -> None:
    document = doc("penalty.imposed", measures=[measure("deduct_deposit", amount=0)])
    assert rejected(document).startswith("data.measures[0].amount: 0 is out of range; must be 1..")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "data.penalty_id: must be a non-empty string"),
        ("  ", "data.penalty_id: must be a non-empty string"),
        ("p" * 129, "data.penalty_id: is 129 characters long; at most 128"),
        (" p-1", "data.penalty_id: ' p-1' must not start or end with whitespace"),
        (1, "data.penalty_id: must be a string, got number 1"),
        (None, "data.penalty_id: must be a string, got null"),
        ("p-\ud800", "data.penalty_id: is not valid Unicode text (surrogates not allowed)"),
    ],
)
def test_bad_id_rejected(value: object, message: str) -> None:
    assert rejected(doc("penalty.revoked", penalty_id=value)) == message


def test_id_of_128_characters_accepted() -> None:
    assert parse_decision(doc("penalty.revoked", penalty_id="p" * 128)).data["penalty_id"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "data.reason: must be a non-empty string"),
        ("x" * 4097, "data.reason: is 4097 characters long; at most 4096"),
        (["why"], "data.reason: must be a string, got array"),
    ],
)
def test_bad_text_rejected(value: object, message: str) -> None:
    assert rejected(doc("appeal.rejected", reason=value)) == message


def test_text_of_4096_characters_accepted() -> None:
    assert parse_decision(doc("appeal.rejected", reason="理" * 4096)).data["reason"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("AB" * 32, "data.document_sha256: " + repr("AB" * 32) + " is not a SHA-256 digest"),
        ("ab" * 31, "data.document_sha256: " + repr("ab" * 31) + " is not a SHA-256 digest"),
        ("zz" * 32, "data.document_sha256: " + repr("zz" * 32) + " is not a SHA-256 digest"),
    ],
)
def test_bad_document_sha256_rejected(value: str, message: str) -> None:
    assert rejected(doc("verification.submitted", document_sha256=value)).startswith(message)


def test_bad_evidence_item_rejected() -> None:
    document = doc("complaint.filed", evidence=[digest("a"), "not-a-digest"])
    assert rejected(document).startswith("data.evidence[1]: 'not-a-digest' is not a SHA-256 digest")


def test_evidence_not_a_list_rejected() -> None:
    assert rejected(doc("complaint.responded", evidence=digest("a"))) == (
        "data.evidence: must be an array, got string"
    )


def test_categories_must_be_non_empty_strings() -> None:
    assert rejected(doc("shop.registered", categories=["apparel", ""])) == (
        "data.categories[1]: must be a non-empty string"
    )


def test_complaint_ids_must_be_unique_ids() -> None:
    assert rejected(doc("penalty.imposed", complaint_ids=["c-1", "c-1"])) == (
        "data.complaint_ids[1]: duplicate 'c-1'"
    )
    assert rejected(doc("penalty.imposed", complaint_ids=["c-1", 2])) == (
        "data.complaint_ids[1]: must be a string, got number 2"
    )


def test_bad_valid_until_rejected() -> None:
    assert "data.valid_until: '2027-01-01' is not an RFC 3339 timestamp" in rejected(
        doc("verification.approved", valid_until="2027-01-01")
    )


# --------------------------------------------------------------------------- measures


def test_suspend_needs_until() -> None:
    document = doc("penalty.imposed", measures=[measure("warning"), measure("suspend")])
    assert rejected(document) == "data.measures[1].until: required for a 'suspend' measure"


def test_permanent_ban_has_no_until() -> None:
    document = doc("penalty.imposed", measures=[measure("permanent_ban", until=ts_after())])
    assert rejected(document) == (
        "data.measures[0].until: not allowed for a 'permanent_ban' measure (it takes no fields)"
    )


def test_delist_product_needs_product_id() -> None:
    document = doc("penalty.imposed", measures=[measure("delist_product")])
    assert rejected(document) == (
        "data.measures[0].product_id: required for a 'delist_product' measure"
    )


def test_deduct_deposit_needs_amount() -> None:
    document = doc("penalty.imposed", measures=[measure("deduct_deposit")])
    assert rejected(document) == "data.measures[0].amount: required for a 'deduct_deposit' measure"


def test_unknown_measure_field_rejected() -> None:
    document = doc("penalty.imposed", measures=[measure("freeze_funds", amount=5)])
    assert rejected(document) == (
        "data.measures[0].amount: not allowed for a 'freeze_funds' measure (allowed: until)"
    )


def test_unknown_measure_type_rejected() -> None:
    document = doc("penalty.imposed", measures=[measure("fine", amount=5)])
    assert rejected(document).startswith(
        "data.measures[0].type: unknown measure type 'fine' (expected one of: deduct_deposit,"
    )


def test_measure_without_type_rejected() -> None:
    document = doc("penalty.imposed", measures=[{"product_id": "sku-9"}])
    assert rejected(document) == "data.measures[0].type: required for a measure"


def test_measure_not_an_object_rejected() -> None:
    document = doc("penalty.imposed", measures=["warning"])
    assert rejected(document) == "data.measures[0]: must be an object, got string"


def test_empty_measures_rejected() -> None:
    assert rejected(doc("penalty.imposed", measures=[])) == (
        "data.measures: must name at least one measure"
    )


def test_measure_float_until_rejected() -> None:
    document = doc("penalty.imposed", measures=[measure("suspend", until=1.8e9)])
    assert rejected(document).startswith(
        "data.measures[0].until: must be an RFC 3339 UTC timestamp string, got number"
    )


def ts_after() -> str:
    return "2026-12-01T00:00:00Z"


# --------------------------------------------------------------------------- personal


@pytest.mark.parametrize(
    ("personal", "message"),
    [
        ({"name": "张三"}, "personal.subject_id: required when personal data is present"),
        ({"subject_id": ""}, "personal.subject_id: must be a string matching"),
        ({"subject_id": "buyer 77"}, "personal.subject_id: must be a string matching"),
        ({"subject_id": 77}, "personal.subject_id: must be a string matching"),
        ({"subject_id": "s" * 129}, "personal.subject_id: must be a string matching"),
        ("buyer-77", "personal: must be an object, got string"),
        ({"subject_id": "s", "height": 1.75}, "personal.height: must not be a float (1.75)"),
        ({"subject_id": "s", "x": [{"y": math.nan}]}, "personal.x[0].y: must not be a float"),
        ({"subject_id": "s", "n": 2**53}, "personal.n: integer 9007199254740992 is out of"),
        ({"subject_id": "s", "t": (1, 2)}, "personal.t: non-JSON value of type tuple"),
        ({"subject_id": "s", 1: "x"}, "personal: object key 1 is not a string"),
        ({"subject_id": "s", "a": "\udc80"}, "personal.a: is not valid Unicode text"),
    ],
)
def test_bad_personal_rejected(personal: object, message: str) -> None:
    assert rejected(doc("complaint.filed", personal=personal)).startswith(message)


def test_deeply_nested_personal_rejected() -> None:
    nested: Any = "leaf"
    for _ in range(40):
        nested = {"n": nested}
    assert "nested more than 32 levels deep" in rejected(
        doc("complaint.filed", personal={"subject_id": "s", "deep": nested})
    )


# --------------------------------------------------------------------------- properties

timestamps = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)).map(
    lambda dt: dt.replace(tzinfo=UTC)
)


@given(occurred=timestamps, until=timestamps, uuid=st.uuids())
def test_to_document_round_trip_property(occurred: datetime, until: datetime, uuid: Any) -> None:
    document = doc(
        "penalty.imposed",
        decision_id=str(uuid).upper(),
        occurred_at=format_timestamp(occurred),
        measures=[measure("suspend", until=format_timestamp(until)), measure("warning")],
    )
    decision = parse_decision(document)
    assert decision.occurred_at == occurred
    assert decision.decision_id == str(uuid)
    assert parse_decision(decision.to_document()) == decision
    assert decision.to_document()["occurred_at"] == format_timestamp(occurred)


def test_decision_constructor_field_order() -> None:
    decision = Decision(
        "0b9f6c1e-1a7d-4c53-9a57-3e0c7f0f4a11",
        "shop.closed",
        "shop-1",
        datetime(2026, 11, 2, tzinfo=UTC),
        None,
        {},
        None,
    )
    assert parse_decision(decision.to_document()) == decision
