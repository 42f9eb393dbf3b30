"""The rule state of shops, kept warm between appends in this process.

Checking a decision needs its shop's state. Replaying a shop's whole history for every
append (eventsourcing's repository, with a deep copy out of its cache) costs more than
the append itself, so this keeps ``(version, ShopState)`` per shop and trusts it
optimistically: the write itself is the check. Events are written at ``version + 1`` and
versions of an aggregate are contiguous, so if any other appender recorded anything for
the shop since, the store's (originator_id, originator_version) key refuses the whole
write; the appender then forgets those shops and judges the batch again from the store.
A stale cache can therefore cost a retry, never admit a wrong decision. Shops not in the
cache cost one query for all of them plus one replay each for those that exist.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterable
from uuid import UUID

from trustledger.domain.decision import parse_decision
from trustledger.domain.identity import shop_aggregate_id
from trustledger.domain.shop import ShopState
from trustledger.ledger.envelope import parse_state
from trustledger.storage import Store


class ShopStates:
    """An LRU cache of shop rule states, validated by the optimistic write (see above)."""

    def __init__(self, store: Store, maxsize: int = 20_000) -> None:
        self.store = store
        self.maxsize = maxsize
        self._cache: OrderedDict[str, tuple[int, ShopState]] = OrderedDict()

    def load(self, shop_ids: Iterable[str]) -> dict[str, tuple[int, ShopState]]:
        """Each shop's version and its state (version 0: none yet), lent to the caller.

        The states are the cached objects themselves, not copies (copying every state of
        every batch cost more than judging it): the caller may apply decisions to them, and
        must then either ``remember`` each shop once its write has committed or ``forget``
        the shops on any failure, so that no state the store did not record stays cached.
        """
        loaded: dict[str, tuple[int, ShopState]] = {}
        missing: dict[str, UUID] = {}
        for shop_id in shop_ids:
            cached = self._cache.get(shop_id)
            if cached is None:
                missing[shop_id] = shop_aggregate_id(shop_id)
                continue
            self._cache.move_to_end(shop_id)
            loaded[shop_id] = cached
        if missing:
            versions = self.store.current_versions(list(missing.values()))
            for shop_id, aggregate_id in missing.items():
                version, state = 0, ShopState(shop_id)
                if versions.get(aggregate_id, 0) > 0:
                    for entry in self.store.events_of(aggregate_id):
                        payload = parse_state(entry.state).payload
                        state.apply(parse_decision(json.loads(payload)))
                        version = entry.originator_version
                loaded[shop_id] = (version, state)
        return loaded

    def remember(self, shop_id: str, version: int, state: ShopState) -> None:
        """Keep a shop's state as of a version that is now committed."""
        self._cache[shop_id] = (version, state)
        self._cache.move_to_end(shop_id)
        while len(self._cache) > self.maxsize:
            self._cache.popitem(last=False)

    def forget(self, shop_ids: Iterable[str]) -> None:
        for shop_id in shop_ids:
            self._cache.pop(shop_id, None)
