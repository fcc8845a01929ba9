"""Races: N deploys of one image started at random offsets against one simulator, over seeds.

    python benchmarks/races.py                          # 2, 3 and 5 deploys, 10 seeds, --on-locked wait
    python benchmarks/races.py --runs 3 --seeds 20 --game-id
    python benchmarks/races.py --on-locked fail         # the default setting, for comparison
    python benchmarks/races.py --image 2013 --game-id   # the first update create's answer is lost

Each deploy is ``clanforge-gate deploy`` run in-process (``gate.cli.main``) in a thread of its
own, over real HTTP to one simulator on a loopback port. All of them, and the simulator, read one
``SharedClock``: time moves on only when every run sleeps, so a crowd that would take minutes on
the service takes a second here, and the times below are simulated seconds, as the service would
spend them (the job durations and the poll interval), not this machine's speed.

Per seed, the N deploys start at offsets drawn uniformly from ``[0, --spread]``; the same N
deploys are then run one after another on a fresh simulator, the baseline. Reported per N,
summed over the seeds:

* runs that exited 0 (of all runs), and how many exited otherwise;
* creates accepted: jobs the simulator started (updates, diffs, versions), against 3 per run;
* creates refused as locked (each one sent again later, which is safe: nothing started);
* creates sent twice: a create of one kind sent again by a run after an answer that was not a
  lock refusal, or accepted twice for one run. It must be 0;
* chains interleaved: a run's update accepted before the previous run's version (must be 0);
* the crowd's total time (first start to last end) against the one-after-another baseline's
  (the sum of each deploy's own time).
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gate.cli import main  # noqa: E402
from gate.sim import GAME_ID, Simulator, SimulatorCredentials  # noqa: E402
from gate.sim.shared_clock import SharedClock  # noqa: E402

ACCESS, SECRET, ASID = "race-access-51c2", "race-secret-0d9e7a", "7890"
ENV = {"CLANFORGE_ACCESS_KEY": ACCESS, "CLANFORGE_SECRET_KEY": SECRET}
IMAGE = 2100
KINDS = ("imageupdate", "imagediff", "imageversion")
LOCK_REFUSAL = "image locked by"


@dataclass(frozen=True)
class RaceRun:
    """One deploy of a crowd: its exit code, output and result file, and when it ran."""

    code: int
    stdout: str
    stderr: str
    result: dict[str, object]
    started: float
    ended: float

    def creates(self, kind: str) -> list[str]:
        """The answers to this run's creates of ``kind``, in order."""
        calls = self.result.get("calls", [])
        assert isinstance(calls, list)
        return [c["answer"] for c in calls if f"/cfp/v1/{kind}/create" in c["request"]]

    def sent_twice(self) -> int:
        """Creates of one kind sent again after an answer that was not a lock refusal."""
        twice = 0
        for kind in KINDS:
            answers = self.creates(kind)
            twice += sum(1 for answer in answers[:-1] if LOCK_REFUSAL not in answer)
            twice += max(0, sum(1 for answer in answers if answer.startswith("ok")) - 1)
        return twice

    def refused(self) -> int:
        return sum(1 for kind in KINDS for answer in self.creates(kind) if LOCK_REFUSAL in answer)


def start_simulator(clock: SharedClock, duration: float) -> Simulator:
    sim = Simulator(
        duration=duration,
        credentials=SimulatorCredentials(ACCESS, SECRET, None, source="environment"),
        account_service_id=ASID,
        clock=clock.time,
    )
    sim.start()
    return sim


def deploy_argv(sim: Simulator, image: int, args: Sequence[str], result_file: Path) -> list[str]:
    """The command line of one deploy of ``image`` against ``sim``."""
    return [
        "deploy", "--image-id", str(image), "--machine-id", "5678", "--desc", "race",
        "--restart", "--api-url", sim.base_url, "--account-service-id", ASID,
        "--result-file", str(result_file), *args,
    ]  # fmt: skip


