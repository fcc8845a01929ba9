"""Test doubles shared by the unit tests."""

from __future__ import annotations

import base64
import io
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import random
    from collections.abc import Sequence
    from pathlib import Path

    import requests_mock as rm

    from gate.clock import Clock
    from gate.config import Credentials, Settings
    from gate.ending import Outcome
    from gate.kinds import JobKind
    from gate.report import Reporter
    from gate.result import Result
    from gate.waiter import Waiter

# The one set of fake credentials of the tests: made up, and easy to search for in output.
ASID = "31337"
ACCESS = "e2e-access-7d1f"
SECRET = "e2e-secret-5be0c9a1d2"
TOKEN = "e2e-token-93f1a0c4e8b7"


class FakeClock:
    """A clock whose sleep advances time instantly; records every sleep."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.wall = start
        self.mono = 1000.0
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0, f"negative sleep {seconds}"
        self.sleeps.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds


class Recorder:
    """A reporter that records every call: ``lines`` as (kind, text) for one reporter's view, and
    ``calls`` as (name, kind, ...), which several recorders can share to show the order."""

    def __init__(self, name: str = "recorder", calls: list[tuple[str, ...]] | None = None) -> None:
        self.name = name
        self.calls: list[tuple[str, ...]] = [] if calls is None else calls
        self.lines: list[tuple[str, str]] = []

    def _note(self, kind: str, text: str, *parts: str) -> None:
        if kind != "begin":
            self.lines.append((kind, text))
        self.calls.append((self.name, kind, *(parts or (text,))))

    def begin(self, kind: JobKind, job_ids: Sequence[int]) -> None:
        self._note("begin", kind.labels(job_ids))

    def progress(self, message: str) -> None:
        self._note("progress", message)

    def debug(self, message: str) -> None:
        self._note("debug", message)

    def warning(self, message: str) -> None:
        self._note("warning", message)

    def created(self, kind: JobKind, job_id: int) -> None:
        self._note("created", f"{kind} {job_id}", kind, str(job_id))

    def end(self, result: Any) -> None:
        self._note("end", result.message)

    def text(self, kind: str = "progress") -> str:
        """Every line of one kind, one per line."""
        return "\n".join(m for k, m in self.lines if k == kind)


def job_body(
    state_id: int | None = 4,
    name: str | None = "Running",
    *,
    progress: int = 0,
    eta: int | None = None,
    failed: int = 0,
    error: str | None = None,
    update_id: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A status body shaped like the documented example."""
    body: dict[str, Any] = {
        "jobprogress": progress,
        "jobstart": "1799999000",
        "joberror": error,
        "jobeta": eta,
        "jobfailed": failed,
        "success": True,
        "jobcreated": 1799998000,
        "jobupdated": 1799999500,
    }
    # The job's id is echoed only when a test names it: a default would be another job's id.
    if update_id is not None:
        body["updateid"] = update_id
    if state_id is not None:
        body["jobstateid"] = state_id
    if name is not None:
        body["jobstatename"] = name
    body.update(extra)
    return body


def make_result(outcome: Outcome | None = None, **fields: Any) -> Result:
    """A one-job ``Result`` in the given outcome (default failed), fields overridable.

    The job's facts (state, progress, job error, ETA, requests, time) are given as keywords as
    for a run on that job; they become the run's one job (a given one job takes those it leaves
    unset). With several ``jobs``, or no ``update_id``, the job keywords are left out.
    """
    import dataclasses
    import signal

    from gate.kinds import JobKind
    from gate.result import JobResult, Outcome, Result

    outcome = outcome or Outcome.FAILED
    values: dict[str, Any] = {
        "update_id": 1234,
        "outcome": outcome,
        "signum": signal.SIGTERM,
        "message": f"update 1234: {outcome.value}",
        "state_id": 6,
        "state_name": "Failed",
        "progress": 40,
        "polls": 7,
        "elapsed_seconds": 125.4,
    }
    values.update(fields)
    job_facts = {key: values.pop(key, None) for key in ("state_id", "progress", "job_error", "eta")}
    if "jobs" not in values and values["update_id"] is not None:
        job = JobResult(
            values.get("job_kind", JobKind.IMAGE_UPDATE.value),
            values["update_id"],
            outcome,
            values["message"],
            state_name=values["state_name"],
            polls=values["polls"],
            elapsed_seconds=values["elapsed_seconds"],
            **job_facts,
        )
        values["jobs"] = (job,)
    elif len(values.get("jobs", ())) == 1 and values["jobs"][0].job_id == values["update_id"]:
        # A given one job takes the job facts it leaves unset from the keywords.
        (job,) = values["jobs"]
        unset = {key: value for key, value in job_facts.items() if getattr(job, key) is None}
        values["jobs"] = (dataclasses.replace(job, **unset),)
    return Result(**values)


