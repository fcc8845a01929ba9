"""Re-runs and races: deploys of one image at once, a lost create answer, a lock that outlives --timeout.

Each deploy runs in-process in a thread of its own, over real HTTP to one simulator that holds the
image lock as the service does (an accepted update locks the image, its diff holds the lock, the
version create frees it). The runs and the simulator share one ``SharedClock``, so a crowd of
deploys that would take minutes takes a fraction of a second, and they overlap as on the service.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from gate.sim import (
    FIRST_CREATED_ID,
    GAME_ID,
    IMAGE_BY_DEPLOY_SCENARIO,
    LOCKING_UPDATE_ID,
    DeployScenario,
    Simulator,
)
from gate.sim.shared_clock import SharedClock
from tests.fakes import load_benchmark

races = load_benchmark("races.py")
KINDS = ("imageupdate", "imagediff", "imageversion")
UPDATE = FIRST_CREATED_ID["imageupdate"]
WAIT = ("--on-locked", "wait", "--poll-interval", "5s", "--timeout", "30m")
GAME = ("--game-id", str(GAME_ID))

Crowd = Callable[..., tuple[Simulator, list[Any]]]


@pytest.fixture
def crowd(tmp_path: Path) -> Iterator[Crowd]:
    """Run deploys at the given offsets against a fresh simulator on one shared clock."""
    sims: list[Simulator] = []

    def run(offsets: Sequence[float], *args: str, image: int = races.IMAGE) -> tuple[Simulator, list[Any]]:
        clock = SharedClock()
        sim = races.start_simulator(clock, 12.0)
        sims.append(sim)
        return sim, races.run_crowd(sim, clock, offsets, args, tmp_path, image)

    yield run
    for sim in sims:
        sim.stop()


def assert_one_chain_after_the_other(sim: Simulator, runs: list[Any]) -> None:
    """Every run exited 0, each of its creates accepted once, and no chain overlapped another."""
    for run in runs:
        assert run.code == 0, run.stdout + run.stderr
        for kind in KINDS:
            assert [a for a in run.creates(kind) if a.startswith("ok")] != [], (kind, run.creates(kind))
        assert run.sent_twice() == 0, run.result["calls"]
    assert [len(sim.created(kind)) for kind in KINDS] == [len(runs)] * 3
    # Each update accepted comes after the version of the chain before it.
    assert races.interleaved(sim) == 0


@pytest.mark.parametrize("n", [2, 3])
def test_deploys_started_together_without_the_game_id_queue_by_resending_refused_creates(
    crowd: Crowd, n: int
) -> None:
    sim, runs = crowd([0.0] * n, *WAIT)
    assert_one_chain_after_the_other(sim, runs)
    # The runs that queued were refused as locked (nothing started) and sent their create again.
    refused = [run for run in runs if run.refused()]
    assert len(refused) == n - 1
    for run in refused:
        assert f"imageupdate create refused: update {UPDATE} (" in run.stdout
        assert "nothing started; sending it again (--on-locked wait" in run.stdout
    assert sim.create_count("imageupdate") == n + sum(
        run.refused() for run in runs if run.creates("imageupdate")
    )


@pytest.mark.parametrize("n", [2, 3])
def test_deploys_started_together_with_the_game_id_wait_for_the_lock_they_read(crowd: Crowd, n: int) -> None:
    sim, runs = crowd([0.0] * n, *WAIT, *GAME)
    assert_one_chain_after_the_other(sim, runs)
    waited = [run for run in runs if "waiting for it (--on-locked wait" in run.stdout]
    assert len(waited) == n - 1
    for run in waited:
        # The holder is named with its state, read from its own status.
        assert f"locked by update {UPDATE} (" in run.stdout or "locked by diff " in run.stdout
        assert "the lock is free after" in run.stdout


def test_deploys_at_random_offsets_all_end_one_after_the_other(crowd: Crowd) -> None:
    for seed in range(3):
        import random

        rng = random.Random(seed)
        sim, runs = crowd(sorted(rng.uniform(0, 20) for _ in range(3)), *WAIT)
        assert_one_chain_after_the_other(sim, runs)


def test_by_default_the_second_deploy_stops_and_never_proposes_to_adopt_the_first(crowd: Crowd) -> None:
    sim, runs = crowd([0.0, 1.0])
    first, second = runs
    assert first.code == 0 and second.code == 3, second.stderr
    message = second.stderr
    assert f"image {races.IMAGE} is locked by update {UPDATE}: nothing was created" in message
    # Wait, reject, and only for the pipeline's own earlier run, resume: in that order.
    wait, reject, resume = (
        message.index(s) for s in ("--on-locked wait", "--on-locked reject", "own earlier run")
    )
    assert wait < reject < resume
    assert f"--update-id {UPDATE}" in message and "follow" not in message
    assert [len(sim.created(kind)) for kind in KINDS] == [1, 1, 1]


@pytest.mark.parametrize("scenario", [DeployScenario.CREATE_ANSWER_LOST, DeployScenario.CREATE_UNAVAILABLE])
def test_a_lost_update_create_answer_is_found_by_the_lock(crowd: Crowd, scenario: DeployScenario) -> None:
    image = IMAGE_BY_DEPLOY_SCENARIO[scenario]
    sim, (run,) = crowd([0.0], *GAME, image=image)
    assert run.code == 0, run.stdout + run.stderr
    # Exactly one update, sent once; the chain went on with it.
    assert sim.created("imageupdate") == [UPDATE] and sim.create_count("imageupdate") == 1
    assert [len(sim.created(kind)) for kind in KINDS] == [1, 1, 1]
    found = [line for line in run.stdout.splitlines() if "it is the job this run started" in line]
    assert len(found) == 1 and found[0].startswith(f"image update {UPDATE}: its create got no clear answer")
    (update_call,) = [c for c in run.result["calls"] if "/imageupdate/create" in c["request"]]
    assert update_call["answer"].startswith("error: ")
    assert update_call["answer"].endswith(f"found by the image's lock: updateid {UPDATE}")
    assert [job["job_id"] for job in run.result["jobs"] if job["kind"] == "imageupdate"] == [UPDATE]


def test_a_lost_update_create_answer_without_the_game_id_stops_with_the_resume_command(crowd: Crowd) -> None:
    image = IMAGE_BY_DEPLOY_SCENARIO[DeployScenario.CREATE_ANSWER_LOST]
    sim, (run,) = crowd([0.0], image=image)
    assert run.code == 3
    assert (
        "got no clear answer" in run.stderr
        and "(without --game-id the image's lock is not read)" in run.stderr
    )
    assert "--update-id <id>" in run.stderr
    assert sim.create_count("imageupdate") == 1 and sim.created("imagediff") == []


def test_a_lost_answer_beside_a_waiting_crowd_is_still_sent_once(crowd: Crowd) -> None:
    image = IMAGE_BY_DEPLOY_SCENARIO[DeployScenario.CREATE_ANSWER_LOST]
    sim, runs = crowd([0.0, 0.5, 1.0], *WAIT, *GAME, image=image)
    assert all(run.code == 0 for run in runs), [run.stderr for run in runs]
    assert [len(sim.created(kind)) for kind in KINDS] == [3, 3, 3]
    assert sum(run.sent_twice() for run in runs) == 0


@pytest.mark.parametrize("game", [True, False])
def test_a_lock_that_outlives_the_timeout_exits_2_naming_the_holder(crowd: Crowd, game: bool) -> None:
    image = IMAGE_BY_DEPLOY_SCENARIO[DeployScenario.UPDATE_LOCKED]
    args = ("--on-locked", "wait", "--poll-interval", "10s", "--timeout", "2m", *(GAME if game else ()))
    sim, (run,) = crowd([0.0], *args, image=image)
    assert run.code == 2, run.stdout + run.stderr
    final = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr
    text = run.stdout + run.stderr
    assert f"still locked by update {LOCKING_UPDATE_ID} (Running) at the deadline" in text, text
    assert "nothing was created" in text and run.result["outcome"] == "timed_out", final
    assert sim.created("imageupdate") == []
    # Without the game id each refused create was sent again after a poll interval; never accepted.
    assert sim.create_count("imageupdate") == (0 if game else len(run.creates("imageupdate")))
    if not game:
        assert 10 <= sim.create_count("imageupdate") <= 14
