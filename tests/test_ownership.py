"""Files the gate makes in the workspace go to the workspace's owner when it runs as root."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
import requests_mock as rm

from gate import cli
from gate.ending import Outcome
from gate.ownership import Owner, files_owned_by, hand_over, make_dirs, workspace_owner
from gate.report.files import append_text, write_text_atomic
from gate.report.result_file import write_result_file
from gate.result import Result
from tests.fakes import ACCESS, SECRET, FakeClock, job_body

RUNNER = 1001


def stat_as(uid: int, gid: int = 121) -> object:
    return lambda path: os.stat_result((0o40755, 0, 0, 1, uid, gid, 0, 0, 0, 0))


def test_owner_only_for_root_in_a_workspace_of_someone_else() -> None:
    env = {"GITHUB_WORKSPACE": "/ws"}
    same = {"realpath": lambda p: p}
    assert workspace_owner(env, euid=0, stat=stat_as(RUNNER), **same) == Owner(RUNNER, 121, "/ws")  # type: ignore[arg-type]
    assert workspace_owner(env, euid=RUNNER, stat=stat_as(RUNNER), **same) is None  # type: ignore[arg-type]
    assert workspace_owner(env, euid=0, stat=stat_as(0), **same) is None  # type: ignore[arg-type]
    assert workspace_owner({}, euid=0, stat=stat_as(RUNNER), **same) is None  # type: ignore[arg-type]


def test_no_owner_when_the_workspace_is_missing(tmp_path: Path) -> None:
    assert workspace_owner({"GITHUB_WORKSPACE": str(tmp_path / "gone")}, euid=0) is None


def test_make_dirs_returns_only_what_it_made_outermost_first(tmp_path: Path) -> None:
    made = make_dirs(str(tmp_path / "a" / "b" / "c"))
    assert made == [str(tmp_path / "a"), str(tmp_path / "a" / "b"), str(tmp_path / "a" / "b" / "c")]
    assert make_dirs(str(tmp_path / "a" / "b")) == []


@pytest.fixture
def chowned(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int, int]]:
    """Record ownership changes instead of making them (no root needed)."""
    calls: list[tuple[str, int, int]] = []
    monkeypatch.setattr(os, "lchown", lambda path, uid, gid: calls.append((path, uid, gid)))
    return calls


def test_writers_hand_over_the_file_and_every_folder_they_made(
    tmp_path: Path, chowned: list[tuple[str, int, int]]
) -> None:
    workspace = tmp_path / "ws"
    (workspace / "existing").mkdir(parents=True)
    owner = Owner(RUNNER, 121, str(workspace.resolve()))
    result = Result(1, Outcome.SUCCEEDED, "done")
    with files_owned_by(owner):
        write_result_file(str(workspace / "reports" / "gate" / "result.json"), result)
        write_text_atomic(str(workspace / "existing" / "junit.xml"), "<testsuite/>")
        append_text(str(workspace / "new.env"), "A=1\n")
        append_text(str(workspace / "new.env"), "B=2\n")
        # Outside the workspace nothing is touched.
        write_text_atomic(str(tmp_path / "elsewhere" / "x.txt"), "x")
    ws = workspace.resolve()
    assert [path for path, _, _ in chowned] == [
        str(ws / "reports"),
        str(ws / "reports" / "gate"),
        str(ws / "reports" / "gate" / "result.json"),
        str(ws / "existing" / "junit.xml"),  # the folder existed: only the file is new
        str(ws / "new.env"),  # once, when it was made
    ]
    assert {(uid, gid) for _, uid, gid in chowned} == {(RUNNER, 121)}


def test_without_an_owner_nothing_changes_hands(tmp_path: Path, chowned: list[tuple[str, int, int]]) -> None:
    write_result_file(str(tmp_path / "r" / "result.json"), Result(1, Outcome.SUCCEEDED, "done"))
    assert chowned == []


def test_a_failed_hand_over_is_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(path: str, uid: int, gid: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "lchown", refuse)
    target = tmp_path / "result.json"
    target.write_text("{}")
    with files_owned_by(Owner(RUNNER, 121, str(tmp_path.resolve()))):
        hand_over([str(target)])
    assert "warning: cannot give" in capsys.readouterr().err


def test_the_cli_hands_its_files_to_the_workspace_owner_when_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chowned: list[tuple[str, int, int]]
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    monkeypatch.setattr(cli, "effective_uid", lambda system: 0)
    # The workspace as the runner's user owns it, seen through the real lookup of GITHUB_WORKSPACE.
    monkeypatch.setattr(
        cli,
        "workspace_owner",
        lambda env, euid: workspace_owner(env, euid=euid, stat=stat_as(RUNNER)),  # type: ignore[arg-type]
    )
    env = {
        "GITHUB_WORKSPACE": str(workspace),
        "CLANFORGE_ACCESS_KEY": ACCESS,
        "CLANFORGE_SECRET_KEY": SECRET,
        "CLANFORGE_ACCOUNT_SERVICE_ID": "77",
        "CLANFORGE_API_URL": "https://api.test",
    }
    out = io.StringIO()
    with rm.Mocker() as mock:
        mock.get("https://api.test/cfp/v1/imageupdate/5/status", json=job_body(5, "Complete"))
        code = cli.main(
            ["--update-id", "5", "--result-file", str(workspace / "out" / "result.json"),
             "--junit-file", str(workspace / "out" / "junit.xml")],
            env=env, stdout=out, stderr=out, clock=FakeClock(),
        )  # fmt: skip
    assert code == 0, out.getvalue()
    ws = workspace.resolve()
    assert {path for path, _, _ in chowned} == {
        str(ws / "out"),
        str(ws / "out" / "result.json"),
        str(ws / "out" / "junit.xml"),
    }
