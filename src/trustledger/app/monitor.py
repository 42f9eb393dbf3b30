"""Monitoring a log you do not run, over C2SP tlog-tiles (docs/AUDITOR.md §6).

A monitor holds what it verified last (state kept durably in one SQLite file of its state
directory) and, on each run, brings itself up to the log's current checkpoint, at a cost
proportional to the new entries:

1. fetch ``/checkpoint`` and open it under the trust policy (log key, witness quorum,
   origin), together with the checkpoint it holds: two of one size with different roots
   are a split view (check ``checkpoint``);
2. refuse a rollback (a smaller size than the one held);
3. fetch the entry bundles of the new entries (``/tile/entries/…``) into a spool file;
4. extend the key history it holds with the new key events (format v1 step 3);
5. verify every new entry as format v1 step 4 does, in parallel ranges (the tiles carry no
   chain hash and no notification id: the Merkle root replaces the chain);
6. refuse a decision id already seen, in this run or any earlier one (``replay``);
7. extend the Merkle tree it holds by the new leaves: the root must equal the checkpoint's
   (``checkpoint``). Since the earlier leaves are the ones verified before, this proves the
   new checkpoint consistent with the one held;
8. commit the new state (size, checkpoint, tree frontier, key history, decision ids) in one
   transaction.

A failure saves its evidence (the checkpoints fetched and held, the report) under
``evidence/`` in the state directory, and raises ``LedgerNotIntact`` with the report.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import struct
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from trustledger.app.policy import TrustPolicy
from trustledger.app.transparency import open_held_checkpoints
from trustledger.app.verification import (
    Progress,
    default_workers,
    process_context,
    stitch_ranges,
)
from trustledger.domain.identity import KEYRING_ID
from trustledger.errors import NotFound, StorageUnavailable, VerificationFailed
from trustledger.ledger.chain import StoredEntry, decode_entry
from trustledger.ledger.keys import format_verifier_key, parse_verifier_key
from trustledger.ledger.merkle import CompactRange
from trustledger.ledger.tiles import ENTRIES, MalformedTile, decode_entry_bundle, tiles_of
from trustledger.ledger.verify import (
    Failure,
    Keyring,
    KeyWindow,
    LedgerNotIntact,
    RangeResult,
    build_keyring,
    extend_keyring,
    verify_entries,
)

STATE_FILE = "monitor.sqlite"
EVIDENCE_DIR = "evidence"
_KEYRING_PREFIX = KEYRING_ID.bytes
_LENGTH = struct.Struct(">H")


class LogSource(Protocol):
    """Where the monitor reads a log: tlog-tiles paths (``checkpoint``, ``tile/...``)."""

    def get(self, path: str) -> bytes:
        """The bytes at ``path``; NotFound for a 404, StorageUnavailable otherwise."""
        ...


class HttpLog:
    """A log served over HTTP (``trustledger serve``, or a static copy from ``tiles
    publish``) at ``base_url``, read with httpx."""

    def __init__(self, base_url: str, *, timeout: float = 30.0) -> None:
        import httpx

        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(timeout=timeout, follow_redirects=True)
        self._errors = (httpx.HTTPError,)

    def get(self, path: str) -> bytes:
        url = f"{self.base_url}/{path}"
        try:
            response = self._client.get(url)
        except self._errors as exc:
            raise StorageUnavailable(f"cannot read {url}: {exc}") from exc
        if response.status_code == 404:
            raise NotFound(f"{url}: not found (404)")
        if response.status_code != 200:
            raise StorageUnavailable(f"{url}: HTTP {response.status_code}")
        return response.content

    def close(self) -> None:
        self._client.close()


@dataclass(frozen=True)
class MonitorReport:
    """What a run established: the log of ``origin`` at ``size`` entries (root
    ``root_hash``) extends what was held at ``previous_size``, every new entry verified."""

    url: str
    previous_size: int
    size: int
    new_entries: int
    origin: str | None
    root_hash: str | None
    key_events: int
    decider_keys: int
    failure: Failure | None
    evidence: str | None = None

    @property
    def intact(self) -> bool:
        return self.failure is None


# -- durable state ----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Held:
    size: int
    checkpoint: bytes
    frontier: list[tuple[int, int, bytes]]
    keyring: Keyring | None


def _connect(state_dir: Path) -> sqlite3.Connection:
    state_dir.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(state_dir / STATE_FILE, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")  # what is committed survives a crash
        conn.execute("CREATE TABLE IF NOT EXISTS held (id INTEGER PRIMARY KEY CHECK (id = 1), "
                     "state TEXT NOT NULL)")  # fmt: skip
        conn.execute(
            "CREATE TABLE IF NOT EXISTS decision_ids (decision_id TEXT PRIMARY KEY, "
            "position INTEGER NOT NULL) WITHOUT ROWID"
        )
    except sqlite3.Error as exc:
        raise StorageUnavailable(f"monitor state {state_dir / STATE_FILE}: {exc}") from exc
    return conn


def _keyring_json(keyring: Keyring) -> dict[str, Any]:
    return {
        "root": format_verifier_key(keyring.root),
        "deciders": [
            {"key": format_verifier_key(w.key), "registered_at": w.registered_at,
             "revoked_at": w.revoked_at}
            for w in keyring.deciders.values()
        ],
        "key_event_positions": sorted(keyring.key_event_positions),
    }  # fmt: skip


def _read_held(conn: sqlite3.Connection, where: Path) -> _Held | None:
    row = conn.execute("SELECT state FROM held WHERE id = 1").fetchone()
    if row is None:
        return None
    try:
        state = json.loads(row[0])
        frontier = [(int(lv), int(ix), bytes.fromhex(h)) for lv, ix, h in state["frontier"]]
        data = state["keyring"]
        keyring = None
        if data is not None:
            windows = {}
            for item in data["deciders"]:
                key = parse_verifier_key(item["key"])
                windows[key.key_id] = KeyWindow(key, item["registered_at"], item["revoked_at"])
            keyring = Keyring(
                parse_verifier_key(data["root"]), windows, frozenset(data["key_event_positions"])
            )
        return _Held(int(state["size"]), state["checkpoint"].encode(), frontier, keyring)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        # A monitor that forgot what it verified could be shown a fork: never reset.
        raise StorageUnavailable(
            f"monitor state {where / STATE_FILE} is malformed ({exc!r}); restore it from a "
            "backup or start a new state directory (which trusts the log's current state)"
        ) from exc


def _held_json(size: int, checkpoint: bytes, tree: CompactRange, keyring: Keyring) -> str:
    return json.dumps(
        {
            "size": size,
            "checkpoint": checkpoint.decode("utf-8"),
            "frontier": [(lv, ix, h.hex()) for lv, ix, h in tree.nodes],
            "keyring": _keyring_json(keyring),
        }
    )


# -- fetching ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Span:
    """Entries [first, first + count) of the spool file, at byte ``offset``, ``length``."""

    first: int
    count: int
    offset: int
    length: int


_GROUP = 8  # entry bundles (of 256 entries) a worker verifies at once


def _spooled_groups(
    source: LogSource, start: int, size: int, spool: Path
) -> Iterator[tuple[list[_Span], list[StoredEntry]]]:
    """Fetch the entry bundles of positions [start, size), several at once and in order,
    into ``spool`` as length-prefixed entries; yield each group of ``_GROUP`` bundles (its
    spans, flushed to the file, and its key events) as soon as it is written."""
    bundles = [t for t in tiles_of(size, since=start) if t.level == ENTRIES]
    offset = 0
    with spool.open("wb") as out, ThreadPoolExecutor(max_workers=8) as pool:
        fetched = pool.map(lambda tile: (tile, source.get(tile.path)), bundles)
        spans: list[_Span] = []
        keys: list[StoredEntry] = []
        for tile, data in fetched:
            try:
                entries = decode_entry_bundle(data, tile.width)
            except MalformedTile as exc:
                raise LedgerNotIntact(Failure("tile", f"{tile.path}: {exc}")) from exc
            first = tile.index * 256
            skip = max(0, start - first)
            body = bytearray()
            for at, entry in enumerate(entries[skip:], start=first + skip):
                if entry[:16] == _KEYRING_PREFIX:
                    keys.append(_entry_at(entry, at))
                body += _LENGTH.pack(len(entry))
                body += entry
            out.write(body)
            spans.append(_Span(first + skip, len(entries) - skip, offset, len(body)))
            offset += len(body)
            if len(spans) == _GROUP:
                out.flush()
                yield spans, keys
                spans, keys = [], []
        if spans:
            out.flush()
            yield spans, keys


def _entry_at(entry: bytes, position: int) -> StoredEntry:
    # Tiles carry no notification id: 0 stands for "none" (reports drop it).
    try:
        originator, version, topic, state = decode_entry(entry)
    except ValueError as exc:
        raise LedgerNotIntact(Failure("tile", f"entry {position}: {exc}", position)) from exc
    return StoredEntry(0, originator, version, topic, state, position, None)


def _spooled(spool: Path, spans: Sequence[_Span]) -> Iterator[StoredEntry]:
    with spool.open("rb") as handle:
        for span in spans:
            handle.seek(span.offset)
            data = handle.read(span.length)
            at = 0
            for position in range(span.first, span.first + span.count):
                (length,) = _LENGTH.unpack_from(data, at)
                yield _entry_at(data[at + 2 : at + 2 + length], position)
                at += 2 + length


def _verify_spans(
    spool: Path, spans: Sequence[_Span], keyring: Keyring
) -> tuple[RangeResult, CompactRange]:
    """Worker: format v1 step 4 over consecutive spans, and their leaves' compact range."""
    first = spans[0].first
    tree = CompactRange(first, first)
    try:
        result = verify_entries(
            _spooled(spool, spans), keyring=keyring, previous_chain_hash=bytes(32),
            previous_position=first - 1, tree=tree, chained=False,
        )  # fmt: skip
    except LedgerNotIntact as exc:
        result = RangeResult(0, None, None, None, None, None, 0, exc.failure)
    return result, tree


