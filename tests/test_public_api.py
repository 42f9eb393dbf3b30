"""The public names of ``trustledger`` and ``trustledger.app`` resolve (they load lazily)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import trustledger
import trustledger.app
from tests.conftest import make_ledger, shop_history
from trustledger.storage import open_store


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


# -- the traps of issue 19: paths as str or Path, passphrases as str or bytes, standing_of ----
@pytest.mark.parametrize("as_path", [str, Path], ids=["str", "Path"])
@pytest.mark.parametrize(
    "passphrase",
    ["correct horse", b"correct horse", lambda: "correct horse", lambda: b"correct horse"],
    ids=["str", "bytes", "callback-str", "callback-bytes"],
)
def test_key_files_take_str_or_path_and_str_or_bytes_passphrases(
    tmp_path: Path, as_path: Callable[[str], Any], passphrase: Any
) -> None:
    private, public, key = trustledger.generate_key_files(
        "bot-1", as_path(str(tmp_path / "keys")), passphrase
    )
    loaded = trustledger.load_signing_key(as_path(str(private)), passphrase)
    assert loaded.verifier == key.verifier
    assert trustledger.load_verifier_key(as_path(str(public))) == key.verifier


def test_a_str_passphrase_is_its_utf8_bytes(tmp_path: Path) -> None:
    private, _, key = trustledger.generate_key_files("bot-1", tmp_path, "口令 pässword".encode())
    assert trustledger.load_signing_key(private, lambda: "口令 pässword").verifier == key.verifier
    with pytest.raises(trustledger.TrustledgerError, match="wrong passphrase"):
        trustledger.load_signing_key(private, "another")


def test_bundles_and_witness_state_take_str_paths(tmp_path: Path) -> None:
    from trustledger.app.bundle import export_bundle
    from trustledger.app.policy import TrustPolicy
    from trustledger.app.transparency import create_checkpoint
    from trustledger.app.verifier import verify_bundle
    from trustledger.app.witness import cosign_checkpoint, last_cosigned
    from trustledger.ledger.keys import generate_signing_key

    env = make_ledger(tmp_path)
    env.append_history("shop-1")
    log, witness = generate_signing_key("log"), generate_signing_key("witness")
    with env.open() as ledger:
        checkpoint = create_checkpoint(ledger.store, log)
    state = str(tmp_path / "witness")
    cosigned = cosign_checkpoint(
        checkpoint, None, key=witness, state_dir=state, log_keys=[log.verifier]
    )
    assert last_cosigned(state) == cosigned.note
    bundle = str(tmp_path / "audit.bundle")
    entries, _ = export_bundle(env.url, bundle)
    policy = TrustPolicy.of(root_keys=[env.root.verifier], log_keys=[log.verifier])
    assert verify_bundle(bundle, policy=policy, workers=1).entries == entries


def test_standing_of_defaults_to_now_and_catches_the_view_up(tmp_path: Path) -> None:
    from trustledger_projections.projection import rebuild
    from trustledger_projections.queries import standing_of as query

    assert trustledger.standing_of is query
    env = make_ledger(tmp_path)
    history = shop_history("shop-1")
    env.append(history[:1])
    store = open_store(env.url)
    try:
        rebuild(store)
    finally:
        store.close()
    env.append(history[1:])  # the view is now 7 notifications behind

    stale = trustledger.standing_of(env.url, "shop-1", catch_up=False)
    assert stale.behind == len(history) - 1
    answer = trustledger.standing_of(env.url, "shop-1")
    assert answer.behind == 0
    replayed = trustledger.standing_of(env.url, "shop-1", at_position=env.entry_count() - 1)
    assert answer.value == replayed.value
    assert answer.value["penalties"] != stale.value["penalties"]


def test_standing_of_says_how_far_behind_when_it_cannot_catch_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trustledger.errors import StorageUnavailable
    from trustledger_projections import projection

    env = make_ledger(tmp_path)
    env.append(shop_history("shop-1")[:1])
    store = open_store(env.url)
    try:
        projection.rebuild(store)
    finally:
        store.close()
    env.append(shop_history("shop-1")[1:3])

    def read_only(*_: object, **__: object) -> None:  # an auditor's read-only role
        raise StorageUnavailable("permission denied for table standings_tracking")

    monkeypatch.setattr(projection, "catch_up", read_only)
    assert trustledger.standing_of(env.url, "shop-1").behind == 2
