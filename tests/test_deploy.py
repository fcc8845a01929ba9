"""The deploy chain over requests-mock: each step, each way it can stop."""

from __future__ import annotations

import io
import itertools
import json
import signal
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import requests
import requests_mock as rm

from gate.client import StatusClient
from gate.config import Credentials, Settings
from gate.deploy.chain import Deployer
from gate.deploy.settings import DeploySettings
from gate.ending import Outcome
from gate.errors import Cancelled
from gate.report.console import ConsoleReporter
from tests.fakes import (
    API,
    BASE,
    IMAGE,
    INSTALLS,
    OTHER_INSTALL,
    WATCH,
    FakeClock,
    cli,
    create_url,
    happy,
    job_body,
    parse_dotenv,
    parse_output_file,
    status_url,
)


def test_whole_chain(requests_mock: rm.Mocker, tmp_path: Path) -> None:
    happy(requests_mock)
    result_file = tmp_path / "r.json"
    rc, out, err = cli(
        *BASE, "--url", "s3://bucket/build42", "--game-build", "42", "--result-file", str(result_file)
    )
    assert rc == 0, out + err
    calls = [(r.path, r.qs) for r in requests_mock.request_history]
    creates = [(p, q) for p, q in calls if p.endswith("/create")]
    assert creates[0][1] == {
        "accountserviceid": ["77"], "imageid": ["5"], "machineid": ["9"], "desc": ["build 42"], "url": ["s3://bucket/build42"]
    }  # fmt: skip
    assert creates[1][1] == {"accountserviceid": ["77"], "imageid": ["5"], "machineid": ["9"]}
    install_at = creates[2][1].pop("install_at")
    assert creates[2][1] == {
        "accountserviceid": ["77"],
        "diffid": ["22"],
        "restart": ["1"],
        "game_build": ["42"],
    }
    # The install is asked for, starting now (the fake clock's wall time, a little after its start).
    assert install_at[0].isdigit() and 0 <= int(install_at[0]) - 1_800_000_000 < 600
    # Each created id is announced with the command to resume.
    assert (
        "image update 11: started; to resume: "
        "clanforge-gate deploy --image-id 5 --machine-id 9 --update-id 11" in out
    )
    assert "image diff 22: started" in out and "image version 33: started" in out
    data = json.loads(result_file.read_text())
    assert [(j["kind"], j["job_id"], j["outcome"]) for j in data["jobs"]] == [
        ("imageupdate", 11, "succeeded"), ("imagediff", 22, "succeeded"),
        ("imageversion", 33, "succeeded"), ("imageinstall", 5, "succeeded"),
    ]  # fmt: skip
    assert "image 5 install: 4 completed, 0 pending, 0 failed" in out


def test_creates_are_never_retried(requests_mock: rm.Mocker) -> None:
    requests_mock.get(create_url("imageupdate"), status_code=503)
    rc, _, err = cli(*BASE)
    assert rc == 3
    assert requests_mock.call_count == 1
    assert "may have started" in err and "dashboard" in err
    # The only command offered resumes from the id found in the dashboard; a plain re-run
    # (which could start a second update) is never suggested.
    assert err.count("clanforge-gate deploy") == 1
    assert "--update-id <id>" in err


def test_create_connection_error_is_not_retried(requests_mock: rm.Mocker) -> None:
    requests_mock.get(create_url("imageupdate"), exc=requests.exceptions.ReadTimeout("slow"))
    rc, _, err = cli(*BASE)
    assert rc == 3 and requests_mock.call_count == 1 and "may have started" in err


def test_image_locked_is_reported_with_resume_command(requests_mock: rm.Mocker) -> None:
    requests_mock.get(
        create_url("imageupdate"),
        json={
            "messages": [],
            "error_code": 1,
            "error_message": "image locked by diffid: 218595",
            "success": False,
            "error": True,
        },
    )
    rc, _, err = cli(*BASE)
    assert rc == 3
    assert "image 5 is locked by diff 218595" in err
    assert "--diff-id 218595" in err
    # One command, the one that publishes the locking diff; no re-run that would hit the lock again.
    assert err.count("clanforge-gate deploy") == 1


