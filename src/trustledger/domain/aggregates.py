"""The eventsourcing aggregates: one per shop, and the keyring.

Every stored event is one signed decision. Its fields are the envelope of
``trustledger.ledger.envelope`` (canonical payload text, signature, key id); the aggregate
state is derived from the payload alone, so replaying the events rebuilds exactly what
was checked on append. Topics are explicit and stable: they are hashed into every entry
(docs/FORMAT.md), so a rename of a class here must keep its ``TOPIC``.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from eventsourcing.domain import Aggregate

from trustledger.domain.decision import Decision, parse_decision
from trustledger.domain.identity import KEYRING_ID, shop_aggregate_id, topic_of
from trustledger.domain.keyring import KeyringState, parse_key_event
from trustledger.domain.shop import ShopState


def decode_decision(payload: str) -> Decision:
    """The decision a stored payload carries (personal data still sealed)."""
    return parse_decision(json.loads(payload))


class Shop(Aggregate, created_event_name="Registered"):
    """A shop's history of decisions; holds the rule state the next decision is checked on."""

    TOPIC = "trustledger:shop"

    class Created(Aggregate.Created):
        # eventsourcing wants a topic on the inherited default; never stored (see Registered).
        TOPIC = "trustledger:shop.created-unused"

    class Registered(Aggregate.Created):
        TOPIC = topic_of("shop.registered")
        payload: str
        signature: str
        key_id: str

    def __init__(self, payload: str, signature: str, key_id: str) -> None:
        decision = decode_decision(payload)
        self.shop_id = decision.shop_id
        self.state = ShopState(decision.shop_id)
        self.state.apply(decision)

    class Decided(Aggregate.Event):
        """Base of every shop decision after registration (never stored itself)."""

        TOPIC = "trustledger:shop.decided"
        payload: str
        signature: str
        key_id: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Shop)
            aggregate.state.apply(decode_decision(self.payload))

    class Closed(Decided):
        TOPIC = topic_of("shop.closed")

    class VerificationSubmitted(Decided):
        TOPIC = topic_of("verification.submitted")

    class VerificationApproved(Decided):
        TOPIC = topic_of("verification.approved")

    class VerificationRejected(Decided):
        TOPIC = topic_of("verification.rejected")

    class VerificationExpired(Decided):
        TOPIC = topic_of("verification.expired")

    class VerificationRevoked(Decided):
        TOPIC = topic_of("verification.revoked")

    class ComplaintFiled(Decided):
        TOPIC = topic_of("complaint.filed")

    class ComplaintResponded(Decided):
        TOPIC = topic_of("complaint.responded")

    class ComplaintSubstantiated(Decided):
        TOPIC = topic_of("complaint.substantiated")

    class ComplaintDismissed(Decided):
        TOPIC = topic_of("complaint.dismissed")

    class ComplaintWithdrawn(Decided):
        TOPIC = topic_of("complaint.withdrawn")

    class PenaltyImposed(Decided):
        TOPIC = topic_of("penalty.imposed")

    class PenaltyRevoked(Decided):
        TOPIC = topic_of("penalty.revoked")

    class AppealFiled(Decided):
        TOPIC = topic_of("appeal.filed")

    class AppealUpheld(Decided):
        """Upholding an appeal also revokes its penalty: one event, so one transaction."""

        TOPIC = topic_of("appeal.upheld")

    class AppealRejected(Decided):
        TOPIC = topic_of("appeal.rejected")

    class AppealWithdrawn(Decided):
        TOPIC = topic_of("appeal.withdrawn")

    EVENT_CLASSES: ClassVar[dict[str, type[Decided]]] = {}

    @classmethod
    def register(cls, decision: Decision, payload: str, signature: str, key_id: str) -> Shop:
        """A new shop aggregate from its signed ``shop.registered`` decision."""
        shop = cls._create(
            cls.Registered,
            id=shop_aggregate_id(decision.shop_id),
            payload=payload,
            signature=signature,
            key_id=key_id,
        )
        return shop

    def record(self, decision: Decision, payload: str, signature: str, key_id: str) -> None:
        """Record a signed decision (checked beforehand by ``ShopState.check``)."""
        self.trigger_event(
            self.EVENT_CLASSES[decision.type], payload=payload, signature=signature, key_id=key_id
        )


Shop.EVENT_CLASSES.update(
    {
        event_class.TOPIC.removeprefix("trustledger:"): event_class
        for event_class in vars(Shop).values()
        if isinstance(event_class, type)
        and issubclass(event_class, Shop.Decided)
        and event_class is not Shop.Decided
    }
)


class Keyring(Aggregate, created_event_name="Initialised"):
    """The pinned root key and the decider keys registered and revoked under it."""

    TOPIC = "trustledger:keyring"

    class Created(Aggregate.Created):
        TOPIC = "trustledger:keyring.created-unused"

    class Initialised(Aggregate.Created):
        TOPIC = topic_of("ledger.initialised")
        payload: str
        signature: str
        key_id: str

    def __init__(self, payload: str, signature: str, key_id: str) -> None:
        self.state = KeyringState()
        self.state.apply(parse_key_event(json.loads(payload)))

    class KeyEvent(Aggregate.Event):
        TOPIC = "trustledger:keyring.event"
        payload: str
        signature: str
        key_id: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Keyring)
            aggregate.state.apply(parse_key_event(json.loads(self.payload)))

    class KeyRegistered(KeyEvent):
        TOPIC = topic_of("key.registered")

    class KeyRevoked(KeyEvent):
        TOPIC = topic_of("key.revoked")

    class RulesPublished(KeyEvent):
        """A rule set (TOML, with its content hash) published under the root key."""

        TOPIC = topic_of("rules.published")

    @classmethod
    def initialise(cls, payload: str, signature: str, key_id: str) -> Keyring:
        return cls._create(
            cls.Initialised, id=KEYRING_ID, payload=payload, signature=signature, key_id=key_id
        )

    def record(self, event_type: str, payload: str, signature: str, key_id: str) -> None:
        event_class: Any = {
            "key.registered": self.KeyRegistered,
            "key.revoked": self.KeyRevoked,
            "rules.published": self.RulesPublished,
        }[event_type]
        self.trigger_event(event_class, payload=payload, signature=signature, key_id=key_id)
