"""Reading the input of `append`: one object, an array, or JSON Lines, strictly."""

from __future__ import annotations

from trustledger.app.records import Record, read_records

TWICE = (
    "malformed JSON: member 'shop_id' is given twice in one object (I-JSON, RFC 7493 §2.3: "
    "parsers disagree on which one counts)"
)


def records(text: str) -> list[Record]:
    return list(read_records(text))


def test_one_object_an_array_and_json_lines() -> None:
    assert records('{"a": 1}') == [Record(1, {"a": 1})]
    assert records('[{"a": 1}, {"b": 2}]') == [Record(1, {"a": 1}), Record(2, {"b": 2})]
    assert records('{"a": 1}\n\n{"b": 2}\n') == [Record(1, {"a": 1}), Record(3, {"b": 2})]


def test_a_member_given_twice_is_refused_not_resolved() -> None:
    # json.loads would keep the last value and file the decision under shop-10.
    line = '{"shop_id":"shop-1","type":"shop.closed","shop_id":"shop-10"}'
    assert records(line) == [Record(1, error=TWICE)]
    assert records('{"a": 1}\n' + line) == [Record(1, {"a": 1}), Record(2, error=TWICE)]
    assert records(f'[{{"a": 1}}, {line}]') == [Record(1, error=TWICE)]
    # the same name in different objects is fine
    assert records('{"a": {"a": 1}}') == [Record(1, {"a": {"a": 1}})]


def test_a_broken_pretty_printed_object_is_one_error_where_the_parser_stopped() -> None:
    text = '{\n  "type": "shop.closed",\n  "data": {"reason": "x"},\n}\n'
    assert records(text) == [
        Record(4, error="malformed JSON: Expecting property name enclosed in double quotes "
                        "(column 1)")
    ]  # fmt: skip
    assert records('\n\n{"a":\n') == [Record(3, error="malformed JSON: Expecting value (column 6)")]


def test_broken_json_lines_are_reported_line_by_line() -> None:
    got = records('{"a": 1}\n{"b": \n{"c": 3}\n')
    assert [r.line for r in got] == [1, 2, 3]
    assert got[1].error is not None and got[1].error.startswith("malformed JSON: Expecting value")


def test_a_byte_order_mark_and_crlf_line_ends_are_accepted() -> None:
    assert records('\ufeff{"a": 1}\r\n{"b": 2}\r\n') == [Record(1, {"a": 1}), Record(2, {"b": 2})]
    assert records('\ufeff{"a": 1}') == [Record(1, {"a": 1})]