# -- the run ----------------------------------------------------------------------------------
def monitor_log(
    source: LogSource,
    *,
    policy: TrustPolicy,
    state_dir: Path,
    url: str = "",
    workers: int | None = None,
    progress: Progress | None = None,
) -> MonitorReport:
    """One run of the steps above. Returns the report of a log that extends what was held;
    raises LedgerNotIntact (with the report, evidence saved) when it does not, UsageError
    for a policy without root or log key, StorageUnavailable when the log or the state
    cannot be read."""
    log_keys = policy.require_log_keys("the log's checkpoint")
    policy.require_roots()
    conn = _connect(state_dir)
    try:
        return _run(source, conn, policy, log_keys, state_dir, url, workers, progress)
    finally:
        conn.close()


def _run(
    source: LogSource,
    conn: sqlite3.Connection,
    policy: TrustPolicy,
    log_keys: Sequence[Any],
    state_dir: Path,
    url: str,
    workers: int | None,
    progress: Progress | None,
) -> MonitorReport:
    held = _read_held(conn, state_dir)
    start = held.size if held else 0
    fetched = source.get("checkpoint")

    def failed(failure: Failure, size: int = 0, root: bytes | None = None) -> LedgerNotIntact:
        report = MonitorReport(url, start, size, 0, None, None, 0, 0, failure)
        evidence = _save_evidence(state_dir, failure, fetched, held, report)
        return LedgerNotIntact(failure, dataclasses.replace(report, evidence=str(evidence)))

    # 1. the checkpoint under the policy, with the one held (split view)
    pair = [("fetched from the log", fetched)]
    if held:
        pair.append(("held by this monitor", held.checkpoint))
    try:
        opened = open_held_checkpoints(
            pair, log_keys=log_keys, witnesses=policy.witness_keys, quorum=policy.quorum,
            origin=policy.origin,
        )  # fmt: skip
    except VerificationFailed as exc:
        raise failed(Failure("checkpoint", str(exc))) from exc
    cp = opened[0].signed.checkpoint
    # 2. no rollback
    if cp.size < start:
        raise failed(Failure("checkpoint", f"rollback: the log's checkpoint signs {cp.size} "
                             f"entries, this monitor verified {start}"), cp.size)  # fmt: skip
    if held and cp.size == start:
        assert held.keyring is not None
        return MonitorReport(url, start, cp.size, 0, cp.origin, cp.root_hash.hex(),
                             len(held.keyring.key_event_positions), len(held.keyring.deciders),
                             None)  # fmt: skip
    # 3.–6. the new entries fetched into a spool file group by group; each group verified
    # (in a worker) under the key history up to its end, while the next ones are fetched
    spool = state_dir / "spool.entries"
    try:
        groups = _spooled_groups(source, start, cp.size, spool)
        held_keys = held.keyring if held else None
        verified = _verify_all(conn, spool, groups, held_keys, policy, start, workers, progress)
    except LedgerNotIntact as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise failed(dataclasses.replace(exc.failure, notification_id=None), cp.size) from exc
    finally:
        spool.unlink(missing_ok=True)
    assert verified.keyring is not None
    keyring, new = verified.keyring, verified.entries
    # 7. the tree held, extended by the new leaves, has the checkpoint's root
    whole = CompactRange(0, start, list(held.frontier) if held else [])
    whole.extend(verified.tree)
    root = whole.root()
    if root != cp.root_hash:
        conn.execute("ROLLBACK")
        raise failed(Failure("checkpoint", f"the log's entries hash to root {root.hex()}, its "
                             f"checkpoint signs {cp.root_hash.hex()} (a fork, or tiles that do "
                             "not match the checkpoint)"), cp.size)  # fmt: skip
    # 8. commit
    conn.execute(
        "INSERT OR REPLACE INTO held VALUES (1, ?)",
        (_held_json(cp.size, fetched, whole, keyring),),
    )
    conn.execute("COMMIT")
    return MonitorReport(url, start, cp.size, new, cp.origin, root.hex(),
                         len(keyring.key_event_positions), len(keyring.deciders),
                         None)  # fmt: skip


