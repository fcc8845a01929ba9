"""A wrapper's inputs (CLANFORGE_INPUT_*) decide the settings they name, over stray variables."""

from __future__ import annotations

import io
import json
from pathlib import Path

import requests_mock as rm

from gate.cli import main
from gate.config import DEPLOY_OPTIONS, OPTIONS
from gate.inputs import apply_inputs, default_text, input_env
from tests.fakes import FakeClock, job_body

API = "https://api.test"


def test_without_inputs_the_environment_is_read_as_it_is() -> None:
    env = {"CLANFORGE_TIMEOUT": "5m", "PATH": "/bin"}
    assert apply_inputs(env) is env


def test_an_input_replaces_its_plain_variable() -> None:
    env = {"CLANFORGE_TIMEOUT": "5m", "CLANFORGE_INPUT_TIMEOUT": "45m", "HOME": "/root"}
    assert apply_inputs(env) == {"CLANFORGE_TIMEOUT": "45m", "HOME": "/root"}


def test_an_empty_input_removes_the_stray_variable_so_the_default_applies() -> None:
    env = {"CLANFORGE_UPDATE_ID": "999", "CLANFORGE_INPUT_UPDATE_ID": ""}
    assert apply_inputs(env) == {}


def test_an_input_at_the_default_is_not_given_and_removes_the_stray_variable() -> None:
    env = {"CLANFORGE_POLL_INTERVAL": "1s", "CLANFORGE_INPUT_POLL_INTERVAL": "10s"}
    assert apply_inputs(env) == {}
    env = {"CLANFORGE_FAIL_FAST": "true", "CLANFORGE_INPUT_FAIL_FAST": "false"}
    assert apply_inputs(env) == {}


def test_a_credential_input_also_removes_the_file_variant() -> None:
    env = {
        "CLANFORGE_TOKEN_FILE": "/stray/token",
        "CLANFORGE_ACCESS_KEY": "stray",
        "CLANFORGE_INPUT_TOKEN": "",
        "CLANFORGE_INPUT_ACCESS_KEY": "ak",
        "CLANFORGE_INPUT_SECRET_KEY": "sk",
    }
    assert apply_inputs(env) == {"CLANFORGE_ACCESS_KEY": "ak", "CLANFORGE_SECRET_KEY": "sk"}


def test_a_file_input_survives_the_input_it_is_the_file_of() -> None:
    env = {"CLANFORGE_INPUT_TOKEN": "", "CLANFORGE_INPUT_TOKEN_FILE": "/run/token"}
    assert apply_inputs(env) == {"CLANFORGE_TOKEN_FILE": "/run/token"}


def test_wrapper_only_inputs_are_not_settings() -> None:
    env = {"CLANFORGE_INPUT_COMMAND": "deploy", "CLANFORGE_INPUT_CA_BUNDLE": "ca.pem"}
    assert apply_inputs(env) == {}


def test_every_option_of_the_table_has_an_input_variable_named_after_its_flag() -> None:
    # The wrapper derives the variable from the flag; the gate reads the plain one from the
    # table: both must name the same setting for every option, present and future.
    for option in (*OPTIONS, *DEPLOY_OPTIONS):
        assert input_env(option.flag).removeprefix("CLANFORGE_INPUT_") == option.env.removeprefix(
            "CLANFORGE_"
        ), option


def test_default_text() -> None:
    assert [default_text(v) for v in (None, False, True, 0, "30m")] == [None, "false", "true", "0", "30m"]


# --- through the CLI -------------------------------------------------------------------------------


def run(env: dict[str, str], tmp_path: Path) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main([], env=env, stdout=out, stderr=err, clock=FakeClock())
    return code, out.getvalue() + err.getvalue()


ACTION_ENV = {
    "CLANFORGE_INPUT_UPDATE_ID": "1234",
    "CLANFORGE_INPUT_ACCOUNT_SERVICE_ID": "77",
    "CLANFORGE_INPUT_ACCESS_KEY": "ak-input",
    "CLANFORGE_INPUT_SECRET_KEY": "sk-input",
    "CLANFORGE_INPUT_TOKEN": "",
    "CLANFORGE_INPUT_API_URL": API,
    "CLANFORGE_INPUT_TIMEOUT": "30m",
    "CLANFORGE_INPUT_CONFIG": "",
    "CLANFORGE_INPUT_RESULT_FILE": "",
}


def test_stray_workflow_variables_lose_to_the_inputs(tmp_path: Path) -> None:
    """A workflow-level CLANFORGE_* beside the action's inputs changes nothing."""
    stray = {
        "CLANFORGE_UPDATE_ID": "999",
        "CLANFORGE_API_URL": "https://stray.test",
        "CLANFORGE_TOKEN": "stray-token",  # would clash with the key pair: "both are set"
        "CLANFORGE_TIMEOUT": "1s",
    }
    result_file = tmp_path / "result.json"
    env = {**stray, **ACTION_ENV, "CLANFORGE_INPUT_RESULT_FILE": str(result_file)}
    with rm.Mocker() as mock:
        mock.get(f"{API}/cfp/v1/imageupdate/1234/status", json=job_body(5, "Complete"))
        code, output = run(env, tmp_path)
        assert code == 0, output
        assert mock.request_history[0].headers["Authorization"].startswith("Basic ")
    assert json.loads(result_file.read_text())["update_id"] == 1234


def test_a_config_file_applies_where_an_input_is_left_at_its_default(tmp_path: Path) -> None:
    config = tmp_path / "gate.yml"
    config.write_text("timeout: 2s\npoll_interval: 1s\n")
    env = {**ACTION_ENV, "CLANFORGE_INPUT_CONFIG": str(config), "CLANFORGE_INPUT_POLL_INTERVAL": "10s"}
    with rm.Mocker() as mock:
        mock.get(f"{API}/cfp/v1/imageupdate/1234/status", json=job_body(4))
        code, output = run(env, tmp_path)
    # The config file's 2 s deadline applied, not the default 30 min shown as the input's value.
    assert code == 2, output
    assert "timed out after 2" in output
