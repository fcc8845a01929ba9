"""No injection: API text is data, never a command. Attacked through the sanitiser and through
the CLI under GitHub Actions and GitLab CI with an API that tries to forge log commands."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import requests_mock as rm

from gate.apitext import clean
from tests.fakes import URL, cli, every_output, job_body

ATTACKS = [
    "\n::error::forged",
    "::set-output name=outcome::succeeded",
    "ok\r::add-mask::x",
    "\x1b[0Ksection_start:1:evil[collapsed=true]\r\x1b[0Kfake",
    "section_end:1:clanforge_gate_1234",
    "\x1b[2J\x1b[31mred\x1b[0m \x1b]0;title\x07 \x1b]8;;http://x\x1b\\link",
    "tab\there\x00nul\x7fdel\x85nel\u2028sep\u202eevil",
    "\ud800lone surrogate \udfff",
    "::::stacked",
    "  ::indented",
    "%0A::escaped-newline",
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_cleaned_text_holds_no_command_no_control_no_marker(attack: str) -> None:
    text = clean(attack)
    assert "\n" not in text and "\r" not in text and "\x1b" not in text
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\ud800-\udfff]", text)
    assert "::" not in text
    assert "section_start:" not in text and "section_end:" not in text
    text.encode("utf-8")  # never a lone surrogate: printable and writable


def test_ordinary_text_survives() -> None:
    assert clean("Failed: disk full (code 28) at 12:30") == "Failed: disk full (code 28) at 12:30"


def test_multi_line_output_keeps_its_lines_but_not_a_command_start() -> None:
    text = clean("table\n::error::x\n  ::warning::y", one_line=False)
    assert text.splitlines()[0] == "table"
    assert not any(line.lstrip().startswith("::") for line in text.splitlines())


OWN_COMMANDS = re.compile(r"^::(group|endgroup|debug|warning|error)( [^:]*)?::")


@pytest.mark.parametrize("attack", ATTACKS)
def test_an_injecting_api_forges_no_log_command(
    requests_mock: rm.Mocker, tmp_path: Path, attack: str
) -> None:
    requests_mock.get(
        URL,
        [
            {"status_code": 503, "text": json.dumps({"error_message": attack})},
            {"json": job_body(4, f"Running{attack}", update_id=1234)},
            {"json": job_body(6, "Failed", error=attack, update_id=1234)},
        ],
    )
    code, out, err = cli("--update-id", "1234", "--verbose", env=every_output(tmp_path))
    assert code == 1
    log = out + err
    for line in log.splitlines():
        if line.lstrip().startswith("::"):
            assert OWN_COMMANDS.match(line), line
            # The gate's own command: the API text in it sits after the command, as data.
            assert "forged" not in line.split("::", 2)[1]
    # One section, the gate's own, opened and closed once.
    assert log.count("section_start:") == 1 and log.count("section_end:") == 1
    assert "\x1b[2J" not in log and "\x1b]" not in log and "\u202e" not in log
    result: dict[str, Any] = json.loads((tmp_path / "result.json").read_text())
    assert "\n" not in (result["job_error"] or "") and "::" not in (result["job_error"] or "")


@pytest.mark.parametrize(
    "body",
    [
        b'\xff\xfe{"jobstateid": 5}',
        b'{"jobstateid": 5, "jobstatename": "Compl\xe9te"}',
        b"<html>\x00\xff\x1b[31m::error::x</html>",
    ],
)
def test_undecodable_bytes_are_a_malformed_answer_not_a_crash(
    requests_mock: rm.Mocker, tmp_path: Path, body: bytes
) -> None:
    requests_mock.get(
        URL, [{"content": body, "status_code": 502, "reason": "Bad \udcff Gateway"}, {"content": body}]
    )
    env = {"CLANFORGE_RESULT_FILE": str(tmp_path / "r.json")}
    code, out, err = cli("--update-id", "1234", "--timeout", "20s", env=env)
    assert code == 2
    log = out + err
    assert "Traceback" not in log and "internal error" not in log
    assert "\x1b" not in log and "\udcff" not in log
    log.encode("utf-8")
    assert json.loads((tmp_path / "r.json").read_text())["outcome"] == "timed_out"
