"""The gate against a hand-written curl-and-sleep loop, over real HTTP on the local simulator.

    python benchmarks/http_polling.py          # twelve jobs, 2.5-3 minutes

One simulator on a loopback port serves twelve image update jobs whose start and end are fixed in
advance (``Simulator.plan_job``), so each job's real end is known to the millisecond. Each job is
watched, from the moment it is created, by four waiters side by side, each on its own copy of the
job (its own update id, same start, same end):

* the gate, ``python -m gate wait``, at its default ``--poll-interval 10s`` and at ``30s``;
* a bash loop of ``curl`` then ``sleep 10``, and the same with ``sleep 30``.

Every waiter is a real process. Credentials reach them only through the environment: the gate
reads ``CLANFORGE_TOKEN``; the curl loop pipes its header to ``curl -K -`` from the shell's
``printf`` builtin, so the token is never on any command line and never in a file.

Measured per waiter and job: the detection delay (the process's exit, minus the job's real end,
both in wall-clock time), the requests it made (the simulator's count for its update id), and
its start-up (from spawning the process to its first request reaching the simulator).

The twelve jobs (four of each kind: success with ETA and progress, no ETA and no progress,
failure) end 61.25 to 118.75 s after they are created, 2.5 s apart modulo 30 s. Against a loop
that polls every 10 s (or 30 s) from the job's creation, these ends fall evenly across the
interval, so the fixed loops' mean delay is their expected one, P/2, and no loop is lucky by
construction. A poller on a fixed grid at another phase can come out up to half the spacing,
1.25 s, luckier or unluckier than P/2 over the twelve jobs. The gate's polls move more than
that (its start-up, its jittered first interval, its extra polls), so on jobs that announce
nothing its mean delay varies from run to run; only the jobs with an ETA give it something to
aim at. The jobs start 2 s apart, so that the gates' start-ups do not all compete for the CPU
at once.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gate.sim import (  # noqa: E402
    TOKEN_ENV,
    Response,
    Scenario,
    Simulator,
    SimulatorCredentials,
    final_offset,
)

ASID = "24680"
FIRST_ID = 3000  # far from the simulator's well-known ids (1001-1010)
STAGGER = 2.0
# Proxy settings would send loopback requests elsewhere; the waiters get none of them.
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")

# The loop a team writes by hand. The token comes from the environment and reaches curl on its
# standard input as a config line (printf is a bash builtin: no process gets it in its argv).
# ``-q`` first: ignore any ~/.curlrc.
CURL_LOOP = r"""
final='"jobstatename": *"(Complete|Failed|Squashed)"'
while :; do
  body=$(printf 'header = "Authorization: Bearer %s"\n' "$CLANFORGE_TOKEN" \
    | curl -q -sS --max-time 10 -K - "$STATUS_URL") || body=
  if [[ $body =~ $final ]]; then
    [[ ${BASH_REMATCH[1]} == Complete ]] && exit 0
    exit 1
  fi
  sleep "$SLEEP"
