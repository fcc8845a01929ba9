"""The calls that exist only on POSIX, each behind gate.system, taken on Linux both ways.

The Windows path is taken here by passing the system's name (``nt``), so each guard is tested
on Linux; CI runs only Linux (see docs/github.md for which runners were exercised).
"""

from __future__ import annotations

import io
import json
import os
import signal
import threading
from pathlib import Path

import pytest
import requests_mock as rm

from gate import cli, exchange, ownership, system
from gate.ownership import Owner, files_owned_by, hand_over
from gate.report import files
from tests.fakes import ACCESS, SECRET, FakeClock, job_body


def test_the_cancel_signals_of_each_system() -> None:
    assert system.cancel_signals("posix") == (signal.SIGINT, signal.SIGTERM)
    # Ctrl-C, then Ctrl-Break: what a Windows runner sends to cancel a console program.
    assert system.cancel_signals("nt") == (signal.SIGINT, signal.SIGTERM, system.SIGBREAK)
    assert getattr(signal, "SIGBREAK", 21) == system.SIGBREAK


def test_no_uid_on_windows_and_none_where_geteuid_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    def never() -> int:
        raise AssertionError("geteuid asked on Windows")

    assert system.effective_uid("nt", geteuid=never) == -1
    assert system.effective_uid("posix", geteuid=lambda: 0) == 0
    monkeypatch.delattr(os, "geteuid")
    assert system.effective_uid("posix") == -1


def test_windows_hands_no_file_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chowned: list[str] = []
    monkeypatch.setattr(os, "lchown", lambda path, uid, gid: chowned.append(path), raising=False)
    target = tmp_path / "result.json"
    target.write_text("{}")
    owner = Owner(1001, 121, str(tmp_path.resolve()))
    monkeypatch.setattr(ownership, "has_owners", lambda: system.has_owners("nt"))
    with files_owned_by(owner):
        hand_over([str(target)])
    assert chowned == []
    monkeypatch.setattr(ownership, "has_owners", lambda: system.has_owners("posix"))
    with files_owned_by(owner):
        hand_over([str(target)])
    assert chowned == [str(target.resolve())]


def test_windows_writes_report_files_without_a_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    modes: list[int] = []
    real_chmod = os.chmod
    monkeypatch.setattr(os, "chmod", lambda path, mode: (modes.append(mode), real_chmod(path, mode)))
    monkeypatch.setattr(files, "has_file_modes", lambda: system.has_file_modes("nt"))
    files.write_text_atomic(str(tmp_path / "a.json"), "{}")
    assert modes == [] and (tmp_path / "a.json").read_text() == "{}"
    monkeypatch.setattr(files, "has_file_modes", lambda: system.has_file_modes("posix"))
    files.write_text_atomic(str(tmp_path / "b.json"), "{}")
    assert modes == [0o644]


def test_a_code_page_console_prints_what_it_cannot_show_as_question_marks() -> None:
    raw = io.BytesIO()
    console = io.TextIOWrapper(raw, encoding="cp1252")
    with pytest.raises(UnicodeEncodeError):
        print("job error: диск полон 🚀", file=console)
    system.tolerant_streams(console)
    print("job error: диск полон 🚀 · done", file=console, flush=True)
    assert raw.getvalue().endswith("job error: ???? ????? ? \xb7 done\n".encode("cp1252"))
    utf8 = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    system.tolerant_streams(utf8, io.StringIO())
    assert utf8.errors == "strict"


def test_ctrl_break_cancels_a_run_on_windows_with_the_result_file(tmp_path: Path) -> None:
    # On Linux signal 21 is SIGTTIN, which the POSIX path never takes over; the Windows path
    # treats it as SIGBREAK, so sending it here is what Ctrl-Break does on a Windows runner.
    result = tmp_path / "result.json"
    env = {"CLANFORGE_ACCESS_KEY": ACCESS, "CLANFORGE_SECRET_KEY": SECRET,
           "CLANFORGE_ACCOUNT_SERVICE_ID": "77", "CLANFORGE_API_URL": "https://api.test"}  # fmt: skip

    def running(request: object, context: object) -> dict[str, object]:
        os.kill(os.getpid(), system.SIGBREAK)
        return job_body(4, "Running", progress=10)

    before = signal.getsignal(system.SIGBREAK)
    out = io.StringIO()
    with rm.Mocker() as mock:
        mock.get("https://api.test/cfp/v1/imageupdate/5/status", json=running)
        code = cli.main(
            ["--update-id", "5", "--result-file", str(result)],
            env=env, stdout=out, stderr=out, clock=FakeClock(), system="nt",
        )  # fmt: skip
    assert code == 130, out.getvalue()
    written = json.loads(result.read_text())
    assert written["outcome"] == "cancelled" and written["exit_code"] == 130
    assert "what was started may still be running on Clanforge" in written["message"]
    assert signal.getsignal(system.SIGBREAK) == before, "the handlers are put back"


class CountingEvent(threading.Event):
    def __init__(self, set_after: int | None = None) -> None:
        super().__init__()
        self.waits: list[float] = []
        self.set_after = set_after

    def wait(self, timeout: float | None = None) -> bool:
        assert timeout is not None
        self.waits.append(timeout)
        if self.set_after is not None and len(self.waits) >= self.set_after:
            self.set()
        return super().wait(0)


def test_on_windows_the_http_wait_is_sliced_so_ctrl_c_is_handled_at_once() -> None:
    # Windows does not interrupt a blocking lock wait with Ctrl-C: the wait for an answer is cut
    # into short slices there; on POSIX it is one wait (a signal interrupts it).
    event = CountingEvent(set_after=3)
    assert exchange.wait_for(event, 30.0, system="nt")
    assert len(event.waits) == 3 and max(event.waits) <= system.WAIT_SLICE_SECONDS
    event = CountingEvent(set_after=1)
    assert exchange.wait_for(event, 30.0, system="posix")
    assert event.waits == [pytest.approx(30.0, abs=0.5)]
    assert not exchange.wait_for(threading.Event(), 0.3, system="nt")
