"""The reporter fan-out and the redactor pass every call on, ``created`` included."""

from __future__ import annotations

import io

from gate.report import FanOut, Redactor
from gate.report.console import ConsoleReporter
from tests.fakes import Recorder


def test_fan_out_announces_a_created_job_to_each_reporter_in_order() -> None:
    calls: list[tuple[str, ...]] = []
    FanOut([Recorder("platform", calls), Recorder("console", calls)]).created("imagediff", 22)
    assert calls == [("platform", "created", "imagediff", "22"), ("console", "created", "imagediff", "22")]


def test_redactor_passes_a_created_job_through() -> None:
    calls: list[tuple[str, ...]] = []
    Redactor(Recorder("inner", calls), ["s3cret"]).created("imageversion", 33)
    assert calls == [("inner", "created", "imageversion", "33")]


def test_console_prints_nothing_of_its_own_for_a_created_job() -> None:
    stream = io.StringIO()
    ConsoleReporter(stream, 1).created("imageupdate", 11)
    assert stream.getvalue() == ""
