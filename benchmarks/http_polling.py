"""The gate against a hand-written curl-and-sleep loop, over real HTTP on the local simulator.

    python benchmarks/http_polling.py              # 36 jobs x 4 waiters, a many-ids run, herds
    python benchmarks/http_polling.py --jobs 12    # a quicker, rougher run

One simulator on a loopback port serves image update jobs whose start and end are fixed in
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

The jobs (a third of each kind: success with ETA and progress, no ETA and no progress, failure)
end at random moments 40-100 s after they are created (seeded), so an end falls at a random phase
of any waiter's interval and no waiter is lucky by construction. The mean delays come with a 95 %
confidence interval (bootstrap over the jobs, paired: every waiter saw the same jobs).

Two more runs:

* many ids: one gate waits on 50 ids that all end at the same moment; the median detection delay
  over the ids, and the longest time between two polls of one id;
* herds: gates started together on jobs that run on (with an ETA, and without), and where their
  polls fall within the interval after a few rounds (phase spread: circular standard deviation).

Start-up is also compared with ``python -c pass`` on the same machine.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import platform
import random
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
STAGGER = 1.5
DEFAULT_JOBS = 36
SEED = 1
EARLIEST_END = 40.0
LATEST_END = 100.0
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


def make_jobs(count: int = DEFAULT_JOBS, seed: int = SEED) -> tuple[JobSpec, ...]:
    """``count`` jobs, the kinds in turn, each ending at a random moment 40-100 s after creation."""
    rng = random.Random(seed)
    return tuple(
        JobSpec(
            KINDS[k % len(KINDS)][0],
            KINDS[k % len(KINDS)][1],
            round(rng.uniform(EARLIEST_END, LATEST_END), 3),
        )
        for k in range(count)
    )


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
        arrived = time.time()  # this machine's clock, whatever the server's says
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
    clock_offset: float = 0.0,
) -> list[Measure]:
    """Run every contender on every job, all at once; measure each. ``clock_offset``: how far the
    simulator's clock is ahead of this machine's (behind: negative)."""
    token = token if token is not None else secrets.token_urlsafe(24)
    child_env = child_environment(os.environ if env is None else env, token)
    simulator = RecordingSimulator(
        credentials=SimulatorCredentials(token=token, source="benchmark"),
        account_service_id=ASID,
        clock_offset=clock_offset,
    )
    base_url = simulator.start()
    try:
        start = time.time() + 0.5
        watches: list[_Watch] = []
        for j, job in enumerate(jobs):
            origin = start + j * stagger
            for c, contender in enumerate(contenders):
                update_id = FIRST_ID + 10 * j + c
                # The plan's origin is on the simulator's clock; the watch's on ours.
                there = origin + clock_offset
                simulator.plan_job(update_id, scenario=job.scenario, duration=job.duration, origin=there)
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


def bootstrap_ratio(
    mine: Sequence[float], theirs: Sequence[float], rounds: int = 2000, seed: int = 7
) -> tuple[float, float, float]:
    """The ratio of two means over the same jobs, and its 95 % bootstrap interval (paired resampling)."""
    rng = random.Random(seed)
    count = len(mine)
    ratio = statistics.mean(mine) / statistics.mean(theirs)
    ratios = []
    for _ in range(rounds):
        picks = [rng.randrange(count) for _ in range(count)]
        total = sum(theirs[k] for k in picks)
        if total > 0:
            ratios.append(sum(mine[k] for k in picks) / total)
    ratios.sort()
    return ratio, ratios[int(0.025 * len(ratios))], ratios[int(0.975 * len(ratios)) - 1]


def mean_interval(values: Sequence[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95 % interval (normal approximation)."""
    if len(values) < 2:
        return statistics.mean(values), math.nan
    return statistics.mean(values), 1.96 * statistics.stdev(values) / math.sqrt(len(values))


