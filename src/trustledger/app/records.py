"""Reading decision documents: one JSON object, a JSON array, or JSON Lines."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Record:
    """One input record with its line number; ``error`` set when it is not JSON."""

    line: int
    document: object = None
    error: str | None = None


class DuplicateMember(ValueError):
    """An object that names a member twice (RFC 7493 §2.3 forbids it)."""


def _unique_members(pairs: list[tuple[str, object]]) -> dict[str, object]:
    document = dict(pairs)
    if len(document) != len(pairs):
        keys = [key for key, _ in pairs]
        twice = next(key for index, key in enumerate(keys) if key in keys[:index])
        raise DuplicateMember(
            f"member {twice!r} is given twice in one object (I-JSON, RFC 7493 §2.3: "
            "parsers disagree on which one counts)"
        )
    return document


def _loads(text: str) -> object:
    # Refuse a member given twice instead of keeping its last value, as json.loads would:
    # the tool that wrote the line may have meant the first.
    return json.loads(text, object_pairs_hook=_unique_members)


def read_records(text: str) -> Iterator[Record]:
    """Split input into records.

    A text that parses as one JSON object is one record (line 1); a JSON array gives one
    record per element (numbered from 1); anything else is JSON Lines, blank lines skipped.
    A text that starts like one JSON value but is not one, and whose first line is not a
    JSON value by itself (so not JSON Lines either), is one record with the parser's error
    at its line. A leading byte order mark is ignored.
    """
    text = text.removeprefix("\ufeff")
    stripped = text.strip()
    if not stripped:
        return
    if stripped[0] in "{[":
        try:
            whole = _loads(stripped)
        except DuplicateMember as exc:
            yield Record(1, error=f"malformed JSON: {exc}")
            return
        except json.JSONDecodeError as exc:
            if not _is_json_lines(text):
                offset = len(text) - len(text.lstrip())  # lines before the stripped text
                where = exc.lineno + text.count("\n", 0, offset)
                yield Record(where, error=f"malformed JSON: {exc.msg} (column "
                                          f"{exc.colno})")  # fmt: skip
                return
        else:
            if isinstance(whole, list):
                for index, item in enumerate(whole, start=1):
                    yield Record(index, item)
                return
            yield Record(1, whole)
            return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield Record(number, _loads(line))
        except ValueError as exc:
            yield Record(number, error=f"malformed JSON: {exc}")


def _is_json_lines(text: str) -> bool:
    # The first non-blank line is a JSON value by itself (even one with a duplicate member).
    first = next(line for line in text.splitlines() if line.strip())
    try:
        json.loads(first)
    except ValueError:
        return False
    return True
