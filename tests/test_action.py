"""The GitHub action (action.yml and its scripts), checked against the CLI it wraps.

The inputs are checked against the CLI's own parser and option table, so a setting added to the
CLI without an input (or with another default) fails here. The scripts run under bash with a
stand-in ``docker`` that records what it was asked to do; the native mode's installer runs with
stand-in Pythons. tests/test_act.py runs the whole action under a workflow runner.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from gate import __version__
from gate.cli import COMMANDS, build_parser
from gate.inputs import default_text, input_env
from gate.options import DEPLOY_OPTIONS, OPTIONS

ROOT = Path(__file__).resolve().parent.parent
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
INPUTS: dict[str, dict[str, object]] = ACTION["inputs"]
IMAGE_SCRIPT = ROOT / "scripts" / "action-image.sh"
RUN_SCRIPT = ROOT / "scripts" / "action-run.sh"
NATIVE_SCRIPT = ROOT / "scripts" / "action-native.sh"
BASH = shutil.which("bash") or "/bin/bash"

# Inputs that are not flags of a command: which command, the credentials (environment only, never
# flags) and the CA bundle (REQUESTS_CA_BUNDLE).
WRAPPER_INPUTS = {"command", "access-key", "secret-key", "token", "ca-bundle"}
# Inputs of the action itself, read by its first step: how the gate runs, and which image.
ACTION_INPUTS = {"mode", "image"}
# Flags that are no settings: the log's loudness (the action logs requests as debug messages).
NOT_SETTINGS = {"--help", "--quiet", "--verbose"}
# Commands of the CLI that are no gate commands (the local simulator).
SIMULATOR_COMMANDS = {"simulate", "demo"}


def action_commands() -> set[str]:
    text = RUN_SCRIPT.read_text(encoding="utf-8")
    match = re.search(r"^  ([a-z |]+)\) ;;$", text, re.M)
    assert match, "no case of commands in action-run.sh"
    return {word.strip() for word in match.group(1).split("|")}


def subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (commands,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(commands.choices)


def gate_flags() -> dict[str, set[str]]:
    """Each setting's first long flag, by command, for the commands the action runs."""
    flags: dict[str, set[str]] = {}
    for name, parser in subparsers().items():
        if name not in action_commands():
            continue
        for action in parser._actions:
            long = [s for s in action.option_strings if s.startswith("--")]
            if not long or long[0] in NOT_SETTINGS or action.help == argparse.SUPPRESS:
                continue
            flags.setdefault(long[0], set()).add(name)
    return flags


def test_every_setting_of_every_command_is_an_input_and_every_input_a_setting() -> None:
    settings = {flag.removeprefix("--") for flag in gate_flags()}
    assert settings, "no settings found"
    missing = sorted(settings - set(INPUTS))
    assert not missing, f"CLI settings without an input in action.yml: {missing}"
    stale = sorted(set(INPUTS) - settings - WRAPPER_INPUTS - ACTION_INPUTS)
    assert not stale, f"inputs of action.yml that no command has: {stale}"


def test_every_input_shows_the_cli_default() -> None:
    table = {option.flag.removeprefix("--"): option for option in (*OPTIONS, *DEPLOY_OPTIONS)}
    for name, spec in INPUTS.items():
        if name in table:
            expected = default_text(table[name].default)
            assert spec.get("default") == expected, f"input {name}: default {spec.get('default')!r}"
        # No "empty means ..." inputs: an input without a default has no default in the CLI either.
        assert spec.get("default") != "", f"input {name} has an empty default"
        assert "empty means" not in str(spec["description"]).lower(), name
    assert INPUTS["command"]["default"] == "wait"


def steps_by_id() -> dict[str, dict[str, object]]:
    return {step["id"]: step for step in ACTION["runs"]["steps"]}


