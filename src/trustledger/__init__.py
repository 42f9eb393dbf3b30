"""trustledger: a signed, hash-chained, event-sourced ledger of enforcement decisions.

The public API is small: open a ``Ledger``, ``append`` decisions with a ``SigningKey``,
``verify`` with public keys only. See docs/API.md in the repository.
"""

from trustledger.app import (
    AppendOutcome,
    KeyInfo,
    Ledger,
    LogEntry,
    VerifyReport,
    generate_key_files,
    load_signing_key,
    load_verifier_key,
    read_records,
)
from trustledger.errors import TrustledgerError
from trustledger.ledger.keys import SigningKey, VerifierKey, format_verifier_key, parse_verifier_key

__version__ = "0.1.0"

__all__ = [
    "AppendOutcome",
    "KeyInfo",
    "Ledger",
    "LogEntry",
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
]
