"""Finding a decision id recorded twice, in bounded memory (app.repeats, T9)."""

from __future__ import annotations

from pathlib import Path

import pytest

from trustledger.app import repeats
from trustledger.app.repeats import Repeat, RepeatedDecisions


@pytest.fixture(autouse=True, params=["in memory", "in bucket files"])
def spill(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.param == "in bucket files":
        monkeypatch.setattr(repeats, "IN_MEMORY", 2)  # spills after the third id


def first_repeat(*ranges: tuple[int, list[str | None]]) -> Repeat | None:
    finder = RepeatedDecisions()
    try:
        for first_position, ids in ranges:
            finder.add(first_position, ids)
        return finder.first_repeat()
    finally:
        finder.close()


def test_no_repeat() -> None:
    assert first_repeat((0, ["a", "b", None]), (3, ["c", None, "d"])) is None


def test_the_earliest_copy_is_reported_across_ranges() -> None:
    found = first_repeat((0, ["a", "b", "c"]), (3, ["d", "c", "e"]), (6, ["a", "b"]))
    assert found == Repeat("c", 4, 2)  # "c" at 4 comes before "a" at 6 and "b" at 7


def test_ids_with_any_characters_round_trip() -> None:
    odd = 'tab\tnew\nline "quoted" \\ é \U0001f600'
    assert first_repeat((0, [odd, "x"]), (2, [odd])) == Repeat(odd, 2, 0)


def test_big_buckets_are_split_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(repeats, "IN_MEMORY", 2)
    monkeypatch.setattr(repeats, "_BUCKETS", 4)  # few files: creating them is slow here
    monkeypatch.setattr(repeats, "MAX_BUCKET_BYTES", 4_000)  # every bucket splits, once
    depths: list[int] = []
    check = repeats._first_repeat

    def spy(path: Path, depth: int) -> Repeat | None:
        depths.append(depth)
        return check(path, depth)

    monkeypatch.setattr(repeats, "_first_repeat", spy)
    ids: list[str | None] = [f"id-{i}" for i in range(6_000)]
    assert first_repeat((0, ids)) is None
    found = first_repeat((0, ids), (6_000, ["id-17", "id-5999", "id-3"]))
    assert found == Repeat("id-17", 6_000, 17)
    assert max(depths) == 1
