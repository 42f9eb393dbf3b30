"""``python -m trustledger``: the ``trustledger`` command, for where its script is not on
PATH (a venv not activated, ``pipx run``, a zipapp).

The core never imports the command line: this module runs only when executed, and it
imports ``trustledger_cli`` (the top layer, shipped in the same distribution) at that
moment. The layers contract (pyproject.toml) is about the packages the library imports;
an entry point sits above them all, as the ``trustledger`` script does.
"""

from __future__ import annotations

import importlib


def run() -> None:
    """Run the ``trustledger`` group with this process's arguments."""
    # Imported by name, so that `import trustledger.__main__` (pydoc, tooling) loads
    # neither click nor the commands.
    root = importlib.import_module("trustledger_cli.root")
    root.main(prog_name="trustledger")


if __name__ == "__main__":
    run()
