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


def read_records(text: str) -> Iterator[Record]:
    """Split input into records.

    A text that parses as one JSON object is one record (line 1); a JSON array gives one
    record per element (numbered from 1); anything else is JSON Lines, blank lines skipped.
    """
    stripped = text.strip()
    if not stripped:
        return
    if stripped[0] in "{[":
        try:
            whole = json.loads(stripped)
        except ValueError:
            whole = None
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
            yield Record(number, json.loads(line))
        except ValueError as exc:
            yield Record(number, error=f"malformed JSON: {exc}")