def test_each_input_reaches_the_gate_under_its_own_variable_and_nowhere_else() -> None:
    steps = steps_by_id()
    assert list(steps) == ["image", "native", "gate"]
    run = steps["gate"]
    expected = {input_env("--" + name): f"${{{{ inputs.{name} }}}}" for name in set(INPUTS) - ACTION_INPUTS}
    passed = {k: v for k, v in run["env"].items() if k.startswith("CLANFORGE_INPUT_")}  # type: ignore[attr-defined]
    assert passed == expected
    # No input is expanded into a script, or anywhere but the env of the run step; the action's
    # own inputs go to the first step only.
    for step in ACTION["runs"]["steps"]:
        assert "inputs." not in step["run"]
    assert steps["image"]["env"] == {
        "ACTION_PATH": "${{ github.action_path }}",
        "ACTION_REF": "${{ github.action_ref }}",
        "ACTION_REPOSITORY": "${{ github.action_repository }}",
        "ACTION_MODE": "${{ inputs.mode }}",
        "ACTION_IMAGE": "${{ inputs.image }}",
    }
    assert "inputs." not in yaml.safe_dump(steps["native"])
    assert steps["native"]["if"] == "steps.image.outputs.mode == 'native'"
    assert INPUTS["mode"]["default"] == "auto" and "default" not in INPUTS["image"]


def test_the_command_input_runs_every_gate_command() -> None:
    gate_commands = set(COMMANDS) - SIMULATOR_COMMANDS
    assert gate_commands == action_commands()


def test_every_output_is_the_gate_steps_own() -> None:
    for name, spec in ACTION["outputs"].items():
        step = "image" if name == "mode" else "gate"
        assert spec["value"] == f"${{{{ steps.{step}.outputs.{name} }}}}"


# --- which image ------------------------------------------------------------------------------


def decide(ref: str, repository: str = "Acme-Games/clanforge-gate", path: Path = ROOT) -> dict[str, str]:
    env = {"PATH": os.environ["PATH"], "ACTION_PATH": str(path), "ACTION_REF": ref}
    env["ACTION_REPOSITORY"] = repository
    done = subprocess.run(
        ["bash", str(IMAGE_SCRIPT), "decide"], env=env, capture_output=True, text=True, check=True
    )
    lines = [line for line in done.stdout.splitlines() if "=" in line and not line.startswith("::")]
    return dict(line.split("=", 1) for line in lines)


@pytest.mark.parametrize("ref", ["v0", "v0.2", "v0.2.0"])
def test_a_release_tag_pulls_the_image_of_the_version_in_gate_init(ref: str) -> None:
    major, minor, _ = __version__.split(".")
    ref = {"v0": f"v{major}", "v0.2": f"v{major}.{minor}", "v0.2.0": f"v{__version__}"}[ref]
    assert decide(ref) == {"source": "release", "image": f"ghcr.io/acme-games/clanforge-gate:{__version__}"}


def test_a_commit_looks_for_the_image_the_release_workflow_tagged_with_it() -> None:
    sha = "0123456789abcdef0123456789abcdef01234567"
    assert decide(sha) == {"source": "commit", "image": f"ghcr.io/acme-games/clanforge-gate:sha-{sha}"}


@pytest.mark.parametrize(
    "ref",
    [
        "0123456789abcdef",  # an abbreviated commit: not what the images are tagged with
        "main",
        "feature/faster",
        "",  # uses: ./ (this repository's own CI)
        "v99",  # a tag that does not agree with the version: not that release's code
        "v0.20",
        "v0.2.0-rc1",
    ],
)
def test_any_other_ref_builds_from_the_dockerfile(ref: str) -> None:
    assert decide(ref)["source"] == "build"


def test_without_ref_context_the_ref_is_read_from_where_the_runner_unpacked_the_action(
    tmp_path: Path,
) -> None:
    unpacked = tmp_path / "_work" / "_actions" / "Acme" / "clanforge-gate" / f"v{__version__}"
    (unpacked / "gate").mkdir(parents=True)
    (unpacked / "gate" / "__init__.py").write_bytes((ROOT / "gate" / "__init__.py").read_bytes())
    assert decide("", repository="", path=unpacked) == {
        "source": "release",
        "image": f"ghcr.io/acme/clanforge-gate:{__version__}",
    }


def test_the_package_metadata_reads_the_same_version() -> None:
    # The released image is tagged by the version read from gate/__init__.py, which the package
    # metadata also reads: one source.
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'version = { attr = "gate.__version__" }' in pyproject
    init = (ROOT / "gate" / "__init__.py").read_text(encoding="utf-8")
    assert re.search(rf'^__version__ = "{re.escape(__version__)}"$', init, re.M)


# --- the scripts with a stand-in docker -------------------------------------------------------------

