"""Export a ledger to an offline bundle, and verify a bundle with no database.

Verification is that of a store (docs/AUDITOR.md §2) plus the Merkle root against the
signed checkpoint and the witnesses' quorum. The entry lines are split into byte ranges,
each verified by a worker process from the chain hash of the line before it; the ranges
are stitched exactly like a store's (trustledger.app.verification).

Hash-only verification (``hash_only=True``) checks the checkpoint, the chain and the Merkle
root but no entry's signature: workers hash byte ranges of the file as they are (lines
are cut where found) and fold their leaves into the Merkle tree at the range's first
position, which a count of newlines gives before any hashing; the ranges are then linked
and joined in order (``ledger.bundle.LineChain``).
"""

from __future__ import annotations

import errno
import functools
import io
import itertools
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from trustledger.app.files import write_failure, write_file
from trustledger.app.paths import StrPath
from trustledger.app.policy import TrustPolicy
from trustledger.app.transparency import (
    HeldCheckpoint,
    latest_checkpoint,
    note_with_cosignatures,
    open_held_checkpoints,
)
from trustledger.app.verification import (
    Progress,
    VerifyReport,
    default_workers,
    process_context,
    stitch_ranges,
)
from trustledger.domain.identity import KEYRING_ID
from trustledger.errors import UsageError, VerificationFailed
from trustledger.ledger.bundle import (
    BUNDLE_MAGIC,
    BundleHeader,
    HashedLines,
    LineChain,
    MalformedBundle,
    format_entry_line,
    format_header,
    hash_entry_lines,
    parse_entry_line,
    parse_header,
    place_lines,
)
from trustledger.ledger.chain import GENESIS_CHAIN_HASH, StoredEntry
from trustledger.ledger.checkpoint import parse_checkpoint
from trustledger.ledger.keys import format_verifier_key
from trustledger.ledger.merkle import EMPTY_ROOT, CompactRange
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


def export_bundle(url: str, out: StrPath) -> tuple[int, bytes]:
    """Write the ledger at ``url`` up to its latest checkpoint into ``out``.

    Returns (entries, checkpoint note). Raises NotFound when there is no checkpoint,
    StorageUnavailable when the disk is full, UsageError when ``out`` cannot be written;
    ``out`` is then left as it was (trustledger.app.files).
    """
    out = Path(out)
    if out.is_dir():
        raise write_failure(out, IsADirectoryError(errno.EISDIR, "Is a directory", str(out)))
    tmp = out.with_name(out.name + ".partial")
    store = open_store(url, read_only=True)
    try:
        stored = latest_checkpoint(store)
        checkpoint = note_with_cosignatures(store, stored)
        size = parse_checkpoint(parse_note(stored.note).text).size
        erased = store.erased_subjects()
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
        header = format_header(BundleHeader(size, checkpoint, head, erased))

        def write_bundle(final: BinaryIO) -> None:
            final.write(header)
            with tmp.open("rb") as entries:
                shutil.copyfileobj(entries, final, 1 << 20)

        write_file(out, write_bundle)  # whole or not at all
        return size, checkpoint
    except OSError as exc:  # the spool of entries met a full disk or a missing directory
        raise write_failure(out, exc) from exc
    finally:
        tmp.unlink(missing_ok=True)
        store.close()


@dataclass(frozen=True)
class _Range:
    start: int  # byte offset of the first line
    end: int  # byte offset after the last line
    first_position: int
    previous_chain_hash: bytes  # the chain hash claimed by the line before the range
    previous_notification_id: int


@dataclass(frozen=True)
class BundleReport(VerifyReport):
    """A bundle's verification report. ``signatures_checked`` is False for a hash-only
    check: the chain and the Merkle root were checked against the signed checkpoint, but
    no entry's signature, payload or signer was."""

    signatures_checked: bool = True