def load_benchmark(filename: str) -> Any:
    """Import a script of ``benchmarks/`` as a module, so its tests call its functions."""
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "benchmarks" / filename
    name = f"benchmark_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses in the script look their module up here
    spec.loader.exec_module(module)
    return module


def make_waiter(
    settings: Settings, clock: Clock, reporter: Reporter, rng: random.Random | None = None
) -> Waiter:
    """A ``Waiter`` on ``settings`` over a real ``StatusClient``, its deadline counted from now."""
    from gate.client import StatusClient
    from gate.waiter import Waiter

    client = StatusClient(settings, clock, reporter)
    return Waiter(client, settings, clock, reporter, rng, deadline=settings.deadline(clock.monotonic()))


def make_settings(
    *,
    update_ids: tuple[int, ...] = (1234,),
    account_service_id: str | None = "77",
    api_url: str = "https://api.test",
    timeout: float = 60.0,
    poll_interval: float = 10.0,
    min_poll_interval: float = 1.0,
    request_timeout: float = 10.0,
    result_file: str | None = None,
    credentials: Credentials | None = None,
    junit_file: str | None = None,
    dotenv_file: str | None = None,
    job: JobKind | None = None,
    fail_fast: bool = False,
) -> Settings:
    """Valid ``Settings`` for one update (1234) on https://api.test; each field can be given."""
    from gate.config import Credentials, Settings
    from gate.kinds import JobKind

    return Settings(
        update_ids=update_ids,
        account_service_id=account_service_id,
        api_url=api_url,
        timeout=timeout,
        poll_interval=poll_interval,
        min_poll_interval=min_poll_interval,
        request_timeout=request_timeout,
        result_file=result_file,
        credentials=credentials or Credentials("basic", user="AKEY", secret="SKEY"),
        junit_file=junit_file,
        dotenv_file=dotenv_file,
        job=job or JobKind.IMAGE_UPDATE,
        fail_fast=fail_fast,
    )


# --- the command line in-process, over requests-mock -------------------------------------------

API = "https://api.test"
URL = f"{API}/cfp/v1/imageupdate/1234/status"
ENV = {
    "CLANFORGE_ACCESS_KEY": ACCESS,
    "CLANFORGE_SECRET_KEY": SECRET,
    "CLANFORGE_ACCOUNT_SERVICE_ID": "77",
    "CLANFORGE_API_URL": API,
}


def cli(
    *argv: str, env: dict[str, str] | None = None, clock: FakeClock | None = None
) -> tuple[int, str, str]:
    from gate.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), env={**ENV, **(env or {})}, stdout=out, stderr=err, clock=clock or FakeClock())
    return code, out.getvalue(), err.getvalue()


# --- every output file at once ------------------------------------------------------------------

# The variable that names each file the gate can write, and that file's name in a test's folder.
OUTPUT_FILES = {
    "GITHUB_OUTPUT": "output",
    "GITHUB_STEP_SUMMARY": "summary",
    "CLANFORGE_DOTENV_FILE": "gate.env",
    "CLANFORGE_JUNIT_FILE": "junit.xml",
    "CLANFORGE_RESULT_FILE": "result.json",
}


def every_output(folder: Path) -> dict[str, str]:
    """The variables of a run under GitHub Actions and GitLab CI at once, writing every output file
    into ``folder`` (named as in ``OUTPUT_FILES``)."""
    files = {name: str(folder / file) for name, file in OUTPUT_FILES.items()}
    return {"GITHUB_ACTIONS": "true", "GITLAB_CI": "true", **files}


# --- the deploy chain over requests-mock -------------------------------------------------------

