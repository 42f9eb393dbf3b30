"""Key events: the ledger's genesis, decider key registrations and revocations.

They are signed by the root key pinned at ``init``. Their documents have the shape of a
decision without a shop:

    {"decision_id": UUID, "type": "ledger.initialised" | "key.registered" | "key.revoked",
     "occurred_at": RFC 3339 UTC, "actor": optional, "data": {...}}

with ``data`` = ``{"root_key": VKEY}``, ``{"key": VKEY}`` or ``{"key_id": KEYID, "reason": str}``
where VKEY is a C2SP verifier key ``name+keyid+base64``. A ``rules.published`` event carries a
rule set: ``{"version": str, "sha256": hex of the TOML bytes, "effective_from": RFC 3339,
"toml": the rule set's TOML text}`` (``trustledger.domain.rules``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from trustledger.domain.rules import RuleBook, parse_rules
from trustledger.domain.timefmt import format_timestamp, parse_timestamp
from trustledger.errors import Conflict, InvalidDecision, KeyRejected

_DATA_FIELDS = {
    "ledger.initialised": ({"root_key"}, set()),
    "key.registered": ({"key"}, set()),
    "key.revoked": ({"key_id"}, {"reason"}),
    "rules.published": ({"version", "sha256", "effective_from", "toml"}, set()),
}
# Every type of event the keyring records (the entries of a log that are not shop decisions).
KEY_EVENT_TYPES = frozenset(_DATA_FIELDS)


@dataclass(frozen=True)
class KeyEvent:
    decision_id: str
    type: str
    occurred_at: datetime
    actor: str | None
    data: dict[str, str]

    def to_document(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "decision_id": self.decision_id,
            "type": self.type,
            "occurred_at": format_timestamp(self.occurred_at),
            "data": dict(self.data),
        }
        if self.actor is not None:
            document["actor"] = self.actor
        return document


def verifier_public_key(text: str) -> bytes:
    """The key material (type byte and public key) of a C2SP verifier key text, as
    written: one text per key (docs/FORMAT.md §1), so equal keys have equal material."""
    return text.split("+", 2)[2].encode("ascii", "replace")


def verifier_key_parts(text: str) -> tuple[str, str]:
    """(name, key id) of a C2SP verifier key text, without checking the key material."""
    parts = text.split("+", 2)  # the base64 key material may itself contain '+'
    if len(parts) != 3 or not parts[0] or len(parts[1]) != 8:
        raise InvalidDecision(f"not a verifier key: {text[:80]!r}")
    return parts[0], parts[1]


def parse_key_event(obj: object) -> KeyEvent:
    """Validate a key event document; raises InvalidDecision."""
    if not isinstance(obj, dict):
        raise InvalidDecision("a key event is a JSON object")
    unknown = set(obj) - {"decision_id", "type", "occurred_at", "actor", "data"}
    if unknown:
        raise InvalidDecision(f"unknown field(s) in key event: {', '.join(sorted(unknown))}")
    event_type = obj.get("type")
    if event_type not in _DATA_FIELDS:
        raise InvalidDecision(f"type: not a key event type: {event_type!r}")
    try:
        decision_id = str(uuid.UUID(str(obj.get("decision_id"))))
    except ValueError:
        raise InvalidDecision("decision_id: not a UUID") from None
    actor = obj.get("actor")
    if actor is not None and not isinstance(actor, str):
        raise InvalidDecision("actor: must be a string")
    data = obj.get("data")
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise InvalidDecision("data: must be an object of strings")
    required, optional = _DATA_FIELDS[event_type]
    missing = required - set(data)
    extra = set(data) - required - optional
    if missing or extra:
        raise InvalidDecision(
            f"data of {event_type}: missing {sorted(missing)}, unknown {sorted(extra)}"
        )
    return KeyEvent(
        decision_id,
        event_type,
        parse_timestamp(obj.get("occurred_at"), field="occurred_at"),
        actor,
        dict(data),
    )


@dataclass
class KeyRecord:
    """A decider key as the ledger knows it."""

    key_id: str
    name: str
    verifier_key: str
    registered_at: datetime
    registered_by: str  # decision id of the registration
    revoked_at: datetime | None = None
    revocation_reason: str | None = None

    @property
    def state(self) -> str:
        return "revoked" if self.revoked_at is not None else "active"


@dataclass
class KeyringState:
    """The root key and every decider key, by key id."""

    root_key: str | None = None
    initialised_at: datetime | None = None
    keys: dict[str, KeyRecord] = field(default_factory=dict)
    rule_book: RuleBook = field(default_factory=RuleBook)

    def check(self, event: KeyEvent) -> None:
        """Raises Conflict or KeyRejected when the event cannot follow the current state."""
        if event.type == "rules.published":
            check_rules_event(event)
            version = event.data["version"]
            if any(item.rules.version == version for item in self.rule_book.published):
                raise Conflict(f"rule set {version} is already published; publish a new version")
            return
        if event.type == "ledger.initialised":
            if self.root_key is not None:
                raise Conflict("the ledger is already initialised")
            return
        if event.type == "key.registered":
            name, key_id = verifier_key_parts(event.data["key"])
            material = verifier_public_key(event.data["key"])
            if self._is_root(key_id) or (
                self.root_key is not None and verifier_public_key(self.root_key) == material
            ):
                raise Conflict("the root key cannot be registered as a decider key")
            for record in self.keys.values():
                # docs/FORMAT.md §8.2: a public key is registered once, whatever its name: a
                # revoked key registered again under a new name would sign again.
                if verifier_public_key(record.verifier_key) == material:
                    raise Conflict(
                        f"this public key is already registered as {record.name}+"
                        f"{record.key_id} ({record.state}); a public key is registered once "
                        "(generate a new key with `trustledger keys generate NAME`)"
                    )
            if key_id in self.keys:
                raise Conflict(
                    f"key {key_id} is already registered (as {self.keys[key_id].name!r})"
                )
            for record in self.keys.values():
                if record.name == name and record.revoked_at is None:
                    raise Conflict(f"an active key is already named {name!r} ({record.key_id})")
            return
        key_id = event.data["key_id"]
        revoked = self.keys.get(key_id)
        if revoked is None and self._is_root(key_id):
            raise KeyRejected(
                f"key {key_id} is the ledger's root key, which cannot be revoked: auditors pin "
                "it (a compromised root needs a new ledger)"
            )
        if revoked is None:
            raise KeyRejected(f"key {key_id} is not registered in this ledger")
        if revoked.revoked_at is not None:
            raise Conflict(f"key {key_id} is already revoked")

    def apply(self, event: KeyEvent) -> None:
        if event.type == "rules.published":
            self.rule_book = self.rule_book.with_published(parse_rules(event.data["toml"]))
            return
        if event.type == "ledger.initialised":
            self.root_key = event.data["root_key"]
            self.initialised_at = event.occurred_at
        elif event.type == "key.registered":
            name, key_id = verifier_key_parts(event.data["key"])
            self.keys[key_id] = KeyRecord(
                key_id, name, event.data["key"], event.occurred_at, event.decision_id
            )
        else:
            record = self.keys[event.data["key_id"]]
            record.revoked_at = event.occurred_at
            record.revocation_reason = event.data.get("reason")

    def _is_root(self, key_id: str) -> bool:
        return self.root_key is not None and verifier_key_parts(self.root_key)[1] == key_id

    def active_key(self, key_id: str) -> KeyRecord:
        """The active decider key with this id; raises KeyRejected (rule 7) otherwise."""
        record = self.keys.get(key_id)
        if record is None and self._is_root(key_id):
            raise KeyRejected(
                f"signing key {key_id} is the ledger's root key, which signs key events only: "
                "append with a registered decider key (`trustledger keys list`)"
            )
        if record is None:
            raise KeyRejected(
                f"signing key {key_id} is not registered in this ledger "
                "(register it with `trustledger keys register KEY.pub --by ROOT.key`)"
            )
        if record.revoked_at is not None:
            raise KeyRejected(
                f"signing key {key_id} ({record.name}) was revoked at "
                f"{format_timestamp(record.revoked_at)}"
            )
        return record


def check_rules_event(event: KeyEvent) -> None:
    """A ``rules.published`` event's data agrees with its TOML, and is not retroactive.

    Raises InvalidDecision when the TOML is invalid or its hash, version or effective_from
    disagree with the event's data; Conflict when ``effective_from`` lies
    before the publication's ``occurred_at`` (a rule set never changes the past).
    """
    data = event.data
    published = parse_rules(data["toml"])
    if published.sha256 != data["sha256"]:
        raise InvalidDecision(
            f"rules.published: sha256 {data['sha256']} is not the SHA-256 of the TOML text "
            f"({published.sha256})"
        )
    if published.rules.version != data["version"]:
        raise InvalidDecision(
            f"rules.published: version {data['version']!r} differs from the TOML's "
            f"{published.rules.version!r}"
        )
    effective_from = parse_timestamp(data["effective_from"], field="data.effective_from")
    if effective_from != published.effective_from:
        raise InvalidDecision(
            f"rules.published: effective_from {data['effective_from']} differs from the TOML's "
            f"{format_timestamp(published.effective_from)}"
        )
    if effective_from < event.occurred_at:
        raise Conflict(
            f"rule set {data['version']} would take effect at {data['effective_from']}, before "
            f"its publication at {format_timestamp(event.occurred_at)}; rule sets never apply "
            "retroactively"
        )
