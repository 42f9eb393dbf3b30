"""The eventsourcing aggregates: one per shop, and the keyring, to read stored events back.

Every stored event is one signed decision or key event. Its fields are the envelope of
``trustledger.ledger.envelope`` (canonical payload text, signature, key id); the aggregate
state is derived from the payload alone, so replaying the events rebuilds exactly what
was checked on append. The events are written by ``trustledger.app.stored_events``, never
through these classes: eventsourcing's repository and mapper use them only to rebuild an
aggregate or a domain event from what is stored. Topics are explicit and stable: they are
hashed into every entry (docs/FORMAT.md §5), so a rename of a class here must keep its
``TOPIC``.
"""

from __future__ import annotations

import json

from eventsourcing.domain import Aggregate

from trustledger.domain.decision import Decision, parse_decision
from trustledger.domain.identity import KEYRING_TOPIC, SHOP_TOPIC, topic_of
from trustledger.domain.keyring import KeyringState, parse_key_event
from trustledger.domain.shop import ShopState


def decode_decision(payload: str) -> Decision:
    """The decision a stored payload carries (personal data still sealed)."""
    return parse_decision(json.loads(payload))


class Shop(Aggregate, created_event_name="Registered"):
    """A shop's history of decisions; holds the rule state the next decision is checked on."""

    TOPIC = SHOP_TOPIC

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

    class DepositPaid(Decided):
        TOPIC = topic_of("deposit.paid")

    class DepositRefunded(Decided):
        TOPIC = topic_of("deposit.refunded")

    class RemedyOrdered(Decided):
        TOPIC = topic_of("remedy.ordered")

    class RemedyCompleted(Decided):
        TOPIC = topic_of("remedy.completed")

    class RemedyCancelled(Decided):
        TOPIC = topic_of("remedy.cancelled")

    class ProgrammeEnrolled(Decided):
        TOPIC = topic_of("programme.enrolled")

    class ProgrammeExited(Decided):
        TOPIC = topic_of("programme.exited")


class Keyring(Aggregate, created_event_name="Initialised"):
    """The pinned root key and the decider keys registered and revoked under it."""

    TOPIC = KEYRING_TOPIC

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
