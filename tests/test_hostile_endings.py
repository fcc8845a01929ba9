"""Every ending written, and the right one: unwritable outputs, signals from the first moment,
a signal during a create, the resume command, and hostile files, ids and ports."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests_mock as rm

from gate.cli import main
from gate.deploy.resume import resume_command
from gate.deploy.settings import DeploySettings
from gate.errors import Cancelled
from tests.fakes import API, ENV, OUTPUT_FILES, cli, job_body

# -- one output that cannot be written does not stop the others ---------------------------------------


def _outputs(tmp_path: Path, broken: str) -> dict[str, str]:
    paths = {name: tmp_path / file for name, file in OUTPUT_FILES.items()}
    paths[broken].mkdir()  # a directory where a file should go
    return {"GITHUB_ACTIONS": "true", **{name: str(path) for name, path in paths.items()}}


@pytest.mark.parametrize(
    "broken",
    [
        "GITHUB_STEP_SUMMARY",
        "GITHUB_OUTPUT",
        "CLANFORGE_DOTENV_FILE",
        "CLANFORGE_JUNIT_FILE",
        "CLANFORGE_RESULT_FILE",
    ],
)
@pytest.mark.parametrize(("final", "job_code"), [((5, "Complete"), 0), ((6, "Failed"), 1)])
def test_one_unwritable_output_does_not_stop_the_others(
    requests_mock: rm.Mocker, tmp_path: Path, broken: str, final: tuple[int, str], job_code: int
) -> None:
    requests_mock.get(f"{API}/cfp/v1/imageupdate/1234/status", json=job_body(*final, update_id=1234))
    env = _outputs(tmp_path, broken)
    code, out, err = cli("--update-id", "1234", env=env)
    # A green run that could not write an output is an error; a red one keeps its own code.
    assert code == (3 if job_code == 0 else job_code)
    assert "update 1234: succeeded" in out or "update 1234: failed" in out  # the outcome line
    assert "cannot write" in err and "Traceback" not in err
    for name, path in env.items():
        if name not in (broken, "GITHUB_ACTIONS"):
            assert Path(path).is_file() and Path(path).stat().st_size > 0, name
    if broken != "CLANFORGE_RESULT_FILE":
        result = json.loads(Path(env["CLANFORGE_RESULT_FILE"]).read_text())
        assert result["outcome"] == ("succeeded" if job_code == 0 else "failed")


# -- signals ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_that_came_before_the_cli_was_ready_still_ends_cancelled(
    tmp_path: Path, sig: int, code: int
) -> None:
    result_file = tmp_path / "r.json"
    out, err = io.StringIO(), io.StringIO()
    rc = main(
        ["--update-id", "1", "--result-file", str(result_file)],
        env=ENV,
        stdout=out,
        stderr=err,
        pending=[sig],
    )
    assert rc == code
    assert json.loads(result_file.read_text())["outcome"] == "cancelled"
    assert "cancelled by SIG" in err.getvalue()


def _catches(pid: int, sig: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = next((line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), "0")
    return bool(int(caught, 16) & (1 << (sig - 1)))


@pytest.mark.e2e
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc to see when a handler is in")
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_at_the_first_moment_the_process_can_catch_it(tmp_path: Path, sig: int, code: int) -> None:
    """Sent as soon as the process has a handler (from its first line of code, long before the
    CLI and requests are imported): still 143/130 and a result file saying cancelled."""
    result_file = tmp_path / "r.json"
    env = {
        **os.environ,
        **ENV,
        "CLANFORGE_API_URL": "http://127.0.0.1:9",
        "CLANFORGE_RESULT_FILE": str(result_file),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "gate", "--update-id", "1", "--timeout", "30s"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 10
        # The gate installs SIGINT then SIGTERM; Python's own SIGINT handler is in earlier still.
        while not _catches(proc.pid, signal.SIGTERM) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.0005)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == code, err
    assert "Traceback" not in err
    assert json.loads(result_file.read_text())["outcome"] == "cancelled"


def test_a_signal_during_a_create_says_it_may_have_started(requests_mock: rm.Mocker, tmp_path: Path) -> None:
    def interrupted(request: Any, context: Any) -> str:
        raise Cancelled(signal.SIGTERM)

    requests_mock.get(f"{API}/cfp/v1/imageupdate/create", text=interrupted)
    code, _, err = cli(
        "deploy", "--image-id", "5", "--machine-id", "9", "--desc", "build 42", "--restart",
        "--result-file", str(tmp_path / "r.json"),
    )  # fmt: skip
    assert code == 143
    assert "the imageupdate create had been sent and may have started" in err
    assert "check the image in the Clanforge dashboard before running again" in err
    assert "--update-id <id>' if it started" in err
    assert json.loads((tmp_path / "r.json").read_text())["outcome"] == "cancelled"


# -- the resume command --------------------------------------------------------------------------------


def deploy(**kw: Any) -> DeploySettings:
    values: dict[str, Any] = {
        "image_id": 5, "machine_id": 9, "desc": "build 42", "url": None, "restart": True,
        "game_build": None, "full": False, "force": False, "max_failed_machines": 0, "update_id": None,
        "diff_id": None, "version_id": None, "skip_update": False, "skip_diff": False,
        "skip_version": False, "skip_install": False,
    }  # fmt: skip
    values.update(kw)
    return DeploySettings(**values)


R = "clanforge-gate deploy --image-id 5 --machine-id 9"


@pytest.mark.parametrize(
    ("settings", "created", "next_kind", "expected"),
    [
        # Cut short waiting on the update: the diff and version are still to be created.
        ({}, {"imageupdate": 11}, None, f"{R} --update-id 11 --restart"),
        # Every create setting of the steps still to come is carried; the URL by name only.
        (
            {
                "url": "s3://K:S@b/x",
                "game_build": "v1.2",
                "full": True,
                "force": True,
                "max_failed_machines": 2,
            },
            {"imageupdate": 11},
            None,
            f"{R} --update-id 11 --game-build v1.2 --full --force --restart --max-failed-machines 2",
        ),
        # Before any id: the update's own settings, the URL named by its variable.
        ({"url": "s3://K:S@b/x"}, {}, None, f"{R} --desc 'build 42' --url \"$CLANFORGE_URL\" --restart"),
        # Known diff: the update before it is skipped, never created anew.
        ({"skip_update": True, "diff_id": 22}, {}, None, f"{R} --skip-update --diff-id 22 --restart"),
        ({}, {"imagediff": 22}, None, f"{R} --skip-update --diff-id 22 --restart"),
        # A create that may have started: the steps before it are skipped.
        ({}, {}, "imageversion", f"{R} --skip-update --skip-diff --restart"),
        # The user's own skips are kept.
        (
            {"skip_install": True, "restart": False},
            {"imageupdate": 11},
            None,
            f"{R} --update-id 11 --skip-install --no-restart",
        ),
        (
            {"skip_version": True},
            {"imageupdate": 11, "imagediff": 22},
            None,
            f"{R} --update-id 11 --diff-id 22 --skip-version --restart",
        ),
        # Everything known: only the install is left.
        (
            {"max_failed_machines": 3},
            {"imageupdate": 11, "imagediff": 22, "imageversion": 33},
            None,
            f"{R} --update-id 11 --diff-id 22 --version-id 33 --restart --max-failed-machines 3",
        ),
        # A description with shell characters is quoted.
        ({"desc": "it's $HOME; rm"}, {}, None, f"{R} --desc 'it'\"'\"'s $HOME; rm' --restart"),
    ],
)
def test_the_resume_command_carries_what_the_remaining_steps_need(
    settings: dict[str, Any], created: dict[str, int], next_kind: str | None, expected: str
) -> None:
    command = resume_command(deploy(**settings), created, next_kind)
    assert command == expected
    assert "K:S" not in command


# Each deploy setting of the option table given a value other than its default, by the table's key,
# with the words the resume command writes for it. A row added to the table without one here fails.
NOT_DEFAULT: dict[str, tuple[str, Any, str]] = {
    "image_id": ("image_id", 7, "--image-id 7"),
    "machine_id": ("machine_id", 8, "--machine-id 8"),
    "desc": ("desc", "d", "--desc d"),
    "url": ("url", "s3://K:S@b/x", '--url "$CLANFORGE_URL"'),
    "game_build": ("game_build", "v2", "--game-build v2"),
    "full": ("full", True, "--full"),
    "force": ("force", True, "--force"),
    "restart": ("restart", False, "--no-restart"),
    "max_failed_machines": ("max_failed_machines", 4, "--max-failed-machines 4"),
    "install_at": ("install_at", "1900000000", "--install-at 1900000000"),
    "disable_timeout": ("disable_timeout_minutes", 90, "--disable-timeout 90m"),
    "disable_percentage": ("disable_percentage", 25, "--disable-percentage 25"),
    "game_id": ("game_id", 3, "--game-id 3"),
    "on_empty_diff": ("on_empty_diff", "publish", "--on-empty-diff publish"),
    "on_locked": ("on_locked", "reject", "--on-locked reject"),
    "reject_on_abort": ("reject_on_abort", True, "--reject-on-abort"),
}


def test_every_setting_of_the_option_table_is_carried_by_the_resume_command_from_its_row() -> None:
    from gate.config import DEPLOY_OPTIONS
    from gate.deploy.choices import OnEmptyDiff, OnLocked, parse_install_at

    steps = {"diff_id", "version_id", "skip_update", "skip_diff", "skip_version", "skip_install"}
    assert set(NOT_DEFAULT) == {option.key for option in DEPLOY_OPTIONS} - steps
    typed = {"install_at": parse_install_at, "on_empty_diff": OnEmptyDiff, "on_locked": OnLocked}
    for key, (field, value, words) in NOT_DEFAULT.items():
        command = resume_command(deploy(**{field: typed.get(key, lambda v: v)(value)}), {}, None)
        assert f" {words}" in command, (key, command)
        assert "K:S" not in command


def test_the_resume_command_never_starts_a_new_update_once_one_is_known() -> None:
    for created in ({"imageupdate": 11}, {"imagediff": 22}, {"imageversion": 33}):
        command = resume_command(deploy(), created)
        assert "--update-id" in command or "--skip-update" in command, command


# -- hostile files, ids and ports ------------------------------------------------------------------------

LAUGHS = "a: &a ['lol','lol','lol','lol','lol','lol','lol','lol','lol']\n" + "".join(
    f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
    for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (LAUGHS.encode(), "anchors and aliases are not allowed"),
        (b"update_id: &x 5\naccount_service_id: *x\n", "anchors and aliases are not allowed"),
        (b"update_id: 1\n" + b"#" * (1024 * 1024 + 10), "larger than 1024 KiB"),
        (b"update_id: 1\ndesc: caf\xe9\n", "not UTF-8 text"),
        (b"[" * 5000 + b"]" * 5000, "nested too deeply|must be a mapping"),
    ],
)
def test_hostile_config_files_are_config_errors(tmp_path: Path, content: bytes, match: str) -> None:
    path = tmp_path / "gate.yml"
    path.write_bytes(content)
    started = time.monotonic()
    code, _, err = cli("--config", str(path))
    assert code == 3 and "Traceback" not in err
    assert str(path) in err
    assert __import__("re").search(match, err), err
    assert time.monotonic() - started < 5  # not 27 s of expanding aliases


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
@pytest.mark.parametrize("variable", ["CLANFORGE_CONFIG", "CLANFORGE_TOKEN_FILE", "CLANFORGE_URL_FILE"])
def test_dev_zero_is_an_error_not_a_memory_error(variable: str) -> None:
    env = {variable: "/dev/zero"}
    if variable == "CLANFORGE_TOKEN_FILE":
        env |= {"CLANFORGE_ACCESS_KEY": "", "CLANFORGE_SECRET_KEY": ""}
    code, _, err = cli("deploy" if variable == "CLANFORGE_URL_FILE" else "wait", "--update-id", "1", env=env)
    assert code == 3 and "larger than" in err and "Traceback" not in err


@pytest.mark.parametrize("path_kind", ["directory", "missing"])
def test_a_config_path_that_is_not_a_file_is_a_config_error(tmp_path: Path, path_kind: str) -> None:
    path = tmp_path if path_kind == "directory" else tmp_path / "missing.yml"
    code, _, err = cli("--config", str(path), "--update-id", "1")
    assert code == 3 and "cannot be read" in err and "Traceback" not in err


def test_a_thousand_and_one_ids_are_refused_in_a_short_message() -> None:
    code, _, err = cli("--update-id", ",".join(str(i) for i in range(1, 1002)))
    assert code == 3 and "more than 1000" in err and len(err) < 300


def test_a_long_list_of_open_ids_is_summarised(requests_mock: rm.Mocker, tmp_path: Path) -> None:
    requests_mock.get(rm.ANY, json=job_body(4, "Running"))
    result_file = tmp_path / "r.json"
    ids = ",".join(str(i) for i in range(1, 41))
    code, _, _ = cli("--update-id", ids, "--timeout", "30s", "--result-file", str(result_file))
    assert code == 2
    warnings = json.loads(result_file.read_text())["warnings"]
    hint = next(w for w in warnings if "had not ended" in w)
    assert "(30 more)" in hint and len(hint) < 200


@pytest.mark.parametrize("port", ["99999", "-1", "65536", "8o80", "١٢"])
def test_bad_simulator_ports_are_config_errors(port: str) -> None:
    code, _, err = cli("simulate", "--port", port)
    assert code == 3 and "is not a port" in err and "Traceback" not in err


@pytest.mark.parametrize("answer", ["١٢", "12²", "1" * 21, "0", "-3", True, 1.5, None, "\u0661"])
def test_a_create_answer_with_a_strange_id_is_never_taken_for_a_job(
    requests_mock: rm.Mocker, answer: object
) -> None:
    requests_mock.get(f"{API}/cfp/v1/imageupdate/create", json={"success": True, "updateid": answer})
    code, _, err = cli("deploy", "--image-id", "5", "--machine-id", "9", "--desc", "d", "--restart")
    assert code == 3 and "answered without a updateid" in err and "may have started" in err
    assert requests_mock.call_count == 1


@pytest.mark.parametrize("cut_at", ["imagediff", "imageversion"])
def test_running_the_resume_command_continues_the_deploy(requests_mock: rm.Mocker, cut_at: str) -> None:
    """Cut a deploy short by a signal, run the command it printed: the deploy goes on from where
    it stopped, and no job before the cut is created again."""
    import shlex

    ids = {"imageupdate": 11, "imagediff": 22, "imageversion": 33}
    id_fields = {"imageupdate": "updateid", "imagediff": "diffid", "imageversion": "imageversionid"}
    creates = {
        kind: requests_mock.get(
            f"{API}/cfp/v1/{kind}/create", json={"success": True, id_fields[kind]: job_id}
        )
        for kind, job_id in ids.items()
    }
    interrupted = {"done": False}

    def status(kind: str) -> Any:
        def answer(request: Any, context: Any) -> dict[str, Any]:
            if kind == cut_at and not interrupted["done"]:
                interrupted["done"] = True
                raise Cancelled(signal.SIGTERM)
            return job_body(5, "Complete")

        return answer

    for kind, job_id in ids.items():
        requests_mock.get(f"{API}/cfp/v1/{kind}/{job_id}/status", json=status(kind))
    # The install is proven: seen under way (a pending machine, an install job of version 33),
    # then done.
    requests_mock.get(
        f"{API}/cfp/v2/project/77/image/5/status",
        [
            {"json": {"pending_machines": 1, "failed_machines": 0, "completed_machines": 3}},
            {"json": {"pending_machines": 0, "failed_machines": 0, "completed_machines": 4}},
        ],
    )
    mine = {**job_body(4, "Running"), "jobid": 8, "target_imageversionid": 33, "machine": 1}
    requests_mock.get(
        f"{API}/cfp/v1/imageinstall/status",
        [{"json": {"installs": [mine]}}, {"json": {"installs": []}}],
    )
    code, _, err = cli(
        "deploy", "--image-id", "5", "--machine-id", "9", "--desc", "build 42", "--restart",
        "--game-build", "v7", "--full",
    )  # fmt: skip
    assert code == 143
    command = err.split("to resume: ", 1)[1].strip().splitlines()[0]
    argv = shlex.split(command)
    assert argv[:2] == ["clanforge-gate", "deploy"]
    before = {kind: mock.call_count for kind, mock in creates.items()}
    code, out, err = cli(*argv[1:])
    assert code == 0, out + err
    assert creates["imageupdate"].call_count == before["imageupdate"]  # never a new update
    assert creates["imagediff"].call_count == before["imagediff"]
    if cut_at == "imagediff":
        assert creates["imageversion"].call_count == 1
        sent = creates["imageversion"].last_request.qs
        assert sent["game_build"] == ["v7"] and sent["full"] == ["1"] and sent["restart"] == ["1"]
