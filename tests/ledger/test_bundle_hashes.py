"""Hash-only checking of bundle entry lines (docs/FORMAT.md §6, §9, §13), on plain bytes:
the same leaves, chain and Merkle root as the entries themselves, however the lines are
split into runs, and any single-byte mutation of what the hashes cover is detected."""

from __future__ import annotations

import base64
import binascii
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trustledger.ledger.bundle import (
    LineChain,
    MalformedBundle,
    compact_range_of,
    format_entry_line,
    hash_entry_lines,
    parse_entry_line,
)
from trustledger.ledger.chain import (
    GENESIS_CHAIN_HASH,
    StoredEntry,
    encode_entry,
    leaf_hash,
    next_chain_hash,
)
from trustledger.ledger.merkle import EMPTY_ROOT, CompactRange
from trustledger.ledger.verify import Failure


def _entries(n: int) -> list[StoredEntry]:
    chain = GENESIS_CHAIN_HASH
    entries = []
    for i in range(n):
        originator = UUID(int=i % 3 + 1)
        state = f'{{"payload":"decision {i}","pad":"{"x" * (i % 5)}"}}'.encode()
        topic = "trustledger:shop.registered"
        chain = next_chain_hash(chain, leaf_hash(encode_entry(originator, i + 1, topic, state)))
        entries.append(StoredEntry(10 + 2 * i, originator, i + 1, topic, state, i, chain))
    return entries


def _leaves(entries: list[StoredEntry]) -> list[bytes]:
    return [
        leaf_hash(encode_entry(e.originator_id, e.originator_version, e.topic, e.state))
        for e in entries
    ]


def _rows(entries: list[StoredEntry]) -> list[bytes]:
    return [format_entry_line(entry)[:-1] for entry in entries]


def _run(rows: list[bytes], cuts: list[int]) -> tuple[LineChain, Failure | None]:
    chain = LineChain(sizes=range(len(rows) + 1))
    for start, end in zip([0, *cuts], [*cuts, len(rows)], strict=True):
        failure = chain.add(hash_entry_lines(rows[start:end]))
        if failure is not None:
            return chain, failure
    return chain, None


@pytest.mark.parametrize("cuts", [[], [1], [5], [1, 2, 3, 4, 5, 6], [3, 3, 8], [16]])
def test_runs_give_the_entries_chain_and_every_root(cuts: list[int]) -> None:
    entries = _entries(17)
    chain, failure = _run(_rows(entries), cuts)
    assert failure is None
    assert chain.entries == 17
    assert chain.chain_hash == entries[-1].chain_hash
    leaves = _leaves(entries)
    tree = CompactRange()
    for leaf in leaves:
        tree.append_leaf(leaf)
    assert chain.tree.root() == tree.root()
    assert chain.roots[0] == EMPTY_ROOT
    for size in range(1, 18):
        assert chain.roots[size] == compact_range_of(0, leaves[:size]).root()


def test_compact_range_matches_appending_leaf_by_leaf() -> None:
    leaves = _leaves(_entries(40))
    for start in range(0, 40, 3):
        for end in range(start, 41, 5):
            expected = CompactRange(start, start)
            for leaf in leaves[start:end]:
                expected.append_leaf(leaf)
            assert compact_range_of(start, leaves[start:end]) == expected


def _same_entry(original: bytes, mutated: bytes) -> bool:
    # A mutation that still decodes to the same entry and chain hash (for example the
    # unused low bits of a base64 character before the padding) changes nothing hashed.
    try:
        a, b = parse_entry_line(original, 0), parse_entry_line(mutated, 0)
    except MalformedBundle:
        return False
    return (a.originator_id, a.originator_version, a.topic, a.state, a.chain_hash) == (
        b.originator_id, b.originator_version, b.topic, b.state, b.chain_hash,
    )  # fmt: skip


@pytest.mark.parametrize("line", [0, 3, 6])
def test_any_single_byte_mutation_of_a_hashed_field_is_detected(line: int) -> None:
    rows = _rows(_entries(7))
    row = rows[line]
    first_hashed = row.index(b"\t") + 1  # the notification id is not hashed
    undetected = []
    for index in range(first_hashed, len(row)):
        for flip in (0x01, 0x20):
            mutated = row[:index] + bytes([row[index] ^ flip]) + row[index + 1 :]
            if _same_entry(row, mutated):
                continue
            _, failure = _run([*rows[:line], mutated, *rows[line + 1 :]], [2, 5])
            if failure is None:
                undetected.append((index, flip))
    assert undetected == []


def test_failure_names_the_position_and_what() -> None:
    entries = _entries(9)
    rows = _rows(entries)
    fields = rows[6].split(b"\t", 5)
    state = bytearray(fields[5])  # the stored bytes, verbatim
    state[3] ^= 1
    fields[5] = bytes(state)
    rows[6] = b"\t".join(fields)
    _, failure = _run(rows, [4])
    assert failure is not None
    assert (failure.check, failure.position, failure.notification_id) == ("chain", 6, 22)
    stored = entries[6].chain_hash
    assert stored is not None
    assert failure.message.startswith(f"chain hash mismatch: stored {stored.hex()}")

    rows = _rows(entries)
    rows[2] = rows[2].replace(b"\t", b" ", 1)  # (the state holds no TAB)
    _, failure = _run(rows, [1])
    assert failure is not None
    assert (failure.check, failure.position) == ("bundle", 2)
    assert failure.message.startswith("bundle entry line is malformed: not six TAB-separated")


