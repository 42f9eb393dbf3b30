"""The side tables of a store, checked as part of its validity (docs/AUDITOR.md §2, step 4).

Proofs and checkpoints are served from the tables written beside the events, so a store
whose entries verify but whose side tables were changed would hand out proofs that fail
and refuse to sign honest checkpoints. Once every entry verified, and in this order:

1. ``merkle``: every stored Merkle node (level ≥ 1) equals ``SHA-256(0x01 ‖ left ‖ right)``
   of its children (RFC 9162 §2.1.1; level 0 = the verified leaf hashes), every complete
   perfect subtree of the log has its node, and no row is anything else;
2. ``stored-checkpoint``: every checkpoint the log recorded is a checkpoint note whose
   columns match it, no larger than the log, whose root is the log's root at its size,
   signed by a pinned log key when one is given;
3. ``cosignature``: every stored cosignature is a signature line of a recorded checkpoint,
   and one by a pinned witness key verifies (cosignature/v1) over that checkpoint;
4. ``index``: the idempotency index holds exactly one row per shop decision, naming its
   decision id and notification id (key events have none), and no other row.

Steps 1 and 4 run per range, in the worker that verified the range's entries (streaming,
constant memory); what crosses range boundaries, and the tables' row counts, are checked
once the ranges are stitched.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from trustledger.errors import NotFound, VerificationFailed
from trustledger.ledger.chain import StoredEntry
from trustledger.ledger.checkpoint import open_checkpoint, parse_checkpoint
from trustledger.ledger.cosignature import CosignerKey
from trustledger.ledger.merkle import CompactRange, hash_children
from trustledger.ledger.merkle import root_hash as merkle_root
from trustledger.ledger.note import MalformedNote, NoteVerifier, parse_note, parse_signature_line
from trustledger.ledger.verify import Failure, RangeResult
from trustledger.storage.base import Store

_MAX_LEVEL = 62  # 2^62 leaves: no log reaches it, and every shift stays in 64 bits


@dataclass
class RecordingRange(CompactRange):
    """A compact range that also keeps, in completion order, every interior node that the
    leaves appended to it complete (RFC 9162 §2.1.1), for comparison with stored ones."""

    emitted: list[tuple[int, int, bytes]] = field(default_factory=list)

    def append_leaf(self, leaf: bytes, emit: list[tuple[int, int, bytes]] | None = None) -> None:
        self.append_node(0, self.end, leaf, self.emitted if emit is None else emit)

    def plain(self) -> CompactRange:
        """The range without the nodes kept (what is sent back to be stitched)."""
        return CompactRange(self.start, self.end, list(self.nodes))


@dataclass(frozen=True)
class RangeTables:
    """What the side tables hold wrong for one range whose entries verified."""

    merkle: Failure | None = None
    index: Failure | None = None
    decisions: int = 0  # shop decisions in the range: the index rows it accounts for


def noting(entries: Iterable[StoredEntry], notification_ids: list[int]) -> Iterator[StoredEntry]:
    """``entries``, noting each one's notification id as it passes."""
    append = notification_ids.append
    for entry in entries:
        append(entry.notification_id)
        yield entry


def check_range(
    store: Store,
    result: RangeResult,
    tree: RecordingRange,
    notification_ids: Sequence[int],
    key_positions: frozenset[int],
) -> RangeTables:
    """The Merkle nodes completed by a verified range's leaves, and its index rows
    (``key_positions``: the positions of the keyring's events, which have none)."""
    if result.failure is not None or not result.entries:
        return RangeTables()
    merkle = _check_range_nodes(store, tree.start, tree.end, tree.emitted)
    index, decisions = _check_range_index(
        store, tree.start, notification_ids[: result.entries], result.decision_ids, key_positions
    )
    return RangeTables(merkle, index, decisions)


def _node_failure(level: int, index: int, message: str) -> Failure:
    where = f"Merkle node (level {level}, index {index})"
    return Failure("merkle", f"{where} {message}", index << level)


