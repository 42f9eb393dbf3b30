"""Verifying a whole ledger in a store: keyring first, then every entry, in parallel.

The entries are split into ranges of notification ids; each range is verified by a worker
process that opens the store itself (nothing but range bounds crosses the process
boundary on the way in), so memory stays constant however long the log is. The ranges are
then stitched in order: each must start at the position after the previous one ended and
chain onto the chain hash the previous one ended with, which makes the parallel check
exactly as strong as a sequential walk (docs/AUDITOR.md).
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing.context import BaseContext

from trustledger.app.policy import TrustPolicy
from trustledger.app.repeats import RepeatedDecisions
from trustledger.app.sidetables import (
    RangeTables,
    RecordingRange,
    check_range,
    check_tables,
    noting,
)
from trustledger.errors import NotFound, VerificationFailed
from trustledger.ledger.chain import (
    GENESIS_CHAIN_HASH,
    MalformedEntry,
)
from trustledger.ledger.merkle import CompactRange
from trustledger.ledger.verify import (
    Failure,
    Keyring,
    LedgerNotIntact,
    RangeResult,
    build_keyring,
    verify_entries,
)
from trustledger.storage import open_store

Progress = Callable[[int], None]


@dataclass(frozen=True)
class VerifyReport:
    """What verification checked, and the first failure if there was one."""

    url: str
    entries: int
    key_events: int
    decider_keys: int
    redacted: int
    root_key: str | None
    head_chain_hash: str | None
    workers: int
    failure: Failure | None
    root_hash: str | None = None  # RFC 9162 root recomputed from the entries
    checkpoints: int = 0  # held checkpoints the log was shown to extend
    # Checks a store verify did not make for want of what the auditor gave (a held
    # checkpoint, a log key, a witness quorum), each saying what passes unseen without it.
    not_checked: tuple[str, ...] = ()

    @property
    def intact(self) -> bool:
        return self.failure is None


Verified = tuple[RangeResult, CompactRange, RangeTables]


def _verify_range(
    url: str, after: int, up_to: int, keyring: Keyring, erased: frozenset[str]
) -> Verified:
    """Worker: verify the entries with notification id in (after, up_to]; also returns the
    compact Merkle range of their leaves, for the root, and what the side tables hold wrong
    for them (app.sidetables), reported only once every entry verified."""
    store = open_store(url, read_only=True)
    try:
        before = store.entry_before(after + 1)
        if before is None or before.position is None or before.chain_hash is None:
            previous = (GENESIS_CHAIN_HASH, -1, 0)
        else:
            previous = (before.chain_hash, before.position, before.notification_id)
        tree = RecordingRange(previous[1] + 1, previous[1] + 1)
        noted: list[int] = []
        result = verify_entries(
            noting(store.iter_entries(after=after, up_to=up_to), noted),
            keyring=keyring,
            previous_chain_hash=previous[0],
            previous_position=previous[1],
            previous_notification_id=previous[2],
            erased_subjects=erased,
            tree=tree,
        )
        tables = check_range(store, result, tree, noted, keyring.key_event_positions)
        return result, tree.plain(), tables
    finally:
        store.close()


def process_context() -> BaseContext:
    # fork is cheap (the workers inherit the imported modules; a spawned worker re-imports
    # trustledger, which takes about a second) but safe only while this process has no
    # other thread; ProcessPoolExecutor forks every worker before starting its own thread.
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


def check_store(
    url: str,
    *,
    policy: TrustPolicy,
    workers: int | None = None,
    progress: Progress | None = None,
    range_size: int = 20_000,
    checkpoints: Sequence[tuple[str, bytes]] = (),
) -> VerifyReport:
    """The steps of ``trustledger.app.verifier`` over the ledger at ``url``: the key
    history, every entry, the side tables, and the checkpoints held (each signed by a
    pinned log key, cosigned by the policy's quorum, of its origin, and extended by the
    verified log: T5 T6 T7, check ``checkpoint``).

    Returns the report, ``failure`` set when the ledger is not intact (the public
    ``verifier.verify_store`` raises instead). Raises UsageError without a pinned root,
    NotFound when there is no ledger, StorageUnavailable when the store cannot be read.
    """
    trusted_keys = policy.require_roots()
    store = open_store(url, read_only=True)
    try:
        if not store.exists():
            raise NotFound(f"no ledger at {url}")
        # Read first: every checkpoint recorded by then is of a log no longer than `head`.
        latest_checkpoint = store.latest_checkpoint()
        try:
            key_entries = store.key_entries()
        except MalformedEntry as exc:
            malformed = Failure("chain", str(exc), None, exc.notification_id)
            return VerifyReport(url, 0, 0, 0, 0, None, None, 1, malformed)
        erased = store.erased_subjects()
        low, high = store.notification_bounds()
        head = store.chain_head()
    finally:
        store.close()

    def report(
        entries: int,
        redacted: int,
        failure: Failure | None,
        keyring: Keyring | None,
        head_hash: bytes | None,
        used: int,
    ) -> VerifyReport:
        from trustledger.ledger.keys import format_verifier_key

        return VerifyReport(
            url,
            entries,
            len(key_entries),
            len(keyring.deciders) if keyring else 0,
            redacted,
            format_verifier_key(keyring.root) if keyring else None,
            head_hash.hex() if head_hash else None,
            used,
            failure,
        )

    try:
        keyring = build_keyring(key_entries, trusted_roots=trusted_keys)
    except LedgerNotIntact as exc:
        return report(0, 0, exc.failure, None, None, 1)

    used = workers or default_workers()
    if high - low < range_size:
        used = 1
    size = range_size
    if used > 1:
        # At least 8 ranges per worker when the log is long enough (down to 1,000 ids), so
        # that the last ranges leave no worker idle for long: 100k entries in ranges of 20k
        # on 2 workers kept one of them idle for a fifth of the run.
        size = min(range_size, max(1_000, -(-(high - low + 1) // (used * 8))))
    ranges = [(start, min(start + size, high)) for start in range(low - 1, high, size)]
    tables: list[RangeTables] = []
    if used == 1:
        results = (_verify_range(url, a, b, keyring, erased) for a, b in ranges)
        outcome = stitch_ranges(_tables_apart(results, tables), progress)
    else:
        context = process_context()
        with ProcessPoolExecutor(max_workers=used, mp_context=context) as pool:
            outcome = stitch_ranges(
                _tables_apart(_bounded_map(pool, ranges, keyring, erased, url, used * 2), tables),
                progress,
            )
    entries, redacted, failure, last_position, last_chain, tree = outcome
    if failure is None and head is not None and head.size != last_position + 1:
        failure = Failure(
            "sequence",
            f"the chain has {head.size} rows but only {last_position + 1} chained events: "
            "events were removed from the end",
            head.size - 1,
            head.notification_id,
        )
    # A log key is never a ledger key (transparency.create_checkpoint).
    log_keys = [
        key for key in policy.log_keys if key != keyring.root and key.key_id not in keyring.deciders
    ]
    if failure is None:
        # The side tables, once every entry verified: a Merkle node is reported before
        # what a held checkpoint would make of it (history rewritten).
        store = open_store(url, read_only=True)
        try:
            failure = check_tables(
                store,
                tables,
                size=tree.end,
                up_to=high,
                checkpoints_up_to=latest_checkpoint.id if latest_checkpoint else 0,
                log_keys=log_keys,
                witnesses=policy.witness_keys,
            )  # fmt: skip
        finally:
            store.close()
    root = tree.root() if failure is None else None
    if failure is None and checkpoints:
        from trustledger.app.transparency import check_extends, open_held_checkpoints

        store = open_store(url, read_only=True)
        try:
            held = open_held_checkpoints(
                checkpoints,
                log_keys=policy.log_keys,
                witnesses=policy.witness_keys,
                quorum=policy.quorum,
                origin=policy.origin,
            )
            assert root is not None
            check_extends(held, size=tree.end, root=root, read_nodes=store.merkle_nodes)
        except VerificationFailed as exc:
            failure = Failure("checkpoint", str(exc))
        finally:
            store.close()
    # A failed walk has no verified head: report none rather than the last hash it reached.
    base = report(
        entries, redacted, failure, keyring, last_chain if failure is None else None, used
    )
    return dataclasses.replace(
        base,
        root_hash=root.hex() if root is not None and failure is None else None,
        checkpoints=len(checkpoints) if failure is None else 0,
        not_checked=_not_checked(
            held=bool(checkpoints), log_keys=bool(log_keys), quorum=policy.quorum,
            stored_checkpoint=latest_checkpoint is not None,
        ) if failure is None else (),
    )  # fmt: skip


def _not_checked(
    *, held: bool, log_keys: bool, quorum: int, stored_checkpoint: bool
) -> tuple[str, ...]:
    """What a store verify could not check with what it was given (docs/AUDITOR.md §4)."""
    missing = []
    if not held:
        missing.append(
            "no checkpoint held: a log cut short or rewritten since an earlier audit would "
            "pass (give --checkpoint FILE, a checkpoint you kept)"
        )
    if not stored_checkpoint:
        missing.append(
            "the store holds no checkpoint: no log signature over its size and root was "
            "checked (the operator runs `trustledger checkpoint`)"
        )
    elif not log_keys:
        missing.append(
            "no log key: the signatures of the store's checkpoints were not checked "
            "(give --log-key LOG.pub)"
        )
    if quorum == 0:
        missing.append(
            "no witness quorum: no checkpoint was checked for witness cosignatures, so a "
            "split view would pass (give --witness-key W.pub --quorum N)"
        )
    return tuple(missing)


def _tables_apart(
    results: Iterable[Verified], tables: list[RangeTables]
) -> Iterator[tuple[RangeResult, CompactRange]]:
    # The side tables' findings are kept aside, in range order, for after the stitch.
    for result, part, found in results:
        tables.append(found)
        yield result, part


def _bounded_map(
    pool: ProcessPoolExecutor,
    ranges: list[tuple[int, int]],
    keyring: Keyring,
    erased: frozenset[str],
    url: str,
    window: int,
) -> Iterator[Verified]:
    # At most `window` ranges in flight: results are consumed in order, memory stays flat.
    pending: deque[Future[Verified]] = deque()
    queue = iter(ranges)
    for after, up_to in queue:
        pending.append(pool.submit(_verify_range, url, after, up_to, keyring, erased))
        if len(pending) >= window:
            break
    while pending:
        result = pending.popleft().result()
        for after, up_to in queue:
            pending.append(pool.submit(_verify_range, url, after, up_to, keyring, erased))
            break
        yield result
        if result[0].failure is not None:
            for future in pending:
                future.cancel()
            return


def stitch_ranges(
    results: Iterable[tuple[RangeResult, CompactRange]],
    progress: Progress | None,
    *,
    start: int = 0,
) -> tuple[int, int, Failure | None, int, bytes | None, CompactRange]:
    """Join consecutive range results in order (a store's ranges or a bundle's): each
    range must start at the next position and chain onto the last hash so far; and no
    decision id may occur twice in the log (``app.repeats``, T9).

    Returns (entries, redacted, first failure or None, last position, last chain hash or
    None for an empty log, the Merkle tree of the ranges joined so far).
    """
    repeats = RepeatedDecisions()
    try:
        entries, redacted, failure, last_position, last_chain, tree = _stitch(
            results, progress, repeats, start
        )
        repeat = repeats.first_repeat()
    finally:
        repeats.close()
    # Every id collected lies before the walk's own failure, if any: a repeat comes first.
    if repeat is not None:
        failure = Failure(
            "replay",
            f"decision {repeat.decision_id} is recorded again: first at position "
            f"{repeat.first_position} (a signed decision copied, not appended)",
            repeat.position,
            None,
            repeat.decision_id,
        )
        return repeat.position, redacted, failure, last_position, last_chain, tree
    return entries, redacted, failure, last_position, last_chain, tree


def _stitch(
    results: Iterable[tuple[RangeResult, CompactRange]],
    progress: Progress | None,
    repeats: RepeatedDecisions,
    start: int = 0,
) -> tuple[int, int, Failure | None, int, bytes | None, CompactRange]:
    entries = redacted = 0
    last_position = start - 1
    last_chain: bytes | None = GENESIS_CHAIN_HASH
    tree = CompactRange(start, start)
    for result, part in results:
        if result.entries and (
            result.first_position != last_position + 1 or result.previous_chain_hash != last_chain
        ):
            failure = Failure(
                "chain",
                f"entry does not chain onto position {last_position}"
                if result.first_position == last_position + 1
                else f"expected position {last_position + 1}, found {result.first_position}",
                result.first_position,
            )
            return entries, redacted, failure, last_position, last_chain, tree
        entries += result.entries
        redacted += result.redacted
        if result.entries:
            assert result.first_position is not None
            repeats.add(result.first_position, result.decision_ids)
        if progress is not None:
            progress(result.entries)
        if result.failure is not None:
            return entries, redacted, result.failure, last_position, last_chain, tree
        tree.extend(part)
        if result.entries:
            assert result.last_position is not None
            last_position = result.last_position
            last_chain = result.last_chain_hash
    return entries, redacted, None, last_position, last_chain if entries else None, tree
