"""Settings precedence and validation, durations, credentials."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from gate.cli import build_parser
from gate.config import (
    Credentials,
    load_credentials,
    load_settings,
    parse_api_url,
    verbosity_of,
)
from gate.durations import format_duration, parse_duration
from gate.errors import ConfigError
from tests.fakes import ACCESS, SECRET, TOKEN

BASIC = {"CLANFORGE_ACCESS_KEY": ACCESS, "CLANFORGE_SECRET_KEY": SECRET}


def args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["wait", *argv])


def settings(argv: tuple[str, ...] = (), env: dict[str, str] | None = None) -> Any:
    full_env = {"CLANFORGE_UPDATE_ID": "1", "CLANFORGE_ACCOUNT_SERVICE_ID": "77", **BASIC, **(env or {})}
    return load_settings(args(*argv), full_env)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        (90, 90.0),
        (0.5, 0.5),
        ("0.5", 0.5),
        ("500ms", 0.5),
        ("90s", 90.0),
        ("15m", 900.0),
        ("1h30m", 5400.0),
        ("1h", 3600.0),
        ("2m30s", 150.0),
        (" 10S ", 10.0),
    ],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text, "timeout") == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text", ["", "abc", "10x", "-5", "0", 0, "1h30", "m", True, None, "nan", float("inf"), "1.2.3s"]
)
def test_bad_durations_name_setting_and_value(text: object) -> None:
    with pytest.raises(ConfigError) as info:
        parse_duration(text, "poll_interval")
    assert "poll_interval" in str(info.value)
    assert repr(text) in str(info.value)


def test_format_duration() -> None:
    assert format_duration(190) == "3m10s"
    assert format_duration(5) == "5s"
    assert format_duration(3725) == "1h02m05s"
    assert format_duration(0.5) == "0.5s"


def test_defaults() -> None:
    s = settings()
    assert s.api_url == "https://api.multiplay.co.uk"
    assert (s.timeout, s.poll_interval, s.min_poll_interval, s.request_timeout) == (1800, 10, 1, 10)
    assert s.result_file is None


def test_precedence_flag_env_yaml_default(tmp_path: Path) -> None:
    cfg = tmp_path / "gate.yml"
    cfg.write_text("timeout: 5m\npoll_interval: 20\nrequest_timeout: 3s\nupdate_id: 9\n")
    env = {"CLANFORGE_CONFIG": str(cfg), "CLANFORGE_POLL_INTERVAL": "15s", "CLANFORGE_TIMEOUT": "7m"}
    s = settings(("--timeout", "8m"), env)
    assert s.timeout == 480  # flag beats env and YAML
    assert s.poll_interval == 15  # env beats YAML
    assert s.request_timeout == 3  # YAML beats default
    assert s.update_id == 1  # env beats YAML


def test_empty_env_counts_as_unset(tmp_path: Path) -> None:
    cfg = tmp_path / "gate.yml"
    cfg.write_text("poll_interval: 20s\n")
    s = settings((), {"CLANFORGE_CONFIG": str(cfg), "CLANFORGE_POLL_INTERVAL": "", "CLANFORGE_API_URL": ""})
    assert s.poll_interval == 20
    assert s.api_url == "https://api.multiplay.co.uk"


def test_config_flag_beats_config_env(tmp_path: Path) -> None:
    a, b = tmp_path / "a.yml", tmp_path / "b.yml"
    a.write_text("timeout: 1m\n")
    b.write_text("timeout: 2m\n")
    assert settings(("--config", str(a)), {"CLANFORGE_CONFIG": str(b)}).timeout == 60


def test_yaml_unknown_key_suggests(tmp_path: Path) -> None:
    cfg = tmp_path / "gate.yml"
    cfg.write_text("pol_interval: 5s\n")
    with pytest.raises(ConfigError, match="did you mean 'poll_interval'"):
        settings((), {"CLANFORGE_CONFIG": str(cfg)})


@pytest.mark.parametrize("key", ["access_key", "secret_key", "token", "password", "CLANFORGE_TOKEN"])
def test_yaml_credentials_refused_without_echo(tmp_path: Path, key: str) -> None:
    cfg = tmp_path / "gate.yml"
    cfg.write_text(f"{key}: hunter2-value\n")
    with pytest.raises(ConfigError) as info:
        settings((), {"CLANFORGE_CONFIG": str(cfg)})
    assert "CLANFORGE_ACCESS_KEY" in str(info.value)
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "match"),
    [("timeout: [1\n", "not valid YAML at line"), ("- 1\n- 2\n", "must be a mapping"), ("", None)],
)
def test_yaml_shapes(tmp_path: Path, text: str, match: str | None) -> None:
    cfg = tmp_path / "gate.yml"
    cfg.write_text(text)
    if match is None:
        assert settings((), {"CLANFORGE_CONFIG": str(cfg)}).timeout == 1800
    else:
        with pytest.raises(ConfigError, match=match):
            settings((), {"CLANFORGE_CONFIG": str(cfg)})


def test_missing_config_file() -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        settings(("--config", "/nonexistent/gate.yml"))


def test_yaml_ids_may_be_numbers(tmp_path: Path) -> None:
    cfg = tmp_path / "gate.yml"
    cfg.write_text("update_id: 1234\naccount_service_id: 5678\n")
    s = load_settings(args("--config", str(cfg)), BASIC)
    assert (s.update_id, s.account_service_id) == (1234, "5678")


@pytest.mark.parametrize("value", ["abc", "12a", "-4", "0", "1.5"])
def test_update_id_must_be_digits(value: str) -> None:
    with pytest.raises(ConfigError, match="update_id"):
        settings(("--update-id", value))


def test_required_settings_say_where_to_set_them() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(args(), {**BASIC, "CLANFORGE_ACCOUNT_SERVICE_ID": "1"})
    assert "--update-id" in str(info.value) and "CLANFORGE_UPDATE_ID" in str(info.value)
    with pytest.raises(ConfigError, match="account_service_id is required"):
        load_settings(args(), {**BASIC, "CLANFORGE_UPDATE_ID": "1"})


def test_min_poll_interval_above_poll_interval_is_refused() -> None:
    with pytest.raises(ConfigError, match="min_poll_interval"):
        settings(("--poll-interval", "5s", "--min-poll-interval", "6s"))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.multiplay.co.uk", "https://api.multiplay.co.uk"),
        ("https://api.multiplay.co.uk/", "https://api.multiplay.co.uk"),
        ("https://proxy.example/clanforge/", "https://proxy.example/clanforge"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://127.3.4.5:1/x/", "http://127.3.4.5:1/x"),
        ("http://localhost:9000", "http://localhost:9000"),
        ("http://[::1]:9000", "http://[::1]:9000"),
    ],
)
def test_api_url_accepted(url: str, expected: str) -> None:
    assert parse_api_url(url) == expected


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("http://api.multiplay.co.uk", "plain http"),
        ("http://10.0.0.1", "plain http"),
        ("ftp://x", "not an http"),
        ("api.multiplay.co.uk", "not an http"),
        ("https://user:pw@host", "must not hold credentials"),
        ("https://host/?a=1", "query"),
        ("https://host:99999", "bad port"),
    ],
)
def test_api_url_refused(url: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_api_url(url)


def test_basic_and_bearer_credentials() -> None:
    basic = load_credentials(BASIC)
    assert basic.scheme == "basic"
    assert basic.header() == "Basic ZTJlLWFjY2Vzcy03ZDFmOmUyZS1zZWNyZXQtNWJlMGM5YTFkMg=="  # ACCESS:SECRET
    bearer = load_credentials({"CLANFORGE_TOKEN": TOKEN})
    assert bearer.header() == f"Bearer {TOKEN}"


def test_credentials_from_files(tmp_path: Path) -> None:
    (tmp_path / "a").write_text(ACCESS + "\n")
    (tmp_path / "s").write_text(SECRET + "\n")
    creds = load_credentials(
        {"CLANFORGE_ACCESS_KEY_FILE": str(tmp_path / "a"), "CLANFORGE_SECRET_KEY_FILE": str(tmp_path / "s")}
    )
    assert creds.header() == "Basic ZTJlLWFjY2Vzcy03ZDFmOmUyZS1zZWNyZXQtNWJlMGM5YTFkMg=="  # ACCESS:SECRET
    (tmp_path / "t").write_text(TOKEN + "\n")
    assert load_credentials({"CLANFORGE_TOKEN_FILE": str(tmp_path / "t")}).header() == f"Bearer {TOKEN}"


@pytest.mark.parametrize(
    ("env", "match"),
    [
        ({}, "no Clanforge credentials"),
        ({"CLANFORGE_ACCESS_KEY": "a-long-key"}, "CLANFORGE_SECRET_KEY is not set"),
        ({"CLANFORGE_SECRET_KEY": "s-long-key"}, "CLANFORGE_ACCESS_KEY is not set"),
        ({**BASIC, "CLANFORGE_TOKEN": "t-long-token"}, "not both"),
        ({"CLANFORGE_TOKEN": "t", "CLANFORGE_TOKEN_FILE": "/x"}, "set only one"),
        ({"CLANFORGE_TOKEN_FILE": "/nonexistent/token"}, "/nonexistent/token: cannot be read"),
        ({"CLANFORGE_ACCESS_KEY": "", "CLANFORGE_SECRET_KEY": "", "CLANFORGE_TOKEN": ""}, "no Clanforge"),
    ],
)
def test_credential_errors(env: dict[str, str], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        load_credentials(env)


def test_empty_credential_file(tmp_path: Path) -> None:
    (tmp_path / "t").write_text("\n")
    with pytest.raises(ConfigError, match="is empty"):
        load_credentials({"CLANFORGE_TOKEN_FILE": str(tmp_path / "t")})


def test_credentials_repr_hides_secrets() -> None:
    creds = Credentials("basic", user="AKEY", secret="SKEY")
    assert "SKEY" not in repr(creds) and "AKEY" not in repr(creds)
    assert "SKEY" not in repr(settings())


@pytest.mark.parametrize("flag", ["--access-key", "--secret-key", "--token", "--password"])
def test_credentials_on_command_line_refused(flag: str) -> None:
    with pytest.raises(ConfigError) as info:
        args("--update-id", "1", flag, "s3cr3t")
    assert "s3cr3t" not in str(info.value)
    assert "CLANFORGE_TOKEN" in str(info.value)


def test_verbosity_flags() -> None:
    assert verbosity_of(args("--update-id", "1", "--quiet")) == -1
    assert verbosity_of(args("--update-id", "1", "-v")) == 1
    assert verbosity_of(args("--update-id", "1")) == 0
    with pytest.raises(ConfigError):
        args("--quiet", "--verbose")


def test_the_run_has_one_deadline_and_check_gives_up_after_four_request_timeouts() -> None:
    from tests.fakes import make_settings

    settings = make_settings(timeout=60.0, request_timeout=10.0)
    assert settings.deadline(1000.0) == 1060.0
    assert settings.deadline(1000.0, check=True) == 1040.0
    assert make_settings(timeout=30.0, request_timeout=10.0).deadline(1000.0, check=True) == 1030.0
