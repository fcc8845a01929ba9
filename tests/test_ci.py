"""Which platform reporters the CLI gets, and the whole CLI writing every platform file."""

from __future__ import annotations

import argparse
import io
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import requests_mock

from gate import cli
from gate.config import load_settings
from gate.kinds import WAITABLE, JobKind
from gate.report.dotenv import DotenvReporter
from gate.report.github import GitHubReporter
from gate.report.gitlab import GitLabReporter
from gate.report.junit import JUnitReporter
from gate.report.platforms import platform_reporters
from tests.fakes import TOKEN, job_body, parse_command, parse_dotenv, parse_output_file

BASE_ENV = {
    "CLANFORGE_UPDATE_ID": "1234",
    "CLANFORGE_ACCOUNT_SERVICE_ID": "5678",
    "CLANFORGE_API_URL": "http://127.0.0.1:9",
    "CLANFORGE_TOKEN": TOKEN,
}


def kinds(env: dict[str, str], *, with_settings: bool = True) -> list[type]:
    settings = load_settings(argparse.Namespace(), env) if with_settings else None
    return [type(reporter) for reporter in platform_reporters(env, settings)]


def test_selection() -> None:
    assert kinds(BASE_ENV) == []
    assert kinds({**BASE_ENV, "GITHUB_ACTIONS": "true"}) == [GitHubReporter]
    assert kinds({**BASE_ENV, "GITHUB_ACTIONS": "false"}) == []
    assert kinds({**BASE_ENV, "GITLAB_CI": "true"}) == [GitLabReporter]
    assert kinds({**BASE_ENV, "CLANFORGE_JUNIT_FILE": "j.xml"}) == [JUnitReporter]
    assert kinds({**BASE_ENV, "CLANFORGE_DOTENV_FILE": "x.env"}) == [DotenvReporter]
    assert kinds({**BASE_ENV, "GITLAB_CI": "true", "CLANFORGE_JUNIT_FILE": "j.xml"}) == [
        GitLabReporter,
        JUnitReporter,
    ]
    # Empty inputs of the GitHub action arrive as empty variables: unset.
    assert kinds({**BASE_ENV, "GITHUB_ACTIONS": "true", "CLANFORGE_JUNIT_FILE": ""}) == [GitHubReporter]


def test_selection_without_valid_settings_reads_the_environment() -> None:
    env = {"GITLAB_CI": "true", "CLANFORGE_JUNIT_FILE": "j.xml"}
    assert kinds(env, with_settings=False) == [GitLabReporter, JUnitReporter]


def run_cli(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> int:
    for name in list(os.environ):
        if name.startswith(("CLANFORGE_", "GITHUB_", "GITLAB_")):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return cli.main([])


def github_env(tmp_path: Path) -> dict[str, str]:
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
        "CLANFORGE_JUNIT_FILE": str(tmp_path / "junit.xml"),
    }


