"""Several jobs under one deadline, other job kinds, fail-fast, spreading of requests."""

from __future__ import annotations

import itertools
import json
import random
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import requests_mock as rm

from gate.client import JobRef
from gate.ending import Outcome
from tests.fakes import (
    API,
    FakeClock,
    Recorder,
    cli,
    job_body,
    make_settings,
    make_waiter,
    parse_dotenv,
    parse_output_file,
)


def url(job_id: int, kind: str = "imageupdate") -> str:
    return f"{API}/cfp/v1/{kind}/{job_id}/status"


def test_all_succeed(requests_mock: rm.Mocker, tmp_path: Path) -> None:
    for i in (1, 2, 3):
        requests_mock.get(
            url(i),
            [{"json": job_body(4, update_id=i)}] * i + [{"json": job_body(5, "Complete", update_id=i)}],
        )
    result_file = tmp_path / "r.json"
    rc, out, _ = cli("--update-id", "1", "--update-id", "2,3", "--result-file", str(result_file))
    assert rc == 0
    data = json.loads(result_file.read_text())
    assert data["update_id"] is None and data["outcome"] == "succeeded"
    assert [(j["job_id"], j["outcome"], j["polls"]) for j in data["jobs"]] == [
        (1, "succeeded", 2), (2, "succeeded", 3), (3, "succeeded", 4)
    ]  # fmt: skip
    assert "3 image updates: 3 succeeded" in out
    assert "update 2" in out and "outcome" in out  # the summary table


def test_one_failure_waits_for_the_others_then_exits_1(requests_mock: rm.Mocker) -> None:
    requests_mock.get(url(1), json=job_body(6, "Failed", error="no space", update_id=1))
    requests_mock.get(url(2), [{"json": job_body(4)}] * 3 + [{"json": job_body(5, "Complete")}])
    rc, out, _ = cli(env={"CLANFORGE_UPDATE_ID": "1,2"})
    assert rc == 1
    assert requests_mock.request_history[-1].url.startswith(url(2))  # update 2 was still followed to its end
    assert "1 succeeded, 1 failed" in out and "no space" in out


def test_fail_fast_stops_at_the_first_failure(requests_mock: rm.Mocker, tmp_path: Path) -> None:
    requests_mock.get(url(1), [{"json": job_body(4)}, {"json": job_body(6, "Failed", error="bad")}])
    requests_mock.get(url(2), json=job_body(4))
    result_file = tmp_path / "r.json"
    rc, _, _ = cli("--update-id", "1,2", "--fail-fast", "--result-file", str(result_file))
    assert rc == 1
    jobs = {j["job_id"]: j["outcome"] for j in json.loads(result_file.read_text())["jobs"]}
    assert jobs == {1: "failed", 2: "cancelled"}
    assert requests_mock.call_count <= 4


def test_any_still_running_at_the_deadline_is_exit_2(requests_mock: rm.Mocker) -> None:
    requests_mock.get(url(1), json=job_body(5, "Complete"))
    requests_mock.get(url(2), json=job_body(4))
    rc, out, _ = cli("--update-id", "1,2", "--timeout", "1m")
    assert rc == 2
    assert "--update-id 2 " in out  # how to resume only the open one


def test_unknown_id_among_several_is_an_error_but_others_are_followed(requests_mock: rm.Mocker) -> None:
    requests_mock.get(url(1), status_code=404)
    requests_mock.get(url(2), [{"json": job_body(4)}, {"json": job_body(5, "Complete")}])
    rc, out, err = cli("--update-id", "1,2")
    assert rc == 3
    assert "update 1: not found" in out + err
    assert requests_mock.call_count == 3


