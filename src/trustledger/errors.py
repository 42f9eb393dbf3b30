"""One hierarchy of errors, each carrying the exit code of CONTRIBUTING.md.

Library code raises these and never prints or exits; the CLI maps ``exit_code`` to the
process status. Driver, crypto and parsing errors are re-raised as one of these at the
boundary where they occur (``raise X(...) from exc``).
"""

from __future__ import annotations


class TrustledgerError(Exception):
    """Base of every error trustledger raises on purpose."""

    exit_code = 70


class VerificationFailed(TrustledgerError):
    """Tampering, a bad signature or a broken proof: the ledger is not intact."""

    exit_code = 1


class UsageError(TrustledgerError):
    """The caller asked for something malformed (bad URL, bad option, missing key file)."""

    exit_code = 2


class NotFound(TrustledgerError):
    """A thing that was asked for by name or id does not exist."""

    exit_code = 3


class InputRejected(TrustledgerError):
    """Input that breaks a rule or conflicts with what is recorded; nothing was written."""

    exit_code = 4


class InvalidDecision(InputRejected):
    """A decision document is malformed: bad JSON shape, unknown type, missing field."""


class RuleViolation(InputRejected):
    """A well-formed decision that docs/DECISIONS.md's rules on append do not allow."""


class Conflict(InputRejected):
    """The same decision id was already recorded with other content, or state moved on."""


class KeyRejected(InputRejected):
    """A key that is unknown, unregistered, revoked or otherwise not allowed to sign."""


class BatchRejected(InputRejected):
    """A batch with one or more invalid records; ``problems`` lists every one of them."""

    def __init__(
        self, problems: list[tuple[int, str | None, str]], *, written: str = "nothing was written"
    ) -> None:
        # Each problem is (line number, decision id if known, reason); ``written`` says what
        # of the input was recorded (earlier batches of a streamed append may have been).
        self.problems = problems
        count = len(problems)
        first_line, _, first_reason = problems[0]
        super().__init__(
            f"batch rejected: {count} invalid record{'s' if count != 1 else ''}, "
            f"first at line {first_line}: {first_reason}; {written}"
        )


class SignatureRejected(VerificationFailed):
    """A batch of decisions signed elsewhere (the append API) in which a signature does not
    verify; ``problems`` lists every invalid record, as BatchRejected's. Nothing was written."""

    def __init__(self, problems: list[tuple[int, str | None, str]]) -> None:
        self.problems = problems
        lines = ", ".join(str(line) for line, _, _ in problems[:5])
        super().__init__(
            f"batch rejected: {len(problems)} invalid record(s) (lines {lines}"
            f"{', ...' if len(problems) > 5 else ''}), a signature among them does not "
            f"verify: {problems[0][2]}; nothing was written"
        )


class StorageUnavailable(TrustledgerError):
    """The store or configuration cannot be reached or opened."""

    exit_code = 5


class InternalError(TrustledgerError):
    """A bug: something that should not be possible happened."""

    exit_code = 70
