"""Export a ledger to an offline bundle, and verify a bundle with no database.

Verification is that of a store (docs/AUDITOR.md §2) plus the Merkle root against the
signed checkpoint and the witnesses' quorum. The entry lines are split into byte ranges,
each verified by a worker process from the chain hash of the line before it; the ranges
are stitched exactly like a store's (trustledger.app.verification).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from trustledger.app.transparency import (
    HeldCheckpoint,
    latest_checkpoint,
    note_with_cosignatures,
    open_held_checkpoints,
)
from trustledger.app.verification import (
    Progress,
    VerifyReport,
    _stitch,
    _with_leaves,
    default_workers,
)
from trustledger.domain.identity import KEYRING_ID
from trustledger.errors import UsageError, VerificationFailed
from trustledger.ledger.bundle import (
    BundleHeader,
    MalformedBundle,
    format_entry_line,
    format_header,
    parse_entry_line,
    parse_header,
)
from trustledger.ledger.chain import GENESIS_CHAIN_HASH, StoredEntry
from trustledger.ledger.checkpoint import parse_checkpoint
from trustledger.ledger.cosignature import CosignerKey
from trustledger.ledger.keys import VerifierKey, format_verifier_key
from trustledger.ledger.merkle import CompactRange
from trustledger.ledger.note import parse_note
from trustledger.ledger.verify import (
    Failure,
    Keyring,
    LedgerNotIntact,
    RangeResult,
    build_keyring,
    verify_entries,
)
from trustledger.storage import open_store


def export_bundle(url: str, out: Path) -> tuple[int, bytes]:
    """Write the ledger at ``url`` up to its latest checkpoint into ``out``.

    Returns (entries, checkpoint note). Raises NotFound when there is no checkpoint.
    """
    store = open_store(url, read_only=True)
    try:
        stored = latest_checkpoint(store)
        checkpoint = note_with_cosignatures(store, stored)
        size = parse_checkpoint(parse_note(stored.note).text).size
        erased = store.erased_subjects()
        tmp = out.with_name(out.name + ".partial")
        written = 0
        head: bytes | None = None
        with tmp.open("wb") as handle:
            body = bytearray()
            for entry in store.iter_entries():
                if written == size:
                    break
                body += format_entry_line(entry)
                head = entry.chain_hash
                written += 1
                if len(body) > 1 << 20:
                    handle.write(body)
                    body.clear()
            handle.write(body)
        if written != size:
            raise VerificationFailed(
                f"the checkpoint signs {size} entries, the store has {written}"
            )
        with out.open("wb") as final, tmp.open("rb") as entries:
            final.write(format_header(BundleHeader(size, checkpoint, head, erased)))
            while chunk := entries.read(1 << 20):
                final.write(chunk)
        tmp.unlink()
        return size, checkpoint
    finally:
        store.close()


@dataclass(frozen=True)
class _Range:
    start: int  # byte offset of the first line
    end: int  # byte offset after the last line
    first_position: int
    previous_chain_hash: bytes


def _scan(path: Path, lines_per_range: int) -> tuple[BundleHeader, list[StoredEntry], list[_Range]]:
    """One pass: the header, the keyring's entries, and line-aligned byte ranges."""
    keyring_hex = KEYRING_ID.hex.encode()
    keys: list[StoredEntry] = []
    ranges: list[_Range] = []
    with path.open("rb") as handle:
        header = parse_header(handle.readline(), handle.readline())
        offset = handle.tell()
        start, first, previous = offset, 0, GENESIS_CHAIN_HASH
        position = 0
        for line in handle:
            if line[line.index(b"\t") + 1 :].startswith(keyring_hex):
                keys.append(parse_entry_line(line, position))
            position += 1
            offset += len(line)
            if position % lines_per_range == 0:
                ranges.append(_Range(start, offset, first, previous))
                chain = line.rstrip(b"\n").rsplit(b"\t", 1)[-1]
                start, first, previous = offset, position, bytes.fromhex(chain.decode())
        if offset > start:
            ranges.append(_Range(start, offset, first, previous))
    if position != header.entries:
        raise MalformedBundle(f"the header announces {header.entries} entries, found {position}")
    return header, keys, ranges


def _entries(path: Path, span: _Range) -> Iterator[StoredEntry]:
    with path.open("rb") as handle:
        handle.seek(span.start)
        position = span.first_position
        remaining = span.end - span.start
        while remaining > 0:
            line = handle.readline()
            remaining -= len(line)
            yield parse_entry_line(line, position)
            position += 1


def _snapshots(
    entries: Iterator[StoredEntry],
    tree: CompactRange,
    sizes: frozenset[int],
    taken: dict[int, CompactRange],
) -> Iterator[StoredEntry]:
    # The tree as it was at each size an auditor holds a checkpoint of.
    for entry in _with_leaves(entries, tree):
        if tree.end in sizes:
            taken[tree.end] = CompactRange(tree.start, tree.end, list(tree.nodes))
        yield entry