def _last_line(data: bytes, end: int) -> tuple[bytes, int]:
    # (claimed chain hash, notification id) of the line ending at ``end``, for the next
    # range to start from; a malformed line fails in its own range first, so any value will
    # do then.
    line = data[data.rfind(b"\n", 0, end - 1) + 1 : end].rstrip(b"\n")
    fields = line.split(b"\t", 5)  # docs/FORMAT.md §13: the chain hash is the fifth field
    try:
        return bytes.fromhex(fields[4].decode("ascii")), int(fields[0])
    except (ValueError, IndexError, UnicodeDecodeError):
        return GENESIS_CHAIN_HASH, 0


def _key_lines(data: bytes, begin: int, end: int, position: int) -> Iterator[StoredEntry]:
    # The keyring's entry lines in data[begin:end] (whole lines from ``position``): those
    # whose second field (docs/FORMAT.md §13) is the keyring's aggregate id.
    tag = b"\t" + KEYRING_ID.hex.encode() + b"\t"
    at = data.find(tag, begin, end)
    while at >= 0:
        line_start = data.rfind(b"\n", begin, at) + 1 or begin
        line_end = data.find(b"\n", at, end) + 1 or end
        if data.find(b"\t", line_start, end) == at:
            line_position = position + data.count(b"\n", begin, line_start)
            yield parse_entry_line(data[line_start:line_end], line_position)
        at = data.find(tag, line_end, end)


class _Lines:
    """A bundle file's header, then its entry lines in ranges of about ``range_bytes``
    (whole lines, at least one each), read in large blocks. Raises MalformedBundle."""

    def __init__(self, path: Path, range_bytes: int) -> None:
        self.path = path
        self.range_bytes = range_bytes
        with path.open("rb") as handle:
            self.header = parse_header(handle.readline(), handle.readline())
            self.offset = handle.tell()  # of the first entry line
            first = handle.readline()
        if first:
            # The genesis line is read in full first: a fault in it is the bundle's (at
            # position 0), not a ledger without a genesis.
            parse_entry_line(first, 0)

    def ranges(self, key_entries: list[StoredEntry] | None = None) -> Iterator[_Range]:
        """The ranges in order, as they are found; the keyring's entries go to
        ``key_entries``. Ends by checking the header's entry count."""
        range_bytes = self.range_bytes
        position, previous, previous_id = 0, GENESIS_CHAIN_HASH, 0
        offset = self.offset
        size = max(range_bytes, 1 << 16)
        with self.path.open("rb", buffering=0) as handle:
            while True:
                handle.seek(offset)
                data = handle.read(size)
                if not data:
                    break
                cut = data.rfind(b"\n") + 1
                if cut == 0 and len(data) == size:
                    size *= 2  # a line longer than a block
                    continue
                cut = cut or len(data)  # a last line without its newline
                begin = 0
                while begin < cut:
                    stop = data.rfind(b"\n", begin, begin + range_bytes) + 1
                    if stop <= begin:
                        stop = data.find(b"\n", begin, cut) + 1 or cut
                    if key_entries is not None:
                        key_entries.extend(_key_lines(data, begin, stop, position))
                    yield _Range(offset + begin, offset + stop, position, previous, previous_id)
                    previous, previous_id = _last_line(data, stop)
                    position += data.count(b"\n", begin, stop) + (data[stop - 1] != 0x0A)
                    begin = stop
                offset += cut
        if position != self.header.entries:
            raise MalformedBundle(
                f"the header announces {self.header.entries} entries, found {position}"
            )


def _read(path: Path, span: _Range) -> bytes:
    with path.open("rb", buffering=0) as handle:
        handle.seek(span.start)
        data = handle.read(span.end - span.start)
    if len(data) != span.end - span.start:
        raise MalformedBundle(f"the bundle changed while it was read (at byte {span.start})")
    return data


