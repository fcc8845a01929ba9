"""The simulator: its pure job model, and its HTTP behaviour on a loopback port (injected time)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from gate.job import State, Verdict, classify, parse_status
from gate.sim import (
    API_ERROR_MESSAGE,
    DEPLOY_SCENARIOS,
    FAILURE_MESSAGE,
    ID_BY_SCENARIO,
    SCENARIOS,
    SQUASHED_MESSAGE,
    Fault,
    Scenario,
    Simulator,
    SimulatorCredentials,
    credentials_from_env,
    deploy_table_markdown,
    deploy_table_text,
    fault_for,
    final_offset,
    is_loopback,
    job_phase,
    parse_scenario,
    scenario_for,
    scenario_table_markdown,
    scenario_table_text,
    status_body,
)
from tests.fakes import ACCESS, ASID, SECRET, TOKEN, FakeTime, basic

DURATION = 10.0


# --------------------------------------------------------------------------- scenario tables


def test_every_scenario_has_one_distinct_well_known_id() -> None:
    assert {spec.scenario for spec in SCENARIOS} == set(Scenario)
    ids = [spec.update_id for spec in SCENARIOS]
    assert len(set(ids)) == len(ids)
    assert ID_BY_SCENARIO[Scenario.SUCCESS] == 1001
    assert ID_BY_SCENARIO[Scenario.NO_ETA] == 1010


def test_unknown_ids_follow_the_default_scenario() -> None:
    assert scenario_for(1002) is Scenario.FAILURE
    assert scenario_for(42) is Scenario.SUCCESS
    assert scenario_for(42, Scenario.STUCK) is Scenario.STUCK
    assert scenario_for(1002, Scenario.STUCK) is Scenario.FAILURE


def test_parse_scenario_accepts_table_names_and_lists_choices_otherwise() -> None:
    assert parse_scenario(" Rate-Limited ") is Scenario.RATE_LIMITED
    with pytest.raises(ValueError, match="choose one of success, failure"):
        parse_scenario("explode")


@pytest.mark.parametrize(
    ("rows", "text", "markdown"),
    [
        pytest.param(
            [(spec.update_id, spec.scenario.value, spec.gate_exit) for spec in SCENARIOS],
            scenario_table_text(),
            scenario_table_markdown(),
            id="update-ids",
        ),
        pytest.param(
            [(spec.image_id, spec.scenario.value, spec.gate_exit) for spec in DEPLOY_SCENARIOS],
            deploy_table_text(),
            deploy_table_markdown(),
            id="deploy-images",
        ),
    ],
)
def test_tables_list_every_id(rows: list[tuple[int, str, int]], text: str, markdown: str) -> None:
    for key, scenario, gate_exit in rows:
        assert str(key) in text and scenario in text
        assert f"| {key} | `{scenario}` | {gate_exit} |" in markdown


# --------------------------------------------------------------------------- the job model


def test_success_walks_created_queued_running_complete() -> None:
    seen = [job_phase(Scenario.SUCCESS, t / 10, DURATION).state for t in range(0, 121)]
    order = [state for i, state in enumerate(seen) if i == 0 or seen[i - 1] != state]
    assert order == [State.CREATED, State.QUEUED, State.RUNNING, State.COMPLETE]
    assert job_phase(Scenario.SUCCESS, DURATION - 0.01, DURATION).state is State.RUNNING
    done = job_phase(Scenario.SUCCESS, DURATION, DURATION)
    assert (done.state, done.progress, done.eta_at, done.error) == (State.COMPLETE, 100, DURATION, None)


def test_progress_rises_and_eta_converges_while_running() -> None:
    running = [job_phase(Scenario.SUCCESS, t / 10, DURATION) for t in range(20, 100)]
    assert all(p.state is State.RUNNING for p in running)
    progress = [p.progress for p in running]
    assert progress == sorted(progress) and progress[0] < 5 and 95 <= progress[-1] <= 99
    etas = [p.eta_at for p in running if p.eta_at is not None]
    assert len(etas) == len(running)
    assert etas == sorted(etas, reverse=True)  # an early estimate is pessimistic, then improves
    assert etas[0] > DURATION
    assert all(p.started_at == 0.2 * DURATION for p in running)
    before = job_phase(Scenario.SUCCESS, 0.5, DURATION)
    assert before.started_at is None and before.eta_at is None


def test_failure_fails_with_an_error_at_seventy_percent() -> None:
    assert job_phase(Scenario.FAILURE, 6.9, DURATION).state is State.RUNNING
    failed = job_phase(Scenario.FAILURE, 7.0, DURATION)
    assert (failed.state, failed.failed, failed.error) == (State.FAILED, 1, FAILURE_MESSAGE)
    assert job_phase(Scenario.FAILURE, 1e6, DURATION) == failed


def test_squashed_stops_halfway_with_a_reason() -> None:
    assert job_phase(Scenario.SQUASHED, 4.9, DURATION).state is State.RUNNING
    squashed = job_phase(Scenario.SQUASHED, 5.0, DURATION)
    assert (squashed.state, squashed.failed, squashed.error) == (State.SQUASHED, 0, SQUASHED_MESSAGE)


def test_stuck_never_finishes_and_its_eta_falls_behind() -> None:
    stalled = job_phase(Scenario.STUCK, 5.0, DURATION)
    for elapsed in (6.0, 60.0, 1e6):
        later = job_phase(Scenario.STUCK, elapsed, DURATION)
        assert later == stalled
    assert stalled.state is State.RUNNING and 0 < stalled.progress < 99
    assert stalled.eta_at is not None and stalled.eta_at < 60.0


def test_no_eta_never_reports_an_eta_nor_progress_but_completes() -> None:
    phases = [job_phase(Scenario.NO_ETA, t / 4, DURATION) for t in range(0, 60)]
    assert all(p.eta_at is None and p.progress == 0 for p in phases)
    assert phases[-1].state is State.COMPLETE


@pytest.mark.parametrize("scenario", [Scenario.FLAKY, Scenario.RATE_LIMITED, Scenario.SLOW])
def test_network_scenarios_have_a_successful_job_behind_them(scenario: Scenario) -> None:
    for elapsed in (0.0, 3.0, 9.0, 10.0, 100.0):
        assert job_phase(scenario, elapsed, DURATION) == job_phase(Scenario.SUCCESS, elapsed, DURATION)


@pytest.mark.parametrize("scenario", list(Scenario))
def test_final_offset_is_when_the_job_model_first_reports_a_final_state(scenario: Scenario) -> None:
    end = final_offset(scenario, DURATION)
    final = {State.COMPLETE, State.FAILED, State.SQUASHED}
    if end is None:
        # No status ever (api-error, not-found), or a status that never ends (stuck).
        assert scenario in (Scenario.STUCK, Scenario.API_ERROR, Scenario.NOT_FOUND)
        assert job_phase(Scenario.STUCK, 100 * DURATION, DURATION).state is State.RUNNING
        return
    assert job_phase(scenario, end - 0.01, DURATION).state not in final
    assert job_phase(scenario, end, DURATION).state in final


def test_duration_must_be_positive() -> None:
    with pytest.raises(ValueError, match="duration"):
        job_phase(Scenario.SUCCESS, 1.0, 0.0)


def test_status_body_has_every_documented_field_with_its_type() -> None:
    running = status_body(1001, job_phase(Scenario.SUCCESS, 5.0, DURATION), origin=1_700_000_000.4)
    assert set(running) == {
        "jobcreated", "jobstart", "jobupdated", "jobeta", "jobprogress", "jobstateid",
        "jobstatename", "jobfailed", "joberror", "success", "updateid",
    }  # fmt: skip
    assert running["updateid"] == 1001 and running["success"] is True
    for key in ("jobcreated", "jobupdated", "jobeta", "jobprogress", "jobstateid", "jobfailed"):
        assert type(running[key]) is int, key
    assert running["jobcreated"] == 1_700_000_000
    assert running["jobstart"] == "1700000002"  # a string holding a unix time, as documented
    assert running["jobstatename"] == "Running" and running["joberror"] is None
    created = status_body(7, job_phase(Scenario.SUCCESS, 0.0, DURATION), origin=100.0)
    assert created["jobstart"] is None and created["jobeta"] is None


@pytest.mark.parametrize(
    ("scenario", "elapsed", "verdict", "reason"),
    [
        (Scenario.SUCCESS, 3.0, Verdict.RUNNING, "Running"),
        (Scenario.SUCCESS, 10.0, Verdict.SUCCEEDED, "Complete"),
        (Scenario.FAILURE, 8.0, Verdict.FAILED, f"Failed: {FAILURE_MESSAGE}"),
        (Scenario.SQUASHED, 8.0, Verdict.FAILED, f"Squashed: {SQUASHED_MESSAGE}"),
        (Scenario.STUCK, 1e5, Verdict.RUNNING, "Running"),
        (Scenario.NO_ETA, 10.0, Verdict.SUCCEEDED, "Complete"),
    ],
)
def test_the_gate_reads_the_bodies_as_intended(
    scenario: Scenario, elapsed: float, verdict: Verdict, reason: str
) -> None:
    body = status_body(55, job_phase(scenario, elapsed, DURATION), origin=1_000.0)
    status = parse_status(body)
    assert status.job_id == 55
    classification = classify(status)
    assert (classification.verdict, classification.reason) == (verdict, reason)


def test_fault_plans() -> None:
    flaky = [fault_for(Scenario.FLAKY, n) for n in range(1, 13)]
    assert flaky == [
        None, Fault.UNAVAILABLE, None, Fault.BAD_GATEWAY, None, Fault.DROP,
        None, Fault.HTML, None, Fault.TRUNCATED, None, None,
    ]  # fmt: skip
    assert [fault_for(Scenario.RATE_LIMITED, n) for n in range(1, 5)] == [
        None,
        Fault.RATE_LIMITED,
        Fault.RATE_LIMITED,
        None,
    ]
    assert [fault_for(Scenario.SLOW, n) for n in range(1, 4)] == [None, Fault.SLOW, None]
    assert {fault_for(Scenario.API_ERROR, n) for n in range(1, 20)} == {Fault.API_ERROR}
    assert {fault_for(Scenario.NOT_FOUND, n) for n in range(1, 20)} == {Fault.NOT_FOUND}
    for scenario in (Scenario.SUCCESS, Scenario.FAILURE, Scenario.SQUASHED, Scenario.STUCK, Scenario.NO_ETA):
        assert {fault_for(scenario, n) for n in range(1, 50)} == {None}


# --------------------------------------------------------------------------- credentials


def test_credentials_accept_only_their_own_values() -> None:
    creds = SimulatorCredentials(ACCESS, SECRET, TOKEN, source="environment")
    assert creds.accepts(basic(ACCESS, SECRET))
    assert creds.accepts(f"bearer {TOKEN}")
    assert not creds.accepts(basic(ACCESS, "wrong"))
    assert not creds.accepts(basic(ACCESS, SECRET + "x"))
    assert not creds.accepts(f"Bearer {TOKEN}x")
    assert not creds.accepts("Basic not-base64!")
    assert not creds.accepts(None)
    assert not creds.accepts("")
    assert SECRET not in repr(creds) and TOKEN not in repr(creds)
    basic_only = SimulatorCredentials(ACCESS, SECRET, None, source="environment")
    assert not basic_only.accepts(f"Bearer {TOKEN}")


def test_credentials_come_from_the_gate_variables_else_demo() -> None:
    pair = credentials_from_env({"CLANFORGE_ACCESS_KEY": ACCESS, "CLANFORGE_SECRET_KEY": SECRET})
    assert not pair.is_demo and pair.accepts(basic(ACCESS, SECRET))
    assert not pair.accepts(basic("demo-access-key", "demo-secret-key"))
    assert not pair.accepts("Bearer demo-token")
    assert all(SECRET not in line for line in pair.describe())

    token = credentials_from_env({"CLANFORGE_TOKEN": TOKEN, "CLANFORGE_ACCESS_KEY": ACCESS})
    assert token.accepts(f"Bearer {TOKEN}") and token.access_key is None

    demo = credentials_from_env({"CLANFORGE_ACCESS_KEY": "", "CLANFORGE_TOKEN": ""})
    assert demo.is_demo and demo.accepts(basic("demo-access-key", "demo-secret-key"))
    assert any("demo-secret-key" in line for line in demo.describe())


def test_credentials_from_files(tmp_path: Path) -> None:
    secret_file = tmp_path / "token"
    secret_file.write_text(TOKEN + "\n")
    creds = credentials_from_env({"CLANFORGE_TOKEN_FILE": str(secret_file)})
    assert creds.accepts(f"Bearer {TOKEN}")


def test_only_loopback_unless_allowed() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("127.9.9.9") and is_loopback("::1")
    assert is_loopback("localhost") and is_loopback("[::1]")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10") and not is_loopback("example")
    with pytest.raises(ValueError, match=r"refusing to listen on 0\.0\.0\.0"):
        Simulator(host="0.0.0.0")
    Simulator(host="0.0.0.0", allow_non_loopback=True)  # allowed explicitly; never started here


# --------------------------------------------------------------------------- over HTTP


@pytest.fixture
def sim(simulator: Callable[..., Simulator], fake_time: FakeTime) -> Simulator:
    return simulator(DURATION, slow_seconds=0.5, clock=fake_time)


def get(
    sim: Simulator, update_id: int, *, auth: str | None = None, asid: str | None = ASID, timeout: float = 5
) -> requests.Response:
    headers = {"Authorization": auth if auth is not None else basic(ACCESS, SECRET)}
    params = {"accountserviceid": asid} if asid is not None else {}
    return requests.get(
        f"{sim.base_url}/cfp/v1/imageupdate/{update_id}/status",
        params=params,
        headers=headers,
        timeout=timeout,
    )


def test_start_gives_a_loopback_url_on_a_free_port(sim: Simulator) -> None:
    assert sim.base_url.startswith("http://127.0.0.1:")
    assert not sim.base_url.endswith(":0")


def test_a_job_walks_in_injected_time_from_its_first_request(sim: Simulator, fake_time: FakeTime) -> None:
    first = get(sim, 4321).json()
    assert first["jobstatename"] == "Created" and first["updateid"] == 4321
    assert first["jobcreated"] == int(fake_time.now)
    fake_time.now += 5
    # Another id's clock starts now, not when the simulator started.
    assert get(sim, 4322).json()["jobcreated"] == int(fake_time.now)
    running = get(sim, 4321).json()
    assert (running["jobstateid"], running["jobstatename"]) == (4, "Running")
    assert 0 < running["jobprogress"] < 100 and running["jobeta"] > fake_time.now
    fake_time.now += 5
    done = get(sim, 4321).json()
    assert (done["jobstateid"], done["jobprogress"]) == (5, 100)
    assert get(sim, 4322).json()["jobstatename"] == "Running"


def test_bearer_tokens_work_too(sim: Simulator) -> None:
    assert get(sim, 1001, auth=f"Bearer {TOKEN}").status_code == 200


@pytest.mark.parametrize(
    "auth", [basic(ACCESS, "nope"), basic("someone", SECRET), "Bearer nope", "", "Digest abc"]
)
def test_wrong_credentials_get_401_with_the_api_error_body(sim: Simulator, auth: str) -> None:
    answer = get(sim, 1001, auth=auth)
    assert answer.status_code == 401
    assert answer.json() == {
        "messages": [],
        "error_code": 1,
        "error_message": "forbidden",
        "_debug": [],
        "success": False,
        "error": True,
    }


def test_wrong_or_missing_account_service_id(sim: Simulator) -> None:
    wrong = get(sim, 1001, asid="778")
    assert wrong.status_code == 403 and wrong.json()["error_message"] == "forbidden"
    missing = get(sim, 1001, asid=None)
    assert missing.status_code == 400 and "accountserviceid" in missing.json()["error_message"]


def test_rejected_requests_do_not_start_the_job_but_are_counted(sim: Simulator, fake_time: FakeTime) -> None:
    get(sim, 1001, auth="Bearer nope")
    fake_time.now += 100
    assert get(sim, 1001).json()["jobstatename"] == "Created"
    assert sim.request_count(1001) == 2


def test_flaky_answers_in_order(sim: Simulator) -> None:
    uid = ID_BY_SCENARIO[Scenario.FLAKY]
    assert get(sim, uid).status_code == 200
    assert get(sim, uid).status_code == 503
    assert get(sim, uid).status_code == 200
    bad_gateway = get(sim, uid)
    assert bad_gateway.status_code == 502 and "text/html" in bad_gateway.headers["Content-Type"]
    assert get(sim, uid).status_code == 200
    with pytest.raises(requests.ConnectionError):
        get(sim, uid)
    assert get(sim, uid).status_code == 200
    html = get(sim, uid)
    assert html.status_code == 200 and html.text.startswith("<!DOCTYPE html>")
    assert get(sim, uid).status_code == 200
    truncated = get(sim, uid)
    assert truncated.status_code == 200 and truncated.text.startswith('{"jobcreated"')
    with pytest.raises(ValueError):
        truncated.json()
    assert get(sim, uid).json()["updateid"] == uid
    assert sim.request_count(uid) == 11


def test_rate_limited_says_when_to_come_back(sim: Simulator) -> None:
    uid = ID_BY_SCENARIO[Scenario.RATE_LIMITED]
    statuses = [get(sim, uid) for _ in range(4)]
    assert [s.status_code for s in statuses] == [200, 429, 429, 200]
    assert statuses[1].headers["Retry-After"] == "1"


def test_slow_holds_one_answer_past_the_request_timeout(sim: Simulator) -> None:
    uid = ID_BY_SCENARIO[Scenario.SLOW]
    assert get(sim, uid).status_code == 200
    with pytest.raises(requests.ReadTimeout):
        get(sim, uid, timeout=0.1)
    assert get(sim, uid).status_code == 200


def test_api_error_and_not_found(sim: Simulator) -> None:
    error = get(sim, ID_BY_SCENARIO[Scenario.API_ERROR])
    assert error.status_code == 200
    assert error.json()["error"] is True and error.json()["error_message"] == API_ERROR_MESSAGE
    missing = get(sim, ID_BY_SCENARIO[Scenario.NOT_FOUND])
    assert missing.status_code == 404 and missing.json()["error_message"] == "No rows in result set"


def test_default_scenario_applies_to_other_ids(fake_time: FakeTime) -> None:
    creds = SimulatorCredentials(ACCESS, SECRET, None, source="environment")
    with Simulator(
        duration=DURATION,
        default_scenario=Scenario.FAILURE,
        credentials=creds,
        account_service_id=ASID,
        clock=fake_time,
    ) as sim:
        get(sim, 5)
        get(sim, 1001)
        fake_time.now += DURATION
        assert get(sim, 5).json()["jobstatename"] == "Failed"
        assert get(sim, 1001).json()["jobstatename"] == "Complete"


def test_a_planned_job_has_its_own_scenario_duration_and_start(sim: Simulator, fake_time: FakeTime) -> None:
    started = fake_time.now - 30.0  # began before anyone asked
    sim.plan_job(5000, scenario=Scenario.FAILURE, duration=50.0, origin=started)
    end = final_offset(Scenario.FAILURE, 50.0)
    assert end == pytest.approx(35.0)
    fake_time.now = started + end - 0.5
    body = get(sim, 5000).json()
    assert body["jobstatename"] == "Running" and body["jobcreated"] == int(started)
    fake_time.now = started + end
    assert get(sim, 5000).json()["jobstatename"] == "Failed"
    # The defaults still hold for every other id: 5001 starts on its first request and succeeds
    # after DURATION.
    assert get(sim, 5001).json()["jobstatename"] == "Created"
    fake_time.now += DURATION
    assert get(sim, 5001).json()["jobstatename"] == "Complete"
    # A plan without an origin starts on the first request, with the planned duration.
    sim.plan_job(5002, duration=3 * DURATION)
    assert get(sim, 5002).json()["jobstatename"] == "Created"
    fake_time.now += DURATION
    assert get(sim, 5002).json()["jobstatename"] == "Running"
    # The plan outlives reset: the origin stays where it was.
    sim.reset()
    assert get(sim, 5000).json()["jobcreated"] == int(started)
    assert sim.request_count(5000) == 1
    # A plan is for one kind of job: the image diff with the same id keeps the defaults.
    diff = requests.get(
        f"{sim.base_url}/cfp/v1/imagediff/5000/status",
        params={"accountserviceid": ASID},
        headers={"Authorization": basic(ACCESS, SECRET)},
        timeout=5,
    ).json()
    assert diff["jobcreated"] == int(fake_time.now)


def test_a_plan_needs_a_positive_duration_and_a_known_kind(sim: Simulator) -> None:
    with pytest.raises(ValueError, match="duration"):
        sim.plan_job(5000, duration=0)
    with pytest.raises(ValueError, match="imagediff"):
        sim.plan_job(5000, kind="imagefoo")


def test_stats_endpoint_and_reset(sim: Simulator) -> None:
    for _ in range(3):
        get(sim, 1001)
    get(sim, 99)
    stats = requests.get(f"{sim.base_url}/_sim/stats", timeout=5).json()
    assert stats["requests"] == {"99": 1, "1001": 3} and stats["total"] == 4
    assert stats["endpoints"] == {"imageupdate/status": 4}
    assert stats["creates"] == {"imageupdate": 0, "imagediff": 0, "imageversion": 0}
    assert sim.stats() == stats
    sim.reset()
    assert sim.request_count(1001) == 0
    assert requests.get(f"{sim.base_url}/_sim/stats", timeout=5).json()["total"] == 0


def test_unknown_paths_and_methods(sim: Simulator) -> None:
    assert requests.get(f"{sim.base_url}/cfp/v1/nothing", timeout=5).status_code == 404
    post = requests.post(f"{sim.base_url}/cfp/v1/imageupdate/1/status", timeout=5)
    assert post.status_code == 405


def test_routes_can_be_added(sim: Simulator) -> None:
    from gate.sim import Request, Response

    def notes(request: Request) -> Response:
        return Response.json(200, {"diffid": int(request.params["diffid"])})

    sim.add_route("GET", r"/cfp/v1/imagediff/(?P<diffid>\d+)/notes", notes, name="imagediff/notes")
    url = f"{sim.base_url}/cfp/v1/imagediff/8/notes"
    assert requests.get(url, params={"accountserviceid": ASID}, timeout=5).status_code == 401
    ok = requests.get(
        url, params={"accountserviceid": ASID}, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5
    )
    assert ok.json() == {"diffid": 8}
    assert sim.endpoint_count("imagediff/notes") == 2


def test_serve_forever_stops_from_another_thread() -> None:
    simulator = Simulator(credentials=SimulatorCredentials.demo(), account_service_id=ASID)
    url = simulator.bind()
    thread = threading.Thread(target=simulator.serve_forever, daemon=True)
    thread.start()
    assert requests.get(f"{url}/_sim/stats", timeout=5).status_code == 200
    simulator.stop()
    thread.join(timeout=5)
    assert not thread.is_alive()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/_sim/stats", timeout=5)


def test_the_simulator_doc_shows_the_scenario_table_the_code_uses() -> None:
    doc = (Path(__file__).resolve().parent.parent / "docs" / "simulator.md").read_text(encoding="utf-8")
    assert doc.index("## Scenarios") < doc.index(scenario_table_markdown())


@pytest.mark.parametrize("offset", [-300.0, 300.0])
def test_a_clock_offset_moves_every_time_the_simulator_tells(
    simulator: Callable[..., Simulator], fake_time: FakeTime, offset: float
) -> None:
    import email.utils

    sim = simulator(DURATION, clock=fake_time, clock_offset=offset)
    answer = get(sim, 4322)
    there = fake_time() + offset
    assert answer.json()["jobcreated"] == int(there) and answer.json()["jobupdated"] == int(there)
    date = email.utils.parsedate_to_datetime(answer.headers["Date"]).timestamp()
    assert there - 1 < date <= there


def test_simulate_reads_a_clock_offset_ahead_or_behind() -> None:
    from gate.cli import build_parser
    from gate.sim.commands import _signed_duration

    args = build_parser().parse_args(["simulate", "--clock-offset=-5m"])
    assert _signed_duration(args.clock_offset, "--clock-offset") == -300.0
    assert _signed_duration("+90s", "--clock-offset") == 90.0
    assert build_parser().parse_args(["simulate"]).clock_offset is None
