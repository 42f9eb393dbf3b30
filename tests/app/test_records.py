"""Reading the input of `append`: one object, an array, or JSON Lines, strictly."""

from __future__ import annotations

import io
import json

import pytest

from trustledger.app.records import MAX_RECORD_BYTES, Record, read_records, read_stream
from trustledger.errors import UsageError

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


def test_json_lines_split_on_newline_only_not_on_unicode_line_separators() -> None:
    # U+2028, U+2029 and U+0085 are valid raw inside a JSON string (RFC 8259 §7);
    # str.splitlines would cut the line there and report a phantom broken record.
    text = '{"a": "x\u2028y"}\n{"b": "x\u2029y\u0085z"}\r\n\n{"c": 3}'
    assert records(text) == [
        Record(1, {"a": "x\u2028y"}),
        Record(2, {"b": "x\u2029y\u0085z"}),
        Record(4, {"c": 3}),
    ]


def test_a_document_nested_100000_deep_is_one_bad_record_naming_its_line() -> None:
    deep = '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}"
    too_deep = "malformed JSON: nested too deeply to be a decision"
    assert records('{"a": 1}\n' + deep + '\n{"b": 2}\n') == [
        Record(1, {"a": 1}),
        Record(2, error=too_deep),
        Record(3, {"b": 2}),
    ]
    assert records(deep) == [Record(1, error=too_deep)]
    assert records("[\n" + deep + "\n]") == [Record(2, error=too_deep)]


def test_an_over_long_line_is_refused_without_being_read_whole() -> None:
    class Counted(io.BytesIO):
        largest = 0

        def readline(self, size: int | None = -1) -> bytes:
            line = super().readline(size)
            Counted.largest = max(Counted.largest, len(line))
            return line

    long_line = '{"personal": "' + "x" * (10 * MAX_RECORD_BYTES) + '"}'
    stream = Counted(('{"a": 1}\n' + long_line + '\n{"b": 2}\n').encode())
    got = list(read_stream(stream))
    assert got[0] == Record(1, {"a": 1}) and got[2] == Record(3, {"b": 2})
    assert got[1].line == 2
    assert got[1].error is not None and got[1].error.startswith(
        "record longer than 262,144 bytes, not parsed"
    )
    assert Counted.largest <= MAX_RECORD_BYTES + 2
    # The same line inside a pretty-printed document.
    [record] = records('{\n"a": 1,\n' + long_line[1:] + "\n")
    assert record.line == 3 and record.error is not None and "262,144" in record.error


def test_an_array_is_read_element_by_element_across_lines() -> None:
    elements = [{"i": i, "pad": "y" * 100} for i in range(3000)]
    text = "[\n" + ",\n".join(json.dumps(e) for e in elements) + "\n]\n\n"
    assert records(text) == [Record(i, e) for i, e in enumerate(elements, start=1)]
    assert records('[\n{"a": 1},\n{"b": 2}\n] x') == [
        Record(1, {"a": 1}),
        Record(2, {"b": 2}),
        Record(4, error="malformed JSON: Extra data (column 3)"),
    ]
    assert records('[\n{"a": 1}\n{"b": 2}\n]') == [
        Record(1, {"a": 1}),
        Record(3, error="malformed JSON: Expecting ',' delimiter (column 1)"),
    ]
    assert records("[\n]\n") == [] and records("[1, 2]\n\n") == [Record(1, 1), Record(2, 2)]


def test_input_that_is_not_utf8_is_a_usage_error_naming_the_line() -> None:
    stream = io.BytesIO(b'{"a": 1}\n{"b": "\xd5\xc5"}\n')
    with pytest.raises(UsageError, match=r"^in.jsonl, line 2: not UTF-8 \(byte 0xd5\)"):
        list(read_stream(stream, source="in.jsonl"))


def test_a_request_body_held_in_memory_may_be_one_array_longer_than_a_record() -> None:
    # The append API's body: one line of JSON, far over the per-record limit of a stream,
    # whose elements are the records (each decision's own limits apply later).
    elements = [{"n": index, "pad": "x" * 1000} for index in range(400)]
    body = json.dumps(elements)
    assert len(body) > MAX_RECORD_BYTES
    records = list(read_records(body))
    assert [(r.line, r.document) for r in records] == list(enumerate(elements, 1))
    assert all(r.error is None for r in records)
