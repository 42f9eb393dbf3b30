"""RFC 8785 canonical bytes: the fast path must agree with the reference implementation."""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from trustledger.errors import InvalidDecision
from trustledger.ledger.canonical import canonicalize

MAX_SAFE = 2**53 - 1

# Code points that make ordering and escaping interesting: controls (escaped by RFC 8785
# §3.2.2.2), DEL (not escaped), the private use area and the end of the BMP (sort after
# surrogates in code-point order but before them in UTF-16 order), and astral characters.
_INTERESTING = st.sampled_from(
    ["\x00", "\x08", "\t", "\n", "\x0c", "\r", "\x1f", '"', "\\", "/", "\x7f", "\u2028",
     "\ue000", "\uf8ff", "\ufeff", "\uffff", "\U00010000", "\U0001f600", "\U0010ffff", "é", "张"]
)  # fmt: skip
_CHARS = st.one_of(st.characters(exclude_categories=["Cs"]), _INTERESTING)
_TEXT = st.text(alphabet=_CHARS, max_size=12)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-MAX_SAFE, max_value=MAX_SAFE) | _TEXT,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(_TEXT, children, max_size=5),
    max_leaves=25,
)


@given(json_values)
def test_matches_the_reference_implementation(value: Any) -> None:
    assert canonicalize(value) == rfc8785.dumps(value)


@given(st.dictionaries(_TEXT, st.integers(min_value=-MAX_SAFE, max_value=MAX_SAFE), min_size=2))
def test_object_keys_order_like_the_reference(value: dict[str, int]) -> None:
    assert canonicalize(value) == rfc8785.dumps(value)


def test_astral_keys_sort_by_utf16_code_units_before_private_use_keys() -> None:
    # U+1F600 is D83D DE00 in UTF-16 and sorts before U+E000 (RFC 8785 §3.2.3), although
    # its code point is larger.
    value = {"\ue000": 1, "\U0001f600": 2, "a": 3}
    expected = '{"a":3,"\U0001f600":2,"\ue000":1}'.encode()
    assert canonicalize(value) == expected
    assert rfc8785.dumps(value) == expected


def test_end_of_bmp_sorts_after_the_first_astral_character() -> None:
    value = {"\uffff": 0, "\U00010000": 1}
    assert canonicalize(value) == '{"\U00010000":1,"\uffff":0}'.encode()


def test_nested_astral_keys_take_the_reference_path(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _spy_on_reference(monkeypatch)
    value = {"outer": [{"\U0001f600": 1, "\ue000": 2}]}
    assert canonicalize(value) == '{"outer":[{"\U0001f600":1,"\ue000":2}]}'.encode()
    assert calls == [value]


def test_bmp_only_documents_take_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _spy_on_reference(monkeypatch)
    assert canonicalize({"b": [1, "张"], "a": None}) == '{"a":null,"b":[1,"张"]}'.encode()
    assert calls == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1.0, b"1"), (1e21, b"1e+21"), (-0.0, b"0"), (0.1, b"0.1"), ({"x": [2.5]}, b'{"x":[2.5]}')],
    ids=["integral", "exponent", "negative-zero", "shortest", "nested"],
)
def test_floats_go_through_the_reference_path(
    monkeypatch: pytest.MonkeyPatch, value: Any, expected: bytes
) -> None:
    calls = _spy_on_reference(monkeypatch)
    assert canonicalize(value) == expected
    assert calls == [value]


def test_largest_safe_integers_are_plain_digits() -> None:
    assert canonicalize([MAX_SAFE, -MAX_SAFE]) == b"[9007199254740991,-9007199254740991]"


@pytest.mark.parametrize(
    "value",
    [2**53, -(2**53), float("nan"), float("inf"), "\ud800", {"k\ud800": 1}, {1: "a"}, object()],
    ids=["int-above", "int-below", "nan", "inf", "lone-surrogate", "surrogate-key",
         "non-string-key", "not-json"],
)  # fmt: skip
def test_unrepresentable_values_raise_invalid_decision(value: Any) -> None:
    with pytest.raises(InvalidDecision, match="not canonicalisable"):
        canonicalize(value)


def _spy_on_reference(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    calls: list[Any] = []
    real = rfc8785.dumps

    def spy(value: Any) -> bytes:
        calls.append(value)
        return bytes(real(value))

    monkeypatch.setattr(rfc8785, "dumps", spy)  # the module canonical calls
    return calls


@given(json_values)
def test_json_safe_path_matches_the_reference_implementation(value: Any) -> None:
    # The path append uses for validated decisions: no type walk, only the encoded text is
    # checked for code points above U+FFFF (where JCS's UTF-16 key order could differ).
    assert canonicalize(value, json_safe=True) == rfc8785.dumps(value)


@pytest.mark.parametrize("json_safe", [False, True])
def test_nesting_deeper_than_orjson_takes_the_reference_path(json_safe: bool) -> None:
    # orjson refuses more than 255 levels; the reference implementation still decides.
    value: Any = "leaf"
    for depth in range(300):
        value = [value] if depth % 2 else {"k": value}
    assert canonicalize(value, json_safe=json_safe) == bytes(rfc8785.dumps(value))
