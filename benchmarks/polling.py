"""Replay synthetic image update jobs on a simulated clock and compare polling strategies.

    python benchmarks/polling.py                 # 12,000 jobs, seed 1, table + floors + plot
    python benchmarks/polling.py --jobs 2000 --report-only --no-plot

No network and no real sleeping: each strategy is asked for its poll times and the job model
answers what the API would have said at that moment. For every strategy and every job the run
records the detection delay (first poll that sees the final state, minus the moment the job
ended) and the number of requests. The floors of the adaptive schedule are checked at the end;
the exit status is 1 when one fails (``--report-only`` always exits 0).
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gate.job import JobStatus  # noqa: E402
from gate.schedule import Observation, PollPolicy, next_delay  # noqa: E402

ETA_CLASSES = ("accurate", "noisy", "late", "absent")
EPOCH = 1_760_000_000.0  # an arbitrary unix time, so jobeta and jobupdated look like the real thing
MIN_DURATION = 60.0
MAX_DURATION = 7200.0
FAILURE_SHARE = 0.1
ETA_SLIP = 60  # a "late, moving" ETA is pushed this far each time it passes
BACKOFF_START = 1.0
BACKOFF_CAP = 60.0
DEFAULT_PLOT = ROOT / "docs" / "polling-benchmark.png"


@dataclass(frozen=True)
class SimJob:
    """One synthetic image update job, and when the gate first asks about it."""

    created: float
    duration: float
    ends_at: float  # the moment the job reaches its final state
    fails: bool
    eta_class: str
    eta_moves: bool  # late class only: the server keeps pushing a passed ETA forward
    progress_moves: bool
    shape: float  # progress is 100 * x ** shape of the elapsed fraction x
    first_eta: int | None
    first_poll: float

    def eta_at(self, t: float) -> int | None:
        if self.first_eta is None:
            return None
        if self.eta_moves and t >= self.first_eta:
            slips = math.floor((t - self.first_eta) / ETA_SLIP) + 1
            return self.first_eta + slips * ETA_SLIP
        return self.first_eta

    def progress_at(self, t: float) -> int:
        if not self.progress_moves:
            return 0
        fraction = min(1.0, max(0.0, (t - self.created) / self.duration))
        return min(99, math.floor(100 * float(fraction**self.shape)))

    def updated_at(self, t: float, progress: int, eta: int | None) -> int:
        """jobupdated: the last change of progress or ETA, in whole seconds."""
        changed = self.created
        if progress > 0:
            reached = float((progress / 100) ** (1 / self.shape))
            changed = max(changed, self.created + self.duration * reached)
        if self.eta_moves and self.first_eta is not None and eta is not None and eta != self.first_eta:
            changed = max(changed, float(eta - ETA_SLIP))
        return math.floor(changed)


def make_jobs(count: int, seed: int) -> list[SimJob]:
    """Jobs with log-uniform durations (1 min .. 2 h), an even mix of ETA classes."""
    rng = random.Random(seed)
    jobs = []
    for index in range(count):
        created = EPOCH + rng.uniform(0, 86_400)
        duration = math.exp(rng.uniform(math.log(MIN_DURATION), math.log(MAX_DURATION)))
        fails = rng.random() < FAILURE_SHARE
        ends_at = created + (rng.uniform(0.02, 0.98) * duration if fails else duration)
        eta_class = ETA_CLASSES[index % len(ETA_CLASSES)]
        eta_moves = False
        first_eta: int | None
        if eta_class == "accurate":
            first_eta = round(created + duration)
        elif eta_class == "noisy":
            first_eta = round(created + duration * rng.uniform(0.7, 1.3))
        elif eta_class == "late":
            first_eta = round(created + duration * rng.uniform(0.5, 0.95))
            eta_moves = rng.random() < 0.5
        else:
            first_eta = None
        jobs.append(
            SimJob(
                created=created,
                duration=duration,
                ends_at=ends_at,
                fails=fails,
                eta_class=eta_class,
                eta_moves=eta_moves,
                progress_moves=rng.random() < 0.5,
                shape=rng.uniform(0.8, 1.25),
                first_eta=first_eta,
                first_poll=created + rng.uniform(0.2, 3.0),
            )
        )
    return jobs


@dataclass(frozen=True)
class Run:
    """What one strategy did for one job."""

    delay: float
    requests: int
    polls: tuple[float, ...] = ()  # kept only when asked for (tests)


Strategy = Callable[[SimJob, bool], Run]


def fixed(interval: float) -> Strategy:
    """Poll at the start, then every ``interval`` seconds."""

    def run(job: SimJob, keep: bool) -> Run:
        steps = max(0, math.ceil((job.ends_at - job.first_poll) / interval))
        if job.first_poll + steps * interval < job.ends_at:  # float rounding
            steps += 1
        polls = tuple(job.first_poll + k * interval for k in range(steps + 1)) if keep else ()
        return Run(job.first_poll + steps * interval - job.ends_at, steps + 1, polls)

    return run


def exponential(start: float = BACKOFF_START, cap: float = BACKOFF_CAP) -> Strategy:
    """Plain exponential backoff: 1 s, 2 s, 4 s ... capped."""

    def run(job: SimJob, keep: bool) -> Run:
        t, wait, requests = job.first_poll, start, 1
        polls = [t]
        while t < job.ends_at:
            t += wait
            wait = min(cap, wait * 2)
            requests += 1
            if keep:
                polls.append(t)
        return Run(t - job.ends_at, requests, tuple(polls) if keep else ())

    return run


def adaptive(policy: PollPolicy, seed: int) -> Strategy:
    """gate.schedule.next_delay, fed the statuses the job model gives."""
    rng = random.Random(seed)

    def run(job: SimJob, keep: bool) -> Run:
        t = job.first_poll
        history: list[Observation] = []
        polls = [t]
        status: JobStatus | None = None
        key: tuple[int, int | None, int] | None = None
        while t < job.ends_at:
            progress = job.progress_at(t)
            eta = job.eta_at(t)
            updated = job.updated_at(t, progress, eta)
            if (progress, eta, updated) != key or status is None:
                key = (progress, eta, updated)
                status = JobStatus(
                    state_id=4,
                    state_name="Running",
                    progress=progress,
                    eta=eta,
                    failed=0,
                    error=None,
                    created=math.floor(job.created),
                    updated=updated,
                )
            history.append(Observation(t, status))
            t += next_delay(history, t, policy, rng)
            if keep:
                polls.append(t)
        return Run(t - job.ends_at, len(history) + 1, tuple(polls) if keep else ())

    return run


def strategies(seed: int) -> dict[str, Strategy]:
    return {
        "fixed 10s": fixed(10.0),
        "fixed 15s": fixed(15.0),
        "fixed 30s": fixed(30.0),
        "exp backoff 1s..60s": exponential(),
        "adaptive P=10s": adaptive(PollPolicy(poll_interval=10.0, min_poll_interval=1.0), seed),
        "adaptive P=30s": adaptive(PollPolicy(poll_interval=30.0, min_poll_interval=1.0), seed + 1),
    }


@dataclass
class Tally:
    """Delays and requests of one strategy over a group of jobs."""

    success: list[float] = field(default_factory=list)
    failure: list[float] = field(default_factory=list)
    requests: list[int] = field(default_factory=list)

    def add(self, job: SimJob, run: Run) -> None:
        (self.failure if job.fails else self.success).append(run.delay)
        self.requests.append(run.requests)


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def quantile(values: Sequence[float], q: float) -> float:
    """Nearest-rank quantile."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def simulate(jobs: Iterable[SimJob], chosen: dict[str, Strategy]) -> dict[str, dict[str, Tally]]:
    """Run every strategy over every job; tallies by strategy, then by ETA class and 'all'."""
    tallies = {name: {group: Tally() for group in ("all", *ETA_CLASSES)} for name in chosen}
    for job in jobs:
        for name, strategy in chosen.items():
            run = strategy(job, False)
            tallies[name]["all"].add(job, run)
            tallies[name][job.eta_class].add(job, run)
    return tallies