def _entries(
    data: bytes,
    span: _Range,
    tree: CompactRange,
    sizes: frozenset[int],
    taken: dict[int, CompactRange],
) -> Iterator[StoredEntry]:
    # Each line's entry. verify_entries adds each leaf to ``tree`` before it asks for the
    # next entry, so here ``tree`` covers the lines before this one: the moment to keep the
    # tree at a size an auditor holds a checkpoint of.
    position = span.first_position
    rows = data.split(b"\n")
    if not rows[-1]:
        rows.pop()
    for row in rows:
        if tree.end in sizes and tree.end > tree.start:
            taken[tree.end] = CompactRange(tree.start, tree.end, list(tree.nodes))
        yield parse_entry_line(row, position)
        position += 1
    if tree.end in sizes and tree.end > tree.start:
        taken[tree.end] = CompactRange(tree.start, tree.end, list(tree.nodes))


Part = tuple[RangeResult, CompactRange, dict[int, CompactRange]]


def _verify_span(
    path: Path,
    span: _Range,
    keyring: Keyring,
    erased: frozenset[str],
    sizes: frozenset[int] = frozenset(),
) -> Part:
    """Worker: every check of docs/AUDITOR.md §2.2 over one range of lines, with the
    compact Merkle range of their leaves (and of each prefix ending at a held size)."""
    tree = CompactRange(span.first_position, span.first_position)
    taken: dict[int, CompactRange] = {}
    try:
        result = verify_entries(
            _entries(_read(path, span), span, tree, sizes, taken),
            keyring=keyring,
            previous_chain_hash=span.previous_chain_hash,
            previous_position=span.first_position - 1,
            previous_notification_id=span.previous_notification_id,
            erased_subjects=erased,
            tree=tree,
        )
    except MalformedBundle as exc:
        failure = Failure("bundle", str(exc), span.first_position + tree.end - tree.start)
        result = RangeResult(0, None, None, None, None, None, 0, failure)
    return result, tree, taken


def _owned_lines(path: Path, begin: int, end: int, first: bool) -> list[bytes]:
    """The entry lines (each with its newline, the file's last one perhaps without) that
    *start* in bytes [begin, end) of the file; ``first`` when ``begin`` is the first entry
    line's offset. Lines are cut where they are found, so byte ranges need no line
    alignment (and no scan beforehand)."""
    start = begin if first else begin - 1  # to see whether a line starts at ``begin``
    last = end - start - 1  # index of the last byte that can start an owned line
    with path.open("rb", buffering=0) as handle:
        handle.seek(start)
        want = end - start + (1 << 16)
        data = handle.read(want)
        # The last owned line ends at the first newline at or after ``last``.
        while (stop := data.find(b"\n", last)) < 0 and len(data) == want:
            more = handle.read(1 << 20)
            data += more
            want += len(more) if more else 1
    # BytesIO finds newlines with memchr, several times faster than bytes.split; its
    # ``readlines`` hint stops at the line that brings the total to ``stop + 1`` bytes,
    # i.e. the line ending at ``stop`` (or, with no newline there, runs to the end).
    rows = io.BytesIO(data).readlines(stop + 1 if stop >= 0 else -1)
    if not first:
        # rows[0] is the end of the line before ``begin``; no owned line when it runs
        # past ``end``.
        if len(rows[0]) > last:
            return []
        del rows[0]
    return rows


def _hash_chunk(
    path: Path, begin: int, end: int, first: bool, start: int, sizes: frozenset[int]
) -> HashedLines:
    """Worker: hash the lines that start in [begin, end) (hash_entry_lines), the first of
    them at position ``start``, and fold their leaves into the Merkle tree (place_lines)."""
    return place_lines(hash_entry_lines(_owned_lines(path, begin, end, first)), start, sizes)


