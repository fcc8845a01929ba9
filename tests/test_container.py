"""The container image, built with podman and run the way GitHub Actions, GitLab CI and Jenkins run it.

The image is built from this tree's Dockerfile on a Debian base made on this machine
(scripts/container-setup.sh: debootstrap, then ``podman import``), passed as ``BASE_IMAGE``.
Each platform's way of running a container is copied as closely as a test can:

* GitHub: a Docker action runs the image's entrypoint as the image's user (root), with the
  inputs as environment variables and the workspace and file-command files mounted, owned
  by the runner's user (uid 1001).
* The action itself (action.yml) runs the image through scripts/action-run.sh: its inputs as
  ``CLANFORGE_INPUT_*`` variables, the runner's workspace (owned by uid 1001) and file-command
  files mounted at their own paths; the tests run that script with a ``docker`` that is podman,
  beside stray workflow-level ``CLANFORGE_*`` variables that must change nothing.
* GitLab: the job overrides the entrypoint with ``[""]``, starts a shell and pipes the job
  script into it.
* Jenkins: ``docker.image(...).inside('--entrypoint=')`` starts the container as the agent's
  uid with ``cat`` kept running, then runs each ``sh`` step through ``docker exec``;
  credentials arrive as files (the "Secret file" binding) in the workspace's ``@tmp``.

Every run talks over HTTP to the simulator on this host's loopback (``--network=host``) and
must end with exit code 0, 1 or 2 as the job does, and write its result file.

Without podman, or without a way to make the base image, the tests are skipped with the
reason; a failed build or run is a failure. Run only these with ``pytest -m container``,
or leave them out with ``-m "not container"``.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from gate.sim import (
    ID_BY_SCENARIO,
    IMAGE_BY_DEPLOY_SCENARIO,
    DeployScenario,
    Scenario,
    Simulator,
    SimulatorCredentials,
)

# Builds and runs the image: end to end as well, so `-m "not e2e"` leaves it out too.
pytestmark = [pytest.mark.container, pytest.mark.e2e]

ROOT = Path(__file__).resolve().parent.parent
SETUP_SCRIPT = ROOT / "scripts" / "container-setup.sh"
# The name scripts/container-setup.sh gives the base by default.
BASE_IMAGE = "localhost/clanforge-gate-base:bookworm"
IMAGE = "localhost/clanforge-gate:test"
ACCOUNT_SERVICE_ID = "424242"
# Podman's defaults ask for more open files and processes than a CI sandbox may grant.
ULIMITS = ("--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024")
# Settle a job in about a second and a half, and give up on a stuck one after three.
JOB_DURATION = 1.5
GATE_TIMINGS = {
    "CLANFORGE_TIMEOUT": "3s",
    "CLANFORGE_POLL_INTERVAL": "0.3s",
    "CLANFORGE_MIN_POLL_INTERVAL": "0.1s",
    "CLANFORGE_REQUEST_TIMEOUT": "2s",
}
RUN_TIMEOUT = 60


@dataclass(frozen=True)
class Case:
    scenario: Scenario
    exit_code: int
    outcome: str

    @property
    def update_id(self) -> int:
        return ID_BY_SCENARIO[self.scenario]


CASES = [
    Case(Scenario.SUCCESS, 0, "succeeded"),
    Case(Scenario.FAILURE, 1, "failed"),
    Case(Scenario.STUCK, 2, "timed_out"),
]
CASE_IDS = [case.outcome for case in CASES]


@dataclass(frozen=True)
class Secrets:
    access_key: str
    secret_key: str

    def env(self) -> dict[str, str]:
        return {"CLANFORGE_ACCESS_KEY": self.access_key, "CLANFORGE_SECRET_KEY": self.secret_key}

    def assert_absent(self, *texts: str) -> None:
        for text in texts:
            assert self.access_key not in text
            assert self.secret_key not in text


def _skip_loudly(reason: str) -> None:
    banner = "!" * 78
    print(f"\n{banner}\nCONTAINER TESTS SKIPPED: {reason}\n{banner}", file=sys.stderr)
    pytest.skip(f"container tests skipped: {reason}")


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def podman() -> list[str]:
    """The podman command line prefix, or a loud skip when podman cannot run containers here."""
    if shutil.which("podman") is None:
        _skip_loudly("podman is not installed; run scripts/container-setup.sh (as root) first")
    command = ["podman"]
    # runc works where podman's default runtime (crun) cannot set up a container in a sandbox.
    if shutil.which("runc") is not None:
        command += ["--runtime", "runc"]
    probe = subprocess.run([*command, "info"], capture_output=True, text=True, timeout=RUN_TIMEOUT)
    if probe.returncode != 0:
        _skip_loudly(f"`podman info` failed here:\n{_tail(probe.stderr)}")
    return command


@pytest.fixture(scope="session")
def base_image(podman: list[str]) -> str:
    """The local Debian base; made (and its root filesystem cached) by the setup script if missing."""
    exists = subprocess.run([*podman, "image", "exists", BASE_IMAGE], capture_output=True)
    if exists.returncode != 0:
        setup = subprocess.run(
            ["bash", str(SETUP_SCRIPT)],
            capture_output=True,
            text=True,
            timeout=900,
            env={**os.environ, "CLANFORGE_BASE_IMAGE": BASE_IMAGE},
        )
        if setup.returncode != 0:
            _skip_loudly(f"cannot make the base image {BASE_IMAGE}:\n{_tail(setup.stderr)}")
    return BASE_IMAGE


@pytest.fixture(scope="session")
def image(podman: list[str], base_image: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The gate's image, built from this tree's Dockerfile. A failed build fails the tests.

    Used by its id: a tag can be moved meanwhile by a build of another tree on the same machine.
    """
    id_file = tmp_path_factory.mktemp("image") / "id"
    build = subprocess.run(
        [
            *podman,
            "build",
            *ULIMITS,
            f"--iidfile={id_file}",
            "--network=host",
            # The build installs from the package index over TLS: the base needs the host's CA list.
            "--volume=/etc/ssl/certs:/etc/ssl/certs:ro",
            f"--build-arg=BASE_IMAGE={base_image}",
            f"--tag={IMAGE}",
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert build.returncode == 0, f"podman build failed:\n{_tail(build.stdout + build.stderr, 40)}"
    return id_file.read_text(encoding="utf-8").strip()


@pytest.fixture(scope="session")
def credentials() -> Secrets:
    return Secrets(f"access-{secrets.token_hex(8)}", f"secret-{secrets.token_hex(16)}")


@pytest.fixture(scope="session")
def simulator_session(credentials: Secrets) -> Iterator[Simulator]:
    simulator = Simulator(
        host="127.0.0.1",
        duration=JOB_DURATION,
        credentials=SimulatorCredentials(credentials.access_key, credentials.secret_key, None, source="test"),
        account_service_id=ACCOUNT_SERVICE_ID,
    )
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def simulator(simulator_session: Simulator) -> Simulator:
    """The session's simulator with every job's clock and request count started afresh."""
    simulator_session.reset()
    return simulator_session


def _gate_env(simulator: Simulator, case: Case) -> dict[str, str]:
    """The non-secret settings, as each platform hands them over."""
    return {
        "CLANFORGE_UPDATE_ID": str(case.update_id),
        "CLANFORGE_ACCOUNT_SERVICE_ID": ACCOUNT_SERVICE_ID,
        "CLANFORGE_API_URL": simulator.base_url,
        **GATE_TIMINGS,
    }


def _env_flags(env: Mapping[str, str]) -> list[str]:
    return [f"--env={name}={value}" for name, value in env.items()]


def _env_by_name(secret_env: Mapping[str, str]) -> list[str]:
    # By name only: podman takes each value from its own environment (pass the same mapping to
    # _run), so no secret is on a command line.
    return [f"--env={name}" for name in secret_env]


def _run(
    command: list[str], *, env: Mapping[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        env={**os.environ, **(env or {})},
    )


def _read_result(path: Path, case: Case) -> dict[str, object]:
    assert path.is_file(), f"no result file at {path}"
    result = json.loads(path.read_text(encoding="utf-8"))
    assert result["update_id"] == case.update_id
    assert result["outcome"] == case.outcome
    assert result["exit_code"] == case.exit_code
    return dict(result)


def _github_outputs(text: str) -> dict[str, str]:
    """Parse a GITHUB_OUTPUT file: ``name=value`` lines and ``name<<DELIMITER`` blocks."""
    outputs: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            value: list[str] = []
            for inner in lines:
                if inner == delimiter:
                    break
                value.append(inner)
            outputs[name] = "\n".join(value)
        elif "=" in line:
            name, value_text = line.split("=", 1)
            outputs[name] = value_text
    return outputs


# --------------------------------------------------------------------------- GitHub Actions


# The variables that action.yml's runs.env sets from the action's inputs.
ACTION_ENV = (
    "CLANFORGE_UPDATE_ID",
    "CLANFORGE_ACCOUNT_SERVICE_ID",
    "CLANFORGE_ACCESS_KEY",
    "CLANFORGE_SECRET_KEY",
    "CLANFORGE_TOKEN",
    "CLANFORGE_API_URL",
    "CLANFORGE_TIMEOUT",
    "CLANFORGE_POLL_INTERVAL",
    "CLANFORGE_MIN_POLL_INTERVAL",
    "CLANFORGE_REQUEST_TIMEOUT",
    "CLANFORGE_CONFIG",
    "CLANFORGE_RESULT_FILE",
    "CLANFORGE_JUNIT_FILE",
    "CLANFORGE_DOTENV_FILE",
    "REQUESTS_CA_BUNDLE",
)


def _github_run(
    podman: list[str], image: str, simulator: Simulator, credentials: Secrets, case: Case, tmp_path: Path
) -> tuple[subprocess.CompletedProcess[str], Path, Path]:
    runner_uid = 1001
    workspace = tmp_path / "workspace"
    file_commands = tmp_path / "file_commands"
    for folder in (workspace, file_commands):
        folder.mkdir()
    token = uuid.uuid4()
    output_file = file_commands / f"set_output_{token}"
    summary_file = file_commands / f"step_summary_{token}"
    for created in (output_file, summary_file):
        created.touch(mode=0o644)
    for owned in (workspace, file_commands, output_file, summary_file):
        os.chown(owned, runner_uid, runner_uid)

    # Every variable of action.yml's runs.env is set, empty where its input is; like the runner,
    # pass them all by name with the values in podman's own environment.
    env = {
        **dict.fromkeys(ACTION_ENV, ""),
        **_gate_env(simulator, case),
        **credentials.env(),
        "CLANFORGE_RESULT_FILE": "clanforge-gate-result.json",
        "GITHUB_ACTIONS": "true",
        "CI": "true",
        "GITHUB_WORKSPACE": "/github/workspace",
        "GITHUB_OUTPUT": f"/github/file_commands/{output_file.name}",
        "GITHUB_STEP_SUMMARY": f"/github/file_commands/{summary_file.name}",
        "RUNNER_TEMP": "/github/runner_temp",
    }
    completed = _run(
        [
            *podman,
            "run",
            "--rm",
            *ULIMITS,
            "--network=host",
            "--workdir=/github/workspace",
            f"--volume={workspace}:/github/workspace",
            f"--volume={file_commands}:/github/file_commands",
            *_env_by_name(env),
            image,
        ],
        env=env,
    )
    return completed, workspace, file_commands


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_github_action_way(
    podman: list[str], image: str, simulator: Simulator, credentials: Secrets, case: Case, tmp_path: Path
) -> None:
    completed, workspace, _ = _github_run(podman, image, simulator, credentials, case, tmp_path)

    output = completed.stdout + completed.stderr
    assert completed.returncode == case.exit_code, output
    result = _read_result(workspace / "clanforge-gate-result.json", case)
    # Written as root, handed to the owner of the workspace (the runner's user).
    assert (workspace / "clanforge-gate-result.json").stat().st_uid == 1001
    assert result["polls"] == simulator.request_count(case.update_id) >= 1
    assert f"update {case.update_id}" in output
    credentials.assert_absent(output, json.dumps(result))


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_github_file_commands(
    podman: list[str], image: str, simulator: Simulator, credentials: Secrets, case: Case, tmp_path: Path
) -> None:
    """The step outputs and job summary, written as root into the runner-owned files."""
    completed, _, file_commands = _github_run(podman, image, simulator, credentials, case, tmp_path)
    assert completed.returncode == case.exit_code, completed.stdout + completed.stderr

    (output_file,) = file_commands.glob("set_output_*")
    (summary_file,) = file_commands.glob("step_summary_*")
    outputs = _github_outputs(output_file.read_text(encoding="utf-8"))
    assert outputs["outcome"] == case.outcome
    assert outputs["exit-code"] == str(case.exit_code)
    summary = summary_file.read_text(encoding="utf-8")
    assert str(case.update_id) in summary
    credentials.assert_absent(output_file.read_text(encoding="utf-8"), summary)


# --------------------------------------------------------------------------- the action's own run

RUNNER_UID = 1001
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
ACTION_RUN = ROOT / "scripts" / "action-run.sh"


def _docker_shim(podman: list[str], folder: Path) -> Path:
    """A ``docker`` for scripts/action-run.sh: this machine's podman, with the sandbox's ulimits."""
    folder.mkdir()
    shim = folder / "docker"
    prefix = " ".join(shlex.quote(word) for word in podman)
    limits = " ".join(ULIMITS)
    shim.write_text(
        "#!/usr/bin/env bash\n"
        f'if [ "$1" = run ]; then shift; exec {prefix} run {limits} "$@"; fi\n'
        f'exec {prefix} "$@"\n',
        encoding="utf-8",
    )
    shim.chmod(0o755)
    return folder


def _action_run(
    podman: list[str], image: str, tmp_path: Path, inputs: Mapping[str, str], stray: Mapping[str, str]
) -> tuple[subprocess.CompletedProcess[str], Path, dict[str, str], str]:
    """Run the action's run step as the runner would: every input as action.yml passes it (its
    default unless given), a uid-1001 workspace and file-command files, and workflow-level
    variables (``stray``) in the step's environment."""
    work = tmp_path / "work"
    workspace = work / "studio" / "game-server"
    temp = work / "_temp"
    file_commands = temp / "_runner_file_commands"
    for folder in (workspace, file_commands):
        folder.mkdir(parents=True)
    output_file = file_commands / "set_output_1"
    summary_file = file_commands / "step_summary_1"
    for created in (output_file, summary_file):
        created.touch(mode=0o644)
    for owned in (work, workspace.parent, workspace, temp, file_commands, output_file, summary_file):
        os.chown(owned, RUNNER_UID, RUNNER_UID)
    env = {
        **stray,
        **{
            "CLANFORGE_INPUT_" + name.upper().replace("-", "_"): str(spec.get("default", ""))
            for name, spec in ACTION["inputs"].items()
        },
        **{"CLANFORGE_INPUT_" + name.upper().replace("-", "_"): value for name, value in inputs.items()},
        "PATH": f"{_docker_shim(podman, tmp_path / 'bin')}:{os.environ['PATH']}",
        "CLANFORGE_ACTION_IMAGE": image,
        # The simulator listens on this host's loopback.
        "CLANFORGE_ACTION_NETWORK": "host",
        "GITHUB_ACTIONS": "true",
        "CI": "true",
        "GITHUB_WORKSPACE": str(workspace),
        "RUNNER_TEMP": str(temp),
        "GITHUB_OUTPUT": str(output_file),
        "GITHUB_STEP_SUMMARY": str(summary_file),
    }
    completed = subprocess.run(
        ["bash", str(ACTION_RUN)], capture_output=True, text=True, timeout=RUN_TIMEOUT, env=env
    )
    outputs = _github_outputs(output_file.read_text(encoding="utf-8"))
    return completed, workspace, outputs, summary_file.read_text(encoding="utf-8")


STRAY_WORKFLOW_ENV = {
    # Would each change the run if they reached the gate: another job, no time, a clashing token.
    "CLANFORGE_UPDATE_ID": "999999",
    "CLANFORGE_TIMEOUT": "1ms",
    "CLANFORGE_TOKEN": "stray-token",
    "CLANFORGE_RESULT_FILE": "/tmp/stray-result.json",
}


def _simulator_inputs(simulator: Simulator, credentials: Secrets) -> dict[str, str]:
    return {
        "account-service-id": ACCOUNT_SERVICE_ID,
        "api-url": simulator.base_url,
        "access-key": credentials.access_key,
        "secret-key": credentials.secret_key,
        "timeout": GATE_TIMINGS["CLANFORGE_TIMEOUT"],
        "poll-interval": GATE_TIMINGS["CLANFORGE_POLL_INTERVAL"],
        "min-poll-interval": GATE_TIMINGS["CLANFORGE_MIN_POLL_INTERVAL"],
        "request-timeout": GATE_TIMINGS["CLANFORGE_REQUEST_TIMEOUT"],
    }


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_action_wait_leaves_runner_owned_files_and_ignores_stray_variables(
    podman: list[str], image: str, simulator: Simulator, credentials: Secrets, case: Case, tmp_path: Path
) -> None:
    inputs = {
        **_simulator_inputs(simulator, credentials),
        "update-id": str(case.update_id),
        "result-file": "reports/gate/result.json",
        "junit-file": "reports/junit/gate.xml",
    }
    completed, workspace, outputs, summary = _action_run(podman, image, tmp_path, inputs, STRAY_WORKFLOW_ENV)
    output = completed.stdout + completed.stderr
    assert completed.returncode == case.exit_code, output
    result = _read_result(workspace / "reports" / "gate" / "result.json", case)
    assert outputs["outcome"] == case.outcome and outputs["update-id"] == str(case.update_id)
    assert str(case.update_id) in summary
    # Written as root in the container, handed to the workspace's owner: folders and files.
    for made in (
        "reports",
        "reports/gate",
        "reports/gate/result.json",
        "reports/junit",
        "reports/junit/gate.xml",
    ):
        info = (workspace / made).stat()
        assert (info.st_uid, info.st_gid) == (RUNNER_UID, RUNNER_UID), made
    assert not Path(STRAY_WORKFLOW_ENV["CLANFORGE_RESULT_FILE"]).exists()
    credentials.assert_absent(output, json.dumps(result), summary)


def test_action_deploy_runs_the_chain_and_charts_it(
    podman: list[str], image: str, simulator: Simulator, credentials: Secrets, tmp_path: Path
) -> None:
    inputs = {
        **_simulator_inputs(simulator, credentials),
        "command": "deploy",
        "image-id": str(IMAGE_BY_DEPLOY_SCENARIO[DeployScenario.DEPLOY]),
        "machine-id": "1",
        "desc": "container test",
        "restart": "true",
        "timeout": "60s",
        "result-file": "out/deploy.json",
    }
    completed, workspace, outputs, summary = _action_run(podman, image, tmp_path, inputs, STRAY_WORKFLOW_ENV)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert outputs["outcome"] == "succeeded"
    created = {kind: simulator.created(kind) for kind in ("imageupdate", "imagediff", "imageversion")}
    assert outputs["update-id"] == str(created["imageupdate"][-1])
    assert outputs["diff-id"] == str(created["imagediff"][-1])
    assert outputs["image-version-id"] == str(created["imageversion"][-1])
    assert [job["kind"] for job in json.loads(outputs["jobs"])] == [
        "imageupdate", "imagediff", "imageversion", "imageinstall",
    ]  # fmt: skip
    assert "```mermaid\ngantt\n" in summary and ":done, step4," in summary
    assert (workspace / "out").stat().st_uid == RUNNER_UID
    assert (workspace / "out" / "deploy.json").stat().st_uid == RUNNER_UID
    credentials.assert_absent(output, summary)


# --------------------------------------------------------------------------- GitLab CI

# What GitLab's Docker executor runs when a job sets `entrypoint: [""]`: find a shell, then feed it
# the job script on standard input.
GITLAB_SHELL_DETECTION = (
    "if [ -x /usr/local/bin/bash ]; then exec /usr/local/bin/bash; "
    "elif [ -x /usr/bin/bash ]; then exec /usr/bin/bash; "
    "elif [ -x /bin/bash ]; then exec /bin/bash; "
    "else exec sh; fi"
)
# The component's job script is `clanforge-gate` alone; the echo lines show the shell went on.
GITLAB_JOB_SCRIPT = """\
set -eo pipefail
echo "job: waiting for update $CLANFORGE_UPDATE_ID"
clanforge-gate
echo "job: the image update is in"
"""
GITLAB_PROJECT_DIR = "/builds/studio/game-server"


def _gitlab_run(
    podman: list[str], image: str, simulator: Simulator, credentials: Secrets, case: Case, tmp_path: Path
) -> tuple[subprocess.CompletedProcess[str], Path]:
    build_dir = tmp_path / "build"
    build_dir.mkdir()
    # The component's variables (file names as its defaults), plus the masked project variables.
    env = {
        **_gate_env(simulator, case),
        **credentials.env(),
        "CLANFORGE_RESULT_FILE": "clanforge-gate-result.json",
        "CLANFORGE_JUNIT_FILE": "clanforge-gate-junit.xml",
        "CLANFORGE_DOTENV_FILE": "clanforge-gate.env",
        "CI": "true",
        "GITLAB_CI": "true",
        "CI_PROJECT_DIR": GITLAB_PROJECT_DIR,
        "CI_JOB_NAME": "clanforge-gate",
    }
    completed = _run(
        [
            *podman,
            "run",
            "--rm",
            "--interactive",
            *ULIMITS,
            "--network=host",
            "--entrypoint=",
            f"--workdir={GITLAB_PROJECT_DIR}",
            f"--volume={build_dir}:{GITLAB_PROJECT_DIR}",
            *_env_by_name(env),
            image,
            "sh",
            "-c",
            GITLAB_SHELL_DETECTION,
        ],
        env=env,
        stdin=GITLAB_JOB_SCRIPT,
    )
    return completed, build_dir


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_gitlab_job_way(
    podman: list[str], image: str, simulator: Simulator, credentials: Secrets, case: Case, tmp_path: Path
) -> None:
    completed, build_dir = _gitlab_run(podman, image, simulator, credentials, case, tmp_path)

    output = completed.stdout + completed.stderr
    assert completed.returncode == case.exit_code, output
    assert f"job: waiting for update {case.update_id}" in output
    # `set -e`: the script goes on only when the gate says the update succeeded.
    assert ("job: the image update is in" in output) == (case.exit_code == 0)
    result = _read_result(build_dir / "clanforge-gate-result.json", case)
    assert result["polls"] == simulator.request_count(case.update_id) >= 1
    credentials.assert_absent(output, json.dumps(result))


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_gitlab_reports(
    podman: list[str], image: str, simulator: Simulator, credentials: Secrets, case: Case, tmp_path: Path
) -> None:
    """The dotenv and JUnit reports that the component hands to `artifacts:reports`."""
    completed, build_dir = _gitlab_run(podman, image, simulator, credentials, case, tmp_path)
    assert completed.returncode == case.exit_code, completed.stdout + completed.stderr

    dotenv = (build_dir / "clanforge-gate.env").read_text(encoding="utf-8")
    assert f"CLANFORGE_OUTCOME={case.outcome}" in dotenv.splitlines()
    junit = (build_dir / "clanforge-gate-junit.xml").read_text(encoding="utf-8")
    assert "<testsuite" in junit
    assert ("<failure" in junit or "<error" in junit) == (case.exit_code != 0)
    credentials.assert_absent(dotenv, junit)


# --------------------------------------------------------------------------- Jenkins

JENKINS_UID = 12345


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_jenkins_inside_way(
    podman: list[str], image: str, simulator: Simulator, credentials: Secrets, case: Case, tmp_path: Path
) -> None:
    workspace = tmp_path / "workspace" / "deploy"
    workspace_tmp = tmp_path / "workspace" / "deploy@tmp"
    secret_dir = workspace_tmp / "secretFiles" / str(uuid.uuid4())
    step_dir = workspace_tmp / "durable-0001"
    for folder in (workspace, secret_dir, step_dir):
        folder.mkdir(parents=True)
    # The "Secret file" credential binding: files only the agent's user can read.
    access_file = secret_dir / "access-key"
    secret_file = secret_dir / "secret-key"
    access_file.write_text(credentials.access_key, encoding="utf-8")
    secret_file.write_text(credentials.secret_key, encoding="utf-8")
    # The `sh` step's script, written by the agent into the workspace's @tmp.
    script = step_dir / "script.sh"
    script.write_text("clanforge-gate --result-file clanforge-gate-result.json\n", encoding="utf-8")
    for path in (
        tmp_path / "workspace",
        workspace,
        workspace_tmp,
        workspace_tmp / "secretFiles",
        secret_dir,
        access_file,
        secret_file,
        step_dir,
        script,
    ):
        os.chown(path, JENKINS_UID, JENKINS_UID)
    for path in (access_file, secret_file):
        path.chmod(0o400)

    started = _run(
        [
            *podman,
            "run",
            "--tty",
            "--detach",
            *ULIMITS,
            "--network=host",
            f"--user={JENKINS_UID}:{JENKINS_UID}",
            f"--workdir={workspace}",
            f"--volume={workspace}:{workspace}:rw",
            f"--volume={workspace_tmp}:{workspace_tmp}:rw",
            "--entrypoint=",  # from the Jenkinsfile's inside('--entrypoint=')
            image,
            "cat",
        ]
    )
    assert started.returncode == 0, started.stderr
    container = started.stdout.strip()
    try:
        # `inside` checks that the container runs the command it was given.
        top = _run([*podman, "top", container, "user", "args"])
        assert top.returncode == 0, top.stderr
        assert "cat" in top.stdout
        assert str(JENKINS_UID) in top.stdout

        env = {
            **_gate_env(simulator, case),
            "JENKINS_URL": "http://127.0.0.1:8080/",
            "WORKSPACE": str(workspace),
            "CLANFORGE_ACCESS_KEY_FILE": str(access_file),
            "CLANFORGE_SECRET_KEY_FILE": str(secret_file),
        }
        step = _run(
            [
                *podman,
                "exec",
                f"--workdir={workspace}",
                *_env_flags(env),
                container,
                "sh",
                "-c",
                'sh -xe "$0"',
                str(script),
            ]
        )
    finally:
        _run([*podman, "rm", "--force", "--time=1", container])

    output = step.stdout + step.stderr
    assert step.returncode == case.exit_code, output
    result_path = workspace / "clanforge-gate-result.json"
    result = _read_result(result_path, case)
    # Written by the agent's uid, so later steps and the workspace cleanup can handle it.
    assert result_path.stat().st_uid == JENKINS_UID
    assert result["polls"] == simulator.request_count(case.update_id) >= 1
    credentials.assert_absent(output, json.dumps(result))


# --------------------------------------------------------------------------- cancellation


def test_stop_reaches_the_gate_as_pid_1(
    podman: list[str], image: str, simulator: Simulator, credentials: Secrets, tmp_path: Path
) -> None:
    """A cancelled job stops the container (SIGTERM): as PID 1, the gate must handle it itself.

    The kernel gives PID 1 no default action for SIGTERM; an entrypoint that ignored it would be
    killed after the grace period instead (exit code 137), and write no result.
    """
    case = Case(Scenario.STUCK, 143, "cancelled")
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    env = {
        **_gate_env(simulator, case),
        **credentials.env(),
        "CLANFORGE_TIMEOUT": "5m",
        "CLANFORGE_RESULT_FILE": "/work/clanforge-gate-result.json",
    }
    started = _run(
        [
            *podman,
            "run",
            "--detach",
            *ULIMITS,
            "--network=host",
            f"--volume={workspace}:/work",
            *_env_by_name(env),
            image,
        ],
        env=env,
    )
    assert started.returncode == 0, started.stderr
    container = started.stdout.strip()
    try:
        # Stop it only once it is waiting on the job (a bounded wait for the first request).
        deadline = time.monotonic() + 30
        while simulator.request_count(case.update_id) == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert simulator.request_count(case.update_id) >= 1
        stopped = _run([*podman, "stop", "--time=10", container])
        assert stopped.returncode == 0, stopped.stderr
        waited = _run([*podman, "wait", container])
        logs = _run([*podman, "logs", container])
    finally:
        _run([*podman, "rm", "--force", container])

    assert waited.stdout.strip() == "143", logs.stdout + logs.stderr
    result = json.loads((workspace / "clanforge-gate-result.json").read_text(encoding="utf-8"))
    assert result["outcome"] == "cancelled"
    assert result["exit_code"] == 143
    assert "may still be running" in logs.stdout + logs.stderr
