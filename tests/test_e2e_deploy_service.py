"""What a real deploy needs, end to end over HTTP: the install asked for and proven, empty diffs,
locks, the new operator's host and ``check``.

The gate runs in-process against a simulator on 127.0.0.1; both read one fake clock, so a fleet
that stays unmarked for 45 s or a deadline of minutes passes in milliseconds, over real HTTP.
"""

from __future__ import annotations

import io
import json
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from gate.cli import main
from gate.errors import Cancelled
from gate.sim import (
    FLEET_SIZE,
    FOREIGN_VERSION_ID,
    GAME_ID,
    LOCKED_DIFF_ID,
    LOCKING_UPDATE_ID,
    UNMARKED_SECONDS,
    DeployScenario,
    Simulator,
)
from tests.e2e_support import (
    CHAIN,
    DIFF,
    IMAGE,
    ROOT,
    VERSION,
    assert_no_secret,
    basic_env,
    finish,
    gate_argv,
    jobs,
)
from tests.e2e_support import Run as SupportRun
from tests.fakes import ACCESS, ASID, SECRET, TOKEN, FakeClock, parse_output_file

# Real processes and a real server in real time: left out of the quick run (-m "not e2e").
pytestmark = pytest.mark.e2e

DURATION = 10.0
BASIC_ENV = {"CLANFORGE_ACCESS_KEY": ACCESS, "CLANFORGE_SECRET_KEY": SECRET}


class Run(SupportRun):
    """A run, with the state-changing calls it listed."""

    def calls(self) -> list[str]:
        return [call["request"].split("?")[0] for call in self.result["calls"]]


class Harness:
    """One simulator and the gate, in-process, on one fake clock."""

    def __init__(self, sim: Simulator, clock: FakeClock, tmp_path: Path) -> None:
        self.sim, self.clock, self.tmp_path = sim, clock, tmp_path
        self.runs = 0

    def run(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        asid: str | None = ASID,
        timeout: str = "10m",
        clock: FakeClock | None = None,
    ) -> Run:
        self.runs += 1
        result_file = self.tmp_path / f"result-{self.runs}.json"
        argv = [*args, "--api-url", self.sim.base_url, "--timeout", timeout, "--poll-interval", "5s"]
        argv += ["--result-file", str(result_file)]
        if asid is not None:
            argv += ["--account-service-id", asid]
        out, err = io.StringIO(), io.StringIO()
        code = main(argv, env=env or BASIC_ENV, stdout=out, stderr=err, clock=clock or self.clock)
        raw = result_file.read_text(encoding="utf-8")
        assert_no_secret(out.getvalue(), err.getvalue(), raw)
        return Run(code, out.getvalue(), err.getvalue(), json.loads(raw))

    def endpoint(self, name: str) -> int:
        return self.sim.endpoint_count(name)


@pytest.fixture
def harness(simulator: Callable[..., Simulator], tmp_path: Path) -> Harness:
    clock = FakeClock()
    sim = simulator(DURATION, clock=clock.time)
    return Harness(sim, clock, tmp_path)


# --------------------------------------------------------------------------- the install


def test_the_install_is_asked_for_now_and_proven(harness: Harness) -> None:
    image = IMAGE[DeployScenario.DEPLOY]
    run = harness.run("deploy", "--image-id", str(image), *CHAIN)
    assert run.code == 0, run.output
    version_create = next(c for c in run.result["calls"] if "/imageversion/create" in c["request"])
    install_at = version_create["request"].split("install_at=")[1].split("&")[0]
    # "now": the wall time of the create, on the clock the gate and the simulator share.
    assert abs(int(install_at) - harness.clock.time()) < 120
    assert version_create["answer"] == f"ok: imageversionid {VERSION}"
    assert f"{FLEET_SIZE} completed, 0 pending, 0 failed" in run.stdout
    assert f"unfinished install jobs for version {VERSION} (1 of other versions ignored)" in run.stdout
    assert jobs(run)[-1] == ("imageinstall", image, "succeeded")
    # Every state-changing call is listed once, with its answer.
    assert run.calls() == [
        "GET /cfp/v1/imageupdate/create",
        "GET /cfp/v1/imagediff/create",
        "GET /cfp/v1/imageversion/create",
    ]
    assert [harness.sim.create_count(k) for k in ("imageupdate", "imagediff", "imageversion")] == [1, 1, 1]


