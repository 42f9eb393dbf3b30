"""The use cases of trustledger over eventsourcing's Application: append, verify, erase, keys."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trustledger.app.append import AppendOutcome, DryRunOutcome
    from trustledger.app.client import LedgerClient, SignedRecord
    from trustledger.app.keyfiles import generate_key_files, load_signing_key, load_verifier_key
    from trustledger.app.ledger import KeyInfo, Ledger, LogEntry
    from trustledger.app.policy import TrustPolicy
    from trustledger.app.records import Record, read_records
    from trustledger.app.verifier import (
        LedgerNotIntact,
        VerifyReport,
        verify_bundle,
        verify_proof,
        verify_store,
    )

# Imported on first use (PEP 562): see trustledger/__init__.py.
_EXPORTS = {
    "AppendOutcome": "trustledger.app.append",
    "DryRunOutcome": "trustledger.app.append",
    "LedgerClient": "trustledger.app.client",
    "SignedRecord": "trustledger.app.client",
    "generate_key_files": "trustledger.app.keyfiles",
    "load_signing_key": "trustledger.app.keyfiles",
    "load_verifier_key": "trustledger.app.keyfiles",
    "KeyInfo": "trustledger.app.ledger",
    "Ledger": "trustledger.app.ledger",
    "LogEntry": "trustledger.app.ledger",
    "Record": "trustledger.app.records",
    "read_records": "trustledger.app.records",
    "TrustPolicy": "trustledger.app.policy",
    "LedgerNotIntact": "trustledger.app.verifier",
    "VerifyReport": "trustledger.app.verifier",
    "verify_bundle": "trustledger.app.verifier",
    "verify_proof": "trustledger.app.verifier",
    "verify_store": "trustledger.app.verifier",
}

__all__ = [
    "AppendOutcome",
    "DryRunOutcome",
    "KeyInfo",
    "Ledger",
    "LedgerClient",
    "LedgerNotIntact",
    "LogEntry",
    "Record",
    "SignedRecord",
    "TrustPolicy",
    "VerifyReport",
    "generate_key_files",
    "load_signing_key",
    "load_verifier_key",
    "read_records",
    "verify_bundle",
    "verify_proof",
    "verify_store",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'trustledger.app' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
