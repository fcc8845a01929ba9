"""``clanforge-gate check``: prove a pipeline's setup without changing anything.

Resolves the host and the auth scheme, makes one harmless authenticated read, and with an image id
reads the image's lock and install and shows the deploy plan: every call ``deploy`` would send,
credentials masked. Nothing here sends a create or a reject.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gate.client import StatusClient
from gate.clock import Clock
from gate.config import Settings
from gate.deploy.chain import Deployer
from gate.deploy.choices import OnLocked
from gate.deploy.fleet_state import FleetCounts, parse_fleet_counts
from gate.deploy.image_state import ImageLock
from gate.deploy.settings import DeploySettings
from gate.durations import format_duration
from gate.ending import Outcome
from gate.errors import GateError, TimedOut
from gate.kinds import JobKind, RunCommand
from gate.report import Reporter
from gate.result import Call, Result

# The harmless authenticated read: the account's unfinished install jobs (GET, changes nothing).
PROBE_PATH = f"/cfp/v1/{JobKind.FLEET_INSTALL.value}/status"


def _install_count(body: Mapping[str, Any]) -> int:
    installs = body.get("installs")
    return len(installs) if isinstance(installs, list) else 0


@dataclass
class Checker:
    """Runs the checks; ``deploy`` is None without an image id, ``chain_error`` when deploy would refuse."""

    client: StatusClient
    settings: Settings
    deploy: DeploySettings | None
    chain_error: str | None
    clock: Clock
    reporter: Reporter
    # The run's overall deadline (Settings.deadline with check=True), the deploy plan's too.
    deadline: float
    lines: list[str] = field(default_factory=list)
    plan: list[Call] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.started = self.clock.monotonic()

    @property
    def label(self) -> str:
        return "check"

    def last_seen(self) -> str:
        return f"{len(self.lines)} checks done"

    def say(self, line: str) -> None:
        self.lines.append(line)
        self.reporter.progress(line)

    def run(self) -> Result:
        s = self.settings
        asid = s.account_service_id or "none given (the token names the account)"
        self.say(f"host {s.api_url}: {s.credentials.scheme.capitalize()} auth from {s.credentials.env_hint}")
        self.say(f"account service id: {asid}")
        try:
            installs = self.client.read("check", PROBE_PATH, {}, self.deadline, _install_count)
        except TimedOut as exc:
            return self._not_ready(f"no usable answer from {s.api_url} ({exc}); check --api-url")
        except GateError as exc:
            return self._not_ready(f"credentials or account not accepted: {exc}")
        self.say(f"credentials and account accepted (GET {PROBE_PATH}: {installs} unfinished install jobs)")
        if self.deploy is None or self.deploy.image_id is None:
            return self._ready("credentials and account accepted")
        return self._check_image(self.deploy)

    def _check_image(self, d: DeploySettings) -> Result:
        deployer = Deployer(self.client, self.settings, d, self.clock, self.reporter, self.deadline)
        lock: ImageLock | None = None
        try:
            if d.game_id is not None:
                lock = deployer.read_lock()
                self.say(f"image {d.image_id}: {lock.text}")
            else:
                self.say(f"image {d.image_id}: lock not read (give --game-id to read it before a deploy)")
            if self.settings.account_service_id is not None:
                path = f"/cfp/v2/project/{self.settings.account_service_id}/image/{d.image_id}/status"
                counts: FleetCounts = self.client.read(
                    f"image {d.image_id} status", path, {}, self.deadline, parse_fleet_counts
                )
                unfinished = f"{counts.pending} machines pending" if counts.pending else "none"
                self.say(f"image {d.image_id}: unfinished install: {unfinished} ({counts.text})")
        except TimedOut as exc:
            return self._not_ready(f"image {d.image_id}: no usable answer ({exc})")
        except GateError as exc:
            return self._not_ready(str(exc))
        self.plan = deployer.plan()
        self.say("deploy plan (nothing sent):")
        for call in self.plan:
            self.say(f"  {call.request}  [{call.answer}]")
        reasons = [] if self.chain_error is None else [f"deploy would refuse to start: {self.chain_error}"]
        if lock is not None and lock.locked:
            ours = lock.diff_id is not None and lock.diff_id == d.diff_id
            rejectable = lock.diff_id is not None and d.on_locked is OnLocked.REJECT
            if not ours and not rejectable:
                reasons.append(
                    f"image {d.image_id} is {lock.text}: deploy would stop before creating anything; "
                    "publish or reject it first (or deploy with --on-locked reject, for a diff)"
                )
        if reasons:
            return self._not_ready("; ".join(reasons))
        return self._ready(f"image {d.image_id} can be deployed")

    def _ready(self, what: str) -> Result:
        return self._result(Outcome.SUCCEEDED, f"check: ready: {what} ({format_duration(self._elapsed())})")

    def _not_ready(self, reason: str) -> Result:
        return self._result(Outcome.ERROR, f"check: not ready: {reason}")

    def _elapsed(self) -> float:
        return self.clock.monotonic() - self.started

    def _result(self, outcome: Outcome, message: str, signum: int | None = None) -> Result:
        return Result(
            update_id=None,
            outcome=outcome,
            message=message,
            state_name="ready" if outcome is Outcome.SUCCEEDED else "not ready",
            polls=self.client.requests_made,
            elapsed_seconds=self._elapsed(),
            job_kind=RunCommand.CHECK,
            calls=tuple(self.plan),
            signum=signum,
        )

    def cut_short(self, outcome: Outcome, message: str, signum: int | None = None) -> Result:
        return self._result(outcome, message, signum)
