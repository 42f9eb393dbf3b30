"""The rule state of shops, kept warm between appends in this process.

Checking a decision needs its shop's state. Replaying a shop's whole history for every
append (eventsourcing's repository, with a deep copy out of its cache) costs more than
the append itself, so this keeps ``(version, ShopState)`` per shop and trusts it
optimistically: the write itself is the check. Events are written at ``version + 1`` and
versions of an aggregate are contiguous, so if any other appender recorded anything for
the shop since, the store's (originator_id, originator_version) key refuses the whole
write; the appender then forgets those shops and judges the batch again from the store.
A stale cache can therefore cost a retry, never admit a wrong decision.

Shops not in the cache are read from their snapshots (the shop states table, written with
the shops' events: storage.base.SHOP_STATES_TABLE): one query for all of them, then per shop
a decode and a replay of only the events recorded after its snapshot (none, when the one
writer of the ledger wrote it), so a miss costs the same however long the shop's history.
A shop without a usable snapshot (none yet, another SNAPSHOT_FORMAT, corrupt, or ahead of
the events) is replayed from its first event. A snapshot's sections are decoded where a rule
first reads them (domain.shop): one found corrupt there raises UnusableSnapshot in the
middle of judging a batch; the appender then ``distrust``s the batch's snapshots and judges
it again from the events. A snapshot is a cache, not a record: the
optimistic write above checks whatever it says, as it checks this process's own cache.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterable
from uuid import UUID

from trustledger.domain.decision import parse_decision
from trustledger.domain.identity import shop_aggregate_id
from trustledger.domain.shop import ShopState, UnusableSnapshot
from trustledger.ledger.envelope import parse_state
from trustledger.storage import Store

#: A shop kept in this process's cache has its snapshot rewritten once it is this many
#: versions ahead of the stored one; a shop read from the store for a batch has it
#: rewritten by that batch (it is likely to leave the cache before its next decision).
#: Rewriting every shop of every batch was, on a small ledger whose shops all stay cached,
#: the largest cost the snapshots added to an append (docs/BENCHMARKS.md §1); a process
#: that starts cold now replays at most this many events less one for such a shop.
SNAPSHOT_EVERY = 16


class ShopStates:
    """An LRU cache of shop rule states, validated by the optimistic write (see above)."""

    def __init__(self, store: Store, maxsize: int = 20_000) -> None:
        self.store = store
        self.maxsize = maxsize
        self._cache: OrderedDict[str, tuple[int, ShopState]] = OrderedDict()
        # Whether appends write snapshots (Store.ensure_shop_states), asked on first use.
        self._snapshotting: bool | None = None
        # Shops whose stored snapshot proved corrupt: replayed until this process writes
        # their next one.
        self._distrusted: set[str] = set()
        # The version of each cached shop's stored snapshot (0: none usable), and the shops
        # the last load read from the store: what snapshot_due decides on.
        self._stored: dict[str, int] = {}
        self._missed: set[str] = set()

    @property
    def snapshotting(self) -> bool:
        """Whether writes should carry their shops' snapshots (AppendWrite.shop_states)."""
        if self._snapshotting is None:
            self._snapshotting = self.store.ensure_shop_states()
        return self._snapshotting

    def load(self, shop_ids: Iterable[str]) -> dict[str, tuple[int, ShopState]]:
        """Each shop's version and its state (version 0: none yet), lent to the caller.

        The states are the cached objects themselves, not copies (copying every state of
        every batch cost more than judging it): the caller may apply decisions to them, and
        must then either ``remember`` each shop once its write has committed or ``forget``
        the shops on any failure, so that no state the store did not record stays cached.
        """
        loaded: dict[str, tuple[int, ShopState]] = {}
        missing: dict[str, UUID] = {}
        self._missed = set()
        for shop_id in shop_ids:
            cached = self._cache.get(shop_id)
            if cached is None:
                missing[shop_id] = shop_aggregate_id(shop_id)
                continue
            self._cache.move_to_end(shop_id)
            loaded[shop_id] = cached
        if missing:
            versions = self.store.current_versions(list(missing.values()))
            recorded = [
                shop_id
                for shop_id, a in missing.items()
                if versions.get(a, 0) > 0 and shop_id not in self._distrusted
            ]
            snapshots = self.store.shop_snapshots(recorded) if recorded else {}
            self._missed = set(missing)
            for shop_id, aggregate_id in missing.items():
                current = versions.get(aggregate_id, 0)
                version, state = 0, ShopState(shop_id)
                if current > 0:
                    snapshot = _usable(shop_id, snapshots.get(shop_id), current)
                    if snapshot is not None:
                        version, state = snapshot
                    self._stored[shop_id] = version
                    if version < current:
                        version = _replay(self.store, aggregate_id, state, after=version)
                loaded[shop_id] = (version, state)
        return loaded

    def snapshot_due(self, shop_id: str, version: int) -> bool:
        """Whether a write taking the shop to ``version`` should store its snapshot: it was
        read from the store for this batch, or its stored snapshot is SNAPSHOT_EVERY
        versions behind."""
        return shop_id in self._missed or version - self._stored.get(shop_id, 0) >= SNAPSHOT_EVERY

    def remember(
        self, shop_id: str, version: int, state: ShopState, *, snapshot_written: bool
    ) -> None:
        """Keep a shop's state as of a version that is now committed (and, with
        ``snapshot_written``, stored as the shop's snapshot by the same write)."""
        self._cache[shop_id] = (version, state)
        self._cache.move_to_end(shop_id)
        if snapshot_written:
            self._stored[shop_id] = version
            self._distrusted.discard(shop_id)
        while len(self._cache) > self.maxsize:
            evicted, _ = self._cache.popitem(last=False)
            self._stored.pop(evicted, None)

    def forget(self, shop_ids: Iterable[str]) -> None:
        for shop_id in shop_ids:
            self._cache.pop(shop_id, None)
            self._stored.pop(shop_id, None)

    def distrust(self, shop_ids: Iterable[str]) -> None:
        """Load these shops from their events, not their snapshots, until their next write
        (a snapshot of one of them was found corrupt); forget their cached states."""
        shop_ids = list(shop_ids)
        self.forget(shop_ids)
        self._distrusted.update(shop_ids)


def _usable(
    shop_id: str, row: tuple[int, bytes] | None, current: int
) -> tuple[int, ShopState] | None:
    """A stored snapshot as (version, state), or None when there is none or it cannot be
    trusted as a starting point: of another format or corrupt (it does not decode, or is
    another shop's), or of a version the shop's events have not reached."""
    if row is None:
        return None
    version, data = row
    if type(version) is not int or not 0 < version <= current:
        return None
    try:
        state = ShopState.from_bytes(data)
    except (UnusableSnapshot, TypeError):
        return None
    return (version, state) if state.shop_id == shop_id else None


def _replay(store: Store, aggregate_id: UUID, state: ShopState, *, after: int) -> int:
    """Apply to ``state`` the shop's recorded decisions after version ``after``; returns the
    version of the last one applied."""
    version = after
    for entry in store.events_of(aggregate_id, after_version=after):
        payload = parse_state(entry.state).payload
        state.apply(parse_decision(json.loads(payload)))
        version = entry.originator_version
    return version
