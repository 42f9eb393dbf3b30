"""The use cases of trustledger over eventsourcing's Application: append, verify, erase, keys."""

from trustledger.app.append import AppendOutcome
from trustledger.app.keyfiles import generate_key_files, load_signing_key, load_verifier_key
from trustledger.app.ledger import KeyInfo, Ledger, LogEntry
from trustledger.app.records import Record, read_records
from trustledger.app.verification import VerifyReport, verify_store

__all__ = [
    "AppendOutcome",
    "KeyInfo",
    "Ledger",
    "LogEntry",
    "Record",
    "VerifyReport",
    "generate_key_files",
    "load_signing_key",
    "load_verifier_key",
    "read_records",
    "verify_store",
]
