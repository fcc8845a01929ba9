"""End to end over real HTTP: a simulator on 127.0.0.1 and the CLI as a subprocess, one run per scenario.

Each run checks the exit code, what the user reads, how many requests reached the simulator, and
that no credential (nor its Basic encoding) shows in stdout, stderr or the result file.
"""

from __future__ import annotations

import base64
import json
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from gate.sim import (
    API_ERROR_MESSAGE,
    FAILURE_MESSAGE,
    ID_BY_SCENARIO,
    SQUASHED_MESSAGE,
    Scenario,
    Simulator,
    SimulatorCredentials,
)
from tests.e2e_support import BASIC, ROOT, Run, assert_no_secret, basic_env, clean_env
from tests.fakes import ACCESS, ASID, SECRET, TOKEN

# Real processes and a real server in real time: left out of the quick run (-m "not e2e").
pytestmark = pytest.mark.e2e

FAST = ["--poll-interval", "0.2s", "--min-poll-interval", "0.1s", "--request-timeout", "2s"]


@pytest.fixture
def gate(tmp_path: Path) -> Callable[..., Run]:
    """Run ``python -m gate`` against a simulator; the credentials only ever travel in the environment."""

    def run(
        sim: Simulator,
        update_id: int,
        *extra: str,
        env: dict[str, str] | None = None,
        asid: str = ASID,
        timeout: str = "20s",
    ) -> Run:
        result_file = tmp_path / f"result-{update_id}.json"
        argv = [
            sys.executable, "-m", "gate",
            "--update-id", str(update_id),
            "--account-service-id", asid,
            "--api-url", sim.base_url,
            "--timeout", timeout,
            "--result-file", str(result_file),
            "--verbose",
            *FAST,
            *extra,
        ]  # fmt: skip
        assert_no_secret(" ".join(argv))
        done = subprocess.run(
            argv,
            env=env if env is not None else basic_env(),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        raw = result_file.read_text(encoding="utf-8")
        assert_no_secret(done.stdout, done.stderr, raw)
        return Run(done.returncode, done.stdout, done.stderr, json.loads(raw))

    return run


def final_line(run: Run, update_id: int) -> str:
    lines = [line for line in run.output.splitlines() if line.startswith(f"image update {update_id}: ")]
    assert lines, run.output
    return lines[-1]


def progress_lines(run: Run, update_id: int) -> list[str]:
    return [
        line for line in run.output.splitlines() if re.match(rf"image update {update_id}: \w+.* · ", line)
    ]


def test_success(simulator: Callable[..., Simulator], gate: Callable[..., Run]) -> None:
    sim = simulator()
    uid = ID_BY_SCENARIO[Scenario.SUCCESS]
    run = gate(sim, uid)
    assert run.code == 0, run.output
    assert final_line(run, uid).startswith(f"image update {uid}: succeeded (Complete)")
    shown = progress_lines(run, uid)
    assert any("Running" in line and "eta" in line for line in shown)
    assert run.result["outcome"] == "succeeded" and run.result["state_id"] == 5
    assert sim.request_count(uid) == run.result["polls"] >= 3


def test_failure(simulator: Callable[..., Simulator], gate: Callable[..., Run]) -> None:
    sim = simulator()
    uid = ID_BY_SCENARIO[Scenario.FAILURE]
    run = gate(sim, uid)
    assert run.code == 1, run.output
    assert final_line(run, uid).startswith(f"image update {uid}: failed after")
    assert f"Failed: {FAILURE_MESSAGE}" in final_line(run, uid)
    assert run.result["job_error"] == FAILURE_MESSAGE and run.result["state_id"] == 6
    assert sim.request_count(uid) == run.result["polls"] >= 2


def test_squashed(simulator: Callable[..., Simulator], gate: Callable[..., Run]) -> None:
    sim = simulator()
    uid = ID_BY_SCENARIO[Scenario.SQUASHED]
    run = gate(sim, uid)
    assert run.code == 1, run.output
    assert f"Squashed: {SQUASHED_MESSAGE}" in final_line(run, uid)
    assert run.result["state_id"] == 7
    assert sim.request_count(uid) == run.result["polls"] >= 2


def test_stuck_times_out(simulator: Callable[..., Simulator], gate: Callable[..., Run]) -> None:
    sim = simulator(duration=1.0)
    uid = ID_BY_SCENARIO[Scenario.STUCK]
    run = gate(sim, uid, timeout="2.5s")
    assert run.code == 2, run.output
    line = final_line(run, uid)
    assert line.startswith(f"image update {uid}: timed out after") and "may still be running" in line
    assert run.result["outcome"] == "timed_out" and run.result["state_name"] == "Running"
    # Polled on until the deadline, every 0.1-0.2s once the ETA had passed.
    assert sim.request_count(uid) == run.result["polls"] >= 6


def test_flaky_recovers_from_every_kind_of_fault(
    simulator: Callable[..., Simulator], gate: Callable[..., Run]
) -> None:
    # Long enough for all five faults (each costs a retry of about a second) to hit a running job.
    sim = simulator(duration=9.0)
    uid = ID_BY_SCENARIO[Scenario.FLAKY]
    run = gate(sim, uid)
    assert run.code == 0, run.output
    retries = [line for line in run.output.splitlines() if "retrying in" in line]
    assert len(retries) == 5, run.output
    for expected in ("HTTP 503", "HTTP 502", "cannot connect", "not JSON", "not JSON"):
        assert any(expected in line for line in retries), expected
    assert final_line(run, uid).startswith(f"image update {uid}: succeeded")
    assert sim.request_count(uid) == run.result["polls"] >= 11


def test_rate_limited_honours_retry_after(
    simulator: Callable[..., Simulator], gate: Callable[..., Run]
) -> None:
    sim = simulator(duration=3.0)
    uid = ID_BY_SCENARIO[Scenario.RATE_LIMITED]
    run = gate(sim, uid)
    assert run.code == 0, run.output
    retries = [line for line in run.output.splitlines() if "HTTP 429" in line and "retrying in 1s" in line]
    assert len(retries) == 2, run.output
    assert final_line(run, uid).startswith(f"image update {uid}: succeeded")
    assert sim.request_count(uid) == run.result["polls"] >= 4


def test_slow_answer_is_abandoned_and_retried(
    simulator: Callable[..., Simulator], gate: Callable[..., Run]
) -> None:
    sim = simulator(duration=2.0, slow_seconds=3.0)
    uid = ID_BY_SCENARIO[Scenario.SLOW]
    run = gate(sim, uid, "--request-timeout", "0.5s")
    assert run.code == 0, run.output
    assert sum("no answer within" in line for line in run.output.splitlines()) == 1, run.output
    assert final_line(run, uid).startswith(f"image update {uid}: succeeded")
    assert sim.request_count(uid) == run.result["polls"] >= 3


def test_api_error(simulator: Callable[..., Simulator], gate: Callable[..., Run]) -> None:
    sim = simulator()
    uid = ID_BY_SCENARIO[Scenario.API_ERROR]
    run = gate(sim, uid)
    assert run.code == 3, run.output
    assert API_ERROR_MESSAGE in final_line(run, uid)
    assert run.result["outcome"] == "error"
    assert sim.request_count(uid) == 1


def test_not_found(simulator: Callable[..., Simulator], gate: Callable[..., Run]) -> None:
    sim = simulator()
    uid = ID_BY_SCENARIO[Scenario.NOT_FOUND]
    run = gate(sim, uid)
    assert run.code == 3, run.output
    assert "not found" in final_line(run, uid) and ASID in final_line(run, uid)
    assert sim.request_count(uid) == 1


def test_no_eta(simulator: Callable[..., Simulator], gate: Callable[..., Run]) -> None:
    sim = simulator()
    uid = ID_BY_SCENARIO[Scenario.NO_ETA]
    run = gate(sim, uid)
    assert run.code == 0, run.output
    shown = progress_lines(run, uid)
    assert shown and not any("eta" in line for line in shown), run.output
    assert run.result["eta"] is None and run.result["outcome"] == "succeeded"
    assert sim.request_count(uid) == run.result["polls"] >= 3


def test_other_ids_follow_the_default_scenario(
    simulator: Callable[..., Simulator], gate: Callable[..., Run]
) -> None:
    sim = simulator(default_scenario=Scenario.FAILURE)
    run = gate(sim, 424242)
    assert run.code == 1, run.output
    assert FAILURE_MESSAGE in final_line(run, 424242)
    assert sim.request_count(424242) == run.result["polls"]


def test_bearer_token(simulator: Callable[..., Simulator], gate: Callable[..., Run]) -> None:
    sim = simulator()
    run = gate(sim, 77, env=clean_env(CLANFORGE_TOKEN=TOKEN))
    assert run.code == 0, run.output
    assert sim.request_count(77) == run.result["polls"]


def test_wrong_credentials_are_rejected_once(
    simulator: Callable[..., Simulator], gate: Callable[..., Run]
) -> None:
    sim = simulator()
    run = gate(sim, 78, env=clean_env(CLANFORGE_ACCESS_KEY=ACCESS, CLANFORGE_SECRET_KEY="not-the-secret"))
    assert run.code == 3, run.output
    line = final_line(run, 78)
    assert "credentials rejected" in line and "HTTP 401" in line
    assert "not-the-secret" not in run.output
    assert sim.request_count(78) == 1


def test_wrong_account_service_id_is_forbidden(
    simulator: Callable[..., Simulator], gate: Callable[..., Run]
) -> None:
    sim = simulator()
    run = gate(sim, 79, asid="1")
    assert run.code == 3, run.output
    assert "HTTP 403" in final_line(run, 79)
    assert sim.request_count(79) == 1


def test_demo_runs_the_gate_against_its_own_simulator() -> None:
    argv = [sys.executable, "-m", "gate", "demo", "--duration", "1.5s", "--poll-interval", "0.3s"]
    done = subprocess.run(argv, env=clean_env(), cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "image update 1001: Running" in done.stdout
    assert "image update 1001: succeeded (Complete)" in done.stdout
    assert "the gate exited 0 (as this scenario should)" in done.stdout
    demo = SimulatorCredentials.demo()
    encoded = base64.b64encode(f"{demo.access_key}:{demo.secret_key}".encode()).decode()
    for secret in (demo.secret_key, demo.token, encoded):
        assert secret is not None and secret not in done.stdout + done.stderr


def test_demo_exits_with_the_gates_code() -> None:
    argv = [sys.executable, "-m", "gate", "demo", "--scenario", "failure", "--duration", "1s", "--quiet"]
    done = subprocess.run(argv, env=clean_env(), cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()  # --quiet: the final line only
    assert len(lines) == 1 and lines[0].startswith("image update 1002: failed after"), done.stdout
    assert lines[0].endswith(f"Failed: {FAILURE_MESSAGE}")


def test_simulate_serves_in_the_foreground_until_interrupted() -> None:
    argv = [sys.executable, "-m", "gate", "simulate", "--port", "0", "--duration", "1s"]
    env = clean_env(
        CLANFORGE_ACCESS_KEY=ACCESS, CLANFORGE_SECRET_KEY=SECRET, CLANFORGE_ACCOUNT_SERVICE_ID=ASID
    )
    proc = subprocess.Popen(
        argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        banner = [proc.stdout.readline() for _ in range(4)]
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", banner[0])
        assert match, banner
        url = match.group(1)
        assert f"account service id: {ASID}" in "".join(banner)
        answer = requests.get(
            f"{url}/cfp/v1/imageupdate/1001/status",
            params={"accountserviceid": ASID},
            headers={"Authorization": f"Basic {BASIC}"},
            timeout=5,
        )
        assert answer.json()["updateid"] == 1001
        assert requests.get(f"{url}/_sim/stats", timeout=5).json()["requests"] == {"1001": 1}
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "simulator stopped" in out
    assert_no_secret(out, err, "".join(banner))
