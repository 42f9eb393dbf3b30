"""Finding a decision recorded twice in a log, in bounded memory (threat model T9).

Appends are idempotent by decision id, but someone who writes to the database behind the
ledger could copy a decider's signed decision to the tail, and the operator could sign a
checkpoint over it: the copy chains, its signature verifies, and every per-entry check
passes. What gives it away is its decision id, seen before. Holding every id of a long
log in memory would make verification grow with the log, so the ids go to bucket files
on disk (by CRC-32 of the id) as the ranges arrive, and each bucket is checked alone at
the end: memory is one bucket's ids, a 256th of the log.
"""

from __future__ import annotations

import ast
import tempfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

_BUCKETS = 256


@dataclass(frozen=True)
class Repeat:
    """A decision id at ``position`` that was already at ``first_position``."""

    decision_id: str
    position: int
    first_position: int


class RepeatedDecisions:
    """Collects (position, decision id) as ranges are verified; ``first_repeat`` names the
    earliest position whose decision id occurred before it."""

    def __init__(self) -> None:
        self._directory = tempfile.TemporaryDirectory(prefix="trustledger-verify-")
        root = Path(self._directory.name)
        self._files: list[IO[str]] = [
            (root / f"{index:03d}").open("w", encoding="utf-8", newline="\n")
            for index in range(_BUCKETS)
        ]

    def add(self, first_position: int, decision_ids: Sequence[str | None]) -> None:
        """The ids of consecutive entries from ``first_position`` on (None: no id)."""
        files = self._files
        for offset, decision_id in enumerate(decision_ids):
            if decision_id is not None:
                bucket = zlib.crc32(decision_id.encode("utf-8", "surrogatepass")) % _BUCKETS
                # Ids come from JSON strings: a newline would be escaped, never raw; repr
                # keeps any character on one line anyway.
                files[bucket].write(f"{first_position + offset}\t{decision_id!r}\n")

    def first_repeat(self) -> Repeat | None:
        """The earliest repeated decision id over everything added (None: none)."""
        earliest: Repeat | None = None
        for handle in self._files:
            handle.close()
            seen: dict[str, int] = {}
            with open(handle.name, encoding="utf-8") as lines:
                for line in lines:
                    position_text, decision_id = line.rstrip("\n").split("\t", 1)
                    position = int(position_text)
                    first = seen.setdefault(decision_id, position)
                    if first != position and (earliest is None or position < earliest.position):
                        earliest = Repeat(_unquote(decision_id), position, first)
        return earliest

    def close(self) -> None:
        for handle in self._files:
            handle.close()
        self._directory.cleanup()


def _unquote(text: str) -> str:
    value = ast.literal_eval(text)
    assert isinstance(value, str)
    return value
