"""No hang, no blow-up: the gate against servers on 127.0.0.1 that trickle, bomb, stall and
hammer (the servers of benchmarks/hostile.py), in-process on the real clock.

The deadline is a wall-clock promise: each run's overshoot of --timeout is measured and must
stay under a second (the benchmark reports the worst one over every case)."""

from __future__ import annotations

import io
import json
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from gate.cli import main
from tests.fakes import load_benchmark

# Real servers on the real clock: left out of the quick run (-m "not e2e").
pytestmark = pytest.mark.e2e

hostile = load_benchmark("hostile.py")
TIMEOUT = 2.0


def run(
    server: Any, *argv: str, tmp_path: Path, command: str = "wait"
) -> tuple[int, str, float, dict[str, Any]]:
    env = {
        "CLANFORGE_API_URL": server.url,
        "CLANFORGE_ACCOUNT_SERVICE_ID": hostile.ASID,
        "CLANFORGE_ACCESS_KEY": hostile.ACCESS_KEY,
        "CLANFORGE_SECRET_KEY": hostile.SECRET_KEY,
    }
    result_file = tmp_path / "result.json"
    out = io.StringIO()
    started = time.monotonic()
    code = main(
        [
            command,
            *argv,
            "--timeout",
            f"{TIMEOUT}s",
            "--request-timeout",
            "30s",
            "--result-file",
            str(result_file),
        ],
        env=env,
        stdout=out,
        stderr=out,
    )
    took = time.monotonic() - started
    return code, out.getvalue(), took, json.loads(result_file.read_text())


@pytest.mark.parametrize("handler", ["trickle_headers", "trickle_body", "endless_body"])
def test_a_trickling_server_cannot_hold_the_gate_past_its_deadline(handler: str, tmp_path: Path) -> None:
    with hostile.HostileServer(getattr(hostile, handler)) as server:
        code, output, took, result = run(server, "--update-id", "1", tmp_path=tmp_path)
    assert code == 2 and result["outcome"] == "timed_out", output
    assert took - TIMEOUT < 1.0, f"overshoot {took - TIMEOUT:.2f}s"


def test_a_create_call_is_bounded_by_the_deadline_too(tmp_path: Path) -> None:
    with hostile.HostileServer(hostile.stuck_create) as server:
        code, output, took, _ = run(
            server,
            *("--image-id", "5", "--machine-id", "9", "--desc", "d"),
            *("--skip-diff", "--skip-version", "--skip-install"),
            tmp_path=tmp_path,
            command="deploy",
        )
    assert code == 3 and "may have started" in output, output
    assert took - TIMEOUT < 1.0, f"overshoot {took - TIMEOUT:.2f}s"


def test_one_stuck_job_does_not_hold_the_others(tmp_path: Path) -> None:
    with hostile.HostileServer(hostile.one_stuck) as server:
        code, output, took, result = run(
            server, "--update-id", f"11,12,{hostile.STUCK_ID}", tmp_path=tmp_path
        )
    outcomes = {job["job_id"]: job["outcome"] for job in result["jobs"]}
    assert outcomes == {11: "succeeded", 12: "succeeded", hostile.STUCK_ID: "timed_out"}, output
    assert code == 2 and took - TIMEOUT < 1.0


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_a_decompression_bomb_is_an_error_not_the_memory(encoding: str, tmp_path: Path) -> None:
    hostile.bomb(encoding)  # made before measuring
    handler = hostile.gzip_bomb if encoding == "gzip" else hostile.deflate_bomb
    with hostile.HostileServer(handler) as server:
        tracemalloc.start()
        try:
            code, output, _, _ = run(server, "--update-id", "1", "--verbose", tmp_path=tmp_path)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert code == 2, output
    assert "larger than 1024 KiB once decompressed" in output
    assert peak < 16 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"


def test_a_compressed_answer_is_still_read(tmp_path: Path) -> None:
    with hostile.HostileServer(hostile.gzip_complete) as server:
        code, output, _, _ = run(server, "--update-id", "1", tmp_path=tmp_path)
    assert code == 0, output


@pytest.mark.parametrize("handler", ["retry_after_zero", "retry_after_past"])
def test_a_zero_or_past_retry_after_does_not_make_the_gate_hammer(handler: str, tmp_path: Path) -> None:
    with hostile.HostileServer(getattr(hostile, handler)) as server:
        code, output, _, _ = run(server, "--update-id", "1", tmp_path=tmp_path)
        requests = server.requests
    assert code == 2, output
    # The first backoff step (1 s) is the floor: about one request a second, never hundreds.
    assert requests <= TIMEOUT / 1.0 + 2, requests


def test_an_answer_about_another_job_never_succeeds(tmp_path: Path) -> None:
    with hostile.HostileServer(hostile.another_job) as server:
        code, output, _, result = run(server, "--update-id", "1", tmp_path=tmp_path)
    assert code == 2 and result["outcome"] == "timed_out", output
    assert "not 1" in output


@pytest.mark.parametrize("handler", ["trickle_headers", "trickle_body"])
def test_an_abandoned_exchange_does_not_linger(handler: str) -> None:
    """Past its budget the exchange is left, and its connection shut at once: no thread (and no
    socket) stays behind for as long as the server cares to trickle."""
    import threading

    import requests

    from gate.exchange import ExchangeTimedOut, exchange

    with hostile.HostileServer(getattr(hostile, handler)) as server:
        for _ in range(3):
            with pytest.raises(ExchangeTimedOut):
                exchange(requests.Session(), f"{server.url}/cfp/v1/imageupdate/1/status", None, budget=0.5)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(
            t.name == "clanforge-gate-http" for t in threading.enumerate()
        ):
            time.sleep(0.05)
        assert not [t for t in threading.enumerate() if t.name == "clanforge-gate-http"]