def test_failed_diff_stops_the_chain(requests_mock: rm.Mocker) -> None:
    happy(requests_mock)
    requests_mock.get(status_url("imagediff", 22), json=job_body(6, "Failed", error="diff failed"))
    rc, out, _ = cli(*BASE)
    assert rc == 1
    assert "diff failed" in out
    assert not any(r.path.endswith("imageversion/create") for r in requests_mock.request_history)


def test_failed_machines_past_the_limit_fail(requests_mock: rm.Mocker) -> None:
    happy(requests_mock, failed_machines=2)
    rc, out, _ = cli(*BASE, "--max-failed-machines", "1")
    assert rc == 1 and "2 machines failed to install, more than max_failed_machines=1" in out


def test_failed_machines_within_the_limit_warn(requests_mock: rm.Mocker) -> None:
    happy(requests_mock, failed_machines=2)
    rc, out, _ = cli(*BASE, env={"CLANFORGE_MAX_FAILED_MACHINES": "2"})
    assert rc == 0 and "2 disabled machines could not install" in out


def test_resume_from_a_diff_id_skips_the_update(requests_mock: rm.Mocker) -> None:
    happy(requests_mock)
    rc, _, _ = cli("deploy", "--image-id", "5", "--diff-id", "22", "--skip-update", "--no-restart")
    assert rc == 0
    paths = [r.path for r in requests_mock.request_history]
    assert "/cfp/v1/imageupdate/create" not in paths and "/cfp/v1/imagediff/create" not in paths
    version_create = next(r for r in requests_mock.request_history if r.path.endswith("imageversion/create"))
    assert version_create.qs["restart"] == ["0"] and version_create.qs["diffid"] == ["22"]


def test_steps_can_be_skipped_in_yaml(requests_mock: rm.Mocker, tmp_path: Path) -> None:
    happy(requests_mock)
    cfg = tmp_path / "deploy.yml"
    cfg.write_text(
        "image_id: 5\nmachine_id: 9\ndesc: nightly\nskip_diff: true\nskip_version: true\nskip_install: true\n"
    )
    rc, _, _ = cli("deploy", "--config", str(cfg))
    assert rc == 0
    assert {r.path for r in requests_mock.request_history} == {
        "/cfp/v1/imageupdate/create",
        "/cfp/v1/imageupdate/11/status",
    }


def test_an_empty_fleet_is_never_installed(requests_mock: rm.Mocker) -> None:
    empty = {"pending_machines": 0, "failed_machines": 0, "completed_machines": 0}
    requests_mock.get(status_url("imageversion", 33), json=job_body(5, "Complete"))
    requests_mock.get(IMAGE, json=empty)
    requests_mock.get(INSTALLS, json={"installs": [OTHER_INSTALL]})
    rc, out, _ = cli(*WATCH, "--timeout", "10m")
    assert rc == 2, out
    assert "not counted as installed" in out
    final = out.strip().splitlines()[-1]
    assert "image status: 0 completed, 0 pending, 0 failed" in final
    assert "0 unfinished install jobs for version 33 (1 of other versions ignored)" in final
    assert "may not have started" in final


def test_empty_fleet_then_pending_is_followed(requests_mock: rm.Mocker) -> None:
    # An empty reading right after publishing must not end the watch if machines turn up pending.
    empty = {"pending_machines": 0, "failed_machines": 0, "completed_machines": 0}
    pending = {"pending_machines": 2, "failed_machines": 0, "completed_machines": 0}
    done = {"pending_machines": 0, "failed_machines": 1, "completed_machines": 1}
    requests_mock.get(status_url("imageversion", 33), json=job_body(5, "Complete"))
    requests_mock.get(IMAGE, [{"json": empty}, {"json": empty}, {"json": pending}, {"json": done}])
    requests_mock.get(INSTALLS, json={"installs": []})
    rc, out, _ = cli(*WATCH)
    assert rc == 1 and requests_mock.call_count == 9 and "1 machines failed" in out