def _placed_spans(
    path: Path, spans: Iterable[tuple[int, int, bool]], sizes: frozenset[int]
) -> Iterator[tuple[Path, int, int, bool, int, frozenset[int]]]:
    """Each span with the position of its first line and the held sizes it covers: the
    lines that start in [begin, end) are those after a newline in [begin - 1, end - 1)
    (every entry is one line, docs/FORMAT.md §13). Counting newlines is far cheaper than
    the Merkle hashing it lets the workers do."""
    position = 0
    with path.open("rb") as handle:
        for begin, end, first in spans:
            handle.seek(begin - 1)
            chunk = handle.read(end - begin)
            # Newlines counted as the bytes replace() drops: it finds them with memchr,
            # several times faster than bytes.count's byte-by-byte loop.
            count = len(chunk) - len(chunk.replace(b"\n", b""))
            covered = frozenset(s for s in sizes if position < s <= position + count)
            yield path, begin, end, first, position, covered
            position += count


def _hash_all(
    path: Path,
    lines: _Lines,
    chain: LineChain,
    used: int,
    range_bytes: int,
    progress: Progress | None,
) -> Failure | None:
    # Byte ranges of the entry lines, hashed in parallel, joined in order.
    size = path.stat().st_size
    bounds = [*range(lines.offset, size, range_bytes), size]
    spans = [(a, b, a == lines.offset) for a, b in itertools.pairwise(bounds)]

    def join(parts: Iterable[HashedLines]) -> Failure | None:
        for part in parts:
            failure = chain.add(part)
            if progress is not None:
                progress(part.count)
            if failure is not None:
                return failure
        return None

    placed = _placed_spans(path, spans, chain.sizes)
    if used == 1:
        return join(_hash_chunk(*args) for args in placed)
    with ProcessPoolExecutor(max_workers=used, mp_context=process_context()) as pool:
        futures = [pool.submit(_hash_chunk, *args) for args in placed]
        failure = join(future.result() for future in futures)
        pool.shutdown(cancel_futures=True)  # after a failure the rest is not needed
    return failure


