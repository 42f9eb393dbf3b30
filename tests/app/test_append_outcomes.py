"""The append path makes its outcomes without the frozen dataclass's constructor: they
must be the very objects it makes."""

from __future__ import annotations

import pytest

from trustledger.app.append import AppendOutcome, _appended


def test_an_appended_outcome_is_the_constructor_s() -> None:
    made = AppendOutcome(4, "d-1", 17, "appended")
    fast = _appended(4, "d-1", 17)
    assert list(vars(fast).items()) == list(vars(made).items())
    assert fast == made and repr(fast) == repr(made) and hash(fast) == hash(made)
    with pytest.raises(AttributeError):
        fast.position = 18  # type: ignore[misc]  # still frozen
