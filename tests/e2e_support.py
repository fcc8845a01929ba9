"""What the end-to-end tests share: a run's facts, a clean environment, the secret check, and a
deploy's ids and command line."""

from __future__ import annotations

import base64
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gate.sim import FIRST_CREATED_ID, IMAGE_BY_DEPLOY_SCENARIO
from tests.fakes import ACCESS, ASID, SECRET, TOKEN

if TYPE_CHECKING:
    from gate.sim import Simulator

ROOT = Path(__file__).resolve().parent.parent
BASIC = base64.b64encode(f"{ACCESS}:{SECRET}".encode()).decode()
SECRETS = (ACCESS, SECRET, TOKEN, BASIC)

# A deploy on a fresh simulator: the ids of the jobs it creates, the image of each deploy
# scenario, and what follows ``deploy --image-id N`` on the command line.
UPDATE, DIFF, VERSION = (FIRST_CREATED_ID[k] for k in ("imageupdate", "imagediff", "imageversion"))
IMAGE = IMAGE_BY_DEPLOY_SCENARIO
CHAIN = ("--machine-id", "9", "--desc", "build 42", "--restart")


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


def jobs(run: Run) -> list[tuple[str, int, str]]:
    """Each job of a run's result file: its kind, id and outcome."""
    return [(job["kind"], job["job_id"], job["outcome"]) for job in run.result["jobs"]]


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
