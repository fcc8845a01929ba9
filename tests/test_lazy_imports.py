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
    assert {"gate.parser", "gate.report.platforms"} <= modules


def test_the_simulator_commands_still_load_it_when_run() -> None:
    modules = loaded("demo", "--scenario", "failure")
    assert "gate.sim.scenarios" in modules  # the scenario is parsed by the simulator's own rules


# --version and --help send no request: they must not pay for the HTTP client.
HTTP = ("requests", "urllib3", "tenacity", "gate.client", "gate.exchange", "gate.waiter")

MAIN_PROBE = """
import contextlib, io, json, os, sys
from gate.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        code = main(sys.argv[1:], env=dict(os.environ), stdout=out, stderr=out)
    except SystemExit as exc:
        code = exc.code
print(json.dumps({"code": code, "said": out.getvalue(), "modules": sorted(sys.modules)}))
"""


def ran(*argv: str, **settings: str) -> dict[str, object]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("CLANFORGE_", "GITHUB_", "GITLAB_", "CI"))
    }
    env.update(settings, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-c", MAIN_PROBE, *argv],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        cwd=ROOT,
    ).stdout
    result: dict[str, object] = json.loads(out)
    return result


def test_version_and_help_do_not_import_the_http_client() -> None:
    for argv in (["--version"], ["--help"], ["wait", "--help"]):
        result = ran(*argv)
        assert result["code"] == 0, result
        assert "clanforge-gate" in str(result["said"])
        assert not set(HTTP) & set(result["modules"]), (argv, set(HTTP) & set(result["modules"]))  # type: ignore[arg-type]


def test_a_wait_that_sends_a_request_imports_it() -> None:
    # Nothing listens on port 9: the wait fails to connect, but it has loaded the client to try.
    argv = ("wait", "--update-id", "1", "--account-service-id", "1", "--api-url", "http://127.0.0.1:9")
    result = ran(*argv, "--timeout", "1s", "--quiet", CLANFORGE_TOKEN="unused-token-for-a-closed-port")
    assert result["code"] in (2, 3), result
    assert {"requests", "gate.client", "gate.waiter"} <= set(result["modules"])  # type: ignore[arg-type]
