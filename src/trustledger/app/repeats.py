"""Finding a decision recorded twice in a log, in bounded memory (threat model T9).

Appends are idempotent by decision id, but someone who writes to the database behind the
ledger could copy a decider's signed decision to the tail, and the operator could sign a
checkpoint over it: the copy chains, its signature verifies, and every per-entry check
passes. What gives it away is its decision id, seen before. Holding every id of a long
log in memory would make verification grow with the log, so the ids go to bucket files
on disk (by CRC-32 of the id) as the ranges arrive, and each bucket is checked alone at
the end; a bucket larger than ``MAX_BUCKET_BYTES`` is split again first, so memory stays
bounded however long the log.
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
# A bucket of more than this many bytes (about 100,000 ids) is split again, by another
# hash, before its ids are held in memory: memory stays bounded however long the log.
MAX_BUCKET_BYTES = 8 << 20
# Ids held in a dict before any file is written (a few MB): a short log needs no disk.
IN_MEMORY = 20_000


@dataclass(frozen=True)
class Repeat:
    """A decision id at ``position`` that was already at ``first_position``."""

    decision_id: str
    position: int
    first_position: int


class RepeatedDecisions:
    """Collects (position, decision id) as ranges are verified; ``first_repeat`` names the
    earliest position whose decision id occurred before it. Up to ``IN_MEMORY`` ids are
    kept in a dict (most logs, no files); beyond that they go to bucket files."""

    def __init__(self) -> None:
        self._seen: dict[str, int] | None = {}
        self._earliest: Repeat | None = None
        self._directory: tempfile.TemporaryDirectory[str] | None = None
        self._files: list[IO[str]] = []

    def add(self, first_position: int, decision_ids: Sequence[str | None]) -> None:
        """The ids of consecutive entries from ``first_position`` on (None: no id)."""
        if self._seen is not None:
            seen = self._seen
            for offset, decision_id in enumerate(decision_ids):
                if decision_id is not None:
                    position = first_position + offset
                    first = seen.setdefault(decision_id, position)
                    if first != position and self._earliest is None:
                        self._earliest = Repeat(decision_id, position, first)
            if len(seen) > IN_MEMORY:
                self._spill()
            return
        for offset, decision_id in enumerate(decision_ids):
            if decision_id is not None:
                self._write(first_position + offset, decision_id)

    def _write(self, position: int, decision_id: str) -> None:
        # repr: an id is any JSON string, a newline in it included; one line each.
        text = repr(decision_id)
        self._files[_bucket(text, 0)].write(f"{position}\t{text}\n")

    def _spill(self) -> None:
        assert self._seen is not None
        self._directory = tempfile.TemporaryDirectory(prefix="trustledger-verify-")
        root = Path(self._directory.name)
        self._files = [
            (root / f"{index:03d}").open("w", encoding="utf-8", newline="\n")
            for index in range(_BUCKETS)
        ]
        # Each id once, at its first position: a later copy still meets it in its bucket
        # (the earliest repeat so far, if any, is kept apart).
        seen, self._seen = self._seen, None
        for decision_id, position in sorted(seen.items(), key=lambda item: item[1]):
            self._write(position, decision_id)

    def first_repeat(self) -> Repeat | None:
        """The earliest repeated decision id over everything added (None: none)."""
        found = [self._earliest]
        for handle in self._files:
            handle.close()
        found += [_first_repeat(Path(handle.name), 0) for handle in self._files]
        return min((r for r in found if r is not None), key=lambda r: r.position, default=None)

    def close(self) -> None:
        for handle in self._files:
            handle.close()
        if self._directory is not None:
            self._directory.cleanup()


def _bucket(text: str, depth: int, buckets: int | None = None) -> int:
    # CRC-32 started from ``depth``: each level of splitting spreads the ids differently.
    return zlib.crc32(text.encode("utf-8", "surrogatepass"), depth) % (buckets or _BUCKETS)


_SPLIT = 16  # parts a too-big bucket is split into, per level


def _first_repeat(path: Path, depth: int) -> Repeat | None:
    # The lines of one bucket are in position order (ranges arrive in order).
    size = path.stat().st_size
    if size > MAX_BUCKET_BYTES and depth < 4:
        directory = path.with_name(path.name + ".split")
        directory.mkdir()
        parts = [(directory / f"{i:02d}").open("w", encoding="utf-8") for i in range(_SPLIT)]
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                text = line.rstrip("\n").split("\t", 1)[1]
                parts[_bucket(text, depth + 1, _SPLIT)].write(line)
        for part in parts:
            part.close()
        paths = [Path(part.name) for part in parts]
        if max(p.stat().st_size for p in paths) < size:  # else one id fills it: no use
            path.unlink()
            found = [_first_repeat(p, depth + 1) for p in paths]
            return min((r for r in found if r is not None), key=lambda r: r.position, default=None)
    earliest: Repeat | None = None
    seen: dict[str, int] = {}
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            position_text, text = line.rstrip("\n").split("\t", 1)
            position = int(position_text)
            first = seen.setdefault(text, position)
            if first != position and (earliest is None or position < earliest.position):
                earliest = Repeat(_unquote(text), position, first)
    return earliest


def _unquote(text: str) -> str:
    value = ast.literal_eval(text)
    assert isinstance(value, str)
    return value
