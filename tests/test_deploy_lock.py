"""The image's lock in a deploy, over requests-mock: the three choices, and the job of a lost answer."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import requests
import requests_mock as rm

from gate.deploy.choices import OnLocked
from gate.deploy.image_state import ImageLock
from gate.deploy.lock import refused_by_lock
from gate.errors import Cancelled
from tests.fakes import API, BASE, FakeClock, cli, create_url, happy, job_body, status_url

OPTIONS = f"{API}/cfp/v1/image/options"
GAME = ("--game-id", "77")


def locked_by(field: str, job_id: int) -> dict[str, object]:
    return {"error_message": f"image locked by {field}: {job_id}", "success": False, "error": True}


def test_a_refusal_names_its_holder() -> None:
    assert refused_by_lock("imageupdate create: image locked by updateid: 30001") == ImageLock(
        update_id=30001
    )
    assert refused_by_lock("image locked by diffid: 218595") == ImageLock(diff_id=218595)
    assert refused_by_lock("forbidden") is None


@pytest.mark.parametrize(
    ("env", "yaml"), [({"CLANFORGE_ON_LOCKED": "wait"}, None), ({}, "on_locked: wait\n")]
)
def test_wait_is_a_choice_of_every_source(
    requests_mock: rm.Mocker, tmp_path: Path, env: dict[str, str], yaml: str | None
) -> None:
    happy(requests_mock)
    requests_mock.get(
        create_url("imageupdate"),
        [{"json": locked_by("updateid", 7)}, {"json": {**job_body(1, "Created"), "updateid": 11}}],
    )
    requests_mock.get(status_url("imageupdate", 7), json=job_body(4, "Running"))
    if yaml is not None:
        (tmp_path / "gate.yml").write_text(yaml, encoding="utf-8")
        env = {"CLANFORGE_CONFIG": str(tmp_path / "gate.yml")}
    clock = FakeClock()
    rc, out, err = cli(*BASE, env=env, clock=clock)
    assert rc == 0, err
    assert "imageupdate create refused: update 7 (Running) holds the image; nothing started" in out
    # Sent again one poll interval (10s by default) after the refusal.
    assert 10.0 in clock.sleeps
    assert "--on-locked wait" in out  # carried by the resume command


def test_a_bad_choice_names_all_three() -> None:
    rc, _, err = cli(*BASE, "--on-locked", "queue")
    assert rc == 3 and "on_locked: 'queue' is not one of fail, reject, wait" in err
    assert [c.value for c in OnLocked] == ["fail", "reject", "wait"]


def test_a_refused_create_by_default_offers_wait_reject_then_resume(requests_mock: rm.Mocker) -> None:
    requests_mock.get(create_url("imageupdate"), json=locked_by("updateid", 7))
    rc, _, err = cli(*BASE)
    assert rc == 3
    assert "image 5 is locked by update 7: nothing was created; wait for it (--on-locked wait)" in err
    assert err.index("--on-locked wait") < err.index("--on-locked reject") < err.index("own earlier run")
    assert err.rstrip().endswith("--update-id 7'")
    assert requests_mock.call_count == 1


def test_a_lost_create_answer_adopts_the_holder_no_earlier_read_showed(requests_mock: rm.Mocker) -> None:
    happy(requests_mock)
    requests_mock.get(OPTIONS, [{"json": {"success": True}}, {"json": {"success": True, "updateid": 11}}])
    requests_mock.get(create_url("imageupdate"), exc=requests.exceptions.ConnectionError("closed"))
    rc, out, err = cli(*BASE, *GAME)
    assert rc == 0, err
    assert "image update 11: its create got no clear answer" in out
    assert "no read before the create showed: it is the job this run started; going on with it" in out
    creates = [r for r in requests_mock.request_history if r.path == "/cfp/v1/imageupdate/create"]
    assert len(creates) == 1


def test_a_lost_diff_create_answer_adopts_the_new_diff(requests_mock: rm.Mocker) -> None:
    happy(requests_mock)
    requests_mock.get(OPTIONS, [{"json": {"success": True}}, {"json": {"success": True, "diffid": 22}}])
    requests_mock.get(create_url("imagediff"), status_code=503, text="Service Unavailable")
    rc, out, err = cli(*BASE, *GAME)
    assert rc == 0, err
    assert "image diff 22: its create got no clear answer (HTTP 503" in out
    assert len([r for r in requests_mock.request_history if r.path == "/cfp/v1/imagediff/create"]) == 1


def test_a_holder_seen_before_the_create_is_never_adopted(requests_mock: rm.Mocker) -> None:
    # Update 7 held the image before; after the lost answer it still does: not this run's job.
    happy(requests_mock)
    requests_mock.get(
        OPTIONS,
        [
            {"json": {"success": True, "updateid": 7}},
            {"json": {"success": True}},
            {"json": {"success": True, "updateid": 7}},
        ],
    )
    requests_mock.get(status_url("imageupdate", 7), json=job_body(4, "Running"))
    requests_mock.get(create_url("imageupdate"), status_code=502, text="Bad Gateway")
    rc, out, err = cli(*BASE, *GAME, "--on-locked", "wait")
    assert rc == 3, out
    assert "got no clear answer" in err
    assert "names image update 7, which this run saw before its create" in err
    assert "--update-id <id>" in err and "going on with it" not in out


def test_a_lost_version_create_answer_is_never_guessed(requests_mock: rm.Mocker) -> None:
    happy(requests_mock)
    requests_mock.get(OPTIONS, json={"success": True})
    requests_mock.get(create_url("imageversion"), exc=requests.exceptions.ReadTimeout("slow"))
    rc, _, err = cli(*BASE, *GAME)
    assert rc == 3
    assert "an imageversion create frees the lock, so the lock cannot show it" in err


def test_a_preflight_lock_under_wait_reads_every_poll_interval_until_free(requests_mock: rm.Mocker) -> None:
    happy(requests_mock)
    held = {"json": {"success": True, "diffid": 9}}
    requests_mock.get(OPTIONS, [held, held, held, {"json": {"success": True}}])
    requests_mock.get(
        status_url("imagediff", 9), [{"json": job_body(4, "Running")}, {"json": job_body(5, "Complete")}]
    )
    clock = FakeClock()
    rc, out, err = cli(*BASE, *GAME, "--on-locked", "wait", "--poll-interval", "30s", clock=clock)
    assert rc == 0, err
    assert "image 5: locked by diff 9 (Running); waiting for it" in out
    assert "image 5: locked by diff 9 (Complete); waiting for it" in out
    assert "image 5: the lock is free after 1m30s" in out
    assert clock.sleeps[:3] == [30.0, 30.0, 30.0]


def test_a_preflight_wait_past_the_timeout_exits_2_naming_the_holder(requests_mock: rm.Mocker) -> None:
    requests_mock.get(OPTIONS, json={"success": True, "updateid": 7})
    requests_mock.get(status_url("imageupdate", 7), json=job_body(4, "Running"))
    rc, out, _ = cli(*BASE, *GAME, "--on-locked", "wait", "--timeout", "1m")
    assert rc == 2
    assert "still locked by update 7 (Running) at the deadline, after waiting 1m00s" in out
    assert not [r for r in requests_mock.request_history if "/create" in r.path]


def test_check_says_a_waiting_deploy_would_wait(requests_mock: rm.Mocker) -> None:
    happy(requests_mock)
    requests_mock.get(OPTIONS, json={"success": True, "updateid": 7})
    requests_mock.get(
        f"{API}/cfp/v2/project/77/image/5/status",
        json={"pending_machines": 0, "failed_machines": 0, "completed_machines": 4},
    )
    argv = ("check", *BASE[1:], *GAME)
    rc, out, _ = cli(*argv, "--on-locked", "wait")
    assert rc == 0, out
    assert "deploy would wait for the lock (--on-locked wait)" in out
    assert "read again every poll interval while another job holds the image" in out
    rc, out, err = cli(*argv)
    assert rc == 3 and "wait for it (--on-locked wait)" in out + err


def test_a_signal_while_the_lock_is_read_after_a_lost_answer_says_the_create_may_have_started(
    requests_mock: rm.Mocker,
) -> None:
    happy(requests_mock)
    reads = iter([lambda: {"success": True}])

    def options(request: object, context: object) -> dict[str, object]:
        try:
            return next(reads)()
        except StopIteration:
            raise Cancelled(signal.SIGTERM) from None

    requests_mock.get(OPTIONS, json=options)
    requests_mock.get(create_url("imageupdate"), exc=requests.exceptions.ConnectionError("closed"))
    rc, _, err = cli(*BASE, *GAME)
    assert rc == 143
    assert "the imageupdate create had been sent and may have started" in err


def test_a_refusal_by_this_runs_own_update_waits_a_poll_interval_not_a_busy_loop(
    requests_mock: rm.Mocker,
) -> None:
    happy(requests_mock)
    requests_mock.get(OPTIONS, json={"success": True})
    requests_mock.get(
        create_url("imagediff"),
        [{"json": locked_by("updateid", 11)}, {"json": {**job_body(1, "Created"), "diffid": 22}}],
    )
    clock = FakeClock()
    rc, out, err = cli(*BASE, *GAME, "--on-locked", "wait", clock=clock)
    assert rc == 0, err
    assert "imagediff create refused: update 11 (Complete) holds the image" in out
    assert len([r for r in requests_mock.request_history if r.path == "/cfp/v1/imagediff/create"]) == 2
    assert 10.0 in clock.sleeps


def test_a_lock_read_that_fails_until_the_deadline_is_a_timeout_naming_the_holder(
    requests_mock: rm.Mocker,
) -> None:
    requests_mock.get(
        OPTIONS, [{"json": {"success": True, "updateid": 7}}, {"status_code": 503, "text": "busy"}]
    )
    requests_mock.get(status_url("imageupdate", 7), json=job_body(4, "Running"))
    rc, out, err = cli(*BASE, *GAME, "--on-locked", "wait", "--timeout", "2m")
    assert rc == 2, err
    assert "still locked by update 7 (Running) at the deadline" in out
    assert "internal error" not in out + err


def test_a_diff_that_outlives_the_wait_is_named_with_the_way_to_reject_it(requests_mock: rm.Mocker) -> None:
    requests_mock.get(OPTIONS, json={"success": True, "diffid": 9})
    requests_mock.get(status_url("imagediff", 9), json=job_body(5, "Complete"))
    rc, out, _ = cli(*BASE, *GAME, "--on-locked", "wait", "--timeout", "1m")
    assert rc == 2
    assert "still locked by diff 9 (Complete) at the deadline" in out
    assert out.rstrip().endswith("if nobody is to publish that diff, reject it (--on-locked reject)")


def test_a_holder_of_another_kind_after_a_lost_answer_is_never_adopted(requests_mock: rm.Mocker) -> None:
    happy(requests_mock)
    requests_mock.get(OPTIONS, [{"json": {"success": True}}, {"json": {"success": True, "diffid": 5}}])
    requests_mock.get(create_url("imageupdate"), status_code=504, text="Gateway Timeout")
    rc, _, err = cli(*BASE, *GAME)
    assert rc == 3
    assert "the image's lock names image diff 5, not an imageupdate" in err
