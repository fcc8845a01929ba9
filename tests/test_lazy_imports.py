"""A command imports only what it uses: start-up is most of a short wait's cost.

Checked in a fresh interpreter (the test process has imported everything already): which
modules a wait without a config file, off any CI platform, has loaded once it has parsed its
arguments and built its reporters. Not a timing test: the start-up time is measured by
``benchmarks/http_polling.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = (
    "yaml",
    "gate.sim.server",
    # The deploy's shells and its settings; its pure choices and source URL are the core's, which
    # the option table reads.
    "gate.deploy.chain",
    "gate.deploy.fleet",
    "gate.deploy.settings",
    "gate.deploy.calls",
    "gate.deploy.resume",
    "gate.report.github",
    "gate.report.gitlab",
    "gate.report.junit",
    "gate.report.dotenv",
    "http.server",
)

PROBE = """
import json, sys
from gate.cli import build_parser
from gate.report.platforms import platform_reporters
args = build_parser().parse_args(sys.argv[1:])
platform_reporters({}, None, args=args)
print(json.dumps(sorted(sys.modules)))
"""


def loaded(*argv: str) -> set[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLANFORGE_", "GITHUB_", "GITLAB_"))}
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, env=env, check=True, cwd=ROOT
    ).stdout
    return set(json.loads(out))


def test_a_plain_wait_loads_no_yaml_simulator_deploy_or_platform_reporters() -> None:
    modules = loaded("wait", "--update-id", "1")
    assert not modules & set(HEAVY)
    assert {"gate.waiter", "gate.schedule", "requests"} <= modules


def test_the_simulator_commands_still_load_it_when_run() -> None:
    modules = loaded("demo", "--scenario", "failure")
    assert "gate.sim.scenarios" in modules  # the scenario is parsed by the simulator's own rules
