"""The whole deploy end to end: a simulator on 127.0.0.1 and ``python -m gate deploy`` as a subprocess.

One run for the whole chain and one for each way it can stop. Each checks the exit code, what the
user reads, what reached the simulator (creates are counted apart from status polls), the result
file, and that no credential (nor its Basic encoding) shows in any output.
"""

from __future__ import annotations

import shlex
import signal
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from gate.sim import DIFF_FAILURE_MESSAGE, GAME_ID, LOCKED_DIFF_ID, DeployScenario, Simulator
from tests.e2e_support import (
    CHAIN,
    DIFF,
    IMAGE,
    ROOT,
    UPDATE,
    VERSION,
    Run,
    basic_env,
    finish,
    gate_argv,
    jobs,
)

# Real processes and a real server in real time: left out of the quick run (-m "not e2e").
pytestmark = pytest.mark.e2e

# A job takes this long; the gate polls at most a second apart: the whole chain runs in ~7 s.
DURATION = 1.2


@pytest.fixture
def deploy(tmp_path: Path) -> Callable[..., Run]:
    """Run ``deploy`` (or any command line given in full) against a simulator; credentials only in env."""
    runs = iter(range(1, 100))

    def run(sim: Simulator, *args: str, timeout: str = "30s", env: dict[str, str] | None = None) -> Run:
        result_file = tmp_path / f"result-{next(runs)}.json"
        argv = gate_argv(sim, result_file, list(args), timeout)
        done = subprocess.run(
            argv, env=env or basic_env(), cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        return finish(done.returncode, done.stdout, done.stderr, result_file)

    return run


def requests_served(sim: Simulator) -> int:
    endpoints = sim.stats()["endpoints"]
    assert isinstance(endpoints, dict)
    return sum(endpoints.values())


def test_the_whole_chain(simulator: Callable[..., Simulator], deploy: Callable[..., Run]) -> None:
    sim = simulator(DURATION)
    image = IMAGE[DeployScenario.DEPLOY]
    run = deploy(sim, "deploy", "--image-id", str(image), *CHAIN, "--url", "s3://builds/42")
    assert run.code == 0, run.output
    assert sim.created("imageupdate") == [UPDATE]
    assert sim.created("imagediff") == [DIFF] and sim.created("imageversion") == [VERSION]
    assert [sim.create_count(kind) for kind in ("imageupdate", "imagediff", "imageversion")] == [1, 1, 1]
    lines = run.stdout.splitlines()
    resume = f"clanforge-gate deploy --image-id {image} --machine-id 9"
    for label, ids in (
        (f"image update {UPDATE}", f"--update-id {UPDATE}"),
        (f"image diff {DIFF}", f"--update-id {UPDATE} --diff-id {DIFF}"),
        (f"image version {VERSION}", f"--update-id {UPDATE} --diff-id {DIFF} --version-id {VERSION}"),
    ):
        started = next(i for i, line in enumerate(lines) if line.startswith(f"{label}: started"))
        # Announced at once: before the first status line of that job.
        first_status = next(
            i for i, line in enumerate(lines) if line.startswith(f"{label}: ") and "·" in line
        )
        assert started < first_status, run.stdout
        assert f"to resume: {resume} {ids} --restart" in lines[started]
    assert f"image {image} install: 10 completed, 0 pending, 0 failed" in run.stdout
    assert jobs(run) == [
        ("imageupdate", UPDATE, "succeeded"),
        ("imagediff", DIFF, "succeeded"),
        ("imageversion", VERSION, "succeeded"),
        ("imageinstall", image, "succeeded"),
    ]
    assert run.result["outcome"] == "succeeded" and run.result["job_kind"] == "deploy"
    assert run.result["polls"] == requests_served(sim)


def test_locked_image_then_resume_with_the_command_shown(
    simulator: Callable[..., Simulator], deploy: Callable[..., Run]
) -> None:
    sim = simulator(DURATION)
    image = IMAGE[DeployScenario.IMAGE_LOCKED]
    run = deploy(sim, "deploy", "--image-id", str(image), *CHAIN)
    assert run.code == 3, run.output
    assert f"image {image} is locked by diff {LOCKED_DIFF_ID}" in run.stderr
    assert sim.created("imageupdate") == [] and sim.create_count("imageupdate") == 1
    assert requests_served(sim) == 1
    assert run.result["outcome"] == "error" and run.result["jobs"] == []
    # The command shown (for a pipeline whose own earlier run it was) publishes the diff; it runs as given.
    shown = run.stderr.split("resume with '", 1)[1].split("'", 1)[0]
    assert f"--diff-id {LOCKED_DIFF_ID}" in shown
    words = shlex.split(shown)
    assert words[:2] == ["clanforge-gate", "deploy"]
    resumed = deploy(sim, *words[1:])
    assert resumed.code == 0, resumed.output
    assert sim.create_count("imageupdate") == 1 and sim.create_count("imagediff") == 0
    assert sim.created("imageversion") == [VERSION]
    assert jobs(resumed) == [
        ("imagediff", LOCKED_DIFF_ID, "succeeded"),  # waited on, already complete
        ("imageversion", VERSION, "succeeded"),
        ("imageinstall", image, "succeeded"),
    ]


def test_failed_diff_stops_before_any_version(
    simulator: Callable[..., Simulator], deploy: Callable[..., Run]
) -> None:
    sim = simulator(DURATION)
    image = IMAGE[DeployScenario.DIFF_FAILED]
    run = deploy(sim, "deploy", "--image-id", str(image), *CHAIN)
    assert run.code == 1, run.output
    final = run.stdout.strip().splitlines()[-1]
    assert final.startswith(f"deploy of image {image}: stopped: image diff {DIFF}: failed")
    assert DIFF_FAILURE_MESSAGE in final
    assert sim.create_count("imageversion") == 0
    assert jobs(run) == [("imageupdate", UPDATE, "succeeded"), ("imagediff", DIFF, "failed")]
    assert run.result["jobs"][1]["job_error"] == DIFF_FAILURE_MESSAGE


def test_failed_machines_past_the_limit_fail(
    simulator: Callable[..., Simulator], deploy: Callable[..., Run]
) -> None:
    sim = simulator(DURATION)
    image = IMAGE[DeployScenario.MACHINES_FAILED]
    run = deploy(
        sim, "deploy", "--image-id", str(image), *CHAIN, "--skip-update", "--max-failed-machines", "1"
    )
    assert run.code == 1, run.output
    assert "2 machines failed to install, more than max_failed_machines=1" in run.stdout
    assert sim.create_count("imageupdate") == 0
    assert jobs(run)[-1] == ("imageinstall", image, "failed")
    assert run.result["jobs"][-1]["state_name"] == "8 completed, 0 pending, 2 failed"


def test_failed_machines_within_the_limit_warn(
    simulator: Callable[..., Simulator], deploy: Callable[..., Run]
) -> None:
    sim = simulator(DURATION)
    image = IMAGE[DeployScenario.MACHINES_FAILED]
    env = {**basic_env(), "CLANFORGE_MAX_FAILED_MACHINES": "2"}
    run = deploy(sim, "deploy", "--image-id", str(image), *CHAIN, "--skip-update", env=env)
    assert run.code == 0, run.output
    assert f"warning: image {image} install: 2 disabled machines could not install" in run.stdout
    assert run.result["warnings"] == [f"image {image} install: 2 disabled machines could not install"]
    assert jobs(run)[-1] == ("imageinstall", image, "succeeded")


def test_a_transient_error_on_a_create_is_not_retried(
    simulator: Callable[..., Simulator], deploy: Callable[..., Run]
) -> None:
    sim = simulator(DURATION)
    image = IMAGE[DeployScenario.CREATE_UNAVAILABLE]
    run = deploy(sim, "deploy", "--image-id", str(image), *CHAIN)
    assert run.code == 3, run.output
    assert sim.create_count("imageupdate") == 1 and requests_served(sim) == 1
    # The job did start behind the 503: exactly why the gate must not send the create again.
    assert sim.created("imageupdate") == [UPDATE]
    assert "HTTP 503" in run.stderr and "may have started anyway" in run.stderr
    assert "check the image in the Clanforge dashboard" in run.stderr
    assert "--update-id <id>" in run.stderr and "retrying" not in run.output
    assert run.result["outcome"] == "error" and run.result["exit_code"] == 3


def test_timeout_on_the_update(simulator: Callable[..., Simulator], deploy: Callable[..., Run]) -> None:
    sim = simulator(duration=20.0)
    run = deploy(sim, "deploy", "--image-id", "2001", *CHAIN, timeout="2s")
    assert run.code == 2, run.output
    assert f"wait again with --update-id {UPDATE}" in run.stdout
    assert jobs(run) == [("imageupdate", UPDATE, "timed_out")]
    assert sim.create_count("imagediff") == 0


def test_timeout_on_the_diff_names_its_kind(
    simulator: Callable[..., Simulator], deploy: Callable[..., Run]
) -> None:
    sim = simulator(duration=20.0)
    run = deploy(sim, "deploy", "--image-id", "2001", *CHAIN, "--skip-update", timeout="2s")
    assert run.code == 2, run.output
    assert f"wait again with --job imagediff --update-id {DIFF}" in run.stdout
    assert jobs(run) == [("imagediff", DIFF, "timed_out")]
    assert run.result["outcome"] == "timed_out"


def test_sigterm_mid_chain_keeps_every_created_id(
    simulator: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = simulator(DURATION)
    result_file = tmp_path / "result.json"
    argv = gate_argv(sim, result_file, ["deploy", "--image-id", "2001", *CHAIN], "30s")
    proc = subprocess.Popen(
        argv, env=basic_env(), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    guard = threading.Timer(30, proc.kill)
    guard.start()
    try:
        assert proc.stdout is not None
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if line.startswith(f"image diff {DIFF}: started"):
                break
        assert seen and seen[-1].startswith(f"image diff {DIFF}: started"), "".join(seen)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        guard.cancel()
    run = finish(proc.returncode, "".join(seen) + out, err, result_file)
    assert run.code == 143, run.output
    assert "cancelled by SIGTERM" in run.stderr
    assert (
        f"to resume: clanforge-gate deploy --image-id 2001 --machine-id 9 --update-id {UPDATE} " in run.stderr
    )
    assert f"--diff-id {DIFF}" in run.stderr
    assert run.result["outcome"] == "cancelled"
    assert jobs(run) == [("imageupdate", UPDATE, "succeeded"), ("imagediff", DIFF, "cancelled")]
    assert sim.create_count("imageversion") == 0


@pytest.mark.parametrize("game", [False, True], ids=["refused-creates-resent", "lock-read"])
def test_two_deploy_processes_of_one_image_run_one_after_the_other(
    simulator: Callable[..., Simulator], tmp_path: Path, game: bool
) -> None:
    """Two real ``deploy`` processes started together against one simulator, as two pipelines."""
    sim = simulator(DURATION)
    image = IMAGE[DeployScenario.DEPLOY]
    args = ["deploy", "--image-id", str(image), *CHAIN, "--on-locked", "wait"]
    args += ["--game-id", str(GAME_ID)] if game else []
    files = [tmp_path / f"race-{i}.json" for i in range(2)]
    procs = [
        subprocess.Popen(
            gate_argv(sim, file, args, "60s"),
            env=basic_env(), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for file in files
    ]  # fmt: skip
    runs = []
    for proc, file in zip(procs, files, strict=True):
        out, err = proc.communicate(timeout=90)
        runs.append(finish(proc.returncode, out, err, file))
    assert [run.code for run in runs] == [0, 0], [run.output for run in runs]
    # Each create accepted once per run; one chain after the other.
    for kind in ("imageupdate", "imagediff", "imageversion"):
        assert len(sim.created(kind)) == 2
        for run in runs:
            answers = [c["answer"] for c in run.result["calls"] if f"/{kind}/create" in c["request"]]
            assert sum(1 for a in answers if a.startswith("ok")) == 1, answers
    (first_version, _) = sorted(job.origin for job in sim.account.created_jobs["imageversion"].values())
    updates = sorted(
        job.origin for job in sim.account.created_jobs["imageupdate"].values() if job.image_id == image
    )
    assert updates[1] >= first_version
    waited = "waiting for it (--on-locked wait" if game else "nothing started; sending it again"
    assert sum(waited in run.stdout for run in runs) == 1
