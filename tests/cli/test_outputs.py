"""Files are written whole or not at all: a full disk (ENOSPC, simulated at the fsync of
the temporary file) exits 5 and leaves no file, no empty key blocking the retry and no
temporary file; an existing --out file keeps its bytes."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import Cli, Story, error_line

REAL_FSYNC = os.fsync
FULL = "No space left on device; nothing was written: free some space and retry"


@pytest.fixture
def full_disk(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Every fsync fails with ENOSPC, as on a full disk; yields the calls made."""
    calls: list[int] = []

    def fsync(fd: int) -> None:
        calls.append(fd)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", fsync)
    yield calls


def test_keys_generate_on_a_full_disk_leaves_nothing_and_the_retry_works(
    cli: Cli, workdir: Path, monkeypatch: pytest.MonkeyPatch, full_disk: list[int]
) -> None:
    result = cli("keys", "generate", "bot-9", "--out", "keys/")
    assert (result.exit_code, result.stdout) == (5, "")
    assert error_line(result) == f"trustledger: error: cannot write keys/bot-9.key: {FULL}"
    assert os.listdir(workdir / "keys") == []
    monkeypatch.setattr(os, "fsync", REAL_FSYNC)  # space freed
    result = cli("keys", "generate", "bot-9", "--out", "keys/")
    assert result.exit_code == 0, result.stderr
    assert sorted(os.listdir(workdir / "keys")) == ["bot-9.key", "bot-9.pub"]
    assert stat.S_IMODE((workdir / "keys" / "bot-9.key").stat().st_mode) == 0o600


def test_keys_generate_failing_at_the_public_key_removes_the_private_one(
    cli: Cli, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def fsync(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 3:  # NAME.key's file, its directory, then NAME.pub's file
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        REAL_FSYNC(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    result = cli("keys", "generate", "bot-9", "--out", "keys/")
    assert result.exit_code == 5
    assert error_line(result) == f"trustledger: error: cannot write keys/bot-9.pub: {FULL}"
    assert os.listdir(workdir / "keys") == []


def test_keys_generate_never_overwrites(cli: Cli, workdir: Path) -> None:
    assert cli("keys", "generate", "bot-9", "--out", "keys/").exit_code == 0
    before = (workdir / "keys" / "bot-9.key").read_bytes()
    result = cli("keys", "generate", "bot-9", "--out", "keys/")
    assert result.exit_code == 2
    assert error_line(result) == (
        "trustledger: error: keys/bot-9.key already exists; refusing to overwrite a key"
    )
    assert (workdir / "keys" / "bot-9.key").read_bytes() == before


@pytest.fixture
def checkpointed(story: Story) -> Story:
    assert story.cli("keys", "generate", "log", "--out", "keys/").exit_code == 0
    result = story.cli("checkpoint", "--key", "keys/log.key", "--out", "first.checkpoint")
    assert result.exit_code == 0, result.stderr
    assert story.cli("projections", "rebuild").exit_code == 0
    return story


@pytest.mark.parametrize(
    "args",
    [
        ("report", "standings", "--format", "csv"),
        ("checkpoint", "--key", "keys/log.key"),
        ("prove", "inclusion", "2"),
        ("export",),
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_an_out_file_on_a_full_disk_is_left_as_it_was(
    checkpointed: Story, workdir: Path, args: tuple[str, ...], full_disk: list[int]
) -> None:
    out = workdir / "doc.out"
    result = checkpointed.cli(*args, "--out", "doc.out")
    assert (result.exit_code, result.stdout) == (5, "")
    assert error_line(result) == f"trustledger: error: cannot write doc.out: {FULL}"
    assert not out.exists()
    out.write_bytes(b"the previous document\n")
    assert checkpointed.cli(*args, "--out", "doc.out").exit_code == 5
    assert out.read_bytes() == b"the previous document\n"
    assert sorted(os.listdir(workdir)) == sorted(
        ["doc.out", "first.checkpoint", "keys", "trustledger.db"]
        + [name for name in os.listdir(workdir) if name.startswith("trustledger.db-")]
    )


def test_an_out_file_gets_the_mode_of_any_new_file(checkpointed: Story, workdir: Path) -> None:
    result = checkpointed.cli("prove", "inclusion", "2", "--out", "p.proof")
    assert result.exit_code == 0, result.stderr
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((workdir / "p.proof").stat().st_mode) == 0o666 & ~umask
