from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from gate.sim import Simulator, SimulatorCredentials
from tests.fakes import ACCESS, ASID, SECRET, TOKEN, FakeClock, FakeTime


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake_time() -> FakeTime:
    """The simulator's clock: a test moves ``now`` on by hand."""
    return FakeTime()


@pytest.fixture(autouse=True)
def _no_clanforge_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own CLANFORGE_* variables must not leak into tests."""
    import os

    for name in list(os.environ):
        if name.startswith("CLANFORGE_") or name in ("GITHUB_ACTIONS", "GITLAB_CI"):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def simulator() -> Iterator[Callable[..., Simulator]]:
    """Start simulators on demand (each with its own duration); stop them all afterwards."""
    started: list[Simulator] = []

    def start(duration: float = 1.5, **kwargs: object) -> Simulator:
        sim = Simulator(
            duration=duration,
            credentials=SimulatorCredentials(ACCESS, SECRET, TOKEN, source="environment"),
            account_service_id=ASID,
            **kwargs,  # type: ignore[arg-type]
        )
        sim.start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()
