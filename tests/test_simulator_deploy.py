"""The simulator's deploy endpoints: creates, diff and version jobs, the fleet install (injected time)."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from gate.job import Verdict, classify, parse_status
from gate.sim import (
    DEPLOY_SCENARIOS,
    DIFF_FAILURE_MESSAGE,
    FIRST_CREATED_ID,
    FLEET_SIZE,
    FOREIGN_VERSION_ID,
    ID_BY_SCENARIO,
    IMAGE_BY_DEPLOY_SCENARIO,
    LOCKED_DIFF_ID,
    LOCKING_UPDATE_ID,
    DeployScenario,
    Fleet,
    Scenario,
    Simulator,
    deploy_scenario_for,
    deploy_table_markdown,
    fleet_counts,
    fleet_for,
    publish_gap,
)
from tests.fakes import ACCESS, ASID, SECRET, TOKEN, FakeTime, basic

DURATION = 10.0
MACHINE = "9"
IMAGE = IMAGE_BY_DEPLOY_SCENARIO


# --------------------------------------------------------------------------- the table


def test_every_deploy_scenario_has_one_distinct_image_id() -> None:
    assert {spec.scenario for spec in DEPLOY_SCENARIOS} == set(DeployScenario)
    ids = [spec.image_id for spec in DEPLOY_SCENARIOS]
    assert len(set(ids)) == len(ids)
    assert IMAGE[DeployScenario.DEPLOY] == 2001
    assert deploy_scenario_for(2003) is DeployScenario.DIFF_FAILED
    assert deploy_scenario_for(77) is DeployScenario.DEPLOY


# --------------------------------------------------------------------------- the fleet (pure)


def test_nothing_published_reads_an_empty_fleet() -> None:
    assert fleet_counts(Fleet(), None, DURATION) == (0, 0, 0)


def test_right_after_publishing_no_machine_is_pending_yet() -> None:
    gap = publish_gap(DURATION)
    assert 0 < gap <= 0.5
    assert fleet_counts(Fleet(), 0.0, DURATION) == (0, 0, 0)
    assert fleet_counts(Fleet(), gap * 0.9, DURATION) == (0, 0, 0)
    assert fleet_counts(Fleet(), gap, DURATION) == (FLEET_SIZE, 0, 0)


def test_machines_finish_one_by_one_until_none_is_pending() -> None:
    seen = [fleet_counts(Fleet(), t / 10, DURATION) for t in range(0, 121)]
    after_gap = [c for c in seen if c != (0, 0, 0)]
    pending = [c[0] for c in after_gap]
    assert pending[0] == FLEET_SIZE and pending[-1] == 0
    assert all(a >= b for a, b in itertools.pairwise(pending))
    assert len(set(pending)) == FLEET_SIZE + 1  # every count from 10 down to 0 shows up
    assert all(sum(c) == FLEET_SIZE for c in after_gap)
    assert fleet_counts(Fleet(), DURATION, DURATION) == (0, 0, FLEET_SIZE)
    assert fleet_counts(Fleet(), DURATION * 0.5, DURATION)[0] not in (0, FLEET_SIZE)


def test_failing_machines_are_spread_and_counted_as_failed() -> None:
    fleet = fleet_for(DeployScenario.MACHINES_FAILED)
    assert len(fleet.failing_machines()) == fleet.failing == 2
    assert fleet.failing_machines() != {8, 9}  # not all at the end
    midway = fleet_counts(fleet, DURATION * 0.5, DURATION)
    assert midway[0] > 0 and midway[1] >= 1
    assert fleet_counts(fleet, DURATION, DURATION) == (0, 2, FLEET_SIZE - 2)


def test_stuck_machines_never_finish() -> None:
    fleet = fleet_for(DeployScenario.INSTALL_STUCK)
    assert fleet_counts(fleet, DURATION * 100, DURATION) == (fleet.stuck, 0, FLEET_SIZE - fleet.stuck)


def test_fleet_duration_must_be_positive() -> None:
    with pytest.raises(ValueError):
        fleet_counts(Fleet(), 1.0, 0)


# --------------------------------------------------------------------------- over HTTP


@pytest.fixture
def sim(simulator: Callable[..., Simulator], fake_time: FakeTime) -> Simulator:
    return simulator(DURATION, clock=fake_time)


def call(sim: Simulator, path: str, *, auth: str | None = None, **params: object) -> requests.Response:
    return requests.get(
        f"{sim.base_url}{path}",
        params={"accountserviceid": ASID, **{k: str(v) for k, v in params.items()}},
        headers={"Authorization": auth if auth is not None else basic(ACCESS, SECRET)},
        timeout=5,
    )


def create_update(sim: Simulator, image: int, **extra: object) -> requests.Response:
    params: dict[str, object] = {"imageid": image, "machineid": MACHINE, "desc": "build 42", **extra}
    return call(sim, "/cfp/v1/imageupdate/create", **params)


def create_diff(sim: Simulator, image: int, **extra: object) -> requests.Response:
    return call(sim, "/cfp/v1/imagediff/create", imageid=image, machineid=MACHINE, **extra)


def create_version(sim: Simulator, diff: int, **extra: object) -> requests.Response:
    # install_at in the past: the install starts as soon as the version completes.
    params: dict[str, object] = {"diffid": diff, "restart": 1, "install_at": 1, **extra}
    return call(sim, "/cfp/v1/imageversion/create", **params)


def status(sim: Simulator, kind: str, job_id: int) -> dict[str, object]:
    answer = call(sim, f"/cfp/v1/{kind}/{job_id}/status")
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


def image_status(sim: Simulator, image: int, asid: str = ASID) -> requests.Response:
    return call(sim, f"/cfp/v2/project/{asid}/image/{image}/status")


def counts(sim: Simulator, image: int) -> tuple[int, int, int]:
    body = image_status(sim, image).json()
    return body["pending_machines"], body["failed_machines"], body["completed_machines"]


def test_update_create_starts_a_job_with_a_new_id(sim: Simulator, fake_time: FakeTime) -> None:
    first = create_update(sim, 2001, url="s3://bucket/build42")
    assert first.status_code == 200
    body = first.json()
    assert body["success"] is True and body["updateid"] == FIRST_CREATED_ID["imageupdate"]
    assert (body["jobstateid"], body["jobstatename"]) == (1, "Created")
    assert body["jobcreated"] == int(fake_time.now)
    # Another image is free: its update gets the next id (this image is locked by the first).
    second = create_update(sim, 2100).json()["updateid"]
    assert second == body["updateid"] + 1
    # The job walks from its creation, not from its first status request.
    fake_time.now += DURATION
    done = status(sim, "imageupdate", body["updateid"])
    assert (done["jobstatename"], done["updateid"]) == ("Complete", body["updateid"])
    assert sim.created("imageupdate") == [body["updateid"], second]
    assert sim.create_count("imageupdate") == 2


@pytest.mark.parametrize(
    ("path", "params", "needle"),
    [
        ("imageupdate", {"machineid": 9, "desc": "x"}, "imageid"),
        ("imageupdate", {"imageid": 2001, "desc": "x"}, "machineid"),
        ("imageupdate", {"imageid": 2001, "machineid": 9}, "desc"),
        ("imageupdate", {"imageid": "abc", "machineid": 9, "desc": "x"}, "imageid"),
        ("imagediff", {"imageid": 2001}, "machineid"),
        ("imageversion", {"restart": 1}, "diffid"),
        ("imageversion", {"diffid": LOCKED_DIFF_ID}, "restart"),
        ("imageversion", {"diffid": LOCKED_DIFF_ID, "restart": "maybe"}, "restart"),
        ("imageversion", {"diffid": LOCKED_DIFF_ID, "restart": 1, "force": "yes"}, "force"),
    ],
)
def test_creates_check_their_parameters(
    sim: Simulator, path: str, params: dict[str, object], needle: str
) -> None:
    answer = call(sim, f"/cfp/v1/{path}/create", **params)
    assert answer.status_code == 400
    body = answer.json()
    assert body["success"] is False and body["error"] is True and needle in body["error_message"]
    assert sim.created(path) == []
    assert sim.create_count(path) == 1


def test_creates_need_credentials_and_the_account(sim: Simulator) -> None:
    assert create_update(sim, 2001).status_code == 200
    answer = call(sim, "/cfp/v1/imageupdate/create", auth="Bearer nope", imageid=2001, machineid=9, desc="x")
    assert answer.status_code == 401
    assert sim.created("imageupdate") == [FIRST_CREATED_ID["imageupdate"]]
    assert sim.create_count("imageupdate") == 2


def test_the_whole_chain(sim: Simulator, fake_time: FakeTime) -> None:
    image = IMAGE[DeployScenario.DEPLOY]
    update = create_update(sim, image).json()["updateid"]
    fake_time.now += DURATION
    assert status(sim, "imageupdate", update)["jobstatename"] == "Complete"
    diff_body = create_diff(sim, image).json()
    diff = diff_body["diffid"]
    assert diff == FIRST_CREATED_ID["imagediff"] and "updateid" not in diff_body
    # A diff still running cannot be published.
    fake_time.now += DURATION / 2
    running = create_version(sim, diff)
    assert running.status_code == 400 and "Running" in running.json()["error_message"]
    fake_time.now += DURATION / 2
    diff_status = status(sim, "imagediff", diff)
    assert (diff_status["jobstatename"], diff_status["diffid"]) == ("Complete", diff)
    assert counts(sim, image) == (0, 0, 0)
    version_body = create_version(sim, diff, game_build="42", full=0).json()
    version = version_body["imageversionid"]
    assert version == FIRST_CREATED_ID["imageversion"]
    # Publishing: the version job runs, then the machines install it.
    fake_time.now += DURATION / 2
    assert status(sim, "imageversion", version)["jobstatename"] == "Running"
    assert counts(sim, image) == (0, 0, 0)
    fake_time.now += DURATION / 2
    assert status(sim, "imageversion", version)["imageversionid"] == version
    assert counts(sim, image) == (0, 0, 0)  # the moment before any machine is marked pending
    fake_time.now += publish_gap(DURATION)
    assert counts(sim, image) == (FLEET_SIZE, 0, 0)
    fake_time.now += DURATION / 2
    pending, failed, completed = counts(sim, image)
    assert 0 < pending < FLEET_SIZE and failed == 0 and completed == FLEET_SIZE - pending
    fake_time.now += DURATION
    assert counts(sim, image) == (0, 0, FLEET_SIZE)
    stats = sim.stats()
    assert stats["creates"] == {"imageupdate": 1, "imagediff": 1, "imageversion": 2}
    assert stats["created"] == {"imageupdate": [update], "imagediff": [diff], "imageversion": [version]}
    endpoints = stats["endpoints"]
    assert isinstance(endpoints, dict)
    assert endpoints["image/status"] == 6 and endpoints["imageversion/status"] == 2


def test_the_gate_reads_created_jobs_as_their_own_kind(sim: Simulator, fake_time: FakeTime) -> None:
    diff = create_diff(sim, 2001).json()["diffid"]
    assert parse_status(status(sim, "imagediff", diff)).job_id == diff
    fake_time.now += DURATION
    assert classify(parse_status(status(sim, "imagediff", diff))).verdict is Verdict.SUCCEEDED


def test_image_locked_until_its_diff_is_published(sim: Simulator, fake_time: FakeTime) -> None:
    image = IMAGE[DeployScenario.IMAGE_LOCKED]
    locked = create_update(sim, image)
    assert locked.status_code == 200
    assert locked.json() == {
        "messages": [],
        "error_code": 1,
        "error_message": f"image locked by diffid: {LOCKED_DIFF_ID}",
        "_debug": [],
        "success": False,
        "error": True,
    }
    assert create_diff(sim, image).json()["error_message"] == f"image locked by diffid: {LOCKED_DIFF_ID}"
    assert sim.created("imageupdate") == [] and sim.created("imagediff") == []
    # The locking diff exists and is complete: publishing it (the resume) lifts the lock.
    assert status(sim, "imagediff", LOCKED_DIFF_ID)["jobstatename"] == "Complete"
    version = create_version(sim, LOCKED_DIFF_ID).json()["imageversionid"]
    fake_time.now += 2 * DURATION
    assert status(sim, "imageversion", version)["jobstatename"] == "Complete"
    assert counts(sim, image) == (0, 0, FLEET_SIZE)
    assert create_update(sim, image).json()["success"] is True


def test_a_failed_diff_cannot_be_published(sim: Simulator, fake_time: FakeTime) -> None:
    diff = create_diff(sim, IMAGE[DeployScenario.DIFF_FAILED]).json()["diffid"]
    fake_time.now += DURATION
    failed = status(sim, "imagediff", diff)
    assert (failed["jobstateid"], failed["joberror"], failed["jobfailed"]) == (6, DIFF_FAILURE_MESSAGE, 1)
    refused = create_version(sim, diff)
    assert refused.status_code == 400 and "Failed" in refused.json()["error_message"]
    assert sim.created("imageversion") == []
    # The failed diff holds the image until it is rejected; then a new update is a plain success.
    assert create_update(sim, IMAGE[DeployScenario.DIFF_FAILED]).json()["error_message"] == (
        f"image locked by diffid: {diff}"
    )
    assert call(sim, f"/cfp/v1/imagediff/{diff}/reject", reinstall=0).json()["success"] is True
    update = create_update(sim, IMAGE[DeployScenario.DIFF_FAILED]).json()["updateid"]
    fake_time.now += DURATION
    assert status(sim, "imageupdate", update)["jobstatename"] == "Complete"


def test_a_diff_can_be_retried_under_its_own_id(sim: Simulator, fake_time: FakeTime) -> None:
    diff = create_diff(sim, 2001).json()["diffid"]
    fake_time.now += DURATION
    again = create_diff(sim, 2001, diffid=diff).json()
    assert again["diffid"] == diff and again["jobstatename"] == "Created"
    assert sim.created("imagediff") == [diff]
    assert create_diff(sim, 2001, diffid=999).status_code == 404


def test_unknown_diff_is_not_found(sim: Simulator) -> None:
    answer = create_version(sim, 999)
    assert answer.status_code == 404 and answer.json()["error_message"] == "No rows in result set"


@pytest.mark.parametrize(
    ("scenario", "waited", "pending_failed_completed"),
    [
        (DeployScenario.MACHINES_FAILED, 3 * DURATION, (0, 2, FLEET_SIZE - 2)),
        # Stuck machines stay pending however long the fleet is watched.
        (DeployScenario.INSTALL_STUCK, 100 * DURATION, (3, 0, FLEET_SIZE - 3)),
    ],
)
def test_an_install_ends_as_its_scenario_says(
    sim: Simulator,
    fake_time: FakeTime,
    scenario: DeployScenario,
    waited: float,
    pending_failed_completed: tuple[int, int, int],
) -> None:
    image = IMAGE[scenario]
    diff = create_diff(sim, image).json()["diffid"]
    fake_time.now += DURATION
    create_version(sim, diff)
    fake_time.now += waited
    assert counts(sim, image) == pending_failed_completed


def test_first_update_create_unavailable_yet_started(sim: Simulator) -> None:
    image = IMAGE[DeployScenario.CREATE_UNAVAILABLE]
    first = create_update(sim, image)
    assert first.status_code == 503 and first.text == "Service Unavailable"
    assert sim.created("imageupdate") == [FIRST_CREATED_ID["imageupdate"]]
    # The update that started holds the image: a second create is refused, and starts nothing.
    second = create_update(sim, image)
    locked = f"image locked by updateid: {FIRST_CREATED_ID['imageupdate']}"
    assert second.status_code == 200 and second.json()["error_message"] == locked
    assert sim.create_count("imageupdate") == 2 and sim.created("imageupdate") == [
        FIRST_CREATED_ID["imageupdate"]
    ]


def test_image_status_checks_the_account_in_the_path(sim: Simulator) -> None:
    assert image_status(sim, 2001).status_code == 200
    wrong = image_status(sim, 2001, asid="1")
    assert wrong.status_code == 403 and wrong.json()["error_message"] == "forbidden"
    anonymous = call(sim, f"/cfp/v2/project/{ASID}/image/2001/status", auth="")
    assert anonymous.status_code == 401


def test_diff_and_version_ids_not_created_here_follow_the_scenarios(
    sim: Simulator, fake_time: FakeTime
) -> None:
    failing = ID_BY_SCENARIO[Scenario.FAILURE]
    first = status(sim, "imagediff", failing)
    assert first["diffid"] == failing and "updateid" not in first
    fake_time.now += DURATION
    assert status(sim, "imagediff", failing)["jobstatename"] == "Failed"
    assert status(sim, "imageversion", 77)["imageversionid"] == 77
    # The same number as an update id is a job of its own, with its own clock.
    assert status(sim, "imageupdate", failing)["jobstatename"] == "Created"


def test_reset_forgets_created_jobs(sim: Simulator) -> None:
    update = create_update(sim, 2001).json()["updateid"]
    create_update(sim, 2002)
    sim.reset()
    assert sim.stats()["created"] == {"imageupdate": [], "imagediff": [], "imageversion": []}
    assert sim.create_count("imageupdate") == 0
    assert create_update(sim, 2001).json()["updateid"] == update
    # The locking diff is back after a reset.
    assert create_update(sim, 2002).json()["success"] is False


def test_the_deploy_doc_shows_the_deploy_table_the_code_uses() -> None:
    doc = (Path(__file__).resolve().parent.parent / "docs" / "deploy.md").read_text(encoding="utf-8")
    assert doc.index("## Rehearsing a deploy on the simulator") < doc.index(deploy_table_markdown())


# --------------------------------------------------------------------------- what a real deploy needs


def test_an_empty_diff_needs_a_full_version(sim: Simulator, fake_time: FakeTime) -> None:
    image = IMAGE[DeployScenario.EMPTY_DIFF]
    diff = create_diff(sim, image).json()["diffid"]
    fake_time.now += DURATION
    info = call(sim, f"/cfp/v1/imagediff/{diff}/status", diff_info=1).json()["diff_info"]
    assert info["files"] == {"added": [], "modified": [], "removed": []}
    refused = create_version(sim, diff).json()
    assert refused["success"] is False and "full=1" in refused["error_message"]
    assert create_version(sim, diff, full=1).json()["success"] is True


def test_diff_info_with_and_without_a_file_list(sim: Simulator, fake_time: FakeTime) -> None:
    changed = create_diff(sim, 2001).json()["diffid"]
    bare = create_diff(sim, IMAGE[DeployScenario.NO_FILE_LIST]).json()["diffid"]
    assert call(sim, f"/cfp/v1/imagediff/{changed}/status", diff_info=1).json()["diff_info"]["files"][
        "modified"
    ]
    info = call(sim, f"/cfp/v1/imagediff/{bare}/status", diff_info=1).json()["diff_info"]
    assert "files" not in info and info["imageid"] == IMAGE[DeployScenario.NO_FILE_LIST]
    assert "diff_info" not in call(sim, f"/cfp/v1/imagediff/{changed}/status").json()


def test_a_diff_holds_its_image_until_published_or_rejected(sim: Simulator, fake_time: FakeTime) -> None:
    diff = create_diff(sim, 2001).json()["diffid"]
    options = call(sim, "/cfp/v1/image/options", gameid=77, imageid=2001).json()
    assert options["diffid"] == diff and "updateid" not in options
    assert create_update(sim, 2001).json()["error_message"] == f"image locked by diffid: {diff}"
    running = call(sim, f"/cfp/v1/imagediff/{diff}/reject", reinstall=0).json()
    assert running["success"] is False and "only a Complete or Failed diff" in running["error_message"]
    fake_time.now += DURATION
    assert call(sim, f"/cfp/v1/imagediff/{diff}/reject").status_code == 400  # reinstall is required
    assert call(sim, f"/cfp/v1/imagediff/{diff}/reject", reinstall=0).json() == {
        "success": True,
        "diffid": diff,
    }
    assert "diffid" not in call(sim, "/cfp/v1/image/options", gameid=77, imageid=2001).json()
    assert "rejected" in create_version(sim, diff).json()["error_message"]
    assert sim.rejected() == [diff] and sim.stats()["rejects"] == 3


def test_image_options_takes_game_and_image_together(sim: Simulator) -> None:
    assert call(sim, "/cfp/v1/image/options", imageid=2001).status_code == 400
    held = call(sim, "/cfp/v1/image/options", gameid=77, imageid=IMAGE[DeployScenario.UPDATE_LOCKED]).json()
    assert held["updateid"] == LOCKING_UPDATE_ID
    assert status(sim, "imageupdate", LOCKING_UPDATE_ID)["jobstatename"] != "Complete"


def test_install_jobs_one_per_machine_still_to_install(sim: Simulator, fake_time: FakeTime) -> None:
    diff = create_diff(sim, 2001).json()["diffid"]
    fake_time.now += DURATION
    version = create_version(sim, diff).json()["imageversionid"]

    def mine() -> list[dict[str, object]]:
        installs = call(sim, "/cfp/v1/imageinstall/status").json()["installs"]
        assert any(job["target_imageversionid"] == FOREIGN_VERSION_ID for job in installs)
        return [job for job in installs if job["target_imageversionid"] == version]

    assert mine() == []  # the version job is still running
    fake_time.now += DURATION
    assert len(mine()) == FLEET_SIZE and counts(sim, 2001) == (0, 0, 0)  # marked nowhere yet
    fake_time.now += DURATION / 2
    assert len(mine()) == counts(sim, 2001)[0] > 0
    fake_time.now += DURATION
    assert mine() == [] and counts(sim, 2001) == (0, 0, FLEET_SIZE)


def test_a_bearer_token_needs_no_account_service_id(sim: Simulator) -> None:
    url = f"{sim.base_url}/cfp/v1/imageinstall/status"
    bearer = requests.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    assert bearer.status_code == 200
    assert requests.get(url, headers={"Authorization": basic(ACCESS, SECRET)}, timeout=5).status_code == 400
    wrong = requests.get(
        url, params={"accountserviceid": "1"}, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5
    )
    assert wrong.status_code == 403


# --------------------------------------------------------------------------- the image lock


def test_the_lock_passes_from_the_update_to_its_diff_and_the_version_frees_it(
    sim: Simulator, fake_time: FakeTime
) -> None:
    image = 2100
    update = create_update(sim, image).json()["updateid"]
    assert sim.lock_of(image) == ("updateid", update)
    # Anyone else's update is refused, and so is a diff while the update still runs.
    locked = f"image locked by updateid: {update}"
    assert create_update(sim, image).json()["error_message"] == locked
    assert create_diff(sim, image).json()["error_message"] == locked
    fake_time.now += DURATION
    diff = create_diff(sim, image).json()["diffid"]
    assert sim.lock_of(image) == ("diffid", diff)
    assert create_update(sim, image).json()["error_message"] == f"image locked by diffid: {diff}"
    fake_time.now += DURATION
    assert create_version(sim, diff).json()["success"] is True
    assert sim.lock_of(image) is None
    assert create_update(sim, image).json()["updateid"] == update + 1
    assert sim.created("imageupdate") == [update, update + 1]


def test_a_rejected_diff_frees_the_lock_and_a_failed_update_lets_go(
    sim: Simulator, fake_time: FakeTime
) -> None:
    image = 2100
    update = create_update(sim, image).json()["updateid"]
    fake_time.now += DURATION
    diff = create_diff(sim, image).json()["diffid"]
    fake_time.now += DURATION
    assert call(sim, f"/cfp/v1/imagediff/{diff}/reject", reinstall=0).json()["success"] is True
    assert sim.lock_of(image) is None
    second = create_update(sim, image).json()["updateid"]
    assert second == update + 1 and sim.lock_of(image) == ("updateid", second)
    # An update that ends Failed holds nothing: there is no diff to make from it.
    with sim.account.lock:
        job = sim.account.created_jobs["imageupdate"][second]
        sim.account.created_jobs["imageupdate"][second] = dataclasses.replace(job, scenario=Scenario.FAILURE)
    fake_time.now += DURATION
    assert sim.lock_of(image) is None


def test_the_lock_shows_in_image_options(sim: Simulator) -> None:
    update = create_update(sim, 2100).json()["updateid"]
    body = call(sim, "/cfp/v1/image/options", gameid=77, imageid=2100).json()
    assert body["updateid"] == update and "diffid" not in body