def _check_range_nodes(
    store: Store, start: int, end: int, computed: Sequence[tuple[int, int, bytes]]
) -> Failure | None:
    # Nodes completed by leaves [start, end): those inside the range were computed from
    # the verified leaves; those that begin before ``start`` (at most one per level) are
    # checked against their stored children, themselves checked by the range completing
    # them: by induction on the level, every node is the hash of its verified leaves.
    spanning = [
        (level, start >> level, None)
        for level in range(1, _MAX_LEVEL + 1)
        if start & ((1 << level) - 1) and ((start >> level) + 1) << level <= end
    ]
    stored = store.merkle_nodes_completed(start, end)
    try:
        inside = [node for node in stored if node[1] << node[0] >= start]
        across = [node for node in stored if node[1] << node[0] < start]
    except TypeError:  # a row whose level or index is not an integer
        inside = across = []
    if inside != computed or [node[:2] for node in across] != [node[:2] for node in spanning]:
        return _first_node_failure(stored, computed, spanning, end)
    for level, index, digest in across:
        try:
            left, right = store.merkle_nodes([(level - 1, 2 * index), (level - 1, 2 * index + 1)])
        except NotFound as exc:
            return _node_failure(level, index, f"has a child that is not stored: {exc}")
        calculated = hash_children(left, right)  # RFC 9162 §2.1.1
        if calculated != digest:
            return _node_failure(
                level, index, f"is {digest.hex()}, calculated {calculated.hex()} from its children"
            )
    return None


def _first_node_failure(
    stored: Sequence[tuple[int, int, bytes]],
    computed: Sequence[tuple[int, int, bytes]],
    spanning: Sequence[tuple[int, int, None]],
    end: int,
) -> Failure:
    # Where the stored rows first differ from the nodes expected, in completion order.
    expected = sorted([*computed, *spanning], key=lambda n: (((n[1] + 1) << n[0]), n[0]))
    for offset in range(max(len(stored), len(expected))):
        want = expected[offset] if offset < len(expected) else None
        have = stored[offset] if offset < len(stored) else None
        if have is not None and not (isinstance(have[0], int) and isinstance(have[1], int)):
            return Failure("merkle", f"Merkle table row {have[:2]!r} is not a node")
        if have is None or (want is not None and (want[0], want[1]) != (have[0], have[1])):
            assert want is not None or have is not None
            if have is None or (
                want is not None
                and ((want[1] + 1) << want[0], want[0]) < ((have[1] + 1) << have[0], have[0])
            ):
                assert want is not None
                return _node_failure(
                    want[0], want[1], f"is not stored: the tree of {end} leaves has it"
                )
            twice = offset > 0 and (stored[offset - 1][0], stored[offset - 1][1]) == have[:2]
            return _node_failure(
                have[0], have[1], "is stored twice" if twice else "is not a node of the tree"
            )
        if want is None:
            return _node_failure(have[0], have[1], "is not a node of the tree")
        if want[2] is not None and want[2] != have[2]:
            return _node_failure(
                have[0], have[1], f"is {have[2].hex()}, calculated {want[2].hex()} from its leaves"
            )
    raise AssertionError("stored Merkle nodes differ from the expected ones, found nowhere")


def _check_range_index(
    store: Store,
    first_position: int,
    notification_ids: Sequence[int],
    decision_ids: Sequence[str | None],
    key_positions: frozenset[int],
) -> tuple[Failure | None, int]:
    last = first_position + len(notification_ids)
    keys = sorted(p - first_position for p in key_positions if first_position <= p < last)
    decisions = len(notification_ids) - len(keys)
    expected = dict(zip(decision_ids, notification_ids, strict=True))
    for offset in keys:
        expected.pop(decision_ids[offset], None)
    if notification_ids:
        # The rows of the range's notification ids, read in one sequential scan where the
        # store can (SQLite: the table is kept in notification order); anything else is
        # looked up by decision id below, which also says what is wrong.
        between = store.decision_rows_between(notification_ids[0] - 1, notification_ids[-1])
        if (
            between is not None
            and len(between) == decisions == len(expected) == len(found_between := dict(between))
            and found_between == expected
        ):
            return None, decisions
    found = store.decision_rows([d for d in decision_ids if d is not None])
    if len(found) == decisions == len(expected) and dict(found) == expected:
        return None, decisions  # one row per decision, naming it; none for a key event
    rows: dict[str, list[int]] = {}
    for row_id, row_notification in found:
        rows.setdefault(row_id, []).append(row_notification)
    failure: Failure | None = None
    for offset, (notification_id, decision_id) in enumerate(
        zip(notification_ids, decision_ids, strict=True)
    ):
        found_here = rows.get(decision_id, []) if decision_id is not None else []
        problem: str | None = None
        if first_position + offset in key_positions:
            if found_here:
                problem = (
                    f"key event has an index row (notification {found_here[0]}); they have none"
                )
        elif decision_id is None:
            problem = "decision has no decision id for the index to hold"
        elif not found_here:
            problem = "decision has no idempotency-index row"
        elif len(found_here) > 1:
            problem = f"decision has {len(found_here)} idempotency-index rows"
        elif found_here[0] != notification_id:
            problem = f"the index row of the decision names notification {found_here[0]}"
        if problem is not None and failure is None:
            failure = Failure(
                "index", problem, first_position + offset, notification_id, decision_id
            )
    return failure, decisions