def format_ratios(measures: Sequence[Measure]) -> str:
    """Each gate against each loop over the same jobs: mean delay ratio (95 % interval), requests."""
    by_waiter: dict[str, list[Measure]] = {}
    for m in measures:
        by_waiter.setdefault(m.contender, []).append(m)
    gates = [name for name, ms in by_waiter.items() if ms[0].kind == "gate"]
    loops = [name for name, ms in by_waiter.items() if ms[0].kind == "curl"]
    lines = []
    for gate in gates:
        for loop in loops:
            mine, theirs = by_waiter[gate], by_waiter[loop]
            ratio, low, high = bootstrap_ratio([m.delay for m in mine], [m.delay for m in theirs])
            extra = statistics.mean(a.requests - b.requests for a, b in zip(mine, theirs, strict=True))
            lines.append(
                f"{gate} vs {loop}: mean delay {ratio:.2f}x (95 % interval {low:.2f}-{high:.2f}x), "
                f"requests {extra:+.1f} per job"
            )
    return "\n".join(lines)


def format_by_kind_ratios(measures: Sequence[Measure]) -> str:
    """Per kind of job: each gate's mean delay against the loop at its own interval, with intervals."""
    lines = []
    for kind in dict.fromkeys(m.job for m in measures):
        for gate_name, loop_name in (
            ("gate, P = 10 s", "curl + sleep 10"),
            ("gate, P = 30 s", "curl + sleep 30"),
        ):
            mine = [m.delay for m in measures if m.contender == gate_name and m.job == kind]
            theirs = [m.delay for m in measures if m.contender == loop_name and m.job == kind]
            if not mine or not theirs:
                continue
            ratio, low, high = bootstrap_ratio(mine, theirs)
            (g, gw), (lo, lw) = mean_interval(mine), mean_interval(theirs)
            lines.append(
                f"{kind:<20} {gate_name}: {g:.2f} +- {gw:.2f} s vs {lo:.2f} +- {lw:.2f} s, "
                f"ratio {ratio:.2f}x ({low:.2f}-{high:.2f}x)"
            )
    return "\n".join(lines)


# --------------------------------------------------------------------------- many ids, herds, start-up


def _gate_argv(base_url: str, ids: str, interval: float, timeout: float) -> list[str]:
    return [
        sys.executable, "-m", "gate", "wait",
        "--update-id", ids,
        "--account-service-id", ASID,
        "--api-url", base_url,
        "--timeout", f"{timeout:g}s",
        "--poll-interval", f"{interval:g}s",
        "--quiet",
    ]  # fmt: skip


def circular_spread(phases: Sequence[float], interval: float) -> float:
    """Circular standard deviation of phases on an interval, in seconds (0: all in lockstep)."""
    angles = [2 * math.pi * p / interval for p in phases]
    c = statistics.mean(math.cos(a) for a in angles)
    s = statistics.mean(math.sin(a) for a in angles)
    length = min(1.0, math.hypot(c, s))
    if length <= 1e-12:
        return interval
    return interval * math.sqrt(-2 * math.log(length)) / (2 * math.pi)


@dataclass(frozen=True)
class ManyIdsMeasure:
    ids: int
    interval: float
    exit_code: int | None
    median_seen: float  # over the ids: first request at or after the end, minus the end
    max_seen: float
    longest_gap: float  # longest time between two requests for one id
    requests_per_id: float
    loop_requests_per_id: float  # a loop at the same interval from the same first request