def format_table(tallies: dict[str, dict[str, Tally]]) -> str:
    header = (
        f"{'strategy':<20} {'ETA':<9} {'jobs':>5} {'ok mean':>8} {'ok med':>7} {'ok p95':>7} "
        f"{'fail mean':>9} {'fail p95':>8} {'req/job':>8}"
    )
    lines = [header, "-" * len(header)]
    for group in ("all", *ETA_CLASSES):
        for name, by_group in tallies.items():
            tally = by_group[group]
            lines.append(
                f"{name:<20} {group:<9} {len(tally.requests):>5} {mean(tally.success):>8.2f} "
                f"{quantile(tally.success, 0.5):>7.2f} {quantile(tally.success, 0.95):>7.2f} "
                f"{mean(tally.failure):>9.2f} {quantile(tally.failure, 0.95):>8.2f} "
                f"{mean(tally.requests):>8.1f}"
            )
        lines.append("")
    return "\n".join(lines)


@dataclass(frozen=True)
class Floor:
    name: str
    passed: bool
    detail: str


def check_floors(tallies: dict[str, dict[str, Tally]]) -> list[Floor]:
    """The floors of the adaptive schedule against the fixed loop at the same interval."""
    floors = []
    for interval in (10, 30):
        ours, loop = tallies[f"adaptive P={interval}s"], tallies[f"fixed {interval}s"]
        for group in ETA_CLASSES:
            extra = mean(ours[group].requests) - mean(loop[group].requests)
            if group == "accurate":
                median = quantile(ours[group].success, 0.5)
                floors.append(
                    Floor(
                        f"P={interval}s accurate ETA: median success delay <= 1 s",
                        median <= 1.0,
                        f"{median:.2f} s (fixed loop {quantile(loop[group].success, 0.5):.2f} s)",
                    )
                )
            else:
                ours_mean, loop_mean = mean(ours[group].success), mean(loop[group].success)
                floors.append(
                    Floor(
                        f"P={interval}s {group} ETA: mean success delay <= fixed loop's",
                        ours_mean <= loop_mean,
                        f"{ours_mean:.2f} s vs {loop_mean:.2f} s (ratio {ours_mean / loop_mean:.2f})",
                    )
                )
            floors.append(
                Floor(
                    f"P={interval}s {group} ETA: requests/job <= fixed loop's + 3",
                    extra <= 3.0,
                    f"{mean(ours[group].requests):.1f} vs {mean(loop[group].requests):.1f} ({extra:+.2f})",
                )
            )
        p95 = quantile(ours["all"].failure, 0.95)
        floors.append(
            Floor(
                f"P={interval}s failures: p95 detection delay <= {interval} s",
                p95 <= interval,
                f"{p95:.2f} s (fixed loop {quantile(loop['all'].failure, 0.95):.2f} s)",
            )
        )
    return floors