done
"""


@dataclass(frozen=True)
class JobSpec:
    """A job, and when it reaches its final state: ``end`` seconds after it was created."""

    label: str
    scenario: Scenario
    end: float

    @property
    def duration(self) -> float:
        """The simulator's duration that puts this scenario's final state at ``end``."""
        fraction = final_offset(self.scenario, 1.0)
        if fraction is None:
            raise ValueError(f"a {self.scenario.value} job never ends")
        return self.end / fraction

    @property
    def expected_exit(self) -> int:
        return 0 if self.scenario not in (Scenario.FAILURE, Scenario.SQUASHED) else 1


@dataclass(frozen=True)
class Contender:
    """A waiter: the gate or the curl loop, at a poll interval (the loop's sleep) in seconds."""

    name: str
    kind: str  # "gate" or "curl"
    interval: float


KINDS: tuple[tuple[str, Scenario], ...] = (
    ("success", Scenario.SUCCESS),
    ("no ETA, no progress", Scenario.NO_ETA),
    ("fails", Scenario.FAILURE),
)


def make_jobs() -> tuple[JobSpec, ...]:
    """Twelve jobs ending 61.25 to 118.75 s after creation, 2.5 s apart modulo 30 s.

    Job k ends at 61.25 + 2.5 k s, plus 30 s for odd k (so the lengths spread over 1-2 minutes
    without changing where an end falls in a 10 s or 30 s interval). Its kind is k modulo 3, so
    each kind sees an end in each quarter of the 10 s interval.
    """
    jobs = []
    for k in range(12):
        label, scenario = KINDS[k % len(KINDS)]
        jobs.append(JobSpec(label, scenario, 61.25 + 2.5 * k + 30.0 * (k % 2)))
    return tuple(jobs)


JOBS = make_jobs()

CONTENDERS: tuple[Contender, ...] = (
    Contender("gate, P = 10 s", "gate", 10.0),
    Contender("curl + sleep 10", "curl", 10.0),
    Contender("gate, P = 30 s", "gate", 30.0),
    Contender("curl + sleep 30", "curl", 30.0),
)


class RecordingSimulator(Simulator):
    """The simulator, noting when each request for an update id arrived."""

    _ID = re.compile(r"/imageupdate/(\d+)/")

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._arrivals: dict[int, list[float]] = {}
        self._arrivals_lock = threading.Lock()

    def handle(self, method: str, target: str, headers: Mapping[str, str]) -> Response:
        arrived = self.clock()
        match = self._ID.search(target)
        if match:
            with self._arrivals_lock:
                self._arrivals.setdefault(int(match.group(1)), []).append(arrived)
        return super().handle(method, target, headers)

    def arrivals(self, update_id: int) -> list[float]:
        with self._arrivals_lock:
            return sorted(self._arrivals.get(update_id, []))


def child_environment(base: Mapping[str, str], token: str) -> dict[str, str]:
    """``base`` without Clanforge settings or proxies, plus the token."""
    env = {
        key: value
        for key, value in base.items()
        if not key.startswith("CLANFORGE_") and key.lower() not in PROXY_VARIABLES
    }
    env[TOKEN_ENV] = token
    return env


def status_url(base_url: str, update_id: int) -> str:
    return f"{base_url}/cfp/v1/imageupdate/{update_id}/status?accountserviceid={ASID}"


def command_for(
    contender: Contender, job: JobSpec, base_url: str, update_id: int
) -> tuple[list[str], dict[str, str]]:
    """The argv of a waiter, and the variables it needs beyond the shared environment."""
    if contender.kind == "gate":
        timeout = job.end + 3 * contender.interval + 60
        argv = [
            sys.executable, "-m", "gate", "wait",
            "--update-id", str(update_id),
            "--account-service-id", ASID,
            "--api-url", base_url,
            "--timeout", f"{timeout:g}s",
            "--poll-interval", f"{contender.interval:g}s",
            "--quiet",
        ]  # fmt: skip
        return argv, {"PYTHONPATH": str(ROOT)}
    if contender.kind == "curl":
        extra = {"STATUS_URL": status_url(base_url, update_id), "SLEEP": f"{contender.interval:g}"}
        return ["bash", "-c", CURL_LOOP], extra
    raise ValueError(f"unknown kind of waiter: {contender.kind!r}")


@dataclass(frozen=True)
class Measure:
    contender: str
    kind: str  # the contender's: "gate" or "curl"
    job: str
    end: float  # seconds after the job was created
    exit_code: int | None  # None: killed after its time ran out
    expected_exit: int
    delay: float  # process exit minus the job's real end
    seen: float | None  # first request at or after the end, minus the end
    requests: int
    startup: float | None  # spawn to first request
    argv: tuple[str, ...]
    stderr: str  # what the waiter said on stderr (the gate redacts secrets; the loop has none)


@dataclass
class _Watch:
    contender: Contender
    job: JobSpec
    update_id: int
    origin: float
    argv: tuple[str, ...] = ()
    spawned: float = 0.0
    exited: float = 0.0
    exit_code: int | None = None
    stderr: str = ""


def _watch(watch: _Watch, base_url: str, env: Mapping[str, str]) -> None:
    """Start the waiter when its job is created, wait for it, note when it ended."""
    argv, extra = command_for(watch.contender, watch.job, base_url, watch.update_id)
    watch.argv = tuple(argv)
    pause = watch.origin - time.time()
    if pause > 0:
        time.sleep(pause)
    watch.spawned = time.time()
    process = subprocess.Popen(
        argv,
        env={**env, **extra},
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    limit = watch.job.end + 3 * watch.contender.interval + 90
    try:
        _, stderr = process.communicate(timeout=limit)
        watch.exited = time.time()
        watch.exit_code = process.returncode
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
        watch.exited = time.time()
    watch.stderr = stderr or ""


def run(
    jobs: Sequence[JobSpec] = JOBS,
    contenders: Sequence[Contender] = CONTENDERS,
    *,
    stagger: float = STAGGER,
    env: Mapping[str, str] | None = None,
    token: str | None = None,
) -> list[Measure]:
    """Run every contender on every job, all at once; measure each."""
    token = token if token is not None else secrets.token_urlsafe(24)
    child_env = child_environment(os.environ if env is None else env, token)
    simulator = RecordingSimulator(
        credentials=SimulatorCredentials(token=token, source="benchmark"),
        account_service_id=ASID,
    )
    base_url = simulator.start()
    try:
        start = time.time() + 0.5
        watches: list[_Watch] = []
        for j, job in enumerate(jobs):
            origin = start + j * stagger
            for c, contender in enumerate(contenders):
                update_id = FIRST_ID + 10 * j + c
                simulator.plan_job(update_id, scenario=job.scenario, duration=job.duration, origin=origin)
                watches.append(_Watch(contender, job, update_id, origin))
        threads = [threading.Thread(target=_watch, args=(w, base_url, child_env)) for w in watches]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return [_measure(w, simulator) for w in watches]
    finally:
        simulator.stop()


def _measure(watch: _Watch, simulator: RecordingSimulator) -> Measure:
    end = watch.origin + watch.job.end
    arrivals = simulator.arrivals(watch.update_id)
    after_end = [t for t in arrivals if t >= end]
    return Measure(
        contender=watch.contender.name,
        kind=watch.contender.kind,
        job=watch.job.label,
        end=watch.job.end,
        exit_code=watch.exit_code,
        expected_exit=watch.job.expected_exit,
        delay=watch.exited - end,
        seen=after_end[0] - end if after_end else None,
        requests=simulator.request_count(watch.update_id),
        startup=arrivals[0] - watch.spawned if arrivals else None,
        argv=watch.argv,
        stderr=watch.stderr,
    )


# --------------------------------------------------------------------------- report


def _seconds(value: float | None, width: int = 7) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width - 1}.2f}s"