def test_the_first_line_of_a_run_is_linked_to_the_run_before() -> None:
    entries = _entries(6)
    rows = _rows(entries)
    # Swapping two runs keeps each run's own links; only the link between runs breaks.
    _, failure = _run(rows[3:] + rows[:3], [3])
    assert failure is not None and (failure.check, failure.position) == ("chain", 0)
    _, failure = _run(rows[:3] + rows[4:], [3])  # a line deleted at a run boundary
    assert failure is not None and (failure.check, failure.position) == ("chain", 3)


def test_notification_ids_must_increase() -> None:
    rows = _rows(_entries(4))
    rows[2] = b"12" + rows[2][rows[2].index(b"\t") :]  # same as the line before
    _, failure = _run(rows, [])
    assert failure is not None
    assert (failure.check, failure.position) == ("sequence", 2)


def test_malformed_hex_and_base64_are_reported() -> None:
    rows = _rows(_entries(2))
    bad_state = rows[1].split(b"\t", 5)
    bad_state[5] = b"~" + base64.b64encode(bad_state[5])[:-1] + b"!"  # an escaped state
    result = hash_entry_lines([rows[0], b"\t".join(bad_state)])
    assert result.count == 1 and result.failure is not None
    assert result.failure.check == "bundle" and result.failure.position == 1
    with pytest.raises(binascii.Error):
        base64.b64decode(bad_state[5][1:], validate=True)
    bad_chain = rows[1].split(b"\t", 5)
    bad_chain[4] = bad_chain[4][:-1] + b"g"
    result = hash_entry_lines([rows[0], b"\t".join(bad_chain)])
    assert result.count == 1 and result.failure is not None
    assert (result.failure.check, result.failure.position) == ("bundle", 1)


def _entry(
    state: bytes, version: int = 1, topic: str = "trustledger:shop.registered"
) -> StoredEntry:
    originator = UUID(int=7)
    leaf = leaf_hash(encode_entry(originator, version, topic, state))
    return StoredEntry(
        5, originator, version, topic, state, 0, next_chain_hash(GENESIS_CHAIN_HASH, leaf)
    )


@given(state=st.binary(max_size=300), version=st.integers(1, 2**64 - 1))
def test_any_stored_state_round_trips(state: bytes, version: int) -> None:
    entry = _entry(state, version)
    line = format_entry_line(entry)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert parse_entry_line(line, 0) == entry
    assert parse_entry_line(line[:-1], 0) == entry
    result = hash_entry_lines([line[:-1]])
    assert result.failure is None and result.first_chain_hash == entry.chain_hash
    assert result.leaves == leaf_hash(
        encode_entry(entry.originator_id, version, entry.topic, state)
    )


@pytest.mark.parametrize(
    ("state", "written"),
    [
        (b'{"a":"b\tc"}', b'{"a":"b\tc"}'),  # TABs stay verbatim: the state is the last field
        (b"\t\t", b"\t\t"),
        (b"", b""),
        (b'{"a":\n1}', b"~" + base64.b64encode(b'{"a":\n1}')),
        (b"~{}", b"~" + base64.b64encode(b"~{}")),
        (b"~", b"~fg=="),
    ],
)
def test_states_are_verbatim_unless_they_hold_a_newline_or_start_with_a_tilde(
    state: bytes, written: bytes
) -> None:
    entry = _entry(state)
    assert entry.chain_hash is not None
    line = format_entry_line(entry)
    assert line == b"5\t%s\t1\ttrustledger:shop.registered\t%s\t%s\n" % (
        entry.originator_id.hex.encode(), entry.chain_hash.hex().encode(), written,
    )  # fmt: skip
    assert parse_entry_line(line, 0) == entry


@pytest.mark.parametrize("cuts", [[], [2], [1, 3]])
def test_escaped_and_tabbed_states_hash_as_their_stored_bytes(cuts: list[int]) -> None:
    states = [b'{"a":1}', b"a\tb\tc", b"x\ny", b"~z", b"\t", b'{"b":2}']
    chain, entries = GENESIS_CHAIN_HASH, []
    for i, state in enumerate(states):
        originator, topic = UUID(int=i + 1), "t"
        chain = next_chain_hash(chain, leaf_hash(encode_entry(originator, 1, topic, state)))
        entries.append(StoredEntry(i + 1, originator, 1, topic, state, i, chain))
    line_chain, failure = _run(_rows(entries), cuts)
    assert failure is None and line_chain.chain_hash == chain
    assert line_chain.tree.root() == compact_range_of(0, _leaves(entries)).root()
