from __future__ import annotations

import pytest

from tests.fakes import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(autouse=True)
def _no_clanforge_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own CLANFORGE_* variables must not leak into tests."""
    import os

    for name in list(os.environ):
        if name.startswith("CLANFORGE_") or name in ("GITHUB_ACTIONS", "GITLAB_CI"):
            monkeypatch.delenv(name, raising=False)
