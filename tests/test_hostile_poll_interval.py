"""``--poll-interval`` below the default minimum: the unset minimum follows it down."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import pytest

from gate.cli import build_parser, main
from gate.config import load_settings
from gate.errors import ConfigError
from gate.sim import Simulator
from tests.fakes import ACCESS, ASID, SECRET

BASE_ENV = {
    "CLANFORGE_UPDATE_ID": "1",
    "CLANFORGE_ACCOUNT_SERVICE_ID": "77",
    "CLANFORGE_ACCESS_KEY": ACCESS,
    "CLANFORGE_SECRET_KEY": SECRET,
}


def _settings(
    *argv: str, env: dict[str, str] | None = None, yaml_values: dict[str, Any] | None = None
) -> Any:
    args: argparse.Namespace = build_parser().parse_args(["wait", *argv])
    return load_settings(args, {**BASE_ENV, **(env or {})}, yaml_values or {})


@pytest.mark.parametrize(
    ("argv", "env", "yaml_values"),
    [
        (("--poll-interval", "0.5s"), {}, {}),
        ((), {"CLANFORGE_POLL_INTERVAL": "0.5s"}, {}),
        ((), {}, {"poll_interval": "500ms"}),
    ],
)
def test_an_unset_minimum_follows_the_interval_down(
    argv: tuple[str, ...], env: dict[str, str], yaml_values: dict[str, Any]
) -> None:
    s = _settings(*argv, env=env, yaml_values=yaml_values)
    assert s.poll_interval == pytest.approx(0.5)
    assert s.min_poll_interval == pytest.approx(0.5)


def test_an_unset_minimum_stays_at_its_default_when_the_interval_is_longer() -> None:
    assert _settings("--poll-interval", "5s").min_poll_interval == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("argv", "env", "yaml_values"),
    [
        (("--poll-interval", "0.5s", "--min-poll-interval", "1s"), {}, {}),
        (("--poll-interval", "0.5s"), {"CLANFORGE_MIN_POLL_INTERVAL": "2s"}, {}),
        (("--poll-interval", "0.5s"), {}, {"min_poll_interval": "1s"}),
    ],
)
def test_two_explicit_contradicting_values_are_an_error(
    argv: tuple[str, ...], env: dict[str, str], yaml_values: dict[str, Any]
) -> None:
    with pytest.raises(ConfigError, match=r"min_poll_interval .* is longer than poll_interval"):
        _settings(*argv, env=env, yaml_values=yaml_values)


# On the real clock, over HTTP to a simulator: the README's own example, end to end.
@pytest.mark.e2e
def test_the_cli_waits_with_a_half_second_interval(
    simulator: Callable[..., Simulator], capsys: pytest.CaptureFixture[str]
) -> None:
    sim = simulator(duration=1.0)
    env = {
        "CLANFORGE_API_URL": sim.base_url,
        "CLANFORGE_ACCOUNT_SERVICE_ID": ASID,
        "CLANFORGE_ACCESS_KEY": ACCESS,
        "CLANFORGE_SECRET_KEY": SECRET,
    }
    code = main(["--update-id", "1001", "--poll-interval", "0.5s", "--timeout", "20s"], env=env)
    out = capsys.readouterr()
    assert code == 0, out
    assert "succeeded" in out.out
