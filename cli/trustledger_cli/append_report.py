"""What ``trustledger append`` prints while batches are written and when it ends.

stdout: nothing by default, JSON Lines with ``--json`` (one line per decision as its batch
is written, then one summary object). stderr: a progress line redrawn per batch when it is
a terminal, then one summary line (none with ``--quiet``); after a failure, what earlier
batches wrote, before the error line.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import sys
import time
from dataclasses import asdict
from types import TracebackType
from typing import BinaryIO

import click

from trustledger.app.append import AppendOutcome, AppendTally
from trustledger.errors import BatchRejected


class AppendReport:
    """Renders one append; a context manager around its batches."""

    def __init__(self, stream: BinaryIO, *, as_json: bool, quiet: bool) -> None:
        self.stream = stream
        self.as_json = as_json
        self.quiet = quiet
        self.tally = AppendTally()
        self.started = time.monotonic()
        self.terminal = sys.stderr.isatty() and not quiet  # a progress line
        self.total_bytes = _size(stream)

    def __enter__(self) -> AppendReport:
        return self

    def batch(self, outcomes: list[AppendOutcome]) -> None:
        """One batch written."""
        self.tally.add(outcomes)
        if self.as_json and outcomes:
            click.echo("\n".join(json.dumps(asdict(o), ensure_ascii=False) for o in outcomes))
        if self.terminal:
            self._progress()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.terminal:
            click.echo("\r\033[K", nl=False, err=True)  # clear the progress line
        refused = len(error.problems) if isinstance(error, BatchRejected) else 0
        if self.as_json:
            click.echo(json.dumps({"summary": self._summary(refused, failed=error is not None)}))
        if error is None:
            if not self.quiet and not self.as_json:
                click.echo(self._line(), err=True)
        elif self.tally.through_line:
            click.echo(f"trustledger: {self._written()}", err=True)

    def _summary(self, refused: int, *, failed: bool) -> dict[str, object]:
        t = self.tally
        return {
            "appended": t.appended,
            "duplicates": t.duplicates,
            "refused": refused,
            "first_position": t.first_position,
            "last_position": t.last_position,
            "written_through_line": t.through_line,
            "complete": not failed,
            "elapsed_seconds": round(time.monotonic() - self.started, 3),
        }

    def _counts(self) -> str:
        t = self.tally
        positions = (
            f"positions {t.first_position}–{t.last_position}"
            if t.first_position is not None
            else "no new positions"
        )
        return f"appended {t.appended:,}, already present {t.duplicates:,}, {positions}"

    def _line(self) -> str:
        elapsed = time.monotonic() - self.started
        return f"{self._counts()}, refused 0, {elapsed:.1f} s"

    def _written(self) -> str:
        through = self.tally.through_line
        return (
            f"written: lines 1–{through} ({self._counts()}); nothing from line {through + 1} "
            "on was written: fix the input and append the whole of it again (what is "
            "written is a no-op the second time)"
        )

    def _progress(self) -> None:
        done = self.tally.appended + self.tally.duplicates
        rate = done / max(time.monotonic() - self.started, 1e-9)
        share = ""
        if self.total_bytes:
            with contextlib.suppress(OSError):
                share = f" ({100 * self.stream.tell() / self.total_bytes:.0f} %)"
        click.echo(f"\r\033[Kappending: {done:,} decisions{share}, {rate:,.0f}/s", nl=False,
                   err=True)  # fmt: skip


def _size(stream: BinaryIO) -> int | None:
    """The input's length in bytes when it is a regular file (for the progress share)."""
    try:
        info = os.fstat(stream.fileno())
    except (OSError, ValueError):  # io.UnsupportedOperation is both: no file descriptor
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None