def check_bundle(
    path: Path,
    *,
    policy: TrustPolicy,
    checkpoints: Sequence[tuple[str, bytes]] = (),
    hash_only: bool = False,
    workers: int | None = None,
    progress: Progress | None = None,
    range_bytes: int = 4 << 20,
) -> BundleReport:
    """The steps of ``trustledger.app.verifier`` over a bundle, offline: its grammar, the
    checkpoint under the policy (log keys, witness quorum, origin), every entry (chain,
    signatures, key history), the Merkle root against the checkpoint, and any checkpoints
    the auditor holds (T5 T6 T7). Returns the report (the public ``verifier.verify_bundle``
    raises instead); raises UsageError for a file that is not a bundle.

    With ``hash_only`` the entries' signatures, payloads and key history are *not*
    checked (the report says ``signatures_checked=False``): only the checkpoint's
    signatures and quorum, the chain over every entry up to the header's head, and the
    Merkle root against the bundle's and the held checkpoints; no root key is needed.
    Entry lines are read in ranges of about ``range_bytes``.
    """
    url = str(path)
    if not path.is_file():
        raise UsageError(f"no bundle at {path}")
    with path.open("rb") as handle:
        first = handle.readline(len(BUNDLE_MAGIC) + 2)
    if first != BUNDLE_MAGIC.encode() + b"\n":
        # The wrong file given (a database, a checkpoint, a bundle of another version or
        # with CRLF line ends): a usage error, not a verdict (docs/FORMAT.md §13).
        raise UsageError(
            f"{path} is not a trustledger bundle (its first line is not exactly "
            f"{BUNDLE_MAGIC} and a newline): give the file `trustledger export` wrote"
        )
    checked = not hash_only

    def failed(check: str, message: str, position: int | None = None) -> BundleReport:
        failure = Failure(check, message, position)
        return BundleReport(url, 0, 0, 0, 0, None, None, 1, failure, signatures_checked=checked)

    try:
        lines = _Lines(path, range_bytes)
    except MalformedBundle as exc:
        return failed("bundle", str(exc), exc.position)
    header = lines.header
    try:
        held = open_held_checkpoints(
            [("in the bundle", header.checkpoint), *checkpoints],
            log_keys=policy.log_keys,
            witnesses=policy.witness_keys,
            quorum=policy.quorum,
            origin=policy.origin,
        )
    except VerificationFailed as exc:
        return failed("checkpoint", str(exc))
    signed = held[0].signed.checkpoint
    if signed.size != header.entries:
        return failed("checkpoint", f"the checkpoint signs {signed.size} entries, the bundle "
                      f"holds {header.entries}")  # fmt: skip
    sizes = frozenset(item.signed.checkpoint.size for item in held)
    used = workers or default_workers()
    if path.stat().st_size - lines.offset <= range_bytes:
        used = 1  # one range: no process to start
    key_entries: list[StoredEntry] = []
    keyring: Keyring | None = None
    redacted = 0
    if hash_only:
        chain = LineChain(sizes)
        failure = _hash_all(path, lines, chain, used, range_bytes, progress)
        entries, last_chain, tree = chain.entries, chain.chain_hash, chain.tree
        if failure is None and entries != header.entries:
            failure = Failure("bundle", f"the header announces {header.entries} entries, "
                              f"found {entries}")  # fmt: skip

        def root_at(size: int) -> bytes:
            return chain.roots[size]
    else:
        # The keyring (from anywhere in the file) is needed before any entry is checked.
        try:
            ranges = list(lines.ranges(key_entries))
            keyring = build_keyring(key_entries, trusted_roots=policy.require_roots())
        except MalformedBundle as exc:
            return failed("bundle", str(exc), exc.position)
        except LedgerNotIntact as exc:
            return BundleReport(url, 0, len(key_entries), 0, 0, None, None, 1, exc.failure)
        work = functools.partial(
            _verify_span, path, keyring=keyring, erased=header.erased_subjects, sizes=sizes
        )
        parts: list[tuple[CompactRange, dict[int, CompactRange]]] = []

        def keep(results: Iterable[Part]) -> Iterator[tuple[RangeResult, CompactRange]]:
            for result, part, taken in results:
                parts.append((part, taken))
                yield result, part

        if used == 1:
            outcome = stitch_ranges(keep(map(work, ranges)), progress)
        else:
            with ProcessPoolExecutor(max_workers=used, mp_context=process_context()) as pool:
                futures = [pool.submit(work, span) for span in ranges]
                outcome = stitch_ranges(keep(future.result() for future in futures), progress)
                pool.shutdown(cancel_futures=True)  # after a failure the rest is not needed
        entries, redacted, failure, _, stitched_chain, tree = outcome
        last_chain = stitched_chain or GENESIS_CHAIN_HASH

        def root_at(size: int) -> bytes:
            return _root_at(parts, size)

    root: bytes | None = None
    if failure is None:
        root = tree.root()
        if entries and last_chain != header.head_chain_hash:
            failure = Failure(
                "chain", "the last chain hash differs from the bundle's header", entries - 1
            )
        else:
            try:
                check_roots(held, size=tree.end, root_at=root_at)
            except VerificationFailed as exc:
                failure = Failure("checkpoint", str(exc))
    intact = failure is None
    return BundleReport(
        url,
        entries,
        len(key_entries),
        len(keyring.deciders) if keyring else 0,
        redacted,
        format_verifier_key(keyring.root) if keyring else None,
        last_chain.hex() if intact and entries else None,
        used,
        failure,
        root.hex() if intact and root else None,
        len(checkpoints) if intact else 0,
        signatures_checked=checked,
    )


def _root_at(parts: list[tuple[CompactRange, dict[int, CompactRange]]], size: int) -> bytes:
    # The root of the first `size` leaves: the ranges before it joined, then its snapshot.
    if size == 0:
        return EMPTY_ROOT  # RFC 9162 §2.1.1: MTH({}) = HASH()
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
