"""The public names of ``trustledger`` and ``trustledger.app`` resolve (they load lazily)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import trustledger
import trustledger.app


@pytest.mark.parametrize("package", [trustledger, trustledger.app])
def test_every_public_name_resolves(package: object) -> None:
    names = package.__all__  # type: ignore[attr-defined]
    assert sorted(names) == sorted(package._EXPORTS)  # type: ignore[attr-defined]
    for name in names:
        assert getattr(package, name) is not None


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = trustledger.Nope


def test_a_verification_worker_does_not_import_the_append_path() -> None:
    # Verification workers are spawned processes: what they import is paid per worker.
    code = (
        "import sys, trustledger.app.verification, trustledger.storage.sqlite;"
        "m = sys.modules;"
        "print('trustledger.app.append' in m, 'trustledger.domain.aggregates' in m)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