def many_ids_run(
    count: int = 50, interval: float = 10.0, end: float = 45.0, token: str | None = None
) -> ManyIdsMeasure:
    """One gate waiting on ``count`` ids that all end ``end`` seconds after it starts."""
    token = token if token is not None else secrets.token_urlsafe(24)
    env = child_environment(os.environ, token)
    simulator = RecordingSimulator(
        credentials=SimulatorCredentials(token=token, source="benchmark"), account_service_id=ASID
    )
    base_url = simulator.start()
    try:
        origin = time.time() + 0.2
        spec = JobSpec("success", Scenario.SUCCESS, end)
        ids = [5000 + k for k in range(count)]
        for update_id in ids:
            simulator.plan_job(update_id, scenario=spec.scenario, duration=spec.duration, origin=origin)
        time.sleep(max(0.0, origin - time.time()))
        argv = _gate_argv(base_url, ",".join(map(str, ids)), interval, end + 3 * interval + 30)
        done = subprocess.run(
            argv, env={**env, "PYTHONPATH": str(ROOT)}, cwd=ROOT, capture_output=True, text=True, check=False,
            timeout=end + 4 * interval + 60,
        )  # fmt: skip
        seen, gaps, requests, loop = [], [0.0], [], []
        for update_id in ids:
            arrivals = simulator.arrivals(update_id)
            after = [t for t in arrivals if t >= origin + end]
            seen.append(after[0] - (origin + end) if after else math.inf)
            gaps.extend(b - a for a, b in itertools.pairwise(arrivals))
            requests.append(len(arrivals))
            loop.append(1 + math.ceil((origin + end - arrivals[0]) / interval) if arrivals else 0)
        return ManyIdsMeasure(
            count,
            interval,
            done.returncode,
            statistics.median(seen),
            max(seen),
            max(gaps),
            statistics.mean(requests),
            statistics.mean(loop),
        )
    finally:
        simulator.stop()


