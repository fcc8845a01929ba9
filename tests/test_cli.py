"""The command line end to end in-process (requests-mock), and signals in a real subprocess."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests_mock as rm

from tests.fakes import ACCESS, ENV, SECRET, TOKEN, URL, cli, job_body

BASIC = base64.b64encode(f"{ACCESS}:{SECRET}".encode()).decode()


def read_result(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


RESULT_KEYS = {
    "update_id", "outcome", "exit_code", "message", "state_id", "state_name", "progress",
    "job_error", "eta", "polls", "elapsed_seconds",
}  # fmt: skip


@pytest.mark.parametrize(
    ("responses", "code", "outcome"),
    [
        ([{"json": job_body(4)}, {"json": job_body(5, "Complete")}], 0, "succeeded"),
        ([{"json": job_body(6, "Failed", error="download failed")}], 1, "failed"),
        ([{"json": job_body(7, "Squashed")}], 1, "failed"),
        ([{"json": job_body(4)}], 2, "timed_out"),
        ([{"status_code": 401}], 3, "error"),
        ([{"status_code": 404}], 3, "error"),
        ([{"json": {"success": False, "error": True, "error_message": "boom"}}], 3, "error"),
        ([{"status_code": 503}], 2, "timed_out"),
    ],
)
def test_exit_codes_and_result_file(
    requests_mock: rm.Mocker, tmp_path: Path, responses: list[dict[str, Any]], code: int, outcome: str
) -> None:
    requests_mock.get(URL, responses)
    result_file = tmp_path / "out" / "result.json"
    rc, out, err = cli("--update-id", "1234", "--timeout", "2m", "--result-file", str(result_file))
    assert rc == code
    data = read_result(result_file)
    assert set(data) >= RESULT_KEYS
    assert data["outcome"] == outcome and data["exit_code"] == code and data["update_id"] == 1234
    assert data["message"] in out + err
    assert "Traceback" not in out + err


def test_bare_command_means_wait(requests_mock: rm.Mocker) -> None:
    requests_mock.get(URL, json=job_body(5, "Complete"))
    assert cli("--update-id", "1234")[0] == 0
    assert cli("wait", "--update-id", "1234")[0] == 0


def test_settings_from_env_only(requests_mock: rm.Mocker) -> None:
    requests_mock.get(URL, json=job_body(5, "Complete"))
    assert cli(env={"CLANFORGE_UPDATE_ID": "1234"})[0] == 0


def test_final_line_of_a_success(requests_mock: rm.Mocker) -> None:
    requests_mock.get(URL, json=job_body(5, "Complete", progress=100))
    rc, out, _ = cli("--update-id", "1234")
    assert rc == 0
    assert out.strip().splitlines()[-1].startswith("image update 1234: succeeded (Complete)")


def test_quiet_prints_only_the_final_line(requests_mock: rm.Mocker) -> None:
    requests_mock.get(
        URL,
        [
            {"json": job_body(4, progress=5)},
            {"json": job_body(4, failed=1)},
            {"json": job_body(5, "Complete")},
        ],
    )
    rc, out, err = cli("--update-id", "1234", "--quiet")
    assert rc == 0 and err == ""
    assert out.strip().splitlines() == [out.strip()]


def test_verbose_shows_requests(requests_mock: rm.Mocker) -> None:
    requests_mock.get(URL, json=job_body(5, "Complete"))
    _, out, _ = cli("--update-id", "1234", "--verbose")
    assert "GET https://api.test/cfp/v1/imageupdate/1234/status?accountserviceid=77" in out


@pytest.mark.parametrize(
    ("argv", "env", "needle"),
    [
        (("--update-id", "abc"), {}, "update_id: 'abc' is not a job id"),
        (("--update-id", "1", "--timeout", "soon"), {}, "timeout: 'soon' is not a duration"),
        (("--update-id", "1", "--bogus"), {}, "unrecognized arguments: --bogus"),
        (("--update-id", "1", "--token", "x"), {}, "--token is refused"),
        (
            (
                "--update-id",
                "1",
            ),
            {"CLANFORGE_SECRET_KEY": ""},
            "CLANFORGE_SECRET_KEY is not set",
        ),
        (("--update-id", "1", "--api-url", "http://example.com"), {}, "plain http"),
    ],
)
def test_bad_input_is_one_line_exit_3(
    tmp_path: Path, argv: tuple[str, ...], env: dict[str, str], needle: str
) -> None:
    result_file = tmp_path / "r.json"
    rc, _out, err = cli(*argv, env={**env, "CLANFORGE_RESULT_FILE": str(result_file)})
    assert rc == 3
    assert needle in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert read_result(result_file)["outcome"] == "error"


def test_unwritable_result_file_is_an_error(requests_mock: rm.Mocker, tmp_path: Path) -> None:
    requests_mock.get(URL, json=job_body(5, "Complete"))
    blocker = tmp_path / "file"
    blocker.write_text("")
    rc, _, err = cli("--update-id", "1234", "--result-file", str(blocker / "r.json"))
    assert rc == 3 and "cannot write the result file" in err


# -- secrets ------------------------------------------------------------------------------------


def _assert_clean(*texts: str, auth: str = "basic") -> None:
    needles = (SECRET, BASIC, "Basic " + BASIC[:8]) if auth == "basic" else (TOKEN, "Bearer " + TOKEN)
    for text in texts:
        for needle in needles:
            assert needle not in text


@pytest.mark.parametrize(
    "responses",
    [
        [{"json": job_body(4)}, {"json": job_body(5, "Complete")}],
        [{"json": job_body(6, "Failed", error=f"auth {SECRET} / {BASIC} / {TOKEN} rejected")}],
        [{"status_code": 401, "json": {"error_message": f"bad key {SECRET} {TOKEN}"}}],
        [{"status_code": 400, "json": {"error_message": f"header was Basic {BASIC}"}}],
        [{"json": {"success": False, "error": True, "error_message": f"echo {SECRET}"}}],
        [{"status_code": 503, "text": f"<html>{SECRET}</html>"}],
        [{"json": job_body(4, failed=1, error=SECRET)}, {"json": job_body(5, "Complete")}],
        [{"json": job_body(12, f"weird {TOKEN}")}],
    ],
)
@pytest.mark.parametrize("auth", ["basic", "bearer"])
def test_no_secret_reaches_any_output(
    requests_mock: rm.Mocker, tmp_path: Path, responses: list[dict[str, Any]], auth: str
) -> None:
    requests_mock.get(URL, responses)
    env = (
        {}
        if auth == "basic"
        else {"CLANFORGE_ACCESS_KEY": "", "CLANFORGE_SECRET_KEY": "", "CLANFORGE_TOKEN": TOKEN}
    )
    result_file = tmp_path / "r.json"
    for flag in ("--verbose", "--quiet", "--timeout=30s"):
        code, out, err = cli(
            "--update-id", "1234", flag, "--timeout", "30s", "--result-file", str(result_file), env=env
        )
        # The run ran and said how it ended (an empty output would be clean too, and prove nothing).
        written = json.loads(result_file.read_text())
        assert code == written["exit_code"] and code in (0, 1, 2, 3)
        assert written["message"].startswith("image update 1234") and written["message"] in out + err
        _assert_clean(out, err, result_file.read_text(), auth=auth)


def test_secret_not_in_config_error_output(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yml"
    cfg.write_text(f"secret_key: {SECRET}\n")
    code, out, err = cli("--config", str(cfg), "--update-id", "1")
    # Refused with its one-line message (exit 3), which names the setting but not its value.
    assert code == 3 and "secret_key" in err
    _assert_clean(out, err)
    code, out, err = cli("--update-id", "1", "--secret-key", SECRET)
    assert code == 3 and "--secret-key" in err
    _assert_clean(out, err)


# -- signals, in a real process ------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    hang = 0.0
    # Set when a request has arrived: from then on it is in flight (and hangs, if ``hang``).
    received = threading.Event()

    def do_GET(self) -> None:
        self.received.set()
        if self.hang:
            time.sleep(self.hang)
        body = json.dumps(job_body(4, "Running", progress=30)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def slow_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    _Handler.hang = 0.0
    _Handler.received.clear()


@pytest.mark.e2e
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
@pytest.mark.parametrize("where", ["mid-sleep", "mid-request"])
def test_signal_stops_within_a_second(
    slow_server: ThreadingHTTPServer, tmp_path: Path, sig: int, code: int, where: str
) -> None:
    _Handler.hang = 30.0 if where == "mid-request" else 0.0
    port = slow_server.server_address[1]
    result_file = tmp_path / "r.json"
    env = {
        **os.environ,
        **ENV,
        "CLANFORGE_API_URL": f"http://127.0.0.1:{port}",
        "CLANFORGE_RESULT_FILE": str(result_file),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "gate", "--update-id", "1234", "--poll-interval", "60s",
         "--min-poll-interval", "30s", "--request-timeout", "60s"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        if where == "mid-sleep":
            assert proc.stdout is not None
            line = proc.stdout.readline()  # the first status line: now it sleeps
            assert "Running 30%" in line
        else:
            # The hanging server has the request: it is in flight.
            assert _Handler.received.wait(timeout=10), "the gate never sent its request"
        sent = time.monotonic()
        proc.send_signal(sig)
        _out, err = proc.communicate(timeout=max(1, deadline - time.monotonic()))
        stopped = time.monotonic() - sent
    finally:
        proc.kill()
    assert proc.returncode == code
    assert stopped < 1.0, f"took {stopped:.2f}s to stop"
    assert "may still be running" in err and "Traceback" not in err
    data = read_result(result_file)
    assert data["outcome"] == "cancelled" and data["exit_code"] == code