def write_plot(tallies: dict[str, dict[str, Tally]], path: Path) -> bool:
    """Mean detection delay against requests per job, one point per strategy; False without matplotlib."""
    try:
        import matplotlib
        import matplotlib.ticker

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    figure, axes = plt.subplots(figsize=(8, 5), dpi=110)
    for name, by_group in tallies.items():
        tally = by_group["all"]
        requests = mean(tally.requests)
        ok, fail = mean(tally.success), quantile(tally.failure, 0.95)
        marker = "*" if name.startswith("adaptive") else "o"
        points = axes.scatter([requests], [ok], s=140 if marker == "*" else 60, marker=marker, zorder=3)
        axes.scatter([requests], [fail], marker="x", color=points.get_facecolor()[0], zorder=3)
        axes.plot([requests, requests], [ok, fail], color=points.get_facecolor()[0], alpha=0.3)
        axes.annotate(name, (requests, ok), textcoords="offset points", xytext=(7, -4), fontsize=9)
    axes.set_yscale("log")
    axes.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    axes.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    axes.set_yticks([0.5, 1, 2, 5, 10, 15, 30, 60])
    axes.set_xlabel("API requests per job (mean)")
    axes.set_ylabel("detection delay, seconds (log)")
    axes.set_title("Polling strategies: mean success delay (dot/star), failure p95 (x)")
    axes.grid(True, which="both", alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return True


def sweep(jobs: Sequence[SimJob], seed: int) -> str:
    """Adaptive schedules over a grid of (poll_interval, min_poll_interval), each against the
    fixed loop at the same poll_interval: the table the defaults are chosen from."""
    header = (
        f"{'P':>4} {'min':>4} {'ok mean':>8} {'ok med':>7} {'fail p95':>8} {'req/job':>8} "
        f"{'loop ok mean':>12} {'loop req/job':>12} {'extra req':>9}"
    )
    lines = [header, "-" * len(header)]
    for interval in (5.0, 10.0, 15.0, 30.0, 60.0):
        loop = simulate(jobs, {"loop": fixed(interval)})["loop"]["all"]
        for floor in (0.5, 1.0, 2.0):
            policy = PollPolicy(poll_interval=interval, min_poll_interval=floor)
            ours = simulate(jobs, {"ours": adaptive(policy, seed)})["ours"]["all"]
            lines.append(
                f"{interval:>4.0f} {floor:>4.1f} {mean(ours.success):>8.2f} "
                f"{quantile(ours.success, 0.5):>7.2f} {quantile(ours.failure, 0.95):>8.2f} "
                f"{mean(ours.requests):>8.1f} {mean(loop.success):>12.2f} {mean(loop.requests):>12.1f} "
                f"{mean(ours.requests) - mean(loop.requests):>+9.2f}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--jobs", type=int, default=12_000, help="synthetic jobs to replay (default 12000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--plot", type=Path, default=DEFAULT_PLOT, help="PNG to write")
    parser.add_argument("--no-plot", action="store_true", help="do not write the PNG")
    parser.add_argument("--report-only", action="store_true", help="exit 0 even when a floor fails")
    parser.add_argument(
        "--sweep",
        action="store_true",
        help="instead: adaptive over a grid of poll/min intervals (try --jobs 3000)",
    )
    args = parser.parse_args(argv)

    jobs = make_jobs(args.jobs, args.seed)
    if args.sweep:
        print(f"{len(jobs)} synthetic jobs, seed {args.seed}; delays in seconds\n")
        print(sweep(jobs, args.seed))
        return 0
    tallies = simulate(jobs, strategies(args.seed))
    print(f"{len(jobs)} synthetic jobs, seed {args.seed}; delays in seconds\n")
    print(format_table(tallies))
    floors = check_floors(tallies)
    print("floors (adaptive at P against the fixed loop at P):")
    for floor in floors:
        print(f"  {'PASS' if floor.passed else 'FAIL'}  {floor.name}: {floor.detail}")
    if not args.no_plot:
        if write_plot(tallies, args.plot):
            shown = args.plot.relative_to(ROOT) if args.plot.is_relative_to(ROOT) else args.plot
            print(f"\nplot written to {shown}")
        else:
            print("\nmatplotlib is not installed (pip install -e '.[bench]'); no plot written")
    failed = [floor for floor in floors if not floor.passed]
    if failed and not args.report_only:
        print(f"\n{len(failed)} floor(s) failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