def test_a_version_without_install_at_installs_nothing(harness: Harness) -> None:
    sim, clock = harness.sim, harness.clock
    image = IMAGE[DeployScenario.DEPLOY]
    auth = requests.auth.HTTPBasicAuth(ACCESS, SECRET)

    def get(path: str, **params: object) -> dict[str, Any]:
        query = {"accountserviceid": ASID, **{k: str(v) for k, v in params.items()}}
        body: dict[str, Any] = requests.get(
            f"{sim.base_url}{path}", params=query, auth=auth, timeout=5
        ).json()
        return body

    diff = get("/cfp/v1/imagediff/create", imageid=image, machineid=9)["diffid"]
    clock.advance(DURATION)
    version = get("/cfp/v1/imageversion/create", diffid=diff, restart=1)["imageversionid"]
    clock.advance(100 * DURATION)
    assert get(f"/cfp/v1/imageversion/{version}/status")["jobstatename"] == "Complete"
    status = get(f"/cfp/v2/project/{ASID}/image/{image}/status")
    assert (status["pending_machines"], status["completed_machines"]) == (0, 0)
    targets = {job["target_imageversionid"] for job in get("/cfp/v1/imageinstall/status")["installs"]}
    assert targets == {FOREIGN_VERSION_ID}


def test_install_at_manual_ends_after_the_version(harness: Harness) -> None:
    image = IMAGE[DeployScenario.DEPLOY]
    run = harness.run("deploy", "--image-id", str(image), *CHAIN, "--install-at", "manual")
    assert run.code == 0, run.output
    assert "install left manual" in run.final and "the fleet was not watched" in run.final
    version_create = next(c["request"] for c in run.result["calls"] if "/imageversion/create" in c["request"])
    assert "install_at" not in version_create
    assert harness.endpoint("image/status") == 0 and harness.endpoint("imageinstall/status") == 0
    assert jobs(run)[-1] == ("imageversion", VERSION, "succeeded")


def test_install_at_a_unix_time_and_the_disable_settings_are_sent(harness: Harness) -> None:
    image = IMAGE[DeployScenario.DEPLOY]
    at = int(harness.clock.time()) + 120
    env = {**BASIC_ENV, "CLANFORGE_INSTALL_AT": str(at), "CLANFORGE_DISABLE_PERCENTAGE": "20"}
    run = harness.run("deploy", "--image-id", str(image), *CHAIN, "--disable-timeout", "4h", env=env)
    assert run.code == 0, run.output
    version_create = next(c["request"] for c in run.result["calls"] if "/imageversion/create" in c["request"])
    assert f"install_at={at}" in version_create
    assert "disable_timeout=240" in version_create and "disable_percentage=20" in version_create
    # The install starts at that time, not before: the watch saw the version's jobs wait.
    assert harness.clock.time() >= at


def test_a_fleet_unmarked_for_longer_than_30s_is_not_installed(harness: Harness) -> None:
    image = IMAGE[DeployScenario.FLEET_UNMARKED]
    # The chain takes about 3 x DURATION; the deadline falls inside the 45 s the fleet stays unmarked.
    run = harness.run("deploy", "--image-id", str(image), *CHAIN, timeout="70s")
    assert run.code == 2, run.output
    assert "not counted as installed" not in run.output  # install jobs wait: it is installing, not done
    assert (
        f"0 completed, 0 pending, 0 failed; {FLEET_SIZE} unfinished install jobs for version {VERSION}"
        in run.stdout
    )
    assert "image status: 0 completed, 0 pending, 0 failed" in run.final
    assert f"imageinstall status: {FLEET_SIZE} unfinished install jobs for version {VERSION}" in run.final
    assert "timed out" in run.final and jobs(run)[-1] == ("imageinstall", image, "timed_out")
    watch = next(job for job in run.result["jobs"] if job["kind"] == "imageinstall")
    assert watch["polls"] > 2 * 6  # more than 30 s of 5 s polls, each reading both endpoints


