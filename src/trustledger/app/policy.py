"""What an auditor trusts, kept apart by kind: the trust policy every verification runs on.

A ledger is judged against keys pinned out of band (docs/AUDITOR.md): the **root** keys
(the ledger's genesis must name one), the **log** keys (one must sign every checkpoint),
the **witness** keys with the **quorum** of distinct witness public keys every checkpoint
needs, and optionally the log's **origin**. Kinds never stand in for each other: a root
key does not sign checkpoints, a witness key does not sign entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from trustledger.errors import UsageError
from trustledger.ledger.cosignature import CosignerKey, check_quorum_reachable
from trustledger.ledger.keys import VerifierKey
from trustledger.ledger.note import NoteVerifier


@dataclass(frozen=True)
class TrustPolicy:
    """The pinned keys and the witness quorum. Build it with ``TrustPolicy.of``."""

    root_keys: tuple[VerifierKey, ...] = ()
    log_keys: tuple[NoteVerifier, ...] = ()
    witness_keys: tuple[CosignerKey, ...] = ()
    quorum: int = 0
    origin: str | None = None

    @classmethod
    def of(
        cls,
        *,
        root_keys: Sequence[VerifierKey] = (),
        log_keys: Sequence[NoteVerifier] = (),
        witness_keys: Sequence[CosignerKey] = (),
        quorum: int = 0,
        origin: str | None = None,
    ) -> TrustPolicy:
        """A policy; UsageError for a quorum the witness keys cannot meet (one public key
        given under two names counts once)."""
        check_quorum_reachable(witness_keys, quorum)
        return cls(tuple(root_keys), tuple(log_keys), tuple(witness_keys), quorum, origin)

    def require_roots(self) -> tuple[VerifierKey, ...]:
        """The root keys; UsageError when none was pinned."""
        if not self.root_keys:
            raise UsageError("verification needs the pinned root key: pass --trusted-key ROOT")
        return self.root_keys

    def require_log_keys(self, what: str) -> tuple[NoteVerifier, ...]:
        """The log keys; UsageError naming ``what`` needs one when none was pinned."""
        if not self.log_keys:
            raise UsageError(
                f"{what} is signed by the log key, and none was given: pass --log-key LOG.pub "
                "(the key that signs checkpoints, pinned with the root key)"
            )
        return self.log_keys
