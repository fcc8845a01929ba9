"""Answers exactly as the endpoint's documentation allows, end to end: a simulator on 127.0.0.1
that leaves out the optional ``jobstateid`` (or every optional field, or sends the informing
fields in other JSON types), and the CLI as a subprocess, for each job kind and for a deploy."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from gate.sim import FAILURE_MESSAGE, ID_BY_SCENARIO, DeployScenario, Scenario, Simulator
from tests.e2e_support import BASIC, CHAIN, IMAGE, ROOT, Run, basic_env, clean_env, finish, gate_argv
from tests.fakes import ASID

pytestmark = pytest.mark.e2e

DOCUMENTED = {
    Scenario.NAME_ONLY: {"jobstateid"},
    Scenario.NAME_ONLY_FAILURE: {"jobstateid"},
    Scenario.REQUIRED_ONLY: {"jobstateid", "jobstart", "jobeta", "joberror"},
}


def run_gate(sim: Simulator, tmp_path: Path, *args: str, timeout: str = "20s") -> Run:
    result_file = tmp_path / "result.json"
    argv = gate_argv(sim, result_file, [*args, "--verbose"], timeout)
    done = subprocess.run(argv, env=basic_env(), cwd=ROOT, capture_output=True, text=True, timeout=60)
    return finish(done.returncode, done.stdout, done.stderr, result_file)


def raw_answer(sim: Simulator, kind: str, job_id: int) -> dict[str, object]:
    answer = requests.get(
        f"{sim.base_url}/cfp/v1/{kind}/{job_id}/status",
        params={"accountserviceid": ASID},
        headers={"Authorization": f"Basic {BASIC}"},
        timeout=5,
    )
    body = answer.json()
    assert isinstance(body, dict)
    return body


@pytest.mark.parametrize("kind", ["imageupdate", "imagediff", "imageversion"])
@pytest.mark.parametrize("scenario", [Scenario.NAME_ONLY, Scenario.REQUIRED_ONLY])
def test_a_documented_complete_succeeds_for_every_kind(
    simulator: Callable[..., Simulator], tmp_path: Path, kind: str, scenario: Scenario
) -> None:
    sim = simulator(1.5)
    job_id = ID_BY_SCENARIO[scenario]
    run = run_gate(sim, tmp_path, "wait", "--job", kind, "--update-id", str(job_id))
    assert run.code == 0, run.output
    assert "succeeded (Complete)" in run.final
    assert run.result["state_id"] is None and run.result["state_name"] == "Complete"
    # What the simulator sent really lacks the fields (read after the run: the job is over).
    assert not DOCUMENTED[scenario] & set(raw_answer(sim, kind, job_id))


def test_failed_by_name_alone_is_a_failure(simulator: Callable[..., Simulator], tmp_path: Path) -> None:
    sim = simulator(1.5)
    job_id = ID_BY_SCENARIO[Scenario.NAME_ONLY_FAILURE]
    run = run_gate(sim, tmp_path, "--update-id", str(job_id))
    assert run.code == 1, run.output
    assert run.final.endswith(f"Failed: {FAILURE_MESSAGE}")
    assert run.result["outcome"] == "failed" and run.result["state_id"] is None


def test_informing_fields_of_other_types_neither_stop_nor_delay_the_wait(
    simulator: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = simulator(1.5)
    job_id = ID_BY_SCENARIO[Scenario.LOOSE_TYPES]
    run = run_gate(sim, tmp_path, "--update-id", str(job_id))
    assert run.code == 0, run.output
    assert "Running" in run.output and "retrying" not in run.output
    noted = [line for line in run.output.splitlines() if "'jobfailed'" in line and "ignored" in line]
    assert len(noted) == 1, run.output  # said once, in verbose output
    assert run.result["polls"] == sim.request_count(job_id)


def test_a_deploy_against_name_only_answers(simulator: Callable[..., Simulator], tmp_path: Path) -> None:
    sim = simulator(1.2, default_scenario=Scenario.NAME_ONLY)
    run = run_gate(
        sim, tmp_path, "deploy", "--image-id", str(IMAGE[DeployScenario.DEPLOY]), *CHAIN, timeout="40s"
    )
    assert run.code == 0, run.output
    assert [job["outcome"] for job in run.result["jobs"]] == ["succeeded"] * 4


@pytest.mark.parametrize(
    ("scenario", "code"),
    [
        (Scenario.NAME_ONLY, 0),
        (Scenario.REQUIRED_ONLY, 0),
        (Scenario.LOOSE_TYPES, 0),
        (Scenario.NAME_ONLY_FAILURE, 1),
    ],
)
def test_demo_covers_the_documented_answers(scenario: Scenario, code: int) -> None:
    argv = [sys.executable, "-m", "gate", "demo", "--scenario", scenario.value, "--duration", "1.5s"]
    done = subprocess.run(argv, env=clean_env(), cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == code, done.stdout + done.stderr
    assert f"the gate exited {code} (as this scenario should)" in done.stdout