@dataclass
class _Verified:
    """What ``_verify_all`` established: the new leaves' compact range, how many entries,
    and the key history up to the last of them."""

    tree: CompactRange
    entries: int
    keyring: Keyring | None


def _verify_all(
    conn: sqlite3.Connection,
    spool: Path,
    groups: Iterator[tuple[list[_Span], list[StoredEntry]]],
    keyring: Keyring | None,
    policy: TrustPolicy,
    start: int,
    workers: int | None,
    progress: Progress | None,
) -> _Verified:
    """Steps 4–6 over the groups as they are fetched; leaves the decision ids inserted in
    an open transaction. A group is verified under the key history up to its last entry:
    a key event at position p decides only what comes after p (format v1 step 3), so that
    is the whole history its entries need."""
    used = workers or default_workers()
    conn.execute("BEGIN IMMEDIATE")
    stop: list[LedgerNotIntact] = []  # a key-history failure, reported after what precedes it
    state = {"keyring": keyring}

    def keyed() -> Iterator[tuple[list[_Span], Keyring]]:
        for spans, keys in groups:
            try:
                current = state["keyring"]
                if current is None:
                    current = build_keyring(keys, trusted_roots=policy.require_roots())
                elif keys:
                    current = extend_keyring(current, keys)
            except LedgerNotIntact as exc:
                stop.append(exc)
                return
            state["keyring"] = current
            yield spans, current

    def checked(
        results: Iterable[tuple[RangeResult, CompactRange]],
    ) -> Iterator[tuple[RangeResult, CompactRange]]:
        for result, part in results:
            if result.first_position is not None:
                _remember(conn, result.first_position, result.decision_ids)
            yield result, part

    if used == 1:
        results = (_verify_spans(spool, spans, ring) for spans, ring in keyed())
        outcome = stitch_ranges(checked(results), progress, start=start)
    else:
        context = process_context()  # before any fetching thread: fork is then safe
        with ProcessPoolExecutor(max_workers=used, mp_context=context) as pool:
            pool.submit(int).result()  # the workers exist before the fetching threads
            futures = (pool.submit(_verify_spans, spool, spans, ring) for spans, ring in keyed())
            pending = _ahead(futures, used * 2)
            outcome = stitch_ranges(checked(f.result() for f in pending), progress, start=start)
            pool.shutdown(cancel_futures=True)
    entries, _, failure, _, _, tree = outcome
    if failure is not None:
        raise LedgerNotIntact(failure)
    if stop:
        raise stop[0]
    return _Verified(tree, entries, state["keyring"])


