"""The GitLab component and the Jenkins step offer every setting of the CLI, under its variable and
with its default: both are checked against the CLI's option table (gate.options.OPTIONS and
DEPLOY_OPTIONS, and the parser built from it), so a setting added to the CLI fails here until the
wrappers offer it."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from gate import __version__
from gate.cli import COMMANDS, build_parser
from gate.options import DEPLOY_OPTIONS, OPTIONS, Option

ROOT = Path(__file__).resolve().parent.parent
COMPONENT = ROOT / "templates" / "clanforge-gate.yml"
STEP = ROOT / "vars" / "clanforgeGate.groovy"
STEP_HELP = ROOT / "vars" / "clanforgeGate.txt"
GITLAB_DOC = ROOT / "docs" / "gitlab.md"

# The CLI's settings: its option table, and --config, which the parser adds beside it.
CLI_SETTINGS: tuple[Option, ...] = (
    *OPTIONS,
    *DEPLOY_OPTIONS,
    Option("config", "--config", "CLANFORGE_CONFIG"),
)

# Where a wrapper deliberately differs from the CLI's default, and why.
COMPONENT_DEFAULTS = {
    # a GitLab job keeps these as artifacts and reports, so the component always writes them
    "result_file": "clanforge-gate-result.json",
    "junit_file": "clanforge-gate-junit.xml",
    "dotenv_file": "clanforge-gate.env",
}
STEP_DEFAULTS = {
    # the step records the JUnit report and archives the result, so it always asks for them
    "result_file": "clanforge-gate-result.json",
    "junit_file": "clanforge-gate-junit.xml",
}
# Inputs and options of the wrappers themselves, not settings of the gate.
COMPONENT_ONLY = {"command", "job-name", "stage", "image", "allow-timeout", "job-timeout", "resource-group"}
# Flags of the wait and deploy commands that are not settings.
NOT_SETTINGS = {"--help", "--quiet", "--verbose", "--access-key", "--secret-key", "--token", "--password"}


def input_name(option: Option) -> str:
    return option.flag.removeprefix("--")


def step_name(option: Option) -> str:
    if option.key == "update_ids":
        return "updateId"
    head, *rest = option.key.split("_")
    return head + "".join(word.capitalize() for word in rest)


def component() -> tuple[dict[str, Any], dict[str, Any]]:
    header, body = yaml.safe_load_all(COMPONENT.read_text(encoding="utf-8"))
    (job,) = body.values()
    return header["spec"]["inputs"], job


def step_settings() -> dict[str, tuple[str, Any]]:
    """The step's SETTINGS table: option -> (variable, default)."""
    text = STEP.read_text(encoding="utf-8")
    table = text[text.index("SETTINGS = [") : text.index("]\n\n", text.index("SETTINGS = ["))]
    rows = re.findall(r"^\s+(\w+)\s*:\s*\['(CLANFORGE_\w+)',\s*(.+?)\],?$", table, re.MULTILINE)
    assert rows, "no SETTINGS rows found in vars/clanforgeGate.groovy"
    values = {"null": None, "true": True, "false": False}
    return {
        name: (env, values[raw] if raw in values else int(raw) if raw.isdigit() else raw.strip("'"))
        for name, env, raw in rows
    }


def test_the_cli_table_names_every_flag_of_the_gates_commands() -> None:
    """What the wrappers are checked against is the whole command line of wait, deploy and any
    command added beside them (the simulator's own commands aside)."""
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    table = {option.flag for option in CLI_SETTINGS}
    commands = [name for name in subparsers.choices if name not in ("simulate", "demo")]
    assert {"wait", "deploy"} <= set(commands)
    for command in commands:
        flags = {
            flag
            for action in subparsers.choices[command]._actions
            for flag in action.option_strings
            if flag.startswith("--")
        }
        assert flags - NOT_SETTINGS - {"--no-restart"} <= table, command