@pytest.mark.parametrize(
    ("kind", "label"), [("imagediff", "image diff 55"), ("imageversion", "image version 55")]
)
def test_other_job_kinds(requests_mock: rm.Mocker, kind: str, label: str) -> None:
    requests_mock.get(url(55, kind), json=job_body(5, "Complete"))
    rc, out, _ = cli("--job", kind, "--update-id", "55")
    assert rc == 0 and f"{label}: succeeded" in out
    assert cli("--update-id", "55", env={"CLANFORGE_JOB": kind})[0] == 0


def test_unknown_job_kind_is_refused() -> None:
    rc, _, err = cli("--job", "imagepush", "--update-id", "1")
    assert rc == 3 and "imageupdate, imagediff, imageversion" in err


def test_yaml_list_of_ids(requests_mock: rm.Mocker, tmp_path: Path) -> None:
    for i in (7, 8):
        requests_mock.get(url(i), json=job_body(5, "Complete"))
    cfg = tmp_path / "g.yml"
    cfg.write_text("update_ids: [7, 8]\nfail_fast: true\n")
    assert cli("--config", str(cfg))[0] == 0
    assert requests_mock.call_count == 2


def test_fifty_jobs_are_spread_not_bursty(requests_mock: rm.Mocker, clock: FakeClock) -> None:
    times: list[float] = []

    def answer(request: Any, context: Any) -> dict[str, Any]:
        times.append(clock.monotonic())
        return job_body(4) if len(times) <= 100 else job_body(5, "Complete")

    requests_mock.get(rm.ANY, json=answer)
    settings = make_settings(update_ids=tuple(range(1, 51)), poll_interval=10.0)
    recorder = Recorder()
    waiter = make_waiter(settings, clock, recorder, random.Random(3))
    result = waiter.run()
    assert result.outcome is Outcome.SUCCEEDED and len(result.jobs) == 50
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.0199  # never two requests at once: 50 ids fit in min_poll_interval (1 s)
    # 50 jobs polled within one poll interval each round: no job starves.
    assert times[49] - times[0] <= 10.0


def test_single_job_result_keeps_top_level_fields(requests_mock: rm.Mocker, clock: FakeClock) -> None:
    requests_mock.get(url(1234), json=job_body(6, "Failed", error="x"))
    settings = make_settings()
    recorder = Recorder()
    result = make_waiter(settings, clock, recorder).run()
    assert (result.update_id, result.state_id, result.job_error) == (1234, 6, "x")
    assert result.jobs[0].job_id == 1234
    assert JobRef("imagediff", 3).label == "image diff 3"


def test_every_platform_output_reports_each_job(requests_mock: rm.Mocker, tmp_path: Path) -> None:
    requests_mock.get(url(1), json=job_body(5, "Complete", progress=100, update_id=1))
    requests_mock.get(url(2), json=job_body(6, "Failed", progress=30, error="no space\nleft", update_id=2))
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
        "CLANFORGE_DOTENV_FILE": str(tmp_path / "gate.env"),
        "CLANFORGE_JUNIT_FILE": str(tmp_path / "junit.xml"),
    }
    rc, _, _ = cli("--update-id", "1,2", env=env)
    assert rc == 1
    outputs = parse_output_file((tmp_path / "output").read_text(encoding="utf-8"))
    jobs = json.loads(outputs["jobs"])
    assert [(j["id"], j["outcome"], j["state"], j["progress"], j["job_error"]) for j in jobs] == [
        (1, "succeeded", "Complete", 100, None), (2, "failed", "Failed", 30, "no space left")
    ]  # fmt: skip
    summary = (tmp_path / "summary").read_text(encoding="utf-8")
    assert "| image update 1 | succeeded |" in summary and "| image update 2 | failed |" in summary
    variables = parse_dotenv((tmp_path / "gate.env").read_text(encoding="utf-8"))
    assert variables["CLANFORGE_JOBS"] == "imageupdate:1=succeeded,imageupdate:2=failed"
    names = [case.get("name") for case in ET.parse(tmp_path / "junit.xml").getroot().iter("testcase")]
    assert names == ["image update 1", "image update 2"]
