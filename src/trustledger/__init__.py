"""trustledger: a signed, hash-chained, event-sourced ledger of enforcement decisions.

The public API is small: open a ``Ledger``, ``append`` decisions with a ``SigningKey``,
``verify`` with public keys only, read a shop's ``standing_of``. See docs/API.md in the
repository.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trustledger.app import (
        AppendOutcome,
        KeyInfo,
        Ledger,
        LedgerClient,
        LogEntry,
        SignedRecord,
        VerifyReport,
        generate_key_files,
        load_signing_key,
        load_verifier_key,
        read_records,
    )
    from trustledger.errors import (
        BatchRejected,
        SignatureRejected,
        TrustledgerError,
    )
    from trustledger.ledger.keys import (
        SigningKey,
        VerifierKey,
        format_verifier_key,
        parse_verifier_key,
    )
    from trustledger_projections.queries import standing_of

__version__ = "0.1.0"

# Where each public name lives. Imported on first use (PEP 562), so that a verification
# worker process, which needs only the pure core and a store, starts without importing
# the whole application (eventsourcing's aggregates, the append path): start-up is paid
# once per worker and counts against verification throughput.
_EXPORTS = {
    "AppendOutcome": "trustledger.app",
    "KeyInfo": "trustledger.app",
    "Ledger": "trustledger.app",
    "LedgerClient": "trustledger.app",
    "SignedRecord": "trustledger.app",
    "LogEntry": "trustledger.app",
    "VerifyReport": "trustledger.app",
    "generate_key_files": "trustledger.app",
    "load_signing_key": "trustledger.app",
    "load_verifier_key": "trustledger.app",
    "read_records": "trustledger.app",
    "TrustledgerError": "trustledger.errors",
    "BatchRejected": "trustledger.errors",
    "SignatureRejected": "trustledger.errors",
    "SigningKey": "trustledger.ledger.keys",
    "VerifierKey": "trustledger.ledger.keys",
    "format_verifier_key": "trustledger.ledger.keys",
    "parse_verifier_key": "trustledger.ledger.keys",
    # The read model sits above the application (pyproject.toml's layers); the package's
    # front door names it for the embedding code, which sees one API.
    "standing_of": "trustledger_projections.queries",
}

__all__ = [
    "AppendOutcome",
    "BatchRejected",
    "KeyInfo",
    "Ledger",
    "LedgerClient",
    "LogEntry",
    "SignatureRejected",
    "SignedRecord",
    "SigningKey",
    "TrustledgerError",
    "VerifierKey",
    "VerifyReport",
    "format_verifier_key",
    "generate_key_files",
    "load_signing_key",
    "load_verifier_key",
    "parse_verifier_key",
    "read_records",
    "standing_of",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'trustledger' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