@pytest.mark.parametrize("option", CLI_SETTINGS, ids=lambda o: o.flag)
def test_the_component_offers_the_setting_with_the_clis_default(option: Option) -> None:
    inputs, job = component()
    name = input_name(option)
    assert name in inputs, f"templates/clanforge-gate.yml has no input {name!r} for {option.flag}"
    carrier = "CLANFORGE_GATE_INPUT_" + option.env.removeprefix("CLANFORGE_")
    assert job["variables"].get(carrier) == f"$[[ inputs.{name} ]]", f"{carrier} must carry the input"
    spec = inputs[name] or {}
    expected = COMPONENT_DEFAULTS.get(option.key, option.default)
    if expected is None:
        assert spec.get("default") == "", f"{name}: empty means the CLI's own (none)"
        if option.key == "restart":
            assert spec.get("options") == ["", "true", "false"]
    elif isinstance(expected, bool):
        assert spec.get("default") == str(expected).lower()
        assert spec.get("options") == ["false", "true"]
    else:
        assert spec.get("default") == expected, f"{name}: default {spec.get('default')!r}, CLI {expected!r}"
    assert "regex" not in spec, f"{name}: no regex, so $VARIABLES pass; the gate checks the value"


def test_the_component_has_no_input_beyond_the_clis_settings_and_its_own() -> None:
    inputs, _ = component()
    settings = {input_name(option) for option in CLI_SETTINGS}
    assert set(inputs) - settings == COMPONENT_ONLY


def test_the_component_hands_every_input_to_the_gate_under_its_own_variable() -> None:
    """The job's script exports CLANFORGE_X from CLANFORGE_GATE_INPUT_X, so a project, group or
    dotenv variable named CLANFORGE_X cannot beat the input (GitLab ranks those above a job's)."""
    _, job = component()
    assert all(name.startswith("CLANFORGE_GATE_INPUT_") for name in job["variables"])
    script = job["script"][0]
    assert script.splitlines()[0] == (
        "eval \"$(env | sed -n 's/^CLANFORGE_GATE_INPUT_\\([A-Z_]*\\)=.*/export CLANFORGE_\\1="
        '"${CLANFORGE_GATE_INPUT_\\1}"/p\')"'
    )


def test_the_components_commands_are_the_clis() -> None:
    inputs, job = component()
    assert inputs["command"]["default"] == "wait"
    assert inputs["command"]["options"] == ["wait", "deploy", "check"]
    # `check` is a command of its own, added beside this; every other one must exist already.
    assert set(inputs["command"]["options"]) - set(COMMANDS) <= {"check"}
    assert "clanforge-gate $[[ inputs.command ]]" in job["script"][0]


@pytest.mark.parametrize("option", CLI_SETTINGS, ids=lambda o: o.flag)
def test_the_jenkins_step_offers_the_setting_with_the_clis_default(option: Option) -> None:
    settings = step_settings()
    name = step_name(option)
    assert name in settings, f"vars/clanforgeGate.groovy has no option {name!r} for {option.flag}"
    env, default = settings[name]
    assert env == option.env
    assert default == STEP_DEFAULTS.get(option.key, option.default), name


def test_the_jenkins_step_has_no_setting_beyond_the_clis() -> None:
    assert set(step_settings()) == {step_name(option) for option in CLI_SETTINGS}


def test_the_jenkins_help_names_every_option() -> None:
    text = STEP_HELP.read_text(encoding="utf-8")
    step = STEP.read_text(encoding="utf-8")
    own = re.findall(
        r"^\s+(\w+)\s*:", step[step.index("STEP_OPTIONS = [") :].split("]\n", 1)[0], re.MULTILINE
    )
    for name in [*step_settings(), *own]:
        assert f"<code>{name}</code>" in text, f"vars/clanforgeGate.txt does not mention {name}"


def test_the_default_images_are_the_ones_released_with_this_version() -> None:
    inputs, _ = component()
    assert inputs["image"]["default"].endswith(f"/clanforge-gate:{__version__}")
    step = STEP.read_text(encoding="utf-8")
    assert f"VERSION = '{__version__}'" in step


def test_the_gitlab_doc_names_every_component_input() -> None:
    inputs, _ = component()
    text = GITLAB_DOC.read_text(encoding="utf-8")
    section = text[text.index("# GitLab CI\n") :]
    missing = [name for name in inputs if f"`{name}`" not in section]
    assert not missing, f"docs/gitlab.md does not name the inputs {missing}"


def test_the_component_queues_the_deploys_of_one_image_in_a_resource_group() -> None:
    inputs, job = component()
    # Named by the image id, as the job carries it: deploys of one image run one at a time, and a
    # wait (no image id) gets an empty group, which is none.
    assert job["resource_group"] == "$[[ inputs.resource-group ]]"
    assert inputs["resource-group"]["default"] == "$CLANFORGE_GATE_INPUT_IMAGE_ID"
    assert job["variables"]["CLANFORGE_GATE_INPUT_IMAGE_ID"] == "$[[ inputs.image-id ]]"