def _ahead(futures: Iterator[Future[Any]], window: int) -> Iterator[Future[Any]]:
    """``futures`` in order, keeping up to ``window`` submitted ahead of the one awaited."""
    queue: deque[Future[Any]] = deque()
    for future in futures:
        queue.append(future)
        if len(queue) > window:
            yield queue.popleft()
    yield from queue


def _remember(conn: sqlite3.Connection, first: int, decision_ids: Sequence[str]) -> None:
    # format v1 step 5 across runs: a decision id any earlier entry carried is a copy (T9).
    # The primary key finds a repeat as the ids are inserted; only then are they looked up.
    rows = list(zip(decision_ids, range(first, first + len(decision_ids)), strict=True))
    conn.execute("SAVEPOINT ids")
    try:
        conn.executemany("INSERT INTO decision_ids VALUES (?, ?)", rows)
    except sqlite3.IntegrityError:
        conn.execute("ROLLBACK TO ids")
        _name_the_repeat(conn, rows)
        # A repeat inside this run only: stitch_ranges names it, with its first position.
        conn.executemany("INSERT OR IGNORE INTO decision_ids VALUES (?, ?)", rows)
    conn.execute("RELEASE ids")


def _name_the_repeat(conn: sqlite3.Connection, rows: Sequence[tuple[str, int]]) -> None:
    for at in range(0, len(rows), 500):
        chunk = rows[at : at + 500]
        earlier = dict(
            conn.execute(
                f"SELECT decision_id, position FROM decision_ids WHERE decision_id IN "
                f"({','.join('?' * len(chunk))})",
                [decision_id for decision_id, _ in chunk],
            ).fetchall()
        )
        for decision_id, position in chunk:
            if decision_id in earlier:
                raise LedgerNotIntact(
                    Failure(
                        "replay",
                        f"decision {decision_id} is recorded again: first at position "
                        f"{earlier[decision_id]} (a signed decision copied, not appended)",
                        position, None, decision_id,
                    )
                )  # fmt: skip


