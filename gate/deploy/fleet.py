"""The last step of a deploy: watch the fleet install of the version until it is proven done.

The judging is pure and lives in ``gate.install``; this is the shell that reads the image status
and the account's install jobs, tells the reporter what changed, and ends in a ``JobResult``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from gate.client import StatusClient
from gate.clock import Clock
from gate.config import Settings, format_duration
from gate.deploy.calls import INSTALL_STATUS_PATH, image_status_path
from gate.ending import Outcome
from gate.errors import TimedOut
from gate.install import (
    Evidence,
    FleetCounts,
    InstallJobs,
    Verdict,
    judge,
    parse_fleet_counts,
    parse_install_jobs,
    readings_text,
)
from gate.kinds import JobKind
from gate.report import Reporter
from gate.result import JobResult


@dataclass
class FleetInstall:
    """The watch of one version's fleet install; ``run`` polls until both readings prove it done."""

    client: StatusClient
    settings: Settings
    clock: Clock
    reporter: Reporter
    rng: random.Random
    image_id: int
    version_id: int
    created_here: bool
    max_failed_machines: int
    deadline: float
    # The deploy's own clock start (timeouts name the whole deploy's time) and its resume command.
    chain_started: float
    resume: Callable[[], str]
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.label = JobKind.FLEET_INSTALL.label(self.image_id)
        self.path = image_status_path(self.settings.account_service_id, self.image_id)
        # Like every other step's, the install's time is its own, not the chain's so far.
        self.started = self.clock.monotonic()
        self.polls_before = self.client.requests_made
        self.evidence = Evidence()
        self.counts: FleetCounts | None = None
        self.jobs: InstallJobs | None = None
        self.verdict: Verdict | None = None
        self.shown = ""
        self.told: set[Verdict] = set()

    def chain_elapsed(self) -> float:
        return self.clock.monotonic() - self.chain_started

    def poll(self) -> None:
        """Read both, judge them, and tell what changed; TimedOut when the deadline cuts a read short."""
        version_id = self.version_id
        self.counts = self.client.read(self.label, self.path, {}, self.deadline, parse_fleet_counts)
        self.jobs = self.client.read(
            self.label,
            INSTALL_STATUS_PATH,
            {},
            self.deadline,
            lambda body: parse_install_jobs(body, version_id),
        )
        self.evidence = self.evidence.seen(self.counts, self.jobs)
        self.verdict = judge(self.counts, self.jobs, self.evidence, created_here=self.created_here)
        readings = readings_text(self.counts, self.jobs)
        if readings != self.shown:
            self.reporter.progress(
                f"{self.label}: {readings} · {format_duration(self.chain_elapsed())} elapsed"
            )
            self.shown = readings
        if self.verdict in (Verdict.UNMARKED, Verdict.NOT_PROVEN) and self.verdict not in self.told:
            self.told.add(self.verdict)
            self.reporter.progress(
                f"{self.label}: {_unproven_text(self.verdict, version_id)}; still watching"
            )

    @property
    def done(self) -> bool:
        return self.verdict is Verdict.DONE

    def run(self) -> JobResult:
        """Poll until the install is proven done or the deadline passes."""
        while True:
            try:
                self.poll()
            except TimedOut as exc:
                return self.timed_out(str(exc))
            if self.done:
                return self.finished()
            remaining = self.deadline - self.clock.monotonic()
            if remaining <= 0:
                return self.timed_out()
            delay = self.settings.poll_interval * self.rng.uniform(0.9, 1.0)
            self.clock.sleep(min(delay, remaining))

    def finished(self) -> JobResult:
        counts = self.counts
        assert counts is not None
        failed = counts.failed
        if failed > self.max_failed_machines:
            return self.result(
                Outcome.FAILED,
                f"{self.label}: {failed} machines failed to install, more than max_failed_machines="
                f"{self.max_failed_machines} ({counts.text})",
            )
        if failed:
            self.warnings.append(f"{self.label}: {failed} disabled machines could not install")
            self.reporter.warning(self.warnings[-1])
        return self.result(
            Outcome.SUCCEEDED,
            f"{self.label}: done ({counts.text}; no install job left for version {self.version_id})",
        )

    def timed_out(self, detail: str = "") -> JobResult:
        extra = f"; {detail}" if detail else ""
        if not self.evidence.started:
            why = (
                "the install was never seen (no machine pending, no install job for the version): "
                "it may not have started; check install_at and the image in the Clanforge dashboard"
            )
        else:
            why = "machines may still be installing"
        return self.result(
            Outcome.TIMED_OUT,
            f"{self.label}: timed out after {format_duration(self.chain_elapsed())} "
            f"({readings_text(self.counts, self.jobs, named=True)}{extra}); {why}: {self.resume()}",
        )

    def result(self, outcome: Outcome, message: str) -> JobResult:
        counts = self.counts
        total = counts.pending + counts.failed + counts.completed if counts else 0
        return JobResult(
            kind=JobKind.FLEET_INSTALL,
            job_id=self.image_id,
            outcome=outcome,
            message=message,
            state_name=counts.text if counts else None,
            progress=round(100 * (counts.completed + counts.failed) / total) if counts and total else None,
            polls=self.client.requests_made - self.polls_before,
            elapsed_seconds=self.clock.monotonic() - self.started,
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