def test_a_fleet_unmarked_for_a_while_is_followed_to_the_end(harness: Harness) -> None:
    image = IMAGE[DeployScenario.FLEET_UNMARKED]
    run = harness.run("deploy", "--image-id", str(image), *CHAIN)
    assert run.code == 0, run.output
    lines = run.stdout.splitlines()
    unmarked = next(
        i for i, line in enumerate(lines) if f"0 pending, 0 failed; {FLEET_SIZE} unfinished" in line
    )
    done = next(i for i, line in enumerate(lines) if f"{FLEET_SIZE} completed, 0 pending" in line)
    assert unmarked < done
    assert jobs(run)[-1] == ("imageinstall", image, "succeeded")
    # The install step reports its own time: it was followed through the unmarked stretch.
    assert run.result["jobs"][-1]["elapsed_seconds"] > UNMARKED_SECONDS


def test_an_install_that_never_starts_is_a_timeout_naming_both_readings(harness: Harness) -> None:
    image = IMAGE[DeployScenario.INSTALL_NEVER_STARTS]
    run = harness.run("deploy", "--image-id", str(image), *CHAIN, timeout="5m")
    assert run.code == 2, run.output
    assert "nothing pending, nothing completed and no install job" in run.stdout
    assert "not counted as installed" in run.stdout
    assert "image status: 0 completed, 0 pending, 0 failed" in run.final
    assert f"imageinstall status: 0 unfinished install jobs for version {VERSION}" in run.final
    assert "may not have started" in run.final
    assert run.result["outcome"] == "timed_out"


# --------------------------------------------------------------------------- empty diffs


