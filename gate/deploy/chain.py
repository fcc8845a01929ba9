"""The whole deploy: image update -> image diff -> image version -> fleet install, under one deadline.

A ``create`` call is a GET that starts a job: it is sent once and never retried, since a retry
could start a second job. Every id created is announced at once, so a cut-short run can resume.
"""

from __future__ import annotations

import dataclasses
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gate.apitext import api_text
from gate.client import JobRef, StatusClient
from gate.clock import Clock
from gate.config import Settings, ascii_digits
from gate.deploy.calls import (
    IMAGE_OPTIONS_PATH,
    REJECT_REINSTALL,
    creates_something,
    describe_call,
    diff_params,
    plan,
    reject_path,
    update_params,
    version_params,
)
from gate.deploy.choices import InstallMode, OnEmptyDiff, OnLocked
from gate.deploy.fleet import FleetInstall
from gate.deploy.image_state import DiffChanges, ImageLock, diff_changes, parse_image_lock
from gate.deploy.resume import resume_command
from gate.deploy.settings import DeploySettings
from gate.durations import format_duration
from gate.ending import Outcome
from gate.errors import ApiError, Cancelled, GateError, TimedOut, TransientError, shown
from gate.kinds import WAITABLE, JobKind, RunCommand
from gate.report import Reporter
from gate.result import Call, JobResult, Result
from gate.waiter import Waiter, WaitLoop

LOCKED = re.compile(r"locked by diffid:?\s*([0-9]{1,20})", re.IGNORECASE)
# The state of a deploy whose diff changed nothing (the ``state`` output and CLANFORGE_STATE).
NOTHING_CHANGED = "nothing changed"


class ImageLocked(GateError):
    """The image has a diff that was neither published nor rejected."""


class CreateUncertain(GateError):
    """A create call got no clear answer: the job may or may not have started."""