FAKE_DOCKER = """#!/usr/bin/env bash
log=$FAKE_DOCKER_LOG
{ printf 'ARGS'; printf ' %q' "$@"; printf '\\n'; } >> "$log"
case $1 in
  version) exit "${FAKE_VERSION_RC:-0}" ;;
  pull) exit "${FAKE_PULL_RC:-0}" ;;
  build)
    while [ $# -gt 0 ]; do
      if [ "$1" = --iidfile ]; then printf 'sha256:built' > "$2"; fi
      shift
    done ;;
  run) env | sort | sed 's/^/ENV /' >> "$log"; exit "${FAKE_RUN_RC:-0}" ;;
esac
"""


@pytest.fixture
def docker(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "docker"
    fake.write_text(FAKE_DOCKER, encoding="utf-8")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "docker.log"
    log.touch()
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_DOCKER_LOG": str(log)}


def log_of(docker: dict[str, str], *, asked: bool = False) -> list[str]:
    """What docker was told to do; ``asked`` keeps the ``docker version`` questions in."""
    lines = Path(docker["FAKE_DOCKER_LOG"]).read_text(encoding="utf-8").splitlines()
    return [line for line in lines if asked or not line.startswith("ARGS version")]


def get_image(docker: dict[str, str], tmp_path: Path, ref: str, **env: str) -> tuple[int, str, str]:
    output = tmp_path / "output"
    output.write_text("")
    full = {
        **docker, "ACTION_PATH": str(ROOT), "ACTION_REF": ref, "ACTION_REPOSITORY": "acme/clanforge-gate",
        "GITHUB_OUTPUT": str(output), "RUNNER_OS": "Linux", **env,
    }  # fmt: skip
    done = subprocess.run([BASH, str(IMAGE_SCRIPT)], env=full, capture_output=True, text=True)
    text = output.read_text()
    if done.returncode == 0:
        # Every successful decision names its mode first; the tests of images read the rest.
        first, _, text = text.partition("\n")
        assert first in ("mode=container", "mode=native"), first
        if first == "mode=native":
            text = first + "\n" + text
    return done.returncode, done.stdout + done.stderr, text


def test_a_release_ref_pulls_and_never_builds(docker: dict[str, str], tmp_path: Path) -> None:
    code, out, output = get_image(docker, tmp_path, f"v{__version__}")
    assert code == 0, out
    image = f"ghcr.io/acme/clanforge-gate:{__version__}"
    assert output == f"image={image}\n"
    assert log_of(docker) == [f"ARGS pull --quiet {image}"]


def test_a_failed_pull_warns_and_builds(docker: dict[str, str], tmp_path: Path) -> None:
    code, out, output = get_image(docker, tmp_path, "v0", FAKE_PULL_RC="1")
    assert code == 0, out
    assert "::warning title=clanforge-gate::cannot pull" in out
    assert output == "image=sha256:built\n"
    assert [line.split()[1] for line in log_of(docker)] == ["pull", "build"]


def test_a_branch_builds_the_dockerfile_of_the_action_and_runs_it_by_id(
    docker: dict[str, str], tmp_path: Path
) -> None:
    code, out, output = get_image(docker, tmp_path, "main")
    assert code == 0, out
    (line,) = log_of(docker)
    assert line.startswith("ARGS build --iidfile ") and line.endswith(f" {ROOT}")
    assert output == "image=sha256:built\n"


def test_a_release_commit_pulls_its_image(docker: dict[str, str], tmp_path: Path) -> None:
    sha = "0123456789abcdef0123456789abcdef01234567"
    code, out, output = get_image(docker, tmp_path, sha)
    assert code == 0, out
    assert log_of(docker) == [f"ARGS pull --quiet ghcr.io/acme/clanforge-gate:sha-{sha}"]
    assert output == f"image=ghcr.io/acme/clanforge-gate:sha-{sha}\n"


def test_any_other_commit_builds_after_a_notice(docker: dict[str, str], tmp_path: Path) -> None:
    code, out, output = get_image(docker, tmp_path, "f" * 40, FAKE_PULL_RC="1")
    assert code == 0, out
    assert "::notice title=clanforge-gate::no released image for commit" in out
    assert "::warning" not in out
    assert [line.split()[1] for line in log_of(docker)] == ["pull", "build"]
    assert output == "image=sha256:built\n"


def tools_without_docker(tmp_path: Path) -> str:
    """A PATH with only the tools the script needs besides docker."""
    tools = tmp_path / "tools"
    tools.mkdir()
    for tool in ("sed", "tr"):
        (tools / tool).symlink_to(shutil.which(tool) or tool)
    return str(tools)


@pytest.mark.parametrize(
    ("runner_os", "docker_answers"), [("macOS", True), ("Windows", True), ("Linux", False)]
)
def test_auto_runs_natively_off_linux_or_where_docker_does_not_answer(
    docker: dict[str, str], tmp_path: Path, runner_os: str, docker_answers: bool
) -> None:
    env = dict(docker)
    if not docker_answers:
        env["FAKE_VERSION_RC"] = "1"  # a docker command without an engine behind it
    code, out, output = get_image(env, tmp_path, "v0", RUNNER_OS=runner_os)
    assert code == 0, out
    assert output == "mode=native\n"
    assert out.startswith("::notice title=clanforge-gate::") and "runs natively" in out
    assert log_of(docker) == [], "auto on native neither pulls nor builds"


def test_auto_without_any_docker_command_runs_natively(docker: dict[str, str], tmp_path: Path) -> None:
    code, out, output = get_image({**docker, "PATH": tools_without_docker(tmp_path)}, tmp_path, "v0")
    assert code == 0 and output == "mode=native\n", out


def test_native_mode_never_asks_docker(docker: dict[str, str], tmp_path: Path) -> None:
    code, out, output = get_image(docker, tmp_path, "v0", ACTION_MODE="native")
    assert code == 0 and output == "mode=native\n", out
    assert log_of(docker, asked=True) == []


@pytest.mark.parametrize(
    ("runner_os", "docker_answers", "why"),
    [("macOS", True, "needs a Linux runner"), ("Windows", True, "needs a Linux runner"),
     ("Linux", False, "docker does not answer")],
)  # fmt: skip
def test_container_mode_off_linux_or_without_docker_is_an_error_naming_the_other_modes(
    docker: dict[str, str], tmp_path: Path, runner_os: str, docker_answers: bool, why: str
) -> None:
    env = dict(docker)
    if not docker_answers:
        env["FAKE_VERSION_RC"] = "1"
    code, out, _ = get_image(env, tmp_path, "v0", RUNNER_OS=runner_os, ACTION_MODE="container")
    assert code == 3
    assert out.startswith("::error title=clanforge-gate::mode: container") and why in out
    assert "use mode: native or auto" in out and len(out.splitlines()) == 1
    assert log_of(docker) == []


def test_an_unknown_mode_is_refused(docker: dict[str, str], tmp_path: Path) -> None:
    code, out, _ = get_image(docker, tmp_path, "v0", ACTION_MODE="podman")
    assert code == 3 and "the mode input is 'podman'; use auto, container or native" in out


@pytest.mark.parametrize("mode", ["auto", "container"])
@pytest.mark.parametrize("ref", ["v0", "main", "0123456789abcdef0123456789abcdef01234567"])
def test_the_image_input_is_run_as_it_is_never_pulled_nor_built(
    docker: dict[str, str], tmp_path: Path, mode: str, ref: str
) -> None:
    mirror = "registry.example/team/clanforge-gate:0.3.0"
    code, out, output = get_image(docker, tmp_path, ref, ACTION_MODE=mode, ACTION_IMAGE=mirror)
    assert code == 0, out
    assert output == f"image={mirror}\n"
    assert log_of(docker) == [], "the mirror is neither pulled nor built"
    assert "::warning" not in out and "::notice" not in out


@pytest.mark.parametrize("image", ["registry.example/gate:1\nmode=native", "gate image", "-v"])
def test_an_image_input_that_is_no_reference_is_refused(
    docker: dict[str, str], tmp_path: Path, image: str
) -> None:
    code, out, output = get_image(docker, tmp_path, "v0", ACTION_IMAGE=image)
    assert code == 3 and "the image input is not an image reference" in out
    assert "image=" not in output


def run_gate(docker: dict[str, str], tmp_path: Path, **env: str) -> tuple[int, str, list[str]]:
    workspace = tmp_path / "work" / "repo"
    temp = tmp_path / "work" / "_temp"
    commands = temp / "_runner_file_commands"
    for folder in (workspace, commands):
        folder.mkdir(parents=True, exist_ok=True)
    full = {
        **docker,
        "CLANFORGE_ACTION_IMAGE": "ghcr.io/acme/clanforge-gate:0.2.0",
        "GITHUB_ACTIONS": "true",
        "CI": "true",
        "GITHUB_WORKSPACE": str(workspace),
        "RUNNER_TEMP": str(temp),
        "GITHUB_OUTPUT": str(commands / "set_output_1"),
        "GITHUB_STEP_SUMMARY": str(commands / "step_summary_1"),
        **env,
    }
    done = subprocess.run(["bash", str(RUN_SCRIPT)], env=full, capture_output=True, text=True)
    return done.returncode, done.stdout + done.stderr, log_of(docker)


def test_the_run_passes_inputs_by_name_and_mounts_the_runner_paths(
    docker: dict[str, str], tmp_path: Path
) -> None:
    secret = "sk-never-on-a-command-line"
    code, out, log = run_gate(
        docker, tmp_path,
        CLANFORGE_INPUT_COMMAND="deploy",
        CLANFORGE_INPUT_SECRET_KEY=secret,
        CLANFORGE_INPUT_TIMEOUT="45m",
        CLANFORGE_INPUT_TOKEN="",
        CLANFORGE_INPUT_CA_BUNDLE="certs/ca.pem",
        CLANFORGE_TIMEOUT="1s",  # a stray workflow variable
        FAKE_RUN_RC="2",
    )  # fmt: skip
    assert code == 2, out  # the gate's exit code is the step's
    (args,) = [line for line in log if line.startswith("ARGS")]
    assert secret not in args
    words = args.split()
    workspace, temp = tmp_path / "work" / "repo", tmp_path / "work" / "_temp"
    assert words[:5] == ["ARGS", "run", "--rm", "--workdir", str(workspace)]
    assert words[-2:] == ["ghcr.io/acme/clanforge-gate:0.2.0", "deploy"]
    volumes = [words[i + 1] for i, word in enumerate(words) if word == "--volume"]
    # The file-command folder lies in RUNNER_TEMP: one mount covers it.
    assert volumes == [f"{workspace}:{workspace}", f"{temp}:{temp}"]
    passed = {words[i + 1] for i, word in enumerate(words) if word == "--env"}
    assert all("=" not in name for name in passed)
    assert {"CLANFORGE_INPUT_SECRET_KEY", "CLANFORGE_INPUT_TIMEOUT", "CLANFORGE_INPUT_TOKEN"} <= passed
    assert {"GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_WORKSPACE"} <= passed
    assert "CLANFORGE_TIMEOUT" not in passed
    assert "REQUESTS_CA_BUNDLE" in passed and "ENV REQUESTS_CA_BUNDLE=certs/ca.pem" in log


def test_a_stray_ca_bundle_is_not_passed(docker: dict[str, str], tmp_path: Path) -> None:
    _, _, log = run_gate(docker, tmp_path, REQUESTS_CA_BUNDLE="/stray.pem", CLANFORGE_INPUT_CA_BUNDLE="")
    (args,) = [line for line in log if line.startswith("ARGS")]
    assert "REQUESTS_CA_BUNDLE" not in args
    assert args.endswith(" wait"), "wait is the default command"


def test_the_job_network_is_joined_when_there_is_one(docker: dict[str, str], tmp_path: Path) -> None:
    _, out, log = run_gate(docker, tmp_path, CLANFORGE_ACTION_NETWORK="github_network_1")
    assert "--network github_network_1" in log[0], out


@pytest.mark.parametrize("command", ["simulate", "--help", "wait --verbose"])
def test_a_command_outside_the_list_is_refused_before_docker(
    docker: dict[str, str], tmp_path: Path, command: str
) -> None:
    code, out, log = run_gate(docker, tmp_path, CLANFORGE_INPUT_COMMAND=command)
    assert code == 3 and out.startswith("::error title=clanforge-gate::the command input")
    assert log == []


# --- the native mode ------------------------------------------------------------------------------

FAKE_PYTHON = """#!BASH
# Answers the version check as VERSION; as the gate, records its arguments, directory and env.
case "$*" in
  *version_info*) echo VERSION; [ VERSION_OK = yes ] ;;
  *) { printf 'ARGS'; printf ' %q' "$@"; printf '\\nPWD %s\\n' "$PWD"
       env | sort | sed 's/^/ENV /'; } > LOG ;;
esac
"""


def fake_python(folder: Path, name: str, version: str, log: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    ok = "yes" if tuple(int(p) for p in version.split(".")[:2]) >= (3, 10) else "no"
    script = (
        FAKE_PYTHON.replace("BASH", BASH)
        .replace("VERSION_OK", ok)
        .replace("VERSION", version)
        .replace("LOG", str(log))
    )
    path = folder / name
    path.write_text(script, encoding="utf-8")
    path.chmod(0o755)
    return path


def test_native_runs_the_installed_gate_with_only_the_inputs(docker: dict[str, str], tmp_path: Path) -> None:
    log = tmp_path / "python.log"
    python = fake_python(tmp_path / "venv" / "bin", "python", "3.12.1", log)
    code, out, docker_log = run_gate(
        docker, tmp_path,
        CLANFORGE_ACTION_MODE="native",
        CLANFORGE_ACTION_PYTHON=str(python),
        CLANFORGE_INPUT_COMMAND="deploy",
        CLANFORGE_INPUT_TIMEOUT="45m",
        CLANFORGE_INPUT_CA_BUNDLE="certs/ca.pem",
        CLANFORGE_TIMEOUT="1s",  # stray workflow variables
        CLANFORGE_TOKEN_FILE="/stray/token",
        REQUESTS_CA_BUNDLE="/stray.pem",
    )  # fmt: skip
    assert code == 0, out
    assert docker_log == []
    lines = log.read_text().splitlines()
    assert lines[0] == "ARGS -I -m gate deploy"
    assert lines[1] == f"PWD {tmp_path / 'work' / 'repo'}"
    env = dict(line.removeprefix("ENV ").split("=", 1) for line in lines if line.startswith("ENV "))
    assert env["CLANFORGE_INPUT_TIMEOUT"] == "45m" and env["REQUESTS_CA_BUNDLE"] == "certs/ca.pem"
    assert not [
        name for name in env if name.startswith("CLANFORGE_") and not name.startswith("CLANFORGE_INPUT_")
    ]
    assert env["GITHUB_OUTPUT"].endswith("set_output_1")


def find_python(tmp_path: Path, *pythons: tuple[str, str]) -> tuple[int, str, Path]:
    """action-native.sh with only these stand-in Pythons (name, version) and bash's tools on PATH."""
    folder = tmp_path / "pythons"
    log = tmp_path / "python.log"
    for name, version in pythons:
        fake_python(folder, name, version, log)
    folder.mkdir(exist_ok=True)
    for tool in ("sed",):
        (folder / tool).symlink_to(shutil.which(tool) or tool)
    output = tmp_path / "output"
    output.write_text("")
    env = {"PATH": str(folder), "ACTION_PATH": str(ROOT), "RUNNER_TOOL_CACHE": str(tmp_path / "cache"),
           "GITHUB_OUTPUT": str(output)}  # fmt: skip
    done = subprocess.run([BASH, str(NATIVE_SCRIPT)], env=env, capture_output=True, text=True)
    return done.returncode, done.stdout + done.stderr, log


def test_native_without_a_python_says_what_to_install(tmp_path: Path) -> None:
    code, out, _ = find_python(tmp_path)
    assert code == 3
    assert out == (
        "::error title=clanforge-gate::the native mode needs Python 3.10 or newer on the runner (no "
        "python3, python or py on PATH); install it, or add actions/setup-python (python-version: "
        "'3.12') before this step\n"
    )


def test_native_with_only_an_old_python_names_what_it_found(tmp_path: Path) -> None:
    code, out, _ = find_python(tmp_path, ("python3", "3.8.10"), ("python", "2.7.18"))
    assert code == 3 and "(found only python3 3.8.10, python 2.7.18)" in out
    assert "actions/setup-python" in out


def test_native_takes_the_first_python_new_enough(tmp_path: Path) -> None:
    # A Windows runner: no python3, an old python, the py launcher with 3.12 (asked with -3).
    code, out, log = find_python(tmp_path, ("python", "3.9.2"), ("py", "3.12.4"))
    assert code == 0, out
    assert log.read_text().splitlines()[0].startswith(f"ARGS -3 {ROOT}/scripts/action_native.py {ROOT} ")


def test_a_tag_that_disagrees_with_the_version_warns_only_when_the_image_is_built(
    docker: dict[str, str], tmp_path: Path
) -> None:
    code, out, output = get_image(docker, tmp_path, "v99", ACTION_MODE="container")
    assert code == 0 and output == "image=sha256:built\n"
    assert "::warning title=clanforge-gate::the tag v99 does not agree" in out
    code, out, output = get_image(docker, tmp_path, "v99", ACTION_MODE="native")
    assert code == 0 and output == "mode=native\n" and "::warning" not in out
