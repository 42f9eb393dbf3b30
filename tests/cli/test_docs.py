"""docs/CLI.md documents every command and option: an undocumented one fails the build."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from tests.cli.conftest import command_at, command_paths

CLI_MD = Path(__file__).resolve().parents[2] / "docs" / "CLI.md"


def documented_phrases(markdown: str) -> set[str]:
    """The text of every heading and every code span or fenced code line, whitespace
    collapsed and a leading ``trustledger `` removed: ``keys generate NAME --out DIR``."""
    phrases: list[str] = []
    prose: list[str] = []
    fenced = False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            phrases.append(line)
        elif heading := re.match(r"#{1,6}\s+(.*)", line):
            phrases.append(heading.group(1).replace("`", ""))
        else:
            prose.append(line)
    # Code spans may wrap across lines and use longer fences: ``a `b` c``.
    phrases += [span for _, span in re.findall(r"(`+)(.+?)\1", "\n".join(prose), re.DOTALL)]
    normalised = {" ".join(phrase.split()) for phrase in phrases}
    return {phrase.removeprefix("trustledger ") for phrase in normalised}


def is_documented(path: str, phrases: set[str]) -> bool:
    return any(phrase == path or phrase.startswith(path + " ") for phrase in phrases)


@pytest.fixture(scope="module")
def phrases() -> set[str]:
    return documented_phrases(CLI_MD.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", [" ".join(p) for p in command_paths()])
def test_every_command_is_documented(path: str, phrases: set[str]) -> None:
    assert is_documented(path, phrases), f"`trustledger {path}` is missing from docs/CLI.md"


def test_every_command_has_its_own_heading() -> None:
    headings = {
        " ".join(match.replace("`", "").split())
        for match in re.findall(r"^#{1,6}\s+(.*)$", CLI_MD.read_text(encoding="utf-8"), re.M)
    }
    leaves = [" ".join(p) for p in command_paths() if not isinstance(command_at(p), click.Group)]
    missing = [path for path in leaves if f"trustledger {path}" not in headings]
    assert not missing, f"commands without a `### trustledger ...` heading in CLI.md: {missing}"


@pytest.mark.parametrize("path", [(), *command_paths()], ids=lambda p: " ".join(p) or "main")
def test_every_option_is_documented(path: tuple[str, ...], phrases: set[str]) -> None:
    text = " ".join(phrases)
    options = [
        flag
        for param in command_at(path).params
        if isinstance(param, click.Option)
        for flag in param.opts
        if flag.startswith("--") and flag != "--help"
    ]
    missing = [flag for flag in options if not re.search(rf"{re.escape(flag)}\b", text)]
    assert not missing, f"options of `trustledger {' '.join(path)}` missing in CLI.md: {missing}"


def test_the_check_notices_an_undocumented_command() -> None:
    sample = documented_phrases(
        "### `trustledger keys generate`\n"
        "Run `trustledger verify --trusted-key\nkeys/root.pub` or ``log --shop `x` ``.\n"
        "The word init in prose is not documentation.\n"
        "```sh\ntrustledger erase buyer-77\n```\n"
    )
    for path in ("keys generate", "verify", "log", "erase"):
        assert is_documented(path, sample), path
    for path in ("init", "keys list", "ver"):  # a group counts as documented with its commands
        assert not is_documented(path, sample), path
