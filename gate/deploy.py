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
from gate.errors import (
    ApiError,
    Cancelled,
    ConfigError,
    GateError,
    MalformedResponse,
    TimedOut,
    TransientError,
)
from gate.report import Reporter
from gate.result import EXIT_CODES, JobResult, Outcome, Result
from gate.waiter import Waiter

ID_FIELDS = {"imageupdate": "updateid", "imagediff": "diffid", "imageversion": "imageversionid"}
RESUME_FLAGS = {"imageupdate": "--update-id", "imagediff": "--diff-id", "imageversion": "--version-id"}
LOCKED = re.compile(r"locked by diffid:?\s*([0-9]{1,20})", re.IGNORECASE)
INSTALL_KIND = "imageinstall"
# How long an image status of 0 pending, 0 completed, 0 failed must last to count as "nothing to install".
EMPTY_FLEET_SETTLE = 30.0


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


def _count(value: object, setting: str) -> int:
    text = ascii_digits(value)
    if text is None:
        raise ConfigError(f"{setting}: {shown(value)} is not a whole number of machines (0 or more)")
    return int(text)


def load_deploy_settings(
    args: argparse.Namespace, env: Mapping[str, str], yaml_values: Mapping[str, Any], settings: Settings
) -> DeploySettings:
    """Read the deploy settings by the usual precedence and check that the chain can run."""
    raw = {option.key: lookup(args, env, yaml_values, option) for option in DEPLOY_OPTIONS}
    ids = {k: parse_job_id(raw[k], k) if raw[k] is not None else None for k in ("image_id", "machine_id")}
    resume = {k: parse_job_id(raw[k], k) if raw[k] is not None else None for k in ("diff_id", "version_id")}
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
    )
    _check_chain(deploy)
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
    if not d.skip_install:
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
    created: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.started = self.clock.monotonic()
        self.deadline = self.started + self.settings.timeout
        self.current: Waiter | None = None
        # Set when an error's own message already says how to go on (a generic resume would mislead).
        self.advice_given = False
        # The kind of job whose create was under way when a signal came, if any.
        self.creating: str | None = None

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

    def resume_command(self, next_kind: str | None = None) -> str:
        """The command that picks the chain up from the ids known so far (see ``resume_command``)."""
        return resume_command(self.deploy, self.created, next_kind)

    def create(self, kind: str, params: dict[str, str]) -> int:
        label = f"{kind} create"
        try:
            body = self.client.create(label, f"/cfp/v1/{kind}/create", params, self.deadline)
        except Cancelled:
            # The request may have reached the API: the job may exist without our knowing its id.
            self.creating = kind
            raise
        except (TransientError, TimedOut) as exc:
            self.advice_given = True
            raise CreateUncertain(
                f"{label} for image {self.deploy.image_id} got no clear answer ({exc}); the job may have "
                "started anyway: check the image in the Clanforge dashboard before running again, "
                f"then resume with '{self.resume_command(kind)} {RESUME_FLAGS[kind]} <id>' if it started"
            ) from exc
        except ApiError as exc:
            locked = LOCKED.search(str(exc))
            if locked:
                diff = locked.group(1)
                self.advice_given = True
                raise ImageLocked(
                    f"image {self.deploy.image_id} is locked by diff {diff}: that diff was neither "
                    f"published nor rejected; publish it with '{self.resume_command('imageversion')} "
                    f"--diff-id {diff}', or reject it in the Clanforge dashboard and run again"
                ) from exc
            raise
        value = body.get(ID_FIELDS[kind])
        text = ascii_digits(value)
        if text is None or int(text) <= 0:
            self.advice_given = True
            said = api_text(shown(value), self.client.masker)
            raise CreateUncertain(
                f"{label} answered without a {ID_FIELDS[kind]} ({said}); "
                "the job may have started: "
                "check the image in the Clanforge dashboard before running again"
            )
        job_id = int(text)
        self.created[kind] = job_id
        self.reporter.progress(f"{JobRef(kind, job_id).label}: started; to resume: {self.resume_command()}")
        self.reporter.created(kind, job_id)
        return job_id

    # -- wait ------------------------------------------------------------------------------------

    def wait(self, kind: str, job_id: int) -> JobResult:
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
        """Poll the image status until no machine is pending; judge the failed machines."""
        image_id = self.deploy.image_id
        assert image_id is not None
        label = f"image {image_id} install"
        path = f"/cfp/v2/project/{self.settings.account_service_id}/image/{image_id}/status"
        empty_since: float | None = None
        shown: tuple[int, int, int] | None = None
        counts = (0, 0, 0)
        polls_before = self.client.requests_made
        while True:
            try:
                counts = self.client.read(label, path, {}, self.deadline, _machine_counts)
            except TimedOut as exc:
                return self._install_timed_out(label, counts, polls_before, str(exc))
            pending, failed, completed = counts
            if counts != shown:
                self.reporter.progress(
                    f"{label}: {_counts_text(counts)} · {format_duration(self.elapsed())} elapsed"
                )
                shown = counts
            now = self.clock.monotonic()
            empty = pending == failed == completed == 0
            empty_since = (empty_since if empty_since is not None else now) if empty else None
            # Right after a version is published the fleet may not be marked pending yet: an empty
            # fleet is only taken as done once it has stayed empty for a while (no false green).
            if pending == 0 and (
                not empty or (empty_since is not None and now - empty_since >= EMPTY_FLEET_SETTLE)
            ):
                break
            remaining = self.deadline - self.clock.monotonic()
            delay = self.settings.poll_interval * self.rng.uniform(0.9, 1.0)
            if remaining <= 0:
                return self._install_timed_out(label, counts, polls_before)
            self.clock.sleep(min(delay, remaining))
        if failed > self.deploy.max_failed_machines:
            return self._install_result(
                Outcome.FAILED,
                f"{label}: {failed} machines failed to install, more than max_failed_machines="
                f"{self.deploy.max_failed_machines} ({_counts_text(counts)})",
                counts,
                polls_before,
            )
        if failed:
            self.warnings.append(f"{label}: {failed} disabled machines could not install")
            self.reporter.warning(self.warnings[-1])
        return self._install_result(
            Outcome.SUCCEEDED, f"{label}: done ({_counts_text(counts)})", counts, polls_before
        )

    def _install_timed_out(
        self, label: str, counts: tuple[int, int, int], polls_before: int, detail: str = ""
    ) -> JobResult:
        extra = f"; {detail}" if detail else ""
        return self._install_result(
            Outcome.TIMED_OUT,
            f"{label}: timed out after {format_duration(self.elapsed())} ({_counts_text(counts)}{extra}); "
            f"machines may still be installing: {self.resume_command(INSTALL_KIND)}",
            counts,
            polls_before,
        )

    def _install_result(
        self, outcome: Outcome, message: str, counts: tuple[int, int, int], polls_before: int
    ) -> JobResult:
        pending, failed, completed = counts
        total = pending + failed + completed
        job = JobResult(
            kind=INSTALL_KIND,
            job_id=self.deploy.image_id or 0,
            outcome=outcome,
            message=message,
            state_name=_counts_text(counts),
            progress=round(100 * (completed + failed) / total) if total else None,
            polls=self.client.requests_made - polls_before,
            elapsed_seconds=self.elapsed(),
        )
        self.jobs.append(job)
        return job

    # -- the chain -------------------------------------------------------------------------------

    def steps(self) -> list[tuple[str, Callable[[], JobResult | None]]]:
        d = self.deploy
        return [
            (
                "imageupdate",
                lambda: self._job_step("imageupdate", d.update_id, d.skip_update, self._update_params),
            ),
            ("imagediff", lambda: self._job_step("imagediff", d.diff_id, d.skip_diff, self._diff_params)),
            (
                "imageversion",
                lambda: self._job_step("imageversion", d.version_id, d.skip_version, self._version_params),
            ),
            (INSTALL_KIND, lambda: None if d.skip_install else self.watch_install()),
        ]

    def _update_params(self) -> dict[str, str]:
        d = self.deploy
        params = {"imageid": str(d.image_id), "machineid": str(d.machine_id), "desc": d.desc or ""}
        if d.url:
            params["url"] = d.url
        return params

    def _diff_params(self) -> dict[str, str]:
        d = self.deploy
        return {"imageid": str(d.image_id), "machineid": str(d.machine_id)}

    def _version_params(self) -> dict[str, str]:
        d = self.deploy
        diff = self.created.get("imagediff") or d.diff_id
        params = {"diffid": str(diff), "restart": "1" if d.restart else "0"}
        if d.game_build:
            params["game_build"] = d.game_build
        if d.full:
            params["full"] = "1"
        if d.force:
            params["force"] = "1"
        return params

    def _job_step(
        self, kind: str, given: int | None, skip: bool, params: Callable[[], dict[str, str]]
    ) -> JobResult | None:
        if given is None and skip:
            return None
        job_id = given if given is not None else self.create(kind, params())
        return self.wait(kind, job_id)

    def run(self) -> Result:
        """Run each step in turn; stop at the first that does not succeed."""
        for _, step in self.steps():
            job = step()
            if job is not None and job.outcome is not Outcome.SUCCEEDED:
                return self.result(job.outcome, f"{self.label}: stopped: {job.message}")
        done = " -> ".join(f"{j.label} {j.outcome.value}" for j in self.jobs) or "nothing to do"
        return self.result(
            Outcome.SUCCEEDED, f"{self.label}: succeeded after {format_duration(self.elapsed())}: {done}"
        )

    def result(self, outcome: Outcome, message: str, exit_code: int | None = None) -> Result:
        return Result(
            update_id=None,
            outcome=outcome,
            exit_code=EXIT_CODES[outcome] if exit_code is None else exit_code,
            message=message,
            polls=self.client.requests_made,
            elapsed_seconds=self.elapsed(),
            warnings=tuple(self.warnings),
            job_kind="deploy",
            jobs=tuple(self.jobs),
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
                label = JobRef(kind, job_id).label
                self.jobs.append(
                    JobResult(
                        kind, job_id, outcome, f"{label}: started; may still be running", elapsed_seconds=0.0
                    )
                )
        if self.creating is not None:
            kind = self.creating
            return self.result(
                outcome,
                f"{message}; the {kind} create had been sent and may have started: check the image "
                f"in the Clanforge dashboard before running again, then resume with "
                f"'{self.resume_command(kind)} {RESUME_FLAGS[kind]} <id>' if it started, or "
                f"'{self.resume_command()}' if it did not",
                exit_code,
            )
        if self.advice_given:
            return self.result(outcome, message, exit_code)
        return self.result(outcome, f"{message}; to resume: {self.resume_command()}", exit_code)


STEPS = (*RESUME_FLAGS, INSTALL_KIND)


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
    needed_by: tuple[str, ...]
    style: str = "value"
    skip_value: object = None


# One row per setting: a new deploy setting is carried by adding its row.
RESUME_SETTINGS: tuple[ResumeSetting, ...] = (
    ResumeSetting("image_id", "--image-id", STEPS),
    ResumeSetting("machine_id", "--machine-id", STEPS),
    ResumeSetting("desc", "--desc", ("imageupdate",)),
    ResumeSetting("url", "--url", ("imageupdate",), "variable"),
    ResumeSetting("game_build", "--game-build", ("imageversion",)),
    ResumeSetting("full", "--full", ("imageversion",), "switch"),
    ResumeSetting("force", "--force", ("imageversion",), "switch"),
    # Always carried when given: the version step refuses to start without the choice.
    ResumeSetting("restart", "--restart", STEPS, "restart"),
    ResumeSetting("max_failed_machines", "--max-failed-machines", (INSTALL_KIND,), skip_value=0),
)


def resume_command(deploy: DeploySettings, created: Mapping[str, int], next_kind: str | None = None) -> str:
    """The command that continues a deploy from the ids known so far, never starting a job anew.

    Pure. Each job with an id is waited on again by that id; a job without one is skipped when
    the user skipped it or when a later job is already known (or ``next_kind`` is later), and
    created otherwise. Only the settings the remaining creates and the install need are carried;
    the source URL is named by its variable, never written out.
    """
    ids: dict[str, int | None] = {
        "imageupdate": deploy.update_id,
        "imagediff": deploy.diff_id,
        "imageversion": deploy.version_id,
    }
    ids.update({kind: job_id for kind, job_id in created.items() if kind in ids})
    skipped = {
        "imageupdate": deploy.skip_update,
        "imagediff": deploy.skip_diff,
        "imageversion": deploy.skip_version,
        INSTALL_KIND: deploy.skip_install,
    }
    known = [kind for kind in RESUME_FLAGS if ids[kind]] + ([next_kind] if next_kind else [])
    last_known = max((STEPS.index(kind) for kind in known), default=-1)
    parts: list[str] = []
    # The steps still to do something: a create (no id yet) or the install.
    todo: set[str] = set()
    for index, kind in enumerate(STEPS):
        if kind in RESUME_FLAGS and ids[kind]:
            parts.append(f"{RESUME_FLAGS[kind]} {ids[kind]}")
        elif kind != next_kind and (skipped[kind] or index < last_known):
            parts.append(f"--skip-{kind.removeprefix('image')}")
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
    return " ".join(["clanforge-gate deploy", *first, *parts, *rest])


def _machine_counts(body: Mapping[str, Any]) -> tuple[int, int, int]:
    values = []
    for key in ("pending_machines", "failed_machines", "completed_machines"):
        value = body.get(key, 0 if key != "pending_machines" else None)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise MalformedResponse(f"image status field {key!r} is {value!r}, not a count")
        values.append(value)
    return values[0], values[1], values[2]


def _counts_text(counts: tuple[int, int, int]) -> str:
    pending, failed, completed = counts
    return f"{completed} completed, {pending} pending, {failed} failed"
