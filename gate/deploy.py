"""The whole deploy: image update -> image diff -> image version -> fleet install, under one deadline.

A ``create`` call is a GET that starts a job: it is sent once and never retried, since a retry
could start a second job. Every id created is announced at once, so a cut-short run can resume.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gate.apitext import api_text
from gate.client import JobRef, StatusClient
from gate.clock import Clock
from gate.config import (
    DEPLOY_OPTIONS,
    URL_ENV,
    Settings,
    ascii_digits,
    format_duration,
    lookup,
    parse_bool,
    parse_job_id,
    read_source_url,
    shown,
)
from gate.deploy_options import (
    InstallAt,
    InstallMode,
    OnEmptyDiff,
    OnLocked,
    parse_choice,
    parse_disable_timeout,
    parse_install_at,
    parse_percentage,
)
from gate.ending import Outcome
from gate.ending import exit_code as ending_exit_code
from gate.errors import (
    ApiError,
    Cancelled,
    ConfigError,
    GateError,
    TimedOut,
    TransientError,
)
from gate.image_state import DiffChanges, ImageLock, diff_changes, parse_image_lock
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
from gate.kinds import WAITABLE, JobKind
from gate.report import Reporter
from gate.result import Call, JobResult, Result
from gate.source_url import encode_source_url, mask_source_url
from gate.waiter import Waiter

LOCKED = re.compile(r"locked by diffid:?\s*([0-9]{1,20})", re.IGNORECASE)
# The state of a deploy whose diff changed nothing (the ``state`` output and CLANFORGE_STATE).
NOTHING_CHANGED = "nothing changed"
# ``reinstall`` of a diff reject: 0, so rejecting restarts nothing.
REJECT_REINSTALL = "0"
# The account's unfinished install jobs, one of the fleet install's two readings.
INSTALL_STATUS_PATH = f"/cfp/v1/{JobKind.FLEET_INSTALL.value}/status"


class ImageLocked(GateError):
    """The image has a diff that was neither published nor rejected."""


class CreateUncertain(GateError):
    """A create call got no clear answer: the job may or may not have started."""


@dataclass(frozen=True)
class DeploySettings:
    """What ``deploy`` needs on top of the common settings."""

    image_id: int | None
    machine_id: int | None
    desc: str | None
    url: str | None
    restart: bool | None
    game_build: str | None
    full: bool
    force: bool
    max_failed_machines: int
    update_id: int | None
    diff_id: int | None
    version_id: int | None
    skip_update: bool
    skip_diff: bool
    skip_version: bool
    skip_install: bool
    install_at: InstallAt = field(default_factory=InstallAt)
    disable_timeout_minutes: int | None = None
    disable_percentage: int | None = None
    game_id: int | None = None
    on_empty_diff: OnEmptyDiff = OnEmptyDiff.REJECT
    on_locked: OnLocked = OnLocked.FAIL
    reject_on_abort: bool = False

    @property
    def watches_install(self) -> bool:
        """Whether the fleet install is watched (not skipped, not left manual)."""
        return not self.skip_install and self.install_at.mode is not InstallMode.MANUAL


def _count(value: object, setting: str) -> int:
    text = ascii_digits(value)
    if text is None:
        raise ConfigError(f"{setting}: {shown(value)} is not a whole number of machines (0 or more)")
    return int(text)


def load_deploy_settings(
    args: argparse.Namespace,
    env: Mapping[str, str],
    yaml_values: Mapping[str, Any],
    settings: Settings,
    *,
    check_chain: bool = True,
) -> DeploySettings:
    """Read the deploy settings by the usual precedence and check that the chain can run."""
    raw = {option.key: lookup(args, env, yaml_values, option) for option in DEPLOY_OPTIONS}
    ids = {k: parse_job_id(raw[k], k) if raw[k] is not None else None for k in ("image_id", "machine_id")}
    resume = {
        k: parse_job_id(raw[k], k) if raw[k] is not None else None
        for k in ("diff_id", "version_id", "game_id")
    }
    if len(settings.update_ids) > 1:
        raise ConfigError("deploy follows one image update; give at most one --update-id")
    deploy = DeploySettings(
        image_id=ids["image_id"],
        machine_id=ids["machine_id"],
        desc=str(raw["desc"]) if raw["desc"] is not None else None,
        url=read_source_url(args, env, yaml_values),
        restart=parse_bool(raw["restart"], "restart") if raw["restart"] is not None else None,
        game_build=str(raw["game_build"]) if raw["game_build"] is not None else None,
        full=parse_bool(raw["full"], "full"),
        force=parse_bool(raw["force"], "force"),
        max_failed_machines=_count(raw["max_failed_machines"], "max_failed_machines"),
        update_id=settings.update_ids[0] if settings.update_ids else None,
        diff_id=resume["diff_id"],
        version_id=resume["version_id"],
        skip_update=parse_bool(raw["skip_update"], "skip_update"),
        skip_diff=parse_bool(raw["skip_diff"], "skip_diff"),
        skip_version=parse_bool(raw["skip_version"], "skip_version"),
        skip_install=parse_bool(raw["skip_install"], "skip_install"),
        install_at=parse_install_at(raw["install_at"]),
        disable_timeout_minutes=(
            parse_disable_timeout(raw["disable_timeout"]) if raw["disable_timeout"] is not None else None
        ),
        disable_percentage=(
            parse_percentage(raw["disable_percentage"], "disable_percentage")
            if raw["disable_percentage"] is not None
            else None
        ),
        game_id=resume["game_id"],
        on_empty_diff=OnEmptyDiff(parse_choice(raw["on_empty_diff"], "on_empty_diff", OnEmptyDiff)),
        on_locked=OnLocked(parse_choice(raw["on_locked"], "on_locked", OnLocked)),
        reject_on_abort=parse_bool(raw["reject_on_abort"], "reject_on_abort"),
    )
    if check_chain:
        _check_chain(deploy)
        _check_install_and_lock(deploy, settings)
    return deploy


def _check_chain(d: DeploySettings) -> None:
    """Refuse, before any job starts, a chain that would stop half-way for want of a setting."""
    needs: list[str] = []
    creates_update = d.update_id is None and not d.skip_update
    creates_diff = d.diff_id is None and not d.skip_diff
    creates_version = d.version_id is None and not d.skip_version
    if creates_update:
        needs += ["image_id", "machine_id", "desc"]
    if creates_diff:
        needs += ["image_id", "machine_id"]
    if d.watches_install:
        needs += ["image_id"]
    missing = [name for name in dict.fromkeys(needs) if getattr(d, name) is None]
    if missing:
        flags = ", ".join("--" + name.replace("_", "-") for name in missing)
        raise ConfigError(f"deploy needs {flags} (or the matching CLANFORGE_* variables or YAML keys)")
    if creates_version:
        if d.restart is None:
            raise ConfigError("the image version step needs --restart or --no-restart (CLANFORGE_RESTART)")
        if d.diff_id is None and d.skip_diff:
            raise ConfigError("the image version step needs a diff: give --diff-id or do not skip the diff")


def _check_install_and_lock(d: DeploySettings, settings: Settings) -> None:
    """Refuse, before anything starts, a watch or a lock rule that could not be kept."""
    creates_version = d.version_id is None and not d.skip_version
    if d.watches_install:
        if settings.account_service_id is None:
            raise ConfigError(
                "watching the fleet install needs --account-service-id (CLANFORGE_ACCOUNT_SERVICE_ID): "
                "the image status names it in its path even with a token; give it, or use "
                "--install-at manual or --skip-install"
            )
        if not creates_version and d.version_id is None:
            raise ConfigError(
                "watching the fleet install needs the version whose install it proves: give "
                "--version-id (install jobs are told apart by it), or --skip-install"
            )
    if d.on_locked is OnLocked.REJECT and d.game_id is None:
        raise ConfigError(
            "--on-locked reject needs --game-id (CLANFORGE_GAME_ID): the image's lock is read from "
            "/cfp/v1/image/options, which takes the game id with the image id"
        )


@dataclass
class Deployer:
    """Runs the chain; keeps what it did so a cut-short run still reports every id."""

    client: StatusClient
    settings: Settings
    deploy: DeploySettings
    clock: Clock
    reporter: Reporter
    rng: random.Random = field(default_factory=random.Random)
    jobs: list[JobResult] = field(default_factory=list)
    created: dict[JobKind, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.started = self.clock.monotonic()
        self.deadline = self.started + self.settings.timeout
        self.current: Waiter | None = None
        self.install_started = self.started
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
            self.deadline,
        )
        result = self.current.run()
        self.warnings.extend(result.warnings)
        job = result.jobs[0]
        self.jobs.append(job)
        self.current = None
        return job

    def watch_install(self) -> JobResult:
        """Watch the fleet install of the version until both readings prove it done (see gate.install)."""
        image_id = self.deploy.image_id
        version_id = self.created.get(JobKind.IMAGE_VERSION) or self.deploy.version_id
        assert image_id is not None and version_id is not None
        label = JobKind.FLEET_INSTALL.label(image_id)
        path = f"/cfp/v2/project/{self.settings.account_service_id}/image/{image_id}/status"
        # Like every other step's, the install's time is its own, not the chain's so far.
        self.install_started = self.clock.monotonic()
        created_here = JobKind.IMAGE_VERSION in self.created
        evidence = Evidence()
        counts: FleetCounts | None = None
        jobs: InstallJobs | None = None
        shown = ""
        told: set[Verdict] = set()
        polls_before = self.client.requests_made
        while True:
            try:
                counts = self.client.read(label, path, {}, self.deadline, parse_fleet_counts)
                jobs = self.client.read(
                    label,
                    INSTALL_STATUS_PATH,
                    {},
                    self.deadline,
                    lambda body: parse_install_jobs(body, version_id),
                )
            except TimedOut as exc:
                return self._install_timed_out(label, counts, jobs, evidence, polls_before, str(exc))
            evidence = evidence.seen(counts, jobs)
            verdict = judge(counts, jobs, evidence, created_here=created_here)
            readings = readings_text(counts, jobs)
            if readings != shown:
                self.reporter.progress(f"{label}: {readings} · {format_duration(self.elapsed())} elapsed")
                shown = readings
            if verdict is Verdict.DONE:
                break
            if verdict in (Verdict.UNMARKED, Verdict.NOT_PROVEN) and verdict not in told:
                told.add(verdict)
                self.reporter.progress(f"{label}: {_unproven_text(verdict, version_id)}; still watching")
            remaining = self.deadline - self.clock.monotonic()
            if remaining <= 0:
                return self._install_timed_out(label, counts, jobs, evidence, polls_before)
            delay = self.settings.poll_interval * self.rng.uniform(0.9, 1.0)
            self.clock.sleep(min(delay, remaining))
        failed = counts.failed
        if failed > self.deploy.max_failed_machines:
            return self._install_result(
                Outcome.FAILED,
                f"{label}: {failed} machines failed to install, more than max_failed_machines="
                f"{self.deploy.max_failed_machines} ({counts.text})",
                counts,
                polls_before,
            )
        if failed:
            self.warnings.append(f"{label}: {failed} disabled machines could not install")
            self.reporter.warning(self.warnings[-1])
        return self._install_result(
            Outcome.SUCCEEDED,
            f"{label}: done ({counts.text}; no install job left for version {version_id})",
            counts,
            polls_before,
        )

    def _install_timed_out(
        self,
        label: str,
        counts: FleetCounts | None,
        jobs: InstallJobs | None,
        evidence: Evidence,
        polls_before: int,
        detail: str = "",
    ) -> JobResult:
        extra = f"; {detail}" if detail else ""
        if not evidence.started:
            why = (
                "the install was never seen (no machine pending, no install job for the version): "
                "it may not have started; check install_at and the image in the Clanforge dashboard"
            )
        else:
            why = "machines may still be installing"
        return self._install_result(
            Outcome.TIMED_OUT,
            f"{label}: timed out after {format_duration(self.elapsed())} "
            f"({readings_text(counts, jobs, named=True)}{extra}); {why}: "
            f"{self.resume_command(JobKind.FLEET_INSTALL)}",
            counts,
            polls_before,
        )

    def _install_result(
        self, outcome: Outcome, message: str, counts: FleetCounts | None, polls_before: int
    ) -> JobResult:
        total = counts.pending + counts.failed + counts.completed if counts else 0
        job = JobResult(
            kind=JobKind.FLEET_INSTALL,
            job_id=self.deploy.image_id or 0,
            outcome=outcome,
            message=message,
            state_name=counts.text if counts else None,
            progress=round(100 * (counts.completed + counts.failed) / total) if counts and total else None,
            polls=self.client.requests_made - polls_before,
            elapsed_seconds=self.clock.monotonic() - self.install_started,
        )
        self.jobs.append(job)
        return job

    # -- the chain -------------------------------------------------------------------------------

    def steps(self) -> list[tuple[JobKind, Callable[[], JobResult | None]]]:
        d = self.deploy
        return [
            (JobKind.IMAGE_OPTIONS, self.check_lock),
            (
                JobKind.IMAGE_UPDATE,
                lambda: self._job_step(JobKind.IMAGE_UPDATE, d.update_id, d.skip_update, self._update_params),
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

    def _update_params(self) -> dict[str, str]:
        d = self.deploy
        params = {"imageid": str(d.image_id), "machineid": str(d.machine_id), "desc": d.desc or ""}
        if d.url:
            params["url"] = encode_source_url(d.url)
        return params

    def _diff_params(self) -> dict[str, str]:
        d = self.deploy
        return {"imageid": str(d.image_id), "machineid": str(d.machine_id)}

    def _version_params(self, *, now: float | None = None) -> dict[str, str]:
        d = self.deploy
        diff = self.created.get(JobKind.IMAGE_DIFF) or d.diff_id
        params = {"diffid": str(diff), "restart": "1" if d.restart else "0"}
        if d.game_build:
            params["game_build"] = d.game_build
        if d.full or self.publish_full:
            params["full"] = "1"
        if d.force:
            params["force"] = "1"
        install_at = d.install_at.param(self.clock.time() if now is None else now)
        if install_at is not None:
            params["install_at"] = install_at
        if d.disable_timeout_minutes is not None:
            params["disable_timeout"] = str(d.disable_timeout_minutes)
        if d.disable_percentage is not None:
            params["disable_percentage"] = str(d.disable_percentage)
        return params

    def _job_step(
        self, kind: JobKind, given: int | None, skip: bool, params: Callable[[], dict[str, str]]
    ) -> JobResult | None:
        if given is None and skip:
            return None
        job_id = given if given is not None else self.create(kind, params())
        return self.wait(kind, job_id)

    @property
    def creates_something(self) -> bool:
        d = self.deploy
        return (d.update_id is None and not d.skip_update) or (d.diff_id is None and not d.skip_diff)

    def plan(self) -> list[Call]:
        """Every call this deploy would send, in order, with its parameters; nothing is sent."""
        d = self.deploy
        calls: list[Call] = []
        if self.creates_something and d.game_id is not None:
            calls.append(
                Call(
                    describe_call(
                        "/cfp/v1/image/options", {"gameid": str(d.game_id), "imageid": str(d.image_id)}
                    ),
                    "read: the image's lock, before anything is created",
                )
            )
            if d.on_locked is OnLocked.REJECT:
                calls.append(
                    Call(
                        describe_call(reject_path("<locking diff>"), {"reinstall": REJECT_REINSTALL}),
                        "only if a diff locks the image (--on-locked reject)",
                    )
                )
        if d.update_id is None and not d.skip_update:
            calls.append(
                Call(describe_call(JobKind.IMAGE_UPDATE.create_path(), self._update_params()), "create, once")
            )
        if d.diff_id is None and not d.skip_diff:
            calls.append(
                Call(describe_call(JobKind.IMAGE_DIFF.create_path(), self._diff_params()), "create, once")
            )
        diff = "<new diff id>" if d.diff_id is None else str(d.diff_id)
        if d.version_id is None and not d.skip_version:
            calls.append(
                Call(
                    describe_call(f"/cfp/v1/{JobKind.IMAGE_DIFF.value}/{diff}/status", {"diff_info": "1"}),
                    "read: did it change anything",
                )
            )
            calls.append(
                Call(
                    describe_call(reject_path(diff), {"reinstall": REJECT_REINSTALL}),
                    "only if the diff changes nothing (--on-empty-diff reject, the default)",
                )
            )
            params = {**self._version_params(), "diffid": diff}
            if "install_at" in params and d.install_at.mode is InstallMode.NOW:
                params["install_at"] = "<unix time of the create>"
            calls.append(Call(describe_call(JobKind.IMAGE_VERSION.create_path(), params), "create, once"))
        if d.watches_install:
            asid = self.settings.account_service_id or "<account service id>"
            version = "<new version id>" if d.version_id is None else str(d.version_id)
            calls.append(
                Call(
                    describe_call(f"/cfp/v2/project/{asid}/image/{d.image_id}/status", {})
                    + f" and GET {INSTALL_STATUS_PATH} (target_imageversionid {version})",
                    "read, until the install is proven",
                )
            )
        elif d.install_at.mode is InstallMode.MANUAL and not d.skip_install:
            calls.append(Call("(no install watch)", "install left manual (--install-at manual)"))
        return calls

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
            f"image {d.image_id} options", "/cfp/v1/image/options", params, self.deadline, parse_image_lock
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
        job = self._job_step(JobKind.IMAGE_DIFF, d.diff_id, d.skip_diff, self._diff_params)
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
        self, outcome: Outcome, message: str, exit_code: int | None = None, *, state_name: str | None = None
    ) -> Result:
        return Result(
            update_id=None,
            outcome=outcome,
            exit_code=int(ending_exit_code(outcome)) if exit_code is None else exit_code,
            message=message,
            state_name=state_name,
            polls=self.client.requests_made,
            elapsed_seconds=self.elapsed(),
            warnings=tuple(self.warnings),
            job_kind="deploy",
            jobs=tuple(self.jobs),
            calls=tuple(self.calls),
        )

    def cut_short(self, outcome: Outcome, message: str, exit_code: int) -> Result:
        """The result when a signal or a gate error ends the run; ``message`` gains the resume command."""
        if self.current is not None:
            partial = self.current.cut_short(outcome, message, exit_code)
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
                exit_code,
            )
        if self.advice_given:
            return self.result(outcome, message, exit_code)
        return self.result(outcome, f"{message}; to resume: {self.resume_command()}", exit_code)


STEPS: tuple[JobKind, ...] = (*WAITABLE, JobKind.FLEET_INSTALL)


@dataclass(frozen=True)
class ResumeSetting:
    """How one deploy setting is carried into a resume command.

    ``needed_by``: the steps that read it; it is carried only while one of them is still to
    run. ``style``: ``value`` (``--flag VALUE``), ``switch`` (``--flag`` when true), ``restart``
    (``--restart``/``--no-restart``) or ``variable`` (a secret: named by its environment
    variable, never written out).
    """

    key: str
    flag: str
    needed_by: tuple[JobKind, ...]
    style: str = "value"
    skip_value: object = None


# One row per setting: a new deploy setting is carried by adding its row.
RESUME_SETTINGS: tuple[ResumeSetting, ...] = (
    ResumeSetting("image_id", "--image-id", STEPS),
    ResumeSetting("machine_id", "--machine-id", STEPS),
    ResumeSetting("desc", "--desc", (JobKind.IMAGE_UPDATE,)),
    ResumeSetting("url", "--url", (JobKind.IMAGE_UPDATE,), "variable"),
    ResumeSetting("game_build", "--game-build", (JobKind.IMAGE_VERSION,)),
    ResumeSetting("full", "--full", (JobKind.IMAGE_VERSION,), "switch"),
    ResumeSetting("force", "--force", (JobKind.IMAGE_VERSION,), "switch"),
    # Always carried when given: the version step refuses to start without the choice.
    ResumeSetting("restart", "--restart", STEPS, "restart"),
    ResumeSetting("max_failed_machines", "--max-failed-machines", (JobKind.FLEET_INSTALL,), skip_value=0),
)


def resume_command(
    deploy: DeploySettings, created: Mapping[JobKind, int], next_kind: JobKind | None = None
) -> str:
    """The command that continues a deploy from the ids known so far, never starting a job anew.

    Pure. Each job with an id is waited on again by that id; a job without one is skipped when
    the user skipped it or when a later job is already known (or ``next_kind`` is later), and
    created otherwise. Only the settings the remaining creates and the install need are carried;
    the source URL is named by its variable, never written out.
    """
    ids: dict[JobKind, int | None] = {
        JobKind.IMAGE_UPDATE: deploy.update_id,
        JobKind.IMAGE_DIFF: deploy.diff_id,
        JobKind.IMAGE_VERSION: deploy.version_id,
    }
    ids.update({kind: job_id for kind, job_id in created.items() if kind in ids})
    skipped = {
        JobKind.IMAGE_UPDATE: deploy.skip_update,
        JobKind.IMAGE_DIFF: deploy.skip_diff,
        JobKind.IMAGE_VERSION: deploy.skip_version,
        JobKind.FLEET_INSTALL: deploy.skip_install,
    }
    known = [kind for kind in WAITABLE if ids[kind]] + ([next_kind] if next_kind else [])
    last_known = max((STEPS.index(kind) for kind in known), default=-1)
    parts: list[str] = []
    # The steps still to do something: a create (no id yet) or the install.
    todo: set[JobKind] = set()
    for index, kind in enumerate(STEPS):
        if kind in WAITABLE and ids[kind]:
            parts.append(f"{kind.resume_flag} {ids[kind]}")
        elif kind != next_kind and (skipped[kind] or index < last_known):
            parts.append(f"--skip-{kind.value.removeprefix('image')}")
        else:
            todo.add(kind)
    first: list[str] = []
    rest: list[str] = []
    for setting in RESUME_SETTINGS:
        value = getattr(deploy, setting.key)
        if value is None or value == setting.skip_value:
            continue
        if setting.needed_by != STEPS and not todo & set(setting.needed_by):
            continue
        into = first if setting.key in ("image_id", "machine_id") else rest
        if setting.style == "switch":
            if value:
                into.append(setting.flag)
        elif setting.style == "restart":
            into.append("--restart" if value else "--no-restart")
        elif setting.style == "variable":
            into.append(f'{setting.flag} "${URL_ENV}"')
        else:
            into.append(f"{setting.flag} {shlex.quote(str(value))}")
    return " ".join(["clanforge-gate deploy", *first, *parts, *rest, *deploy_setting_flags(deploy)])


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


def deploy_setting_flags(d: DeploySettings) -> list[str]:
    """The flags of the install, empty-diff and lock settings that differ from their defaults."""
    flags: list[str] = []
    if d.install_at.mode is not InstallMode.NOW:
        flags.append(f"--install-at {d.install_at.setting}")
    if d.disable_timeout_minutes is not None:
        flags.append(f"--disable-timeout {d.disable_timeout_minutes}m")
    if d.disable_percentage is not None:
        flags.append(f"--disable-percentage {d.disable_percentage}")
    if d.game_id is not None:
        flags.append(f"--game-id {d.game_id}")
    if d.on_empty_diff is not OnEmptyDiff.REJECT:
        flags.append(f"--on-empty-diff {d.on_empty_diff.value}")
    if d.on_locked is not OnLocked.FAIL:
        flags.append(f"--on-locked {d.on_locked.value}")
    if d.reject_on_abort:
        flags.append("--reject-on-abort")
    return flags


def describe_call(path: str, params: Mapping[str, str]) -> str:
    """``GET <path>?<params>`` for the result and the plan, the source URL's credentials masked."""
    shown = {k: mask_source_url(v) if k == "url" else v for k, v in params.items()}
    query = "&".join(f"{k}={v}" for k, v in shown.items())
    return f"GET {path}" + (f"?{query}" if query else "")


def reject_path(diff: object) -> str:
    """The reject endpoint of one image diff."""
    return f"/cfp/v1/{JobKind.IMAGE_DIFF.value}/{diff}/reject"
