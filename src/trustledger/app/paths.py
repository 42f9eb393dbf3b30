"""The type of every path the public API takes: a ``str`` or any ``os.PathLike``."""

from __future__ import annotations

import os
from typing import TypeAlias

StrPath: TypeAlias = str | os.PathLike[str]