def format_table(measures: Sequence[Measure]) -> str:
    header = (
        f"{'job':<38} {'waiter':<16} {'exit':>4} {'delay':>7} {'seen':>7} {'requests':>8} {'start-up':>8}"
    )
    lines = [header, "-" * len(header)]
    for m in measures:
        job = f"{m.job}, ends at {m.end:g} s"
        code = "-" if m.exit_code is None else str(m.exit_code)
        lines.append(
            f"{job:<38} {m.contender:<16} {code:>4} {_seconds(m.delay)} {_seconds(m.seen)} "
            f"{m.requests:>8} {_seconds(m.startup, 8)}"
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class Summary:
    contender: str
    kind: str
    mean_delay: float
    max_delay: float
    requests: int
    median_startup: float | None


def summarize(measures: Sequence[Measure]) -> list[Summary]:
    summaries = []
    for name in dict.fromkeys(m.contender for m in measures):
        mine = [m for m in measures if m.contender == name]
        startups = [m.startup for m in mine if m.startup is not None]
        summaries.append(
            Summary(
                name,
                mine[0].kind,
                statistics.mean(m.delay for m in mine),
                max(m.delay for m in mine),
                sum(m.requests for m in mine),
                statistics.median(startups) if startups else None,
            )
        )
    return summaries


def format_summary(summaries: Sequence[Summary], jobs: int) -> str:
    header = (
        f"{'waiter':<16} {'mean delay':>10} {'max delay':>9} {'requests':>8} {'per job':>7} "
        f"{'median start-up':>15}"
    )
    lines = [header, "-" * len(header)]
    for s in summaries:
        lines.append(
            f"{s.contender:<16} {_seconds(s.mean_delay, 10)} {_seconds(s.max_delay, 9)} {s.requests:>8} "
            f"{s.requests / jobs:>7.1f} {_seconds(s.median_startup, 15)}"
        )
    return "\n".join(lines)


def format_by_job_kind(measures: Sequence[Measure]) -> str:
    """Mean delay per waiter for each kind of job."""
    kinds = list(dict.fromkeys(m.job for m in measures))
    header = f"{'mean delay':<16} " + " ".join(f"{kind:>20}" for kind in kinds)
    lines = [header, "-" * len(header)]
    for name in dict.fromkeys(m.contender for m in measures):
        cells = []
        for kind in kinds:
            delays = [m.delay for m in measures if m.contender == name and m.job == kind]
            cells.append(_seconds(statistics.mean(delays), 20))
        lines.append(f"{name:<16} " + " ".join(cells))
    return "\n".join(lines)


def format_ratios(summaries: Sequence[Summary], jobs: int) -> str:
    gates = [s for s in summaries if s.kind == "gate"]
    loops = [s for s in summaries if s.kind == "curl"]
    lines = []
    for gate in gates:
        for loop in loops:
            delay = gate.mean_delay / loop.mean_delay if loop.mean_delay > 0 else float("nan")
            requests = gate.requests / loop.requests if loop.requests else float("nan")
            extra = (gate.requests - loop.requests) / jobs
            lines.append(
                f"{gate.contender} vs {loop.contender}: mean delay {delay:.2f}x, "
                f"requests {requests:.2f}x ({extra:+.1f} per job)"
            )
    return "\n".join(lines)


def machine() -> str:
    curl = shutil.which("curl")
    curl_version = ""
    if curl:
        first = subprocess.run([curl, "--version"], capture_output=True, text=True, check=False).stdout
        curl_version = " ".join(first.split()[:2])
    return (
        f"{os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}, {curl_version or 'no curl'}"
    )


def wrong_exits(measures: Sequence[Measure]) -> list[Measure]:
    return [m for m in measures if m.exit_code != m.expected_exit]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.parse_args(argv)
    missing = [name for name in ("bash", "curl") if shutil.which(name) is None]
    if missing:
        print(f"this benchmark needs {' and '.join(missing)} on PATH", file=sys.stderr)
        return 2
    slowest = max(c.interval for c in CONTENDERS)
    longest = max(j * STAGGER + job.end for j, job in enumerate(JOBS)) + slowest
    print(f"{len(JOBS)} jobs x {len(CONTENDERS)} waiters on {machine()}")
    print(f"at most about {longest:.0f} s of wall-clock time ...", flush=True)
    began = time.monotonic()
    measures = run()
    print()
    print(format_table(measures))
    print()
    print(format_summary(summarize(measures), len(JOBS)))
    print()
    print(format_by_job_kind(measures))
    print()
    print(format_ratios(summarize(measures), len(JOBS)))
    print(f"\nwall-clock time: {time.monotonic() - began:.0f} s")
    wrong = wrong_exits(measures)
    for m in wrong:
        said = m.stderr.strip().splitlines()[-1:] or ["(nothing on stderr)"]
        print(
            f"unexpected exit {m.exit_code} (wanted {m.expected_exit}): {m.contender}, {m.job}: {said[0]}",
            file=sys.stderr,
        )
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
