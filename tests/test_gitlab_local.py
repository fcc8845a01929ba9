"""The GitLab component run for real: tests/gitlab/pipeline.yml through gitlab-ci-local (shell
executor), against the simulator, with ids handed on by an earlier job's dotenv report.

gitlab-ci-local is pinned in .ci/gitlab-ci-local (``npm ci --prefix .ci/gitlab-ci-local``, which
.ci/run does). Without it, or without rsync which it calls, these tests skip and say why, unless
REQUIRE_GITLAB_CI_LOCAL=1 (set by .ci/run), where they fail instead.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gate.sim import Simulator, SimulatorCredentials
from tests.fakes import ACCESS, SECRET, TOKEN

pytestmark = [pytest.mark.gitlab_local, pytest.mark.e2e]

ROOT = Path(__file__).resolve().parent.parent
PIPELINE = ROOT / "tests" / "gitlab" / "pipeline.yml"
COMPONENT = ROOT / "templates" / "clanforge-gate.yml"
# the account-service-id the pipeline's includes give
PIPELINE_ASID = "12345"
PINNED = ROOT / ".ci" / "gitlab-ci-local" / "node_modules" / ".bin" / "gitlab-ci-local"


def _missing(reason: str) -> None:
    if os.environ.get("REQUIRE_GITLAB_CI_LOCAL") == "1":
        pytest.fail(f"{reason} (REQUIRE_GITLAB_CI_LOCAL=1)")
    pytest.skip(reason)


def _gitlab_ci_local() -> str:
    explicit = os.environ.get("GITLAB_CI_LOCAL")
    if explicit:
        return explicit
    if PINNED.exists():
        return str(PINNED)
    _missing("gitlab-ci-local is not installed: npm ci --prefix .ci/gitlab-ci-local")
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Run:
    output: str
    project: Path
    # job name -> PASS, WARN or FAIL, from gitlab-ci-local's closing summary
    verdicts: dict[str, str]
    # job name -> the exit code gitlab-ci-local reports for a job that did not pass
    exit_codes: dict[str, int]

    def result(self, job: str) -> dict[str, object]:
        path = self.project / ".gitlab-ci-local" / "builds" / job / "clanforge-gate-result.json"
        data: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
        return data

    def log(self, job: str) -> str:
        prefix = re.compile(rf"^{re.escape(job)}\s+> ?(.*)$")
        return "\n".join(m[1] for line in self.output.splitlines() if (m := prefix.match(line)))


@pytest.fixture(scope="module")
def module_simulator() -> Iterator[Simulator]:
    sim = Simulator(
        duration=2.0,
        credentials=SimulatorCredentials(ACCESS, SECRET, TOKEN, source="environment"),
        account_service_id=PIPELINE_ASID,
    )
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def pipeline(module_simulator: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """Runs the whole pipeline once; the tests read what each job did."""
    binary = _gitlab_ci_local()
    if shutil.which("rsync") is None:
        _missing("gitlab-ci-local needs rsync, which is not installed (apt-get install rsync)")
    if shutil.which("node") is None:
        _missing("gitlab-ci-local needs node, which is not installed")
    gate = shutil.which("clanforge-gate", path=str(Path(sys.executable).parent)) or shutil.which(
        "clanforge-gate"
    )
    assert gate, "clanforge-gate is not on PATH: pip install -e ."

    project = tmp_path_factory.mktemp("gitlab-project")
    (project / "templates").mkdir()
    shutil.copy(COMPONENT, project / "templates" / COMPONENT.name)
    shutil.copy(PIPELINE, project / ".gitlab-ci.yml")
    git = [
        "git",
        "-c",
        "user.name=clanforge-gate",
        "-c",
        "user.email=ci@localhost",
        "-c",
        "init.defaultBranch=main",
    ]
    subprocess.run([*git, "init", "-q", "."], cwd=project, check=True)
    subprocess.run([*git, "add", "-A"], cwd=project, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "pipeline"], cwd=project, check=True)

    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLANFORGE_", "GITLAB_", "CI_"))}
    env["PATH"] = f"{Path(gate).parent}{os.pathsep}{env.get('PATH', '')}"
    # As masked CI/CD variables: in the environment, never on a command line.
    env["CLANFORGE_ACCESS_KEY"] = ACCESS
    env["CLANFORGE_SECRET_KEY"] = SECRET
    home = project / ".home"
    home.mkdir()
    completed = subprocess.run(
        [
            binary,
            "--force-shell-executor",
            "--shell-isolation",
            "--no-color",
            # the pipeline sets these two as a GitLab runner would (see pipeline.yml)
            "--ignore-predefined-vars",
            "GITLAB_CI,CI_JOB_TIMEOUT",
            "--home",
            str(home),
            "--variable",
            f"SIM_URL={module_simulator.base_url}",
        ],
        cwd=project,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = completed.stdout + completed.stderr
    verdicts = {m[2]: m[1] for m in re.finditer(r"^ (PASS|WARN|FAIL) +(\S+)", output, re.MULTILINE)}
    exit_codes = {
        m[1]: int(m[3])
        for m in re.finditer(r"^(\S+)\s+finished in .*?(WARN|FAIL) (\d+)", output, re.MULTILINE)
    }
    assert verdicts, f"gitlab-ci-local ran no job:\n{output}"
    return Run(output, project, verdicts, exit_codes)


def test_every_job_of_the_pipeline_ran(pipeline: Run) -> None:
    assert set(pipeline.verdicts) == {
        "make-ids",
        "gate-success",
        "gate-failure",
        "gate-timeout-allowed",
        "gate-timeout",
        "gate-unset-id",
        "gate-over-job-limit",
        "gate-deploy",
        "after-success",
        "after-deploy",
    }, pipeline.output


def test_an_id_from_an_earlier_jobs_dotenv_is_waited_on_and_passes(pipeline: Run) -> None:
    assert pipeline.verdicts["gate-success"] == "PASS", pipeline.output
    result = pipeline.result("gate-success")
    assert (result["update_id"], result["outcome"], result["exit_code"]) == (1001, "succeeded", 0)


def test_a_later_job_receives_the_gates_dotenv_variables(pipeline: Run) -> None:
    # after-success fails unless CLANFORGE_OUTCOME, CLANFORGE_GATE_UPDATE_ID and CLANFORGE_JOBS hold
    assert pipeline.verdicts["after-success"] == "PASS", pipeline.log("after-success")
    assert "gate said succeeded for update 1001" in pipeline.log("after-success")


def test_a_failed_update_fails_the_job_with_exit_code_1(pipeline: Run) -> None:
    assert pipeline.verdicts["gate-failure"] == "FAIL"
    assert pipeline.exit_codes["gate-failure"] == 1
    assert pipeline.result("gate-failure")["outcome"] == "failed"
    junit = pipeline.project / ".gitlab-ci-local" / "builds" / "gate-failure" / "clanforge-gate-junit.xml"
    assert "<failure" in junit.read_text(encoding="utf-8")


def test_a_timeout_is_allowed_to_fail_only_with_allow_timeout(pipeline: Run) -> None:
    assert pipeline.verdicts["gate-timeout-allowed"] == "WARN"
    assert pipeline.exit_codes["gate-timeout-allowed"] == 2
    assert pipeline.result("gate-timeout-allowed")["outcome"] == "timed_out"

    assert pipeline.verdicts["gate-timeout"] == "FAIL"
    assert pipeline.exit_codes["gate-timeout"] == 1
    assert pipeline.result("gate-timeout")["outcome"] == "timed_out"
    assert "set the allow-timeout input" in pipeline.log("gate-timeout")


def test_an_id_variable_that_was_never_set_is_a_clear_error(pipeline: Run) -> None:
    assert pipeline.verdicts["gate-unset-id"] == "FAIL"
    assert pipeline.exit_codes["gate-unset-id"] == 3
    log = pipeline.log("gate-unset-id")
    assert "clanforge-gate: update_id" in log
    assert "Traceback" not in log


def test_a_gate_timeout_past_the_jobs_own_limit_is_refused_before_it_starts(pipeline: Run) -> None:
    assert pipeline.verdicts["gate-over-job-limit"] == "FAIL"
    assert pipeline.exit_codes["gate-over-job-limit"] == 3
    log = pipeline.log("gate-over-job-limit")
    assert "does not fit in this GitLab job's time limit of 1h00m00s" in log
    assert "job-timeout input" in log
    assert pipeline.result("gate-over-job-limit")["polls"] == 0


def test_a_deploy_runs_the_chain_and_hands_every_id_on(pipeline: Run) -> None:
    assert pipeline.verdicts["gate-deploy"] == "PASS", pipeline.log("gate-deploy")
    result = pipeline.result("gate-deploy")
    assert [(job["kind"], job["outcome"]) for job in result["jobs"]] == [  # type: ignore[union-attr]
        ("imageupdate", "succeeded"),
        ("imagediff", "succeeded"),
        ("imageversion", "succeeded"),
        ("imageinstall", "succeeded"),
    ]
    # the chain's facts as a table in the job log
    log = pipeline.log("gate-deploy")
    assert re.search(r"^step\s+job\s+outcome\s+state\s+progress\s+requests\s+waited", log, re.MULTILINE)
    assert re.search(r"^3\s+image version 50001\s+succeeded", log, re.MULTILINE)
    assert pipeline.verdicts["after-deploy"] == "PASS", pipeline.log("after-deploy")
    assert "update 30001, diff 40001, version 50001" in pipeline.log("after-deploy")


def test_no_credential_reaches_the_log(pipeline: Run) -> None:
    assert ACCESS not in pipeline.output
    assert SECRET not in pipeline.output