def test_a_rerun_on_an_unchanged_build_changes_nothing(harness: Harness, tmp_path: Path) -> None:
    image = IMAGE[DeployScenario.EMPTY_DIFF]
    outputs = tmp_path / "github-output"
    env = {**BASIC_ENV, "GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(outputs)}
    for attempt in (1, 2):
        run = harness.run("deploy", "--image-id", str(image), *CHAIN, "--game-id", str(GAME_ID), env=env)
        assert run.code == 0, run.output
        assert "nothing changed" in run.final and "no version made, nothing restarted" in run.final
        assert run.result["state_name"] == "nothing changed" and run.result["outcome"] == "succeeded"
        diff = DIFF + attempt - 1
        assert run.result["calls"][-1] == {
            "request": f"GET /cfp/v1/imagediff/{diff}/reject?reinstall=0",
            "answer": f"ok: diffid {diff}",
        }
        # Not left locked: the next run reads no lock and its creates are not refused.
        assert harness.sim.lock_of(image) is None
        assert f"image {image}: not locked" in run.stdout
        assert parse_output_file(outputs.read_text(encoding="utf-8"))["state"] == "nothing changed"
    assert harness.sim.create_count("imageversion") == 0
    assert harness.endpoint("image/status") == 0  # no fleet restarted, none watched
    assert harness.sim.rejected() == [DIFF, DIFF + 1]


def test_an_empty_diff_can_be_published_as_a_full_version(harness: Harness) -> None:
    image = IMAGE[DeployScenario.EMPTY_DIFF]
    run = harness.run("deploy", "--image-id", str(image), *CHAIN, "--on-empty-diff", "publish")
    assert run.code == 0, run.output
    version_create = next(c["request"] for c in run.result["calls"] if "/imageversion/create" in c["request"])
    assert "full=1" in version_create
    assert harness.sim.rejected() == [] and jobs(run)[-1] == ("imageinstall", image, "succeeded")


def test_a_diff_without_a_file_list_is_not_taken_as_empty(harness: Harness) -> None:
    image = IMAGE[DeployScenario.NO_FILE_LIST]
    run = harness.run("deploy", "--image-id", str(image), *CHAIN)
    assert run.code == 0, run.output
    assert "whether it changed anything is unknown" in run.stdout
    assert harness.sim.rejected() == [] and harness.sim.created("imageversion") == [VERSION]


# --------------------------------------------------------------------------- locks


def test_a_locked_image_fails_before_anything_is_created(harness: Harness) -> None:
    image = IMAGE[DeployScenario.IMAGE_LOCKED]
    run = harness.run("deploy", "--image-id", str(image), *CHAIN, "--game-id", str(GAME_ID))
    assert run.code == 3, run.output
    assert f"image {image} is locked by diff {LOCKED_DIFF_ID}" in run.stderr
    assert f"--diff-id {LOCKED_DIFF_ID}" in run.stderr and "--on-locked reject" in run.stderr
    assert sum(harness.sim.create_count(k) for k in ("imageupdate", "imagediff", "imageversion")) == 0
    assert harness.endpoint("imagediff/reject") == 0 and run.result["calls"] == []


def test_on_locked_reject_rejects_the_locking_diff_then_deploys(harness: Harness) -> None:
    image = IMAGE[DeployScenario.IMAGE_LOCKED]
    run = harness.run(
        "deploy", "--image-id", str(image), *CHAIN, "--game-id", str(GAME_ID), "--on-locked", "reject"
    )
    assert run.code == 0, run.output
    assert run.calls()[0] == f"GET /cfp/v1/imagediff/{LOCKED_DIFF_ID}/reject"
    assert run.result["calls"][0]["answer"] == f"ok: diffid {LOCKED_DIFF_ID}"
    assert harness.sim.rejected() == [LOCKED_DIFF_ID]
    assert jobs(run)[-1] == ("imageinstall", image, "succeeded")


def test_an_update_lock_is_never_rejected(harness: Harness) -> None:
    image = IMAGE[DeployScenario.UPDATE_LOCKED]
    run = harness.run(
        "deploy", "--image-id", str(image), *CHAIN, "--game-id", str(GAME_ID), "--on-locked", "reject"
    )
    assert run.code == 3, run.output
    assert f"image {image} is locked by update {LOCKING_UPDATE_ID}" in run.stderr
    assert f"--update-id {LOCKING_UPDATE_ID}" in run.stderr
    assert harness.endpoint("imagediff/reject") == 0 and harness.sim.create_count("imageupdate") == 0


def test_on_locked_reject_needs_the_game_id(harness: Harness) -> None:
    run = harness.run("deploy", "--image-id", "2002", *CHAIN, "--on-locked", "reject")
    assert run.code == 3 and "--on-locked reject needs --game-id" in run.stderr
    assert harness.sim.stats()["total"] == 0


class CancelWhenDiffEnds(FakeClock):
    """Sends SIGTERM (as ``Cancelled``) during the sleep in which the created diff completes."""

    def __init__(self) -> None:
        super().__init__()
        self.sim: Simulator | None = None
        self.diff_created_at: float | None = None

    def sleep(self, seconds: float) -> None:
        assert self.sim is not None
        if self.diff_created_at is None and self.sim.created("imagediff"):
            self.diff_created_at = self.wall
        super().sleep(seconds)
        if self.diff_created_at is not None and self.wall >= self.diff_created_at + DURATION:
            raise Cancelled(signal.SIGTERM)


def test_reject_on_abort_unlocks_the_image(simulator: Callable[..., Simulator], tmp_path: Path) -> None:
    cancel = CancelWhenDiffEnds()
    sim = cancel.sim = simulator(DURATION, clock=cancel.time)
    harness = Harness(sim, cancel, tmp_path)
    image = IMAGE[DeployScenario.DEPLOY]
    run = harness.run("deploy", "--image-id", str(image), *CHAIN, "--reject-on-abort", clock=cancel)
    assert run.code == 143, run.output
    assert sim.create_count("imageversion") == 0
    assert run.result["calls"][-1] == {
        "request": f"GET /cfp/v1/imagediff/{DIFF}/reject?reinstall=0",
        "answer": f"ok: diffid {DIFF}",
    }
    assert sim.rejected() == [DIFF] and sim.lock_of(image) is None
    assert "--reject-on-abort" in run.stderr  # the resume command keeps the setting


def test_without_reject_on_abort_the_diff_is_left_alone(
    simulator: Callable[..., Simulator], tmp_path: Path
) -> None:
    cancel = CancelWhenDiffEnds()
    sim = cancel.sim = simulator(DURATION, clock=cancel.time)
    harness = Harness(sim, cancel, tmp_path)
    run = harness.run("deploy", "--image-id", "2001", *CHAIN, clock=cancel)
    assert run.code == 143, run.output
    assert sim.rejected() == [] and sim.lock_of(2001) == ("diffid", DIFF)


def test_reject_on_abort_of_a_running_diff_is_refused_and_said(harness: Harness) -> None:
    run = harness.run("deploy", "--image-id", "2001", *CHAIN, "--reject-on-abort", timeout="15s")
    assert run.code == 2, run.output
    assert run.result["calls"][-1]["request"] == f"GET /cfp/v1/imagediff/{DIFF}/reject?reinstall=0"
    assert run.result["calls"][-1]["answer"].startswith("error:")
    assert any("reject on abort refused" in w for w in run.result["warnings"])


# --------------------------------------------------------------------------- the new operator's host


def test_a_bearer_token_needs_no_account_service_id(harness: Harness) -> None:
    image = IMAGE[DeployScenario.BEARER_HOST]
    env = {"CLANFORGE_TOKEN": TOKEN}
    run = harness.run(
        "deploy", "--image-id", str(image), *CHAIN, "--install-at", "manual", env=env, asid=None
    )
    assert run.code == 0, run.output
    assert harness.sim.created("imageversion") == [VERSION]


def test_a_bearer_token_without_account_cannot_watch_the_install(harness: Harness) -> None:
    run = harness.run("deploy", "--image-id", "2012", *CHAIN, env={"CLANFORGE_TOKEN": TOKEN}, asid=None)
    assert run.code == 3 and "watching the fleet install needs --account-service-id" in run.stderr
    assert harness.sim.stats()["total"] == 0


def test_basic_auth_still_needs_the_account_service_id(harness: Harness) -> None:
    run = harness.run("deploy", "--image-id", "2012", *CHAIN, "--install-at", "manual", asid=None)
    assert run.code == 3 and "account_service_id is required" in run.stderr


# --------------------------------------------------------------------------- check


def test_check_says_ready_with_good_credentials(harness: Harness) -> None:
    run = harness.run("check")
    assert run.code == 0, run.output
    assert "credentials and account accepted" in run.stdout and run.final.startswith("check: ready")
    assert harness.endpoint("imageinstall/status") == 1


def test_check_says_not_ready_with_bad_credentials(harness: Harness) -> None:
    env = {"CLANFORGE_ACCESS_KEY": ACCESS, "CLANFORGE_SECRET_KEY": "wrong-secret-1234"}
    run = harness.run("check", env=env)
    assert run.code == 3, run.output
    assert "check: not ready: credentials or account not accepted" in run.final and "HTTP 401" in run.final


def test_check_with_a_bearer_token_and_no_account(harness: Harness) -> None:
    run = harness.run("check", env={"CLANFORGE_TOKEN": TOKEN}, asid=None)
    assert run.code == 0, run.output
    assert "Bearer auth" in run.stdout and "none given (the token names the account)" in run.stdout


def test_check_shows_the_plan_and_sends_nothing(harness: Harness, tmp_path: Path) -> None:
    image = IMAGE[DeployScenario.DEPLOY]
    url = "s3://AKIAEXAMPLE:se/cr+et@builds/42.zip"
    outputs = tmp_path / "github-output"
    env = {**BASIC_ENV, "GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(outputs)}
    run = harness.run(
        "check", "--image-id", str(image), *CHAIN, "--game-id", str(GAME_ID), "--url", url, env=env
    )
    assert run.code == 0, run.output
    for secret in ("AKIAEXAMPLE", "se/cr+et", "se%2Fcr%2Bet"):
        assert secret not in run.output and secret not in json.dumps(run.result)
    assert f"image {image}: not locked" in run.stdout
    assert "url=s3://***@builds/42.zip" in run.stdout
    assert run.calls() == [
        "GET /cfp/v1/image/options",
        "GET /cfp/v1/imageupdate/create",
        "GET /cfp/v1/imagediff/create",
        "GET /cfp/v1/imagediff/<new diff id>/status",
        "GET /cfp/v1/imagediff/<new diff id>/reject",
        "GET /cfp/v1/imageversion/create",
        f"GET /cfp/v2/project/{ASID}/image/{image}/status and GET /cfp/v1/imageinstall/status "
        "(target_imageversionid <new version id>)",
    ]
    assert "install_at=<unix time of the create>" in run.stdout
    stats = harness.sim.stats()
    assert stats["creates"] == {"imageupdate": 0, "imagediff": 0, "imageversion": 0} and stats["rejects"] == 0
    assert parse_output_file(outputs.read_text(encoding="utf-8"))["outcome"] == "succeeded"


def test_check_reports_a_lock_as_not_ready(harness: Harness) -> None:
    image = IMAGE[DeployScenario.IMAGE_LOCKED]
    run = harness.run("check", "--image-id", str(image), *CHAIN, "--game-id", str(GAME_ID))
    assert run.code == 3, run.output
    assert f"image {image}: locked by diff {LOCKED_DIFF_ID}" in run.stdout
    assert "not ready" in run.final and harness.endpoint("imagediff/reject") == 0


def test_check_reports_an_unfinished_install(harness: Harness) -> None:
    image = IMAGE[DeployScenario.INSTALL_STUCK]
    assert harness.run("deploy", "--image-id", str(image), *CHAIN, timeout="2m").code == 2
    run = harness.run("check", "--image-id", str(image), *CHAIN)
    assert run.code == 0, run.output
    assert f"image {image}: unfinished install: 3 machines pending" in run.stdout


# --------------------------------------------------------------------------- as a process, in real time


def test_a_rerun_on_an_unchanged_build_as_a_process(
    simulator: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = simulator(1.2)
    image = str(IMAGE[DeployScenario.EMPTY_DIFF])
    for attempt in (1, 2):
        result_file = tmp_path / f"process-{attempt}.json"
        argv = gate_argv(
            sim, result_file, ["deploy", "--image-id", image, *CHAIN, "--game-id", str(GAME_ID)], "30s"
        )
        done = subprocess.run(argv, env=basic_env(), cwd=ROOT, capture_output=True, text=True, timeout=60)
        run = finish(done.returncode, done.stdout, done.stderr, result_file)
        assert run.code == 0, run.output
        assert run.stdout.strip().splitlines()[-1].startswith(f"deploy of image {image}: nothing changed")
        assert run.result["state_name"] == "nothing changed"
        assert sim.rejected() == [DIFF + n for n in range(attempt)] and sim.lock_of(int(image)) is None
    assert sim.create_count("imageversion") == 0 and sim.endpoint_count("image/status") == 0
