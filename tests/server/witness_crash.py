"""``trustledger witness serve`` that dies (SIGKILL, as a power cut would stop it) at one
point of recording a cosignature: ``python -m tests.server.witness_crash MODE ARGS...``.

MODE ``before-rename``: the new state is written and fsync'd to the temporary file, and the
process dies before renaming it over the state. MODE ``after-write``: the state is fully
recorded (renamed, directory fsync'd), and the process dies before the cosignature is sent.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import trustledger.app.witness as witness_module
from trustledger_cli.main import main

real_write = witness_module.write_durably


def crashing_write(path: Path, data: bytes) -> None:
    if sys.argv[1] == "before-rename":
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        os.fsync(os.open(tmp, os.O_RDONLY))
    else:
        real_write(path, data)
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    witness_module.write_durably = crashing_write
    main(sys.argv[2:], prog_name="trustledger")
