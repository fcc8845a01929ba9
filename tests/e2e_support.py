"""What the end-to-end tests share: a run's facts, a clean environment, and the secret check."""

from __future__ import annotations

import base64
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.fakes import ACCESS, ASID, SECRET, TOKEN

if TYPE_CHECKING:
    from gate.sim import Simulator

ROOT = Path(__file__).resolve().parent.parent
BASIC = base64.b64encode(f"{ACCESS}:{SECRET}".encode()).decode()
SECRETS = (ACCESS, SECRET, TOKEN, BASIC)


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str
    result: dict[str, Any]

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def final(self) -> str:
        """The run's last line of output."""
        return self.output.strip().splitlines()[-1]


def clean_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CLANFORGE_")}
    env.update(extra)
    return env


def basic_env() -> dict[str, str]:
    return clean_env(CLANFORGE_ACCESS_KEY=ACCESS, CLANFORGE_SECRET_KEY=SECRET)


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def gate_argv(sim: Simulator, result_file: Path, args: list[str], timeout: str) -> list[str]:
    argv = [
        sys.executable, "-m", "gate", *args,
        "--account-service-id", ASID,
        "--api-url", sim.base_url,
        "--timeout", timeout,
        "--poll-interval", "1s",
        "--result-file", str(result_file),
    ]  # fmt: skip
    assert_no_secret(" ".join(argv))
    return argv


def finish(done_code: int, stdout: str, stderr: str, result_file: Path) -> Run:
    raw = result_file.read_text(encoding="utf-8")
    assert_no_secret(stdout, stderr, raw)
    return Run(done_code, stdout, stderr, json.loads(raw))