def test_cli_writes_github_outputs_on_success(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    body = job_body(5, "Complete", progress=100, error="")
    with requests_mock.Mocker() as mock:
        mock.get("http://127.0.0.1:9/cfp/v1/imageupdate/1234/status", json=body)
        code = run_cli(monkeypatch, {**BASE_ENV, **github_env(tmp_path)})
    assert code == 0
    outputs = parse_output_file((tmp_path / "output").read_text(encoding="utf-8"))
    assert outputs["outcome"] == "succeeded" and outputs["exit-code"] == "0"
    assert outputs["state"] == "Complete" and outputs["progress"] == "100"
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "::group::Waiting for Clanforge image update 1234"
    assert lines.index("::endgroup::") == len(lines) - 2
    assert "succeeded" in (tmp_path / "summary").read_text(encoding="utf-8")
    root = ET.parse(tmp_path / "junit.xml").getroot()
    assert root.get("failures") == "0" and root.get("errors") == "0"
    for path in tmp_path.iterdir():
        assert TOKEN not in path.read_text(encoding="utf-8")


def test_cli_writes_every_file_on_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {
        **BASE_ENV,
        **github_env(tmp_path),
        "CLANFORGE_TIMEOUT": "soon",
        "GITLAB_CI": "true",
        "CLANFORGE_DOTENV_FILE": str(tmp_path / "gate.env"),
    }
    code = run_cli(monkeypatch, env)
    assert code == 3
    outputs = parse_output_file((tmp_path / "output").read_text(encoding="utf-8"))
    assert outputs["outcome"] == "error" and outputs["exit-code"] == "3"
    assert "timeout" in outputs["message"]
    printed = capsys.readouterr().out.splitlines()
    errors = [parse_command(line) for line in printed if line.startswith("::error")]
    assert len(errors) == 1 and "timeout" in errors[0][2]
    assert parse_dotenv((tmp_path / "gate.env").read_text(encoding="utf-8"))["CLANFORGE_OUTCOME"] == "error"
    case = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite/testcase")
    assert case is not None and case.find("error") is not None


def test_cli_under_gitlab_defaults_the_dotenv_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    body = job_body(6, "Failed", progress=30, failed=1, error="disk #3 full\nretry")
    with requests_mock.Mocker() as mock:
        mock.get("http://127.0.0.1:9/cfp/v1/imageupdate/1234/status", json=body)
        code = run_cli(monkeypatch, {**BASE_ENV, "GITLAB_CI": "true"})
    assert code == 1
    variables = parse_dotenv((tmp_path / "clanforge-gate.env").read_text(encoding="utf-8"))
    assert variables["CLANFORGE_OUTCOME"] == "failed"
    assert variables["CLANFORGE_JOB_ERROR"] == "disk \uff033 full retry"


def test_workflow_commands_go_to_the_stdout_main_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out, err = io.StringIO(), io.StringIO()
    env = {
        **BASE_ENV,
        **github_env(tmp_path),
        "GITLAB_CI": "true",
        "CLANFORGE_DOTENV_FILE": str(tmp_path / "e"),
    }
    with requests_mock.Mocker() as mock:
        mock.get("http://127.0.0.1:9/cfp/v1/imageupdate/1234/status", json=job_body(5, "Complete"))
        code = cli.main([], env=env, stdout=out, stderr=err)
    assert code == 0
    lines = out.getvalue().splitlines()
    assert lines[0] == "::group::Waiting for Clanforge image update 1234"
    assert "::endgroup::" in lines and any("section_end:" in line for line in lines)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("argv", [["--timeout", "soon"], ["--no-such-flag"]])
def test_configuration_errors_report_to_the_stdout_main_is_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(argv, env={**BASE_ENV, **github_env(tmp_path)}, stdout=out, stderr=err)
    assert code == 3
    errors = [parse_command(line) for line in out.getvalue().splitlines() if line.startswith("::error")]
    assert len(errors) == 1
    assert capsys.readouterr().out == ""


def test_report_files_given_as_flags_are_written_on_a_configuration_error(tmp_path: Path) -> None:
    junit, dotenv = tmp_path / "flag-junit.xml", tmp_path / "flag.env"
    env = {**BASE_ENV, "CLANFORGE_JUNIT_FILE": str(tmp_path / "env-junit.xml")}
    argv = ["--timeout", "soon", "--junit-file", str(junit), "--dotenv-file", str(dotenv)]
    code = cli.main(argv, env=env, stdout=io.StringIO(), stderr=io.StringIO())
    assert code == 3
    case = ET.parse(junit).getroot().find("testsuite/testcase")
    assert case is not None and case.find("error") is not None
    assert not (tmp_path / "env-junit.xml").exists()  # the flag wins over the environment
    variables = parse_dotenv(dotenv.read_text(encoding="utf-8"))
    assert variables["CLANFORGE_OUTCOME"] == "error" and "timeout" in variables["CLANFORGE_MESSAGE"]


def test_report_files_from_the_environment_still_serve_when_no_flag_names_them(tmp_path: Path) -> None:
    env = {**BASE_ENV, "CLANFORGE_TIMEOUT": "soon", "CLANFORGE_DOTENV_FILE": str(tmp_path / "gate.env")}
    code = cli.main(
        ["--junit-file", str(tmp_path / "j.xml")], env=env, stdout=io.StringIO(), stderr=io.StringIO()
    )
    assert code == 3
    assert parse_dotenv((tmp_path / "gate.env").read_text(encoding="utf-8"))["CLANFORGE_EXIT_CODE"] == "3"
    assert (tmp_path / "j.xml").exists()


@pytest.mark.parametrize("kind", WAITABLE, ids=lambda kind: kind.value)
@pytest.mark.parametrize("ids", [[41], [41, 42]], ids=["one", "two"])
def test_the_github_group_and_gitlab_section_name_the_kind_waited_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: JobKind, ids: list[int]
) -> None:
    monkeypatch.chdir(tmp_path)  # the GitLab dotenv report goes to the working directory
    out = io.StringIO()
    env = {
        **BASE_ENV,
        "CLANFORGE_UPDATE_ID": ",".join(map(str, ids)),
        "CLANFORGE_JOB": kind.value,
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITLAB_CI": "true",
    }
    with requests_mock.Mocker() as mock:
        for job_id in ids:
            mock.get(f"http://127.0.0.1:9{kind.status_path(job_id)}", json=job_body(5, "Complete"))
        code = cli.main([], env=env, stdout=out, stderr=io.StringIO())
    assert code == 0
    lines = out.getvalue().splitlines()
    named = kind.label(41) if len(ids) == 1 else f"2 {kind.noun}s: 41, 42"
    assert lines[0] == f"::group::Waiting for Clanforge {named}"
    # The GitLab section opens under the same heading.
    heading = lines[0].removeprefix("::group::")
    assert f"[collapsed=true]\r\x1b[0K{heading}" in out.getvalue()
    assert "image update" not in out.getvalue() or kind is JobKind.IMAGE_UPDATE