def check_tables(
    store: Store,
    ranges: Sequence[RangeTables],
    *,
    size: int,
    up_to: int,
    checkpoints_up_to: int,
    log_keys: Sequence[NoteVerifier],
    witnesses: Sequence[CosignerKey],
) -> Failure | None:
    """The side tables of a store whose ``size`` entries, with notification ids up to
    ``up_to``, verified in ``ranges`` (in order); checkpoints recorded after the one with
    id ``checkpoints_up_to`` (signed while verifying) are not checked. Returns the first
    failure, in the order of the module docstring."""
    merkle = next((r.merkle for r in ranges if r.merkle is not None), None)
    if merkle is None:
        merkle = _check_node_counts(store, size)
    if merkle is not None:
        return merkle
    failure = _check_checkpoints(
        store, size=size, up_to=checkpoints_up_to, log_keys=log_keys, witnesses=witnesses
    )
    if failure is not None:
        return failure
    index = next((r.index for r in ranges if r.index is not None), None)
    if index is not None:
        return index
    within, beyond = store.decision_row_counts(up_to)
    decisions = sum(r.decisions for r in ranges)
    if beyond or within != decisions:
        return Failure(
            "index",
            f"the idempotency index has {within + beyond} rows for the log's {decisions} "
            "decisions: rows for nothing",
        )
    return None


def _check_node_counts(store: Store, size: int) -> Failure | None:
    within, beyond = store.merkle_node_counts(size)
    expected = size - size.bit_count()  # Σ floor(size / 2^level) over levels ≥ 1
    if beyond or within != expected:
        return Failure(
            "merkle",
            f"the Merkle table has {within + beyond} rows; the tree of {size} leaves has "
            f"{expected} nodes above its leaves",
        )
    return None


def _check_checkpoints(
    store: Store,
    *,
    size: int,
    up_to: int,
    log_keys: Sequence[NoteVerifier],
    witnesses: Sequence[CosignerKey],
) -> Failure | None:
    texts: dict[int, str | None] = {}
    for stored in store.checkpoints():
        if stored.id > up_to:
            texts[stored.id] = None  # signed while verifying: the log may have grown
            continue
        where = f"stored checkpoint {stored.id}"
        try:
            note = parse_note(stored.note)
            checkpoint = parse_checkpoint(note.text)
        except MalformedNote as exc:
            return Failure("stored-checkpoint", f"{where} is not a checkpoint: {exc}")
        if (checkpoint.size, checkpoint.root_hash) != (stored.size, stored.root_hash):
            return Failure(
                "stored-checkpoint",
                f"{where}: its size and root_hash columns ({stored.size}, "
                f"{stored.root_hash.hex()}) differ from its note's ({checkpoint.size}, "
                f"{checkpoint.root_hash.hex()})",
            )
        if checkpoint.size > size:
            return Failure(
                "stored-checkpoint",
                f"{where} signs {checkpoint.size} entries but the log has only {size}",
            )
        root = merkle_root(checkpoint.size, store.merkle_nodes)  # nodes verified above
        if root != checkpoint.root_hash:
            return Failure(
                "stored-checkpoint",
                f"{where} signs root {checkpoint.root_hash.hex()} at size {checkpoint.size}; "
                f"the log's root there is {root.hex()}",
            )
        if log_keys:
            try:
                open_checkpoint(stored.note, log_keys=log_keys)
            except VerificationFailed as exc:
                return Failure("stored-checkpoint", f"{where}: {exc}")
        texts[stored.id] = note.text
    return _check_cosignatures(store, texts, witnesses)


def _check_cosignatures(
    store: Store, texts: dict[int, str | None], witnesses: Sequence[CosignerKey]
) -> Failure | None:
    pinned = {(w.name, w.key_id): w for w in witnesses}
    for checkpoint_id, line in store.all_cosignatures():
        if checkpoint_id not in texts:
            return Failure(
                "cosignature", f"a cosignature of checkpoint {checkpoint_id}, which is not stored"
            )
        text = texts[checkpoint_id]
        if text is None:
            continue
        try:
            if not isinstance(line, str):
                raise MalformedNote(f"not a signature line: {line!r:.60}")
            signature = parse_signature_line(line)
        except MalformedNote as exc:
            return Failure("cosignature", f"cosignature of checkpoint {checkpoint_id}: {exc}")
        witness = pinned.get((signature.name, signature.key_id))
        if witness is not None and not witness.is_valid_signature(
            signature.signature, text.encode("utf-8")
        ):
            return Failure(
                "cosignature",
                f"the cosignature of checkpoint {checkpoint_id} by witness "
                f"{witness.name}+{witness.key_id} does not verify",
            )
    return None
