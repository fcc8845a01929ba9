"""The polling benchmark's simulation is sound: it measures what it says (not how fast anything is)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from tests.fakes import load_benchmark

bench = load_benchmark("polling.py")
JOBS = bench.make_jobs(240, seed=7)
STRATEGIES = bench.strategies(seed=7)


def test_job_mix_covers_every_class_and_both_outcomes() -> None:
    assert {job.eta_class for job in JOBS} == set(bench.ETA_CLASSES)
    assert any(job.fails for job in JOBS) and not all(job.fails for job in JOBS)
    assert any(job.eta_moves for job in JOBS)
    assert {job.progress_moves for job in JOBS} == {True, False}
    for job in JOBS:
        if job.eta_class in ("short", "biased-short"):
            assert 9.0 <= job.duration <= 11.0
        elif job.eta_class == "skewed":
            assert bench.SKEWED_SHORTEST <= job.duration <= bench.MAX_DURATION
        else:
            assert bench.MIN_DURATION <= job.duration <= bench.MAX_DURATION
        if job.eta_class.startswith("skewed"):
            assert abs(job.clock_offset) <= bench.MAX_CLOCK_OFFSET
        else:
            assert job.clock_offset == 0.0
        assert job.created < job.first_poll < job.ends_at <= job.created + job.duration
    skews = [job.clock_offset for job in JOBS if job.eta_class.startswith("skewed")]
    assert min(skews) < -300 and max(skews) > 300


def test_job_model_never_reports_the_end_early() -> None:
    for job in JOBS[:60]:
        for k in range(50):
            t = job.created + (job.ends_at - job.created) * k / 50
            assert job.progress_at(t) < 100
            eta = job.eta_at(t)
            if job.eta_class in ("absent", "slowing", "speeding", "short"):
                assert eta is None
            else:
                assert eta is not None and eta == int(eta)
            assert job.updated_at(t, job.progress_at(t), eta) <= t


@pytest.fixture(scope="module")
def runs() -> dict[str, list[Any]]:
    """Every strategy's run of every job, with its polls, simulated once for the module's checks."""
    return {name: [strategy(job, True) for job in JOBS] for name, strategy in STRATEGIES.items()}


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_every_end_is_detected_after_it_happens_and_requests_are_counted(
    name: str, runs: dict[str, list[Any]]
) -> None:
    for job, run in zip(JOBS, runs[name], strict=True):
        polls = run.polls
        assert run.requests == len(polls)
        assert polls[0] == job.first_poll
        # Detected by the last poll, which is the first one at or after the end; never before it.
        assert polls[-1] >= job.ends_at
        assert all(p < job.ends_at for p in polls[:-1])
        assert run.delay == pytest.approx(polls[-1] - job.ends_at)
        assert run.delay >= 0
        assert all(b > a for a, b in itertools.pairwise(polls))


@pytest.mark.parametrize("interval", [10.0, 30.0])
def test_adaptive_polls_stay_within_the_policy(interval: float, runs: dict[str, list[Any]]) -> None:
    for run in runs[f"adaptive P={interval:.0f}s"]:
        gaps = [b - a for a, b in itertools.pairwise(run.polls)]
        assert max(gaps) <= interval + 1e-9
        assert min(gaps) >= 1.0 - 1e-9


def test_fixed_loop_polls_at_its_interval() -> None:
    for job in JOBS[:50]:
        gaps = [b - a for a, b in itertools.pairwise(STRATEGIES["fixed 15s"](job, True).polls)]
        assert all(g == pytest.approx(15.0) for g in gaps)


def test_tallies_count_every_job_once_per_strategy() -> None:
    chosen = {name: STRATEGIES[name] for name in ("fixed 30s", "adaptive P=30s")}
    tallies = bench.simulate(JOBS, chosen)
    for by_group in tallies.values():
        total = by_group["all"]
        assert len(total.requests) == len(JOBS)
        assert len(total.failure) == sum(job.fails for job in JOBS)
        assert sum(len(by_group[group].requests) for group in bench.ETA_CLASSES) == len(JOBS)
    expected = sum(chosen["fixed 30s"](job, False).requests for job in JOBS)
    assert sum(tallies["fixed 30s"]["all"].requests) == expected


def test_floors_fail_when_the_schedule_is_no_better_than_the_loop() -> None:
    # A "schedule" that is just the fixed loop cannot meet the accurate-ETA floor.
    chosen = {
        "fixed 10s": STRATEGIES["fixed 10s"],
        "fixed 30s": STRATEGIES["fixed 30s"],
        "adaptive P=10s": STRATEGIES["fixed 10s"],
        "adaptive P=30s": STRATEGIES["fixed 30s"],
    }
    floors = bench.check_floors(bench.simulate(bench.make_jobs(1200, seed=7), chosen))
    failed = {floor.name for floor in floors if not floor.passed}
    assert "P=10s accurate: median success delay <= 1.5 s" in failed
    assert "P=30s accurate: median success delay <= 1.5 s" in failed
    assert not any("requests/job" in name or "mean success delay" in name for name in failed)


def test_quantile_is_nearest_rank() -> None:
    assert bench.quantile([5.0, 1.0, 3.0, 2.0, 4.0], 0.5) == 3.0
    assert bench.quantile(list(range(1, 101)), 0.95) == 95


# The benchmark's command itself, the whole of it as it runs for the report: end to end.
@pytest.mark.e2e
def test_command_prints_the_table_and_every_floor(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--jobs", "120", "--seed", "3", "--no-plot", "--report-only"]) == 0
    out = capsys.readouterr().out
    assert "adaptive P=10s" in out and "exp backoff" in out
    assert "moves mean/med" in out and "flat mean/med" in out
    verdicts = [line.split()[0] for line in out.splitlines() if line.startswith(("  PASS", "  FAIL"))]
    names = [line for line in out.splitlines() if line.startswith(("  PASS", "  FAIL"))]
    # Every goal has a floor at both intervals: requests per shape, failures, gaps, many ids, herds.
    for interval in (10, 30):
        for shape in bench.ETA_CLASSES:
            assert any(f"P={interval}s {shape}: requests/job" in line for line in names)
        assert any(f"P={interval}s failures" in line for line in names)
        assert any(f"P={interval}s 50 ids ending together" in line for line in names)
        assert sum(f"P={interval}s 200 gates" in line for line in names) == 2
    assert set(verdicts) <= {"PASS", "FAIL"}


@pytest.mark.e2e
def test_a_failing_floor_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench, "SIGNAL_MEDIAN", -1.0)
    assert bench.main(["--jobs", "120", "--seed", "3", "--no-plot"]) == 1