def _verify_span(
    path: Path,
    span: _Range,
    keyring: Keyring,
    erased: frozenset[str],
    sizes: frozenset[int] = frozenset(),
) -> tuple[RangeResult, CompactRange, dict[int, CompactRange]]:
    tree = CompactRange(span.first_position, span.first_position)
    taken: dict[int, CompactRange] = {}
    try:
        result = verify_entries(
            _snapshots(_entries(path, span), tree, sizes, taken),
            keyring=keyring,
            previous_chain_hash=span.previous_chain_hash,
            previous_position=span.first_position - 1,
            erased_subjects=erased,
        )
    except MalformedBundle as exc:
        failure = Failure("bundle", str(exc))
        result = RangeResult(0, None, None, None, None, None, 0, failure)
    return result, tree, taken


def verify_bundle(
    path: Path,
    *,
    trusted_keys: Sequence[VerifierKey],
    witnesses: Sequence[CosignerKey] = (),
    quorum: int = 0,
    checkpoints: Sequence[tuple[str, bytes]] = (),
    workers: int | None = None,
    progress: Progress | None = None,
    lines_per_range: int = 16_384,
) -> VerifyReport:
    """Verify a bundle offline: the checkpoint (log signature, witness quorum), every entry
    (chain, signatures, key history), the Merkle root against the checkpoint, and any
    checkpoints the auditor holds (T5 T6 T7). Returns a report; raises UsageError."""
    url = str(path)
    if not path.is_file():
        raise UsageError(f"no bundle at {path}")

    def failed(check: str, message: str, entries: int = 0) -> VerifyReport:
        return VerifyReport(url, entries, 0, 0, 0, None, None, 1, Failure(check, message))

    try:
        header, key_entries, ranges = _scan(path, lines_per_range)
    except MalformedBundle as exc:
        return failed("bundle", str(exc))
    try:
        held = open_held_checkpoints(
            [("in the bundle", header.checkpoint), *checkpoints],
            log_keys=trusted_keys,
            witnesses=witnesses,
            quorum=quorum,
        )
    except VerificationFailed as exc:
        return failed("checkpoint", str(exc))
    signed = held[0].signed.checkpoint
    if signed.size != header.entries:
        return failed("checkpoint", f"the checkpoint signs {signed.size} entries, the bundle "
                      f"holds {header.entries}")  # fmt: skip
    try:
        keyring = build_keyring(key_entries, trusted_roots=trusted_keys)
    except LedgerNotIntact as exc:
        return VerifyReport(url, 0, len(key_entries), 0, 0, None, None, 1, exc.failure)
    used = workers or default_workers()
    erased = header.erased_subjects
    sizes = frozenset(item.signed.checkpoint.size for item in held)
    parts: list[tuple[CompactRange, dict[int, CompactRange]]] = []

    def keep(
        results: Iterator[tuple[RangeResult, CompactRange, dict[int, CompactRange]]],
    ) -> Iterator[tuple[RangeResult, CompactRange]]:
        for result, tree, taken in results:
            parts.append((tree, taken))
            yield result, tree

    if used == 1 or len(ranges) == 1:
        used = 1
        spans = (_verify_span(path, r, keyring, erased, sizes) for r in ranges)
        outcome = _stitch(keep(spans), progress)
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=used, mp_context=context) as pool:
            futures = [pool.submit(_verify_span, path, r, keyring, erased, sizes) for r in ranges]
            outcome = _stitch(keep(f.result() for f in futures), progress)
    entries, redacted, failure, _, last_chain, tree = outcome
    root: bytes | None = None
    if failure is None:
        root = tree.root()
        if last_chain != header.head_chain_hash:
            failure = Failure("chain", "the last chain hash differs from the bundle's header")
        else:
            try:
                check_roots(held, size=tree.end, root_at=lambda m: _root_at(parts, m))
            except VerificationFailed as exc:
                failure = Failure("checkpoint", str(exc))
    return VerifyReport(
        url,
        entries,
        len(key_entries),
        len(keyring.deciders),
        redacted,
        format_verifier_key(keyring.root),
        last_chain.hex() if failure is None and last_chain else None,
        used,
        failure,
        root.hex() if failure is None and root else None,
        len(checkpoints) if failure is None else 0,
    )


def _root_at(parts: list[tuple[CompactRange, dict[int, CompactRange]]], size: int) -> bytes:
    # The root of the first `size` leaves: the ranges before it joined, then its snapshot.
    tree = CompactRange()
    for part, taken in parts:
        if size in taken and part.start < size:
            tree.extend(taken[size])
            return tree.root()
        tree.extend(part)
    return tree.root()


def check_roots(
    held: Sequence[HeldCheckpoint], *, size: int, root_at: Callable[[int], bytes]
) -> None:
    """Like ``transparency.check_extends``, with the roots recomputed from the leaves."""
    for item in held:
        cp = item.signed.checkpoint
        if cp.size > size:
            raise VerificationFailed(
                f"checkpoint {item.source} signs {cp.size} entries but the log has only {size}: "
                "the tail was truncated (or the log rolled back)"
            )
        calculated = root_at(cp.size)
        if calculated != cp.root_hash:
            raise VerificationFailed(
                f"the log does not extend checkpoint {item.source} (size {cp.size}): history "
                f"was rewritten: expected root {cp.root_hash.hex()}, calculated {calculated.hex()}"
            )


def cpu_count() -> int:
    return os.cpu_count() or 1