@dataclass
class Deployer:
    """Runs the chain; keeps what it did so a cut-short run still reports every id."""

    client: StatusClient
    settings: Settings
    deploy: DeploySettings
    clock: Clock
    reporter: Reporter
    # The run's overall deadline (Settings.deadline); every step waits under it.
    deadline: float
    rng: random.Random = field(default_factory=random.Random)
    jobs: list[JobResult] = field(default_factory=list)
    created: dict[JobKind, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.started = self.clock.monotonic()
        self.current: Waiter | None = None
        # Set when an error's own message already says how to go on (a generic resume would mislead).
        self.advice_given = False
        # Set when the run ends before its last step on purpose (an empty diff, a manual install).
        self.ended: Result | None = None
        self.notes: list[str] = []
        # Set when an empty diff is to be published as a full version (--on-empty-diff publish).
        self.publish_full = False
        # The kind of job whose create was under way when a signal came, if any.
        self.creating: JobKind | None = None

    @property
    def label(self) -> str:
        return f"deploy of image {self.deploy.image_id}" if self.deploy.image_id else "deploy"

    def elapsed(self) -> float:
        return self.clock.monotonic() - self.started

    def last_seen(self) -> str:
        if self.current is not None:
            return self.current.last_seen()
        return f"{len(self.jobs)} steps done"

    # -- create ----------------------------------------------------------------------------------

    def resume_command(self, next_kind: JobKind | None = None) -> str:
        """The command that picks the chain up from the ids known so far (see ``resume_command``)."""
        return resume_command(self.deploy, self.created, next_kind)

    def create(self, kind: JobKind, params: dict[str, str]) -> int:
        label = f"{kind.value} create"
        try:
            body = self.send(label, kind.create_path(), params)
        except Cancelled:
            # The request may have reached the API: the job may exist without our knowing its id.
            self.creating = kind
            raise
        except (TransientError, TimedOut) as exc:
            self.advice_given = True
            raise CreateUncertain(
                f"{label} for image {self.deploy.image_id} got no clear answer ({exc}); the job may have "
                "started anyway: check the image in the Clanforge dashboard before running again, "
                f"then resume with '{self.resume_command(kind)} {kind.resume_flag} <id>' if it started"
            ) from exc
        except ApiError as exc:
            locked = LOCKED.search(str(exc))
            if locked:
                diff = locked.group(1)
                self.advice_given = True
                raise ImageLocked(
                    f"image {self.deploy.image_id} is locked by diff {diff}: that diff was neither "
                    f"published nor rejected; publish it with '{self.resume_command(JobKind.IMAGE_VERSION)} "
                    f"--diff-id {diff}', or reject it: run again with --on-locked reject --game-id "
                    "<game id> (or reject it in the Clanforge dashboard)"
                ) from exc
            raise
        value = body.get(kind.id_field)
        text = ascii_digits(value)
        if text is None or int(text) <= 0:
            self.advice_given = True
            said = api_text(shown(value), self.client.masker)
            raise CreateUncertain(
                f"{label} answered without a {kind.id_field} ({said}); "
                "the job may have started: "
                "check the image in the Clanforge dashboard before running again"
            )
        job_id = int(text)
        self.created[kind] = job_id
        self.reporter.progress(f"{kind.label(job_id)}: started; to resume: {self.resume_command()}")
        self.reporter.created(kind, job_id)
        return job_id

    # -- wait ------------------------------------------------------------------------------------

    def wait(self, kind: JobKind, job_id: int) -> JobResult:
        # The waiter's own hints (``wait --job <kind> --update-id <id>``) must name this kind.
        self.current = Waiter(
            self.client,
            dataclasses.replace(self.settings, job=kind),
            self.clock,
            self.reporter,
            self.rng,
            [JobRef(kind, job_id)],
            deadline=self.deadline,
        )
        result = self.current.run()
        self.warnings.extend(result.warnings)
        job = result.jobs[0]
        self.jobs.append(job)
        self.current = None
        return job

    def watch_install(self) -> JobResult:
        """Watch the fleet install of the version until both readings prove it done (see fleet_state)."""
        image_id = self.deploy.image_id
        version_id = self.created.get(JobKind.IMAGE_VERSION) or self.deploy.version_id
        assert image_id is not None and version_id is not None
        watch = FleetInstall(
            self.client,
            self.settings,
            self.clock,
            self.reporter,
            self.rng,
            image_id=image_id,
            version_id=version_id,
            created_here=JobKind.IMAGE_VERSION in self.created,
            max_failed_machines=self.deploy.max_failed_machines,
            chain_started=self.started,
            resume=lambda: self.resume_command(JobKind.FLEET_INSTALL),
            warnings=self.warnings,
        )
        # Like every other step's, the install's time is its own, not the chain's so far.
        loop = WaitLoop([watch], self.client, self.settings, self.clock, self.reporter, self.deadline)
        loop.loop()
        job = loop.slots[0].to_result()
        self.jobs.append(job)
        return job

    # -- the chain -------------------------------------------------------------------------------

    def steps(self) -> list[tuple[JobKind, Callable[[], JobResult | None]]]:
        d = self.deploy
        return [
            (JobKind.IMAGE_OPTIONS, self.check_lock),
            (
                JobKind.IMAGE_UPDATE,
                lambda: self._job_step(
                    JobKind.IMAGE_UPDATE, d.update_id, d.skip_update, lambda: update_params(d)
                ),
            ),
            (JobKind.IMAGE_DIFF, self._diff_step),
            (
                JobKind.IMAGE_VERSION,
                lambda: self._job_step(
                    JobKind.IMAGE_VERSION, d.version_id, d.skip_version, self._version_params
                ),
            ),
            (JobKind.FLEET_INSTALL, self._install_step),
        ]

    def _version_params(self) -> dict[str, str]:
        diff = self.created.get(JobKind.IMAGE_DIFF) or self.deploy.diff_id
        return version_params(self.deploy, diff, now=self.clock.time(), publish_full=self.publish_full)

    @property
    def creates_something(self) -> bool:
        return creates_something(self.deploy)

    def plan(self) -> list[Call]:
        """Every call this deploy would send, in order, with its parameters; nothing is sent."""
        return plan(self.deploy, self.settings, self.clock.time())

    def _job_step(
        self, kind: JobKind, given: int | None, skip: bool, params: Callable[[], dict[str, str]]
    ) -> JobResult | None:
        if given is None and skip:
            return None
        job_id = given if given is not None else self.create(kind, params())
        return self.wait(kind, job_id)

    # -- locks and empty diffs -------------------------------------------------------------------

    def send(self, label: str, path: str, params: Mapping[str, str]) -> Mapping[str, Any]:
        """A state-changing call: sent once (never retried) and listed in the result with its answer."""
        request = describe_call(path, params)
        try:
            body = self.client.create(label, path, params, self.deadline)
        except (GateError, TransientError, TimedOut) as exc:
            self.calls.append(Call(request, f"error: {exc}"))
            raise
        ids = [f"{k.id_field} {body[k.id_field]}" for k in WAITABLE if k.id_field in body]
        self.calls.append(Call(request, "ok" + (f": {', '.join(ids)}" if ids else "")))
        return body

    def reject_diff(self, diff_id: int, why: str) -> str | None:
        """Reject ``diff_id`` (``reinstall=0``, so nothing restarts); None when done, else the refusal."""
        label = f"{JobKind.IMAGE_DIFF.value} {diff_id} reject"
        try:
            self.send(label, reject_path(diff_id), {"reinstall": REJECT_REINSTALL})
        except (GateError, TransientError, TimedOut) as exc:
            return str(exc)
        self.reporter.progress(f"{JobKind.IMAGE_DIFF.label(diff_id)}: rejected ({why})")
        return None

    def read_lock(self) -> ImageLock:
        """The image's lock from ``/cfp/v1/image/options`` (needs the game id)."""
        d = self.deploy
        params = {"gameid": str(d.game_id), "imageid": str(d.image_id)}
        return self.client.read(
            f"image {d.image_id} options", IMAGE_OPTIONS_PATH, params, self.deadline, parse_image_lock
        )

    def check_lock(self) -> JobResult | None:
        """Before anything is created: fail fast on a foreign lock, or reject a locking diff."""
        d = self.deploy
        if not self.creates_something:
            return None
        if d.game_id is None:
            self.reporter.progress(
                f"image {d.image_id}: lock not read before creating (no --game-id); a lock shows only "
                "when a create is refused"
            )
            return None
        try:
            lock = self.read_lock()
        except TimedOut as exc:
            return self._step_timed_out(
                JobKind.IMAGE_OPTIONS.label(d.image_id), str(exc), JobKind.IMAGE_OPTIONS, d.image_id or 0
            )
        self.reporter.progress(f"image {d.image_id}: {lock.text}")
        ours = (lock.diff_id is not None and lock.diff_id == d.diff_id) or (
            lock.update_id is not None and lock.update_id == d.update_id
        )
        if not lock.locked or ours:
            return None
        self.advice_given = True
        if lock.diff_id is not None:
            if d.on_locked is OnLocked.REJECT:
                refused = self.reject_diff(lock.diff_id, "it locked the image; --on-locked reject")
                if refused is None:
                    return None
                raise ImageLocked(
                    f"image {d.image_id} is locked by diff {lock.diff_id} and its reject was refused "
                    f"({refused}); publish it with '{self.resume_command(JobKind.IMAGE_VERSION)} --diff-id "
                    f"{lock.diff_id}', or reject it in the Clanforge dashboard once it has ended"
                )
            raise ImageLocked(
                f"image {d.image_id} is locked by diff {lock.diff_id}: that diff was neither published "
                f"nor rejected; nothing was created; publish it with "
                f"'{self.resume_command(JobKind.IMAGE_VERSION)} --diff-id {lock.diff_id}', or reject it: run "
                "again with --on-locked reject"
            )
        raise ImageLocked(
            f"image {d.image_id} is locked by update {lock.update_id}: nothing was created; follow it "
            f"with '{self.resume_command(JobKind.IMAGE_UPDATE)} --update-id {lock.update_id}', or wait "
            "for it to end and run again (--on-locked reject never rejects an update)"
        )

    def _diff_step(self) -> JobResult | None:
        d = self.deploy
        job = self._job_step(JobKind.IMAGE_DIFF, d.diff_id, d.skip_diff, lambda: diff_params(d))
        if job is None or job.outcome is not Outcome.SUCCEEDED:
            return job
        if d.version_id is not None or d.skip_version:
            return job
        try:
            changes = self.client.read(
                f"{job.label} info",
                job.kind.status_path(job.job_id),
                {"diff_info": "1"},
                self.deadline,
                diff_changes,
            )
        except TimedOut as exc:
            return self._step_timed_out(f"{job.label} info", str(exc), JobKind.IMAGE_DIFF, job.job_id)
        if changes is DiffChanges.UNKNOWN:
            self.reporter.progress(
                f"{job.label}: its info lists no files, so whether it changed anything is unknown; the "
                "version create publishes a full version if it did not"
            )
        elif changes is DiffChanges.EMPTY:
            self._empty_diff(job.job_id)
        return job

    def _empty_diff(self, diff_id: int) -> None:
        d = self.deploy
        label = JobKind.IMAGE_DIFF.label(diff_id)
        if d.on_empty_diff is OnEmptyDiff.PUBLISH:
            self.publish_full = True
            self.reporter.progress(
                f"{label}: no file changed; publishing a full version (--on-empty-diff publish)"
            )
            return
        refused = self.reject_diff(diff_id, "no file changed")
        if refused is not None:
            self.advice_given = True
            raise GateError(
                f"{label}: no file changed, and its reject was refused ({refused}); the image stays "
                f"locked by it: reject it in the Clanforge dashboard, or publish a full version with "
                f"'{self.resume_command(JobKind.IMAGE_VERSION)} --diff-id {diff_id} --on-empty-diff publish'"
            )
        self.ended = self.result(
            Outcome.SUCCEEDED,
            f"{self.label}: {NOTHING_CHANGED}: {label} lists no changed file; rejected it so the image is "
            "not left locked; no version made, nothing restarted",
            state_name=NOTHING_CHANGED,
        )

    def _install_step(self) -> JobResult | None:
        d = self.deploy
        if d.skip_install:
            return None
        if d.install_at.mode is InstallMode.MANUAL:
            note = (
                "install left manual (--install-at manual): nothing installs until it is started in "
                "the Clanforge dashboard; the fleet was not watched"
            )
            self.notes.append(note)
            self.reporter.progress(f"image {d.image_id}: {note}")
            return None
        return self.watch_install()

    def _step_timed_out(self, label: str, detail: str, kind: JobKind, job_id: int) -> JobResult:
        """A read between the jobs (the lock, the diff's info) that the deadline cut short."""
        return JobResult(
            kind=kind,
            job_id=job_id,
            outcome=Outcome.TIMED_OUT,
            message=f"{label}: no answer before the deadline ({detail}); to resume: {self.resume_command()}",
            elapsed_seconds=self.elapsed(),
        )

    def _reject_on_abort(self) -> None:
        """After a cancel or a timeout between the diff and the version: reject the diff made here."""
        diff_id = self.created.get(JobKind.IMAGE_DIFF)
        if not self.deploy.reject_on_abort or diff_id is None or JobKind.IMAGE_VERSION in self.created:
            return
        refused = self.reject_diff(diff_id, "the deploy was cut short before its version; --reject-on-abort")
        if refused is not None:
            self.warnings.append(
                f"{JobKind.IMAGE_DIFF.label(diff_id)}: reject on abort refused ({refused}); the image stays "
                "locked by it: reject it in the Clanforge dashboard once it has ended"
            )

    def run(self) -> Result:
        """Run each step in turn; stop at the first that does not succeed."""
        for _, step in self.steps():
            job = step()
            if job is not None and job.outcome is not Outcome.SUCCEEDED:
                if job.outcome is Outcome.TIMED_OUT:
                    self._reject_on_abort()
                return self.result(job.outcome, f"{self.label}: stopped: {job.message}")
            if self.ended is not None:
                return self.ended
        done = " -> ".join(f"{j.label} {j.outcome.value}" for j in self.jobs) or "nothing to do"
        notes = "".join(f"; {note}" for note in self.notes)
        return self.result(
            Outcome.SUCCEEDED,
            f"{self.label}: succeeded after {format_duration(self.elapsed())}: {done}{notes}",
        )

    def result(
        self, outcome: Outcome, message: str, signum: int | None = None, *, state_name: str | None = None
    ) -> Result:
        return Result(
            update_id=None,
            outcome=outcome,
            message=message,
            state_name=state_name,
            polls=self.client.requests_made,
            elapsed_seconds=self.elapsed(),
            warnings=tuple(self.warnings),
            job_kind=RunCommand.DEPLOY,
            jobs=tuple(self.jobs),
            calls=tuple(self.calls),
            signum=signum,
        )

    def cut_short(self, outcome: Outcome, message: str, signum: int | None = None) -> Result:
        """The result when a signal or a gate error ends the run; ``message`` gains the resume command."""
        if self.current is not None:
            partial = self.current.cut_short(outcome, message, signum)
            self.jobs.extend(partial.jobs)
            self.current = None
        # A job created just before the signal, not yet waited on, is still listed with its id.
        listed = {(job.kind, job.job_id) for job in self.jobs}
        for kind, job_id in self.created.items():
            if (kind, job_id) not in listed:
                label = kind.label(job_id)
                self.jobs.append(
                    JobResult(
                        kind, job_id, outcome, f"{label}: started; may still be running", elapsed_seconds=0.0
                    )
                )
        if outcome in (Outcome.CANCELLED, Outcome.TIMED_OUT):
            self._reject_on_abort()
        if self.creating is not None:
            kind = self.creating
            return self.result(
                outcome,
                f"{message}; the {kind.value} create had been sent and may have started: check the image "
                f"in the Clanforge dashboard before running again, then resume with "
                f"'{self.resume_command(kind)} {kind.resume_flag} <id>' if it started, or "
                f"'{self.resume_command()}' if it did not",
                signum,
            )
        if self.advice_given:
            return self.result(outcome, message, signum)
        return self.result(outcome, f"{message}; to resume: {self.resume_command()}", signum)
