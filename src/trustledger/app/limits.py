"""The size limits of a decision, checked as soon as it is parsed (docs/CLI.md, "Limits").

A decision becomes one log entry, and a C2SP tlog-tiles entry holds at most
``MAX_ENTRY_SIZE`` (65,535) bytes: a decision whose canonical document is already larger can
never be recorded, so it is refused before its personal data is sealed or it is signed. The
entry's own size (sealed, signed, escaped) is checked again before the write
(app.append._refuse_oversized). Personal data identifies a subject (a name, a phone number,
an address), it is not a place for documents: sealing it grows it by a third.
"""

from __future__ import annotations

from typing import Final

from trustledger.domain.decision import Decision
from trustledger.errors import InvalidDecision
from trustledger.ledger.canonical import canonicalize
from trustledger.ledger.tiles import MAX_ENTRY_SIZE

MAX_DECISION_BYTES: Final = MAX_ENTRY_SIZE
"""The most bytes a decision's canonical document (personal data in plaintext) may take."""

MAX_PERSONAL_BYTES: Final = 16 * 1024
"""The most bytes a decision's ``personal`` object may take, canonically encoded."""


def check_size(decision: Decision, canonical: bytes) -> None:
    """Raise InvalidDecision when ``decision`` (whose canonical document is ``canonical``)
    exceeds MAX_DECISION_BYTES or its personal data MAX_PERSONAL_BYTES."""
    if decision.personal is not None:
        personal = len(canonicalize(decision.personal, json_safe=True))
        if personal > MAX_PERSONAL_BYTES:
            raise InvalidDecision(
                f"personal: {personal:,} bytes encoded; at most {MAX_PERSONAL_BYTES:,} are "
                "accepted (docs/CLI.md, Limits): keep documents out of personal data, record "
                "a reference to them"
            )
    if len(canonical) > MAX_DECISION_BYTES:
        raise InvalidDecision(
            f"the decision is {len(canonical):,} bytes encoded; at most "
            f"{MAX_DECISION_BYTES:,} are accepted, the largest entry the log serves "
            "(docs/CLI.md, Limits): make the decision smaller"
        )