def _save_evidence(
    state_dir: Path,
    failure: Failure,
    fetched: bytes,
    held: _Held | None,
    report: MonitorReport,
) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    where = state_dir / EVIDENCE_DIR / f"{stamp}-{failure.check}"
    where.mkdir(parents=True, exist_ok=True)
    (where / "fetched.checkpoint").write_bytes(fetched)
    if held is not None:
        (where / "held.checkpoint").write_bytes(held.checkpoint)
    body = dataclasses.asdict(report)
    body["evidence"] = str(where)
    (where / "report.json").write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    return where


def follow_log(
    source: LogSource,
    *,
    policy: TrustPolicy,
    state_dir: Path,
    url: str = "",
    interval: float = 10.0,
    workers: int | None = None,
    on_report: Any = None,
    runs: int | None = None,
) -> None:
    """``monitor_log`` every ``interval`` seconds (``runs`` times, or until interrupted),
    passing each report to ``on_report``; raises LedgerNotIntact at the first failure."""
    done = 0
    while runs is None or done < runs:
        report = monitor_log(source, policy=policy, state_dir=state_dir, url=url,
                             workers=workers)  # fmt: skip
        if on_report is not None:
            on_report(report)
        done += 1
        if runs is None or done < runs:
            time.sleep(interval)
