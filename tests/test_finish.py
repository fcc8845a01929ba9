"""One ending for every command: a one-line message, the result in every output, the exit code."""

from __future__ import annotations

import io
import json
import signal
from pathlib import Path
from typing import Any

import pytest

from gate import cli
from gate.ending import ExitCode
from gate.errors import Cancelled, ConfigError
from gate.finish import Ending, ending


def run(*argv: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), env=env or {}, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_a_demo_setting_that_does_not_parse_ends_like_any_other_command(tmp_path: Path) -> None:
    result_file = tmp_path / "r.json"
    code, _, err = run("demo", "--duration", "soon", "--result-file", str(result_file))
    assert code == ExitCode.ERROR
    assert err.strip() == (
        "clanforge-gate demo: --duration: 'soon' is not a duration; use seconds (e.g. 90 or 0.5) "
        "or a string like 500ms, 90s, 15m, 1h30m"
    )
    data = json.loads(result_file.read_text())
    assert data["outcome"] == "error" and data["exit_code"] == 3
    assert data["message"].startswith("clanforge-gate demo: --duration")


def test_simulate_on_a_public_address_is_refused_in_one_line() -> None:
    code, _, err = run("simulate", "--host", "0.0.0.0", "--port", "0")
    assert code == ExitCode.ERROR
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert err.startswith("clanforge-gate simulate: ") and "--allow-non-loopback" in err


def test_a_bug_in_any_command_is_an_internal_error_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(args: Any, ctx: Any) -> int:
        raise KeyError("oops")

    monkeypatch.setitem(cli.COMMANDS, "demo", broken)
    code, _, err = run("demo")
    assert code == ExitCode.ERROR
    assert "Traceback" not in err
    assert "clanforge-gate demo: internal error (KeyError: 'oops'); please report it" in err


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_before_the_command_started_names_it(sig: int, code: int) -> None:
    out, err = io.StringIO(), io.StringIO()
    end = Ending({}, out, err)
    with ending(end):
        raise Cancelled(sig)
    assert end.finish() == code
    assert f"cancelled by {signal.Signals(sig).name} before anything was started" in err.getvalue()


def test_a_config_error_names_the_program_and_nothing_escapes() -> None:
    out, err = io.StringIO(), io.StringIO()
    end = Ending({}, out, err)
    with ending(end):
        raise ConfigError("timeout: 'x' is not a duration")
    assert end.result is not None and end.result.message == "clanforge-gate: timeout: 'x' is not a duration"
    assert end.finish() == 3


def test_a_run_without_an_exception_keeps_its_own_result() -> None:
    from tests.fakes import make_result

    end = Ending({}, io.StringIO(), io.StringIO())
    with ending(end):
        end.result = make_result()
    assert end.finish() == 1


def test_a_bug_shows_its_traceback_with_verbose_only(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(args: Any, ctx: Any) -> int:
        raise KeyError("oops")

    monkeypatch.setitem(cli.COMMANDS, "demo", broken)
    code, _, err = run("demo", "--verbose")
    assert code == ExitCode.ERROR
    assert "Traceback" in err and "internal error (KeyError: 'oops')" in err


# -- the simulator is no gate: it reports no outcome to the pipeline --------------------------------


def _no_outcome_written(folder: Path, stdout: str) -> None:
    assert sorted(p.name for p in folder.iterdir()) == [], "the simulator wrote a gate outcome"
    assert "::group::" not in stdout and "section_start" not in stdout


def test_a_simulate_that_cannot_listen_writes_no_gate_outcome(tmp_path: Path) -> None:
    import socket

    from tests.fakes import every_output

    out_dir = tmp_path / "outputs"
    out_dir.mkdir()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        code, out, err = run("simulate", "--port", port, env=every_output(out_dir))
    assert code == ExitCode.ERROR and "cannot listen" in err and len(err.strip().splitlines()) == 1
    _no_outcome_written(out_dir, out)


@pytest.mark.e2e
def test_a_demo_under_a_pipeline_writes_no_gate_outcome(tmp_path: Path) -> None:
    from tests.fakes import every_output

    out_dir = tmp_path / "outputs"
    out_dir.mkdir()
    code, out, _ = run("demo", "--duration", "1s", "--poll-interval", "0.3s", env=every_output(out_dir))
    assert code == 0 and "the gate exited 0" in out, out
    _no_outcome_written(out_dir, out)