IMAGE = f"{API}/cfp/v2/project/77/image/5/status"
INSTALLS = f"{API}/cfp/v1/imageinstall/status"
# An install job of another image's version: it must never hold a deploy up.
OTHER_INSTALL = {**job_body(3, "Queued"), "jobid": 7, "target_imageversionid": 99, "machine": 4}
WATCH = ("deploy", "--image-id", "5", "--skip-update", "--skip-diff", "--skip-version", "--version-id", "33")
BASE = ("deploy", "--image-id", "5", "--machine-id", "9", "--desc", "build 42", "--restart")


def create_url(kind: str) -> str:
    return f"{API}/cfp/v1/{kind}/create"


def status_url(kind: str, job_id: int) -> str:
    return f"{API}/cfp/v1/{kind}/{job_id}/status"


def happy(m: rm.Mocker, *, failed_machines: int = 0) -> None:
    m.get(create_url("imageupdate"), json={**job_body(1, "Created"), "updateid": 11})
    m.get(status_url("imageupdate", 11), [{"json": job_body(4)}, {"json": job_body(5, "Complete")}])
    m.get(create_url("imagediff"), json={**job_body(1, "Created"), "diffid": 22})
    m.get(status_url("imagediff", 22), json=job_body(5, "Complete"))
    m.get(create_url("imageversion"), json={**job_body(1, "Created"), "imageversionid": 33})
    m.get(status_url("imageversion", 33), json=job_body(5, "Complete"))
    m.get(
        IMAGE,
        [
            {"json": {"pending_machines": 3, "failed_machines": 0, "completed_machines": 1}},
            {"json": {"pending_machines": 0, "failed_machines": failed_machines, "completed_machines": 4}},
        ],
    )
    mine = {**job_body(4, "Running"), "jobid": 8, "target_imageversionid": 33, "machine": 1}
    m.get(
        INSTALLS,
        [{"json": {"installs": [mine, OTHER_INSTALL]}}, {"json": {"installs": [OTHER_INSTALL]}}],
    )


# --- the simulator ------------------------------------------------------------------------------


def basic(access: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{access}:{secret}".encode()).decode()


class FakeTime:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# --- platform files read back as GitHub Actions and GitLab CI read them -------------------------


def unescape_data(text: str) -> str:
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def unescape_property(text: str) -> str:
    for escaped, raw in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ",")):
        text = text.replace(escaped, raw)
    return text.replace("%25", "%")


COMMAND = re.compile(r"^::(?P<name>[A-Za-z-]+)(?: (?P<props>[^:]*))?::(?P<data>.*)$")


def parse_command(line: str) -> tuple[str, dict[str, str], str]:
    match = COMMAND.match(line)
    assert match, f"not a workflow command: {line!r}"
    props: dict[str, str] = {}
    if match["props"]:
        for pair in match["props"].split(","):
            key, _, value = pair.partition("=")
            props[key] = unescape_property(value)
    return match["name"], props, unescape_data(match["data"])


def parse_output_file(text: str) -> dict[str, str]:
    """Read a GITHUB_OUTPUT file as the runner does: lines end at CR, LF or CRLF; a
    ``name<<DELIM`` block runs to the line equal to DELIM; its lines are joined with LF."""
    lines = re.split(r"\r\n|\r|\n", text)
    if lines and lines[-1] == "":
        lines.pop()
    outputs: dict[str, str] = {}
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line:
            continue
        heredoc = line.find("<<")
        equals = line.find("=")
        if equals != -1 and (heredoc == -1 or equals < heredoc):
            outputs[line[:equals]] = line[equals + 1 :]
            continue
        assert heredoc > 0, f"invalid line {line!r}"
        name, delimiter = line[:heredoc], line[heredoc + 2 :]
        body: list[str] = []
        while True:
            assert index < len(lines), f"matching delimiter not found for {name!r}"
            current = lines[index]
            index += 1
            if current == delimiter:
                break
            body.append(current)
        outputs[name] = "\n".join(body)
    return outputs


def parse_dotenv(text: str) -> dict[str, str]:
    """GitLab's rules: one NAME=value per line, no blank lines, no comments, names of ASCII
    letters, digits and underscores; the value is taken as is."""
    assert text.endswith("\n")
    variables: dict[str, str] = {}
    for line in text[:-1].split("\n"):
        name, sep, value = line.partition("=")
        assert sep, f"not a variable line: {line!r}"
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name), name
        assert "\r" not in value and not value.startswith(("'", '"')) and not value.endswith(("'", '"'))
        assert " #" not in value and not value.startswith("#")
        assert value == value.strip()
        variables[name] = value
    return variables