def herd_run(
    gates: int = 20, interval: float = 10.0, with_eta: bool = True, token: str | None = None
) -> float:
    """Phase spread (s) of ``gates`` gates started together on long jobs, after four intervals."""
    token = token if token is not None else secrets.token_urlsafe(24)
    env = {**child_environment(os.environ, token), "PYTHONPATH": str(ROOT)}
    simulator = RecordingSimulator(
        credentials=SimulatorCredentials(token=token, source="benchmark"), account_service_id=ASID
    )
    base_url = simulator.start()
    scenario = Scenario.SUCCESS if with_eta else Scenario.NO_ETA
    spec = JobSpec("herd", scenario, 3600.0)
    processes = []
    try:
        origin = time.time() + 0.3
        ids = [6000 + k for k in range(gates)]
        for update_id in ids:
            simulator.plan_job(update_id, scenario=scenario, duration=spec.duration, origin=origin)
        time.sleep(max(0.0, origin - time.time()))
        for update_id in ids:
            argv = _gate_argv(base_url, str(update_id), interval, 3600)
            processes.append(
                subprocess.Popen(
                    argv,
                    env=env,
                    cwd=ROOT,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        time.sleep(5 * interval + 1)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        simulator.stop()
    phases = []
    for update_id in ids:
        arrivals = simulator.arrivals(update_id)
        target = origin + 4 * interval
        nearest = min(arrivals, key=lambda t: abs(t - target))
        phases.append((nearest - origin) % interval)
    return circular_spread(phases, interval)


def gate_startup(runs: int = 7, token: str | None = None) -> float:
    """Median seconds from spawning ``python -m gate wait`` to its first request, one at a time."""
    token = token if token is not None else secrets.token_urlsafe(24)
    env = {**child_environment(os.environ, token), "PYTHONPATH": str(ROOT)}
    simulator = RecordingSimulator(
        credentials=SimulatorCredentials(token=token, source="benchmark"), account_service_id=ASID
    )
    base_url = simulator.start()
    times = []
    try:
        for k in range(runs):
            update_id = 7000 + k
            simulator.plan_job(update_id, scenario=Scenario.SUCCESS, duration=600.0, origin=time.time())
            argv = _gate_argv(base_url, str(update_id), 10.0, 60)
            spawned = time.time()
            process = subprocess.Popen(
                argv, env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            while not simulator.arrivals(update_id) and time.time() - spawned < 30:
                time.sleep(0.002)
            arrivals = simulator.arrivals(update_id)
            process.terminate()
            process.wait(timeout=30)
            if arrivals:
                times.append(arrivals[0] - spawned)
    finally:
        simulator.stop()
    return statistics.median(times) if times else math.nan


def python_startup(runs: int = 7) -> float:
    """Median seconds from spawning ``python -c pass`` to its exit."""
    return statistics.median(_spawned_until_exit([sys.executable, "-c", "pass"]) for _ in range(runs))


def _spawned_until_exit(argv: Sequence[str], env: Mapping[str, str] | None = None) -> float:
    began = time.time()
    subprocess.run(argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.time() - began


@dataclass(frozen=True)
class Startup:
    """Start-up, medians of one process at a time, against ``python -c "import requests"``."""

    runs: int
    import_requests: float  # spawn to exit of python -c "import requests"
    bare: float  # spawn to exit of python -c pass
    version: float  # spawn to exit of python -m gate --version
    help: float  # spawn to exit of python -m gate --help
    first_request: float  # spawn of python -m gate wait to its first request at the simulator

    def lines(self) -> list[str]:
        base = self.import_requests
        return [
            f"start-up, one process at a time (medians of {self.runs}, taken in turn):",
            f'  python -c "import requests", spawn to exit: {base * 1000:.0f} ms (python -c pass: '
            f"{self.bare * 1000:.0f} ms)",
            f"  gate wait, spawn to its first request: {self.first_request * 1000:.0f} ms = "
            f"{self.first_request / base:.2f}x (goal: at most {FIRST_REQUEST_GOAL}x)",
            f"  gate --version, spawn to exit: {self.version * 1000:.0f} ms = {self.version / base:.2f}x "
            f"(goal: below 1x)",
            f"  gate --help, spawn to exit: {self.help * 1000:.0f} ms = {self.help / base:.2f}x "
            "(goal: below 1x)",
        ]

    @property
    def goals_met(self) -> bool:
        base = self.import_requests
        return self.first_request <= FIRST_REQUEST_GOAL * base and max(self.version, self.help) < base


FIRST_REQUEST_GOAL = 1.6  # the first status request of a wait, against importing requests


def startup(runs: int = 7) -> Startup:
    """Each start-up measured ``runs`` times in turn (so a busy moment weighs on all alike)."""
    env = {**child_environment(os.environ, "unused"), "PYTHONPATH": str(ROOT)}
    gate = [sys.executable, "-m", "gate"]
    taken: dict[str, list[float]] = {"requests": [], "pass": [], "version": [], "help": [], "first": []}
    for _ in range(runs):
        taken["requests"].append(_spawned_until_exit([sys.executable, "-c", "import requests"], env))
        taken["pass"].append(_spawned_until_exit([sys.executable, "-c", "pass"], env))
        taken["version"].append(_spawned_until_exit([*gate, "--version"], env))
        taken["help"].append(_spawned_until_exit([*gate, "--help"], env))
        taken["first"].append(gate_startup(runs=1))
    m = {name: statistics.median(values) for name, values in taken.items()}
    return Startup(runs, m["requests"], m["pass"], m["version"], m["help"], m["first"])


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


def extra_runs() -> None:
    """The many-ids runs and the herds, printed as they finish."""
    for interval in (10.0, 30.0):
        many = many_ids_run(50, interval)
        print(
            f"50 ids ending together, P = {interval:g} s: exit {many.exit_code}, median detection "
            f"{many.median_seen:.2f} s (max {many.max_seen:.2f} s), longest gap between two polls "
            f"of an id {many.longest_gap:.2f} s, {many.requests_per_id:.1f} requests per id "
            f"(a loop: {many.loop_requests_per_id:.1f})",
            flush=True,
        )
    for with_eta in (True, False):
        spread = herd_run(20, 10.0, with_eta)
        label = "with an ETA" if with_eta else "no ETA"
        print(f"20 gates started together, {label}, P = 10 s: phase spread {spread:.2f} s", flush=True)


SKEW_OFFSETS = (-300.0, 0.0, 300.0)
SKEW_JOBS = 12
SKEW_CONTENDERS = (CONTENDERS[0], CONTENDERS[1])  # the gate and the loop at 10 s


def skew_runs(seed: int = SEED, count: int = SKEW_JOBS) -> bool:
    """The same jobs (with ETA and progress) on a server whose clock is 300 s behind, right, and
    300 s ahead, the three at once; the gate and the loop at 10 s on each. True when every
    waiter exited as it should."""
    jobs = tuple(JobSpec("success", Scenario.SUCCESS, job.end) for job in make_jobs(count, seed + 1))
    results: dict[float, list[Measure]] = {}

    def one(offset: float) -> None:
        results[offset] = run(jobs, SKEW_CONTENDERS, clock_offset=offset)

    threads = [threading.Thread(target=one, args=(offset,)) for offset in SKEW_OFFSETS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(f"{count} jobs with ETA and progress, the server's clock off by 300 s either way, P = 10 s:")
    for offset in SKEW_OFFSETS:
        measures = results[offset]
        mine = [m.delay for m in measures if m.kind == "gate"]
        theirs = [m.delay for m in measures if m.kind == "curl"]
        ratio, low, high = bootstrap_ratio(mine, theirs)
        extra = statistics.mean(
            a.requests - b.requests
            for a, b in zip(
                [m for m in measures if m.kind == "gate"],
                [m for m in measures if m.kind == "curl"],
                strict=True,
            )
        )
        where = "right" if offset == 0 else f"{abs(offset):g} s {'ahead' if offset > 0 else 'behind'}"
        print(
            f"  server clock {where}: gate mean {statistics.mean(mine):.2f} s, median "
            f"{statistics.median(mine):.2f} s, max {max(mine):.2f} s; "
            f"loop mean {statistics.mean(theirs):.2f} s; "
            f"ratio {ratio:.2f}x ({low:.2f}-{high:.2f}x); requests {extra:+.1f} per job",
            flush=True,
        )
    return not any(wrong_exits(measures) for measures in results.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--jobs", type=int, default=DEFAULT_JOBS, help=f"jobs (default {DEFAULT_JOBS})")
    parser.add_argument("--seed", type=int, default=SEED, help=f"where the jobs end (default {SEED})")
    parser.add_argument("--no-extra", action="store_true", help="skip the many-ids and herd runs")
    parser.add_argument(
        "--startup-only", action="store_true", help="only measure start-up, one process at a time"
    )
    parser.add_argument("--extra-only", action="store_true", help="only the many-ids and herd runs")
    parser.add_argument(
        "--skew-only",
        action="store_true",
        help="only the runs with the server's clock 300 s behind and ahead",
    )
    args = parser.parse_args(argv)
    if args.startup_only:
        measured = startup()
        print("\n".join(measured.lines()))
        return 0 if measured.goals_met else 1
    if args.skew_only:
        return 0 if skew_runs(args.seed) else 1
    missing = [name for name in ("bash", "curl") if shutil.which(name) is None]
    if missing:
        print(f"this benchmark needs {' and '.join(missing)} on PATH", file=sys.stderr)
        return 2
    if args.extra_only:
        extra_runs()
        return 0
    jobs = make_jobs(args.jobs, args.seed)
    slowest = max(c.interval for c in CONTENDERS)
    longest = max(j * STAGGER + job.end for j, job in enumerate(jobs)) + slowest
    print(f"{len(jobs)} jobs x {len(CONTENDERS)} waiters on {machine()}")
    print(f"at most about {longest:.0f} s of wall-clock time ...", flush=True)
    began = time.monotonic()
    measures = run(jobs)
    print()
    print(format_table(measures))
    print()
    summaries = summarize(measures)
    print(format_summary(summaries, len(jobs)))
    print()
    print(format_by_job_kind(measures))
    print()
    print(format_ratios(measures))
    print()
    print(format_by_kind_ratios(measures))
    gate_startups = [m.startup for m in measures if m.kind == "gate" and m.startup is not None]
    if gate_startups:
        print(
            "\nstart-up during the run (all waiters at once): "
            f"gate {statistics.median(gate_startups) * 1000:.0f} ms"
        )
    measured = startup()
    print("\n".join(measured.lines()))
    skewed_ok = True
    if not args.no_extra:
        print()
        extra_runs()
        print()
        skewed_ok = skew_runs(args.seed)
    print(f"\nwall-clock time: {time.monotonic() - began:.0f} s")
    wrong = wrong_exits(measures)
    for m in wrong:
        said = m.stderr.strip().splitlines()[-1:] or ["(nothing on stderr)"]
        print(
            f"unexpected exit {m.exit_code} (wanted {m.expected_exit}): {m.contender}, {m.job}: {said[0]}",
            file=sys.stderr,
        )
    return 1 if wrong or not skewed_ok else 0


if __name__ == "__main__":
    sys.exit(main())