def test_other_versions_install_jobs_never_hold_the_deploy(requests_mock: rm.Mocker) -> None:
    requests_mock.get(status_url("imageversion", 33), json=job_body(5, "Complete"))
    requests_mock.get(IMAGE, json={"pending_machines": 0, "failed_machines": 0, "completed_machines": 4})
    requests_mock.get(
        INSTALLS, json={"installs": [OTHER_INSTALL, {**OTHER_INSTALL, "target_imageversionid": "98"}]}
    )
    rc, out, _ = cli(*WATCH)
    assert rc == 0, out
    assert "0 unfinished install jobs for version 33 (2 of other versions ignored)" in out


def test_a_timed_out_diff_is_resumed_as_a_diff(requests_mock: rm.Mocker) -> None:
    happy(requests_mock)
    requests_mock.get(status_url("imagediff", 22), json=job_body(4, "Running"))
    rc, out, _ = cli(*BASE, "--timeout", "2m")
    assert rc == 2
    assert "wait again with --job imagediff --update-id 22" in out
    assert "wait again with --update-id 22" not in out


def test_a_cancelled_run_names_every_created_id(requests_mock: rm.Mocker) -> None:
    happy(requests_mock)

    def interrupt(request: object, context: object) -> dict[str, object]:
        raise Cancelled(signal.SIGTERM)

    requests_mock.get(status_url("imagediff", 22), json=interrupt)
    rc, out, _ = cli(*BASE)
    assert rc == 143
    assert "to resume: clanforge-gate deploy --image-id 5 --machine-id 9 --update-id 11 --diff-id 22" in out


def test_a_job_created_just_before_a_signal_is_listed(requests_mock: rm.Mocker) -> None:
    happy(requests_mock)
    settings = Settings(
        update_ids=(),
        account_service_id="77",
        api_url=API,
        timeout=600.0,
        poll_interval=10.0,
        min_poll_interval=1.0,
        request_timeout=10.0,
        result_file=None,
        credentials=Credentials("bearer", secret="t"),
    )

    class SignalAfterDiffCreate(ConsoleReporter):
        def progress(self, message: str) -> None:
            super().progress(message)
            if message.startswith("image diff 22: started"):
                raise Cancelled(signal.SIGTERM)

    out = io.StringIO()
    clock = FakeClock()
    reporter = SignalAfterDiffCreate(out)
    deploy = DeploySettings(
        5, 9, "x", None, True, None, False, False, 0, None, None, None, False, False, False, False
    )
    client = StatusClient(settings, clock, reporter)
    deployer = Deployer(client, settings, deploy, clock, reporter, settings.deadline(clock.monotonic()))
    with pytest.raises(Cancelled):
        deployer.run()
    result = deployer.cut_short(Outcome.CANCELLED, "deploy: cancelled", signal.SIGTERM)
    assert [(j.kind, j.job_id, j.outcome) for j in result.jobs] == [
        ("imageupdate", 11, Outcome.SUCCEEDED),
        ("imagediff", 22, Outcome.CANCELLED),
    ]
    assert "--update-id 11 --diff-id 22" in result.message


def test_install_timeout_is_exit_2(requests_mock: rm.Mocker) -> None:
    requests_mock.get(status_url("imageversion", 33), json=job_body(5, "Complete"))
    requests_mock.get(IMAGE, json={"pending_machines": 4, "failed_machines": 0, "completed_machines": 0})
    requests_mock.get(INSTALLS, json={"installs": []})
    rc, out, _ = cli(*WATCH, "--timeout", "1m")
    assert rc == 2 and "machines may still be installing" in out


