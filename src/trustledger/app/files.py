"""Files written whole or not at all: every ``--out`` document, bundle and key file.

A file is written to a temporary file beside it (same directory, so same file system),
flushed to disk, then renamed onto its name; on any failure the temporary file is removed.
So a full disk or a crash never leaves a 0-byte or half-written file, which a key file
would make worse: ``keys generate`` refuses to overwrite, and the retry would be blocked.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from trustledger.errors import StorageUnavailable, UsageError

# Errors that mean the disk (or the user's quota) is full: "storage unavailable", exit 5.
_FULL = {errno.ENOSPC, errno.EDQUOT}


def write_file(
    path: Path,
    content: bytes | Callable[[BinaryIO], None],
    *,
    exclusive: bool = False,
    private: bool = False,
) -> None:
    """Write ``content`` (bytes, or a function writing to the open file) at ``path``.

    ``exclusive``: never replace an existing file (UsageError if there is one, checked
    atomically by a hard link). ``private``: mode 0600, else 0666 less the umask. Raises
    StorageUnavailable when the disk is full, UsageError for any other OSError (a missing
    directory, no permission), naming the file; nothing is left behind either way.
    """
    try:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise write_failure(path, exc) from exc
    temporary = Path(name)
    try:
        try:
            # mkstemp creates 0600; a document gets the mode any new file would.
            os.fchmod(fd, 0o600 if private else 0o666 & ~_umask())
            with os.fdopen(fd, "wb") as handle:
                if callable(content):
                    content(handle)
                else:
                    handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            if exclusive:
                _link_exclusively(temporary, path)
            else:
                os.replace(temporary, path)
            _sync_directory(path.parent)
        except OSError as exc:
            raise write_failure(path, exc) from exc
    finally:
        temporary.unlink(missing_ok=True)


def _link_exclusively(temporary: Path, path: Path) -> None:
    """Give ``temporary`` the name ``path`` unless a file has it (atomic: a hard link)."""
    try:
        os.link(temporary, path)
    except FileExistsError:
        raise UsageError(f"{path} already exists; refusing to overwrite it") from None
    except OSError as exc:
        if exc.errno not in {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP}:
            raise
        # A file system without hard links: checked, then renamed (a race stays possible).
        if path.exists():
            raise UsageError(f"{path} already exists; refusing to overwrite it") from None
        os.replace(temporary, path)


def _sync_directory(directory: Path) -> None:
    # The rename is durable only once the directory is (best effort: not every OS can).
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_failure(path: Path, exc: OSError) -> StorageUnavailable | UsageError:
    """The error to raise for ``exc`` met writing ``path``: exit 5 for a full disk."""
    reason = exc.strerror or str(exc)
    if exc.errno in _FULL:
        return StorageUnavailable(
            f"cannot write {path}: {reason}; nothing was written: free some space and retry"
        )
    return UsageError(f"cannot write {path}: {reason}")