def run_crowd(
    sim: Simulator,
    clock: SharedClock,
    offsets: Sequence[float],
    args: Sequence[str],
    folder: Path,
    image: int = IMAGE,
) -> list[RaceRun]:
    """Start one deploy per offset (simulated seconds from now), all at once; wait for them all."""
    runs: list[RaceRun | None] = [None] * len(offsets)
    origin = clock.monotonic()
    clock.join(len(offsets))

    def one(index: int, offset: float) -> None:
        try:
            clock.sleep(offset)
            result_file = folder / f"result-{id(runs)}-{index}.json"
            out, err = io.StringIO(), io.StringIO()
            started = clock.monotonic() - origin
            code = main(
                deploy_argv(sim, image, args, result_file), env=ENV, stdout=out, stderr=err, clock=clock
            )
            result = json.loads(result_file.read_text(encoding="utf-8")) if result_file.exists() else {}
            runs[index] = RaceRun(
                code, out.getvalue(), err.getvalue(), result, started, clock.monotonic() - origin
            )
        finally:
            clock.leave()

    threads = [threading.Thread(target=one, args=(i, o), daemon=True) for i, o in enumerate(offsets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(run is not None for run in runs), "a deploy thread died without a result"
    return [run for run in runs if run is not None]


def interleaved(sim: Simulator, image: int = IMAGE) -> int:
    """Chains whose update was accepted before the previous chain's version (by creation time)."""
    account = sim.account
    with account.lock:
        jobs = account.created_jobs
        updates = sorted(job.origin for job in jobs["imageupdate"].values() if job.image_id == image)
        versions = sorted(job.origin for job in jobs["imageversion"].values() if job.image_id == image)
    return sum(1 for i in range(1, len(updates)) if i - 1 < len(versions) and updates[i] < versions[i - 1])


@dataclass
class Tally:
    runs: int = 0
    exited_0: int = 0
    accepted: int = 0
    refused: int = 0
    sent_twice: int = 0
    interleaved: int = 0
    crowd_seconds: float = 0.0
    serial_seconds: float = 0.0

    def add_crowd(self, sim: Simulator, runs: list[RaceRun], image: int = IMAGE) -> None:
        self.runs += len(runs)
        self.exited_0 += sum(1 for run in runs if run.code == 0)
        self.accepted += sum(len(sim.created(kind)) for kind in KINDS)
        self.refused += sum(run.refused() for run in runs)
        self.sent_twice += sum(run.sent_twice() for run in runs)
        self.interleaved += interleaved(sim, image)
        self.crowd_seconds += max(run.ended for run in runs) - min(run.started for run in runs)


def one_seed(
    n: int, seed: int, args: Sequence[str], spread: float, duration: float, tally: Tally, image: int = IMAGE
) -> None:
    rng = random.Random(seed)
    offsets = sorted(rng.uniform(0.0, spread) for _ in range(n))
    with tempfile.TemporaryDirectory() as tmp:
        clock = SharedClock()
        sim = start_simulator(clock, duration)
        try:
            tally.add_crowd(sim, run_crowd(sim, clock, offsets, args, Path(tmp), image), image)
        finally:
            sim.stop()
        clock = SharedClock()
        sim = start_simulator(clock, duration)
        try:
            for _ in range(n):
                (run,) = run_crowd(sim, clock, [0.0], args, Path(tmp), image)
                tally.serial_seconds += run.ended
        finally:
            sim.stop()


def report(n: int, seeds: int, tally: Tally) -> str:
    ratio = tally.crowd_seconds / tally.serial_seconds if tally.serial_seconds else float("nan")
    return (
        f"{n:>2} deploys x {seeds} seeds: exited 0 {tally.exited_0}/{tally.runs}; creates accepted "
        f"{tally.accepted} (3 per run: {3 * tally.runs}); refused as locked {tally.refused}; sent twice "
        f"{tally.sent_twice}; chains interleaved {tally.interleaved}; time {tally.crowd_seconds:.0f} s at "
        f"once vs {tally.serial_seconds:.0f} s one after another ({ratio:.2f})"
    )


def main_(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--runs", type=int, action="append", help="deploys at once (repeatable; default 2, 3, 5)"
    )
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--spread", type=float, default=20.0, help="offsets drawn from [0, spread] seconds")
    parser.add_argument("--duration", type=float, default=12.0, help="each simulated job's duration, seconds")
    parser.add_argument("--poll-interval", default="5s")
    parser.add_argument("--on-locked", default="wait", choices=("wait", "fail"))
    parser.add_argument("--game-id", action="store_true", help=f"give --game-id {GAME_ID} (read the lock)")
    parser.add_argument("--image", type=int, default=IMAGE, help="image to deploy (a deploy scenario's id)")
    options = parser.parse_args(argv)
    args = ["--on-locked", options.on_locked, "--poll-interval", options.poll_interval, "--timeout", "1h"]
    if options.game_id:
        args += ["--game-id", str(GAME_ID)]
    print(
        f"deploy --image-id {options.image} {' '.join(args)}; job duration {options.duration:g} s; "
        f"offsets in [0, {options.spread:g}] s"
    )
    failed = False
    for n in options.runs or [2, 3, 5]:
        tally = Tally()
        for seed in range(options.seeds):
            one_seed(n, seed, args, options.spread, options.duration, tally, options.image)
        print(report(n, options.seeds, tally), flush=True)
        failed = failed or tally.sent_twice > 0
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main_())