def test_malformed_image_status_is_retried(requests_mock: rm.Mocker) -> None:
    requests_mock.get(
        IMAGE,
        [
            {"json": {"pending_machines": "x"}},
            {"json": {"pending_machines": 0, "failed_machines": 0, "completed_machines": 2}},
        ],
    )
    requests_mock.get(status_url("imageversion", 33), json=job_body(5, "Complete"))
    requests_mock.get(INSTALLS, json={"installs": []})
    rc, _, _ = cli(*WATCH)
    assert rc == 0 and requests_mock.call_count == 4


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (("deploy",), "deploy needs --image-id, --machine-id, --desc"),
        (("deploy", "--image-id", "5", "--machine-id", "9", "--desc", "x"), "--restart or --no-restart"),
        (("deploy", "--image-id", "5", "--skip-update", "--skip-diff", "--restart"), "needs a diff"),
        (
            (
                "deploy",
                "--image-id",
                "5",
                "--machine-id",
                "9",
                "--desc",
                "x",
                "--restart",
                "--max-failed-machines",
                "-1",
            ),
            "max_failed_machines",
        ),
        (("deploy", "--update-id", "1,2", "--image-id", "5", "--skip-diff", "--skip-version"), "at most one"),
    ],
)
def test_chain_checked_before_anything_starts(
    requests_mock: rm.Mocker, argv: tuple[str, ...], needle: str
) -> None:
    rc, _, err = cli(*argv)
    assert rc == 3 and needle in err
    assert requests_mock.call_count == 0


def platform_env(tmp_path: Path) -> dict[str, str]:
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITLAB_CI": "true",
        "CLANFORGE_DOTENV_FILE": str(tmp_path / "gate.env"),
    }


def test_each_created_id_is_in_the_outputs_before_its_wait_starts(
    requests_mock: rm.Mocker, tmp_path: Path
) -> None:
    happy(requests_mock)
    seen: dict[str, tuple[dict[str, str], dict[str, str]]] = {}

    def status(kind: str, job_id: int) -> None:
        def answer(request: requests.PreparedRequest, context: object) -> dict[str, object]:
            seen.setdefault(
                kind,
                (
                    parse_output_file((tmp_path / "output").read_text(encoding="utf-8")),
                    parse_dotenv((tmp_path / "gate.env").read_text(encoding="utf-8")),
                ),
            )
            return job_body(5, "Complete")

        requests_mock.get(status_url(kind, job_id), json=answer)

    status("imageupdate", 11)
    status("imagediff", 22)
    status("imageversion", 33)
    rc, out, err = cli(*BASE, env=platform_env(tmp_path))
    assert rc == 0, out + err
    outputs, variables = seen["imageupdate"]
    assert outputs["update-id"] == "11" and "diff-id" not in outputs
    assert variables["CLANFORGE_GATE_UPDATE_ID"] == "11" and variables["CLANFORGE_GATE_DIFF_ID"] == ""
    outputs, variables = seen["imagediff"]
    assert (outputs["update-id"], outputs["diff-id"]) == ("11", "22")
    assert variables["CLANFORGE_GATE_DIFF_ID"] == "22"
    outputs, variables = seen["imageversion"]
    assert outputs["image-version-id"] == "33" and variables["CLANFORGE_GATE_VERSION_ID"] == "33"
    final = parse_output_file((tmp_path / "output").read_text(encoding="utf-8"))
    assert (final["outcome"], final["update-id"], final["diff-id"], final["image-version-id"]) == (
        "succeeded", "11", "22", "33"
    )  # fmt: skip


def test_a_create_that_ends_the_run_leaves_the_earlier_ids_in_the_outputs(
    requests_mock: rm.Mocker, tmp_path: Path
) -> None:
    happy(requests_mock)
    requests_mock.get(create_url("imagediff"), status_code=503)
    rc, _, err = cli(*BASE, env=platform_env(tmp_path))
    assert rc == 3 and "may have started" in err
    outputs = parse_output_file((tmp_path / "output").read_text(encoding="utf-8"))
    assert (outputs["outcome"], outputs["update-id"], outputs["diff-id"]) == ("error", "11", "")
    variables = parse_dotenv((tmp_path / "gate.env").read_text(encoding="utf-8"))
    assert (variables["CLANFORGE_OUTCOME"], variables["CLANFORGE_GATE_UPDATE_ID"]) == ("error", "11")


