"""The image's lock during a deploy: read it, queue behind it, and find a job whose create answer was lost.

An accepted image update locks its image; the diff made from it holds the lock until it is
published (the version create) or rejected. Any other create is refused with
``image locked by updateid: N`` / ``diffid: N``: a refusal, so nothing started, and safe to send
again. A create without a clear answer may have started, so it is never sent again; with the
game id, the lock read after it tells whether it did (a holder no earlier read showed).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from gate.client import JobRef, StatusClient
from gate.clock import Clock
from gate.config import Settings
from gate.deploy.calls import IMAGE_OPTIONS_PATH
from gate.deploy.choices import OnLocked
from gate.deploy.image_state import ImageLock, parse_image_lock
from gate.deploy.settings import DeploySettings
from gate.durations import format_duration
from gate.ending import Outcome
from gate.errors import GateError, TimedOut
from gate.kinds import JobKind
from gate.report import Reporter
from gate.result import JobResult

REFUSED = re.compile(r"locked by (updateid|diffid):?\s*([0-9]{1,20})", re.IGNORECASE)
# After a create without a clear answer, the lock is read for at most this long.
FIND_LOST_SECONDS = 60.0


class ImageLocked(GateError):
    """Another job holds the image: nothing was created."""


def refused_by_lock(message: str) -> ImageLock | None:
    """The holder an ``image locked by updateid: N`` / ``diffid: N`` refusal names, if it is one."""
    found = REFUSED.search(message)
    if found is None:
        return None
    job_id = int(found.group(2))
    return ImageLock(diff_id=job_id) if found.group(1).lower() == "diffid" else ImageLock(update_id=job_id)


def holder(lock: ImageLock) -> JobRef | None:
    """The job that holds the image, as a job to read; None when nothing does."""
    if lock.diff_id is not None:
        return JobRef(JobKind.IMAGE_DIFF, lock.diff_id)
    if lock.update_id is not None:
        return JobRef(JobKind.IMAGE_UPDATE, lock.update_id)
    return None


def held_text(ref: JobRef) -> str:
    """``diff 40001`` / ``update 30001``, as the lock is named in messages."""
    return f"{'diff' if ref.kind is JobKind.IMAGE_DIFF else 'update'} {ref.job_id}"


def foreign_lock_advice(
    d: DeploySettings, ref: JobRef, resume: Callable[[JobKind | None], str], state: str = ""
) -> str:
    """A lock held by a job this run cannot tell is its own: the ways out, never adopting it first.

    Waiting comes first, then rejecting the diff, and only then resuming with the holder's id,
    for the case where it is this pipeline's own earlier run.
    """
    said = f" ({state})" if state else ""
    reject = "--on-locked reject" + ("" if d.game_id is not None else " with --game-id <game id>")
    if ref.kind is JobKind.IMAGE_DIFF:
        return (
            f"image {d.image_id} is locked by {held_text(ref)}{said}: that diff was neither published nor "
            f"rejected; nothing was created; wait for it (--on-locked wait), reject it ({reject}), or, "
            f"if it is this pipeline's own earlier run, resume with "
            f"'{resume(JobKind.IMAGE_VERSION)} --diff-id {ref.job_id}'"
        )
    return (
        f"image {d.image_id} is locked by {held_text(ref)}{said}: nothing was created; wait for it "
        f"(--on-locked wait), reject the diff made from it once there is one ({reject}; an update "
        f"is never rejected), or, if it is this pipeline's own earlier run, resume with "
        f"'{resume(JobKind.IMAGE_UPDATE)} --update-id {ref.job_id}'"
    )


@dataclass
class LockWatch:
    """Reads the image's lock and waits on it for one deploy; remembers every holder it saw."""

    client: StatusClient
    settings: Settings
    deploy: DeploySettings
    clock: Clock
    reporter: Reporter
    # The run's overall deadline (Settings.deadline), as the Deployer has it.
    deadline: float
    # The jobs this run created (``Deployer.created``), read as they grow.
    mine: Mapping[JobKind, int]
    # The command that resumes the deploy, before the step given (``Deployer.resume_command``).
    resume: Callable[[JobKind | None], str]
    seen: set[JobRef] = field(default_factory=set)
    waiting_since: float | None = None
    # The holder and state a refused create last reported (a line only when they change).
    refused: tuple[JobRef, str] | None = None

    @property
    def image(self) -> str:
        return f"image {self.deploy.image_id}"

    def read(self) -> ImageLock:
        """The image's lock from ``/cfp/v1/image/options`` (needs the game id); its holder is seen."""
        lock = self._read(self.deadline)
        ref = holder(lock)
        if ref is not None:
            self.seen.add(ref)
        return lock

    def _read(self, deadline: float) -> ImageLock:
        d = self.deploy
        params = {"gameid": str(d.game_id), "imageid": str(d.image_id)}
        return self.client.read(
            f"{self.image} options", IMAGE_OPTIONS_PATH, params, deadline, parse_image_lock
        )

    def is_mine(self, ref: JobRef | None) -> bool:
        """Whether the holder is a job this run created or was given to resume."""
        if ref is None:
            return False
        given = {JobKind.IMAGE_UPDATE: self.deploy.update_id, JobKind.IMAGE_DIFF: self.deploy.diff_id}
        return ref.job_id in (given.get(ref.kind), self.mine.get(ref.kind))

    def state_of(self, ref: JobRef) -> str:
        """The holder's state from its own status, or why it could not be read."""
        deadline = min(self.deadline, self.clock.monotonic() + 2 * self.settings.request_timeout)
        try:
            return self.client.fetch(ref, deadline).state_name or "state unknown"
        except (GateError, TimedOut):
            return "state not read"

    def before_creating(self, lock: ImageLock, reject: Callable[[int, str], str | None]) -> JobResult | None:
        """The lock read before anything is created: go on, wait for it, reject the diff, or stop.

        ``reject`` rejects a diff and returns None, or the refusal. None: go on; else the step
        that timed out waiting. ``ImageLocked`` when the deploy stops with nothing created.
        """
        d = self.deploy
        ref = holder(lock)
        if ref is None or self.is_mine(ref):
            return None
        if d.on_locked is OnLocked.WAIT:
            return self.wait_until_free(lock)
        if ref.kind is JobKind.IMAGE_DIFF and d.on_locked is OnLocked.REJECT:
            refused = reject(ref.job_id, "it locked the image; --on-locked reject")
            if refused is None:
                return None
            raise ImageLocked(
                f"{self.image} is locked by diff {ref.job_id} and its reject was refused ({refused}); "
                f"wait for it (--on-locked wait), or, if it is this pipeline's own earlier run, publish "
                f"it with '{self.resume(JobKind.IMAGE_VERSION)} --diff-id {ref.job_id}', or reject it "
                "in the Clanforge dashboard once it has ended"
            )
        raise ImageLocked(foreign_lock_advice(d, ref, self.resume))

    # -- waiting ---------------------------------------------------------------------------------

    def _waited(self) -> float:
        if self.waiting_since is None:
            self.waiting_since = self.clock.monotonic()
        return self.clock.monotonic() - self.waiting_since

    def _pause(self, ref: JobRef, state: str) -> JobResult | None:
        """Sleep one poll interval (less near the deadline); the timed-out step once it has passed."""
        self._waited()
        remaining = self.deadline - self.clock.monotonic()
        if remaining > 0:
            self.clock.sleep(min(self.settings.poll_interval, remaining))
        if self.clock.monotonic() < self.deadline:
            return None
        return self._still_locked(ref, state)

    def _still_locked(self, ref: JobRef, state: str) -> JobResult:
        """The lock wait's step when the deadline came with ``ref`` still holding the image."""
        return JobResult(
            kind=JobKind.IMAGE_OPTIONS,
            job_id=self.deploy.image_id or 0,
            outcome=Outcome.TIMED_OUT,
            message=(
                f"{self.image}: still locked by {held_text(ref)} ({state}) at the deadline, after waiting "
                f"{format_duration(self._waited())} for it (--on-locked wait); nothing "
                f"{'more ' if self.mine else ''}was created; run again once {ref.label} has ended, or "
                "with a longer --timeout"
                + (
                    "; if nobody is to publish that diff, reject it (--on-locked reject)"
                    if ref.kind is JobKind.IMAGE_DIFF
                    else ""
                )
            ),
            elapsed_seconds=self._waited(),
        )

    def wait_until_free(self, lock: ImageLock) -> JobResult | None:
        """With the game id: read the lock every poll interval, showing its holder, until it is free."""
        shown: tuple[JobRef, str] | None = None
        ref = holder(lock)
        while ref is not None and not self.is_mine(ref):
            state = self.state_of(ref)
            if shown != (ref, state):
                shown = (ref, state)
                self.reporter.progress(
                    f"{self.image}: locked by {held_text(ref)} ({state}); waiting for it (--on-locked wait, "
                    f"{format_duration(self._waited())} so far, looking again every "
                    f"{format_duration(self.settings.poll_interval)})"
                )
            ended = self._pause(ref, state)
            if ended is not None:
                return ended
            last = ref
            try:
                ref = holder(self.read())
            except TimedOut:
                # No usable answer before the deadline: the holder last seen is still the one named.
                return self._still_locked(last, state)
        if self.waiting_since is not None:
            self.reporter.progress(f"{self.image}: the lock is free after {format_duration(self._waited())}")
        return None

    def after_refusal(self, kind: JobKind, lock: ImageLock) -> JobResult | None:
        """A create refused as locked (nothing started) under ``--on-locked wait``: wait, then go on.

        With the game id the lock is read until it is free; without it, the create is sent again
        after one poll interval. None: send the create again; else the step that timed out.
        """
        ref = holder(lock)
        assert ref is not None
        state = self.state_of(ref)
        again = "waiting for it" if self.deploy.game_id is not None else "sending it again"
        if self.refused != (ref, state):
            self.refused = (ref, state)
            self.reporter.progress(
                f"{self.image}: {kind.value} create refused: {held_text(ref)} ({state}) holds the image; "
                f"nothing started; {again} (--on-locked wait, {format_duration(self._waited())} so far, "
                f"every {format_duration(self.settings.poll_interval)})"
            )
        if self.deploy.game_id is not None and not self.is_mine(ref):
            return self.wait_until_free(lock)
        # Without the game id, or refused by this run's own job (the API not done with it yet):
        # one poll interval, then the create again.
        return self._pause(ref, state)

    # -- a lost create answer --------------------------------------------------------------------

    def find_lost(self, kind: JobKind) -> tuple[JobRef | None, str]:
        """After a create of ``kind`` without a clear answer: the job it started, if the lock shows it.

        A holder of that kind which no earlier read of this run showed is the job this create
        started. Returns it (or None) and what the lock showed, for the message.
        """
        if self.deploy.game_id is None:
            return None, "without --game-id the image's lock is not read"
        if kind not in (JobKind.IMAGE_UPDATE, JobKind.IMAGE_DIFF):
            return None, f"an {kind.value} create frees the lock, so the lock cannot show it"
        deadline = min(self.deadline, self.clock.monotonic() + FIND_LOST_SECONDS)
        try:
            lock = self._read(deadline)
        except (GateError, TimedOut) as exc:
            return None, f"the image's lock could not be read ({exc})"
        ref = holder(lock)
        if ref is None:
            return None, "the image's lock names no job"
        if ref.kind is not kind:
            self.seen.add(ref)
            return None, f"the image's lock names {ref.label}, not an {kind.value}"
        if ref in self.seen:
            return None, f"the image's lock names {ref.label}, which this run saw before its create"
        self.seen.add(ref)
        return ref, f"the image's lock names {ref.label}, which no read before the create showed"
