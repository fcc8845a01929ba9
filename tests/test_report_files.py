"""The one atomic writer behind every report file, and the result file written through it."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from gate.ending import Outcome
from gate.report import files
from gate.report.result_file import result_json, write_result_file
from gate.result import JobResult, Result


def test_a_report_file_is_flushed_to_disk_before_it_replaces_the_old_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (steps.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (steps.append("replace"), real_replace(a, b))[1])
    target = tmp_path / "junit.xml"
    files.write_text_atomic(str(target), "<testsuites/>\n")
    assert steps == ["fsync", "replace"]
    assert target.read_text(encoding="utf-8") == "<testsuites/>\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "result.json"
    target.write_text("old\n", encoding="utf-8")

    def refuse(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="No space left"):
        files.write_text_atomic(str(target), "new\n")
    assert target.read_text(encoding="utf-8") == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.json"]


def test_line_breaks_are_written_as_given(tmp_path: Path) -> None:
    target = tmp_path / "a.env"
    files.write_text_atomic(str(target), "A=1\r\nB=2\n")
    assert target.read_bytes() == b"A=1\r\nB=2\n"


def test_the_result_file_goes_through_the_atomic_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[tuple[str, str]] = []
    monkeypatch.setattr("gate.report.result_file.write_text_atomic", lambda p, t: written.append((p, t)))
    result = Result(7, Outcome.SUCCEEDED, "done")
    write_result_file(str(tmp_path / "r.json"), result)
    assert written == [(str(tmp_path / "r.json"), result_json(result))]


def test_the_result_file_is_the_result_as_sorted_indented_json(tmp_path: Path) -> None:
    job = JobResult("imagediff", 22, Outcome.FAILED, "image diff 22: failed", elapsed_seconds=1.23456)
    result = Result(None, Outcome.FAILED, "failed", job_kind="deploy", jobs=(job,))
    target = tmp_path / "reports" / "result.json"
    write_result_file(str(target), result)
    text = target.read_text(encoding="utf-8")
    assert text.endswith("}\n") and text.startswith('{\n  "calls": [],')
    data = json.loads(text)
    assert data == result.to_dict()
    assert data["jobs"][0]["kind"] == "imagediff" and data["jobs"][0]["elapsed_seconds"] == 1.235
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
