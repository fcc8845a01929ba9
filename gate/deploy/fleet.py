"""The last step of a deploy: the fleet install of the version, as a poller of the wait loop.

The judging is pure and lives in ``gate.deploy.fleet_state``; this reads the image status and the account's
install jobs, tells the reporter what changed, and says when the install is proven done. The
schedule, the deadline and the last poll before it are the wait loop's (``gate.waiter``).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from gate.client import StatusClient
from gate.clock import Clock
from gate.config import Settings
from gate.deploy.calls import INSTALL_STATUS_PATH, image_status_path
from gate.deploy.fleet_state import (
    Evidence,
    FleetCounts,
    InstallJobs,
    Verdict,
    judge,
    parse_fleet_counts,
    parse_install_jobs,
    readings_text,
)
from gate.durations import format_duration
from gate.ending import Outcome
from gate.kinds import JobKind
from gate.report import Reporter
from gate.result import JobResult
from gate.schedule import PollPolicy
from gate.waiter import Ending


@dataclass
class FleetInstall:
    """The watch of one version's fleet install: a ``gate.waiter.Poller``."""

    client: StatusClient
    settings: Settings
    clock: Clock
    reporter: Reporter
    rng: random.Random
    image_id: int
    version_id: int
    created_here: bool
    max_failed_machines: int
    # The deploy's own clock start (timeouts name the whole deploy's time) and its resume command.
    chain_started: float
    resume: Callable[[], str]
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.label = JobKind.FLEET_INSTALL.label(self.image_id)
        self.path = image_status_path(self.settings.account_service_id, self.image_id)
        self.evidence = Evidence()
        self.counts: FleetCounts | None = None
        self.jobs: InstallJobs | None = None
        self.shown = ""
        self.told: set[Verdict] = set()
        # The install has no progress to aim at: it keeps the schedule's sparse cadence.
        self.policy = PollPolicy(self.settings.poll_interval, self.settings.min_poll_interval)
        self.answers = 0
        self.sent_at = 0.0  # when its last reading started (monotonic)

    def chain_elapsed(self) -> float:
        return self.clock.monotonic() - self.chain_started

    def poll(self, until: float) -> None:
        """Read both; TimedOut when ``until`` cuts a read short."""
        self.sent_at = self.clock.monotonic()
        version_id = self.version_id
        self.counts = self.client.read(self.label, self.path, {}, until, parse_fleet_counts)
        self.jobs = self.client.read(
            self.label, INSTALL_STATUS_PATH, {}, until, lambda body: parse_install_jobs(body, version_id)
        )

    def judge(self, elapsed: float, polls: int) -> Ending | float:
        """Judge both readings and tell what changed; the ending once the install is proven done,
        else the seconds to the next reading."""
        counts, jobs = self.counts, self.jobs
        assert counts is not None and jobs is not None
        self.answers += 1
        self.evidence = self.evidence.seen(counts, jobs)
        verdict = judge(counts, jobs, self.evidence, created_here=self.created_here)
        readings = readings_text(counts, jobs)
        if readings != self.shown:
            elapsed_text = format_duration(self.chain_elapsed())
            self.reporter.progress(f"{self.label}: {readings} · {elapsed_text} elapsed")
            self.shown = readings
        if verdict is Verdict.DONE:
            return self.finished(counts)
        if verdict in (Verdict.UNMARKED, Verdict.NOT_PROVEN) and verdict not in self.told:
            self.told.add(verdict)
            unproven = _unproven_text(verdict, self.version_id)
            self.reporter.progress(f"{self.label}: {unproven}; still watching")
        waited = self.clock.monotonic() - self.sent_at
        return self.policy.from_request(self.policy.cadence(self.answers, self.rng), waited)

    def last_seen(self) -> str:
        return readings_text(self.counts, self.jobs)

    def finished(self, counts: FleetCounts) -> Ending:
        failed = counts.failed
        if failed > self.max_failed_machines:
            return (
                Outcome.FAILED,
                f"{self.label}: {failed} machines failed to install, more than max_failed_machines="
                f"{self.max_failed_machines} ({counts.text})",
            )
        if failed:
            self.warnings.append(f"{self.label}: {failed} disabled machines could not install")
            self.reporter.warning(self.warnings[-1])
        return (
            Outcome.SUCCEEDED,
            f"{self.label}: done ({counts.text}; no install job left for version {self.version_id})",
        )

    def timed_out(self, elapsed: float, detail: str) -> str:
        extra = f"; {detail}" if detail else ""
        if not self.evidence.started:
            why = (
                "the install was never seen (no machine pending, no install job for the version): "
                "it may not have started; check install_at and the image in the Clanforge dashboard"
            )
        else:
            why = "machines may still be installing"
        return (
            f"{self.label}: timed out after {format_duration(self.chain_elapsed())} "
            f"({readings_text(self.counts, self.jobs, named=True)}{extra}); {why}: {self.resume()}"
        )

    def result(self, outcome: Outcome, message: str, polls: int, elapsed: float) -> JobResult:
        counts = self.counts
        total = counts.pending + counts.failed + counts.completed if counts else 0
        return JobResult(
            kind=JobKind.FLEET_INSTALL,
            job_id=self.image_id,
            outcome=outcome,
            message=message,
            state_name=counts.text if counts else None,
            progress=round(100 * (counts.completed + counts.failed) / total) if counts and total else None,
            polls=polls,
            elapsed_seconds=elapsed,
        )


def _unproven_text(verdict: Verdict, version_id: int) -> str:
    if verdict is Verdict.UNMARKED:
        return (
            f"nothing pending, nothing completed and no install job for version {version_id}: "
            "not counted as installed"
        )
    return (
        f"no machine pending and no install job for version {version_id}, but its install was never "
        "seen: the counts may be the previous install's; not counted as installed"
    )
