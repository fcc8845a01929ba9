"""The one wait loop over the poller protocol, and the result file's shape kept by the core."""

from __future__ import annotations

import itertools
import random
from typing import Any, ClassVar

import pytest
import requests_mock as rm

from gate.client import StatusClient
from gate.deploy.chain import NOTHING_CHANGED, Deployer
from gate.deploy.settings import DeploySettings
from gate.ending import Outcome
from gate.errors import ApiError, TimedOut
from gate.kinds import JobKind
from gate.result import JobResult
from gate.waiter import Ending, Waiter, WaitLoop
from tests.fakes import URL, FakeClock, Recorder, job_body, make_settings, make_waiter


class Counter:
    """A poller that ends after ``polls_to_end`` polls (never when None), each poll one request."""

    # Errors about this poller alone: its judge ends it with them; any other ends the wait.
    own_errors: ClassVar[tuple[type[Exception], ...]] = (ApiError,)

    def __init__(
        self, client: StatusClient, name: str, polls_to_end: int | None, raises: Exception | None = None
    ) -> None:
        self.client, self.label, self.polls_to_end, self.raises = client, name, polls_to_end, raises
        self.seen = 0
        self.polled_at: list[float] = []
        self.error = ""

    def poll(self, until: float) -> None:
        self.client.requests_made += 1
        self.polled_at.append(self.client.clock.monotonic())
        if isinstance(self.raises, self.own_errors):
            self.error = str(self.raises)
        elif self.raises is not None:
            raise self.raises
        else:
            self.seen += 1

    def judge(self, elapsed: float, polls: int) -> Ending | float:
        if self.error:
            return Outcome.ERROR, self.error
        if self.polls_to_end is not None and self.seen >= self.polls_to_end:
            return Outcome.SUCCEEDED, f"{self.label}: done after {polls} polls"
        return 5.0

    def last_seen(self) -> str:
        return f"seen {self.seen} times"

    def timed_out(self, elapsed: float, detail: str) -> str:
        return f"{self.label}: timed out ({self.last_seen()}{'; ' + detail if detail else ''})"

    def result(self, outcome: Outcome, message: str, polls: int, elapsed: float) -> JobResult:
        return JobResult(JobKind.FLEET_INSTALL, 1, outcome, message, polls=polls, elapsed_seconds=elapsed)


def loop_of(clock: FakeClock, *pollers_of: Any, **settings: Any) -> tuple[WaitLoop, list[Counter]]:
    config = make_settings(**{"timeout": 60.0, "poll_interval": 10.0, **settings})
    client = StatusClient(config, clock, Recorder())
    pollers = [make(client) for make in pollers_of]
    return WaitLoop(pollers, client, config, clock, Recorder(), config.deadline(clock.monotonic())), pollers


def test_a_poller_is_polled_on_its_own_schedule_until_done(clock: FakeClock) -> None:
    loop, (counter,) = loop_of(clock, lambda c: Counter(c, "thing 1", 3))
    start = clock.monotonic()
    loop.loop()
    assert [at - start for at in counter.polled_at] == [0.0, 5.0, 10.0]
    (slot,) = loop.slots
    assert slot.to_result().outcome is Outcome.SUCCEEDED
    assert slot.message == "thing 1: done after 3 polls" and slot.polls == 3


def test_the_last_poll_comes_just_before_the_deadline_then_the_poller_times_out(clock: FakeClock) -> None:
    loop, (counter,) = loop_of(clock, lambda c: Counter(c, "thing 1", None), timeout=12.0)
    start = clock.monotonic()
    loop.loop()
    # Every 5 s, then one last poll a margin (1 s) before the deadline, none after it.
    assert [at - start for at in counter.polled_at] == [0.0, 5.0, 10.0, 11.0]
    assert clock.monotonic() - start == 12.0
    (slot,) = loop.slots
    assert slot.outcome is Outcome.TIMED_OUT and slot.message == "thing 1: timed out (seen 4 times)"


def test_an_error_of_its_own_ends_one_poller_and_the_others_go_on(clock: FakeClock) -> None:
    loop, (broken, fine) = loop_of(
        clock,
        lambda c: Counter(c, "thing 1", 1, ApiError("thing 1: refused")),
        lambda c: Counter(c, "thing 2", 2),
    )
    loop.loop()
    assert [(s.outcome, s.message) for s in loop.slots] == [
        (Outcome.ERROR, "thing 1: refused"),
        (Outcome.SUCCEEDED, "thing 2: done after 2 polls"),
    ]
    assert len(broken.polled_at) == 1 and len(fine.polled_at) == 2


def test_any_other_error_ends_the_whole_wait(clock: FakeClock) -> None:
    class Bare(Counter):
        own_errors: ClassVar[tuple[type[Exception], ...]] = ()

    loop, _ = loop_of(clock, lambda c: Bare(c, "thing 1", 1, ApiError("credentials rejected")))
    with pytest.raises(ApiError, match="credentials rejected"):
        loop.loop()


