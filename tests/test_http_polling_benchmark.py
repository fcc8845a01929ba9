"""The over-HTTP polling benchmark measures what it says, and keeps the token off command lines.

Correctness only, not speed: one short job, the real gate and the real curl loop against the
real simulator, for a few seconds.
"""

from __future__ import annotations

import os
import random
import shutil
import stat
from pathlib import Path

import pytest

from gate.sim import Scenario, final_offset
from tests.fakes import load_benchmark

# Real servers on the real clock: left out of the quick run (-m "not e2e").
pytestmark = pytest.mark.e2e

bench = load_benchmark("http_polling.py")


def test_each_job_ends_when_its_spec_says() -> None:
    for job in bench.JOBS:
        assert final_offset(job.scenario, job.duration) == pytest.approx(job.end)
    assert {job.expected_exit for job in bench.JOBS} == {0, 1}


def test_job_ends_fall_at_random_phases_reproducibly() -> None:
    jobs = bench.make_jobs(36, seed=1)
    assert jobs == bench.make_jobs(36, seed=1) and jobs != bench.make_jobs(36, seed=2)
    assert {job.label for job in jobs} == {label for label, _ in bench.KINDS}
    assert all(bench.EARLIEST_END <= job.end <= bench.LATEST_END for job in jobs)
    # Not on a grid: the phases within a 10 s interval spread over it.
    phases = sorted(job.end % 10.0 for job in jobs)
    assert phases[0] < 2.0 and phases[-1] > 8.0
    assert len({round(p, 1) for p in phases}) > 20


def test_ratio_interval_brackets_the_ratio_and_narrows_with_more_jobs() -> None:
    rng = random.Random(5)
    few = [(rng.uniform(0, 10), rng.uniform(0, 10)) for _ in range(12)]
    many = [(rng.uniform(0, 10), rng.uniform(0, 10)) for _ in range(400)]
    ratio, low, high = bench.bootstrap_ratio([a for a, _ in few], [b for _, b in few])
    assert low <= ratio <= high
    _, low_many, high_many = bench.bootstrap_ratio([a for a, _ in many], [b for _, b in many])
    assert high_many - low_many < high - low


def test_circular_spread_is_zero_in_lockstep() -> None:
    assert bench.circular_spread([3.0] * 8, 10.0) == pytest.approx(0.0, abs=1e-6)
    assert bench.circular_spread([0.0, 2.5, 5.0, 7.5], 10.0) == 10.0


def test_one_short_job_is_measured_for_the_gate_and_the_curl_loop(tmp_path: Path) -> None:
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed; the benchmark's hand-written loop needs it")
    # A curl on PATH that notes every argument it was given, then runs the real one.
    shim_dir = tmp_path / "bin"
    shim_dir.mkdir()
    log = tmp_path / "curl-argv.log"
    shim = shim_dir / "curl"
    shim.write_text(
        "#!/bin/sh\n"
        'for arg in "$@"; do printf "%s\\n" "$arg" >> "$CURL_ARGV_LOG"; done\n'
        'printf -- "--- end of call\\n" >> "$CURL_ARGV_LOG"\n'
        f'exec "{curl}" "$@"\n'
    )
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    env = {**os.environ, "PATH": f"{shim_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    env["CURL_ARGV_LOG"] = str(log)
    token = "unit-token-0123456789abcdef"

    job = bench.JobSpec("success", Scenario.SUCCESS, 3.5)
    contenders = (bench.Contender("gate", "gate", 1.0), bench.Contender("loop", "curl", 1.0))
    measures = bench.run([job], contenders, env=env, token=token)

    assert [m.contender for m in measures] == ["gate", "loop"]
    for m in measures:
        assert m.exit_code == m.expected_exit == 0, m.stderr
        assert m.seen is not None and 0 <= m.seen <= m.delay
        assert m.startup is not None and m.startup >= 0
        assert m.requests >= 1
        assert all(token not in arg for arg in m.argv)
    gate, loop = measures
    assert gate.argv[1:4] == ("-m", "gate", "wait")
    assert loop.argv[:2] == ("bash", "-c")

    calls = log.read_text().split("--- end of call\n")[:-1]
    # The simulator counted exactly the requests the loop made, and curl never saw the token in
    # its arguments (it read its header from standard input).
    assert len(calls) == loop.requests
    assert all("accountserviceid=" in call for call in calls)
    assert token not in log.read_text()
    assert "-K\n-\n" in calls[0]

    table = bench.format_table(measures)
    assert "gate" in table and "loop" in table and token not in table
    summaries = bench.summarize(measures)
    assert [s.requests for s in summaries] == [gate.requests, loop.requests]
    assert bench.format_ratios(measures).startswith("gate vs loop: mean delay ")
    assert "success" in bench.format_by_job_kind(measures)


@pytest.mark.parametrize("offset", [-300.0, 300.0])
def test_a_job_on_a_skewed_server_clock_is_planned_and_measured_on_ours(offset: float) -> None:
    # The simulator's clock is 5 minutes off: the job is planned on it, its end and the arrivals
    # of requests are measured on this machine's, and the gate still exits when it ends.
    job = bench.JobSpec("success", Scenario.SUCCESS, 3.5)
    (measure,) = bench.run([job], [bench.Contender("gate", "gate", 1.0)], clock_offset=offset)
    assert measure.exit_code == 0, measure.stderr
    assert measure.seen is not None and 0 <= measure.seen <= measure.delay
    assert measure.startup is not None and measure.startup >= 0


def test_start_up_is_measured_against_importing_requests() -> None:
    measured = bench.startup(runs=1)
    assert 0 < measured.bare < measured.import_requests
    assert all(value > 0 for value in (measured.version, measured.help, measured.first_request))
    lines = measured.lines()
    assert any("--version" in line and "x" in line for line in lines)
    assert any("first request" in line for line in lines)