def test_the_whole_deploy_in_every_platform_output(requests_mock: rm.Mocker, tmp_path: Path) -> None:
    happy(requests_mock, failed_machines=2)
    env = {
        **platform_env(tmp_path),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
        "CLANFORGE_JUNIT_FILE": str(tmp_path / "junit.xml"),
    }
    rc, _, _ = cli(*BASE, env=env)
    assert rc == 1
    outputs = parse_output_file((tmp_path / "output").read_text(encoding="utf-8"))
    assert [(j["kind"], j["id"], j["outcome"]) for j in json.loads(outputs["jobs"])] == [
        ("imageupdate", 11, "succeeded"), ("imagediff", 22, "succeeded"),
        ("imageversion", 33, "succeeded"), ("imageinstall", 5, "failed"),
    ]  # fmt: skip
    summary = (tmp_path / "summary").read_text(encoding="utf-8")
    assert summary.startswith("### :x: Clanforge deploy failed")
    assert "| image 5 install | failed | 4 completed, 0 pending, 2 failed |" in summary
    variables = parse_dotenv((tmp_path / "gate.env").read_text(encoding="utf-8"))
    assert variables["CLANFORGE_JOBS"] == (
        "imageupdate:11=succeeded,imagediff:22=succeeded,imageversion:33=succeeded,imageinstall:5=failed"
    )
    cases = list(ET.parse(tmp_path / "junit.xml").getroot().iter("testcase"))
    assert [(c.get("classname"), c.get("name")) for c in cases][-1] == (
        "clanforge.imageinstall",
        "image 5 install",
    )
    assert [c.find("failure") is not None for c in cases] == [False, False, False, True]


def test_each_step_reports_its_own_time_so_they_add_up_to_the_run(
    requests_mock: rm.Mocker, tmp_path: Path
) -> None:
    happy(requests_mock)
    result_file = tmp_path / "r.json"
    rc, out, err = cli(*BASE, "--poll-interval", "20s", "--result-file", str(result_file))
    assert rc == 0, out + err
    data = json.loads(result_file.read_text())
    steps = [job["elapsed_seconds"] for job in data["jobs"]]
    assert steps[-1] > 0  # the install waited one poll interval
    # The creates are instant on the fake clock: the steps cover the whole run, none counted twice.
    assert sum(steps) == pytest.approx(data["elapsed_seconds"], abs=0.01)


def test_the_fleet_install_is_read_on_the_sparse_cadence_of_a_job(requests_mock: rm.Mocker) -> None:
    # The install keeps a job's cadence: a reading every poll interval (10 s) from when the last
    # one started (the first answer takes 2 s), the third a random share earlier; no jitter of
    # its own on every reading.
    clock = FakeClock()
    started: list[float] = []
    pending = {"pending_machines": 2, "failed_machines": 0, "completed_machines": 0}
    done = {"pending_machines": 0, "failed_machines": 0, "completed_machines": 2}

    def image_status(request: object, context: object) -> dict[str, int]:
        started.append(clock.monotonic())
        clock.advance(2.0 if len(started) == 1 else 0.0)
        return pending if len(started) < 5 else done

    requests_mock.get(status_url("imageversion", 33), json=job_body(5, "Complete"))
    requests_mock.get(IMAGE, json=image_status)
    requests_mock.get(INSTALLS, json={"installs": []})
    rc, out, _ = cli(*WATCH, "--poll-interval", "10s", clock=clock)
    assert rc == 0, out
    gaps = [later - earlier for earlier, later in itertools.pairwise(started)]
    assert len(gaps) == 4 and [gaps[0], gaps[2], gaps[3]] == pytest.approx([10.0] * 3)
    assert 6.0 <= gaps[1] <= 10.0 + 1e-9  # the phase: up to 40% of the interval early
