"""The option table is the one source of each setting: the parser, the settings and the deploy's
settings all agree with it."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from gate.config import load_settings
from gate.deploy.settings import load_deploy_settings
from gate.errors import ConfigError
from gate.options import DEPLOY_OPTIONS, OPTIONS, YAML_KEYS, Form, Option
from gate.parser import build_parser
from tests.fakes import ACCESS, SECRET

ENV = {"CLANFORGE_ACCESS_KEY": ACCESS, "CLANFORGE_SECRET_KEY": SECRET}
# Flags every run command has that are not settings of the table.
NOT_SETTINGS = {"-h", "--help", "--config", "--quiet", "-q", "--verbose", "-v"}
REFUSED = {"--access-key", "--secret-key", "--token", "--password"}


def _subparser(command: str) -> argparse.ArgumentParser:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    found: argparse.ArgumentParser = sub.choices[command]
    return found


@pytest.mark.parametrize("command", ["wait", "deploy", "check"])
def test_each_command_takes_exactly_the_table_s_flags_with_their_help(command: str) -> None:
    actions = {flag: action for action in _subparser(command)._actions for flag in action.option_strings}
    table = {o.flag: o for o in (*OPTIONS, *DEPLOY_OPTIONS) if command in o.commands}
    extra = set(actions) - set(table) - NOT_SETTINGS - REFUSED
    # --no-restart is the other half of --restart.
    assert extra <= {f"--no-{o.flag[2:]}" for o in table.values() if o.form is Form.YES_NO}
    for flag, option in table.items():
        action = actions[flag]
        assert action.dest == option.key
        assert action.help == f"{option.help} [env {option.env}]"
        assert option.help, f"{option.key} has no help text"


def test_every_setting_is_a_yaml_key_and_every_name_is_unique() -> None:
    table = (*OPTIONS, *DEPLOY_OPTIONS)
    for attribute in ("key", "flag", "env"):
        names = [getattr(o, attribute) for o in table]
        assert len(names) == len(set(names)), attribute
    assert {o.key for o in table} | {"update_id"} == YAML_KEYS


def _option(key: str) -> Option:
    return next(o for o in (*OPTIONS, *DEPLOY_OPTIONS) if o.key == key)


@pytest.mark.parametrize(
    ("key", "raw"),
    [
        ("timeout", "1h30m"),
        ("poll_interval", "0.5s"),
        ("request_timeout", "7"),
        ("api_url", "http://127.0.0.1:8080/prefix/"),
        ("account_service_id", " 42 "),
        ("job", "ImageDiff"),
        ("update_ids", "5,6,5"),
        ("fail_fast", "yes"),
    ],
)
def test_a_setting_is_what_its_parser_makes_of_it(key: str, raw: str) -> None:
    option = _option(key)
    args = build_parser().parse_args(["wait", "--update-id", "1"])
    env = {**ENV, "CLANFORGE_ACCOUNT_SERVICE_ID": "9", option.env: raw}
    if key == "update_ids":
        args.update_ids = None
    settings = load_settings(args, env, {})
    assert getattr(settings, key) == option.parse(raw)


# The deploy's settings by field, for the options whose field has another name.
_FIELD = {"disable_timeout": "disable_timeout_minutes"}
_DEPLOY_VALUES: dict[str, Any] = {
    "image_id": "12",
    "machine_id": "3",
    "desc": "build 42",
    "url": "s3://bucket/build",
    "restart": "no",
    "game_build": "42",
    "full": "true",
    "force": "1",
    "max_failed_machines": "2",
    "diff_id": "55",
    "version_id": "66",
    "skip_update": "true",
    "skip_diff": "false",
    "skip_version": "false",
    "skip_install": "on",
    "install_at": "1900000000",
    "disable_timeout": "4h",
    "disable_percentage": "25",
    "game_id": "777",
    "on_empty_diff": "Publish",
    "on_locked": "reject",
    "reject_on_abort": "yes",
}


def test_the_deploy_reads_each_of_its_settings_as_the_table_parses_it() -> None:
    assert set(_DEPLOY_VALUES) == {o.key for o in DEPLOY_OPTIONS}
    args = build_parser().parse_args(["deploy"])
    env = {
        **ENV,
        "CLANFORGE_ACCOUNT_SERVICE_ID": "9",
        **{_option(k).env: v for k, v in _DEPLOY_VALUES.items()},
    }
    settings = load_settings(args, env, {}, require_ids=False)
    deploy = load_deploy_settings(args, env, {}, settings, check_chain=False)
    for key, raw in _DEPLOY_VALUES.items():
        assert getattr(deploy, _FIELD.get(key, key)) == _option(key).parse(raw), key


@pytest.mark.parametrize("key", ["max_failed_machines", "disable_percentage", "install_at", "on_locked"])
def test_the_table_refuses_what_the_deploy_refuses(key: str) -> None:
    args = build_parser().parse_args(["deploy"])
    env = {**ENV, "CLANFORGE_ACCOUNT_SERVICE_ID": "9", _option(key).env: "-1x"}
    settings = load_settings(args, env, {}, require_ids=False)
    with pytest.raises(ConfigError) as from_deploy:
        load_deploy_settings(args, env, {}, settings, check_chain=False)
    with pytest.raises(ConfigError) as from_table:
        _option(key).parse("-1x")
    assert str(from_table.value) == str(from_deploy.value)