def test_a_read_the_deadline_cuts_short_times_the_poller_out_with_the_reason(clock: FakeClock) -> None:
    loop, _ = loop_of(clock, lambda c: Counter(c, "thing 1", 1, TimedOut("the deadline passed")))
    loop.loop()
    assert loop.slots[0].outcome is Outcome.TIMED_OUT
    # The reason the read gave is the one the poller's timeout message carries.
    assert loop.slots[0].message == "thing 1: timed out (seen 0 times; the deadline passed)"


# -- the result file keeps its shape --------------------------------------------------------------


def test_a_one_job_result_file_keeps_its_schema(requests_mock: rm.Mocker, clock: FakeClock) -> None:
    requests_mock.get(
        URL, [{"json": job_body(4, "Running", progress=40)}, {"json": job_body(5, "Complete", progress=100)}]
    )
    settings = make_settings()
    recorder = Recorder()
    waiter = make_waiter(settings, clock, recorder, random.Random(1))
    data = waiter.run().to_dict()
    job = {
        "kind": "imageupdate",
        "job_id": 1234,
        "outcome": "succeeded",
        "message": "image update 1234: succeeded (Complete) after 10s, 2 requests",
        "state_id": 5,
        "state_name": "Complete",
        "progress": 100,
        "job_error": None,
        "eta": None,
        "polls": 2,
        "elapsed_seconds": 10.0,
    }
    assert data == {
        "update_id": 1234,
        "outcome": "succeeded",
        "exit_code": 0,
        "message": job["message"],
        "state_id": 5,
        "state_name": "Complete",
        "progress": 100,
        "job_error": None,
        "eta": None,
        "polls": 2,
        "elapsed_seconds": 10.0,
        "warnings": [],
        "job_kind": "imageupdate",
        "jobs": [job],
        "calls": [],
    }
    assert type(data["jobs"][0]["kind"]) is str


def test_a_deploy_result_file_keeps_its_schema(clock: FakeClock) -> None:
    settings = make_settings(update_ids=())
    deploy = DeploySettings(
        5, 9, "x", None, True, None, False, False, 0, None, None, None, False, False, False, False
    )
    recorder = Recorder()
    client = StatusClient(settings, clock, recorder)
    deployer = Deployer(client, settings, deploy, clock, recorder, settings.deadline(clock.monotonic()))
    deployer.jobs.append(
        JobResult("imagediff", 22, Outcome.SUCCEEDED, "image diff 22: succeeded", 5, "Complete")
    )
    data = deployer.result(Outcome.SUCCEEDED, "deploy of image 5: done", state_name=NOTHING_CHANGED).to_dict()
    assert data == {
        "update_id": None,
        "outcome": "succeeded",
        "exit_code": 0,
        "message": "deploy of image 5: done",
        "state_id": None,
        "state_name": "nothing changed",
        "progress": None,
        "job_error": None,
        "eta": None,
        "polls": 0,
        "elapsed_seconds": 0.0,
        "warnings": [],
        "job_kind": "deploy",
        "jobs": [
            {
                "kind": "imagediff",
                "job_id": 22,
                "outcome": "succeeded",
                "message": "image diff 22: succeeded",
                "state_id": 5,
                "state_name": "Complete",
                "progress": None,
                "job_error": None,
                "eta": None,
                "polls": 0,
                "elapsed_seconds": 0.0,
            }
        ],
        "calls": [],
    }


def test_the_interval_counts_from_when_a_request_left_not_from_its_slow_answer(
    requests_mock: rm.Mocker, clock: FakeClock
) -> None:
    # Each answer takes 3 s to come; the job runs with no ETA and no progress, so every poll is
    # on the sparse cadence: 10 s after the request before it left, never 10 s after its answer.
    sent: list[float] = []

    def slow(request: object, context: object) -> dict[str, object]:
        sent.append(clock.monotonic())
        clock.advance(3.0)
        return job_body(4, "Running") if len(sent) < 4 else job_body(5, "Complete")

    requests_mock.get(URL, json=slow)
    settings = make_settings(poll_interval=10.0, timeout=120.0)
    recorder = Recorder()
    client = StatusClient(settings, clock, recorder)
    waiter = Waiter(client, settings, clock, recorder, random.Random(1), deadline=settings.deadline(1000.0))
    assert waiter.run().outcome is Outcome.SUCCEEDED
    gaps = [later - earlier for earlier, later in itertools.pairwise(sent)]
    assert gaps[0] == 10.0 and gaps[2] == 10.0  # the second gap sets the run's phase (jitter)
    assert all(gap <= 10.0 for gap in gaps)
